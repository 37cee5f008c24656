/* The demo corpus: Debian's `fortunes` package, as the PyTorch peer
 * defines it (shared/peers/fortunes_corpus.py). CLI policy, not library:
 * the library reads any file or bytes (recur/data.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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


/* Append a whole file to *buf (grown with rc_realloc). */
static rc_status read_file(const char *path, uint8_t **buf, size_t *len, size_t *cap, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) return errf(msg, msglen, RC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    for (;;) {
        if (*cap - *len < 65536) {
            size_t nc = *cap ? *cap * 2 : 1 << 20;
            uint8_t *nb = rc_realloc(*buf, nc);
            if (!nb) {
                fclose(f);
                return errf(msg, msglen, RC_ERR_NOMEM, "out of memory reading '%s'", path);
            }
            *buf = nb, *cap = nc;
        }
        size_t k = fread(*buf + *len, 1, *cap - *len, f);
        *len += k;
        if (k == 0) break;
    }
    int err = ferror(f) ? errno : 0; /* EISDIR for a directory */
    fclose(f);
    if (err) return errf(msg, msglen, RC_ERR_IO, "cannot read '%s': %s", path, strerror(err));
    return RC_OK;
}

rc_status fortunes_load(rc_corpus *c, const char *dir, char *msg, size_t msglen) {
    if (!c) return errf(msg, msglen, RC_ERR_ARG, "fortunes_load: NULL corpus");
    memset(c, 0, sizeof *c);
    if (!dir) dir = FORTUNES_DIR;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    rc_status s = RC_OK;
    for (int i = 0; i < FORTUNES_NFILES && s == RC_OK; i++) {
        size_t plen = strlen(dir) + strlen(fortunes_files[i]) + 2;
        char *path = malloc(plen);
        if (!path) {
            s = errf(msg, msglen, RC_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(path, plen, "%s/%s", dir, fortunes_files[i]);
        s = read_file(path, &buf, &len, &cap, msg, msglen);
        free(path);
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
        rc_error err;
        s = rc_corpus_from_bytes(c, buf, len, 0.9, "the fortunes corpus", &err);
        if (s != RC_OK && msg && msglen) snprintf(msg, msglen, "%s", err.message);
    }
    rc_free(buf);
    return s;
}

