/* Helpers shared by the fuzz harnesses (not part of the library).
 *
 * Most of recur's readers take a path, as users call them, so a harness
 * writes the input bytes to a file in a private directory (on tmpfs,
 * /dev/shm, when it exists) and calls the reader on it: the code under test
 * is exactly the code a user's file reaches. The directory is made once per
 * process (mkdtemp; $FUZZ_TMPDIR overrides the parent) and removed at exit.
 *
 * Ownership: fz_path returns a buffer the caller frees with free(). Any
 * failure of these helpers (a full tmpfs) is the harness' environment, not a
 * finding: they abort with a message so it is never mistaken for a pass. */
#ifndef RECUR_FUZZ_UTIL_H
#define RECUR_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The per-process directory (created on first use). */
const char *fz_dir(void);
/* dir/name, malloc'd. */
char *fz_path(const char *name);
/* Write n bytes to dir/name (replacing it); returns the malloc'd path. */
char *fz_write(const char *name, const void *data, size_t n);
/* Remove every entry of the directory (files and symlinks). */
void fz_clear(void);
/* Read a whole file into a malloc'd buffer (*n bytes); NULL if unreadable. */
uint8_t *fz_read_file(const char *path, size_t *n);

/* libFuzzer's entry points, also called by replay_main.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
