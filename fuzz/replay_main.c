/* Replays inputs through a fuzz harness without libFuzzer: the same
 * LLVMFuzzerTestOneInput, linked with this main into an ordinary executable
 * of the normal build (gcc or clang, with or without sanitizers). The suite
 * runs it over fuzz/corpus/<target> (the seeds) and fuzz/regressions/<target>
 * (every crash ever found), so a fixed crash stays fixed.
 *
 * usage: replay_<target> PATH...   (files, or directories of files; a
 *        missing directory counts as empty)
 * Prints the count replayed; exit 0, or 1 when nothing at all was replayed
 * (a mistyped directory must not pass silently). A crash is a crash. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static long replay_file(const char *path) {
    size_t n;
    uint8_t *data = fz_read_file(path, &n);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 1;
}

static long replay_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., README-like dotfiles */
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) abort();
            names = nn;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[count] = malloc(len);
        if (!names[count]) abort();
        snprintf(names[count++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, by_name);
    long done = 0;
    for (size_t i = 0; i < count; i++) {
        struct stat sb;
        if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) done += replay_file(names[i]);
        free(names[i]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    long done = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) continue; /* an absent directory: nothing there yet */
        done += S_ISDIR(sb.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]);
    }
    printf("replayed %ld inputs\n", done);
    if (done == 0) {
        fprintf(stderr, "replay: no input found under the paths given\n");
        return 1;
    }
    return 0;
}
