/* recur — reverse-mode automatic differentiation that builds graphs.
 *
 * rc_gradients walks the nodes `loss` depends on in reverse topological
 * order and appends, for each, the nodes its op's gradient builder emits.
 * The result is an ordinary part of the same graph: it can be planned, run,
 * drawn, and differentiated again (second order). Gradients of a node used
 * several times are summed (rc_add_n). Appended nodes are flagged
 * rc_node_is_gradient() and carry the scope of the forward node they
 * differentiate.
 */
#ifndef RECUR_AUTODIFF_H
#define RECUR_AUTODIFF_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* d loss / d wrt[i] for i < n, written to grads[i] (owned by the graph).
 * `loss` must be a float scalar (shape () or all dims 1). A wrt node that
 * loss does not depend on gets a zero-filled gradient node. On error
 * (non-scalar loss, NULL argument, a wrt that is int32) records it on the
 * graph, sets every grads[i] to NULL and returns the status. */
rc_status rc_gradients(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n,
                       rc_node **grads);

/* Vector-Jacobian product: like rc_gradients with the seed dL/dy = `seed`
 * (same shape as y) instead of 1; y need not be scalar. */
rc_status rc_vjp(rc_graph *g, rc_node *y, rc_node *seed, rc_node *const *wrt,
                 int n, rc_node **grads);

/* What rc_gradients and rc_vjp made: one record per wrt node of every
 * successful call, in call order. The graph keeps them (as long as the
 * nodes live) so tools can name the final gradients: rc_dot labels `grad`
 * "∂L/∂<wrt path>" and prunes what neither the loss nor a gradient needs. */
typedef struct rc_gradient_record {
    rc_node *loss; /* the loss (rc_vjp: y) */
    rc_node *wrt;  /* the node differentiated against */
    rc_node *grad; /* d loss / d wrt, as returned in grads[i] */
} rc_gradient_record;

/* Write up to max records to out (may be NULL) and return their number. */
int rc_graph_gradients(const rc_graph *g, rc_gradient_record *out, int max);

#ifdef __cplusplus
}
#endif
#endif
