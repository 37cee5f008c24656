/* Helpers shared by the DOT tests: graphs of recurrent layers to draw, and
 * reading DOT text back with cgraph. */
#ifndef RECUR_TESTS_DOT_UTIL_H
#define RECUR_TESTS_DOT_UTIL_H

#include <graphviz/cgraph.h>
#include <recur.h>
#include <recur/dot.h>
#include <recur/rnn.h>

/* The error of the DOT tests' last failed rc_dot_* call (for assertions). */
extern rc_error dot_err;

typedef enum { DU_SIMPLE, DU_LSTM, DU_GRU } du_cell;

/* One recurrent layer (or a Bidirectional one) on x (2, T, 3) with 4 units,
 * optionally a sum loss and the gradients w.r.t. every parameter. */
typedef struct du_net {
    rc_graph *g;
    rc_rnn *layer;
    rc_bidir *bi;
    rc_node *x, *y, *loss;
    rc_node *params[16], *grads[16];
    int nparams;
} du_net;

du_net du_build(du_cell cell, int T, bool bidir, bool gradients);
void du_free(du_net *n);

/* rc_dot_string, asserting success. */
char *du_dot(const rc_graph *g, const rc_dot_options *o, size_t *len);
/* agmemread with Graphviz' messages kept out of the test output; asserts
 * the text parses. Close with agclose. */
Agraph_t *du_read(const char *dot);
/* du_dot at `level` with the other options at their defaults, read back
 * by du_read; *text gets the DOT text (rc_free it). */
Agraph_t *du_draw(const rc_graph *g, rc_dot_level level, char **text);
/* The attribute of a node/graph, "" when not set. */
const char *du_attr(void *obj, const char *name);
/* Calls f on g's subgraphs, depth first. */
void du_each_subgraph(Agraph_t *g, void (*f)(Agraph_t *sub, void *arg), void *arg);

#endif
