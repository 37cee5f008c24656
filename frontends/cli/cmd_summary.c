/* recur summary: a Keras-style table of an imported model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/model_io.h>

#include "args.h"
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
    const char *pos[1];
    int64_t T = 1;
    arg_opt opts[] = {OPT_INT("--time", &T, 1, 1000000)};
    int npos;
    int r = args_parse("summary", summary_usage, argc, argv, opts, 1, pos, 1, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("summary", "missing MODEL (a model.json or .keras file)");
    const char *path = pos[0];
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
