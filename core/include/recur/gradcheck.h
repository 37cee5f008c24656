/* recur — gradient checking in double precision, and the reference
 * evaluator it runs on.
 *
 * The reference evaluator computes any set of nodes with each op's plain
 * double-precision reference kernel (float32 nodes in double, int32 as is),
 * reading leaves from its own double copies of their storage so a caller
 * can perturb them without touching the graph.
 */
#ifndef RECUR_GRADCHECK_H
#define RECUR_GRADCHECK_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_refeval rc_refeval;

/* NULL on error (recorded on the graph). Free with rc_refeval_free. */
rc_refeval *rc_refeval_new(rc_graph *g, rc_node *const *outputs, int n);
void rc_refeval_free(rc_refeval *r);
/* Evaluate every needed node in double. RC_ERR_ARG on out-of-range ids,
 * with the message (naming the op and node) in err (may be NULL). */
rc_status rc_refeval_run(rc_refeval *r, rc_error *err);
/* Value of any needed node after a run (double for F32 nodes); owned by r. */
const double *rc_refeval_f64(const rc_refeval *r, const rc_node *n);
const int32_t *rc_refeval_i32(const rc_refeval *r, const rc_node *n);
/* The evaluator's own double copy of a float leaf's storage, to perturb
 * (re-run to see the effect). Initialised from the leaf's float data. */
double *rc_refeval_leaf(rc_refeval *r, const rc_node *leaf);

typedef struct rc_gradcheck_opts {
    double eps;       /* central-difference step; 0 = 1e-6 */
    double atol;      /* 0 = 1e-6 */
    double rtol;      /* 0 = 1e-5 */
    int max_per_node; /* elements checked per wrt node, 0 = all; when
                         fewer than numel, exactly max_per_node of them,
                         evenly spread: floor(k numel / max), k < max */
} rc_gradcheck_opts;

typedef struct rc_gradcheck_result {
    double max_abs_err;  /* over all checked elements */
    double max_rel_err;  /* |a - n| / max(|n|, 1e-12), max over elements */
    int worst_node;      /* index into wrt of the worst element */
    int64_t worst_elem;
    double worst_analytic, worst_numeric;
    int64_t checked, failed;
} rc_gradcheck_result;

/* Check d loss / d wrt[i] against central finite differences of loss,
 * both in double precision. An element fails when |analytic - numeric| >
 * atol + rtol * |numeric|. Returns RC_OK when none failed, RC_ERR_NUMERIC
 * when some did (details in *res), or another status on a graph error.
 * opts may be NULL.
 *
 * The graph is left as it was found: the gradient nodes it builds (with
 * rc_gradients) are removed again before it returns, on success and on
 * every error, so repeated checks give the same results on the same graph
 * and draw, plan and differentiate it as before. A graph that already holds
 * an error is returned its status untouched. A graph error met during the
 * check (bad wrt, an op without a gradient, out of memory) stays recorded on
 * g so rc_graph_error can say what it was; the nodes are still removed, so
 * after rc_graph_clear_error the graph is as before the call. */
rc_status rc_gradcheck(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n,
                       const rc_gradcheck_opts *opts, rc_gradcheck_result *res);

#ifdef __cplusplus
}
#endif
#endif
