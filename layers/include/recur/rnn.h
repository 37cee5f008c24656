/* recur — recurrent cells and the layers that own time.
 *
 * Dimension key: B batch, T time, I input features, U units, G gates.
 *
 * A cell (like Keras' AbstractRNNCell) declares its state sizes and output
 * size, creates its parameters when told its input size, and builds one
 * step from ops. It knows nothing of time, masks, direction or batching.
 * The RNN layer unrolls a cell over T steps and implements
 * return_sequences, return_state, go_backwards, initial_state and masking
 * for every cell, built-in or user-written. Bidirectional wraps two layers.
 *
 * Ownership: cells and layers are created by *_new and freed by *_free; a
 * layer owns its cell(s). Parameters are nodes of the graph the layer was
 * first applied to (the graph owns them); a layer is used with one graph.
 */
#ifndef RECUR_RNN_H
#define RECUR_RNN_H

#include "recur/activation.h"
#include "recur/graph.h"
#include "recur/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RC_MAX_STATES 16
#define RC_MAX_CELL_PARAMS 48

/* --- cells ---------------------------------------------------------------- */

typedef struct rc_cell rc_cell;

/* One step's inputs and results. */
typedef struct rc_cell_step {
    rc_node *x;                           /* (B, I), or (B, P): rows of project() */
    rc_node *state[RC_MAX_STATES];        /* previous states (B, state_size[k]) */
    /* Recurrent dropout: NULL, or a (B, state_size[0]) mask the cell
     * multiplies state[0] by where it enters the recurrent matmul (never
     * elsewhere, as Keras). Cells may ignore it (then no recurrent dropout). */
    rc_node *rec_mask;
    rc_node *output;                      /* set by step: (B, output_size) */
    rc_node *next_state[RC_MAX_STATES];   /* set by step */
} rc_cell_step;

typedef struct rc_cell_class {
    const char *type; /* Keras class name, e.g. "LSTMCell" */
    /* Create the parameters for inputs of input_size features in the
     * graph's current scope, append them to c->params in Keras weight
     * order, initialised from rng. */
    rc_status (*build)(rc_cell *c, rc_graph *g, int64_t input_size, rc_rng *rng);
    /* Optional: the input-dependent part of a step for many rows at once,
     * x_all (N, I) -> (N, P). When set, step receives rows of it instead of
     * x_t, so the RNN layer runs one GEMM over all B·T rows. */
    rc_node *(*project)(rc_cell *c, rc_graph *g, rc_node *x_all);
    /* Build one step from ops. Returns RC_OK or the graph's error. */
    rc_status (*step)(rc_cell *c, rc_graph *g, rc_cell_step *s);
    /* Free impl (may be NULL). */
    void (*destroy)(rc_cell *c);
} rc_cell_class;

struct rc_cell {
    const rc_cell_class *cls;
    char name[64];                        /* scope name, e.g. "lstm_cell" */
    int nstates;
    int64_t state_size[RC_MAX_STATES];
    int64_t output_size;
    int64_t input_size;                   /* set by build */
    bool built;
    int nparams;
    rc_node *params[RC_MAX_CELL_PARAMS];  /* Keras get_weights() order */
    void *impl;                           /* the class's own data */
};

/* Allocate a cell of a class with its sizes (used by cell constructors and
 * user cells). Sizes are checked when the cell is first applied (so the
 * error can name the layer); NULL only for a NULL class, nstates outside
 * 1..RC_MAX_STATES, or out of memory, with the reason in err (may be
 * NULL). On failure impl stays the caller's. */
rc_cell *rc_cell_new(const rc_cell_class *cls, const char *name, int nstates,
                     const int64_t *state_size, int64_t output_size, void *impl, rc_error *err);
void rc_cell_free(rc_cell *c);
/* Build (once) in g for input_size: pushes the cell's name as a scope. */
rc_status rc_cell_build(rc_cell *c, rc_graph *g, int64_t input_size, rc_rng *rng);
/* Append a parameter to a cell being built (for build callbacks). */
rc_node *rc_cell_add_param(rc_cell *c, rc_graph *g, const char *name, rc_shape shape);
int64_t rc_cell_param_count(const rc_cell *c); /* number of scalars */
/* A step of c as built by its class, through the step-level fusion pass
 * (rc_fuse_step, recur/fuse.h): gate math the pass recognises (the LSTM,
 * the reset_after GRU) becomes views of a fused cell op in s->output and
 * s->next_state. The RNN layer calls it after every step and
 * StackedRNNCells after each cell's; a cell's own step never needs to. */
rc_status rc_cell_step_fuse(rc_graph *g, const rc_cell *c, rc_cell_step *s);
/* Copy values into parameter k (Keras weight order) after the cell is
 * built. RC_ERR_STATE before the first apply, RC_ERR_ARG for k out of
 * range, RC_ERR_SHAPE when `shape` is not the parameter's shape; the
 * message (naming the cell, weight and both shapes) is recorded on the
 * cell's graph. */
rc_status rc_cell_set_weight(rc_cell *c, int k, rc_shape shape, const float *values);

typedef struct rc_cell_config {
    int64_t units;
    rc_activation activation;           /* default tanh; any row of activation.h (NULL: linear) */
    rc_activation recurrent_activation; /* default sigmoid (LSTM, GRU); likewise */
    bool use_bias;                      /* default true */
    bool unit_forget_bias;              /* LSTM, default true */
    bool reset_after;                   /* GRU, default true (Keras 3) */
} rc_cell_config;

/* Keras defaults for a cell of `units` units. */
rc_cell_config rc_cell_defaults(int64_t units);

/* The built-in cells (weights kernel (I, G·U), recurrent_kernel (U, G·U),
 * bias (G·U), or (2, 3U) for GRU with reset_after). units < 1 is reported
 * when the cell is applied. NULL for a NULL config or out of memory. */
rc_cell *rc_simple_rnn_cell_new(const rc_cell_config *cfg);
rc_cell *rc_lstm_cell_new(const rc_cell_config *cfg);
rc_cell *rc_gru_cell_new(const rc_cell_config *cfg);
/* A stack of cells (takes ownership of them): cell k reads cell k-1's
 * output; states in natural order (Keras 3), flattened; parameters
 * scoped cell_0/..., cell_1/.... NULL, with the reason in err (may be
 * NULL), for no cells, a NULL cell, more than RC_MAX_STATES states in all
 * or out of memory; the cells then stay the caller's. */
rc_cell *rc_stacked_cells_new(rc_cell *const *cells, int n, rc_error *err);

/* --- the RNN layer ----------------------------------------------------------- */

typedef struct rc_rnn_config {
    bool return_sequences;
    bool return_state;
    bool go_backwards;         /* output sequence in processing order, as Keras */
    bool zero_output_for_mask; /* masked steps output 0 instead of carrying */
    bool stateful;             /* final states become the next call's initial states */
    float dropout;             /* on x_t, one mask per sequence, training only */
    float recurrent_dropout;   /* on h_{t-1} before h·U, likewise */
} rc_rnn_config;

typedef struct rc_rnn rc_rnn;

/* A layer named `name` (scope of its nodes) over `cell`, which it owns.
 * NULL when cell is NULL, a dropout rate is outside [0, 1), or out of
 * memory, with the reason (naming the layer) in err (may be NULL); the
 * cell then stays the caller's. */
rc_rnn *rc_rnn_new(const char *name, rc_cell *cell, const rc_rnn_config *cfg, rc_error *err);
void rc_rnn_free(rc_rnn *l);
rc_cell *rc_rnn_cell(rc_rnn *l);
const char *rc_rnn_name(const rc_rnn *l);
const rc_rnn_config *rc_rnn_get_config(const rc_rnn *l);

/* Per-call arguments; a NULL pointer means all defaults. */
typedef struct rc_rnn_call {
    rc_node *mask;                       /* NULL or (B, T) float 0/1, 1 = valid */
    rc_node *const *initial_state;       /* ninitial nodes (B, state_size[k]) */
    int ninitial;                        /* 0 = zeros (or the stored states) */
    bool training;                       /* enables dropout */
    rc_rng *rng;                         /* initialisation and dropout seeds;
                                            NULL = seed 0 */
} rc_rnn_call;

typedef struct rc_rnn_out {
    rc_node *output;                 /* (B, T, out) or (B, out) */
    int nstates;
    rc_node *state[RC_MAX_STATES];   /* final states */
    /* stateful layers: nodes that store the final states for the next call
     * when run; include them in the plan's outputs */
    int nupdates;
    rc_node *update[RC_MAX_STATES];
} rc_rnn_out;

/* Unroll over x (B, T, I). Builds the cell on first use. Errors name the
 * layer and the shapes; they are also recorded on the graph. */
rc_status rc_rnn_apply(rc_rnn *l, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                       rc_rnn_out *out);

/* Stateful layers: set the stored states to zeros (values NULL) or to
 * nstates arrays of (B, state_size[k]) floats. RC_ERR_STATE for a layer
 * that is not stateful or before the first apply, RC_ERR_ARG for a NULL
 * array (nothing changes then); the reason in err (may be NULL). */
rc_status rc_rnn_reset_states(rc_rnn *l, const float *const *values, rc_error *err);

/* --- Bidirectional --------------------------------------------------------- */

typedef enum rc_merge_mode {
    RC_MERGE_CONCAT, RC_MERGE_SUM, RC_MERGE_MUL, RC_MERGE_AVE, RC_MERGE_NONE,
} rc_merge_mode;

typedef struct rc_bidir rc_bidir;

/* Wraps forward and backward layers (takes ownership). The backward layer
 * must have go_backwards set (the forward one not) and the same
 * return_sequences, return_state and stateful as the forward one. Masked
 * steps output 0 in both halves when returning sequences (as Keras). NULL
 * when a layer is NULL, they do not fit together, the mode is unknown or
 * memory runs out, with the reason in err (may be NULL); the layers then
 * stay the caller's. */
rc_bidir *rc_bidir_new(const char *name, rc_rnn *forward, rc_rnn *backward, rc_merge_mode mode, rc_error *err);
void rc_bidir_free(rc_bidir *b);

typedef struct rc_bidir_out {
    rc_node *output;           /* merged; NULL with RC_MERGE_NONE */
    int nupdates;              /* stateful: forward then backward updates */
    rc_node *update[2 * RC_MAX_STATES];
    rc_node *output_forward;   /* always set */
    rc_node *output_backward;  /* re-aligned in time when returning sequences */
    int nstates;               /* forward states then backward states */
    rc_node *state[2 * RC_MAX_STATES];
} rc_bidir_out;

/* call->initial_state: the forward layer's states then the backward
 * layer's. */
rc_status rc_bidir_apply(rc_bidir *b, rc_graph *g, rc_node *x, const rc_rnn_call *call,
                         rc_bidir_out *out);
rc_rnn *rc_bidir_forward(rc_bidir *b);
rc_rnn *rc_bidir_backward(rc_bidir *b);
const char *rc_bidir_name(const rc_bidir *b);
rc_merge_mode rc_bidir_merge_mode(const rc_bidir *b);

#ifdef __cplusplus
}
#endif
#endif
