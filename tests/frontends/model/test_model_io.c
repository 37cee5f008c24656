/* Keras / TF.js import and export: bad files give clear errors naming the
 * file and the problem; parameter counts follow the Keras formulas; an
 * export re-imports to the same predictions; every activation of the table
 * imports through both formats by its spellings, predicts its formula and
 * exports to TF.js by its Keras 2 spelling. Fixtures are made by mutating
 * copies of the golden models (tests/golden/models) in a temporary dir. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <recur.h>
#include <recur/model_io.h>

#include "util.h"

#ifndef GOLDEN_MODELS
#error "GOLDEN_MODELS must name tests/golden/models"
#endif
#ifndef HOSTILE_KERAS
#error "HOSTILE_KERAS must name fuzz/regressions/keras"
#endif

static char tmp[64];

static void setup(void) {
    snprintf(tmp, sizeof tmp, "/tmp/recur-io-XXXXXX");
    cr_assert(mkdtemp(tmp));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert(system(cmd) == 0);
}

TestSuite(model_io, .init = setup, .fini = teardown);

static void copy_file(const char *from, const char *to, long truncate_to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    cr_assert(a && b, "copy %s -> %s", from, to);
    int c;
    long n = 0;
    while ((c = fgetc(a)) != EOF && (truncate_to < 0 || n < truncate_to)) fputc(c, b), n++;
    fclose(a);
    cr_assert(fclose(b) == 0);
}

/* A TF.js copy of golden model `name` in tmp, after `mutate` edits its
 * model.json; returns the path of model.json. */
static const char *tfjs_fixture(const char *name, void (*mutate)(json_t *root), long shard_bytes) {
    static char path[256];
    char src[512], bin[256];
    snprintf(src, sizeof src, "%s/%s/group1-shard1of1.bin", GOLDEN_MODELS, name);
    snprintf(bin, sizeof bin, "%s/group1-shard1of1.bin", tmp);
    copy_file(src, bin, shard_bytes);
    snprintf(src, sizeof src, "%s/%s/model.json", GOLDEN_MODELS, name);
    json_error_t e;
    json_t *root = json_load_file(src, 0, &e);
    cr_assert(root, "%s", e.text);
    if (mutate) mutate(root);
    snprintf(path, sizeof path, "%s/model.json", tmp);
    cr_assert(json_dump_file(root, path, 0) == 0);
    json_decref(root);
    return path;
}

static void expect_error(const char *path, rc_status want, const char *needle) {
    rc_io_model *m = (rc_io_model *)1;
    rc_error err;
    rc_status st = rc_io_load(path, &m, &err);
    cr_assert_eq(st, want, "status %s, expected %s: %s", rc_status_str(st), rc_status_str(want), err.message);
    cr_assert_null(m);
    cr_assert(strstr(err.message, path), "the message names the file: %s", err.message);
    cr_assert(strstr(err.message, needle), "the message says '%s': %s", needle, err.message);
}

static json_t *weights_of(json_t *root) {
    return json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights");
}
static json_t *layers_of(json_t *root) {
    return json_object_get(json_object_get(json_object_get(root, "modelTopology"), "config"), "layers");
}

/* tmp/name holding text; returns its path. */
static const char *write_text(const char *name, const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    cr_assert(fclose(f) == 0);
    return path;
}

Test(model_io, malformed_json) {
    expect_error(write_text("model.json", "{\"modelTopology\": {\"class_name\": \"Sequential\","), RC_ERR_FORMAT,
                 "malformed JSON");
}

Test(model_io, missing_file) {
    char path[256];
    snprintf(path, sizeof path, "%s/nothere.json", tmp);
    expect_error(path, RC_ERR_IO, "cannot open");
    expect_error(path, RC_ERR_IO, "No such file or directory");
    snprintf(path, sizeof path, "%s/nothere.keras", tmp);
    expect_error(path, RC_ERR_IO, "No such file or directory");
}

/* A directory is said to be one, not read as an empty (malformed) file. */
Test(model_io, directory) {
    expect_error(tmp, RC_ERR_IO, "Is a directory");
}

static void drop_last_weight(json_t *root) {
    json_t *w = weights_of(root);
    json_array_remove(w, json_array_size(w) - 1);
}
Test(model_io, missing_weight) {
    /* the dense bias is gone from the manifest: the shard is 8 bytes too long */
    expect_error(tfjs_fixture("bidir_lstm_dense", drop_last_weight, -1), RC_ERR_FORMAT, "extra data");
    /* ... and with the shard cut to match, the layer misses a weight */
    expect_error(tfjs_fixture("bidir_lstm_dense", drop_last_weight, 156 * 4), RC_ERR_FORMAT, "missing weights");
}

static void add_foreign_weight(json_t *root) {
    json_array_append_new(weights_of(root), json_pack("{s:s, s:[i], s:s}", "name", "conv/kernel", "shape", 1, "dtype",
                                                      "float32"));
}
static void add_layer_weight(json_t *root) {
    json_array_append_new(weights_of(root), json_pack("{s:s, s:[i], s:s}", "name", "dense/extra", "shape", 1, "dtype",
                                                      "float32"));
}
Test(model_io, extra_weight) {
    char bin[256];
    const char *p = tfjs_fixture("bidir_lstm_dense", add_foreign_weight, -1);
    snprintf(bin, sizeof bin, "%s/group1-shard1of1.bin", tmp);
    FILE *f = fopen(bin, "ab");
    fwrite("\0\0\0\0", 1, 4, f);
    fclose(f);
    expect_error(p, RC_ERR_FORMAT, "belongs to no layer");
    p = tfjs_fixture("bidir_lstm_dense", add_layer_weight, -1);
    f = fopen(bin, "ab");
    fwrite("\0\0\0\0", 1, 4, f);
    fclose(f);
    expect_error(p, RC_ERR_FORMAT, "extra weights");
}

static void widen_dense_kernel(json_t *root) {
    json_t *w = json_array_get(weights_of(root), 6); /* dense/kernel [6, 2] */
    json_object_set_new(w, "shape", json_pack("[i, i]", 6, 3));
}
Test(model_io, shape_disagrees_with_bytes) {
    expect_error(tfjs_fixture("bidir_lstm_dense", widen_dense_kernel, -1), RC_ERR_FORMAT, "truncated shard");
}

Test(model_io, truncated_shard) {
    expect_error(tfjs_fixture("bidir_lstm_dense", NULL, 101), RC_ERR_FORMAT, "truncated shard");
}

static void unknown_class(json_t *root) {
    json_object_set_new(json_array_get(layers_of(root), 1), "class_name", json_string("Conv1D"));
}
Test(model_io, unknown_layer_class) {
    expect_error(tfjs_fixture("bidir_lstm_dense", unknown_class, -1), RC_ERR_FORMAT, "class 'Conv1D' is not supported");
}

static void float16(json_t *root) {
    json_object_set_new(json_array_get(weights_of(root), 0), "dtype", json_string("float16"));
}
static void quantized(json_t *root) {
    json_object_set_new(json_array_get(weights_of(root), 0), "quantization",
                        json_pack("{s:s, s:f, s:f}", "dtype", "uint8", "scale", 0.1, "min", -1.0));
}
Test(model_io, unsupported_dtype) {
    expect_error(tfjs_fixture("bidir_lstm_dense", float16, -1), RC_ERR_FORMAT, "dtype 'float16' is not supported");
    expect_error(tfjs_fixture("bidir_lstm_dense", quantized, -1), RC_ERR_FORMAT, "quantized");
}

static void huge_shape(json_t *root) {
    json_object_set_new(json_array_get(weights_of(root), 6), "shape",
                        json_pack("[I, I, I]", (json_int_t)1 << 30, (json_int_t)1 << 30, (json_int_t)1 << 30));
}
static void huge_units(json_t *root) {
    json_t *cfg = json_object_get(json_array_get(layers_of(root), 1), "config");
    json_object_set_new(cfg, "units", json_integer((json_int_t)1 << 62));
}
Test(model_io, overflowing_shapes) {
    expect_error(tfjs_fixture("bidir_lstm_dense", huge_shape, -1), RC_ERR_FORMAT, "more than 2^40 elements");
    expect_error(tfjs_fixture("bidir_lstm_dense", huge_units, -1), RC_ERR_FORMAT, "option 'units'");
}

static void regularizer(json_t *root) {
    json_t *cfg = json_object_get(json_array_get(layers_of(root), 1), "config");
    json_object_set_new(cfg, "kernel_regularizer", json_pack("{s:s}", "class_name", "L2"));
}
static void unknown_option(json_t *root) {
    json_t *cfg = json_object_get(json_array_get(layers_of(root), 1), "config");
    json_object_set_new(cfg, "flux_capacitor", json_true());
}
static void bad_activation(json_t *root) {
    json_t *cfg = json_object_get(json_array_get(layers_of(root), 1), "config");
    json_object_set_new(cfg, "activation", json_string("mish"));
}
Test(model_io, unsupported_options_name_layer_and_option) {
    expect_error(tfjs_fixture("bidir_lstm_dense", regularizer, -1), RC_ERR_FORMAT,
                 "layer 'dense' (Dense): option 'kernel_regularizer' is not supported");
    expect_error(tfjs_fixture("bidir_lstm_dense", unknown_option, -1), RC_ERR_FORMAT,
                 "layer 'dense' (Dense): option 'flux_capacitor' is not supported");
    expect_error(tfjs_fixture("bidir_lstm_dense", bad_activation, -1), RC_ERR_FORMAT, "'mish' is not supported");
}

/* --- .keras archives ------------------------------------------------------------- */

/* A copy of golden model `name`'s .keras with member `drop` removed or
 * config.json replaced by `config` (NULL: unchanged). */
static const char *keras_fixture(const char *name, const char *drop, const char *config) {
    static char path[256];
    char src[512];
    snprintf(src, sizeof src, "%s/%s/model.keras", GOLDEN_MODELS, name);
    snprintf(path, sizeof path, "%s/model.keras", tmp);
    copy_file(src, path, -1);
    int e;
    zip_t *z = zip_open(path, 0, &e);
    cr_assert(z);
    if (drop) cr_assert(zip_delete(z, (zip_uint64_t)zip_name_locate(z, drop, 0)) == 0);
    if (config) {
        zip_source_t *s = zip_source_buffer(z, config, strlen(config), 0);
        cr_assert(zip_file_add(z, "config.json", s, ZIP_FL_OVERWRITE) >= 0);
    }
    cr_assert(zip_close(z) == 0);
    return path;
}

static char *golden_config(const char *name) {
    char src[512];
    snprintf(src, sizeof src, "%s/%s/config.json", GOLDEN_MODELS, name);
    json_error_t e;
    json_t *root = json_load_file(src, 0, &e);
    cr_assert(root);
    char *s = json_dumps(root, 0);
    json_decref(root);
    return s;
}

static char *replace(const char *s, const char *from, const char *to) {
    const char *at = strstr(s, from);
    cr_assert(at, "fixture: '%s' not found", from);
    char *out = malloc(strlen(s) + strlen(to) + 1);
    sprintf(out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

Test(model_io, keras_without_config) {
    expect_error(keras_fixture("gru_lstm_dense", "config.json", NULL), RC_ERR_FORMAT, "no config.json");
    expect_error(keras_fixture("gru_lstm_dense", "model.weights.h5", NULL), RC_ERR_FORMAT, "no model.weights.h5");
}

Test(model_io, keras_not_a_zip) {
    expect_error(write_text("model.keras", "PK but not really a zip archive"), RC_ERR_FORMAT, "not a readable .keras");
}

/* What a host program's crash reporter might do on a fault. */
static void host_fault_handler(int sig) {
    (void)sig;
    _exit(77);
}

/* libhdf5 dereferences a wild pointer on this weights file (the golden
 * embedding_lstm_dense's, bytes mutated by make_inputs.py h5mut, seed 120,
 * copy 9; SIGSEGV in the ordinary and the sanitizer builds). The child that
 * runs libhdf5 dies and the load fails naming the signal. The process's own
 * fault handler, inherited across fork, must not run in the child (it would
 * exit 77 there, and the parent would report "exit status 77"): the child
 * resets fault signals to their default action. */
Test(model_io, hdf5_fault_is_contained_and_named) {
    /* recur's own reader refuses this file before libhdf5 could see it
     * (test h5read); libhdf5 alone is what must be contained here */
    cr_assert(setenv("RECUR_HDF5", "libhdf5", 1) == 0);
    struct sigaction sa = {.sa_handler = host_fault_handler}, old;
    sigemptyset(&sa.sa_mask);
    cr_assert(sigaction(SIGSEGV, &sa, &old) == 0);
    const char *path = HOSTILE_KERAS "/hdf5-sigsegv-a.keras";
    rc_io_model *m = (rc_io_model *)1;
    rc_error err;
    rc_status st = rc_io_load(path, &m, &err);
    cr_assert(sigaction(SIGSEGV, &old, NULL) == 0);
    cr_assert_eq(st, RC_ERR_FORMAT, "%s", err.message);
    cr_assert_null(m);
    cr_assert(!strstr(err.message, "exit status 77"), "the host's handler ran in the child: %s", err.message);
    /* Debian 12's libhdf5 1.10.8 faults on this file; another libhdf5 may
     * refuse it cleanly instead, and then there is no fault to contain */
    if (!strstr(err.message, "crashed"))
        cr_skip_test("this libhdf5 does not fault on %s: %s", path, err.message);
    expect_error(path, RC_ERR_FORMAT, "model.weights.h5: the HDF5 reader crashed (signal 11");
}

/* Files the keras fuzzer made to exhaust the own reader's work budget
 * (2026-12-07): handed to libhdf5 then, they reached a heap over-read of
 * libhdf5's (H5D__contig_read; contained in the child, but in an ordinary
 * build those bytes could have become weights). Exhaustion is damage now:
 * refused by the own reader, libhdf5 never sees them. */
Test(model_io, a_file_that_exhausts_the_readers_work_budget_is_refused_as_damaged) {
    cr_assert(setenv("RECUR_HDF5", "auto", 1) == 0);
    expect_error(HOSTILE_KERAS "/h5read-budget-libhdf5-overread-a.keras", RC_ERR_FORMAT,
                 "damaged or hostile file: its structure needs more work than a file of its size can");
    expect_error(HOSTILE_KERAS "/h5read-budget-libhdf5-overread-b.keras", RC_ERR_FORMAT,
                 "damaged or hostile file: its structure needs more work than a file of its size can");
}

/* The golden embedding_lstm_dense model with its embedding table replaced
 * through libhdf5 by make(file) (which creates "layers/embedding/vars/0"),
 * as big.keras in the test's directory; returns its path (static). */
static const char *keras_with_new_embedding(void (*make)(hid_t file)) {
    static char path[256];
    char src[512], h5[256];
    snprintf(src, sizeof src, "%s/embedding_lstm_dense/model.keras", GOLDEN_MODELS);
    snprintf(h5, sizeof h5, "%s/model.weights.h5", tmp);
    snprintf(path, sizeof path, "%s/big.keras", tmp);
    int e;
    zip_t *z = zip_open(src, ZIP_RDONLY, &e);
    cr_assert(z);
    zip_stat_t st;
    cr_assert(zip_stat(z, "model.weights.h5", 0, &st) == 0);
    char *bytes = malloc(st.size);
    zip_file_t *f = zip_fopen(z, "model.weights.h5", 0);
    cr_assert(f && zip_fread(f, bytes, st.size) == (zip_int64_t)st.size);
    zip_fclose(f);
    FILE *out = fopen(h5, "wb");
    cr_assert(out && fwrite(bytes, 1, st.size, out) == st.size && fclose(out) == 0);
    free(bytes);
    zip_close(z);

    hid_t file = H5Fopen(h5, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(file >= 0);
    cr_assert(H5Ldelete(file, "layers/embedding/vars/0", H5P_DEFAULT) >= 0);
    make(file);
    H5Fclose(file);

    copy_file(src, path, -1);
    z = zip_open(path, 0, &e);
    cr_assert(z);
    zip_source_t *s = zip_source_file(z, h5, 0, -1);
    cr_assert(s && zip_file_add(z, "model.weights.h5", s, ZIP_FL_OVERWRITE) >= 0);
    cr_assert(zip_close(z) == 0);
    return path;
}

/* a 200000 x 3 float32 table whose storage is never written (late
 * allocation: the file stays small, the readers give the fill value) */
static void late_table(hid_t file) {
    hsize_t dims[2] = {200000, 3};
    hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE) >= 0);
    hid_t d = H5Dcreate2(file, "layers/embedding/vars/0", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    H5Dclose(d), H5Pclose(dcpl), H5Sclose(space);
}

/* The weights need more than the memory limit: refused by name, before
 * allocating, by recur's own HDF5 reader and by libhdf5 in its child
 * (where, before, the parent refused while the child still had megabytes
 * to send: the child died of SIGPIPE on the closed pipe and the load
 * reported a crash of the reader). 2.3 MiB against a 1 MiB limit. */
Test(model_io, weights_over_the_limit_are_refused_by_name) {
    const char *path = keras_with_new_embedding(late_table);
    rc_limits old = rc_limits_get();
    rc_limits_set(&(rc_limits){.max_bytes = (int64_t)1 << 20});
    const char *modes[] = {"own", "libhdf5"};
    for (int k = 0; k < 2; k++) {
        cr_assert(setenv("RECUR_HDF5", modes[k], 1) == 0);
        expect_error(path, RC_ERR_NOMEM, "model.weights.h5: the weights need more than 2.3 MiB, over the memory limit "
                     "of 1.0 MiB");
    }
    rc_limits_set(&old);
}

/* a table with a null dataspace: a well-formed dataset with no values */
static void null_table(hid_t file) {
    hid_t space = H5Screate(H5S_NULL);
    hid_t d = H5Dcreate2(file, "layers/embedding/vars/0", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(d >= 0);
    H5Dclose(d), H5Sclose(space);
}

/* a table never written whose fill time is "never": libhdf5 would leave
 * the reader's buffer as it was (the heap's old bytes as weights) */
static void never_filled_table(hid_t file) {
    hsize_t dims[2] = {10, 3};
    hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE) >= 0 && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0);
    hid_t d = H5Dcreate2(file, "layers/embedding/vars/0", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    H5Dclose(d), H5Pclose(dcpl), H5Sclose(space);
}

Test(model_io, weights_without_values_are_refused_by_both_readers) {
    void (*makes[])(hid_t) = {null_table, never_filled_table};
    const char *what[] = {"holds no values (a null dataspace)", "holds no values (storage never written, fill time"};
    const char *modes[] = {"auto", "libhdf5"};
    for (int t = 0; t < 2; t++) {
        const char *path = keras_with_new_embedding(makes[t]);
        for (int k = 0; k < 2; k++) {
            cr_assert(setenv("RECUR_HDF5", modes[k], 1) == 0);
            expect_error(path, RC_ERR_FORMAT, what[t]);
        }
    }
}

/* RECUR_HDF5 takes three values; another is an error, not a silent choice */
Test(model_io, recur_hdf5_values) {
    char path[512];
    snprintf(path, sizeof path, "%s/gru_lstm_dense/model.keras", GOLDEN_MODELS);
    const char *ok[] = {"auto", "own", "libhdf5", ""};
    for (int k = 0; k < 4; k++) {
        cr_assert(setenv("RECUR_HDF5", ok[k], 1) == 0);
        rc_io_model *m = NULL;
        rc_error err;
        cr_assert_eq(rc_io_load(path, &m, &err), RC_OK, "RECUR_HDF5=%s: %s", ok[k], err.message);
        rc_io_free(m);
    }
    cr_assert(setenv("RECUR_HDF5", "hdf5", 1) == 0);
    expect_error(path, RC_ERR_ARG, "RECUR_HDF5=hdf5: expected auto, own or libhdf5");
}

Test(model_io, keras_weights_disagree_with_config) {
    char *cfg = golden_config("gru_lstm_dense");
    /* the Dense loses its bias in the config; the file still has it */
    char *nobias = replace(cfg, "\"units\": 2, \"activation\": \"linear\", \"use_bias\": true",
                           "\"units\": 2, \"activation\": \"linear\", \"use_bias\": false");
    expect_error(keras_fixture("gru_lstm_dense", NULL, nobias), RC_ERR_FORMAT, "extra weights");
    /* a layer class the file has no group for */
    char *bad = replace(cfg, "\"class_name\": \"GRU\"", "\"class_name\": \"LSTM\"");
    expect_error(keras_fixture("gru_lstm_dense", NULL, bad), RC_ERR_FORMAT, "no group 'layers/lstm_1'");
    char *broken = replace(cfg, "{", "{{");
    expect_error(keras_fixture("gru_lstm_dense", NULL, broken), RC_ERR_FORMAT, "config.json: malformed JSON");
    free(cfg), free(nobias), free(bad), free(broken);
}

/* --- building, counts, export --------------------------------------------------------- */

static rc_io_model *load_ok(const char *path) {
    rc_io_model *m = NULL;
    rc_error err;
    cr_assert_eq(rc_io_load(path, &m, &err), RC_OK, "%s", err.message);
    return m;
}

static void transpose_dense_kernel(json_t *root) {
    json_object_set_new(json_array_get(weights_of(root), 6), "shape", json_pack("[i, i]", 4, 3));
}
Test(model_io, weight_shape_checked_when_built) {
    rc_io_model *m = load_ok(tfjs_fixture("bidir_lstm_dense", transpose_dense_kernel, -1));
    rc_graph *g = rc_graph_new();
    rc_node *in[4], *out[4];
    rc_error err;
    cr_assert_eq(rc_io_build_batch(m, g, 2, 0, in, 4, out, 4, &err), RC_ERR_SHAPE);
    cr_assert(strstr(err.message, "layer 'dense' (Dense): weight 'dense/kernel' has shape (4, 3) in the file, the layer "
                          "needs (6, 2)"), "%s", err.message);
    rc_io_free(m);
    rc_graph_free(g);
}

/* Keras' formulas (I inputs, U units): LSTM 4(U(I+U)+U), GRU reset_after=false
 * 3(U(I+U)+U), Dense U(I+1), Embedding V*D, Bidirectional twice its layer. */
Test(model_io, param_counts_follow_keras) {
    struct {
        const char *name;
        int64_t layers[4], total;
    } want[] = {
        {"bidir_lstm_dense", {2 * 4 * (3 * (2 + 3) + 3), 2 * (6 + 1)}, 158},
        {"embedding_lstm_dense", {10 * 4, 4 * (5 * (4 + 5) + 5), 3 * (5 + 1)}, 258},
        {"gru_lstm_dense", {0, 3 * (4 * (3 + 4) + 4), 4 * (3 * (4 + 3) + 3), 2 * (3 + 1)}, 200},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        for (int form = 0; form < 2; form++) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s/%s", GOLDEN_MODELS, want[k].name, form ? "model.keras" : "model.json");
            rc_io_model *m = load_ok(path);
            rc_graph *g = rc_graph_new();
            rc_node *in[4], *out[4];
            rc_error err;
            cr_assert_eq(rc_io_build_batch(m, g, 1, 1, in, 4, out, 4, &err), RC_OK, "%s", err.message);
            rc_model *rm = rc_io_rc_model(m);
            cr_assert_eq(rc_model_param_count(rm), want[k].total, "%s", path);
            for (int l = 0; l < rc_model_layer_count(rm); l++) {
                rc_layer_info info;
                cr_assert(rc_model_layer_info(rm, l, &info));
                cr_assert_eq(info.params, want[k].layers[l], "%s layer %s", path, info.name);
            }
            char text[4096];
            rc_model_summary(rm, text, sizeof text);
            char total[64];
            snprintf(total, sizeof total, "Total params: %lld", (long long)want[k].total);
            cr_assert(strstr(text, total), "%s", text);
            rc_io_free(m);
            rc_graph_free(g);
        }
}

/* Predictions of a model file on a fixed random input (B = 3). */
static void predict(const char *path, float *out, int64_t *n) {
    rc_io_model *m = load_ok(path);
    rc_graph *g = rc_graph_new();
    rc_node *in[4], *y[4];
    rc_error err;
    cr_assert_eq(rc_io_build_batch(m, g, 3, 0, in, 4, y, 4, &err), RC_OK, "%s", err.message);
    rc_rng r;
    rc_rng_seed(&r, 5);
    if (rc_node_dtype(in[0]) == RC_I32)
        for (int64_t i = 0; i < rc_node_numel(in[0]); i++)
            ((int32_t *)rc_node_data(in[0]))[i] = (int32_t)rc_rng_below(&r, (uint64_t)rc_io_input_vocab(m, 0));
    else rc_rng_fill_uniform(&r, rc_node_data(in[0]), rc_node_numel(in[0]), -1, 1);
    rc_plan *p = rc_plan_new(g, y, 1);
    cr_assert(p);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    *n = rc_node_numel(y[0]);
    memcpy(out, rc_plan_f32(p, y[0]), (size_t)*n * sizeof(float));
    rc_plan_free(p);
    rc_io_free(m);
    rc_graph_free(g);
}

Test(model_io, export_reimports_identically) {
    const char *names[] = {"bidir_lstm_dense", "embedding_lstm_dense", "gru_lstm_dense"};
    for (int k = 0; k < 3; k++) {
        char path[512], exported[256];
        snprintf(path, sizeof path, "%s/%s/model.keras", GOLDEN_MODELS, names[k]);
        rc_io_model *m = load_ok(path);
        rc_error err;
        cr_assert_eq(rc_io_export_tfjs(m, tmp, &err), RC_OK, "%s", err.message);
        rc_io_free(m);
        snprintf(exported, sizeof exported, "%s/model.json", tmp);
        float a[256], b[256];
        int64_t na, nb;
        predict(path, a, &na);
        predict(exported, b, &nb);
        cr_assert_eq(na, nb);
        cr_assert(memcmp(a, b, (size_t)na * sizeof(float)) == 0, "%s: export predicts differently", names[k]);
    }
}

Test(model_io, build_rejects_wrong_input) {
    char path[512];
    snprintf(path, sizeof path, "%s/gru_lstm_dense/model.json", GOLDEN_MODELS);
    rc_io_model *m = load_ok(path);
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 5, 4)), *y[2];
    rc_error err;
    cr_assert_eq(rc_io_build(m, g, &x, 1, false, NULL, y, 2, NULL, 0, NULL, &err), RC_ERR_SHAPE);
    cr_assert(strstr(err.message, "input 'input'"), "%s", err.message);
    rc_io_free(m);
    rc_graph_free(g);
}

static void stateful_gru(json_t *root) {
    json_t *cfg = json_object_get(json_array_get(layers_of(root), 1), "config");
    json_object_set_new(cfg, "stateful", json_true());
}
Test(model_io, stateful_layers_expose_their_updates) {
    char path[512];
    snprintf(path, sizeof path, "%s/gru_lstm_dense/model.json", GOLDEN_MODELS);
    float a[64], b[64];
    int64_t na, nb;
    predict(path, a, &na);
    rc_io_model *m = load_ok(tfjs_fixture("gru_lstm_dense", stateful_gru, -1));
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "input", RC_F32, RC_SHAPE(3, 5, 3)), *y, *upd[4];
    int nupd = -1;
    rc_error err;
    cr_assert_eq(rc_io_build(m, g, &x, 1, false, NULL, &y, 1, upd, 4, &nupd, &err), RC_OK, "%s", err.message);
    cr_assert_eq(nupd, 1, "the stateful GRU stores its one state");
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_rng_fill_uniform(&r, rc_node_data(x), rc_node_numel(x), -1, 1);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    nb = rc_node_numel(y);
    memcpy(b, rc_plan_f32(p, y), (size_t)nb * sizeof(float));
    cr_assert_eq(na, nb);
    for (int64_t i = 0; i < na; i++) cr_assert_float_eq(a[i], b[i], 1e-6, "first call from zero states");
    rc_plan_free(p);
    rc_io_free(m);
    rc_graph_free(g);
}

static void layer0_return_state(json_t *root) {
    json_t *l = json_object_get(json_array_get(layers_of(root), 0), "config");
    json_object_set_new(json_object_get(json_object_get(l, "layer"), "config"), "return_state", json_true());
}
Test(model_io, sequential_cannot_chain_several_outputs) {
    expect_error(tfjs_fixture("bidir_lstm_dense", layer0_return_state, -1), RC_ERR_FORMAT, "returns several tensors");
}

static void big_dense(json_t *root) {
    json_t *cfg = json_object_get(json_array_get(layers_of(root), 1), "config");
    json_object_set_new(cfg, "units", json_integer((json_int_t)1 << 36));
}
Test(model_io, huge_declared_sizes_fail_before_allocating) {
    /* Dense(2^36) on 6 features would need a 1.6 TB kernel: the file's (6, 2)
     * kernel is compared first, so nothing is allocated */
    rc_io_model *m = load_ok(tfjs_fixture("bidir_lstm_dense", big_dense, -1));
    rc_graph *g = rc_graph_new();
    rc_node *in[4], *out[4];
    rc_error err;
    cr_assert_eq(rc_io_build_batch(m, g, 2, 0, in, 4, out, 4, &err), RC_ERR_SHAPE);
    cr_assert(strstr(err.message, "weight 'dense/kernel' has shape (6, 2) in the file, the layer needs (6, 68719476736)"),
              "%s", err.message);
    rc_io_free(m);
    rc_graph_free(g);
}

/* The Python converter's form: modelTopology = {keras_version, backend,
 * model_config: {class_name, config}, training_config}. */
static void converter_form(json_t *root) {
    json_t *topo = json_object_get(root, "modelTopology");
    json_t *wrapped = json_pack("{s:s, s:s, s:{s:O, s:O}, s:n}", "keras_version", "2.15.0", "backend", "tensorflow",
                                "model_config", "class_name", json_object_get(topo, "class_name"), "config",
                                json_object_get(topo, "config"), "training_config");
    json_object_set_new(root, "modelTopology", wrapped);
    json_object_set_new(root, "convertedBy", json_string("TensorFlow.js Converter v4.22.0"));
}
Test(model_io, converter_model_config_form) {
    const char *names[] = {"bidir_lstm_dense", "embedding_lstm_dense", "gru_lstm_dense"};
    for (int k = 0; k < 3; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s/model.json", GOLDEN_MODELS, names[k]);
        float a[256], b[256];
        int64_t na, nb;
        predict(path, a, &na);
        predict(tfjs_fixture(names[k], converter_form, -1), b, &nb);
        cr_assert_eq(na, nb);
        cr_assert(memcmp(a, b, (size_t)na * sizeof(float)) == 0, "%s", names[k]);
    }
}

/* --- activations through both formats ----------------------------------------------- */

/* gru_lstm_dense (GRU -> LSTM -> Dense(2, linear)) with the activation of
 * its layer of class `act_class` spelled `act_spelling`. */
static const char *act_class, *act_spelling;

static void set_activation(json_t *layers) {
    size_t i;
    json_t *l;
    bool found = false;
    json_array_foreach(layers, i, l) {
        if (strcmp(json_string_value(json_object_get(l, "class_name")), act_class)) continue;
        json_object_set_new(json_object_get(l, "config"), "activation", json_string(act_spelling));
        found = true;
    }
    cr_assert(found, "no %s layer", act_class);
}
static void tfjs_activation(json_t *root) { set_activation(layers_of(root)); }

static const char *keras_activation_fixture(void) {
    char src[512];
    snprintf(src, sizeof src, "%s/gru_lstm_dense/config.json", GOLDEN_MODELS);
    json_error_t e;
    json_t *root = json_load_file(src, 0, &e);
    cr_assert(root, "%s", e.text);
    set_activation(json_object_get(json_object_get(root, "config"), "layers"));
    char *cfg = json_dumps(root, 0);
    json_decref(root);
    const char *path = keras_fixture("gru_lstm_dense", NULL, cfg);
    free(cfg);
    return path;
}

/* The activation the exported model.json gives the layer of class act_class. */
static char *exported_activation(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/model.json", dir);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    cr_assert(root, "%s", e.text);
    json_t *layers = layers_of(root);
    size_t i;
    json_t *l;
    char *out = NULL;
    json_array_foreach(layers, i, l) {
        if (strcmp(json_string_value(json_object_get(l, "class_name")), act_class)) continue;
        out = strdup(json_string_value(json_object_get(json_object_get(l, "config"), "activation")));
    }
    json_decref(root);
    cr_assert(out);
    return out;
}

/* For every row and format with a spelling (all of the row's spellings):
 * the model imports and predicts; on the Dense its formula applied (in
 * double) to the linear model's outputs, on the LSTM something other than
 * tanh's unless it is tanh; the TF.js export writes the Keras 2 spelling
 * and re-imports to the same bits, or is an error naming the activation
 * when TF.js cannot express it. */
static void activation_through_formats(const char *cls) {
    char base[512], out_dir[128];
    snprintf(base, sizeof base, "%s/gru_lstm_dense/model.json", GOLDEN_MODELS);
    snprintf(out_dir, sizeof out_dir, "%s/exported", tmp);
    cr_assert(mkdir(out_dir, 0700) == 0);
    float ref[64], got[64], again[64];
    int64_t nref, n, n2;
    predict(base, ref, &nref); /* Dense linear, LSTM tanh */
    act_class = cls;
    const rc_act_format formats[2] = {RC_ACT_KERAS3, RC_ACT_KERAS2};
    int checked = 0;
    for (int i = 0; i < rc_activation_count(); i++) {
        rc_activation a = rc_activation_at(i);
        for (int f = 0; f < 2; f++) {
            const char *const *sp = formats[f] == RC_ACT_KERAS3 ? a->keras3 : a->keras2;
            for (int k = 0; k < RC_ACT_SPELLINGS && sp[k]; k++) {
                act_spelling = sp[k];
                const char *path = formats[f] == RC_ACT_KERAS3 ? keras_activation_fixture()
                                                               : tfjs_fixture("gru_lstm_dense", tfjs_activation, -1);
                char what[160];
                snprintf(what, sizeof what, "%s activation '%s' (%s) in a %s file", cls, sp[k], a->name,
                         f ? "TF.js" : "Keras 3");
                predict(path, got, &n);
                cr_assert_eq(n, nref, "%s", what);
                if (!strcmp(cls, "Dense")) {
                    for (int64_t r = 0; r < n; r += 2) { /* rows of the Dense's 2 units */
                        double x[2] = {ref[r], ref[r + 1]}, want[2];
                        cr_assert(tu_activation_ref(a, x, want, 2), "%s: no formula", what);
                        for (int u = 0; u < 2; u++)
                            cr_assert(fabs(got[r + u] - want[u]) <= 1e-6 + 1e-5 * fabs(want[u]),
                                      "%s: %.9g -> %.9g, want %.9g", what, x[u], (double)got[r + u], want[u]);
                    }
                } else if (a != RC_ACT_TANH)
                    cr_assert(memcmp(got, ref, (size_t)n * sizeof(float)), "%s: predicts as tanh", what);
                rc_io_model *m = load_ok(path);
                rc_error err;
                rc_status st = rc_io_export_tfjs(m, out_dir, &err);
                rc_io_free(m);
                const char *written = rc_activation_keras_name(a, RC_ACT_KERAS2);
                if (!written) {
                    cr_assert_eq(st, RC_ERR_ARG, "%s: exported", what);
                    cr_assert(strstr(err.message, "has no TF.js"), "%s: %s", what, err.message);
                    continue;
                }
                cr_assert_eq(st, RC_OK, "%s: %s", what, err.message);
                char *w = exported_activation(out_dir);
                cr_assert_str_eq(w, written, "%s", what);
                free(w);
                char exported[256];
                snprintf(exported, sizeof exported, "%s/model.json", out_dir);
                predict(exported, again, &n2);
                cr_assert(n2 == n && memcmp(got, again, (size_t)n * sizeof(float)) == 0,
                          "%s: the TF.js export predicts differently", what);
                checked++;
            }
        }
    }
    cr_assert(checked >= 2 * rc_activation_count() - 4);
}

Test(model_io, every_activation_on_dense_through_both_formats) { activation_through_formats("Dense"); }
Test(model_io, every_activation_in_a_cell_through_both_formats) { activation_through_formats("LSTM"); }
