/* Elementwise unary ops and their fused gradient ops: fast kernels against
 * the double reference, gradients (first and second order) against finite
 * differences, exact values at known points. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

typedef rc_node *(*unary_fn)(rc_graph *, rc_node *);

static rc_node *hs3(rc_graph *g, rc_node *x) { return rc_hard_sigmoid(g, x, 1.0f / 6, 0.5f); }
static rc_node *hs2(rc_graph *g, rc_node *x) { return rc_hard_sigmoid(g, x, 0.2f, 0.5f); }
static rc_node *scale3(rc_graph *g, rc_node *x) { return rc_scale(g, x, -3.0f); }
static rc_node *addc(rc_graph *g, rc_node *x) { return rc_add_scalar(g, x, 0.25f); }

static rc_node *elu1(rc_graph *g, rc_node *x) { return rc_elu(g, x, 1.0f); }
static rc_node *elu03(rc_graph *g, rc_node *x) { return rc_elu(g, x, 0.3f); }
static rc_node *gelu_erf(rc_graph *g, rc_node *x) { return rc_gelu(g, x, false); }
static rc_node *gelu_tanh(rc_graph *g, rc_node *x) { return rc_gelu(g, x, true); }

/* The Keras activations in double, written from their definitions
 * (keras.activations, Keras 3), and their derivatives. The kinks of elu,
 * selu (x = 0) take the x <= 0 side, as the ops do. */
#define SELU_A 1.6732632423543772848170429916717
#define SELU_S 1.0507009873554804934193349852946
#define SQRT_2_PI 0.79788456080286535588 /* sqrt(2 / pi) */
static double elu_a(double x, double a) { return x > 0 ? x : a * expm1(x); }
static double d_elu_a(double x, double a) { return x > 0 ? 1 : a * exp(x); }
static double ex_elu1(double x) { return elu_a(x, 1); }
static double dx_elu1(double x) { return d_elu_a(x, 1); }
static double ex_elu03(double x) { return elu_a(x, (double)0.3f); }
static double dx_elu03(double x) { return d_elu_a(x, (double)0.3f); }
static double ex_selu(double x) { return SELU_S * elu_a(x, SELU_A); }
static double dx_selu(double x) { return SELU_S * d_elu_a(x, SELU_A); }
static double sigm(double x) { return 1 / (1 + exp(-x)); }
static double ex_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double ex_softsign(double x) { return x / (1 + fabs(x)); }
static double dx_softsign(double x) { return 1 / ((1 + fabs(x)) * (1 + fabs(x))); }
static double ex_silu(double x) { return x * sigm(x); }
static double dx_silu(double x) { return sigm(x) + x * sigm(x) * sigm(-x); }
/* Phi(x) = 0.5 erfc(-x / sqrt 2), phi(x) = e^(-x^2/2) / sqrt(2 pi) */
static double ex_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double dx_gelu(double x) { return 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI); }
static double gu(double x) { return SQRT_2_PI * (x + 0.044715 * x * x * x); }
static double ex_gelu_tanh(double x) { return 0.5 * x * (1 + tanh(gu(x))); }
static double dx_gelu_tanh(double x) {
    double t = tanh(gu(x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_PI * (1 + 3 * 0.044715 * x * x);
}

static const struct {
    const char *name;
    unary_fn fn;
    float lo, hi; /* input range: away from kinks, inside the domain */
    bool smooth;  /* second derivative checked too */
    /* Keras activations: exact value and derivative, NULL for the rest */
    double (*f)(double), (*df)(double);
} cases[] = {
    {"neg", rc_neg, -3, 3, true, NULL, NULL},
    {"scale", scale3, -3, 3, true, NULL, NULL},
    {"add_scalar", addc, -3, 3, true, NULL, NULL},
    {"sigmoid", rc_sigmoid, -6, 6, true, NULL, NULL},
    {"tanh", rc_tanh, -4, 4, true, NULL, NULL},
    {"relu", rc_relu, 0.05f, 3, false, NULL, NULL},
    {"hard_sigmoid3", hs3, -2.5f, 2.5f, false, NULL, NULL},
    {"hard_sigmoid2", hs2, -2.0f, 2.0f, false, NULL, NULL},
    {"exp", rc_exp, -4, 4, true, exp, exp}, /* Keras `exponential` */
    {"log", rc_log, 0.1f, 5, true, NULL, NULL},
    {"square", rc_square, -3, 3, true, NULL, NULL},
    /* elu, selu, softsign have kinks at 0 (in f' or f''): the random
     * points of the derivative checks are never within eps of it */
    {"elu", elu1, -3, 3, true, ex_elu1, dx_elu1},
    {"elu_0.3", elu03, -3, 3, true, ex_elu03, dx_elu03},
    {"selu", rc_selu, -3, 3, true, ex_selu, dx_selu},
    {"softplus", rc_softplus, -6, 6, true, ex_softplus, sigm},
    {"softsign", rc_softsign, -4, 4, true, ex_softsign, dx_softsign},
    {"silu", rc_silu, -6, 6, true, ex_silu, dx_silu},
    {"gelu", gelu_erf, -4, 4, true, ex_gelu, dx_gelu},
    {"gelu_tanh", gelu_tanh, -4, 4, true, ex_gelu_tanh, dx_gelu_tanh},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* SLEEF's exp and log (u10) are within 1 ULP, its tanh (u35, ops/vecmath.c)
 * within 3.5 ULP: at most 3.5 * 2^-23 = 4.2e-7 relative; the float input
 * itself is exact in double, so 1e-6 relative plus 1e-7 absolute (for
 * results near 0) bounds every kernel here with margin.
 * The Keras activations and their fused gradients chain a SLEEF call
 * (exp, expm1, log1p: 1 ULP; erfc: 1.5 ULP) with at most six float
 * roundings (1/2 ULP each): <= 4.5 ULP = 5.4e-7 relative, under 1e-6.
 * Two places lose relative accuracy, both where the result is small, so
 * the absolute 1e-7 covers them: the zeros of f' (silu at -1.28, gelu at
 * -0.75), where terms of size ~0.2 cancel (absolute error ~ulp(0.2) =
 * 1.5e-8), and gelu's left tail, where rounding t = -x / sqrt 2 to float
 * changes erfc(t) by a relative 2 t^2 2^-24 (1.5e-6 at x = -5.4, where
 * |gelu| = 1.8e-7). Measured over 400 000 points of [-12, 12] and of
 * [-110, 110] (AVX-512): all forward and gradient kernels pass
 * atol 1e-7 with rtol 1.1e-7, so 1e-6 leaves ~9x margin. */
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

/* --- Keras activations --------------------------------------------------- */

/* y = f(x) and dx = f'(x) (the fused gradient op, dy = 1) on the f32 plan,
 * at points including 0, large |x| and the far tails: within the kernel
 * tolerance of the exact values, never NaN; values beyond float range
 * (exp(100)) must be inf of the right sign. Also the double reference
 * kernels against the exact values, to 1e-12 relative (not 1e-16: in the
 * far tails erfc(t) and e^t amplify the rounding of their argument by ~t^2). */
static void check_exact(const char *name, const char *what, float got, double want) {
    cr_assert(!isnan(got), "%s %s: NaN (want %.17g)", name, what, want);
    if (fabs(want) > FLT_MAX) {
        cr_assert(isinf(got) && (got > 0) == (want > 0), "%s %s: %.9g, want %g", name, what, (double)got, want);
        return;
    }
    cr_assert(fabs(got - want) <= FWD_ATOL + FWD_RTOL * fabs(want), "%s %s: %.9g, want %.17g", name, what,
              (double)got, want);
}

Test(activations, exact_values_and_derivatives_at_chosen_points) {
    static const float pts[] = {-100, -30, -12, -5, -2, -1, -0.5f, -1e-3f, 0, 1e-3f, 0.5f, 1, 2, 5, 12, 30, 100};
    enum { NP = sizeof pts / sizeof pts[0] };
    for (int c = 0; c < NCASES; c++) {
        if (!cases[c].f) continue;
        rc_graph *g = rc_graph_new();
        rc_node *x = rc_param(g, "x", RC_SHAPE(NP));
        memcpy(rc_node_data(x), pts, sizeof pts);
        rc_node *y = cases[c].fn(g, x), *dx;
        cr_assert_eq(rc_gradients(g, rc_sum(g, y, RC_ALL_AXES, false), &x, 1, &dx), RC_OK, "%s", cases[c].name);
        float yv[NP], dv[NP];
        tu_eval(g, y, yv);
        tu_eval(g, dx, dv);
        rc_node *outs[2] = {y, dx};
        rc_refeval *r = rc_refeval_new(g, outs, 2);
        cr_assert(r);
        cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
        for (int i = 0; i < NP; i++) {
            char what[64];
            double want = cases[c].f(pts[i]), dwant = cases[c].df(pts[i]);
            snprintf(what, sizeof what, "f(%g)", (double)pts[i]);
            check_exact(cases[c].name, what, yv[i], want);
            cr_assert(fabs(rc_refeval_f64(r, y)[i] - want) <= 1e-300 + 1e-12 * fabs(want), "%s reference %s",
                      cases[c].name, what);
            snprintf(what, sizeof what, "f'(%g)", (double)pts[i]);
            check_exact(cases[c].name, what, dv[i], dwant);
            cr_assert(fabs(rc_refeval_f64(r, dx)[i] - dwant) <= 1e-300 + 1e-12 * fabs(dwant), "%s reference %s",
                      cases[c].name, what);
        }
        rc_refeval_free(r);
        rc_graph_free(g);
    }
}

/* Known values: Keras' docstring example gelu(+-1) = +-0.84134475 /
 * -0.15865525; selu(x) -> -scale alpha = -1.7580993 as x -> -inf;
 * softplus(0) = ln 2; softsign(+-1) = +-1/2; silu(+-1) = 0.7310586,
 * -0.26894142. */
Test(activations, known_values) {
    rc_graph *g = rc_graph_new();
    float v[4] = {-100, -1, 0, 1};
    rc_node *x = rc_const(g, RC_SHAPE(4), v);
    float out[4];
    tu_eval(g, rc_gelu(g, x, false), out);
    cr_assert_float_eq(out[1], -0.15865525f, 1e-7);
    cr_assert_float_eq(out[3], 0.84134475f, 1e-7);
    cr_assert_eq(out[2], 0.0f);
    tu_eval(g, rc_selu(g, x), out);
    cr_assert_float_eq(out[0], -1.7580993f, 2e-7);
    tu_eval(g, rc_softplus(g, x), out);
    cr_assert_float_eq(out[2], 0.69314718f, 1e-7);
    tu_eval(g, rc_softsign(g, x), out);
    cr_assert_eq(out[1], -0.5f);
    cr_assert_eq(out[3], 0.5f);
    tu_eval(g, rc_silu(g, x), out);
    cr_assert_float_eq(out[1], -0.26894142f, 1e-7);
    cr_assert_float_eq(out[3], 0.7310586f, 1e-7);
    tu_eval(g, rc_elu(g, x, 1.0f), out);
    cr_assert_eq(out[0], -1.0f);
    cr_assert_eq(out[2], 0.0f);
    rc_graph_free(g);
}

/* The f32 kernels of each activation and of its gradient against the
 * double references on wide sweeps (1000 elements: vector bodies and a
 * ragged tail), in place of the narrow ranges of the table. */
Test(activations, fast_kernels_match_the_reference_on_wide_sweeps) {
    static const float range[] = {12, 110};
    for (int c = 0; c < NCASES; c++) {
        if (!cases[c].f) continue;
        for (int k = 0; k < 2; k++) {
            /* exp overflows float past 88.7 */
            float hi = cases[c].fn == rc_exp ? fminf(range[k], 80) : range[k];
            rc_graph *g = rc_graph_new();
            rc_rng r;
            rc_rng_seed(&r, 400 + (uint64_t)(2 * c + k));
            rc_node *x = tu_param(g, "x", RC_SHAPE(10, 100), &r, -hi, hi), *dx;
            rc_node *y = cases[c].fn(g, x);
            cr_assert_eq(rc_gradients(g, tu_weighted_sum(g, y, &r), &x, 1, &dx), RC_OK);
            tu_check_forward(g, y, FWD_ATOL, FWD_RTOL);
            tu_check_forward(g, dx, FWD_ATOL, FWD_RTOL);
            rc_graph_free(g);
        }
    }
}

/* Derivative graphs of order 1-3 chain tens of float ops (products of
 * terms of size ~1-10 from the f(x)^2 loss and the weights), each adding
 * its rounding: checked against the double evaluation to 1e-5 relative
 * (plus 1e-6 absolute), the tolerance of the fused cells' gradients. */
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-5

/* A loss in f(x)^2 makes dL/df depend on x, so the derivatives below go
 * through both inputs of the fused gradient ops (x and the incoming
 * gradient), to third order. */
Test(activations, derivatives_of_every_order_pass_the_gradient_check) {
    for (int c = 0; c < NCASES; c++) {
        if (!cases[c].f) continue;
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 500 + (uint64_t)c);
        rc_node *x = tu_param(g, "x", RC_SHAPE(9), &r, cases[c].lo, cases[c].hi);
        rc_node *loss = tu_weighted_sum(g, rc_square(g, cases[c].fn(g, x)), &r);
        for (int order = 1; order <= 3; order++) {
            tu_check_gradients(g, loss, &x, 1, 0, 0);
            rc_node *dx;
            cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s order %d", cases[c].name, order);
            /* float32 kernels of the higher-order gradient graphs too */
            tu_check_forward(g, dx, GRAD_ATOL, GRAD_RTOL);
            loss = tu_weighted_sum(g, dx, &r);
        }
        rc_graph_free(g);
    }
}

Test(activations, elu_alpha_and_gelu_mode_are_attributes) {
    rc_graph *g = rc_graph_new();
    float v[2] = {-1, 2};
    rc_node *x = rc_const(g, RC_SHAPE(2), v);
    float out[2];
    tu_eval(g, rc_elu(g, x, 0.5f), out);
    cr_assert_float_eq(out[0], (float)(0.5 * expm1(-1.0)), 1e-7);
    cr_assert_eq(out[1], 2.0f);
    float a[2], b[2];
    tu_eval(g, rc_gelu(g, x, false), a);
    tu_eval(g, rc_gelu(g, x, true), b);
    cr_assert_neq(a[0], b[0]);
    cr_assert_float_eq(b[0], (float)ex_gelu_tanh(-1), 1e-7);
    rc_graph_free(g);
}
