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

#endif
