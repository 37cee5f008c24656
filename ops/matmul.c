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

static void matmul_grad(rc_graph *g, rc_node *n, rc_node *dc, rc_node **dx) {
    rc_node *a = n->in[0], *b = n->in[1];
    bool ta = n->attr.i[0], tb = n->attr.i[1];
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

/* An existing concat along axis 0 whose pieces are exactly the b_k (up to
 * reshapes, in any order), e.g. the stack of an LSTM's per-step dz that the
 * input projection's gradient already made (ops/shape.c pad_accumulate):
 * the weight-gradient GEMM then reads that stack instead of a second copy
 * of the same T·B·4U floats. On success perm[j] is the contribution whose
 * b is piece j. Scans the graph from the newest node: the stack, if any,
 * was made moments ago by the same rc_gradients call. */
static rc_node *find_stack(rc_graph *g, rc_node *const *bs, int n, int *perm) {
    int64_t N = bs[0]->shape.dim[1];
    unsigned char *seen = rc_calloc((size_t)n, 1);
    if (!seen) return NULL;
    rc_node *found = NULL;
    for (int id = rc_graph_node_count(g) - 1; id >= 0 && !found; id--) {
        rc_node *c = rc_graph_node(g, id);
        if (c->op != &rc_op_concat || c->nin != n || c->attr.i[0] != 0 || c->dtype != RC_F32 ||
            c->shape.dim[c->shape.ndim - 1] != N)
            continue;
        memset(seen, 0, (size_t)n);
        bool ok = true;
        for (int j = 0; j < n && ok; j++) {
            const rc_node *pj = peel_reshape(c->in[j]);
            int hit = -1;
            for (int k = 0; k < n && hit < 0; k++)
                if (!seen[k] && peel_reshape(bs[k]) == pj) hit = k;
            /* same data, and laid out as whole rows of width N */
            ok = hit >= 0 && c->in[j]->shape.dim[c->in[j]->shape.ndim - 1] == N;
            if (ok) seen[hit] = 1, perm[j] = hit;
        }
        if (ok) found = c;
    }
    rc_free(seen);
    return found;
}

/* sum_k A_kᵀ B_k = [A_1; ...; A_n]ᵀ [B_1; ...; B_n]: the per-step weight
 * gradients of an unrolled RNN become one GEMM over all steps, and only the
 * factors (activations, per-step deltas) are kept instead of n weight-sized
 * products. When the B_k are already stacked (find_stack), that stack is
 * read as it is and the A_k are stacked in its order. NULL unless every
 * contribution is 2-D Aᵀ·B with matching M, N. */
static rc_node *matmul_accumulate(rc_graph *g, rc_node *const *c, int n) {
    rc_node *a0 = c[0]->in[0], *b0 = c[0]->in[1];
    int64_t rows = 0;
    for (int k = 0; k < n; k++) {
        rc_node *a = c[k]->in[0], *b = c[k]->in[1];
        if (!c[k]->attr.i[0] || c[k]->attr.i[1] || a->shape.ndim != 2 || b->shape.ndim != 2 ||
            a->shape.dim[1] != a0->shape.dim[1] || b->shape.dim[1] != b0->shape.dim[1])
            return NULL;
        rows += b->shape.dim[0];
    }
    rc_node **as = rc_malloc((size_t)n * sizeof *as), **bs = rc_malloc((size_t)n * sizeof *bs), *r = NULL;
    int *perm = rc_malloc((size_t)n * sizeof *perm);
    if (as && bs && perm) {
        for (int k = 0; k < n; k++) as[k] = c[k]->in[0], bs[k] = c[k]->in[1];
        rc_node *stack = find_stack(g, bs, n, perm);
        if (stack) {
            for (int j = 0; j < n; j++) as[j] = c[perm[j]]->in[0];
            stack = rc_reshape(g, stack, RC_SHAPE(rows, b0->shape.dim[1]));
        } else {
            stack = rc_concat(g, bs, n, 0);
        }
        r = rc_matmul(g, rc_concat(g, as, n, 0), stack, true, false);
    }
    rc_free(as);
    rc_free(bs);
    rc_free(perm);
    return r;
}

const rc_op rc_op_matmul = {.name = "matmul", .arity = 2, .infer = matmul_infer, .forward = matmul_fwd,
                            .reference = matmul_ref, .grad = matmul_grad, .accumulate = matmul_accumulate,
                            .label = matmul_label};

rc_node *rc_matmul(rc_graph *g, rc_node *a, rc_node *b, bool trans_a, bool trans_b) {
    rc_node *in[2] = {a, b};
    rc_attr at = {.i = {trans_a, trans_b}};
    return rc_node_make(g, &rc_op_matmul, in, 2, &at, NULL);
}
