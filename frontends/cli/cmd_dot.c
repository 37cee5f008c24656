/* recur dot: draw a recurrent layer's graph. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/dot.h>
#include <recur/model.h>
#include <recur/model_io.h>
#include <recur/rnn.h>

#include "args.h"
#include "cli.h"
#include "cli_graph.h"

/* --- recur dot ------------------------------------------------------------------ */

static const char dot_usage[] =
    "usage: recur dot --cell {simple,lstm,gru} --units U --input I --steps T -o FILE\n"
    "                 [--batch B] [--bidirectional] [--return-sequences] [--gradients]\n"
    "                 [--grad-of PARAM]... [--level op|cell|layer] [--steps-shown K]\n"
    "                 [--title TEXT] [--rankdir TB|LR|BT|RL]\n"
    "                 [--fused] [--grad-links step|all|none] [--all-nodes] [--no-legend]\n"
    "       recur dot MODEL -o FILE [--steps T] [the drawing options above]\n"
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
    "  --fused             draw the graph as it runs, with fused ops (one lstm_cell\n"
    "                      per LSTM step); by default every gate is drawn\n"
    "  --grad-links        forward values read by gradients: one dashed edge per\n"
    "                      step pair (step, default), per value (all), or none\n"
    "  --all-nodes         also draw nodes neither the output/loss nor a drawn\n"
    "                      gradient needs (pruned by default)\n"
    "  --no-legend         leave out the legend of styles\n"
    "A model at --level layer is drawn like Keras plot_model: one box per layer\n"
    "with its class, input and output shapes and parameter count.\n"
    "MODEL is a Keras 3 .keras file or a TF.js model.json (also --model MODEL);\n"
    "it is built on an input of batch B and T steps (default 4).\n"
    "exit status: 0 written, 1 failed (e.g. unwritable file), 2 bad usage\n";

/* Does parameter path `path` match NAME (the whole path or a tail after '/')? */
static bool param_matches(const char *path, const char *name) {
    size_t n = strlen(path), k = strlen(name);
    if (k > n) return false;
    return strcmp(path + n - k, name) == 0 && (k == n || path[n - k - 1] == '/');
}

#define DOT_MAX_GRAD_OF 16

/* The command line. */
typedef struct dot_args {
    const char *model; /* MODEL.json, or NULL to build a layer from --cell */
    const char *cell, *out, *title, *rankdir;
    const char *grad_of[DOT_MAX_GRAD_OF];
    int ngrad_of, ci;
    long units, input, steps, batch, shown;
    bool have_units, have_input, have_steps, have_batch;
    bool bidir, grads, seqs, fused, all_nodes, no_legend;
    rc_dot_links links;
    rc_dot_level level;
} dot_args;

/* 0 when the arguments are usable, else the exit status (help printed: -1). */
static int dot_parse(int argc, char **argv, dot_args *a) {
    *a = (dot_args){.batch = 2, .level = RC_DOT_OP, .ci = -1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(dot_usage, stdout);
            return -1;
        }
        if (strcmp(arg, "--bidirectional") == 0) { a->bidir = true; continue; }
        if (strcmp(arg, "--gradients") == 0) { a->grads = true; continue; }
        if (strcmp(arg, "--return-sequences") == 0) { a->seqs = true; continue; }
        if (strcmp(arg, "--fused") == 0) { a->fused = true; continue; }
        if (strcmp(arg, "--all-nodes") == 0) { a->all_nodes = true; continue; }
        if (strcmp(arg, "--no-legend") == 0) { a->no_legend = true; continue; }
        if (arg[0] != '-') {
            if (a->model) return args_usage_error("dot", "unexpected argument '%s' (MODEL '%s' is given already)", arg,
                                                  a->model);
            a->model = arg;
            continue;
        }
        /* the options that take a value, and what they expect (for messages) */
        static const struct {
            const char *name, *what;
        } with_value[] = {
            {"--cell", "simple, lstm or gru"},
            {"--units", "a positive integer up to 4096"},
            {"--input", "a positive integer up to 4096"},
            {"--steps", "a positive integer up to 10000"},
            {"--batch", "a positive integer up to 4096"},
            {"--level", "op, cell or layer"},
            {"--steps-shown", "a whole number from 0 to 10000"},
            {"--title", "a title"},
            {"--rankdir", "TB, LR, BT or RL"},
            {"--grad-of", "a parameter path or its tail"},
            {"--grad-links", "step, all or none"},
            {"-o", "a .dot, .gv, .svg, .png or .pdf file"},
            {"--output", "a .dot, .gv, .svg, .png or .pdf file"},
            {"--model", "a model.json or .keras file"},
        };
        const char *what = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            if (strcmp(arg, with_value[k].name) == 0) what = with_value[k].what;
        if (!what) return args_usage_error("dot", "unknown option '%s'", arg);
        if (i + 1 >= argc) return args_usage_error("dot", "%s needs a value: %s", arg, what);
        const char *v = argv[++i];
        if (strcmp(arg, "--cell") == 0) a->cell = v;
        else if (strcmp(arg, "--model") == 0) {
            if (a->model) return args_usage_error("dot", "--model '%s': MODEL '%s' is given already", v, a->model);
            a->model = v;
        }
        else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) a->out = v;
        else if (strcmp(arg, "--title") == 0) a->title = v;
        else if (strcmp(arg, "--rankdir") == 0) {
            if (strcmp(v, "TB") && strcmp(v, "LR") && strcmp(v, "BT") && strcmp(v, "RL"))
                return args_usage_error("dot", "--rankdir expects TB, LR, BT or RL, got '%s'", v);
            a->rankdir = v;
        } else if (strcmp(arg, "--level") == 0) {
            if (!rc_dot_level_parse(v, &a->level))
                return args_usage_error("dot", "--level expects op, cell or layer, got '%s'", v);
        } else if (strcmp(arg, "--grad-links") == 0) {
            if (!strcmp(v, "step")) a->links = RC_DOT_LINKS_STEP;
            else if (!strcmp(v, "all")) a->links = RC_DOT_LINKS_ALL;
            else if (!strcmp(v, "none")) a->links = RC_DOT_LINKS_NONE;
            else return args_usage_error("dot", "--grad-links expects step, all or none, got '%s'", v);
        } else if (strcmp(arg, "--grad-of") == 0) {
            if (a->ngrad_of == DOT_MAX_GRAD_OF)
                return args_usage_error("dot", "--grad-of is given more than %d times", DOT_MAX_GRAD_OF);
            a->grad_of[a->ngrad_of++] = v;
            a->grads = true;
        } else {
            long *dst = strcmp(arg, "--units") == 0   ? &a->units
                        : strcmp(arg, "--input") == 0 ? &a->input
                        : strcmp(arg, "--steps") == 0 ? &a->steps
                        : strcmp(arg, "--batch") == 0 ? &a->batch
                                                      : &a->shown;
            long lo = dst == &a->shown ? 0 : 1, hi = dst == &a->steps || dst == &a->shown ? 10000 : 4096;
            int64_t x;
            arg_opt o = OPT_INT(arg, &x, lo, hi);
            int r = args_set_value("dot", &o, v);
            if (r) return r;
            *dst = (long)x;
            a->have_units |= dst == &a->units;
            a->have_input |= dst == &a->input;
            a->have_steps |= dst == &a->steps;
            a->have_batch |= dst == &a->batch;
        }
    }
    if (a->model) {
        if (a->cell || a->have_units || a->have_input || a->bidir || a->seqs)
            return args_usage_error("dot", "--cell, --units, --input, --bidirectional and --return-sequences describe a "
                                   "layer to build; they do not go with a model ('%s')",
                                   a->model);
    } else {
        if (!a->cell) return args_usage_error("dot", "missing --cell (simple, lstm or gru) or a MODEL.json");
        a->ci = cli_cell_index(a->cell);
        if (a->ci < 0) return args_usage_error("dot", "--cell expects simple, lstm or gru, got '%s'", a->cell);
        if (!a->have_units) return args_usage_error("dot", "missing --units U (a positive integer) for --cell %s", a->cell);
        if (!a->have_input) return args_usage_error("dot", "missing --input I (a positive integer) for --cell %s", a->cell);
        if (!a->have_steps) return args_usage_error("dot", "missing --steps T (a positive integer) for --cell %s", a->cell);
    }
    if (!a->out) return args_usage_error("dot", "missing -o FILE (.dot, .gv, .svg, .png or .pdf)");
    if (!rc_dot_format_of(a->out))
        return args_usage_error("dot", "-o expects a .dot, .gv, .svg, .png or .pdf file, got '%s'", a->out);
    return 0;
}

/* Gradients if asked for, the --grad-of selection, and the file. */
static int dot_draw(const dot_args *a, rc_graph *g, cli_graph *s) {
    int np = rc_graph_params(g, NULL, 0), status = 0;
    rc_node **params = rc_calloc((size_t)np + 1, sizeof *params);
    rc_node **gr = rc_calloc((size_t)np + 1, sizeof *gr);
    /* what is drawn: the outputs, the loss and the gradients, and what they
     * need; not nodes nothing needs (the gates a fused cell replaced) */
    rc_node **need = rc_calloc((size_t)(s->nouts + np + 1), sizeof *need);
    int nneed = 0;
    rc_node *sel_p[DOT_MAX_GRAD_OF * 8], *sel_g[DOT_MAX_GRAD_OF * 8];
    int nsel = 0;
    if (!params || !gr || !need) {
        fprintf(stderr, "recur dot: out of memory\n");
        status = 1;
        goto done;
    }
    rc_graph_params(g, params, np);
    if (a->grads) {
        rc_node *loss = rc_sum(g, s->y, RC_ALL_AXES, false);
        if (loss) rc_node_rename(loss, "loss");
        rc_gradients(g, loss, params, np, gr);
        if (rc_graph_error(g)) {
            fprintf(stderr, "recur dot: building the gradients failed: %s\n", rc_graph_error(g));
            status = 1;
            goto done;
        }
        need[nneed++] = loss;
        for (int p = 0; p < np; p++)
            if (gr[p]) need[nneed++] = gr[p];
    }
    for (int k = 0; k < s->nouts; k++) need[nneed++] = s->outs[k];
    for (int k = 0; k < a->ngrad_of; k++) {
        int hits = 0;
        for (int p = 0; p < np; p++) {
            char path[256];
            if (!param_matches(rc_node_path(params[p], path, sizeof path), a->grad_of[k])) continue;
            hits++;
            bool dup = false;
            for (int j = 0; j < nsel; j++) dup |= sel_p[j] == params[p];
            if (!dup && nsel < DOT_MAX_GRAD_OF * 8) {
                sel_p[nsel] = params[p];
                sel_g[nsel++] = gr[p];
            }
        }
        if (!hits) {
            /* one line, as every usage error: the choices listed inline */
            size_t cap = 1;
            for (int p = 0; p < np; p++) cap += 258;
            char *list = malloc(cap);
            if (list) {
                list[0] = 0;
                for (int p = 0; p < np; p++) {
                    char path[256];
                    if (p) strcat(list, ", ");
                    strcat(list, rc_node_path(params[p], path, sizeof path));
                }
            }
            status = args_usage_error("dot", "--grad-of '%s' matches no parameter (the parameters: %s)", a->grad_of[k],
                                      list ? list : "out of memory listing them");
            free(list);
            goto done;
        }
    }
    char title[300];
    snprintf(title, sizeof title, "%s%s, %s level", s->title, a->grads ? " with gradients" : "",
             rc_dot_level_name(a->level));
    rc_dot_options o = rc_dot_defaults();
    o.level = a->level;
    o.steps_shown = (int)a->shown;
    o.title = a->title ? a->title : title;
    o.rankdir = a->rankdir;
    o.keep_unused = a->all_nodes;
    o.legend = !a->no_legend;
    o.grad_links = a->links;
    if (!a->all_nodes) {
        o.outputs = need;
        o.noutputs = nneed;
    }
    if (nsel) {
        o.grads = sel_g;
        o.grad_params = sel_p;
        o.ngrads = nsel;
    }
    rc_error err;
    /* A model at layer level is drawn as plot_model draws it (one box per
     * layer, from the model's own table); with gradients, from the graph. */
    if (s->io && a->level == RC_DOT_LAYER && !a->grads) {
        char *text = NULL;
        rc_status st = rc_model_dot_string(rc_io_rc_model(s->io), o.title, &text, NULL, &err);
        if (st == RC_OK) st = rc_dot_save_text(text, a->out, &err);
        rc_free(text);
        if (st != RC_OK) {
            cli_error("dot", &err);
            status = 1;
        }
        goto done;
    }
    if (rc_dot_save(g, &o, a->out, &err) != RC_OK) {
        cli_error("dot", &err);
        status = 1;
    }
done:
    rc_free(params);
    rc_free(gr);
    rc_free(need);
    return status;
}

int cmd_dot(int argc, char **argv) {
    dot_args a;
    int status = dot_parse(argc, argv, &a);
    if (status) return status < 0 ? 0 : status;
    rc_graph *g = rc_graph_new();
    if (!g) {
        fprintf(stderr, "recur dot: out of memory\n");
        return 1;
    }
    /* Every gate drawn unless the user asks for the graph as it runs. */
    rc_graph_set_fusion(g, a.fused);
    /* a model is built on T = --steps, 4 when not given */
    cli_graph_spec spec = {.model = a.model, .cell = a.ci, .units = a.units, .input = a.input,
                           .steps = a.model && !a.have_steps ? 4 : a.steps, .batch = a.batch,
                           .bidir = a.bidir, .seqs = a.seqs};
    cli_graph s;
    status = cli_graph_build("dot", &spec, g, &s);
    if (status == 0) status = dot_draw(&a, g, &s);
    rc_graph_free(g);
    cli_graph_free(&s);
    return status;
}
