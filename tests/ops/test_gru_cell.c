/* The fused GRU cell op (ops/gru.c): fast kernels against the double
 * reference, its gradient (through every output plane, and in the compact
 * form the built-in cell uses) against finite differences, the same values
 * as the GRU written from plain ops, and shape errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

/* Plane k of S as a (B, H) view. */
static rc_node *plane(rc_graph *g, rc_node *S, int k, int64_t B, int64_t H) {
    return rc_reshape(g, rc_slice(g, S, 0, k, k + 1), RC_SHAPE(B, H));
}

/* Tolerances as for the LSTM cell (tests/ops/test_lstm_cell.c): SLEEF exp
 * (1 ULP) and tanh (3.5 ULP) and a few float roundings per element, with
 * |values| <= 3 or so: 1e-6 absolute plus 1e-5 relative. */
#define ATOL 1e-6
#define RTOL 1e-5

Test(gru_cell, fast_kernel_matches_the_double_reference) {
    static const int64_t sizes[][2] = {{1, 1}, {3, 5}, {7, 33}, {32, 20}};
    for (int s = 0; s < 4; s++) {
        int64_t B = sizes[s][0], H = sizes[s][1];
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 20 + (uint64_t)s);
        rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, 3 * H), &r, -3, 3);
        rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, 3 * H), &r, -3, 3);
        rc_node *h = tu_param(g, "h", RC_SHAPE(B, H), &r, -1, 1);
        rc_node *S = rc_gru_step_fused(g, xp, hu, h);
        tu_assert_ok(g);
        tu_check_forward(g, S, ATOL, RTOL);
        /* the gradient kernel, full form: dS random in every plane */
        rc_node *loss = tu_weighted_sum(g, S, &r);
        rc_node *wrt[3] = {xp, hu, h}, *grads[3];
        cr_assert_eq(rc_gradients(g, loss, wrt, 3, grads), RC_OK, "%s", rc_graph_error(g));
        for (int k = 0; k < 3; k++) tu_check_forward(g, grads[k], ATOL, RTOL);
        rc_graph_free(g);
    }
}

/* Rows split over threads: the same bits as on one thread (tests/util.c). */
Test(gru_cell, rows_split_over_threads_give_the_same_bits) {
    tu_check_cell_split_over_threads(rc_gru_step_fused, 3, 5);
}

Test(gru_cell, gradients_through_every_plane_match_finite_differences) {
    int64_t B = 3, H = 4;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 7);
    rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, 3 * H), &r, -2, 2);
    rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, 3 * H), &r, -2, 2);
    rc_node *h = tu_param(g, "h", RC_SHAPE(B, H), &r, -1, 1);
    rc_node *S = rc_gru_step_fused(g, xp, hu, h);
    rc_node *loss = tu_weighted_sum(g, S, &r);
    rc_node *wrt[3] = {xp, hu, h};
    tu_check_gradients(g, loss, wrt, 3, 0, 0);
    rc_graph_free(g);
}

Test(gru_cell, gradients_of_h_alone_as_the_built_in_cell_uses_them) {
    /* two chained steps, loss on h2 only (planes 0-3 get no gradient) */
    int64_t B = 2, H = 3;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 8);
    rc_node *x1 = tu_param(g, "x1", RC_SHAPE(B, 3 * H), &r, -2, 2);
    rc_node *x2 = tu_param(g, "x2", RC_SHAPE(B, 3 * H), &r, -2, 2);
    rc_node *U = tu_param(g, "U", RC_SHAPE(H, 3 * H), &r, -1, 1);
    rc_node *h0 = tu_param(g, "h0", RC_SHAPE(B, H), &r, -1, 1);
    rc_node *S1 = rc_gru_step_fused(g, x1, rc_matmul(g, h0, U, false, false), h0);
    rc_node *h1 = plane(g, S1, 4, B, H);
    rc_node *S2 = rc_gru_step_fused(g, x2, rc_matmul(g, h1, U, false, false), h1);
    rc_node *loss = tu_weighted_sum(g, plane(g, S2, 4, B, H), &r);
    rc_node *wrt[4] = {x1, x2, U, h0};
    tu_check_gradients(g, loss, wrt, 4, 0, 0);
    /* the fast kernels agree with the reference, and the gradient took the
     * form that reads dh' without the zero planes */
    rc_node *grads[4];
    cr_assert_eq(rc_gradients(g, loss, wrt, 4, grads), RC_OK, "%s", rc_graph_error(g));
    for (int k = 0; k < 4; k++) tu_check_forward(g, grads[k], ATOL, RTOL);
    int compact = 0, full = 0;
    for (int id = 0; id < rc_graph_node_count(g); id++) {
        rc_node *v = rc_graph_node(g, id);
        if (strcmp(rc_node_op_name(v), "gru_cell_grad") == 0)
            rc_shape_numel(rc_node_shape(rc_node_input(v, 2))) == B * H ? compact++ : full++;
    }
    /* dxp, dhu, dh of both steps (the gradcheck above removed its own) */
    cr_assert_eq(compact, 6, "compact form: %d nodes", compact);
    cr_assert_eq(full, 0, "full form: %d nodes", full);
    rc_graph_free(g);
}

Test(gru_cell, equals_the_cell_written_from_plain_ops) {
    int64_t B = 4, H = 9;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 9);
    rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, 3 * H), &r, -3, 3);
    rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, 3 * H), &r, -3, 3);
    rc_node *h = tu_param(g, "h", RC_SHAPE(B, H), &r, -1, 1);
    rc_node *S = rc_gru_step_fused(g, xp, hu, h);
    /* layers/cell.c, gru_step with reset_after */
    rc_node *z = rc_sigmoid(g, rc_add(g, rc_slice(g, xp, 1, 0, H), rc_slice(g, hu, 1, 0, H)));
    rc_node *rr = rc_sigmoid(g, rc_add(g, rc_slice(g, xp, 1, H, 2 * H), rc_slice(g, hu, 1, H, 2 * H)));
    rc_node *uh = rc_slice(g, hu, 1, 2 * H, 3 * H);
    rc_node *hh = rc_tanh(g, rc_add(g, rc_slice(g, xp, 1, 2 * H, 3 * H), rc_mul(g, rr, uh)));
    rc_node *hn = rc_add(g, hh, rc_mul(g, z, rc_sub(g, h, hh)));
    rc_node *want[5] = {z, rr, hh, uh, hn};
    tu_assert_ok(g);
    float *got = malloc((size_t)(5 * B * H) * sizeof(float)), *w = malloc((size_t)(B * H) * sizeof(float));
    tu_eval(g, S, got);
    for (int k = 0; k < 5; k++) {
        tu_eval(g, want[k], w);
        /* the same operations in the same order on the same kernels */
        for (int64_t e = 0; e < B * H; e++)
            cr_assert_eq(got[k * B * H + e], w[e], "plane %d elem %lld: %g vs %g", k, (long long)e,
                         got[k * B * H + e], w[e]);
    }
    free(got);
    free(w);
    rc_graph_free(g);
}

Test(gru_cell, shape_errors_name_the_op_and_the_shape) {
    rc_graph *g = rc_graph_new();
    rc_node *xp = rc_input(g, "xp", RC_F32, RC_SHAPE(2, 9));
    rc_node *bad = rc_input(g, "bad", RC_F32, RC_SHAPE(2, 6));
    rc_node *h = rc_input(g, "h", RC_F32, RC_SHAPE(2, 3));
    cr_assert_null(rc_gru_step_fused(g, xp, bad, h));
    cr_assert(strstr(rc_graph_error(g), "gru_cell") && strstr(rc_graph_error(g), "(2, 6)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
    g = rc_graph_new();
    rc_node *x2 = rc_input(g, "x", RC_F32, RC_SHAPE(2, 9));
    rc_node *h2 = rc_input(g, "h", RC_F32, RC_SHAPE(2, 4));
    cr_assert_null(rc_gru_step_fused(g, x2, x2, h2));
    cr_assert(strstr(rc_graph_error(g), "state"), "%s", rc_graph_error(g));
    rc_graph_free(g);
    g = rc_graph_new();
    rc_node *x3 = rc_input(g, "x", RC_F32, RC_SHAPE(2, 8));
    cr_assert_null(rc_gru_step_fused(g, x3, x3, rc_input(g, "h", RC_F32, RC_SHAPE(2, 2))));
    cr_assert(strstr(rc_graph_error(g), "(B, 3H)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
