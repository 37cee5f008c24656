/* TF.js layers-model reader: model.json (modelTopology in the Keras 2
 * schema, either as TF.js saves it or wrapped in "model_config" as the
 * Python converter writes it) and the weightsManifest's binary shards.
 *
 * Per manifest group the shards are concatenated; the weights follow in
 * manifest order, each numel * 4 bytes of little-endian float32, with no
 * padding. A weight belongs to the layer named by the first component of
 * its name ("lstm/kernel", "bidirectional/forward_lstm/kernel",
 * "lstm/lstm_cell/kernel"); within a layer the order is Keras'
 * get_weights() order, checked against the last name component. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../io.h"
#include "../model/model_io_impl.h"

/* Manifest shape -> rc_shape with the element-count limit. */
static rc_status weight_shape(rc_io_model *m, json_t *shape, const char *wname, rc_shape *s) {
    if (!json_is_array(shape) || json_array_size(shape) > RC_MAX_DIMS)
        return io_fail(m, RC_ERR_FORMAT, "weight '%s': shape must be a list of at most %d dimensions", wname,
                       RC_MAX_DIMS);
    s->ndim = (int)json_array_size(shape);
    int64_t numel = 1;
    for (int d = 0; d < s->ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return io_fail(m, RC_ERR_FORMAT, "weight '%s': dimension %d is not a positive whole number", wname, d);
        json_int_t k = json_integer_value(v);
        if (k > RC_MAX_ELEMS || numel > RC_MAX_ELEMS / k)
            return io_fail(m, RC_ERR_FORMAT, "weight '%s': shape has more than 2^40 elements", wname);
        numel *= k;
        s->dim[d] = k;
    }
    return RC_OK;
}

/* A shard that could not be opened: outside the model directory, or the
 * system's reason. */
static rc_status shard_fail(rc_io_model *m, const char *dir, const char *ps, int e) {
    if (e == EXDEV || e == ELOOP)
        return io_fail(m, RC_ERR_FORMAT, "shard '%s' lies outside the model directory %s (an absolute path, '..' or a "
                       "symlink leaving it); refused", ps, dir);
    return io_fail(m, RC_ERR_IO, "shard '%s' in %s: %s", ps, dir, strerror(e));
}

static rc_status read_group(rc_io_model *m, int dirfd, const char *dir, json_t *group, int gi) {
    json_t *paths = json_object_get(group, "paths"), *weights = json_object_get(group, "weights");
    if (!json_is_array(paths) || !json_is_array(weights))
        return io_fail(m, RC_ERR_FORMAT, "weightsManifest[%d]: needs 'paths' and 'weights' lists", gi);
    /* sizes first: every weight's shape, dtype and the total */
    size_t i;
    int64_t total = 0;
    json_t *w;
    json_array_foreach(weights, i, w) {
        const char *wn = json_string_value(json_object_get(w, "name"));
        const char *dt = json_string_value(json_object_get(w, "dtype"));
        if (!wn) return io_fail(m, RC_ERR_FORMAT, "weightsManifest[%d]: weight %zu has no name", gi, i);
        if (json_object_get(w, "quantization"))
            return io_fail(m, RC_ERR_FORMAT, "weight '%s': quantized weights are not supported (float32 only)", wn);
        if (!dt || strcmp(dt, "float32"))
            return io_fail(m, RC_ERR_FORMAT, "weight '%s': dtype '%s' is not supported (float32 only)", wn,
                           dt ? dt : "(missing)");
        rc_shape s;
        rc_status st = weight_shape(m, json_object_get(w, "shape"), wn, &s);
        if (st) return st;
        total += rc_shape_numel(s) * 4;
        if (total > RC_MAX_ELEMS * 4) return io_fail(m, RC_ERR_FORMAT, "weightsManifest[%d]: more than 2^40 floats", gi);
    }
    /* the shards: their sizes must add up to exactly the weights' bytes.
     * Each is opened beneath the model's directory (io_open_beneath): a
     * path that is absolute, climbs out with "..", or goes through a
     * symlink leaving the directory is refused, never followed. */
    int64_t have = 0;
    json_t *p;
    json_array_foreach(paths, i, p) {
        const char *ps = json_string_value(p);
        if (!ps || !*ps) return io_fail(m, RC_ERR_FORMAT, "weightsManifest[%d]: shard path %zu is empty or not a string",
                                       gi, i);
        int fd = io_open_beneath(dirfd, ps);
        if (fd < 0) return shard_fail(m, dir, ps, errno);
        struct stat sb;
        bool reg = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
        close(fd);
        if (!reg) return io_fail(m, RC_ERR_FORMAT, "shard '%s' in %s is not a regular file", ps, dir);
        have += (int64_t)sb.st_size;
        if (have > total) break; /* already too much: no need to add up the rest */
    }
    if (have != total)
        return io_fail(m, RC_ERR_FORMAT, "weightsManifest[%d]: the shards hold %s%lld bytes but the manifest's shapes "
                       "need %lld (%s)", gi, have > total ? "more than " : "", (long long)have, (long long)total,
                       have < total ? "truncated shard or missing data" : "extra data or wrong shapes");
    uint8_t *buf = rc_malloc(total ? (size_t)total : 1);
    if (!buf) return io_fail(m, RC_ERR_NOMEM, "out of memory reading %lld bytes of weights", (long long)total);
    int64_t at = 0;
    json_array_foreach(paths, i, p) {
        const char *ps = json_string_value(p);
        int fd = io_open_beneath(dirfd, ps);
        FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (!f) {
            int e = errno;
            if (fd >= 0) close(fd);
            rc_free(buf);
            return shard_fail(m, dir, ps, e);
        }
        size_t room = (size_t)(total - at), got = fread(buf + at, 1, room, f);
        bool more = fgetc(f) != EOF;
        fclose(f);
        at += (int64_t)got;
        if (more || (i + 1 == json_array_size(paths) && at != total)) {
            rc_free(buf);
            return io_fail(m, RC_ERR_IO, "shard '%s' in %s changed size while being read", ps, dir);
        }
    }
    /* hand each weight to its layer */
    at = 0;
    rc_status st = RC_OK;
    json_array_foreach(weights, i, w) {
        const char *wn = json_string_value(json_object_get(w, "name"));
        rc_shape s;
        weight_shape(m, json_object_get(w, "shape"), wn, &s);
        size_t n = (size_t)rc_shape_numel(s);
        const char *slash = strchr(wn, '/');
        size_t ln = slash ? (size_t)(slash - wn) : strlen(wn);
        io_layer *L = NULL;
        for (int l = 0; l < m->nlayers; l++)
            if (strlen(m->layers[l].name) == ln && !strncmp(m->layers[l].name, wn, ln)) L = &m->layers[l];
        if (!L) {
            st = io_fail(m, RC_ERR_FORMAT, "weight '%s' belongs to no layer of the model (extra weight)", wn);
            break;
        }
        if (L->nw >= IO_MAX_W) {
            st = io_fail(m, RC_ERR_FORMAT, "layer '%s': too many weights (extra weight '%s')", L->name, wn);
            break;
        }
        io_weight *iw = &L->w[L->nw++];
        iw->name = rc_strdup(wn);
        iw->shape = s;
        iw->data = rc_malloc(n * sizeof(float) + 1);
        if (!iw->data || !iw->name) {
            st = io_fail(m, RC_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t k = 0; k < n; k++) { /* little-endian float32 */
            const uint8_t *b = buf + at + 4 * (int64_t)k;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&iw->data[k], &u, 4);
        }
        at += (int64_t)n * 4;
    }
    rc_free(buf);
    return st;
}

/* Every layer got exactly the weights it expects, named as expected. */
static rc_status check_weights(rc_io_model *m) {
    for (int l = 0; l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        const char *names[IO_MAX_W];
        int want = io_expected_weights(L, names, IO_MAX_W);
        if (L->nw != want) {
            char list[256] = "";
            for (int k = 0; k < want; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", names[k]);
            return io_fail(m, RC_ERR_FORMAT, "layer '%s' (%s) needs %d weights (%s), the file has %d (%s weights)",
                           L->name, L->cls, want, want ? list : "none", L->nw, L->nw < want ? "missing" : "extra");
        }
        for (int k = 0; k < want; k++) {
            const char *tail = strrchr(L->w[k].name, '/');
            tail = tail ? tail + 1 : L->w[k].name;
            if (strcmp(tail, names[k]) && !(strcmp(names[k], "embeddings") == 0 && !strcmp(tail, "embeddings:0")))
                return io_fail(m, RC_ERR_FORMAT, "layer '%s' (%s): weight %d is '%s', expected '.../%s'", L->name,
                               L->cls, k, L->w[k].name, names[k]);
        }
    }
    return RC_OK;
}

rc_status io_load_tfjs(rc_io_model *m, const char *path) {
    m->format = "tfjs";
    m->keras3 = false;
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* jansson reports failing to open or read with line -1 and a text
         * that already names the file and the reason */
        if (je.line < 0) return io_fail(m, RC_ERR_IO, "%s", je.text);
        return io_fail(m, RC_ERR_FORMAT, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
    }
    rc_status st = RC_OK;
    json_t *topo = json_object_get(root, "modelTopology");
    json_t *manifest = json_object_get(root, "weightsManifest");
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!json_is_object(topo)) st = io_fail(m, RC_ERR_FORMAT, "no 'modelTopology' object (not a TF.js layers model)");
    else if (fmt && strcmp(fmt, "layers-model"))
        st = io_fail(m, RC_ERR_FORMAT, "format '%s' is not supported (layers-model only)", fmt);
    else if (!json_is_array(manifest)) st = io_fail(m, RC_ERR_FORMAT, "no 'weightsManifest' list");
    if (!st) {
        json_t *mc = json_object_get(topo, "model_config");
        st = io_parse_topology(m, mc ? mc : topo);
    }
    if (!st) {
        /* shards are found beneath the model's own directory, whatever
         * the length of its path */
        char *dir = io_dir_of(path);
        int dirfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (!dir) st = io_fail(m, RC_ERR_NOMEM, "out of memory");
        else if (dirfd < 0) st = io_fail(m, RC_ERR_IO, "cannot open the model's directory %s: %s", dir, strerror(errno));
        size_t i;
        json_t *g;
        json_array_foreach(manifest, i, g) if (!st) st = read_group(m, dirfd, dir, g, (int)i);
        if (dirfd >= 0) close(dirfd);
        rc_free(dir);
    }
    if (!st) st = check_weights(m);
    json_decref(root);
    return st;
}
