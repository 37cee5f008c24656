/* Keras 3 `.keras` reader: a zip archive holding config.json (the model's
 * serialized config, Keras 3 schema) and model.weights.h5.
 *
 * The HDF5 file stores variables by object path, not by name: the model's
 * layers are groups layers/<slot>, slot = the layer's class name in
 * snake_case with _1, _2, ... for repeats in model order (a Sequential
 * model's InputLayer is not among its layers; a Functional model's is).
 * Within a layer: vars/0.. for Dense and Embedding; cell/vars/0..2 for an
 * RNN layer's cell; cell/cells/<cell slot>/vars/.. for stacked cells;
 * forward_layer/... and backward_layer/... for Bidirectional; layer/vars/..
 * for TimeDistributed. The archive is read into memory and HDF5 opens the
 * image in memory (core driver), so nothing is written to disk. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "../model/model_io_impl.h"

/* A member of the archive into a new buffer (NUL-terminated). */
static rc_status read_member(rc_io_model *m, zip_t *z, const char *name, char **buf, size_t *len) {
    zip_int64_t idx = zip_name_locate(z, name, 0);
    if (idx < 0) return io_fail(m, RC_ERR_FORMAT, "the archive has no %s (not a Keras 3 model file)", name);
    zip_stat_t zs;
    if (zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
        return io_fail(m, RC_ERR_FORMAT, "%s: cannot read its size in the archive", name);
    if (zs.size > (zip_uint64_t)RC_MAX_ELEMS * 4)
        return io_fail(m, RC_ERR_FORMAT, "%s: member too large (%llu bytes)", name, (unsigned long long)zs.size);
    *buf = rc_malloc((size_t)zs.size + 1);
    if (!*buf) return io_fail(m, RC_ERR_NOMEM, "%s: out of memory for %llu bytes", name, (unsigned long long)zs.size);
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    zip_int64_t got = f ? zip_fread(f, *buf, zs.size) : -1;
    if (f) zip_fclose(f);
    if (got < 0 || (zip_uint64_t)got != zs.size) {
        rc_free(*buf);
        *buf = NULL;
        return io_fail(m, RC_ERR_FORMAT, "%s: damaged or truncated member of the archive", name);
    }
    (*buf)[zs.size] = 0;
    *len = (size_t)zs.size;
    return RC_OK;
}

/* Number of links in a group (-1 when absent). */
static long group_size(hid_t file, const char *path) {
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0) return -1;
    hid_t gr = H5Gopen2(file, path, H5P_DEFAULT);
    if (gr < 0) return -1;
    H5G_info_t info;
    long n = H5Gget_info(gr, &info) < 0 ? -1 : (long)info.nlinks;
    H5Gclose(gr);
    return n;
}

/* path/vars/0..count-1 into L's weights; the vars group must hold exactly
 * count datasets. */
static rc_status read_vars(rc_io_model *m, hid_t file, io_layer *L, const char *path, int count) {
    char vp[600];
    snprintf(vp, sizeof vp, "%s/vars", path);
    long have = group_size(file, vp);
    if (have < 0) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s' (%s): group '%s' is missing", L->name,
                                 L->cls, vp);
    if (have != count)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s' (%s): '%s' holds %ld weights, expected %d (%s "
                       "weights)", L->name, L->cls, vp, have, count, have < count ? "missing" : "extra");
    for (int k = 0; k < count; k++) {
        if (L->nw >= IO_MAX_W) return io_fail(m, RC_ERR_FORMAT, "layer '%s': too many weights", L->name);
        io_weight *w = &L->w[L->nw];
        snprintf(w->name, sizeof w->name, "%.600s/%d", vp, k);
        if (H5Lexists(file, w->name, H5P_DEFAULT) <= 0)
            return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s' is missing", w->name);
        hid_t ds = H5Dopen2(file, w->name, H5P_DEFAULT);
        if (ds < 0) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: '%s' is not a dataset", w->name);
        hid_t ty = H5Dget_type(ds), sp = H5Dget_space(ds);
        rc_status st = RC_OK;
        int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (ty < 0 || H5Tget_class(ty) != H5T_FLOAT || H5Tget_size(ty) != 4)
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': dtype is not float32 (only float32 is "
                         "supported)", w->name);
        else if (nd < 0 || nd > RC_MAX_DIMS)
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': %d dimensions (at most %d)", w->name, nd,
                         RC_MAX_DIMS);
        hsize_t dims[RC_MAX_DIMS] = {0};
        if (!st && H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': unreadable shape", w->name);
        int64_t numel = 1;
        w->shape.ndim = nd;
        for (int d = 0; !st && d < nd; d++) {
            if (dims[d] < 1 || dims[d] > (hsize_t)RC_MAX_ELEMS || numel > RC_MAX_ELEMS / (int64_t)dims[d])
                st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': shape has more than 2^40 elements or "
                             "an empty dimension", w->name);
            else numel *= (int64_t)dims[d], w->shape.dim[d] = (int64_t)dims[d];
        }
        if (!st && !(w->data = rc_malloc((size_t)numel * sizeof(float))))
            st = io_fail(m, RC_ERR_NOMEM, "out of memory for weight '%s'", w->name);
        if (!st) {
            L->nw++;
            if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->data) < 0)
                st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': cannot read its data", w->name);
        }
        if (sp >= 0) H5Sclose(sp);
        if (ty >= 0) H5Tclose(ty);
        H5Dclose(ds);
        if (st) return st;
    }
    return RC_OK;
}

static rc_status read_weights(rc_io_model *m, hid_t file) {
    /* slots: class names in snake_case, numbered per name in model order */
    char (*slot)[80] = rc_calloc((size_t)m->nlayers, sizeof *slot);
    if (!slot) return io_fail(m, RC_ERR_NOMEM, "out of memory");
    int nslots = 0;
    rc_status st = RC_OK;
    for (int l = 0; l < m->nlayers && !st; l++) {
        io_layer *L = &m->layers[l];
        if (m->sequential && io_is_input(L)) continue;
        char base[64];
        io_snake_case(L->cls, base, sizeof base);
        int seen = 0;
        for (int k = 0; k < l; k++) {
            char other[64];
            if (m->sequential && io_is_input(&m->layers[k])) continue;
            io_snake_case(m->layers[k].cls, other, sizeof other);
            seen += !strcmp(other, base);
        }
        char path[80];
        if (seen) snprintf(path, sizeof path, "layers/%.40s_%d", base, seen % 1000000);
        else snprintf(path, sizeof path, "layers/%s", base);
        snprintf(slot[nslots++], sizeof slot[0], "%s", path);
        if (group_size(file, path) < 0) {
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: no group '%s' for layer '%s' (%s)", path, L->name, L->cls);
            break;
        }
        /* the row's weights, read group by group: a run of weights with
         * the same h5 group is that group's vars/0.. */
        io_wspec ws[IO_MAX_W];
        int nw = io_weight_specs(L, 0, ws);
        char p[sizeof path + sizeof ws[0].h5 + 8];
        for (int k = 0; !st && k < nw;) {
            int run = 1;
            while (k + run < nw && !strcmp(ws[k + run].h5, ws[k].h5)) run++;
            if (ws[k].h5[0]) snprintf(p, sizeof p, "%s/%s", path, ws[k].h5);
            else snprintf(p, sizeof p, "%s", path);
            st = read_vars(m, file, L, p, run);
            k += run;
        }
        if (nw == 0) { /* no variables: the group's vars (if any) must be empty */
            snprintf(p, sizeof p, "%s/vars", path);
            if (group_size(file, p) > 0)
                st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s' (%s) has no weights but '%s' holds some "
                             "(extra weights)", L->name, L->cls, p);
        }
    }
    long have = group_size(file, "layers");
    if (!st && have > nslots)
        st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: 'layers' holds %ld layer groups, the model has %d layers "
                     "(extra weights)", have, nslots);
    rc_free(slot);
    return st;
}

rc_status io_load_keras(rc_io_model *m, const char *path) {
    m->format = "keras3";
    m->keras3 = true;
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        rc_status st = io_fail(m, zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ? RC_ERR_IO
                                                                                                    : RC_ERR_FORMAT,
                               "not a readable .keras (zip) archive: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return st;
    }
    char *cfg = NULL, *h5 = NULL;
    size_t cfg_len = 0, h5_len = 0;
    rc_status st = read_member(m, z, "config.json", &cfg, &cfg_len);
    if (!st) st = read_member(m, z, "model.weights.h5", &h5, &h5_len);
    zip_close(z);
    json_t *root = NULL;
    if (!st) {
        json_error_t je;
        root = json_loadb(cfg, cfg_len, JSON_REJECT_DUPLICATES, &je);
        if (!root) st = io_fail(m, RC_ERR_FORMAT, "config.json: malformed JSON at line %d, column %d: %s", je.line,
                                je.column, je.text);
    }
    if (!st) st = io_parse_topology(m, root);
    if (!st) {
        /* HDF5 prints its error stack by default; the library must not */
        H5E_auto2_t old_fn;
        void *old_data;
        H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        hid_t file = -1;
        if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, h5, h5_len) >= 0)
            file = H5Fopen("model.weights.h5", H5F_ACC_RDONLY, fapl);
        if (file < 0) st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5 is not a readable HDF5 file");
        else {
            st = read_weights(m, file);
            H5Fclose(file);
        }
        if (fapl >= 0) H5Pclose(fapl);
        H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    }
    json_decref(root);
    rc_free(cfg);
    rc_free(h5);
    return st;
}
