/* The demo corpus of the CLI (frontends/cli/fortunes.c): size, digest,
 * split and evaluation starts as the PyTorch peer computes them (Python's
 * hashlib, NumPy's round(linspace(...))), and its error messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define tmpdir tu_tmpdir
#define setup tu_tmpdir_setup
#define teardown tu_tmpdir_teardown
#define write_tmp tu_write_tmp

#include "fortunes.h"

Test(fortunes, fortunes_size_sha_and_split) {
    if (access(FORTUNES_DIR "/fortunes", R_OK) != 0)
        cr_skip_test("the Debian package 'fortunes' is not installed (apt-get install -y fortunes): "
                     "fortunes corpus not checked");
    rc_corpus c;
    char msg[512] = "";
    cr_assert_eq(fortunes_load(&c, NULL, msg, sizeof msg), RC_OK, "%s", msg);
    cr_expect_eq(c.n, 2576674);
    cr_expect_str_eq(c.sha256, FORTUNES_SHA256);
    cr_expect_eq(c.n_train, 2319006);
    cr_expect_eq(rc_corpus_val_len(&c), 257668);
    cr_expect_eq(c.vocab, 256);
    int seen[256] = {0}, distinct = 0;
    for (int64_t i = 0; i < c.n; i++) seen[c.tokens[i]]++;
    for (int i = 0; i < 256; i++) distinct += seen[i] > 0;
    cr_expect_eq(distinct, 114); /* as fortunes_corpus.py reports */
    int64_t starts[512], sum = 0;
    cr_assert_eq(rc_eval_starts(rc_corpus_val_len(&c), 100, 512, starts, NULL), RC_OK);
    for (int i = 0; i < 512; i++) sum += starts[i];
    cr_expect_eq(starts[1], 504);
    cr_expect_eq(starts[511], 257567);
    cr_expect_eq(sum, 65937152);
    rc_corpus_free(&c);
}

Test(fortunes, fortunes_missing_directory_names_the_package, .init = setup, .fini = teardown) {
    rc_corpus c;
    char msg[512] = "";
    cr_assert_eq(fortunes_load(&c, tmpdir, msg, sizeof msg), RC_ERR_IO);
    cr_expect(strstr(msg, "/art") && strstr(msg, "apt-get install -y fortunes"), "%s", msg);
    cr_expect_null(c.tokens);
}

Test(fortunes, fortunes_wrong_contents_is_a_format_error, .init = setup, .fini = teardown) {
    for (int i = 0; i < FORTUNES_NFILES; i++) write_tmp(fortunes_files[i], "x", 1);
    rc_corpus c;
    char msg[512] = "";
    cr_assert_eq(fortunes_load(&c, tmpdir, msg, sizeof msg), RC_ERR_FORMAT);
    cr_expect(strstr(msg, "43 bytes") && strstr(msg, FORTUNES_SHA256), "%s", msg);
}
