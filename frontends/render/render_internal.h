/* Shared by the files of frontends/render (not a public header). */
#ifndef RECUR_RENDER_INTERNAL_H
#define RECUR_RENDER_INTERNAL_H

#include <stddef.h>

#include "recur/base.h"

/* Write data to path whole or not at all (a temporary file next to it,
 * renamed over it once complete); on failure err names fn. */
rc_status render_write_file(const char *path, const char *data, size_t n, rc_error *err, const char *fn);

#endif
