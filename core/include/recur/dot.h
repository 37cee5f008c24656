/* recur — drawing graphs: DOT text (rendering it is recur/render.h, in
 * librecur-io).
 *
 * Any graph can be drawn — forward, gradient, or both — at three levels:
 *   RC_DOT_OP     every node; clusters from scopes (model → layer → time
 *                 step t<k> → gate), gradient nodes in their own
 *                 "gradients" cluster tree mirroring the forward scopes;
 *   RC_DOT_CELL   like OP, but each time step (a scope named t<k>) is one
 *                 box, with its inputs, outputs and the recurrent edges
 *                 between steps; parameters stay single nodes, drawn once
 *                 with an edge to every step that uses them;
 *   RC_DOT_LAYER  rolled: one box per layer (like Keras plot_model), its
 *                 parameters listed in the box.
 *
 * The output is deterministic: the same graph and options give
 * byte-identical DOT. Node IDs are "<scope path>/<name>#<node id>" (node
 * ids are creation order, never pointers); gradient nodes are prefixed
 * "grad:". Labels are escaped, so any node name gives valid DOT.
 *
 * Errors: every call that can fail returns an rc_status and fills the
 * caller's rc_error (may be NULL; docs/errors.md). Nothing here prints.
 * (rc_dot_error, the thread-local message of earlier versions, is gone.)
 */
#ifndef RECUR_DOT_H
#define RECUR_DOT_H

#include <stdio.h>

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rc_dot_level {
    RC_DOT_OP = 0, /* every node */
    RC_DOT_CELL,   /* one box per cell step per time step */
    RC_DOT_LAYER,  /* one box per layer (rolled) */
} rc_dot_level;

typedef struct rc_dot_options {
    rc_dot_level level;
    /* Draw gradient nodes (appended by rc_gradients). Default true. */
    bool gradients;
    /* Draw only what these nodes need (themselves and their ancestors),
     * plus what `grads` below need; NULL = the whole graph. */
    rc_node *const *outputs;
    int noutputs;
    /* Keep only the gradient paths to chosen parameters: pass the gradient
     * nodes rc_gradients returned for them (grads) and optionally the
     * parameters themselves (grad_params, same length, for labels).
     * Gradient nodes those gradients do not need are not drawn. NULL = all
     * gradient nodes. */
    rc_node *const *grads;
    rc_node *const *grad_params;
    int ngrads;
    /* Long sequences: draw the first k and last k time steps of each layer
     * and one ellipsis node for the steps between. 0 = every step. */
    int steps_shown;
    const char *title;   /* graph label; NULL = none */
    const char *rankdir; /* "TB" (default, NULL), "LR", "BT" or "RL" */
} rc_dot_options;

/* Defaults: op level, gradients drawn, whole graph, every step. */
rc_dot_options rc_dot_defaults(void);

/* Write the DOT text of g (options NULL = defaults) to f. RC_ERR_ARG on
 * bad options (naming the option), RC_ERR_IO when writing fails,
 * RC_ERR_NOMEM; the message in err. A graph holding a build error is
 * drawn as it stands. */
rc_status rc_dot_write(const rc_graph *g, const rc_dot_options *o, FILE *f, rc_error *err);

/* The same text in a new NUL-terminated buffer (free with rc_free); *len
 * (may be NULL) gets its length. On error *out is NULL. */
rc_status rc_dot_string(const rc_graph *g, const rc_dot_options *o, char **out, size_t *len, rc_error *err);

/* "dot", "svg", "png" or "pdf" from a path's extension (case-insensitive;
 * .gv counts as dot), or NULL. */
const char *rc_dot_format_of(const char *path);

/* "op", "cell", "layer" <-> the level; parse returns false if unknown. */
bool rc_dot_level_parse(const char *name, rc_dot_level *out);
const char *rc_dot_level_name(rc_dot_level level);

/* The DOT ID of a node at op level (the string inside the quotes), e.g.
 * "lstm/t3/forget_gate/forget_gate#57" or "grad:lstm/t3/...#120".
 * Returns buf. */
char *rc_dot_node_id(const rc_node *n, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
