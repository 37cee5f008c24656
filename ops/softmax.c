/* Softmax and log-softmax over the last axis, computed with the row max
 * subtracted so exp never overflows.
 *
 *   softmax:     y_j = e^{x_j - m} / sum_k e^{x_k - m}
 *                dx = y ⊙ (dy - sum(dy ⊙ y))
 *   log_softmax: y_j = x_j - m - log sum_k e^{x_k - m}
 *                dx = dy - e^y ⊙ sum(dy)
 * (sums over the last axis, kept as a size-1 axis). */
#include <math.h>

#include "recur/op.h"
#include "recur/ops.h"
#include "vecmath.h"

static bool softmax_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    if (n->in[0]->shape.ndim < 1)
        return rc_node_fail(g, n, RC_ERR_SHAPE, "needs at least one axis, got a scalar");
    n->shape = n->in[0]->shape;
    return true;
}

static void rows(const rc_node *n, int64_t *R, int64_t *C) {
    *C = n->shape.dim[n->shape.ndim - 1];
    *R = rc_shape_numel(n->shape) / *C;
}

/* Per row: y = e^{x - m} with the row max m, z = sum y (in double); then
 * y / z for softmax or x - m - log z for log-softmax. */
static rc_status softmax_rows(const rc_node *n, void *out, void *const *in, bool log_out) {
    int64_t R, C;
    rows(n, &R, &C);
    for (int64_t r = 0; r < R; r++) {
        const float *x = (const float *)in[0] + r * C;
        float *y = (float *)out + r * C, m = x[0];
        for (int64_t j = 1; j < C; j++) m = x[j] > m ? x[j] : m;
        for (int64_t j = 0; j < C; j++) y[j] = x[j] - m;
        rc_vexp(y, y, C);
        double z = 0;
        for (int64_t j = 0; j < C; j++) z += y[j];
        if (log_out) {
            float lz = (float)log(z);
            for (int64_t j = 0; j < C; j++) y[j] = x[j] - m - lz;
        } else {
            float inv = (float)(1.0 / z);
            for (int64_t j = 0; j < C; j++) y[j] *= inv;
        }
    }
    return RC_OK;
}

static rc_status softmax_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    return softmax_rows(n, out, in, false);
}
static rc_status log_softmax_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    return softmax_rows(n, out, in, true);
}

#define SOFTMAX_REF(name, LOG)                                                         \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        int64_t R, C;                                                                  \
        rows(n, &R, &C);                                                               \
        for (int64_t r = 0; r < R; r++) {                                              \
            const double *x = (const double *)in[0] + r * C;                           \
            double *y = (double *)out + r * C, m = x[0], z = 0;                        \
            for (int64_t j = 1; j < C; j++) m = fmax(m, x[j]);                         \
            for (int64_t j = 0; j < C; j++) z += exp(x[j] - m);                        \
            for (int64_t j = 0; j < C; j++) y[j] = LOG ? x[j] - m - log(z) : exp(x[j] - m) / z; \
        }                                                                              \
        return RC_OK;                                                                  \
    }
SOFTMAX_REF(softmax_ref, 0)
SOFTMAX_REF(log_softmax_ref, 1)

static void softmax_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *dot = rc_sum(g, rc_mul(g, dy, n), -1, true);
    dx[0] = rc_mul(g, n, rc_sub(g, dy, dot));
}

static void log_softmax_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_sub(g, dy, rc_mul(g, rc_exp(g, n), rc_sum(g, dy, -1, true)));
}

const rc_op rc_op_softmax = {.name = "softmax", .arity = 1, .flags = RC_OPF_PROBABILITIES, .infer = softmax_infer,
                             .forward = softmax_fwd, .reference = softmax_ref, .grad = softmax_grad};
const rc_op rc_op_log_softmax = {.name = "log_softmax", .arity = 1, .infer = softmax_infer,
                                 .forward = log_softmax_fwd, .reference = log_softmax_ref,
                                 .grad = log_softmax_grad};

rc_node *rc_softmax(rc_graph *g, rc_node *x) { return rc_node_make(g, &rc_op_softmax, &x, 1, NULL, NULL); }
rc_node *rc_log_softmax(rc_graph *g, rc_node *x) {
    return rc_node_make(g, &rc_op_log_softmax, &x, 1, NULL, NULL);
}
