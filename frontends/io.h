/* Helpers shared by the readers and writers of frontends/ (internal). */
#ifndef RECUR_FRONTENDS_IO_H
#define RECUR_FRONTENDS_IO_H

#include <stdio.h>

#include "recur/base.h"

/* The boundary between an internal message buffer and the caller's
 * rc_error: on failure err gets st, where and msg (the status' name when
 * the internals left no message); on success it is left as it was. */
static inline rc_status io_report(rc_error *err, rc_status st, const char *where, const char *msg) {
    if (st == RC_OK) return RC_OK;
    return rc_error_set(err, st, where, "%s", msg && msg[0] ? msg : rc_status_str(st));
}

/* Name the public entry point that failed as err->where (recur/base.h),
 * after internal helpers filled the code and message; returns st. A
 * nested public call's name is replaced by the outer one the caller made. */
static inline rc_status io_set_where(rc_error *err, rc_status st, const char *where) {
    if (err && st != RC_OK) snprintf(err->where, sizeof err->where, "%s", where);
    return st;
}

/* One piece of a file being written. */
typedef struct io_part {
    const void *data;
    size_t len;
} io_part;

/* Write the parts, in order, to path so that a crash or error at any point
 * leaves either the old file or the complete new one: a temporary file
 * "<path>.tmp.XXXXXX" (X in [A-Za-z0-9]) in the same directory, locked
 * (flock) while it is written, fsync'd, renamed over path, then the
 * directory fsync'd. Before writing, temporary files of path that an earlier,
 * killed writer left (same pattern, ours, not locked by a live writer) are
 * removed. An existing file keeps its mode; a new one gets 0666 less the
 * umask. A path that exists but is not a regular file (/dev/stdout, a FIFO)
 * is written directly. Errors name path and go to err with `where` = fn
 * (which may be NULL for io_set_where to fill later). */
rc_status io_write_atomic(const char *path, const io_part *parts, int nparts, rc_error *err, const char *fn);

/* dir + "/" + name (no "/" added when dir is "" or ends in one), new
 * memory (rc_free); NULL when out of memory. */
char *io_path_join(const char *dir, const char *name);
/* The directory part of path ("." when it has none, "/" for "/x"), new
 * memory (rc_free); NULL when out of memory. No length limit. */
char *io_dir_of(const char *path);
/* Open rel for reading relative to the directory dirfd, only if it lies
 * beneath it: openat2 with RESOLVE_BENEATH (absolute paths, ".." leaving
 * it and symlinks leaving it fail with EXDEV), or where the kernel lacks
 * openat2, the equivalent check by hand (no absolute path, no ".."
 * component, the opened file's real path under the directory's). Returns
 * the fd or -1 with errno set (EXDEV: outside the directory). */
int io_open_beneath(int dirfd, const char *rel);

#endif
