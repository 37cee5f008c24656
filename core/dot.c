/* DOT export of graphs (the text; frontends/render/render.c lays it out
 * and renders it through libgvc).
 *
 * The writer works in three passes over the nodes, always by id (creation
 * order), so its output depends only on the graph:
 *   1. choose the nodes to draw (outputs' ancestors, gradients on/off, the
 *      gradient paths to chosen parameters) and build the tree of their
 *      scopes (each prefix of a path is an entry, children in order of first
 *      appearance);
 *   2. map every drawn node to a unit: itself, its time step's box (cell
 *      level), its layer's box (layer level) or its layer's ellipsis
 *      (hidden steps); each unit sits in the cluster of one scope, in the
 *      forward tree or the mirrored gradient tree;
 *   3. edges between units: node to node one DOT edge per graph edge,
 *      anything touching a box once per pair, labelled with what crosses.
 * Then the clusters are written depth-first, the edges after them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/autodiff.h"
#include "recur/dot.h"
#include "recur/op.h"
#include "recur/strbuf.h"


/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static int utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

/* The contents of a quoted DOT string that Graphviz shows as `s`: quotes
 * and backslashes escaped, '&' as an entity (Graphviz decodes entities in
 * labels), newlines as \n, other control bytes as spaces, invalid UTF-8 as
 * '?'. */
static void dot_esc(rc_strbuf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '"') rc_strbuf_put(b, "\\\"", 2);
        else if (c == '\\') rc_strbuf_put(b, "\\\\", 2);
        else if (c == '&') rc_strbuf_put(b, "&amp;", 5);
        else if (c == '\n') rc_strbuf_put(b, "\\n", 2);
        else if (c < 0x20 || c == 0x7F) rc_strbuf_put(b, " ", 1);
        else if (c < 0x80) rc_strbuf_put(b, (const char *)p, 1);
        else {
            int n = utf8_len(p);
            if (n == 0) {
                rc_strbuf_put(b, "?", 1);
                p++;
                continue;
            }
            rc_strbuf_put(b, (const char *)p, (size_t)n);
            p += n;
            continue;
        }
        p++;
    }
}

/* IDs keep letters, digits and _ . : / - of a path; anything else is '_'. */
static char id_char(unsigned char c) {
    return (char)((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c && strchr("_.:/-", c))
                      ? c
                      : '_');
}

static void id_frag(char *dst, size_t len, const char *s) {
    size_t k = 0;
    for (; *s && k + 1 < len; s++) dst[k++] = id_char((unsigned char)*s);
    dst[k] = 0;
}

static void dot_id(rc_strbuf *b, const char *s) {
    for (; *s; s++) {
        char o = id_char((unsigned char)*s);
        rc_strbuf_put(b, &o, 1);
    }
}

char *rc_dot_node_id(const rc_node *n, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (!n) {
        snprintf(buf, len, "(null)");
        return buf;
    }
    char frag[512];
    char path[600];
    if (n->scope[0]) snprintf(path, sizeof path, "%s/%s", n->scope, n->name);
    else snprintf(path, sizeof path, "%s", n->name);
    id_frag(frag, sizeof frag, path);
    snprintf(buf, len, "%s%s#%d", n->is_grad ? "grad:" : "", frag, n->id);
    return buf;
}

/* --- options ------------------------------------------------------------------------ */

rc_dot_options rc_dot_defaults(void) {
    return (rc_dot_options){.level = RC_DOT_OP, .gradients = true, .legend = true};
}

static const char *const level_names[] = {"op", "cell", "layer"};

bool rc_dot_level_parse(const char *name, rc_dot_level *out) {
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, level_names[i]) == 0) {
            if (out) *out = (rc_dot_level)i;
            return true;
        }
    return false;
}

const char *rc_dot_level_name(rc_dot_level level) {
    return level >= RC_DOT_OP && level <= RC_DOT_LAYER ? level_names[level] : "unknown";
}

const char *rc_dot_format_of(const char *path) {
    if (!path) return NULL;
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash) || dot == path || dot[-1] == '/') return NULL;
    static const char *const ext[][2] = {{"dot", "dot"}, {"gv", "dot"}, {"svg", "svg"}, {"png", "png"},
                                         {"pdf", "pdf"}};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot + 1, ext[i][0]) == 0) return ext[i][1];
    return NULL;
}

static rc_status check_nodes(const rc_graph *g, rc_node *const *v, int n, const char *what, rc_error *err,
                             const char *fn) {
    if (n < 0) return rc_error_set(err, RC_ERR_ARG, fn, "%s count %d is negative", what, n);
    if (n > 0 && !v) return rc_error_set(err, RC_ERR_ARG, fn, "%s is NULL but its count is %d", what, n);
    for (int i = 0; i < n; i++) {
        if (!v[i]) return rc_error_set(err, RC_ERR_ARG, fn, "%s[%d] is NULL", what, i);
        if (v[i]->graph != g) return rc_error_set(err, RC_ERR_ARG, fn, "%s[%d] belongs to another graph", what, i);
    }
    return RC_OK;
}

static rc_status check_options(const rc_graph *g, const rc_dot_options *o, rc_error *err, const char *fn) {
    if (!g) return rc_error_set(err, RC_ERR_ARG, fn, "graph is NULL");
    if (o->level < RC_DOT_OP || o->level > RC_DOT_LAYER)
        return rc_error_set(err, RC_ERR_ARG, fn, "unknown level %d (expected RC_DOT_OP, RC_DOT_CELL or RC_DOT_LAYER)",
                    (int)o->level);
    if (o->grad_links < RC_DOT_LINKS_STEP || o->grad_links > RC_DOT_LINKS_NONE)
        return rc_error_set(err, RC_ERR_ARG, fn, "unknown grad_links %d (expected RC_DOT_LINKS_STEP, _ALL or _NONE)",
                            (int)o->grad_links);
    if (o->steps_shown < 0) return rc_error_set(err, RC_ERR_ARG, fn, "steps_shown is %d, must be >= 0", o->steps_shown);
    if (o->rankdir && strcmp(o->rankdir, "TB") && strcmp(o->rankdir, "LR") && strcmp(o->rankdir, "BT") &&
        strcmp(o->rankdir, "RL"))
        return rc_error_set(err, RC_ERR_ARG, fn, "rankdir '%s' is not TB, LR, BT or RL", o->rankdir);
    rc_status s = check_nodes(g, o->outputs, o->outputs ? o->noutputs : 0, "outputs", err, fn);
    if (s == RC_OK) s = check_nodes(g, o->grads, o->grads ? o->ngrads : 0, "grads", err, fn);
    if (s == RC_OK && o->grad_params) s = check_nodes(g, o->grad_params, o->grads ? o->ngrads : 0, "grad_params", err, fn);
    return s;
}

/* --- the scope tree -------------------------------------------------------------- */

typedef struct scope_ent {
    char *path;        /* full path, owned; "" for the root */
    const char *last;  /* last component (points into path) */
    int parent;        /* -1 for the root */
    int first_child, last_child, next_sibling;
    int step;          /* k when the last component is t<k>, else -1 */
    int step_scope;    /* outermost step scope at or above this one, or -1 */
    int nsteps;        /* when children are steps: largest k + 1 */
    bool direct;       /* some drawn node has exactly this scope */
    bool has_param;    /* some drawn parameter has exactly this scope */
    int cnt[2];        /* units (forward, gradient) in this subtree */
    int group[2];      /* box unit keyed by this scope (step or layer), or -1 */
    int ellipsis[2];   /* ellipsis unit for hidden steps among children, or -1 */
    int head[2], tail[2]; /* units whose cluster is this scope */
    int sfirst[2], slast[2]; /* step scopes: smallest and largest id of their drawn op-level nodes */
} scope_ent;

enum { U_NODE, U_STEP, U_ELLIPSIS, U_LAYER };

typedef struct unit {
    int kind;
    int grad;          /* 0 forward, 1 gradient */
    int cluster;       /* scope holding the unit */
    int key;           /* node id (U_NODE) or scope index */
    int nops;          /* nodes drawn as this unit */
    int first, last;   /* list of its nodes through node_next */
    int next;          /* next unit in the same cluster */
} unit;

typedef struct edge {
    int su, du;
    int link;    /* 1: a forward->gradient link merged per scope pair (sg, dg) */
    int sg, dg;
    int src[2];  /* first distinct source nodes, for labels */
    int nsrc;    /* distinct sources seen (capped at 3 = "more") */
    int count;   /* graph edges merged into this one */
} edge;

typedef struct ctx {
    const rc_graph *g;
    const rc_dot_options *o;
    int N;
    unsigned char *draw;
    int *node_scope, *unit_of, *node_next;
    scope_ent *sc;
    int nsc, capsc;
    int *hash; /* open addressing over scope paths: scope index or -1 */
    int hcap;
    unit *u;
    int nu, capu;
    edge *e;
    int ne, cape;
    int *ehash; /* open addressing over (su, du) of merged edges: edge index or -1 */
    int ehcap;
    rc_gradient_record *rec; /* the graph's gradient records */
    int nrec;
    int *rec_of;      /* per node: the record whose gradient it is, or -1 */
    unsigned char *flag; /* per node: F_* */
    int *grank;       /* per node: the gate it feeds (scope index), for the order of edges */
    unsigned used;    /* L_*: the styles drawn, for the legend */
    bool oom;
} ctx;

enum { F_OUTPUT = 1 }; /* flag: an output (of a layer, the loss, or asked for) */

/* Styles a legend can list (ctx.used). */
enum {
    L_OP = 1u << 0,
    L_PARAM = 1u << 1,
    L_INPUT = 1u << 2,
    L_CONST = 1u << 3,
    L_STATE0 = 1u << 4,
    L_OUTPUT = 1u << 5,
    L_FUSED = 1u << 6,
    L_GRAD = 1u << 7,
    L_GRAD_RESULT = 1u << 8,
    L_STATE_FLOW = 1u << 9,
    L_TO_GRAD = 1u << 10,
    L_BOX = 1u << 11,
    L_ELLIPSIS = 1u << 12,
};

static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The open-addressing tables below hold item indices (-1 = empty slot);
 * hash_fn gives item i's hash, false for items kept out of the table. */
typedef bool (*hash_fn)(const ctx *c, int i, uint64_t *h);

static int *table_build(const ctx *c, int cap, int n, hash_fn hf) {
    int *t = rc_malloc((size_t)cap * sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < cap; i++) t[i] = -1;
    for (int i = 0; i < n; i++) {
        uint64_t h;
        if (!hf(c, i, &h)) continue;
        size_t j = h & (size_t)(cap - 1);
        while (t[j] >= 0) j = (j + 1) & (size_t)(cap - 1);
        t[j] = i;
    }
    return t;
}

static bool scope_hash(const ctx *c, int i, uint64_t *h) {
    *h = fnv(c->sc[i].path, strlen(c->sc[i].path));
    return true;
}

static bool rehash(ctx *c, int cap) {
    int *h = table_build(c, cap, c->nsc, scope_hash);
    if (!h) return false;
    rc_free(c->hash);
    c->hash = h;
    c->hcap = cap;
    return true;
}

static int scope_find(ctx *c, const char *path, size_t n) {
    size_t j = fnv(path, n) & (size_t)(c->hcap - 1);
    for (; c->hash[j] >= 0; j = (j + 1) & (size_t)(c->hcap - 1)) {
        const char *p = c->sc[c->hash[j]].path;
        if (strlen(p) == n && memcmp(p, path, n) == 0) return c->hash[j];
    }
    return -1;
}

/* t<digits> (no sign, no leading zeros beyond "t0"). */
static int step_index(const char *s) {
    if (s[0] != 't' || !isdigit((unsigned char)s[1]) || (s[1] == '0' && s[2])) return -1;
    long v = 0;
    for (const char *p = s + 1; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000) return -1;
        v = v * 10 + (*p - '0');
    }
    return (int)v;
}

/* The entry for path[0..n), creating it and its prefixes. */
static int scope_get(ctx *c, const char *path, size_t n) {
    int i = scope_find(c, path, n);
    if (i >= 0 || c->oom) return i;
    int parent = -1;
    if (n > 0) {
        size_t k = n;
        while (k > 0 && path[k - 1] != '/') k--;
        parent = scope_get(c, path, k ? k - 1 : 0);
        if (parent < 0) return -1;
    }
    if (c->nsc == c->capsc) {
        int cap = c->capsc ? c->capsc * 2 : 64;
        scope_ent *s = rc_realloc(c->sc, (size_t)cap * sizeof *s);
        if (!s) return c->oom = true, -1;
        c->sc = s;
        c->capsc = cap;
    }
    if ((c->nsc + 1) * 2 > c->hcap && !rehash(c, c->hcap * 2)) return c->oom = true, -1;
    char *p = rc_malloc(n + 1);
    if (!p) return c->oom = true, -1;
    memcpy(p, path, n);
    p[n] = 0;
    i = c->nsc++;
    scope_ent *e = &c->sc[i];
    memset(e, 0, sizeof *e);
    e->path = p;
    const char *slash = strrchr(p, '/');
    e->last = slash ? slash + 1 : p;
    e->parent = parent;
    e->first_child = e->last_child = e->next_sibling = -1;
    e->group[0] = e->group[1] = e->ellipsis[0] = e->ellipsis[1] = -1;
    e->head[0] = e->head[1] = e->tail[0] = e->tail[1] = -1;
    e->sfirst[0] = e->sfirst[1] = e->slast[0] = e->slast[1] = -1;
    e->step = n > 0 ? step_index(e->last) : -1;
    e->step_scope = -1;
    if (parent >= 0) {
        scope_ent *pe = &c->sc[parent];
        if (pe->last_child < 0) pe->first_child = i;
        else c->sc[pe->last_child].next_sibling = i;
        pe->last_child = i;
        e->step_scope = pe->step_scope;
        if (e->step_scope < 0 && e->step >= 0) {
            e->step_scope = i;
            if (e->step + 1 > pe->nsteps) pe->nsteps = e->step + 1;
        }
    }
    size_t j = fnv(p, n) & (size_t)(c->hcap - 1);
    while (c->hash[j] >= 0) j = (j + 1) & (size_t)(c->hcap - 1);
    c->hash[j] = i;
    return i;
}

/* The layer a scope belongs to at layer level: going down from the root,
 * the first scope that has nodes of its own, time steps, or no children
 * (a model scope, with only layers inside, is passed through). */
static int layer_of(ctx *c, int s) {
    int top = s; /* the last match going up is the first going down */
    for (int p = s; p > 0; p = c->sc[p].parent) {
        scope_ent *e = &c->sc[p];
        if (e->direct || e->nsteps > 0 || e->first_child < 0) top = p;
    }
    return top;
}

/* --- units and edges ----------------------------------------------------------------- */

static int unit_new(ctx *c, int kind, int grad, int cluster, int key) {
    if (c->nu == c->capu) {
        int cap = c->capu ? c->capu * 2 : 256;
        unit *u = rc_realloc(c->u, (size_t)cap * sizeof *u);
        if (!u) return c->oom = true, -1;
        c->u = u;
        c->capu = cap;
    }
    int i = c->nu++;
    c->u[i] = (unit){.kind = kind, .grad = grad, .cluster = cluster, .key = key, .first = -1, .last = -1,
                     .next = -1};
    scope_ent *e = &c->sc[cluster];
    if (e->tail[grad] < 0) e->head[grad] = i;
    else c->u[e->tail[grad]].next = i;
    e->tail[grad] = i;
    for (int p = cluster; p >= 0; p = c->sc[p].parent) c->sc[p].cnt[grad]++;
    return i;
}

static void unit_add_node(ctx *c, int ui, int id) {
    unit *u = &c->u[ui];
    c->node_next[id] = -1;
    if (u->last < 0) u->first = id;
    else c->node_next[u->last] = id;
    u->last = id;
    u->nops++;
    c->unit_of[id] = ui;
}

static edge *edge_new(ctx *c, int su, int du) {
    if (c->ne == c->cape) {
        int cap = c->cape ? c->cape * 2 : 1024;
        edge *e = rc_realloc(c->e, (size_t)cap * sizeof *e);
        if (!e) return c->oom = true, NULL;
        c->e = e;
        c->cape = cap;
    }
    edge *e = &c->e[c->ne++];
    *e = (edge){.su = su, .du = du};
    return e;
}

static uint64_t pair_hash(int su, int du) {
    uint64_t k = ((uint64_t)(unsigned)su << 32) | (unsigned)du;
    return (k * 0x9E3779B97F4A7C15ull) >> 20;
}

/* Only edges touching a box, and links, are merged, so only they are in
 * the table; links are keyed by their scopes (negated, apart from units). */
static bool edge_hash(const ctx *c, int i, uint64_t *h) {
    const edge *e = &c->e[i];
    if (e->link) {
        *h = pair_hash(-1 - e->sg, e->dg);
        return true;
    }
    if (c->u[e->su].kind == U_NODE && c->u[e->du].kind == U_NODE) return false;
    *h = pair_hash(e->su, e->du);
    return true;
}

static bool ehash_grow(ctx *c) {
    int cap = c->ehcap ? c->ehcap * 2 : 1024;
    int *h = table_build(c, cap, c->ne, edge_hash);
    if (!h) return false;
    rc_free(c->ehash);
    c->ehash = h;
    c->ehcap = cap;
    return true;
}

/* The scope a forward->gradient link is merged by: the unit's time step,
 * else the scope holding it. */
static int link_scope(const ctx *c, int ui) {
    int s = c->u[ui].cluster, st = c->sc[s].step_scope;
    return st >= 0 ? st : s;
}

static void add_edge(ctx *c, int src_node, int su, int du) {
    edge *e = NULL;
    bool link = !c->u[su].grad && c->u[du].grad && c->o->grad_links == RC_DOT_LINKS_STEP;
    if (!c->u[su].grad && c->u[du].grad && c->o->grad_links == RC_DOT_LINKS_NONE) return;
    if (!link && c->u[su].kind == U_NODE && c->u[du].kind == U_NODE) {
        e = edge_new(c, su, du);
    } else {
        if (c->ne * 2 + 2 > c->ehcap && !ehash_grow(c)) {
            c->oom = true;
            return;
        }
        int sg = link ? link_scope(c, su) : 0, dg = link ? link_scope(c, du) : 0;
        size_t j = (link ? pair_hash(-1 - sg, dg) : pair_hash(su, du)) & (size_t)(c->ehcap - 1);
        for (; c->ehash[j] >= 0; j = (j + 1) & (size_t)(c->ehcap - 1)) {
            const edge *x = &c->e[c->ehash[j]];
            if (link ? x->link && x->sg == sg && x->dg == dg : !x->link && x->su == su && x->du == du) {
                e = &c->e[c->ehash[j]];
                break;
            }
        }
        if (!e) {
            e = edge_new(c, su, du);
            if (e) {
                c->ehash[j] = (int)(e - c->e);
                e->link = link;
                e->sg = sg;
                e->dg = dg;
            }
        }
    }
    if (!e) return;
    e->count++;
    for (int k = 0; k < e->nsrc && k < 2; k++)
        if (e->src[k] == src_node) return;
    if (e->nsrc < 2) e->src[e->nsrc] = src_node;
    if (e->nsrc < 3) e->nsrc++;
}

/* --- labels -------------------------------------------------------------------------- */

static const rc_node *node_at(const ctx *c, int id) { return rc_graph_node(c->g, id); }

static bool is_single(const rc_node *n) { return n->is_param || rc_node_is_input(n); }

static void op_label(const rc_node *n, char *buf, size_t len) {
    if (n->op->label) n->op->label(n, buf, len);
    else snprintf(buf, len, "%s", n->op->name);
}

static void shape_text(const rc_node *n, char *buf, size_t len) {
    char s[RC_SHAPE_STRLEN];
    rc_shape_str(n->shape, s, sizeof s);
    if (n->dtype == RC_F32) snprintf(buf, len, "%s", s);
    else snprintf(buf, len, "%s %s", s, rc_dtype_name(n->dtype));
}

/* Colours: forward ops blue, parameters gold, inputs green, constants grey,
 * everything of the gradient graph red. */
#define C_GRAD_FILL "#fde2dd"
#define C_GRAD_LINE "#c0392b"
#define C_GRAD_BOX "#f7c4b9"

static bool is_fused(const rc_node *n) { return (n->op->flags & RC_OPF_FUSED) != 0; }

/* A constant made as a layer's initial state (rnn.c names them h0, c0). */
static bool is_state0(const rc_node *n) {
    return n->nin == 0 && !n->is_param && !rc_node_is_input(n) && strcmp(n->name, n->op->name) != 0;
}

static void node_style(ctx *c, rc_strbuf *b, const rc_node *n) {
    bool result = c->rec_of[n->id] >= 0, out = (c->flag[n->id] & F_OUTPUT) != 0;
    if (n->is_grad || result) {
        c->used |= result ? L_GRAD_RESULT : L_GRAD;
        if (result)
            rc_strbuf_puts(b, ", class=\"grad result\", style=\"rounded,filled,bold\", fillcolor=\"" C_GRAD_BOX
                              "\", color=\"" C_GRAD_LINE "\", fontcolor=\"#7b241c\", penwidth=2");
        else
            rc_strbuf_puts(b, ", class=\"grad\", fillcolor=\"" C_GRAD_FILL "\", color=\"" C_GRAD_LINE
                              "\", fontcolor=\"#7b241c\"");
        return;
    } else if (n->is_param) {
        c->used |= L_PARAM;
        rc_strbuf_puts(b, ", class=\"param\", shape=box, style=\"filled\", fillcolor=\"#ffe9a8\", color=\"#b8860b\", "
                          "penwidth=1.5");
    } else if (rc_node_is_input(n)) {
        c->used |= L_INPUT;
        rc_strbuf_puts(b, ", class=\"input\", fillcolor=\"#d9f2d9\", color=\"#3c8d3c\"");
    } else if (is_state0(n)) {
        c->used |= L_STATE0;
        rc_strbuf_puts(b, ", class=\"const state\", fillcolor=\"#e4ecf7\", color=\"#4a6fa5\", style=\"rounded,filled,dashed\"");
    } else if (n->nin == 0) {
        c->used |= L_CONST;
        rc_strbuf_puts(b, ", class=\"const\", fillcolor=\"#eeeeee\", color=\"#999999\", fontcolor=\"#555555\"");
    } else if (is_fused(n)) {
        c->used |= L_FUSED;
        rc_strbuf_puts(b, ", class=\"op fused\", fillcolor=\"#c9dcf2\", style=\"rounded,filled,bold\", penwidth=2");
    } else if (strcmp(n->name, n->op->name) != 0) {
        c->used |= L_OP;
        rc_strbuf_puts(b, ", class=\"op named\", fillcolor=\"#d6e4f5\"");
    } else {
        c->used |= L_OP;
        rc_strbuf_puts(b, ", class=\"op\"");
    }
    if (out) {
        c->used |= L_OUTPUT;
        rc_strbuf_puts(b, ", peripheries=2");
    }
}

/* "∂L/∂<path>" of a gradient the graph recorded, or of one of o->grads. */
static bool grad_result_label(ctx *c, const rc_node *n, rc_strbuf *b) {
    char path[600];
    int r = c->rec_of[n->id];
    if (r >= 0) {
        rc_strbuf_puts(b, "∂L/∂");
        dot_esc(b, rc_node_path(c->rec[r].wrt, path, sizeof path));
        return true;
    }
    const rc_dot_options *o = c->o;
    for (int i = 0; o->grads && i < o->ngrads; i++)
        if (o->grads[i] == n) {
            rc_strbuf_puts(b, "∂L/∂");
            dot_esc(b, o->grad_params ? rc_node_path(o->grad_params[i], path, sizeof path) : "param");
            return true;
        }
    return false;
}

static void write_node(ctx *c, rc_strbuf *b, const rc_node *n) {
    char id[700], lab[256], shp[RC_SHAPE_STRLEN + 16], path[600];
    rc_dot_node_id(n, id, sizeof id);
    op_label(n, lab, sizeof lab);
    shape_text(n, shp, sizeof shp);
    rc_strbuf_puts(b, "\"");
    rc_strbuf_puts(b, id);
    rc_strbuf_puts(b, "\" [label=\"");
    /* a final gradient says what it is the gradient of, first */
    if (grad_result_label(c, n, b)) rc_strbuf_puts(b, "\\n");
    else if (strcmp(n->name, n->op->name) != 0 && strcmp(n->name, lab) != 0) {
        dot_esc(b, n->name);
        rc_strbuf_puts(b, "\\n");
    }
    dot_esc(b, lab);
    if (!strstr(lab, shp)) { /* reshape and broadcast labels show it already */
        rc_strbuf_puts(b, "\\n");
        dot_esc(b, shp);
    }
    rc_strbuf_puts(b, "\", tooltip=\"");
    dot_esc(b, rc_node_path(n, path, sizeof path));
    rc_strbuf_puts(b, "\"");
    node_style(c, b, n);
    rc_strbuf_puts(b, "];\n");
}

static const char *grad_tag(int grad) { return grad ? "grad-" : ""; }

static void unit_id(ctx *c, rc_strbuf *b, int ui) {
    unit *u = &c->u[ui];
    char id[700];
    switch (u->kind) {
    case U_NODE: rc_strbuf_puts(b, rc_dot_node_id(node_at(c, u->key), id, sizeof id)); return;
    case U_STEP: rc_strbuf_printf(b, "%sstep:", grad_tag(u->grad)); break;
    case U_ELLIPSIS: rc_strbuf_printf(b, "%sellipsis:", grad_tag(u->grad)); break;
    case U_LAYER: rc_strbuf_printf(b, "%slayer:", grad_tag(u->grad)); break;
    }
    dot_id(b, c->sc[u->key].path);
    rc_strbuf_printf(b, "#s%d", u->key);
}

/* The child of `top` on the way up from s, or -1. */
static int child_toward(ctx *c, int s, int top) {
    for (; s >= 0; s = c->sc[s].parent)
        if (c->sc[s].parent == top) return s;
    return -1;
}

/* The end of a step or layer box: close the tooltip, its class and style. */
static void box_end(rc_strbuf *b, const char *cls, int grad) {
    rc_strbuf_printf(b, "\", class=\"%s%s\", shape=box, style=\"filled,bold\", ", grad ? "grad " : "", cls);
    if (grad) rc_strbuf_puts(b, "fillcolor=\"" C_GRAD_BOX "\", color=\"" C_GRAD_LINE "\", fontcolor=\"#7b241c\"];\n");
    else rc_strbuf_puts(b, "fillcolor=\"#cfe0f5\", color=\"#4a6fa5\"];\n");
}

static void write_step_box(ctx *c, rc_strbuf *b, unit *u) {
    scope_ent *st = &c->sc[u->key];
    int layer = st->parent;
    /* the cell: the layer's first scope holding parameters (a cell's
     * weights live in "<layer>/<cell>"), else the layer */
    const char *cell = c->sc[layer].last;
    for (int ch = c->sc[layer].first_child; ch >= 0; ch = c->sc[ch].next_sibling)
        if (c->sc[ch].has_param) {
            cell = c->sc[ch].last;
            break;
        }
    int gates[8], ng = 0;
    bool more = false;
    for (int id = u->first; id >= 0; id = c->node_next[id]) {
        int ch = child_toward(c, c->node_scope[id], u->key);
        if (ch < 0) continue;
        bool seen = false;
        for (int k = 0; k < ng; k++) seen |= gates[k] == ch;
        if (!seen) {
            if (ng < 8) gates[ng++] = ch;
            else more = true;
        }
    }
    /* gates in forward order (scope entries are numbered by first use) */
    for (int i = 1; i < ng; i++)
        for (int k = i; k > 0 && gates[k - 1] > gates[k]; k--) {
            int t = gates[k];
            gates[k] = gates[k - 1];
            gates[k - 1] = t;
        }
    rc_strbuf_puts(b, " [label=\"");
    if (u->grad) rc_strbuf_puts(b, "∂ ");
    dot_esc(b, cell);
    rc_strbuf_puts(b, " · ");
    dot_esc(b, st->last);
    for (int k = 0; k < ng; k++) {
        rc_strbuf_puts(b, k == 0 ? "\\n" : k % 2 == 0 ? ",\\n" : ", ");
        dot_esc(b, c->sc[gates[k]].last);
    }
    if (more) rc_strbuf_puts(b, ", …");
    rc_strbuf_printf(b, "\\n%d op%s\", tooltip=\"", u->nops, u->nops == 1 ? "" : "s");
    dot_esc(b, st->path);
    box_end(b, "step", u->grad);
}

static void write_ellipsis(ctx *c, rc_strbuf *b, unit *u) {
    scope_ent *l = &c->sc[u->key];
    int K = c->o->steps_shown, T = l->nsteps;
    rc_strbuf_printf(b, " [label=\"⋯\\n%d steps hidden\\nt%d … t%d\\n%d op%s\\n⋯\", tooltip=\"", T - 2 * K, K, T - K - 1,
                     u->nops, u->nops == 1 ? "" : "s");
    dot_esc(b, l->path);
    if (u->grad)
        rc_strbuf_puts(b, "\", class=\"grad ellipsis\", shape=box, style=\"filled,dashed\", fillcolor=\"" C_GRAD_FILL
                          "\", color=\"" C_GRAD_LINE "\", fontcolor=\"#7b241c\"];\n");
    else
        rc_strbuf_puts(b, "\", class=\"ellipsis\", shape=box, style=\"filled,dashed\", fillcolor=\"#f4f4f4\", "
                          "color=\"#888888\"];\n");
}

/* Largest step count of the layer or of a layer inside it (Bidirectional). */
static int steps_below(ctx *c, int s) {
    int m = c->sc[s].nsteps;
    for (int ch = c->sc[s].first_child; ch >= 0; ch = c->sc[ch].next_sibling) {
        if (c->sc[ch].step >= 0) continue;
        int k = steps_below(c, ch);
        if (k > m) m = k;
    }
    return m;
}

static void write_layer_box(ctx *c, rc_strbuf *b, unit *u) {
    scope_ent *l = &c->sc[u->key];
    size_t plen = strlen(l->path);
    rc_strbuf_puts(b, " [label=\"");
    if (u->grad) rc_strbuf_puts(b, "∂ ");
    dot_esc(b, l->last);
    rc_strbuf_puts(b, "\\n");
    int T = steps_below(c, u->key);
    if (T > 0) rc_strbuf_printf(b, "%d step%s · ", T, T == 1 ? "" : "s");
    int64_t nparams = 0;
    for (int id = u->first; id >= 0; id = c->node_next[id])
        if (node_at(c, id)->is_param) nparams += rc_node_numel(node_at(c, id));
    rc_strbuf_printf(b, "%d op%s", u->nops, u->nops == 1 ? "" : "s");
    if (nparams) rc_strbuf_printf(b, " · %lld param%s", (long long)nparams, nparams == 1 ? "" : "s");
    rc_strbuf_puts(b, "\\n");
    /* the forward box lists its inputs and parameters, the gradient box the
     * gradients it ends in */
    for (int id = u->first; id >= 0; id = c->node_next[id]) {
        const rc_node *n = node_at(c, id);
        bool result = c->rec_of[id] >= 0;
        if (u->grad ? !result : !n->is_param && !rc_node_is_input(n)) continue;
        char shp[RC_SHAPE_STRLEN + 16];
        const rc_node *w = result ? c->rec[c->rec_of[id]].wrt : n;
        shape_text(n, shp, sizeof shp);
        const char *rel = strlen(w->scope) > plen && strncmp(w->scope, l->path, plen) == 0 ? w->scope + plen + 1 : "";
        if (result) rc_strbuf_puts(b, "∂L/∂");
        dot_esc(b, rel);
        if (*rel) rc_strbuf_puts(b, "/");
        dot_esc(b, w->name);
        rc_strbuf_puts(b, " ");
        dot_esc(b, shp);
        rc_strbuf_puts(b, "\\l");
    }
    rc_strbuf_puts(b, "\", tooltip=\"");
    dot_esc(b, l->path);
    box_end(b, "layer", u->grad);
}

static void write_unit(ctx *c, rc_strbuf *b, int ui, int depth) {
    unit *u = &c->u[ui];
    for (int i = 0; i < depth; i++) rc_strbuf_puts(b, "  ");
    if (u->kind == U_NODE) {
        write_node(c, b, node_at(c, u->key));
        return;
    }
    rc_strbuf_puts(b, "\"");
    unit_id(c, b, ui);
    rc_strbuf_puts(b, "\"");
    c->used |= u->kind == U_ELLIPSIS ? L_ELLIPSIS : u->grad ? L_GRAD | L_BOX : L_BOX;
    if (u->kind == U_STEP) write_step_box(c, b, u);
    else if (u->kind == U_ELLIPSIS) write_ellipsis(c, b, u);
    else write_layer_box(c, b, u);
}

static void write_cluster(ctx *c, rc_strbuf *b, int s, int grad, int depth) {
    scope_ent *e = &c->sc[s];
    for (int i = 0; i < depth; i++) rc_strbuf_puts(b, "  ");
    rc_strbuf_printf(b, "subgraph \"cluster_%s:", grad ? "g" : "f");
    dot_id(b, e->path);
    rc_strbuf_printf(b, "#s%d\" {\n", s);
    for (int i = 0; i <= depth; i++) rc_strbuf_puts(b, "  ");
    rc_strbuf_puts(b, "graph [label=\"");
    dot_esc(b, s == 0 ? "gradients" : e->last);
    rc_strbuf_puts(b, "\", tooltip=\"");
    dot_esc(b, s == 0 ? "gradients" : e->path);
    const char *kind = s == 0 ? "gradients" : e->step >= 0 && e->step_scope == s ? "step" : e->nsteps > 0 ? "layer" : "scope";
    rc_strbuf_printf(b, "\", class=\"%s%s\"", grad ? "grad " : "", kind);
    if (s == 0)
        rc_strbuf_puts(b, ", style=\"rounded,filled\", fillcolor=\"#fff6f4\", color=\"" C_GRAD_LINE
                          "\", fontcolor=\"" C_GRAD_LINE "\", penwidth=2");
    else if (e->step_scope == s)
        rc_strbuf_printf(b, ", style=\"rounded,dashed\", color=\"%s\"", grad ? "#e08e80" : "#8fa8c8");
    else
        rc_strbuf_printf(b, ", style=\"rounded\", color=\"%s\"%s", grad ? C_GRAD_LINE : "#4a6fa5",
                         e->nsteps > 0 ? ", penwidth=1.5" : "");
    rc_strbuf_puts(b, "];\n");
    for (int ui = e->head[grad]; ui >= 0; ui = c->u[ui].next) write_unit(c, b, ui, depth + 1);
    for (int ch = e->first_child; ch >= 0; ch = c->sc[ch].next_sibling)
        if (c->sc[ch].cnt[grad] > 0) write_cluster(c, b, ch, grad, depth + 1);
    for (int i = 0; i < depth; i++) rc_strbuf_puts(b, "  ");
    rc_strbuf_puts(b, "}\n");
}

/* The layer scope whose time steps hold unit ui (a step box, an ellipsis,
 * or a node inside a step), or -1. */
static int step_layer(ctx *c, int ui) {
    unit *u = &c->u[ui];
    switch (u->kind) {
    case U_STEP: return c->sc[u->key].parent;
    case U_ELLIPSIS: return u->key;
    case U_NODE: {
        int st = c->sc[c->node_scope[u->key]].step_scope;
        return st >= 0 ? c->sc[st].parent : -1;
    }
    default: return -1;
    }
}

/* The cluster a unit is drawn in at `s` or above, named as write_cluster
 * names it. */
static void cluster_id(ctx *c, rc_strbuf *b, int s, int grad) {
    rc_strbuf_printf(b, "cluster_%s:", grad ? "g" : "f");
    dot_id(b, c->sc[s].path);
    rc_strbuf_printf(b, "#s%d", s);
}

/* A forward->gradient link merged per scope pair: cluster to cluster
 * (ltail/lhead; the forward root is no cluster), no label (see below).
 * Written gradient end first with dir=back: under ordering=out a
 * non-ranking out-edge of a forward node makes Graphviz 2.43 route it in
 * pieces it cannot clip ("spline size > 1 not supported"). */
static void write_link(ctx *c, rc_strbuf *b, edge *e) {
    c->used |= L_TO_GRAD;
    rc_strbuf_puts(b, "  \"");
    unit_id(c, b, e->du);
    rc_strbuf_puts(b, "\" -> \"");
    unit_id(c, b, e->su);
    rc_strbuf_puts(b, "\" [dir=back, ltail=\"");
    cluster_id(c, b, e->dg, 1);
    rc_strbuf_puts(b, "\", ");
    if (e->sg > 0) {
        rc_strbuf_puts(b, "lhead=\"");
        cluster_id(c, b, e->sg, 0);
        rc_strbuf_puts(b, "\", ");
    }
    rc_strbuf_printf(b, "tooltip=\"%d value%s of ", e->count, e->count == 1 ? "" : "s");
    dot_esc(b, e->sg > 0 ? c->sc[e->sg].path : "the top level");
    rc_strbuf_puts(b, " read by the gradients of ");
    dot_esc(b, e->dg > 0 ? c->sc[e->dg].path : "the top level");
    rc_strbuf_puts(b, "\", class=\"to-grad\", color=\"#c9a9a4\", style=dashed, penwidth=1.5, constraint=false];\n");
}

static void write_edge(ctx *c, rc_strbuf *b, edge *e) {
    if (e->link) {
        write_link(c, b, e);
        return;
    }
    unit *su = &c->u[e->su], *du = &c->u[e->du];
    const rc_node *s0 = node_at(c, e->src[0]);
    bool merged = su->kind != U_NODE || du->kind != U_NODE;
    bool ellipsis = su->kind == U_ELLIPSIS || du->kind == U_ELLIPSIS;
    /* state flow: from one step of a layer to another (boxes at cell level,
     * the h and c nodes at op level) */
    int sl = step_layer(c, e->su), dl = step_layer(c, e->du);
    bool recurrent = sl >= 0 && sl == dl && !ellipsis &&
                     c->sc[c->u[e->su].cluster].step_scope != c->sc[c->u[e->du].cluster].step_scope;
    bool to_grad = !su->grad && du->grad;
    /* Forward values read by gradient nodes do not rank (the gradient tree
     * is laid out by its own flow, beside the forward one). What enters a
     * time step from outside its layer's steps (projection rows,
     * parameters, initial states) ranks but does not pull (weight 0), so
     * the steps are ranked by the recurrent edges and stack in order
     * instead of stretching up to their inputs. */
    bool constrain = !to_grad;
    bool pull = !(dl >= 0 && sl != dl);
    rc_strbuf_puts(b, "  \"");
    unit_id(c, b, e->su);
    rc_strbuf_puts(b, "\" -> \"");
    unit_id(c, b, e->du);
    rc_strbuf_puts(b, "\" [");
    /* Label what crosses into or out of a box, except leaves drawn apart.
     * Never on non-ranking edges: they can end up flat (both ends on one
     * rank), and Graphviz 2.43 corrupts its heap when freeing a layout with
     * a labelled flat edge on the top rank. */
    if (merged && !ellipsis && constrain && !is_single(s0)) {
        char shp[RC_SHAPE_STRLEN + 16];
        shape_text(s0, shp, sizeof shp);
        rc_strbuf_puts(b, "label=\"");
        int named = 0;
        for (int k = 0; k < e->nsrc && k < 2; k++) {
            const rc_node *n = node_at(c, e->src[k]);
            if (strcmp(n->name, n->op->name) == 0) continue;
            rc_strbuf_puts(b, named++ ? ", " : "");
            dot_esc(b, n->name);
        }
        if (e->nsrc > 2) rc_strbuf_puts(b, named ? ", …" : "…");
        rc_strbuf_puts(b, named ? "\\n" : "");
        dot_esc(b, shp);
        rc_strbuf_puts(b, "\", ");
    }
    if (recurrent) c->used |= L_STATE_FLOW;
    if (su->grad && du->grad)
        rc_strbuf_printf(b, "class=\"grad%s\", color=\"" C_GRAD_LINE "\"%s", recurrent ? " recurrent" : "",
                         recurrent ? ", penwidth=2" : "");
    else if (to_grad) {
        c->used |= L_TO_GRAD;
        rc_strbuf_puts(b, "class=\"to-grad\", color=\"#c9a9a4\", style=dashed");
    } else if (s0->is_param)
        rc_strbuf_puts(b, "class=\"param\", color=\"#b8860b\"");
    else if (recurrent)
        rc_strbuf_puts(b, "class=\"recurrent\", color=\"#4a6fa5\", penwidth=2");
    else
        rc_strbuf_puts(b, "color=\"#555555\"");
    if (ellipsis && !to_grad) rc_strbuf_puts(b, ", style=dashed");
    if (!constrain) rc_strbuf_puts(b, ", constraint=false");
    else if (!pull) rc_strbuf_puts(b, ", weight=0");
    rc_strbuf_puts(b, "];\n");
}

/* --- the writer ----------------------------------------------------------------------- */

static void ctx_free(ctx *c) {
    for (int i = 0; i < c->nsc; i++) rc_free(c->sc[i].path);
    rc_free(c->sc);
    rc_free(c->hash);
    rc_free(c->u);
    rc_free(c->e);
    rc_free(c->ehash);
    rc_free(c->draw);
    rc_free(c->node_scope);
    rc_free(c->unit_of);
    rc_free(c->node_next);
    rc_free(c->rec);
    rc_free(c->rec_of);
    rc_free(c->flag);
    rc_free(c->grank);
}

/* Mark in `mark` (bit) the nodes `v` needs (v may be NULL: only what is
 * marked already). */
static void mark_needed(ctx *c, rc_node *const *v, int n, unsigned char bit) {
    for (int i = 0; v && i < n; i++) c->draw[v[i]->id] |= bit;
    for (int id = c->N - 1; id >= 0; id--) {
        if (!(c->draw[id] & bit)) continue;
        const rc_node *x = node_at(c, id);
        for (int k = 0; k < x->nin; k++) c->draw[x->in[k]->id] |= bit;
    }
}

/* Outputs: what o->outputs or the gradient records name as such, what a
 * layer hands on (read by a node of another layer), and forward ops whose
 * value nothing drawn reads. */
static void mark_outputs(ctx *c) {
    const rc_dot_options *o = c->o;
    unsigned char *read = c->flag; /* bit 2 while marking: read by a drawn forward node */
    for (int id = 0; id < c->N; id++) {
        const rc_node *n = node_at(c, id);
        if (!c->draw[id] || n->is_grad) continue;
        int L = c->node_scope[id] > 0 ? layer_of(c, c->node_scope[id]) : 0;
        for (int k = 0; k < n->nin; k++) {
            const rc_node *x = n->in[k];
            if (!c->draw[x->id] || x->is_grad) continue;
            read[x->id] |= 2;
            int s = c->node_scope[x->id];
            if (s > 0 && layer_of(c, s) != L && !is_single(x) && x->nin > 0) read[x->id] |= F_OUTPUT;
        }
    }
    for (int id = 0; id < c->N; id++) {
        const rc_node *n = node_at(c, id);
        if (c->draw[id] && !n->is_grad && !(read[id] & 2) && n->nin > 0) read[id] |= F_OUTPUT;
        read[id] &= F_OUTPUT;
    }
    for (int i = 0; o->outputs && i < o->noutputs; i++) c->flag[o->outputs[i]->id] |= F_OUTPUT;
    for (int r = 0; r < c->nrec; r++)
        if (c->draw[c->rec[r].loss->id]) c->flag[c->rec[r].loss->id] |= F_OUTPUT;
}

/* For each node inside a time step, the first gate (child scope of the step,
 * numbered in the order the cell made them) it is or leads to within the
 * step: edges are written in that order and the graph says ordering=out,
 * so every step, forward or gradient, shows its gates in the cell's order
 * (dot's crossing minimisation otherwise permutes them step by step). */
static void gate_ranks(ctx *c) {
    for (int id = c->N - 1; id >= 0; id--) {
        if (!c->draw[id]) continue;
        const rc_node *n = node_at(c, id);
        int s = c->node_scope[id], st = c->sc[s].step_scope;
        if (st < 0) continue;
        if (s != st) {
            int g = child_toward(c, s, st);
            if (g >= 0 && g < c->grank[id]) c->grank[id] = g;
        }
        for (int k = 0; k < n->nin; k++) {
            int x = n->in[k]->id;
            if (c->draw[x] && c->node_scope[x] >= 0 && c->sc[c->node_scope[x]].step_scope == st &&
                n->in[k]->is_grad == n->is_grad && c->grank[id] < c->grank[x])
                c->grank[x] = c->grank[id];
        }
    }
}

static void build(ctx *c) {
    const rc_dot_options *o = c->o;
    int N = c->N;
    size_t nn = (size_t)(N ? N : 1);
    c->draw = rc_calloc(nn, 1);
    c->node_scope = rc_malloc(nn * sizeof(int));
    c->unit_of = rc_malloc(nn * sizeof(int));
    c->node_next = rc_malloc(nn * sizeof(int));
    c->rec_of = rc_malloc(nn * sizeof(int));
    c->flag = rc_calloc(nn, 1);
    c->grank = rc_malloc(nn * sizeof(int));
    c->nrec = rc_graph_gradients(c->g, NULL, 0);
    c->rec = rc_malloc((size_t)(c->nrec ? c->nrec : 1) * sizeof *c->rec);
    if (!c->draw || !c->node_scope || !c->unit_of || !c->node_next || !c->rec_of || !c->flag || !c->grank ||
        !c->rec || !rehash(c, 128)) {
        c->oom = true;
        return;
    }
    rc_graph_gradients(c->g, c->rec, c->nrec);
    /* 1. what to draw: bit 1 = needed by outputs (by default, with
     * gradients recorded, by their losses), 2 = needed by the chosen
     * gradients (by default the recorded ones). Without records nothing
     * says what is used, so everything is drawn. */
    bool prune = c->nrec > 0 && !o->keep_unused;
    if (o->outputs) mark_needed(c, o->outputs, o->noutputs, 1);
    else if (prune) {
        for (int r = 0; r < c->nrec; r++) c->draw[c->rec[r].loss->id] |= 1;
        mark_needed(c, NULL, 0, 1);
    } else
        memset(c->draw, 1, nn);
    if (o->grads) mark_needed(c, o->grads, o->ngrads, 2);
    else if (prune && o->gradients) {
        for (int r = 0; r < c->nrec; r++) c->draw[c->rec[r].grad->id] |= 2;
        mark_needed(c, NULL, 0, 2);
    }
    /* drawn: what the outputs need, and what the chosen gradients need;
     * gradient nodes only when asked for and, with grads or records, only
     * on their paths */
    bool grad_paths = o->grads || prune;
    for (int id = 0; id < N; id++) {
        const rc_node *n = node_at(c, id);
        bool d = c->draw[id] != 0;
        if (n->is_grad && (!o->gradients || (grad_paths && !(c->draw[id] & 2)))) d = false;
        c->draw[id] = d;
        c->unit_of[id] = -1;
        c->node_scope[id] = -1;
        c->rec_of[id] = -1;
        c->grank[id] = INT32_MAX;
    }
    for (int r = c->nrec - 1; r >= 0; r--) /* the first record of a node names it */
        if (c->draw[c->rec[r].grad->id] && (o->gradients || !c->rec[r].grad->is_grad)) c->rec_of[c->rec[r].grad->id] = r;
    int root = scope_get(c, "", 0);
    if (root != 0) {
        c->oom = true;
        return;
    }
    for (int id = 0; id < N && !c->oom; id++) {
        if (!c->draw[id]) continue;
        const rc_node *n = node_at(c, id);
        int s = scope_get(c, n->scope, strlen(n->scope));
        if (s < 0) return;
        c->node_scope[id] = s;
        c->sc[s].direct = true;
        c->sc[s].has_param |= n->is_param;
    }
    /* 2. units */
    int K = o->steps_shown;
    for (int id = 0; id < N && !c->oom; id++) {
        if (!c->draw[id]) continue;
        const rc_node *n = node_at(c, id);
        int s = c->node_scope[id], gr = n->is_grad ? 1 : 0, ui = -1;
        if (o->level == RC_DOT_LAYER) {
            if (s == 0) ui = unit_new(c, U_NODE, gr, 0, id);
            else {
                int L = layer_of(c, s);
                if (c->sc[L].group[gr] < 0) c->sc[L].group[gr] = unit_new(c, U_LAYER, gr, c->sc[L].parent, L);
                ui = c->sc[L].group[gr];
            }
        } else {
            int st = c->sc[s].step_scope;
            if (st >= 0 && !is_single(n)) {
                int P = c->sc[st].parent, k = c->sc[st].step, T = c->sc[P].nsteps;
                if (K > 0 && T > 2 * K && k >= K && k < T - K) {
                    if (c->sc[P].ellipsis[gr] < 0) c->sc[P].ellipsis[gr] = unit_new(c, U_ELLIPSIS, gr, P, P);
                    ui = c->sc[P].ellipsis[gr];
                } else if (o->level == RC_DOT_CELL) {
                    if (c->sc[st].group[gr] < 0) c->sc[st].group[gr] = unit_new(c, U_STEP, gr, st, st);
                    ui = c->sc[st].group[gr];
                }
            }
            if (ui < 0 && !c->oom) ui = unit_new(c, U_NODE, gr, s, id);
        }
        if (ui < 0) return;
        unit_add_node(c, ui, id);
        int st = c->sc[s].step_scope;
        if (st >= 0 && c->u[ui].kind == U_NODE && !is_single(n)) {
            if (c->sc[st].sfirst[gr] < 0) c->sc[st].sfirst[gr] = id;
            c->sc[st].slast[gr] = id;
        }
    }
    mark_outputs(c);
    gate_ranks(c);
    /* 3. edges */
    for (int id = 0; id < N && !c->oom; id++) {
        if (!c->draw[id]) continue;
        const rc_node *n = node_at(c, id);
        for (int k = 0; k < n->nin; k++) {
            int x = n->in[k]->id;
            if (!c->draw[x] || c->unit_of[x] == c->unit_of[id]) continue;
            add_edge(c, x, c->unit_of[x], c->unit_of[id]);
        }
    }
}

/* Steps of a layer drawn op by op overlap in rank when nothing orders
 * them: a step's first nodes (the slice of its projected input) need only
 * the projection, so dot ranks them beside the previous step's last ones
 * and the steps stagger sideways across the page. An invisible edge from
 * the last node of each step to the first nodes of the next (in the order
 * the steps were made: backwards in the gradient graph) stacks them. */
static void write_step_chain(ctx *c, rc_strbuf *b) {
    for (int p = 0; p < c->nsc; p++) {
        if (c->sc[p].nsteps == 0) continue;
        for (int gr = 0; gr < 2; gr++) {
            int prev = -1;
            for (;;) { /* the next step by first node id: steps are few, a scan each is fine */
                int next = -1;
                for (int ch = c->sc[p].first_child; ch >= 0; ch = c->sc[ch].next_sibling) {
                    int f = c->sc[ch].sfirst[gr];
                    if (c->sc[ch].step_scope != ch || f < 0) continue;
                    if (prev >= 0 && f <= c->sc[prev].sfirst[gr]) continue;
                    if (next < 0 || f < c->sc[next].sfirst[gr]) next = ch;
                }
                if (next < 0) break;
                if (prev >= 0) {
                    char from[700], to[700];
                    rc_dot_node_id(node_at(c, c->sc[prev].slast[gr]), from, sizeof from);
                    for (int id = c->sc[next].sfirst[gr]; id <= c->sc[next].slast[gr]; id++) {
                        if (!c->draw[id] || c->u[c->unit_of[id]].kind != U_NODE) continue;
                        const rc_node *n = node_at(c, id);
                        if (c->sc[c->node_scope[id]].step_scope != next || n->is_grad != (gr == 1) || is_single(n))
                            continue;
                        bool entry = true;
                        for (int k = 0; k < n->nin && entry; k++) {
                            int x = n->in[k]->id;
                            entry = !(c->draw[x] && c->node_scope[x] >= 0 &&
                                      c->sc[c->node_scope[x]].step_scope == next && n->in[k]->is_grad == n->is_grad);
                        }
                        if (!entry) continue;
                        rc_strbuf_printf(b, "  \"%s\" -> \"%s\" [style=invis];\n", from,
                                         rc_dot_node_id(n, to, sizeof to));
                    }
                }
                prev = next;
            }
        }
    }
}

/* Does `to` depend on `from` through drawn nodes of one tree with ids >= lo? */
static bool depends(ctx *c, int to, int from, int lo, unsigned char *seen) {
    if (to == from) return true;
    if (to < lo || seen[to - lo]) return false;
    seen[to - lo] = 1;
    const rc_node *n = node_at(c, to);
    for (int k = 0; k < n->nin; k++) {
        int x = n->in[k]->id;
        if (c->draw[x] && n->in[k]->is_grad == n->is_grad && depends(c, x, from, lo, seen)) return true;
    }
    return false;
}

/* The gates of a step side by side in the order the cell made them: the
 * last node of each gate on one rank, chained by invisible flat edges
 * (ordering=out alone does not hold in the gradient graph, whose gates are
 * reached from several nodes). Only gates that do not depend on each
 * other (a GRU's candidate reads its reset gate) can share a rank. */
static void write_gate_rows(ctx *c, rc_strbuf *b) {
    for (int st = 0; st < c->nsc && !b->oom; st++) {
        if (c->sc[st].step_scope != st) continue;
        for (int gr = 0; gr < 2; gr++) {
            int lo = c->sc[st].sfirst[gr], hi = c->sc[st].slast[gr];
            if (lo < 0) continue;
            int rep[8], nrep = 0;
            unsigned char *seen = rc_malloc((size_t)(hi - lo + 1));
            if (!seen) {
                b->oom = true;
                return;
            }
            for (int g = c->sc[st].first_child; g >= 0 && nrep < 8; g = c->sc[g].next_sibling) {
                int last = -1;
                for (int id = lo; id <= hi; id++)
                    if (c->draw[id] && node_at(c, id)->is_grad == (gr == 1) && c->u[c->unit_of[id]].kind == U_NODE &&
                        child_toward(c, c->node_scope[id], st) == g)
                        last = id;
                if (last < 0) continue;
                bool free = true;
                for (int k = 0; k < nrep && free; k++) {
                    int a = rep[k] < last ? rep[k] : last, z = rep[k] < last ? last : rep[k];
                    memset(seen, 0, (size_t)(hi - lo + 1));
                    free = !depends(c, z, a, lo, seen);
                }
                if (free) rep[nrep++] = last;
            }
            rc_free(seen);
            if (nrep < 2) continue;
            char id[700];
            rc_strbuf_puts(b, "  { rank=same;");
            for (int k = 0; k < nrep; k++) rc_strbuf_printf(b, " \"%s\";", rc_dot_node_id(node_at(c, rep[k]), id, sizeof id));
            rc_strbuf_puts(b, " }\n  ");
            for (int k = 0; k < nrep; k++)
                rc_strbuf_printf(b, "%s\"%s\"", k ? " -> " : "", rc_dot_node_id(node_at(c, rep[k]), id, sizeof id));
            rc_strbuf_puts(b, " [style=invis];\n");
        }
    }
}

/* Edges are written grouped by their source, in the order of the gates
 * they lead to (see gate_ranks), then as made. */
typedef struct edge_key {
    int su, gate, idx;
} edge_key;

static int edge_key_cmp(const void *a, const void *b) {
    const edge_key *x = a, *y = b;
    if (x->su != y->su) return x->su < y->su ? -1 : 1;
    if (x->gate != y->gate) return x->gate < y->gate ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The legend: the styles this drawing uses, one row each. */
static void write_legend(ctx *c, rc_strbuf *b) {
    static const struct {
        unsigned bit;
        const char *swatch; /* HTML: a cell drawn in the style */
        const char *text;
    } rows[] = {
        {L_INPUT, "<TD BGCOLOR=\"#d9f2d9\" COLOR=\"#3c8d3c\" BORDER=\"1\" STYLE=\"rounded\"> </TD>", "input"},
        {L_PARAM, "<TD BGCOLOR=\"#ffe9a8\" COLOR=\"#b8860b\" BORDER=\"2\"> </TD>", "parameter"},
        {L_STATE0, "<TD BGCOLOR=\"#e4ecf7\" COLOR=\"#4a6fa5\" BORDER=\"1\" STYLE=\"dashed\"> </TD>",
         "initial state (h0, c0)"},
        {L_CONST, "<TD BGCOLOR=\"#eeeeee\" COLOR=\"#999999\" BORDER=\"1\"> </TD>", "constant"},
        {L_OP, "<TD BGCOLOR=\"#eef3fb\" COLOR=\"#4a6fa5\" BORDER=\"1\" STYLE=\"rounded\"> </TD>", "forward op"},
        {L_FUSED, "<TD BGCOLOR=\"#c9dcf2\" COLOR=\"#4a6fa5\" BORDER=\"3\"> </TD>", "fused op (one kernel)"},
        {L_BOX, "<TD BGCOLOR=\"#cfe0f5\" COLOR=\"#4a6fa5\" BORDER=\"2\"> </TD>", "step or layer (box)"},
        {L_ELLIPSIS, "<TD BGCOLOR=\"#f4f4f4\" COLOR=\"#888888\" BORDER=\"1\" STYLE=\"dashed\"> </TD>",
         "hidden steps"},
        {L_OUTPUT, "<TD BORDER=\"1\" COLOR=\"#4a6fa5\"><TABLE BORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"1\" "
                   "COLOR=\"#4a6fa5\"><TR><TD> </TD></TR></TABLE></TD>",
         "output (double border)"},
        {L_GRAD, "<TD BGCOLOR=\"" C_GRAD_FILL "\" COLOR=\"" C_GRAD_LINE "\" BORDER=\"1\" STYLE=\"rounded\"> </TD>",
         "gradient op"},
        {L_GRAD_RESULT, "<TD BGCOLOR=\"" C_GRAD_BOX "\" COLOR=\"" C_GRAD_LINE "\" BORDER=\"2\"> </TD>",
         "gradient ∂L/∂parameter"},
        {L_STATE_FLOW, "<TD><FONT COLOR=\"#4a6fa5\"><B>━━▶</B></FONT></TD>", "state flow (step to step)"},
        {L_TO_GRAD, "<TD><FONT COLOR=\"#c9a9a4\">╌╌▶</FONT></TD>", "forward values read by gradients"},
    };
    if (!c->used) return;
    rc_strbuf_puts(b, "  \"legend\" [shape=plaintext, class=\"legend\", style=\"\", margin=0, label=<<TABLE BORDER=\"1\" "
                      "COLOR=\"#999999\" CELLBORDER=\"0\" CELLSPACING=\"2\" CELLPADDING=\"2\"><TR><TD COLSPAN=\"2\"><B>legend</B>"
                      "</TD></TR>");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (c->used & rows[i].bit) rc_strbuf_printf(b, "<TR>%s<TD ALIGN=\"LEFT\">%s</TD></TR>", rows[i].swatch, rows[i].text);
    rc_strbuf_puts(b, "</TABLE>>];\n");
}

static void emit(ctx *c, rc_strbuf *b) {
    const rc_dot_options *o = c->o;
    int ndrawn = 0;
    for (int id = 0; id < c->N; id++) ndrawn += c->draw[id] ? 1 : 0;
    rc_strbuf_printf(b, "// recur %s: %d of %d nodes at %s level\n", RC_VERSION_STRING, ndrawn, c->N,
                     rc_dot_level_name(o->level));
    rc_strbuf_puts(b, "digraph \"recur\" {\n");
    rc_strbuf_printf(b, "  graph [rankdir=%s, fontname=\"Helvetica\", fontsize=12, nodesep=0.25, ranksep=0.35, "
                        "newrank=true, compound=true, ordering=out",
                     o->rankdir ? o->rankdir : "TB");
    /* Large graphs (long unrolls with gradients): dot's crossing
     * minimisation and its network-simplex x placement grow much faster
     * than the graph (a 20-step LSTM(8) with gradients: 25 s by default,
     * 1.8 s with these limits; 100 steps: did not finish in 18 min, 4.7
     * min with them). Straight edges skip spline routing. */
    if (ndrawn > 500) rc_strbuf_puts(b, ", mclimit=0.05, nslimit=1, nslimit1=1, splines=line");
    if (o->title) {
        rc_strbuf_puts(b, ", label=\"");
        dot_esc(b, o->title);
        rc_strbuf_puts(b, "\", labelloc=t, fontsize=16");
    }
    rc_strbuf_puts(b, "];\n");
    rc_strbuf_puts(b, "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, "
                      "fillcolor=\"#eef3fb\", color=\"#4a6fa5\", margin=\"0.08,0.03\"];\n");
    rc_strbuf_puts(b, "  edge [fontname=\"Helvetica\", fontsize=8, arrowsize=0.6, fontcolor=\"#444444\"];\n");
    if (c->nsc > 0) {
        scope_ent *r = &c->sc[0];
        for (int ui = r->head[0]; ui >= 0; ui = c->u[ui].next) write_unit(c, b, ui, 1);
        for (int ch = r->first_child; ch >= 0; ch = c->sc[ch].next_sibling)
            if (c->sc[ch].cnt[0] > 0) write_cluster(c, b, ch, 0, 1);
        if (r->cnt[1] > 0) write_cluster(c, b, 0, 1, 1);
    }
    edge_key *k = rc_malloc((size_t)(c->ne ? c->ne : 1) * sizeof *k);
    if (!k) {
        b->oom = true;
        return;
    }
    for (int i = 0; i < c->ne; i++) {
        const unit *du = &c->u[c->e[i].du];
        k[i] = (edge_key){c->e[i].su, du->kind == U_NODE ? c->grank[du->key] : INT32_MAX, i};
    }
    qsort(k, (size_t)c->ne, sizeof *k, edge_key_cmp);
    for (int i = 0; i < c->ne; i++) write_edge(c, b, &c->e[k[i].idx]);
    rc_free(k);
    if (o->level == RC_DOT_OP) {
        write_step_chain(c, b);
        write_gate_rows(c, b);
    }
    if (o->legend) write_legend(c, b); /* last: the edges tell which edge styles are used */
    rc_strbuf_puts(b, "}\n");
}

/* rc_dot_string, reporting as fn (rc_dot_write's text comes from here). */
static rc_status dot_string(const rc_graph *g, const rc_dot_options *o, char **out, size_t *len, rc_error *err,
                            const char *fn) {
    if (out) *out = NULL;
    if (len) *len = 0;
    rc_dot_options def = rc_dot_defaults();
    if (!o) o = &def;
    if (!out) return rc_error_set(err, RC_ERR_ARG, fn, "out is NULL");
    rc_status st = check_options(g, o, err, fn);
    if (st != RC_OK) return st;
    ctx c = {.g = g, .o = o, .N = rc_graph_node_count(g)};
    rc_strbuf b = {0};
    build(&c);
    if (!c.oom) emit(&c, &b);
    ctx_free(&c);
    if (c.oom || b.oom) {
        rc_free(b.p);
        return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
    }
    *out = b.p;
    if (len) *len = b.n;
    return RC_OK;
}

rc_status rc_dot_string(const rc_graph *g, const rc_dot_options *o, char **out, size_t *len, rc_error *err) {
    return dot_string(g, o, out, len, err, "rc_dot_string");
}

rc_status rc_dot_write(const rc_graph *g, const rc_dot_options *o, FILE *f, rc_error *err) {
    static const char fn[] = "rc_dot_write";
    if (!f) return rc_error_set(err, RC_ERR_ARG, fn, "file is NULL");
    char *s;
    size_t n;
    rc_status st = dot_string(g, o, &s, &n, err, fn);
    if (st != RC_OK) return st;
    size_t w = fwrite(s, 1, n, f);
    rc_free(s);
    if (w != n || ferror(f)) return rc_error_set(err, RC_ERR_IO, fn, "writing failed: %s", strerror(errno));
    return RC_OK;
}

