/* Option parsing and usage errors for the CLI subcommands (see args.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static _Thread_local char *capture;
static _Thread_local size_t capture_len;

void args_capture(char *buf, size_t len) {
    capture = buf && len ? buf : NULL;
    capture_len = len;
    if (capture) capture[0] = 0;
}

/* Into the capture buffer, if the thread has one and it is still empty. */
static bool captured(const char *fmt, va_list ap) {
    if (!capture) return false;
    if (!capture[0]) vsnprintf(capture, capture_len, fmt, ap);
    return true;
}

int args_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (captured(fmt, ap)) {
        va_end(ap);
        return EXIT_USAGE;
    }
    fprintf(stderr, "recur%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'recur%s%s --help'\n", cmd ? " " : "", cmd ? cmd : "");
    va_end(ap);
    return EXIT_USAGE;
}

int args_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (captured(fmt, ap)) {
        va_end(ap);
        return 1;
    }
    fprintf(stderr, "recur %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

const char *args_expects(const arg_opt *o, char *buf, size_t len) {
    switch (o->kind) {
    case ARG_FLAG: snprintf(buf, len, "no value"); break;
    case ARG_STRING: snprintf(buf, len, "%s", o->what ? o->what : "a value"); break;
    case ARG_INT:
        if (o->lo == 1) snprintf(buf, len, "a positive integer up to %.0f", o->hi);
        else snprintf(buf, len, "a whole number from %.0f to %.0f", o->lo, o->hi);
        break;
    case ARG_DOUBLE: snprintf(buf, len, "a number from %g to %g", o->lo, o->hi); break;
    }
    return buf;
}

int args_set_value(const char *cmd, arg_opt *o, const char *v) {
    char *end, want[128];
    errno = 0;
    if (o->kind == ARG_STRING) {
        *(const char **)o->target = v;
        return 0;
    }
    if (o->kind == ARG_INT) {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || (double)x < o->lo || (double)x > o->hi)
            return args_usage_error(cmd, "%s expects %s, got '%s'", o->name, args_expects(o, want, sizeof want), v);
        *(int64_t *)o->target = x;
        return 0;
    }
    double x = strtod(v, &end);
    if (!*v || *end || errno == ERANGE || !isfinite(x) || x < o->lo || x > o->hi)
        return args_usage_error(cmd, "%s expects %s, got '%s'", o->name, args_expects(o, want, sizeof want), v);
    *(double *)o->target = x;
    return 0;
}

int args_parse(const char *cmd, const char *usage, int argc, char **argv, arg_opt *opts, int nopts,
               const char **pos, int maxpos, int *npos) {
    *npos = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(usage, stdout);
            return -1;
        }
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= maxpos) return args_usage_error(cmd, "unexpected argument '%s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        /* --name=value is accepted as --name value. */
        char name[64];
        const char *eq = strchr(a, '='), *v = NULL;
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof name) return args_usage_error(cmd, "unknown option '%s'", a);
        memcpy(name, a, n);
        name[n] = 0;
        arg_opt *o = NULL;
        for (int k = 0; k < nopts; k++)
            if (strcmp(opts[k].name, name) == 0) o = &opts[k];
        if (!o) return args_usage_error(cmd, "unknown option '%s'", name);
        if (o->seen) return args_usage_error(cmd, "%s is given twice", name);
        o->seen = true;
        if (o->kind == ARG_FLAG) {
            if (eq) return args_usage_error(cmd, "%s takes no value, got '%s'", name, a);
            *(bool *)o->target = true;
            continue;
        }
        char want[128];
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return args_usage_error(cmd, "%s needs a value: %s", name, args_expects(o, want, sizeof want));
        int r = args_set_value(cmd, o, v);
        if (r) return r;
    }
    return 0;
}
