/* The character-level language model of `recur train/generate/eval` (not a
 * public header):
 *
 *   ids (B, T) int32 -> Embedding(V, E) -> RNN(U, return_sequences) x layers
 *                    -> Dense(V) logits (B, T, V)
 *   loss = mean over B*T of sparse softmax cross-entropy (nats per token)
 *
 * One graph holds the weights; every use (a training batch, evaluation
 * windows, one sampling step) is a branch applied to it with the same
 * layers, so the branches share the weights. A branch can take its initial
 * states as inputs and return its final states (sampling).
 */
#ifndef RECUR_CLI_CHARLM_H
#define RECUR_CLI_CHARLM_H

#include <recur.h>

#define CHARLM_MAX_LAYERS 8

typedef enum { CHARLM_LSTM, CHARLM_GRU, CHARLM_SIMPLE } charlm_cell;
typedef enum { CHARLM_INIT_TORCH, CHARLM_INIT_KERAS } charlm_init;

typedef struct charlm_config {
    charlm_cell cell;
    int64_t vocab, embed, units;
    int layers;
    charlm_init init;
} charlm_config;

typedef struct charlm {
    charlm_config cfg;
    uint64_t seed;            /* initialisation seed */
    rc_graph *g;
    rc_model *model;          /* owns the layers */
    rc_embedding *emb;
    rc_rnn *rnn[CHARLM_MAX_LAYERS];
    rc_dense *out;
    int nparams;
    rc_node *params[4 + 3 * CHARLM_MAX_LAYERS];
    bool built;
} charlm;

/* One application of the model. */
typedef struct charlm_branch {
    int64_t B, T;
    rc_node *x, *y;           /* inputs: ids and next ids (B, T) int32 */
    rc_node *logits;          /* (B, T, V) */
    rc_node *xent;            /* (B, T) per-token cross-entropy */
    rc_node *loss;            /* scalar mean cross-entropy */
    int nstates;              /* with explicit states: every layer's states */
    rc_node *state_in[CHARLM_MAX_LAYERS * 2];   /* inputs (B, state size) */
    rc_node *state_out[CHARLM_MAX_LAYERS * 2];  /* final states */
} charlm_branch;

const char *charlm_cell_name(charlm_cell c);
bool charlm_cell_parse(const char *s, charlm_cell *out);
const char *charlm_init_name(charlm_init i);
bool charlm_init_parse(const char *s, charlm_init *out);

/* Create the model (graph and layers); weights are built and initialised
 * from `seed` by the first branch. false on out of memory. */
bool charlm_new(charlm *m, const charlm_config *cfg, uint64_t seed);
void charlm_free(charlm *m);
/* Apply the model to new (B, T) inputs; explicit_states adds state inputs
 * and outputs. RC_OK or the graph's status (message: rc_graph_error). */
rc_status charlm_branch_new(charlm *m, int64_t B, int64_t T, bool explicit_states, charlm_branch *br);

/* Validation loss by the char-LM protocol: `count` windows of T+1 tokens at
 * rc_eval_starts over the split, each from a zero state, mean cross-entropy
 * over the count*T predicted tokens (nats), accumulated in double. br is a
 * branch with br->T == T and plan a plan with br->xent among its outputs;
 * count need not be a multiple of br->B (the last batch's spare rows repeat
 * a window and are not counted). */
rc_status charlm_eval_split(charlm *m, const int32_t *split, int64_t len, int64_t count,
                            charlm_branch *br, rc_plan *plan, double *nats, char *msg, size_t msglen);

/* Sample from probabilities softmax(logits / temperature) over V with one
 * uniform draw from rng; temperature > 0. */
int charlm_sample(const float *logits, int64_t V, double temperature, rc_rng *rng);


/* The model description stored in checkpoints ("config" metadata):
 * "cell=lstm vocab=256 embed=64 units=256 layers=1 init=torch". */
void charlm_config_str(const charlm_config *c, char *buf, size_t len);
/* false (with a message) on a malformed or out-of-range description. */
bool charlm_config_parse(const char *s, charlm_config *c, char *msg, size_t msglen);
/* Read the config from a checkpoint's metadata. Non-OK with a message for
 * an unreadable, malformed or non-charlm file. */
rc_status charlm_config_from_file(const char *path, charlm_config *c, char *msg, size_t msglen);

/* "fortunes" = the built-in fortunes corpus; anything else a file of bytes
 * (ints = false) or of whitespace-separated integers (ints = true), split
 * first 90% train / last 10% validation. */
rc_status charlm_load_corpus(const char *spec, bool ints, rc_corpus *c, char *msg, size_t msglen);

/* Build the model a checkpoint describes with one branch (B, T) and load
 * its weights. Non-OK with a message (unreadable, malformed or mismatched
 * file); on failure m is freed. */
rc_status charlm_open(const char *path, int64_t B, int64_t T, bool explicit_states, charlm *m,
                      charlm_branch *br, char *msg, size_t msglen);

#endif
