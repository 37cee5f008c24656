/* Shared by the corpus harnesses: use a loaded corpus as training and
 * evaluation do, random windows (rc_corpus_windows) and evaluation starts
 * (rc_eval_starts) for a batch (1..4) and length (1..16) taken from the
 * input's first bytes; every window and start is checked inside the
 * corpus, every token inside the vocabulary; abort otherwise. */
#ifndef RECUR_FUZZ_CORPUS_H
#define RECUR_FUZZ_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include <recur.h>

void fz_corpus_use(const rc_corpus *c, const uint8_t *data, size_t size);

#endif
