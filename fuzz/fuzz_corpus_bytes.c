/* Fuzz target: a corpus file read as bytes (`recur train --corpus FILE`):
 * rc_corpus_load_bytes, then what training and evaluation do with it:
 * random windows (rc_corpus_windows) and evaluation starts
 * (rc_eval_starts) for a batch and length taken from the first input bytes,
 * every window checked inside the corpus. Seeds: small text files. */
#include <stdlib.h>

#include <recur.h>

#include "fuzz_corpus.h"
#include "fuzz_model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_write("corpus.txt", data, size);
    rc_corpus c;
    rc_error e = {0};
    rc_status s = rc_corpus_load_bytes(&c, path, 0.9, &e);
    if (s != RC_OK) fz_check_error(s, &e, "rc_corpus_load_bytes");
    else {
        if (c.vocab != 256 || c.n != (int64_t)size) abort();
        fz_corpus_use(&c, data, size);
        rc_corpus_free(&c);
    }
    free(path);
    return 0;
}
