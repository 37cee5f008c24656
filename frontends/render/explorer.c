/* The explorer page: one self-contained HTML file holding the SVG drawings
 * of a graph at the three levels (and again with gradients), a JSON blob of
 * node metadata keyed by DOT node id, and an inline script that switches,
 * pans, zooms, searches and shows the metadata on hover. Graphviz draws
 * when the page is written; the page itself never lays anything out.
 *
 * Everything is written in a fixed order (views by level, nodes by id), no
 * clock or pointer reaches the text, so the page is byte-deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/render.h"
#include "recur/strbuf.h"
#include "../io.h"
#include "render_internal.h"

/* explorer_js and explorer_css, made in the build tree by tools/embed_text.py
 * from explorer.js and explorer.css (hence <>, not a file beside this one) */
#include <explorer_assets.h>

/* A JSON string that can sit inside <script>: '<' is escaped so no
 * "</script>" in a name can end the element early. */
static void put_json_str(rc_strbuf *b, const char *s) {
    rc_strbuf_puts(b, "\"");
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u == '"' || *u == '\\') {
            char e[2] = {'\\', (char)*u};
            rc_strbuf_put(b, e, 2);
        } else if (*u < 0x20 || *u == '<' || *u == 0x7f) {
            rc_strbuf_printf(b, "\\u%04x", *u);
        } else rc_strbuf_put(b, (const char *)u, 1);
    }
    rc_strbuf_puts(b, "\"");
}

/* A finite double as a short JSON number. */
static void put_num(rc_strbuf *b, double x) {
    if (x == 0) x = 0; /* no "-0" */
    rc_strbuf_printf(b, "%.6g", x);
}

/* --- the drawings ----------------------------------------------------------------------- */

static bool starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Graphviz' SVG made fit to sit inline in the page: no XML prolog, DOCTYPE
 * or comments (the comments repeat every node name), no xmlns attributes
 * (HTML puts <svg> in the SVG namespace itself, and the page then holds no
 * address at all), no id attributes (the six drawings' "node1"s would
 * collide, and the script finds elements by their <title>), no tooltip
 * wrappers (<g><a xlink:title=...>: the info panel says more, and a native
 * tooltip would cover it) and no font-family on every text (the style sheet
 * sets it): a third smaller. Graphviz escapes '"' and '<' in text, so these
 * patterns only match markup. */
static void put_svg(rc_strbuf *b, const char *svg) {
    const char *s = strstr(svg, "<svg");
    if (!s) return;
    while (*s) {
        if (starts(s, "<!--")) {
            const char *e = strstr(s + 4, "-->");
            s = e ? e + 3 : s + strlen(s);
            if (*s == '\n') s++;
        } else if (starts(s, " xmlns=\"") || starts(s, " xmlns:xlink=\"")) {
            const char *q = strchr(strchr(s, '"') + 1, '"');
            s = q ? q + 1 : s + strlen(s);
        } else if (starts(s, " id=\"")) {
            const char *q = strchr(s + 5, '"');
            s = q ? q + 1 : s + strlen(s);
        } else if (starts(s, "<g id=\"a_") && strstr(s, "><a xlink:title=\"")) {
            /* <g id="a_node1"><a xlink:title="..."> */
            const char *q = strstr(s, "><a xlink:title=\"") + 17;
            q = strchr(q, '"');
            s = q ? q + 1 : s + strlen(s);
            s += strspn(s, ">\n");
        } else if (starts(s, "</a>\n</g>\n")) {
            s += 10;
        } else if (starts(s, " font-family=\"Helvetica,sans-Serif\"")) {
            s += 35;
        } else {
            size_t k = strcspn(s + 1, "< f") + 1; /* copy up to the next place a pattern may start */
            rc_strbuf_put(b, s, k);
            s += k;
        }
    }
}

/* The text of every <title> in svg (the DOT ids of the nodes and clusters
 * drawn), XML entities decoded, appended to *list. */
static bool collect_titles(const char *svg, char ***list, int *n, int *cap) {
    for (const char *s = svg; (s = strstr(s, "<title>")) != NULL;) {
        s += 7;
        const char *e = strstr(s, "</title>");
        if (!e) break;
        char *t = rc_malloc((size_t)(e - s) + 1);
        if (!t) return false;
        size_t k = 0;
        for (const char *p = s; p < e;) {
            if (*p == '&') {
                const char *semi = memchr(p, ';', (size_t)(e - p));
                if (semi) {
                    long c = -1;
                    if (p[1] == '#') c = p[2] == 'x' ? strtol(p + 3, NULL, 16) : strtol(p + 2, NULL, 10);
                    else if (starts(p, "&amp;")) c = '&';
                    else if (starts(p, "&lt;")) c = '<';
                    else if (starts(p, "&gt;")) c = '>';
                    else if (starts(p, "&quot;")) c = '"';
                    else if (starts(p, "&apos;")) c = '\'';
                    if (c > 0 && c < 0x80) { /* node ids are ASCII (rc_dot_node_id) */
                        t[k++] = (char)c;
                        p = semi + 1;
                        continue;
                    }
                }
            }
            t[k++] = *p++;
        }
        t[k] = 0;
        if (*n == *cap) {
            int nc = *cap ? *cap * 2 : 1024;
            char **l = rc_realloc(*list, (size_t)nc * sizeof *l);
            if (!l) {
                rc_free(t);
                return false;
            }
            *list = l;
            *cap = nc;
        }
        (*list)[(*n)++] = t;
        s = e + 8;
    }
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* --- node metadata ---------------------------------------------------------------------- */

enum { HIST_BINS = 16 };

/* min, max, mean, standard deviation and a histogram of a leaf's values
 * (non-finite values counted apart). */
static void put_stats(rc_strbuf *b, const rc_tensor *t) {
    int64_t n = rc_tensor_numel(t), finite = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
    const float *f = t->dtype == RC_F32 ? t->data : NULL;
    const int32_t *i32 = t->dtype == RC_I32 ? t->data : NULL;
    for (int64_t k = 0; k < n; k++) {
        double x = f ? f[k] : i32[k];
        if (!isfinite(x)) continue;
        finite++;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += x;
    }
    if (!finite) {
        rc_strbuf_printf(b, ",\"stats\":{\"n\":%lld,\"nonfinite\":%lld}", (long long)n, (long long)n);
        return;
    }
    double mean = sum / (double)finite;
    int64_t hist[HIST_BINS] = {0};
    for (int64_t k = 0; k < n; k++) {
        double x = f ? f[k] : i32[k];
        if (!isfinite(x)) continue;
        sq += (x - mean) * (x - mean);
        int bin = hi > lo ? (int)((x - lo) / (hi - lo) * HIST_BINS) : 0;
        hist[bin < 0 ? 0 : bin >= HIST_BINS ? HIST_BINS - 1 : bin]++;
    }
    rc_strbuf_printf(b, ",\"stats\":{\"n\":%lld", (long long)n);
    if (finite < n) rc_strbuf_printf(b, ",\"nonfinite\":%lld", (long long)(n - finite));
    rc_strbuf_puts(b, ",\"min\":");
    put_num(b, lo);
    rc_strbuf_puts(b, ",\"max\":");
    put_num(b, hi);
    rc_strbuf_puts(b, ",\"mean\":");
    put_num(b, mean);
    rc_strbuf_puts(b, ",\"std\":");
    put_num(b, sqrt(sq / (double)finite));
    rc_strbuf_puts(b, ",\"hist\":[");
    for (int k = 0; k < HIST_BINS; k++) rc_strbuf_printf(b, "%s%lld", k ? "," : "", (long long)hist[k]);
    rc_strbuf_puts(b, "]}");
}

/* {"ID": {"op", "name", "shape", "dtype", "kind", "stats"?}, ...} for the
 * graph nodes some drawing shows (titles, sorted), in node-id order. */
static void put_meta(rc_strbuf *b, const rc_graph *g, char **titles, int ntitles) {
    rc_strbuf_puts(b, "{");
    bool first = true;
    int count = rc_graph_node_count(g);
    char id[1024], path[1024], shape[RC_SHAPE_STRLEN];
    for (int k = 0; k < count; k++) {
        rc_node *n = rc_graph_node(g, k);
        if (!n) continue;
        rc_dot_node_id(n, id, sizeof id);
        const char *key = id;
        if (!bsearch(&key, titles, (size_t)ntitles, sizeof *titles, cmp_str)) continue;
        const char *kind = rc_node_is_param(n)   ? "param"
                           : rc_node_is_input(n) ? "input"
                           : rc_node_is_leaf(n)  ? "const"
                                                 : "op";
        rc_strbuf_puts(b, first ? "\n" : ",\n");
        first = false;
        put_json_str(b, id);
        rc_strbuf_puts(b, ":{\"op\":");
        put_json_str(b, rc_node_op_name(n));
        rc_strbuf_puts(b, ",\"name\":");
        put_json_str(b, rc_node_path(n, path, sizeof path));
        rc_strbuf_puts(b, ",\"shape\":");
        put_json_str(b, rc_shape_str(rc_node_shape(n), shape, sizeof shape));
        rc_strbuf_puts(b, ",\"dtype\":");
        put_json_str(b, rc_dtype_name(rc_node_dtype(n)));
        rc_strbuf_puts(b, ",\"kind\":");
        put_json_str(b, kind);
        if (rc_node_is_gradient(n)) rc_strbuf_puts(b, ",\"grad\":true");
        /* inputs are fed at run time: their storage says nothing yet */
        rc_tensor *t = rc_node_is_leaf(n) && !rc_node_is_input(n) ? rc_node_value(n) : NULL;
        if (t) put_stats(b, t);
        rc_strbuf_puts(b, "}");
    }
    rc_strbuf_puts(b, "\n}");
}

/* --- the page --------------------------------------------------------------------------- */

rc_explorer_options rc_explorer_defaults(void) {
    rc_explorer_options o = {.title = NULL, .gradients = true};
    for (int l = 0; l < 3; l++) {
        o.levels[l] = rc_dot_defaults();
        o.levels[l].steps_shown = 3;
    }
    return o;
}

static bool has_gradients(const rc_graph *g) {
    int count = rc_graph_node_count(g);
    for (int k = 0; k < count; k++)
        if (rc_graph_node(g, k) && rc_node_is_gradient(rc_graph_node(g, k))) return true;
    return false;
}

/* rc_explorer_string, reporting as fn (rc_explorer_write writes through it). */
static rc_status explorer(const rc_graph *g, const rc_model *model, const rc_explorer_options *o, char **out,
                          size_t *len, rc_error *err, const char *fn) {
    if (out) *out = NULL;
    if (len) *len = 0;
    if (!g || !out) return rc_error_set(err, RC_ERR_ARG, fn, "%s is NULL", !g ? "graph" : "out");
    rc_explorer_options opts = o ? *o : rc_explorer_defaults();
    const char *title = opts.title ? opts.title : "recur";
    bool grads = opts.gradients && has_gradients(g);

    rc_strbuf b = {0};
    char **titles = NULL;
    int ntitles = 0, cap = 0;
    rc_status st = RC_OK;

    rc_strbuf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    rc_strbuf_html(&b, title);
    rc_strbuf_puts(&b, "</title>\n<style>\n");
    rc_strbuf_puts(&b, explorer_css);
    rc_strbuf_puts(&b, "</style>\n</head>\n<body>\n<header>\n<h1>");
    rc_strbuf_html(&b, title);
    rc_strbuf_puts(&b, "</h1>\n<nav>\n"
                       "<span class=\"levels\"><button id=\"btn-layer\" data-level=\"layer\">Layer</button>"
                       "<button id=\"btn-cell\" data-level=\"cell\">Cell</button>"
                       "<button id=\"btn-op\" data-level=\"op\">Op</button></span>\n");
    rc_strbuf_printf(&b, "<label class=\"toggle\"><input type=\"checkbox\" id=\"grad-toggle\"%s> gradients</label>\n",
                     grads ? "" : " disabled");
    rc_strbuf_puts(&b, "<button id=\"btn-fit\" title=\"fit the drawing to the window (0)\">Fit</button>\n"
                       "<input type=\"search\" id=\"search\" placeholder=\"search names (/)\" autocomplete=\"off\">"
                       "<span id=\"search-count\"></span>\n"
                       "<span id=\"crumbs\"></span>\n</nav>\n</header>\n<main id=\"stage\">\n");

    /* The views in a fixed order: level by level, forward then gradients. */
    static const rc_dot_level order[3] = {RC_DOT_LAYER, RC_DOT_CELL, RC_DOT_OP};
    for (int li = 0; li < 3 && st == RC_OK; li++) {
        for (int gi = 0; gi < (grads ? 2 : 1) && st == RC_OK; gi++) {
            rc_dot_options d = opts.levels[order[li]];
            d.level = order[li];
            d.gradients = gi == 1;
            char view[32];
            snprintf(view, sizeof view, "v-%s%s", rc_dot_level_name(d.level), gi ? "-g" : "");
            char *dot = NULL, *svg = NULL;
            st = rc_dot_string(g, &d, &dot, NULL, err);
            if (st == RC_OK) st = rc_dot_render(dot, "svg", &svg, NULL, err);
            rc_free(dot);
            if (st == RC_OK && !collect_titles(svg, &titles, &ntitles, &cap))
                st = rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
            if (st == RC_OK) {
                rc_strbuf_printf(&b, "<div class=\"view\" id=\"%s\" data-level=\"%s\" data-grad=\"%d\" hidden>\n", view,
                                 rc_dot_level_name(d.level), gi);
                put_svg(&b, svg);
                rc_strbuf_puts(&b, "</div>\n");
            }
            rc_free(svg);
        }
    }
    rc_strbuf_puts(&b, "</main>\n<aside id=\"info\" hidden></aside>\n");
    if (st == RC_OK && model) {
        size_t need = rc_model_summary(model, NULL, 0);
        char *sum = rc_malloc(need + 1);
        if (!sum) st = rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
        else {
            rc_model_summary(model, sum, need + 1);
            rc_strbuf_puts(&b, "<details id=\"summary\"><summary>Model summary</summary>\n<pre>");
            rc_strbuf_html(&b, sum);
            rc_strbuf_puts(&b, "</pre>\n</details>\n");
            rc_free(sum);
        }
    }
    if (st == RC_OK) {
        qsort(titles, (size_t)ntitles, sizeof *titles, cmp_str);
        rc_strbuf_puts(&b, "<pre id=\"selftest\" hidden></pre>\n<script type=\"application/json\" id=\"meta\">");
        put_meta(&b, g, titles, ntitles);
        rc_strbuf_puts(&b, "</script>\n<script>\n");
        rc_strbuf_puts(&b, explorer_js);
        rc_strbuf_puts(&b, "</script>\n</body>\n</html>\n");
        if (b.oom) st = rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
    }
    for (int k = 0; k < ntitles; k++) rc_free(titles[k]);
    rc_free(titles);
    if (st != RC_OK) {
        rc_free(b.p);
        return st;
    }
    *out = b.p;
    if (len) *len = b.n;
    return RC_OK;
}

rc_status rc_explorer_string(const rc_graph *g, const rc_model *model, const rc_explorer_options *o, char **out,
                             size_t *len, rc_error *err) {
    static const char fn[] = "rc_explorer_string";
    return io_set_where(err, explorer(g, model, o, out, len, err, fn), fn);
}

rc_status rc_explorer_write(const rc_graph *g, const rc_model *model, const rc_explorer_options *o,
                            const char *path, rc_error *err) {
    static const char fn[] = "rc_explorer_write";
    if (!path) return rc_error_set(err, RC_ERR_ARG, fn, "path is NULL");
    char *page = NULL;
    size_t n = 0;
    rc_status st = explorer(g, model, o, &page, &n, err, fn);
    if (st == RC_OK) st = render_write_file(path, page, n, err, fn);
    rc_free(page);
    return io_set_where(err, st, fn);
}
