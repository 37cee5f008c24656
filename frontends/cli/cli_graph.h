/* recur CLI: building the graph that `recur dot` and `recur view` draw
 * (not a public header): one recurrent layer (or a Bidirectional one) on
 * an input of shape (B, T, I), or an imported model on batch B, T steps. */
#ifndef RECUR_CLI_GRAPH_H
#define RECUR_CLI_GRAPH_H

#include <stdbool.h>

#include <recur.h>
#include <recur/model_io.h>
#include <recur/rnn.h>

/* The cells --cell names: "simple", "lstm", "gru"; -1 if unknown. */
int cli_cell_index(const char *name);

/* What to build. */
typedef struct cli_graph_spec {
    const char *model; /* a .keras / model.json, or NULL to build a layer */
    int cell;          /* cli_cell_index of --cell (without a model) */
    long units, input, steps, batch;
    bool bidir, seqs;
} cli_graph_spec;

#define CLI_GRAPH_MAX_OUTS 64

/* What was built: the layers to free, the input, the (first) output, every
 * output of the layer or model, a title. */
typedef struct cli_graph {
    rc_rnn *layer;
    rc_bidir *bi;
    rc_io_model *io;
    rc_node *x, *y;
    rc_node *outs[CLI_GRAPH_MAX_OUTS];
    int nouts;
    char title[200];
} cli_graph;

/* Build on g; 0, or 1 with the message printed as "recur CMD: ...". */
int cli_graph_build(const char *cmd, const cli_graph_spec *spec, rc_graph *g, cli_graph *out);
/* The imported model's rc_model, or NULL for a layer built from --cell. */
rc_model *cli_graph_model(const cli_graph *b);
/* A sum loss named "loss" over the output and its gradients w.r.t. every
 * parameter; params and grads (rc_graph_params(g) long, may be NULL) get
 * them. 0, or 1 with the message printed. */
int cli_graph_gradients(const char *cmd, rc_graph *g, const cli_graph *b, rc_node **params, rc_node **grads);
void cli_graph_free(cli_graph *b);

#endif
