/* What training and evaluation do with a loaded corpus (see fuzz_corpus.h). */
#include "fuzz_corpus.h"

#include <stdlib.h>

#include "fuzz_model.h"

void fz_corpus_use(const rc_corpus *c, const uint8_t *data, size_t size) {
    int64_t B = 1 + (size > 0 ? data[0] % 4 : 0), T = 1 + (size > 1 ? data[1] % 16 : 0);
    int32_t x[4 * 16], y[4 * 16];
    int64_t starts[4];
    rc_rng rng;
    rc_rng_seed(&rng, size);
    rc_error e = {0};
    rc_status s = rc_corpus_windows(c, &rng, B, T, x, y, starts, &e);
    if (s != RC_OK) fz_check_error(s, &e, "rc_corpus_windows");
    else
        for (int64_t b = 0; b < B; b++) {
            if (starts[b] < 0 || starts[b] + T + 1 > c->n_train) abort();
            for (int64_t t = 0; t < T; t++)
                if (x[b * T + t] < 0 || x[b * T + t] >= c->vocab || y[b * T + t] != c->tokens[starts[b] + t + 1])
                    abort();
        }
    int64_t es[8];
    s = rc_eval_starts(rc_corpus_val_len(c), T, 8, es, &e);
    if (s != RC_OK) fz_check_error(s, &e, "rc_eval_starts");
    else
        for (int k = 0; k < 8; k++)
            if (es[k] < 0 || es[k] + T + 1 > rc_corpus_val_len(c)) abort();
}

