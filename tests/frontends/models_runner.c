/* models — checks `recur predict` on Keras / TF.js model directories.
 *
 * usage: models RECUR DIR...   (a DIR without input.json: each subdirectory)
 *        models --compare GOT.json WANT.json [exact]
 *
 * For every DIR (a directory holding model.json and/or model.keras,
 * input.json and expected.json; tests/golden/FORMAT.md) and each model file
 * present in it, runs `RECUR predict FILE DIR/input.json -o TMP` and
 * compares with expected.json elementwise, |got - want| <= 1e-5 + 1e-4
 * |want| (FORMAT.md's tolerance). Then the round trip: `RECUR export FILE
 * TMPDIR`, `RECUR predict TMPDIR/model.json` must give exactly the same
 * numbers as the first prediction. A DIR under a "models" directory must
 * hold both forms. One line per check; exit 1 on any failure.
 * --compare compares two JSON outputs (tensor or list of tensors) with the
 * same tolerance, or exactly. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ATOL 1e-5
#define RTOL 1e-4

static bool exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Run argv; true when it exits 0. */
static bool run(char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A JSON output as a list of tensors. */
static json_t *as_list(json_t *j) {
    if (json_is_array(j)) return json_incref(j);
    json_t *l = json_array();
    json_array_append(l, j);
    return l;
}

/* Compare two output files; prints the worst element on failure. */
static bool compare(const char *got_file, const char *want_file, bool exact, char *msg, size_t len) {
    json_error_t e;
    json_t *gj = json_load_file(got_file, 0, &e), *wj = json_load_file(want_file, 0, &e);
    bool ok = false;
    if (!gj || !wj) {
        snprintf(msg, len, "cannot read %s", !gj ? got_file : want_file);
        goto done;
    }
    json_t *gl = as_list(gj), *wl = as_list(wj);
    if (json_array_size(gl) != json_array_size(wl)) {
        snprintf(msg, len, "%zu outputs, expected %zu", json_array_size(gl), json_array_size(wl));
        json_decref(gl), json_decref(wl);
        goto done;
    }
    ok = true;
    double worst = 0;
    for (size_t k = 0; ok && k < json_array_size(wl); k++) {
        json_t *g = json_array_get(gl, k), *w = json_array_get(wl, k);
        if (!json_equal(json_object_get(g, "shape"), json_object_get(w, "shape"))) {
            snprintf(msg, len, "output %zu: shapes differ", k);
            ok = false;
            break;
        }
        json_t *gv = json_object_get(g, "values"), *wv = json_object_get(w, "values");
        if (json_array_size(gv) != json_array_size(wv) || !json_array_size(wv)) {
            snprintf(msg, len, "output %zu: value counts differ", k);
            ok = false;
            break;
        }
        for (size_t i = 0; i < json_array_size(wv); i++) {
            json_t *a = json_array_get(gv, i), *b = json_array_get(wv, i);
            if (!json_is_number(a) || !json_is_number(b)) {
                snprintf(msg, len, "output %zu: value %zu is not a number", k, i);
                ok = false;
                break;
            }
            double x = json_number_value(a), y = json_number_value(b), d = fabs(x - y);
            bool bad = exact ? (float)x != (float)y : !(d <= ATOL + RTOL * fabs(y));
            if (d > worst) worst = d;
            if (bad) {
                snprintf(msg, len, "output %zu, element %zu: got %.9g, expected %.9g", k, i, x, y);
                ok = false;
                break;
            }
        }
    }
    if (ok) snprintf(msg, len, "max |diff| %.3g", worst);
    json_decref(gl), json_decref(wl);
done:
    json_decref(gj), json_decref(wj);
    return ok;
}

int main(int argc, char **argv) {
    char msg[512];
    if (argc >= 4 && !strcmp(argv[1], "--compare")) {
        bool ok = compare(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "exact"), msg, sizeof msg);
        printf("%s: %s\n", ok ? "ok" : "FAIL", msg);
        return ok ? 0 : 1;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: models RECUR DIR...\n       models --compare GOT.json WANT.json [exact]\n");
        return 2;
    }
    char tmp[] = "/tmp/recur-models-XXXXXX";
    if (!mkdtemp(tmp)) return perror("mkdtemp"), 1;
    /* the model directories: DIRs, or their subdirectories */
    char **dirs = NULL;
    int ndirs = 0;
    for (int a = 2; a < argc; a++) {
        char probe[1024];
        snprintf(probe, sizeof probe, "%s/input.json", argv[a]);
        struct dirent **ents = NULL;
        int n = exists(probe) ? 0 : scandir(argv[a], &ents, NULL, alphasort);
        dirs = realloc(dirs, (size_t)(ndirs + (n > 0 ? n : 1)) * sizeof *dirs);
        if (!dirs) return 1;
        if (n <= 0) dirs[ndirs++] = strdup(argv[a]);
        for (int i = 0; i < n; i++) {
            if (ents[i]->d_name[0] != '.') {
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", argv[a], ents[i]->d_name);
                dirs[ndirs++] = strdup(sub);
            }
            free(ents[i]);
        }
        free(ents);
    }
    int passed = 0, failed = 0;
    for (int d = 0; d < ndirs; d++) {
        const char *dir = dirs[d];
        const char *forms[] = {"model.json", "model.keras"};
        bool both = strstr(dir, "/models/") != NULL;
        for (int f = 0; f < 2; f++) {
            char model[1024], input[1024], want[1024], out[1100], out2[1100], edir[1100], emodel[1200];
            snprintf(model, sizeof model, "%s/%s", dir, forms[f]);
            snprintf(input, sizeof input, "%s/input.json", dir);
            snprintf(want, sizeof want, "%s/expected.json", dir);
            snprintf(out, sizeof out, "%s/out_%d_%d.json", tmp, d, f);
            snprintf(out2, sizeof out2, "%s/rt_%d_%d.json", tmp, d, f);
            snprintf(edir, sizeof edir, "%s/export_%d_%d", tmp, d, f);
            snprintf(emodel, sizeof emodel, "%s/model.json", edir);
            if (!exists(model)) {
                if (both) {
                    printf("FAIL %s: missing\n", model);
                    failed++;
                }
                continue;
            }
            char *pa[] = {argv[1], "predict", model, input, "-o", out, NULL};
            bool ok = run(pa);
            if (!ok) snprintf(msg, sizeof msg, "recur predict failed");
            else ok = compare(out, want, false, msg, sizeof msg);
            printf("%s %s: %s\n", ok ? "ok  " : "FAIL", model, msg);
            ok ? passed++ : failed++;
            if (!ok) continue;
            char *ea[] = {argv[1], "export", model, edir, NULL};
            char *pb[] = {argv[1], "predict", emodel, input, "-o", out2, NULL};
            ok = run(ea) && run(pb);
            if (!ok) snprintf(msg, sizeof msg, "recur export or predict of the export failed");
            else ok = compare(out2, out, true, msg, sizeof msg);
            printf("%s %s exported and re-imported: %s\n", ok ? "ok  " : "FAIL", model, ok ? "identical" : msg);
            ok ? passed++ : failed++;
        }
    }
    for (int d = 0; d < ndirs; d++) free(dirs[d]);
    free(dirs);
    char *rm[] = {"/bin/rm", "-rf", tmp, NULL};
    run(rm);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}
