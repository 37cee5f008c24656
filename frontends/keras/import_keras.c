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
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "../model/model_io_impl.h"
#include "h5read.h"

/* Deflate cannot expand more than about 1032:1; a member declaring more is
 * lying about its size (a zip bomb, or a header crafted to make the reader
 * allocate). */
#define ZIP_MAX_RATIO 1100

static int64_t clamp64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

/* A member of the archive into a new buffer (NUL-terminated). Nothing the
 * headers declare is trusted for allocation: the declared size must fit
 * the compressed size (the archive's real length bounds that) times the
 * largest deflate ratio, and the memory limit (rc_limits); the data is
 * streamed into a buffer grown as bytes actually arrive, and must come to
 * exactly the declared size. */
static rc_status read_member(rc_io_model *m, zip_t *z, int64_t archive_len, const char *name, char **buf,
                             size_t *len) {
    *buf = NULL;
    zip_int64_t idx = zip_name_locate(z, name, 0);
    if (idx < 0) return io_fail(m, RC_ERR_FORMAT, "the archive has no %s (not a Keras 3 model file)", name);
    zip_stat_t zs;
    if (zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE) ||
        !(zs.valid & ZIP_STAT_COMP_SIZE) || !(zs.valid & ZIP_STAT_COMP_METHOD))
        return io_fail(m, RC_ERR_FORMAT, "%s: cannot read its sizes in the archive", name);
    char a[32], b[32];
    if (zs.comp_size > (zip_uint64_t)archive_len)
        return io_fail(m, RC_ERR_FORMAT, "%s: declares %s compressed, more than the whole archive (%s)", name,
                       rc_bytes_str(clamp64(zs.comp_size), a, sizeof a),
                       rc_bytes_str(archive_len, b, sizeof b));
    uint64_t cap = zs.comp_method == ZIP_CM_STORE ? zs.comp_size : zs.comp_size * ZIP_MAX_RATIO + 64;
    if (zs.size > cap)
        return io_fail(m, RC_ERR_FORMAT, "%s: declares %s uncompressed from %s compressed (more than deflate's "
                       "%d:1 can give); refused", name, rc_bytes_str(clamp64(zs.size), a, sizeof a), rc_bytes_str((int64_t)zs.comp_size, b, sizeof b),
                       ZIP_MAX_RATIO);
    if (zs.size >= (zip_uint64_t)RC_MAX_ELEMS * 4 || !rc_limits_fit((int64_t)zs.size))
        return io_fail(m, RC_ERR_NOMEM, "%s: %s uncompressed is over the memory limit of %s", name,
                       rc_bytes_str((int64_t)zs.size, a, sizeof a), rc_bytes_str(rc_limits_get().max_bytes, b, sizeof b));
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    if (!f) return io_fail(m, RC_ERR_FORMAT, "%s: cannot open the member: %s", name, zip_strerror(z));
    size_t want = (size_t)zs.size, have = 0, room = want < ((size_t)1 << 20) ? want : (size_t)1 << 20;
    char *data = rc_malloc(room + 1);
    rc_status st = data ? RC_OK : io_fail(m, RC_ERR_NOMEM, "%s: out of memory", name);
    while (!st) {
        if (have == room) {
            if (room > want) break; /* one byte more than declared arrived */
            size_t grown = room * 2 > want ? want + 1 : room * 2;
            char *nd = rc_realloc(data, grown + 1);
            if (!nd) {
                st = io_fail(m, RC_ERR_NOMEM, "%s: out of memory", name);
                break;
            }
            data = nd, room = grown;
        }
        zip_int64_t got = zip_fread(f, data + have, room - have);
        if (got < 0) st = io_fail(m, RC_ERR_FORMAT, "%s: damaged member of the archive: %s", name,
                                  zip_file_strerror(f));
        else if (got == 0) break;
        else have += (size_t)got;
    }
    zip_fclose(f);
    if (!st && have != want)
        st = io_fail(m, RC_ERR_FORMAT, "%s: the archive declares %zu bytes but the member holds %s%zu", name, want,
                     have > want ? "more than " : "", have);
    if (st) {
        rc_free(data);
        return st;
    }
    data[have] = 0;
    *buf = data;
    *len = have;
    return RC_OK;
}

/* --- where the weights come from -----------------------------------------------------
 * read_weights walks the model's layers and asks a source for groups and
 * datasets: recur's own reader (h5read.c, in process) or libhdf5 (in the
 * contained child below). The messages are the same either way. */

typedef struct h5_src {
    bool own;
    h5r *r;            /* own */
    bool unsupported;  /* own: the file is outside the reader's subset */
    hid_t file;        /* libhdf5 */
    hid_t lapl, gapl, dapl; /* libhdf5: link, group and dataset access lists that refuse external links */
} h5_src;

typedef struct h5_info {
    int ndim;          /* -1: unreadable */
    uint64_t dims[H5R_MAX_RANK];
    bool f32;
    h5r_dataset d;     /* own */
    hid_t ds;          /* libhdf5 */
} h5_info;

/* The own reader's failure on `kind` 'name' (a group or a weight) as the
 * load's error; UNSUPPORTED is marked for the caller, which then hands the
 * file to libhdf5. */
static rc_status own_fail(rc_io_model *m, h5_src *s, h5r_status hs, const char *kind, const char *name) {
    const char *why = h5r_message(s->r);
    if (hs == H5R_UNSUPPORTED) {
        s->unsupported = true;
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: %s '%.600s': uses %s, which recur's HDF5 reader does not read "
                       "(RECUR_HDF5=own)", kind, name, why);
    }
    if (hs == H5R_REFUSED || hs == H5R_NO_VALUES)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: %s '%.600s': %s", kind, name, why);
    return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: %s '%.600s': damaged or hostile file: %s", kind, name, why);
}

/* Links in the group at path: -1 when there is no such group, -2 on an
 * error (m's message set). */
static long group_size(rc_io_model *m, h5_src *s, const char *path) {
    if (s->own) {
        long n;
        h5r_status hs = h5r_group_size(s->r, path, &n);
        if (hs == H5R_OK) return n;
        if (hs == H5R_ABSENT || hs == H5R_WRONG_KIND) return -1;
        own_fail(m, s, hs, "group", path);
        return -2;
    }
    if (H5Lexists(s->file, path, s->lapl) <= 0) return -1;
    hid_t gr = H5Gopen2(s->file, path, s->gapl);
    if (gr < 0) return -1;
    H5G_info_t info;
    long n = H5Gget_info(gr, &info) < 0 ? -1 : (long)info.nlinks;
    H5Gclose(gr);
    return n;
}

/* The dataset at name described in *i (its type, its shape). */
static rc_status dataset_open(rc_io_model *m, h5_src *s, const char *name, h5_info *i) {
    *i = (h5_info){.ndim = -1, .ds = -1};
    if (s->own) {
        h5r_status hs = h5r_dataset_open(s->r, name, &i->d);
        if (hs == H5R_ABSENT) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s' is missing", name);
        if (hs == H5R_WRONG_KIND) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: '%s' is not a dataset", name);
        if (hs) return own_fail(m, s, hs, "weight", name);
        i->ndim = i->d.ndim;
        memcpy(i->dims, i->d.dims, sizeof i->dims);
        i->f32 = i->d.is_float && i->d.size == 4;
        return RC_OK;
    }
    if (H5Lexists(s->file, name, s->lapl) <= 0)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s' is missing", name);
    i->ds = H5Dopen2(s->file, name, s->dapl);
    if (i->ds < 0) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: '%s' is not a dataset", name);
    /* data in other files (external storage, a virtual dataset) is not
     * this file's to hand over */
    hid_t dcpl = H5Dget_create_plist(i->ds);
    bool other_files = dcpl < 0 || H5Pget_external_count(dcpl) != 0 || H5Pget_layout(dcpl) == H5D_VIRTUAL;
    H5D_fill_time_t fill_time = H5D_FILL_TIME_ERROR;
    if (dcpl >= 0) H5Pget_fill_time(dcpl, &fill_time), H5Pclose(dcpl);
    if (other_files)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': its data is in other files (external "
                       "storage or a virtual dataset): refused", name);
    /* no values to read: libhdf5 would leave the buffer as it was (a null
     * dataspace; storage never written with the fill time "never") */
    hid_t ty = H5Dget_type(i->ds), sp = H5Dget_space(i->ds);
    H5D_space_status_t alloc = H5D_SPACE_STATUS_ERROR;
    H5Dget_space_status(i->ds, &alloc);
    const char *none = sp >= 0 && H5Sget_simple_extent_type(sp) == H5S_NULL ? "a null dataspace"
                       : alloc == H5D_SPACE_STATUS_NOT_ALLOCATED && fill_time == H5D_FILL_TIME_NEVER
                           ? "storage never written, fill time \"never\""
                           : NULL;
    if (none) {
        if (sp >= 0) H5Sclose(sp);
        if (ty >= 0) H5Tclose(ty);
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': '%s' holds no values (%s)", name, name, none);
    }
    i->f32 = ty >= 0 && H5Tget_class(ty) == H5T_FLOAT && H5Tget_size(ty) == 4;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t dims[H5R_MAX_RANK];
    if (nd >= 0 && nd <= H5R_MAX_RANK && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0) {
        i->ndim = nd;
        for (int d = 0; d < nd; d++) i->dims[d] = dims[d];
    }
    if (sp >= 0) H5Sclose(sp);
    if (ty >= 0) H5Tclose(ty);
    return RC_OK;
}

static rc_status dataset_read(rc_io_model *m, h5_src *s, const char *name, h5_info *i, float *out, int64_t numel) {
    if (s->own) {
        h5r_status hs = h5r_read_f32(s->r, &i->d, out, (uint64_t)numel);
        if (hs == H5R_OK) return RC_OK;
        return own_fail(m, s, hs, "weight", name);
    }
    memset(out, 0, (size_t)numel * sizeof(float)); /* whatever libhdf5 leaves unwritten is not the heap's */
    if (H5Dread(i->ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': cannot read its data", name);
    return RC_OK;
}

static void dataset_close(h5_src *s, h5_info *i) {
    if (!s->own && i->ds >= 0) H5Dclose(i->ds);
    i->ds = -1;
}

static rc_status over_the_limit(rc_io_model *m, int64_t total) {
    char a[32], b[32];
    return io_fail(m, RC_ERR_NOMEM, "model.weights.h5: the weights need more than %s, over the memory limit of %s",
                   rc_bytes_str(total, a, sizeof a), rc_bytes_str(rc_limits_get().max_bytes, b, sizeof b));
}

/* path/vars/0..count-1 into L's weights; the vars group must hold exactly
 * count datasets. *total: bytes of weights so far, against the memory
 * limit before each allocation. */
static rc_status read_vars(rc_io_model *m, h5_src *s, io_layer *L, const char *path, int count, int64_t *total) {
    char vp[600];
    snprintf(vp, sizeof vp, "%s/vars", path);
    long have = group_size(m, s, vp);
    if (have == -2) return RC_ERR_FORMAT;
    if (have < 0) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s' (%s): group '%s' is missing", L->name,
                                 L->cls, vp);
    if (have != count)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s' (%s): '%s' holds %ld weights, expected %d (%s "
                       "weights)", L->name, L->cls, vp, have, count, have < count ? "missing" : "extra");
    for (int k = 0; k < count; k++) {
        if (L->nw >= IO_MAX_W) return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s': too many weights", L->name);
        io_weight *w = &L->w[L->nw];
        char name[IO_WEIGHT_NAME_MAX];
        snprintf(name, sizeof name, "%.600s/%d", vp, k);
        h5_info i;
        rc_status st = dataset_open(m, s, name, &i);
        if (!st && !i.f32)
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': dtype is not float32 (only float32 is "
                         "supported)", name);
        else if (!st && (i.ndim < 0 || i.ndim > RC_MAX_DIMS))
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': %d dimensions (at most %d)", name, i.ndim,
                         RC_MAX_DIMS);
        int64_t numel = 1;
        w->shape.ndim = st ? 0 : i.ndim;
        for (int d = 0; !st && d < i.ndim; d++) {
            if (i.dims[d] < 1 || i.dims[d] > (uint64_t)RC_MAX_ELEMS || numel > RC_MAX_ELEMS / (int64_t)i.dims[d])
                st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: weight '%s': shape has more than 2^40 elements or "
                             "an empty dimension", name);
            else numel *= (int64_t)i.dims[d], w->shape.dim[d] = (int64_t)i.dims[d];
        }
        if (!st) {
            *total += numel * (int64_t)sizeof(float);
            if (!rc_limits_fit(*total)) st = over_the_limit(m, *total);
        }
        if (!st) {
            w->data = rc_malloc((size_t)numel * sizeof(float));
            w->name = rc_strdup(name);
            L->nw++; /* owned by L from here (rc_io_free) */
            st = w->data && w->name ? dataset_read(m, s, name, &i, w->data, numel)
                                    : io_fail(m, RC_ERR_NOMEM, "model.weights.h5: out of memory for weight '%s'", name);
        }
        dataset_close(s, &i);
        if (st) return st;
    }
    return RC_OK;
}

static rc_status read_weights(rc_io_model *m, h5_src *s) {
    /* slots: class names in snake_case, numbered per name in model order */
    char (*slot)[80] = rc_calloc((size_t)m->nlayers, sizeof *slot);
    if (!slot) return io_fail(m, RC_ERR_NOMEM, "out of memory");
    int nslots = 0;
    int64_t total = 0;
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
        long n = group_size(m, s, path);
        if (n == -2) st = RC_ERR_FORMAT;
        else if (n < 0)
            st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: no group '%s' for layer '%s' (%s)", path, L->name, L->cls);
        if (st) break;
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
            st = read_vars(m, s, L, p, run, &total);
            k += run;
        }
        if (!st && nw == 0) { /* no variables: the group's vars (if any) must be empty */
            snprintf(p, sizeof p, "%s/vars", path);
            long v = group_size(m, s, p);
            if (v == -2) st = RC_ERR_FORMAT;
            else if (v > 0)
                st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: layer '%s' (%s) has no weights but '%s' holds some "
                             "(extra weights)", L->name, L->cls, p);
        }
    }
    long have = st ? 0 : group_size(m, s, "layers");
    if (have == -2) st = RC_ERR_FORMAT;
    else if (!st && have > nslots)
        st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: 'layers' holds %ld layer groups, the model has %d layers "
                     "(extra weights)", have, nslots);
    rc_free(slot);
    return st;
}


/* --- libhdf5, contained ------------------------------------------------------------
 * libhdf5 is not hardened against hostile files (mutated bytes make it read
 * through NULL pointers or ask for terabytes), so checking its arguments is
 * not enough: the HDF5 part runs in a forked child with limits (address
 * space, CPU time, no core file), which sends back plain arrays through a
 * pipe; the parent reads them with a wall-clock deadline and checks every
 * count and size before allocating. A crash, a limit or a hang of the child
 * becomes a clean error naming the file. */

#define H5_CPU_SECONDS 20  /* CPU time of the child (RLIMIT_CPU) */
#define H5_WALL_SECONDS 60 /* wall-clock deadline of the parent */
#define H5_MSG_MAX 1024

/* Headroom of the child's address space beyond the memory limit: libhdf5's
 * own caches and the child's copies of what it reads; under
 * AddressSanitizer also its quarantine of freed blocks (256 MiB by
 * default), redzones and internal mappings. Without it a sanitizer build's
 * child could fail inside the sanitizer's own report and hang until the
 * parent's deadline. */
#if defined(__SANITIZE_ADDRESS__)
#define H5_SANITIZER_SLACK ((int64_t)512 << 20)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H5_SANITIZER_SLACK ((int64_t)512 << 20)
#endif
#endif
#ifndef H5_SANITIZER_SLACK
#define H5_SANITIZER_SLACK 0
#endif
#define H5_SLACK (((int64_t)64 << 20) + H5_SANITIZER_SLACK)

/* External links name other files: libhdf5 would open them (in the
 * child, but with the user's rights); a weights file may only hand over
 * its own bytes. */
static herr_t refuse_external_link(const char *parent_file, const char *parent_group, const char *child_file,
                                   const char *child_object, unsigned *acc_flags, hid_t fapl, void *op_data) {
    (void)parent_file, (void)parent_group, (void)child_file, (void)child_object, (void)acc_flags, (void)fapl,
        (void)op_data;
    return -1;
}

/* In the child: the image opened in memory (core driver) and every layer's
 * weights read into m (the child's copy). HDF5 prints its error stack by
 * default; the library must not. */
static rc_status h5_read_all(rc_io_model *m, const char *h5, size_t h5_len) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    h5_src s = {.own = false, .file = -1, .lapl = H5Pcreate(H5P_LINK_ACCESS), .gapl = H5Pcreate(H5P_GROUP_ACCESS),
                .dapl = H5Pcreate(H5P_DATASET_ACCESS)};
    rc_status st;
    if (fapl >= 0 && s.lapl >= 0 && s.gapl >= 0 && s.dapl >= 0 && H5Pset_elink_cb(s.lapl, refuse_external_link, NULL) >= 0 &&
        H5Pset_elink_cb(s.gapl, refuse_external_link, NULL) >= 0 &&
        H5Pset_elink_cb(s.dapl, refuse_external_link, NULL) >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 &&
        H5Pset_file_image(fapl, (void *)h5, h5_len) >= 0)
        s.file = H5Fopen("model.weights.h5", H5F_ACC_RDONLY, fapl);
    if (s.file < 0) st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5 is not a readable HDF5 file");
    else {
        st = read_weights(m, &s);
        H5Fclose(s.file);
    }
    hid_t lists[] = {fapl, s.lapl, s.gapl, s.dapl};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        if (lists[k] >= 0) H5Pclose(lists[k]);
    return st;
}

static bool put(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w, n -= (size_t)w;
    }
    return true;
}

/* The child's side: limits, the read, then the stream
 *   i32 status, u32 message length, message,
 *   per layer: u32 count, per weight: u32 name length, name, i32 ndim,
 *   i64 dims[ndim], numel float32 values. */
static _Noreturn void h5_child(rc_io_model *m, const char *h5, size_t h5_len, int fd, char *msg) {
    /* the child's own diagnostics (a sanitizer's report of the crash it
     * contains) are not the library's to print: the parent reports */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    /* A fault here is contained, the parent's to report: the host program's
     * own handlers of fault signals (Python's faulthandler, a crash
     * reporter, a sanitizer's or a fuzzer's SIGSEGV handler) must not run
     * on it, so the default action ends the child. (An error a sanitizer
     * finds by itself, not through a signal, still runs its death hooks:
     * fuzz/run.sh looks for their reports.) */
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) signal(faults[i], SIG_DFL);
    struct rlimit core = {0, 0}, cpu = {H5_CPU_SECONDS, H5_CPU_SECONDS + 1};
    setrlimit(RLIMIT_CORE, &core);
    setrlimit(RLIMIT_CPU, &cpu);
    /* Address space: what the process has mapped now (under
     * AddressSanitizer that includes the terabytes of shadow it reserved)
     * plus the memory limit and H5_SLACK, so a huge request of libhdf5's
     * fails in the child as malloc's NULL (under AddressSanitizer: NULL
     * with allocator_may_return_null=1, else its report and exit status 1;
     * contained either way). */
    int64_t lim = rc_limits_get().max_bytes;
    long pages = 0, page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld", &pages) != 1) pages = 0;
        fclose(f);
    }
    if (lim > 0 && pages > 0 && page > 0) {
        rlim_t as = (rlim_t)pages * (rlim_t)page + (rlim_t)lim + (rlim_t)H5_SLACK;
        struct rlimit r = {as, as};
        setrlimit(RLIMIT_AS, &r);
    }
    m->err = msg, m->err_len = H5_MSG_MAX, msg[0] = 0;
    int32_t st = (int32_t)h5_read_all(m, h5, h5_len);
    uint32_t ml = (uint32_t)strlen(msg);
    bool ok = put(fd, &st, 4) && put(fd, &ml, 4) && put(fd, msg, ml);
    for (int l = 0; ok && st == RC_OK && l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        uint32_t nw = (uint32_t)L->nw;
        ok = put(fd, &nw, 4);
        for (int k = 0; ok && k < L->nw; k++) {
            io_weight *w = &L->w[k];
            uint32_t nl = (uint32_t)strlen(w->name);
            int32_t nd = w->shape.ndim;
            ok = put(fd, &nl, 4) && put(fd, w->name, nl) && put(fd, &nd, 4) &&
                 put(fd, w->shape.dim, (size_t)nd * sizeof(int64_t)) &&
                 put(fd, w->data, (size_t)rc_shape_numel(w->shape) * sizeof(float));
        }
    }
    _exit(ok ? 0 : 3); /* no atexit handlers, no leak report: the parent decides */
}

typedef struct h5_pipe {
    int fd;
    struct timespec deadline;
    bool timed_out;
} h5_pipe;

static double seconds_left(const struct timespec *d) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(d->tv_sec - now.tv_sec) + (double)(d->tv_nsec - now.tv_nsec) * 1e-9;
}

/* Exactly n bytes from the child before the deadline; false on EOF, error
 * or timeout. */
static bool take(h5_pipe *p, void *buf, size_t n) {
    char *c = buf;
    while (n) {
        double left = seconds_left(&p->deadline);
        if (left <= 0) return p->timed_out = true, false;
        struct pollfd pf = {p->fd, POLLIN, 0};
        int r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return p->timed_out = true, false;
        if (r < 0) return false;
        ssize_t got = read(p->fd, c, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        c += got, n -= (size_t)got;
    }
    return true;
}

/* The parent's side: the child's weights into m's layers, every size
 * checked before it is used. Returns RC_OK, the child's own error, or
 * RC_ERR_FORMAT for a stream that ended or broke the rules (the caller then
 * looks at how the child ended). */
/* *broken: the child's data ended or was malformed (what the child did then
 * decides the error); *refused: the parent stopped reading on its own (the
 * memory limit, out of memory), its error stands whatever the child does
 * with the rest it still had to send. */
static rc_status h5_receive(rc_io_model *m, h5_pipe *p, bool *broken, bool *refused) {
    *broken = true;
    *refused = false;
    int32_t st;
    uint32_t ml;
    char msg[H5_MSG_MAX + 1];
    if (!take(p, &st, 4) || !take(p, &ml, 4) || ml > H5_MSG_MAX || !take(p, msg, ml)) return RC_ERR_FORMAT;
    msg[ml] = 0;
    if (st != RC_OK) {
        *broken = false;
        if (m->err && m->err_len && !m->err[0]) snprintf(m->err, m->err_len, "%s", msg); /* already prefixed */
        return st > 0 && st < 64 ? (rc_status)st : RC_ERR_FORMAT;
    }
    int64_t total = 0;
    for (int l = 0; l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        uint32_t nw;
        if (!take(p, &nw, 4) || nw > IO_MAX_W) return RC_ERR_FORMAT;
        for (uint32_t k = 0; k < nw; k++) {
            io_weight *w = &L->w[L->nw];
            uint32_t nl;
            int32_t nd;
            char name[IO_WEIGHT_NAME_MAX];
            if (!take(p, &nl, 4) || nl >= sizeof name || !take(p, name, nl)) return RC_ERR_FORMAT;
            name[nl] = 0;
            if (!take(p, &nd, 4) || nd < 0 || nd > RC_MAX_DIMS ||
                !take(p, w->shape.dim, (size_t)nd * sizeof(int64_t)))
                return RC_ERR_FORMAT;
            w->shape.ndim = nd;
            if (!rc_shape_valid(w->shape)) return RC_ERR_FORMAT;
            int64_t bytes = rc_shape_numel(w->shape) * (int64_t)sizeof(float);
            total += bytes;
            if (!rc_limits_fit(total)) {
                *broken = false, *refused = true;
                return over_the_limit(m, total);
            }
            w->data = rc_malloc((size_t)bytes);
            w->name = rc_strdup(name);
            L->nw++; /* owned by L from here (rc_io_free) */
            if (!w->data || !w->name) {
                *broken = false, *refused = true;
                return io_fail(m, RC_ERR_NOMEM, "model.weights.h5: out of memory for weight '%s'", name);
            }
            if (!take(p, w->data, (size_t)bytes)) return RC_ERR_FORMAT;
        }
    }
    char extra;
    if (take(p, &extra, 1)) return RC_ERR_FORMAT; /* more than the layers hold */
    if (p->timed_out) return RC_ERR_FORMAT;
    *broken = false;
    return RC_OK;
}

static pthread_once_t h5_init_once = PTHREAD_ONCE_INIT;
static void h5_init(void) { H5open(); }

static rc_status read_weights_contained(rc_io_model *m, const char *h5, size_t h5_len) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return io_fail(m, RC_ERR_IO, "model.weights.h5: cannot start the HDF5 reader: %s", strerror(errno));
    char *msg = rc_malloc(H5_MSG_MAX + 1);
    if (!msg) {
        close(fds[0]);
        close(fds[1]);
        return io_fail(m, RC_ERR_NOMEM, "out of memory");
    }
    /* libhdf5 initialised once in the parent, on no bytes of the file,
     * rather than in every child (its free lists and type tables). Once:
     * a thread-safe libhdf5 takes its global lock in H5open, and a child
     * forked by another thread while one held it would hang on its first
     * HDF5 call; pthread_once makes every loader wait until the
     * initialisation is over. */
    pthread_once(&h5_init_once, h5_init);
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        rc_free(msg);
        return io_fail(m, RC_ERR_IO, "model.weights.h5: cannot start the HDF5 reader: %s", strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        h5_child(m, h5, h5_len, fds[1], msg);
    }
    close(fds[1]);
    rc_free(msg);
    h5_pipe p = {.fd = fds[0]};
    clock_gettime(CLOCK_MONOTONIC, &p.deadline);
    p.deadline.tv_sec += H5_WALL_SECONDS;
    bool broken, refused;
    rc_status st = h5_receive(m, &p, &broken, &refused);
    close(fds[0]);
    /* a child still writing what was refused would die of SIGPIPE on the
     * closed pipe, which is not its crash */
    if (p.timed_out || refused) kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (refused || (!broken && WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) return st;
    /* the child crashed, hit a limit, hung or broke the protocol */
    if (m->err) m->err[0] = 0;
    if (p.timed_out)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: the HDF5 reader took longer than %d s and was stopped (a "
                       "damaged or hostile file)", H5_WALL_SECONDS);
    if (WIFSIGNALED(ws)) {
        int sig = WTERMSIG(ws);
        if (sig == SIGXCPU || sig == SIGKILL)
            return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: the HDF5 reader hit its CPU time limit (%d s) and was "
                           "stopped (a damaged or hostile file)", H5_CPU_SECONDS);
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: the HDF5 reader crashed (signal %d, %s): the file is "
                       "damaged or hostile", sig, strsignal(sig));
    }
    if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
        return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: the HDF5 reader failed (exit status %d; out of memory "
                       "under the %s limit, or a damaged or hostile file)", WEXITSTATUS(ws), "memory");
    return io_fail(m, RC_ERR_FORMAT, "model.weights.h5: the HDF5 reader sent malformed data");
}

/* The weights drop what a reader put in before the other one starts. */
static void drop_weights(rc_io_model *m) {
    for (int l = 0; l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        for (int k = 0; k < L->nw; k++) rc_free(L->w[k].data), rc_free(L->w[k].name), L->w[k] = (io_weight){0};
        L->nw = 0;
    }
    if (m->err && m->err_len) m->err[0] = 0;
}

/* recur's own reader first, in process; a file outside its subset (well
 * formed, but dense groups, chunked data, ...) goes to libhdf5 in the
 * contained child. RECUR_HDF5=own uses only the own reader (a file outside
 * its subset is an error), RECUR_HDF5=libhdf5 only the child; unset or
 * "auto": both, as above. */
static rc_status read_weights_any(rc_io_model *m, const char *h5, size_t h5_len) {
    const char *mode = getenv("RECUR_HDF5");
    bool auto_mode = !mode || !*mode || !strcmp(mode, "auto");
    if (!auto_mode && strcmp(mode, "own") && strcmp(mode, "libhdf5"))
        return io_fail(m, RC_ERR_ARG, "RECUR_HDF5=%.40s: expected auto, own or libhdf5", mode);
    if (!auto_mode && !strcmp(mode, "libhdf5")) return read_weights_contained(m, h5, h5_len);
    h5_src s = {.own = true, .file = -1, .lapl = -1, .gapl = -1, .dapl = -1};
    char why[256];
    h5r_status hs = h5r_open((const uint8_t *)h5, h5_len, &s.r, why, sizeof why);
    rc_status st;
    if (hs == H5R_UNSUPPORTED) {
        s.unsupported = true;
        st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: uses %s, which recur's HDF5 reader does not read "
                     "(RECUR_HDF5=own)", why);
    } else if (hs) st = io_fail(m, RC_ERR_FORMAT, "model.weights.h5: not a readable HDF5 file: %s", why);
    else {
        st = read_weights(m, &s);
        h5r_close(s.r);
    }
    if (!st || !s.unsupported || !auto_mode) return st;
    drop_weights(m);
    return read_weights_contained(m, h5, h5_len);
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
    struct stat sb;
    int64_t archive_len = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    rc_status st = read_member(m, z, archive_len, "config.json", &cfg, &cfg_len);
    if (!st) st = read_member(m, z, archive_len, "model.weights.h5", &h5, &h5_len);
    zip_close(z);
    json_t *root = NULL;
    if (!st) {
        json_error_t je;
        root = json_loadb(cfg, cfg_len, JSON_REJECT_DUPLICATES, &je);
        if (!root) st = io_fail(m, RC_ERR_FORMAT, "config.json: malformed JSON at line %d, column %d: %s", je.line,
                                je.column, je.text);
    }
    if (!st) st = io_parse_topology(m, root);
    if (!st) st = read_weights_any(m, h5, h5_len);
    json_decref(root);
    rc_free(cfg);
    rc_free(h5);
    return st;
}
