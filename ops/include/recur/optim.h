/* recur — optimizers and learning-rate schedules: their configuration and
 * the training ops that apply them (fused in-place parameter updates,
 * global norms, the step counter). rc_trainer (recur/train.h) builds these
 * into its plan; they are usable directly.
 *
 * Errors: builders record them on the graph (rc_graph_error) and return
 * NULL; rc_optim_validate returns a status and fills an rc_error.
 */
#ifndef RECUR_OPTIM_H
#define RECUR_OPTIM_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

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
/* RC_OK, or RC_ERR_ARG with a message naming the bad field in err (may be
 * NULL). */
rc_status rc_optim_validate(const rc_optim_config *cfg, rc_error *err);

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


#ifdef __cplusplus
}
#endif
#endif
