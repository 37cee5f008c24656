/* Ops that move data without arithmetic.
 *
 * Along an axis a tensor is viewed as (outer, len, inner):
 *   slice(x, a, b, e)       y[o, k, i] = x[o, b + k, i]        dx = pad_axis(dy, a, b, len_x)
 *   pad_axis(x, a, b, n)    y = 0; y[o, b + k, i] = x[o, k, i]  dx = slice(dy, a, b, b + len_x)
 *   concat(xs, a)           blocks side by side along a         dx_j = slice of dy
 *   reverse(x, a)           y[o, k, i] = x[o, len - 1 - k, i]   dx = reverse(dy, a)
 *   reshape(x, S)           same data                           dx = reshape(dy, shape x)
 *   transpose(x, p)         y axis k = x axis p[k]              dx = transpose(dy, p^-1)
 *   time_rows(s, x, t0, t1) s as rows, declared to be x's steps   dx = reshape(dy, shape s)
 * reshape is always a view; slice is a view when outer == 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "recur/ops.h"

static void split(rc_shape s, int64_t axis, int64_t *outer, int64_t *len, int64_t *inner) {
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= s.dim[k];
    *len = s.dim[axis];
    for (int k = (int)axis + 1; k < s.ndim; k++) *inner *= s.dim[k];
}

static bool norm_axis(rc_graph *g, rc_node *n, int64_t *axis, rc_shape s) {
    int64_t a = *axis;
    if (rc_axis_norm(axis, s.ndim)) return true;
    char b[RC_SHAPE_STRLEN];
    return rc_node_fail(g, n, RC_ERR_ARG, "axis %lld is out of range for shape %s", (long long)a,
                        rc_shape_str(s, b, sizeof b));
}

/* Copy (outer × len_src × inner) into a (outer × len_dst × inner) tensor at
 * position `at` along the middle axis, or the other way (gather = true takes
 * rows at..at+len_dst from src). Element size es. */
static void block_copy(char *dst, const char *src, int64_t outer, int64_t len_dst, int64_t len_src,
                       int64_t inner, int64_t at, bool take, size_t es) {
    int64_t n = (take ? len_dst : len_src) * inner;
    for (int64_t o = 0; o < outer; o++) {
        if (take) memcpy(dst + (size_t)(o * len_dst * inner) * es, src + (size_t)((o * len_src + at) * inner) * es, (size_t)n * es);
        else memcpy(dst + (size_t)((o * len_dst + at) * inner) * es, src + (size_t)(o * len_src * inner) * es, (size_t)n * es);
    }
}

static size_t esize(const rc_node *n, bool ref) {
    return n->dtype == RC_I32 ? sizeof(int32_t) : ref ? sizeof(double) : sizeof(float);
}

/* --- slice --------------------------------------------------------------- */

static bool slice_infer(rc_graph *g, rc_node *n) {
    rc_shape s = n->in[0]->shape;
    if (!norm_axis(g, n, &n->attr.i[0], s)) return false;
    int64_t a = n->attr.i[0], b = n->attr.i[1], e = n->attr.i[2];
    if (b < 0 || e > s.dim[a] || b >= e) {
        char sb[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_ARG, "slice [%lld, %lld) out of range for axis %lld of size %lld in %s",
                            (long long)b, (long long)e, (long long)a, (long long)s.dim[a],
                            rc_shape_str(s, sb, sizeof sb));
    }
    n->dtype = n->in[0]->dtype;
    n->shape = s;
    n->shape.dim[a] = e - b;
    return true;
}

static rc_status slice_run(const rc_node *n, void *out, void *const *in, bool ref) {
    int64_t outer, len, inner;
    split(n->in[0]->shape, n->attr.i[0], &outer, &len, &inner);
    block_copy(out, in[0], outer, n->attr.i[2] - n->attr.i[1], len, inner, n->attr.i[1], true, esize(n, ref));
    return RC_OK;
}
static rc_status slice_fwd(const rc_node *n, void *out, void *const *in, void *s) { return slice_run(n, out, in, false); }
static rc_status slice_ref(const rc_node *n, void *out, void *const *in, void *s) { return slice_run(n, out, in, true); }

static bool slice_view(const rc_node *n, int64_t *off) {
    int64_t outer, len, inner;
    split(n->in[0]->shape, n->attr.i[0], &outer, &len, &inner);
    if (outer != 1) return false;
    *off = n->attr.i[1] * inner;
    return true;
}

static void slice_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    int a = (int)n->attr.i[0];
    dx[0] = rc_pad_axis(g, dy, a, n->attr.i[1], n->in[0]->shape.dim[a]);
}

static void slice_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "slice axis %lld [%lld:%lld]", (long long)n->attr.i[0], (long long)n->attr.i[1],
             (long long)n->attr.i[2]);
}

const rc_op rc_op_slice = {.name = "slice", .arity = 1, .infer = slice_infer, .forward = slice_fwd,
                           .reference = slice_ref, .grad = slice_grad, .view = slice_view,
                           .label = slice_label};

rc_node *rc_slice(rc_graph *g, rc_node *x, int axis, int64_t begin, int64_t end) {
    rc_attr a = {.i = {axis, begin, end}};
    return rc_node_make(g, &rc_op_slice, &x, 1, &a, NULL);
}

/* --- pad_axis ------------------------------------------------------------ */

static bool pad_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    rc_shape s = n->in[0]->shape;
    if (!norm_axis(g, n, &n->attr.i[0], s)) return false;
    int64_t a = n->attr.i[0], b = n->attr.i[1], size = n->attr.i[2];
    if (b < 0 || b + s.dim[a] > size) {
        char sb[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_ARG, "%s placed at %lld along axis %lld does not fit in size %lld",
                            rc_shape_str(s, sb, sizeof sb), (long long)b, (long long)a, (long long)size);
    }
    n->shape = s;
    n->shape.dim[a] = size;
    return true;
}

static rc_status pad_run(const rc_node *n, void *out, void *const *in, bool ref) {
    int64_t outer, len, inner;
    split(n->in[0]->shape, n->attr.i[0], &outer, &len, &inner);
    size_t es = esize(n, ref);
    memset(out, 0, (size_t)rc_shape_numel(n->shape) * es);
    block_copy(out, in[0], outer, n->attr.i[2], len, inner, n->attr.i[1], false, es);
    return RC_OK;
}
static rc_status pad_fwd(const rc_node *n, void *out, void *const *in, void *s) { return pad_run(n, out, in, false); }
static rc_status pad_ref(const rc_node *n, void *out, void *const *in, void *s) { return pad_run(n, out, in, true); }

static void pad_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    int a = (int)n->attr.i[0];
    dx[0] = rc_slice(g, dy, a, n->attr.i[1], n->attr.i[1] + n->in[0]->shape.dim[a]);
}

/* Sum of pad_axis pieces of disjoint ranges along one axis (the gradients
 * of the slices an RNN takes of one tensor) = one concat of the pieces with
 * zeros in the gaps: memory and time linear in the number of pieces, where
 * add_n of the padded copies would be quadratic. NULL when the pieces do
 * not fit that pattern (different axes or sizes, overlaps). */
static int by_begin(const void *a, const void *b) {
    int64_t x = (*(rc_node *const *)a)->attr.i[1], y = (*(rc_node *const *)b)->attr.i[1];
    return (x > y) - (x < y);
}

static rc_node *pad_accumulate(rc_graph *g, rc_node *const *c, int n) {
    int64_t axis = c[0]->attr.i[0], size = c[0]->attr.i[2];
    rc_shape s0 = c[0]->in[0]->shape;
    for (int k = 1; k < n; k++) {
        rc_shape sk = c[k]->in[0]->shape;
        if (c[k]->attr.i[0] != axis || c[k]->attr.i[2] != size || sk.ndim != s0.ndim) return NULL;
        for (int d = 0; d < s0.ndim; d++)
            if (d != axis && sk.dim[d] != s0.dim[d]) return NULL;
    }
    rc_node **sorted = rc_malloc((size_t)n * sizeof *sorted), **pieces = rc_malloc((size_t)(2 * n + 1) * sizeof *pieces);
    rc_node *r = NULL;
    if (!sorted || !pieces) goto done;
    memcpy(sorted, c, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, by_begin);
    int np = 0;
    int64_t at = 0;
    for (int k = 0; k <= n; k++) {
        int64_t begin = k < n ? sorted[k]->attr.i[1] : size;
        if (begin < at) goto done; /* overlap */
        if (begin > at) {
            rc_shape z = s0;
            z.dim[axis] = begin - at;
            pieces[np++] = rc_fill(g, z, 0.0f);
        }
        if (k < n) {
            pieces[np++] = sorted[k]->in[0];
            at = begin + sorted[k]->in[0]->shape.dim[axis];
        }
    }
    r = rc_concat(g, pieces, np, (int)axis);
done:
    rc_free(sorted);
    rc_free(pieces);
    return r;
}

const rc_op rc_op_pad_axis = {.name = "pad_axis", .arity = 1, .infer = pad_infer, .forward = pad_fwd,
                              .reference = pad_ref, .grad = pad_grad, .accumulate = pad_accumulate};

rc_node *rc_pad_axis(rc_graph *g, rc_node *x, int axis, int64_t begin, int64_t size) {
    rc_attr a = {.i = {axis, begin, size}};
    return rc_node_make(g, &rc_op_pad_axis, &x, 1, &a, NULL);
}

/* --- concat -------------------------------------------------------------- */

static bool concat_infer(rc_graph *g, rc_node *n) {
    rc_shape s = n->in[0]->shape;
    if (!norm_axis(g, n, &n->attr.i[0], s)) return false;
    int64_t a = n->attr.i[0], total = 0;
    for (int k = 0; k < n->nin; k++) {
        rc_shape t = n->in[k]->shape;
        bool ok = t.ndim == s.ndim && n->in[k]->dtype == n->in[0]->dtype;
        for (int d = 0; ok && d < s.ndim; d++) ok = d == a || t.dim[d] == s.dim[d];
        if (!ok) {
            char sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
            return rc_node_fail(g, n, RC_ERR_SHAPE, "input %d %s %s does not fit input 0 %s %s along axis %lld", k,
                                rc_dtype_name(n->in[k]->dtype), rc_shape_str(t, sa, sizeof sa),
                                rc_dtype_name(n->in[0]->dtype), rc_shape_str(s, sb, sizeof sb), (long long)a);
        }
        total += t.dim[a];
    }
    n->dtype = n->in[0]->dtype;
    n->shape = s;
    n->shape.dim[a] = total;
    return true;
}

static rc_status concat_run(const rc_node *n, void *out, void *const *in, bool ref) {
    int64_t outer, len, inner, at = 0;
    split(n->shape, n->attr.i[0], &outer, &len, &inner);
    for (int k = 0; k < n->nin; k++) {
        int64_t lk = n->in[k]->shape.dim[n->attr.i[0]];
        /* a piece the plan placed in its block is already there (core/plan.c) */
        if (outer == 1 && (char *)out + (size_t)(at * inner) * esize(n, ref) == (char *)in[k]) {
            at += lk;
            continue;
        }
        block_copy(out, in[k], outer, len, lk, inner, at, false, esize(n, ref));
        at += lk;
    }
    return RC_OK;
}
static rc_status concat_fwd(const rc_node *n, void *out, void *const *in, void *s) { return concat_run(n, out, in, false); }
static rc_status concat_ref(const rc_node *n, void *out, void *const *in, void *s) { return concat_run(n, out, in, true); }

static void concat_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    int a = (int)n->attr.i[0];
    int64_t at = 0;
    for (int k = 0; k < n->nin; k++) {
        int64_t lk = n->in[k]->shape.dim[a];
        dx[k] = rc_slice(g, dy, a, at, at + lk);
        at += lk;
    }
}

const rc_op rc_op_concat = {.name = "concat", .arity = -1, .flags = RC_OPF_CONCAT, .infer = concat_infer, .forward = concat_fwd,
                            .reference = concat_ref, .grad = concat_grad};

rc_node *rc_concat(rc_graph *g, rc_node *const *xs, int n, int axis) {
    rc_attr a = {.i = {axis}};
    return rc_node_make(g, &rc_op_concat, xs, n, &a, NULL);
}

/* --- reshape ------------------------------------------------------------- */

static bool reshape_infer(rc_graph *g, rc_node *n) {
    rc_shape t = rc_attr_shape(&n->attr), s = n->in[0]->shape;
    if (!rc_shape_valid(t) || rc_shape_numel(t) != rc_shape_numel(s)) {
        char sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s",
                            rc_shape_str(s, sa, sizeof sa), (long long)rc_shape_numel(s),
                            rc_shape_str(t, sb, sizeof sb));
    }
    n->dtype = n->in[0]->dtype;
    n->shape = t;
    return true;
}

static rc_status reshape_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    memmove(out, in[0], (size_t)rc_shape_numel(n->shape) * esize(n, false));
    return RC_OK;
}
static rc_status reshape_ref(const rc_node *n, void *out, void *const *in, void *s) {
    memcpy(out, in[0], (size_t)rc_shape_numel(n->shape) * esize(n, true));
    return RC_OK;
}
static bool reshape_view(const rc_node *n, int64_t *off) {
    *off = 0;
    return true;
}
static void reshape_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_reshape(g, dy, n->in[0]->shape);
}
static void reshape_label(const rc_node *n, char *buf, size_t len) {
    char s[RC_SHAPE_STRLEN];
    snprintf(buf, len, "reshape %s", rc_shape_str(n->shape, s, sizeof s));
}

const rc_op rc_op_reshape = {.name = "reshape", .arity = 1, .infer = reshape_infer, .forward = reshape_fwd,
                             .reference = reshape_ref, .grad = reshape_grad, .view = reshape_view,
                             .label = reshape_label};

rc_node *rc_reshape(rc_graph *g, rc_node *x, rc_shape shape) {
    if (shape.ndim < 0 || shape.ndim > RC_MAX_DIMS)
        return rc_graph_fail(g, RC_ERR_SHAPE, "reshape: target shape has %d dims (at most %d)", shape.ndim,
                             RC_MAX_DIMS);
    rc_attr a = {.i = {0}};
    rc_attr_set_shape(&a, shape);
    return rc_node_make(g, &rc_op_reshape, &x, 1, &a, NULL);
}

/* --- time_rows: rows declared to be time-major steps of a leaf -------------
 * time_rows(seq, x; t0, t1) is seq (C, B, F) viewed as (C·B, F) rows, as
 * reshape would give, plus a declaration the graph's shape alone does not
 * make: seq holds steps [t0, t1) of the leaf x (B, T, F) in time-major
 * order, seq[k, b] = x[b, t0 + k] (C = t1 - t0). The RNN layer emits it for
 * the rows its input projection multiplies (layers/rnn.c); the shape rule
 * checks the shapes of the claim, the caller vouches for the values.
 * Input 1 is the declaration only: no kernel reads it (a view of input 0)
 * and no gradient flows to it (x's gradient flows through seq).
 * What it is for: a gradient builder that needs these rows long after the
 * forward pass (matmul's dW = Aᵀ dC) makes them again from x with
 * rc_time_rows_again, so the time-major copy dies after the forward pass
 * instead of living through backward. */
static bool time_rows_infer(rc_graph *g, rc_node *n) {
    const rc_node *x = n->in[1];
    rc_shape s = n->in[0]->shape, xs = x->shape;
    int64_t t0 = n->attr.i[0], t1 = n->attr.i[1];
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_F32)) return false;
    if (!(x->op->flags & RC_OPF_LEAF)) return rc_node_fail(g, n, RC_ERR_ARG, "input 1 '%s' is not a leaf", x->name);
    if (xs.ndim != 3 || t0 < 0 || t1 <= t0 || t1 > xs.dim[1] || !rc_shape_eq(s, RC_SHAPE(t1 - t0, xs.dim[0], xs.dim[2]))) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "%s is not steps [%lld, %lld) of %s in time-major order",
                            rc_shape_str(s, a, sizeof a), (long long)t0, (long long)t1, rc_shape_str(xs, b, sizeof b));
    }
    n->shape = RC_SHAPE(s.dim[0] * s.dim[1], s.dim[2]);
    return true;
}

static void time_rows_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_reshape(g, dy, n->in[0]->shape);
}

static void time_rows_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "time_rows %lld:%lld", (long long)n->attr.i[0], (long long)n->attr.i[1]);
}

const rc_op rc_op_time_rows = {.name = "time_rows", .arity = 2, .infer = time_rows_infer, .forward = reshape_fwd,
                               .reference = reshape_ref, .grad = time_rows_grad, .view = reshape_view,
                               .label = time_rows_label};

rc_node *rc_time_rows(rc_graph *g, rc_node *seq, rc_node *x, int64_t t0, int64_t t1) {
    rc_node *in[2] = {seq, x};
    rc_attr a = {.i = {t0, t1}};
    return rc_node_make(g, &rc_op_time_rows, in, 2, &a, NULL);
}

/* reshape(transpose(slice(x, axis 1, t0, t1), (1, 0, 2))): one pass over
 * the chunk of x (two kernels; the slice is skipped for all of x). */
rc_node *rc_time_rows_again(rc_graph *g, const rc_node *rows) {
    if (!rows || rows->op != &rc_op_time_rows) return NULL;
    rc_node *x = rows->in[1];
    int64_t t0 = rows->attr.i[0], t1 = rows->attr.i[1];
    rc_node *xs = t0 == 0 && t1 == x->shape.dim[1] ? x : rc_slice(g, x, 1, t0, t1);
    return rc_reshape(g, rc_transpose(g, xs, (int[]){1, 0, 2}), rows->shape);
}

/* --- transpose ----------------------------------------------------------- */

static bool transpose_infer(rc_graph *g, rc_node *n) {
    rc_shape s = n->in[0]->shape;
    bool seen[RC_MAX_DIMS] = {0}, ok = true;
    for (int k = 0; k < s.ndim; k++) {
        int64_t p = n->attr.i[k];
        if (p < 0 || p >= s.ndim || seen[p]) ok = false;
        else seen[p] = true;
    }
    if (!ok) {
        char sb[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_ARG, "perm (%lld, %lld, %lld, %lld) is not a permutation of the %d axes of %s",
                            (long long)n->attr.i[0], (long long)n->attr.i[1], (long long)n->attr.i[2],
                            (long long)n->attr.i[3], s.ndim, rc_shape_str(s, sb, sizeof sb));
    }
    n->dtype = n->in[0]->dtype;
    n->shape.ndim = s.ndim;
    for (int k = 0; k < s.ndim; k++) n->shape.dim[k] = s.dim[n->attr.i[k]];
    return true;
}

#define TRANSPOSE_KERNEL(name, T)                                                      \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        rc_shape xs = n->in[0]->shape;                                                 \
        int64_t xst[4] = {0}, acc = 1, d[4] = {1, 1, 1, 1}, st[4] = {0};               \
        for (int k = xs.ndim - 1; k >= 0; k--) {                                       \
            xst[k] = acc;                                                              \
            acc *= xs.dim[k];                                                          \
        }                                                                              \
        int pad = 4 - xs.ndim;                                                         \
        for (int k = 0; k < xs.ndim; k++) {                                            \
            d[pad + k] = n->shape.dim[k];                                              \
            st[pad + k] = xst[n->attr.i[k]];                                           \
        }                                                                              \
        const T *x = in[0];                                                            \
        T *y = out;                                                                    \
        int64_t o = 0;                                                                 \
        for (int64_t a = 0; a < d[0]; a++)                                             \
            for (int64_t b = 0; b < d[1]; b++)                                         \
                for (int64_t c = 0; c < d[2]; c++)                                     \
                    for (int64_t e = 0; e < d[3]; e++)                                 \
                        y[o++] = x[a * st[0] + b * st[1] + c * st[2] + e * st[3]];     \
        return RC_OK;                                                                  \
    }
TRANSPOSE_KERNEL(transpose_f32, float)
TRANSPOSE_KERNEL(transpose_f64, double)
TRANSPOSE_KERNEL(transpose_i32, int32_t)

static rc_status transpose_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    return n->dtype == RC_I32 ? transpose_i32(n, out, in, s) : transpose_f32(n, out, in, s);
}
static rc_status transpose_ref(const rc_node *n, void *out, void *const *in, void *s) {
    return n->dtype == RC_I32 ? transpose_i32(n, out, in, s) : transpose_f64(n, out, in, s);
}

static void transpose_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    int inv[RC_MAX_DIMS];
    for (int k = 0; k < n->shape.ndim; k++) inv[n->attr.i[k]] = k;
    dx[0] = rc_transpose(g, dy, inv);
}

static void transpose_label(const rc_node *n, char *buf, size_t len) {
    int k = snprintf(buf, len, "transpose (");
    for (int i = 0; i < n->shape.ndim && k > 0 && (size_t)k < len; i++)
        k += snprintf(buf + k, len - (size_t)k, "%s%lld", i ? ", " : "", (long long)n->attr.i[i]);
    if (k > 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, ")");
}

const rc_op rc_op_transpose = {.name = "transpose", .arity = 1, .infer = transpose_infer,
                               .forward = transpose_fwd, .reference = transpose_ref,
                               .grad = transpose_grad, .label = transpose_label};

rc_node *rc_transpose(rc_graph *g, rc_node *x, const int *perm) {
    if (!perm) return rc_graph_fail(g, RC_ERR_ARG, "transpose: perm is NULL");
    rc_attr a = {.i = {-1, -1, -1, -1}};
    int nd = x ? x->shape.ndim : 0;
    for (int k = 0; k < nd; k++) a.i[k] = perm[k];
    return rc_node_make(g, &rc_op_transpose, &x, 1, &a, NULL);
}

/* --- reverse ------------------------------------------------------------- */

static bool reverse_infer(rc_graph *g, rc_node *n) {
    if (!norm_axis(g, n, &n->attr.i[0], n->in[0]->shape)) return false;
    n->dtype = n->in[0]->dtype;
    n->shape = n->in[0]->shape;
    return true;
}

static rc_status reverse_run(const rc_node *n, void *out, void *const *in, bool ref) {
    int64_t outer, len, inner;
    split(n->shape, n->attr.i[0], &outer, &len, &inner);
    size_t es = esize(n, ref), row = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < len; k++)
            memcpy((char *)out + (size_t)(o * len + k) * row, (const char *)in[0] + (size_t)(o * len + len - 1 - k) * row, row);
    return RC_OK;
}
static rc_status reverse_fwd(const rc_node *n, void *out, void *const *in, void *s) { return reverse_run(n, out, in, false); }
static rc_status reverse_ref(const rc_node *n, void *out, void *const *in, void *s) { return reverse_run(n, out, in, true); }

static void reverse_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_reverse(g, dy, (int)n->attr.i[0]);
}

const rc_op rc_op_reverse = {.name = "reverse", .arity = 1, .infer = reverse_infer, .forward = reverse_fwd,
                             .reference = reverse_ref, .grad = reverse_grad};

rc_node *rc_reverse(rc_graph *g, rc_node *x, int axis) {
    rc_attr a = {.i = {axis}};
    return rc_node_make(g, &rc_op_reverse, &x, 1, &a, NULL);
}
