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
#include "vecmath.h"
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

/* Layouts the float kernels special-case. With C the last output dim and N
 * the output size, one operand is full (N elements) and the other is
 *   SAME:    full too;
 *   SCALAR:  one element;
 *   ROW:     a vector of C broadcast over rows, (U) against (B, U) or (B, T, U);
 *   COL:     one value per row, (B, 1) against (B, U).
 * Anything else takes the strided 4-deep walk. The ops are not
 * RC_OPF_ELEMENTWISE, so the output never aliases an input (restrict). */
enum { L_GENERAL, L_SAME, L_B_SCALAR, L_A_SCALAR, L_B_ROW, L_A_ROW, L_B_COL, L_A_COL };

static int layout(const rc_node *n, int64_t *C) {
    rc_shape o = n->shape, sa = n->in[0]->shape, sb = n->in[1]->shape;
    int64_t N = rc_shape_numel(o), na = rc_shape_numel(sa), nb = rc_shape_numel(sb);
    int64_t c = o.ndim ? o.dim[o.ndim - 1] : 1;
    int64_t la = sa.ndim ? sa.dim[sa.ndim - 1] : 1, lb = sb.ndim ? sb.dim[sb.ndim - 1] : 1;
    *C = c;
    if (na == N && nb == N) return L_SAME;
    if (na == N && nb == 1) return L_B_SCALAR;
    if (nb == N && na == 1) return L_A_SCALAR;
    /* An operand broadcastable to o with last dim c and c elements has all
     * other dims 1; one with last dim 1 and N / c elements matches o in
     * every other dim. */
    if (na == N && lb == c && nb == c) return L_B_ROW;
    if (nb == N && la == c && na == c) return L_A_ROW;
    if (na == N && lb == 1 && nb * c == N) return L_B_COL;
    if (nb == N && la == 1 && na * c == N) return L_A_COL;
    return L_GENERAL;
}

/* y[o] = OP(a[ia], b[ib]) over the broadcast walk: the generic path and the
 * whole of the reference kernel. */
#define BINARY_WALK(T, OP)                                                             \
    do {                                                                               \
        rc_bcast w;                                                                    \
        rc_bcast_init(&w, n->shape, (rc_shape[]){n->in[0]->shape, n->in[1]->shape}, 2); \
        int64_t o = 0;                                                                 \
        for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                      \
            for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                                  \
                for (int64_t i2 = 0; i2 < w.dim[2]; i2++) {                            \
                    const T *ar = a + i0 * w.st[0][0] + i1 * w.st[0][1] + i2 * w.st[0][2]; \
                    const T *br = b + i0 * w.st[1][0] + i1 * w.st[1][1] + i2 * w.st[1][2]; \
                    for (int64_t i3 = 0; i3 < w.dim[3]; i3++)                          \
                        y[o++] = OP(ar[i3 * w.st[0][3]], br[i3 * w.st[1][3]]);         \
                }                                                                      \
    } while (0)

#define BINARY_KERNELS(name, OP)                                                       \
    RC_VECTOR_CLONES static rc_status name##_fwd(const rc_node *n, void *out, void *const *in, void *s) { \
        float *restrict y = out;                                                       \
        const float *restrict a = in[0], *restrict b = in[1];                          \
        int64_t C, N = rc_shape_numel(n->shape);                                       \
        switch (layout(n, &C)) {                                                       \
        case L_SAME:                                                                   \
            for (int64_t i = 0; i < N; i++) y[i] = OP(a[i], b[i]);                     \
            break;                                                                     \
        case L_B_SCALAR: {                                                             \
            const float bv = b[0];                                                     \
            for (int64_t i = 0; i < N; i++) y[i] = OP(a[i], bv);                       \
            break;                                                                     \
        }                                                                              \
        case L_A_SCALAR: {                                                             \
            const float av = a[0];                                                     \
            for (int64_t i = 0; i < N; i++) y[i] = OP(av, b[i]);                       \
            break;                                                                     \
        }                                                                              \
        case L_B_ROW:                                                                  \
            for (int64_t r = 0; r < N; r += C)                                         \
                for (int64_t j = 0; j < C; j++) y[r + j] = OP(a[r + j], b[j]);         \
            break;                                                                     \
        case L_A_ROW:                                                                  \
            for (int64_t r = 0; r < N; r += C)                                         \
                for (int64_t j = 0; j < C; j++) y[r + j] = OP(a[j], b[r + j]);         \
            break;                                                                     \
        case L_B_COL:                                                                  \
            for (int64_t r = 0; r < N / C; r++) {                                      \
                const float bv = b[r];                                                 \
                for (int64_t j = 0; j < C; j++) y[r * C + j] = OP(a[r * C + j], bv);   \
            }                                                                          \
            break;                                                                     \
        case L_A_COL:                                                                  \
            for (int64_t r = 0; r < N / C; r++) {                                      \
                const float av = a[r];                                                 \
                for (int64_t j = 0; j < C; j++) y[r * C + j] = OP(av, b[r * C + j]);   \
            }                                                                          \
            break;                                                                     \
        default:                                                                       \
            BINARY_WALK(float, OP);                                                    \
        }                                                                              \
        return RC_OK;                                                                  \
    }                                                                                  \
    static rc_status name##_ref(const rc_node *n, void *out, void *const *in, void *s) { \
        double *y = out;                                                               \
        const double *a = in[0], *b = in[1];                                           \
        BINARY_WALK(double, OP);                                                       \
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

/* The float kernel special-cases a, b full with cond full or one value per
 * row (a (B, 1) step mask); the rest walks. */
#define WHERE_WALK(T)                                                                  \
    do {                                                                               \
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
    } while (0)

static rc_status where_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    float *restrict y = out;
    const float *restrict c = in[0], *restrict a = in[1], *restrict b = in[2];
    rc_shape sc = n->in[0]->shape;
    int64_t N = rc_shape_numel(n->shape), C = n->shape.ndim ? n->shape.dim[n->shape.ndim - 1] : 1;
    int64_t nc = rc_shape_numel(sc), lc = sc.ndim ? sc.dim[sc.ndim - 1] : 1;
    bool full_ab = rc_shape_numel(n->in[1]->shape) == N && rc_shape_numel(n->in[2]->shape) == N;
    if (full_ab && nc == N) {
        for (int64_t i = 0; i < N; i++) y[i] = c[i] != 0 ? a[i] : b[i];
    } else if (full_ab && lc == 1 && nc * C == N) {
        for (int64_t r = 0; r < N / C; r++) {
            const float *src = c[r] != 0 ? a : b;
            for (int64_t j = 0; j < C; j++) y[r * C + j] = src[r * C + j];
        }
    } else {
        WHERE_WALK(float);
    }
    return RC_OK;
}

static rc_status where_ref(const rc_node *n, void *out, void *const *in, void *s) {
    double *y = out;
    const double *c = in[0], *a = in[1], *b = in[2];
    WHERE_WALK(double);
    return RC_OK;
}

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

/* broadcast_to: y[i] = x[i mod broadcast axes]. sum_to: y[j] = sum of x[i]
 * over every i that broadcast_to maps from j. Both walk the big shape with
 * the small one indexed through broadcast strides (0 along broadcast axes). */
#define BCAST_WALK(T, BODY)                                                            \
    do {                                                                               \
        int64_t o = 0;                                                                 \
        for (int64_t i0 = 0; i0 < w.dim[0]; i0++)                                      \
            for (int64_t i1 = 0; i1 < w.dim[1]; i1++)                                  \
                for (int64_t i2 = 0; i2 < w.dim[2]; i2++) {                            \
                    int64_t base = i0 * w.st[0][0] + i1 * w.st[0][1] + i2 * w.st[0][2]; \
                    for (int64_t i3 = 0; i3 < w.dim[3]; i3++, o++) {                   \
                        int64_t at = base + i3 * w.st[0][3];                           \
                        BODY;                                                          \
                    }                                                                  \
                }                                                                      \
    } while (0)

/* small is one element, or a row of the big shape's last dim (C). */
static bool is_scalar_like(rc_shape small) { return rc_shape_numel(small) == 1; }
static bool is_row_of(rc_shape small, rc_shape big) {
    int64_t C = big.ndim ? big.dim[big.ndim - 1] : 1;
    return small.ndim >= 1 && small.dim[small.ndim - 1] == C && rc_shape_numel(small) == C;
}

static rc_status broadcast_to_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    float *restrict y = out;
    const float *restrict x = in[0];
    rc_shape xs = n->in[0]->shape;
    int64_t N = rc_shape_numel(n->shape);
    if (rc_shape_numel(xs) == N) {
        memcpy(y, x, (size_t)N * sizeof *y);
    } else if (is_scalar_like(xs)) {
        for (int64_t i = 0; i < N; i++) y[i] = x[0];
    } else if (is_row_of(xs, n->shape)) {
        int64_t C = rc_shape_numel(xs);
        for (int64_t r = 0; r < N; r += C) memcpy(y + r, x, (size_t)C * sizeof *y);
    } else {
        rc_bcast w;
        rc_bcast_init(&w, n->shape, &xs, 1);
        BCAST_WALK(float, y[o] = x[at]);
    }
    return RC_OK;
}

static rc_status broadcast_to_ref(const rc_node *n, void *out, void *const *in, void *s) {
    double *y = out;
    const double *x = in[0];
    rc_bcast w;
    rc_bcast_init(&w, n->shape, &n->in[0]->shape, 1);
    BCAST_WALK(double, y[o] = x[at]);
    return RC_OK;
}

/* The float kernel accumulates in double (scratch, one per output element)
 * so summing many rows, e.g. a bias gradient over B*T steps, keeps float
 * accuracy. */
static size_t sum_to_scratch(const rc_node *n) {
    return (size_t)rc_shape_numel(n->shape) * sizeof(double);
}

static rc_status sum_to_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    float *restrict y = out;
    const float *restrict x = in[0];
    double *restrict acc = s;
    rc_shape xs = n->in[0]->shape;
    int64_t M = rc_shape_numel(n->shape), N = rc_shape_numel(xs);
    if (M == N) {
        memcpy(y, x, (size_t)N * sizeof *y);
        return RC_OK;
    }
    for (int64_t j = 0; j < M; j++) acc[j] = 0;
    if (M == 1) {
        for (int64_t i = 0; i < N; i++) acc[0] += x[i];
    } else if (is_row_of(n->shape, xs)) {
        rc_vacc_rows(acc, x, N / M, M);
    } else {
        rc_bcast w;
        rc_bcast_init(&w, xs, &n->shape, 1);
        BCAST_WALK(float, acc[at] += x[o]);
    }
    for (int64_t j = 0; j < M; j++) y[j] = (float)acc[j];
    return RC_OK;
}

static rc_status sum_to_ref(const rc_node *n, void *out, void *const *in, void *s) {
    double *y = out;
    const double *x = in[0];
    rc_bcast w;
    rc_bcast_init(&w, n->in[0]->shape, &n->shape, 1);
    for (int64_t j = 0, M = rc_shape_numel(n->shape); j < M; j++) y[j] = 0;
    BCAST_WALK(double, y[at] += x[o]);
    return RC_OK;
}

static void broadcast_to_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_sum_to(g, dy, n->in[0]->shape);
}
static void sum_to_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_broadcast_to(g, dy, n->in[0]->shape);
}

/* sum_k sum_to(x_k) as a running sum (rc_running_sum): an unrolled GRU's
 * recurrent bias gets one contribution per step, made as backward passes
 * it; held for one add_n at the end, T of them (batch 1: as much as every
 * step's delta) sat on the step's memory peak. A few contributions (up to
 * RC_RUNNING_MIN - 1, e.g. a three-step picture) stay one add_n. */
static rc_node *sum_to_accumulate(rc_graph *g, rc_node *const *c, int n) {
    return n < RC_RUNNING_MIN ? NULL : rc_running_sum(g, c, n);
}

static void shape_label(const rc_node *n, char *buf, size_t len) {
    char s[RC_SHAPE_STRLEN];
    snprintf(buf, len, "%s %s", n->op->name, rc_shape_str(n->shape, s, sizeof s));
}

const rc_op rc_op_broadcast_to = {.name = "broadcast_to", .arity = 1, .infer = broadcast_to_infer,
                                  .forward = broadcast_to_fwd, .reference = broadcast_to_ref,
                                  .grad = broadcast_to_grad, .label = shape_label};
const rc_op rc_op_sum_to = {.name = "sum_to", .arity = 1, .infer = sum_to_infer, .forward = sum_to_fwd,
                            .reference = sum_to_ref, .grad = sum_to_grad, .accumulate = sum_to_accumulate,
                            .scratch_bytes = sum_to_scratch, .label = shape_label};

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
