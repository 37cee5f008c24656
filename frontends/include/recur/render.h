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

#ifdef __cplusplus
}
#endif
#endif
