/* Option parsing for the CLI subcommands (see args.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

int args_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "recur %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'recur %s --help'\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int args_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "recur %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int set_value(const char *cmd, arg_opt *o, const char *v) {
    char *end;
    errno = 0;
    if (o->kind == ARG_STRING) {
        *(const char **)o->target = v;
        return 0;
    }
    if (o->kind == ARG_INT) {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno)
            return args_usage_error(cmd, "bad value '%s' for %s (expected a whole number)", v, o->name);
        if ((double)x < o->lo || (double)x > o->hi)
            return args_usage_error(cmd, "%s %s is out of range (expected %.0f to %.0f)", o->name, v, o->lo, o->hi);
        *(int64_t *)o->target = x;
        return 0;
    }
    double x = strtod(v, &end);
    if (!*v || *end || errno == ERANGE || !isfinite(x))
        return args_usage_error(cmd, "bad value '%s' for %s (expected a finite number)", v, o->name);
    if (x < o->lo || x > o->hi)
        return args_usage_error(cmd, "%s %s is out of range (expected %g to %g)", o->name, v, o->lo, o->hi);
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
        if (o->seen) return args_usage_error(cmd, "option %s given twice", name);
        o->seen = true;
        if (o->kind == ARG_FLAG) {
            if (eq) return args_usage_error(cmd, "option %s takes no value", name);
            *(bool *)o->target = true;
            continue;
        }
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return args_usage_error(cmd, "option %s needs a value", name);
        int r = set_value(cmd, o, v);
        if (r) return r;
    }
    return 0;
}
