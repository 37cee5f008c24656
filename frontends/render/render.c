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
    G = agmemread(dot);
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

/* Write data to path so that a failure leaves whatever was there before:
 * a temporary file next to it, renamed over it once complete. Paths that
 * are not regular files (/dev/stdout, a pipe) are written directly. */
static rc_status write_file(const char *path, const char *data, size_t n, rc_error *err, const char *fn) {
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        FILE *f = fopen(path, "wb");
        if (!f) return rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': %s", path, strerror(errno));
        size_t w = fwrite(data, 1, n, f);
        int e = w != n ? (errno ? errno : EIO) : 0;
        if (fclose(f) != 0 && !e) e = errno ? errno : EIO;
        return e ? rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': %s", path, strerror(e)) : RC_OK;
    }
    size_t plen = strlen(path);
    char *tmp = rc_malloc(plen + 16);
    if (!tmp) return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        rc_free(tmp);
        return rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600; give it what a new file would get (or
     * the mode of the file it replaces) */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, exists ? (st.st_mode & 07777) : (0666 & ~mask));
    int e = 0;
    for (size_t off = 0; off < n && !e;) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) e = w < 0 ? errno : EIO;
        else off += (size_t)w;
    }
    if (close(fd) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) unlink(tmp);
    rc_free(tmp);
    return e ? rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': %s", path, strerror(e)) : RC_OK;
}

rc_status rc_dot_render(const char *dot, const char *format, char **out, size_t *len, rc_error *err) {
    return render(dot, format, out, len, err, "rc_dot_render");
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
    if (st == RC_OK) st = write_file(path, data, n, err, fn);
    rc_free(data);
    return st;
}
