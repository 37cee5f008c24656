/* Fuzz target: a Keras 3 config.json (the model's architecture), read as a
 * `.keras` file carries it. The harness packs the input as config.json,
 * beside a fixed valid model.weights.h5 (of the golden
 * embedding_lstm_dense model, FUZZ_H5), into a zip (stored, libzip) and
 * loads that, then does what `recur summary` does (fuzz_model.c): the
 * config parser gets the mutations, not the zip or HDF5 layers (those are
 * fuzz_keras.c's). Seeds: the golden models' config.json. */
#include <stdio.h>
#include <stdlib.h>
#include <zip.h>

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

static void add(zip_t *z, const char *name, const void *data, size_t n) {
    zip_source_t *s = zip_source_buffer(z, data, n, 0);
    zip_int64_t i = s ? zip_file_add(z, name, s, ZIP_FL_OVERWRITE) : -1;
    if (i < 0 || zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0) != 0) {
        fprintf(stderr, "fuzz_keras_config: libzip: %s\n", zip_strerror(z));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_path("model.keras");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) abort();
    add(z, "metadata.json", "{\"keras_version\": \"3.0.0\"}", 26);
    add(z, "config.json", data, size);
    add(z, "model.weights.h5", h5, h5_len);
    if (zip_close(z) != 0) abort();
    fz_model(path);
    free(path);
    return 0;
}
