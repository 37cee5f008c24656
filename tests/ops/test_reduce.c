/* Reductions (sum, mean) and softmax / log_softmax over the last axis: fast
 * float32 kernels against the double reference, gradients (first and
 * second order) against finite differences, exact values, and errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

/* Sums accumulate in double (in another order than the reference) and are
 * rounded to float once: within one float ULP (2^-23 relative) of the
 * reference, plus ~1e-16 per term of |x| <= 1 for sums that cancel to ~0. */
#define SUM_ATOL 1e-12
#define SUM_RTOL 0x1p-23

/* Every axis, negative and positive, and all axes, of shapes with inner
 * sizes 1 (contiguous rows), > 1 (the scratch path) and odd lengths for the
 * 8-way partial sums (7, 13, 29). */
static const rc_shape shapes[] = {RC_SHAPE(29), RC_SHAPE(3, 13), RC_SHAPE(2, 7, 4), RC_SHAPE(2, 1, 3, 9)};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

typedef rc_node *(*reduce_fn)(rc_graph *, rc_node *, int, bool);

static void check_kernel_on_every_axis(reduce_fn fn, uint64_t seed) {
    for (int s = 0; s < NSHAPES; s++)
        for (int ax = -shapes[s].ndim; ax <= shapes[s].ndim; ax++) {
            int axis = ax == shapes[s].ndim ? RC_ALL_AXES : ax;
            for (int keep = 0; keep < 2; keep++) {
                rc_graph *g = rc_graph_new();
                rc_rng r;
                rc_rng_seed(&r, seed + (uint64_t)(s * 97 + (ax + 8) * 3 + keep));
                rc_node *x = tu_param(g, "x", shapes[s], &r, -1, 1);
                tu_check_forward(g, fn(g, x, axis, keep), SUM_ATOL, SUM_RTOL);
                rc_graph_free(g);
            }
        }
}

static void check_gradients_on_every_axis(reduce_fn fn, uint64_t seed) {
    for (int s = 0; s < NSHAPES; s++)
        for (int ax = -1; ax <= shapes[s].ndim; ax++) {
            int axis = ax == shapes[s].ndim ? RC_ALL_AXES : ax;
            for (int keep = 0; keep < 2; keep++) {
                rc_graph *g = rc_graph_new();
                rc_rng r;
                rc_rng_seed(&r, seed + (uint64_t)(s * 97 + (ax + 8) * 3 + keep));
                rc_node *x = tu_param(g, "x", shapes[s], &r, -1, 1);
                tu_check_gradients(g, tu_weighted_sum(g, fn(g, x, axis, keep), &r), &x, 1, 0, 0);
                rc_graph_free(g);
            }
        }
}

/* --- sum ---------------------------------------------------------------- */

Test(sum, over_axis_1_of_a_known_2x3_tensor) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *y = rc_sum(g, x, 1, false);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2)));
    float out[2];
    tu_eval(g, y, out);
    cr_assert_eq(out[0], 6);
    cr_assert_eq(out[1], 15);
    rc_graph_free(g);
}

Test(sum, over_axis_0_with_keepdims_keeps_a_size_1_axis) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *y = rc_sum(g, x, 0, true);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(1, 3)));
    float out[3];
    tu_eval(g, y, out);
    cr_assert_eq(out[0], 5);
    cr_assert_eq(out[1], 7);
    cr_assert_eq(out[2], 9);
    rc_graph_free(g);
}

Test(sum, over_the_middle_axis_of_a_rank_3_tensor) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2, 2), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    rc_node *y = rc_sum(g, x, -2, false);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2, 2)));
    float out[4], want[4] = {4, 6, 12, 14};
    tu_eval(g, y, out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

Test(sum, over_all_axes_is_a_scalar_or_all_ones_with_keepdims) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *all = rc_sum(g, x, RC_ALL_AXES, false);
    rc_node *kept = rc_sum(g, x, RC_ALL_AXES, true);
    cr_assert(rc_shape_eq(rc_node_shape(all), RC_SCALAR));
    cr_assert(rc_shape_eq(rc_node_shape(kept), RC_SHAPE(1, 1)));
    float out[1];
    tu_eval(g, all, out);
    cr_assert_eq(out[0], 21);
    tu_eval(g, kept, out);
    cr_assert_eq(out[0], 21);
    rc_graph_free(g);
}

Test(sum, of_a_scalar_over_all_axes_is_itself) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SCALAR, (float[]){2.5f});
    float out[1];
    tu_eval(g, rc_sum(g, x, RC_ALL_AXES, false), out);
    cr_assert_eq(out[0], 2.5f);
    rc_graph_free(g);
}

Test(sum, kernel_matches_reference_on_every_axis) { check_kernel_on_every_axis(rc_sum, 1000); }

Test(sum, gradients_check_on_every_axis) { check_gradients_on_every_axis(rc_sum, 2000); }

Test(sum, large_reduction_stays_accurate) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_fill(g, RC_SHAPE(1 << 20), 0.1f);
    float out[1];
    tu_eval(g, rc_sum(g, x, RC_ALL_AXES, false), out);
    /* a float accumulator ends 1% high here (105891.8); double is within a
     * float ULP (0.008) of the exact 104857.6 */
    cr_assert_float_eq(out[0], (double)0.1f * (1 << 20), 0.01);
    rc_graph_free(g);
}

Test(sum, large_strided_reduction_stays_accurate) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_fill(g, RC_SHAPE(1 << 14, 64), 0.1f);
    float out[64];
    tu_eval(g, rc_sum(g, x, 0, false), out);
    for (int j = 0; j < 64; j++)
        cr_assert_float_eq(out[j], (double)0.1f * (1 << 14), 1638.4 * 0x1p-23, "column %d", j);
    rc_graph_free(g);
}

/* --- mean --------------------------------------------------------------- */

Test(mean, over_axis_0_with_keepdims) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *y = rc_mean(g, x, 0, true);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(1, 3)));
    float out[3];
    tu_eval(g, y, out);
    cr_assert_eq(out[0], 2.5f);
    cr_assert_eq(out[1], 3.5f);
    cr_assert_eq(out[2], 4.5f);
    rc_graph_free(g);
}

Test(mean, over_the_last_axis_by_negative_index) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *y = rc_mean(g, x, -1, false);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2)));
    float out[2];
    tu_eval(g, y, out);
    cr_assert_eq(out[0], 2);
    cr_assert_eq(out[1], 5);
    rc_graph_free(g);
}

Test(mean, over_all_axes) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 6});
    float out[1];
    tu_eval(g, rc_mean(g, x, RC_ALL_AXES, false), out);
    cr_assert_eq(out[0], 3);
    rc_graph_free(g);
}

Test(mean, kernel_matches_reference_on_every_axis) { check_kernel_on_every_axis(rc_mean, 3000); }

Test(mean, gradients_check_on_every_axis) { check_gradients_on_every_axis(rc_mean, 4000); }

/* --- reduction errors ----------------------------------------------------- */

Test(sum, out_of_range_axis_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    cr_assert_null(rc_sum(g, x, 2, false));
    cr_assert_str_eq(rc_graph_error(g), "sum at 'sum': axis 2 is out of range for shape (2, 3)");
    cr_assert_eq(rc_graph_status(g), RC_ERR_ARG);
    rc_graph_clear_error(g);
    cr_assert_null(rc_sum(g, x, -3, true));
    cr_assert(strstr(rc_graph_error(g), "axis -3 is out of range for shape (2, 3)"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_sum(g, rc_param(g, "s", RC_SCALAR), 0, false));
    cr_assert(strstr(rc_graph_error(g), "axis 0 is out of range for shape ()"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(mean, out_of_range_axis_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    cr_assert_null(rc_mean(g, x, 5, false));
    cr_assert(strstr(rc_graph_error(g), "mean at 'mean': axis 5 is out of range for shape (2, 3)"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

Test(sum, int32_input_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(4));
    cr_assert_null(rc_sum(g, ids, 0, false));
    cr_assert(strstr(rc_graph_error(g), "sum at 'sum': input 0 has dtype int32, expected float32"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_mean(g, ids, RC_ALL_AXES, false));
    cr_assert(strstr(rc_graph_error(g), "input 0 has dtype int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- softmax / log_softmax ---------------------------------------------- */

/* softmax: each SLEEF expf is within 1 ULP (1.2e-7 relative), z sums them
 * in double (1.2e-7 relative), and 1/z and the product round twice more
 * (6e-8 each): 3.6e-7 relative. Rounding d = m - x to float (2^-24 d) moves
 * e^-d by 6e-8 d e^-d <= 2.2e-8 absolute. So 1e-7 absolute plus 1e-6
 * relative. log_softmax y = (x - m) - log z rounds x - m, log z and the
 * difference, each by at most half a ULP of a value <= |y|, plus the error
 * of log z above (<= 1.2e-7 + 6e-8 log C): 1e-6 absolute plus 1e-6
 * relative. */
#define SOFTMAX_ATOL 1e-7
#define SOFTMAX_RTOL 1e-6
#define LOG_SOFTMAX_ATOL 1e-6
#define LOG_SOFTMAX_RTOL 1e-6

Test(softmax, of_rows_0_and_ln2_is_one_third_and_two_thirds) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2), (float[]){0, logf(2), 0, logf(2)});
    float out[4];
    tu_eval(g, rc_softmax(g, x), out);
    for (int r = 0; r < 2; r++) {
        cr_assert_float_eq(out[2 * r], 1.0 / 3, 1e-7);
        cr_assert_float_eq(out[2 * r + 1], 2.0 / 3, 1e-7);
    }
    rc_graph_free(g);
}

Test(softmax, is_stable_for_large_logits) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1000, 1000, 1000, -1000, 0, 1000});
    float out[6];
    tu_eval(g, rc_softmax(g, x), out);
    for (int j = 0; j < 3; j++) cr_assert_float_eq(out[j], 1.0 / 3, 1e-7);
    cr_assert_eq(out[3], 0.0f);
    cr_assert_eq(out[4], 0.0f);
    cr_assert_eq(out[5], 1.0f);
    rc_graph_free(g);
}

Test(softmax, rows_sum_to_one_over_many_classes) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 1000), &r, -10, 10);
    rc_node *s = rc_sum(g, rc_softmax(g, x), -1, false);
    float out[3];
    tu_eval(g, s, out);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(out[i], 1.0, 1e-5, "row %d", i);
    rc_graph_free(g);
}

Test(softmax, kernel_matches_reference) {
    rc_shape shapes_sm[] = {RC_SHAPE(1), RC_SHAPE(7), RC_SHAPE(2, 3, 17), RC_SHAPE(4, 100)};
    for (int s = 0; s < 4; s++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 10 + (uint64_t)s);
        rc_node *x = tu_param(g, "x", shapes_sm[s], &r, -4, 4);
        tu_check_forward(g, rc_softmax(g, x), SOFTMAX_ATOL, SOFTMAX_RTOL);
        rc_graph_free(g);
    }
}

Test(softmax, gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 20);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 5), &r, -4, 4);
    tu_check_gradients(g, tu_weighted_sum(g, rc_softmax(g, x), &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(softmax, second_order_gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *loss = tu_weighted_sum(g, rc_softmax(g, x), &r), *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
    tu_check_gradients(g, tu_weighted_sum(g, dx, &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(log_softmax, of_rows_0_and_ln2_is_log_thirds) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(1, 2), (float[]){0, logf(2)});
    float out[2];
    tu_eval(g, rc_log_softmax(g, x), out);
    cr_assert_float_eq(out[0], -log(3.0), 1e-6);
    cr_assert_float_eq(out[1], log(2.0 / 3), 1e-6);
    rc_graph_free(g);
}

Test(log_softmax, is_stable_for_large_logits) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(3), (float[]){-1000, 0, 1000});
    float out[3];
    tu_eval(g, rc_log_softmax(g, x), out);
    cr_assert_float_eq(out[0], -2000, 1e-3);
    cr_assert_float_eq(out[1], -1000, 1e-3);
    cr_assert_eq(out[2], 0.0f);
    rc_graph_free(g);
}

Test(log_softmax, kernel_matches_reference) {
    rc_shape shapes_sm[] = {RC_SHAPE(1), RC_SHAPE(7), RC_SHAPE(2, 3, 17), RC_SHAPE(4, 100)};
    for (int s = 0; s < 4; s++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 30 + (uint64_t)s);
        rc_node *x = tu_param(g, "x", shapes_sm[s], &r, -4, 4);
        tu_check_forward(g, rc_log_softmax(g, x), LOG_SOFTMAX_ATOL, LOG_SOFTMAX_RTOL);
        rc_graph_free(g);
    }
}

Test(log_softmax, gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 40);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 5), &r, -4, 4);
    tu_check_gradients(g, tu_weighted_sum(g, rc_log_softmax(g, x), &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(log_softmax, second_order_gradients_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 41);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, -2, 2);
    rc_node *loss = tu_weighted_sum(g, rc_log_softmax(g, x), &r), *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
    tu_check_gradients(g, tu_weighted_sum(g, dx, &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(softmax, scalar_input_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *s = rc_param(g, "s", RC_SCALAR);
    cr_assert_null(rc_softmax(g, s));
    cr_assert_str_eq(rc_graph_error(g), "softmax at 'softmax': needs at least one axis, got a scalar");
    rc_graph_clear_error(g);
    cr_assert_null(rc_log_softmax(g, s));
    cr_assert(strstr(rc_graph_error(g), "log_softmax at 'log_softmax': needs at least one axis"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

Test(softmax, int32_input_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2, 3));
    cr_assert_null(rc_softmax(g, ids));
    cr_assert(strstr(rc_graph_error(g), "softmax at 'softmax': input 0 has dtype int32, expected float32"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_log_softmax(g, ids));
    cr_assert(strstr(rc_graph_error(g), "input 0 has dtype int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
