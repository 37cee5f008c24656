#include "cli_run.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

char dir[64];
char out_text[65536], err_text[65536];

void cli_make_dir(const char *prefix) {
    snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", prefix);
    cr_assert_not_null(mkdtemp(dir));
}

void cli_remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

void slurp(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = 0;
    if (f) fclose(f);
}

int run(const char *fmt, ...) {
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s >out.txt 2>err.txt", dir, RECUR_EXE, args);
    int st = system(cmd);
    char p[256];
    snprintf(p, sizeof p, "%s/out.txt", dir);
    slurp(p, out_text, sizeof out_text);
    snprintf(p, sizeof p, "%s/err.txt", dir);
    slurp(p, err_text, sizeof err_text);
    cr_assert(WIFEXITED(st), "recur %s did not exit normally", args);
    return WEXITSTATUS(st);
}

bool same_files(const char *a, const char *b) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd %s && cmp -s %s %s", dir, a, b);
    return system(cmd) == 0;
}
