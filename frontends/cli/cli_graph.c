/* recur CLI: building the graph that `recur dot` and `recur view` draw. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_graph.h"

static const struct {
    const char *cli, *layer, *type;
    rc_cell *(*make)(const rc_cell_config *);
} cells[] = {
    {"simple", "simple_rnn", "SimpleRNN", rc_simple_rnn_cell_new},
    {"lstm", "lstm", "LSTM", rc_lstm_cell_new},
    {"gru", "gru", "GRU", rc_gru_cell_new},
};

int cli_cell_index(const char *name) {
    for (int k = 0; k < (int)(sizeof cells / sizeof cells[0]); k++)
        if (name && strcmp(name, cells[k].cli) == 0) return k;
    return -1;
}

/* --cell ...: one RNN layer, or a Bidirectional one, on x (B, T, I). */
static int build_cell(const char *cmd, const cli_graph_spec *a, rc_graph *g, cli_graph *s) {
    int ci = a->cell;
    rc_cell_config cfg = rc_cell_defaults(a->units);
    rc_rnn_config rcfg = {.return_sequences = a->seqs};
    s->x = rc_input(g, "x", RC_F32, RC_SHAPE(a->batch, a->steps, a->input));
    if (a->bidir) {
        char fname[64], bname[64];
        snprintf(fname, sizeof fname, "forward_%s", cells[ci].layer);
        snprintf(bname, sizeof bname, "backward_%s", cells[ci].layer);
        rc_rnn_config bcfg = rcfg;
        bcfg.go_backwards = true;
        rc_rnn *f = rc_rnn_new(fname, cells[ci].make(&cfg), &rcfg, NULL);
        rc_rnn *b = rc_rnn_new(bname, cells[ci].make(&cfg), &bcfg, NULL);
        s->bi = f && b ? rc_bidir_new("bidirectional", f, b, RC_MERGE_CONCAT, NULL) : NULL;
        if (!s->bi) {
            rc_rnn_free(f);
            rc_rnn_free(b);
        } else {
            rc_bidir_out bo;
            if (rc_bidir_apply(s->bi, g, s->x, NULL, &bo) == RC_OK) s->y = bo.output;
        }
    } else {
        s->layer = rc_rnn_new(cells[ci].layer, cells[ci].make(&cfg), &rcfg, NULL);
        rc_rnn_out o;
        if (s->layer && rc_rnn_apply(s->layer, g, s->x, NULL, &o) == RC_OK) s->y = o.output;
    }
    if (rc_graph_error(g)) {
        fprintf(stderr, "recur %s: building the graph failed: %s\n", cmd, rc_graph_error(g));
        return 1;
    }
    if (!s->y) {
        fprintf(stderr, "recur %s: out of memory\n", cmd);
        return 1;
    }
    s->outs[s->nouts++] = s->y;
    /* "Bidirectional(LSTM(8)) on x (2, 4, 3)" */
    char xs[RC_SHAPE_STRLEN];
    rc_shape_str(rc_node_shape(s->x), xs, sizeof xs);
    snprintf(s->title, sizeof s->title, "%s%s(%ld)%s on x %s", a->bidir ? "Bidirectional(" : "", cells[ci].type,
             a->units, a->bidir ? ")" : "", xs);
    return 0;
}

/* MODEL: load it and apply it to an input of batch B and T steps (what
 * the model leaves open). */
static int build_model(const char *cmd, const cli_graph_spec *a, rc_graph *g, cli_graph *s) {
    if (cli_load_model(cmd, a->model, &s->io)) return 1;
    rc_node *in[16];
    rc_error err;
    if (rc_io_build_batch(s->io, g, a->batch, a->steps, in, 16, s->outs, CLI_GRAPH_MAX_OUTS, &err) != RC_OK)
        return cli_error(cmd, &err);
    s->x = in[0];
    s->y = s->outs[0];
    s->nouts = rc_io_noutputs(s->io);
    if (s->nouts > CLI_GRAPH_MAX_OUTS) s->nouts = CLI_GRAPH_MAX_OUTS;
    char xs[RC_SHAPE_STRLEN];
    snprintf(s->title, sizeof s->title, "%s on x %s", rc_io_name(s->io),
             rc_shape_str(rc_node_shape(s->x), xs, sizeof xs));
    return 0;
}

int cli_graph_build(const char *cmd, const cli_graph_spec *spec, rc_graph *g, cli_graph *out) {
    *out = (cli_graph){0};
    return spec->model ? build_model(cmd, spec, g, out) : build_cell(cmd, spec, g, out);
}

rc_model *cli_graph_model(const cli_graph *b) { return b->io ? rc_io_rc_model(b->io) : NULL; }

int cli_graph_gradients(const char *cmd, rc_graph *g, const cli_graph *b, rc_node **params, rc_node **grads) {
    int np = rc_graph_params(g, NULL, 0);
    rc_node **p = params ? params : rc_calloc((size_t)np + 1, sizeof *p);
    rc_node **gr = grads ? grads : rc_calloc((size_t)np + 1, sizeof *gr);
    int status = 0;
    if (!p || !gr) {
        fprintf(stderr, "recur %s: out of memory\n", cmd);
        status = 1;
    } else {
        rc_graph_params(g, p, np);
        rc_node *loss = rc_sum(g, b->y, RC_ALL_AXES, false);
        if (loss) rc_node_rename(loss, "loss");
        rc_gradients(g, loss, p, np, gr);
        if (rc_graph_error(g)) {
            fprintf(stderr, "recur %s: building the gradients failed: %s\n", cmd, rc_graph_error(g));
            status = 1;
        }
    }
    if (p != params) rc_free(p);
    if (gr != grads) rc_free(gr);
    return status;
}

void cli_graph_free(cli_graph *b) {
    rc_rnn_free(b->layer);
    rc_bidir_free(b->bi);
    rc_io_free(b->io);
    *b = (cli_graph){0};
}
