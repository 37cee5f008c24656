/* Keras / TF.js model descriptions: the Keras 2 (TF.js) and Keras 3 config
 * schemas parsed into one description, which is then built into rc layers
 * on a graph. The file readers are import_tfjs.c and import_keras.c; the
 * writer is export_tfjs.c.
 *
 * Option policy: every key of a layer's config is either used, known not to
 * affect the computation (initializers: the weights are given; names of
 * implementation strategies: unroll, implementation), or rejected with a
 * message naming the layer and the key. A known option with a value recur
 * cannot honour (a regularizer, time_major, a float16 dtype) is an error. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../io.h"
#include "model_io_impl.h"
#include "recur/ops.h"

rc_status io_fail(rc_io_model *m, rc_status st, const char *fmt, ...) {
    if (m->err && m->err_len && !m->err[0]) {
        int k = snprintf(m->err, m->err_len, "%s: ", m->file ? m->file : "(model)");
        va_list ap;
        va_start(ap, fmt);
        if (k >= 0 && (size_t)k < m->err_len) vsnprintf(m->err + k, m->err_len - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return st;
}

void io_snake_case(const char *cls, char *out, size_t len) {
    /* Keras: re.sub("(.)([A-Z][a-z]+)", r"\1_\2"), then
     * re.sub("([a-z])([A-Z])", r"\1_\2"), lower-cased. */
    char tmp[128];
    size_t k = 0, n = strlen(cls);
    for (size_t i = 0; i < n && k + 2 < sizeof tmp; i++) {
        if (i > 0 && isupper((unsigned char)cls[i]) && i + 1 < n && islower((unsigned char)cls[i + 1]) &&
            tmp[k - 1] != '_')
            tmp[k++] = '_';
        tmp[k++] = cls[i];
    }
    tmp[k] = 0;
    size_t o = 0;
    for (size_t i = 0; tmp[i] && o + 2 < len; i++) {
        if (i > 0 && isupper((unsigned char)tmp[i]) && islower((unsigned char)tmp[i - 1])) out[o++] = '_';
        out[o++] = (char)tolower((unsigned char)tmp[i]);
    }
    out[o] = 0;
}

/* --- option readers ------------------------------------------------------------ */

typedef struct ctx {
    rc_io_model *m;
    const char *layer, *cls;
} ctx;

static rc_status opt_fail(ctx *c, const char *key, const char *problem) {
    return io_fail(c->m, RC_ERR_FORMAT, "layer '%s' (%s): option '%s' %s", c->layer, c->cls, key, problem);
}

static bool present(json_t *cfg, const char *key) {
    json_t *v = json_object_get(cfg, key);
    return v && !json_is_null(v);
}

static rc_status get_bool(ctx *c, json_t *cfg, const char *key, bool dflt, bool *out) {
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) *out = dflt;
    else if (json_is_boolean(v)) *out = json_is_true(v);
    else return opt_fail(c, key, "must be true or false");
    return RC_OK;
}

static rc_status get_count(ctx *c, json_t *cfg, const char *key, int64_t *out) {
    json_t *v = json_object_get(cfg, key);
    double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1;
    if (!v || json_is_null(v)) return opt_fail(c, key, "is missing");
    if (!(d >= 1 && d <= (double)RC_MAX_ELEMS) || d != (double)(int64_t)d)
        return opt_fail(c, key, "must be a whole number between 1 and 2^40");
    *out = (int64_t)d;
    return RC_OK;
}

static rc_status get_real(ctx *c, json_t *cfg, const char *key, double dflt, double *out) {
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) *out = dflt;
    else if (json_is_number(v)) *out = json_number_value(v);
    else return opt_fail(c, key, "must be a number");
    return RC_OK;
}

/* Activation by the file format's spelling (recur/activation.h's table:
 * "hard_sigmoid" is a different row in a Keras 3 file than in a TF.js /
 * Keras 2 one). A missing or null key is dflt. */
static rc_status get_act(ctx *c, json_t *cfg, const char *key, rc_activation dflt, rc_activation *out) {
    json_t *v = json_object_get(cfg, key);
    *out = dflt;
    if (!v || json_is_null(v)) return RC_OK;
    const char *s = json_string_value(v);
    if (!s) return opt_fail(c, key, "must be an activation name");
    rc_act_format f = c->m->keras3 ? RC_ACT_KERAS3 : RC_ACT_KERAS2;
    if ((*out = rc_activation_from_keras(f, s))) return RC_OK;
    /* the message lists what this format can name, from the table */
    char msg[512];
    size_t n = (size_t)snprintf(msg, sizeof msg, "'%s' is not supported (", s);
    for (int i = 0, first = 1; i < rc_activation_count() && n < sizeof msg; i++) {
        const char *name = rc_activation_keras_name(rc_activation_at(i), f);
        if (!name) continue;
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s", first ? "" : ", ", name);
        first = 0;
    }
    if (n < sizeof msg) snprintf(msg + n, sizeof msg - n, ")");
    return opt_fail(c, key, msg);
}

/* float32 only: a string or a DTypePolicy object. */
static rc_status check_dtype(ctx *c, json_t *cfg) {
    json_t *v = json_object_get(cfg, "dtype");
    if (!v || json_is_null(v)) return RC_OK;
    const char *s = json_string_value(v);
    if (!s && json_is_object(v)) s = json_string_value(json_object_get(json_object_get(v, "config"), "name"));
    if (!s) return opt_fail(c, "dtype", "is not a dtype name or DTypePolicy");
    if (strcmp(s, "float32")) {
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' is not supported (float32 only)", s);
        return opt_fail(c, "dtype", msg);
    }
    return RC_OK;
}

/* Keys every layer may have, and keys that do not change the function. */
static const char *const base_keys[] = {"name", "trainable", "dtype", "batch_input_shape", "batch_shape",
                                        "batch_size", "input_dtype", "autocast", NULL};
static const char *const must_be_null[] = {
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
    "embeddings_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
    "embeddings_constraint", "quantization_config", "noise_shape", "lora_rank", "weights", NULL};
static const char *const ignored[] = {"kernel_initializer", "recurrent_initializer", "bias_initializer",
                                      "embeddings_initializer", "seed", "implementation", "unroll",
                                      "input_length", "lora_alpha", NULL};

static bool in_list(const char *const *l, const char *k) {
    for (; *l; l++)
        if (!strcmp(*l, k)) return true;
    return false;
}

/* Every key of cfg must be in `used`, base_keys or ignored; must_be_null
 * keys must be null (or 0 for lora_rank). */
static rc_status check_keys(ctx *c, json_t *cfg, const char *const *used) {
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v) {
        if (in_list(must_be_null, key)) {
            if (!json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0) &&
                !(json_is_array(v) && json_array_size(v) == 0))
                return opt_fail(c, key, "is not supported (only null)");
            continue;
        }
        if (in_list(base_keys, key) || in_list(ignored, key) || in_list(used, key)) continue;
        return opt_fail(c, key, "is not supported");
    }
    bool trainable;
    rc_status st = get_bool(c, cfg, "trainable", true, &trainable);
    if (st) return st;
    if (!trainable) return opt_fail(c, "trainable", "false is not supported (every weight is trainable)");
    return check_dtype(c, cfg);
}

/* A shape list with null for None: [null, 10, 3]. */
static rc_status get_shape(ctx *c, json_t *v, const char *key, int *ndim, int64_t *dims) {
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > RC_MAX_DIMS)
        return opt_fail(c, key, "must be a list of 1 to 4 dimensions");
    *ndim = (int)json_array_size(v);
    for (int k = 0; k < *ndim; k++) {
        json_t *d = json_array_get(v, (size_t)k);
        if (json_is_null(d)) dims[k] = -1;
        else if (json_is_integer(d) && json_integer_value(d) >= 1 && json_integer_value(d) <= RC_MAX_ELEMS)
            dims[k] = json_integer_value(d);
        else return opt_fail(c, key, "has a dimension that is not null or a whole number in 1..2^40");
    }
    return RC_OK;
}

/* --- layers ------------------------------------------------------------------------ */

static const char *const rnn_keys[] = {"return_sequences", "return_state", "go_backwards", "stateful",
                                       "time_major", "zero_output_for_mask", "num_constants", "cell",
                                       "cells" /* TF.js repeats the stacked cells here; "cell" is read */, NULL};
static const char *const cell_keys[] = {"units", "activation", "recurrent_activation", "use_bias",
                                        "unit_forget_bias", "dropout", "recurrent_dropout", "reset_after", NULL};

/* Cell options (a SimpleRNN/LSTM/GRU layer's or a cell's config). */
static rc_status parse_cell(ctx *c, json_t *cfg, io_cell_type type, rc_cell_config *cc, double *dropout,
                            double *rdropout) {
    rc_status st;
    *cc = rc_cell_defaults(1);
    if ((st = get_count(c, cfg, "units", &cc->units))) return st;
    if ((st = get_act(c, cfg, "activation", RC_ACT_TANH, &cc->activation))) return st;
    if (type != IO_SIMPLE) {
        /* TF.js's default recurrent activation is hard_sigmoid; Keras' sigmoid */
        rc_activation dflt = c->m->keras3 ? RC_ACT_SIGMOID : RC_ACT_HARD_SIGMOID_K2;
        if ((st = get_act(c, cfg, "recurrent_activation", dflt, &cc->recurrent_activation))) return st;
    } else if (present(cfg, "recurrent_activation"))
        return opt_fail(c, "recurrent_activation", "does not apply to SimpleRNN");
    if ((st = get_bool(c, cfg, "use_bias", true, &cc->use_bias))) return st;
    if ((st = get_bool(c, cfg, "unit_forget_bias", true, &cc->unit_forget_bias))) return st;
    /* Keras 3 and tf.keras 2 default to reset_after=true; TF.js only has false */
    if ((st = get_bool(c, cfg, "reset_after", c->m->keras3, &cc->reset_after))) return st;
    if (type != IO_GRU) cc->reset_after = false;
    if ((st = get_real(c, cfg, "dropout", 0, dropout))) return st;
    if ((st = get_real(c, cfg, "recurrent_dropout", 0, rdropout))) return st;
    if (!(*dropout >= 0 && *dropout < 1)) return opt_fail(c, "dropout", "must be in [0, 1)");
    if (!(*rdropout >= 0 && *rdropout < 1)) return opt_fail(c, "recurrent_dropout", "must be in [0, 1)");
    return RC_OK;
}

static bool cell_type(const char *cls, io_cell_type *t) {
    if (!strcmp(cls, "SimpleRNNCell") || !strcmp(cls, "SimpleRNN")) *t = IO_SIMPLE;
    else if (!strcmp(cls, "LSTMCell") || !strcmp(cls, "LSTM")) *t = IO_LSTM;
    else if (!strcmp(cls, "GRUCell") || !strcmp(cls, "GRU")) *t = IO_GRU;
    else return false;
    return true;
}

/* A serialized object's class and config. */
static bool object_parts(json_t *o, const char **cls, json_t **cfg) {
    *cls = json_string_value(json_object_get(o, "class_name"));
    *cfg = json_object_get(o, "config");
    return *cls && json_is_object(*cfg);
}

/* SimpleRNN / LSTM / GRU / RNN layer config into r. */
static rc_status parse_rnn(rc_io_model *m, const char *cls, json_t *cfg, io_rnn *r, const char *name) {
    ctx c = {m, name, cls};
    rc_status st;
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->cls, sizeof r->cls, "%s", cls);
    bool is_rnn = !strcmp(cls, "RNN");
    static const char *const layer_keys[] = {
        "return_sequences", "return_state", "go_backwards", "stateful", "time_major", "zero_output_for_mask",
        "num_constants", "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "dropout",
        "recurrent_dropout", "reset_after", NULL};
    if ((st = check_keys(&c, cfg, is_rnn ? rnn_keys : layer_keys))) return st;
    bool time_major;
    if ((st = get_bool(&c, cfg, "return_sequences", false, &r->cfg.return_sequences)) ||
        (st = get_bool(&c, cfg, "return_state", false, &r->cfg.return_state)) ||
        (st = get_bool(&c, cfg, "go_backwards", false, &r->cfg.go_backwards)) ||
        (st = get_bool(&c, cfg, "stateful", false, &r->cfg.stateful)) ||
        (st = get_bool(&c, cfg, "zero_output_for_mask", false, &r->cfg.zero_output_for_mask)) ||
        (st = get_bool(&c, cfg, "time_major", false, &time_major)))
        return st;
    if (time_major) return opt_fail(&c, "time_major", "true is not supported");
    json_t *nc = json_object_get(cfg, "num_constants");
    if (nc && !json_is_null(nc) && !(json_is_integer(nc) && json_integer_value(nc) == 0))
        return opt_fail(&c, "num_constants", "is not supported (constants)");
    double dropout = 0, rdropout = 0;
    if (!is_rnn) {
        r->ncells = 1;
        cell_type(cls, &r->type[0]);
        if ((st = parse_cell(&c, cfg, r->type[0], &r->cell[0], &dropout, &rdropout))) return st;
    } else {
        json_t *cell = json_object_get(cfg, "cell"), *cells = NULL, *ccfg;
        const char *ccls;
        if (json_is_array(cell)) cells = cell;
        else if (!object_parts(cell, &ccls, &ccfg)) return opt_fail(&c, "cell", "must be a serialized cell");
        else if (!strcmp(ccls, "StackedRNNCells")) {
            r->stacked = true;
            cells = json_object_get(ccfg, "cells");
            if (!json_is_array(cells) || json_array_size(cells) == 0)
                return opt_fail(&c, "cell", "StackedRNNCells needs a non-empty 'cells' list");
        }
        size_t n = cells ? json_array_size(cells) : 1;
        if (n > IO_MAX_CELLS) return opt_fail(&c, "cell", "has more than 8 stacked cells");
        if (cells && n > 1) r->stacked = true;
        r->ncells = (int)n;
        for (size_t i = 0; i < n; i++) {
            json_t *co = cells ? json_array_get(cells, i) : cell;
            if (!object_parts(co, &ccls, &ccfg)) return opt_fail(&c, "cell", "holds a malformed cell");
            if (!cell_type(ccls, &r->type[i]) || !strstr(ccls, "Cell")) {
                char msg[128];
                snprintf(msg, sizeof msg, "class '%s' is not supported (SimpleRNNCell, LSTMCell, GRUCell)", ccls);
                return opt_fail(&c, "cell", msg);
            }
            const char *cname = json_string_value(json_object_get(ccfg, "name"));
            ctx cc = {m, cname ? cname : name, ccls};
            {
                const char *key;
                json_t *v;
                json_object_foreach(ccfg, key, v) {
                    if (in_list(must_be_null, key)) {
                        if (!json_is_null(v)) return opt_fail(&cc, key, "is not supported (only null)");
                        continue;
                    }
                    if (in_list(base_keys, key) || in_list(ignored, key) || in_list(cell_keys, key)) continue;
                    return opt_fail(&cc, key, "is not supported");
                }
                if ((st = check_dtype(&cc, ccfg))) return st;
            }
            double d, rd;
            if ((st = parse_cell(&cc, ccfg, r->type[i], &r->cell[i], &d, &rd))) return st;
            if (i == 0) dropout = d, rdropout = rd;
            else if (d > 0 || rd > 0)
                return opt_fail(&cc, d > 0 ? "dropout" : "recurrent_dropout",
                                "is only supported on the first of stacked cells");
        }
    }
    r->cfg.dropout = (float)dropout;
    r->cfg.recurrent_dropout = (float)rdropout;
    return RC_OK;
}

static const char *strip_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && s[n] ? s + n : s;
}

/* --- config readers: one per row of the table --------------------------------------- */

static rc_status read_input(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"sparse", "ragged", "optional", NULL};
    json_t *sh = json_object_get(cfg, "batch_input_shape");
    if (!sh) sh = json_object_get(cfg, "batch_shape");
    const char *dt = json_string_value(json_object_get(cfg, "dtype"));
    bool sparse, ragged;
    if ((st = get_shape(&c, sh, "batch_shape", &L->in_ndim, L->in_dims))) return st;
    if ((st = get_bool(&c, cfg, "sparse", false, &sparse)) || (st = get_bool(&c, cfg, "ragged", false, &ragged)))
        return st;
    if (sparse || ragged) return opt_fail(&c, sparse ? "sparse" : "ragged", "true is not supported");
    if (dt && strcmp(dt, "float32") && strcmp(dt, "int32") && strcmp(dt, "int64"))
        return opt_fail(&c, "dtype", "must be float32, int32 or int64");
    L->in_dtype = dt && strcmp(dt, "float32") ? RC_I32 : RC_F32;
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v) if (!in_list(keys, key) && !in_list(base_keys, key)) return opt_fail(&c, key, "is not supported");
    return RC_OK;
}

static rc_status read_embedding(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"input_dim", "output_dim", "mask_zero", "sparse", NULL};
    bool sparse;
    if ((st = check_keys(&c, cfg, keys)) || (st = get_count(&c, cfg, "input_dim", &L->input_dim)) ||
        (st = get_count(&c, cfg, "output_dim", &L->output_dim)) ||
        (st = get_bool(&c, cfg, "mask_zero", false, &L->mask_zero)) ||
        (st = get_bool(&c, cfg, "sparse", false, &sparse)))
        return st;
    if (sparse) return opt_fail(&c, "sparse", "true is not supported");
    return RC_OK;
}

static rc_status read_masking(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"mask_value", NULL};
    if ((st = check_keys(&c, cfg, keys)) || (st = get_real(&c, cfg, "mask_value", 0, &L->value))) return st;
    return RC_OK;
}

static rc_status read_dropout(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"rate", NULL};
    if ((st = check_keys(&c, cfg, keys)) || (st = get_real(&c, cfg, "rate", -1, &L->value))) return st;
    if (!(L->value >= 0 && L->value < 1)) return opt_fail(&c, "rate", "must be a number in [0, 1)");
    return RC_OK;
}

static rc_status read_activation(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"activation", NULL};
    if ((st = check_keys(&c, cfg, keys))) return st;
    if (!present(cfg, "activation")) return opt_fail(&c, "activation", "is missing");
    return get_act(&c, cfg, "activation", RC_ACT_LINEAR, &L->act);
}

static rc_status read_dense(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"units", "activation", "use_bias", NULL};
    if ((st = check_keys(&c, cfg, keys)) || (st = get_count(&c, cfg, "units", &L->units)) ||
        (st = get_act(&c, cfg, "activation", RC_ACT_LINEAR, &L->act)) ||
        (st = get_bool(&c, cfg, "use_bias", true, &L->use_bias)))
        return st;
    return RC_OK;
}

static rc_status parse_layer(rc_io_model *m, json_t *lo, io_layer *L);

static rc_status read_timedist(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    const char *const keys[] = {"layer", NULL};
    if ((st = check_keys(&c, cfg, keys))) return st;
    json_t *inner = json_object_get(cfg, "layer"), *icfg;
    const char *icls;
    if (!object_parts(inner, &icls, &icfg)) return opt_fail(&c, "layer", "must be a serialized layer");
    if (strcmp(icls, "Dense")) {
        char msg[128];
        snprintf(msg, sizeof msg, "wraps a %s; only Dense is supported", icls);
        return opt_fail(&c, "layer", msg);
    }
    io_layer tmp = {0};
    if ((st = parse_layer(m, inner, &tmp))) return st;
    L->units = tmp.units, L->act = tmp.act, L->use_bias = tmp.use_bias;
    snprintf(L->inner_name, sizeof L->inner_name, "%s", tmp.name);
    return RC_OK;
}

static rc_status read_bidir(rc_io_model *m, json_t *cfg, io_layer *L) {
    ctx c = {m, L->name, L->cls};
    rc_status st;
    io_cell_type t;
    const char *const keys[] = {"merge_mode", "layer", "backward_layer", NULL};
    if ((st = check_keys(&c, cfg, keys))) return st;
    json_t *mm = json_object_get(cfg, "merge_mode");
    const char *ms = json_string_value(mm);
    if (mm && json_is_null(mm)) L->merge = RC_MERGE_NONE;
    else if (!mm || (ms && !strcmp(ms, "concat"))) L->merge = RC_MERGE_CONCAT;
    else if (ms && !strcmp(ms, "sum")) L->merge = RC_MERGE_SUM;
    else if (ms && !strcmp(ms, "mul")) L->merge = RC_MERGE_MUL;
    else if (ms && !strcmp(ms, "ave")) L->merge = RC_MERGE_AVE;
    else return opt_fail(&c, "merge_mode", "must be concat, sum, mul, ave or null");
    for (int half = 0; half < 2; half++) {
        const char *key = half ? "backward_layer" : "layer";
        json_t *inner = json_object_get(cfg, key), *icfg;
        const char *icls;
        if (half && (!inner || json_is_null(inner))) break;
        if (!object_parts(inner, &icls, &icfg)) return opt_fail(&c, key, "must be a serialized layer");
        if (!cell_type(icls, &t) && strcmp(icls, "RNN")) {
            char msg[128];
            snprintf(msg, sizeof msg, "wraps a %s; only SimpleRNN, LSTM, GRU and RNN are supported", icls);
            return opt_fail(&c, key, msg);
        }
        const char *iname = json_string_value(json_object_get(icfg, "name"));
        if (!iname || strchr(iname, '/')) return opt_fail(&c, key, "has no valid name");
        /* Keras 3 stores forward_<inner>; TF.js stores <inner> */
        char nm[64];
        snprintf(nm, sizeof nm, "%s%s", half ? "backward_" : "forward_",
                 strip_prefix(strip_prefix(iname, "forward_"), "backward_"));
        io_rnn *r = half ? &L->back : &L->rnn;
        if ((st = parse_rnn(m, icls, icfg, r, nm))) return st;
        if (half) L->has_back = true;
    }
    if (L->rnn.cfg.go_backwards) return opt_fail(&c, "layer", "with go_backwards=true is not supported");
    if (!L->has_back) {
        L->back = L->rnn;
        snprintf(L->back.name, sizeof L->back.name, "backward_%s", L->rnn.name + strlen("forward_"));
        L->back.cfg.go_backwards = true;
    } else if (!L->back.cfg.go_backwards || L->back.cfg.return_sequences != L->rnn.cfg.return_sequences ||
               L->back.cfg.return_state != L->rnn.cfg.return_state)
        return opt_fail(&c, "backward_layer", "must go backwards and return what the forward layer returns");
    return RC_OK;
}

static rc_status read_rnn(rc_io_model *m, json_t *cfg, io_layer *L) { return parse_rnn(m, L->cls, cfg, &L->rnn, L->name); }

/* One layer object into L (name, class, options): its row of the table
 * reads the config. */
static rc_status parse_layer(rc_io_model *m, json_t *lo, io_layer *L) {
    const char *cls;
    json_t *cfg;
    if (!object_parts(lo, &cls, &cfg)) return io_fail(m, RC_ERR_FORMAT, "a layer without class_name or config");
    const char *name = json_string_value(json_object_get(cfg, "name"));
    if (!name) name = json_string_value(json_object_get(lo, "name"));
    if (!name || !*name || strchr(name, '/') || strlen(name) >= sizeof L->name)
        return io_fail(m, RC_ERR_FORMAT, "a %s layer without a valid name", cls);
    snprintf(L->name, sizeof L->name, "%s", name);
    snprintf(L->cls, sizeof L->cls, "%s", cls);
    if (!(L->kind = io_class_find(cls))) {
        char list[400] = "";
        for (int i = 0; i < io_classes_len; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", io_classes[i].cls);
        return io_fail(m, RC_ERR_FORMAT, "layer '%s': class '%s' is not supported (%s)", L->name, cls, list);
    }
    return L->kind->read(m, cfg, L);
}

/* --- topology -------------------------------------------------------------------------- */

bool io_is_input(const io_layer *L) { return L->kind && (L->kind->flags & IO_F_INPUT); }

/* Its input carries int32 ids (Embedding). */
static bool takes_ids(const io_layer *L) {
    return L->kind && L->kind->layer && L->kind->layer->input_dtype == RC_I32;
}

/* The layer reached the model (which frees it). */
static bool in_model(const rc_model *md, const rc_layer *l) {
    for (int i = 0; i < rc_model_layer_count(md); i++)
        if (rc_model_layer(md, i) == l) return true;
    return false;
}

static int find_layer(rc_io_model *m, const char *name) {
    for (int i = 0; name && i < m->nlayers; i++)
        if (!strcmp(m->layers[i].name, name)) return i;
    return -1;
}

/* [name, node, tensor(, kwargs)] or a Keras 3 __keras_tensor__. */
static rc_status parse_ref(rc_io_model *m, json_t *v, const char *where, io_ref *r) {
    if (json_is_object(v)) v = json_object_get(json_object_get(v, "config"), "keras_history");
    const char *nm = json_string_value(json_array_get(v, 0));
    json_t *ni = json_array_get(v, 1), *ti = json_array_get(v, 2);
    if (!nm || !json_is_integer(ni) || !json_is_integer(ti))
        return io_fail(m, RC_ERR_FORMAT, "%s: malformed tensor reference", where);
    r->layer = find_layer(m, nm);
    if (r->layer < 0) return io_fail(m, RC_ERR_FORMAT, "%s: refers to unknown layer '%s'", where, nm);
    if (json_integer_value(ni) < 0 || json_integer_value(ni) >= IO_MAX_NODES || json_integer_value(ti) < 0 ||
        json_integer_value(ti) >= IO_MAX_OUT)
        return io_fail(m, RC_ERR_FORMAT, "%s: tensor index out of range in reference to '%s'", where, nm);
    r->node = (int)json_integer_value(ni);
    r->tensor = (int)json_integer_value(ti);
    return RC_OK;
}

static rc_status add_in(rc_io_model *m, io_node *n, json_t *v, const char *where) {
    if (n->nin >= IO_MAX_IN) return io_fail(m, RC_ERR_FORMAT, "%s: too many inputs to one call", where);
    return parse_ref(m, v, where, &n->in[n->nin++]);
}

static rc_status parse_inbound(rc_io_model *m, io_layer *L, json_t *nodes) {
    char where[128];
    snprintf(where, sizeof where, "layer '%s': inbound_nodes", L->name);
    if (!json_is_array(nodes)) return io_fail(m, RC_ERR_FORMAT, "%s: missing or not a list", where);
    if (json_array_size(nodes) > IO_MAX_NODES)
        return io_fail(m, RC_ERR_FORMAT, "%s: more than %d calls of one layer", where, IO_MAX_NODES);
    size_t i;
    json_t *nd;
    rc_status st;
    json_array_foreach(nodes, i, nd) {
        io_node *n = &L->node[L->nnodes++];
        if (json_is_array(nd)) { /* Keras 2: [[name, node, tensor, kwargs], ...] */
            size_t k;
            json_t *e;
            json_array_foreach(nd, k, e) if ((st = add_in(m, n, e, where))) return st;
        } else if (json_is_object(nd)) { /* Keras 3: {"args": [...], "kwargs": {...}} */
            json_t *args = json_object_get(nd, "args"), *kw = json_object_get(nd, "kwargs");
            json_t *a0 = json_array_get(args, 0);
            if (json_array_size(args) != 1) return io_fail(m, RC_ERR_FORMAT, "%s: expected one positional argument", where);
            if (json_is_array(a0) && json_is_object(json_array_get(a0, 0))) { /* [x, h0, c0] as a list */
                size_t k;
                json_t *e;
                json_array_foreach(a0, k, e) if ((st = add_in(m, n, e, where))) return st;
            } else if ((st = add_in(m, n, a0, where))) return st;
            const char *key;
            json_t *v;
            json_object_foreach(kw, key, v) {
                if (!strcmp(key, "training") || (!strcmp(key, "mask") && json_is_null(v))) continue;
                if (!strcmp(key, "initial_state") && !json_is_null(v)) {
                    size_t k;
                    json_t *e;
                    if (json_is_array(v)) {
                        json_array_foreach(v, k, e) if ((st = add_in(m, n, e, where))) return st;
                    } else if ((st = add_in(m, n, v, where))) return st;
                    continue;
                }
                if (!strcmp(key, "initial_state")) continue;
                return io_fail(m, RC_ERR_FORMAT, "layer '%s': call argument '%s' is not supported", L->name, key);
            }
        } else return io_fail(m, RC_ERR_FORMAT, "%s: malformed node", where);
        if (n->nin == 0) return io_fail(m, RC_ERR_FORMAT, "%s: a call without inputs", where);
        if (n->nin > 1 && !(L->kind->flags & IO_F_STATES))
            return io_fail(m, RC_ERR_FORMAT, "layer '%s' (%s): called on %d tensors; it takes one", L->name, L->cls,
                           n->nin);
    }
    return RC_OK;
}

/* input_layers / output_layers: one triple or a list of them. */
static rc_status parse_io_list(rc_io_model *m, json_t *v, const char *key, io_ref *refs, int *n, int max) {
    if (!json_is_array(v) || json_array_size(v) == 0) return io_fail(m, RC_ERR_FORMAT, "model '%s': %s missing", m->name, key);
    if (json_is_string(json_array_get(v, 0))) {
        *n = 1;
        return parse_ref(m, v, key, &refs[0]);
    }
    if (json_array_size(v) > (size_t)max) return io_fail(m, RC_ERR_FORMAT, "model '%s': too many %s", m->name, key);
    *n = 0;
    size_t i;
    json_t *e;
    rc_status st;
    json_array_foreach(v, i, e) if ((st = parse_ref(m, e, key, &refs[(*n)++]))) return st;
    return RC_OK;
}

static rc_status alloc_layers(rc_io_model *m, size_t n) {
    if (n == 0) return io_fail(m, RC_ERR_FORMAT, "model '%s' has no layers", m->name);
    if (n > 4096) return io_fail(m, RC_ERR_FORMAT, "model '%s' has more than 4096 layers", m->name);
    m->layers = rc_calloc(n + 1, sizeof *m->layers);
    return m->layers ? RC_OK : io_fail(m, RC_ERR_NOMEM, "out of memory");
}

rc_status io_parse_topology(rc_io_model *m, json_t *model) {
    const char *cls;
    json_t *cfg;
    rc_status st;
    if (!json_is_object(model) || !(cls = json_string_value(json_object_get(model, "class_name"))))
        return io_fail(m, RC_ERR_FORMAT, "the model topology has no class_name");
    cfg = json_object_get(model, "config");
    const char *name = json_string_value(json_object_get(cfg, "name"));
    snprintf(m->name, sizeof m->name, "%s", name && *name && !strchr(name, '/') ? name : "model");
    json_t *layers = json_is_array(cfg) ? cfg : json_object_get(cfg, "layers");
    if (!json_is_array(layers)) return io_fail(m, RC_ERR_FORMAT, "model '%s': config has no layers list", m->name);
    size_t i;
    json_t *lo;
    if (!strcmp(cls, "Sequential")) {
        m->sequential = true;
        if ((st = alloc_layers(m, json_array_size(layers)))) return st;
        json_array_foreach(layers, i, lo) {
            io_layer *L = &m->layers[m->nlayers];
            if ((st = parse_layer(m, lo, L))) return st;
            if (find_layer(m, L->name) >= 0) return io_fail(m, RC_ERR_FORMAT, "two layers are named '%s'", L->name);
            if (m->nlayers == 0 && !io_is_input(L)) {
                /* Keras 2 / TF.js: the first layer declares the input shape */
                json_t *c = json_object_get(lo, "config");
                json_t *sh = json_object_get(c, "batch_input_shape");
                if (!sh) sh = json_object_get(c, "batch_shape");
                if (!sh) return io_fail(m, RC_ERR_FORMAT, "layer '%s': the first layer of a Sequential model "
                                        "declares no batch_input_shape", L->name);
                io_layer in = {.kind = io_class_find("InputLayer"), .cls = "InputLayer"};
                snprintf(in.name, sizeof in.name, "%.50s_input", L->name);
                ctx c2 = {m, L->name, L->cls};
                if ((st = get_shape(&c2, sh, "batch_input_shape", &in.in_ndim, in.in_dims))) return st;
                m->layers[m->nlayers + 1] = *L;
                *L = in;
                m->nlayers++;
                L = &m->layers[m->nlayers];
            }
            if (L->kind->several && L->kind->several(L))
                return io_fail(m, RC_ERR_FORMAT, "layer '%s' (%s) returns several tensors; a Sequential model cannot "
                               "chain it (Keras rejects it too)", L->name, L->cls);
            if (!io_is_input(L)) {
                int prev = m->nlayers - 1;
                if (prev < 0) return io_fail(m, RC_ERR_FORMAT, "layer '%s' has no input", L->name);
                L->nnodes = 1;
                L->node[0].nin = 1;
                L->node[0].in[0] = (io_ref){prev, 0, 0};
            } else if (m->nlayers > 0) return io_fail(m, RC_ERR_FORMAT, "InputLayer '%s' is not the first layer", L->name);
            m->nlayers++;
        }
        if (m->nlayers < 2) return io_fail(m, RC_ERR_FORMAT, "model '%s' has no layers after its input", m->name);
        m->ninputs = m->noutputs = 1;
        m->inputs[0] = (io_ref){0, 0, 0};
        m->outputs[0] = (io_ref){m->nlayers - 1, 0, 0};
    } else if (!strcmp(cls, "Model") || !strcmp(cls, "Functional")) {
        if ((st = alloc_layers(m, json_array_size(layers)))) return st;
        json_array_foreach(layers, i, lo) {
            io_layer *L = &m->layers[m->nlayers];
            if ((st = parse_layer(m, lo, L))) return st;
            const char *ln = json_string_value(json_object_get(lo, "name"));
            if (ln && strcmp(ln, L->name))
                return io_fail(m, RC_ERR_FORMAT, "layer '%s' has config name '%s'", ln, L->name);
            if (find_layer(m, L->name) >= 0) return io_fail(m, RC_ERR_FORMAT, "two layers are named '%s'", L->name);
            m->nlayers++;
        }
        json_array_foreach(layers, i, lo) {
            io_layer *L = &m->layers[i];
            if (io_is_input(L)) continue;
            if ((st = parse_inbound(m, L, json_object_get(lo, "inbound_nodes")))) return st;
        }
        if ((st = parse_io_list(m, json_object_get(cfg, "input_layers"), "input_layers", m->inputs, &m->ninputs,
                                IO_MAX_IN)) ||
            (st = parse_io_list(m, json_object_get(cfg, "output_layers"), "output_layers", m->outputs, &m->noutputs,
                                IO_MAX_OUT)))
            return st;
        for (int k = 0; k < m->ninputs; k++)
            if (!io_is_input(&m->layers[m->inputs[k].layer]))
                return io_fail(m, RC_ERR_FORMAT, "model input '%s' is not an InputLayer", m->layers[m->inputs[k].layer].name);
    } else
        return io_fail(m, RC_ERR_FORMAT, "model class '%s' is not supported (Sequential, Model, Functional)", cls);
    /* an input that feeds a layer of ids (Embedding) carries int32 ids */
    for (int l = 0; l < m->nlayers; l++)
        for (int n = 0; n < m->layers[l].nnodes; n++) {
            io_ref r = m->layers[l].node[n].in[0];
            if (takes_ids(&m->layers[l]) && io_is_input(&m->layers[r.layer]))
                m->layers[r.layer].in_dtype = RC_I32;
        }
    for (int l = 0; l < m->nlayers; l++)
        if (io_is_input(&m->layers[l])) m->layers[l].nnodes = 1;
    return RC_OK;
}

/* --- weights: what each row expects ------------------------------------------------- */

static const char *const cell_class_name[] = {"SimpleRNNCell", "LSTMCell", "GRUCell"};

/* An RNN layer's weights: per cell kernel (F, G·U), recurrent_kernel
 * (U, G·U), bias (G·U), or (2, 3U) for GRU with reset_after; a stacked
 * cell reads the previous cell's U. Keras 3 keeps them in <h5>/cell/vars
 * or, stacked, <h5>/cell/cells/<cell slot>/vars (the cell's class in
 * snake_case, _1, _2 ... for repeats); TF.js names them <tfjs>kernel or,
 * stacked, <tfjs>RNNCell_<c>/kernel. */
static int rnn_specs(const io_rnn *r, int64_t F, const char *h5, const char *tfjs, io_wspec *out, int n, int max) {
    static const char *const names[3] = {"kernel", "recurrent_kernel", "bias"};
    for (int c = 0; c < r->ncells; c++) {
        int64_t U = r->cell[c].units, G = r->type[c] == IO_SIMPLE ? 1 : r->type[c] == IO_LSTM ? 4 : 3;
        rc_shape shapes[3] = {RC_SHAPE(F, G * U), RC_SHAPE(U, G * U),
                              r->type[c] == IO_GRU && r->cell[c].reset_after ? RC_SHAPE(2, G * U) : RC_SHAPE(G * U)};
        char slot[80] = "", base[64];
        if (r->stacked) {
            io_snake_case(cell_class_name[r->type[c]], base, sizeof base);
            int seen = 0;
            for (int k = 0; k < c; k++) seen += r->type[k] == r->type[c];
            if (seen) snprintf(slot, sizeof slot, "/cells/%.40s_%d", base, seen % 1000000);
            else snprintf(slot, sizeof slot, "/cells/%s", base);
        }
        for (int j = 0; j < (r->cell[c].use_bias ? 3 : 2); j++, n++) {
            if (n >= max) continue;
            out[n] = (io_wspec){.name = names[j], .shape = shapes[j]};
            snprintf(out[n].h5, sizeof out[n].h5, "%scell%s", h5, slot);
            if (r->stacked) snprintf(out[n].tfjs, sizeof out[n].tfjs, "%sRNNCell_%d/%s", tfjs, c, names[j]);
            else snprintf(out[n].tfjs, sizeof out[n].tfjs, "%s%s", tfjs, names[j]);
        }
        F = U;
    }
    return n;
}

static int rnn_weights(const io_layer *L, int64_t F, io_wspec *out, int max) {
    return rnn_specs(&L->rnn, F, "", "", out, 0, max);
}

/* forward_layer/... then backward_layer/... (Keras 3); TF.js names the
 * halves' variables <bidirectional>/<forward_lstm>/... */
static int bidir_weights(const io_layer *L, int64_t F, io_wspec *out, int max) {
    char f[80], b[80];
    snprintf(f, sizeof f, "%s/", L->rnn.name);
    snprintf(b, sizeof b, "%s/", L->back.name);
    int n = rnn_specs(&L->rnn, F, "forward_layer/", f, out, 0, max);
    return rnn_specs(&L->back, F, "backward_layer/", b, out, n, max);
}

/* kernel (F, units), bias (units) in the layer's own vars (h5 "" or, for
 * TimeDistributed, "layer"). */
static int dense_specs(const io_layer *L, int64_t F, const char *h5, io_wspec *out, int max) {
    int n = 0;
    if (n < max) out[n] = (io_wspec){.name = "kernel", .shape = RC_SHAPE(F, L->units)};
    n++;
    if (L->use_bias && n < max) out[n] = (io_wspec){.name = "bias", .shape = RC_SHAPE(L->units)};
    if (L->use_bias) n++;
    for (int k = 0; k < n && k < max; k++) {
        snprintf(out[k].h5, sizeof out[k].h5, "%s", h5);
        snprintf(out[k].tfjs, sizeof out[k].tfjs, "%s", out[k].name);
    }
    return n;
}

static int dense_weights(const io_layer *L, int64_t F, io_wspec *out, int max) { return dense_specs(L, F, "", out, max); }
static int timedist_weights(const io_layer *L, int64_t F, io_wspec *out, int max) {
    return dense_specs(L, F, "layer", out, max);
}

static int embedding_weights(const io_layer *L, int64_t F, io_wspec *out, int max) {
    if (max > 0) out[0] = (io_wspec){.name = "embeddings", .shape = RC_SHAPE(L->input_dim, L->output_dim),
                                     .tfjs = "embeddings"};
    return 1;
}

static int no_weights(const io_layer *L, int64_t F, io_wspec *out, int max) { return 0; }

int io_weight_specs(const io_layer *L, int64_t F, io_wspec *out) { return L->kind->weights(L, F, out, IO_MAX_W); }

int io_expected_weights(const io_layer *L, const char **names, int max) {
    io_wspec w[IO_MAX_W];
    int n = io_weight_specs(L, 0, w);
    for (int k = 0; k < n && k < max && k < IO_MAX_W; k++) names[k] = w[k].name;
    return n;
}

/* --- building ------------------------------------------------------------------------ */

static rc_cell *make_cell(io_cell_type t, const rc_cell_config *cc) {
    switch (t) {
    case IO_SIMPLE: return rc_simple_rnn_cell_new(cc);
    case IO_LSTM: return rc_lstm_cell_new(cc);
    default: return rc_gru_cell_new(cc);
    }
}

static rc_rnn *make_rnn(const io_rnn *r) {
    rc_cell *cells[IO_MAX_CELLS];
    for (int i = 0; i < r->ncells; i++) {
        cells[i] = make_cell(r->type[i], &r->cell[i]);
        if (!cells[i]) {
            for (int j = 0; j < i; j++) rc_cell_free(cells[j]);
            return NULL;
        }
    }
    rc_cell *cell = r->stacked ? rc_stacked_cells_new(cells, r->ncells, NULL) : cells[0];
    if (!cell) return NULL;
    return rc_rnn_new(r->name, cell, &r->cfg, NULL);
}

/* The formats' own layer class (a user layer in the sense of layer.h): an
 * optional inner layer, then an activation, with the Keras class name of
 * the row. Activation is one with no inner layer; TimeDistributed(Dense) a
 * Dense (named after the wrapper, whose weights TF.js and Keras 3 name so,
 * and which applies its activation itself) that insists on (batch, time,
 * features). */
typedef struct io_wrap {
    rc_layer layer;
    rc_layer *inner;              /* owned; NULL: the activation alone */
    char name[64], type[32];
    bool post;                    /* apply act after inner */
    rc_activation act;
    int ndim;                     /* the input rank required (0: any) */
} io_wrap;

static const char *wrap_type(const rc_layer *l) { return ((const io_wrap *)l->impl)->type; }
static const char *wrap_name(const rc_layer *l) { return ((const io_wrap *)l->impl)->name; }

static void wrap_destroy(rc_layer *l) {
    io_wrap *w = l->impl;
    rc_layer_free(w->inner);
    rc_free(w);
}

static int wrap_params(const rc_layer *l, rc_node **out, int max) {
    return rc_layer_params(((const io_wrap *)l->impl)->inner, out, max);
}

/* Elementwise after the inner layer: the inner layer's mask flows on. */
static rc_status wrap_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    io_wrap *w = l->impl;
    if (w->ndim && in->x && rc_node_shape(in->x).ndim != w->ndim)
        return rc_graph_fail(g, RC_ERR_SHAPE, "layer '%s' (%s) needs a (batch, time, features) input", w->name,
                             w->type), RC_ERR_SHAPE;
    if (w->inner) {
        rc_status st = rc_layer_apply(w->inner, g, in, out);
        if (st) return st;
    } else {
        out->nout = 1;
        out->out[0] = in->x;
        out->mask[0] = in->mask;
    }
    if (w->post && !(out->out[0] = rc_activate(g, w->act, out->out[0]))) return rc_graph_status(g);
    return RC_OK;
}

static const rc_layer_class wrap_class = {
    .type = "Layer",
    .type_of = wrap_type,
    .input_dtype = RC_F32,
    .name = wrap_name,
    .apply = wrap_apply,
    .params = wrap_params,
    .destroy = wrap_destroy,
};

/* inner (taken over, also on failure) with L's class name, L's activation
 * applied after it when post. */
static rc_layer *wrap(const io_layer *L, rc_layer *inner, bool post, int ndim) {
    io_wrap *w = rc_calloc(1, sizeof *w);
    if (!w) {
        rc_layer_free(inner);
        return NULL;
    }
    rc_layer_init(&w->layer, &wrap_class, w);
    w->inner = inner;
    snprintf(w->name, sizeof w->name, "%s", L->name);
    snprintf(w->type, sizeof w->type, "%s", L->cls);
    w->post = post;
    w->act = L->act;
    w->ndim = ndim;
    return &w->layer;
}

/* --- builders: one per row --- */

static rc_layer *build_embedding(const io_layer *L, rc_graph *g) {
    return rc_embedding_layer(rc_embedding_new(L->name, L->input_dim, L->output_dim, L->mask_zero));
}

static rc_layer *build_masking(const io_layer *L, rc_graph *g) { return rc_masking_layer_new(L->name, L->value); }
static rc_layer *build_dropout(const io_layer *L, rc_graph *g) { return rc_dropout_layer_new(L->name, L->value); }
static rc_layer *build_activation(const io_layer *L, rc_graph *g) { return wrap(L, NULL, true, 0); }

/* Dense(act): rc_dense applies any activation of the table itself. */
static rc_layer *dense_of(const io_layer *L) {
    return rc_dense_layer(rc_dense_new(L->name, L->units, L->act, L->use_bias));
}

static rc_layer *build_dense(const io_layer *L, rc_graph *g) { return dense_of(L); }

static rc_layer *build_timedist(const io_layer *L, rc_graph *g) {
    rc_layer *d = dense_of(L);
    return d ? wrap(L, d, false, 3) : NULL;
}

static rc_layer *build_rnn(const io_layer *L, rc_graph *g) { return rc_rnn_layer(make_rnn(&L->rnn)); }

static rc_layer *build_bidir(const io_layer *L, rc_graph *g) {
    rc_rnn *f = make_rnn(&L->rnn), *b = make_rnn(&L->back);
    rc_error e = {0};
    rc_bidir *bd = f && b ? rc_bidir_new(L->name, f, b, L->merge, &e) : NULL;
    if (!bd) {
        rc_rnn_free(f), rc_rnn_free(b);
        if (f && b) rc_graph_fail(g, e.code ? e.code : RC_ERR_ARG, "layer '%s' (Bidirectional): %s", L->name, e.message);
    }
    return rc_bidir_layer(bd);
}

static bool rnn_several(const io_layer *L) { return L->rnn.cfg.return_state; }
static bool bidir_several(const io_layer *L) { return L->rnn.cfg.return_state || L->merge == RC_MERGE_NONE; }

/* --- the table ------------------------------------------------------------------------------- */

const io_class io_classes[] = {
    {"InputLayer", NULL, IO_F_INPUT, read_input, io_write_input, NULL, no_weights, NULL},
    {"Embedding", &rc_embedding_class, 0, read_embedding, io_write_embedding, build_embedding, embedding_weights, NULL},
    {"Masking", &rc_masking_class, 0, read_masking, io_write_masking, build_masking, no_weights, NULL},
    {"SimpleRNN", &rc_rnn_class, IO_F_STATES, read_rnn, io_write_rnn, build_rnn, rnn_weights, rnn_several},
    {"LSTM", &rc_rnn_class, IO_F_STATES, read_rnn, io_write_rnn, build_rnn, rnn_weights, rnn_several},
    {"GRU", &rc_rnn_class, IO_F_STATES, read_rnn, io_write_rnn, build_rnn, rnn_weights, rnn_several},
    {"RNN", &rc_rnn_class, IO_F_STATES, read_rnn, io_write_rnn, build_rnn, rnn_weights, rnn_several},
    {"Bidirectional", &rc_bidir_class, IO_F_STATES, read_bidir, io_write_bidir, build_bidir, bidir_weights,
     bidir_several},
    {"Dense", &rc_dense_class, 0, read_dense, io_write_dense, build_dense, dense_weights, NULL},
    {"TimeDistributed", &wrap_class, 0, read_timedist, io_write_timedist, build_timedist, timedist_weights, NULL},
    {"Dropout", &rc_dropout_class, 0, read_dropout, io_write_dropout, build_dropout, no_weights, NULL},
    {"Activation", &wrap_class, 0, read_activation, io_write_activation, build_activation, no_weights, NULL},
};

const int io_classes_len = (int)(sizeof io_classes / sizeof io_classes[0]);

const io_class *io_class_find(const char *cls) {
    for (int i = 0; cls && i < io_classes_len; i++)
        if (!strcmp(io_classes[i].cls, cls)) return &io_classes[i];
    return NULL;
}

/* --- calling -------------------------------------------------------------------------------- */

/* The file's weights must have the shapes the layer needs for input
 * features F. Checked before any parameter is allocated, so a config that
 * declares huge sizes cannot allocate them. */
static rc_status check_shapes(rc_io_model *m, rc_graph *g, const io_layer *L, rc_shape x) {
    io_wspec want[IO_MAX_W];
    int n = io_weight_specs(L, x.ndim ? x.dim[x.ndim - 1] : 0, want);
    if (n != L->nw)
        return rc_graph_fail(g, RC_ERR_FORMAT, "%s: layer '%s' has %d weights, the file gives %d", m->file, L->name, n,
                             L->nw), RC_ERR_FORMAT;
    for (int k = 0; k < n; k++)
        if (!rc_shape_eq(want[k].shape, L->w[k].shape)) {
            char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
            return rc_graph_fail(g, RC_ERR_SHAPE, "%s: layer '%s' (%s): weight '%s' has shape %s in the file, the "
                                 "layer needs %s", m->file, L->name, L->cls, L->w[k].name,
                                 rc_shape_str(L->w[k].shape, b, sizeof b), rc_shape_str(want[k].shape, a, sizeof a)),
                   RC_ERR_SHAPE;
        }
    return RC_OK;
}

/* Outputs of one call: Keras order. */
typedef struct upd {
    rc_node **v;
    int max, n;
} upd;

/* Stateful layers' state-update nodes, for the caller's plan. */
static void add_updates(upd *u, rc_node *const *v, int n) {
    for (int k = 0; k < n; k++, u->n++)
        if (u->v && u->n < u->max) u->v[u->n] = v[k];
}

/* One call of a layer: built by its row on the first call, then applied
 * through its class (the model records the call for the summary). */
static rc_status call_layer(rc_io_model *m, io_layer *L, io_node *n, rc_graph *g, bool training, rc_rng *rng,
                            rc_node *const *in, rc_node *const *inmask, upd *u) {
    rc_node *x = in[0];
    n->nout = 1;
    if (io_is_input(L)) return RC_OK;
    if (!L->obj) {
        rc_status st = check_shapes(m, g, L, rc_node_shape(x));
        if (st) return st;
        if (takes_ids(L) && rc_node_dtype(x) != RC_I32)
            return rc_graph_fail(g, RC_ERR_ARG, "layer '%s' (%s) needs int32 ids from a model input", L->name, L->cls),
                   RC_ERR_ARG;
        if (!(L->obj = L->kind->build(L, g)))
            return rc_graph_status(g) ? rc_graph_status(g)
                                      : (rc_graph_fail(g, RC_ERR_NOMEM, "layer '%s': out of memory", L->name), RC_ERR_NOMEM);
    }
    rc_layer_in li = {.x = x, .mask = inmask[0], .initial_state = in + 1, .ninitial = n->nin - 1,
                      .training = training, .rng = rng};
    rc_layer_out o;
    rc_status st = rc_model_call(m->model, L->obj, g, &li, &o);
    if (st) return st;
    n->nout = o.nout;
    for (int k = 0; k < o.nout; k++) n->out[k] = o.out[k], n->mask[k] = o.mask[k];
    add_updates(u, o.update, o.nupdates);
    return RC_OK;
}

static rc_status set_weights(rc_io_model *m, rc_graph *g) {
    for (int l = 0; l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        L->nparams = 0;
        if (!L->obj) continue;
        L->nparams = rc_layer_params(L->obj, L->params, IO_MAX_W);
        if (L->nparams != L->nw)
            return rc_graph_fail(g, RC_ERR_FORMAT, "%s: layer '%s' has %d weights, the file gives %d", m->file, L->name,
                                 L->nparams, L->nw), RC_ERR_FORMAT;
        for (int k = 0; k < L->nw; k++) {
            rc_shape want = rc_node_shape(L->params[k]);
            if (!rc_shape_eq(want, L->w[k].shape)) {
                char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
                return rc_graph_fail(g, RC_ERR_SHAPE, "%s: layer '%s' (%s): weight '%s' has shape %s in the file, the "
                                     "layer needs %s", m->file, L->name, L->cls, L->w[k].name,
                                     rc_shape_str(L->w[k].shape, b, sizeof b), rc_shape_str(want, a, sizeof a)),
                       RC_ERR_SHAPE;
            }
            memcpy(rc_node_data(L->params[k]), L->w[k].data, (size_t)rc_shape_numel(want) * sizeof(float));
        }
    }
    return RC_OK;
}

static rc_status io_build(rc_io_model *m, rc_graph *g, rc_node *const *inputs, int ninputs, bool training,
                          rc_rng *rng, rc_node **outputs, int max_outputs, rc_node **updates, int max_updates,
                          int *nupdates, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (nupdates) *nupdates = 0;
    if (!m || !g || !inputs || !outputs) {
        if (err && err_len) snprintf(err, err_len, "rc_io_build: NULL argument");
        return RC_ERR_ARG;
    }
    m->err = err, m->err_len = err_len;
    if (m->model) return io_fail(m, RC_ERR_STATE, "model '%s' is already built", m->name);
    if (ninputs != m->ninputs || max_outputs < m->noutputs)
        return io_fail(m, RC_ERR_ARG, "model '%s' has %d inputs and %d outputs (got %d inputs, room for %d outputs)",
                       m->name, m->ninputs, m->noutputs, ninputs, max_outputs);
    m->model = rc_model_new(m->name);
    if (!m->model) return io_fail(m, RC_ERR_NOMEM, "out of memory");
    m->graph = g;
    for (int i = 0; i < ninputs; i++) {
        io_layer *L = &m->layers[m->inputs[i].layer];
        if (!inputs[i]) return io_fail(m, RC_ERR_ARG, "input %d is NULL", i);
        rc_shape s = rc_node_shape(inputs[i]);
        bool ok = s.ndim == L->in_ndim && rc_node_dtype(inputs[i]) == L->in_dtype;
        for (int d = 1; ok && d < s.ndim; d++) ok = L->in_dims[d] < 0 || L->in_dims[d] == s.dim[d];
        if (!ok) {
            char a[RC_SHAPE_STRLEN];
            return io_fail(m, RC_ERR_SHAPE, "input '%s' must be %s with %d dimensions matching the declared shape; "
                           "got %s %s", L->name, rc_dtype_name(L->in_dtype), L->in_ndim,
                           rc_dtype_name(rc_node_dtype(inputs[i])), rc_shape_str(s, a, sizeof a));
        }
        L->node[0].out[0] = inputs[i];
        L->node[0].nout = 1;
        if (!m->sequential) rc_model_note_call(m->model, L->name, "InputLayer", s);
    }
    /* calls in dependency order: repeat passes until none is left */
    bool progress = true, left = true;
    upd u = {updates, max_updates, 0};
    bool *done = rc_calloc((size_t)m->nlayers * IO_MAX_NODES, 1);
    if (!done) return io_fail(m, RC_ERR_NOMEM, "out of memory");
    rc_status st = RC_OK;
    for (int i = 0; i < ninputs; i++) done[m->inputs[i].layer * IO_MAX_NODES] = true;
    if (!rc_scope_push(g, m->name)) st = RC_ERR_ARG;
    while (!st && progress && left) {
        progress = left = false;
        for (int l = 0; !st && l < m->nlayers; l++) {
            io_layer *L = &m->layers[l];
            for (int k = 0; !st && k < L->nnodes; k++) {
                if (done[l * IO_MAX_NODES + k]) continue;
                io_node *n = &L->node[k];
                rc_node *in[IO_MAX_IN], *mk[IO_MAX_IN];
                bool ready = !io_is_input(L);
                for (int j = 0; ready && j < n->nin; j++) {
                    io_ref r = n->in[j];
                    io_layer *S = &m->layers[r.layer];
                    if (r.node >= S->nnodes) {
                        st = io_fail(m, RC_ERR_FORMAT, "layer '%s' reads call %d of layer '%s', which has %d", L->name,
                                     r.node, S->name, S->nnodes);
                        ready = false;
                    } else if (!done[r.layer * IO_MAX_NODES + r.node]) ready = false;
                    else if (r.tensor >= S->node[r.node].nout) {
                        st = io_fail(m, RC_ERR_FORMAT, "layer '%s' reads output %d of layer '%s', which has %d",
                                     L->name, r.tensor, S->name, S->node[r.node].nout);
                        ready = false;
                    } else in[j] = S->node[r.node].out[r.tensor], mk[j] = S->node[r.node].mask[r.tensor];
                }
                if (!ready) {
                    left = !io_is_input(L) || left;
                    continue;
                }
                st = call_layer(m, L, n, g, training, rng, in, mk, &u);
                done[l * IO_MAX_NODES + k] = true;
                progress = true;
            }
        }
    }
    rc_scope_pop(g);
    if (!st && left) st = io_fail(m, RC_ERR_FORMAT, "model '%s': the layers' connections form a cycle or read a "
                                  "tensor no layer makes", m->name);
    for (int i = 0; !st && i < m->noutputs; i++) {
        io_ref r = m->outputs[i];
        if (!done[r.layer * IO_MAX_NODES + r.node] || r.tensor >= m->layers[r.layer].node[r.node].nout)
            st = io_fail(m, RC_ERR_FORMAT, "model output %d (layer '%s') is not computed", i, m->layers[r.layer].name);
        else outputs[i] = m->layers[r.layer].node[r.node].out[r.tensor];
    }
    rc_free(done);
    if (!st) st = set_weights(m, g);
    if (st && rc_graph_status(g) != RC_OK) io_fail(m, st, "%s", rc_graph_error(g));
    else if (st && rc_graph_status(g) == RC_OK && m->err && m->err[0]) rc_graph_fail(g, st, "%s", m->err);
    if (nupdates) *nupdates = u.n;
    if (!st && u.n > max_updates && updates)
        st = io_fail(m, RC_ERR_ARG, "model '%s' has %d state updates, room for %d", m->name, u.n, max_updates);
    return st;
}

static rc_status io_build_batch(rc_io_model *m, rc_graph *g, int64_t B, int64_t T, rc_node **inputs,
                                int max_inputs, rc_node **outputs, int max_outputs, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (!m || !g || !inputs || max_inputs < m->ninputs) return RC_ERR_ARG;
    m->err = err, m->err_len = err_len;
    for (int i = 0; i < m->ninputs; i++) {
        io_layer *L = &m->layers[m->inputs[i].layer];
        rc_shape s = {.ndim = L->in_ndim};
        for (int d = 0; d < s.ndim; d++) {
            s.dim[d] = d == 0 ? B : L->in_dims[d] > 0 ? L->in_dims[d] : d == 1 ? T : -1;
            if (s.dim[d] < 1)
                return io_fail(m, RC_ERR_SHAPE, "input '%s': dimension %d is not declared (None)", L->name, d);
        }
        if (!rc_shape_valid(s)) return io_fail(m, RC_ERR_SHAPE, "input '%s': shape too large", L->name);
        inputs[i] = rc_input(g, L->name, L->in_dtype, s);
        if (!inputs[i]) return io_fail(m, rc_graph_status(g), "%s", rc_graph_error(g));
    }
    return io_build(m, g, inputs, m->ninputs, false, NULL, outputs, max_outputs, NULL, 0, NULL, err, err_len);
}

/* A file that cannot be opened, or is a directory, said so in the system's
 * words. Checked before the readers: jansson reads a directory as an empty
 * file ("malformed JSON at line 1") and libzip as a missing one. */
static rc_status check_readable(const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (err && err_len) snprintf(err, err_len, "cannot open %s: %s", path, strerror(e));
        return RC_ERR_IO;
    }
    struct stat sb;
    bool dir = fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode);
    fclose(f);
    if (dir) {
        if (err && err_len) snprintf(err, err_len, "cannot read %s: %s (not a model file)", path, strerror(EISDIR));
        return RC_ERR_IO;
    }
    return RC_OK;
}

static rc_status io_load(const char *path, rc_io_model **out, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (out) *out = NULL;
    if (!path || !out) {
        if (err && err_len) snprintf(err, err_len, "rc_io_load: NULL argument");
        return RC_ERR_ARG;
    }
    rc_io_model *m = rc_calloc(1, sizeof *m);
    if (!m) {
        if (err && err_len) snprintf(err, err_len, "%s: out of memory", path);
        return RC_ERR_NOMEM;
    }
    m->err = err, m->err_len = err_len;
    if (!(m->file = rc_strdup(path))) {
        if (err && err_len) snprintf(err, err_len, "%s: out of memory", path);
        rc_free(m);
        return RC_ERR_NOMEM;
    }
    size_t n = strlen(path);
    rc_status st = check_readable(path, err, err_len);
    if (!st) st = n > 6 && !strcmp(path + n - 6, ".keras") ? io_load_keras(m, path) : io_load_tfjs(m, path);
    if (st) {
        if (err && err_len && !err[0]) io_fail(m, st, "%s", rc_status_str(st));
        rc_io_free(m);
        return st;
    }
    m->err = NULL, m->err_len = 0;
    *out = m;
    return RC_OK;
}

/* --- the public entry points ----------------------------------------------------------
 * The readers, builder and writer report into a char buffer (m->err); the
 * caller's rc_error is filled here, at the boundary, and left as it was on
 * success (recur/base.h). */

rc_status rc_io_load(const char *path, rc_io_model **out, rc_error *err) {
    char msg[sizeof err->message] = "";
    return io_report(err, io_load(path, out, msg, sizeof msg), "rc_io_load", msg);
}

rc_status rc_io_build(rc_io_model *m, rc_graph *g, rc_node *const *inputs, int ninputs, bool training, rc_rng *rng,
                      rc_node **outputs, int max_outputs, rc_node **updates, int max_updates, int *nupdates,
                      rc_error *err) {
    char msg[sizeof err->message] = "";
    rc_status st = io_build(m, g, inputs, ninputs, training, rng, outputs, max_outputs, updates, max_updates,
                            nupdates, msg, sizeof msg);
    return io_report(err, st, "rc_io_build", msg);
}

rc_status rc_io_build_batch(rc_io_model *m, rc_graph *g, int64_t B, int64_t T, rc_node **inputs, int max_inputs,
                            rc_node **outputs, int max_outputs, rc_error *err) {
    char msg[sizeof err->message] = "";
    rc_status st = io_build_batch(m, g, B, T, inputs, max_inputs, outputs, max_outputs, msg, sizeof msg);
    return io_report(err, st, "rc_io_build_batch", msg);
}

rc_status rc_io_export_tfjs(const rc_io_model *m, const char *dir, rc_error *err) {
    char msg[sizeof err->message] = "";
    return io_report(err, io_export_tfjs(m, dir, msg, sizeof msg), "rc_io_export_tfjs", msg);
}

/* --- public accessors ------------------------------------------------------------------- */

void rc_io_free(rc_io_model *m) {
    if (!m) return;
    for (int l = 0; l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        for (int k = 0; k < L->nw; k++) rc_free(L->w[k].data), rc_free(L->w[k].name);
        /* layers that were created but never reached the model */
        if (L->obj && !in_model(m->model, L->obj)) rc_layer_free(L->obj);
    }
    rc_free(m->layers);
    rc_model_free(m->model);
    rc_free(m->file);
    rc_free(m);
}

const char *rc_io_name(const rc_io_model *m) { return m ? m->name : ""; }
const char *rc_io_format(const rc_io_model *m) { return m ? m->format : ""; }
int rc_io_ninputs(const rc_io_model *m) { return m ? m->ninputs : 0; }
int rc_io_noutputs(const rc_io_model *m) { return m ? m->noutputs : 0; }
rc_model *rc_io_rc_model(rc_io_model *m) { return m ? m->model : NULL; }

const char *rc_io_input_name(const rc_io_model *m, int i) {
    return m && i >= 0 && i < m->ninputs ? m->layers[m->inputs[i].layer].name : NULL;
}

rc_dtype rc_io_input_dtype(const rc_io_model *m, int i) {
    return m && i >= 0 && i < m->ninputs ? m->layers[m->inputs[i].layer].in_dtype : RC_F32;
}

int rc_io_input_shape(const rc_io_model *m, int i, int64_t dims[RC_MAX_DIMS]) {
    if (!m || i < 0 || i >= m->ninputs) return -1;
    const io_layer *L = &m->layers[m->inputs[i].layer];
    for (int d = 0; d < L->in_ndim; d++) dims[d] = L->in_dims[d];
    return L->in_ndim;
}

int64_t rc_io_input_vocab(const rc_io_model *m, int i) {
    if (!m || i < 0 || i >= m->ninputs) return 0;
    int64_t v = 0;
    for (int l = 0; l < m->nlayers; l++)
        for (int n = 0; n < m->layers[l].nnodes; n++)
            if (takes_ids(&m->layers[l]) && m->layers[l].node[n].in[0].layer == m->inputs[i].layer &&
                (v == 0 || m->layers[l].input_dim < v))
                v = m->layers[l].input_dim;
    return v;
}
