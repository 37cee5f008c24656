/* Fuzz target: the input file of `recur predict MODEL INPUT.json`
 * (frontends/cli/cli_model.c, cli_read_inputs): a tensor
 * {"dtype", "shape", "values"} or a list of them, read against two models
 * loaded once (FUZZ_MODEL_INT: an Embedding model with an int32 input,
 * FUZZ_MODEL_F32: a float32 input), each input read for both. Checked: a
 * tensor returned has the input's dtype and exactly as many values as its
 * shape says. Seeds: the golden models' input.json. */
#include <stdio.h>
#include <stdlib.h>

#include <recur.h>
#include <recur/model_io.h>

#include "../frontends/cli/cli.h"
#include "fuzz_util.h"

#if !defined(FUZZ_MODEL_INT) || !defined(FUZZ_MODEL_F32)
#error "FUZZ_MODEL_INT and FUZZ_MODEL_F32 are defined by fuzz/meson.build"
#endif

static rc_io_model *models[2];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *paths[2] = {FUZZ_MODEL_INT, FUZZ_MODEL_F32};
    for (int i = 0; i < 2; i++) {
        rc_error e;
        if (rc_io_load(paths[i], &models[i], &e) != RC_OK) {
            fprintf(stderr, "fuzz_predict_input: %s\n", e.message);
            abort();
        }
        if (rc_io_ninputs(models[i]) != 1) abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_write("input.json", data, size);
    for (int i = 0; i < 2; i++) {
        rc_tensor *t[1] = {NULL};
        if (cli_read_inputs("predict", path, models[i], t) != 0) continue;
        if (!t[0] || t[0]->dtype != rc_io_input_dtype(models[i], 0) || rc_tensor_numel(t[0]) < 1) abort();
        rc_tensor_free(t[0]);
    }
    free(path);
    return 0;
}
