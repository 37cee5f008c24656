/* Losses, fused for stability, with gradients built from ops.
 *
 *   mse(p, t) = mean((p - t)^2)             dp = 2 (p - t) / N * dy,  dt = -dp
 *   softmax_xent(x, l)_r = -sum_c l_c log_softmax(x)_c
 *       dx = g - softmax(x) sum_c g_c  with g = -l dy_r;   dl = -log_softmax(x) dy_r
 *   sparse_softmax_xent(x, id)_r = logsumexp(x_r) - x_{r, id}
 *       dx = (softmax(x) - one_hot(id)) dy_r
 *   sigmoid_bce(x, z) = max(x, 0) - x z + log(1 + e^{-|x|})
 *       dx = (sigmoid(x) - z) dy,   dz = -x dy
 * dy_r is the per-row gradient given a trailing size-1 axis. */
#include <math.h>
#include <string.h>

#include "recur/op.h"
#include "ops_list.h"
#include "recur/ops.h"
#include "recur/parallel.h"
#include "vecmath.h"

/* Shape of x without its last axis; x must have one. */
static bool drop_last(rc_graph *g, rc_node *n, rc_shape x) {
    if (x.ndim < 1) return rc_node_fail(g, n, RC_ERR_SHAPE, "logits must have a class axis, got a scalar");
    n->shape = x;
    n->shape.ndim--;
    return true;
}

/* dy of shape S -> S + (1), so it broadcasts against (S..., C). */
static rc_node *per_row(rc_graph *g, rc_node *dy) {
    rc_shape s = dy->shape;
    s.dim[s.ndim++] = 1;
    return rc_reshape(g, dy, s);
}

/* --- mse --------------------------------------------------------------- */

static bool mse_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_float_pair(g, n)) return false;
    n->shape = RC_SCALAR;
    return true;
}

/* The float kernel: differences, squares and sum in double
 * (ops/vecmath.c: vector accumulators instead of one serial chain of double
 * adds, which was ~4 cycles an element: 0.15 ms of an 8 ms LSTM training
 * step at B 32, T 50, H 128). */
static rc_status mse_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    int64_t N = rc_shape_numel(n->in[0]->shape);
    *(float *)out = (float)(rc_vsum_sqdiff(in[0], in[1], N) / (double)N);
    return RC_OK;
}

static rc_status mse_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    const double *p = in[0], *t = in[1];
    int64_t N = rc_shape_numel(n->in[0]->shape);
    double acc = 0;
    for (int64_t i = 0; i < N; i++) acc += (p[i] - t[i]) * (p[i] - t[i]);
    *(double *)out = acc / (double)N;
    return RC_OK;
}

static void mse_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    /* (2/N)(p - t) dy. Scaling the scalar dy instead of the N differences
     * saves a pass over N elements but gave the planner a larger arena for
     * LSTM training steps (h512 b32: 29.5 MB against 26.9 MB this way; the
     * loss is where such a step's memory peaks). */
    double k = 2.0 / (double)rc_shape_numel(n->in[0]->shape);
    rc_node *dp = rc_mul(g, rc_scale(g, rc_sub(g, n->in[0], n->in[1]), k), dy);
    dx[0] = dp;
    dx[1] = rc_neg(g, dp);
}

const rc_op rc_op_mse = {.name = "mse", .arity = 2, .infer = mse_infer, .forward = mse_fwd,
                         .reference = mse_ref, .grad = mse_grad};

rc_node *rc_mean_squared_diff(rc_graph *g, rc_node *pred, rc_node *target) {
    rc_node *in[2] = {pred, target};
    return rc_node_make(g, &rc_op_mse, in, 2, NULL, NULL);
}

/* --- softmax cross-entropy, dense labels ------------------------------- */

static bool xent_infer(rc_graph *g, rc_node *n) {
    return rc_require_float_pair(g, n) && drop_last(g, n, n->in[0]->shape);
}

/* Per row r of C classes: lse = m + log sum_j e^{x_j - m} (m the row max),
 * loss = sum_j l_j (lse - x_j). The float kernel exponentiates a row at a
 * time with the vector exp into scratch and sums in double. */
static size_t row_scratch(const rc_node *n) {
    rc_shape xs = n->in[0]->shape;
    return (size_t)xs.dim[xs.ndim - 1] * sizeof(float);
}

static double lse_f32(const float *x, int64_t C, float *tmp) {
    float m = x[0];
    for (int64_t j = 1; j < C; j++) m = x[j] > m ? x[j] : m;
    for (int64_t j = 0; j < C; j++) tmp[j] = x[j] - m;
    rc_vexp(tmp, tmp, C);
    double z = 0;
    for (int64_t j = 0; j < C; j++) z += tmp[j];
    return (double)m + log(z);
}

static double lse_f64(const double *x, int64_t C) {
    double m = x[0], z = 0;
    for (int64_t j = 1; j < C; j++) m = fmax(m, x[j]);
    for (int64_t j = 0; j < C; j++) z += exp(x[j] - m);
    return m + log(z);
}

static rc_status xent_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    rc_shape xs = n->in[0]->shape;
    int64_t C = xs.dim[xs.ndim - 1], R = rc_shape_numel(xs) / C;
    for (int64_t r = 0; r < R; r++) {
        const float *x = (const float *)in[0] + r * C, *l = (const float *)in[1] + r * C;
        double lse = lse_f32(x, C, s), acc = 0;
        for (int64_t j = 0; j < C; j++) acc += (double)l[j] * (lse - (double)x[j]);
        ((float *)out)[r] = (float)acc;
    }
    return RC_OK;
}

static rc_status xent_ref(const rc_node *n, void *out, void *const *in, void *s) {
    rc_shape xs = n->in[0]->shape;
    int64_t C = xs.dim[xs.ndim - 1], R = rc_shape_numel(xs) / C;
    for (int64_t r = 0; r < R; r++) {
        const double *x = (const double *)in[0] + r * C, *l = (const double *)in[1] + r * C;
        double lse = lse_f64(x, C), acc = 0;
        for (int64_t j = 0; j < C; j++) acc += l[j] * (lse - x[j]);
        ((double *)out)[r] = acc;
    }
    return RC_OK;
}

static void xent_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *x = n->in[0], *l = n->in[1], *d = per_row(g, dy);
    rc_node *gl = rc_neg(g, rc_mul(g, l, d));
    dx[0] = rc_sub(g, gl, rc_mul(g, rc_softmax(g, x), rc_sum(g, gl, -1, true)));
    dx[1] = rc_neg(g, rc_mul(g, rc_log_softmax(g, x), d));
}

const rc_op rc_op_softmax_xent = {.name = "softmax_xent", .arity = 2, .infer = xent_infer,
                                  .forward = xent_fwd, .reference = xent_ref, .grad = xent_grad,
                                  .scratch_bytes = row_scratch};

rc_node *rc_softmax_xent(rc_graph *g, rc_node *logits, rc_node *labels) {
    rc_node *in[2] = {logits, labels};
    return rc_node_make(g, &rc_op_softmax_xent, in, 2, NULL, NULL);
}

/* --- softmax cross-entropy, sparse labels ------------------------------ */

static bool sparse_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_I32)) return false;
    if (!drop_last(g, n, n->in[0]->shape)) return false;
    if (!rc_shape_eq(n->shape, n->in[1]->shape)) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN], c[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "labels of shape %s do not match logits %s (expected %s)",
                            rc_shape_str(n->in[1]->shape, a, sizeof a),
                            rc_shape_str(n->in[0]->shape, b, sizeof b), rc_shape_str(n->shape, c, sizeof c));
    }
    return true;
}

/* loss_r = lse(x_r) - x_{r, id_r}. An id outside [0, C) gives 0 for its
 * row and RC_ERR_ARG for the run. */
static rc_status sparse_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    rc_shape xs = n->in[0]->shape;
    int64_t C = xs.dim[xs.ndim - 1], R = rc_shape_numel(xs) / C;
    const int32_t *ids = in[1];
    rc_status st = RC_OK;
    for (int64_t r = 0; r < R; r++) {
        const float *x = (const float *)in[0] + r * C;
        if (ids[r] < 0 || ids[r] >= C) {
            ((float *)out)[r] = 0;
            st = RC_ERR_ARG;
            continue;
        }
        ((float *)out)[r] = (float)(lse_f32(x, C, s) - (double)x[ids[r]]);
    }
    return st;
}

static rc_status sparse_ref(const rc_node *n, void *out, void *const *in, void *s) {
    rc_shape xs = n->in[0]->shape;
    int64_t C = xs.dim[xs.ndim - 1], R = rc_shape_numel(xs) / C;
    const int32_t *ids = in[1];
    rc_status st = RC_OK;
    for (int64_t r = 0; r < R; r++) {
        const double *x = (const double *)in[0] + r * C;
        if (ids[r] < 0 || ids[r] >= C) {
            ((double *)out)[r] = 0;
            st = RC_ERR_ARG;
            continue;
        }
        ((double *)out)[r] = lse_f64(x, C) - x[ids[r]];
    }
    return st;
}

/* dx = (softmax(x) - one_hot(id)) dy_r as one op (sparse_xent_grad below):
 * one pass over the logits instead of four (R, C) tensors (softmax,
 * one_hot, their difference, the product), which for a char-LM's output
 * layer were ~10 % of a training step. */
static void sparse_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *in[3] = {n->in[0], n->in[1], dy};
    dx[0] = rc_node_make(g, &rc_op_sparse_xent_grad, in, 3, NULL, NULL);
}

const rc_op rc_op_sparse_softmax_xent = {.name = "sparse_softmax_xent", .arity = 2,
                                         .infer = sparse_infer, .forward = sparse_fwd,
                                         .reference = sparse_ref, .grad = sparse_grad,
                                         .scratch_bytes = row_scratch};

rc_node *rc_sparse_softmax_xent(rc_graph *g, rc_node *logits, rc_node *ids) {
    rc_node *in[2] = {logits, ids};
    return rc_node_make(g, &rc_op_sparse_softmax_xent, in, 2, NULL, NULL);
}

/* --- its gradient ------------------------------------------------------- */

/* sparse_xent_grad(x (S..., C), ids S, dy S) -> (S..., C):
 *   dx_r = (softmax(x_r) - one_hot(id_r)) dy_r
 * An id outside [0, C) gives a zero row and RC_ERR_ARG for the run, as the
 * forward does. */
static bool sgrad_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_I32) ||
        !rc_require_dtype(g, n, 2, RC_F32))
        return false;
    if (!drop_last(g, n, n->in[0]->shape)) return false;
    for (int k = 1; k < 3; k++)
        if (!rc_shape_eq(n->shape, n->in[k]->shape)) {
            char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
            return rc_node_fail(g, n, RC_ERR_SHAPE, "%s of shape %s do not match logits %s",
                                k == 1 ? "labels" : "row gradients", rc_shape_str(n->in[k]->shape, a, sizeof a),
                                rc_shape_str(n->in[0]->shape, b, sizeof b));
        }
    n->shape = n->in[0]->shape;
    return true;
}

typedef struct sgrad_job {
    int64_t C;
    const float *x, *dy;
    const int32_t *ids;
    float *out;
    _Atomic int bad;
} sgrad_job;

/* rows [lo, hi): y = e^{x - max}, z = sum y (double), y *= dy_r / z,
 * y[id] -= dy_r. Each row's arithmetic is independent of the split. */
static void sgrad_rows(void *ctx, int64_t lo, int64_t hi) {
    sgrad_job *j = ctx;
    const int64_t C = j->C;
    for (int64_t r = lo; r < hi; r++) {
        const float *x = j->x + r * C;
        float *y = j->out + r * C, m = x[0], d = j->dy[r];
        int32_t id = j->ids[r];
        if (id < 0 || id >= C) {
            memset(y, 0, (size_t)C * sizeof *y);
            j->bad = 1;
            continue;
        }
        for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
        for (int64_t c = 0; c < C; c++) y[c] = x[c] - m;
        rc_vexp(y, y, C);
        double z = 0;
        for (int64_t c = 0; c < C; c++) z += y[c];
        float k = (float)(d / z);
        for (int64_t c = 0; c < C; c++) y[c] *= k;
        y[id] -= d;
    }
}

static rc_status sgrad_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    rc_shape xs = n->in[0]->shape;
    int64_t C = xs.dim[xs.ndim - 1], R = rc_shape_numel(xs) / C;
    sgrad_job j = {.C = C, .x = in[0], .ids = in[1], .dy = in[2], .out = out};
    rc_parallel_rows(R, (double)C, 16384.0, sgrad_rows, &j);
    return j.bad ? RC_ERR_ARG : RC_OK;
}

static rc_status sgrad_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    rc_shape xs = n->in[0]->shape;
    int64_t C = xs.dim[xs.ndim - 1], R = rc_shape_numel(xs) / C;
    const int32_t *ids = in[1];
    const double *dy = in[2];
    rc_status st = RC_OK;
    for (int64_t r = 0; r < R; r++) {
        const double *x = (const double *)in[0] + r * C;
        double *y = (double *)out + r * C, m = x[0], z = 0;
        if (ids[r] < 0 || ids[r] >= C) {
            memset(y, 0, (size_t)C * sizeof *y);
            st = RC_ERR_ARG;
            continue;
        }
        for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
        for (int64_t c = 0; c < C; c++) z += exp(x[c] - m);
        for (int64_t c = 0; c < C; c++) y[c] = exp(x[c] - m) / z * dy[r];
        y[ids[r]] -= dy[r];
    }
    return st;
}

/* Second derivatives, from ops: with s = softmax(x) and seed G (R, C),
 *   dx = s (G d - sum_c s G d)     (softmax's Jacobian applied to G d_r)
 *   dd_r = sum_c G_c (s_c - one_hot_c)                 ids: none (int32) */
static void sgrad_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *x = n->in[0], *d = per_row(g, n->in[2]);
    int64_t C = x->shape.dim[x->shape.ndim - 1];
    rc_node *sm = rc_softmax(g, x), *gd = rc_mul(g, dy, d);
    dx[0] = rc_mul(g, sm, rc_sub(g, gd, rc_sum(g, rc_mul(g, sm, gd), -1, true)));
    dx[2] = rc_sum(g, rc_mul(g, dy, rc_sub(g, sm, rc_one_hot(g, n->in[1], C))), -1, false);
}

const rc_op rc_op_sparse_xent_grad = {.name = "sparse_xent_grad", .arity = 3, .infer = sgrad_infer,
                                      .forward = sgrad_fwd, .reference = sgrad_ref, .grad = sgrad_grad};

/* --- one_hot ----------------------------------------------------------- */

static bool one_hot_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_I32)) return false;
    rc_shape s = n->in[0]->shape;
    if (s.ndim >= RC_MAX_DIMS)
        return rc_node_fail(g, n, RC_ERR_SHAPE, "ids of rank %d leave no room for the class axis", s.ndim);
    if (n->attr.i[0] < 1)
        return rc_node_fail(g, n, RC_ERR_ARG, "depth %lld must be >= 1", (long long)n->attr.i[0]);
    s.dim[s.ndim++] = n->attr.i[0];
    n->shape = s;
    return true;
}

#define ONE_HOT_KERNEL(name, T)                                                        \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        int64_t C = n->attr.i[0], R = rc_shape_numel(n->in[0]->shape);                 \
        const int32_t *ids = in[0];                                                    \
        T *y = out;                                                                    \
        rc_status st = RC_OK;                                                          \
        memset(y, 0, (size_t)(R * C) * sizeof(T));                                     \
        for (int64_t r = 0; r < R; r++) {                                              \
            if (ids[r] < 0 || ids[r] >= C) st = RC_ERR_ARG;                            \
            else y[r * C + ids[r]] = 1;                                                \
        }                                                                              \
        return st;                                                                     \
    }
ONE_HOT_KERNEL(one_hot_fwd, float)
ONE_HOT_KERNEL(one_hot_ref, double)

const rc_op rc_op_one_hot = {.name = "one_hot", .arity = 1, .infer = one_hot_infer,
                             .forward = one_hot_fwd, .reference = one_hot_ref}; /* int32 input: no gradient */

rc_node *rc_one_hot(rc_graph *g, rc_node *ids, int64_t depth) {
    rc_attr a = {.i = {depth}};
    return rc_node_make(g, &rc_op_one_hot, &ids, 1, &a, NULL);
}

/* --- sigmoid binary cross-entropy ---------------------------------------- */

static bool bce_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_float_pair(g, n)) return false;
    n->shape = n->in[0]->shape;
    return true;
}

#define BCE_KERNEL(name, T, LOG1P, EXP, FABS)                                          \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        const T *x = in[0], *z = in[1];                                                \
        T *y = out;                                                                    \
        for (int64_t i = 0, N = rc_shape_numel(n->shape); i < N; i++)                  \
            y[i] = (x[i] > 0 ? x[i] : 0) - x[i] * z[i] + LOG1P(EXP(-FABS(x[i])));      \
        return RC_OK;                                                                  \
    }
BCE_KERNEL(bce_fwd, float, log1pf, expf, fabsf)
BCE_KERNEL(bce_ref, double, log1p, exp, fabs)

static void bce_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *x = n->in[0], *z = n->in[1];
    dx[0] = rc_mul(g, rc_sub(g, rc_sigmoid(g, x), z), dy);
    dx[1] = rc_neg(g, rc_mul(g, x, dy));
}

const rc_op rc_op_sigmoid_bce = {.name = "sigmoid_bce", .arity = 2, .flags = RC_OPF_ELEMENTWISE,
                                 .infer = bce_infer, .forward = bce_fwd, .reference = bce_ref,
                                 .grad = bce_grad};

rc_node *rc_sigmoid_bce(rc_graph *g, rc_node *logits, rc_node *targets) {
    rc_node *in[2] = {logits, targets};
    return rc_node_make(g, &rc_op_sigmoid_bce, in, 2, NULL, NULL);
}
