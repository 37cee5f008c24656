/* Helpers shared by the readers and writers of frontends/ (internal). */
#ifndef RECUR_FRONTENDS_IO_H
#define RECUR_FRONTENDS_IO_H

#include <stdarg.h>
#include <stdio.h>

#include "recur/base.h"

/* Write a message into the caller's (err, len) buffer (either may be
 * NULL/0) and return s. */
static inline rc_status rc_errf(char *err, size_t len, rc_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline rc_status rc_errf(char *err, size_t len, rc_status s, const char *fmt, ...) {
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return s;
}

#endif
