/* The fused LSTM cell op (ops/lstm.c): fast kernels against the double
 * reference, its gradient (through every output plane) against finite
 * differences, the same values as the LSTM written from plain ops, and
 * shape errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

/* Plane k of S as a (B, H) view. */
static rc_node *plane(rc_graph *g, rc_node *S, int k, int64_t B, int64_t H) {
    return rc_reshape(g, rc_slice(g, S, 0, k, k + 1), RC_SHAPE(B, H));
}

Test(lstm_cell, fast_kernel_matches_the_double_reference) {
    static const int64_t sizes[][2] = {{1, 1}, {3, 5}, {7, 33}, {32, 20}};
    for (int s = 0; s < 4; s++) {
        int64_t B = sizes[s][0], H = sizes[s][1];
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 10 + (uint64_t)s);
        rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, 4 * H), &r, -3, 3);
        rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, 4 * H), &r, -3, 3);
        rc_node *c = tu_param(g, "c", RC_SHAPE(B, H), &r, -2, 2);
        rc_node *S = rc_lstm_step_fused(g, xp, hu, c);
        tu_assert_ok(g);
        tu_check_forward(g, S, 1e-6, 1e-5);
        /* the gradient kernel too: dS random, every plane */
        rc_node *loss = tu_weighted_sum(g, S, &r);
        rc_node *wrt[3] = {xp, hu, c}, *grads[3];
        cr_assert_eq(rc_gradients(g, loss, wrt, 3, grads), RC_OK, "%s", rc_graph_error(g));
        for (int k = 0; k < 3; k++) tu_check_forward(g, grads[k], 1e-6, 1e-5);
        rc_graph_free(g);
    }
}

/* Rows split over threads: the same bits as on one thread (tests/util.c). */
Test(lstm_cell, rows_split_over_threads_give_the_same_bits) {
    tu_check_cell_split_over_threads(rc_lstm_step_fused, 4, 6);
}

Test(lstm_cell, gradients_through_every_plane_match_finite_differences) {
    int64_t B = 3, H = 4;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 7);
    rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, 4 * H), &r, -2, 2);
    rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, 4 * H), &r, -2, 2);
    rc_node *c = tu_param(g, "c", RC_SHAPE(B, H), &r, -2, 2);
    rc_node *S = rc_lstm_step_fused(g, xp, hu, c);
    rc_node *loss = tu_weighted_sum(g, S, &r);
    rc_node *wrt[3] = {xp, hu, c};
    tu_check_gradients(g, loss, wrt, 3, 0, 0);
    rc_graph_free(g);
}

Test(lstm_cell, gradients_of_c_and_h_alone_as_the_built_in_cell_uses_them) {
    /* two chained steps, loss on h2 and c2 only (planes 0-3 get no gradient) */
    int64_t B = 2, H = 3;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 8);
    rc_node *x1 = tu_param(g, "x1", RC_SHAPE(B, 4 * H), &r, -2, 2);
    rc_node *x2 = tu_param(g, "x2", RC_SHAPE(B, 4 * H), &r, -2, 2);
    rc_node *U = tu_param(g, "U", RC_SHAPE(H, 4 * H), &r, -1, 1);
    rc_node *h0 = tu_param(g, "h0", RC_SHAPE(B, H), &r, -1, 1);
    rc_node *c0 = tu_param(g, "c0", RC_SHAPE(B, H), &r, -1, 1);
    rc_node *S1 = rc_lstm_step_fused(g, x1, rc_matmul(g, h0, U, false, false), c0);
    rc_node *h1 = plane(g, S1, 5, B, H), *c1 = plane(g, S1, 4, B, H);
    rc_node *S2 = rc_lstm_step_fused(g, x2, rc_matmul(g, h1, U, false, false), c1);
    rc_node *loss = rc_add(g, tu_weighted_sum(g, plane(g, S2, 5, B, H), &r),
                           tu_weighted_sum(g, plane(g, S2, 4, B, H), &r));
    rc_node *wrt[5] = {x1, x2, U, h0, c0};
    tu_check_gradients(g, loss, wrt, 5, 0, 0);
    /* the fast kernels of the gradient agree with the reference, and the
     * gradient took the form that reads dc', dh' without zero gate planes */
    rc_node *grads[5];
    cr_assert_eq(rc_gradients(g, loss, wrt, 5, grads), RC_OK, "%s", rc_graph_error(g));
    for (int k = 0; k < 5; k++) tu_check_forward(g, grads[k], 1e-6, 1e-5);
    int compact = 0, full = 0;
    for (int id = 0; id < rc_graph_node_count(g); id++) {
        rc_node *v = rc_graph_node(g, id);
        if (strcmp(rc_node_op_name(v), "lstm_cell_grad") == 0) rc_node_ninputs(v) == 4 ? compact++ : full++;
    }
    /* dz and dc of both steps (the gradcheck above removed its own) */
    cr_assert_eq(compact, 4, "4-input form: %d nodes", compact);
    cr_assert_eq(full, 0, "3-input form: %d nodes", full);
    rc_graph_free(g);
}

Test(lstm_cell, equals_the_cell_written_from_plain_ops) {
    int64_t B = 4, H = 9;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 9);
    rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, 4 * H), &r, -3, 3);
    rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, 4 * H), &r, -3, 3);
    rc_node *c = tu_param(g, "c", RC_SHAPE(B, H), &r, -2, 2);
    rc_node *S = rc_lstm_step_fused(g, xp, hu, c);
    rc_node *z = rc_add(g, xp, hu);
    rc_node *i = rc_sigmoid(g, rc_slice(g, z, 1, 0, H)), *f = rc_sigmoid(g, rc_slice(g, z, 1, H, 2 * H));
    rc_node *gg = rc_tanh(g, rc_slice(g, z, 1, 2 * H, 3 * H)), *o = rc_sigmoid(g, rc_slice(g, z, 1, 3 * H, 4 * H));
    rc_node *cn = rc_add(g, rc_mul(g, f, c), rc_mul(g, i, gg));
    rc_node *want[6] = {i, f, gg, o, cn, rc_mul(g, o, rc_tanh(g, cn))};
    tu_assert_ok(g);
    float *got = malloc((size_t)(6 * B * H) * sizeof(float)), *w = malloc((size_t)(B * H) * sizeof(float));
    tu_eval(g, S, got);
    for (int k = 0; k < 6; k++) {
        tu_eval(g, want[k], w);
        for (int64_t e = 0; e < B * H; e++)
            cr_assert(fabsf(got[k * B * H + e] - w[e]) <= 2e-7f + 2e-6f * fabsf(w[e]), "plane %d elem %lld: %g vs %g",
                      k, (long long)e, got[k * B * H + e], w[e]);
    }
    free(got);
    free(w);
    rc_graph_free(g);
}

Test(lstm_cell, shape_errors_name_the_op_and_the_shape) {
    rc_graph *g = rc_graph_new();
    rc_node *xp = rc_input(g, "xp", RC_F32, RC_SHAPE(2, 12));
    rc_node *bad = rc_input(g, "bad", RC_F32, RC_SHAPE(2, 10));
    rc_node *c = rc_input(g, "c", RC_F32, RC_SHAPE(2, 3));
    cr_assert_null(rc_lstm_step_fused(g, xp, bad, c));
    cr_assert(strstr(rc_graph_error(g), "lstm_cell") && strstr(rc_graph_error(g), "(2, 10)"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
    g = rc_graph_new();
    rc_node *x2 = rc_input(g, "x", RC_F32, RC_SHAPE(2, 12));
    rc_node *c2 = rc_input(g, "c", RC_F32, RC_SHAPE(2, 4));
    cr_assert_null(rc_lstm_step_fused(g, x2, x2, c2));
    cr_assert(strstr(rc_graph_error(g), "cell state"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
