/* What the model harnesses (tfjs, keras, keras_config) do with a model file:
 * what `recur summary` does. Load it; on success build it on a fresh graph
 * for batch 1 and T steps (None time dimensions) and write its summary; on
 * failure check the error is what docs/errors.md promises (a code, the
 * function, a non-empty one-line message). Any departure aborts, which
 * libFuzzer and the replay test report as a crash. */
#ifndef RECUR_FUZZ_MODEL_H
#define RECUR_FUZZ_MODEL_H

#include <recur.h>

/* Check a failed call's rc_error: abort unless it is a clean one-line error. */
void fz_check_error(rc_status st, const rc_error *err, const char *fn);
/* Load, build and summarise the model at path (see above). */
void fz_model(const char *path);
/* Write a .keras (zip, members stored, libzip) holding a fixed
 * metadata.json, the given config.json and model.weights.h5 bytes to
 * dir/model.keras (fuzz_util.h); returns the malloc'd path. For harnesses
 * whose input is one member: the mutations reach that member's reader,
 * not the zip layer's checks (sizes, CRCs). */
char *fz_pack_keras(const void *config, size_t config_len, const void *h5, size_t h5_len);

#endif
