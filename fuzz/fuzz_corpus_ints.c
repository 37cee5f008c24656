/* Fuzz target: a corpus of whitespace-separated integer tokens
 * (`recur train --ints --corpus FILE`): rc_corpus_load_ints with the
 * vocabulary inferred (0, as the CLI asks) and with a fixed vocabulary of
 * 1000, then windows and evaluation starts as in fuzz_corpus_bytes.c.
 * Seeds: small token files. */
#include <stdlib.h>

#include <recur.h>

#include "fuzz_corpus.h"
#include "fuzz_model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_write("corpus.ints", data, size);
    static const int64_t vocabs[] = {0, 1000};
    for (int v = 0; v < 2; v++) {
        rc_corpus c;
        rc_error e = {0};
        rc_status s = rc_corpus_load_ints(&c, path, vocabs[v], 0.9, &e);
        if (s != RC_OK) {
            fz_check_error(s, &e, "rc_corpus_load_ints");
            continue;
        }
        if (c.n < 1 || c.vocab < 1 || (vocabs[v] && c.vocab != vocabs[v])) abort();
        for (int64_t i = 0; i < c.n; i++)
            if (c.tokens[i] < 0 || c.tokens[i] >= c.vocab) abort();
        fz_corpus_use(&c, data, size);
        rc_corpus_free(&c);
    }
    free(path);
    return 0;
}
