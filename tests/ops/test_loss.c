/* Losses (mse, softmax_xent, sparse_softmax_xent, sigmoid_bce) and the
 * one_hot helper: exact values, fast float32 kernels against the double
 * reference, gradients (first and second order) against finite
 * differences, invalid labels, and shape / dtype errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

/* mse: the differences and squares are taken in double and summed there,
 * then rounded once to float: one float ULP (2^-23 relative). */
#define MSE_ATOL 0.0
#define MSE_RTOL 0x1p-23
/* Cross-entropy: lse = m + log z with z a double sum of float SLEEF exps
 * (1 ULP, 1.2e-7 each) of x_j - m rounded once (relative 2^-24 on d_j =
 * m - x_j, which moves term j by 6e-8 d_j e^-d_j). The error of log z is
 * then <= 1.2e-7 + 6e-8 sum_j p_j d_j <= 1.2e-7 + 6e-8 log C (the softmax
 * average of d_j is at most log C): 3.4e-7 for C = 37. The loss multiplies
 * it by the label mass sum(l) and rounds once more (2^-24 relative). So
 * 1e-6 absolute per unit of label mass plus 1e-6 relative (label mass is
 * 1 for sparse ids, < C = 5 for the dense labels below: 5e-6). */
#define XENT_ATOL 1e-6
#define XENT_RTOL 1e-6
/* sigmoid_bce in float: max(x, 0) - x z rounds twice at |x| <= 3 (half
 * ULP 1.2e-7 each) and log1pf(expf(.)) is within 2 ULP of a value <= log 2;
 * the result can be far smaller than |x|, so 1e-6 absolute (measured worst
 * 2.5e-7 over 74000 elements) plus 1e-6 relative. */
#define BCE_ATOL 1e-6
#define BCE_RTOL 1e-6

/* --- mse ---------------------------------------------------------------- */

Test(mse, of_known_values_is_the_mean_squared_difference) {
    rc_graph *g = rc_graph_new();
    rc_node *p = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 4});
    rc_node *t = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 0, 3, 1});
    rc_node *m = rc_mean_squared_diff(g, p, t);
    cr_assert(rc_shape_eq(rc_node_shape(m), RC_SCALAR));
    float out[1];
    tu_eval(g, m, out);
    cr_assert_eq(out[0], (0 + 4 + 0 + 9) / 4.0f);
    rc_graph_free(g);
}

Test(mse, kernel_matches_reference) {
    rc_shape shapes[] = {RC_SCALAR, RC_SHAPE(7), RC_SHAPE(3, 4), RC_SHAPE(2, 3, 50)};
    for (int s = 0; s < 4; s++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 10 + (uint64_t)s);
        rc_node *p = tu_param(g, "p", shapes[s], &r, -2, 2);
        rc_node *t = tu_param(g, "t", shapes[s], &r, -2, 2);
        tu_check_forward(g, rc_mean_squared_diff(g, p, t), MSE_ATOL, MSE_RTOL);
        rc_graph_free(g);
    }
}

Test(mse, gradients_check_for_pred_and_target) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 11);
    rc_node *p = tu_param(g, "p", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *t = tu_param(g, "t", RC_SHAPE(3, 4), &r, -2, 2);
    tu_check_gradients(g, rc_mean_squared_diff(g, p, t), (rc_node *[]){p, t}, 2, 0, 0);
    rc_graph_free(g);
}

Test(mse, gradients_check_when_scaled_by_another_loss_term) {
    /* dy != 1: the scalar seed broadcasts over the elementwise gradient */
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 12);
    rc_node *p = tu_param(g, "p", RC_SHAPE(5), &r, -2, 2);
    rc_node *t = tu_param(g, "t", RC_SHAPE(5), &r, -2, 2);
    rc_node *m = rc_mean_squared_diff(g, p, t);
    rc_node *loss = rc_mul(g, m, m);
    tu_check_gradients(g, loss, (rc_node *[]){p, t}, 2, 0, 0);
    rc_graph_free(g);
}

Test(mse, shapes_that_differ_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *y = rc_param(g, "y", RC_SHAPE(3, 2));
    cr_assert_null(rc_mean_squared_diff(g, x, y));
    cr_assert_str_eq(rc_graph_error(g), "mse at 'mse': shapes (2, 3) and (3, 2) differ");
    cr_assert_eq(rc_graph_status(g), RC_ERR_SHAPE);
    rc_graph_free(g);
}

Test(mse, int32_target_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(3));
    cr_assert_null(rc_mean_squared_diff(g, x, ids));
    cr_assert(strstr(rc_graph_error(g), "mse at 'mse': input 1 has dtype int32, expected float32"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

/* --- softmax_xent (dense labels) ---------------------------------------- */

Test(softmax_xent, of_a_known_row_is_log_sum_exp_minus_the_labelled_logit) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){0, 0, 0, 1, 2, 3});
    rc_node *l = rc_const(g, RC_SHAPE(2, 3), (float[]){0, 1, 0, 0.5f, 0, 0.5f});
    rc_node *y = rc_softmax_xent(g, x, l);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2)));
    float out[2];
    tu_eval(g, y, out);
    double lse = log(exp(1) + exp(2) + exp(3));
    cr_assert_float_eq(out[0], log(3.0), 1e-6);
    cr_assert_float_eq(out[1], 0.5 * (lse - 1) + 0.5 * (lse - 3), 1e-6);
    rc_graph_free(g);
}

Test(softmax_xent, is_stable_for_large_logits) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2), (float[]){1000, -1000});
    rc_node *l = rc_const(g, RC_SHAPE(2), (float[]){0, 1});
    float out[1];
    tu_eval(g, rc_softmax_xent(g, x, l), out);
    cr_assert_float_eq(out[0], 2000, 1e-3);
    rc_graph_free(g);
}

Test(softmax_xent, kernel_matches_reference) {
    rc_shape shapes[] = {RC_SHAPE(5), RC_SHAPE(4, 5), RC_SHAPE(2, 3, 5)};
    for (int s = 0; s < 3; s++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 20 + (uint64_t)s);
        rc_node *x = tu_param(g, "x", shapes[s], &r, -6, 6);
        rc_node *l = tu_param(g, "labels", shapes[s], &r, 0, 1);
        tu_check_forward(g, rc_softmax_xent(g, x, l), 5 * XENT_ATOL, XENT_RTOL);
        rc_graph_free(g);
    }
}

Test(softmax_xent, gradients_check_for_logits_and_labels) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 5), &r, -3, 3);
    rc_node *l = tu_param(g, "labels", RC_SHAPE(2, 3, 5), &r, 0, 1);
    rc_node *loss = tu_weighted_sum(g, rc_softmax_xent(g, x, l), &r);
    tu_check_gradients(g, loss, (rc_node *[]){x, l}, 2, 0, 0);
    rc_graph_free(g);
}

Test(softmax_xent, gradients_check_for_a_single_row) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 22);
    rc_node *x = tu_param(g, "x", RC_SHAPE(6), &r, -3, 3);
    rc_node *l = tu_param(g, "labels", RC_SHAPE(6), &r, 0, 1);
    tu_check_gradients(g, rc_softmax_xent(g, x, l), (rc_node *[]){x, l}, 2, 0, 0);
    rc_graph_free(g);
}

Test(softmax_xent, second_order_gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 23);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *l = tu_param(g, "labels", RC_SHAPE(3, 4), &r, 0, 1);
    rc_node *loss = tu_weighted_sum(g, rc_softmax_xent(g, x, l), &r), *d[2];
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){x, l}, 2, d), RC_OK, "%s", rc_graph_error(g));
    rc_node *l2 = rc_add(g, tu_weighted_sum(g, d[0], &r), tu_weighted_sum(g, d[1], &r));
    tu_check_gradients(g, l2, (rc_node *[]){x, l}, 2, 0, 0);
    rc_graph_free(g);
}

Test(softmax_xent, shapes_that_differ_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    cr_assert_null(rc_softmax_xent(g, x, rc_param(g, "l", RC_SHAPE(2, 4))));
    cr_assert_str_eq(rc_graph_error(g), "softmax_xent at 'softmax_xent': shapes (2, 3) and (2, 4) differ");
    rc_graph_free(g);
}

Test(softmax_xent, scalar_logits_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *s = rc_param(g, "s", RC_SCALAR);
    cr_assert_null(rc_softmax_xent(g, s, s));
    cr_assert(strstr(rc_graph_error(g), "logits must have a class axis, got a scalar"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(softmax_xent, int32_labels_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2, 3));
    cr_assert_null(rc_softmax_xent(g, x, ids));
    cr_assert(strstr(rc_graph_error(g), "input 1 has dtype int32, expected float32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- sparse_softmax_xent ------------------------------------------------ */

Test(sparse_softmax_xent, of_a_known_row_is_log_sum_exp_minus_the_labelled_logit) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){0, 0, 0, 1, 2, 3});
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2), (int32_t[]){1, 2});
    rc_node *y = rc_sparse_softmax_xent(g, x, ids);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2)));
    float out[2];
    tu_eval(g, y, out);
    cr_assert_float_eq(out[0], log(3.0), 1e-6);
    cr_assert_float_eq(out[1], log(exp(1) + exp(2) + exp(3)) - 3, 1e-6);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, equals_dense_xent_with_one_hot_labels) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 30);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, -3, 3);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(3), (int32_t[]){3, 0, 2});
    float sparse[3], dense[3];
    tu_eval(g, rc_sparse_softmax_xent(g, x, ids), sparse);
    tu_eval(g, rc_softmax_xent(g, x, rc_one_hot(g, ids, 4)), dense);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(sparse[i], dense[i], 1e-6, "row %d", i);
    rc_graph_free(g);
}

/* One lse per row (see XENT_ATOL), minus a float logit exact in double. */
Test(sparse_softmax_xent, kernel_matches_reference) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 31);
    rc_node *x = tu_param(g, "x", RC_SHAPE(4, 6, 37), &r, -6, 6);
    int32_t idv[24];
    for (int i = 0; i < 24; i++) idv[i] = (int32_t)rc_rng_below(&r, 37);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(4, 6), idv);
    tu_check_forward(g, rc_sparse_softmax_xent(g, x, ids), XENT_ATOL, XENT_RTOL);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, gradients_check_for_logits) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 32);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 5), &r, -3, 3);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2, 3), (int32_t[]){0, 4, 2, 3, 3, 1});
    tu_check_gradients(g, tu_weighted_sum(g, rc_sparse_softmax_xent(g, x, ids), &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, second_order_gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 33);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(3), (int32_t[]){0, 3, 1});
    rc_node *loss = rc_mean(g, rc_sparse_softmax_xent(g, x, ids), RC_ALL_AXES, false), *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
    tu_check_gradients(g, tu_weighted_sum(g, dx, &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, out_of_range_label_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2));
    cr_assert(rc_node_set_i32(ids, (int32_t[]){1, 3}));
    rc_node *l = rc_sparse_softmax_xent(g, x, ids);
    rc_plan *p = rc_plan_new(g, &l, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    rc_error err;
    cr_assert_eq(rc_plan_run(p, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "sparse_softmax_xent"), "%s", err.message);
    /* a valid id again: the same plan runs */
    cr_assert(rc_node_set_i32(ids, (int32_t[]){1, 2}));
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, negative_label_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(3));
    rc_node *ids = rc_const_i32(g, RC_SCALAR, (int32_t[]){-1});
    rc_node *l = rc_sparse_softmax_xent(g, x, ids);
    rc_plan *p = rc_plan_new(g, &l, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_run(p, NULL), RC_ERR_ARG);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, out_of_range_label_fails_the_reference_too) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2), (int32_t[]){0, 7});
    rc_node *l = rc_sparse_softmax_xent(g, x, ids);
    rc_refeval *re = rc_refeval_new(g, &l, 1);
    cr_assert(re, "%s", rc_graph_error(g));
    cr_assert_eq(rc_refeval_run(re, NULL), RC_ERR_ARG);
    rc_refeval_free(re);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, labels_of_the_wrong_shape_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(3));
    cr_assert_null(rc_sparse_softmax_xent(g, x, ids));
    cr_assert_str_eq(rc_graph_error(g), "sparse_softmax_xent at 'sparse_softmax_xent': labels of shape (3) do "
                                        "not match logits (2, 3) (expected (2))");
    rc_graph_clear_error(g);
    cr_assert_null(rc_sparse_softmax_xent(g, x, rc_input(g, "ids2", RC_I32, RC_SHAPE(2, 3))));
    cr_assert(strstr(rc_graph_error(g), "labels of shape (2, 3) do not match logits (2, 3) (expected (2))"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

Test(sparse_softmax_xent, float_labels_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    cr_assert_null(rc_sparse_softmax_xent(g, x, rc_param(g, "l", RC_SHAPE(2))));
    cr_assert(strstr(rc_graph_error(g), "input 1 has dtype float32, expected int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(sparse_softmax_xent, int32_logits_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_I32, RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2));
    cr_assert_null(rc_sparse_softmax_xent(g, x, ids));
    cr_assert(strstr(rc_graph_error(g), "input 0 has dtype int32, expected float32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- one_hot ------------------------------------------------------------ */

Test(one_hot, puts_a_one_at_each_id) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_const_i32(g, RC_SHAPE(3), (int32_t[]){2, 0, 1});
    rc_node *y = rc_one_hot(g, ids, 3);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(3, 3)));
    float out[9], want[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    tu_eval(g, y, out);
    for (int i = 0; i < 9; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    tu_check_forward(g, y, 0, 0);
    rc_graph_free(g);
}

Test(one_hot, out_of_range_id_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2), (int32_t[]){0, 3});
    rc_node *y = rc_one_hot(g, ids, 3);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_run(p, NULL), RC_ERR_ARG);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(one_hot, bad_depth_rank_or_dtype_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2));
    cr_assert_null(rc_one_hot(g, ids, 0));
    cr_assert(strstr(rc_graph_error(g), "one_hot at 'one_hot': depth 0 must be >= 1"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_one_hot(g, rc_input(g, "ids4", RC_I32, RC_SHAPE(1, 2, 3, 4)), 5));
    cr_assert(strstr(rc_graph_error(g), "ids of rank 4 leave no room for the class axis"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_one_hot(g, rc_param(g, "f", RC_SHAPE(2)), 5));
    cr_assert(strstr(rc_graph_error(g), "input 0 has dtype float32, expected int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- sigmoid_bce -------------------------------------------------------- */

Test(sigmoid_bce, of_known_values_is_the_binary_cross_entropy) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(4), (float[]){0, 2, -1, 1});
    rc_node *z = rc_const(g, RC_SHAPE(4), (float[]){1, 0, 1, 0.25f});
    float out[4];
    tu_eval(g, rc_sigmoid_bce(g, x, z), out);
    double s1 = 1 / (1 + exp(-1.0));
    cr_assert_float_eq(out[0], log(2.0), 1e-6);                           /* -log(sigmoid(0)) */
    cr_assert_float_eq(out[1], 2 + log1p(exp(-2.0)), 1e-6);               /* -log(1 - sigmoid(2)) */
    cr_assert_float_eq(out[2], -log(1 - s1), 1e-6);                       /* -log(sigmoid(-1)) */
    cr_assert_float_eq(out[3], -(0.25 * log(s1) + 0.75 * log(1 - s1)), 1e-6);
    rc_graph_free(g);
}

Test(sigmoid_bce, is_stable_for_large_logits) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(4), (float[]){-100, 100, -100, 100});
    rc_node *z = rc_const(g, RC_SHAPE(4), (float[]){0, 1, 1, 0});
    float out[4];
    tu_eval(g, rc_sigmoid_bce(g, x, z), out);
    cr_assert_float_eq(out[0], 0, 1e-30);
    cr_assert_float_eq(out[1], 0, 1e-30);
    cr_assert_float_eq(out[2], 100, 1e-5);
    cr_assert_float_eq(out[3], 100, 1e-5);
    rc_graph_free(g);
}

Test(sigmoid_bce, kernel_matches_reference) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 40);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 5, 7), &r, -3, 3);
    rc_node *z = tu_param(g, "z", RC_SHAPE(3, 5, 7), &r, 0, 1);
    tu_check_forward(g, rc_sigmoid_bce(g, x, z), BCE_ATOL, BCE_RTOL);
    rc_graph_free(g);
}

Test(sigmoid_bce, gradients_check_for_logits_and_targets) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 41);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 5), &r, -3, 3);
    rc_node *z = tu_param(g, "z", RC_SHAPE(2, 3, 5), &r, 0, 1);
    tu_check_gradients(g, tu_weighted_sum(g, rc_sigmoid_bce(g, x, z), &r), (rc_node *[]){x, z}, 2, 0, 0);
    rc_graph_free(g);
}

Test(sigmoid_bce, second_order_gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 42);
    rc_node *x = tu_param(g, "x", RC_SHAPE(7), &r, -3, 3);
    rc_node *z = tu_param(g, "z", RC_SHAPE(7), &r, 0, 1);
    rc_node *loss = tu_weighted_sum(g, rc_sigmoid_bce(g, x, z), &r), *d[2];
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){x, z}, 2, d), RC_OK, "%s", rc_graph_error(g));
    rc_node *l2 = rc_add(g, tu_weighted_sum(g, d[0], &r), tu_weighted_sum(g, d[1], &r));
    tu_check_gradients(g, l2, (rc_node *[]){x, z}, 2, 0, 0);
    rc_graph_free(g);
}

Test(sigmoid_bce, shapes_that_differ_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    cr_assert_null(rc_sigmoid_bce(g, x, rc_param(g, "z", RC_SHAPE(3))));
    cr_assert_str_eq(rc_graph_error(g), "sigmoid_bce at 'sigmoid_bce': shapes (2, 3) and (3) differ");
    rc_graph_free(g);
}

Test(sigmoid_bce, int32_targets_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2));
    cr_assert_null(rc_sigmoid_bce(g, x, rc_input(g, "z", RC_I32, RC_SHAPE(2))));
    cr_assert(strstr(rc_graph_error(g), "input 1 has dtype int32, expected float32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* The fused gradient (sparse_xent_grad) on 600 rows of 114 classes, enough
 * to be split over threads: against its double kernel, the same on 1 and 2
 * threads, and equal to the composed (softmax - one_hot) dy within float
 * rounding of one softmax (1e-6 absolute: |values| <= 1/600). */
Test(sparse_softmax_xent, fused_gradient_on_a_large_layer) {
    enum { R = 600, C = 114 };
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 34);
    rc_node *x = tu_param(g, "x", RC_SHAPE(R, C), &r, -4, 4);
    int32_t idv[R];
    for (int i = 0; i < R; i++) idv[i] = (int32_t)rc_rng_below(&r, C);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(R), idv);
    rc_node *loss = rc_mean(g, rc_sparse_softmax_xent(g, x, ids), RC_ALL_AXES, false), *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
    cr_assert_str_eq(rc_node_op_name(dx), "sparse_xent_grad");
    tu_check_forward(g, dx, 1e-7, 1e-5);
    tu_check_same_on_1_and_2_threads(g, dx);
    rc_node *composed = rc_scale(g, rc_sub(g, rc_softmax(g, x), rc_one_hot(g, ids, C)), 1.0 / R);
    static float a[R * C], b[R * C];
    tu_eval(g, dx, a);
    tu_eval(g, composed, b);
    for (int i = 0; i < R * C; i++) cr_assert_float_eq(a[i], b[i], 1e-6, "element %d", i);
    rc_graph_free(g);
}

Test(sparse_softmax_xent, out_of_range_label_fails_the_gradient_run) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3)), *dx;
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2));
    cr_assert(rc_node_set_i32(ids, (int32_t[]){1, 2}));
    rc_node *loss = rc_mean(g, rc_sparse_softmax_xent(g, x, ids), RC_ALL_AXES, false);
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK);
    rc_plan *p = rc_plan_new(g, &dx, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    cr_assert(rc_node_set_i32(ids, (int32_t[]){-1, 2}));
    rc_error err;
    cr_assert_eq(rc_plan_run(p, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "sparse_xent_grad") || strstr(err.message, "sparse_softmax_xent"), "%s", err.message);
    rc_plan_free(p);
    rc_graph_free(g);
}
