/* Fuzz target: a Keras 3 config.json (the model's architecture), read as a
 * `.keras` file carries it. The harness packs the input as config.json,
 * beside a fixed valid model.weights.h5 (of the golden
 * embedding_lstm_dense model, FUZZ_H5), into a zip (stored, libzip,
 * fz_pack_keras) and loads that, then does what `recur summary` does (fuzz_model.c): the
 * config parser gets the mutations, not the zip or HDF5 layers (those are
 * fuzz_keras.c's and fuzz_keras_weights.c's). Seeds: the golden models' config.json. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_model.h"
#include "fuzz_util.h"

#ifndef FUZZ_H5
#error "FUZZ_H5 (the path of the fixed model.weights.h5) is defined by fuzz/meson.build"
#endif

static uint8_t *h5;
static size_t h5_len;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    h5 = fz_read_file(FUZZ_H5, &h5_len);
    if (!h5) {
        fprintf(stderr, "fuzz_keras_config: cannot read %s\n", FUZZ_H5);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_pack_keras(data, size, h5, h5_len);
    fz_model(path);
    free(path);
    return 0;
}
