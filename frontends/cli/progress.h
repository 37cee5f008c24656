/* Training progress for the CLI (not a public header): on a terminal, one
 * self-rewriting line with a bar, step, loss, tokens/s and ETA; otherwise
 * (a pipe, a file, CI logs) a plain line every `every` steps. */
#ifndef RECUR_CLI_PROGRESS_H
#define RECUR_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct progress {
    FILE *f;
    bool tty;
    int64_t first, total;      /* steps first+1 .. total are run */
    int64_t tokens_per_step;
    int64_t every;             /* plain lines: one per `every` steps */
    double t0, last_draw;
    double sum;                /* losses since the last plain line */
    int64_t nsum;
    bool bar_shown;
} progress;

double progress_now(void); /* monotonic seconds */
void progress_init(progress *p, FILE *f, int64_t first, int64_t total, int64_t tokens_per_step, int64_t every);
void progress_step(progress *p, int64_t step, double loss);
/* A line of its own (clears the bar first). */
void progress_note(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_done(progress *p);

#endif
