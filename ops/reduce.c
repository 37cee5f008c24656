/* Reductions over one axis or all axes.
 *
 *   sum(x, axis)   y[o, i] = sum_k x[o, k, i]       dx = broadcast_to(reshape(dy, keepdims), shape x)
 *   mean(x, axis)  y = sum(x, axis) / n             dx = that / n
 * attr.i[0] = axis (RC_ALL_AXES for all), attr.i[1] = keepdims.
 * The float kernel accumulates in double so large reductions stay accurate
 * to the float rounding of the result. */
#include "recur/op.h"
#include "recur/ops.h"

/* outer × len × inner view of the input for axis a (all axes: 1 × N × 1). */
static void split(const rc_node *n, int64_t *outer, int64_t *len, int64_t *inner) {
    rc_shape s = n->in[0]->shape;
    int64_t a = n->attr.i[0];
    if (a == RC_ALL_AXES) {
        *outer = *inner = 1;
        *len = rc_shape_numel(s);
        return;
    }
    *outer = *inner = 1;
    for (int k = 0; k < a; k++) *outer *= s.dim[k];
    *len = s.dim[a];
    for (int k = (int)a + 1; k < s.ndim; k++) *inner *= s.dim[k];
}

static bool reduce_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    rc_shape s = n->in[0]->shape;
    bool keep = n->attr.i[1] != 0;
    if (n->attr.i[0] == RC_ALL_AXES) {
        n->shape.ndim = keep ? s.ndim : 0;
        for (int k = 0; k < n->shape.ndim; k++) n->shape.dim[k] = 1;
        return true;
    }
    int64_t a = n->attr.i[0];
    if (!rc_axis_norm(&a, s.ndim)) {
        char b[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_ARG, "axis %lld is out of range for shape %s",
                            (long long)n->attr.i[0], rc_shape_str(s, b, sizeof b));
    }
    n->attr.i[0] = a;
    n->shape.ndim = 0;
    for (int k = 0; k < s.ndim; k++) {
        if (k == a && !keep) continue;
        n->shape.dim[n->shape.ndim++] = k == a ? 1 : s.dim[k];
    }
    return true;
}

/* Fast kernel, in double accumulators: over the last axes (inner == 1) each
 * output is a contiguous sum split over 8 independent partial sums (no
 * serial add chain; vector lanes where the compiler uses them); otherwise
 * whole rows of `inner` elements are added into a scratch row of doubles so
 * memory is read in order. */
static size_t reduce_scratch(const rc_node *n) {
    int64_t outer, len, inner;
    split(n, &outer, &len, &inner);
    return inner > 1 ? (size_t)inner * sizeof(double) : 0;
}

static double sum_contig(const float *x, int64_t len) {
    double p[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= len; k += 8)
        for (int j = 0; j < 8; j++) p[j] += x[k + j];
    for (; k < len; k++) p[0] += x[k];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

static rc_status reduce_fwd(const rc_node *n, float *y, const float *x, double scale, double *acc) {
    int64_t outer, len, inner;
    split(n, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++) {
        const float *xo = x + o * len * inner;
        if (inner == 1) {
            y[o] = (float)(sum_contig(xo, len) * scale);
            continue;
        }
        for (int64_t i = 0; i < inner; i++) acc[i] = 0;
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < inner; i++) acc[i] += xo[k * inner + i];
        for (int64_t i = 0; i < inner; i++) y[o * inner + i] = (float)(acc[i] * scale);
    }
    return RC_OK;
}

static rc_status sum_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    return reduce_fwd(n, out, in[0], 1.0, s);
}
static rc_status mean_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    int64_t outer, len, inner;
    split(n, &outer, &len, &inner);
    return reduce_fwd(n, out, in[0], 1.0 / (double)len, s);
}

/* Reference: y[o, i] = (1 or 1/len) sum_k x[o, k, i]. */
#define REDUCE_REF(name, MEAN)                                                         \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        double *y = out;                                                               \
        const double *x = in[0];                                                       \
        int64_t outer, len, inner;                                                     \
        split(n, &outer, &len, &inner);                                                \
        for (int64_t o = 0; o < outer; o++)                                            \
            for (int64_t i = 0; i < inner; i++) {                                      \
                double acc = 0;                                                        \
                for (int64_t k = 0; k < len; k++) acc += x[(o * len + k) * inner + i]; \
                y[o * inner + i] = MEAN ? acc / (double)len : acc;                     \
            }                                                                          \
        return RC_OK;                                                                  \
    }
REDUCE_REF(sum_ref, 0)
REDUCE_REF(mean_ref, 1)

static rc_node *spread(rc_graph *g, rc_node *n, rc_node *dy) {
    rc_shape s = n->in[0]->shape, keep = s;
    if (n->attr.i[0] == RC_ALL_AXES)
        for (int k = 0; k < keep.ndim; k++) keep.dim[k] = 1;
    else
        keep.dim[n->attr.i[0]] = 1;
    rc_node *d = rc_shape_eq(dy->shape, keep) ? dy : rc_reshape(g, dy, keep);
    return rc_broadcast_to(g, d, s);
}

static void sum_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) { dx[0] = spread(g, n, dy); }
static void mean_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    int64_t outer, len, inner;
    split(n, &outer, &len, &inner);
    dx[0] = spread(g, n, rc_scale(g, dy, 1.0 / (double)len));
}

static void reduce_label(const rc_node *n, char *buf, size_t len) {
    if (n->attr.i[0] == RC_ALL_AXES) snprintf(buf, len, "%s", n->op->name);
    else snprintf(buf, len, "%s axis %lld", n->op->name, (long long)n->attr.i[0]);
}

const rc_op rc_op_sum = {.name = "sum", .arity = 1, .infer = reduce_infer, .forward = sum_fwd,
                         .reference = sum_ref, .grad = sum_grad, .scratch_bytes = reduce_scratch,
                         .label = reduce_label};
const rc_op rc_op_mean = {.name = "mean", .arity = 1, .infer = reduce_infer, .forward = mean_fwd,
                          .reference = mean_ref, .grad = mean_grad, .scratch_bytes = reduce_scratch,
                          .label = reduce_label};

static rc_node *reduce(rc_graph *g, const rc_op *op, rc_node *x, int axis, bool keepdims) {
    rc_attr a = {.i = {axis, keepdims}};
    return rc_node_make(g, op, &x, 1, &a, NULL);
}
rc_node *rc_sum(rc_graph *g, rc_node *x, int axis, bool keepdims) {
    return reduce(g, &rc_op_sum, x, axis, keepdims);
}
rc_node *rc_mean(rc_graph *g, rc_node *x, int axis, bool keepdims) {
    return reduce(g, &rc_op_mean, x, axis, keepdims);
}
