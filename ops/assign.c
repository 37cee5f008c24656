/* assign(target, value): target's storage = value, in place, as the last
 * step of a plan (side effect; see sgd_update for the scheduling rule). The
 * output is a dummy scalar. Used for stateful RNN states. */
#include <string.h>

#include "recur/op.h"
#include "recur/ops.h"

static bool assign_infer(rc_graph *g, rc_node *n) {
    rc_node *t = n->in[0];
    if (!(t->op->flags & RC_OPF_LEAF) || !t->value)
        return rc_node_fail(g, n, RC_ERR_ARG, "target '%s' (%s) is not an input or parameter", t->name, t->op->name);
    if (t->dtype != n->in[1]->dtype || !rc_shape_eq(t->shape, n->in[1]->shape)) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "value %s %s does not match target '%s' %s %s",
                            rc_dtype_name(n->in[1]->dtype), rc_shape_str(n->in[1]->shape, a, sizeof a), t->name,
                            rc_dtype_name(t->dtype), rc_shape_str(t->shape, b, sizeof b));
    }
    n->shape = RC_SCALAR;
    return true;
}

static rc_status assign_fwd(const rc_node *n, void *out, void *const *in, void *s) {
    memcpy(in[0], in[1], (size_t)rc_shape_numel(n->in[0]->shape) * rc_dtype_size(n->in[0]->dtype));
    *(float *)out = 0;
    return RC_OK;
}

static rc_status assign_ref(const rc_node *n, void *out, void *const *in, void *s) {
    size_t es = n->in[0]->dtype == RC_I32 ? sizeof(int32_t) : sizeof(double);
    memcpy(in[0], in[1], (size_t)rc_shape_numel(n->in[0]->shape) * es);
    *(double *)out = 0;
    return RC_OK;
}

const rc_op rc_op_assign = {.name = "assign", .arity = 2, .flags = RC_OPF_SIDE_EFFECT, .infer = assign_infer,
                            .forward = assign_fwd, .reference = assign_ref};

rc_node *rc_assign(rc_graph *g, rc_node *target, rc_node *value) {
    rc_node *in[2] = {target, value};
    return rc_node_make(g, &rc_op_assign, in, 2, NULL, NULL);
}
