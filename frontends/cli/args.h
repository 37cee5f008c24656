/* Option parsing and usage errors for the CLI subcommands (not a public
 * header).
 *
 * A command declares a table of options; args_parse walks argv, fills the
 * targets, and on any problem answers as every bad usage is answered: ONE
 * line "recur CMD: <what is wrong, naming the argument>", a second line
 * "try 'recur CMD --help'", exit status 2 (args_usage_error, the only
 * place that prints it). Values are checked in full: a number must be
 * wholly numeric, finite and within [lo, hi]. */
#ifndef RECUR_CLI_ARGS_H
#define RECUR_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ARG_FLAG, ARG_INT, ARG_DOUBLE, ARG_STRING } arg_kind;

typedef struct arg_opt {
    const char *name;      /* "--units" */
    arg_kind kind;
    void *target;          /* bool*, int64_t*, double*, const char** */
    double lo, hi;         /* ARG_INT, ARG_DOUBLE: allowed range (inclusive) */
    bool seen;             /* set by args_parse */
    const char *what;      /* ARG_STRING: what the value is, for messages
                              ("lstm, gru or simple"); NULL = "a value" */
} arg_opt;

/* Table rows. */
#define OPT_FLAG(n, p) {n, ARG_FLAG, p, 0, 0, false, NULL}
#define OPT_STR(n, p) {n, ARG_STRING, p, 0, 0, false, NULL}
#define OPT_STRW(n, p, what) {n, ARG_STRING, p, 0, 0, false, what}
#define OPT_INT(n, p, lo, hi) {n, ARG_INT, p, lo, hi, false, NULL}
#define OPT_DBL(n, p, lo, hi) {n, ARG_DOUBLE, p, lo, hi, false, NULL}

/* Parses argv[1..argc). Positional arguments go to pos[0..maxpos) (count in
 * *npos); more than maxpos is a usage error. Returns 0 on success, -1 when
 * --help was asked (usage printed to stdout), EXIT_USAGE after printing the
 * error. */
int args_parse(const char *cmd, const char *usage, int argc, char **argv, arg_opt *opts, int nopts,
               const char **pos, int maxpos, int *npos);

/* "recur CMD: message\ntry 'recur CMD --help'" on stderr; returns
 * EXIT_USAGE. cmd NULL is recur itself ("recur: ...", "try 'recur
 * --help'"). message is one line naming the argument and what it expects. */
int args_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse v into o's target as args_parse does with an option's value, for
 * commands with their own loop (recur dot); 0, or EXIT_USAGE after the
 * usage error. */
int args_set_value(const char *cmd, arg_opt *o, const char *v);
/* What o expects, for messages: "a positive integer up to 4096". */
const char *args_expects(const arg_opt *o, char *buf, size_t len);
/* "recur CMD: message" on stderr; returns 1. */
int args_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The calling thread's messages of args_fail and args_usage_error go into
 * buf (the first one, cut to len) instead of stderr; NULL: back to stderr.
 * For `recur train`'s replica threads, whose failures rank 0 reports. */
void args_capture(char *buf, size_t len);

#endif
