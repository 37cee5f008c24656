/* safetensors files and trainer checkpoints.
 *
 * Format: u64 little-endian header length N, N bytes of JSON, data. The
 * header is padded with spaces to a multiple of 8 bytes so the data section
 * starts aligned (as the reference implementation does). Writes go through
 * io_write_atomic (../io.h): a locked temporary file in the target's
 * directory, fsync'd and renamed over the target, then the directory
 * fsync'd, so a crash or error at any point leaves either the old file or
 * the new one, never a mix; stale temporary files of a killed save are
 * removed by the next save; an existing file keeps its mode. Reads check
 * every field before anything is used (see rc_safetensors_read in
 * recur/checkpoint.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/checkpoint.h"
#include "../io.h"

#define MAX_HEADER_BYTES ((uint64_t)100 * 1000 * 1000)


static bool little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static const char *st_dtype(rc_dtype d) { return d == RC_I32 ? "I32" : "F32"; }

/* --- writing ------------------------------------------------------------------------ */

static rc_status safetensors_write(const char *path, const rc_st_tensor *tensors, int n, const char *const *meta,
                               int nmeta, rc_error *err) {
    if (!path || !*path) return rc_error_set(err, RC_ERR_ARG, NULL, "safetensors: path is empty");
    if (n < 0 || nmeta < 0 || (n && !tensors) || (nmeta && !meta))
        return rc_error_set(err, RC_ERR_ARG, NULL, "%s: negative count or NULL array", path);
    if (!little_endian()) return rc_error_set(err, RC_ERR_ARG, NULL, "%s: big-endian hosts are not supported", path);
    json_t *root = json_object(), *md = nmeta ? json_object() : NULL;
    if (!root || (nmeta && !md)) {
        json_decref(root);
        json_decref(md);
        return rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
    }
    rc_status st = RC_OK;
    char *hdr = NULL;
    io_part *parts = NULL;
    for (int k = 0; k < nmeta; k++) {
        if (!meta[2 * k] || !meta[2 * k + 1]) {
            st = rc_error_set(err, RC_ERR_ARG, NULL, "%s: metadata pair %d has a NULL key or value", path, k);
            goto out;
        }
        json_object_set_new(md, meta[2 * k], json_string(meta[2 * k + 1]));
    }
    if (md) json_object_set_new(root, "__metadata__", md);
    md = NULL;
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const rc_st_tensor *x = &tensors[i];
        if (!x->name || !*x->name || strcmp(x->name, "__metadata__") == 0 || (x->dtype != RC_F32 && x->dtype != RC_I32) ||
            !rc_shape_valid(x->shape) || !x->data) {
            st = rc_error_set(err, RC_ERR_ARG, NULL, "%s: tensor %d ('%s') has an empty or reserved name, unknown dtype, "
                      "invalid shape or no data", path, i, x->name ? x->name : "(null)");
            goto out;
        }
        if (json_object_get(root, x->name)) {
            st = rc_error_set(err, RC_ERR_ARG, NULL, "%s: tensor name '%s' appears twice", path, x->name);
            goto out;
        }
        uint64_t bytes = (uint64_t)rc_shape_numel(x->shape) * rc_dtype_size(x->dtype);
        json_t *shape = json_array();
        for (int d = 0; d < x->shape.ndim; d++) json_array_append_new(shape, json_integer(x->shape.dim[d]));
        json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", st_dtype(x->dtype), "shape", shape, "data_offsets",
                              (json_int_t)off, (json_int_t)(off + bytes));
        if (!e || json_object_set_new(root, x->name, e) != 0) {
            st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
            goto out;
        }
        off += bytes;
    }
    hdr = json_dumps(root, JSON_COMPACT);
    if (!hdr) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    size_t hlen = strlen(hdr), padded = (hlen + 7) & ~(size_t)7;

    unsigned char len8[8];
    for (int b = 0; b < 8; b++) len8[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    static const char spaces[8] = "        ";
    parts = rc_malloc((size_t)(n + 3) * sizeof *parts);
    if (!parts) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    parts[0] = (io_part){len8, 8};
    parts[1] = (io_part){hdr, hlen};
    parts[2] = (io_part){spaces, padded - hlen};
    for (int i = 0; i < n; i++)
        parts[3 + i] = (io_part){tensors[i].data,
                                 (size_t)rc_shape_numel(tensors[i].shape) * rc_dtype_size(tensors[i].dtype)};
    st = io_write_atomic(path, parts, n + 3, err, NULL);
out:
    rc_free(parts);
    free(hdr);
    json_decref(md);
    json_decref(root);
    return st;
}

/* --- reading ------------------------------------------------------------------------ */

struct rc_safetensors {
    int n, nmeta;
    rc_st_tensor *t;
    char **names;
    char **meta; /* 2 * nmeta: key, value */
    void *data;
};

void rc_safetensors_free(rc_safetensors *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) rc_free(s->names[i]);
    for (int i = 0; i < 2 * s->nmeta; i++) rc_free(s->meta[i]);
    rc_free(s->names);
    rc_free(s->meta);
    rc_free(s->t);
    rc_free_aligned(s->data);
    rc_free(s);
}

int rc_safetensors_count(const rc_safetensors *s) { return s ? s->n : 0; }
const rc_st_tensor *rc_safetensors_tensor(const rc_safetensors *s, int i) {
    return s && i >= 0 && i < s->n ? &s->t[i] : NULL;
}
const rc_st_tensor *rc_safetensors_find(const rc_safetensors *s, const char *name) {
    for (int i = 0; s && name && i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0) return &s->t[i];
    return NULL;
}
const char *rc_safetensors_meta(const rc_safetensors *s, const char *key) {
    for (int i = 0; s && key && i < s->nmeta; i++)
        if (strcmp(s->meta[2 * i], key) == 0) return s->meta[2 * i + 1];
    return NULL;
}

typedef struct span {
    uint64_t begin, end;
    int idx;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static bool json_uint(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Parse one tensor entry of the header into s->t[i]; spans[i] gets its
 * byte range. */
static rc_status parse_entry(const char *path, const char *name, json_t *e, uint64_t data_len, rc_st_tensor *t,
                             span *sp, rc_error *err) {
    if (!json_is_object(e))
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': header entry is not a JSON object", path, name);
    json_t *dt = json_object_get(e, "dtype"), *shape = json_object_get(e, "shape"),
           *offs = json_object_get(e, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs))
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': needs string \"dtype\", array \"shape\" and array "
                    "\"data_offsets\"", path, name);
    const char *d = json_string_value(dt);
    if (strcmp(d, "F32") == 0) t->dtype = RC_F32;
    else if (strcmp(d, "I32") == 0) t->dtype = RC_I32;
    else
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': dtype %s is not supported (recur reads F32 and I32)",
                    path, name, d);
    size_t nd = json_array_size(shape);
    if (nd > RC_MAX_DIMS)
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': rank %zu exceeds %d", path, name, nd, RC_MAX_DIMS);
    t->shape.ndim = (int)nd;
    uint64_t numel = 1;
    for (size_t k = 0; k < nd; k++) {
        uint64_t dim;
        if (!json_uint(json_array_get(shape, k), &dim) || dim < 1)
            return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': shape entry %zu is not an integer >= 1", path, name, k);
        if (dim > (uint64_t)RC_MAX_ELEMS || numel > (uint64_t)RC_MAX_ELEMS / dim)
            return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': shape has more than 2^40 elements", path, name);
        numel *= dim;
        t->shape.dim[k] = (int64_t)dim;
    }
    uint64_t b, en;
    if (json_array_size(offs) != 2 || !json_uint(json_array_get(offs, 0), &b) || !json_uint(json_array_get(offs, 1), &en) ||
        b > en)
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end",
                    path, name);
    if (en > data_len)
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': data_offsets [%llu, %llu] run past the %llu data bytes "
                    "(file truncated?)", path, name, (unsigned long long)b, (unsigned long long)en,
                    (unsigned long long)data_len);
    if (en - b != numel * 4)
        return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s': %llu bytes in data_offsets but shape and dtype need %llu",
                    path, name, (unsigned long long)(en - b), (unsigned long long)(numel * 4));
    sp->begin = b;
    sp->end = en;
    return RC_OK;
}

static rc_status safetensors_read(const char *path, rc_safetensors **out, rc_error *err) {
    if (out) *out = NULL;
    if (!path || !out) return rc_error_set(err, RC_ERR_ARG, NULL, "safetensors: NULL path or result");
    if (!little_endian()) return rc_error_set(err, RC_ERR_ARG, NULL, "%s: big-endian hosts are not supported", path);
    FILE *f = fopen(path, "rb");
    if (!f) return rc_error_set(err, RC_ERR_IO, NULL, "%s: cannot open: %s", path, strerror(errno));
    rc_status st = RC_OK;
    char *hdr = NULL;
    json_t *root = NULL;
    span *spans = NULL;
    rc_safetensors *s = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = rc_error_set(err, RC_ERR_IO, NULL, "%s: not a regular file", path);
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (size < 8 || fread(len8, 1, 8, f) != 8) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: %llu bytes is shorter than the 8-byte header length", path,
                  (unsigned long long)size);
        goto out;
    }
    uint64_t hlen = 0;
    for (int b = 0; b < 8; b++) hlen |= (uint64_t)len8[b] << (8 * b);
    if (hlen < 2 || hlen > MAX_HEADER_BYTES || hlen > size - 8) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: header length %llu is %s", path, (unsigned long long)hlen,
                  hlen < 2 ? "too small for a JSON object" : hlen > size - 8 ? "beyond the end of the file (truncated?)"
                                                                               : "over the 100 MB limit");
        goto out;
    }
    hdr = rc_malloc((size_t)hlen);
    if (!hdr) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory for a %llu-byte header", path, (unsigned long long)hlen);
        goto out;
    }
    if (fread(hdr, 1, (size_t)hlen, f) != hlen) {
        st = rc_error_set(err, RC_ERR_IO, NULL, "%s: reading the header failed", path);
        goto out;
    }
    json_error_t je;
    root = json_loadb(hdr, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: header is not a JSON object%s%s", path, root ? "" : ": ",
                  root ? "" : je.text);
        goto out;
    }
    uint64_t data_len = size - 8 - hlen;
    size_t nent = json_object_size(root);
    s = rc_calloc(1, sizeof *s);
    spans = rc_calloc(nent + 1, sizeof *spans);
    if (!s || !spans || !(s->t = rc_calloc(nent + 1, sizeof *s->t)) || !(s->names = rc_calloc(nent + 1, sizeof *s->names))) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: __metadata__ is not a JSON object", path);
                goto out;
            }
            size_t nm = json_object_size(val);
            if (!(s->meta = rc_calloc(2 * nm + 1, sizeof *s->meta))) {
                st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
                goto out;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: __metadata__ value of '%s' is not a string", path, mk);
                    goto out;
                }
                s->meta[2 * s->nmeta] = rc_strdup(mk);
                s->meta[2 * s->nmeta + 1] = rc_strdup(json_string_value(mv));
                s->nmeta++;
                if (!s->meta[2 * s->nmeta - 2] || !s->meta[2 * s->nmeta - 1]) {
                    st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
                    goto out;
                }
            }
            continue;
        }
        int i = s->n;
        if ((st = parse_entry(path, key, val, data_len, &s->t[i], &spans[i], err)) != RC_OK) goto out;
        if (!(s->names[i] = rc_strdup(key))) {
            st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
            goto out;
        }
        s->t[i].name = s->names[i];
        spans[i].idx = i;
        s->n++;
    }
    /* Byte ranges: no overlap, no hole, the whole data section used. */
    qsort(spans, (size_t)s->n, sizeof *spans, span_cmp);
    uint64_t at = 0;
    for (int i = 0; i < s->n; i++) {
        if (spans[i].begin != at) {
            st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s' %s at byte %llu of the data (expected %llu)", path,
                      s->names[spans[i].idx], spans[i].begin < at ? "overlaps the previous tensor" : "leaves a gap",
                      (unsigned long long)spans[i].begin, (unsigned long long)at);
            goto out;
        }
        at = spans[i].end;
    }
    if (at != data_len) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensors cover %llu bytes of data but the file holds %llu (truncated or "
                  "trailing bytes)", path, (unsigned long long)at, (unsigned long long)data_len);
        goto out;
    }
    if (data_len) {
        if (!(s->data = rc_malloc_aligned((size_t)data_len))) {
            st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory for %llu bytes of data", path,
                      (unsigned long long)data_len);
            goto out;
        }
        if (fread(s->data, 1, (size_t)data_len, f) != data_len) {
            st = rc_error_set(err, RC_ERR_IO, NULL, "%s: reading the data failed", path);
            goto out;
        }
    }
    for (int i = 0; i < s->n; i++) s->t[spans[i].idx].data = (char *)s->data + spans[i].begin;
    /* File order: by data offset. */
    rc_st_tensor *sorted = rc_malloc((size_t)(s->n + 1) * sizeof *sorted);
    if (!sorted) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < s->n; i++) sorted[i] = s->t[spans[i].idx];
    rc_free(s->t);
    s->t = sorted;
out:
    if (st != RC_OK) rc_safetensors_free(s);
    else *out = s;
    rc_free(spans);
    json_decref(root);
    rc_free(hdr);
    fclose(f);
    return st;
}

static rc_status check_finite(const rc_safetensors *s, const char *path, rc_error *err) {
    if (!s) return rc_error_set(err, RC_ERR_ARG, NULL, "NULL safetensors");
    for (int i = 0; i < s->n; i++) {
        const rc_st_tensor *t = &s->t[i];
        if (t->dtype != RC_F32) continue;
        const float *x = t->data;
        int64_t n = rc_shape_numel(t->shape);
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(x[k]))
                return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s' holds %s at element %lld (a diverged "
                                    "or damaged checkpoint)", path ? path : "(safetensors)", t->name,
                                    isnan(x[k]) ? "NaN" : x[k] > 0 ? "+Inf" : "-Inf", (long long)k);
    }
    return RC_OK;
}

/* --- parameters only ---------------------------------------------------------------- */

static rc_status leaf_tensors(rc_node *const *nodes, int n, rc_st_tensor *t, char (*names)[512]) {
    for (int i = 0; i < n; i++) {
        if (!nodes[i] || !rc_node_value(nodes[i])) return RC_ERR_ARG;
        t[i] = (rc_st_tensor){.name = rc_node_path(nodes[i], names[i], sizeof names[i]),
                              .dtype = rc_node_dtype(nodes[i]), .shape = rc_node_shape(nodes[i]),
                              .data = rc_node_data(nodes[i])};
    }
    return RC_OK;
}

/* The file's tensor for leaf `n`: present, same dtype and shape. */
static rc_status match(const char *path, const rc_safetensors *s, const char *name, const rc_node *n,
                       const rc_st_tensor **out, rc_error *err) {
    const rc_st_tensor *x = rc_safetensors_find(s, name);
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    if (!x) return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s' is missing", path, name);
    if (x->dtype != rc_node_dtype(n) || !rc_shape_eq(x->shape, rc_node_shape(n)))
        return rc_error_set(err, RC_ERR_SHAPE, NULL, "%s: tensor '%s' is %s %s in the file but %s %s in the model", path, name,
                    st_dtype(x->dtype), rc_shape_str(x->shape, a, sizeof a), st_dtype(rc_node_dtype(n)),
                    rc_shape_str(rc_node_shape(n), b, sizeof b));
    *out = x;
    return RC_OK;
}

static rc_status save_params(const char *path, rc_node *const *params, int n, const char *const *meta, int nmeta,
                         rc_error *err) {
    if (n < 1 || !params) return rc_error_set(err, RC_ERR_ARG, NULL, "%s: no parameters to save", path ? path : "(null)");
    rc_st_tensor *t = rc_calloc((size_t)n, sizeof *t);
    char (*names)[512] = rc_calloc((size_t)n, sizeof *names);
    rc_status st;
    if (!t || !names) st = rc_error_set(err, RC_ERR_NOMEM, NULL, "out of memory");
    else if (leaf_tensors(params, n, t, names) != RC_OK)
        st = rc_error_set(err, RC_ERR_ARG, NULL, "%s: a parameter is NULL or not a leaf", path ? path : "(null)");
    else st = rc_safetensors_write(path, t, n, meta, nmeta, err);
    rc_free(t);
    rc_free(names);
    return st;
}

static rc_status load_params(const char *path, rc_node *const *params, int n, rc_error *err) {
    if (n < 1 || !params) return rc_error_set(err, RC_ERR_ARG, NULL, "%s: no parameters to load", path ? path : "(null)");
    for (int i = 0; i < n; i++)
        if (!params[i] || !rc_node_value(params[i]))
            return rc_error_set(err, RC_ERR_ARG, NULL, "%s: parameter %d is NULL or not a leaf", path ? path : "(null)", i);
    rc_safetensors *s;
    rc_status st = rc_safetensors_read(path, &s, err);
    if (st != RC_OK) return st;
    const rc_st_tensor **src = rc_calloc((size_t)n, sizeof *src);
    if (!src) st = rc_error_set(err, RC_ERR_NOMEM, NULL, "out of memory");
    else st = check_finite(s, path, err);
    for (int i = 0; st == RC_OK && i < n; i++) {
        char name[512];
        st = match(path, s, rc_node_path(params[i], name, sizeof name), params[i], &src[i], err);
    }
    for (int i = 0; st == RC_OK && i < n; i++)
        memcpy(rc_node_data(params[i]), src[i]->data, rc_tensor_bytes(rc_node_value(params[i])));
    rc_free(src);
    rc_safetensors_free(s);
    return st;
}

/* --- trainer checkpoints -------------------------------------------------------------- */

#define CKPT_FORMAT "recur-checkpoint"
#define CKPT_VERSION "1"

static const char *const lr_kinds[] = {"constant", "exponential", "cosine"};

char *rc_optim_to_json(const rc_optim_config *c) {
    if (!c || (unsigned)c->lr.kind > RC_LR_COSINE) return NULL;
    json_t *lr = json_pack("{s:s, s:f, s:I, s:f, s:b, s:f, s:I, s:f}", "kind", lr_kinds[c->lr.kind], "initial",
                           c->lr.initial, "decay_steps", (json_int_t)c->lr.decay_steps, "decay_rate", c->lr.decay_rate,
                           "staircase", c->lr.staircase, "alpha", c->lr.alpha, "warmup_steps",
                           (json_int_t)c->lr.warmup_steps, "warmup_target", c->lr.warmup_target);
    json_t *o = json_pack("{s:s, s:o, s:f, s:b, s:f, s:f, s:f, s:b, s:f, s:f, s:s, s:f, s:f, s:f}", "kind",
                          rc_optim_name(c->kind), "learning_rate", lr, "momentum", c->momentum, "nesterov", c->nesterov,
                          "beta1", c->beta1, "beta2", c->beta2, "rho", c->rho, "centered", c->centered,
                          "initial_accumulator", c->initial_accumulator, "epsilon", c->epsilon, "epsilon_style",
                          c->eps_style == RC_EPS_TORCH ? "torch" : "keras", "clipnorm", c->clipnorm, "global_clipnorm",
                          c->global_clipnorm, "clipvalue", c->clipvalue);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *r = s ? rc_strdup(s) : NULL;
    free(s);
    return r;
}

/* Field tables for rc_optim_from_json: name, type ('f' real, 'b' bool,
 * 'i' integer), offset. */
typedef struct field {
    const char *name;
    char type;
    size_t off;
} field;

static const field optim_fields[] = {
    {"momentum", 'f', offsetof(rc_optim_config, momentum)},
    {"nesterov", 'b', offsetof(rc_optim_config, nesterov)},
    {"beta1", 'f', offsetof(rc_optim_config, beta1)},
    {"beta2", 'f', offsetof(rc_optim_config, beta2)},
    {"rho", 'f', offsetof(rc_optim_config, rho)},
    {"centered", 'b', offsetof(rc_optim_config, centered)},
    {"initial_accumulator", 'f', offsetof(rc_optim_config, initial_accumulator)},
    {"epsilon", 'f', offsetof(rc_optim_config, epsilon)},
    {"clipnorm", 'f', offsetof(rc_optim_config, clipnorm)},
    {"global_clipnorm", 'f', offsetof(rc_optim_config, global_clipnorm)},
    {"clipvalue", 'f', offsetof(rc_optim_config, clipvalue)},
};

static const field lr_fields[] = {
    {"initial", 'f', offsetof(rc_lr_schedule, initial)},
    {"decay_steps", 'i', offsetof(rc_lr_schedule, decay_steps)},
    {"decay_rate", 'f', offsetof(rc_lr_schedule, decay_rate)},
    {"staircase", 'b', offsetof(rc_lr_schedule, staircase)},
    {"alpha", 'f', offsetof(rc_lr_schedule, alpha)},
    {"warmup_steps", 'i', offsetof(rc_lr_schedule, warmup_steps)},
    {"warmup_target", 'f', offsetof(rc_lr_schedule, warmup_target)},
};

/* Set the fields of obj listed in the table; keys in `skip` (NULL-ended)
 * are the caller's. */
static rc_status set_fields(json_t *obj, const field *fs, size_t nf, void *base, const char *const *skip,
                            const char *where, rc_error *err) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool skipped = false;
        for (int j = 0; skip[j] && !skipped; j++) skipped = strcmp(key, skip[j]) == 0;
        if (skipped) continue;
        size_t k = 0;
        while (k < nf && strcmp(fs[k].name, key) != 0) k++;
        if (k == nf) return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: unknown field \"%s\"", where, key);
        char *at = (char *)base + fs[k].off;
        if (fs[k].type == 'f' && json_is_number(v)) *(double *)at = json_number_value(v);
        else if (fs[k].type == 'b' && json_is_boolean(v)) *(bool *)at = json_is_true(v);
        else if (fs[k].type == 'i' && json_is_integer(v)) *(int64_t *)at = json_integer_value(v);
        else
            return rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: field \"%s\" must be %s", where, key,
                        fs[k].type == 'f' ? "a number" : fs[k].type == 'b' ? "true or false" : "an integer");
    }
    return RC_OK;
}

static rc_status optim_from_json(const char *json, rc_optim_config *out, rc_error *err) {
    if (!json || !out) return rc_error_set(err, RC_ERR_ARG, NULL, "optimizer JSON: NULL argument");
    json_error_t je;
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    rc_status st = RC_OK;
    rc_optim_kind kind;
    if (!o || !json_is_object(o)) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "optimizer JSON: not a JSON object%s%s", o ? "" : ": ", o ? "" : je.text);
        goto out;
    }
    const char *ks = json_string_value(json_object_get(o, "kind"));
    if (!ks || !rc_optim_from_name(ks, &kind)) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "optimizer JSON: \"kind\" must be one of sgd, adam, rmsprop, adagrad");
        goto out;
    }
    rc_optim_config c = rc_optim_defaults(kind);
    static const char *const own[] = {"kind", "learning_rate", "epsilon_style", NULL};
    if ((st = set_fields(o, optim_fields, sizeof optim_fields / sizeof optim_fields[0], &c, own, "optimizer JSON", err)) != RC_OK)
        goto out;
    json_t *es = json_object_get(o, "epsilon_style");
    if (es) {
        const char *e = json_string_value(es);
        if (!e || (strcmp(e, "keras") && strcmp(e, "torch"))) {
            st = rc_error_set(err, RC_ERR_FORMAT, NULL, "optimizer JSON: \"epsilon_style\" must be \"keras\" or \"torch\"");
            goto out;
        }
        c.eps_style = strcmp(e, "torch") == 0 ? RC_EPS_TORCH : RC_EPS_KERAS;
    }
    json_t *lr = json_object_get(o, "learning_rate");
    if (json_is_number(lr)) {
        c.lr = (rc_lr_schedule){.kind = RC_LR_CONSTANT, .initial = json_number_value(lr)};
    } else if (lr) {
        const char *lk = json_string_value(json_object_get(lr, "kind"));
        int k = 0;
        while (lk && k < 3 && strcmp(lr_kinds[k], lk) != 0) k++;
        if (!json_is_object(lr) || !lk || k == 3) {
            st = rc_error_set(err, RC_ERR_FORMAT, NULL, "optimizer JSON: \"learning_rate\" must be a number or an object "
                      "with \"kind\" constant, exponential or cosine");
            goto out;
        }
        c.lr.kind = (rc_lr_kind)k;
        static const char *const lr_own[] = {"kind", NULL};
        if ((st = set_fields(lr, lr_fields, sizeof lr_fields / sizeof lr_fields[0], &c.lr, lr_own, "learning_rate", err)) != RC_OK)
            goto out;
    }
    if (rc_optim_validate(&c, err) != RC_OK) {
        st = RC_ERR_ARG;
        goto out;
    }
    *out = c;
out:
    json_decref(o);
    return st;
}

/* Dropout mask nodes of the graph keep their generator state in attr.i[8..11]
 * (ops/dropout.c); a checkpoint carries them so a resumed run draws the
 * same masks. */
static bool is_dropout(const rc_node *n) {
    uint64_t w[4];
    return rc_node_rng_state(n, w);
}

static void hex_words(const uint64_t *w, int n, char *out) {
    for (int i = 0; i < n; i++) snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)w[i]);
}

static bool parse_hex_words(const char *s, uint64_t *w, int n) {
    if (!s || strlen(s) != (size_t)16 * (size_t)n) return false;
    for (int i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 16; k++) {
            char c = s[16 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return false;
            v = v << 4 | (uint64_t)d;
        }
        w[i] = v;
    }
    return true;
}

/* Leaves a checkpoint holds, in file order: params, slots, counter, state. */
static int ckpt_leaves(const rc_trainer *t, rc_node **out) { return rc_trainer_leaves(t, out, rc_trainer_leaves(t, NULL, 0)); }

static rc_status trainer_save(const rc_trainer *t, const char *path, const char *model_config, const rc_rng *rng,
                          rc_error *err) {
    if (!t || !path) return rc_error_set(err, RC_ERR_ARG, NULL, "NULL trainer or path");
    int n = rc_trainer_leaves(t, NULL, 0), ndrop = 0;
    for (int i = 0; i < rc_graph_node_count(rc_trainer_graph(t)); i++) ndrop += is_dropout(rc_graph_node(rc_trainer_graph(t), i));
    rc_node **leaves = rc_calloc((size_t)n, sizeof *leaves);
    rc_st_tensor *ts = rc_calloc((size_t)n, sizeof *ts);
    char (*names)[512] = rc_calloc((size_t)n, sizeof *names);
    char *drop = rc_malloc((size_t)ndrop * 64 + 1), *opt = rc_optim_to_json(rc_trainer_config(t));
    rc_status st;
    if (!leaves || !ts || !names || !drop || !opt) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    ckpt_leaves(t, leaves);
    leaf_tensors(leaves, n, ts, names);
    drop[0] = 0;
    for (int i = 0, k = 0; i < rc_graph_node_count(rc_trainer_graph(t)); i++) {
        rc_node *d = rc_graph_node(rc_trainer_graph(t), i);
        if (!is_dropout(d)) continue;
        uint64_t w[4];
        rc_node_rng_state(d, w);
        hex_words(w, 4, drop + 64 * k++);
    }
    char iters[32], rnghex[65], ndropstr[16];
    snprintf(iters, sizeof iters, "%lld", (long long)rc_trainer_iterations(t));
    snprintf(ndropstr, sizeof ndropstr, "%d", ndrop);
    const char *meta[16] = {"format", CKPT_FORMAT, "format_version", CKPT_VERSION, "optimizer", opt,
                            "iterations", iters, "dropout_count", ndropstr, "dropout_states", drop};
    int nmeta = 6;
    if (rng) {
        hex_words(rng->s, 4, rnghex);
        meta[2 * nmeta] = "rng";
        meta[2 * nmeta++ + 1] = rnghex;
    }
    if (model_config) {
        meta[2 * nmeta] = "config";
        meta[2 * nmeta++ + 1] = model_config;
    }
    st = rc_safetensors_write(path, ts, n, meta, nmeta, err);
out:
    rc_free(leaves);
    rc_free(ts);
    rc_free(names);
    rc_free(drop);
    rc_free(opt);
    return st;
}

static rc_status trainer_load(rc_trainer *t, const char *path, char **model_config, rc_rng *rng, rc_error *err) {
    if (model_config) *model_config = NULL;
    if (!t || !path) return rc_error_set(err, RC_ERR_ARG, NULL, "NULL trainer or path");
    rc_safetensors *s;
    rc_status st = rc_safetensors_read(path, &s, err);
    if (st != RC_OK) return st;
    int n = rc_trainer_leaves(t, NULL, 0), ndrop = 0;
    for (int i = 0; i < rc_graph_node_count(rc_trainer_graph(t)); i++) ndrop += is_dropout(rc_graph_node(rc_trainer_graph(t), i));
    rc_node **leaves = rc_calloc((size_t)n, sizeof *leaves);
    const rc_st_tensor **src = rc_calloc((size_t)n, sizeof *src);
    uint64_t *dw = rc_calloc((size_t)ndrop * 4 + 1, sizeof *dw);
    uint64_t rw[4];
    char *cfgcopy = NULL;
    if (!leaves || !src || !dw) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    /* Validate everything before changing anything. */
    if ((st = check_finite(s, path, err)) != RC_OK) goto out;
    const char *fmt = rc_safetensors_meta(s, "format"), *ver = rc_safetensors_meta(s, "format_version");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0 || !ver || strcmp(ver, CKPT_VERSION) != 0) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: not a recur checkpoint (metadata format '%s' version '%s', want '%s' "
                  "version '%s')", path, fmt ? fmt : "(none)", ver ? ver : "(none)", CKPT_FORMAT, CKPT_VERSION);
        goto out;
    }
    const char *opt = rc_safetensors_meta(s, "optimizer");
    json_t *oj = opt ? json_loads(opt, 0, NULL) : NULL;
    const char *kind = oj ? json_string_value(json_object_get(oj, "kind")) : NULL;
    rc_optim_kind k;
    bool kind_ok = kind && rc_optim_from_name(kind, &k) && k == rc_trainer_config(t)->kind;
    char kindbuf[32];
    snprintf(kindbuf, sizeof kindbuf, "%s", kind ? kind : "(unreadable)");
    json_decref(oj);
    if (!kind_ok) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: saved with optimizer %s, the trainer uses %s", path, kindbuf,
                  rc_optim_name(rc_trainer_config(t)->kind));
        goto out;
    }
    ckpt_leaves(t, leaves);
    for (int i = 0; i < n; i++) {
        char name[512];
        if ((st = match(path, s, rc_node_path(leaves[i], name, sizeof name), leaves[i], &src[i], err)) != RC_OK)
            goto out;
    }
    if (rc_safetensors_count(s) != n) {
        /* Name the first tensor the trainer does not know. */
        for (int j = 0; j < rc_safetensors_count(s); j++) {
            bool known = false;
            for (int i = 0; i < n && !known; i++) known = src[i] == rc_safetensors_tensor(s, j);
            if (!known) {
                st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: tensor '%s' is not part of this model or optimizer", path,
                          rc_safetensors_tensor(s, j)->name);
                goto out;
            }
        }
    }
    int icount = 0;
    while (icount < n && leaves[icount] != rc_trainer_counter(t)) icount++;
    if (icount == n || *(const int32_t *)src[icount]->data < 0) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: optimizer/iterations is negative", path);
        goto out;
    }
    const char *dc = rc_safetensors_meta(s, "dropout_count");
    if (!dc || atoi(dc) != ndrop || !parse_hex_words(rc_safetensors_meta(s, "dropout_states"), dw, 4 * ndrop)) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: dropout generator states are missing or for %s dropout layers (the "
                  "graph has %d)", path, dc ? dc : "an unknown number of", ndrop);
        goto out;
    }
    if (rng && !parse_hex_words(rc_safetensors_meta(s, "rng"), rw, 4)) {
        st = rc_error_set(err, RC_ERR_FORMAT, NULL, "%s: metadata 'rng' is missing or not 64 hex digits", path);
        goto out;
    }
    const char *cfg = rc_safetensors_meta(s, "config");
    if (model_config && cfg && !(cfgcopy = rc_strdup(cfg))) {
        st = rc_error_set(err, RC_ERR_NOMEM, NULL, "%s: out of memory", path);
        goto out;
    }
    /* Commit. */
    for (int i = 0; i < n; i++) memcpy(rc_node_data(leaves[i]), src[i]->data, rc_tensor_bytes(rc_node_value(leaves[i])));
    for (int i = 0, j = 0; i < rc_graph_node_count(rc_trainer_graph(t)); i++) {
        rc_node *d = rc_graph_node(rc_trainer_graph(t), i);
        if (is_dropout(d)) rc_node_set_rng_state(d, dw + 4 * j++);
    }
    if (rng) memcpy(rng->s, rw, sizeof rw);
    if (model_config) *model_config = cfgcopy;
    cfgcopy = NULL;
out:
    rc_free(cfgcopy);
    rc_free(leaves);
    rc_free(src);
    rc_free(dw);
    rc_safetensors_free(s);
    return st;
}

/* --- the public entry points: the bodies above fill the message, these name
 * the function the caller called as err->where (recur/base.h). */

rc_status rc_safetensors_write(const char *path, const rc_st_tensor *tensors, int n, const char *const *meta,
                               int nmeta, rc_error *err) {
    return io_set_where(err, safetensors_write(path, tensors, n, meta, nmeta, err), "rc_safetensors_write");
}

rc_status rc_safetensors_read(const char *path, rc_safetensors **out, rc_error *err) {
    return io_set_where(err, safetensors_read(path, out, err), "rc_safetensors_read");
}

rc_status rc_safetensors_check_finite(const rc_safetensors *st, const char *path, rc_error *err) {
    return io_set_where(err, check_finite(st, path, err), "rc_safetensors_check_finite");
}

rc_status rc_save_params(const char *path, rc_node *const *params, int n, const char *const *meta, int nmeta,
                         rc_error *err) {
    return io_set_where(err, save_params(path, params, n, meta, nmeta, err), "rc_save_params");
}

rc_status rc_load_params(const char *path, rc_node *const *params, int n, rc_error *err) {
    return io_set_where(err, load_params(path, params, n, err), "rc_load_params");
}

rc_status rc_optim_from_json(const char *json, rc_optim_config *out, rc_error *err) {
    return io_set_where(err, optim_from_json(json, out, err), "rc_optim_from_json");
}

rc_status rc_trainer_save(const rc_trainer *t, const char *path, const char *model_config, const rc_rng *rng,
                          rc_error *err) {
    return io_set_where(err, trainer_save(t, path, model_config, rng, err), "rc_trainer_save");
}

rc_status rc_trainer_load(rc_trainer *t, const char *path, char **model_config, rc_rng *rng, rc_error *err) {
    return io_set_where(err, trainer_load(t, path, model_config, rng, err), "rc_trainer_load");
}
