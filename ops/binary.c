/* Elementwise binary ops with broadcasting, where/select, and the pair
 * broadcast_to / sum_to that carries gradients across broadcast axes.
 *
 *   add  y = a + b     da = sum_to(dy)          db = sum_to(dy)
 *   sub  y = a - b     da = sum_to(dy)          db = sum_to(-dy)
 *   mul  y = a b       da = sum_to(dy b)        db = sum_to(dy a)
 *   div  y = a / b     da = sum_to(dy / b)      db = sum_to(-dy y / b)
 *   where(c, a, b) = c != 0 ? a : b   da = sum_to(where(c, dy, 0)), db likewise
 *   broadcast_to(x, S)  dx = sum_to(dy, shape x)
 *   sum_to(x, S)        dx = broadcast_to(dy, shape x)
 * where sum_to(., shape a) sums over the axes along which a was broadcast.
 */
#include <string.h>

#include "broadcast.h"
#include "recur/ops.h"

bool rc_bcast_shape(rc_shape a, rc_shape b, rc_shape *out) {
    int nd = a.ndim > b.ndim ? a.ndim : b.ndim;
    out->ndim = nd;
    for (int k = 0; k < nd; k++) {
        int ia = a.ndim - nd + k, ib = b.ndim - nd + k;
        int64_t da = ia >= 0 ? a.dim[ia] : 1, db = ib >= 0 ? b.dim[ib] : 1;
        if (da != db && da != 1 && db != 1) return false;
        out->dim[k] = da > db ? da : db;
    }
    return true;
}

bool rc_bcast_to_ok(rc_shape x, rc_shape out) {
    if (x.ndim > out.ndim) return false;
    for (int k = 0; k < x.ndim; k++) {
        int64_t d = x.dim[k], o = out.dim[out.ndim - x.ndim + k];
        if (d != o && d != 1) return false;
    }
    return true;
}

void rc_bcast_init(rc_bcast *w, rc_shape out, const rc_shape *ops, int n) {
    memset(w, 0, sizeof *w);
    int pad = 4 - out.ndim;
    for (int k = 0; k < 4; k++) w->dim[k] = k < pad ? 1 : out.dim[k - pad];
    for (int j = 0; j < n; j++) {
        rc_shape s = ops[j];
        int64_t acc = 1;
        for (int k = 3; k >= 0; k--) {
            int i = s.ndim - (4 - k);
            int64_t d = i >= 0 ? s.dim[i] : 1;
            w->st[j][k] = d == 1 ? 0 : acc;
            acc *= d;
        }
    }
}

static bool mismatch(rc_graph *g, rc_node *n, rc_shape a, rc_shape b) {
    char sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
    return rc_node_fail(g, n, RC_ERR_SHAPE, "shapes %s and %s do not broadcast",
                        rc_shape_str(a, sa, sizeof sa), rc_shape_str(b, sb, sizeof sb));
}

static bool infer_binary(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_F32)) return false;
    if (!rc_bcast_shape(n->in[0]->shape, n->in[1]->shape, &n->shape))
        return mismatch(g, n, n->in[0]->shape, n->in[1]->shape);
    return true;
}

/* The kernels: a fast path for equal shapes, for b broadcast along rows of
 * a (bias), for a scalar operand, and the strided walk for the rest. */
#define BINARY_KERNELS(name, OP)                                                       \
    static rc_status name##_fwd(const rc_node *n, void *out, void *const *in, void *s) { \
        float *y = out;                                                                \
        const float *a = in[0], *b = in[1];                                            \
        int64_t N = rc_shape_numel(n->shape), na = rc_shape_numel(n->in[0]->shape),    \
                nb = rc_shape_numel(n->in[1]->shape);                                  \
        if (na == N && nb == N) {                                                      \
            for (int64_t i = 0; i < N; i++) y[i] = OP(a[i], b[i]);                     \
        } else if (na == N && nb == 1) {                                               \
            float bv = b[0];                                                           \
            for (int64_t i = 0; i < N; i++) y[i] = OP(a[i], bv);                       \
        } else if (nb == N && na == 1) {                                               \
            float av = a[0];                                                           \
            for (int64_t i = 0; i < N; i++) y[i] = OP(av, b[i]);                       \
        } else if (na == N && n->in[1]->shape.ndim >= 1 &&                             \
                   nb == n->shape.dim[n->shape.ndim - 1] &&                            \
                   n->in[1]->shape.dim[n->in[1]->shape.ndim - 1] == nb) {              \
            for (int64_t r = 0; r < N / nb; r++)                                       \
                for (int64_t j = 0; j < nb; j++) y[r * nb + j] = OP(a[r * nb + j], b[j]); \
        } else {                                                                       \
            rc_bcast w;                                                                \
            rc_bcast_init(&w, n->shape, (rc_shape[]){n->in[0]->shape, n->in[1]->shape}, 2); \
            int64_t o = 0;                                                             \
            for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                  \
                for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                              \
                    for (int64_t i2 = 0; i2 < w.dim[2]; i2++) {                        \
                        const float *ar = a + i0 * w.st[0][0] + i1 * w.st[0][1] + i2 * w.st[0][2]; \
                        const float *br = b + i0 * w.st[1][0] + i1 * w.st[1][1] + i2 * w.st[1][2]; \
                        for (int64_t i3 = 0; i3 < w.dim[3]; i3++)                      \
                            y[o++] = OP(ar[i3 * w.st[0][3]], br[i3 * w.st[1][3]]);     \
                    }                                                                  \
        }                                                                              \
        return RC_OK;                                                                  \
    }                                                                                  \
    static rc_status name##_ref(const rc_node *n, void *out, void *const *in, void *s) { \
        double *y = out;                                                               \
        const double *a = in[0], *b = in[1];                                           \
        rc_bcast w;                                                                    \
        rc_bcast_init(&w, n->shape, (rc_shape[]){n->in[0]->shape, n->in[1]->shape}, 2); \
        int64_t o = 0;                                                                 \
        for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                      \
            for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                                  \
                for (int64_t i2 = 0; i2 < w.dim[2]; i2++)                              \
                    for (int64_t i3 = 0; i3 < w.dim[3]; i3++) {                        \
                        int64_t ia = i0 * w.st[0][0] + i1 * w.st[0][1] + i2 * w.st[0][2] + i3 * w.st[0][3]; \
                        int64_t ib = i0 * w.st[1][0] + i1 * w.st[1][1] + i2 * w.st[1][2] + i3 * w.st[1][3]; \
                        y[o++] = OP(a[ia], b[ib]);                                     \
                    }                                                                  \
        return RC_OK;                                                                  \
    }

#define OP_ADD(x, y) ((x) + (y))
#define OP_SUB(x, y) ((x) - (y))
#define OP_MUL(x, y) ((x) * (y))
#define OP_DIV(x, y) ((x) / (y))
BINARY_KERNELS(add, OP_ADD)
BINARY_KERNELS(sub, OP_SUB)
BINARY_KERNELS(mul, OP_MUL)
BINARY_KERNELS(div, OP_DIV)

/* Reduce a gradient to the shape of the input it flows to. */
static rc_node *to_shape(rc_graph *g, rc_node *d, rc_node *x) {
    return rc_shape_eq(d->shape, x->shape) ? d : rc_sum_to(g, d, x->shape);
}

static void add_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = to_shape(g, dy, n->in[0]);
    dx[1] = to_shape(g, dy, n->in[1]);
}
static void sub_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = to_shape(g, dy, n->in[0]);
    dx[1] = to_shape(g, rc_neg(g, dy), n->in[1]);
}
static void mul_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = to_shape(g, rc_mul(g, dy, n->in[1]), n->in[0]);
    dx[1] = to_shape(g, rc_mul(g, dy, n->in[0]), n->in[1]);
}
static void div_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = to_shape(g, rc_div(g, dy, n->in[1]), n->in[0]);
    dx[1] = to_shape(g, rc_neg(g, rc_mul(g, dy, rc_div(g, n, n->in[1]))), n->in[1]);
}

const rc_op rc_op_add = {.name = "add", .arity = 2, .infer = infer_binary, .forward = add_fwd,
                         .reference = add_ref, .grad = add_grad};
const rc_op rc_op_sub = {.name = "sub", .arity = 2, .infer = infer_binary, .forward = sub_fwd,
                         .reference = sub_ref, .grad = sub_grad};
const rc_op rc_op_mul = {.name = "mul", .arity = 2, .infer = infer_binary, .forward = mul_fwd,
                         .reference = mul_ref, .grad = mul_grad};
const rc_op rc_op_div = {.name = "div", .arity = 2, .infer = infer_binary, .forward = div_fwd,
                         .reference = div_ref, .grad = div_grad};

static rc_node *bin(rc_graph *g, const rc_op *op, rc_node *a, rc_node *b) {
    rc_node *in[2] = {a, b};
    return rc_node_make(g, op, in, 2, NULL, NULL);
}
rc_node *rc_add(rc_graph *g, rc_node *a, rc_node *b) { return bin(g, &rc_op_add, a, b); }
rc_node *rc_sub(rc_graph *g, rc_node *a, rc_node *b) { return bin(g, &rc_op_sub, a, b); }
rc_node *rc_mul(rc_graph *g, rc_node *a, rc_node *b) { return bin(g, &rc_op_mul, a, b); }
rc_node *rc_div(rc_graph *g, rc_node *a, rc_node *b) { return bin(g, &rc_op_div, a, b); }

/* --- where ------------------------------------------------------------- */

static bool where_infer(rc_graph *g, rc_node *n) {
    for (int k = 0; k < 3; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape ab;
    if (!rc_bcast_shape(n->in[1]->shape, n->in[2]->shape, &ab))
        return mismatch(g, n, n->in[1]->shape, n->in[2]->shape);
    if (!rc_bcast_shape(n->in[0]->shape, ab, &n->shape)) return mismatch(g, n, n->in[0]->shape, ab);
    return true;
}

#define WHERE_KERNEL(name, T)                                                          \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        T *y = out;                                                                    \
        const T *c = in[0], *a = in[1], *b = in[2];                                    \
        rc_bcast w;                                                                    \
        rc_bcast_init(&w, n->shape,                                                    \
                      (rc_shape[]){n->in[0]->shape, n->in[1]->shape, n->in[2]->shape}, 3); \
        int64_t o = 0;                                                                 \
        for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                      \
            for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                                  \
                for (int64_t i2 = 0; i2 < w.dim[2]; i2++)                              \
                    for (int64_t i3 = 0; i3 < w.dim[3]; i3++) {                        \
                        int64_t at[3];                                                 \
                        for (int j = 0; j < 3; j++)                                    \
                            at[j] = i0 * w.st[j][0] + i1 * w.st[j][1] + i2 * w.st[j][2] + i3 * w.st[j][3]; \
                        y[o++] = c[at[0]] != 0 ? a[at[1]] : b[at[2]];                  \
                    }                                                                  \
        return RC_OK;                                                                  \
    }
WHERE_KERNEL(where_fwd, float)
WHERE_KERNEL(where_ref, double)

static void where_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *zero = rc_fill(g, RC_SCALAR, 0.0f);
    dx[1] = to_shape(g, rc_where(g, n->in[0], dy, zero), n->in[1]);
    dx[2] = to_shape(g, rc_where(g, n->in[0], zero, dy), n->in[2]);
}

const rc_op rc_op_where = {.name = "where", .arity = 3, .infer = where_infer, .forward = where_fwd,
                           .reference = where_ref, .grad = where_grad};

rc_node *rc_where(rc_graph *g, rc_node *cond, rc_node *a, rc_node *b) {
    rc_node *in[3] = {cond, a, b};
    return rc_node_make(g, &rc_op_where, in, 3, NULL, NULL);
}

/* --- broadcast_to / sum_to ----------------------------------------------- */

static bool broadcast_to_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    rc_shape t = rc_attr_shape(&n->attr);
    if (!rc_shape_valid(t) || !rc_bcast_to_ok(n->in[0]->shape, t)) return mismatch(g, n, n->in[0]->shape, t);
    n->shape = t;
    return true;
}

static bool sum_to_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    rc_shape t = rc_attr_shape(&n->attr);
    if (!rc_shape_valid(t) || !rc_bcast_to_ok(t, n->in[0]->shape)) {
        char sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "cannot sum %s down to %s",
                            rc_shape_str(n->in[0]->shape, sa, sizeof sa), rc_shape_str(t, sb, sizeof sb));
    }
    n->shape = t;
    return true;
}

/* Walk the big shape; small[] is indexed through broadcast strides. */
#define BCAST_KERNELS(T, sfx)                                                          \
    static rc_status broadcast_to_##sfx(const rc_node *n, void *out, void *const *in, void *s) { \
        T *y = out;                                                                    \
        const T *x = in[0];                                                            \
        rc_bcast w;                                                                    \
        rc_bcast_init(&w, n->shape, &n->in[0]->shape, 1);                              \
        int64_t o = 0;                                                                 \
        for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                      \
            for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                                  \
                for (int64_t i2 = 0; i2 < w.dim[2]; i2++) {                            \
                    const T *xr = x + i0 * w.st[0][0] + i1 * w.st[0][1] + i2 * w.st[0][2]; \
                    for (int64_t i3 = 0; i3 < w.dim[3]; i3++) y[o++] = xr[i3 * w.st[0][3]]; \
                }                                                                      \
        return RC_OK;                                                                  \
    }                                                                                  \
    static rc_status sum_to_##sfx(const rc_node *n, void *out, void *const *in, void *s) { \
        T *y = out;                                                                    \
        const T *x = in[0];                                                            \
        rc_bcast w;                                                                    \
        rc_bcast_init(&w, n->in[0]->shape, &n->shape, 1);                              \
        memset(y, 0, (size_t)rc_shape_numel(n->shape) * sizeof(T));                    \
        int64_t o = 0;                                                                 \
        for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                      \
            for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                                  \
                for (int64_t i2 = 0; i2 < w.dim[2]; i2++) {                            \
                    T *yr = y + i0 * w.st[0][0] + i1 * w.st[0][1] + i2 * w.st[0][2];   \
                    for (int64_t i3 = 0; i3 < w.dim[3]; i3++) yr[i3 * w.st[0][3]] += x[o++]; \
                }                                                                      \
        return RC_OK;                                                                  \
    }
BCAST_KERNELS(float, fwd)
BCAST_KERNELS(double, ref)

static void broadcast_to_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_sum_to(g, dy, n->in[0]->shape);
}
static void sum_to_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_broadcast_to(g, dy, n->in[0]->shape);
}

static void shape_label(const rc_node *n, char *buf, size_t len) {
    char s[RC_SHAPE_STRLEN];
    snprintf(buf, len, "%s %s", n->op->name, rc_shape_str(n->shape, s, sizeof s));
}

const rc_op rc_op_broadcast_to = {.name = "broadcast_to", .arity = 1, .infer = broadcast_to_infer,
                                  .forward = broadcast_to_fwd, .reference = broadcast_to_ref,
                                  .grad = broadcast_to_grad, .label = shape_label};
const rc_op rc_op_sum_to = {.name = "sum_to", .arity = 1, .infer = sum_to_infer, .forward = sum_to_fwd,
                            .reference = sum_to_ref, .grad = sum_to_grad, .label = shape_label};

static rc_node *shaped(rc_graph *g, const rc_op *op, rc_node *x, rc_shape s) {
    rc_attr a = {.i = {0}};
    if (s.ndim < 0 || s.ndim > RC_MAX_DIMS)
        return rc_graph_fail(g, RC_ERR_SHAPE, "%s: target shape has %d dims (at most %d)", op->name, s.ndim,
                             RC_MAX_DIMS);
    rc_attr_set_shape(&a, s);
    return rc_node_make(g, op, &x, 1, &a, NULL);
}
rc_node *rc_broadcast_to(rc_graph *g, rc_node *x, rc_shape shape) {
    return shaped(g, &rc_op_broadcast_to, x, shape);
}
rc_node *rc_sum_to(rc_graph *g, rc_node *x, rc_shape shape) { return shaped(g, &rc_op_sum_to, x, shape); }
