/* An imported model (TF.js model.json or Keras 3 .keras) used as the
 * language model of `recur train/eval` (not a public header).
 *
 * The model must read int token ids (B, T) through its first input (an
 * Embedding with input_dim >= the corpus vocabulary) and return per-step
 * logits (B, T, V), V >= the vocabulary, as its first output; the loss is
 * the char LM's: mean sparse softmax cross-entropy over B*T tokens. An
 * imported model is built once, so it has one branch (B, T): training and
 * evaluation use the same nodes through different plans.
 *
 * Checkpoints record the model in their "config" metadata as
 * "imported vocab=V model=PATH" (PATH absolute); training resumes and
 * `recur eval` rebuilds the model from PATH (which must still exist) and
 * then loads the checkpoint's weights over the imported ones. */
#ifndef RECUR_CLI_LM_IMPORT_H
#define RECUR_CLI_LM_IMPORT_H

#include <recur.h>
#include <recur/model_io.h>

#include "charlm.h"

typedef struct lm_import {
    char *path;               /* absolute path of the model file */
    rc_io_model *io;
    rc_graph *g;
    rc_lm_branch br;          /* x, y, logits, xent, loss (no states) */
    int64_t vocab;            /* V of the logits */
    int nparams;
    rc_node **params;         /* Keras order */
} lm_import;

/* "imported " prefix: a checkpoint config of an imported model. */
bool lm_import_is_config(const char *cfg);
/* The config string (malloc'd; NULL on out of memory). */
char *lm_import_config_str(const lm_import *m);

/* Load and build the model at `path` for batches (B, T) and check it reads
 * token ids < vocab and returns logits over at least vocab values. Non-OK
 * with a message naming the shapes; on failure m is freed. */
rc_status lm_import_open(const char *path, int64_t B, int64_t T, int64_t vocab, lm_import *m, char *msg,
                         size_t msglen);
/* The model file named by a checkpoint config (malloc'd), or NULL with a
 * message. */
char *lm_import_config_path(const char *cfg, char *msg, size_t msglen);
/* Rebuild the model a checkpoint of an imported model names and load the
 * checkpoint's weights. */
rc_status lm_import_open_checkpoint(const char *ckpt, const char *cfg, int64_t B, int64_t T, int64_t vocab,
                                    lm_import *m, char *msg, size_t msglen);
void lm_import_free(lm_import *m);

/* The "config" metadata of a checkpoint (malloc'd) or NULL with a message. */
char *lm_checkpoint_config(const char *ckpt, char *msg, size_t msglen);

#endif
