/* recur — Keras and TensorFlow.js models in and out.
 *
 * Import reads a whole model (architecture and weights) written by
 *   - TensorFlow.js (`model.save()`, a "layers-model" model.json with a
 *     weightsManifest and one or more .bin shards), including the form the
 *     Python converter writes (`modelTopology.model_config`), Keras 2 schema;
 *   - Keras 3 (a `.keras` zip archive: config.json + model.weights.h5).
 * Supported layers: InputLayer, Embedding, Masking, SimpleRNN, LSTM, GRU,
 * RNN over one cell or a StackedRNNCells list, Bidirectional, Dense,
 * TimeDistributed(Dense), Dropout, Activation; Sequential and functional
 * models. Weights must be float32. Anything else (a layer class, an option
 * value recur cannot honour, a regularizer) is an error naming the layer
 * and the option; nothing is replaced by a default silently.
 *
 * The loaded model is a description: rc_io_build turns it into layers of
 * an rc_model applied to input nodes of a graph, with the imported weights
 * copied into the parameters. rc_io_export_tfjs writes the model back as a
 * TF.js layers-model (model.json + group1-shard1of1.bin) with the current
 * parameter values (so a model trained here loads in TF.js).
 *
 * Errors: every function that can fail returns an rc_status and fills the
 * caller's rc_error (may be NULL; docs/errors.md) with the function's name
 * and a message naming the file and the problem; rc_io_build also records
 * it on the graph. Nothing prints.
 *
 * Ownership: rc_io_load allocates *out, freed by rc_io_free, which also
 * frees the rc_model built from it. Nodes belong to the graph.
 */
#ifndef RECUR_MODEL_IO_H
#define RECUR_MODEL_IO_H

#include "recur/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_io_model rc_io_model;

/* Load a model. The format is chosen by the file: a path ending in
 * ".keras" is a Keras 3 archive, anything else a TF.js model.json (its
 * shards are read from the same directory). */
rc_status rc_io_load(const char *path, rc_io_model **out, rc_error *err);
void rc_io_free(rc_io_model *m);

const char *rc_io_name(const rc_io_model *m);
/* "tfjs" or "keras3": where the model came from. */
const char *rc_io_format(const rc_io_model *m);

/* Model inputs and outputs in Keras order. An input's dtype is int32 when it
 * feeds an Embedding, float32 otherwise. Its declared shape includes the
 * batch dimension; unknown dimensions (None) are -1. Returns ndim, or -1
 * for i out of range. */
int rc_io_ninputs(const rc_io_model *m);
int rc_io_noutputs(const rc_io_model *m);
const char *rc_io_input_name(const rc_io_model *m, int i);
rc_dtype rc_io_input_dtype(const rc_io_model *m, int i);
int rc_io_input_shape(const rc_io_model *m, int i, int64_t dims[RC_MAX_DIMS]);
/* For an int32 input: the smallest input_dim of the Embeddings reading it
 * (valid ids are 0..vocab-1); 0 for a float input. */
int64_t rc_io_input_vocab(const rc_io_model *m, int i);

/* Build the model once on g: inputs[i] (rc_io_ninputs of them, shapes with
 * the batch dimension, dtype as rc_io_input_dtype) go through the layers;
 * outputs[0..rc_io_noutputs) receive the model's outputs. training turns
 * dropout on (rng seeds it and initialisation; NULL = seed 0). The imported
 * weights are then copied into the parameters; a weight whose shape is not
 * the layer's is an error naming the layer and both shapes. Stateful
 * layers' state-update nodes are in *updates (up to max_updates, count in
 * *nupdates; both may be NULL/0). A model is built once. */
rc_status rc_io_build(rc_io_model *m, rc_graph *g, rc_node *const *inputs, int ninputs, bool training,
                      rc_rng *rng, rc_node **outputs, int max_outputs, rc_node **updates, int max_updates,
                      int *nupdates, rc_error *err);

/* The layers as an rc_model (summary, parameters in Keras order): NULL
 * before rc_io_build; owned by m. */
rc_model *rc_io_rc_model(rc_io_model *m);

/* Convenience for tools: make the input nodes (batch B; a None time
 * dimension becomes T, other None dimensions are an error) and build.
 * inputs receives the nodes (rc_io_ninputs of them). */
rc_status rc_io_build_batch(rc_io_model *m, rc_graph *g, int64_t B, int64_t T, rc_node **inputs, int max_inputs,
                            rc_node **outputs, int max_outputs, rc_error *err);

/* Write dir/model.json and dir/group1-shard1of1.bin (dir must exist) in the
 * form TF.js model.save() writes: a functional ("Model") topology in the
 * Keras 2 schema, one weight group. Weights are the built parameters'
 * current values, or the imported ones before rc_io_build. */
rc_status rc_io_export_tfjs(const rc_io_model *m, const char *dir, rc_error *err);

#ifdef __cplusplus
}
#endif
#endif
