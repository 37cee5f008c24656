/* Models: owned layers, sequential application with mask propagation,
 * functional calls, parameter counts and the Keras-style summary. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "recur/model.h"
#include "recur/ops.h"

/* One row: an owned layer, what the last call made, and the class name to
 * show instead of the layer's own (rc_model_note_call). */
typedef struct entry {
    rc_layer *layer;
    rc_shape out;      /* shape of the last call's first output, ndim 0 before */
    char type[32];     /* "" = the layer's class name */
} entry;

struct rc_model {
    char name[64];
    entry *e;
    int n, cap;
};

rc_model *rc_model_new(const char *name) {
    rc_model *m = rc_calloc(1, sizeof *m);
    if (m) snprintf(m->name, sizeof m->name, "%s", name && *name ? name : "sequential");
    return m;
}

void rc_model_free(rc_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) rc_layer_free(m->e[i].layer);
    rc_free(m->e);
    rc_free(m);
}

const char *rc_model_name(const rc_model *m) { return m ? m->name : ""; }

/* Append (taking ownership even on failure). */
static entry *push(rc_model *m, rc_layer *l) {
    if (!m || !l) {
        rc_layer_free(l);
        return NULL;
    }
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        entry *ne = rc_realloc(m->e, (size_t)cap * sizeof *ne);
        if (!ne) {
            rc_layer_free(l);
            return NULL;
        }
        m->e = ne;
        m->cap = cap;
    }
    m->e[m->n] = (entry){.layer = l};
    return &m->e[m->n++];
}

rc_status rc_model_add(rc_model *m, rc_layer *l) {
    if (!m || !l) {
        rc_layer_free(l);
        return RC_ERR_ARG;
    }
    return push(m, l) ? RC_OK : RC_ERR_NOMEM;
}

rc_status rc_model_add_rnn(rc_model *m, rc_rnn *l) { return rc_model_add(m, rc_rnn_layer(l)); }
rc_status rc_model_add_bidir(rc_model *m, rc_bidir *b) { return rc_model_add(m, rc_bidir_layer(b)); }
rc_status rc_model_add_dense(rc_model *m, rc_dense *d) { return rc_model_add(m, rc_dense_layer(d)); }
rc_status rc_model_add_embedding(rc_model *m, rc_embedding *e) { return rc_model_add(m, rc_embedding_layer(e)); }

rc_status rc_model_add_masking(rc_model *m, const char *name, double v) {
    if (!m) return RC_ERR_ARG;
    rc_layer *l = rc_masking_layer_new(name, v);
    return l ? rc_model_add(m, l) : RC_ERR_NOMEM;
}

rc_status rc_model_add_dropout(rc_model *m, const char *name, double r) {
    if (!m) return RC_ERR_ARG;
    rc_layer *l = rc_dropout_layer_new(name, r);
    return l ? rc_model_add(m, l) : RC_ERR_NOMEM;
}

/* --- sequential application --------------------------------------------------- */

/* Each layer's first output and its mask feed the next (Keras Sequential);
 * a layer that returns more than one tensor cannot be chained. */
rc_node *rc_model_apply(rc_model *m, rc_graph *g, rc_node *x, bool training, rc_rng *rng) {
    if (!g) return NULL;
    if (!m) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_apply: model is NULL");
    if (!x) return rc_graph_status(g) != RC_OK ? NULL : rc_graph_fail(g, RC_ERR_ARG, "model '%s': input is NULL", m->name);
    if (m->n == 0) return rc_graph_fail(g, RC_ERR_STATE, "model '%s' has no layers", m->name);
    rc_node *mask = NULL;
    if (!rc_scope_push(g, m->name)) return NULL;
    for (int i = 0; i < m->n && x; i++) {
        entry *e = &m->e[i];
        rc_layer_in in = {.x = x, .mask = mask, .training = training, .rng = rng};
        rc_layer_out o;
        if (rc_layer_apply(e->layer, g, &in, &o) != RC_OK) x = NULL;
        else if (o.nout != 1)
            x = rc_graph_fail(g, RC_ERR_ARG, "model '%s': layer '%s' returns states or several tensors; wire it with "
                              "rc_model_call", m->name, rc_layer_name(e->layer));
        else x = o.out[0], mask = o.mask[0];
        if (x) e->out = rc_node_shape(x);
    }
    rc_scope_pop(g);
    return x;
}

/* --- functional calls ------------------------------------------------------------ */

/* The entry of a layer already owned, or a new one. */
static entry *track(rc_model *m, rc_layer *l) {
    for (int i = 0; i < m->n; i++)
        if (m->e[i].layer == l) return &m->e[i];
    return push(m, l);
}

rc_status rc_model_call(rc_model *m, rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!g) return RC_ERR_ARG;
    if (!m || !l || !in || !out) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call: NULL argument"), RC_ERR_ARG;
    entry *e = track(m, l);
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    rc_status st = rc_layer_apply(l, g, in, out);
    if (st == RC_OK) e->out = rc_node_shape(out->out[0]);
    return st;
}

rc_status rc_model_call_rnn(rc_model *m, rc_rnn *l, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                            rc_rnn_out *out) {
    if (!m || !l) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_rnn: model or layer is NULL"), RC_ERR_ARG;
    entry *e = track(m, rc_rnn_layer(l));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    rc_status st = rc_rnn_apply(l, g, x, call, out);
    if (st == RC_OK) e->out = rc_node_shape(out->output);
    return st;
}

rc_status rc_model_call_bidir(rc_model *m, rc_bidir *b, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                              rc_bidir_out *out) {
    if (!m || !b) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_bidir: model or layer is NULL"), RC_ERR_ARG;
    entry *e = track(m, rc_bidir_layer(b));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    rc_status st = rc_bidir_apply(b, g, x, call, out);
    if (st == RC_OK) e->out = rc_node_shape(out->output ? out->output : out->output_forward);
    return st;
}

rc_node *rc_model_call_dense(rc_model *m, rc_dense *d, rc_graph *g, rc_node *x, rc_rng *rng) {
    if (!m || !d) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_dense: model or layer is NULL");
    entry *e = track(m, rc_dense_layer(d));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name);
    rc_node *y = rc_dense_apply(d, g, x, rng);
    if (y) e->out = rc_node_shape(y);
    return y;
}

rc_node *rc_model_call_embedding(rc_model *m, rc_embedding *em, rc_graph *g, rc_node *ids, rc_rng *rng,
                                 rc_node **mask_out) {
    if (!m || !em) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_embedding: model or layer is NULL");
    entry *e = track(m, rc_embedding_layer(em));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name);
    rc_node *y = rc_embedding_apply(em, g, ids, rng, mask_out);
    if (y) e->out = rc_node_shape(y);
    return y;
}

rc_status rc_model_note_call(rc_model *m, const char *name, const char *type, rc_shape out) {
    if (!m || !name || !type) return RC_ERR_ARG;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(rc_layer_name(m->e[i].layer), name)) {
            snprintf(m->e[i].type, sizeof m->e[i].type, "%s", type);
            m->e[i].out = out;
            return RC_OK;
        }
    rc_layer *l = rc_note_layer_new(name, type);
    entry *e = l ? push(m, l) : NULL;
    if (!e) return RC_ERR_NOMEM;
    e->out = out;
    return RC_OK;
}

/* --- the note class: a summary row the model does not apply -------------------- */

typedef struct note_layer {
    rc_layer layer;
    char name[64];
    char type[32];
} note_layer;

rc_layer *rc_note_layer_new(const char *name, const char *type) {
    note_layer *n = rc_calloc(1, sizeof *n);
    if (!n) return NULL;
    rc_layer_init(&n->layer, &rc_note_class, n);
    snprintf(n->name, sizeof n->name, "%s", name && *name ? name : "layer");
    snprintf(n->type, sizeof n->type, "%s", type && *type ? type : "Layer");
    return &n->layer;
}

static const char *note_type_of(const rc_layer *l) { return ((const note_layer *)l->impl)->type; }
static const char *note_name(const rc_layer *l) { return ((const note_layer *)l->impl)->name; }
static void note_destroy(rc_layer *l) { rc_free(l->impl); }

/* Identity: the row stands for work done outside the model. */
static rc_status note_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    if (!in->x) return rc_graph_status(g) != RC_OK ? rc_graph_status(g) : RC_ERR_ARG;
    out->nout = 1;
    out->out[0] = in->x;
    out->mask[0] = in->mask;
    return RC_OK;
}

const rc_layer_class rc_note_class = {
    .type = "Layer",
    .type_of = note_type_of,
    .input_dtype = RC_F32,
    .name = note_name,
    .apply = note_apply,
    .destroy = note_destroy,
};

/* --- inspection ----------------------------------------------------------------- */

int rc_model_layer_count(const rc_model *m) { return m ? m->n : 0; }

rc_layer *rc_model_layer(const rc_model *m, int i) { return m && i >= 0 && i < m->n ? m->e[i].layer : NULL; }

bool rc_model_layer_info(const rc_model *m, int i, rc_layer_info *info) {
    if (!m || i < 0 || i >= m->n || !info) return false;
    const entry *e = &m->e[i];
    info->name = rc_layer_name(e->layer);
    info->type = e->type[0] ? e->type : rc_layer_type(e->layer);
    info->output = e->out;
    info->params = rc_layer_param_count(e->layer);
    return true;
}

int rc_model_params(const rc_model *m, rc_node **out, int max) {
    int total = 0;
    for (int i = 0; m && i < m->n; i++) {
        int room = out && total < max ? max - total : 0;
        total += rc_layer_params(m->e[i].layer, room ? out + total : NULL, room);
    }
    return total;
}

int64_t rc_model_param_count(const rc_model *m) {
    int64_t s = 0;
    for (int i = 0; m && i < m->n; i++) s += rc_layer_param_count(m->e[i].layer);
    return s;
}

/* --- summary ------------------------------------------------------------------- */

typedef struct sbuf {
    char *buf;
    size_t len, used;
} sbuf;

static void put(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = s->used < s->len ? s->len - s->used : 0;
    int k = vsnprintf(room ? s->buf + s->used : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0) s->used += (size_t)k;
}

static void repeat(sbuf *s, const char *glyph, int n) {
    for (int i = 0; i < n; i++) put(s, "%s", glyph);
}

/* "8,809" */
static void thousands(int64_t v, char *out, size_t len) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), k = 0;
    for (int i = 0; i < n && (size_t)k + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = 0;
}

static void memory(int64_t bytes, char *out, size_t len) {
    const char *units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 5) v /= 1024, u++;
    snprintf(out, len, "%.2f %s", v, units[u]);
}

static void row(sbuf *s, const char *l, const char *mid, const char *r, const char *line) {
    const int w[3] = {33, 24, 15};
    put(s, "%s", l);
    repeat(s, line, w[0]);
    put(s, "%s", mid);
    repeat(s, line, w[1]);
    put(s, "%s", mid);
    repeat(s, line, w[2]);
    put(s, "%s\n", r);
}

size_t rc_model_summary(const rc_model *m, char *buf, size_t len) {
    sbuf s = {buf, len, 0};
    if (buf && len) buf[0] = 0;
    if (!m) return 0;
    put(&s, "Model: \"%s\"\n", m->name);
    row(&s, "┏", "┳", "┓", "━");
    put(&s, "┃ %-31s ┃ %-22s ┃ %13s ┃\n", "Layer (type)", "Output Shape", "Param #");
    row(&s, "┡", "╇", "┩", "━");
    int64_t total = 0;
    for (int i = 0; i < m->n; i++) {
        rc_layer_info in;
        rc_model_layer_info(m, i, &in);
        char name[160], shape[96], count[40];
        snprintf(name, sizeof name, "%s (%s)", in.name, in.type);
        if (in.output.ndim == 0) snprintf(shape, sizeof shape, "?");
        else {
            int k = snprintf(shape, sizeof shape, "(None");
            for (int d = 1; d < in.output.ndim && k > 0 && (size_t)k < sizeof shape; d++)
                k += snprintf(shape + k, sizeof shape - (size_t)k, ", %lld", (long long)in.output.dim[d]);
            if (k > 0 && (size_t)k < sizeof shape) snprintf(shape + k, sizeof shape - (size_t)k, ")");
        }
        thousands(in.params, count, sizeof count);
        put(&s, "│ %-31s │ %-22s │ %13s │\n", name, shape, count);
        if (i + 1 < m->n) row(&s, "├", "┼", "┤", "─");
        total += in.params;
    }
    row(&s, "└", "┴", "┘", "─");
    char count[40], mem[40];
    thousands(total, count, sizeof count);
    memory(total * 4, mem, sizeof mem);
    put(&s, " Total params: %s (%s)\n", count, mem);
    put(&s, " Trainable params: %s (%s)\n", count, mem);
    put(&s, " Non-trainable params: 0 (0.00 B)\n");
    if (buf && len && s.used >= len) buf[len - 1] = 0;
    return s.used;
}
