/* recur's own HDF5 reader (frontends/keras/h5read.c) against libhdf5 as
 * the oracle: files written by libhdf5 in the layouts h5py and Keras use
 * (and some they do not) are read by both, and every group size and every
 * float32 value must agree; what is outside the reader's subset must say
 * so (H5R_UNSUPPORTED, then libhdf5 reads it, contained); what names other
 * files must be refused; damaged structure (loops, cycles, offsets out of
 * the file) must be reported, not followed. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5read.h"
#include "util.h"

TestSuite(h5read, .init = tu_tmpdir_setup, .fini = tu_tmpdir_teardown);

static char path_buf[600];

static const char *tmp_path(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", tu_tmpdir, name);
    return path_buf;
}

static uint8_t *slurp(const char *path, size_t *len) { return (uint8_t *)tu_read_file(path, len); }

/* A file at path: latest = libver bounds latest (superblock v3, v2
 * object headers, link messages); userblock bytes before the superblock. */
static hid_t create(const char *path, bool latest, hsize_t userblock) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (latest) cr_assert(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0);
    if (userblock) cr_assert(H5Pset_userblock(fcpl, userblock) >= 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    cr_assert(f >= 0);
    H5Pclose(fapl), H5Pclose(fcpl);
    return f;
}

/* A float32 dataset of shape dims with values seed + 0.25 * i (type:
 * H5T_IEEE_F32LE or _BE; dcpl may set a layout). */
static void dataset(hid_t loc, const char *name, int nd, const hsize_t *dims, hid_t type, hid_t dcpl, float seed) {
    hsize_t n = 1;
    for (int d = 0; d < nd; d++) n *= dims[d];
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (hsize_t i = 0; i < n; i++) v[i] = seed + 0.25f * (float)i;
    hid_t sp = nd ? H5Screate_simple(nd, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(loc, name, type, sp, lcpl, dcpl, H5P_DEFAULT);
    cr_assert(ds >= 0, "%s", name);
    cr_assert(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds), H5Sclose(sp), H5Pclose(lcpl);
    free(v);
}

/* n one-element float32 datasets group/0.. (value k), created one by one. */
static void one_element_datasets(hid_t f, const char *group, int n) {
    hsize_t one[1] = {1};
    for (int k = 0; k < n; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s/%d", group, k);
        dataset(f, name, 1, one, H5T_IEEE_F32LE, H5P_DEFAULT, (float)k);
    }
}

/* Keras puts a variable-length string attribute "name" on its vars groups. */
static void name_attribute(hid_t loc, const char *obj, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(loc, obj, "name", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(a >= 0);
    cr_assert(H5Awrite(a, t, &value) >= 0);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t);
}

/* --- the comparison: every object libhdf5 sees, read by both ---------------------- */

typedef struct walk {
    h5r *r;
    hid_t file;
    int groups, datasets;
} walk;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *op) {
    walk *w = op;
    (void)obj;
    if (!strcmp(name, ".")) name = "";
    if (info->type == H5O_TYPE_GROUP) {
        hid_t g = H5Gopen2(w->file, name[0] ? name : "/", H5P_DEFAULT);
        H5G_info_t gi;
        cr_assert(H5Gget_info(g, &gi) >= 0);
        H5Gclose(g);
        long n;
        h5r_status st = h5r_group_size(w->r, name, &n);
        cr_assert_eq(st, H5R_OK, "group '%s': %s", name, h5r_message(w->r));
        cr_assert_eq(n, (long)gi.nlinks, "group '%s': %ld links, libhdf5 says %llu", name, n,
                     (unsigned long long)gi.nlinks);
        w->groups++;
    } else if (info->type == H5O_TYPE_DATASET) {
        hid_t ds = H5Dopen2(w->file, name, H5P_DEFAULT), sp = H5Dget_space(ds), ty = H5Dget_type(ds);
        int nd = H5Sget_simple_extent_ndims(sp);
        hsize_t dims[H5R_MAX_RANK];
        H5Sget_simple_extent_dims(sp, dims, NULL);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        h5r_dataset d;
        h5r_status st = h5r_dataset_open(w->r, name, &d);
        cr_assert_eq(st, H5R_OK, "dataset '%s': %s", name, h5r_message(w->r));
        cr_assert_eq(d.ndim, nd, "dataset '%s'", name);
        for (int k = 0; k < nd; k++) cr_assert_eq(d.dims[k], dims[k], "dataset '%s' dim %d", name, k);
        bool f32 = H5Tget_class(ty) == H5T_FLOAT && H5Tget_size(ty) == 4;
        cr_assert_eq(d.is_float && d.size == 4, f32, "dataset '%s'", name);
        if (f32) {
            float *a = malloc((size_t)n * 4 + 4), *b = malloc((size_t)n * 4 + 4);
            cr_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) >= 0);
            cr_assert_eq(h5r_read_f32(w->r, &d, b, (uint64_t)n), H5R_OK, "%s: %s", name, h5r_message(w->r));
            cr_assert(!memcmp(a, b, (size_t)n * 4), "dataset '%s': values differ from libhdf5's", name);
            free(a), free(b);
        }
        H5Tclose(ty), H5Sclose(sp), H5Dclose(ds);
        w->datasets++;
    }
    return 0;
}

/* Both readers over the file at path; returns the counts compared. */
static walk compare(const char *path) {
    size_t len;
    uint8_t *img = slurp(path, &len);
    walk w = {0};
    char msg[256];
    h5r_status st = h5r_open(img, len, &w.r, msg, sizeof msg);
    cr_assert_eq(st, H5R_OK, "%s: %s", path, msg);
    w.file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(w.file >= 0);
    cr_assert(H5Ovisit(w.file, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &w) >= 0);
    H5Fclose(w.file);
    h5r_close(w.r);
    free(img);
    return w;
}

/* A Keras-like tree: layers/<name>/vars/0..2 with the name attribute. */
static void keras_like(hid_t f, int layers) {
    for (int l = 0; l < layers; l++) {
        char p[64];
        hsize_t dims[2] = {(hsize_t)(3 + l % 4), (hsize_t)(2 + l % 3)}, bias[1] = {dims[1]};
        snprintf(p, sizeof p, "layers/dense_%d/vars/0", l);
        dataset(f, p, 2, dims, H5T_IEEE_F32LE, H5P_DEFAULT, (float)l);
        snprintf(p, sizeof p, "layers/dense_%d/vars/1", l);
        dataset(f, p, 1, bias, H5T_IEEE_F32LE, H5P_DEFAULT, -(float)l);
        snprintf(p, sizeof p, "layers/dense_%d/vars", l);
        name_attribute(f, p, "dense");
    }
}

Test(h5read, keras_layout_as_h5py_writes_it) {
    const char *p = tmp_path("classic.h5");
    hid_t f = create(p, false, 0);
    keras_like(f, 5);
    H5Fclose(f);
    walk w = compare(p);
    cr_assert_eq(w.datasets, 10);
    cr_assert_eq(w.groups, 1 + 1 + 5 * 2);
}

/* 600 members: symbol nodes hold 8 entries (leaf K 4), a B-tree node 32
 * children (internal K 16), so the group's B-tree has two levels. */
Test(h5read, large_group_two_level_btree) {
    const char *p = tmp_path("large.h5");
    hid_t f = create(p, false, 0);
    one_element_datasets(f, "big", 600);
    H5Fclose(f);
    walk w = compare(p);
    cr_assert_eq(w.datasets, 600);
}

/* libver latest: superblock v3, v2 object headers with checksums, groups
 * of link messages (compact, up to 8 links). */
Test(h5read, latest_format_compact_groups) {
    const char *p = tmp_path("latest.h5");
    hid_t f = create(p, true, 0);
    keras_like(f, 6); /* layers holds 6 links: still compact */
    H5Fclose(f);
    walk w = compare(p);
    cr_assert_eq(w.datasets, 12);
}

/* n scalar double attributes <prefix>00.. on the object at obj, added one
 * by one (each after the header was written: they spill into continuation
 * blocks). */
static void add_attributes(hid_t f, const char *obj, const char *prefix, int n) {
    for (int k = 0; k < n; k++) {
        char an[32];
        snprintf(an, sizeof an, "%s%03d", prefix, k);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate_by_name(f, obj, an, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(a >= 0, "attribute %s of %s", an, obj);
        double v = k;
        H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
        H5Aclose(a), H5Sclose(sp);
    }
}

/* Object headers that grew after creation: 40 attributes added one by one
 * spill into continuation blocks (v1: plain, v2: OCHK with checksum). */
static void many_attributes(bool latest) {
    const char *p = tmp_path(latest ? "cont2.h5" : "cont1.h5");
    hid_t f = create(p, latest, 0);
    hsize_t dims[2] = {4, 5};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (latest) H5Pset_attr_phase_change(dcpl, 1000, 1000); /* attributes stay in the header */
    dataset(f, "g/w", 2, dims, H5T_IEEE_F32LE, dcpl, 1.5f);
    H5Pclose(dcpl);
    add_attributes(f, "g/w", "attr", 40);
    H5Fclose(f);
    size_t len;
    uint8_t *img = slurp(p, &len);
    cr_assert(latest ? memmem(img, len, "OCHK", 4) != NULL : true, "no continuation block was written");
    free(img);
    compare(p);
}

Test(h5read, continuation_blocks_v1) { many_attributes(false); }
Test(h5read, continuation_blocks_v2) { many_attributes(true); }

Test(h5read, big_endian_compact_scalar_and_user_block) {
    const char *p = tmp_path("mixed.h5");
    hid_t f = create(p, false, 1024);
    hsize_t dims[3] = {2, 3, 4};
    dataset(f, "be/w", 3, dims, H5T_IEEE_F32BE, H5P_DEFAULT, -3.0f);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_COMPACT);
    dataset(f, "compact/w", 3, dims, H5T_IEEE_F32LE, dcpl, 7.0f);
    H5Pclose(dcpl);
    dataset(f, "scalar", 0, NULL, H5T_IEEE_F32LE, H5P_DEFAULT, 42.0f);
    hsize_t two[1] = {2};
    dataset(f, "f64", 1, two, H5T_IEEE_F64LE, H5P_DEFAULT, 1.0f); /* not float32: both say so */
    H5Fclose(f);
    walk w = compare(p);
    cr_assert_eq(w.datasets, 4);
}

/* Storage never written (late allocation): the fill value, or zeros. */
Test(h5read, unallocated_storage_reads_the_fill_value) {
    const char *p = tmp_path("fill.h5");
    hid_t f = create(p, false, 0);
    hsize_t dims[1] = {1000};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    for (int k = 0; k < 2; k++) {
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
        float fill = 2.5f;
        if (k) H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, &fill);
        hid_t ds = H5Dcreate2(f, k ? "filled" : "zeros", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        cr_assert(ds >= 0);
        H5Dclose(ds), H5Pclose(dcpl);
    }
    H5Sclose(sp);
    H5Fclose(f);
    compare(p);
    size_t len;
    uint8_t *img = slurp(p, &len);
    h5r *r;
    char msg[256];
    cr_assert_eq(h5r_open(img, len, &r, msg, sizeof msg), H5R_OK);
    h5r_dataset d;
    float v[1000];
    cr_assert_eq(h5r_dataset_open(r, "filled", &d), H5R_OK, "%s", h5r_message(r));
    cr_assert_null(d.data);
    cr_assert_eq(h5r_read_f32(r, &d, v, 1000), H5R_OK);
    cr_assert(v[0] == 2.5f && v[999] == 2.5f);
    h5r_close(r);
    free(img);
}

/* --- outside the subset, and other files ---------------------------------------- */

static h5r_status open_dataset_status(const char *p, const char *name, char *why, size_t n) {
    size_t len;
    uint8_t *img = slurp(p, &len);
    h5r *r;
    cr_assert_eq(h5r_open(img, len, &r, why, n), H5R_OK, "%s", why);
    h5r_dataset d;
    h5r_status st = h5r_dataset_open(r, name, &d);
    snprintf(why, n, "%s", h5r_message(r));
    h5r_close(r);
    free(img);
    return st;
}

Test(h5read, chunked_data_and_dense_groups_are_unsupported) {
    const char *p = tmp_path("chunked.h5");
    hid_t f = create(p, true, 0);
    hsize_t dims[2] = {8, 8}, chunk[2] = {4, 4};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 4);
    dataset(f, "chunked", 2, dims, H5T_IEEE_F32LE, dcpl, 0.0f);
    H5Pclose(dcpl);
    one_element_datasets(f, "dense", 20); /* more than 8 links: dense storage (fractal heap) */
    H5Fclose(f);
    char why[256];
    cr_assert_eq(open_dataset_status(p, "chunked", why, sizeof why), H5R_UNSUPPORTED, "%s", why);
    cr_assert(strstr(why, "chunked"), "%s", why);
    cr_assert_eq(open_dataset_status(p, "dense/3", why, sizeof why), H5R_UNSUPPORTED, "%s", why);
    cr_assert(strstr(why, "dense"), "%s", why);
}

/* The same in the earliest format (a version-3 chunked layout), and a
 * committed datatype (a shared message in the dataset's header). */
Test(h5read, chunked_v3_and_committed_types_are_unsupported) {
    const char *p = tmp_path("chunked_v3.h5");
    hid_t f = create(p, false, 0);
    hsize_t dims[2] = {8, 8}, chunk[2] = {4, 4};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    dataset(f, "chunked", 2, dims, H5T_IEEE_F32LE, dcpl, 0.0f);
    H5Pclose(dcpl);
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    cr_assert(H5Tcommit2(f, "float_type", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) >= 0);
    dataset(f, "typed", 2, dims, t, H5P_DEFAULT, 1.0f);
    H5Tclose(t);
    H5Fclose(f);
    char why[256];
    cr_assert_eq(open_dataset_status(p, "chunked", why, sizeof why), H5R_UNSUPPORTED, "%s", why);
    cr_assert_eq(open_dataset_status(p, "typed", why, sizeof why), H5R_UNSUPPORTED, "%s", why);
    cr_assert(strstr(why, "shared"), "%s", why);
}

Test(h5read, other_files_are_refused_soft_links_followed) {
    const char *p = tmp_path("links.h5");
    hid_t f = create(p, false, 0);
    hsize_t dims[1] = {4};
    dataset(f, "real/w", 1, dims, H5T_IEEE_F32LE, H5P_DEFAULT, 1.0f);
    cr_assert(H5Lcreate_external("/etc/other.h5", "/w", f, "ext", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("/real/w", f, "soft", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("w", f, "real/relative", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("/real", f, "dir", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    /* the root holds an external link, so libhdf5 stores it in the newer
     * format, whose groups go dense beyond 8 links: the rest in "l" */
    H5Gclose(H5Gcreate2(f, "l", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    cr_assert(H5Lcreate_soft("/l/loop2", f, "l/loop1", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("/l/loop1", f, "l/loop2", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("/nowhere", f, "l/dangling", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("./w", f, "real/dot", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("/real", f, "hop", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    cr_assert(H5Lcreate_soft("/real", f, "real/hop", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(H5Pset_external(dcpl, "/etc/passwd", 0, 16) >= 0);
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f, "outside", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(ds >= 0);
    H5Dclose(ds), H5Sclose(sp), H5Pclose(dcpl);
    H5Fclose(f);
    char why[256];
    cr_assert_eq(open_dataset_status(p, "ext", why, sizeof why), H5R_REFUSED, "%s", why);
    cr_assert(strstr(why, "external link"), "%s", why);
    cr_assert_eq(open_dataset_status(p, "outside", why, sizeof why), H5R_REFUSED, "%s", why);
    cr_assert(strstr(why, "external files"), "%s", why);
    cr_assert_eq(open_dataset_status(p, "soft", why, sizeof why), H5R_OK, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real/relative", why, sizeof why), H5R_OK, "%s", why);
    cr_assert_eq(open_dataset_status(p, "dir/w", why, sizeof why), H5R_OK, "%s", why);
    cr_assert_eq(open_dataset_status(p, "dir/relative", why, sizeof why), H5R_OK, "%s", why);
    cr_assert_eq(open_dataset_status(p, "l/loop1", why, sizeof why), H5R_MALFORMED, "%s", why);
    cr_assert(strstr(why, "more than 16 soft links"), "%s", why);
    cr_assert_eq(open_dataset_status(p, "l/dangling", why, sizeof why), H5R_ABSENT, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real/./w", why, sizeof why), H5R_OK, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real/dot", why, sizeof why), H5R_OK, "%s", why);
    /* 17 soft links on one path: libhdf5 stops at 16 (one count for the
     * whole traversal), so does the reader */
    char deep[128] = "hop";
    for (int k = 0; k < 16; k++) strcat(deep, "/hop");
    cr_assert_eq(open_dataset_status(p, "real/hop/hop/w", why, sizeof why), H5R_OK, "%s", why);
    strcat(deep, "/w");
    cr_assert_eq(open_dataset_status(p, deep, why, sizeof why), H5R_MALFORMED, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real/w", why, sizeof why), H5R_OK, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real/none", why, sizeof why), H5R_ABSENT, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real/w/below", why, sizeof why), H5R_ABSENT, "%s", why);
    cr_assert_eq(open_dataset_status(p, "real", why, sizeof why), H5R_WRONG_KIND, "%s", why);
}

/* The golden models' weights files: every group and value as libhdf5
 * reads them. */
Test(h5read, golden_weights_files) {
    const char *models[] = {"bidir_lstm_dense", "embedding_lstm_dense", "gru_lstm_dense"};
    for (int k = 0; k < 3; k++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s.h5", KERAS_WEIGHTS_SEEDS, models[k]);
        /* the fuzz seeds: one selector byte, then the weights file */
        size_t len;
        uint8_t *b = slurp(p, &len);
        const char *out = tmp_path("golden.h5");
        FILE *f = fopen(out, "wb");
        cr_assert(f && fwrite(b + 1, 1, len - 1, f) == len - 1 && fclose(f) == 0);
        free(b);
        walk w = compare(out);
        cr_assert_gt(w.datasets, 4, "%s", models[k]);
    }
}

/* --- damage: loops and cycles are reported, not followed ------------------------- */

static h5r_status count_status(uint8_t *img, size_t len, const char *group, char *why, size_t n) {
    h5r *r;
    h5r_status st = h5r_open(img, len, &r, why, n);
    if (st) return st;
    long k;
    st = h5r_group_size(r, group, &k);
    snprintf(why, n, "%s", h5r_message(r));
    h5r_close(r);
    return st;
}

/* A B-tree node whose child is itself: levels must decrease. */
Test(h5read, btree_loop_is_damage) {
    const char *p = tmp_path("loop.h5");
    hid_t f = create(p, false, 0);
    one_element_datasets(f, "big", 300);
    H5Fclose(f);
    size_t len;
    uint8_t *img = slurp(p, &len);
    uint8_t *t = img;
    while ((t = memmem(t, len - (size_t)(t - img), "TREE", 4)) && t[5] != 1) t += 4; /* the level-1 root */
    cr_assert(t, "no two-level B-tree");
    uint64_t self = (uint64_t)(t - img);
    memcpy(t + 8 + 16 + 8, &self, 8); /* header 8 + siblings 16, key 8, then child 0 */
    char why[256];
    cr_assert_eq(count_status(img, len, "big", why, sizeof why), H5R_MALFORMED, "%s", why);
    cr_assert(strstr(why, "level"), "%s", why);
    free(img);
}

/* A continuation message that points at the block holding it. */
Test(h5read, continuation_cycle_is_damage) {
    const char *p = tmp_path("cycle.h5");
    hid_t f = create(p, false, 0);
    hsize_t dims[1] = {2};
    dataset(f, "g/w", 1, dims, H5T_IEEE_F32LE, H5P_DEFAULT, 0.0f);
    add_attributes(f, "g", "a", 30);
    H5Fclose(f);
    size_t len;
    uint8_t *img = slurp(p, &len);
    /* v1 message header: type 0x0010, size 16, flags, 3 reserved */
    static const uint8_t cont[8] = {0x10, 0, 0x10, 0, 0, 0, 0, 0};
    uint8_t *c = memmem(img, len, cont, 8);
    cr_assert(c, "no continuation message");
    uint64_t at = (uint64_t)(c - img), n = 24;
    memcpy(c + 8, &at, 8);
    memcpy(c + 16, &n, 8);
    char why[256];
    h5r_status st = count_status(img, len, "g", why, sizeof why);
    cr_assert_eq(st, H5R_MALFORMED, "%s", why);
    cr_assert(strstr(why, "overlaps another chunk"), "%s", why);
    free(img);
}

/* Truncation and garbage: reported, never read. The copies are exactly
 * as long as the cut (malloc's slack would hide a read past the end from
 * the sanitizers), of both formats (a version-2/3 superblock ends in a
 * checksum). */
static void truncations(bool latest) {
    const char *p = tmp_path(latest ? "t3.h5" : "t0.h5");
    hid_t f = create(p, latest, 0);
    keras_like(f, 3);
    H5Fclose(f);
    size_t len;
    uint8_t *img = slurp(p, &len);
    char why[256];
    h5r *r;
    for (size_t cut = 0; cut < len; cut += cut < 128 ? 1 : 97) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, img, cut);
        h5r_status st = h5r_open(copy, cut, &r, why, sizeof why);
        cr_assert_neq(st, H5R_OK, "a file cut at %zu bytes opened", cut);
        free(copy);
    }
    free(img);
}

Test(h5read, truncated_images_v0) { truncations(false); }
Test(h5read, truncated_images_v3) { truncations(true); }

Test(h5read, garbage_image) {
    char why[256];
    h5r *r;
    cr_assert_eq(h5r_open((const uint8_t *)"not hdf5", 8, &r, why, sizeof why), H5R_MALFORMED);
    cr_assert(strstr(why, "signature"), "%s", why);
}

/* libhdf5 grows a B-tree of K = 1 by about one level per link: a root at
 * level 30 and more is well formed. */
Test(h5read, deep_btree_of_k_1) {
    const char *p = tmp_path("deep.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    cr_assert(H5Pset_sym_k(fcpl, 1, 1) >= 0);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    one_element_datasets(f, "g", 40);
    H5Fclose(f);
    cr_assert_eq(compare(p).datasets, 40);
}

/* Bytes put before a file (no user block declared): libhdf5 finds the
 * superblock at 512 and counts addresses from there. */
Test(h5read, bytes_before_the_superblock) {
    for (int latest = 0; latest < 2; latest++) {
        const char *p = tmp_path("plain.h5");
        hid_t f = create(p, latest, 0);
        keras_like(f, 2);
        H5Fclose(f);
        size_t len;
        uint8_t *img = slurp(p, &len);
        const char *q = tmp_path("shifted.h5");
        FILE *o = fopen(q, "wb");
        static const uint8_t zeros[512];
        cr_assert(o && fwrite(zeros, 1, 512, o) == 512 && fwrite(img, 1, len, o) == len && fclose(o) == 0);
        free(img);
        cr_assert_eq(compare(q).datasets, 4);
    }
}

/* Well formed, but no values to read (libhdf5 reads none either), and a
 * 4-byte float that is not IEEE binary32 (libhdf5 converts it: outside
 * the subset). */
Test(h5read, datasets_without_values_and_other_floats) {
    const char *p = tmp_path("novalues.h5");
    hid_t f = create(p, false, 0);
    hid_t sp = H5Screate(H5S_NULL);
    hid_t ds = H5Dcreate2(f, "null", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(ds >= 0);
    H5Dclose(ds), H5Sclose(sp);
    hsize_t dims[1] = {4};
    sp = H5Screate_simple(1, dims, NULL);
    for (int k = 0; k < 2; k++) {
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
        if (k == 0) cr_assert(H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, NULL) >= 0); /* undefined */
        else cr_assert(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0);
        ds = H5Dcreate2(f, k ? "never" : "undefined", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        cr_assert(ds >= 0);
        H5Dclose(ds), H5Pclose(dcpl);
    }
    hid_t odd = H5Tcopy(H5T_IEEE_F32LE);
    cr_assert(H5Tset_ebias(odd, 100) >= 0);
    ds = H5Dcreate2(f, "odd", odd, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    float v[4] = {1.5f, 2.5f, 3.5f, 4.5f};
    cr_assert(ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds), H5Tclose(odd), H5Sclose(sp);
    H5Fclose(f);
    char why[256];
    cr_assert_eq(open_dataset_status(p, "null", why, sizeof why), H5R_NO_VALUES, "%s", why);
    cr_assert_eq(open_dataset_status(p, "undefined", why, sizeof why), H5R_NO_VALUES, "%s", why);
    cr_assert_eq(open_dataset_status(p, "never", why, sizeof why), H5R_NO_VALUES, "%s", why);
    cr_assert_eq(open_dataset_status(p, "odd", why, sizeof why), H5R_UNSUPPORTED, "%s", why);
}

/* Offsets and lengths of different sizes (h5py's default format with
 * H5Pset_sizes): a symbol table entry's name offset is a length. */
Test(h5read, offset_and_length_sizes) {
    const unsigned sizes[][2] = {{4, 8}, {8, 4}, {2, 4}, {4, 2}, {4, 4}, {2, 2}, {8, 2}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const char *p = tmp_path("sizes.h5");
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
        cr_assert(H5Pset_sizes(fcpl, sizes[k][0], sizes[k][1]) >= 0);
        hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
        cr_assert(f >= 0, "sizes %u %u", sizes[k][0], sizes[k][1]);
        H5Pclose(fcpl);
        keras_like(f, 3);
        H5Fclose(f);
        cr_assert_eq(compare(p).datasets, 6, "sizes %u %u", sizes[k][0], sizes[k][1]);
    }
}

/* "." anywhere in a path, after a dataset too, as libhdf5 reads it; a
 * float whose sign bit lies between its fields (well formed: libhdf5
 * converts it). */
Test(h5read, dots_and_odd_float_layouts) {
    const char *p = tmp_path("dots.h5");
    hid_t f = create(p, false, 0);
    hsize_t dims[1] = {3};
    dataset(f, "g/d", 1, dims, H5T_IEEE_F32LE, H5P_DEFAULT, 2.0f);
    cr_assert(H5Lcreate_soft("/g/d/.", f, "g/s", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    hid_t odd = H5Tcopy(H5T_IEEE_F32LE);
    cr_assert(H5Tset_fields(odd, 23, 24, 8, 0, 23) >= 0);
    dataset(f, "odd", 1, dims, odd, H5P_DEFAULT, 1.0f);
    H5Tclose(odd);
    H5Fclose(f);
    char why[256];
    const char *same[] = {"g/d/.", "g/./d/./.", "./g/d", "g/s"};
    for (int k = 0; k < 4; k++)
        cr_assert_eq(open_dataset_status(p, same[k], why, sizeof why), H5R_OK, "%s: %s", same[k], why);
    cr_assert_eq(open_dataset_status(p, "odd", why, sizeof why), H5R_UNSUPPORTED, "%s", why);
}

/* Headers of many chunks: 300 attributes on a group, each added after
 * another object was created, so that libhdf5 gives most of them a
 * continuation block of their own; and a compact group of 300 links
 * (link phase change raised), looked up 300 times within the budget. */
Test(h5read, many_chunks_and_a_large_compact_group) {
    const char *p = tmp_path("chunks.h5");
    hid_t f = create(p, true, 0);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    cr_assert(H5Pset_link_phase_change(gcpl, 65535, 65535) >= 0);
    H5Gclose(H5Gcreate2(f, "big", H5P_DEFAULT, gcpl, H5P_DEFAULT));
    H5Gclose(H5Gcreate2(f, "attrs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Pclose(gcpl);
    hsize_t one[1] = {1};
    for (int k = 0; k < 300; k++) { /* a link, then an attribute elsewhere: each in a chunk of its own */
        char name[32];
        snprintf(name, sizeof name, "big/%03d", k);
        dataset(f, name, 1, one, H5T_IEEE_F32LE, H5P_DEFAULT, (float)k);
        snprintf(name, sizeof name, "a%03d_", k);
        add_attributes(f, "attrs", name, 1);
    }
    H5Fclose(f);
    size_t len, blocks = 0;
    uint8_t *img = slurp(p, &len);
    for (uint8_t *q = img; (q = memmem(q, len - (size_t)(q - img), "OCHK", 4)); q += 4) blocks++;
    free(img);
    cr_assert_gt(blocks, 100, "only %zu continuation blocks", blocks);
    cr_assert_eq(compare(p).datasets, 300);
}
