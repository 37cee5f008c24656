/* Elementwise unary ops and their fused gradient ops: fast kernels against
 * the double reference, gradients (first and second order) against finite
 * differences, exact values at known points. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

typedef rc_node *(*unary_fn)(rc_graph *, rc_node *);

static rc_node *hs3(rc_graph *g, rc_node *x) { return rc_hard_sigmoid(g, x, 1.0f / 6, 0.5f); }
static rc_node *hs2(rc_graph *g, rc_node *x) { return rc_hard_sigmoid(g, x, 0.2f, 0.5f); }
static rc_node *scale3(rc_graph *g, rc_node *x) { return rc_scale(g, x, -3.0f); }
static rc_node *addc(rc_graph *g, rc_node *x) { return rc_add_scalar(g, x, 0.25f); }

static const struct {
    const char *name;
    unary_fn fn;
    float lo, hi; /* input range: away from kinks, inside the domain */
    bool smooth;  /* second derivative checked too */
} cases[] = {
    {"neg", rc_neg, -3, 3, true},
    {"scale", scale3, -3, 3, true},
    {"add_scalar", addc, -3, 3, true},
    {"sigmoid", rc_sigmoid, -6, 6, true},
    {"tanh", rc_tanh, -4, 4, true},
    {"relu", rc_relu, 0.05f, 3, false},
    {"hard_sigmoid3", hs3, -2.5f, 2.5f, false},
    {"hard_sigmoid2", hs2, -2.0f, 2.0f, false},
    {"exp", rc_exp, -4, 4, true},
    {"log", rc_log, 0.1f, 5, true},
    {"square", rc_square, -3, 3, true},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* SLEEF's exp and log (u10) are within 1 ULP, its tanh (u35, ops/vecmath.c)
 * within 3.5 ULP: at most 3.5 * 2^-23 = 4.2e-7 relative; the float input
 * itself is exact in double, so 1e-6 relative plus 1e-7 absolute (for
 * results near 0) bounds every kernel here with margin. */
#define FWD_ATOL 1e-7
#define FWD_RTOL 1e-6

Test(unary, fast_kernels_match_the_double_reference) {
    for (int c = 0; c < NCASES; c++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 100 + (uint64_t)c);
        /* 1000 elements exercise the vector bodies and a ragged tail */
        rc_node *x = tu_param(g, "x", RC_SHAPE(10, 100), &r, cases[c].lo, cases[c].hi);
        tu_check_forward(g, cases[c].fn(g, x), FWD_ATOL, FWD_RTOL);
        rc_graph_free(g);
    }
}

Test(unary, odd_lengths_use_the_tail_path_correctly) {
    for (int64_t n = 1; n <= 40; n += 3) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, (uint64_t)n);
        rc_node *x = tu_param(g, "x", RC_SHAPE(n), &r, -5, 5);
        tu_check_forward(g, rc_tanh(g, x), FWD_ATOL, FWD_RTOL);
        tu_check_forward(g, rc_sigmoid(g, x), FWD_ATOL, FWD_RTOL);
        tu_check_forward(g, rc_exp(g, x), FWD_ATOL, FWD_RTOL);
        rc_graph_free(g);
    }
}

Test(unary, gradients_pass_the_gradient_check) {
    for (int c = 0; c < NCASES; c++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 200 + (uint64_t)c);
        rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4), &r, cases[c].lo, cases[c].hi);
        rc_node *loss = tu_weighted_sum(g, cases[c].fn(g, x), &r);
        tu_check_gradients(g, loss, &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

Test(unary, second_derivatives_pass_the_gradient_check) {
    for (int c = 0; c < NCASES; c++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 300 + (uint64_t)c);
        rc_node *x = tu_param(g, "x", RC_SHAPE(7), &r, cases[c].lo, cases[c].hi);
        rc_node *loss = tu_weighted_sum(g, cases[c].fn(g, x), &r), *dx;
        cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", cases[c].name);
        /* Through the fused gradient ops: d/dx sum(w2 * dL/dx) */
        rc_node *loss2 = tu_weighted_sum(g, dx, &r);
        tu_check_gradients(g, loss2, &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

Test(unary, fused_gradient_ops_differentiate_in_both_inputs) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 9);
    rc_node *y = tu_param(g, "y", RC_SHAPE(5), &r, 0.1f, 0.9f);
    rc_node *dy = tu_param(g, "dy", RC_SHAPE(5), &r, -1, 1);
    rc_node *ops[4] = {rc_sigmoid_grad(g, y, dy), rc_tanh_grad(g, y, dy), rc_relu_grad(g, y, dy),
                       rc_hard_sigmoid_grad(g, y, dy, 0.2f, 0.5f)};
    for (int i = 0; i < 4; i++) {
        tu_check_forward(g, ops[i], FWD_ATOL, FWD_RTOL);
        tu_check_gradients(g, tu_weighted_sum(g, ops[i], &r), (rc_node *[]){y, dy}, 2, 0, 0);
    }
    rc_graph_free(g);
}

Test(unary, exact_values_at_known_points) {
    rc_graph *g = rc_graph_new();
    float v[6] = {-4, -3, -0.5f, 0, 0.5f, 3};
    rc_node *x = rc_const(g, RC_SHAPE(6), v);
    float out[6];
    /* Keras 3 hard_sigmoid: relu6(x + 3) / 6 */
    tu_eval(g, rc_hard_sigmoid(g, x, 1.0f / 6, 0.5f), out);
    float k3[6] = {0, 0, 2.5f / 6, 0.5f, 3.5f / 6, 1};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(out[i], k3[i], 1e-7);
    /* Keras 2 / TF.js hard_sigmoid: clip(0.2 x + 0.5, 0, 1) */
    tu_eval(g, rc_hard_sigmoid(g, x, 0.2f, 0.5f), out);
    float k2[6] = {0, 0, 0.4f, 0.5f, 0.6f, 1};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(out[i], k2[i], 1e-7);
    tu_eval(g, rc_relu(g, x), out);
    float re[6] = {0, 0, 0, 0, 0.5f, 3};
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], re[i]);
    tu_eval(g, rc_sigmoid(g, x), out);
    cr_assert_eq(out[3], 0.5f);
    tu_eval(g, rc_tanh(g, x), out);
    cr_assert_eq(out[3], 0.0f);
    rc_graph_free(g);
}

Test(unary, sigmoid_saturates_without_nan) {
    rc_graph *g = rc_graph_new();
    float v[4] = {-200, -90, 90, 200};
    rc_node *x = rc_const(g, RC_SHAPE(4), v);
    float out[4];
    tu_eval(g, rc_sigmoid(g, x), out);
    cr_assert_eq(out[0], 0.0f);
    cr_assert_lt(out[1], 1e-30f);
    cr_assert_eq(out[2], 1.0f);
    cr_assert_eq(out[3], 1.0f);
    tu_eval(g, rc_tanh(g, x), out);
    cr_assert_eq(out[0], -1.0f);
    cr_assert_eq(out[3], 1.0f);
    rc_graph_free(g);
}

Test(unary, fused_gradient_shape_mismatch_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *y = rc_param(g, "y", RC_SHAPE(3));
    rc_node *dy = rc_param(g, "dy", RC_SHAPE(4));
    cr_assert_null(rc_tanh_grad(g, y, dy));
    cr_assert(strstr(rc_graph_error(g), "tanh_grad at 'tanh_grad': shapes (3) and (4) differ"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}
