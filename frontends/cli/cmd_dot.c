/* recur dot: draw a recurrent layer's graph. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/dot.h>
#include <recur/model_io.h>
#include <recur/rnn.h>

#include "cli.h"

/* --- recur dot ------------------------------------------------------------------ */

static const char dot_usage[] =
    "usage: recur dot --cell {simple,lstm,gru} --units U --input I --steps T -o FILE\n"
    "       recur dot --model MODEL [--steps T] -o FILE   (a Keras .keras or TF.js model.json)\n"
    "                 [--batch B] [--bidirectional] [--return-sequences] [--gradients]\n"
    "                 [--grad-of PARAM]... [--level op|cell|layer] [--steps-shown K]\n"
    "                 [--title TEXT] [--rankdir TB|LR]\n"
    "\n"
    "Builds the layer on an input of shape (B, T, I) (B defaults to 2) and draws\n"
    "its graph to FILE, in the format of its extension: .dot/.gv (DOT text), .svg,\n"
    ".png or .pdf (rendered in-process by Graphviz).\n"
    "  --gradients         add a sum loss and its gradients w.r.t. every parameter\n"
    "  --grad-of PARAM     draw only the gradient paths to PARAM (a parameter path\n"
    "                      or its tail, e.g. kernel, lstm_cell/recurrent_kernel);\n"
    "                      repeatable; implies --gradients\n"
    "  --level             op: every node (default); cell: one box per cell step;\n"
    "                      layer: one box per layer (rolled, like Keras plot_model)\n"
    "  --steps-shown K     draw the first K and last K steps, an ellipsis between\n"
    "exit status: 0 written, 1 failed (e.g. unwritable file), 2 bad usage\n";

/* Usage errors of `recur dot`: the message, then where help is. */
static int dot_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int dot_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "recur dot: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'recur dot --help'\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* A whole decimal integer in [lo, hi]. */
static bool parse_int(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static const struct {
    const char *cli, *layer, *type;
    rc_cell *(*make)(const rc_cell_config *);
} dot_cells[] = {
    {"simple", "simple_rnn", "SimpleRNN", rc_simple_rnn_cell_new},
    {"lstm", "lstm", "LSTM", rc_lstm_cell_new},
    {"gru", "gru", "GRU", rc_gru_cell_new},
};

/* Does parameter path `path` match NAME (the whole path or a tail after '/')? */
static bool param_matches(const char *path, const char *name) {
    size_t n = strlen(path), k = strlen(name);
    if (k > n) return false;
    return strcmp(path + n - k, name) == 0 && (k == n || path[n - k - 1] == '/');
}

#define DOT_MAX_GRAD_OF 16

int cmd_dot(int argc, char **argv) {
    const char *cell = NULL, *out = NULL, *title = NULL, *rankdir = NULL, *model = NULL;
    const char *grad_of[DOT_MAX_GRAD_OF];
    int ngrad_of = 0;
    long units = 0, input = 0, steps = 0, batch = 2, shown = 0;
    bool have_units = false, have_input = false, have_steps = false;
    bool bidir = false, grads = false, seqs = false;
    rc_dot_level level = RC_DOT_OP;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(dot_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--bidirectional") == 0) { bidir = true; continue; }
        if (strcmp(a, "--gradients") == 0) { grads = true; continue; }
        if (strcmp(a, "--return-sequences") == 0) { seqs = true; continue; }
        static const char *const with_value[] = {"--cell", "--units", "--input", "--steps", "--batch", "--level",
                                                 "--steps-shown", "--title", "--rankdir", "--grad-of", "-o",
                                                 "--output", "--model"};
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) known |= strcmp(a, with_value[k]) == 0;
        if (!known) return dot_usage_error(a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
        if (i + 1 >= argc) return dot_usage_error("option %s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--cell") == 0) cell = v;
        else if (strcmp(a, "--model") == 0) model = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) out = v;
        else if (strcmp(a, "--title") == 0) title = v;
        else if (strcmp(a, "--rankdir") == 0) {
            if (strcmp(v, "TB") && strcmp(v, "LR") && strcmp(v, "BT") && strcmp(v, "RL"))
                return dot_usage_error("unknown rankdir '%s' (expected TB, LR, BT or RL)", v);
            rankdir = v;
        } else if (strcmp(a, "--level") == 0) {
            if (!rc_dot_level_parse(v, &level))
                return dot_usage_error("unknown level '%s' (expected op, cell or layer)", v);
        } else if (strcmp(a, "--grad-of") == 0) {
            if (ngrad_of == DOT_MAX_GRAD_OF) return dot_usage_error("more than %d --grad-of options", DOT_MAX_GRAD_OF);
            grad_of[ngrad_of++] = v;
            grads = true;
        } else {
            long *dst = strcmp(a, "--units") == 0   ? &units
                        : strcmp(a, "--input") == 0 ? &input
                        : strcmp(a, "--steps") == 0 ? &steps
                        : strcmp(a, "--batch") == 0 ? &batch
                                                    : &shown;
            long lo = dst == &shown ? 0 : 1, hi = dst == &steps ? 10000 : dst == &shown ? 10000 : 4096;
            if (!parse_int(v, lo, hi, dst))
                return dot_usage_error("bad value '%s' for %s (expected a whole number from %ld to %ld)", v, a, lo,
                                       hi);
            have_units |= dst == &units;
            have_input |= dst == &input;
            have_steps |= dst == &steps;
        }
    }
    if (model && cell) return dot_usage_error("--model and --cell exclude each other");
    if (model) cell = "lstm", have_units = have_input = true, steps = have_steps ? steps : 4, have_steps = true;
    if (!cell) return dot_usage_error("missing --cell (simple, lstm or gru)");
    int ci = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(cell, dot_cells[k].cli) == 0) ci = k;
    if (ci < 0) return dot_usage_error("unknown cell '%s' (expected simple, lstm or gru)", cell);
    if (!have_units) return dot_usage_error("missing --units U");
    if (!have_input) return dot_usage_error("missing --input I");
    if (!have_steps) return dot_usage_error("missing --steps T");
    if (!out) return dot_usage_error("missing -o FILE (.dot, .gv, .svg, .png or .pdf)");
    if (!rc_dot_format_of(out))
        return dot_usage_error("unknown output format of '%s' (use .dot, .gv, .svg, .png or .pdf)", out);

    rc_graph *g = rc_graph_new();
    if (!g) {
        fprintf(stderr, "recur dot: out of memory\n");
        return 1;
    }
    rc_cell_config cfg = rc_cell_defaults(units);
    rc_rnn_config rcfg = {.return_sequences = seqs};
    rc_node *x = model ? NULL : rc_input(g, "x", RC_F32, RC_SHAPE(batch, steps, input)), *y = NULL;
    rc_rnn *layer = NULL;
    rc_bidir *bi = NULL;
    rc_io_model *io = NULL;
    if (model) { /* an imported model on x (B, T, ...) */
        rc_node *in[16], *outs[64];
        char err[1024];
        if (cli_load_model("dot", model, &io)) {
            rc_graph_free(g);
            return 1;
        }
        if (rc_io_build_batch(io, g, batch, steps, in, 16, outs, 64, err, sizeof err) == RC_OK)
            x = in[0], y = outs[0];
        else if (!rc_graph_error(g)) rc_graph_fail(g, RC_ERR_ARG, "%s", err);
    } else if (bidir) {
        char fname[64], bname[64];
        snprintf(fname, sizeof fname, "forward_%s", dot_cells[ci].layer);
        snprintf(bname, sizeof bname, "backward_%s", dot_cells[ci].layer);
        rc_rnn_config bcfg = rcfg;
        bcfg.go_backwards = true;
        rc_rnn *f = rc_rnn_new(fname, dot_cells[ci].make(&cfg), &rcfg);
        rc_rnn *b = rc_rnn_new(bname, dot_cells[ci].make(&cfg), &bcfg);
        bi = f && b ? rc_bidir_new("bidirectional", f, b, RC_MERGE_CONCAT) : NULL;
        if (!bi) {
            rc_rnn_free(f);
            rc_rnn_free(b);
        } else {
            rc_bidir_out bo;
            if (rc_bidir_apply(bi, g, x, NULL, &bo) == RC_OK) y = bo.output;
        }
    } else {
        layer = rc_rnn_new(dot_cells[ci].layer, dot_cells[ci].make(&cfg), &rcfg);
        rc_rnn_out o;
        if (layer && rc_rnn_apply(layer, g, x, NULL, &o) == RC_OK) y = o.output;
    }
    int np = rc_graph_params(g, NULL, 0), status = 0;
    rc_node **params = rc_calloc((size_t)np + 1, sizeof *params);
    rc_node **gr = rc_calloc((size_t)np + 1, sizeof *gr);
    rc_node *sel_p[DOT_MAX_GRAD_OF * 8], *sel_g[DOT_MAX_GRAD_OF * 8];
    int nsel = 0;
    if (!params || !gr || (!y && !rc_graph_error(g))) {
        fprintf(stderr, "recur dot: out of memory\n");
        status = 1;
        goto done;
    }
    if (grads && y) {
        rc_node *loss = rc_sum(g, y, RC_ALL_AXES, false);
        if (loss) rc_node_rename(loss, "loss");
        rc_graph_params(g, params, np);
        rc_gradients(g, loss, params, np, gr);
    }
    if (rc_graph_error(g)) {
        fprintf(stderr, "recur dot: building the graph failed: %s\n", rc_graph_error(g));
        status = 1;
        goto done;
    }
    for (int k = 0; k < ngrad_of; k++) {
        int hits = 0;
        for (int p = 0; p < np; p++) {
            char path[256];
            if (!param_matches(rc_node_path(params[p], path, sizeof path), grad_of[k])) continue;
            hits++;
            bool dup = false;
            for (int j = 0; j < nsel; j++) dup |= sel_p[j] == params[p];
            if (!dup && nsel < DOT_MAX_GRAD_OF * 8) {
                sel_p[nsel] = params[p];
                sel_g[nsel++] = gr[p];
            }
        }
        if (!hits) {
            fprintf(stderr, "recur dot: --grad-of '%s' matches no parameter; the parameters are:\n", grad_of[k]);
            for (int p = 0; p < np; p++) {
                char path[256];
                fprintf(stderr, "  %s\n", rc_node_path(params[p], path, sizeof path));
            }
            status = EXIT_USAGE;
            goto done;
        }
    }
    {
        char deftitle[200];
        char xs[RC_SHAPE_STRLEN];
        rc_shape_str(rc_node_shape(x), xs, sizeof xs);
        if (model) {
            snprintf(deftitle, sizeof deftitle, "%s on x %s%s, %s level", rc_io_name(io), xs,
                     grads ? " with gradients" : "", rc_dot_level_name(level));
        } else if (bidir) {
            /* "Bidirectional(LSTM(8)) on x (2, 4, 3), op level" */
            snprintf(deftitle, sizeof deftitle, "Bidirectional(%s(%ld)) on x %s%s, %s level", dot_cells[ci].type,
                     units, xs, grads ? " with gradients" : "", rc_dot_level_name(level));
        } else {
            snprintf(deftitle, sizeof deftitle, "%s(%ld) on x %s%s, %s level", dot_cells[ci].type, units, xs,
                     grads ? " with gradients" : "", rc_dot_level_name(level));
        }
        rc_dot_options o = rc_dot_defaults();
        o.level = level;
        o.steps_shown = (int)shown;
        o.title = title ? title : deftitle;
        o.rankdir = rankdir;
        if (nsel) {
            o.grads = sel_g;
            o.grad_params = sel_p;
            o.ngrads = nsel;
        }
        if (rc_dot_save(g, &o, out) != RC_OK) {
            fprintf(stderr, "recur dot: %s\n", rc_dot_error());
            status = 1;
        }
    }
done:
    rc_free(params);
    rc_free(gr);
    rc_rnn_free(layer);
    rc_bidir_free(bi);
    rc_io_free(io);
    rc_graph_free(g);
    return status;
}

