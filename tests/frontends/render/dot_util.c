#include "dot_util.h"

#include <criterion/criterion.h>
#include <string.h>

rc_error dot_err;

static rc_cell *make_cell(du_cell cell) {
    rc_cell_config cfg = rc_cell_defaults(4);
    return cell == DU_SIMPLE ? rc_simple_rnn_cell_new(&cfg) : cell == DU_LSTM ? rc_lstm_cell_new(&cfg)
                                                                              : rc_gru_cell_new(&cfg);
}

du_net du_build(du_cell cell, int T, bool bidir, bool gradients) {
    du_net n = {.g = rc_graph_new()};
    cr_assert(n.g);
    n.x = rc_input(n.g, "x", RC_F32, RC_SHAPE(2, T, 3));
    rc_rnn_config rc = {.return_sequences = true};
    if (bidir) {
        rc_rnn_config bc = rc;
        bc.go_backwards = true;
        rc_rnn *f = rc_rnn_new("forward", make_cell(cell), &rc, NULL);
        rc_rnn *b = rc_rnn_new("backward", make_cell(cell), &bc, NULL);
        cr_assert(f && b);
        n.bi = rc_bidir_new("bidirectional", f, b, RC_MERGE_CONCAT, NULL);
        cr_assert(n.bi);
        rc_bidir_out o;
        cr_assert_eq(rc_bidir_apply(n.bi, n.g, n.x, NULL, &o), RC_OK, "%s", rc_graph_error(n.g));
        n.y = o.output;
    } else {
        n.layer = rc_rnn_new("rnn", make_cell(cell), &rc, NULL);
        cr_assert(n.layer);
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(n.layer, n.g, n.x, NULL, &o), RC_OK, "%s", rc_graph_error(n.g));
        n.y = o.output;
    }
    n.nparams = rc_graph_params(n.g, n.params, 16);
    cr_assert(n.nparams > 0 && n.nparams <= 16);
    if (gradients) {
        n.loss = rc_sum(n.g, n.y, RC_ALL_AXES, false);
        rc_node_rename(n.loss, "loss");
        cr_assert_eq(rc_gradients(n.g, n.loss, n.params, n.nparams, n.grads), RC_OK, "%s", rc_graph_error(n.g));
    }
    cr_assert_null(rc_graph_error(n.g), "%s", rc_graph_error(n.g));
    return n;
}

void du_free(du_net *n) {
    rc_rnn_free(n->layer);
    rc_bidir_free(n->bi);
    rc_graph_free(n->g);
    *n = (du_net){0};
}

char *du_dot(const rc_graph *g, const rc_dot_options *o, size_t *len) {
    char *s = NULL;
    rc_status st = rc_dot_string(g, o, &s, len, &dot_err);
    cr_assert_eq(st, RC_OK, "rc_dot_string: %s", dot_err.message);
    cr_assert(s);
    return s;
}

static char gv_msg[4096];

static int keep_msg(char *m) {
    size_t k = strlen(gv_msg);
    snprintf(gv_msg + k, sizeof gv_msg - k, "%s", m);
    return 0;
}

Agraph_t *du_read(const char *dot) {
    gv_msg[0] = 0;
    agseterrf(keep_msg);
    Agraph_t *G = agmemread(dot);
    agseterrf(NULL);
    cr_assert(G, "cgraph rejects the DOT text: %s", gv_msg);
    cr_assert_eq(gv_msg[0], 0, "cgraph complains: %s", gv_msg);
    return G;
}

Agraph_t *du_draw(const rc_graph *g, rc_dot_level level, char **text) {
    rc_dot_options o = rc_dot_defaults();
    o.level = level;
    *text = du_dot(g, &o, NULL);
    return du_read(*text);
}

const char *du_attr(void *obj, const char *name) {
    char *v = agget(obj, (char *)name);
    return v ? v : "";
}

void du_each_subgraph(Agraph_t *g, void (*f)(Agraph_t *sub, void *arg), void *arg) {
    for (Agraph_t *s = agfstsubg(g); s; s = agnxtsubg(s)) {
        f(s, arg);
        du_each_subgraph(s, f, arg);
    }
}
