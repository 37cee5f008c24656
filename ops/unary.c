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
 * Keras activations (keras.activations, Keras 3 formulas; Keras'
 * `exponential` is exp above):
 *   elu          y = x > 0 ? x : a (e^x - 1)          dx = elu_grad(x, dy; a, 1)
 *   selu         y = s (x > 0 ? x : a (e^x - 1))      dx = elu_grad(x, dy; a, s)
 *                (a = 1.67326..., s = 1.05070..., the SELU constants)
 *   softplus     y = ln(1 + e^x)                      dx = dy sigmoid(x)
 *   softsign     y = x / (1 + |x|)                    dx = softsign_grad(x, dy)
 *   silu         y = x sigmoid(x)                     dx = silu_grad(x, dy)
 *   gelu         y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))     dx = gelu_grad(x, dy)
 *                or, approximate: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *
 * Fused gradients (inputs y or x, then dy), with their own gradients so
 * second order works:
 *   sigmoid_grad(y, g) = g y (1 - y)   d/dy = g (1 - 2y) * up   d/dg = sigmoid_grad(y, up)
 *   tanh_grad(y, g)    = g (1 - y^2)   d/dy = -2 y g * up       d/dg = tanh_grad(y, up)
 *   relu_grad(x, g)    = [x > 0] g     d/dx = 0                 d/dg = relu_grad(x, up)
 *   hard_sigmoid_grad(x, g) = a [0 < a x + b < 1] g  (same pattern as relu_grad)
 *   elu_grad(x, g; a, s) = g (x > 0 ? s : s a e^x) = g f'(x)
 *        d/dx = up g f''(x) = up (n - relu_grad(x, n)), since f'' = f' for x <= 0
 *        and 0 for x > 0 (n = this node)            d/dg = elu_grad(x, up)
 *   softsign_grad(x, g)  = g / (1 + |x|)^2
 *        d/dx = softsign_grad2(x, up g)             d/dg = softsign_grad(x, up)
 *   softsign_grad2(x, h) = -2 sign(x) h / (1 + |x|)^3  (= h f''(x))
 *        d/dx = 6 up h / (1 + |x|)^4 = 6 softsign_grad(x, softsign_grad(x, up h))
 *                                                   d/dh = softsign_grad2(x, up)
 *   silu_grad(x, g)      = g f'(x), f' = s (1 + x (1 - s)), s = sigmoid(x)
 *        d/dx = up g f''(x), f'' = s (1 - s) (2 + x (1 - 2s))
 *             = sigmoid_grad(s, 2 + x (1 - 2s))     d/dg = silu_grad(x, up)
 *   gelu_grad(x, g)      = g f'(x), f' = Phi(x) + x phi(x) (exact) or the
 *        tanh form's derivative (vecmath.h)
 *        d/dx = up g f''(x), f'' composed of existing ops (gelu_d2 below)
 *                                                   d/dg = gelu_grad(x, up)
 * so every order of derivative is made of ops that have gradients again.
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
VECTOR1(softplus, rc_vsoftplus, fmax(x, 0.0) + log1p(exp(-fabs(x))))
VECTOR1(silu, rc_vsilu, x / (1.0 + exp(-x)))

ELEMENTWISE1(softsign, x / (1.0f + fabsf(x)), x / (1.0 + fabs(x)))
ELEMENTWISE2(softsign_grad, g / ((1.0f + fabsf(x)) * (1.0f + fabsf(x))),
             g / ((1.0 + fabs(x)) * (1.0 + fabs(x))))
ELEMENTWISE2(softsign_grad2,
             -2.0f * g * copysignf(1.0f, x) / ((1.0f + fabsf(x)) * (1.0f + fabsf(x)) * (1.0f + fabsf(x))),
             -2.0 * g * copysign(1.0, x) / ((1.0 + fabs(x)) * (1.0 + fabs(x)) * (1.0 + fabs(x))))

/* Keras' SELU constants (keras/src/activations/activations.py). */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define GELU_C 0.79788456080286535588 /* sqrt(2 / pi) */
#define GELU_K 0.044715

/* Kernels that combine a SLEEF result with another input or an attribute
 * take CHUNK elements at a time: SLEEF writes a stack buffer, then a plain
 * loop that GCC vectorises combines it. Each element is read before it is
 * written, so the output may alias an input (RC_OPF_ELEMENTWISE). */
enum { CHUNK = 256 };
static int64_t chunk_len(int64_t n, int64_t i) { return n - i < CHUNK ? n - i : CHUNK; }

/* s (x > 0 ? x : a (e^x - 1)); the expm1 of a large positive x is inf, but
 * only in the branch not taken. */
RC_VECTOR_CLONES static void elu_combine(float *y, const float *x, const float *em1, int64_t m, float a,
                                         float s) {
    const float sa = s * a;
    for (int64_t i = 0; i < m; i++) y[i] = x[i] > 0 ? s * x[i] : sa * em1[i];
}
static void elu_f32(float *y, const float *x, int64_t n, float a, float s) {
    float t[CHUNK];
    for (int64_t i = 0, m; i < n; i += m) {
        m = chunk_len(n, i);
        rc_vexpm1(t, x + i, m);
        elu_combine(y + i, x + i, t, m, a, s);
    }
}
static double elu_f64(double x, double a, double s) { return s * (x > 0 ? x : a * expm1(x)); }

static rc_status elu_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    elu_f32(out, in[0], N_OF(n), (float)n->attr.f[0], 1.0f);
    return RC_OK;
}
static rc_status elu_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    double *y = out;
    const double *xs = in[0];
    for (int64_t i = 0, N = N_OF(n); i < N; i++) y[i] = elu_f64(xs[i], n->attr.f[0], 1.0);
    return RC_OK;
}
static rc_status selu_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    elu_f32(out, in[0], N_OF(n), (float)SELU_ALPHA, (float)SELU_SCALE);
    return RC_OK;
}
static rc_status selu_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    double *y = out;
    const double *xs = in[0];
    for (int64_t i = 0, N = N_OF(n); i < N; i++) y[i] = elu_f64(xs[i], SELU_ALPHA, SELU_SCALE);
    return RC_OK;
}

/* elu_grad(x, g; a = f[0], s = f[1]) = g (x > 0 ? s : s a e^x) */
RC_VECTOR_CLONES static void elu_grad_combine(float *o, const float *x, const float *g, const float *ex,
                                              int64_t m, float a, float s) {
    const float sa = s * a;
    for (int64_t i = 0; i < m; i++) o[i] = x[i] > 0 ? s * g[i] : sa * ex[i] * g[i];
}
static rc_status elu_grad_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    float t[CHUNK], *o = out;
    const float *x = in[0], *g = in[1];
    const float a = (float)n->attr.f[0], sc = (float)n->attr.f[1];
    for (int64_t i = 0, m, N = N_OF(n); i < N; i += m) {
        m = chunk_len(N, i);
        rc_vexp(t, x + i, m);
        elu_grad_combine(o + i, x + i, g + i, t, m, a, sc);
    }
    return RC_OK;
}
static rc_status elu_grad_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    double *o = out;
    const double *x = in[0], *g = in[1];
    const double a = n->attr.f[0], sc = n->attr.f[1];
    for (int64_t i = 0, N = N_OF(n); i < N; i++) o[i] = g[i] * (x[i] > 0 ? sc : sc * a * exp(x[i]));
    return RC_OK;
}

/* gelu: attr i[0] = approximate (the tanh form). */
static double gelu_f64(double x, bool approx) {
    if (approx) return 0.5 * x * (1.0 + tanh(GELU_C * (x + GELU_K * x * x * x)));
    return 0.5 * x * erfc(-x * M_SQRT1_2);
}
/* f'(x): Phi + x phi; tanh form: 0.5 (1 + T) + 0.5 x (1 - T^2) u'. */
static double gelu_d_f64(double x, bool approx) {
    if (approx) {
        double t = tanh(GELU_C * (x + GELU_K * x * x * x));
        double du = GELU_C * (1.0 + 3.0 * GELU_K * x * x);
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
    }
    return 0.5 * erfc(-x * M_SQRT1_2) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}
static rc_status gelu_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    (n->attr.i[0] ? rc_vgelu_tanh : rc_vgelu)(out, in[0], N_OF(n));
    return RC_OK;
}
static rc_status gelu_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    double *y = out;
    const double *xs = in[0];
    for (int64_t i = 0, N = N_OF(n); i < N; i++) y[i] = gelu_f64(xs[i], n->attr.i[0] != 0);
    return RC_OK;
}
/* o = g f'(x) for a vecmath derivative f'. */
RC_VECTOR_CLONES static void mul_into(float *o, const float *g, const float *d, int64_t m) {
    for (int64_t i = 0; i < m; i++) o[i] = g[i] * d[i];
}
static void times_derivative(float *o, const float *x, const float *g, int64_t n,
                             void (*d)(float *, const float *, int64_t)) {
    float t[CHUNK];
    for (int64_t i = 0, m; i < n; i += m) {
        m = chunk_len(n, i);
        d(t, x + i, m);
        mul_into(o + i, g + i, t, m);
    }
}
static rc_status gelu_grad_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    times_derivative(out, in[0], in[1], N_OF(n), n->attr.i[0] ? rc_vgelu_tanh_d : rc_vgelu_d);
    return RC_OK;
}
static rc_status silu_grad_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    times_derivative(out, in[0], in[1], N_OF(n), rc_vsilu_d);
    return RC_OK;
}
static rc_status silu_grad_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    double *o = out;
    const double *x = in[0], *g = in[1];
    for (int64_t i = 0, N = N_OF(n); i < N; i++) {
        double sg = 1.0 / (1.0 + exp(-x[i]));
        o[i] = g[i] * (sg + x[i] * sg * (1.0 - sg));
    }
    return RC_OK;
}
static rc_status gelu_grad_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    double *o = out;
    const double *x = in[0], *g = in[1];
    for (int64_t i = 0, N = N_OF(n); i < N; i++) o[i] = g[i] * gelu_d_f64(x[i], n->attr.i[0] != 0);
    return RC_OK;
}

/* --- gradient builders -------------------------------------------------- */

/* Builders of the internal fused gradient ops (defined at the end). */
static rc_node *elu_grad(rc_graph *g, rc_node *x, rc_node *dy, double alpha, double scale);
static rc_node *softsign_grad(rc_graph *g, rc_node *x, rc_node *dy);
static rc_node *softsign_grad2(rc_graph *g, rc_node *x, rc_node *h);
static rc_node *silu_grad(rc_graph *g, rc_node *x, rc_node *dy);
static rc_node *gelu_grad(rc_graph *g, rc_node *x, rc_node *dy, bool approx);

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

static void elu_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = elu_grad(g, n->in[0], dy, n->attr.f[0], 1.0);
}
static void selu_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = elu_grad(g, n->in[0], dy, SELU_ALPHA, SELU_SCALE);
}
static void softplus_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_mul(g, dy, rc_sigmoid(g, n->in[0]));
}
static void softsign_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = softsign_grad(g, n->in[0], dy);
}
static void silu_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = silu_grad(g, n->in[0], dy);
}
static void gelu_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = gelu_grad(g, n->in[0], dy, n->attr.i[0] != 0);
}
static void elu_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *x = n->in[0];
    dx[0] = rc_mul(g, up, rc_sub(g, n, rc_relu_grad(g, x, n)));
    dx[1] = elu_grad(g, x, up, n->attr.f[0], n->attr.f[1]);
}
static void softsign_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *x = n->in[0];
    dx[0] = softsign_grad2(g, x, rc_mul(g, up, n->in[1]));
    dx[1] = softsign_grad(g, x, up);
}
static void softsign_grad2_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *x = n->in[0];
    dx[0] = rc_scale(g, softsign_grad(g, x, softsign_grad(g, x, rc_mul(g, up, n->in[1]))), 6.0);
    dx[1] = softsign_grad2(g, x, up);
}
static void silu_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *x = n->in[0], *s = rc_sigmoid(g, x);
    rc_node *w = rc_add_scalar(g, rc_mul(g, x, rc_add_scalar(g, rc_scale(g, s, -2.0), 1.0)), 2.0);
    dx[0] = rc_mul(g, rc_mul(g, up, n->in[1]), rc_sigmoid_grad(g, s, w));
    dx[1] = silu_grad(g, x, up);
}
/* GELU's f''(x) as ops:
 *   exact: (2 - x^2) phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi);
 *   tanh form, f = 0.5 x (1 + T), T = tanh u, u = c (x + k x^3):
 *     f'' = T' + 0.5 x T'' with T' = (1 - T^2) u', T'' = (1 - T^2)(u'' - 2 T u'^2),
 *     = (1 - T^2) (u' + 0.5 x (u'' - 2 T u'^2)) = tanh_grad(T, ...),
 *     u' = c (1 + 3 k x^2), u'' = 6 c k x. */
static rc_node *gelu_d2(rc_graph *g, rc_node *x, bool approx) {
    rc_node *x2 = rc_square(g, x);
    if (!approx) {
        rc_node *phi = rc_scale(g, rc_exp(g, rc_scale(g, x2, -0.5)), 1.0 / sqrt(2.0 * M_PI));
        return rc_mul(g, rc_add_scalar(g, rc_neg(g, x2), 2.0), phi);
    }
    rc_node *u = rc_mul(g, x, rc_add_scalar(g, rc_scale(g, x2, GELU_C * GELU_K), GELU_C));
    rc_node *t = rc_tanh(g, u);
    rc_node *du = rc_add_scalar(g, rc_scale(g, x2, 3.0 * GELU_C * GELU_K), GELU_C);
    rc_node *ddu = rc_scale(g, x, 6.0 * GELU_C * GELU_K);
    rc_node *inner = rc_sub(g, ddu, rc_scale(g, rc_mul(g, t, rc_square(g, du)), 2.0));
    return rc_tanh_grad(g, t, rc_add(g, du, rc_scale(g, rc_mul(g, x, inner), 0.5)));
}
static void gelu_grad_gradb(rc_graph *g, rc_node *n, rc_node *up, rc_node **dx) {
    rc_node *x = n->in[0];
    bool approx = n->attr.i[0] != 0;
    dx[0] = rc_mul(g, rc_mul(g, up, n->in[1]), gelu_d2(g, x, approx));
    dx[1] = gelu_grad(g, x, up, approx);
}

static void scale_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s %g", n->op->name, n->attr.f[0]);
}
static void hard_sigmoid_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s %gx%+g", n->op->name, n->attr.f[0], n->attr.f[1]);
}
static void elu_grad_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s %g, %g", n->op->name, n->attr.f[0], n->attr.f[1]);
}
static void gelu_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", n->op->name, n->attr.i[0] ? " tanh" : "");
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
UNARY_OP(elu, scale_label)
UNARY_OP(selu, NULL)
UNARY_OP(softplus, NULL)
UNARY_OP(softsign, NULL)
UNARY_OP(silu, NULL)
UNARY_OP(gelu, gelu_label)
PAIR_OP(elu_grad, elu_grad_label)
PAIR_OP(softsign_grad, NULL)
PAIR_OP(softsign_grad2, NULL)
PAIR_OP(silu_grad, NULL)
PAIR_OP(gelu_grad, gelu_label)

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

rc_node *rc_elu(rc_graph *g, rc_node *x, float alpha) { return un(g, &rc_op_elu, x, alpha, 0); }
rc_node *rc_selu(rc_graph *g, rc_node *x) { return un(g, &rc_op_selu, x, 0, 0); }
rc_node *rc_softplus(rc_graph *g, rc_node *x) { return un(g, &rc_op_softplus, x, 0, 0); }
rc_node *rc_softsign(rc_graph *g, rc_node *x) { return un(g, &rc_op_softsign, x, 0, 0); }
rc_node *rc_silu(rc_graph *g, rc_node *x) { return un(g, &rc_op_silu, x, 0, 0); }
rc_node *rc_gelu(rc_graph *g, rc_node *x, bool approximate) {
    rc_attr at = {.i = {approximate}};
    return rc_node_make(g, &rc_op_gelu, &x, 1, &at, NULL);
}
static rc_node *elu_grad(rc_graph *g, rc_node *x, rc_node *dy, double alpha, double scale) {
    return pair(g, &rc_op_elu_grad, x, dy, alpha, scale);
}
static rc_node *softsign_grad(rc_graph *g, rc_node *x, rc_node *dy) {
    return pair(g, &rc_op_softsign_grad, x, dy, 0, 0);
}
static rc_node *softsign_grad2(rc_graph *g, rc_node *x, rc_node *h) {
    return pair(g, &rc_op_softsign_grad2, x, h, 0, 0);
}
static rc_node *silu_grad(rc_graph *g, rc_node *x, rc_node *dy) {
    return pair(g, &rc_op_silu_grad, x, dy, 0, 0);
}
static rc_node *gelu_grad(rc_graph *g, rc_node *x, rc_node *dy, bool approx) {
    rc_attr at = {.i = {approx}};
    rc_node *in[2] = {x, dy};
    return rc_node_make(g, &rc_op_gelu_grad, in, 2, &at, NULL);
}
