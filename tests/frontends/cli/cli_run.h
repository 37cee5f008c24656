/* Running the built `recur` (path in the RECUR_EXE macro from meson) from
 * CLI tests: a scratch directory, the command's exit status and its
 * captured stdout and stderr. Test code only. */
#ifndef RECUR_TESTS_CLI_RUN_H
#define RECUR_TESTS_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

extern char dir[64];                          /* the scratch directory */
extern char out_text[65536], err_text[65536]; /* of the last run */

/* Make a fresh scratch directory /tmp/<prefix>-XXXXXX into dir; remove it. */
void cli_make_dir(const char *prefix);
void cli_remove_dir(void);
/* File contents into buf, NUL-terminated and truncated to n - 1 bytes ("" if unreadable). */
void slurp(const char *path, char *buf, size_t n);
/* `recur ARGS` run in dir; stdout/stderr into out_text/err_text; the exit status. */
int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether two files in dir have the same bytes. */
bool same_files(const char *a, const char *b);

#define EXPECT_RUN(code, needle, ...)                                                                      \
    do {                                                                                                   \
        int rc_ = run(__VA_ARGS__);                                                                        \
        cr_expect_eq(rc_, code, "exit %d, expected %d; stderr: %s", rc_, code, err_text);                  \
        cr_expect(strstr(err_text, needle) != NULL, "stderr lacks '%s': %s", needle, err_text);           \
    } while (0)

#endif
