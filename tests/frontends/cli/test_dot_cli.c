/* recur dot as a user runs it: the built executable (RECUR_EXE, from
 * meson), every combination of cell, level, gradients and Bidirectional
 * checked by Graphviz' own `dot -Tsvg` (GRAPHVIZ_DOT), byte-identical
 * output from two processes, and bad input giving a message and a non-zero
 * exit status. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

static const char *env_path(const char *name) {
    const char *p = getenv(name);
    cr_assert(p && *p, "%s is not set (run through meson test; graphviz must be installed)", name);
    return p;
}

/* Runs argv with stdout and stderr into `out` (NUL-terminated, truncated);
 * returns the exit status, or -1 if it did not exit normally. */
static int run(char *const argv[], char *out, size_t outlen) {
    char log[] = "/tmp/recur-dot-cli-XXXXXX";
    int fd = mkstemp(log);
    cr_assert(fd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(e, 0, "cannot run %s: %s", argv[0], strerror(e));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    ssize_t k = pread(fd, out, outlen - 1, 0);
    out[k > 0 ? k : 0] = 0;
    close(fd);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char tmpdir[64];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/recur-dot-cli-dir-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

/* recur dot with the given arguments (NULL-terminated after argv[2]). */
#define RECUR_DOT(...) ((char *const[]){(char *)env_path("RECUR_EXE"), "dot", __VA_ARGS__, NULL})

static void assert_graphviz_accepts(const char *file, const char *what) {
    char msg[4096];
    int st = run((char *const[]){(char *)env_path("GRAPHVIZ_DOT"), "-Tsvg", (char *)file, "-o", "/dev/null", NULL},
                 msg, sizeof msg);
    cr_assert_eq(st, 0, "%s: dot -Tsvg exits %d: %s", what, st, msg);
    cr_assert_eq(msg[0], 0, "%s: dot -Tsvg warns: %s", what, msg);
}

TestSuite(dot_cli, .init = make_tmpdir, .fini = remove_tmpdir);

Test(dot_cli, graphviz_accepts_every_combination) {
    static const char *const cells[] = {"simple", "lstm", "gru"};
    static const char *const levels[] = {"op", "cell", "layer"};
    for (int c = 0; c < 3; c++)
        for (int l = 0; l < 3; l++)
            for (int gr = 0; gr < 2; gr++)
                for (int bi = 0; bi < 2; bi++) {
                    char file[128], what[128], msg[4096];
                    snprintf(what, sizeof what, "%s %s%s%s", cells[c], levels[l], gr ? " gradients" : "",
                             bi ? " bidirectional" : "");
                    snprintf(file, sizeof file, "%s/%s_%s_%d_%d.dot", tmpdir, cells[c], levels[l], gr, bi);
                    char *argv[20] = {(char *)env_path("RECUR_EXE"), "dot", "--cell", (char *)cells[c],
                                      "--units", "2", "--input", "2", "--steps", "3", "--level",
                                      (char *)levels[l], "-o", file};
                    int k = 14;
                    if (gr) argv[k++] = "--gradients";
                    if (bi) argv[k++] = "--bidirectional";
                    argv[k] = NULL;
                    int st = run(argv, msg, sizeof msg);
                    cr_assert_eq(st, 0, "%s: recur dot exits %d: %s", what, st, msg);
                    cr_assert_eq(msg[0], 0, "%s: recur dot printed: %s", what, msg);
                    assert_graphviz_accepts(file, what);
                }
}

Test(dot_cli, graphviz_accepts_steps_shown_and_grad_of) {
    static const char *const levels[] = {"op", "cell", "layer"};
    for (int l = 0; l < 3; l++) {
        char file[128], msg[4096];
        snprintf(file, sizeof file, "%s/shown_%s.dot", tmpdir, levels[l]);
        int st = run(RECUR_DOT("--cell", "lstm", "--units", "2", "--input", "2", "--steps", "9", "--steps-shown",
                               "2", "--bidirectional", "--grad-of", "recurrent_kernel", "--level",
                               (char *)levels[l], "--return-sequences", "--rankdir", "LR", "-o", file),
                     msg, sizeof msg);
        cr_assert_eq(st, 0, "%s: %s", levels[l], msg);
        assert_graphviz_accepts(file, levels[l]);
        size_t n;
        char *s = tu_read_file(file, &n);
        if (l < 2) cr_assert(strstr(s, "7 steps hidden") == NULL && strstr(s, "5 steps hidden"), "%s", levels[l]);
        /* the chosen gradient is named by its parameter's path */
        cr_assert(strstr(s, "∂L/∂bidirectional/forward_lstm/lstm_cell/recurrent_kernel") || l == 2, "%s", levels[l]);
        free(s);
    }
}

Test(dot_cli, renders_svg_png_and_pdf) {
    static const struct {
        const char *ext, *magic;
    } f[] = {{"svg", "<?xml"}, {"png", "\x89PNG"}, {"pdf", "%PDF"}, {"gv", "// recur"}};
    for (int i = 0; i < 4; i++) {
        char file[128], msg[4096];
        snprintf(file, sizeof file, "%s/gru.%s", tmpdir, f[i].ext);
        int st = run(RECUR_DOT("--cell", "gru", "--units", "3", "--input", "2", "--steps", "2", "--gradients",
                               "--level", "cell", "-o", file),
                     msg, sizeof msg);
        cr_assert_eq(st, 0, "%s: %s", f[i].ext, msg);
        size_t n;
        char *s = tu_read_file(file, &n);
        cr_assert(n > 100 && memcmp(s, f[i].magic, strlen(f[i].magic)) == 0, "%s", f[i].ext);
        free(s);
    }
}

Test(dot_cli, two_processes_write_identical_bytes) {
    static const char *const ext[] = {"dot", "svg"};
    for (int i = 0; i < 2; i++) {
        char a[128], b[128], msg[4096];
        snprintf(a, sizeof a, "%s/a.%s", tmpdir, ext[i]);
        snprintf(b, sizeof b, "%s/b.%s", tmpdir, ext[i]);
        cr_assert_eq(run(RECUR_DOT("--cell", "lstm", "--units", "3", "--input", "2", "--steps", "4",
                                   "--bidirectional", "--gradients", "-o", a),
                         msg, sizeof msg),
                     0, "%s", msg);
        cr_assert_eq(run(RECUR_DOT("--cell", "lstm", "--units", "3", "--input", "2", "--steps", "4",
                                   "--bidirectional", "--gradients", "-o", b),
                         msg, sizeof msg),
                     0, "%s", msg);
        size_t na, nb;
        char *sa = tu_read_file(a, &na), *sb = tu_read_file(b, &nb);
        cr_assert(na == nb && memcmp(sa, sb, na) == 0, "%s differs between two runs", ext[i]);
        free(sa);
        free(sb);
    }
}

typedef struct bad_case {
    const char *args[12];
    int status;
    const char *message;
} bad_case;

Test(dot_cli, bad_input_gives_a_message_and_an_exit_status) {
    char isdir[128], nodir[128];
    snprintf(isdir, sizeof isdir, "%s/adir.svg", tmpdir);
    cr_assert_eq(mkdir(isdir, 0755), 0);
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/g.svg", tmpdir);
    const bad_case cases[] = {
        {{"--level", "gate"}, 2, "--level expects op, cell or layer, got 'gate'"},
        {{"--cell", "mgu"}, 2, "--cell expects simple, lstm or gru, got 'mgu'"},
        {{"-o", "g.jpeg"}, 2, "-o expects a .dot, .gv, .svg, .png or .pdf file, got 'g.jpeg'"},
        {{"-o", "noextension"}, 2, "-o expects a .dot, .gv, .svg, .png or .pdf file, got 'noextension'"},
        {{"--steps", "0"}, 2, "--steps expects a positive integer up to 10000, got '0'"},
        {{"--steps", "-4"}, 2, "--steps expects a positive integer up to 10000, got '-4'"},
        {{"--steps", "3x"}, 2, "--steps expects a positive integer up to 10000, got '3x'"},
        {{"--units", "0"}, 2, "--units expects a positive integer up to 4096, got '0'"},
        {{"--steps-shown", "-1"}, 2, "--steps-shown expects a whole number from 0 to 10000, got '-1'"},
        {{"--rankdir", "up"}, 2, "--rankdir expects TB, LR, BT or RL, got 'up'"},
        {{"--frobnicate"}, 2, "unknown option '--frobnicate'"},
        {{"--grad-of", "nosuch"}, 2, "--grad-of 'nosuch' matches no parameter"},
        {{"-o", nodir}, 1, "cannot write '"},
        {{"-o", isdir}, 1, "cannot write '"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* a good command line, with the case's arguments last (they override) */
        char out[128];
        snprintf(out, sizeof out, "%s/ok.svg", tmpdir);
        char *argv[32] = {(char *)env_path("RECUR_EXE"), "dot", "--cell", "lstm", "--units", "2", "--input", "2",
                          "--steps", "3", "--level", "cell", "-o", out};
        int k = 14;
        for (int j = 0; cases[i].args[j]; j++) argv[k++] = (char *)cases[i].args[j];
        argv[k] = NULL;
        char msg[4096];
        int st = run(argv, msg, sizeof msg);
        cr_assert_eq(st, cases[i].status, "case %zu (%s): exit %d, expected %d: %s", i, cases[i].args[0], st,
                     cases[i].status, msg);
        cr_assert(strstr(msg, cases[i].message), "case %zu: message '%s' lacks '%s'", i, msg, cases[i].message);
        cr_assert_eq(strncmp(msg, "recur dot: ", 11), 0, "case %zu: %s", i, msg);
        struct stat sb;
        cr_assert(stat(out, &sb) != 0, "case %zu wrote a file", i);
    }
    /* missing pieces */
    char msg[4096];
    cr_assert_eq(run(RECUR_DOT("--units", "2", "--input", "2", "--steps", "3", "-o", "g.svg"), msg, sizeof msg), 2);
    cr_assert(strstr(msg, "missing --cell"), "%s", msg);
    cr_assert_eq(run(RECUR_DOT("--cell", "gru", "--units", "2", "--input", "2", "-o", "g.svg"), msg, sizeof msg), 2);
    cr_assert(strstr(msg, "missing --steps T"), "%s", msg);
    cr_assert_eq(run(RECUR_DOT("--cell", "gru", "--units", "2", "--input", "2", "--steps", "2"), msg, sizeof msg), 2);
    cr_assert(strstr(msg, "missing -o FILE"), "%s", msg);
    cr_assert_eq(run(RECUR_DOT("--cell", "gru", "--units"), msg, sizeof msg), 2);
    cr_assert(strstr(msg, "--units needs a value"), "%s", msg);
}

/* Imported models draw like built layers (both file forms, any level);
 * a missing file is a failure naming it, and layer-building options do not
 * go with a model. */
Test(dot_cli, models_draw_and_bad_model_arguments_are_errors, .init = make_tmpdir, .fini = remove_tmpdir) {
    char msg[4096], out[128], model[512];
    const char *forms[] = {"model.json", "model.keras"}, *levels[] = {"op", "cell", "layer"};
    snprintf(out, sizeof out, "%s/m.dot", tmpdir);
    for (int f = 0; f < 2; f++)
        for (int l = 0; l < 3; l++) {
            snprintf(model, sizeof model, "%s/bidir_lstm_dense/%s", env_path("GOLDEN_MODELS"), forms[f]);
            int st = run(RECUR_DOT(model, "--steps", "3", "--gradients", "--level", (char *)levels[l], "-o", out),
                         msg, sizeof msg);
            cr_assert_eq(st, 0, "%s %s: %s", forms[f], levels[l], msg);
            assert_graphviz_accepts(out, model);
        }
    snprintf(model, sizeof model, "%s/gru_lstm_dense/model.keras", env_path("GOLDEN_MODELS"));
    cr_assert_eq(run(RECUR_DOT("--model", model, "-o", out), msg, sizeof msg), 0, "%s", msg);
    int st = run(RECUR_DOT("nonexistent.json", "--steps", "4", "-o", out), msg, sizeof msg);
    cr_assert_eq(st, 1, "%s", msg);
    cr_assert(strstr(msg, "nonexistent.json"), "%s", msg);
    st = run(RECUR_DOT(model, "--cell", "lstm", "-o", out), msg, sizeof msg);
    cr_assert_eq(st, 2, "%s", msg);
    cr_assert(strstr(msg, "do not go with a model"), "%s", msg);
}

/* By default every LSTM gate is drawn; --fused draws the graph as it runs,
 * one lstm_cell op per step. */
Test(dot_cli, gates_by_default_fused_on_request, .init = make_tmpdir, .fini = remove_tmpdir) {
    char msg[4096], out[128];
    snprintf(out, sizeof out, "%s/l.dot", tmpdir);
    for (int fused = 0; fused < 2; fused++) {
        int st = fused ? run(RECUR_DOT("--cell", "lstm", "--units", "3", "--input", "2", "--steps", "3", "--fused",
                                       "-o", out), msg, sizeof msg)
                       : run(RECUR_DOT("--cell", "lstm", "--units", "3", "--input", "2", "--steps", "3", "-o", out),
                             msg, sizeof msg);
        cr_assert_eq(st, 0, "%s", msg);
        size_t len;
        char *text = tu_read_file(out, &len);
        cr_assert_eq(strstr(text, "forget_gate") != NULL, !fused, "fused=%d", fused);
        /* the fused op's label lists its output planes */
        cr_assert_eq(strstr(text, "label=\"lstm_cell [i f g o c h]") != NULL, fused, "fused=%d", fused);
        free(text);
    }
}

Test(dot_cli, help_exits_zero) {
    char msg[4096];
    cr_assert_eq(run(RECUR_DOT("--help"), msg, sizeof msg), 0);
    cr_assert(strstr(msg, "usage: recur dot --cell {simple,lstm,gru}"), "%s", msg);
}

/* A model at layer level is drawn as Keras plot_model draws it: an input
 * box, then one box per layer with its class, input and output shapes
 * (batch None) and parameter count, chained. */
Test(dot_cli, model_layer_level_is_one_box_per_layer) {
    static const struct {
        const char *model;
        int nlayers;
        const char *rows[4][4]; /* name (Class), input, output, params */
    } m[] = {
        {"bidir_lstm_dense", 2,
         {{"<B>bidirectional</B> (Bidirectional)", "(None, 4, 2)", "(None, 6)", "144"},
          {"<B>dense</B> (Dense)", "(None, 6)", "(None, 2)", "14"}}},
        {"embedding_lstm_dense", 3,
         {{"<B>embedding</B> (Embedding)", "(None, 6)", "(None, 6, 4)", "40"},
          {"<B>lstm</B> (LSTM)", "(None, 6, 4)", "(None, 5)", "200"},
          {"<B>dense</B> (Dense)", "(None, 5)", "(None, 3)", "18"}}},
        {"gru_lstm_dense", 3,
         {{"<B>gru</B> (GRU)", "(None, 5, 3)", "(None, 5, 4)", "96"},
          {"<B>lstm</B> (LSTM)", "(None, 5, 4)", "(None, 3)", "96"},
          {"<B>dense</B> (Dense)", "(None, 3)", "(None, 2)", "8"}}},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        for (int f = 0; f < 2; f++) {
            char path[512], file[128], msg[4096];
            snprintf(path, sizeof path, "%s/%s/%s", env_path("GOLDEN_MODELS"), m[i].model,
                     f ? "model.json" : "model.keras");
            snprintf(file, sizeof file, "%s/%s_layer%d.dot", tmpdir, m[i].model, f);
            int st = run(RECUR_DOT(path, "--level", "layer", "-o", file), msg, sizeof msg);
            cr_assert_eq(st, 0, "%s: %s", path, msg);
            assert_graphviz_accepts(file, path);
            size_t n;
            char *s = tu_read_file(file, &n);
            int boxes = 0;
            for (const char *p = s; (p = strstr(p, "[class=\"layer\"")); p++) boxes++;
            cr_assert_eq(boxes, m[i].nlayers, "%s: %d boxes\n%s", path, boxes, s);
            /* an input box (the file's InputLayer, or one drawn for a
             * Sequential model) and a chain from it through every layer */
            cr_assert(strstr(s, "[class=\"layer input\""), "%s: no input box", path);
            int edges = 0;
            for (const char *p = s; (p = strstr(p, "\" -> \"layer")); p++) edges++;
            cr_assert_eq(edges, m[i].nlayers, "%s: %d edges", path, edges);
            for (int l = 0; l < m[i].nlayers; l++) {
                char want[512];
                snprintf(want, sizeof want,
                         "%s</TD></TR><TR><TD ALIGN=\"LEFT\">Input shape</TD><TD>%s</TD></TR><TR><TD "
                         "ALIGN=\"LEFT\">Output shape</TD><TD>%s</TD></TR><TR><TD ALIGN=\"LEFT\">Params</TD><TD>%s<",
                         m[i].rows[l][0], m[i].rows[l][1], m[i].rows[l][2], m[i].rows[l][3]);
                cr_assert(strstr(s, want), "%s: no box\n%s\nin\n%s", path, want, s);
            }
            free(s);
        }
}
