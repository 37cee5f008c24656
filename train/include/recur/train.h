/* recur — training: losses with masks and sample weights, optimizers built
 * into the training plan, learning-rate schedules, gradient clipping, a
 * trainer that owns the plan (one run = one step), a fit loop, and what a
 * checkpoint holds (the file format, safetensors, is recur/checkpoint.h in
 * librecur-io). The math is in docs/training.md.
 *
 * One training step is one run of one plan built once: forward, gradients,
 * clipping, the fused optimizer updates and the step counter increment. The
 * updates are side-effect ops, which the planner runs after every other
 * node, so every update reads gradients (and a global norm) computed from
 * the parameters before any of them changed, and the next run's forward
 * sees the updated parameters. The step counter and the learning rate are
 * graph state (an int32 leaf incremented by the plan, and a schedule op
 * reading it), so nothing is rebuilt between steps.
 *
 * Errors: builders (the losses, rc_trainer_new) record them on the graph
 * (rc_graph_error) and return NULL; rc_trainer_step and rc_trainer_fit
 * return an rc_status and fill the caller's rc_error (docs/errors.md).
 * Nothing here prints, exits or aborts.
 */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include "recur/comm.h"
#include "recur/graph.h"
#include "recur/optim.h"
#include "recur/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- losses ---------------------------------------------------------------
 *
 * Each loss computes a per-element loss L of shape S, then reduces it to a
 * scalar the way Keras 3 does with reduction="sum_over_batch_size":
 *
 *   no mask:    loss = sum(L * w) / numel(L)
 *   with mask:  loss = sum(L * w * m) / (sum(m) * numel(L) / numel(m)),
 *               0 when sum(m) = 0 (Keras' divide_no_nan)
 *
 * (for a mask of L's full shape: the weighted mean over the valid elements).
 * w = sample_weight (1 when NULL), m = mask. Both may have the full shape S
 * or a leading prefix of it, e.g. (B) against S = (B, T): they are given
 * trailing axes of size 1 and broadcast: a (B) weight is per sample. (Keras
 * itself only squeezes/expands a trailing size-1 axis and otherwise
 * broadcasts from the right, so there pass (B, T) weights for a (B, T)
 * loss; the results agree for those.) Masks and weights are float32 and get
 * no gradient.
 *
 * Per-element losses (Keras 3 functions, which reduce over the last axis):
 *   mse:          S = pred shape without its last axis, L = mean_c (p - t)^2
 *   binary_xent:  S = logits shape without its last axis,
 *                 L = mean_c [max(x, 0) - x z + log(1 + e^-|x|)]
 *   categorical:  S = logits shape without its last (class) axis,
 *                 L = -sum_c labels_c log_softmax(x)_c
 *   sparse:       S = shape of the int32 ids = logits shape without its last
 *                 axis, L = logsumexp(x) - x[id]
 * A pred/logits of rank 1 gives S = () (a scalar; weights must be NULL or
 * scalars). */
typedef struct rc_loss_weights {
    rc_node *sample_weight; /* NULL or F32 of shape S or a prefix of S */
    rc_node *mask;          /* NULL or F32 0/1 of shape S or a prefix of S */
} rc_loss_weights;

/* w may be NULL (no weights, no mask). */
rc_node *rc_loss_mse(rc_graph *g, rc_node *pred, rc_node *target, const rc_loss_weights *w);
rc_node *rc_loss_binary_xent_logits(rc_graph *g, rc_node *logits, rc_node *targets,
                                    const rc_loss_weights *w);
rc_node *rc_loss_categorical_xent_logits(rc_graph *g, rc_node *logits, rc_node *labels,
                                         const rc_loss_weights *w);
rc_node *rc_loss_sparse_categorical_xent_logits(rc_graph *g, rc_node *logits, rc_node *ids,
                                                const rc_loss_weights *w);
/* The reduction alone, for a per-element loss built by hand. */
rc_node *rc_loss_reduce(rc_graph *g, rc_node *per_element, const rc_loss_weights *w);

/* --- trainer ----------------------------------------------------------------
 * Owns the training plan and the optimizer state (slot leaves such as m and
 * v, created on the graph as inputs named "optimizer/<param path>/<slot>",
 * the int32 step counter "optimizer/iterations" and the learning-rate node).
 * Borrows the graph, which must outlive it. */
typedef struct rc_trainer rc_trainer;

typedef struct rc_trainer_spec {
    rc_node *loss;                 /* float scalar */
    rc_node *const *params;        /* parameters to train; NULL = every
                                      parameter of the graph (creation order) */
    int nparams;
    rc_node *const *outputs;       /* extra plan outputs computed every step:
                                      stateful-RNN update nodes, metrics; may
                                      be NULL */
    int noutputs;
    rc_node *const *state;         /* extra leaves saved in and restored from
                                      checkpoints (stateful RNN states); may be
                                      NULL */
    int nstate;
    rc_optim_config optim;
} rc_trainer_spec;

/* Appends gradients, clipping, updates, the step increment and a finiteness
 * check of the loss to the graph and plans them. NULL on error (recorded on
 * the graph: bad config, non-scalar loss, duplicate parameter paths...). */
rc_trainer *rc_trainer_new(rc_graph *g, const rc_trainer_spec *spec);
void rc_trainer_free(rc_trainer *t);

/* One training step (one plan run). *loss (may be NULL) receives the loss
 * at the parameters before the update. Allocates nothing. On a non-OK
 * status (bad ids in the batch, non-finite loss or gradient norm) no
 * parameter, slot or counter has changed, and err (may be NULL) says why.
 * (rc_trainer_error is gone: the message is in err.) */
rc_status rc_trainer_step(rc_trainer *t, float *loss, rc_error *err);

/* Updates applied so far (Keras optimizer.iterations). */
int64_t rc_trainer_iterations(const rc_trainer *t);
/* Set the step counter (e.g. to restart a schedule); RC_ERR_ARG, with the
 * reason in err (may be NULL), if < 0 or beyond the int32 counter. */
rc_status rc_trainer_set_iterations(rc_trainer *t, int64_t it, rc_error *err);
/* Learning rate the next step will use (rc_lr_at at the current count). */
double rc_trainer_lr(const rc_trainer *t);
/* Global gradient norm (before clipping) of the last step, when
 * global_clipnorm is set; NaN otherwise. */
double rc_trainer_grad_norm(const rc_trainer *t);
/* Value of an extra output after the last step (owned by the trainer,
 * valid until the next step); NULL for other nodes. */
const float *rc_trainer_value(const rc_trainer *t, const rc_node *out);
const rc_optim_config *rc_trainer_config(const rc_trainer *t);
int rc_trainer_param_count(const rc_trainer *t);
rc_node *rc_trainer_param(const rc_trainer *t, int i);
/* Zero every slot and the step counter (a fresh optimizer, same params). */
void rc_trainer_reset_optimizer(rc_trainer *t);

/* --- data parallelism (docs/distributed.md) --------------------------------
 * rc_trainer_set_comm makes t one of comm's `size` ranks training one
 * model. Every rank builds the same graph for its own rows of each global
 * batch (batch / size rows; a mean loss over them) and calls
 * rc_trainer_step once per global batch. Then:
 *
 *   - at this call, rank 0's parameters, optimizer slots, step counter and
 *     state leaves are broadcast to every rank, after checking that every
 *     rank has the same parameters and state (paths, shapes) and optimizer
 *     slots: RC_ERR_ARG on every rank otherwise ("ranks disagree on ...");
 *   - in each step, each weight gradient is summed over the ranks as soon
 *     as the backward pass has finished it (buckets of >= 1 MiB, non-
 *     blocking allreduce, overlapped with the rest of the backward pass),
 *     then scaled once by 1/size: the mean of the ranks' mean-loss
 *     gradients is the gradient of the mean loss over the global batch;
 *     clipping by global norm, the optimizer and the schedules read the
 *     reduced gradient, so every rank applies the same update as one
 *     process would;
 *   - the loss a step returns is the mean over ranks (the global batch's).
 *
 * A collective call, so every rank calls it, in the same order as every
 * other collective. comm NULL or of size 1: one process again. A failed
 * step (bad ids, a non-finite loss, a communication error) leaves the
 * ranks out of step: end the job then (rc_comm_abort). comm is borrowed
 * and must outlive t (or the next rc_trainer_set_comm). */
rc_status rc_trainer_set_comm(rc_trainer *t, rc_comm *comm, rc_error *err);
/* The communicator in use (rc_comm_single() when none). */
rc_comm *rc_trainer_comm(const rc_trainer *t);
/* Since rc_trainer_set_comm: seconds spent waiting for reductions (the
 * part of the allreduce that backward did not hide), seconds in steps, and
 * steps. Any may be NULL. */
void rc_trainer_comm_stats(const rc_trainer *t, double *wait_s, double *step_s, int64_t *steps);

/* --- fit loop ------------------------------------------------------------- */
typedef struct rc_fit_progress {
    int64_t epoch;       /* 0-based */
    int64_t batch;       /* 0-based within the epoch */
    int64_t iterations;  /* updates applied so far (after this step) */
    double loss;         /* this step's loss */
    double epoch_loss;   /* mean loss of the epoch's steps so far */
    double val_loss;     /* on_epoch: validation loss, NaN if none */
    double lr;           /* learning rate this step used */
} rc_fit_progress;

typedef struct rc_fit_config {
    int64_t epochs;           /* run epochs initial_epoch .. epochs-1 */
    int64_t initial_epoch;    /* >= 0, to resume */
    int64_t steps_per_epoch;  /* >= 1 */
    void *user;
    /* Required: write the inputs of batch `batch` of `epoch` into the
     * graph's input leaves. A non-OK return stops the fit with it; a
     * message the callback puts in err (cleared before the call; fill it
     * with rc_error_set) becomes the fit's message. */
    rc_status (*fill_batch)(void *user, int64_t epoch, int64_t batch, rc_error *err);
    /* Optional: called after each epoch; set *val_loss. Errors as above. */
    rc_status (*validate)(void *user, int64_t epoch, double *val_loss, rc_error *err);
    /* Optional: after every step / epoch; return false to stop early
     * (rc_trainer_fit then returns RC_OK). */
    bool (*on_step)(void *user, const rc_fit_progress *p);
    bool (*on_epoch)(void *user, const rc_fit_progress *p);
} rc_fit_config;

/* Per-epoch history written by rc_trainer_fit: arrays of `cap` entries owned
 * by the caller (any may be NULL); `n` = epochs run in this call, the last
 * one partial (and without validation) when on_step stopped the fit. */
typedef struct rc_fit_history {
    double *loss;     /* mean training loss per epoch */
    double *val_loss; /* NaN when no validate callback */
    int64_t cap, n;
} rc_fit_history;

/* Runs the loop; errors from callbacks or steps are returned with the
 * epoch and batch and the message in err (may be NULL). hist may be NULL. */
rc_status rc_trainer_fit(rc_trainer *t, const rc_fit_config *cfg, rc_fit_history *hist, rc_error *err);

/* --- what a checkpoint holds -----------------------------------------------
 * The leaves a checkpoint of t holds, in file order: the trained
 * parameters, each parameter's optimizer slots (slot k of parameter i is
 * named "optimizer/<param path>/<slot>"), the step counter
 * "optimizer/iterations" (I32 scalar) and the spec's state leaves. Writes
 * up to max nodes (owned by the graph) and returns the count. The file
 * format is the caller's (recur/checkpoint.h writes safetensors). */
int rc_trainer_leaves(const rc_trainer *t, rc_node **out, int max);
/* The graph the trainer borrows, and its step counter leaf. */
rc_graph *rc_trainer_graph(const rc_trainer *t);
rc_node *rc_trainer_counter(const rc_trainer *t);

#ifdef __cplusplus
}
#endif
#endif

