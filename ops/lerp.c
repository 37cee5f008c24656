/* lerp(w, a, b) = b + w (a - b) = w a + (1 - w) b, elementwise, all three
 * of one shape: the GRU's blend of the previous state and the candidate,
 * h' = z h + (1 - z) hh = lerp(z, h, hh), in one kernel.
 *
 * Gradients: dw = dy (a - b)   da = dy w   db = dy - da.
 * Built from ops, so backward keeps only w, a and b (which an RNN keeps
 * anyway: the gate, the previous state and the candidate); a - b is
 * recomputed there and dies at once. The forms hh + z (h - hh) or
 * z h + (1 - z) hh written from plain ops each keep one more value per step
 * (h - hh or 1 - z), and (hh + z h) - z hh keeps none but runs five more
 * small kernels a step. */
#include "ops_list.h"
#include "recur/op.h"
#include "recur/ops.h"

static bool lerp_infer(rc_graph *g, rc_node *n) {
    for (int k = 0; k < 3; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape w = n->in[0]->shape;
    for (int k = 1; k < 3; k++)
        if (!rc_shape_eq(n->in[k]->shape, w)) {
            char sw[RC_SHAPE_STRLEN], sa[RC_SHAPE_STRLEN], sb[RC_SHAPE_STRLEN];
            return rc_node_fail(g, n, RC_ERR_SHAPE, "w %s, a %s and b %s must have one shape (no broadcasting)",
                                rc_shape_str(w, sw, sizeof sw), rc_shape_str(n->in[1]->shape, sa, sizeof sa),
                                rc_shape_str(n->in[2]->shape, sb, sizeof sb));
        }
    n->shape = w;
    return true;
}

#define LERP_KERNEL(name, T)                                                       \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {  \
        (void)s;                                                                   \
        const T *restrict w = in[0], *restrict a = in[1], *restrict b = in[2];     \
        T *restrict y = out;                                                       \
        int64_t N = rc_shape_numel(n->shape);                                      \
        for (int64_t i = 0; i < N; i++) y[i] = b[i] + w[i] * (a[i] - b[i]);        \
        return RC_OK;                                                              \
    }
LERP_KERNEL(lerp_fwd, float)
LERP_KERNEL(lerp_ref, double)

static void lerp_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    rc_node *w = n->in[0], *a = n->in[1], *b = n->in[2];
    dx[0] = rc_mul(g, dy, rc_sub(g, a, b));
    dx[1] = rc_mul(g, dy, w);
    dx[2] = rc_sub(g, dy, dx[1]);
}

const rc_op rc_op_lerp = {.name = "lerp", .arity = 3, .infer = lerp_infer, .forward = lerp_fwd,
                          .reference = lerp_ref, .grad = lerp_grad};

rc_node *rc_lerp(rc_graph *g, rc_node *w, rc_node *a, rc_node *b) {
    rc_node *in[3] = {w, a, b};
    return rc_node_make(g, &rc_op_lerp, in, 3, NULL, NULL);
}
