/* Matrix product through the GEMM backend.
 *
 *   2-D:      C (M, N) = op(A) op(B)
 *   flat:     A (..., K) with B 2-D: the leading axes of A are one row axis,
 *             so (B, T, K)·(K, N) is a single GEMM over B·T rows
 *   batched:  A (S, ., .), B (S, ., .): S independent products
 * Gradients, C = op(A) op(B) with t = transposed:
 *   A B    : dA = dC Bᵀ        dB = Aᵀ dC
 *   Aᵀ B   : dA = B dCᵀ        dB = A dC
 *   A Bᵀ   : dA = dC B         dB = dCᵀ A
 *   Aᵀ Bᵀ  : dA = Bᵀ dCᵀ       dB = dCᵀ Aᵀ
 * In the flat case dB uses A and dC viewed as 2-D (rows × K, rows × N). */
#include <stdlib.h>
#include <string.h>

#include "ops_list.h"
#include "recur/gemm.h"
#include "recur/op.h"
#include "recur/ops.h"

typedef struct mm_dims {
    int64_t S, M, N, K;       /* batch count, product sizes */
    int64_t sa, sb, sc;       /* element strides between batches */
    int64_t lda, ldb;         /* row strides of A and B as stored */
    bool ta, tb;
} mm_dims;

static mm_dims dims_of(rc_shape a, rc_shape b, bool ta, bool tb) {
    mm_dims d = {.S = 1, .ta = ta, .tb = tb};
    if (b.ndim == 2 && a.ndim >= 3) { /* flat */
        d.K = a.dim[a.ndim - 1];
        d.M = rc_shape_numel(a) / d.K;
        d.lda = d.K;
    } else {
        int off = a.ndim == 3 ? 1 : 0;
        if (off) d.S = a.dim[0];
        d.M = ta ? a.dim[off + 1] : a.dim[off];
        d.K = ta ? a.dim[off] : a.dim[off + 1];
        d.lda = a.dim[off + 1];
        d.sa = a.dim[off] * a.dim[off + 1];
    }
    int boff = b.ndim == 3 ? 1 : 0;
    d.N = tb ? b.dim[boff] : b.dim[boff + 1];
    d.ldb = b.dim[boff + 1];
    d.sb = b.ndim == 3 ? b.dim[1] * b.dim[2] : 0;
    d.sc = d.M * d.N;
    return d;
}

static bool matmul_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_F32)) return false;
    rc_shape a = n->in[0]->shape, b = n->in[1]->shape;
    bool ta = n->attr.i[0], tb = n->attr.i[1];
    char sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
    rc_shape_str(a, sa, sizeof sa);
    rc_shape_str(b, sb, sizeof sb);
    const char *fl = ta ? (tb ? " (both transposed)" : " (a transposed)") : (tb ? " (b transposed)" : "");
    bool flat = b.ndim == 2 && a.ndim >= 3;
    bool ok = (a.ndim == 2 && b.ndim == 2) || (a.ndim == 3 && b.ndim == 3) || flat;
    if (!ok)
        return rc_node_fail(g, n, RC_ERR_SHAPE,
                            "ranks of %s · %s not supported (2-D·2-D, 3-D/4-D·2-D or batched 3-D·3-D)", sa, sb);
    if (flat && ta)
        return rc_node_fail(g, n, RC_ERR_SHAPE, "a of rank %d cannot be transposed (%s · %s)", a.ndim, sa, sb);
    if (a.ndim == 3 && b.ndim == 3 && a.dim[0] != b.dim[0])
        return rc_node_fail(g, n, RC_ERR_SHAPE, "batch sizes differ: %s · %s", sa, sb);
    mm_dims d = dims_of(a, b, ta, tb);
    int64_t kb = tb ? b.dim[b.ndim - 1] : b.dim[b.ndim - 2];
    if (d.K != kb) return rc_node_fail(g, n, RC_ERR_SHAPE, "inner dimensions differ: %s · %s%s", sa, sb, fl);
    if (flat) {
        n->shape = a;
        n->shape.dim[a.ndim - 1] = d.N;
    } else if (a.ndim == 3) {
        n->shape = RC_SHAPE(d.S, d.M, d.N);
    } else {
        n->shape = RC_SHAPE(d.M, d.N);
    }
    return true;
}

static rc_status matmul_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    mm_dims d = dims_of(n->in[0]->shape, n->in[1]->shape, n->attr.i[0], n->attr.i[1]);
    const float *A = in[0], *B = in[1];
    float *C = out;
    for (int64_t k = 0; k < d.S; k++)
        rc_sgemm(d.ta, d.tb, d.M, d.N, d.K, 1.0f, A + k * d.sa, d.lda, B + k * d.sb, d.ldb, 0.0f,
                 C + k * d.sc, d.N);
    return RC_OK;
}

static rc_status matmul_ref(const rc_node *n, void *out, void *const *in, void *s) {
    mm_dims d = dims_of(n->in[0]->shape, n->in[1]->shape, n->attr.i[0], n->attr.i[1]);
    for (int64_t k = 0; k < d.S; k++) {
        const double *A = (const double *)in[0] + k * d.sa, *B = (const double *)in[1] + k * d.sb;
        double *C = (double *)out + k * d.sc;
        for (int64_t i = 0; i < d.M; i++)
            for (int64_t j = 0; j < d.N; j++) {
                double acc = 0;
                for (int64_t p = 0; p < d.K; p++)
                    acc += (d.ta ? A[p * d.lda + i] : A[i * d.lda + p]) *
                           (d.tb ? B[j * d.ldb + p] : B[p * d.ldb + j]);
                C[i * d.N + j] = acc;
            }
    }
    return RC_OK;
}

/* Packed B (recur/op.h pack_bytes; recur/gemm.h): a 2-D product whose B
 * the plan sees read by several products of the same shape — the
 * recurrent kernel U in h U (forward) and dz Uᵀ (backward) at every step
 * of an unrolled RNN — reads it packed, once per run, in panels the
 * few-row kernel streams in address order. */
static size_t matmul_pack_bytes(const rc_node *n, int *k, int64_t key[4]) {
    rc_shape a = n->in[0]->shape, b = n->in[1]->shape;
    if (a.ndim != 2 || b.ndim != 2) return 0;
    mm_dims d = dims_of(a, b, n->attr.i[0], n->attr.i[1]);
    *k = 1;
    key[0] = d.tb, key[1] = d.K, key[2] = d.N, key[3] = d.ldb;
    return rc_sgemm_packed_bytes(d.ta, d.tb, d.M, d.N, d.K);
}

static void matmul_pack(const rc_node *n, const void *src, void *dst) {
    mm_dims d = dims_of(n->in[0]->shape, n->in[1]->shape, n->attr.i[0], n->attr.i[1]);
    rc_sgemm_pack(d.tb, d.N, d.K, src, d.ldb, dst);
}

static rc_status matmul_fwd_packed(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    mm_dims d = dims_of(n->in[0]->shape, n->in[1]->shape, n->attr.i[0], n->attr.i[1]);
    rc_sgemm_packed(d.M, d.N, d.K, 1.0f, in[0], d.lda, in[1], 0.0f, out, d.N);
    return RC_OK;
}

/* A as the input projection of an RNN reads it: rows of steps [t0, t1) of
 * a leaf x (B, T, I) in time-major order, declared so by the layer with a
 * time_rows node (ops/shape.c, layers/rnn.c). For the weight gradient
 * Aᵀ dC the same rows are made again from x (rc_time_rows_again) when
 * backward needs them: otherwise the time-major copy of the input, made in
 * the forward pass, would live to the end of backward and sit on a
 * training step's memory peak (LSTM/GRU H 32 b32: 2·T·B·H floats, I = 64 >
 * H). The copy is chunk-sized and costs one pass over x per chunk. Any
 * other A is used as it is: only the declaration, never the shape of the
 * graph that made A, decides. */
static rc_node *rows_again(rc_graph *g, rc_node *a) {
    rc_node *r = rc_time_rows_again(g, a);
    return r ? r : a;
}

static void matmul_grad(rc_graph *g, rc_node *n, rc_node *dc, rc_node **dx) {
    rc_node *a = n->in[0], *b = n->in[1];
    bool ta = n->attr.i[0], tb = n->attr.i[1];
    if (!ta && !tb && a->shape.ndim == 2 && b->shape.ndim == 2) {
        dx[0] = rc_matmul(g, dc, b, false, true);
        dx[1] = rc_matmul(g, rows_again(g, a), dc, true, false);
        return;
    }
    if (b->shape.ndim == 2 && a->shape.ndim >= 3) {
        int64_t K = a->shape.dim[a->shape.ndim - 1], N = n->shape.dim[n->shape.ndim - 1];
        int64_t R = rc_shape_numel(a->shape) / K;
        rc_node *a2 = rc_reshape(g, a, RC_SHAPE(R, K)), *dc2 = rc_reshape(g, dc, RC_SHAPE(R, N));
        dx[0] = rc_matmul(g, dc, b, false, !tb);
        dx[1] = tb ? rc_matmul(g, dc2, a2, true, false) : rc_matmul(g, a2, dc2, true, false);
        return;
    }
    if (!ta && !tb) {
        dx[0] = rc_matmul(g, dc, b, false, true);
        dx[1] = rc_matmul(g, a, dc, true, false);
    } else if (ta && !tb) {
        dx[0] = rc_matmul(g, b, dc, false, true);
        dx[1] = rc_matmul(g, a, dc, false, false);
    } else if (!ta && tb) {
        dx[0] = rc_matmul(g, dc, b, false, false);
        dx[1] = rc_matmul(g, dc, a, true, false);
    } else {
        dx[0] = rc_matmul(g, b, dc, true, true);
        dx[1] = rc_matmul(g, dc, a, true, true);
    }
}

static void matmul_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "matmul%s%s", n->attr.i[0] ? " Aᵀ" : "", n->attr.i[1] ? " Bᵀ" : "");
}

static const rc_node *peel_reshape(const rc_node *x) {
    while (x->op == &rc_op_reshape) x = x->in[0];
    return x;
}

/* --- matmul_acc: acc + aᵀ b ------------------------------------------------
 * In place (RC_OPF_IN_PLACE): when the planner gives out acc's buffer the
 * GEMM adds onto it (beta = 1) and nothing is copied. Gradients: d acc = dy,
 * da = b dyᵀ, db = a dy. */
static bool acc_infer(rc_graph *g, rc_node *n) {
    for (int k = 0; k < 3; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape c = n->in[0]->shape, a = n->in[1]->shape, b = n->in[2]->shape;
    if (c.ndim != 2 || a.ndim != 2 || b.ndim != 2 || a.dim[0] != b.dim[0] || a.dim[1] != c.dim[0] ||
        b.dim[1] != c.dim[1]) {
        char sc[RC_SHAPE_STRLEN], sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "acc %s + a%s ᵀ · b%s: expected (M, N), (K, M), (K, N)",
                            rc_shape_str(c, sc, sizeof sc), rc_shape_str(a, sa, sizeof sa),
                            rc_shape_str(b, sb, sizeof sb));
    }
    n->shape = c;
    return true;
}

static rc_status acc_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    int64_t M = n->shape.dim[0], N = n->shape.dim[1], K = n->in[1]->shape.dim[0];
    if (out != in[0]) memcpy(out, in[0], (size_t)(M * N) * sizeof(float));
    rc_sgemm(true, false, M, N, K, 1.0f, in[1], M, in[2], N, 1.0f, out, N);
    return RC_OK;
}

static rc_status acc_ref(const rc_node *n, void *out, void *const *in, void *s) {
    (void)s;
    int64_t M = n->shape.dim[0], N = n->shape.dim[1], K = n->in[1]->shape.dim[0];
    const double *C = in[0], *A = in[1], *B = in[2];
    double *y = out;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double t = C[i * N + j];
            for (int64_t p = 0; p < K; p++) t += A[p * M + i] * B[p * N + j];
            y[i * N + j] = t;
        }
    return RC_OK;
}

static void acc_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = dy;
    dx[1] = rc_matmul(g, n->in[2], dy, false, true);
    dx[2] = rc_matmul(g, n->in[1], dy, false, false);
}

const rc_op rc_op_matmul_acc = {.name = "matmul_acc", .arity = 3, .flags = RC_OPF_IN_PLACE, .infer = acc_infer,
                                .forward = acc_fwd, .reference = acc_ref, .grad = acc_grad};

rc_node *rc_matmul_acc(rc_graph *g, rc_node *acc, rc_node *a, rc_node *b) {
    rc_node *in[3] = {acc, a, b};
    return rc_node_make(g, &rc_op_matmul_acc, in, 3, NULL, NULL);
}

/* Row chunks of the weight-gradient GEMMs: a group of small contributions
 * not already stacked is cut when its rows reach this many, or a quarter
 * of all their rows when that is less, but not under MIN_GROUP_ROWS
 * (batch 1: one group up to 64 steps, then groups of 64 steps or T / 4,
 * at most 256; batch 8 T 50: 13 steps a group). Enough rows for an efficient
 * GEMM; few enough that the group's stacks stay small. */
enum { GROUP_ROWS = 256, MIN_GROUP_ROWS = 64 };
/* A contribution of this many rows is its own group: its GEMM is efficient
 * enough alone (GRU b32: one per step, K = 32), and it needs no stack, so
 * nothing is copied and nothing more is kept. Below it (b1: K = 1, rank-1
 * products) contributions are stacked, GROUP_ROWS rows a group (fewer
 * when the rows are few: matmul_accumulate). */
enum { ALONE_ROWS = 32 };

/* A contribution whose B is a stack already (e.g. one projected chunk's)
 * or has ALONE_ROWS rows: its GEMM is a group of its own. */
static bool own_group(const rc_node *b) {
    const rc_node *pb = peel_reshape(b);
    return ((pb->op->flags & RC_OPF_CONCAT) && pb->attr.i[0] == 0 && pb->nin > 1) || b->shape.dim[0] >= ALONE_ROWS;
}

typedef struct mm_group {
    int anchor;    /* id after which the group's nodes may run */
    rc_node *a, *b; /* its factors: the group's part is aᵀ b */
} mm_group;

static int by_anchor(const void *a, const void *b) {
    int x = ((const mm_group *)a)->anchor, y = ((const mm_group *)b)->anchor;
    return (x > y) - (x < y);
}

/* A group's factors [A_1; ...; A_m] and [B_1; ...; B_m], made to run right
 * after `anchor` (rc_graph_schedule_after): as soon as its B are made, not
 * when the whole sum is known, so its stacks (and the activations the A
 * are views of) die there. `stack` (NULL: stack the bs here) holds the bs
 * as its pieces, in the order of as. */
static bool group_factors(rc_graph *g, mm_group *gr, rc_node **as, rc_node **bs, int m, rc_node *stack,
                          int64_t rows, int anchor) {
    rc_graph_schedule_after(g, rc_graph_node(g, anchor));
    int64_t N = stack ? stack->shape.dim[stack->shape.ndim - 1] : bs[0]->shape.dim[1];
    gr->anchor = anchor;
    gr->b = stack ? rc_reshape(g, stack, RC_SHAPE(rows, N)) : m == 1 ? bs[0] : rc_concat(g, bs, m, 0);
    gr->a = m == 1 ? as[0] : rc_concat(g, as, m, 0);
    rc_graph_schedule_after(g, NULL);
    return gr->a && gr->b;
}

/* sum_k A_kᵀ B_k = [A_1; ...; A_n]ᵀ [B_1; ...; B_n]: the per-step weight
 * gradients of an unrolled RNN become a few GEMMs over many steps each,
 * and only the factors (activations, per-step deltas) are kept instead of
 * n weight-sized products. Contributions are grouped:
 *   - those whose B are the pieces of an existing axis-0 concat (e.g. the
 *     stack of an LSTM's per-step dz that the input projection's gradient
 *     made, ops/shape.c pad_accumulate; one per projected chunk of steps,
 *     layers/rnn.c) read that stack as it is, their A stacked in its order;
 *   - the others, in the order given (backward's order), in groups of
 *     group_rows rows (GROUP_ROWS, or a quarter of theirs), each stacking
 *     its B and A.
 * Each group's GEMM runs as soon as its factors exist (group_factors),
 * adding onto the sum of the groups before it in place (matmul_acc), so
 * backward keeps one group's stacks and one weight-sized sum at a time and
 * the activations die as it passes them. With one
 * group (batch 1) this is the single GEMM over all steps. NULL unless
 * every contribution is 2-D Aᵀ·B with matching M, N. */
static rc_node *matmul_accumulate(rc_graph *g, rc_node *const *c, int n) {
    rc_node *a0 = c[0]->in[0], *b0 = c[0]->in[1];
    int64_t N = b0->shape.dim[1];
    int lo = rc_graph_node_count(g);
    for (int k = 0; k < n; k++) {
        rc_node *a = c[k]->in[0], *b = c[k]->in[1];
        if (!c[k]->attr.i[0] || c[k]->attr.i[1] || a->shape.ndim != 2 || b->shape.ndim != 2 ||
            a->shape.dim[1] != a0->shape.dim[1] || b->shape.dim[1] != N)
            return NULL;
        if (peel_reshape(b)->id < lo) lo = peel_reshape(b)->id;
    }
    int nn = rc_graph_node_count(g);
    int *idx = rc_malloc((size_t)(nn - lo) * sizeof *idx); /* contribution whose peeled b is node lo + i */
    int *grp = rc_malloc((size_t)n * sizeof *grp), *mark = rc_malloc((size_t)n * sizeof *mark);
    rc_node **as = rc_malloc((size_t)n * sizeof *as), **bs = rc_malloc((size_t)n * sizeof *bs), *r = NULL;
    mm_group *groups = rc_malloc((size_t)n * sizeof *groups);
    int ng = 0;
    if (!idx || !grp || !mark || !as || !bs || !groups) goto done;
    for (int i = 0; i < nn - lo; i++) idx[i] = -1;
    for (int k = 0; k < n; k++) {
        grp[k] = mark[k] = -1;
        int id = peel_reshape(c[k]->in[1])->id;
        if (idx[id - lo] < 0) idx[id - lo] = k; /* the same b twice: the second goes with the others */
    }
    /* stacks: concats newer than every b, whose pieces are all ours */
    for (int id = nn - 1; id > lo; id--) {
        rc_node *st = rc_graph_node(g, id);
        if (!(st->op->flags & RC_OPF_CONCAT) || st->attr.i[0] != 0 || st->dtype != RC_F32 || st->shape.dim[st->shape.ndim - 1] != N)
            continue;
        bool ok = true;
        int64_t rows = 0;
        for (int j = 0; j < st->nin && ok; j++) {
            int pid = peel_reshape(st->in[j])->id, k = pid >= lo ? idx[pid - lo] : -1;
            ok = k >= 0 && grp[k] < 0 && mark[k] != id && st->in[j]->shape.dim[st->in[j]->shape.ndim - 1] == N;
            if (ok) rows += c[k]->in[1]->shape.dim[0], mark[k] = id;
        }
        if (!ok) continue;
        for (int j = 0; j < st->nin; j++) {
            int k = idx[peel_reshape(st->in[j])->id - lo];
            grp[k] = ng;
            as[j] = c[k]->in[0];
        }
        if (!group_factors(g, &groups[ng++], as, NULL, st->nin, st, rows, id)) goto done;
    }
    /* the rest, in the order given: a B that is a stack already (e.g. one
     * projected chunk's) or has ALONE_ROWS rows alone, the others
     * group_rows at a time: GROUP_ROWS, or a quarter of their rows when
     * that is less (not under MIN_GROUP_ROWS). A group's stacks (its B
     * and A rows) wait beside the activations until its GEMM: one group of
     * a whole GRU h32 b4 T50 (200 rows of 3H) was 60 % of them. */
    int64_t rest_rows = 0; /* rows of the contributions to be grouped */
    for (int k = 0; k < n; k++) {
        if (grp[k] < 0 && !own_group(c[k]->in[1])) rest_rows += c[k]->in[1]->shape.dim[0];
    }
    int64_t group_rows = rest_rows / 4 < GROUP_ROWS ? rest_rows / 4 : GROUP_ROWS;
    if (group_rows < MIN_GROUP_ROWS) group_rows = MIN_GROUP_ROWS;
    for (int k = 0; k < n;) {
        if (grp[k] >= 0) {
            k++;
            continue;
        }
        int m = 0, anchor = 0;
        int64_t rows = 0;
        for (; k < n && rows < group_rows; k++) {
            if (grp[k] >= 0) continue;
            bool stacked = own_group(c[k]->in[1]);
            if (stacked && m > 0) break;
            as[m] = c[k]->in[0];
            bs[m] = c[k]->in[1];
            if (bs[m]->id > anchor) anchor = bs[m]->id;
            rows += bs[m++]->shape.dim[0];
            if (stacked) {
                k++;
                break;
            }
        }
        if (!group_factors(g, &groups[ng++], as, bs, m, NULL, rows, anchor)) goto done;
    }
    qsort(groups, (size_t)ng, sizeof *groups, by_anchor);
    for (int q = 0; q < ng; q++) {
        rc_graph_schedule_after(g, rc_graph_node(g, groups[q].anchor));
        r = q == 0 ? rc_matmul(g, groups[q].a, groups[q].b, true, false) : rc_matmul_acc(g, r, groups[q].a, groups[q].b);
        rc_graph_schedule_after(g, NULL);
        if (!r) break;
    }
done:
    rc_free(idx);
    rc_free(grp);
    rc_free(mark);
    rc_free(as);
    rc_free(bs);
    rc_free(groups);
    return r;
}

const rc_op rc_op_matmul = {.name = "matmul", .arity = 2, .infer = matmul_infer, .forward = matmul_fwd,
                            .reference = matmul_ref, .grad = matmul_grad, .accumulate = matmul_accumulate,
                            .label = matmul_label, .pack_bytes = matmul_pack_bytes, .pack = matmul_pack,
                            .forward_packed = matmul_fwd_packed};

rc_node *rc_matmul(rc_graph *g, rc_node *a, rc_node *b, bool trans_a, bool trans_b) {
    rc_node *in[2] = {a, b};
    rc_attr at = {.i = {trans_a, trans_b}};
    return rc_node_make(g, &rc_op_matmul, in, 2, &at, NULL);
}
