/* recur — a model: an ordered set of layers it owns, applied in sequence
 * (Keras Sequential) or wired by hand (functional), with Keras-style
 * parameter counts and a summary table.
 *
 * Sequential: rc_model_add_* appends layers; rc_model_apply(x) runs them in
 * order, passing masks on as Keras does (Embedding(mask_zero) and Masking
 * produce one; Dense and Dropout pass it through; an RNN or Bidirectional
 * layer consumes it and passes it on only when it returns sequences).
 * Functional: rc_model_call_* applies one owned layer to nodes of your
 * choosing and records it, so layers can be shared, branched and merged
 * with ordinary ops; the summary then lists the calls in order.
 *
 * Every layer is an rc_layer (recur/layer.h): the model applies, lists and
 * counts layers through their class, whatever the kind.
 *
 * Ownership: the model owns every layer added or called through it and
 * frees them in rc_model_free. Errors are recorded on the graph.
 */
#ifndef RECUR_MODEL_H
#define RECUR_MODEL_H

#include "recur/layer.h"
#include "recur/layers.h"
#include "recur/rnn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_model rc_model;

rc_model *rc_model_new(const char *name);
void rc_model_free(rc_model *m);
const char *rc_model_name(const rc_model *m);

/* Sequential building: the model takes ownership of the layer (also on
 * failure). RC_ERR_ARG for a NULL layer, RC_ERR_NOMEM. rc_model_add takes
 * any layer (recur/layer.h); the others are conveniences over it. */
rc_status rc_model_add(rc_model *m, rc_layer *l);
rc_status rc_model_add_rnn(rc_model *m, rc_rnn *l);
rc_status rc_model_add_bidir(rc_model *m, rc_bidir *b);
rc_status rc_model_add_dense(rc_model *m, rc_dense *d);
rc_status rc_model_add_embedding(rc_model *m, rc_embedding *e);
rc_status rc_model_add_masking(rc_model *m, const char *name, double mask_value);
rc_status rc_model_add_dropout(rc_model *m, const char *name, double rate);

/* Run the layers in order on x (the model's input node). Returns the last
 * layer's output, or NULL with the error on the graph (a layer returning
 * states or unmerged halves cannot be chained). */
rc_node *rc_model_apply(rc_model *m, rc_graph *g, rc_node *x, bool training, rc_rng *rng);

/* Functional calls: apply a layer (the model takes ownership on the first
 * call; calling it again shares its weights) and record the call.
 * rc_model_call takes any layer through its class (out as rc_layer_apply);
 * the typed ones return the kinds' own results. */
rc_status rc_model_call(rc_model *m, rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out);
rc_status rc_model_call_rnn(rc_model *m, rc_rnn *l, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                            rc_rnn_out *out);
rc_status rc_model_call_bidir(rc_model *m, rc_bidir *b, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                              rc_bidir_out *out);
rc_node *rc_model_call_dense(rc_model *m, rc_dense *d, rc_graph *g, rc_node *x, rc_rng *rng);
rc_node *rc_model_call_embedding(rc_model *m, rc_embedding *e, rc_graph *g, rc_node *ids, rc_rng *rng,
                                 rc_node **mask_out);

/* Record a call of a layer the model does not own (InputLayer, Activation,
 * Masking or Dropout applied with the plain functions) so the summary lists
 * it with its output shape, or, for a layer the model owns (matched by
 * name), show `type` as its class (e.g. "TimeDistributed") and `out` as its
 * output shape. RC_ERR_ARG for NULL arguments, RC_ERR_NOMEM. */
rc_status rc_model_note_call(rc_model *m, const char *name, const char *type, rc_shape out);

/* One row of the summary: the i-th layer (call order). */
typedef struct rc_layer_info {
    const char *name;     /* owned by the model */
    const char *type;     /* Keras class name: "LSTM", "Bidirectional", ... */
    rc_shape output;      /* batch dimension included; ndim 0 before apply */
    int64_t params;       /* scalars; 0 before the layer is built */
} rc_layer_info;

int rc_model_layer_count(const rc_model *m);
/* The i-th layer (call order), owned by the model; NULL out of range. */
rc_layer *rc_model_layer(const rc_model *m, int i);
bool rc_model_layer_info(const rc_model *m, int i, rc_layer_info *info);
/* Every weight of the model in layer order, Keras get_weights() order
 * within a layer (up to max written; returns the total). */
int rc_model_params(const rc_model *m, rc_node **out, int max);
int64_t rc_model_param_count(const rc_model *m);

/* Keras 3 style summary table (box drawing, batch shown as None, thousands
 * separators, totals with memory). Writes at most len bytes including the
 * terminating NUL; returns the length the full text needs (snprintf-like). */
size_t rc_model_summary(const rc_model *m, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
