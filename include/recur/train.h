/* recur — training: losses with masks and sample weights, optimizers built
 * into the training plan, learning-rate schedules, gradient clipping, a
 * trainer that owns the plan (one run = one step), a fit loop, and
 * checkpoints in safetensors. The math is in docs/training.md.
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
 * Errors: builders record them on the graph (rc_graph_error) and return
 * NULL; runners and file functions return rc_status with the message in
 * rc_trainer_error / the caller's err buffer. Nothing here prints, exits or
 * aborts.
 */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include "recur/graph.h"
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

/* --- learning-rate schedules ---------------------------------------------
 * Keras 3 semantics, evaluated at the step index s = number of updates
 * already applied (0 for the first step), as Keras evaluates
 * learning_rate(iterations):
 *   constant:     lr = initial
 *   exponential:  lr = initial * decay_rate ^ (s / decay_steps)
 *                 (s / decay_steps floored when staircase)
 *   cosine:       during warmup (s < warmup_steps, warmup_target set):
 *                   lr = initial + (warmup_target - initial) * s / warmup_steps
 *                 then with d = min(s - warmup_steps, decay_steps),
 *                   top = warmup_steps ? warmup_target : initial,
 *                   lr = top * ((1 - alpha) * 0.5 (1 + cos(pi d / decay_steps)) + alpha)
 */
typedef enum rc_lr_kind { RC_LR_CONSTANT = 0, RC_LR_EXPONENTIAL, RC_LR_COSINE } rc_lr_kind;

typedef struct rc_lr_schedule {
    rc_lr_kind kind;
    double initial;        /* >= 0 (0 is useful only as a warmup start) */
    int64_t decay_steps;   /* exponential, cosine: >= 1 */
    double decay_rate;     /* exponential: > 0 */
    bool staircase;        /* exponential */
    double alpha;          /* cosine: final lr as a fraction of the top, [0, 1] */
    int64_t warmup_steps;  /* cosine: 0 = no warmup */
    double warmup_target;  /* cosine: lr reached at the end of the warmup */
} rc_lr_schedule;

/* The schedule at step s in double precision (the plan's schedule op
 * computes exactly this and rounds it to float once). NaN for an invalid
 * schedule. */
double rc_lr_at(const rc_lr_schedule *s, int64_t step);

/* --- optimizers ------------------------------------------------------------
 * Fused in-place updates, one pass over each parameter's memory; g is the
 * gradient after clipping, t = s + 1 the 1-based step, lr the schedule at s.
 *   SGD (Keras form):  v = momentum v - lr g;
 *                      p += nesterov ? momentum v - lr g : v   (momentum > 0)
 *                      p -= lr g                                (momentum = 0)
 *   Adam:   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
 *     RC_EPS_KERAS: p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 *     RC_EPS_TORCH: p -= lr * m_hat / (sqrt(v_hat) + eps),
 *                   m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
 *     (Keras' eps sits next to sqrt(v), i.e. it is eps / sqrt(1 - b2^t)
 *     relative to sqrt(v_hat): larger early on.)
 *   RMSprop: v = rho v + (1 - rho) g^2;  centered: a = rho a + (1 - rho) g,
 *            den = v - a^2 (else den = v);
 *     RC_EPS_KERAS: inc = lr g / sqrt(den + eps)
 *     RC_EPS_TORCH: inc = lr g / (sqrt(den) + eps)
 *     momentum > 0: b = momentum b + inc, p -= b;  else p -= inc
 *   Adagrad: acc += g^2  (acc starts at initial_accumulator)
 *     RC_EPS_KERAS: p -= lr g / sqrt(acc + eps)
 *     RC_EPS_TORCH: p -= lr g / (sqrt(acc) + eps)
 * Clipping (Keras 3; at most one of the three may be set, else RC_ERR_ARG):
 *   clipnorm c:        each g *= c / max(||g||, c)           (per parameter)
 *   global_clipnorm c: every g *= c / max(sqrt(sum_i ||g_i||^2), c)
 *   clipvalue c:       each element clipped to [-c, c]
 * A non-finite gradient norm (clipnorm, global_clipnorm) or loss stops the
 * step before any parameter changes (rc_trainer_step returns
 * RC_ERR_NUMERIC). */
typedef enum rc_optim_kind { RC_OPT_SGD = 0, RC_OPT_ADAM, RC_OPT_RMSPROP, RC_OPT_ADAGRAD } rc_optim_kind;
typedef enum rc_eps_style { RC_EPS_KERAS = 0, RC_EPS_TORCH } rc_eps_style;

typedef struct rc_optim_config {
    rc_optim_kind kind;
    rc_lr_schedule lr;
    double momentum;            /* SGD, RMSprop; [0, 1) */
    bool nesterov;              /* SGD */
    double beta1, beta2;        /* Adam; [0, 1) */
    double rho;                 /* RMSprop; [0, 1) */
    bool centered;              /* RMSprop */
    double initial_accumulator; /* Adagrad; >= 0 */
    double epsilon;             /* Adam, RMSprop, Adagrad; >= 0 */
    rc_eps_style eps_style;
    double clipnorm;            /* 0 = off */
    double global_clipnorm;     /* 0 = off */
    double clipvalue;           /* 0 = off */
} rc_optim_config;

/* Keras 3 defaults for `kind`: SGD lr 0.01, momentum 0; Adam lr 0.001,
 * beta1 0.9, beta2 0.999, epsilon 1e-7; RMSprop lr 0.001, rho 0.9,
 * epsilon 1e-7; Adagrad lr 0.001, initial_accumulator 0.1, epsilon 1e-7.
 * Constant schedule, Keras epsilon placement, no clipping. */
rc_optim_config rc_optim_defaults(rc_optim_kind kind);
/* "sgd", "adam", "rmsprop", "adagrad"; static strings. */
const char *rc_optim_name(rc_optim_kind kind);
/* Inverse of rc_optim_name; false for an unknown name. */
bool rc_optim_from_name(const char *name, rc_optim_kind *kind);
/* RC_OK, or RC_ERR_ARG with a message naming the bad field in err. */
rc_status rc_optim_validate(const rc_optim_config *cfg, char *err, size_t errlen);
/* The config as compact JSON (the "optimizer" metadata of checkpoints):
 * {"kind": "adam", "learning_rate": {"kind": "cosine", "initial": ...},
 *  "beta1": ..., "epsilon_style": "keras"|"torch", "clipnorm": ..., ...}.
 * Free with rc_free; NULL on out of memory. */
char *rc_optim_to_json(const rc_optim_config *cfg);
/* Parse such JSON: "kind" is required, absent fields take that kind's
 * rc_optim_defaults, unknown fields and wrong types are errors; the result
 * is validated. RC_ERR_FORMAT / RC_ERR_ARG with the message in err. */
rc_status rc_optim_from_json(const char *json, rc_optim_config *out, char *err, size_t errlen);

/* --- training ops (what rc_trainer builds; usable directly) ----------------- */
/* F32 scalar: rc_lr_at(s, step) with step an I32 scalar leaf. */
rc_node *rc_lr_schedule_node(rc_graph *g, const rc_lr_schedule *s, rc_node *step);
/* F32 scalar sqrt(sum_k ||xs[k]||^2), accumulated in double; a non-finite
 * result fails the run (RC_ERR_NUMERIC). No gradient. */
rc_node *rc_global_norm(rc_graph *g, rc_node *const *xs, int n);
/* Copy of x; a non-finite element fails the run (RC_ERR_NUMERIC). */
rc_node *rc_check_finite(rc_graph *g, rc_node *x);
/* Side effect: counter (I32 scalar leaf) += 1. Create it after the updates
 * that read the counter: side effects run in creation order. */
rc_node *rc_step_increment(rc_graph *g, rc_node *counter);
/* Number and names of the slots an optimizer keeps per parameter
 * ("m", "v", "momentum", "velocity", "average_gradient", "accumulator"). */
int rc_optim_slot_count(const rc_optim_config *cfg);
const char *rc_optim_slot_name(const rc_optim_config *cfg, int k);
/* Side effect: the fused update of `param` by `grad` (same shape) with
 * learning rate lr (F32 scalar node), step = updates so far (I32 scalar
 * node), slots[rc_optim_slot_count] leaves of the param's shape, and, when
 * cfg sets clipnorm or global_clipnorm, `norm` (F32 scalar node: the
 * gradient's own norm, or the global norm). cfg->lr is not used here. */
rc_node *rc_optim_update(rc_graph *g, const rc_optim_config *cfg, rc_node *param, rc_node *grad, rc_node *lr,
                         rc_node *step, rc_node *const *slots, rc_node *norm);

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
 * parameter, slot or counter has changed; the message is in
 * rc_trainer_error. */
rc_status rc_trainer_step(rc_trainer *t, float *loss);
const char *rc_trainer_error(const rc_trainer *t);

/* Updates applied so far (Keras optimizer.iterations). */
int64_t rc_trainer_iterations(const rc_trainer *t);
/* Set the step counter (e.g. to restart a schedule); RC_ERR_ARG if < 0. */
rc_status rc_trainer_set_iterations(rc_trainer *t, int64_t it);
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
     * graph's input leaves. A non-OK return stops the fit with it. */
    rc_status (*fill_batch)(void *user, int64_t epoch, int64_t batch);
    /* Optional: called after each epoch; set *val_loss. */
    rc_status (*validate)(void *user, int64_t epoch, double *val_loss);
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
 * message in rc_trainer_error. hist may be NULL. */
rc_status rc_trainer_fit(rc_trainer *t, const rc_fit_config *cfg, rc_fit_history *hist);

/* --- checkpoints (safetensors) --------------------------------------------
 * File layout (https://huggingface.co/docs/safetensors): 8-byte
 * little-endian header length N, N bytes of JSON header, then the tensor
 * bytes (little-endian, row-major). Header entries: "<name>": {"dtype":
 * "F32"|"I32", "shape": [...], "data_offsets": [begin, end]} relative to
 * the data section, plus "__metadata__" (string -> string).
 *
 * A trainer checkpoint holds every trained parameter under its node path,
 * every optimizer slot ("optimizer/<param path>/<slot>"), the step counter
 * ("optimizer/iterations", I32 scalar) and the spec's state leaves, with
 * metadata: "format" = "recur-checkpoint", "format_version" = "1",
 * "optimizer" (JSON of the optimizer config), "rng" (64 hex digits of the
 * caller's rc_rng, if given), "config" (the caller's model config string,
 * if given), "iterations" (decimal, informative).
 *
 * Writing is atomic: a temporary file in the same directory, written,
 * fsync'd, renamed over the target, then the directory fsync'd. On any
 * failure the temporary file is removed and an existing file at `path` is
 * left untouched. */
rc_status rc_trainer_save(const rc_trainer *t, const char *path, const char *model_config,
                          const rc_rng *rng, char *err, size_t errlen);
/* Restores everything saved by rc_trainer_save into a trainer built the
 * same way (same parameter paths and shapes, same optimizer kind). Every
 * tensor must be present with the right dtype and shape and no tensor may
 * be left over; on any error nothing in the trainer is changed. rng (may be
 * NULL) receives the saved RNG state (RC_ERR_FORMAT if asked for and
 * absent); *model_config (may be NULL) receives a copy of the "config"
 * string, or NULL if absent (free with rc_free). */
rc_status rc_trainer_load(rc_trainer *t, const char *path, char **model_config, rc_rng *rng,
                          char *err, size_t errlen);

/* Lower level: a safetensors file in memory. */
typedef struct rc_safetensors rc_safetensors;

typedef struct rc_st_tensor {
    const char *name;
    rc_dtype dtype;
    rc_shape shape;
    const void *data; /* numel * dtype size bytes */
} rc_st_tensor;

/* Write n tensors and nmeta metadata pairs (meta[2k] key, meta[2k+1]
 * value) atomically as above. Names must be unique and non-empty. */
rc_status rc_safetensors_write(const char *path, const rc_st_tensor *tensors, int n,
                               const char *const *meta, int nmeta, char *err, size_t errlen);
/* Read and validate a whole file: header length within the file and at
 * most 100 MB, valid JSON object, known dtypes (F32, I32), shapes of rank
 * <= 4 with element counts that do not overflow, data_offsets in bounds,
 * matching the shape's byte size, not overlapping and covering the data
 * section exactly, metadata values strings. Errors name the file, the
 * tensor and the problem. Free with rc_safetensors_free. */
rc_status rc_safetensors_read(const char *path, rc_safetensors **out, char *err, size_t errlen);
void rc_safetensors_free(rc_safetensors *st);
int rc_safetensors_count(const rc_safetensors *st);
/* Tensor i (in file order of data offsets); data owned by st. */
const rc_st_tensor *rc_safetensors_tensor(const rc_safetensors *st, int i);
/* Tensor by name, or NULL. */
const rc_st_tensor *rc_safetensors_find(const rc_safetensors *st, const char *name);
/* Metadata value or NULL; owned by st. */
const char *rc_safetensors_meta(const rc_safetensors *st, const char *key);

/* Load only the parameters (by node path) from a checkpoint or any
 * safetensors file into params[0..n): for inference (recur generate).
 * Extra tensors in the file are ignored; a missing parameter or a
 * dtype/shape mismatch is an error and leaves every parameter unchanged. */
rc_status rc_load_params(const char *path, rc_node *const *params, int n, char *err, size_t errlen);
/* Save parameters (by node path) plus metadata pairs, atomically. */
rc_status rc_save_params(const char *path, rc_node *const *params, int n, const char *const *meta,
                         int nmeta, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
