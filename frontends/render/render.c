/* Rendering DOT text through Graphviz (libgvc/libcgraph) in-process, and
 * drawing a graph straight to a file. Lives in frontends/ so that the core
 * library writes DOT text but links no drawing library. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "recur/render.h"
#include "../io.h"
#include "render_internal.h"

/* --- rendering --------------------------------------------------------------------------- */

static _Thread_local char gv_msg[1024];

/* Graphviz reports through agerr; keep its messages instead of printing. */
static int gv_capture(char *msg) {
    size_t k = strlen(gv_msg);
    if (msg && k + 1 < sizeof gv_msg) snprintf(gv_msg + k, sizeof gv_msg - k, "%s", msg);
    return 0;
}

static const char *gv_message(void) {
    size_t k = strlen(gv_msg);
    while (k > 0 && (gv_msg[k - 1] == '\n' || gv_msg[k - 1] == ' ')) gv_msg[--k] = 0;
    for (char *p = gv_msg; *p; p++)
        if (*p == '\n') *p = ' ';
    return gv_msg[0] ? gv_msg : "no message from Graphviz";
}

/* One Graphviz context for the process, made on first use and kept: the
 * text layout plugin (pango) caches the last font it measured by pointer
 * into the context's font table, so freeing a context and making a new one
 * leaves it reading freed memory on the next render (found by ASan with
 * Graphviz 2.43). Keeping the context also saves loading the plugins on
 * every call. */
static GVC_t *gv_context(void) {
    static GVC_t *gvc;
    if (!gvc) gvc = gvContext();
    return gvc;
}

/* --- reading DOT text with IDs that do not depend on the heap ----------------------- */

/* cgraph's default ID discipline makes a named object's ID the address of
 * its interned name, and orders subgraphs by ID; dot lays out clusters in
 * that order, so the same text gave different drawings from one process to
 * the next (ASLR) and from one render to the next in a process (the heap,
 * and a process-wide counter for anonymous objects). This discipline gives
 * names even IDs in order of first appearance (2, 4, 6, ...) and anonymous
 * objects odd ones from a counter of this graph's own: the same text, the
 * same layout, the same bytes. */
typedef struct gv_ids {
    char **names;  /* names[k] has ID 2k + 2 */
    size_t n, cap;
    size_t *slots; /* open addressing: k + 1 into names, 0 = empty */
    size_t nslots;
    IDTYPE anon;   /* next odd ID */
} gv_ids;

static size_t gv_hash(const char *s) {
    size_t h = 1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The slot of name: where it is, or the empty slot where it would go. */
static size_t *gv_slot(gv_ids *t, const char *name) {
    size_t i = gv_hash(name) & (t->nslots - 1);
    while (t->slots[i] && strcmp(t->names[t->slots[i] - 1], name) != 0) i = (i + 1) & (t->nslots - 1);
    return &t->slots[i];
}

static bool gv_grow(gv_ids *t) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        char **nn = realloc(t->names, cap * sizeof *nn);
        if (!nn) return false;
        t->names = nn;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->nslots) {
        size_t ns = t->nslots ? t->nslots * 2 : 512;
        size_t *sl = calloc(ns, sizeof *sl);
        if (!sl) return false;
        free(t->slots);
        t->slots = sl;
        t->nslots = ns;
        for (size_t k = 0; k < t->n; k++) *gv_slot(t, t->names[k]) = k + 1;
    }
    return true;
}

static void *gv_ids_open(Agraph_t *g, Agdisc_t *disc) {
    (void)g;
    (void)disc;
    gv_ids *t = calloc(1, sizeof *t);
    if (t) t->anon = 1;
    return t;
}

static long gv_ids_map(void *state, int objtype, char *str, IDTYPE *id, int createflag) {
    (void)objtype;
    gv_ids *t = state;
    if (!str) {
        *id = t->anon;
        t->anon += 2;
        return 1;
    }
    if (t->nslots) {
        size_t *sl = gv_slot(t, str);
        if (*sl) {
            *id = (IDTYPE)(2 * *sl);
            return 1;
        }
    }
    if (!createflag || !gv_grow(t)) return 0;
    char *copy = strdup(str);
    if (!copy) return 0;
    t->names[t->n++] = copy;
    *gv_slot(t, copy) = t->n;
    *id = (IDTYPE)(2 * t->n);
    return 1;
}

static long gv_ids_alloc(void *state, int objtype, IDTYPE id) {
    (void)state;
    (void)objtype;
    (void)id;
    return 0; /* no caller-chosen IDs, as cgraph's own discipline */
}

static void gv_ids_free(void *state, int objtype, IDTYPE id) {
    (void)state;
    (void)objtype;
    (void)id; /* names live until the graph closes */
}

static char *gv_ids_print(void *state, int objtype, IDTYPE id) {
    (void)objtype;
    gv_ids *t = state;
    return id % 2 == 0 && id >= 2 && (size_t)(id / 2) <= t->n ? t->names[id / 2 - 1] : NULL;
}

static void gv_ids_close(void *state) {
    gv_ids *t = state;
    if (!t) return;
    for (size_t k = 0; k < t->n; k++) free(t->names[k]);
    free(t->names);
    free(t->slots);
    free(t);
}

static void gv_ids_register(void *state, int objtype, void *obj) {
    (void)state;
    (void)objtype;
    (void)obj;
}

static Agiddisc_t gv_id_disc = {gv_ids_open, gv_ids_map, gv_ids_alloc, gv_ids_free,
                                gv_ids_print, gv_ids_close, gv_ids_register};

/* Reading from memory, a line at a time (as cgraph's agmemread does). */
typedef struct gv_reader {
    const char *data;
    size_t len, cur;
} gv_reader;

static int gv_read(void *chan, char *buf, int bufsize) {
    gv_reader *r = chan;
    int l = 0;
    while (l < bufsize && r->cur < r->len) {
        char c = r->data[r->cur++];
        buf[l++] = c;
        if (c == '\n') break;
    }
    return l;
}

static Agiodisc_t gv_io_disc = {gv_read, NULL, NULL};

static Agraph_t *gv_read_text(const char *dot) {
    gv_reader r = {dot, strlen(dot), 0};
    Agdisc_t disc = {&AgMemDisc, &gv_id_disc, &gv_io_disc};
    return agread(&r, &disc);
}

/* rc_dot_render, reporting as fn (rc_dot_save renders through it). */
static rc_status render(const char *dot, const char *format, char **out, size_t *len, rc_error *err,
                        const char *fn) {
    if (out) *out = NULL;
    if (len) *len = 0;
    if (!dot || !out) return rc_error_set(err, RC_ERR_ARG, fn, "%s is NULL", !dot ? "dot text" : "out");
    if (!format || (strcmp(format, "svg") && strcmp(format, "png") && strcmp(format, "pdf")))
        return rc_error_set(err, RC_ERR_ARG, fn, "unknown format '%s' (expected svg, png or pdf)",
                    format ? format : "(null)");
    gv_msg[0] = 0;
    agusererrf prev = agseterrf(gv_capture);
    agreseterrors();
    rc_status st = RC_OK;
    GVC_t *gvc = gv_context();
    Agraph_t *G = NULL;
    char *data = NULL;
    unsigned int n = 0;
    bool laid = false;
    if (!gvc) {
        st = rc_error_set(err, RC_ERR_NOMEM, fn, "Graphviz could not create a context: %s", gv_message());
        goto done;
    }
    G = gv_read_text(dot);
    if (!G) {
        st = rc_error_set(err, RC_ERR_FORMAT, fn, "Graphviz could not read the DOT text: %s", gv_message());
        goto done;
    }
    if (gvLayout(gvc, G, "dot") != 0) {
        st = rc_error_set(err, RC_ERR_FORMAT, fn, "Graphviz layout failed: %s", gv_message());
        goto done;
    }
    laid = true;
    if (gvRenderData(gvc, G, format, &data, &n) != 0 || !data) {
        st = rc_error_set(err, RC_ERR_FORMAT, fn, "Graphviz could not render %s: %s", format, gv_message());
        goto done;
    }
    *out = rc_malloc((size_t)n + 1);
    if (!*out) {
        st = rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory for %u bytes of %s", n, format);
        goto done;
    }
    memcpy(*out, data, n);
    (*out)[n] = 0;
    if (len) *len = n;
done:
    if (data) gvFreeRenderData(data);
    if (laid) gvFreeLayout(gvc, G);
    if (G) agclose(G);
    agseterrf(prev);
    return st;
}

/* Write data to path so that a failure leaves whatever was there before
 * (io_write_atomic: temporary file, fsync, rename; devices and pipes are
 * written directly). */
rc_status render_write_file(const char *path, const char *data, size_t n, rc_error *err, const char *fn) {
    io_part part = {data, n};
    return io_write_atomic(path, &part, 1, err, fn);
}

rc_status rc_dot_render(const char *dot, const char *format, char **out, size_t *len, rc_error *err) {
    return render(dot, format, out, len, err, "rc_dot_render");
}

/* DOT text made elsewhere (rc_model_dot_string's) to a file, as
 * rc_dot_save writes a graph's. */
rc_status rc_dot_save_text(const char *dot, const char *path, rc_error *err) {
    static const char fn[] = "rc_dot_save_text";
    if (!dot || !path) return rc_error_set(err, RC_ERR_ARG, fn, "%s is NULL", dot ? "path" : "dot text");
    const char *fmt = rc_dot_format_of(path);
    if (!fmt)
        return rc_error_set(err, RC_ERR_ARG, fn, "cannot tell the format of '%s' (use .dot, .gv, .svg, .png or .pdf)",
                            path);
    if (strcmp(fmt, "dot") == 0) return render_write_file(path, dot, strlen(dot), err, fn);
    char *data = NULL;
    size_t n = 0;
    rc_status st = render(dot, fmt, &data, &n, err, fn);
    if (st == RC_OK) st = render_write_file(path, data, n, err, fn);
    rc_free(data);
    return st;
}

rc_status rc_dot_save(const rc_graph *g, const rc_dot_options *o, const char *path, rc_error *err) {
    static const char fn[] = "rc_dot_save";
    if (!path) return rc_error_set(err, RC_ERR_ARG, fn, "path is NULL");
    const char *fmt = rc_dot_format_of(path);
    if (!fmt)
        return rc_error_set(err, RC_ERR_ARG, fn, "cannot tell the format of '%s' (use .dot, .gv, .svg, .png or .pdf)",
                    path);
    char *dot = NULL, *data = NULL;
    size_t n = 0;
    rc_status st = rc_dot_string(g, o, &dot, &n, err);
    if (st != RC_OK) return io_set_where(err, st, fn);
    if (strcmp(fmt, "dot") == 0) {
        data = dot;
    } else {
        st = render(dot, fmt, &data, &n, err, fn);
        rc_free(dot);
    }
    if (st == RC_OK) st = render_write_file(path, data, n, err, fn);
    rc_free(data);
    return st;
}
