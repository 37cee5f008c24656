/* Embedding lookup and its adjoint.
 *   gather(W (V, D), ids S) -> (S..., D):  y[j] = W[ids[j]]       dW = scatter_add(dy, ids, V)
 *   scatter_add(x (S..., D), ids S, V) -> (V, D): y[ids[j]] += x[j]  dx = gather(dy, ids)
 * An id outside [0, V) contributes nothing (zero row for gather) and makes
 * the kernel report RC_ERR_ARG, which stops the plan's run. */
#include <string.h>

#include "recur/op.h"
#include "recur/ops.h"

static bool ids_fit(rc_graph *g, rc_node *n, rc_shape x, rc_shape ids, const char *what) {
    bool ok = x.ndim == ids.ndim + 1;
    for (int k = 0; ok && k < ids.ndim; k++) ok = x.dim[k] == ids.dim[k];
    if (ok) return true;
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    return rc_node_fail(g, n, RC_ERR_SHAPE, "%s %s does not match ids %s plus a feature axis", what,
                        rc_shape_str(x, a, sizeof a), rc_shape_str(ids, b, sizeof b));
}

static bool gather_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_I32)) return false;
    rc_shape t = n->in[0]->shape, ids = n->in[1]->shape;
    char a[RC_SHAPE_STRLEN];
    if (t.ndim != 2)
        return rc_node_fail(g, n, RC_ERR_SHAPE, "table must be 2-D (V, D), got %s", rc_shape_str(t, a, sizeof a));
    if (ids.ndim >= RC_MAX_DIMS)
        return rc_node_fail(g, n, RC_ERR_SHAPE, "ids of rank %d leave no room for the feature axis", ids.ndim);
    n->shape = ids;
    n->shape.dim[n->shape.ndim++] = t.dim[1];
    return true;
}

#define GATHER_KERNEL(name, T)                                                         \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        int64_t V = n->in[0]->shape.dim[0], D = n->in[0]->shape.dim[1];                \
        int64_t R = rc_shape_numel(n->in[1]->shape);                                   \
        const T *w = in[0];                                                            \
        const int32_t *ids = in[1];                                                    \
        T *y = out;                                                                    \
        rc_status st = RC_OK;                                                          \
        for (int64_t r = 0; r < R; r++) {                                              \
            if (ids[r] < 0 || ids[r] >= V) {                                           \
                memset(y + r * D, 0, (size_t)D * sizeof(T));                           \
                st = RC_ERR_ARG;                                                       \
            } else {                                                                   \
                memcpy(y + r * D, w + (int64_t)ids[r] * D, (size_t)D * sizeof(T));     \
            }                                                                          \
        }                                                                              \
        return st;                                                                     \
    }
GATHER_KERNEL(gather_fwd, float)
GATHER_KERNEL(gather_ref, double)

static void gather_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_scatter_add(g, dy, n->in[1], n->in[0]->shape.dim[0]);
}

const rc_op rc_op_gather = {.name = "gather", .arity = 2, .infer = gather_infer, .forward = gather_fwd,
                            .reference = gather_ref, .grad = gather_grad};

rc_node *rc_gather(rc_graph *g, rc_node *table, rc_node *ids) {
    rc_node *in[2] = {table, ids};
    return rc_node_make(g, &rc_op_gather, in, 2, NULL, NULL);
}

bool rc_gather_parts(const rc_node *n, rc_node **table, rc_node **ids) {
    if (!n || n->op != &rc_op_gather) return false;
    if (table) *table = n->in[0];
    if (ids) *ids = n->in[1];
    return true;
}

static bool scatter_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_I32)) return false;
    if (!ids_fit(g, n, n->in[0]->shape, n->in[1]->shape, "values")) return false;
    if (n->attr.i[0] < 1)
        return rc_node_fail(g, n, RC_ERR_ARG, "vocabulary size %lld must be >= 1", (long long)n->attr.i[0]);
    rc_shape x = n->in[0]->shape;
    n->shape = RC_SHAPE(n->attr.i[0], x.dim[x.ndim - 1]);
    return true;
}

#define SCATTER_KERNEL(name, T)                                                        \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        int64_t V = n->shape.dim[0], D = n->shape.dim[1];                              \
        int64_t R = rc_shape_numel(n->in[1]->shape);                                   \
        const T *x = in[0];                                                            \
        const int32_t *ids = in[1];                                                    \
        T *y = out;                                                                    \
        rc_status st = RC_OK;                                                          \
        memset(y, 0, (size_t)(V * D) * sizeof(T));                                     \
        for (int64_t r = 0; r < R; r++) {                                              \
            if (ids[r] < 0 || ids[r] >= V) {                                           \
                st = RC_ERR_ARG;                                                       \
                continue;                                                              \
            }                                                                          \
            T *yr = y + (int64_t)ids[r] * D;                                           \
            const T *xr = x + r * D;                                                   \
            for (int64_t k = 0; k < D; k++) yr[k] += xr[k];                            \
        }                                                                              \
        return st;                                                                     \
    }
SCATTER_KERNEL(scatter_fwd, float)
SCATTER_KERNEL(scatter_ref, double)

static void scatter_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    dx[0] = rc_gather(g, dy, n->in[1]);
}

const rc_op rc_op_scatter_add = {.name = "scatter_add", .arity = 2, .infer = scatter_infer,
                                 .forward = scatter_fwd, .reference = scatter_ref, .grad = scatter_grad};

rc_node *rc_scatter_add(rc_graph *g, rc_node *x, rc_node *ids, int64_t vocab) {
    rc_node *in[2] = {x, ids};
    rc_attr a = {.i = {vocab}};
    return rc_node_make(g, &rc_op_scatter_add, in, 2, &a, NULL);
}
