/* recur view: the explorer page (recur/render.h, rc_explorer_write) of a
 * recurrent layer or an imported model. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <recur.h>
#include <recur/render.h>

#include "args.h"
#include "cli.h"
#include "cli_graph.h"

static const char view_usage[] =
    "usage: recur view MODEL -o PAGE.html [--steps T] [--batch B] [--steps-shown K]\n"
    "                  [--title TEXT] [--rankdir TB|LR|BT|RL] [--no-gradients] [--fused]\n"
    "       recur view --cell {simple,lstm,gru} -o PAGE.html [--units U] [--input I]\n"
    "                  [--steps T] [--bidirectional] [--return-sequences] [the options above]\n"
    "\n"
    "Writes one self-contained HTML page (no network, everything inline) to explore\n"
    "the graph: it opens at layer level; clicking a layer opens its cell level,\n"
    "clicking a step its op level; a toggle shows the gradient graph; hovering a\n"
    "node shows its op, shape, dtype and, for weights, a summary of the values;\n"
    "search by name; drag to pan, wheel to zoom. Graphviz draws every level when\n"
    "the page is written.\n"
    "  MODEL              a Keras 3 .keras file or a TF.js model.json (also --model)\n"
    "  --cell             build one layer of this cell on x (B, T, I) instead:\n"
    "                     --units U (default 8), --input I (default 4)\n"
    "  --steps T          time steps (default 4); --batch B (default 2)\n"
    "  --steps-shown K    fold long sequences: draw the first K and last K steps and\n"
    "                     an ellipsis between, at every level (default 3; 0 = all)\n"
    "  --no-gradients     leave out the gradient graph (and the toggle)\n"
    "  --fused            draw the graph as it runs (one lstm_cell op per LSTM step)\n"
    "exit status: 0 written, 1 failed (e.g. unwritable file), 2 bad usage\n";

static bool is_html(const char *path) {
    size_t n = strlen(path);
    return (n > 5 && strcasecmp(path + n - 5, ".html") == 0) || (n > 4 && strcasecmp(path + n - 4, ".htm") == 0);
}

int cmd_view(int argc, char **argv) {
    const char *pos[1], *model = NULL, *cell = NULL, *out = NULL, *title = NULL, *rankdir = NULL;
    int64_t units = 8, input = 4, steps = 4, batch = 2, shown = 3;
    bool bidir = false, seqs = false, nograds = false, fused = false;
    arg_opt opts[] = {
        OPT_STRW("--model", &model, "a model.json or .keras file"),
        OPT_STRW("--cell", &cell, "simple, lstm or gru"),
        OPT_INT("--units", &units, 1, 4096),
        OPT_INT("--input", &input, 1, 4096),
        OPT_INT("--steps", &steps, 1, 10000),
        OPT_INT("--batch", &batch, 1, 4096),
        OPT_INT("--steps-shown", &shown, 0, 10000),
        OPT_STRW("--title", &title, "a title"),
        OPT_STRW("--rankdir", &rankdir, "TB, LR, BT or RL"),
        OPT_STRW("-o", &out, "an .html file"),
        OPT_STRW("--output", &out, "an .html file"),
        OPT_FLAG("--bidirectional", &bidir),
        OPT_FLAG("--return-sequences", &seqs),
        OPT_FLAG("--no-gradients", &nograds),
        OPT_FLAG("--fused", &fused),
    };
    enum { NOPTS = sizeof opts / sizeof opts[0] };
    int npos;
    int r = args_parse("view", view_usage, argc, argv, opts, NOPTS, pos, 1, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos && model) return args_usage_error("view", "--model '%s': MODEL '%s' is given already", model, pos[0]);
    if (npos) model = pos[0];
    int ci = -1;
    if (model) {
        if (cell || opts[2].seen || opts[3].seen || bidir || seqs)
            return args_usage_error("view", "--cell, --units, --input, --bidirectional and --return-sequences "
                                            "describe a layer to build; they do not go with a model ('%s')",
                                    model);
    } else {
        if (!cell) return args_usage_error("view", "missing MODEL (a .keras or model.json file) or --cell");
        ci = cli_cell_index(cell);
        if (ci < 0) return args_usage_error("view", "--cell expects simple, lstm or gru, got '%s'", cell);
    }
    if (rankdir && strcmp(rankdir, "TB") && strcmp(rankdir, "LR") && strcmp(rankdir, "BT") && strcmp(rankdir, "RL"))
        return args_usage_error("view", "--rankdir expects TB, LR, BT or RL, got '%s'", rankdir);
    if (!out) return args_usage_error("view", "missing -o PAGE.html");
    if (!is_html(out)) return args_usage_error("view", "-o expects an .html file, got '%s'", out);

    rc_graph *g = rc_graph_new();
    if (!g) return args_fail("view", "out of memory");
    /* every gate drawn unless the graph as it runs is asked for (as recur dot) */
    rc_graph_set_fusion(g, fused);
    cli_graph_spec spec = {.model = model, .cell = ci, .units = (long)units, .input = (long)input,
                           .steps = (long)steps, .batch = (long)batch, .bidir = bidir, .seqs = seqs};
    cli_graph s;
    int status = cli_graph_build("view", &spec, g, &s);
    if (status == 0 && !nograds) status = cli_graph_gradients("view", g, &s, NULL, NULL);
    if (status == 0) {
        char page_title[300], level_title[3][340];
        snprintf(page_title, sizeof page_title, "%s", title ? title : s.title);
        rc_explorer_options o = rc_explorer_defaults();
        o.title = page_title;
        o.gradients = !nograds;
        for (int l = 0; l < 3; l++) {
            snprintf(level_title[l], sizeof level_title[l], "%s, %s level", page_title,
                     rc_dot_level_name((rc_dot_level)l));
            o.levels[l].title = level_title[l];
            o.levels[l].steps_shown = (int)shown;
            o.levels[l].rankdir = rankdir;
        }
        rc_error err;
        if (rc_explorer_write(g, cli_graph_model(&s), &o, out, &err) != RC_OK) status = cli_error("view", &err);
    }
    rc_graph_free(g);
    cli_graph_free(&s);
    return status;
}
