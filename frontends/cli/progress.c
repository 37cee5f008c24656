/* Training progress display (see progress.h). */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

double progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress *p, FILE *f, int64_t first, int64_t total, int64_t tokens_per_step, int64_t every) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = isatty(fileno(f));
    p->first = first, p->total = total, p->tokens_per_step = tokens_per_step;
    p->every = every > 0 ? every : 100;
    p->t0 = progress_now();
}

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void progress_step(progress *p, int64_t step, double loss) {
    double now = progress_now(), el = now - p->t0;
    int64_t done = step - p->first, left = p->total - step;
    double tps = el > 0 ? (double)(done * p->tokens_per_step) / el : 0.0;
    double eta = done > 0 ? el / (double)done * (double)left : -1;
    char etab[32], elb[32];
    fmt_time(etab, sizeof etab, eta);
    fmt_time(elb, sizeof elb, el);
    p->sum += loss, p->nsum++;
    if (p->tty) {
        if (now - p->last_draw < 0.1 && step != p->total) return;
        p->last_draw = now;
        enum { W = 24 };
        int fill = p->total > 0 ? (int)((double)W * (double)step / (double)p->total) : W;
        char bar[W + 1];
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        /* The loss shown is the mean over the steps since the last redraw, steadier than one step's. */
        fprintf(p->f, "\r[%s] step %lld/%lld  loss %.4f  %.0f tok/s  %s  ETA %s\033[K", bar, (long long)step,
                (long long)p->total, p->sum / (double)p->nsum, tps, elb, etab);
        p->sum = 0, p->nsum = 0;
        fflush(p->f);
        p->bar_shown = true;
        return;
    }
    if (step % p->every == 0 || step == p->total) {
        fprintf(p->f, "step %lld/%lld  loss %.4f (mean of %lld)  %.0f tok/s  %.1f ms/step  elapsed %s  ETA %s\n",
                (long long)step, (long long)p->total, p->sum / (double)p->nsum, (long long)p->nsum, tps,
                done > 0 ? 1e3 * el / (double)done : 0.0, elb, etab);
        fflush(p->f);
        p->sum = 0, p->nsum = 0;
    }
}

void progress_note(progress *p, const char *fmt, ...) {
    if (p->bar_shown) fputs("\r\033[K", p->f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->f, fmt, ap);
    va_end(ap);
    fputc('\n', p->f);
    p->bar_shown = false;
    p->last_draw = 0;
    fflush(p->f);
}

void progress_done(progress *p) {
    if (p->bar_shown) fputc('\n', p->f);
    p->bar_shown = false;
    fflush(p->f);
}
