/* Plain SGD update, run in place as the last step of a plan:
 *   param -= lr * grad
 * The output is a dummy scalar; the planner schedules side-effect ops after
 * every other node, so all readers of the parameter see the old value. */
#include "recur/op.h"
#include "recur/ops.h"

static bool sgd_infer(rc_graph *g, rc_node *n) {
    if (!n->in[0]->is_param)
        return rc_node_fail(g, n, RC_ERR_ARG, "input 0 '%s' (%s) is not a parameter", n->in[0]->name,
                            n->in[0]->op->name);
    if (!rc_require_dtype(g, n, 1, RC_F32)) return false;
    if (!rc_shape_eq(n->in[0]->shape, n->in[1]->shape)) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "gradient %s does not match parameter '%s' %s",
                            rc_shape_str(n->in[1]->shape, a, sizeof a), n->in[0]->name,
                            rc_shape_str(n->in[0]->shape, b, sizeof b));
    }
    n->shape = RC_SCALAR;
    return true;
}

#define SGD_KERNEL(name, T)                                                            \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        T *p = in[0];                                                                  \
        const T *gr = in[1];                                                           \
        T lr = (T)n->attr.f[0];                                                        \
        for (int64_t i = 0, N = rc_shape_numel(n->in[0]->shape); i < N; i++) p[i] -= lr * gr[i]; \
        *(T *)out = 0;                                                                 \
        return RC_OK;                                                                  \
    }
SGD_KERNEL(sgd_fwd, float)
SGD_KERNEL(sgd_ref, double)

static void sgd_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "sgd_update lr %g", n->attr.f[0]);
}

const rc_op rc_op_sgd_update = {.name = "sgd_update", .arity = 2, .flags = RC_OPF_SIDE_EFFECT,
                                .infer = sgd_infer, .forward = sgd_fwd, .reference = sgd_ref,
                                .label = sgd_label};

rc_node *rc_apply_gradient_descent(rc_graph *g, rc_node *param, rc_node *grad, float lr) {
    rc_node *in[2] = {param, grad};
    rc_attr a = {.f = {lr}};
    return rc_node_make(g, &rc_op_sgd_update, in, 2, &a, NULL);
}
