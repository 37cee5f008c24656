/* Checkpoints: safetensors round trip, validation of corrupt files (each
 * error names the file and the problem), atomic writes that leave the old
 * file intact on failure, and exact resumption of training. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* The message of the last failed trainer call, for assertion messages. */
static rc_error step_err;

static char dir[64];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/recur_ckpt_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

TestSuite(checkpoint, .init = make_dir, .fini = remove_dir);

static char *path_in(const char *name) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static unsigned char *slurp(const char *p, long *n) {
    *n = file_size(p);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f);
    unsigned char *b = malloc((size_t)*n + 1);
    cr_assert_eq(fread(b, 1, (size_t)*n, f), (size_t)*n);
    fclose(f);
    return b;
}

static void spit(const char *p, const void *b, size_t n) {
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A raw safetensors file: header JSON as given, then nbytes of data. */
static void write_raw(const char *p, const char *header, size_t nbytes) {
    size_t h = strlen(header);
    unsigned char *b = calloc(8 + h + nbytes + 1, 1);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(b + 8, header, h);
    spit(p, b, 8 + h + nbytes);
    free(b);
}

static void expect_error(const char *p, rc_status want, const char *needle) {
    rc_safetensors *s = (rc_safetensors *)1;
    rc_error err;
    rc_status st = rc_safetensors_read(p, &s, &err);
    cr_assert_eq(st, want, "status %d (%s), want %d for '%s'", st, err.message, want, needle);
    cr_assert_null(s);
    cr_assert(strstr(err.message, needle), "error '%s' does not mention '%s'", err.message, needle);
    cr_assert(strstr(err.message, p), "error '%s' does not name the file", err.message);
}

Test(checkpoint, safetensors_round_trip) {
    float a[6] = {1, -2, 3.5f, 0, 1e-30f, -7};
    int32_t b[3] = {7, -1, 2147483647};
    float c = 0.25f;
    rc_st_tensor ts[3] = {{"layer/kernel", RC_F32, RC_SHAPE(2, 3), a}, {"ids", RC_I32, RC_SHAPE(3), b},
                          {"scalar", RC_F32, RC_SCALAR, &c}};
    const char *meta[4] = {"format", "pt", "note", "quotes \" and \\ survive"};
    rc_error err;
    const char *p = path_in("rt.safetensors");
    cr_assert_eq(rc_safetensors_write(p, ts, 3, meta, 2, &err), RC_OK, "%s", err.message);
    long n;
    unsigned char *raw = slurp(p, &n);
    uint64_t hlen = 0;
    for (int k = 0; k < 8; k++) hlen |= (uint64_t)raw[k] << (8 * k);
    cr_assert_eq(hlen % 8, 0, "header padded to 8 bytes");
    cr_assert_eq((uint64_t)n, 8 + hlen + sizeof a + sizeof b + sizeof c);
    free(raw);
    rc_safetensors *s;
    cr_assert_eq(rc_safetensors_read(p, &s, &err), RC_OK, "%s", err.message);
    cr_assert_eq(rc_safetensors_count(s), 3);
    for (int i = 0; i < 3; i++) {
        const rc_st_tensor *x = rc_safetensors_find(s, ts[i].name);
        cr_assert_not_null(x, "%s", ts[i].name);
        cr_assert_eq(x->dtype, ts[i].dtype);
        cr_assert(rc_shape_eq(x->shape, ts[i].shape));
        cr_assert_eq(memcmp(x->data, ts[i].data, (size_t)rc_shape_numel(x->shape) * 4), 0);
        cr_assert_str_eq(rc_safetensors_tensor(s, i)->name, ts[i].name, "file order = offset order");
    }
    cr_assert_str_eq(rc_safetensors_meta(s, "note"), meta[3]);
    cr_assert_null(rc_safetensors_meta(s, "absent"));
    cr_assert_null(rc_safetensors_find(s, "absent"));
    rc_safetensors_free(s);
    /* duplicate names are refused before anything is written */
    ts[1].name = "scalar";
    cr_assert_eq(rc_safetensors_write(path_in("dup.safetensors"), ts, 3, NULL, 0, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "twice"), "%s", err.message);
    cr_assert_eq(file_size(path_in("dup.safetensors")), -1);
}

Test(checkpoint, corrupt_files_are_rejected_with_the_problem_named) {
    float a[6] = {1, 2, 3, 4, 5, 6};
    rc_st_tensor ts[2] = {{"w", RC_F32, RC_SHAPE(2, 2), a}, {"b", RC_F32, RC_SHAPE(2), a + 4}};
    rc_error err;
    const char *good = path_in("good.safetensors"), *bad = path_in("bad.safetensors");
    cr_assert_eq(rc_safetensors_write(good, ts, 2, NULL, 0, &err), RC_OK, "%s", err.message);
    long n;
    unsigned char *raw = slurp(good, &n);

    spit(bad, raw, (size_t)n - 3); /* truncated data */
    expect_error(bad, RC_ERR_FORMAT, "truncated");
    spit(bad, raw, 20); /* truncated inside the header */
    expect_error(bad, RC_ERR_FORMAT, "header length");
    spit(bad, raw, 5); /* shorter than the length field */
    expect_error(bad, RC_ERR_FORMAT, "8-byte header length");
    unsigned char *huge = malloc((size_t)n);
    memcpy(huge, raw, (size_t)n);
    huge[7] = 0x10; /* header length 2^60 */
    spit(bad, huge, (size_t)n);
    expect_error(bad, RC_ERR_FORMAT, "header length");
    memcpy(huge, raw, (size_t)n);
    huge[8] = '['; /* JSON, but not an object */
    spit(bad, huge, (size_t)n);
    expect_error(bad, RC_ERR_FORMAT, "not a JSON object");
    free(huge);
    free(raw);

    /* Hand-written headers: {header, data bytes, what the error must say}. */
#define W(shape, offs) "{\"w\": {\"dtype\": \"F32\", \"shape\": " shape ", \"data_offsets\": " offs "}"
    static const struct {
        const char *header;
        size_t bytes;
        const char *needle;
    } cases[] = {
        {W("[2]", "[0, 8]"), 8, "not a JSON object"}, /* unterminated */
        {"{\"w\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [0, 16]}}", 16, "dtype F64 is not supported"},
        {W("[3]", "[0, 8]") "}", 8, "8 bytes in data_offsets but shape and dtype need 12"},
        {W("[2]", "[0, 8]") ", \"v\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, "overlaps"},
        {W("[2]", "[4, 12]") "}", 12, "gap"},
        {W("[2]", "[0, 8]") "}", 12, "trailing"},
        {W("[2, -1]", "[0, 8]") "}", 8, "shape entry 1"},
        {W("[1048576, 1048576, 1048576]", "[0, 8]") "}", 8, "2^40"},
        {W("[2]", "[8, 0]") "}", 8, "begin <= end"},
        {W("[2]", "[0, 8]") ", \"w\": {}}", 8, "duplicate"},
        {"{\"__metadata__\": {\"k\": 3}}", 0, "not a string"},
        {"{\"w\": [1, 2]}", 0, "not a JSON object"},
    };
#undef W
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_raw(bad, cases[k].header, cases[k].bytes);
        expect_error(bad, RC_ERR_FORMAT, cases[k].needle);
    }
    expect_error(path_in("missing.safetensors"), RC_ERR_IO, "cannot open");
}

/* --- trainer checkpoints -------------------------------------------------------------------- */

enum { B = 8, I = 2, H = 8 };

typedef struct net {
    rc_graph *g;
    rc_node *x, *y, *params[4];
    rc_trainer *t;
    rc_rng data; /* draws the batches: part of the checkpoint */
} net;

/* An MLP with dropout on the hidden layer, trained by Adam with a cosine
 * schedule and global clipping on noisy XOR batches drawn from `data`. */
static void net_init(net *n, uint64_t seed) {
    memset(n, 0, sizeof *n);
    rc_graph *g = n->g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, seed);
    n->x = rc_input(g, "x", RC_F32, RC_SHAPE(B, I));
    n->y = rc_input(g, "y", RC_F32, RC_SHAPE(B, 1));
    cr_assert(rc_scope_push(g, "hidden"));
    n->params[0] = tu_param(g, "kernel", RC_SHAPE(I, H), &r, -0.8f, 0.8f);
    n->params[1] = rc_param(g, "bias", RC_SHAPE(H));
    rc_scope_pop(g);
    cr_assert(rc_scope_push(g, "out"));
    n->params[2] = tu_param(g, "kernel", RC_SHAPE(H, 1), &r, -0.8f, 0.8f);
    n->params[3] = rc_param(g, "bias", RC_SHAPE(1));
    rc_scope_pop(g);
    rc_node *h = rc_tanh(g, rc_add(g, rc_matmul(g, n->x, n->params[0], false, false), n->params[1]));
    h = rc_mul(g, h, rc_dropout_mask(g, RC_SHAPE(B, H), 0.2, seed + 1));
    rc_node *logits = rc_add(g, rc_matmul(g, h, n->params[2], false, false), n->params[3]);
    rc_optim_config c = rc_optim_defaults(RC_OPT_ADAM);
    c.lr = (rc_lr_schedule){.kind = RC_LR_COSINE, .initial = 0.05, .decay_steps = 30, .alpha = 0.1};
    c.global_clipnorm = 0.5;
    rc_trainer_spec spec = {.loss = rc_loss_binary_xent_logits(g, logits, n->y, NULL), .optim = c};
    n->t = rc_trainer_new(g, &spec);
    cr_assert_not_null(n->t, "%s", rc_graph_error(g));
    rc_rng_seed(&n->data, 99);
}

static void net_free(net *n) {
    rc_trainer_free(n->t);
    rc_graph_free(n->g);
}

static void net_steps(net *n, int k) {
    for (int s = 0; s < k; s++) {
        float *x = rc_node_data(n->x), *y = rc_node_data(n->y);
        for (int b = 0; b < B; b++) {
            int u = (int)rc_rng_below(&n->data, 2), v = (int)rc_rng_below(&n->data, 2);
            x[2 * b] = (float)u + 0.1f * (rc_rng_uniform(&n->data) - 0.5f);
            x[2 * b + 1] = (float)v + 0.1f * (rc_rng_uniform(&n->data) - 0.5f);
            y[b] = (float)(u ^ v);
        }
        cr_assert_eq(rc_trainer_step(n->t, NULL, &step_err), RC_OK, "%s", step_err.message);
    }
}

/* Every leaf the trainer keeps (params, slots, counter), compared bitwise. */
static void assert_same_state(net *a, net *b) {
    cr_assert_eq(rc_graph_node_count(a->g), rc_graph_node_count(b->g));
    for (int i = 0; i < rc_graph_node_count(a->g); i++) {
        rc_node *u = rc_graph_node(a->g, i), *v = rc_graph_node(b->g, i);
        if (!rc_node_value(u) || (!rc_node_is_param(u) && strncmp(rc_node_scope(u), "optimizer", 9) != 0)) continue;
        char p[256];
        cr_assert_eq(memcmp(rc_node_data(u), rc_node_data(v), rc_tensor_bytes(rc_node_value(u))), 0, "%s differs",
                     rc_node_path(u, p, sizeof p));
    }
    cr_assert_eq(memcmp(&a->data, &b->data, sizeof a->data), 0, "data rng differs");
}

Test(checkpoint, resume_is_bitwise_identical_to_straight_training) {
    const int N = 40;
    net straight, first, second;
    net_init(&straight, 7);
    net_steps(&straight, N);

    net_init(&first, 7);
    net_steps(&first, N / 2);
    rc_error err;
    const char *p = path_in("run.ckpt");
    cr_assert_eq(rc_trainer_save(first.t, p, "{\"units\": 8}", &first.data, &err), RC_OK, "%s", err.message);
    net_free(&first);

    net_init(&second, 12345); /* different init, data and dropout seeds: all overwritten by the load */
    char *cfg = NULL;
    cr_assert_eq(rc_trainer_load(second.t, p, &cfg, &second.data, &err), RC_OK, "%s", err.message);
    cr_assert_str_eq(cfg, "{\"units\": 8}");
    rc_free(cfg);
    cr_assert_eq(rc_trainer_iterations(second.t), N / 2);
    net_steps(&second, N - N / 2);
    assert_same_state(&straight, &second);

    /* the parameters alone load into a fresh model for inference */
    net infer;
    net_init(&infer, 555);
    cr_assert_eq(rc_load_params(p, infer.params, 4, &err), RC_OK, "%s", err.message);
    rc_safetensors *s;
    cr_assert_eq(rc_safetensors_read(p, &s, &err), RC_OK);
    const rc_st_tensor *k = rc_safetensors_find(s, "hidden/kernel");
    cr_assert_not_null(k);
    cr_assert_eq(memcmp(rc_node_data(infer.params[0]), k->data, I * H * sizeof(float)), 0);
    cr_assert_not_null(rc_safetensors_find(s, "optimizer/hidden/kernel/m"));
    cr_assert_not_null(rc_safetensors_find(s, "optimizer/iterations"));
    cr_assert_str_eq(rc_safetensors_meta(s, "iterations"), "20");
    cr_assert(strstr(rc_safetensors_meta(s, "optimizer"), "\"adam\""), "%s", rc_safetensors_meta(s, "optimizer"));
    rc_safetensors_free(s);
    net_free(&infer);
    net_free(&straight);
    net_free(&second);
}

/* Files that do not fit the trainer are refused and change nothing. */
Test(checkpoint, load_validates_against_the_trainer_and_changes_nothing_on_error) {
    net a, b;
    net_init(&a, 1);
    net_steps(&a, 3);
    net_init(&b, 2);
    rc_error err;
    const char *p = path_in("a.ckpt"), *q = path_in("q.ckpt");
    cr_assert_eq(rc_trainer_save(a.t, p, NULL, NULL, &err), RC_OK, "%s", err.message);
    rc_safetensors *s;
    cr_assert_eq(rc_safetensors_read(p, &s, &err), RC_OK);
    int n = rc_safetensors_count(s);
    rc_st_tensor ts[64];
    const char *meta[16];
    int nmeta = 0;
    const char *keys[] = {"format", "format_version", "optimizer", "iterations", "dropout_count", "dropout_states"};
    for (int k = 0; k < 6; k++) {
        meta[2 * nmeta] = keys[k];
        meta[2 * nmeta++ + 1] = rc_safetensors_meta(s, keys[k]);
    }
    for (int i = 0; i < n; i++) ts[i] = *rc_safetensors_tensor(s, i);

    unsigned char before[4][64];
    for (int i = 0; i < 4; i++) memcpy(before[i], rc_node_data(b.params[i]), rc_tensor_bytes(rc_node_value(b.params[i])));
    int64_t it_before = rc_trainer_iterations(b.t);
#define EXPECT_LOAD_FAIL(needle)                                                                                      \
    do {                                                                                                              \
        cr_assert_neq(rc_trainer_load(b.t, q, NULL, NULL, &err), RC_OK, "loaded %s", needle);             \
        cr_assert(strstr(err.message, needle), "error '%s' does not mention '%s'", err.message, needle);                             \
        for (int i = 0; i < 4; i++)                                                                                   \
            cr_assert_eq(memcmp(before[i], rc_node_data(b.params[i]), rc_tensor_bytes(rc_node_value(b.params[i]))), 0); \
        cr_assert_eq(rc_trainer_iterations(b.t), it_before);                                                          \
    } while (0)

    /* a missing tensor */
    cr_assert_eq(rc_safetensors_write(q, ts + 1, n - 1, meta, nmeta, &err), RC_OK, "%s", err.message);
    EXPECT_LOAD_FAIL("is missing");
    /* a non-finite value (NaN, then -Inf) in a parameter or an optimizer
     * slot: refused naming the tensor and the element, by rc_trainer_load,
     * rc_load_params and rc_safetensors_check_finite */
    for (int which = 0; which < n; which++) {
        if (ts[which].dtype != RC_F32) continue;
        int64_t numel = rc_shape_numel(ts[which].shape), k = numel - 1;
        float *bad = malloc((size_t)numel * sizeof *bad);
        memcpy(bad, ts[which].data, (size_t)numel * sizeof *bad);
        bad[k] = which % 2 ? -INFINITY : NAN;
        rc_st_tensor keep = ts[which];
        ts[which].data = bad;
        cr_assert_eq(rc_safetensors_write(q, ts, n, meta, nmeta, &err), RC_OK, "%s", err.message);
        ts[which] = keep;
        char needle[600];
        snprintf(needle, sizeof needle, "tensor '%s' holds %s at element %lld", ts[which].name,
                 which % 2 ? "-Inf" : "NaN", (long long)k);
        EXPECT_LOAD_FAIL(needle);
        cr_assert_str_eq(err.where, "rc_trainer_load");
        if (strncmp(ts[which].name, "optimizer/", 10) != 0) {
            cr_assert_eq(rc_load_params(q, b.params, 4, &err), RC_ERR_FORMAT);
            cr_assert(strstr(err.message, needle), "%s", err.message);
        }
        rc_safetensors *bs;
        cr_assert_eq(rc_safetensors_read(q, &bs, &err), RC_OK, "%s", err.message);
        cr_assert_eq(rc_safetensors_check_finite(bs, q, &err), RC_ERR_FORMAT);
        cr_assert(strstr(err.message, needle), "%s", err.message);
        rc_safetensors_free(bs);
        free(bad);
    }
    cr_assert_eq(rc_safetensors_check_finite(s, p, &err), RC_OK);
    /* an extra tensor */
    float extra = 1;
    ts[n] = (rc_st_tensor){"stray", RC_F32, RC_SCALAR, &extra};
    cr_assert_eq(rc_safetensors_write(q, ts, n + 1, meta, nmeta, &err), RC_OK, "%s", err.message);
    EXPECT_LOAD_FAIL("'stray' is not part of this model");
    /* a wrong shape */
    rc_st_tensor keep = ts[0];
    ts[0].shape = RC_SHAPE(rc_shape_numel(keep.shape));
    cr_assert_eq(rc_safetensors_write(q, ts, n, meta, nmeta, &err), RC_OK, "%s", err.message);
    EXPECT_LOAD_FAIL("in the file but");
    /* a wrong dtype */
    ts[0] = keep;
    ts[0].dtype = RC_I32;
    cr_assert_eq(rc_safetensors_write(q, ts, n, meta, nmeta, &err), RC_OK, "%s", err.message);
    EXPECT_LOAD_FAIL("I32");
    ts[0] = keep;
    /* another optimizer */
    meta[5] = "{\"kind\": \"sgd\"}";
    cr_assert_eq(rc_safetensors_write(q, ts, n, meta, nmeta, &err), RC_OK, "%s", err.message);
    EXPECT_LOAD_FAIL("optimizer sgd");
    meta[5] = rc_safetensors_meta(s, "optimizer");
    /* not a checkpoint */
    cr_assert_eq(rc_safetensors_write(q, ts, n, NULL, 0, &err), RC_OK, "%s", err.message);
    EXPECT_LOAD_FAIL("not a recur checkpoint");
    /* asked for an rng the file does not hold */
    cr_assert_eq(rc_safetensors_write(q, ts, n, meta, nmeta, &err), RC_OK, "%s", err.message);
    rc_rng r;
    cr_assert_eq(rc_trainer_load(b.t, q, NULL, &r, &err), RC_ERR_FORMAT);
    cr_assert(strstr(err.message, "rng"), "%s", err.message);
    /* the same file without the rng request loads */
    cr_assert_eq(rc_trainer_load(b.t, q, NULL, NULL, &err), RC_OK, "%s", err.message);
    cr_assert_eq(rc_trainer_iterations(b.t), 3);
    rc_safetensors_free(s);
    net_free(&a);
    net_free(&b);
}

static bool no_temp_files(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    bool clean = true;
    while ((e = readdir(d))) clean &= strstr(e->d_name, ".tmp.") == NULL;
    closedir(d);
    return clean;
}

/* A write that fails part-way (the file-size limit makes write() fail with
 * EFBIG, as a full disk would) leaves the previous checkpoint byte for
 * byte and no temporary file. */
Test(checkpoint, failed_write_leaves_the_old_file_intact) {
    net a;
    net_init(&a, 1);
    rc_error err;
    const char *p = path_in("keep.ckpt");
    cr_assert_eq(rc_trainer_save(a.t, p, NULL, NULL, &err), RC_OK, "%s", err.message);
    long n0;
    unsigned char *old = slurp(p, &n0);
    net_steps(&a, 2);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit saved, small = {.rlim_cur = 200, .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &saved);
    small.rlim_max = saved.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    rc_status st = rc_trainer_save(a.t, p, "{}", NULL, &err);
    setrlimit(RLIMIT_FSIZE, &saved);
    cr_assert_eq(st, RC_ERR_IO, "status %d: %s", st, err.message);
    cr_assert(strstr(err.message, p) && strstr(err.message, "untouched"), "%s", err.message);
    long n1;
    unsigned char *now = slurp(p, &n1);
    cr_assert_eq(n0, n1);
    cr_assert_eq(memcmp(old, now, (size_t)n0), 0, "the old checkpoint changed");
    cr_assert(no_temp_files(), "a temporary file was left behind");
    free(now);

    /* an unwritable destination: a missing directory */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.ckpt", dir);
    cr_assert_eq(rc_trainer_save(a.t, missing, NULL, NULL, &err), RC_ERR_IO);
    cr_assert(strstr(err.message, "temporary file"), "%s", err.message);

    /* and a good save still replaces the file */
    cr_assert_eq(rc_trainer_save(a.t, p, NULL, NULL, &err), RC_OK, "%s", err.message);
    now = slurp(p, &n1);
    cr_assert(n0 != n1 || memcmp(old, now, (size_t)n0) != 0, "the new checkpoint should differ");
    free(now);
    free(old);
    net_free(&a);
}

/* Overwriting keeps the checkpoint's mode; a new checkpoint follows the
 * umask (0666 & ~umask), not mkstemp's 0600. */
Test(checkpoint, overwrite_keeps_the_mode_and_new_files_follow_the_umask) {
    net a;
    net_init(&a, 1);
    rc_error err;
    mode_t saved = umask(022);
    const char *p = path_in("mode.ckpt");
    cr_assert_eq(rc_trainer_save(a.t, p, NULL, NULL, &err), RC_OK, "%s", err.message);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0644, "new file mode %o", sb.st_mode & 07777);
    cr_assert_eq(chmod(p, 0640), 0);
    net_steps(&a, 1);
    cr_assert_eq(rc_trainer_save(a.t, p, NULL, NULL, &err), RC_OK, "%s", err.message);
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0640, "overwritten file mode %o", sb.st_mode & 07777);
    umask(077);
    const char *q = path_in("mode2.ckpt");
    cr_assert_eq(rc_trainer_save(a.t, q, NULL, NULL, &err), RC_OK, "%s", err.message);
    cr_assert_eq(stat(q, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600, "new file under umask 077: %o", sb.st_mode & 07777);
    umask(saved);
    net_free(&a);
}

/* A save removes the temporary files a killed save of the same checkpoint
 * left, and nothing else: not other checkpoints' temporaries, not names that
 * merely look alike, not a temporary a live writer holds locked. */
Test(checkpoint, a_save_removes_stale_temporaries_of_that_checkpoint_only) {
    net a;
    net_init(&a, 1);
    rc_error err;
    const char *stale[] = {"c.ckpt.tmp.AbC123", "c.ckpt.tmp.zzzzzz"};
    const char *kept[] = {"c.ckpt.tmp.AbC12", "c.ckpt.tmp.AbC1234", "c.ckpt.tmp.Ab-123", "d.ckpt.tmp.AbC123",
                          "c.ckpt.tmpx", "xc.ckpt.tmp.AbC123", "c.ckpt.bak"};
    for (size_t i = 0; i < sizeof stale / sizeof *stale; i++) spit(path_in(stale[i]), "junk", 4);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) spit(path_in(kept[i]), "keep", 4);
    char live[300];
    snprintf(live, sizeof live, "%s", path_in("c.ckpt.tmp.L1veW1"));
    spit(live, "live", 4);
    int lfd = open(live, O_RDONLY);
    cr_assert(lfd >= 0);
    cr_assert_eq(flock(lfd, LOCK_EX), 0);

    cr_assert_eq(rc_trainer_save(a.t, path_in("c.ckpt"), NULL, NULL, &err), RC_OK, "%s", err.message);
    for (size_t i = 0; i < sizeof stale / sizeof *stale; i++)
        cr_expect_neq(access(path_in(stale[i]), F_OK), 0, "%s should have been removed", stale[i]);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        cr_expect_eq(access(path_in(kept[i]), F_OK), 0, "%s should have been kept", kept[i]);
    cr_expect_eq(access(live, F_OK), 0, "a temporary locked by a live writer was removed");
    close(lfd);
    /* once its writer is gone, the next save removes it */
    cr_assert_eq(rc_trainer_save(a.t, path_in("c.ckpt"), NULL, NULL, &err), RC_OK, "%s", err.message);
    cr_expect_neq(access(live, F_OK), 0, "an unlocked stale temporary survived");
    net_free(&a);
}
