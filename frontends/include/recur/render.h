/* recur — rendering graphs with Graphviz (librecur-io).
 *
 * Rendering uses libgvc/libcgraph in-process (no `dot` executable);
 * Graphviz itself is not thread-safe, so render from one thread at a time.
 * The first render loads Graphviz' plugins into one context kept for the
 * process. Errors: an rc_status, with the message in the caller's rc_error
 * (may be NULL; docs/errors.md); Graphviz' own messages are captured into
 * it, never printed.
 */
#ifndef RECUR_RENDER_H
#define RECUR_RENDER_H

#include "recur/dot.h"
#include "recur/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lay out DOT text with Graphviz' dot engine and render it in-process to
 * "svg", "png" or "pdf" in a new buffer (free with rc_free). RC_ERR_ARG for
 * an unknown format, RC_ERR_FORMAT when Graphviz rejects the text or fails
 * (its message in err). */
rc_status rc_dot_render(const char *dot, const char *format, char **out, size_t *len, rc_error *err);

/* Draw g to a file whose format is given by its extension: .dot or .gv
 * (the DOT text), .svg, .png or .pdf (rendered). RC_ERR_ARG for an unknown
 * extension, RC_ERR_IO when the file cannot be written. The file is
 * written whole or not at all: the text goes to a temporary file next to
 * it that replaces it only once complete, so a failure leaves an existing
 * file as it was. */
rc_status rc_dot_save(const rc_graph *g, const rc_dot_options *o, const char *path, rc_error *err);

/* The same for DOT text made elsewhere (e.g. recur/model.h's
 * rc_model_dot_string): written as is for .dot/.gv, else rendered. */
rc_status rc_dot_save_text(const char *dot, const char *path, rc_error *err);

/* --- the explorer page -------------------------------------------------------------------- */

/* One self-contained HTML file (no network, no external script or style:
 * everything inline) showing g at the three levels, drawn by Graphviz to
 * SVG when the page is written; the page's own script only shows and
 * switches them. It opens at layer level; clicking a layer opens the cell
 * level at that layer, clicking a step opens the op level at that step; a
 * toggle shows the same level with the gradient graph (when g holds
 * rc_gradients' nodes); hovering a node shows its op, shape and dtype, and
 * for parameters and constants a summary of their values (min, max, mean,
 * standard deviation, histogram); search by name; pan and zoom. Opening it
 * as PAGE.html#selftest clicks through the levels itself and writes
 * PASS/FAIL lines into <pre id="selftest"> (the browser test reads them).
 *
 * Each level is drawn once (twice with gradients): long sequences stay
 * small when the levels fold their steps (steps_shown). The page is
 * byte-deterministic: the same graph and options give the same file. */
typedef struct rc_explorer_options {
    const char *title; /* page title and heading; NULL = "recur" */
    /* The drawing of each level, indexed by rc_dot_level (RC_DOT_OP,
     * RC_DOT_CELL, RC_DOT_LAYER): steps_shown, title, rankdir, outputs,
     * grads...; the explorer sets level and gradients itself. */
    rc_dot_options levels[3];
    /* Draw the gradient views (if g has gradient nodes). Default true. */
    bool gradients;
} rc_explorer_options;

/* Defaults: title NULL, every level rc_dot_defaults() with steps_shown 3
 * (a sequence longer than 6 steps is drawn as its first and last 3 steps
 * and an ellipsis), gradients true. */
rc_explorer_options rc_explorer_defaults(void);

/* The page in a new NUL-terminated buffer (free with rc_free). model may be
 * NULL; given, the page carries its summary table. Errors as rc_dot_render
 * (RC_ERR_ARG, RC_ERR_FORMAT, RC_ERR_NOMEM), the message in err. */
rc_status rc_explorer_string(const rc_graph *g, const rc_model *model, const rc_explorer_options *o, char **out,
                             size_t *len, rc_error *err);

/* The page to path, written whole or not at all (as rc_dot_save). */
rc_status rc_explorer_write(const rc_graph *g, const rc_model *model, const rc_explorer_options *o,
                            const char *path, rc_error *err);

#ifdef __cplusplus
}
#endif
#endif
