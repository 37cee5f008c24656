/* Elementwise unary ops and their fused gradient ops.
 *
 *   neg          y = -x                    dx = -dy
 *   scale        y = c x                   dx = c dy
 *   add_scalar   y = x + c                 dx = dy
 *   sigmoid      y = 1 / (1 + e^-x)        dx = sigmoid_grad(y, dy)
 *   tanh         y = tanh x                dx = tanh_grad(y, dy)
 *   relu         y = max(x, 0)             dx = relu_grad(x, dy)
 *   hard_sigmoid y = clip(a x + b, 0, 1)   dx = hard_sigmoid_grad(x, dy)
 *   exp          y = e^x                   dx = dy * y
 *   log          y = ln x                  dx = dy / x
 *   square       y = x^2                   dx = 2 x dy
 *
 * Fused gradients (inputs y or x, then dy), with their own gradients so
 * second order works:
 *   sigmoid_grad(y, g) = g y (1 - y)   d/dy = g (1 - 2y) * up   d/dg = sigmoid_grad(y, up)
 *   tanh_grad(y, g)    = g (1 - y^2)   d/dy = -2 y g * up       d/dg = tanh_grad(y, up)
 *   relu_grad(x, g)    = [x > 0] g     d/dx = 0                 d/dg = relu_grad(x, up)
 *   hard_sigmoid_grad(x, g) = a [0 < a x + b < 1] g  (same pattern as relu_grad)
 */
#include <math.h>

#include "recur/op.h"
#include "recur/ops.h"
#include "vecmath.h"

#define N_OF(n) rc_shape_numel((n)->shape)

static bool infer_unary(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    n->shape = n->in[0]->shape;
    return true;
}

/* (y or x, dy): both float, same shape. */
static bool infer_pair(rc_graph *g, rc_node *n) {
    if (!rc_require_float_pair(g, n)) return false;
    n->shape = n->in[0]->shape;
    return true;
}

/* Stamp out float and double loops for a formula in x (and attrs a, b). */
#define ELEMENTWISE1(name, expr_f, expr_d)                                           \
    RC_VECTOR_CLONES static rc_status name##_fwd(const rc_node *n, void *out, void *const *in, void *s) { \
        (void)s;                                                                     \
        float *y = out;                                                              \
        const float *xs = in[0];                                                     \
        const float a = (float)n->attr.f[0], b = (float)n->attr.f[1];                \
        (void)a, (void)b;                                                            \
        for (int64_t i = 0, N = N_OF(n); i < N; i++) {                               \
            float x = xs[i];                                                         \
            y[i] = (expr_f);                                                         \
        }                                                                            \
        return RC_OK;                                                                \
    }                                                                                \
    static rc_status name##_ref(const rc_node *n, void *out, void *const *in, void *s) {   \
        (void)s;                                                                     \
        double *y = out;                                                             \
        const double *xs = in[0];                                                    \
        const double a = n->attr.f[0], b = n->attr.f[1];                             \
        (void)a, (void)b;                                                            \
        for (int64_t i = 0, N = N_OF(n); i < N; i++) {                               \
            double x = xs[i];                                                        \
            y[i] = (expr_d);                                                         \
        }                                                                            \
        return RC_OK;                                                                \
    }

/* Same for (x, g) pairs. */
#define ELEMENTWISE2(name, expr_f, expr_d)                                           \
    RC_VECTOR_CLONES static rc_status name##_fwd(const rc_node *n, void *out, void *const *in, void *s) { \
        (void)s;                                                                     \
        float *y = out;                                                              \
        const float *xs = in[0], *gs = in[1];                                        \
        const float a = (float)n->attr.f[0], b = (float)n->attr.f[1];                \
        (void)a, (void)b;                                                            \
        for (int64_t i = 0, N = N_OF(n); i < N; i++) {                               \
            float x = xs[i], g = gs[i];                                              \
            y[i] = (expr_f);                                                         \
        }                                                                            \
        return RC_OK;                                                                \
    }                                                                                \
    static rc_status name##_ref(const rc_node *n, void *out, void *const *in, void *s) {   \
        (void)s;                                                                     \
        double *y = out;                                                             \
        const double *xs = in[0], *gs = in[1];                                       \
        const double a = n->attr.f[0], b = n->attr.f[1];                             \
        (void)a, (void)b;                                                            \
        for (int64_t i = 0, N = N_OF(n); i < N; i++) {                               \
            double x = xs[i], g = gs[i];                                             \
            y[i] = (expr_d);                                                         \
        }                                                                            \
        return RC_OK;                                                                \
    }

ELEMENTWISE1(neg, -x, -x)
ELEMENTWISE1(scale, a * x, a * x)
ELEMENTWISE1(add_scalar, x + a, x + a)
ELEMENTWISE1(relu, x > 0 ? x : 0.0f, x > 0 ? x : 0.0)
ELEMENTWISE1(hard_sigmoid, fminf(fmaxf(a * x + b, 0.0f), 1.0f), fmin(fmax(a * x + b, 0.0), 1.0))
ELEMENTWISE1(square, x * x, x * x)
ELEMENTWISE2(sigmoid_grad, g * x * (1.0f - x), g * x * (1.0 - x))
ELEMENTWISE2(tanh_grad, g * (1.0f - x * x), g * (1.0 - x * x))
ELEMENTWISE2(relu_grad, x > 0 ? g : 0.0f, x > 0 ? g : 0.0)
ELEMENTWISE2(hard_sigmoid_grad, (a * x + b > 0 && a * x + b < 1) ? a * g : 0.0f,
             (a * x + b > 0 && a * x + b < 1) ? a * g : 0.0)

/* Transcendentals: SLEEF vector kernels for float, libm in double. */
#define VECTOR1(name, vfn, expr_d)                                                   \
    static rc_status name##_fwd(const rc_node *n, void *out, void *const *in, void *s) {   \
        (void)s;                                                                     \
        vfn(out, in[0], N_OF(n));                                                    \
        return RC_OK;                                                                \
    }                                                                                \
    static rc_status name##_ref(const rc_node *n, void *out, void *const *in, void *s) {   \
        (void)s;                                                                     \
        double *y = out;                                                             \
        const double *xs = in[0];                                                    \
        for (int64_t i = 0, N = N_OF(n); i < N; i++) {                               \
            double x = xs[i];                                                        \
            y[i] = (expr_d);                                                         \
        }                                                                            \
        return RC_OK;                                                                \
    }

VECTOR1(sigmoid, rc_vsigmoid, 1.0 / (1.0 + exp(-x)))
VECTOR1(tanh, rc_vtanh, tanh(x))
VECTOR1(exp, rc_vexp, exp(x))
VECTOR1(log, rc_vlog, log(x))

/* --- gradient builders -------------------------------------------------- */

static void neg_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    (void)n;
    dx[0] = rc_neg(g, dy);
}
static void scale_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_scale(g, dy, n->attr.f[0]);
}
static void add_scalar_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    (void)g, (void)n;
    dx[0] = dy;
}
static void sigmoid_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_sigmoid_grad(g, n, dy);
}
static void tanh_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_tanh_grad(g, n, dy);
}
static void relu_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_relu_grad(g, n->in[0], dy);
}
static void hard_sigmoid_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_hard_sigmoid_grad(g, n->in[0], dy, (float)n->attr.f[0], (float)n->attr.f[1]);
}
static void exp_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_mul(g, dy, n);
}
static void log_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_div(g, dy, n->in[0]);
}
static void square_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_scale(g, rc_mul(g, dy, n->in[0]), 2.0f);
}
/* d/dy [g y (1-y)] = g (1 - 2y); d/dg = y (1 - y). */
static void sigmoid_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *y = n->in[0], *gin = n->in[1];
    rc_node *one_minus_2y = rc_add_scalar(g, rc_scale(g, y, -2.0f), 1.0f);
    dx[0] = rc_mul(g, rc_mul(g, up, gin), one_minus_2y);
    dx[1] = rc_sigmoid_grad(g, y, up);
}
/* d/dy [g (1 - y^2)] = -2 y g; d/dg = 1 - y^2. */
static void tanh_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *y = n->in[0], *gin = n->in[1];
    dx[0] = rc_scale(g, rc_mul(g, rc_mul(g, up, gin), y), -2.0f);
    dx[1] = rc_tanh_grad(g, y, up);
}
/* Piecewise constant in x: only the incoming-gradient input gets one. */
static void relu_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    dx[1] = rc_relu_grad(g, n->in[0], up);
}
static void hard_sigmoid_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    dx[1] = rc_hard_sigmoid_grad(g, n->in[0], up, (float)n->attr.f[0], (float)n->attr.f[1]);
}

static void scale_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s %g", n->op->name, n->attr.f[0]);
}
static void hard_sigmoid_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s %gx%+g", n->op->name, n->attr.f[0], n->attr.f[1]);
}

#define UNARY_OP(nm, lbl)                                                            \
    const rc_op rc_op_##nm = {.name = #nm, .arity = 1, .flags = RC_OPF_ELEMENTWISE,  \
                              .infer = infer_unary, .forward = nm##_fwd,             \
                              .reference = nm##_ref, .grad = nm##_gradb, .label = lbl};
#define PAIR_OP(nm, lbl)                                                             \
    const rc_op rc_op_##nm = {.name = #nm, .arity = 2, .flags = RC_OPF_ELEMENTWISE,  \
                              .infer = infer_pair, .forward = nm##_fwd,              \
                              .reference = nm##_ref, .grad = nm##_gradb, .label = lbl};


UNARY_OP(neg, NULL)
UNARY_OP(scale, scale_label)
UNARY_OP(add_scalar, scale_label)
UNARY_OP(sigmoid, NULL)
UNARY_OP(tanh, NULL)
UNARY_OP(relu, NULL)
UNARY_OP(hard_sigmoid, hard_sigmoid_label)
UNARY_OP(exp, NULL)
UNARY_OP(log, NULL)
UNARY_OP(square, NULL)
PAIR_OP(sigmoid_grad, NULL)
PAIR_OP(tanh_grad, NULL)
PAIR_OP(relu_grad, NULL)
PAIR_OP(hard_sigmoid_grad, hard_sigmoid_label)

/* --- builders ----------------------------------------------------------- */

static rc_node *un(rc_graph *g, const rc_op *op, rc_node *x, double a, double b) {
    rc_attr at = {.f = {a, b}};
    return rc_node_make(g, op, &x, 1, &at, NULL);
}
static rc_node *pair(rc_graph *g, const rc_op *op, rc_node *x, rc_node *dy, double a, double b) {
    rc_attr at = {.f = {a, b}};
    rc_node *in[2] = {x, dy};
    return rc_node_make(g, op, in, 2, &at, NULL);
}

rc_node *rc_neg(rc_graph *g, rc_node *x) { return un(g, &rc_op_neg, x, 0, 0); }
rc_node *rc_scale(rc_graph *g, rc_node *x, double c) { return un(g, &rc_op_scale, x, c, 0); }
rc_node *rc_add_scalar(rc_graph *g, rc_node *x, double c) { return un(g, &rc_op_add_scalar, x, c, 0); }
rc_node *rc_sigmoid(rc_graph *g, rc_node *x) { return un(g, &rc_op_sigmoid, x, 0, 0); }
rc_node *rc_tanh(rc_graph *g, rc_node *x) { return un(g, &rc_op_tanh, x, 0, 0); }
rc_node *rc_relu(rc_graph *g, rc_node *x) { return un(g, &rc_op_relu, x, 0, 0); }
rc_node *rc_hard_sigmoid(rc_graph *g, rc_node *x, float slope, float offset) {
    return un(g, &rc_op_hard_sigmoid, x, slope, offset);
}
rc_node *rc_exp(rc_graph *g, rc_node *x) { return un(g, &rc_op_exp, x, 0, 0); }
rc_node *rc_log(rc_graph *g, rc_node *x) { return un(g, &rc_op_log, x, 0, 0); }
rc_node *rc_square(rc_graph *g, rc_node *x) { return un(g, &rc_op_square, x, 0, 0); }
rc_node *rc_sigmoid_grad(rc_graph *g, rc_node *y, rc_node *dy) {
    return pair(g, &rc_op_sigmoid_grad, y, dy, 0, 0);
}
rc_node *rc_tanh_grad(rc_graph *g, rc_node *y, rc_node *dy) {
    return pair(g, &rc_op_tanh_grad, y, dy, 0, 0);
}
rc_node *rc_relu_grad(rc_graph *g, rc_node *x, rc_node *dy) {
    return pair(g, &rc_op_relu_grad, x, dy, 0, 0);
}
rc_node *rc_hard_sigmoid_grad(rc_graph *g, rc_node *x, rc_node *dy, float slope, float offset) {
    return pair(g, &rc_op_hard_sigmoid_grad, x, dy, slope, offset);
}
