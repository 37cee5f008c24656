/* recur — the non-recurrent layers RNN models are built from: Dense,
 * Embedding, Masking and Dropout (Keras 3 semantics).
 *
 * Dimension key: B batch, T time, F input features, V vocabulary,
 * D embedding size.
 *
 * Ownership and errors follow rnn.h: a layer object (Dense, Embedding) is
 * created by *_new and freed by *_free; constructors never print and fail
 * (NULL) only on out of memory, so a bad size (units 0, vocabulary 0) is
 * reported when the layer is first applied, on the graph, with the layer's
 * name. The layer's parameters are nodes of the graph it was first applied
 * to (the graph owns them); a layer is used with one graph. Appliers return
 * NULL after recording the error (rc_graph_error); given a NULL input on a
 * graph that already has an error they return NULL quietly. Masking and
 * Dropout have no parameters and are plain functions.
 */
#ifndef RECUR_LAYERS_H
#define RECUR_LAYERS_H

#include "recur/graph.h"
#include "recur/rng.h"
#include "recur/rnn.h" /* rc_activation */

#ifdef __cplusplus
extern "C" {
#endif

/* --- Dense ------------------------------------------------------------------- */

/* y = act(x · kernel + bias) on the last axis of x.
 * Weights (Keras get_weights() order): kernel (F, units), glorot_uniform;
 * bias (units), zeros (only with use_bias). Parameter count units·(F + 1),
 * or units·F without bias. */
typedef struct rc_dense rc_dense;

/* A layer named `name` (scope of its nodes; "dense" when NULL/empty or when
 * it contains '/'). units < 1 is reported when the layer is applied. */
rc_dense *rc_dense_new(const char *name, int64_t units, rc_activation act, bool use_bias);
void rc_dense_free(rc_dense *d);

/* x: float32 (B, F), or (B, T, F) — then applied per time step as one flat
 * GEMM over all B·T rows (any rank 2..4 works the same way on its last
 * axis). Builds the weights on first use, initialised from rng (NULL =
 * seed 0); later calls must have the same F. Returns (..., units). */
rc_node *rc_dense_apply(rc_dense *d, rc_graph *g, rc_node *x, rc_rng *rng);

const char *rc_dense_name(const rc_dense *d);
int64_t rc_dense_units(const rc_dense *d);
rc_activation rc_dense_activation(const rc_dense *d);
bool rc_dense_built(const rc_dense *d);
int64_t rc_dense_input_size(const rc_dense *d); /* F; 0 before the first apply */
/* Weights in Keras order: kernel, then bias with use_bias. Zero weights
 * (and NULL) before the first apply. */
int rc_dense_nparams(const rc_dense *d);
rc_node *const *rc_dense_params(const rc_dense *d);
int64_t rc_dense_param_count(const rc_dense *d); /* scalars; 0 before build */
/* Copy values into weight k (0 kernel, 1 bias) after the first apply. As
 * rc_cell_set_weight: RC_ERR_STATE before the first apply, RC_ERR_ARG for k
 * out of range or NULL values, RC_ERR_SHAPE when `shape` is not the
 * weight's shape; the message (naming the layer, weight and both shapes)
 * is recorded on the layer's graph. */
rc_status rc_dense_set_weight(rc_dense *d, int k, rc_shape shape, const float *values);

/* --- Embedding -------------------------------------------------------------- */

/* y = embeddings[ids]: int32 ids of shape S -> (S..., D) through rc_gather.
 * Weight: embeddings (V, D), uniform(-0.05, 0.05) as Keras; parameter count
 * V·D. With mask_zero, id 0 is padding (so V must be the vocabulary + 1)
 * and the layer also returns the mask: float (S), 1 where id != 0, 0 where
 * id == 0 — the (B, T) mask an RNN layer takes. An id outside [0, V) makes
 * the plan's run fail (RC_ERR_ARG), as rc_gather. */
typedef struct rc_embedding rc_embedding;

/* A layer named `name` ("embedding" when NULL/empty or containing '/').
 * input_dim (V) or output_dim (D) < 1 is reported when applied. */
rc_embedding *rc_embedding_new(const char *name, int64_t input_dim, int64_t output_dim, bool mask_zero);
void rc_embedding_free(rc_embedding *e);

/* ids: int32 of rank 1..3, typically (B, T). Builds the table on first use
 * from rng (NULL = seed 0). *mask_out (may be NULL) receives the mask with
 * mask_zero, NULL without it (and NULL on error). */
rc_node *rc_embedding_apply(rc_embedding *e, rc_graph *g, rc_node *ids, rc_rng *rng, rc_node **mask_out);

const char *rc_embedding_name(const rc_embedding *e);
int64_t rc_embedding_input_dim(const rc_embedding *e);
int64_t rc_embedding_output_dim(const rc_embedding *e);
bool rc_embedding_mask_zero(const rc_embedding *e);
bool rc_embedding_built(const rc_embedding *e);
/* The one weight (embeddings) once built: count 1, else 0 and NULL. */
int rc_embedding_nparams(const rc_embedding *e);
rc_node *const *rc_embedding_params(const rc_embedding *e);
int64_t rc_embedding_param_count(const rc_embedding *e); /* V·D once built */
/* As rc_dense_set_weight; k must be 0 (embeddings (V, D)). */
rc_status rc_embedding_set_weight(rc_embedding *e, int k, rc_shape shape, const float *values);

/* --- Masking ----------------------------------------------------------------- */

/* Keras Masking(mask_value): x float32 of rank 2..4, typically (B, T, F).
 *   mask = any(x != mask_value, axis=-1) as float 0/1, shape x without its
 *          last axis ((B, T)), written to *mask_out (may be NULL);
 *   y    = x * mask[..., None]: masked steps become zeros (returned).
 * Comparison is exact in float32 (mask_value is rounded to float first, as
 * Keras casts it to the input dtype); a NaN mask_value masks nothing. The
 * mask carries no gradient; dy/dx = mask. A mask_value of ±inf is rejected
 * (RC_ERR_ARG): the comparison is built from x - mask_value, which cannot
 * tell inf from inf. */
rc_node *rc_masking(rc_graph *g, rc_node *x, double mask_value, rc_node **mask_out);

/* --- Dropout ------------------------------------------------------------------ */

/* Keras Dropout(rate): with training and rate > 0, x times an inverted-
 * dropout mask of x's shape (rc_dropout_mask: each element kept with
 * probability 1 - rate and scaled by 1/(1 - rate), drawn anew at every
 * run, seeded from rng (NULL = seed 0)); otherwise x itself. rate must be
 * in [0, 1) (RC_ERR_ARG otherwise). */
rc_node *rc_dropout(rc_graph *g, rc_node *x, double rate, bool training, rc_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
