/* Graphs, nodes, scopes and the sticky first error. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

rc_graph *rc_graph_new(void) {
    rc_graph *g = rc_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->scope_cap = 64;
    g->anchor = -1;
    g->scope = rc_calloc(1, g->scope_cap);
    if (!g->scope) {
        rc_free(g);
        return NULL;
    }
    return g;
}

void rc_graph_schedule_after(rc_graph *g, const rc_node *anchor) {
    if (g) g->anchor = anchor && anchor->graph == g ? anchor->id : -1;
}

void rc_graph_set_fusion(rc_graph *g, bool on) {
    if (g) g->no_fusion = !on;
}

bool rc_graph_fusion(const rc_graph *g) { return g && !g->no_fusion; }

static void free_node(rc_node *n) {
    if (!n) return;
    rc_limits_release(n->held);
    rc_tensor_free(n->value);
    rc_free(n->in);
    rc_free(n->name);
    rc_free(n->scope);
    rc_free(n);
}

void rc_graph_free(rc_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->nnodes; i++) free_node(g->nodes[i]);
    rc_free(g->nodes);
    rc_free(g->scope);
    rc_free(g->scope_marks);
    rc_free(g->grad_rec);
    rc_free(g);
}

const char *rc_graph_error(const rc_graph *g) {
    if (!g) return "graph is NULL";
    return g->status == RC_OK ? NULL : g->err;
}

rc_status rc_graph_status(const rc_graph *g) { return g ? g->status : RC_ERR_ARG; }

rc_status rc_error_from_graph(rc_error *e, const rc_graph *g, const char *where) {
    rc_status s = rc_graph_status(g);
    if (s == RC_OK) return RC_OK;
    return rc_error_set(e, s, where, "%s", rc_graph_error(g));
}

void rc_graph_clear_error(rc_graph *g) {
    if (!g) return;
    g->status = RC_OK;
    g->err[0] = 0;
}

static void vfail(rc_graph *g, rc_status s, const char *prefix, const char *fmt, va_list ap) {
    if (!g || g->status != RC_OK) return;
    g->status = s == RC_OK ? RC_ERR_ARG : s;
    int k = snprintf(g->err, sizeof g->err, "%s", prefix ? prefix : "");
    if (k < 0) k = 0;
    if ((size_t)k < sizeof g->err) vsnprintf(g->err + k, sizeof g->err - (size_t)k, fmt, ap);
}

rc_node *rc_graph_fail(rc_graph *g, rc_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(g, s, NULL, fmt, ap);
    va_end(ap);
    return NULL;
}

bool rc_node_fail(rc_graph *g, const rc_node *n, rc_status s, const char *fmt, ...) {
    char prefix[400], path[300];
    snprintf(prefix, sizeof prefix, "%s at '%s': ", n->op->name, rc_node_path(n, path, sizeof path));
    va_list ap;
    va_start(ap, fmt);
    vfail(g, s, prefix, fmt, ap);
    va_end(ap);
    return false;
}

int rc_graph_node_count(const rc_graph *g) { return g ? g->nnodes : 0; }
rc_node *rc_graph_node(const rc_graph *g, int id) {
    return g && id >= 0 && id < g->nnodes ? g->nodes[id] : NULL;
}

static bool name_ok(const char *name) { return name && *name && !strchr(name, '/'); }

bool rc_scope_push(rc_graph *g, const char *name) {
    if (!g) return false;
    if (!name_ok(name)) {
        rc_graph_fail(g, RC_ERR_ARG, "rc_scope_push: scope name %s%s%s is empty or contains '/'",
                      name ? "'" : "", name ? name : "NULL", name ? "'" : "");
        return false;
    }
    size_t add = strlen(name) + (g->scope_len ? 1 : 0);
    if (g->scope_len + add + 1 > g->scope_cap) {
        size_t cap = (g->scope_len + add + 1) * 2;
        char *s = rc_realloc(g->scope, cap);
        if (!s) return rc_graph_fail(g, RC_ERR_NOMEM, "rc_scope_push: out of memory"), false;
        g->scope = s;
        g->scope_cap = cap;
    }
    if (g->scope_depth == g->scope_marks_cap) {
        int cap = g->scope_marks_cap ? g->scope_marks_cap * 2 : 16;
        size_t *m = rc_realloc(g->scope_marks, (size_t)cap * sizeof *m);
        if (!m) return rc_graph_fail(g, RC_ERR_NOMEM, "rc_scope_push: out of memory"), false;
        g->scope_marks = m;
        g->scope_marks_cap = cap;
    }
    g->scope_marks[g->scope_depth++] = g->scope_len;
    if (g->scope_len) g->scope[g->scope_len++] = '/';
    strcpy(g->scope + g->scope_len, name);
    g->scope_len += strlen(name);
    return true;
}

void rc_scope_pop(rc_graph *g) {
    if (!g || g->scope_depth == 0) return;
    g->scope_len = g->scope_marks[--g->scope_depth];
    g->scope[g->scope_len] = 0;
}

const char *rc_scope_path(const rc_graph *g) { return g ? g->scope : ""; }

bool rc_axis_norm(int64_t *axis, int ndim) {
    if (*axis < 0) *axis += ndim;
    return *axis >= 0 && *axis < ndim;
}

bool rc_require_dtype(rc_graph *g, const rc_node *n, int k, rc_dtype want) {
    if (n->in[k]->dtype == want) return true;
    return rc_node_fail(g, n, RC_ERR_ARG, "input %d has dtype %s, expected %s", k,
                        rc_dtype_name(n->in[k]->dtype), rc_dtype_name(want));
}

bool rc_require_float_pair(rc_graph *g, const rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32) || !rc_require_dtype(g, n, 1, RC_F32)) return false;
    if (rc_shape_eq(n->in[0]->shape, n->in[1]->shape)) return true;
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    return rc_node_fail(g, n, RC_ERR_SHAPE, "shapes %s and %s differ", rc_shape_str(n->in[0]->shape, a, sizeof a),
                        rc_shape_str(n->in[1]->shape, b, sizeof b));
}

bool rc_fail_shape(rc_graph *g, const rc_node *n, const char *what, rc_shape s) {
    char a[RC_SHAPE_STRLEN];
    return rc_node_fail(g, n, RC_ERR_SHAPE, "%s has shape %s", what, rc_shape_str(s, a, sizeof a));
}

rc_node *rc_node_make(rc_graph *g, const rc_op *op, rc_node *const *in, int nin,
                      const rc_attr *attr, const char *name) {
    if (!g || !op) return NULL;
    const char *opname = op->name;
    if (nin < 0 || (op->arity >= 0 && nin != op->arity) || (op->arity < 0 && nin < 1))
        return rc_graph_fail(g, RC_ERR_ARG, "%s: takes %d input%s, got %d", opname,
                             op->arity, op->arity == 1 ? "" : "s", nin);
    if (nin > 0 && !in) return rc_graph_fail(g, RC_ERR_ARG, "%s: inputs array is NULL", opname);
    for (int k = 0; k < nin; k++) {
        if (!in[k]) {
            if (g->status != RC_OK) return NULL; /* poisoned: propagate quietly */
            return rc_graph_fail(g, RC_ERR_ARG, "%s: input %d is NULL", opname, k);
        }
        if (in[k]->graph != g)
            return rc_graph_fail(g, RC_ERR_ARG, "%s: input %d belongs to another graph", opname, k);
    }
    if (name && !name_ok(name))
        return rc_graph_fail(g, RC_ERR_ARG, "%s: node name '%s' is empty or contains '/'", opname, name);

    rc_node *n = rc_calloc(1, sizeof *n);
    if (!n) return rc_graph_fail(g, RC_ERR_NOMEM, "%s: out of memory", opname);
    n->graph = g;
    n->op = op;
    n->nin = nin;
    n->id = g->nnodes;
    if (attr) n->attr = *attr;
    n->in = rc_calloc((size_t)(nin ? nin : 1), sizeof *n->in);
    n->name = rc_strdup(name ? name : opname);
    n->named = name != NULL;
    n->scope = rc_strdup(g->grad_scope ? g->grad_scope : g->scope);
    if (!n->in || !n->name || !n->scope) {
        free_node(n);
        return rc_graph_fail(g, RC_ERR_NOMEM, "%s: out of memory", opname);
    }
    /* A graph's nodes count in the memory limit like tensors do: a file
     * that asks for 2^31 unrolled steps is refused when its nodes reach the
     * limit, not when the machine runs out. */
    int64_t held = (int64_t)(sizeof *n + (size_t)(nin ? nin : 1) * sizeof *n->in + strlen(n->name) +
                             strlen(n->scope) + 2);
    if (!rc_limits_reserve(held)) {
        char a[32], b[32];
        free_node(n);
        return rc_graph_fail(g, RC_ERR_NOMEM, "%s: the graph's %d nodes and the tensors held reach the memory limit "
                             "of %s (%s in use; rc_limits, recur --max-memory)", opname, g->nnodes,
                             rc_bytes_str(rc_limits_get().max_bytes, a, sizeof a),
                             rc_bytes_str(rc_limits_in_use(), b, sizeof b));
    }
    n->held = held;
    for (int k = 0; k < nin; k++) n->in[k] = in[k];
    n->is_grad = g->grad_scope != NULL;
    n->after = g->anchor;
    n->dtype = RC_F32;
    if (!op->infer(g, n)) {
        free_node(n);
        return NULL;
    }
    if (!rc_shape_valid(n->shape)) {
        char s[RC_SHAPE_STRLEN];
        rc_node_fail(g, n, RC_ERR_SHAPE, "result shape %s is invalid or too large",
                     rc_shape_str(n->shape, s, sizeof s));
        free_node(n);
        return NULL;
    }
    if (g->nnodes == g->cap) {
        if (g->cap > INT_MAX / 2) { /* node ids are int */
            free_node(n);
            return rc_graph_fail(g, RC_ERR_NOMEM, "%s: the graph has %d nodes, the most one graph can hold", opname,
                                 g->nnodes);
        }
        int cap = g->cap ? g->cap * 2 : 256;
        rc_node **nodes = rc_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            free_node(n);
            return rc_graph_fail(g, RC_ERR_NOMEM, "%s: out of memory", opname);
        }
        g->nodes = nodes;
        g->cap = cap;
    }
    g->nodes[g->nnodes++] = n;
    return n;
}

void rc_graph_truncate(rc_graph *g, int mark) {
    if (!g || mark < 0) return;
    while (g->nnodes > mark) free_node(g->nodes[--g->nnodes]);
    /* an anchor among the removed nodes would point past the end */
    if (g->anchor >= g->nnodes) g->anchor = -1;
    /* and so would gradient records naming a removed node (gradcheck's
     * scratch gradients) */
    int k = 0;
    for (int i = 0; i < g->ngrad_rec; i++) {
        int *r = g->grad_rec[i];
        if (r[0] < g->nnodes && r[1] < g->nnodes && r[2] < g->nnodes) memmove(g->grad_rec[k++], r, sizeof *g->grad_rec);
    }
    g->ngrad_rec = k;
}

int rc_node_id(const rc_node *n) { return n ? n->id : -1; }
rc_graph *rc_node_graph(const rc_node *n) { return n ? n->graph : NULL; }
const rc_op *rc_node_op(const rc_node *n) { return n ? n->op : NULL; }
const char *rc_node_op_name(const rc_node *n) { return n ? n->op->name : "(null)"; }
rc_dtype rc_node_dtype(const rc_node *n) { return n ? n->dtype : RC_F32; }
rc_shape rc_node_shape(const rc_node *n) { return n ? n->shape : RC_SCALAR; }
int64_t rc_node_numel(const rc_node *n) { return n ? rc_shape_numel(n->shape) : 0; }
int rc_node_ninputs(const rc_node *n) { return n ? n->nin : 0; }
rc_node *rc_node_input(const rc_node *n, int i) {
    return n && i >= 0 && i < n->nin ? n->in[i] : NULL;
}
const char *rc_node_name(const rc_node *n) { return n ? n->name : "(null)"; }
const char *rc_node_scope(const rc_node *n) { return n ? n->scope : ""; }

char *rc_node_path(const rc_node *n, char *buf, size_t len) {
    if (!n) snprintf(buf, len, "(null)");
    else if (n->scope[0]) snprintf(buf, len, "%s/%s", n->scope, n->name);
    else snprintf(buf, len, "%s", n->name);
    return buf;
}

bool rc_node_rename(rc_node *n, const char *name) {
    if (!n) return false;
    if (!name_ok(name)) {
        rc_graph_fail(n->graph, RC_ERR_ARG, "rc_node_rename: name is empty or contains '/'");
        return false;
    }
    char *s = rc_strdup(name);
    if (!s) return rc_graph_fail(n->graph, RC_ERR_NOMEM, "rc_node_rename: out of memory"), false;
    rc_free(n->name);
    n->name = s;
    n->named = true;
    return true;
}

bool rc_node_is_gradient(const rc_node *n) { return n && n->is_grad; }
bool rc_node_is_param(const rc_node *n) { return n && n->is_param; }
bool rc_node_is_input(const rc_node *n) { return n && n->op == &rc_op_input; }
bool rc_node_is_leaf(const rc_node *n) { return n && (n->op->flags & RC_OPF_LEAF); }

rc_tensor *rc_node_value(rc_node *n) { return n ? n->value : NULL; }
void *rc_node_data(rc_node *n) { return n && n->value ? n->value->data : NULL; }

static bool set_leaf(rc_node *n, const void *values, rc_dtype dt, const char *fn) {
    if (!n) return false;
    if (!n->value)
        return rc_graph_fail(n->graph, RC_ERR_ARG, "%s: node '%s' (%s) is not an input, parameter or constant",
                             fn, n->name, n->op->name), false;
    if (n->dtype != dt)
        return rc_graph_fail(n->graph, RC_ERR_ARG, "%s: node '%s' has dtype %s, not %s", fn, n->name,
                             rc_dtype_name(n->dtype), rc_dtype_name(dt)), false;
    if (!values)
        return rc_graph_fail(n->graph, RC_ERR_ARG, "%s: values are NULL", fn), false;
    memcpy(n->value->data, values, rc_tensor_bytes(n->value));
    return true;
}

bool rc_node_set(rc_node *n, const float *values) { return set_leaf(n, values, RC_F32, "rc_node_set"); }
bool rc_node_set_i32(rc_node *n, const int32_t *values) {
    return set_leaf(n, values, RC_I32, "rc_node_set_i32");
}

int rc_graph_params(const rc_graph *g, rc_node **out, int max) {
    int count = 0;
    if (!g) return 0;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->is_param) {
            if (out && count < max) out[count] = g->nodes[i];
            count++;
        }
    return count;
}

bool rc_node_rng_state(const rc_node *n, uint64_t state[4]) {
    if (!n || !(n->op->flags & RC_OPF_RNG_STATE)) return false;
    memcpy(state, &n->attr.i[8], 4 * sizeof *state);
    return true;
}

bool rc_node_set_rng_state(rc_node *n, const uint64_t state[4]) {
    if (!n || !(n->op->flags & RC_OPF_RNG_STATE)) return false;
    memcpy(&n->attr.i[8], state, 4 * sizeof *state);
    return true;
}
