/* Fuzz target: a `.keras` file's model.weights.h5 (HDF5), the part of a
 * downloaded model that recur's own HDF5 reader reads in process
 * (frontends/keras/h5read.c, through import_keras.c). It runs with
 * RECUR_HDF5=own unless the environment sets RECUR_HDF5: every input
 * reaches the own reader, coverage-guided, and none is handed to libhdf5.
 * (The `keras` target runs the default, where a well-formed file outside
 * the reader's subset goes to libhdf5 in its contained child;
 * RECUR_HDF5=libhdf5 fuzzes that child alone, and the test
 * fuzz_keras_weights_libhdf5 replays the seeds and regressions through it.)
 *
 * The first input byte chooses one of the golden models (its index modulo
 * their number, in the order of FUZZ_KERAS_CONFIGS); the rest is the HDF5
 * file, packed beside that model's own config.json
 * (tests/golden/models/NAME/config.json, the one its model.keras holds,
 * pretty-printed) into a zip (stored, fz_pack_keras), then loaded and
 * summarised as `recur summary` would (fuzz_model.c). With the config
 * valid and the zip's CRCs right, every mutation reaches the HDF5 reader
 * and the reading of the layers' weights, which the `keras` target's
 * mutations of the whole archive reach only now and then. Seeds: each
 * golden model's index byte followed by its model.weights.h5
 * (fuzz/make_seeds.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"
#include "fuzz_util.h"

#ifndef FUZZ_KERAS_CONFIGS
#error "FUZZ_KERAS_CONFIGS (the golden models' config.json files, ':'-separated) is defined by fuzz/meson.build"
#endif

#define MAX_MODELS 8
static char *configs[MAX_MODELS];
static size_t config_lens[MAX_MODELS];
static int nmodels;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setenv("RECUR_HDF5", "own", 0);
    char *list = strdup(FUZZ_KERAS_CONFIGS), *save = NULL;
    if (!list) abort();
    for (char *p = strtok_r(list, ":", &save); p && nmodels < MAX_MODELS; p = strtok_r(NULL, ":", &save)) {
        if (!(configs[nmodels] = (char *)fz_read_file(p, &config_lens[nmodels]))) {
            fprintf(stderr, "fuzz_keras_weights: cannot read %s\n", p);
            abort();
        }
        nmodels++;
    }
    free(list);
    if (nmodels == 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int k = data[0] % nmodels;
    char *path = fz_pack_keras(configs[k], config_lens[k], data + 1, size - 1);
    fz_model(path);
    free(path);
    return 0;
}
