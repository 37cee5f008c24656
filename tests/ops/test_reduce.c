/* sum, mean, softmax, log_softmax. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

Test(reduce, exact_sums_and_means) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    float out[3];
    rc_node *s1 = rc_sum(g, x, 1, false);
    cr_assert(rc_shape_eq(rc_node_shape(s1), RC_SHAPE(2)));
    tu_eval(g, s1, out);
    cr_assert_eq(out[0], 6);
    cr_assert_eq(out[1], 15);
    rc_node *m0 = rc_mean(g, x, 0, true);
    cr_assert(rc_shape_eq(rc_node_shape(m0), RC_SHAPE(1, 3)));
    tu_eval(g, m0, out);
    cr_assert_eq(out[0], 2.5f);
    cr_assert_eq(out[2], 4.5f);
    rc_node *all = rc_sum(g, x, RC_ALL_AXES, false);
    cr_assert_eq(rc_node_shape(all).ndim, 0);
    tu_eval(g, all, out);
    cr_assert_eq(out[0], 21);
    rc_node *neg = rc_mean(g, x, -1, false);
    tu_eval(g, neg, out);
    cr_assert_eq(out[1], 5);
    rc_node *keep = rc_mean(g, x, RC_ALL_AXES, true);
    cr_assert(rc_shape_eq(rc_node_shape(keep), RC_SHAPE(1, 1)));
    rc_graph_free(g);
}

/* Sums accumulate in double, the float result is rounded once: 1e-6
 * relative, plus 1e-6 absolute for sums near zero of terms up to 1. */
Test(reduce, kernels_and_gradients_on_every_axis) {
    rc_shape shapes[] = {RC_SHAPE(7), RC_SHAPE(3, 5), RC_SHAPE(2, 3, 4), RC_SHAPE(2, 1, 3, 2)};
    for (int s = 0; s < 4; s++)
        for (int ax = -1; ax < shapes[s].ndim + 1; ax++) {
            int axis = ax == shapes[s].ndim ? RC_ALL_AXES : ax;
            for (int keep = 0; keep < 2; keep++) {
                rc_graph *g = rc_graph_new();
                rc_rng r;
                rc_rng_seed(&r, (uint64_t)(s * 31 + ax * 7 + keep));
                rc_node *x = tu_param(g, "x", shapes[s], &r, -1, 1);
                rc_node *ys[2] = {rc_sum(g, x, axis, keep), rc_mean(g, x, axis, keep)};
                for (int k = 0; k < 2; k++) {
                    tu_check_forward(g, ys[k], 1e-6, 1e-6);
                    tu_check_gradients(g, tu_weighted_sum(g, ys[k], &r), &x, 1, 0, 0);
                }
                rc_graph_free(g);
            }
        }
}

Test(reduce, large_sum_stays_accurate) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_fill(g, RC_SHAPE(1 << 20), 0.1f);
    float out[1];
    tu_eval(g, rc_sum(g, x, RC_ALL_AXES, false), out);
    /* naive float accumulation drifts by ~1e-3 relative here */
    cr_assert_float_eq(out[0], (double)0.1f * (1 << 20), 1e-2);
    rc_graph_free(g);
}

Test(softmax, exact_values_and_stability) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2), (float[]){0, logf(2), 1000, 1000});
    float out[4];
    tu_eval(g, rc_softmax(g, x), out);
    cr_assert_float_eq(out[0], 1.0 / 3, 1e-7);
    cr_assert_float_eq(out[1], 2.0 / 3, 1e-7);
    cr_assert_float_eq(out[2], 0.5, 1e-7);
    tu_eval(g, rc_log_softmax(g, x), out);
    cr_assert_float_eq(out[0], -log(3), 1e-6);
    cr_assert_float_eq(out[3], -log(2), 1e-6);
    rc_graph_free(g);
}

/* SLEEF exp (1 ULP) and a double sum: 1e-6 relative covers the float path. */
Test(softmax, kernels_and_gradients_first_and_second_order) {
    for (int which = 0; which < 2; which++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, (uint64_t)which);
        rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 17), &r, -4, 4);
        rc_node *y = which ? rc_log_softmax(g, x) : rc_softmax(g, x);
        tu_check_forward(g, y, 1e-7, 1e-6);
        rc_node *loss = tu_weighted_sum(g, y, &r), *dx;
        tu_check_gradients(g, loss, &x, 1, 0, 0);
        cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK);
        tu_check_gradients(g, tu_weighted_sum(g, dx, &r), &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

Test(reduce, bad_axis_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(2, 3));
    cr_assert_null(rc_sum(g, x, 2, false));
    cr_assert_str_eq(rc_graph_error(g), "sum at 'sum': axis 2 is out of range for shape (2, 3)");
    rc_graph_clear_error(g);
    cr_assert_null(rc_mean(g, x, -3, false));
    cr_assert(strstr(rc_graph_error(g), "axis -3 is out of range"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_softmax(g, rc_sum(g, x, RC_ALL_AXES, false)));
    cr_assert(strstr(rc_graph_error(g), "needs at least one axis"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
