/* The character-level language model of `recur train/generate/eval` (not a
 * public header):
 *
 *   ids (B, T) int32 -> Embedding(V, E) -> RNN(U, return_sequences) x layers
 *                    -> Dense(V) logits (B, T, V)
 *   loss = mean over B*T of sparse softmax cross-entropy (nats per token)
 *
 * The model is the library's (rc_lm_model_new, recur/lm.h), an ordinary
 * Sequential rc_model; its branches, evaluation and sampling are the
 * library's rc_lm_* functions, which imported models (lm_import.h) go
 * through too. This file holds what the CLI adds: the checkpoint's
 * "config" description, the seed and init kind, the corpus by name.
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

/* The built-in model: rc_lm_model_new's model on its own graph, plus what
 * the checkpoint config says about its start (seed, init). */
typedef struct charlm {
    charlm_config cfg;
    uint64_t seed;            /* initialisation seed */
    rc_graph *g;
    rc_model *model;          /* owns the layers */
    int nparams;
    rc_node **params;         /* after the first branch: rc_model_params */
} charlm;

typedef rc_lm_branch charlm_branch;

const char *charlm_cell_name(charlm_cell c);
bool charlm_cell_parse(const char *s, charlm_cell *out);
const char *charlm_init_name(charlm_init i);
bool charlm_init_parse(const char *s, charlm_init *out);

/* Create the model (graph and layers); weights are built and initialised
 * from `seed` by the first branch. false on out of memory. */
bool charlm_new(charlm *m, const charlm_config *cfg, uint64_t seed);
void charlm_free(charlm *m);
/* Apply the model to new (B, T) inputs (rc_lm_branch_new); the first
 * branch builds the weights with Keras' initializers from `seed` and then,
 * for init=torch, redraws them (rc_lm_init_torch) from the same generator.
 * RC_OK or the graph's status (message: rc_graph_error). */
rc_status charlm_branch_new(charlm *m, int64_t B, int64_t T, bool explicit_states, charlm_branch *br);


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
 * file); on failure m is freed. Checkpoints written before the model was
 * an rc_model (weights "lstm/..." rather than "charlm/lstm/...") load too. */
rc_status charlm_open(const char *path, int64_t B, int64_t T, bool explicit_states, charlm *m,
                      charlm_branch *br, char *msg, size_t msglen);

/* A checkpoint of the built-in model written before its weights carried
 * the model's scope ("lstm/lstm_cell/kernel", now
 * "charlm/lstm/lstm_cell/kernel"; m built): a temporary copy under today's
 * names for rc_trainer_load (malloc'd path; remove and free it), or NULL
 * when the file needs none or cannot be read (the ordinary load reports
 * that). */
char *charlm_legacy_copy(const char *path, const charlm *m, char *msg, size_t msglen);

#endif
