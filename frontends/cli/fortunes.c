/* The demo corpus: Debian's `fortunes` package, as the PyTorch peer
 * defines it (shared/peers/fortunes_corpus.py). CLI policy, not library:
 * the library reads any file or bytes (recur/data.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fortunes.h"

static rc_status errf(char *msg, size_t len, rc_status s, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static rc_status errf(char *msg, size_t len, rc_status s, const char *fmt, ...) {
    if (msg && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return s;
}

const char *const fortunes_files[FORTUNES_NFILES] = {
    "art", "ascii-art", "computers", "cookie", "debian", "definitions", "disclaimer",
    "drugs", "education", "ethnic", "food", "fortunes", "goedel", "humorists", "kids",
    "knghtbrd", "law", "linux", "linuxcookie", "literature", "love", "magic", "medicine",
    "men-women", "miscellaneous", "news", "paradoxum", "people", "perl", "pets",
    "platitudes", "politics", "pratchett", "riddles", "science", "songs-poems", "sports",
    "startrek", "tao", "translate-me", "wisdom", "work", "zippy",
};


rc_status fortunes_load(rc_corpus *c, const char *dir, char *msg, size_t msglen) {
    if (!c) return errf(msg, msglen, RC_ERR_ARG, "fortunes_load: NULL corpus");
    memset(c, 0, sizeof *c);
    if (!dir) dir = FORTUNES_DIR;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    rc_status s = RC_OK;
    rc_error e;
    for (int i = 0; i < FORTUNES_NFILES && s == RC_OK; i++) {
        size_t n = strlen(dir) + strlen(fortunes_files[i]) + 2;
        char *path = rc_malloc(n);
        if (!path) {
            s = errf(msg, msglen, RC_ERR_NOMEM, "out of memory for a path in %s", dir);
            break;
        }
        snprintf(path, n, "%s/%s", dir, fortunes_files[i]);
        s = rc_file_append(path, &buf, &len, &cap, &e);
        if (s != RC_OK && msg && msglen) snprintf(msg, msglen, "%s", e.message);
        rc_free(path);
    }
    if (s == RC_ERR_IO) {
        size_t k = msg ? strlen(msg) : 0;
        if (msg && k + 1 < msglen)
            snprintf(msg + k, msglen - k, " (the fortunes corpus needs the Debian package "
                                          "'fortunes': apt-get install -y fortunes)");
    }
    if (s == RC_OK) {
        char hex[65];
        rc_sha256_hex(buf, len, hex);
        if (len != FORTUNES_BYTES || strcmp(hex, FORTUNES_SHA256) != 0)
            s = errf(msg, msglen, RC_ERR_FORMAT,
                     "fortunes corpus mismatch in %s: %zu bytes, sha256 %s; expected %d bytes, "
                     "sha256 %s (Debian 12 package fortunes 1:1.99.1-7.3)",
                     dir, len, hex, FORTUNES_BYTES, FORTUNES_SHA256);
    }
    if (s == RC_OK) {
        s = rc_corpus_from_bytes(c, buf, len, 0.9, "the fortunes corpus", &e);
        if (s != RC_OK && msg && msglen) snprintf(msg, msglen, "%s", e.message);
    }
    rc_free(buf);
    return s;
}

