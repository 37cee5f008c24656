/* Training an unrolled RNN keeps memory linear in T: the gradients of the
 * per-step slices are gathered with one concat and the per-step weight
 * gradients with a few GEMMs over many steps each (op accumulate hooks,
 * layers/rnn.c projection chunks), never as T
 * padded or weight-sized copies summed at the end. */
#include <criterion/criterion.h>
#include <string.h>

#include <recur/op.h>

#include "util.h"

static size_t train_plan_bytes(int kind, int64_t T, int64_t *nodes) {
    rc_graph *g = rc_graph_new();
    rc_cell_config cc = rc_cell_defaults(16);
    rc_cell *c = kind == 0 ? rc_lstm_cell_new(&cc) : kind == 1 ? rc_gru_cell_new(&cc) : rc_simple_rnn_cell_new(&cc);
    rc_rnn *l = rc_rnn_new("rnn", c, &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(4, T, 8));
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
    rc_node *loss = rc_mean_squared_diff(g, o.output, rc_input(g, "y", RC_F32, RC_SHAPE(4, T, 16)));
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
        /* T = 64, 128, 256 at batch 4: the projection's chunks (4, then
         * 256 rows each) and the weight-gradient groups (a quarter of the
         * rows, then 256 each) grow with T too */
        size_t b1 = train_plan_bytes(kind, 64, &n1), b2 = train_plan_bytes(kind, 128, &n2),
               b4 = train_plan_bytes(kind, 256, &n4);
        /* memory: doubling T at most doubles the plan (plus 10% slack for
         * the fixed part's rounding); a quadratic plan would quadruple */
        cr_assert_leq((double)b2, 2.1 * (double)b1, "kind %d: T=64 %zu bytes, T=128 %zu", kind, b1, b2);
        cr_assert_leq((double)b4, 2.1 * (double)b2, "kind %d: T=128 %zu bytes, T=256 %zu", kind, b2, b4);
        /* and the graph, with its gradient, is O(T): equal increments, up
         * to a few nodes (a lone chunk reads the sequence without a slice) */
        long long d = (long long)(n4 - n2) - 2 * (long long)(n2 - n1);
        cr_assert(d >= -8 && d <= 8, "kind %d: nodes %lld %lld %lld", kind, (long long)n1, (long long)n2,
                  (long long)n4);
    }
}

/* Issue 8's memory target at batch 32: a training step (forward of the
 * whole sequence, MSE against a (B, T, H) target, every weight's gradient
 * and its SGD update), built as bench/rnn builds it (seq 50, input 64), has
 * (plan arena + leaves) / need at most `bound`, where
 *   leaves = weights + input + target (the graph's own storage),
 *   need   = weights + their gradients + input + target + the activations
 *            backward must keep, per step LSTM i, f, g, o, c, h (6·B·H),
 *            GRU z, r, candidate, recurrent candidate term, h (5·B·H).
 * The issue asks for 1.3 at every point of its grid (H 32, 128, 512; B 1
 * and 32). The bounds are what the planner reaches now plus under 0.01,
 * never above 1.3 (b32: LSTM 1.200 / 1.224 / 1.192, GRU 1.227 / 1.263 /
 * 1.2997 at H 32 / 128 / 512; b1: LSTM 1.007 / 0.965 / 0.983, GRU 1.069 /
 * 1.019 / 0.987 — b1 was up to 1.211 while a GRU's per-step recurrent
 * bias gradients waited for one add_n at the end, ops/binary.c), so a
 * regression fails here. At b32 the plan keeps one packed copy of the
 * recurrent kernel from the first step to the last step of backward
 * (core/plan.c, packed operands): + 0.006 to + 0.13 of `need` (LSTM h512,
 * where U is 4 MiB); GRU h512 is the tightest point. Plan bytes are
 * deterministic: no run, no timing. */
static double train_ratio_at(const char *cell, int64_t H, int64_t B, int64_t T, int64_t I) {
    rc_graph *g = rc_graph_new();
    rc_cell_config cc = rc_cell_defaults(H);
    bool lstm = cell[0] == 'l';
    rc_cell *c = lstm ? rc_lstm_cell_new(&cc) : rc_gru_cell_new(&cc);
    rc_rnn *l = rc_rnn_new("rnn", c, &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(B, T, I));
    rc_rnn_call call = {.training = true};
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, &call, &o), RC_OK, "%s", rc_graph_error(g));
    rc_node *loss = rc_mean_squared_diff(g, o.output, rc_input(g, "y", RC_F32, RC_SHAPE(B, T, H)));
    rc_node *grads[RC_MAX_CELL_PARAMS], *outs[1 + RC_MAX_CELL_PARAMS] = {loss};
    cr_assert_eq(rc_gradients(g, loss, c->params, c->nparams, grads), RC_OK, "%s", rc_graph_error(g));
    for (int k = 0; k < c->nparams; k++) outs[1 + k] = rc_apply_gradient_descent(g, c->params[k], grads[k], 0.01f);
    rc_plan *p = rc_plan_new(g, outs, 1 + c->nparams);
    cr_assert(p, "%s", rc_graph_error(g));
    double w = 4.0 * (double)rc_cell_param_count(c), in = 4.0 * (double)(B * T * I), tgt = 4.0 * (double)(B * T * H);
    double need = 2 * w + in + tgt + 4.0 * (lstm ? 6 : 5) * (double)(B * T * H);
    double ratio = ((double)rc_plan_peak_bytes(p) + w + in + tgt) / need;
    rc_plan_free(p);
    rc_rnn_free(l);
    rc_graph_free(g);
    return ratio;
}

static double train_ratio(const char *cell, int64_t H, int64_t B) { return train_ratio_at(cell, H, B, 50, 64); }

Test(rnn_memory, training_step_at_every_grid_point_within_bound) {
    struct { const char *cell; int64_t H, B; double bound; } pts[] = {
        {"lstm", 32, 32, 1.21},  {"lstm", 128, 32, 1.23}, {"lstm", 512, 32, 1.20}, {"gru", 32, 32, 1.23},
        {"gru", 128, 32, 1.27},  {"gru", 512, 32, 1.30},  {"lstm", 32, 1, 1.02},   {"lstm", 128, 1, 0.98},
        {"lstm", 512, 1, 0.99},  {"gru", 32, 1, 1.08},    {"gru", 128, 1, 1.03},   {"gru", 512, 1, 1.00}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double r = train_ratio(pts[i].cell, pts[i].H, pts[i].B);
        cr_assert_leq(r, pts[i].bound, "%s h%lld b%lld train: (plan + leaves) / need = %.4f > %.2f", pts[i].cell,
                      (long long)pts[i].H, (long long)pts[i].B, r, pts[i].bound);
    }
}

/* From 64 rows on the input projection runs in chunks, and the
 * weight gradient reads each chunk's rows made again from the input
 * (ops/matmul.c rows_again): the float32 gradients of every weight, and of
 * the input, agree with the double reference. */
Test(rnn_memory, chunked_projection_gradients_match_the_reference) {
    for (int kind = 0; kind < 2; kind++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 31);
        rc_cell_config cc = rc_cell_defaults(4);
        rc_cell *c = kind == 0 ? rc_lstm_cell_new(&cc) : rc_gru_cell_new(&cc);
        rc_rnn *l = rc_rnn_new("rnn", c, &(rc_rnn_config){.return_sequences = true}, NULL);
        rc_node *x = tu_param(g, "x", RC_SHAPE(16, 40, 8), &r, -1, 1);
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(l, g, x, &(rc_rnn_call){.training = true}, &o), RC_OK, "%s", rc_graph_error(g));
        rc_node *loss = tu_weighted_sum(g, o.output, &r);
        rc_node *wrt[1 + RC_MAX_CELL_PARAMS] = {x}, *grads[1 + RC_MAX_CELL_PARAMS];
        for (int k = 0; k < c->nparams; k++) wrt[1 + k] = c->params[k];
        cr_assert_eq(rc_gradients(g, loss, wrt, 1 + c->nparams, grads), RC_OK, "%s", rc_graph_error(g));
        int rebuilt = 0;
        for (int id = 0; id < rc_graph_node_count(g); id++) {
            rc_node *v = rc_graph_node(g, id);
            rebuilt += strcmp(rc_node_op_name(v), "slice") == 0 && rc_node_input(v, 0) == x;
        }
        cr_assert_geq(rebuilt, 2, "the weight gradient should read chunks sliced from x again (%d)", rebuilt);
        for (int k = 0; k < 1 + c->nparams; k++) tu_check_forward(g, grads[k], 1e-5, 1e-4);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
}

/* The layer declares its projection's rows with time_rows (layers/rnn.c),
 * and matmul's gradient makes them again from x (ops/matmul.c rows_again):
 * no gradient node reads the forward's time-major copy, which therefore
 * dies after the forward pass. Without it the LSTM/GRU h32 b32 T50
 * training plan grows from 1 667 200 / 1 450 880 bytes (this test's bound,
 * with the packed recurrent kernel) by 409 600 bytes: the copy (T·B·I
 * floats) lives through backward. */
Test(rnn_memory, the_kernel_gradient_reads_the_input_rows_again) {
    const rc_op *time_rows = rc_op_find("time_rows");
    cr_assert(time_rows);
    const size_t bound[2] = {1667200, 1450880};
    for (int kind = 0; kind < 2; kind++) {
        const int64_t B = 32, T = 50, I = 64, H = 32;
        rc_graph *g = rc_graph_new();
        rc_cell_config cc = rc_cell_defaults(H);
        rc_cell *c = kind == 0 ? rc_lstm_cell_new(&cc) : rc_gru_cell_new(&cc);
        rc_rnn *l = rc_rnn_new("rnn", c, &(rc_rnn_config){.return_sequences = true}, NULL);
        rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(B, T, I));
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(l, g, x, &(rc_rnn_call){.training = true}, &o), RC_OK, "%s", rc_graph_error(g));
        rc_node *loss = rc_mean_squared_diff(g, o.output, rc_input(g, "y", RC_F32, RC_SHAPE(B, T, H)));
        rc_node *grads[RC_MAX_CELL_PARAMS], *outs[1 + RC_MAX_CELL_PARAMS] = {loss};
        cr_assert_eq(rc_gradients(g, loss, c->params, c->nparams, grads), RC_OK, "%s", rc_graph_error(g));
        for (int k = 0; k < c->nparams; k++) outs[1 + k] = rc_apply_gradient_descent(g, c->params[k], grads[k], 0.01f);
        int declared = 0, read_late = 0;
        for (int id = 0; id < rc_graph_node_count(g); id++) {
            rc_node *v = rc_graph_node(g, id);
            declared += rc_node_op(v) == time_rows;
            if (rc_node_is_gradient(v))
                for (int k = 0; k < rc_node_ninputs(v); k++) read_late += rc_node_op(rc_node_input(v, k)) == time_rows;
        }
        cr_assert_gt(declared, 1, "kind %d: the projection's rows are not declared as time_rows", kind);
        cr_assert_eq(read_late, 0, "kind %d: %d gradient nodes read the forward's time-major rows", kind, read_late);
        rc_plan *p = rc_plan_new(g, outs, 1 + c->nparams);
        cr_assert(p, "%s", rc_graph_error(g));
        cr_assert_leq(rc_plan_peak_bytes(p), bound[kind], "kind %d: %zu bytes", kind, rc_plan_peak_bytes(p));
        rc_plan_free(p);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
}

/* Off the grid, where the plan used to keep far more than backward needs
 * (the figures before, in brackets): a sequence of 256..511 rows was one
 * projection chunk, whose stack of per-step deltas (4H a row) sat beside
 * every step's activations (LSTM h32 b8 T50 I16: 1.93); a large recurrent
 * kernel over few steps was packed whatever the copy cost (GRU h1024 b32
 * T5: 1.49); a GRU's recurrent weight gradient stacked all 50 steps of
 * batch 4 as one group (GRU h32 b4 T50: 1.54). Now at least 4 chunks of
 * 16 rows or more from 64 rows on (layers/rnn.c MIN_CHUNKS), the packing budget
 * (core/plan.c), weight-gradient groups of at most a quarter of the rows
 * (ops/matmul.c) and running sums of bias gradients (ops/binary.c):
 * every point within 1.3. Plan bytes only: no run. */
Test(rnn_memory, training_step_off_the_grid_within_bound) {
    struct { const char *cell; int64_t H, B, T, I; double before; } pts[] = {
        {"lstm", 32, 8, 50, 16, 1.93},   {"lstm", 128, 8, 50, 64, 1.65},  {"lstm", 512, 8, 100, 64, 1.36},
        {"lstm", 768, 32, 20, 16, 1.42}, {"gru", 1024, 32, 5, 64, 1.49},  {"gru", 768, 64, 5, 16, 1.58},
        {"lstm", 256, 16, 20, 64, 1.48}, {"lstm", 512, 16, 50, 64, 1.36}, {"gru", 32, 4, 50, 64, 1.54},
        {"lstm", 32, 4, 20, 16, 1.59},   {"lstm", 32, 1, 100, 16, 1.54}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double r = train_ratio_at(pts[i].cell, pts[i].H, pts[i].B, pts[i].T, pts[i].I);
        cr_assert_leq(r, 1.30, "%s h%lld b%lld T%lld I%lld train: (plan + leaves) / need = %.4f > 1.30 (was %.2f)",
                      pts[i].cell, (long long)pts[i].H, (long long)pts[i].B, (long long)pts[i].T, (long long)pts[i].I,
                      r, pts[i].before);
    }
}
