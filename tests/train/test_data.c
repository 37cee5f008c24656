/* Corpora, windows, evaluation starts and SHA-256 (recur/data.h).
 * Expected digests and starts were computed with Python's hashlib and
 * NumPy's round(linspace(...)). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define tmpdir tu_tmpdir
#define setup tu_tmpdir_setup
#define teardown tu_tmpdir_teardown
#define write_tmp tu_write_tmp

Test(sha256, known_vectors_and_padding_boundaries) {
    static const struct { size_t n; const char *hex; } v[] = {
        {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rc_sha256_hex(a, v[i].n, hex);
        cr_expect_str_eq(hex, v[i].hex, "%zu bytes of 'a'", v[i].n);
    }
    free(a);
    rc_sha256_hex("abc", 3, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unsigned char all[768];
    for (int i = 0; i < 768; i++) all[i] = (unsigned char)i;
    rc_sha256_hex(all, 768, hex); /* every byte value, high bit included */
    cr_expect_str_eq(hex, "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363");
}

/* rc_file_append sizes its buffer from a regular file's length (one
 * allocation: the length plus the byte that lets it see end-of-file) and
 * grows by doubling for a pipe, whose length it cannot know; appending a
 * second file keeps the first's bytes. */
Test(corpus, file_append_regular_files_and_a_fifo, .init = setup, .fini = teardown) {
    enum { N1 = 300001, N2 = 200003 };
    unsigned char *a = malloc(N1), *b = malloc(N2);
    for (int i = 0; i < N1; i++) a[i] = (unsigned char)(i * 7 + 1);
    for (int i = 0; i < N2; i++) b[i] = (unsigned char)(i * 13 + 5);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    rc_error err;
    cr_assert_eq(rc_file_append(write_tmp("a.bin", a, N1), &buf, &len, &cap, &err), RC_OK, "%s", err.message);
    cr_expect_eq(len, (size_t)N1);
    cr_expect_eq(cap, (size_t)N1 + 1, "a regular file is read into its length + 1, got %zu", cap);
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/pipe", tmpdir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) { /* the writer: the whole of b in pieces, then EOF */
        FILE *f = fopen(fifo, "wb");
        size_t ok = f ? fwrite(b, 1, N2, f) : 0;
        _exit(f && ok == N2 && fclose(f) == 0 ? 0 : 1);
    }
    rc_status s = rc_file_append(fifo, &buf, &len, &cap, &err);
    int ws = 0;
    waitpid(pid, &ws, 0);
    cr_assert_eq(s, RC_OK, "%s", err.message);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    cr_assert_eq(len, (size_t)N1 + N2);
    cr_expect(cap >= len);
    cr_expect_eq(memcmp(buf, a, N1), 0);
    cr_expect_eq(memcmp(buf + N1, b, N2), 0);
    rc_free(buf);
    free(a);
    free(b);
}

Test(corpus, bytes_file_split_and_high_bytes, .init = setup, .fini = teardown) {
    unsigned char b[100];
    for (int i = 0; i < 100; i++) b[i] = (unsigned char)(i * 37 + 200);
    const char *p = write_tmp("c.bin", b, 100);
    rc_corpus c;
    rc_error err;
    cr_assert_eq(rc_corpus_load_bytes(&c, p, 0.9, &err), RC_OK, "%s", err.message);
    cr_expect_eq(c.n, 100);
    cr_expect_eq(c.n_train, 90); /* floor(0.9 * 100) */
    cr_expect_eq(rc_corpus_val_len(&c), 10);
    cr_expect_eq(rc_corpus_val(&c)[0], b[90]);
    for (int i = 0; i < 100; i++) cr_expect_eq(c.tokens[i], b[i]); /* 0..255, never negative */
    char hex[65];
    rc_sha256_hex(b, 100, hex);
    cr_expect_str_eq(c.sha256, hex);
    rc_corpus_free(&c);
    /* floor, not round: 0.9 * 15 = 13.5 -> 13 */
    cr_assert_eq(rc_corpus_load_bytes(&c, write_tmp("d.bin", b, 15), 0.9, &err), RC_OK);
    cr_expect_eq(c.n_train, 13);
    rc_corpus_free(&c);
}

Test(corpus, bytes_errors, .init = setup, .fini = teardown) {
    rc_corpus c;
    rc_error err;
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope.txt", tmpdir);
    cr_expect_eq(rc_corpus_load_bytes(&c, missing, 0.9, &err), RC_ERR_IO);
    cr_expect(strstr(err.message, "nope.txt") != NULL, "%s", err.message);
    cr_expect_eq(rc_corpus_load_bytes(&c, write_tmp("e", "", 0), 0.9, &err), RC_ERR_FORMAT);
    cr_expect(strstr(err.message, "empty") != NULL, "%s", err.message);
    cr_expect_eq(rc_corpus_load_bytes(&c, write_tmp("f", "abc", 3), 0.0, &err), RC_ERR_ARG);
    cr_expect_eq(rc_corpus_load_bytes(&c, write_tmp("f", "abc", 3), 1.5, &err), RC_ERR_ARG);
}

Test(corpus, integer_sequences, .init = setup, .fini = teardown) {
    const char *txt = "3 1 4\n1 5 9\r\n  2\t6\n";
    rc_corpus c;
    rc_error err;
    cr_assert_eq(rc_corpus_load_ints(&c, write_tmp("i.txt", txt, strlen(txt)), 0, 0.5, &err), RC_OK, "%s",
                 err.message);
    static const int32_t want[] = {3, 1, 4, 1, 5, 9, 2, 6};
    cr_assert_eq(c.n, 8);
    for (int i = 0; i < 8; i++) cr_expect_eq(c.tokens[i], want[i]);
    cr_expect_eq(c.vocab, 10);
    cr_expect_eq(c.n_train, 4);
    rc_corpus_free(&c);
    cr_expect_eq(rc_corpus_load_ints(&c, write_tmp("i.txt", txt, strlen(txt)), 9, 0.5, &err), RC_ERR_ARG);
    cr_expect(strstr(err.message, "outside [0, 9)") != NULL, "%s", err.message);
    const char *bad = "1 2\n3 -4\n";
    cr_expect_eq(rc_corpus_load_ints(&c, write_tmp("b.txt", bad, strlen(bad)), 0, 0.5, &err),
                 RC_ERR_FORMAT);
    cr_expect(strstr(err.message, "b.txt:2") != NULL, "%s", err.message);
    const char *big = "99999999999\n";
    cr_expect_eq(rc_corpus_load_ints(&c, write_tmp("g.txt", big, strlen(big)), 0, 0.5, &err),
                 RC_ERR_FORMAT);
    cr_expect_eq(rc_corpus_load_ints(&c, write_tmp("n.txt", " \n", 2), 0, 0.5, &err), RC_ERR_FORMAT);
}

Test(corpus, windows_are_reproducible_and_in_the_training_split) {
    enum { N = 1000, B = 16, T = 10 };
    int32_t tok[N];
    for (int i = 0; i < N; i++) tok[i] = i % 251;
    rc_corpus c;
    rc_error err;
    cr_assert_eq(rc_corpus_from_tokens(&c, tok, N, 256, 0.9, &err), RC_OK);
    int32_t x1[B * T], y1[B * T], x2[B * T], y2[B * T];
    int64_t s1[B], s2[B];
    rc_rng r1, r2;
    rc_rng_seed(&r1, 7);
    rc_rng_seed(&r2, 7);
    bool differ_next = false;
    int64_t lo = N, hi = -1;
    for (int rep = 0; rep < 50; rep++) {
        cr_assert_eq(rc_corpus_windows(&c, &r1, B, T, x1, y1, s1, NULL), RC_OK);
        cr_assert_eq(rc_corpus_windows(&c, &r2, B, T, x2, y2, s2, NULL), RC_OK);
        cr_assert_eq(memcmp(x1, x2, sizeof x1), 0);
        cr_assert_eq(memcmp(y1, y2, sizeof y1), 0);
        for (int b = 0; b < B; b++) {
            cr_assert(s1[b] >= 0 && s1[b] + T + 1 <= c.n_train, "start %lld", (long long)s1[b]);
            lo = s1[b] < lo ? s1[b] : lo, hi = s1[b] > hi ? s1[b] : hi;
            for (int t = 0; t < T; t++) {
                cr_assert_eq(x1[b * T + t], tok[s1[b] + t]);
                cr_assert_eq(y1[b * T + t], tok[s1[b] + t + 1]);
            }
        }
        differ_next |= s1[0] != s1[1];
    }
    cr_expect(differ_next);
    /* 800 draws over 890 starts reach both ends' neighbourhoods. */
    cr_expect(lo < 20 && hi > 860, "starts span [%lld, %lld]", (long long)lo, (long long)hi);
    rc_rng_seed(&r2, 8);
    rc_corpus_windows(&c, &r2, B, T, x2, y2, s2, NULL);
    rc_rng_seed(&r1, 7);
    rc_corpus_windows(&c, &r1, B, T, x1, y1, s1, NULL);
    cr_expect_neq(memcmp(s1, s2, sizeof s1), 0, "another seed gives other windows");
    /* A training split of T tokens cannot hold a window of T + 1. */
    rc_corpus small;
    cr_assert_eq(rc_corpus_from_tokens(&small, tok, 20, 256, 0.5, &err), RC_OK);
    cr_expect_eq(rc_corpus_windows(&small, &r1, 1, 10, x1, y1, NULL, NULL), RC_ERR_ARG);
    cr_expect_eq(rc_corpus_windows(&small, &r1, 1, 9, x1, y1, s1, NULL), RC_OK);
    cr_expect_eq(s1[0], 0);
    rc_corpus_free(&small);
    rc_corpus_free(&c);
}

Test(corpus, eval_starts_match_numpy) {
    int64_t s[21];
    cr_assert_eq(rc_eval_starts(1000, 100, 5, s, NULL), RC_OK);
    static const int64_t w5[] = {0, 225, 450, 674, 899};
    for (int i = 0; i < 5; i++) cr_expect_eq(s[i], w5[i], "[%d] %lld", i, (long long)s[i]);
    cr_assert_eq(rc_eval_starts(1000, 10, 7, s, NULL), RC_OK);
    static const int64_t w7[] = {0, 165, 330, 494, 659, 824, 989};
    for (int i = 0; i < 7; i++) cr_expect_eq(s[i], w7[i], "[%d] %lld", i, (long long)s[i]);
    /* Halves round to even, as NumPy. */
    cr_assert_eq(rc_eval_starts(11 + 10, 10, 21, s, NULL), RC_OK);
    static const int64_t w21[] = {0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, 6, 6, 7, 8, 8, 8, 9, 10, 10};
    for (int i = 0; i < 21; i++) cr_expect_eq(s[i], w21[i], "[%d] %lld", i, (long long)s[i]);
    cr_assert_eq(rc_eval_starts(50, 49, 3, s, NULL), RC_OK);
    cr_expect(s[0] == 0 && s[1] == 0 && s[2] == 0);
    cr_expect_eq(rc_eval_starts(49, 49, 3, s, NULL), RC_ERR_ARG);
    cr_expect_eq(rc_eval_starts(500, 10, 0, s, NULL), RC_ERR_ARG);
}
