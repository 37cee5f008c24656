/* recur — training data for sequence models: token corpora with a
 * train/validation split, random contiguous windows from a seeded RNG, the
 * evenly spaced validation windows of the char-LM protocol, and SHA-256 to
 * pin a corpus to its definition.
 *
 * A corpus is one stream of int32 tokens in [0, vocab). The first
 * n_train = floor(train_fraction * n) tokens are the training split, the
 * rest the validation split (no token is in both).
 *
 * Loaders:
 *   - rc_corpus_load_bytes: any file, one token per byte, vocabulary 256;
 *   - rc_corpus_from_bytes: the same from memory;
 *   - rc_corpus_load_ints: a text file of whitespace-separated non-negative
 *     integers (any line layout), vocabulary max + 1 unless given.
 *
 * Errors: every function that can fail returns RC_OK or a status and fills
 * the caller's rc_error (may be NULL) with a message naming the file and
 * the problem (docs/errors.md). Nothing here prints. Ownership: the corpus owns its tokens; free with rc_corpus_free.
 */
#ifndef RECUR_DATA_H
#define RECUR_DATA_H

#include "recur/base.h"
#include "recur/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_corpus {
    int32_t *tokens;  /* n tokens, each in [0, vocab) */
    int64_t n;
    int64_t n_train;  /* tokens [0, n_train) train, [n_train, n) validation */
    int64_t vocab;
    char sha256[65];  /* hex digest of the raw file bytes (bytes loaders) */
} rc_corpus;


/* train_fraction in (0, 1]; n_train = floor(train_fraction * n). */
rc_status rc_corpus_load_bytes(rc_corpus *c, const char *path, double train_fraction, rc_error *err);
/* n bytes from memory, one token per byte (vocabulary 256); `what` names
 * the data in messages (NULL = "the corpus"). */
rc_status rc_corpus_from_bytes(rc_corpus *c, const void *bytes, size_t n, double train_fraction, const char *what,
                               rc_error *err);
/* vocab 0 = max token + 1; otherwise every token must be < vocab. */
rc_status rc_corpus_load_ints(rc_corpus *c, const char *path, int64_t vocab, double train_fraction,
                              rc_error *err);
/* Tokens copied from memory (tests, in-memory data). */
rc_status rc_corpus_from_tokens(rc_corpus *c, const int32_t *tokens, int64_t n, int64_t vocab,
                                double train_fraction, rc_error *err);
void rc_corpus_free(rc_corpus *c);

/* Append the whole file at path to *buf, which holds *len bytes in *cap
 * (grown with rc_realloc; *buf may start NULL with *len = *cap = 0). The
 * caller owns *buf and frees it with rc_free, also after an error (what was
 * read before it stays). For corpora that are several files. */
rc_status rc_file_append(const char *path, uint8_t **buf, size_t *len, size_t *cap, rc_error *err);

static inline int64_t rc_corpus_val_len(const rc_corpus *c) { return c->n - c->n_train; }
static inline const int32_t *rc_corpus_val(const rc_corpus *c) { return c->tokens + c->n_train; }

/* B random windows of T+1 consecutive training tokens, each starting at
 * s ~ U[0, n_train - T - 1] drawn with rc_rng_below in batch order:
 * x[b, t] = train[s_b + t], y[b, t] = train[s_b + t + 1] (x, y: B*T int32,
 * row-major). starts (may be NULL) receives the B starts. RC_ERR_ARG when
 * the training split is shorter than T + 1 tokens. */
rc_status rc_corpus_windows(const rc_corpus *c, rc_rng *rng, int64_t B, int64_t T, int32_t *x,
                            int32_t *y, int64_t *starts, rc_error *err);

/* The evaluation windows of the char-LM protocol: count starts
 * round(linspace(0, len - (T + 1), count)) over a split of len tokens
 * (round half to even, as NumPy). RC_ERR_ARG when len < T + 1 or
 * count < 1; count 1 gives the start 0. */
rc_status rc_eval_starts(int64_t len, int64_t T, int64_t count, int64_t *starts, rc_error *err);

/* SHA-256 of n bytes as 64 lowercase hex digits and a NUL. */
void rc_sha256_hex(const void *data, size_t n, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
