/* recur — a growing text buffer, for every part of the library that writes
 * text of unknown length (DOT, the HTML explorer, model summaries).
 *
 * Ownership: the buffer owns its bytes (rc_malloc & co.); rc_strbuf_take
 * hands them to the caller (free with rc_free), rc_strbuf_free drops them.
 * Out of memory is sticky: once a growth fails every later write is
 * ignored, `oom` stays set and rc_strbuf_take returns NULL, so a writer
 * checks once at the end instead of after every call. The text is always
 * NUL-terminated once anything was written.
 */
#ifndef RECUR_STRBUF_H
#define RECUR_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_strbuf {
    char *p;    /* the text, NUL-terminated; NULL until the first write */
    size_t n;   /* its length, without the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* a growth failed: the text is incomplete */
} rc_strbuf;

/* Appends n bytes of s (which may hold NULs). */
void rc_strbuf_put(rc_strbuf *b, const char *s, size_t n);
/* Appends the string s. */
void rc_strbuf_puts(rc_strbuf *b, const char *s);
/* Appends printf-formatted text, whatever its length. */
void rc_strbuf_printf(rc_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rc_strbuf_vprintf(rc_strbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s escaped for HTML element content or a quoted attribute value
 * (& < > " as entities). */
void rc_strbuf_html(rc_strbuf *b, const char *s);
/* The text, now the caller's (rc_free); NULL if a growth failed (the
 * buffer is freed then) or nothing was written. Leaves b empty. */
char *rc_strbuf_take(rc_strbuf *b);
/* Frees the text and leaves b empty. */
void rc_strbuf_free(rc_strbuf *b);

#ifdef __cplusplus
}
#endif

#endif
