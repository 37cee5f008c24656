/* recur CLI: loading imported models and reading/writing JSON tensors,
 * shared by predict, summary, gradcheck and dot. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <recur.h>
#include <recur/model_io.h>

#include "cli.h"

int cli_load_model(const char *cmd, const char *path, rc_io_model **out) {
    rc_error err;
    return rc_io_load(path, out, &err) != RC_OK ? cli_error(cmd, &err) : 0;
}

/* {"shape": [...], "values": [...], ["dtype"]} into a new tensor of dtype. */
static rc_tensor *parse_tensor(json_t *j, rc_dtype dtype, const char *file, int idx, char *err, size_t len) {
    json_t *shape = json_object_get(j, "shape"), *vals = json_object_get(j, "values");
    if (!json_is_array(shape) || !json_is_array(vals) || json_array_size(shape) > RC_MAX_DIMS) {
        snprintf(err, len, "%s: tensor %d: needs \"shape\" (at most %d dimensions) and \"values\" lists", file, idx,
                 RC_MAX_DIMS);
        return NULL;
    }
    rc_shape s = {.ndim = (int)json_array_size(shape)};
    int64_t numel = 1;
    for (int d = 0; d < s.ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > RC_MAX_ELEMS ||
            numel > RC_MAX_ELEMS / json_integer_value(v)) {
            snprintf(err, len, "%s: tensor %d: shape dimension %d is not a positive whole number within 2^40 elements",
                     file, idx, d);
            return NULL;
        }
        s.dim[d] = json_integer_value(v);
        numel *= s.dim[d];
    }
    if ((size_t)numel != json_array_size(vals)) {
        snprintf(err, len, "%s: tensor %d: shape has %lld elements but there are %zu values", file, idx,
                 (long long)numel, json_array_size(vals));
        return NULL;
    }
    rc_tensor *t = rc_tensor_new(dtype, s);
    if (!t) {
        snprintf(err, len, "%s: tensor %d: out of memory", file, idx);
        return NULL;
    }
    for (int64_t i = 0; i < numel; i++) {
        json_t *v = json_array_get(vals, (size_t)i);
        if (!json_is_number(v)) {
            snprintf(err, len, "%s: tensor %d: value %lld is not a number", file, idx, (long long)i);
            rc_tensor_free(t);
            return NULL;
        }
        double x = json_number_value(v);
        if (dtype == RC_I32) {
            if (x != floor(x) || x < INT32_MIN || x > INT32_MAX) {
                snprintf(err, len, "%s: tensor %d: value %lld (%g) is not an int32 token id", file, idx,
                         (long long)i, x);
                rc_tensor_free(t);
                return NULL;
            }
            rc_tensor_i32(t)[i] = (int32_t)x;
        } else rc_tensor_f32(t)[i] = (float)x;
    }
    return t;
}

int cli_read_inputs(const char *cmd, const char *file, const rc_io_model *m, rc_tensor **out) {
    json_error_t je;
    char err[512];
    int n = rc_io_ninputs(m);
    /* Opened here, not by json_load_file: it reads a directory as an empty
     * file and reports a file it cannot open as at "line -1". */
    FILE *f = fopen(file, "rb");
    struct stat sb;
    if (!f) {
        fprintf(stderr, "recur %s: cannot open %s: %s\n", cmd, file, strerror(errno));
        return 1;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        fprintf(stderr, "recur %s: cannot read %s: %s (not an input file)\n", cmd, file, strerror(EISDIR));
        return 1;
    }
    json_t *root = json_loadf(f, 0, &je);
    fclose(f);
    if (!root) {
        if (je.line < 0) fprintf(stderr, "recur %s: cannot read %s: %s\n", cmd, file, je.text);
        else fprintf(stderr, "recur %s: %s: malformed JSON at line %d, column %d: %s\n", cmd, file, je.line, je.column,
                     je.text);
        return 1;
    }
    bool list = json_is_array(root);
    if ((list ? (int)json_array_size(root) : 1) != n) {
        fprintf(stderr, "recur %s: %s: the model has %d input%s, the file gives %d\n", cmd, file, n, n == 1 ? "" : "s",
                list ? (int)json_array_size(root) : 1);
        json_decref(root);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        out[i] = parse_tensor(list ? json_array_get(root, (size_t)i) : root, rc_io_input_dtype(m, i), file, i, err,
                              sizeof err);
        if (!out[i]) {
            fprintf(stderr, "recur %s: %s\n", cmd, err);
            for (int k = 0; k < i; k++) rc_tensor_free(out[k]);
            json_decref(root);
            return 1;
        }
    }
    json_decref(root);
    return 0;
}

int cli_write_outputs(const char *cmd, const char *file, rc_node *const *outs, const float *const *vals, int n) {
    FILE *f = file ? fopen(file, "w") : stdout;
    if (!f) {
        fprintf(stderr, "recur %s: cannot write '%s'\n", cmd, file);
        return 1;
    }
    if (n > 1) fprintf(f, "[");
    for (int i = 0; i < n; i++) {
        rc_shape s = rc_node_shape(outs[i]);
        fprintf(f, "%s{\"dtype\":\"float32\",\"shape\":[", i ? ",\n " : "");
        for (int d = 0; d < s.ndim; d++) fprintf(f, "%s%lld", d ? "," : "", (long long)s.dim[d]);
        fprintf(f, "],\"values\":[");
        int64_t numel = rc_shape_numel(s);
        for (int64_t k = 0; k < numel; k++) {
            float v = vals[i][k];
            if (isfinite(v)) fprintf(f, "%s%.9g", k ? "," : "", (double)v);
            else fprintf(f, "%snull", k ? "," : ""); /* JSON has no NaN/inf */
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s\n", n > 1 ? "]" : "");
    if (file && fclose(f) != 0) {
        fprintf(stderr, "recur %s: error writing '%s'\n", cmd, file);
        return 1;
    }
    return 0;
}
