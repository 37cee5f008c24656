/* Training an unrolled RNN keeps memory linear in T: the gradients of the
 * per-step slices are gathered with one concat and the per-step weight
 * gradients with one GEMM over time (op accumulate hooks), never as T
 * padded or weight-sized copies summed at the end. */
#include <criterion/criterion.h>

#include "util.h"

static size_t train_plan_bytes(int kind, int64_t T, int64_t *nodes) {
    rc_graph *g = rc_graph_new();
    rc_cell_config cc = rc_cell_defaults(16);
    rc_cell *c = kind == 0 ? rc_lstm_cell_new(&cc) : kind == 1 ? rc_gru_cell_new(&cc) : rc_simple_rnn_cell_new(&cc);
    rc_rnn *l = rc_rnn_new("rnn", c, &(rc_rnn_config){.return_sequences = true});
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(4, T, 8));
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
    rc_node *loss = rc_mse(g, o.output, rc_input(g, "y", RC_F32, RC_SHAPE(4, T, 16)));
    rc_cell *cell = rc_rnn_cell(l);
    rc_node *grads[3];
    cr_assert_eq(rc_gradients(g, loss, cell->params, cell->nparams, grads), RC_OK, "%s", rc_graph_error(g));
    rc_node *outs[4] = {loss, grads[0], grads[1], grads[2]};
    rc_plan *p = rc_plan_new(g, outs, 1 + cell->nparams);
    cr_assert(p, "%s", rc_graph_error(g));
    size_t bytes = rc_plan_peak_bytes(p);
    *nodes = rc_graph_node_count(g);
    rc_plan_free(p);
    rc_rnn_free(l);
    rc_graph_free(g);
    return bytes;
}

Test(rnn_memory, training_plan_grows_linearly_with_sequence_length) {
    for (int kind = 0; kind < 3; kind++) {
        int64_t n1, n2, n4;
        size_t b1 = train_plan_bytes(kind, 50, &n1), b2 = train_plan_bytes(kind, 100, &n2),
               b4 = train_plan_bytes(kind, 200, &n4);
        /* memory: doubling T at most doubles the plan (plus 10% slack for
         * the fixed part's rounding); a quadratic plan would quadruple */
        cr_assert_leq((double)b2, 2.1 * (double)b1, "kind %d: T=50 %zu bytes, T=100 %zu", kind, b1, b2);
        cr_assert_leq((double)b4, 2.1 * (double)b2, "kind %d: T=100 %zu bytes, T=200 %zu", kind, b2, b4);
        /* and the graph, with its gradient, is O(T): equal increments */
        cr_assert_eq(n4 - n2, 2 * (n2 - n1), "kind %d: nodes %lld %lld %lld", kind, (long long)n1, (long long)n2,
                     (long long)n4);
    }
}
