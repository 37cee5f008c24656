/* Models: owned layers, sequential application with mask propagation,
 * functional calls, parameter counts and the Keras-style summary. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "recur/model.h"
#include "recur/ops.h"

typedef enum kind { K_RNN, K_BIDIR, K_DENSE, K_EMBEDDING, K_MASKING, K_DROPOUT, K_NOTE } kind;

typedef struct entry {
    kind k;
    void *layer;       /* rc_rnn*, rc_bidir*, rc_dense*, rc_embedding*, or NULL */
    char name[64];     /* masking / dropout (the others carry their own) */
    double value;      /* mask value or dropout rate */
    rc_shape out;      /* shape of the last output, ndim 0 before */
    char type[32];     /* class name shown instead of the kind's ("" = the kind's) */
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

static void free_layer(entry *e) {
    switch (e->k) {
    case K_RNN: rc_rnn_free(e->layer); break;
    case K_BIDIR: rc_bidir_free(e->layer); break;
    case K_DENSE: rc_dense_free(e->layer); break;
    case K_EMBEDDING: rc_embedding_free(e->layer); break;
    default: break;
    }
}

void rc_model_free(rc_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) free_layer(&m->e[i]);
    rc_free(m->e);
    rc_free(m);
}

const char *rc_model_name(const rc_model *m) { return m ? m->name : ""; }

/* Append (taking ownership even on failure). */
static entry *push(rc_model *m, kind k, void *layer, const char *name, double value) {
    entry e = {.k = k, .layer = layer, .value = value};
    snprintf(e.name, sizeof e.name, "%s", name && *name && !strchr(name, '/') ? name
                                          : k == K_MASKING ? "masking" : "dropout");
    if (!m || ((k <= K_EMBEDDING) && !layer)) {
        free_layer(&e);
        return NULL;
    }
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        entry *ne = rc_realloc(m->e, (size_t)cap * sizeof *ne);
        if (!ne) {
            free_layer(&e);
            return NULL;
        }
        m->e = ne;
        m->cap = cap;
    }
    m->e[m->n] = e;
    return &m->e[m->n++];
}

static rc_status add(rc_model *m, kind k, void *layer, const char *name, double v) {
    if (!m || (k <= K_EMBEDDING && !layer)) {
        push(NULL, k, layer, name, v);
        return RC_ERR_ARG;
    }
    return push(m, k, layer, name, v) ? RC_OK : RC_ERR_NOMEM;
}

rc_status rc_model_add_rnn(rc_model *m, rc_rnn *l) { return add(m, K_RNN, l, NULL, 0); }
rc_status rc_model_add_bidir(rc_model *m, rc_bidir *b) { return add(m, K_BIDIR, b, NULL, 0); }
rc_status rc_model_add_dense(rc_model *m, rc_dense *d) { return add(m, K_DENSE, d, NULL, 0); }
rc_status rc_model_add_embedding(rc_model *m, rc_embedding *e) { return add(m, K_EMBEDDING, e, NULL, 0); }
rc_status rc_model_add_masking(rc_model *m, const char *name, double v) { return add(m, K_MASKING, NULL, name, v); }
rc_status rc_model_add_dropout(rc_model *m, const char *name, double r) { return add(m, K_DROPOUT, NULL, name, r); }

static const char *entry_name(const entry *e) {
    switch (e->k) {
    case K_RNN: return rc_rnn_name(e->layer);
    case K_BIDIR: return rc_bidir_name(e->layer);
    case K_DENSE: return rc_dense_name(e->layer);
    case K_EMBEDDING: return rc_embedding_name(e->layer);
    default: return e->name;
    }
}

/* Keras class name of an RNN layer: its cell's class without "Cell". */
static const char *rnn_type(rc_rnn *l) {
    const char *t = rc_rnn_cell(l)->cls->type;
    if (!strcmp(t, "SimpleRNNCell")) return "SimpleRNN";
    if (!strcmp(t, "LSTMCell")) return "LSTM";
    if (!strcmp(t, "GRUCell")) return "GRU";
    return "RNN";
}

static const char *entry_type(const entry *e) {
    if (e->type[0]) return e->type;
    switch (e->k) {
    case K_RNN: return rnn_type(e->layer);
    case K_BIDIR: return "Bidirectional";
    case K_DENSE: return "Dense";
    case K_EMBEDDING: return "Embedding";
    case K_MASKING: return "Masking";
    case K_DROPOUT: return "Dropout";
    case K_NOTE: return "Layer";
    }
    return "?";
}

/* Weights of an entry in Keras order. */
static int entry_params(const entry *e, rc_node **out, int max) {
    rc_node *const *p = NULL;
    int n = 0, total = 0;
    rc_cell *cells[2] = {NULL, NULL};
    switch (e->k) {
    case K_RNN: cells[0] = rc_rnn_cell(e->layer); break;
    case K_BIDIR:
        cells[0] = rc_rnn_cell(rc_bidir_forward(e->layer));
        cells[1] = rc_rnn_cell(rc_bidir_backward(e->layer));
        break;
    case K_DENSE: p = rc_dense_params(e->layer), n = rc_dense_nparams(e->layer); break;
    case K_EMBEDDING: p = rc_embedding_params(e->layer), n = rc_embedding_nparams(e->layer); break;
    default: break;
    }
    for (int c = 0; c < 2 && cells[c]; c++)
        for (int k = 0; k < cells[c]->nparams; k++, total++)
            if (out && total < max) out[total] = cells[c]->params[k];
    for (int k = 0; k < n; k++, total++)
        if (out && total < max) out[total] = p[k];
    return total;
}

static int64_t entry_count(const entry *e) {
    rc_node *p[2 * RC_MAX_CELL_PARAMS];
    int n = entry_params(e, p, 2 * RC_MAX_CELL_PARAMS);
    int64_t s = 0;
    for (int k = 0; k < n && k < 2 * RC_MAX_CELL_PARAMS; k++) s += rc_node_numel(p[k]);
    return s;
}

/* --- sequential application --------------------------------------------------- */

/* Explicit states of a sequential application: the recurrent layers'
 * initial states are taken from init (in layer order) and their final
 * states appended to fin; NULL when the caller wants neither. */
typedef struct states {
    rc_node *const *init;
    int ninit, used;
    rc_node **fin;
    int max_fin, nfin;
} states;

/* The next n initial states (NULL = zeros, when none were given). */
static rc_node *const *take_states(states *s, int n) {
    if (!s || s->ninit == 0) return NULL;
    rc_node *const *p = s->init + s->used;
    s->used += n;
    return p;
}

static void give_states(states *s, rc_node *const *st, int n) {
    for (int k = 0; s && s->fin && k < n; k++, s->nfin++)
        if (s->nfin < s->max_fin) s->fin[s->nfin] = st[k];
}

static rc_node *apply(rc_model *m, rc_graph *g, rc_node *x, bool training, rc_rng *rng, states *sts) {
    if (!g) return NULL;
    if (!m) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_apply: model is NULL");
    if (!x) return rc_graph_status(g) != RC_OK ? NULL : rc_graph_fail(g, RC_ERR_ARG, "model '%s': input is NULL", m->name);
    if (m->n == 0) return rc_graph_fail(g, RC_ERR_STATE, "model '%s' has no layers", m->name);
    rc_node *mask = NULL;
    if (!rc_scope_push(g, m->name)) return NULL;
    for (int i = 0; i < m->n && x; i++) {
        entry *e = &m->e[i];
        rc_rnn_call call = {.mask = mask, .training = training, .rng = rng};
        switch (e->k) {
        case K_EMBEDDING: x = rc_embedding_apply(e->layer, g, x, rng, &mask); break;
        case K_MASKING: x = rc_masking(g, x, e->value, &mask); break;
        case K_DROPOUT: x = rc_dropout(g, x, e->value, training, rng); break;
        case K_NOTE: break; /* a row for the summary only */
        case K_DENSE: x = rc_dense_apply(e->layer, g, x, rng); break;
        case K_RNN: {
            const rc_rnn_config *c = rc_rnn_get_config(e->layer);
            if (c->return_state) {
                x = rc_graph_fail(g, RC_ERR_ARG, "model '%s': layer '%s' returns states; wire it with rc_model_call_rnn",
                                  m->name, entry_name(e));
                break;
            }
            int n = rc_rnn_cell(e->layer)->nstates;
            call.initial_state = take_states(sts, n);
            call.ninitial = call.initial_state ? n : 0;
            rc_rnn_out o;
            x = rc_rnn_apply(e->layer, g, x, &call, &o) == RC_OK ? o.output : NULL;
            if (x) give_states(sts, o.state, o.nstates);
            if (!c->return_sequences) mask = NULL;
            break;
        }
        case K_BIDIR: {
            const rc_rnn_config *c = rc_rnn_get_config(rc_bidir_forward(e->layer));
            if (c->return_state || rc_bidir_merge_mode(e->layer) == RC_MERGE_NONE) {
                x = rc_graph_fail(g, RC_ERR_ARG,
                                  "model '%s': layer '%s' returns several tensors; wire it with rc_model_call_bidir",
                                  m->name, entry_name(e));
                break;
            }
            int n = rc_rnn_cell(rc_bidir_forward(e->layer))->nstates + rc_rnn_cell(rc_bidir_backward(e->layer))->nstates;
            call.initial_state = take_states(sts, n);
            call.ninitial = call.initial_state ? n : 0;
            rc_bidir_out o;
            x = rc_bidir_apply(e->layer, g, x, &call, &o) == RC_OK ? o.output : NULL;
            if (x) give_states(sts, o.state, o.nstates);
            if (!c->return_sequences) mask = NULL;
            break;
        }
        }
        if (x) e->out = rc_node_shape(x);
    }
    rc_scope_pop(g);
    return x;
}

rc_node *rc_model_apply(rc_model *m, rc_graph *g, rc_node *x, bool training, rc_rng *rng) {
    return apply(m, g, x, training, rng, NULL);
}

int rc_model_state_sizes(const rc_model *m, int64_t *sizes, int max) {
    int total = 0;
    for (int i = 0; m && i < m->n; i++) {
        rc_cell *cells[2] = {NULL, NULL};
        if (m->e[i].k == K_RNN) cells[0] = rc_rnn_cell(m->e[i].layer);
        else if (m->e[i].k == K_BIDIR)
            cells[0] = rc_rnn_cell(rc_bidir_forward(m->e[i].layer)), cells[1] = rc_rnn_cell(rc_bidir_backward(m->e[i].layer));
        for (int c = 0; c < 2 && cells[c]; c++)
            for (int k = 0; k < cells[c]->nstates; k++, total++)
                if (sizes && total < max) sizes[total] = cells[c]->state_size[k];
    }
    return total;
}

rc_node *rc_model_apply_states(rc_model *m, rc_graph *g, rc_node *x, bool training, rc_rng *rng,
                               rc_node *const *initial, int ninitial, rc_node **final, int max_final, int *nfinal) {
    if (nfinal) *nfinal = 0;
    if (!g) return NULL;
    int want = rc_model_state_sizes(m, NULL, 0);
    if (ninitial != 0 && (ninitial != want || !initial))
        return rc_graph_fail(g, RC_ERR_ARG, "model '%s': %d initial states given, its recurrent layers have %d",
                             rc_model_name(m), ninitial, want);
    if (final && max_final < want)
        return rc_graph_fail(g, RC_ERR_ARG, "model '%s': room for %d final states, its recurrent layers have %d",
                             rc_model_name(m), max_final, want);
    states s = {.init = initial, .ninit = ninitial, .fin = final, .max_fin = max_final};
    rc_node *y = apply(m, g, x, training, rng, &s);
    if (y && nfinal) *nfinal = s.nfin;
    return y;
}

/* --- functional calls ------------------------------------------------------------ */

/* The entry of a layer already owned, or a new one. */
static entry *track(rc_model *m, kind k, void *layer) {
    for (int i = 0; i < m->n; i++)
        if (m->e[i].layer == layer) return &m->e[i];
    return push(m, k, layer, NULL, 0);
}

rc_status rc_model_call_rnn(rc_model *m, rc_rnn *l, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                            rc_rnn_out *out) {
    if (!m || !l) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_rnn: model or layer is NULL"), RC_ERR_ARG;
    entry *e = track(m, K_RNN, l);
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    rc_status st = rc_rnn_apply(l, g, x, call, out);
    if (st == RC_OK) e->out = rc_node_shape(out->output);
    return st;
}

rc_status rc_model_call_bidir(rc_model *m, rc_bidir *b, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                              rc_bidir_out *out) {
    if (!m || !b) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_bidir: model or layer is NULL"), RC_ERR_ARG;
    entry *e = track(m, K_BIDIR, b);
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name), RC_ERR_NOMEM;
    rc_status st = rc_bidir_apply(b, g, x, call, out);
    if (st == RC_OK) e->out = rc_node_shape(out->output ? out->output : out->output_forward);
    return st;
}

rc_node *rc_model_call_dense(rc_model *m, rc_dense *d, rc_graph *g, rc_node *x, rc_rng *rng) {
    if (!m || !d) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_dense: model or layer is NULL");
    entry *e = track(m, K_DENSE, d);
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name);
    rc_node *y = rc_dense_apply(d, g, x, rng);
    if (y) e->out = rc_node_shape(y);
    return y;
}

rc_node *rc_model_call_embedding(rc_model *m, rc_embedding *em, rc_graph *g, rc_node *ids, rc_rng *rng,
                                 rc_node **mask_out) {
    if (!m || !em) return rc_graph_fail(g, RC_ERR_ARG, "rc_model_call_embedding: model or layer is NULL");
    entry *e = track(m, K_EMBEDDING, em);
    if (!e) return rc_graph_fail(g, RC_ERR_NOMEM, "model '%s': out of memory", m->name);
    rc_node *y = rc_embedding_apply(em, g, ids, rng, mask_out);
    if (y) e->out = rc_node_shape(y);
    return y;
}

rc_status rc_model_note_call(rc_model *m, const char *name, const char *type, rc_shape out) {
    if (!m || !name || !type) return RC_ERR_ARG;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(entry_name(&m->e[i]), name)) {
            snprintf(m->e[i].type, sizeof m->e[i].type, "%s", type);
            m->e[i].out = out;
            return RC_OK;
        }
    entry *e = push(m, K_NOTE, NULL, name, 0);
    if (!e) return RC_ERR_NOMEM;
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->type, sizeof e->type, "%s", type);
    e->out = out;
    return RC_OK;
}

/* --- inspection ----------------------------------------------------------------- */

int rc_model_layer_count(const rc_model *m) { return m ? m->n : 0; }

bool rc_model_layer_info(const rc_model *m, int i, rc_layer_info *info) {
    if (!m || i < 0 || i >= m->n || !info) return false;
    const entry *e = &m->e[i];
    info->name = entry_name(e);
    info->type = entry_type(e);
    info->output = e->out;
    info->params = entry_count(e);
    return true;
}

int rc_model_params(const rc_model *m, rc_node **out, int max) {
    int total = 0;
    for (int i = 0; m && i < m->n; i++) {
        int room = out && total < max ? max - total : 0;
        total += entry_params(&m->e[i], room ? out + total : NULL, room);
    }
    return total;
}

int64_t rc_model_param_count(const rc_model *m) {
    int64_t s = 0;
    for (int i = 0; m && i < m->n; i++) s += entry_count(&m->e[i]);
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
