/* Helpers shared by the fuzz harnesses (see fuzz_util.h). */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <recur.h>

static char *dir;

static void die(const char *what, const char *path) {
    fprintf(stderr, "fuzz harness: %s %s: %s\n", what, path ? path : "", strerror(errno));
    abort();
}

static void cleanup(void) {
    if (!dir) return;
    fz_clear();
    rmdir(dir);
    free(dir);
    dir = NULL;
}

const char *fz_dir(void) {
    if (dir) return dir;
    const char *parent = getenv("FUZZ_TMPDIR");
    struct stat sb;
    if (!parent || !*parent) parent = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    size_t n = strlen(parent) + sizeof "/recur-fuzz-XXXXXX";
    dir = malloc(n);
    if (!dir) die("out of memory", NULL);
    snprintf(dir, n, "%s/recur-fuzz-XXXXXX", parent);
    if (!mkdtemp(dir)) die("cannot make a directory in", parent);
    atexit(cleanup);
    /* The library's memory limit (what `recur --max-memory` sets) at 1 GiB,
     * under libFuzzer's -rss_limit_mb=2048: an input asking for more must be
     * refused by the limit with a message, and one asking for less is
     * cheap enough to run thousands of times. With the default (half of
     * physical memory) a file asking for 8 GiB is legitimately allocated
     * and zeroed, minutes per input. */
    rc_limits_set(&(rc_limits){.max_bytes = (int64_t)1 << 30});
    return dir;
}

char *fz_path(const char *name) {
    const char *d = fz_dir();
    size_t n = strlen(d) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) die("out of memory", NULL);
    snprintf(p, n, "%s/%s", d, name);
    return p;
}

char *fz_write(const char *name, const void *data, size_t n) {
    char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f) die("cannot write", p);
    if ((n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) die("cannot write", p);
    return p;
}

void fz_clear(void) {
    if (!dir) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = fz_path(e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
}

uint8_t *fz_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        len += fread(b + len, 1, cap - len, f);
        if (len < cap) break;
        uint8_t *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    if (ferror(f)) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = len;
    return b;
}
