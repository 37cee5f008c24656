/* Token corpora, windows and SHA-256 (see recur/data.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "recur/data.h"

/* --- SHA-256 (FIPS 180-4) ------------------------------------------------------ */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int k) { return (x >> k) | (x << (32 - k)); }

static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void rc_sha256_hex(const void *data, size_t n, char out[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t full = n / 64 * 64;
    for (size_t i = 0; i < full; i += 64) sha_block(h, p + i);
    /* Padding: 0x80, zeros, then the bit length big-endian in the last 8 bytes. */
    uint8_t tail[128] = {0};
    size_t rest = n - full;
    if (rest) memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    size_t tl = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", h[i]);
}

/* --- loaders ------------------------------------------------------------------- */

static rc_status check_fraction(double f, rc_error *err, const char *fn) {
    if (!(f > 0.0 && f <= 1.0))
        return rc_error_set(err, RC_ERR_ARG, fn, "train fraction %g is not in (0, 1]", f);
    return RC_OK;
}

/* rc_file_append, with fn naming the public caller in messages. A regular
 * file is read into room for its whole length plus one byte (the byte lets
 * the read that sees end-of-file happen without growing the buffer): one
 * allocation of the right size instead of a fixed first block doubled to
 * up to twice the file (a 1 MiB first block made every small file cost a
 * fresh mmap). Pipes and files that grow while read start at 64 KiB and
 * double. */
static rc_status read_file(const char *path, uint8_t **buf, size_t *len, size_t *cap, rc_error *err,
                           const char *fn) {
    FILE *f = fopen(path, "rb");
    if (!f) return rc_error_set(err, RC_ERR_IO, fn, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    size_t grow = 65536;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size < SIZE_MAX / 2)
        grow = (size_t)st.st_size + 1;
    for (;;) {
        if (*cap == *len) {
            if (grow > SIZE_MAX / 2 - *len) {
                fclose(f);
                return rc_error_set(err, RC_ERR_NOMEM, fn, "'%s' is too large to read", path);
            }
            size_t nc = *len + grow;
            uint8_t *nb = rc_realloc(*buf, nc);
            if (!nb) {
                fclose(f);
                return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory reading '%s' (%zu bytes)", path, nc);
            }
            *buf = nb, *cap = nc;
            grow = nc; /* doubling from here on */
        }
        size_t k = fread(*buf + *len, 1, *cap - *len, f);
        *len += k;
        if (k == 0) break;
    }
    int failed = ferror(f) ? errno : 0; /* EISDIR for a directory */
    fclose(f);
    if (failed) return rc_error_set(err, RC_ERR_IO, fn, "cannot read '%s': %s", path, strerror(failed));
    return RC_OK;
}

rc_status rc_file_append(const char *path, uint8_t **buf, size_t *len, size_t *cap, rc_error *err) {
    if (!path || !buf || !len || !cap || *len > *cap)
        return rc_error_set(err, RC_ERR_ARG, "rc_file_append", "NULL or inconsistent argument");
    return read_file(path, buf, len, cap, err, "rc_file_append");
}

static rc_status from_bytes(rc_corpus *c, const uint8_t *b, size_t n, double frac, const char *what,
                            rc_error *err, const char *fn) {
    if (n == 0) return rc_error_set(err, RC_ERR_FORMAT, fn, "%s is empty", what);
    c->tokens = rc_malloc(n * sizeof(int32_t));
    if (!c->tokens) return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory for %zu tokens of %s", n, what);
    for (size_t i = 0; i < n; i++) c->tokens[i] = b[i];
    c->n = (int64_t)n;
    c->n_train = (int64_t)floor(frac * (double)n);
    c->vocab = 256;
    rc_sha256_hex(b, n, c->sha256);
    return RC_OK;
}

rc_status rc_corpus_load_bytes(rc_corpus *c, const char *path, double frac, rc_error *err) {
    static const char fn[] = "rc_corpus_load_bytes";
    if (!c || !path) return rc_error_set(err, RC_ERR_ARG, fn, "NULL argument");
    memset(c, 0, sizeof *c);
    rc_status s = check_fraction(frac, err, fn);
    if (s) return s;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    char what[512];
    snprintf(what, sizeof what, "corpus '%s'", path);
    s = read_file(path, &buf, &len, &cap, err, fn);
    if (s == RC_OK) s = from_bytes(c, buf, len, frac, what, err, fn);
    rc_free(buf);
    return s;
}

rc_status rc_corpus_from_bytes(rc_corpus *c, const void *bytes, size_t n, double frac, const char *what,
                               rc_error *err) {
    static const char fn[] = "rc_corpus_from_bytes";
    if (!c || (!bytes && n)) return rc_error_set(err, RC_ERR_ARG, fn, "NULL argument");
    memset(c, 0, sizeof *c);
    rc_status s = check_fraction(frac, err, fn);
    return s ? s : from_bytes(c, bytes, n, frac, what ? what : "the corpus", err, fn);
}

/* rc_corpus_from_tokens, reporting as fn (also rc_corpus_load_ints'). */
static rc_status from_tokens(rc_corpus *c, const int32_t *tokens, int64_t n, int64_t vocab, double frac,
                             rc_error *err, const char *fn) {
    if (!c || (!tokens && n)) return rc_error_set(err, RC_ERR_ARG, fn, "NULL argument");
    memset(c, 0, sizeof *c);
    rc_status s = check_fraction(frac, err, fn);
    if (s) return s;
    if (n < 1) return rc_error_set(err, RC_ERR_ARG, fn, "corpus of %lld tokens: need at least one", (long long)n);
    if (vocab < 0 || vocab > INT32_MAX)
        return rc_error_set(err, RC_ERR_ARG, fn, "vocabulary %lld is out of range", (long long)vocab);
    int64_t maxv = 0;
    for (int64_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || (vocab && tokens[i] >= vocab))
            return rc_error_set(err, RC_ERR_ARG, fn, "token %lld is %d, outside [0, %lld)", (long long)i,
                        tokens[i], (long long)vocab);
        if (tokens[i] > maxv) maxv = tokens[i];
    }
    c->tokens = rc_malloc((size_t)n * sizeof(int32_t));
    if (!c->tokens) return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory for %lld tokens", (long long)n);
    memcpy(c->tokens, tokens, (size_t)n * sizeof(int32_t));
    c->n = n;
    c->n_train = (int64_t)floor(frac * (double)n);
    c->vocab = vocab ? vocab : maxv + 1;
    return RC_OK;
}

rc_status rc_corpus_from_tokens(rc_corpus *c, const int32_t *tokens, int64_t n, int64_t vocab, double frac,
                                rc_error *err) {
    return from_tokens(c, tokens, n, vocab, frac, err, "rc_corpus_from_tokens");
}

rc_status rc_corpus_load_ints(rc_corpus *c, const char *path, int64_t vocab, double frac, rc_error *err) {
    static const char fn[] = "rc_corpus_load_ints";
    if (!c || !path) return rc_error_set(err, RC_ERR_ARG, fn, "NULL argument");
    memset(c, 0, sizeof *c);
    rc_status s = check_fraction(frac, err, fn);
    if (s) return s;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    s = read_file(path, &buf, &len, &cap, err, fn);
    int32_t *tok = NULL;
    int64_t n = 0, tcap = 0, line = 1;
    size_t i = 0;
    while (s == RC_OK && i < len) {
        uint8_t ch = buf[i];
        if (ch == '\n') line++;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            i++;
            continue;
        }
        if (ch < '0' || ch > '9') {
            s = rc_error_set(err, RC_ERR_FORMAT, fn, "%s:%lld: '%c' is not part of a non-negative integer",
                     path, (long long)line, ch >= 32 && ch < 127 ? ch : '?');
            break;
        }
        int64_t v = 0;
        while (i < len && buf[i] >= '0' && buf[i] <= '9') {
            v = v * 10 + (buf[i++] - '0');
            if (v > INT32_MAX) break;
        }
        if (v > INT32_MAX) {
            s = rc_error_set(err, RC_ERR_FORMAT, fn, "%s:%lld: integer too large for a token", path,
                     (long long)line);
            break;
        }
        if (n == tcap) {
            int64_t nc = tcap ? tcap * 2 : 4096;
            int32_t *nt = rc_realloc(tok, (size_t)nc * sizeof(int32_t));
            if (!nt) {
                s = rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory reading '%s'", path);
                break;
            }
            tok = nt, tcap = nc;
        }
        tok[n++] = (int32_t)v;
    }
    rc_free(buf);
    if (s == RC_OK && n == 0) s = rc_error_set(err, RC_ERR_FORMAT, fn, "'%s' holds no integers", path);
    if (s == RC_OK) s = from_tokens(c, tok, n, vocab, frac, err, fn);
    rc_free(tok);
    return s;
}

void rc_corpus_free(rc_corpus *c) {
    if (!c) return;
    rc_free(c->tokens);
    memset(c, 0, sizeof *c);
}

/* --- windows ------------------------------------------------------------------- */

rc_status rc_corpus_windows(const rc_corpus *c, rc_rng *rng, int64_t B, int64_t T, int32_t *x, int32_t *y,
                            int64_t *starts, rc_error *err) {
    static const char fn[] = "rc_corpus_windows";
    if (!c || !rng || !x || !y) return rc_error_set(err, RC_ERR_ARG, fn, "NULL argument");
    if (B < 1 || T < 1)
        return rc_error_set(err, RC_ERR_ARG, fn, "batch %lld and window %lld must be >= 1", (long long)B,
                            (long long)T);
    if (c->n_train < T + 1)
        return rc_error_set(err, RC_ERR_ARG, fn, "the training split has %lld tokens, fewer than a window of %lld + 1",
                            (long long)c->n_train, (long long)T);
    for (int64_t b = 0; b < B; b++) {
        int64_t s = (int64_t)rc_rng_below(rng, (uint64_t)(c->n_train - T));
        if (starts) starts[b] = s;
        memcpy(x + b * T, c->tokens + s, (size_t)T * sizeof(int32_t));
        memcpy(y + b * T, c->tokens + s + 1, (size_t)T * sizeof(int32_t));
    }
    return RC_OK;
}

rc_status rc_eval_starts(int64_t len, int64_t T, int64_t count, int64_t *starts, rc_error *err) {
    static const char fn[] = "rc_eval_starts";
    if (!starts) return rc_error_set(err, RC_ERR_ARG, fn, "NULL argument");
    if (T < 1 || count < 1)
        return rc_error_set(err, RC_ERR_ARG, fn, "window %lld and count %lld must be >= 1", (long long)T,
                            (long long)count);
    if (len < T + 1)
        return rc_error_set(err, RC_ERR_ARG, fn, "a split of %lld tokens is shorter than a window of %lld + 1",
                            (long long)len, (long long)T);
    int64_t last = len - (T + 1);
    for (int64_t i = 0; i < count; i++) {
        /* NumPy's linspace: start + i * step, the last point exactly `last`. */
        double v = count == 1 ? 0.0 : (i == count - 1 ? (double)last : i * ((double)last / (double)(count - 1)));
        starts[i] = (int64_t)nearbyint(v); /* default rounding mode: half to even */
    }
    return RC_OK;
}
