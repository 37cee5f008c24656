/* Internal interfaces shared by the files of core/ (not installed). */
#ifndef RECUR_CORE_INTERNAL_H
#define RECUR_CORE_INTERNAL_H

#include <stdio.h>
#include "recur/op.h"

struct rc_graph {
    rc_node **nodes; /* nodes[id], creation order */
    int nnodes, cap;
    rc_status status;
    char err[1024];
    char *scope;         /* current path, "" at top */
    size_t scope_len, scope_cap;
    size_t *scope_marks; /* scope_len before each push */
    int scope_depth, scope_marks_cap;
    /* While grad_scope is set, new nodes are gradient nodes in that scope. */
    const char *grad_scope;
    bool no_fusion; /* builders emit plain ops instead of fused ones */
    int anchor;     /* -1, or the `after` of new nodes (rc_graph_schedule_after) */
    /* What rc_gradients/rc_vjp made, as node ids {loss, wrt, grad}, in call
     * order: kept on the graph so drawings (and anyone) can tell a final
     * d loss/d param from the intermediate gradient nodes without being
     * handed the arrays rc_gradients returned. */
    int (*grad_rec)[3];
    int ngrad_rec, grad_rec_cap;
};

/* Remove every node with id >= mark (those made after rc_graph_node_count
 * returned mark), freeing their storage and names. Safe because nodes are
 * made in id order and only reference lower ids, so no remaining node can
 * point at a removed one. For callers such as rc_gradcheck that build
 * scratch nodes and must leave the graph as they found it. The recorded
 * error, if any, is left alone: its message is a copy, and the caller
 * decides whether it stays. */
void rc_graph_truncate(rc_graph *g, int mark);

/* Leaf and core ops (core/core_ops.c). */
extern const rc_op rc_op_input, rc_op_param, rc_op_const, rc_op_fill, rc_op_add_n;

/* Element strides of a row-major shape. */
static inline void rc_strides(rc_shape s, int64_t *st) {
    int64_t acc = 1;
    for (int i = s.ndim - 1; i >= 0; i--) {
        st[i] = acc;
        acc *= s.dim[i];
    }
}

#endif
