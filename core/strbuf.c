/* The growing text buffer of recur/strbuf.h. Capacity doubles from 4 KiB,
 * so n appends of total length L cost O(L) copies. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "recur/base.h"
#include "recur/strbuf.h"

static bool grow(rc_strbuf *b, size_t add) {
    if (b->oom) return false;
    if (add > SIZE_MAX / 2 - b->n - 1) {
        b->oom = true;
        return false;
    }
    if (b->n + add + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + add + 1) cap *= 2;
    char *p = rc_realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void rc_strbuf_put(rc_strbuf *b, const char *s, size_t n) {
    if (!grow(b, n)) return;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void rc_strbuf_puts(rc_strbuf *b, const char *s) { rc_strbuf_put(b, s, strlen(s)); }

void rc_strbuf_vprintf(rc_strbuf *b, const char *fmt, va_list ap) {
    /* Short texts (nearly all) format once into the stack; longer ones are
     * measured there and formatted again in place. */
    char tmp[256];
    va_list again;
    va_copy(again, ap);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (k >= 0 && (size_t)k < sizeof tmp) rc_strbuf_put(b, tmp, (size_t)k);
    else if (k >= 0 && grow(b, (size_t)k)) {
        vsnprintf(b->p + b->n, (size_t)k + 1, fmt, again);
        b->n += (size_t)k;
    }
    va_end(again);
}

void rc_strbuf_printf(rc_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rc_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void rc_strbuf_html(rc_strbuf *b, const char *s) {
    const char *run = s; /* the pending stretch that needs no escape */
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (!e) continue;
        rc_strbuf_put(b, run, (size_t)(s - run));
        rc_strbuf_puts(b, e);
        run = s + 1;
    }
    rc_strbuf_put(b, run, (size_t)(s - run));
}

char *rc_strbuf_take(rc_strbuf *b) {
    char *p = b->oom ? NULL : b->p;
    if (b->oom) rc_free(b->p);
    *b = (rc_strbuf){0};
    return p;
}

void rc_strbuf_free(rc_strbuf *b) {
    rc_free(b->p);
    *b = (rc_strbuf){0};
}
