/* recur — the layer class: one uniform interface over every layer kind, as
 * rc_cell_class is for cells and the op table for ops.
 *
 * A layer is a handle {cls, impl}: the class says what the kind is (its
 * Keras class name), how it is applied and which weights it has; impl is
 * the kind's own object. Everything that treats layers alike — the model
 * container (sequential chains, functional calls, parameter lists and
 * counts, the summary table) and the file formats of frontends/ — goes
 * through the class, so a new kind is its own file plus one row in
 * rc_layer_table (layers/layer.c), and no code elsewhere switches over
 * kinds.
 *
 * The built-in kinds embed their handle (rc_rnn_layer(l) etc. return it
 * without allocating, and impl is the object itself); a user layer fills
 * an rc_layer of its own (rc_layer_init) and frees it in destroy.
 *
 * Ownership and errors follow rnn.h: rc_layer_free destroys the layer and
 * its object; apply records errors on the graph and returns the status.
 */
#ifndef RECUR_LAYER_H
#define RECUR_LAYER_H

#include "recur/layers.h"
#include "recur/rnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outputs of one call: the output (or a Bidirectional's unmerged halves)
 * then the final states, as Keras returns them. */
#define RC_LAYER_MAX_OUT (2 + 2 * RC_MAX_STATES)
/* Weights of one layer (a Bidirectional holds two cells' worth). */
#define RC_LAYER_MAX_PARAMS (2 * RC_MAX_CELL_PARAMS)

typedef struct rc_layer rc_layer;

/* One call's inputs: what Keras' layer.__call__ takes. */
typedef struct rc_layer_in {
    rc_node *x;                      /* the input */
    rc_node *mask;                   /* NULL or the (B, T) mask flowing in with x */
    rc_node *const *initial_state;   /* recurrent kinds: ninitial states, else none */
    int ninitial;
    bool training;                   /* enables dropout */
    rc_rng *rng;                     /* initialisation and dropout seeds; NULL = seed 0 */
} rc_layer_in;

/* One call's results. */
typedef struct rc_layer_out {
    int nout;
    rc_node *out[RC_LAYER_MAX_OUT];  /* Keras order; out[0] is the summary row's shape */
    rc_node *mask[RC_LAYER_MAX_OUT]; /* the mask each output carries on (NULL = none) */
    int nupdates;                    /* stateful layers: run these to keep the final states */
    rc_node *update[2 * RC_MAX_STATES];
} rc_layer_out;

typedef struct rc_layer_class {
    /* Keras class name, e.g. "Dense"; for a kind whose class name depends
     * on its configuration (an RNN layer is SimpleRNN, LSTM, GRU or RNN by
     * its cell) the generic name, with type_of giving the instance's. */
    const char *type;
    const char *(*type_of)(const rc_layer *l); /* optional */
    /* The dtype of the input it takes: RC_I32 for ids (Embedding), else
     * RC_F32. */
    rc_dtype input_dtype;
    const char *(*name)(const rc_layer *l);
    /* Apply to in->x (building the weights on first use, in the graph's
     * scope named after the layer), filling out (zeroed by the caller).
     * Kinds that pass a mask through set out->mask[0] = in->mask. */
    rc_status (*apply)(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out);
    /* The weights once built, in Keras get_weights() order: writes up to
     * max of them to out (may be NULL) and returns the count. NULL for a
     * kind without weights. */
    int (*params)(const rc_layer *l, rc_node **out, int max);
    /* Free the layer (handle and object). */
    void (*destroy)(rc_layer *l);
} rc_layer_class;

struct rc_layer {
    const rc_layer_class *cls;
    void *impl; /* the kind's object */
};

/* Fill a handle (for user layers). */
void rc_layer_init(rc_layer *l, const rc_layer_class *cls, void *impl);
void rc_layer_free(rc_layer *l);

/* Keras class name of this layer ("LSTM", "Dense", ...). */
const char *rc_layer_type(const rc_layer *l);
const char *rc_layer_name(const rc_layer *l);
/* Apply through the class; out is zeroed first (and on error). RC_ERR_ARG
 * for NULL arguments (recorded on g when there is one). */
rc_status rc_layer_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out);
/* Weights in Keras order (as the class's params; 0 before the build). */
int rc_layer_params(const rc_layer *l, rc_node **out, int max);
int64_t rc_layer_param_count(const rc_layer *l); /* scalars; 0 before the build */

/* The built-in kinds, one class each, defined in the kind's own file. */
extern const rc_layer_class rc_rnn_class;        /* layers/rnn.c */
extern const rc_layer_class rc_bidir_class;      /* layers/rnn.c */
extern const rc_layer_class rc_dense_class;      /* layers/dense.c */
extern const rc_layer_class rc_embedding_class;  /* layers/embedding.c */
extern const rc_layer_class rc_masking_class;    /* layers/masking.c */
extern const rc_layer_class rc_dropout_class;    /* layers/dropout.c */
extern const rc_layer_class rc_note_class;       /* layers/model.c */

/* The layer table: every built-in class, one row each (layers/layer.c). */
extern const rc_layer_class *const rc_layer_table[];
extern const int rc_layer_table_len;
/* A class of the table by its generic type name ("RNN", "Dense"), or NULL. */
const rc_layer_class *rc_layer_class_find(const char *type);

/* Handles of the built-in objects (NULL for NULL): the layer owns the
 * object, so rc_layer_free(rc_dense_layer(d)) frees d. */
rc_layer *rc_rnn_layer(rc_rnn *l);
rc_layer *rc_bidir_layer(rc_bidir *b);
rc_layer *rc_dense_layer(rc_dense *d);
rc_layer *rc_embedding_layer(rc_embedding *e);
/* Layers around the plain functions rc_masking and rc_dropout (names
 * "masking" / "dropout" when NULL, empty or containing '/'; a bad value is
 * reported when applied, as those functions do). NULL when out of memory. */
rc_layer *rc_masking_layer_new(const char *name, double mask_value);
rc_layer *rc_dropout_layer_new(const char *name, double rate);
/* A summary row only: a layer the model does not apply (an InputLayer, an
 * Activation applied with ops), shown as `type`; applying it passes x and
 * its mask through. */
rc_layer *rc_note_layer_new(const char *name, const char *type);

#ifdef __cplusplus
}
#endif
#endif
