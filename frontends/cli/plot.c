/* Loss curves as SVG (see plot.h). The SVG is written by hand: a plot area
 * with "nice" ticks (1, 2, 5 x 10^k), grid lines, axis labels, the raw
 * training loss as a faint line, its running mean over a window as a solid
 * line, and validation points joined by a dashed line. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

static int perr(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(char *msg, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return 1;
}

typedef struct series {
    double *x, *y;
    int64_t n, cap;
} series;

static bool push(series *s, double x, double y) {
    if (s->n == s->cap) {
        int64_t nc = s->cap ? 2 * s->cap : 1024;
        double *nx = realloc(s->x, (size_t)nc * sizeof *nx);
        if (!nx) return false;
        s->x = nx;
        double *ny = realloc(s->y, (size_t)nc * sizeof *ny);
        if (!ny) return false;
        s->y = ny, s->cap = nc;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return true;
}

/* Split a CSV line in place on commas (no quoting: the logs hold numbers). */
static int split_csv(char *line, char **f, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        if (n < max) f[n] = p;
        n++;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0, p = c + 1;
    }
    char *e = f[n <= max ? n - 1 : max - 1];
    e[strcspn(e, "\r\n")] = 0;
    return n;
}

/* Values beyond this magnitude are refused: the axis arithmetic below
 * (spans, running sums of up to 2^63 points) stays finite with a margin. */
#define PLOT_MAX_ABS 1e100

static bool parse_num(const char *s, double *v) {
    while (*s == ' ') s++;
    if (!*s) return false;
    char *end;
    *v = strtod(s, &end);
    while (*end == ' ') end++;
    return *end == 0 && isfinite(*v) && fabs(*v) <= PLOT_MAX_ABS;
}

/* Tick step for about `want` ticks over span: 1, 2 or 5 times a power of ten. */
static double nice_step(double span, int want) {
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* An axis over [lo, hi]: rounded ends *a0 <= lo, *a1 >= hi, a tick step and
 * the number of ticks (ends included). The span is widened to at least a
 * millionth of the magnitude (or 1 around 0) so a flat series at 1e20 still
 * has a step that moves `v` — ticks are counted as integers, never by
 * adding a step that rounding could swallow. */
static void axis(double lo, double hi, double *a0, double *a1, double *step, int *nticks) {
    double mag = fmax(fabs(lo), fabs(hi)), min_span = mag > 1e-200 ? mag * 1e-6 : mag > 0 ? 1e-200 : 1;
    if (hi - lo < min_span) {
        double mid = lo / 2 + hi / 2;
        lo = mid - min_span / 2, hi = mid + min_span / 2;
    }
    double s = nice_step(hi - lo, 6);
    *a0 = floor(lo / s) * s, *a1 = ceil(hi / s) * s, *step = s;
    double n = round((*a1 - *a0) / s);
    *nticks = n >= 0 && n < 40 ? (int)n + 1 : 2; /* 6 asked: 40 only if rounding went astray */
    if (*nticks == 2) *step = *a1 - *a0;
}

static void fmt_tick(char *b, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    if (v == 0 && step < 1e-4) snprintf(b, n, "0");
    else if (v != 0 && (fabs(v) >= 1e6 || step < 1e-4)) {
        /* Scientific, with the significant digits that tell ticks apart. */
        int sig = (int)ceil(log10(fabs(v) / step) + 1e-9) + 1;
        snprintf(b, n, "%.*g", sig < 1 ? 1 : sig > 17 ? 17 : sig, v);
    } else if (fabs(v) >= 10000 && fmod(v, 1000) == 0) snprintf(b, n, "%gk", v / 1000);
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(b, n, "%.*f", dec, v);
    }
}

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else if ((unsigned char)*s < 32) fputc(' ', f);
        else fputc(*s, f);
    }
}

int plot_csv_to_svg(const char *csv, const char *svg, const char *title, char *msg, size_t msglen) {
    FILE *in = fopen(csv, "r");
    if (!in) return perr(msg, msglen, "cannot open the log '%s': %s", csv, strerror(errno));
    char line[4096];
    char *f[64];
    int istep = -1, iloss = -1, ival = -1;
    if (!fgets(line, sizeof line, in)) {
        int e = ferror(in) ? errno : 0; /* EISDIR for a directory */
        fclose(in);
        if (e) return perr(msg, msglen, "cannot read the log '%s': %s", csv, strerror(e));
        return perr(msg, msglen, "'%s' is empty: expected a CSV header with step and loss columns", csv);
    }
    int nf = split_csv(line, f, 64);
    for (int i = 0; i < nf && i < 64; i++) {
        if (strcmp(f[i], "step") == 0) istep = i;
        if (strcmp(f[i], "loss") == 0) iloss = i;
        if (strcmp(f[i], "val_loss") == 0) ival = i;
    }
    if (istep < 0 || (iloss < 0 && ival < 0)) {
        fclose(in);
        return perr(msg, msglen, "'%s': the header needs a 'step' column and a 'loss' or 'val_loss' column", csv);
    }
    series tr = {0}, va = {0};
    int64_t lineno = 1;
    int rc = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        if (line[strspn(line, " \r\n")] == 0) continue;
        nf = split_csv(line, f, 64);
        double s, v;
        if (istep >= nf || !parse_num(f[istep], &s)) {
            rc = perr(msg, msglen, "'%s' line %lld: no step number", csv, (long long)lineno);
            break;
        }
        bool ok = true;
        if (iloss >= 0 && iloss < nf && f[iloss][0] && f[iloss][0] != '\r') {
            if (parse_num(f[iloss], &v)) ok = push(&tr, s, v);
            else {
                rc = perr(msg, msglen, "'%s' line %lld: loss '%s' is not a finite number (|x| <= 1e100)", csv, (long long)lineno,
                          f[iloss]);
                break;
            }
        }
        if (ival >= 0 && ival < nf && f[ival][0]) {
            if (parse_num(f[ival], &v)) ok = ok && push(&va, s, v);
            else {
                rc = perr(msg, msglen, "'%s' line %lld: val_loss '%s' is not a finite number (|x| <= 1e100)", csv,
                          (long long)lineno, f[ival]);
                break;
            }
        }
        if (!ok) {
            rc = perr(msg, msglen, "out of memory reading '%s'", csv);
            break;
        }
    }
    fclose(in);
    if (!rc && tr.n + va.n == 0) rc = perr(msg, msglen, "'%s' holds no loss values to plot", csv);
    if (rc) {
        free(tr.x), free(tr.y), free(va.x), free(va.y);
        return rc;
    }

    /* Running mean of the training loss over a window of 2% of the points (at least 1). */
    int64_t win = tr.n / 50 > 1 ? tr.n / 50 : 1;
    double *sm = calloc((size_t)(tr.n ? tr.n : 1), sizeof *sm), *suf = calloc((size_t)(tr.n ? tr.n : 1), sizeof *suf);
    if (!sm || !suf) {
        free(tr.x), free(tr.y), free(va.x), free(va.y), free(sm), free(suf);
        return perr(msg, msglen, "out of memory plotting '%s'", csv);
    }
    /* Sliding sums without subtraction (a running sum minus the leaving
     * value would keep the rounding error of a 1e30 spike for the rest of
     * the curve): the window [s, i] is a front part [s, b0) whose suffix
     * sums were computed when it was the back, plus the back's sum of
     * [b0, i]. When the front empties the back becomes the front: every
     * point is summed into suffixes once, O(n) in all. */
    int64_t b0 = 0;
    double back = 0;
    for (int64_t i = 0; i < tr.n; i++) {
        int64_t s = i + 1 > win ? i + 1 - win : 0;
        back += tr.y[i];
        if (s >= b0) {
            suf[i] = tr.y[i];
            for (int64_t j = i - 1; j >= s; j--) suf[j] = tr.y[j] + suf[j + 1];
            b0 = i + 1, back = 0;
        }
        sm[i] = (suf[s] + back) / (double)(i + 1 - s);
    }
    free(suf);

    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int64_t i = 0; i < tr.n; i++) {
        x0 = fmin(x0, tr.x[i]), x1 = fmax(x1, tr.x[i]), y0 = fmin(y0, tr.y[i]), y1 = fmax(y1, tr.y[i]);
    }
    for (int64_t i = 0; i < va.n; i++) {
        x0 = fmin(x0, va.x[i]), x1 = fmax(x1, va.x[i]), y0 = fmin(y0, va.y[i]), y1 = fmax(y1, va.y[i]);
    }
    x0 = fmin(x0, 0);
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y0 -= 0.5, y1 += 0.5;
    double xs, ys;
    int nx, ny;
    axis(x0, x1, &x0, &x1, &xs, &nx);
    axis(y0, y1, &y0, &y1, &ys, &ny);

    enum { W = 720, H = 440, L = 70, R = 20, T = 46, B = 56 };
    const double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (T + (y1 - (v)) / (y1 - y0) * ph)
    FILE *o = fopen(svg, "w");
    if (!o) {
        free(tr.x), free(tr.y), free(va.x), free(va.y), free(sm);
        return perr(msg, msglen, "cannot write '%s'", svg);
    }
    fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fprintf(o, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">", W / 2);
    xml_text(o, title && *title ? title : "loss");
    fputs("</text>\n<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n", o);
    for (int i = 0; i < nx; i++) fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", PX(x0 + i * xs), T, PX(x0 + i * xs), H - B);
    for (int i = 0; i < ny; i++) fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", L, PY(y0 + i * ys), W - R, PY(y0 + i * ys));
    fputs("</g>\n<g fill=\"#333\">\n", o);
    for (int i = 0; i < nx; i++) {
        double v = x0 + i * xs;
        char b[32];
        fmt_tick(b, sizeof b, v, xs);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>", PX(v), H - B, PX(v), H - B + 5);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", PX(v), H - B + 19, b);
    }
    for (int i = 0; i < ny; i++) {
        double v = y0 + i * ys;
        char b[32];
        fmt_tick(b, sizeof b, v, ys);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>", L - 5, PY(v), L, PY(v));
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", L - 8, PY(v) + 4, b);
    }
    fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">step</text>\n", L + pw / 2, H - 14);
    fprintf(o, "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">loss</text>\n", T + ph / 2);
    fputs("</g>\n", o);
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n", L, T, pw, ph);
    if (tr.n) {
        fputs("<polyline fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\" points=\"", o);
        for (int64_t i = 0; i < tr.n; i++) fprintf(o, "%s%.1f,%.1f", i ? " " : "", PX(tr.x[i]), PY(tr.y[i]));
        fputs("\"/>\n<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\"", o);
        for (int64_t i = 0; i < tr.n; i++) fprintf(o, "%s%.1f,%.1f", i ? " " : "", PX(tr.x[i]), PY(sm[i]));
        fputs("\"/>\n", o);
    }
    if (va.n) {
        fputs("<polyline fill=\"none\" stroke=\"#d94801\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\" points=\"", o);
        for (int64_t i = 0; i < va.n; i++) fprintf(o, "%s%.1f,%.1f", i ? " " : "", PX(va.x[i]), PY(va.y[i]));
        fputs("\"/>\n<g fill=\"#d94801\">", o);
        for (int64_t i = 0; i < va.n; i++) fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>", PX(va.x[i]), PY(va.y[i]));
        fputs("</g>\n", o);
    }
    /* Legend, top right inside the plot area. */
    int lx = W - R - 190, ly = T + 12, row = 0;
    fprintf(o, "<g font-size=\"11\">\n");
    if (tr.n) {
        fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ecae1\"/><text x=\"%d\" y=\"%d\">train loss (per step)</text>\n",
                lx, ly, lx + 24, ly, lx + 30, ly + 4);
        row++;
        fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#08519c\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">train, mean of %lld steps</text>\n",
                lx, ly + 16 * row, lx + 24, ly + 16 * row, lx + 30, ly + 16 * row + 4, (long long)win);
        row++;
    }
    if (va.n)
        fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d94801\" stroke-dasharray=\"5 3\"/><circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"#d94801\"/><text x=\"%d\" y=\"%d\">validation loss</text>\n",
                lx, ly + 16 * row, lx + 24, ly + 16 * row, lx + 12, ly + 16 * row, lx + 30, ly + 16 * row + 4);
    fputs("</g>\n</svg>\n", o);
#undef PX
#undef PY
    bool bad = ferror(o);
    bad |= fclose(o) != 0;
    free(tr.x), free(tr.y), free(va.x), free(va.y), free(sm);
    if (bad) return perr(msg, msglen, "writing '%s' failed", svg);
    return 0;
}
