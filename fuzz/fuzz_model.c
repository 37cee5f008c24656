/* The model harnesses' common part (see fuzz_model.h). */
#include "fuzz_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur/model_io.h>
#include <zip.h>

#include "fuzz_util.h"

void fz_check_error(rc_status st, const rc_error *err, const char *fn) {
    const char *why = NULL;
    if (st == RC_OK) why = "status OK";
    else if (err->code != st) why = "err->code differs from the status returned";
    else if (!err->message[0]) why = "empty message";
    else if (strchr(err->message, '\n')) why = "message of more than one line";
    if (!why) return;
    fprintf(stderr, "fuzz: %s failed with a bad error report (%s): status %d, message '%s'\n", fn, why, (int)st,
            err->message);
    abort();
}

void fz_model(const char *path) {
    rc_io_model *m = NULL;
    rc_error err = {0};
    rc_status st = rc_io_load(path, &m, &err);
    bool verbose = getenv("FUZZ_VERBOSE") != NULL; /* to see how deep the seeds reach */
    if (st != RC_OK) {
        fz_check_error(st, &err, "rc_io_load");
        if (verbose) fprintf(stderr, "  load: %s\n", err.message);
        return;
    }
    rc_graph *g = rc_graph_new();
    if (!g) abort();
    rc_node *in[16], *out[64];
    st = rc_io_build_batch(m, g, 1, 3, in, 16, out, 64, &err);
    if (st != RC_OK) {
        fz_check_error(st, &err, "rc_io_build_batch");
        if (verbose) fprintf(stderr, "  build: %s\n", err.message);
    } else {
        if (verbose) fprintf(stderr, "  built and summarised\n");
        rc_model *rm = rc_io_rc_model(m);
        size_t need = rc_model_summary(rm, NULL, 0) + 1;
        char *buf = malloc(need);
        if (!buf) abort();
        if (rc_model_summary(rm, buf, need) + 1 != need) abort();
        free(buf);
    }
    rc_io_free(m);
    rc_graph_free(g);
}

static void pack_member(zip_t *z, const char *name, const void *data, size_t n) {
    zip_source_t *s = zip_source_buffer(z, data, n, 0);
    zip_int64_t i = s ? zip_file_add(z, name, s, ZIP_FL_OVERWRITE) : -1;
    if (i < 0 || zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0) != 0) {
        fprintf(stderr, "fuzz: libzip: %s\n", zip_strerror(z));
        abort();
    }
}

char *fz_pack_keras(const void *config, size_t config_len, const void *h5, size_t h5_len) {
    char *path = fz_path("model.keras");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) abort();
    pack_member(z, "metadata.json", "{\"keras_version\": \"3.0.0\"}", 26);
    pack_member(z, "config.json", config, config_len);
    pack_member(z, "model.weights.h5", h5, h5_len);
    if (zip_close(z) != 0) abort();
    return path;
}
