/* recur — plan, then run.
 *
 * rc_plan_new compiles the nodes needed for a set of outputs into a schedule
 * (topological order, only the nodes needed) and assigns every intermediate
 * value a slice of one arena, reusing memory once a value is dead. Views
 * (reshape, contiguous slices) alias their source. rc_plan_run then executes
 * the kernels with no allocation and no graph walking, as often as wanted,
 * reading inputs and parameters from their node storage each time.
 *
 * Ownership: the plan owns its arena and schedule; it borrows the graph,
 * which must outlive it and must not gain nodes the plan needs after
 * planning (new nodes are fine; plan again to include them).
 */
#ifndef RECUR_PLAN_H
#define RECUR_PLAN_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_plan rc_plan;

/* NULL on error (recorded on the graph: NULL/poisoned outputs, a graph with
 * an error, an output of a side-effect op used as input...). */
rc_plan *rc_plan_new(rc_graph *g, rc_node *const *outputs, int n);
void rc_plan_free(rc_plan *p);

/* Run the schedule once. Returns RC_OK, or RC_ERR_ARG when a gather met an
 * out-of-range id, RC_ERR_NUMERIC when a finiteness check failed, with the
 * message (naming the op and node) in err (may be NULL). Allocates
 * nothing. (rc_plan_error is gone: the message is in err.) */
rc_status rc_plan_run(rc_plan *p, rc_error *err);

/* Value of an output node after a run: data owned by the plan, valid until
 * the next run or rc_plan_free. NULL for a node that is not an output. */
const float *rc_plan_f32(const rc_plan *p, const rc_node *out);
const void *rc_plan_data(const rc_plan *p, const rc_node *out);

/* Bytes the plan holds for intermediate values and scratch (the arena). */
size_t rc_plan_peak_bytes(const rc_plan *p);
/* Of those, the bytes held by packed copies of operands (a recurrent
 * kernel read by every step, within the plan's memory budget; see
 * docs/architecture.md, plan step 5); 0 when nothing is packed. */
size_t rc_plan_packed_bytes(const rc_plan *p);
/* Number of kernels a run executes (views and leaves are not kernels). */
int rc_plan_steps(const rc_plan *p);
/* The node whose kernel is step k of a run (0 <= k < rc_plan_steps), NULL
 * out of range: e.g. to count the kernels of one op (rc_node_op). */
const rc_node *rc_plan_step_node(const rc_plan *p, int k);

/* --- hooks ------------------------------------------------------------------
 * A hook is a function the run calls between two kernels, on the thread
 * that called rc_plan_run, with the node and its value's storage in the
 * plan (writable: a hook may rewrite the value in place, e.g. replace a
 * gradient by its sum over processes, train/'s rc_trainer_set_comm).
 *
 *   on_ready:  right after the last kernel that writes the node's value
 *              (its own kernel; for a view, the kernel of what it views; a
 *              leaf: before the first kernel). From then on the value is
 *              final for this run.
 *   on_needed: right before the first kernel that reads the node (or a
 *              view of it); after the last kernel when nothing reads it.
 *
 * The schedule knows both points when it is made, so a run pays one
 * comparison per kernel for them. Between a node's ready and needed points
 * its storage is held for it (nothing else is placed there). Hooks at the
 * same point run in the order they were added. A hook that returns non-OK
 * stops the run with that status (its message in the run's err, which the
 * hook fills). The node must be one the plan computes or reads
 * (RC_ERR_ARG otherwise); at most 65536 hooks per plan. */
typedef rc_status (*rc_plan_hook)(void *user, const rc_node *node, void *data, rc_error *err);
rc_status rc_plan_on_ready(rc_plan *p, const rc_node *node, rc_plan_hook fn, void *user, rc_error *err);
rc_status rc_plan_on_needed(rc_plan *p, const rc_node *node, rc_plan_hook fn, void *user, rc_error *err);
/* Remove every hook. */
void rc_plan_clear_hooks(rc_plan *p);

#ifdef __cplusplus
}
#endif
#endif
