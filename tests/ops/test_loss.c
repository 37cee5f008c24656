/* Losses: exact values, kernels against the reference, gradients. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

Test(loss, mse_exact_value) {
    rc_graph *g = rc_graph_new();
    rc_node *p = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 4});
    rc_node *t = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 0, 3, 1});
    float out[1];
    tu_eval(g, rc_mse(g, p, t), out);
    cr_assert_eq(out[0], (0 + 4 + 0 + 9) / 4.0f);
    rc_graph_free(g);
}

Test(loss, sparse_xent_exact_value) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){0, 0, 0, 1, 2, 3});
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2), (int32_t[]){1, 2});
    float out[2];
    tu_eval(g, rc_sparse_softmax_xent(g, x, ids), out);
    cr_assert_float_eq(out[0], log(3.0), 1e-6);
    cr_assert_float_eq(out[1], log(exp(1) + exp(2) + exp(3)) - 3, 1e-6);
    /* dense labels equal to the one-hot rows give the same numbers */
    rc_node *l = rc_const(g, RC_SHAPE(2, 3), (float[]){0, 1, 0, 0, 0, 1});
    float dense[2];
    tu_eval(g, rc_softmax_xent(g, x, l), dense);
    cr_assert_float_eq(dense[0], out[0], 1e-6);
    cr_assert_float_eq(dense[1], out[1], 1e-6);
    rc_graph_free(g);
}

Test(loss, sigmoid_bce_exact_and_stable) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(4), (float[]){0, 2, -100, 100});
    rc_node *z = rc_const(g, RC_SHAPE(4), (float[]){1, 0, 0, 1});
    float out[4];
    tu_eval(g, rc_sigmoid_bce(g, x, z), out);
    cr_assert_float_eq(out[0], log(2.0), 1e-6);
    cr_assert_float_eq(out[1], 2 + log1p(exp(-2.0)), 1e-6); /* -log(1 - sigmoid(2)) */
    cr_assert_float_eq(out[2], 0, 1e-30);
    cr_assert_float_eq(out[3], 0, 1e-30);
    rc_graph_free(g);
}

/* Losses accumulate in double and round once, so float32 agrees with the
 * double reference to ~1e-7 relative; 1e-6 leaves margin. */
Test(loss, kernels_match_reference_and_gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 11);
    rc_node *p = tu_param(g, "p", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *t = tu_param(g, "t", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *m = rc_mse(g, p, t);
    tu_check_forward(g, m, 1e-7, 1e-6);
    tu_check_gradients(g, m, (rc_node *[]){p, t}, 2, 0, 0);

    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 5), &r, -3, 3);
    rc_node *lab = tu_param(g, "labels", RC_SHAPE(2, 3, 5), &r, 0, 1);
    rc_node *xe = rc_softmax_xent(g, x, lab);
    cr_assert(rc_shape_eq(rc_node_shape(xe), RC_SHAPE(2, 3)));
    tu_check_forward(g, xe, 1e-6, 1e-6);
    tu_check_gradients(g, tu_weighted_sum(g, xe, &r), (rc_node *[]){x, lab}, 2, 0, 0);

    rc_node *ids = rc_const_i32(g, RC_SHAPE(2, 3), (int32_t[]){0, 4, 2, 3, 3, 1});
    rc_node *sp = rc_sparse_softmax_xent(g, x, ids);
    tu_check_forward(g, sp, 1e-6, 1e-6);
    tu_check_gradients(g, tu_weighted_sum(g, sp, &r), &x, 1, 0, 0);

    rc_node *z = tu_param(g, "z", RC_SHAPE(2, 3, 5), &r, 0, 1);
    rc_node *bce = rc_sigmoid_bce(g, x, z);
    tu_check_forward(g, bce, 1e-6, 1e-6);
    tu_check_gradients(g, tu_weighted_sum(g, bce, &r), (rc_node *[]){x, z}, 2, 0, 0);
    rc_graph_free(g);
}

Test(loss, second_order_of_cross_entropy) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 12);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(3), (int32_t[]){0, 3, 1});
    rc_node *loss = rc_mean(g, rc_sparse_softmax_xent(g, x, ids), RC_ALL_AXES, false), *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK);
    tu_check_gradients(g, tu_weighted_sum(g, dx, &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(loss, out_of_range_label_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2));
    rc_node_set_i32(ids, (int32_t[]){1, 3});
    rc_node *l = rc_sparse_softmax_xent(g, x, ids);
    rc_plan *p = rc_plan_new(g, &l, 1);
    cr_assert_eq(rc_plan_run(p), RC_ERR_ARG);
    cr_assert(strstr(rc_plan_error(p), "sparse_softmax_xent"), "%s", rc_plan_error(p));
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(loss, bad_shapes_and_dtypes_are_errors) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *y = rc_param(g, "y", RC_SHAPE(3, 2));
    cr_assert_null(rc_mse(g, x, y));
    cr_assert_str_eq(rc_graph_error(g), "mse at 'mse': shapes (2, 3) and (3, 2) differ");
    rc_graph_clear_error(g);
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(3));
    cr_assert_null(rc_sparse_softmax_xent(g, x, ids));
    cr_assert(strstr(rc_graph_error(g), "labels of shape (3) do not match logits (2, 3) (expected (2))"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_sparse_softmax_xent(g, x, x));
    cr_assert(strstr(rc_graph_error(g), "input 1 has dtype float32, expected int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
