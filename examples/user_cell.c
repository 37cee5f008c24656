/* user_cell — a cell written outside the library (examples/mgu_cell.c, a
 * Minimal Gated Unit) used everywhere a built-in cell can be:
 *
 *   1. alone in an RNN layer (return_sequences, return_state);
 *   2. stacked under a built-in LSTM cell (rc_stacked_cells_new);
 *   3. in both halves of a Bidirectional layer, with a mask.
 *
 * For each it prints the output and state shapes and the parameter count,
 * then gradient-checks the Bidirectional one (autodiff against central
 * differences, in double precision) and prints a few of the checked
 * gradients. Exit status 1 on any error or failed check.
 *
 * With a FILE, it also draws the Bidirectional layer and the gradient paths
 * to the forward cell's weights, like `recur dot` does for the built-in
 * cells: FILE's extension picks DOT text (.dot) or a picture rendered by
 * Graphviz (.svg, .png, .pdf); LEVEL is op, cell (default) or layer.
 *
 * usage: user_cell [FILE [LEVEL]]
 */
#include <stdio.h>

#include <recur.h>
#include <recur/dot.h>
#include <recur/rnn.h>

#include "mgu_cell.h"

enum { B = 4, T = 5, I = 3, U = 4 };

static int fail(rc_graph *g, const char *what) {
    fprintf(stderr, "user_cell: %s: %s\n", what, rc_graph_error(g) ? rc_graph_error(g) : "unknown error");
    return 1;
}

static void print_node(const char *what, rc_node *n) {
    char buf[RC_SHAPE_STRLEN];
    printf("  %-16s %s\n", what, rc_shape_str(rc_node_shape(n), buf, sizeof buf));
}

/* sum(y * w) with a fixed pseudo-random w: a scalar whose gradient w.r.t.
 * y is w, so every element of y matters. */
static rc_node *weighted_sum(rc_graph *g, rc_node *y, rc_rng *r) {
    rc_node *w = rc_const(g, rc_node_shape(y), NULL);
    if (!w) return NULL;
    rc_rng_fill_uniform(r, rc_node_data(w), rc_node_numel(w), -1.0f, 1.0f);
    return rc_sum(g, rc_mul(g, y, w), RC_ALL_AXES, false);
}

int main(int argc, char **argv) {
    const char *draw = argc > 1 ? argv[1] : NULL;
    rc_dot_level level = RC_DOT_CELL;
    if (argc > 3 || (argc == 3 && !rc_dot_level_parse(argv[2], &level))) {
        fprintf(stderr, "usage: user_cell [FILE.{dot,svg,png,pdf} [op|cell|layer]]\n");
        return 2;
    }
    int rc = 1;
    rc_graph *g = rc_graph_new();
    if (!g) return fprintf(stderr, "user_cell: out of memory\n"), 1;
    rc_rnn *rnn = NULL, *stacked = NULL;
    rc_bidir *bidir = NULL;
    rc_plan *plan = NULL;
    rc_rng rng;
    rc_rng_seed(&rng, 7);

    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(B, T, I));
    rc_node *mask = rc_input(g, "mask", RC_F32, RC_SHAPE(B, T));
    if (!x || !mask) goto graph_err;
    rc_rng_fill_uniform(&rng, rc_node_data(x), B * T * I, -1.0f, 1.0f);
    /* row 0 full, row 1 right-padded, row 2 with a gap, row 3 all masked */
    static const float m[B * T] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0};
    rc_node_set(mask, m);

    /* 1. the user cell in an RNN layer */
    rnn = rc_rnn_new("mgu", mgu_cell_new(U), &(rc_rnn_config){.return_sequences = true, .return_state = true}, NULL);
    if (!rnn) return fprintf(stderr, "user_cell: out of memory\n"), rc_graph_free(g), 1;
    rc_rnn_out o1;
    if (rc_rnn_apply(rnn, g, x, &(rc_rnn_call){.rng = &rng}, &o1) != RC_OK) goto graph_err;
    printf("RNN(MGU(%d)), return_sequences and return_state: %lld parameters (2U(I+U+1) = %d)\n", U,
           (long long)rc_cell_param_count(rc_rnn_cell(rnn)), 2 * U * (I + U + 1));
    print_node("output", o1.output);
    print_node("state h", o1.state[0]);

    /* 2. stacked: MGU(4) then a built-in LSTM(3) */
    rc_cell_config lc = rc_cell_defaults(3);
    rc_cell *cells[2] = {mgu_cell_new(U), rc_lstm_cell_new(&lc)};
    rc_cell *stack = cells[0] && cells[1] ? rc_stacked_cells_new(cells, 2, NULL) : NULL;
    if (!stack) {
        rc_cell_free(cells[0]);
        rc_cell_free(cells[1]);
    }
    stacked = stack ? rc_rnn_new("stacked", stack, &(rc_rnn_config){.return_state = true}, NULL) : NULL;
    if (!stacked) {
        fprintf(stderr, "user_cell: out of memory\n");
        goto done;
    }
    rc_rnn_out o2;
    if (rc_rnn_apply(stacked, g, x, &(rc_rnn_call){.mask = mask, .rng = &rng}, &o2) != RC_OK) goto graph_err;
    printf("RNN([MGU(%d), LSTM(3)]) with a mask, last output and states: %lld parameters (%d + %d)\n", U,
           (long long)rc_cell_param_count(rc_rnn_cell(stacked)), 2 * U * (I + U + 1), 4 * 3 * (U + 3 + 1));
    print_node("output", o2.output);
    const char *snames[3] = {"state mgu h", "state lstm h", "state lstm c"};
    for (int k = 0; k < o2.nstates; k++) print_node(snames[k], o2.state[k]);

    /* 3. Bidirectional(MGU(4)), concat, with a mask */
    rc_rnn *fw = rc_rnn_new("forward", mgu_cell_new(U), &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_rnn *bw = rc_rnn_new("backward", mgu_cell_new(U),
                            &(rc_rnn_config){.return_sequences = true, .go_backwards = true}, NULL);
    bidir = fw && bw ? rc_bidir_new("bidirectional", fw, bw, RC_MERGE_CONCAT, NULL) : NULL;
    if (!bidir) {
        rc_rnn_free(fw);
        rc_rnn_free(bw);
        fprintf(stderr, "user_cell: could not make the Bidirectional layer\n");
        goto done;
    }
    rc_bidir_out o3;
    if (rc_bidir_apply(bidir, g, x, &(rc_rnn_call){.mask = mask, .rng = &rng}, &o3) != RC_OK) goto graph_err;
    rc_cell *cf = rc_rnn_cell(rc_bidir_forward(bidir)), *cb = rc_rnn_cell(rc_bidir_backward(bidir));
    printf("Bidirectional(MGU(%d)), concat, with a mask: %lld parameters\n", U,
           (long long)(rc_cell_param_count(cf) + rc_cell_param_count(cb)));
    print_node("output", o3.output);
    printf("graph: %d nodes for the three layers (T = %d)\n", rc_graph_node_count(g), T);

    /* gradient of a scalar loss of the Bidirectional output w.r.t. the
     * forward cell's weights, in float32 through a plan... */
    rc_node *loss = weighted_sum(g, o3.output, &rng);
    rc_node *wrt[3] = {cf->params[0], cf->params[1], cf->params[2]}, *grads[3];
    if (!loss || rc_gradients(g, loss, wrt, 3, grads) != RC_OK) goto graph_err;
    if (draw) {
        /* what the loss needs (the Bidirectional layer), and the gradient
         * paths to the three weights, labelled with their names */
        rc_dot_options o = rc_dot_defaults();
        o.level = level;
        o.outputs = &loss;
        o.noutputs = 1;
        o.grads = grads;
        o.grad_params = wrt;
        o.ngrads = 3;
        o.title = "Bidirectional(MGU(4)) on x (4, 5, 3) with a mask: gradients w.r.t. the forward cell";
        rc_error err;
        if (rc_dot_save(g, &o, draw, &err) != RC_OK) {
            fprintf(stderr, "user_cell: %s\n", err.message);
            goto done;
        }
        printf("drew the graph to %s (%s level)\n", draw, rc_dot_level_name(level));
    }
    plan = rc_plan_new(g, (rc_node *[]){loss, grads[0], grads[1], grads[2]}, 4);
    if (!plan) goto graph_err;
    rc_error err;
    if (rc_plan_run(plan, &err) != RC_OK) {
        fprintf(stderr, "user_cell: run failed: %s\n", err.message);
        goto done;
    }
    printf("loss %.6f\n", rc_plan_f32(plan, loss)[0]);
    const char *wnames[3] = {"kernel", "recurrent_kernel", "bias"};
    for (int k = 0; k < 3; k++) {
        const float *d = rc_plan_f32(plan, grads[k]);
        printf("  dloss/d forward/%-16s [0..3] = % .6f % .6f % .6f % .6f\n", wnames[k], d[0], d[1], d[2], d[3]);
    }
    /* ...and checked against central differences in double precision, w.r.t.
     * x and every weight of both halves */
    rc_node *all[1 + 2 * RC_MAX_CELL_PARAMS];
    int n = 0;
    all[n++] = x;
    for (int k = 0; k < cf->nparams; k++) all[n++] = cf->params[k];
    for (int k = 0; k < cb->nparams; k++) all[n++] = cb->params[k];
    rc_gradcheck_result res;
    rc_status st = rc_gradcheck(g, loss, all, n, NULL, &res);
    printf("gradcheck: %lld elements, %lld failed, max abs error %.3g; worst: analytic %.9f numeric %.9f\n",
           (long long)res.checked, (long long)res.failed, res.max_abs_err, res.worst_analytic, res.worst_numeric);
    if (st != RC_OK) {
        fprintf(stderr, "user_cell: gradient check failed: %s%s%s\n", rc_status_str(st),
                rc_graph_error(g) ? ": " : "", rc_graph_error(g) ? rc_graph_error(g) : "");
        goto done;
    }
    rc = 0;
    goto done;
graph_err:
    rc = fail(g, "building the graph");
done:
    rc_plan_free(plan);
    rc_bidir_free(bidir);
    rc_rnn_free(stacked);
    rc_rnn_free(rnn);
    rc_graph_free(g);
    return rc;
}
