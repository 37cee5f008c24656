/* DOT export: the text is read back with cgraph and checked for the
 * structure the levels promise (clusters per time step, parameters once,
 * one DOT edge per graph edge, gradient styling), determinism within and
 * across processes, odd names, empty and failed graphs, options, and
 * rendering. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dot_util.h"

static const du_cell all_cells[] = {DU_SIMPLE, DU_LSTM, DU_GRU};

/* --- clusters per time step ------------------------------------------------------ */

typedef struct step_count {
    const char *prefix; /* "cluster_f:" or "cluster_g:" */
    const char *layer;  /* layer path */
    int T;
    int seen[64];
    int other; /* step clusters of this tree and layer with a bad index */
} step_count;

static void count_steps(Agraph_t *s, void *arg) {
    step_count *c = arg;
    const char *name = agnameof(s);
    size_t pl = strlen(c->prefix), ll = strlen(c->layer);
    if (strncmp(name, c->prefix, pl) || strncmp(name + pl, c->layer, ll) || strncmp(name + pl + ll, "/t", 2))
        return;
    const char *d = name + pl + ll + 2;
    char *end;
    long k = strtol(d, &end, 10);
    if (*end != '#') return; /* a scope below a step */
    if (k < 0 || k >= c->T) c->other++;
    else c->seen[k]++;
}

static void assert_one_cluster_per_step(Agraph_t *G, const char *prefix, const char *layer, int T) {
    step_count c = {.prefix = prefix, .layer = layer, .T = T};
    du_each_subgraph(G, count_steps, &c);
    cr_assert_eq(c.other, 0, "%s%s: step clusters outside t0..t%d", prefix, layer, T - 1);
    for (int k = 0; k < T; k++)
        cr_assert_eq(c.seen[k], 1, "%s%s/t%d: %d clusters, expected 1", prefix, layer, k, c.seen[k]);
}

static void check_steps(du_cell cell, bool bidir, rc_dot_level level) {
    enum { T = 4 };
    du_net n = du_build(cell, T, bidir, true);
    char *s;
    Agraph_t *G = du_draw(n.g, level, &s);
    const char *layers[2] = {bidir ? "bidirectional/forward" : "rnn", "bidirectional/backward"};
    for (int l = 0; l < (bidir ? 2 : 1); l++) {
        assert_one_cluster_per_step(G, "cluster_f:", layers[l], T);
        assert_one_cluster_per_step(G, "cluster_g:", layers[l], T);
    }
    agclose(G);
    rc_free(s);
    du_free(&n);
}

Test(dot, one_cluster_per_time_step_at_op_and_cell_levels) {
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 2; b++) {
            check_steps(all_cells[c], b, RC_DOT_OP);
            check_steps(all_cells[c], b, RC_DOT_CELL);
        }
}

/* At cell level a step cluster holds one box and nothing else. */
static void step_holds_one_box(Agraph_t *s, void *arg) {
    if (strcmp(du_attr(s, "class"), "step") && strcmp(du_attr(s, "class"), "grad step")) return;
    (*(int *)arg)++;
    cr_assert_eq(agnnodes(s), 1, "%s holds %d nodes", agnameof(s), agnnodes(s));
    Agnode_t *v = agfstnode(s);
    cr_assert(strstr(du_attr(v, "class"), "step"), "%s: %s", agnameof(s), agnameof(v));
}

Test(dot, cell_level_has_one_box_per_step_and_recurrent_edges) {
    enum { T = 5 };
    du_net n = du_build(DU_LSTM, T, false, true);
    char *s;
    Agraph_t *G = du_draw(n.g, RC_DOT_CELL, &s);
    int steps = 0;
    du_each_subgraph(G, step_holds_one_box, &steps);
    cr_assert_eq(steps, 2 * T, "forward and gradient step clusters");
    /* the recurrent edges: forward t(k) -> t(k+1), gradient t(k+1) -> t(k) */
    int fwd = 0, bwd = 0;
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v))
        for (Agedge_t *e = agfstout(G, v); e; e = agnxtout(G, e)) {
            const char *c = du_attr(e, "class");
            if (strcmp(c, "recurrent") == 0) fwd++;
            if (strcmp(c, "grad recurrent") == 0) bwd++;
        }
    cr_assert_eq(fwd, T - 1);
    cr_assert_eq(bwd, T - 1);
    /* the recurrent kernel is drawn once, with an edge to every step */
    char id[256];
    rc_dot_node_id(n.params[1], id, sizeof id);
    cr_assert(strstr(id, "recurrent_kernel"), "%s", id);
    Agnode_t *rk = agnode(G, id, 0);
    cr_assert(rk, "%s not drawn", id);
    int to_steps = 0;
    for (Agedge_t *e = agfstout(G, rk); e; e = agnxtout(G, e))
        if (strcmp(du_attr(aghead(e), "class"), "step") == 0) to_steps++;
    cr_assert_eq(to_steps, T);
    agclose(G);
    rc_free(s);
    du_free(&n);
}

/* --- parameters once, edges, gradient styling --------------------------------------- */

static void check_params_once(du_cell cell, bool bidir, rc_dot_level level) {
    du_net n = du_build(cell, 3, bidir, true);
    char *s;
    Agraph_t *G = du_draw(n.g, level, &s);
    int nparam_nodes = 0;
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v))
        if (strcmp(du_attr(v, "class"), "param") == 0) nparam_nodes++;
    cr_assert_eq(nparam_nodes, n.nparams, "%s level: %d parameter nodes for %d parameters",
                 rc_dot_level_name(level), nparam_nodes, n.nparams);
    for (int p = 0; p < n.nparams; p++) {
        char id[256], path[256];
        rc_dot_node_id(n.params[p], id, sizeof id);
        Agnode_t *v = agnode(G, id, 0);
        cr_assert(v, "parameter %s not drawn", id);
        cr_assert_str_eq(du_attr(v, "tooltip"), rc_node_path(n.params[p], path, sizeof path));
        cr_assert(strstr(du_attr(v, "label"), rc_node_name(n.params[p])), "label %s", du_attr(v, "label"));
    }
    agclose(G);
    rc_free(s);
    du_free(&n);
}

Test(dot, each_parameter_is_drawn_once) {
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 2; b++) {
            check_params_once(all_cells[c], b, RC_DOT_OP);
            check_params_once(all_cells[c], b, RC_DOT_CELL);
        }
}

/* Layer level: a Bidirectional layer is one box (as in Keras' plot_model)
 * listing both halves' parameters, each once. */
Test(dot, layer_level_draws_bidirectional_as_one_box) {
    du_net n = du_build(DU_GRU, 6, true, true);
    char *s;
    Agraph_t *G = du_draw(n.g, RC_DOT_LAYER, &s);
    int fwd_layers = 0, grad_layers = 0;
    Agnode_t *box = NULL;
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v)) {
        if (strcmp(du_attr(v, "class"), "layer") == 0) fwd_layers++, box = v;
        grad_layers += strcmp(du_attr(v, "class"), "grad layer") == 0;
    }
    cr_assert_eq(fwd_layers, 1);
    cr_assert_eq(grad_layers, 1);
    int top = 0; /* nodes outside every scope stay single */
    for (int i = 0; i < rc_graph_node_count(n.g); i++) top += rc_node_scope(rc_graph_node(n.g, i))[0] == 0;
    cr_assert_eq(agnnodes(G), top + 2, "the two boxes and the %d top-level nodes", top);
    /* rolled: nothing of a time step is drawn at this level */
    cr_assert_null(strstr(s, "/t0"), "a time step is drawn at layer level");
    const char *label = du_attr(box, "label");
    cr_assert(strstr(label, "6 steps"), "%s", label);
    for (int p = 0; p < n.nparams; p++) {
        char path[256];
        rc_node_path(n.params[p], path, sizeof path);
        const char *rel = strchr(path, '/') + 1; /* below bidirectional/ */
        int hits = 0;
        for (const char *q = label; (q = strstr(q, rel)) != NULL; q++) hits++;
        cr_assert_eq(hits, 1, "%s appears %d times in %s", rel, hits, label);
    }
    agclose(G);
    rc_free(s);
    du_free(&n);
}

/* Layer level on a model: the model is a cluster of one box per layer,
 * chained in order. */
Test(dot, layer_level_draws_one_box_per_layer_of_a_model) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 5, 3));
    rc_model *m = rc_model_new("model");
    rc_cell_config cc = rc_cell_defaults(4);
    cr_assert_eq(rc_model_add_rnn(m, rc_rnn_new("lstm", rc_lstm_cell_new(&cc),
                                                &(rc_rnn_config){.return_sequences = true}, NULL)), RC_OK);
    cr_assert_eq(rc_model_add_rnn(m, rc_rnn_new("gru", rc_gru_cell_new(&cc), &(rc_rnn_config){0}, NULL)), RC_OK);
    cr_assert_eq(rc_model_add_dense(m, rc_dense_new("dense", 2, RC_ACT_LINEAR, true)), RC_OK);
    rc_node *y = rc_model_apply(m, g, x, false, NULL);
    cr_assert(y, "%s", rc_graph_error(g));
    char *s;
    Agraph_t *G = du_draw(g, RC_DOT_LAYER, &s);
    static const char *const names[] = {"lstm", "gru", "dense"};
    Agnode_t *boxes[3] = {0};
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v)) {
        if (strcmp(du_attr(v, "class"), "layer")) continue;
        int k = 0;
        while (k < 3 && !strstr(du_attr(v, "tooltip"), names[k])) k++;
        cr_assert(k < 3, "unexpected layer box %s", agnameof(v));
        cr_assert_null(boxes[k], "two boxes for %s", names[k]);
        boxes[k] = v;
    }
    for (int k = 0; k < 3; k++) cr_assert(boxes[k], "no box for %s", names[k]);
    cr_assert(agedge(G, boxes[0], boxes[1], NULL, 0), "lstm -> gru");
    cr_assert(agedge(G, boxes[1], boxes[2], NULL, 0), "gru -> dense");
    agclose(G);
    rc_free(s);
    rc_model_free(m);
    rc_graph_free(g);
}

static void check_edges(du_cell cell, bool bidir) {
    du_net n = du_build(cell, 3, bidir, true);
    char *s = du_dot(n.g, NULL, NULL); /* defaults: op level, gradients */
    Agraph_t *G = du_read(s);
    int N = rc_graph_node_count(n.g), nedges = 0;
    cr_assert_eq(agnnodes(G), N, "every node drawn once");
    for (int i = 0; i < N; i++) {
        rc_node *v = rc_graph_node(n.g, i);
        char id[256];
        Agnode_t *a = agnode(G, rc_dot_node_id(v, id, sizeof id), 0);
        cr_assert(a, "node %s not drawn", id);
        int nin = rc_node_ninputs(v);
        nedges += nin;
        cr_assert_eq(agdegree(G, a, 1, 0), nin, "%s: %d DOT in-edges, %d graph inputs", id,
                     (int)agdegree(G, a, 1, 0), nin);
        /* each in-edge comes from one of the inputs, as often as that input is used */
        for (int k = 0; k < nin; k++) {
            char iid[256];
            rc_dot_node_id(rc_node_input(v, k), iid, sizeof iid);
            int uses = 0, edges = 0;
            for (int j = 0; j < nin; j++) uses += rc_node_input(v, j) == rc_node_input(v, k);
            for (Agedge_t *e = agfstin(G, a); e; e = agnxtin(G, e)) edges += strcmp(agnameof(agtail(e)), iid) == 0;
            cr_assert_eq(edges, uses, "%s <- %s: %d edges, used %d times", id, iid, edges, uses);
        }
    }
    cr_assert_eq(agnedges(G), nedges);
    agclose(G);
    rc_free(s);
    du_free(&n);
}

Test(dot, op_level_draws_one_edge_per_graph_edge) {
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 2; b++) check_edges(all_cells[c], b);
}

/* Every gradient node is inside the gradients cluster with the gradient
 * style, and nothing of the forward graph is. */
static void check_grad_style(du_cell cell, bool bidir, rc_dot_level level) {
    du_net n = du_build(cell, 3, bidir, true);
    char *s;
    Agraph_t *G = du_draw(n.g, level, &s);
    Agraph_t *gc = agsubg(G, "cluster_g:#s0", 0);
    cr_assert(gc, "no gradients cluster");
    cr_assert_str_eq(du_attr(gc, "label"), "gradients");
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v)) {
        bool in_grad = agsubnode(gc, v, 0) != NULL;
        bool grad_class = strncmp(du_attr(v, "class"), "grad", 4) == 0;
        bool grad_id = strncmp(agnameof(v), "grad", 4) == 0;
        cr_assert_eq(in_grad, grad_class, "%s: in the gradients cluster %d, class '%s'", agnameof(v), in_grad,
                     du_attr(v, "class"));
        cr_assert_eq(in_grad, grad_id, "%s", agnameof(v));
        if (in_grad) cr_assert_str_eq(du_attr(v, "color"), "#c0392b", "%s", agnameof(v));
    }
    if (level == RC_DOT_OP)
        for (int i = 0; i < rc_graph_node_count(n.g); i++) {
            rc_node *v = rc_graph_node(n.g, i);
            char id[256];
            Agnode_t *a = agnode(G, rc_dot_node_id(v, id, sizeof id), 0);
            cr_assert(a);
            cr_assert_eq(agsubnode(gc, a, 0) != NULL, rc_node_is_gradient(v), "%s", id);
            if (rc_node_is_gradient(v)) cr_assert_str_eq(du_attr(a, "fillcolor"), "#fde2dd", "%s", id);
        }
    agclose(G);
    rc_free(s);
    du_free(&n);
}

Test(dot, gradient_nodes_are_styled_apart) {
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 2; b++)
            for (int l = RC_DOT_OP; l <= RC_DOT_LAYER; l++) check_grad_style(all_cells[c], b, (rc_dot_level)l);
}

Test(dot, gradients_off_draws_the_forward_graph_only) {
    du_net n = du_build(DU_LSTM, 3, false, true);
    rc_dot_options o = rc_dot_defaults();
    o.gradients = false;
    char *s = du_dot(n.g, &o, NULL);
    Agraph_t *G = du_read(s);
    int forward = 0;
    for (int i = 0; i < rc_graph_node_count(n.g); i++) forward += !rc_node_is_gradient(rc_graph_node(n.g, i));
    cr_assert_eq(agnnodes(G), forward);
    cr_assert_null(agsubg(G, "cluster_g:#s0", 0));
    agclose(G);
    rc_free(s);
    du_free(&n);
}

/* Only the gradient paths to the recurrent kernel: the kernel's gradient
 * and the bias' are not drawn; the chosen one is labelled. */
Test(dot, grads_option_keeps_the_paths_to_chosen_parameters) {
    du_net n = du_build(DU_GRU, 4, false, true);
    rc_dot_options o = rc_dot_defaults();
    o.grads = &n.grads[1];
    o.grad_params = &n.params[1];
    o.ngrads = 1;
    char *s = du_dot(n.g, &o, NULL);
    Agraph_t *G = du_read(s);
    char id[256];
    Agnode_t *chosen = agnode(G, rc_dot_node_id(n.grads[1], id, sizeof id), 0);
    cr_assert(chosen, "%s", id);
    cr_assert(strstr(du_attr(chosen, "label"), "∂L/∂recurrent_kernel"), "%s", du_attr(chosen, "label"));
    cr_assert_null(agnode(G, rc_dot_node_id(n.grads[0], id, sizeof id), 0), "kernel gradient %s drawn", id);
    cr_assert_null(agnode(G, rc_dot_node_id(n.grads[2], id, sizeof id), 0), "bias gradient %s drawn", id);
    /* every gradient node drawn is an ancestor of the chosen gradient */
    int N = rc_graph_node_count(n.g);
    char *need = calloc((size_t)N, 1);
    need[rc_node_id(n.grads[1])] = 1;
    for (int i = N - 1; i >= 0; i--)
        if (need[i])
            for (int k = 0; k < rc_node_ninputs(rc_graph_node(n.g, i)); k++)
                need[rc_node_id(rc_node_input(rc_graph_node(n.g, i), k))] = 1;
    int drawn_grads = 0, needed_grads = 0;
    for (int i = 0; i < N; i++) {
        rc_node *v = rc_graph_node(n.g, i);
        if (!rc_node_is_gradient(v)) continue;
        needed_grads += need[i];
        bool drawn = agnode(G, rc_dot_node_id(v, id, sizeof id), 0) != NULL;
        drawn_grads += drawn;
        cr_assert_eq(drawn, need[i] != 0, "%s", id);
    }
    cr_assert(drawn_grads > 0 && drawn_grads == needed_grads);
    free(need);
    agclose(G);
    rc_free(s);
    du_free(&n);
}

/* --- long sequences ------------------------------------------------------------------- */

static void check_ellipsis(rc_dot_level level) {
    enum { T = 12, K = 2 };
    du_net n = du_build(DU_LSTM, T, false, true);
    rc_dot_options o = rc_dot_defaults();
    o.level = level;
    o.steps_shown = K;
    char *s = du_dot(n.g, &o, NULL);
    Agraph_t *G = du_read(s);
    for (int tree = 0; tree < 2; tree++) {
        step_count c = {.prefix = tree ? "cluster_g:" : "cluster_f:", .layer = "rnn", .T = T};
        du_each_subgraph(G, count_steps, &c);
        for (int k = 0; k < T; k++)
            cr_assert_eq(c.seen[k], k < K || k >= T - K, "%s level, %st%d: %d clusters", rc_dot_level_name(level),
                         c.prefix, k, c.seen[k]);
    }
    int ell = 0, gell = 0;
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v)) {
        if (strcmp(du_attr(v, "class"), "ellipsis") == 0) {
            ell++;
            cr_assert(strstr(du_attr(v, "label"), "8 steps hidden"), "%s", du_attr(v, "label"));
        }
        gell += strcmp(du_attr(v, "class"), "grad ellipsis") == 0;
    }
    cr_assert_eq(ell, 1);
    cr_assert_eq(gell, 1);
    /* the forward ellipsis is between the shown steps: t1 -> ellipsis -> t10 */
    Agnode_t *e = NULL;
    for (Agnode_t *v = agfstnode(G); v; v = agnxtnode(G, v))
        if (strcmp(du_attr(v, "class"), "ellipsis") == 0) e = v;
    bool from_t1 = false, to_t10 = false;
    for (Agedge_t *x = agfstin(G, e); x; x = agnxtin(G, x))
        from_t1 |= strstr(agnameof(agtail(x)), "rnn/t1/") || strstr(agnameof(agtail(x)), "rnn/t1#");
    for (Agedge_t *x = agfstout(G, e); x; x = agnxtout(G, x))
        to_t10 |= strstr(agnameof(aghead(x)), "rnn/t10/") || strstr(agnameof(aghead(x)), "rnn/t10#");
    cr_assert(from_t1 && to_t10, "%s level: t1 -> ellipsis %d, ellipsis -> t10 %d", rc_dot_level_name(level),
              from_t1, to_t10);
    agclose(G);
    rc_free(s);
    du_free(&n);
}

Test(dot, steps_shown_draws_first_and_last_steps_and_an_ellipsis) {
    check_ellipsis(RC_DOT_OP);
    check_ellipsis(RC_DOT_CELL);
}

Test(dot, steps_shown_covering_the_sequence_draws_every_step) {
    du_net n = du_build(DU_SIMPLE, 4, false, false);
    rc_dot_options o = rc_dot_defaults();
    char *all = du_dot(n.g, &o, NULL);
    o.steps_shown = 2;
    char *shown = du_dot(n.g, &o, NULL);
    cr_assert_str_eq(all, shown);
    rc_free(all);
    rc_free(shown);
    du_free(&n);
}

/* --- determinism ------------------------------------------------------------------------ */

/* The DOT text of a freshly built LSTM with gradients at every level,
 * concatenated. */
static char *fresh_text(size_t *len) {
    du_net n = du_build(DU_LSTM, 5, true, true);
    size_t total = 0;
    char *all = NULL;
    for (int l = RC_DOT_OP; l <= RC_DOT_LAYER; l++) {
        rc_dot_options o = rc_dot_defaults();
        o.level = (rc_dot_level)l;
        o.steps_shown = l == RC_DOT_CELL ? 1 : 0;
        size_t k;
        char *s = du_dot(n.g, &o, &k);
        all = realloc(all, total + k + 1);
        memcpy(all + total, s, k + 1);
        total += k;
        rc_free(s);
    }
    du_free(&n);
    *len = total;
    return all;
}

Test(dot, output_is_byte_identical_across_runs_and_processes) {
    size_t n1, n2;
    char *a = fresh_text(&n1);
    /* some allocations in between, so the second graph's nodes live elsewhere */
    void *junk = malloc(12345);
    char *b = fresh_text(&n2);
    free(junk);
    cr_assert_eq(n1, n2);
    cr_assert(memcmp(a, b, n1) == 0, "two runs differ");
    /* a child process builds its own graph and sends its text back */
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        void *shift = malloc(777); /* a different heap layout */
        size_t n;
        char *c = fresh_text(&n);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fd[1], c + off, n - off);
            if (w <= 0) _exit(3);
            off += (size_t)w;
        }
        free(shift);
        _exit(0);
    }
    close(fd[1]);
    char *c = malloc(n1 + 1);
    size_t got = 0;
    for (;;) {
        char buf[65536];
        ssize_t r = read(fd[0], buf, sizeof buf);
        if (r <= 0) break;
        if (got + (size_t)r <= n1) memcpy(c + got, buf, (size_t)r);
        got += (size_t)r;
    }
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(got, n1, "child wrote %zu bytes, parent %zu", got, n1);
    cr_assert(memcmp(a, c, n1) == 0, "the child's text differs");
    free(a);
    free(b);
    free(c);
}

Test(dot, ids_come_from_scope_path_and_index) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2));
    rc_scope_push(g, "lstm");
    rc_scope_push(g, "t3");
    rc_node *f = rc_sigmoid(g, x);
    rc_node_rename(f, "forget_gate");
    rc_scope_pop(g);
    rc_scope_pop(g);
    char id[128];
    cr_assert_str_eq(rc_dot_node_id(x, id, sizeof id), "x#0");
    cr_assert_str_eq(rc_dot_node_id(f, id, sizeof id), "lstm/t3/forget_gate#1");
    rc_node *ps[1] = {x}, *gs[1];
    cr_assert_eq(rc_gradients(g, rc_sum(g, f, RC_ALL_AXES, false), ps, 1, gs), RC_OK);
    cr_assert_eq(strncmp(rc_dot_node_id(gs[0], id, sizeof id), "grad:", 5), 0, "%s", id);
    rc_graph_free(g);
}

/* --- odd graphs ----------------------------------------------------------------------- */

Test(dot, empty_graph_is_valid_dot) {
    rc_graph *g = rc_graph_new();
    for (int l = RC_DOT_OP; l <= RC_DOT_LAYER; l++) {
        rc_dot_options o = rc_dot_defaults();
        o.level = (rc_dot_level)l;
        char *s = du_dot(g, &o, NULL);
        Agraph_t *G = du_read(s);
        cr_assert_eq(agnnodes(G), 0);
        agclose(G);
        char *svg;
        cr_assert_eq(rc_dot_render(s, "svg", &svg, NULL, &dot_err), RC_OK, "%s", dot_err.message);
        rc_free(svg);
        rc_free(s);
    }
    rc_graph_free(g);
}

/* Names with quotes, backslashes, newlines, control bytes, '&', invalid
 * UTF-8 and DOT keywords, in scopes and nodes: valid DOT, readable labels,
 * and Graphviz lays it out. */
Test(dot, odd_names_give_valid_dot) {
    static const char *const names[] = {
        "say \"hi\"", "back\\slash", "new\nline", "end\\", "\"", "tab\there", "a&b", "<html>", "bad\xff\xfe utf8",
        "subgraph", "-> edge", "{ }", "é ∂ 😀", "\\N\\G\\l", "\r\x01\x7f"};
    enum { NN = sizeof names / sizeof names[0] };
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 2));
    rc_node *prev = x;
    for (int i = 0; i < NN; i++) {
        cr_assert(rc_scope_push(g, names[i]), "%s", rc_graph_error(g));
        rc_scope_push(g, "t0");
        prev = rc_tanh(g, prev);
        cr_assert(rc_node_rename(prev, names[i]), "%s", rc_graph_error(g));
        rc_scope_pop(g);
        rc_scope_pop(g);
    }
    rc_node *p = rc_param(g, "w\"\\\n", RC_SHAPE(2, 2));
    rc_node *loss = rc_sum(g, rc_mul(g, prev, p), RC_ALL_AXES, false);
    rc_node *gs[1];
    cr_assert_eq(rc_gradients(g, loss, &p, 1, gs), RC_OK, "%s", rc_graph_error(g));
    rc_dot_options o = rc_dot_defaults();
    o.title = "title with \"quotes\" \\ and\nnewline";
    o.grads = gs;
    o.grad_params = &p;
    o.ngrads = 1;
    for (int l = RC_DOT_OP; l <= RC_DOT_LAYER; l++) {
        o.level = (rc_dot_level)l;
        char *s = du_dot(g, &o, NULL);
        Agraph_t *G = du_read(s);
        if (l == RC_DOT_OP) {
            for (int i = 0; i < rc_graph_node_count(g); i++) {
                char fid[256];
                rc_node *v = rc_graph_node(g, i);
                cr_assert(rc_node_is_gradient(v) || agnode(G, rc_dot_node_id(v, fid, sizeof fid), 0), "%s", fid);
            }
            /* the tooltip of a node named `say "hi"` reads back as its path */
            char id[256];
            Agnode_t *v = agnode(G, rc_dot_node_id(rc_graph_node(g, 1), id, sizeof id), 0);
            cr_assert(v, "%s", id);
            cr_assert(strstr(du_attr(v, "tooltip"), "say \"hi\"/t0/say \"hi\""), "%s", du_attr(v, "tooltip"));
            v = agnode(G, rc_dot_node_id(rc_graph_node(g, 2), id, sizeof id), 0);
            cr_assert(strstr(du_attr(v, "label"), "back\\\\slash"), "%s", du_attr(v, "label"));
        }
        agclose(G);
        char *svg;
        cr_assert_eq(rc_dot_render(s, "svg", &svg, NULL, &dot_err), RC_OK, "%s level: %s", rc_dot_level_name(o.level),
                     dot_err.message);
        cr_assert(strstr(svg, "say &quot;hi&quot;") || strstr(svg, "say \"hi\""), "the label text is in the SVG");
        rc_free(svg);
        rc_free(s);
    }
    rc_graph_free(g);
}

/* A graph whose building failed is drawn as it stands. */
Test(dot, graph_with_an_error_is_drawn_as_it_stands) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_input(g, "a", RC_F32, RC_SHAPE(2, 3));
    rc_node *b = rc_input(g, "b", RC_F32, RC_SHAPE(4, 5));
    rc_scope_push(g, "layer");
    rc_node *t = rc_tanh(g, a);
    rc_node *bad = rc_matmul(g, t, b, false, false); /* (2, 3) x (4, 5) */
    cr_assert_null(bad);
    rc_node *after = rc_sigmoid(g, bad); /* NULL input: quietly NULL */
    cr_assert_null(after);
    rc_scope_pop(g);
    cr_assert(rc_graph_error(g));
    for (int l = RC_DOT_OP; l <= RC_DOT_LAYER; l++) {
        rc_dot_options o = rc_dot_defaults();
        o.level = (rc_dot_level)l;
        char *s = du_dot(g, &o, NULL);
        Agraph_t *G = du_read(s);
        if (l == RC_DOT_OP) cr_assert_eq(agnnodes(G), rc_graph_node_count(g));
        agclose(G);
        rc_free(s);
    }
    rc_graph_free(g);
}

/* --- options ----------------------------------------------------------------------------- */

Test(dot, bad_options_are_errors_with_messages) {
    du_net n = du_build(DU_SIMPLE, 2, false, true);
    rc_graph *other = rc_graph_new();
    rc_node *stranger = rc_input(other, "x", RC_F32, RC_SHAPE(1));
    char *s = (char *)1;
    rc_dot_options o = rc_dot_defaults();
    o.level = (rc_dot_level)7;
    cr_assert_eq(rc_dot_string(n.g, &o, &s, NULL, &dot_err), RC_ERR_ARG);
    cr_assert_null(s);
    cr_assert(strstr(dot_err.message, "unknown level 7"), "%s", dot_err.message);
    o = rc_dot_defaults();
    o.steps_shown = -1;
    cr_assert_eq(rc_dot_string(n.g, &o, &s, NULL, &dot_err), RC_ERR_ARG);
    cr_assert(strstr(dot_err.message, "steps_shown is -1"), "%s", dot_err.message);
    o = rc_dot_defaults();
    o.rankdir = "XY";
    cr_assert_eq(rc_dot_string(n.g, &o, &s, NULL, &dot_err), RC_ERR_ARG);
    cr_assert(strstr(dot_err.message, "rankdir 'XY'"), "%s", dot_err.message);
    o = rc_dot_defaults();
    o.outputs = &stranger;
    o.noutputs = 1;
    cr_assert_eq(rc_dot_string(n.g, &o, &s, NULL, &dot_err), RC_ERR_ARG);
    cr_assert(strstr(dot_err.message, "another graph"), "%s", dot_err.message);
    cr_assert_eq(rc_dot_string(NULL, NULL, &s, NULL, &dot_err), RC_ERR_ARG);
    cr_assert(strstr(dot_err.message, "graph is NULL"), "%s", dot_err.message);
    cr_assert_eq(rc_dot_save(n.g, NULL, "graph.jpeg", &dot_err), RC_ERR_ARG);
    cr_assert(strstr(dot_err.message, "graph.jpeg"), "%s", dot_err.message);
    cr_assert_eq(rc_dot_save(n.g, NULL, "/nonexistent-dir/g.dot", &dot_err), RC_ERR_IO);
    cr_assert(strstr(dot_err.message, "cannot write '/nonexistent-dir/g.dot'"), "%s", dot_err.message);
    rc_graph_free(other);
    du_free(&n);
}

Test(dot, outputs_option_draws_only_what_they_need) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2));
    rc_node *a = rc_tanh(g, x);
    rc_node *b = rc_exp(g, x);
    rc_node *c = rc_add(g, a, a);
    rc_dot_options o = rc_dot_defaults();
    o.outputs = &c;
    o.noutputs = 1;
    char *s = du_dot(g, &o, NULL);
    Agraph_t *G = du_read(s);
    char id[64];
    cr_assert_eq(agnnodes(G), 3);
    cr_assert_null(agnode(G, rc_dot_node_id(b, id, sizeof id), 0));
    cr_assert_eq(agnedges(G), 3, "x->tanh and tanh->add twice");
    agclose(G);
    rc_free(s);
    rc_graph_free(g);
}

Test(dot, level_and_format_names) {
    rc_dot_level l;
    cr_assert(rc_dot_level_parse("cell", &l) && l == RC_DOT_CELL);
    cr_assert_not(rc_dot_level_parse("Cell", &l));
    cr_assert_not(rc_dot_level_parse(NULL, &l));
    cr_assert_str_eq(rc_dot_level_name(RC_DOT_LAYER), "layer");
    cr_assert_str_eq(rc_dot_format_of("a/b.SVG"), "svg");
    cr_assert_str_eq(rc_dot_format_of("g.gv"), "dot");
    cr_assert_null(rc_dot_format_of("dir.svg/file"));
    cr_assert_null(rc_dot_format_of(".png"));
    cr_assert_null(rc_dot_format_of("noext"));
}

/* --- rendering --------------------------------------------------------------------------- */

Test(dot, renders_svg_png_and_pdf_in_process) {
    du_net n = du_build(DU_GRU, 2, false, true);
    rc_dot_options o = rc_dot_defaults();
    o.level = RC_DOT_CELL;
    char *s = du_dot(n.g, &o, NULL);
    static const struct {
        const char *fmt, *magic;
    } f[] = {{"svg", "<?xml"}, {"png", "\x89PNG"}, {"pdf", "%PDF"}};
    for (int i = 0; i < 3; i++) {
        char *out;
        size_t len;
        cr_assert_eq(rc_dot_render(s, f[i].fmt, &out, &len, &dot_err), RC_OK, "%s: %s", f[i].fmt, dot_err.message);
        cr_assert(len > 100 && memcmp(out, f[i].magic, strlen(f[i].magic)) == 0, "%s", f[i].fmt);
        rc_free(out);
    }
    char *out = (char *)1;
    cr_assert_eq(rc_dot_render(s, "jpg", &out, NULL, &dot_err), RC_ERR_ARG);
    cr_assert_null(out);
    cr_assert(strstr(dot_err.message, "unknown format 'jpg'"), "%s", dot_err.message);
    cr_assert_eq(rc_dot_render("digraph { a -> }", "svg", &out, NULL, &dot_err), RC_ERR_FORMAT);
    cr_assert(strstr(dot_err.message, "could not read the DOT text") && strstr(dot_err.message, "syntax error"),
              "%s", dot_err.message);
    rc_free(s);
    du_free(&n);
}

/* The library never prints: everything above, on success and on failure,
 * with stdout and stderr pointed at a file that must stay empty. */
Test(dot, the_library_never_prints) {
    char path[] = "/tmp/recur-dot-print-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    int o1 = dup(1), o2 = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    du_net n = du_build(DU_LSTM, 3, true, true);
    char *s = NULL, *out = NULL;
    rc_status st[8];
    st[0] = rc_dot_string(n.g, NULL, &s, NULL, &dot_err);
    st[1] = rc_dot_render(s, "svg", &out, NULL, &dot_err);
    rc_free(out);
    st[2] = rc_dot_render(s, "png", &out, NULL, &dot_err);
    rc_free(out);
    st[3] = rc_dot_render("digraph { a -> ; }", "svg", &out, NULL, &dot_err);
    st[4] = rc_dot_render("digraph { a [shape=nosuchshape, color=nosuchcolor]; a -> b [arrowhead=bogus]; }",
                          "svg", &out, NULL, &dot_err);
    rc_free(out);
    st[5] = rc_dot_save(n.g, NULL, "/nonexistent-dir/g.svg", &dot_err);
    rc_dot_options o = rc_dot_defaults();
    o.steps_shown = -3;
    st[6] = rc_dot_save(n.g, &o, "never.svg", &dot_err);
    st[7] = rc_dot_render("graph { a -- b }", "pdf", &out, NULL, &dot_err);
    rc_free(out);
    rc_free(s);
    du_free(&n);
    fflush(stdout);
    fflush(stderr);
    dup2(o1, 1);
    dup2(o2, 2);
    close(o1);
    close(o2);
    struct stat sb;
    fstat(fd, &sb);
    char got[512] = {0};
    pread(fd, got, sizeof got - 1, 0);
    close(fd);
    unlink(path);
    cr_assert_eq(st[0], RC_OK);
    cr_assert_eq(st[1], RC_OK);
    cr_assert_eq(st[2], RC_OK);
    cr_assert_eq(st[3], RC_ERR_FORMAT);
    cr_assert_eq(st[5], RC_ERR_IO);
    cr_assert_eq(st[6], RC_ERR_ARG);
    cr_assert_eq(st[7], RC_OK);
    cr_assert_eq(sb.st_size, 0, "the library printed: %s", got);
}

/* rc_dot_save replaces a file whole, keeps it on failure, leaves no
 * temporary file behind. */
Test(dot, save_replaces_whole_files_and_keeps_them_on_failure) {
    char dir[] = "/tmp/recur-dot-save-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[128], svg[128];
    snprintf(path, sizeof path, "%s/g.dot", dir);
    snprintf(svg, sizeof svg, "%s/g.svg", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    chmod(path, 0640);
    du_net n = du_build(DU_SIMPLE, 2, false, false);
    cr_assert_eq(rc_dot_save(n.g, NULL, path, &dot_err), RC_OK, "%s", dot_err.message);
    char *want = du_dot(n.g, NULL, NULL);
    f = fopen(path, "r");
    char got[65536];
    size_t k = fread(got, 1, sizeof got - 1, f);
    got[k] = 0;
    fclose(f);
    cr_assert_str_eq(got, want);
    struct stat sb;
    stat(path, &sb);
    cr_assert_eq(sb.st_mode & 0777, 0640, "the mode of the replaced file is kept");
    /* a failed save (bad options) leaves the file as it was */
    rc_dot_options o = rc_dot_defaults();
    o.level = (rc_dot_level)-1;
    cr_assert_eq(rc_dot_save(n.g, &o, path, &dot_err), RC_ERR_ARG);
    f = fopen(path, "r");
    k = fread(got, 1, sizeof got - 1, f);
    got[k] = 0;
    fclose(f);
    cr_assert_str_eq(got, want);
    cr_assert_eq(rc_dot_save(n.g, NULL, svg, &dot_err), RC_OK, "%s", dot_err.message);
    /* the directory holds exactly the two files */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int files = 0;
    cr_assert_eq(fscanf(p, "%d", &files), 1);
    pclose(p);
    cr_assert_eq(files, 2, "temporary files left behind");
    unlink(path);
    unlink(svg);
    rmdir(dir);
    rc_free(want);
    du_free(&n);
}

