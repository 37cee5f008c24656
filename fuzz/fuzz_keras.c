/* Fuzz target: a Keras 3 `.keras` file as downloaded, raw bytes: the zip
 * archive, its config.json and its model.weights.h5 (HDF5), through
 * rc_io_load and then what `recur summary` does with it (fuzz_model.c).
 * Seeds: fuzz/corpus/keras (the golden models' model.keras). */
#include <stdlib.h>

#include "fuzz_model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_write("model.keras", data, size);
    fz_model(path);
    free(path);
    return 0;
}
