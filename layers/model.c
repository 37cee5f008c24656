/* Models: owned layers, sequential application with mask propagation,
 * functional calls, parameter counts and the Keras-style summary. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "recur/model.h"
#include "recur/ops.h"
#include "recur/strbuf.h"

/* One row: an owned layer, what the last call made, and the class name to
 * show instead of the layer's own (rc_model_note_call). */
typedef struct entry {
    rc_layer *layer;
    rc_shape in;       /* shape of the last call's input, ndim 0 unknown */
    rc_shape out;      /* shape of the last call's first output, ndim 0 before */
    char type[32];     /* "" = the layer's class name */
    /* For the drawing's edges: the row whose output the last call read
     * (-1 unknown), and that call's output and graph, compared (never
     * dereferenced) with later calls' inputs. */
    int from;
    const rc_node *out_node;
    const rc_graph *out_graph;
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
    m->e[m->n] = (entry){.layer = l, .from = -1};
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
        e->in = rc_node_shape(x);
        e->from = i - 1;
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

/* Before a call: its input shape and the row that made its input. */
static void note_input(rc_model *m, entry *e, const rc_graph *g, const rc_node *x) {
    e->in = x ? rc_node_shape(x) : (rc_shape){0};
    e->from = -1;
    for (int i = 0; x && i < m->n; i++)
        if (&m->e[i] != e && m->e[i].out_graph == g && m->e[i].out_node == x) e->from = i;
}

static void note_output(entry *e, const rc_graph *g, const rc_node *y) {
    e->out = rc_node_shape(y);
    e->out_node = y;
    e->out_graph = g;
}

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
    note_input(m, e, g, in->x);
    rc_status st = rc_layer_apply(l, g, in, out);
    if (st == RC_OK) note_output(e, g, out->out[0]);
    return st;
}

rc_status rc_model_call_rnn(rc_model *m, rc_rnn *l, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                            rc_rnn_out *out) {
    if (!m || !l) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_rnn: model or layer is NULL"), RC_ERR_ARG;
    entry *e = track(m, rc_rnn_layer(l));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    note_input(m, e, g, x);
    rc_status st = rc_rnn_apply(l, g, x, call, out);
    if (st == RC_OK) note_output(e, g, out->output);
    return st;
}

rc_status rc_model_call_bidir(rc_model *m, rc_bidir *b, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                              rc_bidir_out *out) {
    if (!m || !b) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_bidir: model or layer is NULL"), RC_ERR_ARG;
    entry *e = track(m, rc_bidir_layer(b));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    note_input(m, e, g, x);
    rc_status st = rc_bidir_apply(b, g, x, call, out);
    if (st == RC_OK) note_output(e, g, out->output ? out->output : out->output_forward);
    return st;
}

rc_node *rc_model_call_dense(rc_model *m, rc_dense *d, rc_graph *g, rc_node *x, rc_rng *rng) {
    if (!m || !d) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_dense: model or layer is NULL");
    entry *e = track(m, rc_dense_layer(d));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name);
    note_input(m, e, g, x);
    rc_node *y = rc_dense_apply(d, g, x, rng);
    if (y) note_output(e, g, y);
    return y;
}

rc_node *rc_model_call_embedding(rc_model *m, rc_embedding *em, rc_graph *g, rc_node *ids, rc_rng *rng,
                                 rc_node **mask_out) {
    if (!m || !em) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_embedding: model or layer is NULL");
    entry *e = track(m, rc_embedding_layer(em));
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name);
    note_input(m, e, g, ids);
    rc_node *y = rc_embedding_apply(em, g, ids, rng, mask_out);
    if (y) note_output(e, g, y);
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

/* "(None, 4, 3)": the batch as None, as Keras prints shapes; "?" unknown. */
static void keras_shape(rc_shape sh, char *out, size_t len) {
    if (sh.ndim == 0) {
        snprintf(out, len, "?");
        return;
    }
    int k = snprintf(out, len, "(None");
    for (int d = 1; d < sh.ndim && k > 0 && (size_t)k < len; d++)
        k += snprintf(out + k, len - (size_t)k, ", %lld", (long long)sh.dim[d]);
    if (k > 0 && (size_t)k < len) snprintf(out + k, len - (size_t)k, ")");
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
        keras_shape(in.output, shape, sizeof shape);
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

/* --- drawing (plot_model) -------------------------------------------------------- */

static void box(rc_strbuf *s, const char *id, const char *name, const char *type, rc_shape in, rc_shape out, int64_t params,
                bool input) {
    char a[96], b[96], cnt[40];
    keras_shape(in, a, sizeof a);
    keras_shape(out, b, sizeof b);
    thousands(params, cnt, sizeof cnt);
    rc_strbuf_printf(s, "  \"%s\" [class=\"%s\", tooltip=\"", id, input ? "layer input" : "layer");
    rc_strbuf_html(s, name);
    rc_strbuf_printf(s, "\", label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"4\"><TR><TD COLSPAN=\"2\" "
                        "BGCOLOR=\"%s\"><B>",
                     input ? "#d9f2d9" : "#cfe0f5");
    rc_strbuf_html(s, name);
    rc_strbuf_printf(s, "</B> (");
    rc_strbuf_html(s, type);
    rc_strbuf_printf(s, ")</TD></TR>");
    if (!input) rc_strbuf_printf(s, "<TR><TD ALIGN=\"LEFT\">Input shape</TD><TD>%s</TD></TR>", a);
    rc_strbuf_printf(s, "<TR><TD ALIGN=\"LEFT\">Output shape</TD><TD>%s</TD></TR>", b);
    if (!input) rc_strbuf_printf(s, "<TR><TD ALIGN=\"LEFT\">Params</TD><TD>%s</TD></TR>", cnt);
    rc_strbuf_printf(s, "</TABLE>>];\n");
}

static bool is_input_row(const rc_model *m, int i) {
    rc_layer_info in;
    return rc_model_layer_info(m, i, &in) && strcmp(in.type, "InputLayer") == 0;
}

/* The row a call's input came from: the recorded one, else an InputLayer
 * row of the same shape (functional models note their inputs by shape
 * only), else -2 for the drawing's own input box, -1 none. */
static int source_of(const rc_model *m, int i) {
    const entry *e = &m->e[i];
    if (is_input_row(m, i)) return -1;
    if (e->from >= 0) return e->from;
    for (int j = 0; j < m->n; j++)
        if (is_input_row(m, j) && e->in.ndim && rc_shape_eq(m->e[j].out, e->in)) return j;
    return e->in.ndim ? -2 : -1;
}

static void model_dot(const rc_model *m, const char *title, rc_strbuf *s) {
    rc_strbuf_printf(s, "// recur %s: model \"", RC_VERSION_STRING);
    rc_strbuf_html(s, m->name);
    rc_strbuf_printf(s, "\", %d layer%s\ndigraph \"model\" {\n", m->n, m->n == 1 ? "" : "s");
    rc_strbuf_printf(s, "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, nodesep=0.3, ranksep=0.3");
    if (title) {
        rc_strbuf_printf(s, ", labelloc=t, fontsize=16, label=\"");
        for (const char *t = title; *t; t++) rc_strbuf_printf(s, *t == '"' || *t == '\\' ? "\\%c" : "%c", *t);
        rc_strbuf_printf(s, "\"");
    }
    rc_strbuf_printf(s, "];\n  node [shape=plaintext, fontname=\"Helvetica\", fontsize=10];\n");
    rc_strbuf_printf(s, "  edge [color=\"#555555\", arrowsize=0.7];\n");
    /* an input box when no row is the input (a Sequential model) */
    int need_input = -1;
    for (int i = 0; i < m->n && need_input < 0; i++)
        if (source_of(m, i) == -2) need_input = i;
    if (need_input >= 0) box(s, "input", "input", "InputLayer", (rc_shape){0}, m->e[need_input].in, 0, true);
    for (int i = 0; i < m->n; i++) {
        rc_layer_info in;
        rc_model_layer_info(m, i, &in);
        char id[32];
        snprintf(id, sizeof id, "layer%d", i);
        box(s, id, in.name, in.type, m->e[i].in, in.output, in.params, is_input_row(m, i));
    }
    for (int i = 0; i < m->n; i++) {
        int f = source_of(m, i);
        if (f == -2) rc_strbuf_printf(s, "  \"input\" -> \"layer%d\";\n", i);
        else if (f >= 0) rc_strbuf_printf(s, "  \"layer%d\" -> \"layer%d\";\n", f, i);
    }
    rc_strbuf_printf(s, "}\n");
}

rc_status rc_model_dot_string(const rc_model *m, const char *title, char **out, size_t *len, rc_error *err) {
    static const char fn[] = "rc_model_dot_string";
    if (out) *out = NULL;
    if (len) *len = 0;
    if (!m || !out) return rc_error_set(err, RC_ERR_ARG, fn, "%s is NULL", m ? "out" : "model");
    rc_strbuf s = {0};
    model_dot(m, title, &s);
    size_t n = s.n;
    char *text = rc_strbuf_take(&s);
    if (!text) return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
    *out = text;
    if (len) *len = n;
    return RC_OK;
}
