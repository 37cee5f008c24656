/* recur — language models: any model that reads int token ids (B, T) and
 * returns per-step logits (B, T, V), trained on the next token.
 *
 *   loss = mean over the B*T positions of logsumexp(z_bt) - z_bt[y_bt]
 *          (sparse softmax cross-entropy, nats per token), y = x shifted
 *          by one token in the corpus.
 *
 * A model is applied to a graph once per use (a training batch (B, T),
 * evaluation windows (B', T), one sampling step (1, 1) with explicit
 * states): each application is a branch; the first one creates the
 * weights and the later ones share them. A model built elsewhere (an
 * imported Keras / TF.js model, rc_io_build) has its logits already:
 * rc_lm_branch_on adds the loss to them.
 *
 * rc_lm_model_new makes the classic character-level model as an ordinary
 * Sequential rc_model:
 *
 *   Embedding(V, E) -> RNN(U, return_sequences) x layers -> Dense(V)
 *
 * Errors: builders record them on the graph (rc_graph_error) and return
 * its status; runners return a status with the message in err. Nothing
 * here prints, exits or aborts.
 */
#ifndef RECUR_LM_H
#define RECUR_LM_H

#include "recur/model.h"
#include "recur/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RC_LM_MAX_STATES 32

typedef enum rc_lm_cell { RC_LM_LSTM, RC_LM_GRU, RC_LM_SIMPLE_RNN } rc_lm_cell;

typedef struct rc_lm_config {
    rc_lm_cell cell;
    int64_t vocab, embed, units; /* V, E, U */
    int layers;                  /* recurrent layers, >= 1 */
} rc_lm_config;

/* The model "charlm": layers "embedding", "lstm" / "gru" / "simple_rnn",
 * then "<cell>_1", "<cell>_2", ... for the later recurrent layers, and
 * "dense" (Keras' automatic names, so weight paths read
 * charlm/lstm/lstm_cell/kernel). Keras cell defaults (tanh, sigmoid gates,
 * bias, unit forget bias, GRU reset_after). Weights are created, with
 * Keras' initializers drawn from the rng given, by the first branch. NULL
 * for sizes < 1 or out of memory. */
rc_model *rc_lm_model_new(const rc_lm_config *cfg);

/* PyTorch's default initialisation over a built model of Embedding, RNN /
 * GRU / LSTM and Dense layers (to start where a PyTorch peer starts), drawn
 * from rng in weight order:
 *   Embedding   N(0, 1)
 *   RNN layer   every weight U(-k, k), k = 1/sqrt(U); a 1-D bias gets a
 *               second such draw added (Keras cells have one bias where
 *               PyTorch adds b_ih + b_hh; GRU's reset_after (2, 3U) bias
 *               keeps the two rows: one draw each)
 *   Dense       U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for kernel and bias.
 * RC_ERR_STATE before the first branch, RC_ERR_ARG for another layer type
 * with weights (nothing changed then). */
rc_status rc_lm_init_torch(rc_model *m, rc_rng *rng);

/* One application of the model with its loss. */
typedef struct rc_lm_branch {
    int64_t B, T, V;
    rc_node *x, *y;       /* inputs: ids and next ids (B, T) int32 */
    rc_node *logits;      /* (B, T, V) */
    rc_node *xent;        /* (B, T) per-token cross-entropy */
    rc_node *loss;        /* scalar mean cross-entropy */
    int nstates;          /* with explicit states: every recurrent state */
    rc_node *state_in[RC_LM_MAX_STATES];   /* inputs (B, size), zero = start */
    rc_node *state_out[RC_LM_MAX_STATES];  /* final states */
} rc_lm_branch;

/* Apply a Sequential model (rc_model_apply; dropout off) to new (B, T) id
 * inputs. explicit_states: every RNN layer starts from state inputs
 * (br->state_in, zeros = a fresh sequence) and its final states are
 * br->state_out, in layer order and each cell's order (LSTM: h, c), for
 * feeding tokens one at a time; RC_ERR_ARG for a Bidirectional layer
 * (it reads later tokens). rng: initialisation on the first application
 * (NULL = seed 0). RC_OK or the graph's status. */
rc_status rc_lm_branch_new(rc_model *m, rc_graph *g, int64_t B, int64_t T, bool explicit_states, rc_rng *rng,
                           rc_lm_branch *br);
/* The loss on a model already applied: ids (B, T) int32 and logits
 * (B, T, V) float32 of the graph (V >= 2; log-softmax outputs are fine:
 * softmax(log_softmax(z)) = softmax(z)). No explicit states. RC_ERR_SHAPE
 * (recorded on the graph) for other shapes. */
rc_status rc_lm_branch_on(rc_graph *g, rc_node *ids, rc_node *logits, rc_lm_branch *br);

/* The evaluation protocol: `count` windows of T+1 tokens whose starts are
 * rc_eval_starts(len, T, count) over split[0..len), each from a zero state,
 * mean cross-entropy over the count*T predicted tokens (nats), accumulated
 * in double. br->T = T; plan has br->xent among its outputs; count need
 * not be a multiple of br->B (the last batch's spare rows repeat a window
 * and are not counted). RC_ERR_ARG for a split too short for one window. */
rc_status rc_lm_eval(const rc_lm_branch *br, rc_plan *plan, const int32_t *split, int64_t len, int64_t count,
                     double *nats, rc_error *err);
/* Part of it, to split the protocol over processes: the sum (not the
 * mean) of the cross-entropy over the predicted tokens of windows
 * [first, first + n) of the same `count` windows; 0 for n = 0. The ranks'
 * sums add up to count * T * the mean rc_lm_eval gives (up to the order
 * of double additions). RC_ERR_ARG for a range outside [0, count). */
rc_status rc_lm_eval_range(const rc_lm_branch *br, rc_plan *plan, const int32_t *split, int64_t len, int64_t count,
                           int64_t first, int64_t n, double *sum, rc_error *err);

/* Sampling with a (1, 1) branch with explicit states: the plan of its
 * logits and final states (NULL with the error on the graph). */
rc_plan *rc_lm_step_plan(rc_graph *g, const rc_lm_branch *br);
/* Zero the state inputs (a fresh sequence). */
void rc_lm_reset_states(const rc_lm_branch *br);
/* Run token `tok` through the step plan; the final states become the next
 * initial states; *logits (V floats, owned by the plan) the prediction of
 * the next token. The plan's status on failure (its message in err). */
rc_status rc_lm_feed(const rc_lm_branch *br, rc_plan *plan, int32_t tok, const float **logits, rc_error *err);
/* A token drawn from softmax(logits / temperature) over V with one uniform
 * double from rng; temperature > 0. */
int rc_lm_sample(const float *logits, int64_t V, double temperature, rc_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
