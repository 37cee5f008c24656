/* Status strings, dtypes, shapes and the allocation hooks. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recur/base.h"
#include "internal.h"

const char *rc_status_str(rc_status s) {
    switch (s) {
    case RC_OK: return "ok";
    case RC_ERR_ARG: return "bad argument";
    case RC_ERR_SHAPE: return "shape error";
    case RC_ERR_NOMEM: return "out of memory";
    case RC_ERR_IO: return "I/O error";
    case RC_ERR_FORMAT: return "format error";
    case RC_ERR_STATE: return "invalid state";
    case RC_ERR_NUMERIC: return "numeric error";
    }
    return "unknown status";
}

rc_status rc_error_set(rc_error *e, rc_status code, const char *where, const char *fmt, ...) {
    if (!e) return code;
    e->code = code;
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(e->message, sizeof e->message, "%s", rc_status_str(code));
    }
    /* The message is one line even when it quotes a file: a layer name or
     * an option key read from a hostile model.json may hold newlines or
     * terminal escapes (found by fuzz/fuzz_tfjs.c). Control bytes become
     * '?'; UTF-8 passes through. */
    for (char *c = e->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return code;
}

void rc_error_clear(rc_error *e) {
    if (!e) return;
    e->code = RC_OK;
    e->where[0] = 0;
    e->message[0] = 0;
}

size_t rc_dtype_size(rc_dtype t) { return t == RC_I32 ? sizeof(int32_t) : sizeof(float); }
const char *rc_dtype_name(rc_dtype t) { return t == RC_I32 ? "int32" : "float32"; }

int64_t rc_shape_numel(rc_shape s) {
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) n *= s.dim[i];
    return n;
}

bool rc_shape_eq(rc_shape a, rc_shape b) {
    if (a.ndim != b.ndim) return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i]) return false;
    return true;
}

bool rc_shape_valid(rc_shape s) {
    if (s.ndim < 0 || s.ndim > RC_MAX_DIMS) return false;
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.dim[i] < 1 || s.dim[i] > RC_MAX_ELEMS) return false;
        if (n > RC_MAX_ELEMS / s.dim[i]) return false;
        n *= s.dim[i];
    }
    return true;
}

char *rc_shape_str(rc_shape s, char *buf, size_t len) {
    size_t k = 0;
    if (len == 0) return buf;
    k += (size_t)snprintf(buf + k, len - k, "(");
    int nd = s.ndim < 0 ? 0 : (s.ndim > RC_MAX_DIMS ? RC_MAX_DIMS : s.ndim);
    for (int i = 0; i < nd && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)s.dim[i]);
    if (k < len) snprintf(buf + k, len - k, ")");
    return buf;
}

static _Atomic uint64_t alloc_calls;

uint64_t rc_alloc_count(void) { return atomic_load(&alloc_calls); }

void *rc_malloc(size_t n) {
    atomic_fetch_add(&alloc_calls, 1);
    return malloc(n ? n : 1);
}

void *rc_calloc(size_t count, size_t size) {
    atomic_fetch_add(&alloc_calls, 1);
    return calloc(count ? count : 1, size ? size : 1);
}

void *rc_realloc(void *p, size_t n) {
    atomic_fetch_add(&alloc_calls, 1);
    return realloc(p, n ? n : 1);
}

void rc_free(void *p) { free(p); }

void *rc_malloc_aligned(size_t n) {
    atomic_fetch_add(&alloc_calls, 1);
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n) return NULL;
    return aligned_alloc(64, rounded ? rounded : 64);
}

void rc_free_aligned(void *p) { free(p); }

char *rc_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rc_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* --- resource limits --------------------------------------------------------------- */

static _Atomic int64_t limit_max_bytes; /* 0: the default */

static int64_t default_max_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return (int64_t)4 << 30; /* unknown: 4 GiB */
    return (int64_t)pages * page / 2;
}

rc_limits rc_limits_get(void) {
    int64_t m = atomic_load(&limit_max_bytes);
    return (rc_limits){.max_bytes = m == 0 ? default_max_bytes() : m < 0 ? -1 : m};
}

void rc_limits_set(const rc_limits *l) { atomic_store(&limit_max_bytes, l ? l->max_bytes : 0); }

bool rc_limits_fit(int64_t bytes) {
    int64_t m = rc_limits_get().max_bytes;
    return m < 0 || bytes <= m;
}

const char *rc_bytes_str(int64_t bytes, char *buf, size_t len) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 6) v /= 1024, u++;
    if (u == 0) snprintf(buf, len, "%lld B", (long long)bytes);
    else snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

static _Atomic int64_t limit_in_use;

bool rc_limits_reserve(int64_t bytes) {
    int64_t m = rc_limits_get().max_bytes;
    int64_t cur = atomic_load(&limit_in_use);
    do {
        if (m >= 0 && (bytes > m || cur > m - bytes)) return false;
    } while (!atomic_compare_exchange_weak(&limit_in_use, &cur, cur + bytes));
    return true;
}

void rc_limits_release(int64_t bytes) { atomic_fetch_sub(&limit_in_use, bytes); }

int64_t rc_limits_in_use(void) { return atomic_load(&limit_in_use); }
