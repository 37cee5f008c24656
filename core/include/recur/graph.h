/* recur — computation graphs.
 *
 * A graph owns its nodes; a node lives as long as its graph. Nodes are
 * created in topological order (a node's inputs always exist before it),
 * so node ids give a valid execution order.
 *
 * Errors: a builder that fails records the first error on the graph (a
 * message naming the node, op and shapes) and returns NULL. A builder given
 * a NULL input on a graph that already has an error returns NULL quietly, so
 * a whole model can be built and checked once with rc_graph_error(). Builders
 * never print, exit or abort. Calls that are not builders report through an
 * rc_error instead (recur/base.h, docs/errors.md).
 */
#ifndef RECUR_GRAPH_H
#define RECUR_GRAPH_H

#include <stdio.h>

#include "recur/base.h"
#include "recur/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_graph rc_graph;
typedef struct rc_node rc_node;
typedef struct rc_op rc_op;

/* New empty graph; free with rc_graph_free (frees every node and the
 * storage of inputs, parameters and constants). NULL on out of memory. */
rc_graph *rc_graph_new(void);
void rc_graph_free(rc_graph *g);

/* First error recorded on the graph, or NULL. The string is owned by the
 * graph and valid until rc_graph_clear_error or rc_graph_free. */
const char *rc_graph_error(const rc_graph *g);
rc_status rc_graph_status(const rc_graph *g);
/* The graph's error, if any, into e (may be NULL) as `where` failing: for
 * callers that build and then report through an rc_error. Returns the
 * graph's status; e is untouched when it is RC_OK. */
rc_status rc_error_from_graph(rc_error *e, const rc_graph *g, const char *where);
void rc_graph_clear_error(rc_graph *g);
/* Record an error (printf format) unless one is already recorded. Used by
 * builders, layers and user cells; returns NULL for convenient tail calls. */
rc_node *rc_graph_fail(rc_graph *g, rc_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fusion (default on): layers may emit fused ops for known patterns, e.g.
 * one lstm_cell op per LSTM step instead of its gates. Turn it off before
 * building to get the plain ops: every gate drawn by rc_dot, and gradient
 * graphs that can be differentiated again (fused gradient ops have no
 * gradient of their own; rc_gradients reports them). Same values either way. */
void rc_graph_set_fusion(rc_graph *g, bool on);
bool rc_graph_fusion(const rc_graph *g);

int rc_graph_node_count(const rc_graph *g);
rc_node *rc_graph_node(const rc_graph *g, int id);

/* Scopes name the nodes created while they are pushed: with "lstm_1" and
 * "t3" pushed, a node named "forget_gate" has the path
 * "lstm_1/t3/forget_gate". A name may not contain '/'. Push returns false
 * (and records an error) on a bad name. */
bool rc_scope_push(rc_graph *g, const char *name);
void rc_scope_pop(rc_graph *g);
/* Current scope path ("" at top level); owned by the graph, valid until the
 * next push/pop. */
const char *rc_scope_path(const rc_graph *g);

/* --- leaves ------------------------------------------------------------ */

/* An input fed before each run: write its data through rc_node_data(). */
rc_node *rc_input(rc_graph *g, const char *name, rc_dtype dtype, rc_shape shape);
/* An input whose storage is the caller's memory `data` (numel elements of
 * dtype, row-major, aligned for the dtype), read in place at every run: no
 * copy is made, so writing to `data` changes the next run's input. The
 * caller keeps `data` alive and unmoved for the graph's life (the graph
 * never frees it). Bindings (the Python package) use it to share NumPy
 * arrays; NULL data is an error recorded on the graph. */
rc_node *rc_input_borrowed(rc_graph *g, const char *name, rc_dtype dtype, rc_shape shape, void *data);
/* A trainable parameter, zero-initialised; set values via rc_node_data() or
 * rc_node_set(). */
rc_node *rc_param(rc_graph *g, const char *name, rc_shape shape);
/* A constant holding a copy of `values` (numel floats), or zeros if NULL. */
rc_node *rc_const(rc_graph *g, rc_shape shape, const float *values);
rc_node *rc_const_i32(rc_graph *g, rc_shape shape, const int32_t *values);
/* A constant filled with one value (materialised by the planner, no storage). */
rc_node *rc_fill(rc_graph *g, rc_shape shape, float value);

/* Sum of n >= 1 same-shape float nodes (autodiff sums gradient
 * contributions with it). */
rc_node *rc_add_n(rc_graph *g, rc_node *const *xs, int n);

/* --- node inspection --------------------------------------------------- */

int rc_node_id(const rc_node *n);
rc_graph *rc_node_graph(const rc_node *n);
const rc_op *rc_node_op(const rc_node *n);
const char *rc_node_op_name(const rc_node *n);
rc_dtype rc_node_dtype(const rc_node *n);
rc_shape rc_node_shape(const rc_node *n);
int64_t rc_node_numel(const rc_node *n);
int rc_node_ninputs(const rc_node *n);
rc_node *rc_node_input(const rc_node *n, int i);
/* The node's own name (e.g. "forget_gate", "kernel", or the op name). */
const char *rc_node_name(const rc_node *n);
/* Scope path the node was created under ("" at top level). */
const char *rc_node_scope(const rc_node *n);
/* "scope/name" into buf; returns buf. */
char *rc_node_path(const rc_node *n, char *buf, size_t len);
/* Give a node a new own name (e.g. "forget_gate"); '/' is not allowed. */
bool rc_node_rename(rc_node *n, const char *name);
/* True for nodes appended by rc_gradients. */
bool rc_node_is_gradient(const rc_node *n);
bool rc_node_is_param(const rc_node *n);
bool rc_node_is_input(const rc_node *n);
bool rc_node_is_leaf(const rc_node *n); /* input, param or constant */

/* Storage of an input, parameter or constant (NULL for other nodes): owned
 * by the graph, stable for the graph's life, so plans read it directly. */
rc_tensor *rc_node_value(rc_node *n);
void *rc_node_data(rc_node *n);
/* Copy numel floats into an input/param/const; records an error and returns
 * false on a non-leaf or dtype mismatch. */
bool rc_node_set(rc_node *n, const float *values);
bool rc_node_set_i32(rc_node *n, const int32_t *values);

/* Random generator state of a node whose op draws at every run (a
 * dropout mask: RC_OPF_RNG_STATE), so a checkpoint can carry it and a
 * resumed run draws the same masks. Both return false for other nodes. */
bool rc_node_rng_state(const rc_node *n, uint64_t state[4]);
bool rc_node_set_rng_state(rc_node *n, const uint64_t state[4]);

/* All parameters of the graph in creation order, written to out (up to
 * max); returns the total count. */
int rc_graph_params(const rc_graph *g, rc_node **out, int max);

#ifdef __cplusplus
}
#endif
#endif
