/* recur summary: a Keras-style table of an imported model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/model_io.h>

#include "cli.h"

static const char summary_usage[] =
    "usage: recur summary MODEL [--time T]\n"
    "\n"
    "Prints the layers of MODEL (a TF.js model.json or a Keras 3 .keras file):\n"
    "name and type, output shape (batch as None), parameter count, and the\n"
    "totals, as Keras' model.summary(). A time dimension the model leaves\n"
    "undeclared (None) is shown for --time T steps (default 1).\n"
    "exit status: 0 done, 1 failed (unreadable or bad model), 2 bad usage\n";

int cmd_summary(int argc, char **argv) {
    const char *path = NULL;
    long T = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(summary_usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--time")) {
            char *end;
            if (++i >= argc || (T = strtol(argv[i], &end, 10)) < 1 || *end || T > 1000000)
                return fprintf(stderr, "recur summary: --time needs a whole number in 1..1000000\n%s", summary_usage),
                       EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1])
            return fprintf(stderr, "recur summary: unknown option '%s'\n%s", argv[i], summary_usage), EXIT_USAGE;
        else if (!path) path = argv[i];
        else return fprintf(stderr, "recur summary: unexpected argument '%s'\n%s", argv[i], summary_usage), EXIT_USAGE;
    }
    if (!path) return fprintf(stderr, "recur summary: needs MODEL\n%s", summary_usage), EXIT_USAGE;
    rc_io_model *m = NULL;
    if (cli_load_model("summary", path, &m)) return 1;
    rc_graph *g = rc_graph_new();
    rc_node *in[16], *out[64];
    rc_error err;
    int rc = 1;
    if (!g) fprintf(stderr, "recur summary: out of memory\n");
    else if (rc_io_build_batch(m, g, 1, T, in, 16, out, 64, &err))
        cli_error("summary", &err);
    else {
        rc_model *rm = rc_io_rc_model(m);
        size_t need = rc_model_summary(rm, NULL, 0) + 1;
        char *buf = malloc(need);
        if (buf) {
            rc_model_summary(rm, buf, need);
            fputs(buf, stdout);
            free(buf);
            rc = 0;
        } else fprintf(stderr, "recur summary: out of memory\n");
    }
    rc_io_free(m);
    rc_graph_free(g);
    return rc;
}
