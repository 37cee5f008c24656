/* Option parsing shared by the training subcommands (not a public header).
 *
 * A command declares a table of options; args_parse walks argv, fills the
 * targets, and on any problem prints "recur CMD: <problem>" and where help
 * is, returning EXIT_USAGE. Values are checked in full: a number must be
 * wholly numeric, finite and within [lo, hi]. */
#ifndef RECUR_CLI_ARGS_H
#define RECUR_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { ARG_FLAG, ARG_INT, ARG_DOUBLE, ARG_STRING } arg_kind;

typedef struct arg_opt {
    const char *name;      /* "--units" */
    arg_kind kind;
    void *target;          /* bool*, int64_t*, double*, const char** */
    double lo, hi;         /* ARG_INT, ARG_DOUBLE: allowed range (inclusive) */
    bool seen;             /* set by args_parse */
} arg_opt;

/* Table rows. */
#define OPT_FLAG(n, p) {n, ARG_FLAG, p, 0, 0, false}
#define OPT_STR(n, p) {n, ARG_STRING, p, 0, 0, false}
#define OPT_INT(n, p, lo, hi) {n, ARG_INT, p, lo, hi, false}
#define OPT_DBL(n, p, lo, hi) {n, ARG_DOUBLE, p, lo, hi, false}

/* Parses argv[1..argc). Positional arguments go to pos[0..maxpos) (count in
 * *npos); more than maxpos is a usage error. Returns 0 on success, -1 when
 * --help was asked (usage printed to stdout), EXIT_USAGE after printing the
 * error. */
int args_parse(const char *cmd, const char *usage, int argc, char **argv, arg_opt *opts, int nopts,
               const char **pos, int maxpos, int *npos);

/* "recur CMD: message\ntry 'recur CMD --help'" on stderr; returns EXIT_USAGE. */
int args_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "recur CMD: message" on stderr; returns 1. */
int args_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
