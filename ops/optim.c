/* Training ops: the fused optimizer updates (side effects, one pass over a
 * parameter's memory each), the gradient norm used for clipping, the
 * learning-rate schedule read from the step counter, the step increment
 * and a finiteness guard. The formulas are in ops/include/recur/optim.h and
 * docs/training.md.
 *
 * Ordering: the planner runs side-effect ops after every other node, in id
 * order. So every update reads gradients and norms computed from the
 * parameters before any update, and the updates read the step counter
 * before step_increment (created last by the trainer) advances it. A
 * failing kernel stops the run, so when global_norm or check_finite reject
 * a value no side effect has run yet. */
#include <math.h>
#include <string.h>

#include "recur/op.h"
#include "recur/ops.h"
#include "recur/optim.h"

enum {
    OPTF_NESTEROV = 1,  /* SGD */
    OPTF_TORCH_EPS = 2, /* epsilon outside the square root (PyTorch) */
    OPTF_CENTERED = 4,  /* RMSprop */
    OPTF_NORM = 8,      /* last input is a norm to clip by: g *= c / max(norm, c) */
    OPTF_CLIPVALUE = 16 /* clip each element to [-c, c] */
};

/* --- learning-rate schedule --------------------------------------------------- */

double rc_lr_at(const rc_lr_schedule *s, int64_t step) {
    if (!s || !(s->initial >= 0) || !isfinite(s->initial) || step < 0) return NAN;
    double st = (double)step;
    switch (s->kind) {
    case RC_LR_CONSTANT:
        return s->initial;
    case RC_LR_EXPONENTIAL: {
        if (s->decay_steps < 1 || !(s->decay_rate > 0)) return NAN;
        double p = st / (double)s->decay_steps;
        if (s->staircase) p = floor(p);
        return s->initial * pow(s->decay_rate, p);
    }
    case RC_LR_COSINE: {
        if (s->decay_steps < 1 || !(s->alpha >= 0 && s->alpha <= 1) || s->warmup_steps < 0) return NAN;
        double top = s->initial;
        if (s->warmup_steps > 0) {
            if (!(s->warmup_target > 0)) return NAN;
            if (step < s->warmup_steps)
                return s->initial + (s->warmup_target - s->initial) * st / (double)s->warmup_steps;
            top = s->warmup_target;
            st -= (double)s->warmup_steps;
        }
        double d = fmin(st, (double)s->decay_steps) / (double)s->decay_steps;
        double cosine = 0.5 * (1.0 + cos(M_PI * d));
        return top * ((1.0 - s->alpha) * cosine + s->alpha);
    }
    }
    return NAN;
}

/* attr.i: kind, decay_steps, staircase, warmup_steps;
 * attr.f: initial, decay_rate, alpha, warmup_target. */
static rc_lr_schedule attr_schedule(const rc_attr *a) {
    return (rc_lr_schedule){.kind = (rc_lr_kind)a->i[0], .decay_steps = a->i[1], .staircase = a->i[2] != 0,
                            .warmup_steps = a->i[3], .initial = a->f[0], .decay_rate = a->f[1],
                            .alpha = a->f[2], .warmup_target = a->f[3]};
}

static bool scalar_input(rc_graph *g, rc_node *n, int k, rc_dtype dt, const char *what) {
    if (!rc_require_dtype(g, n, k, dt)) return false;
    if (rc_shape_numel(n->in[k]->shape) != 1) {
        char s[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "%s must be a scalar, got %s", what,
                            rc_shape_str(n->in[k]->shape, s, sizeof s));
    }
    return true;
}

static bool lr_infer(rc_graph *g, rc_node *n) {
    if (!scalar_input(g, n, 0, RC_I32, "step counter")) return false;
    rc_lr_schedule s = attr_schedule(&n->attr);
    if (isnan(rc_lr_at(&s, 0)))
        return rc_node_fail(g, n, RC_ERR_ARG, "invalid learning-rate schedule (kind %d, initial %g)", (int)s.kind,
                            s.initial);
    n->dtype = RC_F32;
    n->shape = RC_SCALAR;
    return true;
}

#define LR_KERNEL(name, T)                                                             \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        rc_lr_schedule sc = attr_schedule(&n->attr);                                   \
        *(T *)out = (T)rc_lr_at(&sc, *(const int32_t *)in[0]);                         \
        return RC_OK;                                                                  \
    }
LR_KERNEL(lr_fwd, float)
LR_KERNEL(lr_ref, double)

static void lr_label(const rc_node *n, char *buf, size_t len) {
    static const char *kinds[] = {"constant", "exponential", "cosine"};
    int k = (int)n->attr.i[0];
    snprintf(buf, len, "lr %s %g", k >= 0 && k < 3 ? kinds[k] : "?", n->attr.f[0]);
}

const rc_op rc_op_lr_schedule = {.name = "lr_schedule", .arity = 1, .infer = lr_infer, .forward = lr_fwd,
                                 .reference = lr_ref, .label = lr_label};

rc_node *rc_lr_schedule_node(rc_graph *g, const rc_lr_schedule *s, rc_node *step) {
    if (!s) return rc_graph_fail(g, RC_ERR_ARG, "rc_lr_schedule_node: schedule is NULL");
    rc_attr a = {.i = {s->kind, s->decay_steps, s->staircase, s->warmup_steps},
                 .f = {s->initial, s->decay_rate, s->alpha, s->warmup_target}};
    return rc_node_make(g, &rc_op_lr_schedule, &step, 1, &a, "learning_rate");
}

/* --- global norm ---------------------------------------------------------------- */

static bool norm_infer(rc_graph *g, rc_node *n) {
    for (int k = 0; k < n->nin; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    n->shape = RC_SCALAR;
    return true;
}

/* sqrt(sum_k sum_i x_k[i]^2), accumulated in double. A non-finite result
 * fails the run (RC_ERR_NUMERIC) so no update sees it. */
#define NORM_KERNEL(name, T)                                                           \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        double acc = 0;                                                                \
        for (int k = 0; k < n->nin; k++) {                                             \
            const T *x = in[k];                                                        \
            for (int64_t i = 0, N = rc_shape_numel(n->in[k]->shape); i < N; i++)       \
                acc += (double)x[i] * (double)x[i];                                    \
        }                                                                              \
        double r = sqrt(acc);                                                          \
        *(T *)out = (T)r;                                                              \
        return isfinite(r) ? RC_OK : RC_ERR_NUMERIC;                                   \
    }
NORM_KERNEL(norm_fwd, float)
NORM_KERNEL(norm_ref, double)

const rc_op rc_op_global_norm = {.name = "global_norm", .arity = -1, .infer = norm_infer, .forward = norm_fwd,
                                 .reference = norm_ref};

rc_node *rc_global_norm(rc_graph *g, rc_node *const *xs, int n) {
    if (n < 1 || !xs) return rc_graph_fail(g, RC_ERR_ARG, "rc_global_norm: no inputs");
    return rc_node_make(g, &rc_op_global_norm, xs, n, NULL, "global_norm");
}

/* --- finiteness guard ------------------------------------------------------------- */

static bool finite_infer(rc_graph *g, rc_node *n) {
    if (!rc_require_dtype(g, n, 0, RC_F32)) return false;
    n->shape = n->in[0]->shape;
    return true;
}

#define FINITE_KERNEL(name, T)                                                         \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        const T *x = in[0];                                                            \
        T *y = out;                                                                    \
        rc_status st = RC_OK;                                                          \
        for (int64_t i = 0, N = rc_shape_numel(n->shape); i < N; i++) {                \
            y[i] = x[i];                                                               \
            if (!isfinite(x[i])) st = RC_ERR_NUMERIC;                                  \
        }                                                                              \
        return st;                                                                     \
    }
FINITE_KERNEL(finite_fwd, float)
FINITE_KERNEL(finite_ref, double)

const rc_op rc_op_check_finite = {.name = "check_finite", .arity = 1, .infer = finite_infer,
                                  .forward = finite_fwd, .reference = finite_ref};

rc_node *rc_check_finite(rc_graph *g, rc_node *x) {
    return rc_node_make(g, &rc_op_check_finite, &x, 1, NULL, "check_finite");
}

/* --- step increment ------------------------------------------------------------- */

static bool inc_infer(rc_graph *g, rc_node *n) {
    if (!scalar_input(g, n, 0, RC_I32, "step counter")) return false;
    if (!(n->in[0]->op->flags & RC_OPF_LEAF) || !n->in[0]->value)
        return rc_node_fail(g, n, RC_ERR_ARG, "counter '%s' is not an input leaf", n->in[0]->name);
    n->shape = RC_SCALAR;
    return true;
}

#define INC_KERNEL(name, T)                                                            \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        int32_t *c = in[0];                                                            \
        if (*c == INT32_MAX) return RC_ERR_ARG;                                        \
        (*c)++;                                                                        \
        *(T *)out = 0;                                                                 \
        return RC_OK;                                                                  \
    }
INC_KERNEL(inc_fwd, float)
INC_KERNEL(inc_ref, double)

const rc_op rc_op_step_increment = {.name = "step_increment", .arity = 1, .flags = RC_OPF_SIDE_EFFECT,
                                    .infer = inc_infer, .forward = inc_fwd, .reference = inc_ref};

rc_node *rc_step_increment(rc_graph *g, rc_node *counter) {
    return rc_node_make(g, &rc_op_step_increment, &counter, 1, NULL, "step_increment");
}

/* --- fused optimizer updates --------------------------------------------------------
 * Inputs: param, grad, lr (F32 scalar), step (I32 scalar, updates so far),
 * the optimizer's slots (leaves of the param's shape), then a norm (F32
 * scalar) when OPTF_NORM is set. attr.i[0] = flags, attr.i[1] = slot count;
 * attr.f = hyperparameters (per kind below), attr.f[3] = clip threshold. */

static bool upd_infer(rc_graph *g, rc_node *n) {
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    int nslots = (int)n->attr.i[1];
    bool has_norm = (n->attr.i[0] & OPTF_NORM) != 0;
    if (n->nin != 4 + nslots + has_norm)
        return rc_node_fail(g, n, RC_ERR_ARG, "expected %d inputs, got %d", 4 + nslots + has_norm, n->nin);
    rc_node *p = n->in[0];
    if (!p->is_param)
        return rc_node_fail(g, n, RC_ERR_ARG, "input 0 '%s' (%s) is not a parameter", p->name, p->op->name);
    for (int k = 0; k < n->nin; k++)
        if (k != 3 && !rc_require_dtype(g, n, k, RC_F32)) return false;
    if (!rc_shape_eq(p->shape, n->in[1]->shape))
        return rc_node_fail(g, n, RC_ERR_SHAPE, "gradient %s does not match parameter '%s' %s",
                            rc_shape_str(n->in[1]->shape, a, sizeof a), p->name, rc_shape_str(p->shape, b, sizeof b));
    if (!scalar_input(g, n, 2, RC_F32, "learning rate") || !scalar_input(g, n, 3, RC_I32, "step counter"))
        return false;
    if (has_norm && !scalar_input(g, n, n->nin - 1, RC_F32, "gradient norm")) return false;
    for (int k = 4; k < 4 + nslots; k++) {
        rc_node *s = n->in[k];
        if (!(s->op->flags & RC_OPF_LEAF) || !s->value)
            return rc_node_fail(g, n, RC_ERR_ARG, "slot '%s' (%s) is not a leaf", s->name, s->op->name);
        if (!rc_shape_eq(s->shape, p->shape))
            return rc_node_fail(g, n, RC_ERR_SHAPE, "slot '%s' %s does not match parameter '%s' %s", s->name,
                                rc_shape_str(s->shape, a, sizeof a), p->name, rc_shape_str(p->shape, b, sizeof b));
    }
    n->shape = RC_SCALAR;
    return true;
}

/* Shared prologue: pointers, scalars, and the clipping of g[i] into `gi`. */
#define UPD_BEGIN(T)                                                                   \
    T *p = in[0];                                                                      \
    const T *gr = in[1];                                                               \
    const double lr = (double)*(const T *)in[2];                                       \
    const double t = (double)*(const int32_t *)in[3] + 1.0;                            \
    const unsigned flags = (unsigned)n->attr.i[0];                                     \
    const double c = n->attr.f[3];                                                     \
    double scale_d = 1.0;                                                              \
    if (flags & OPTF_NORM) {                                                           \
        double nrm = (double)*(const T *)in[n->nin - 1];                               \
        scale_d = c / fmax(nrm, c);                                                    \
    }                                                                                  \
    const T scale = (T)scale_d, cv = (T)c;                                             \
    const bool clipv = (flags & OPTF_CLIPVALUE) != 0;                                  \
    const int64_t N = rc_shape_numel(n->in[0]->shape);                                 \
    (void)t;                                                                           \
    *(T *)out = 0

/* Comparisons rather than fmin/fmax so a NaN gradient stays NaN. */
#define UPD_GRAD(T, i)                                                                 \
    T gi = gr[i] * scale;                                                              \
    if (clipv) gi = gi > cv ? cv : (gi < -cv ? -cv : gi)

/* SGD. f[0] = momentum. Slot v (when momentum > 0). */
#define SGD_KERNEL(name, T, SQRT)                                                      \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        UPD_BEGIN(T);                                                                  \
        const T l = (T)lr, mu = (T)n->attr.f[0];                                       \
        if (n->attr.i[1] == 0) {                                                       \
            for (int64_t i = 0; i < N; i++) {                                          \
                UPD_GRAD(T, i);                                                        \
                p[i] -= l * gi;                                                        \
            }                                                                          \
            return RC_OK;                                                              \
        }                                                                              \
        T *v = in[4];                                                                  \
        const bool nest = (flags & OPTF_NESTEROV) != 0;                                \
        if (nest)                                                                      \
            for (int64_t i = 0; i < N; i++) {                                          \
                UPD_GRAD(T, i);                                                        \
                v[i] = mu * v[i] - l * gi;                                             \
                p[i] += mu * v[i] - l * gi;                                            \
            }                                                                          \
        else                                                                           \
            for (int64_t i = 0; i < N; i++) {                                          \
                UPD_GRAD(T, i);                                                        \
                v[i] = mu * v[i] - l * gi;                                             \
                p[i] += v[i];                                                          \
            }                                                                          \
        return RC_OK;                                                                  \
    }
SGD_KERNEL(sgd_fwd, float, sqrtf)
SGD_KERNEL(sgd_ref, double, sqrt)

/* Adam. f[0] = beta1, f[1] = beta2, f[2] = epsilon. Slots m, v. The bias
 * corrections are computed once per step in double. */
#define ADAM_KERNEL(name, T, SQRT)                                                     \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        UPD_BEGIN(T);                                                                  \
        T *m = in[4], *v = in[5];                                                      \
        const double b1 = n->attr.f[0], b2 = n->attr.f[1];                             \
        const T ob1 = (T)(1.0 - b1), ob2 = (T)(1.0 - b2), eps = (T)n->attr.f[2];       \
        const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);                   \
        if (flags & OPTF_TORCH_EPS) {                                                  \
            const T step = (T)(lr / bc1), rbc2 = (T)(1.0 / sqrt(bc2));                 \
            for (int64_t i = 0; i < N; i++) {                                          \
                UPD_GRAD(T, i);                                                        \
                m[i] += (gi - m[i]) * ob1;                                             \
                v[i] += (gi * gi - v[i]) * ob2;                                        \
                p[i] -= step * m[i] / (SQRT(v[i]) * rbc2 + eps);                       \
            }                                                                          \
        } else {                                                                       \
            const T alpha = (T)(lr * sqrt(bc2) / bc1);                                 \
            for (int64_t i = 0; i < N; i++) {                                          \
                UPD_GRAD(T, i);                                                        \
                m[i] += (gi - m[i]) * ob1;                                             \
                v[i] += (gi * gi - v[i]) * ob2;                                        \
                p[i] -= alpha * m[i] / (SQRT(v[i]) + eps);                             \
            }                                                                          \
        }                                                                              \
        return RC_OK;                                                                  \
    }
ADAM_KERNEL(adam_fwd, float, sqrtf)
ADAM_KERNEL(adam_ref, double, sqrt)

/* RMSprop. f[0] = rho, f[1] = momentum, f[2] = epsilon. Slots v, then the
 * momentum buffer b when momentum > 0, then the mean gradient a when
 * centered. Epsilon goes inside the root (e_in, Keras) or outside (e_out,
 * PyTorch); the other is 0, which keeps the loop free of branches so it
 * vectorises, and adds exactly nothing. The four slot layouts get a loop
 * each for the same reason. */
#define RMS_LOOP(T, SQRT, CENTERED, MOMENTUM)                                          \
    for (int64_t i = 0; i < N; i++) {                                                  \
        UPD_GRAD(T, i);                                                                \
        v[i] = rho * v[i] + orho * gi * gi;                                            \
        T den = v[i];                                                                  \
        if (CENTERED) {                                                                \
            a[i] = rho * a[i] + orho * gi;                                             \
            den -= a[i] * a[i];                                                        \
        }                                                                              \
        T inc = l * gi / (SQRT(den + e_in) + e_out);                                   \
        if (MOMENTUM) {                                                                \
            b[i] = mu * b[i] + inc;                                                    \
            p[i] -= b[i];                                                              \
        } else {                                                                       \
            p[i] -= inc;                                                               \
        }                                                                              \
    }

#define RMS_KERNEL(name, T, SQRT)                                                      \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        UPD_BEGIN(T);                                                                  \
        const double rho_d = n->attr.f[0];                                             \
        const T rho = (T)rho_d, orho = (T)(1.0 - rho_d), mu = (T)n->attr.f[1];         \
        const bool torch = (flags & OPTF_TORCH_EPS) != 0;                              \
        const T eps = (T)n->attr.f[2], l = (T)lr;                                      \
        const T e_in = torch ? 0 : eps, e_out = torch ? eps : 0;                       \
        int k = 4;                                                                     \
        T *v = in[k++];                                                                \
        T *b = n->attr.f[1] > 0 ? in[k++] : NULL;                                      \
        T *a = (flags & OPTF_CENTERED) ? in[k++] : NULL;                               \
        if (a && b) RMS_LOOP(T, SQRT, 1, 1)                                            \
        else if (a) RMS_LOOP(T, SQRT, 1, 0)                                            \
        else if (b) RMS_LOOP(T, SQRT, 0, 1)                                            \
        else RMS_LOOP(T, SQRT, 0, 0)                                                   \
        return RC_OK;                                                                  \
    }
RMS_KERNEL(rms_fwd, float, sqrtf)
RMS_KERNEL(rms_ref, double, sqrt)

/* Adagrad. f[2] = epsilon (inside or outside the root as for RMSprop).
 * Slot acc (initialised by the trainer). */
#define ADAGRAD_KERNEL(name, T, SQRT)                                                  \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        UPD_BEGIN(T);                                                                  \
        T *acc = in[4];                                                                \
        const bool torch = (flags & OPTF_TORCH_EPS) != 0;                              \
        const T eps = (T)n->attr.f[2], l = (T)lr;                                      \
        const T e_in = torch ? 0 : eps, e_out = torch ? eps : 0;                       \
        for (int64_t i = 0; i < N; i++) {                                              \
            UPD_GRAD(T, i);                                                            \
            acc[i] += gi * gi;                                                         \
            p[i] -= l * gi / (SQRT(acc[i] + e_in) + e_out);                            \
        }                                                                              \
        return RC_OK;                                                                  \
    }
ADAGRAD_KERNEL(adagrad_fwd, float, sqrtf)
ADAGRAD_KERNEL(adagrad_ref, double, sqrt)

static void upd_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s '%s'", n->op->name, n->in[0]->name);
}

#define UPD_OP(id, nm, fwd, ref)                                                       \
    const rc_op rc_op_##id = {.name = nm, .arity = -1, .flags = RC_OPF_SIDE_EFFECT,     \
                              .infer = upd_infer, .forward = fwd, .reference = ref,    \
                              .label = upd_label};
UPD_OP(optim_sgd, "optim_sgd", sgd_fwd, sgd_ref)
UPD_OP(optim_adam, "optim_adam", adam_fwd, adam_ref)
UPD_OP(optim_rmsprop, "optim_rmsprop", rms_fwd, rms_ref)
UPD_OP(optim_adagrad, "optim_adagrad", adagrad_fwd, adagrad_ref)

int rc_optim_slot_count(const rc_optim_config *cfg) {
    if (!cfg) return 0;
    switch (cfg->kind) {
    case RC_OPT_SGD: return cfg->momentum > 0 ? 1 : 0;
    case RC_OPT_ADAM: return 2;
    case RC_OPT_RMSPROP: return 1 + (cfg->momentum > 0) + cfg->centered;
    case RC_OPT_ADAGRAD: return 1;
    }
    return 0;
}

const char *rc_optim_slot_name(const rc_optim_config *cfg, int k) {
    if (!cfg || k < 0 || k >= rc_optim_slot_count(cfg)) return NULL;
    switch (cfg->kind) {
    case RC_OPT_SGD: return "momentum";
    case RC_OPT_ADAM: return k == 0 ? "m" : "v";
    case RC_OPT_RMSPROP:
        if (k == 0) return "velocity";
        if (k == 1 && cfg->momentum > 0) return "momentum";
        return "average_gradient";
    case RC_OPT_ADAGRAD: return "accumulator";
    }
    return NULL;
}

rc_node *rc_optim_update(rc_graph *g, const rc_optim_config *cfg, rc_node *param, rc_node *grad, rc_node *lr,
                         rc_node *step, rc_node *const *slots, rc_node *norm) {
    if (!cfg) return rc_graph_fail(g, RC_ERR_ARG, "rc_optim_update: config is NULL");
    rc_error err;
    if (rc_optim_validate(cfg, &err) != RC_OK) return rc_graph_fail(g, RC_ERR_ARG, "rc_optim_update: %s", err.message);
    int nslots = rc_optim_slot_count(cfg);
    bool by_norm = cfg->clipnorm > 0 || cfg->global_clipnorm > 0;
    if (by_norm && !norm)
        return rc_graph_fail(g, RC_ERR_ARG, "rc_optim_update: clipping by norm needs the norm node");
    rc_node *in[4 + 3 + 1] = {param, grad, lr, step};
    for (int k = 0; k < nslots; k++) in[4 + k] = slots ? slots[k] : NULL;
    if (nslots && !slots) return rc_graph_fail(g, RC_ERR_ARG, "rc_optim_update: slots are NULL");
    unsigned flags = (cfg->nesterov ? OPTF_NESTEROV : 0) | (cfg->eps_style == RC_EPS_TORCH ? OPTF_TORCH_EPS : 0) |
                     (cfg->centered ? OPTF_CENTERED : 0) | (by_norm ? OPTF_NORM : 0) |
                     (cfg->clipvalue > 0 ? OPTF_CLIPVALUE : 0);
    rc_attr a = {.i = {flags, nslots}};
    a.f[3] = cfg->clipnorm > 0 ? cfg->clipnorm : cfg->global_clipnorm > 0 ? cfg->global_clipnorm : cfg->clipvalue;
    const rc_op *op = NULL;
    switch (cfg->kind) {
    case RC_OPT_SGD: op = &rc_op_optim_sgd; a.f[0] = cfg->momentum; break;
    case RC_OPT_ADAM: op = &rc_op_optim_adam; a.f[0] = cfg->beta1; a.f[1] = cfg->beta2; a.f[2] = cfg->epsilon; break;
    case RC_OPT_RMSPROP: op = &rc_op_optim_rmsprop; a.f[0] = cfg->rho; a.f[1] = cfg->momentum; a.f[2] = cfg->epsilon; break;
    case RC_OPT_ADAGRAD: op = &rc_op_optim_adagrad; a.f[2] = cfg->epsilon; break;
    }
    int nin = 4 + nslots;
    if (by_norm) in[nin++] = norm;
    return rc_node_make(g, op, in, nin, &a, NULL);
}

/* --- configuration ------------------------------------------------------------- */

static const char *const optim_names[] = {"sgd", "adam", "rmsprop", "adagrad"};

const char *rc_optim_name(rc_optim_kind kind) {
    return (unsigned)kind < 4 ? optim_names[kind] : "unknown";
}

bool rc_optim_from_name(const char *name, rc_optim_kind *kind) {
    for (int k = 0; name && k < 4; k++)
        if (strcmp(name, optim_names[k]) == 0) {
            if (kind) *kind = (rc_optim_kind)k;
            return true;
        }
    return false;
}

rc_optim_config rc_optim_defaults(rc_optim_kind kind) {
    rc_optim_config c = {.kind = kind, .lr = {.kind = RC_LR_CONSTANT, .initial = 0.001}, .epsilon = 1e-7};
    switch (kind) {
    case RC_OPT_SGD: c.lr.initial = 0.01; break;
    case RC_OPT_ADAM: c.beta1 = 0.9; c.beta2 = 0.999; break;
    case RC_OPT_RMSPROP: c.rho = 0.9; break;
    case RC_OPT_ADAGRAD: c.initial_accumulator = 0.1; break;
    }
    return c;
}

static bool in01(double x) { return x >= 0 && x < 1; }

rc_status rc_optim_validate(const rc_optim_config *c, rc_error *err) {
#define BAD(...) return rc_error_set(err, RC_ERR_ARG, "rc_optim_validate", __VA_ARGS__)
    if (!c) BAD("optimizer config is NULL");
    if ((unsigned)c->kind > RC_OPT_ADAGRAD) BAD("unknown optimizer kind %d", (int)c->kind);
    const rc_lr_schedule *s = &c->lr;
    if ((unsigned)s->kind > RC_LR_COSINE) BAD("unknown learning-rate schedule kind %d", (int)s->kind);
    if (!(s->initial >= 0) || !isfinite(s->initial)) BAD("learning rate %g must be finite and >= 0", s->initial);
    if (s->kind != RC_LR_CONSTANT && s->decay_steps < 1) BAD("decay_steps %lld must be >= 1", (long long)s->decay_steps);
    if (s->kind == RC_LR_EXPONENTIAL && !(s->decay_rate > 0 && isfinite(s->decay_rate)))
        BAD("decay_rate %g must be finite and > 0", s->decay_rate);
    if (s->kind == RC_LR_COSINE) {
        if (!(s->alpha >= 0 && s->alpha <= 1)) BAD("cosine alpha %g must be in [0, 1]", s->alpha);
        if (s->warmup_steps < 0) BAD("warmup_steps %lld must be >= 0", (long long)s->warmup_steps);
        if (s->warmup_steps > 0 && !(s->warmup_target > 0 && isfinite(s->warmup_target)))
            BAD("warmup_target %g must be finite and > 0 with warmup_steps", s->warmup_target);
    }
    if (!in01(c->momentum)) BAD("momentum %g must be in [0, 1)", c->momentum);
    if (c->kind == RC_OPT_ADAM && (!in01(c->beta1) || !in01(c->beta2)))
        BAD("beta1 %g and beta2 %g must be in [0, 1)", c->beta1, c->beta2);
    if (c->kind == RC_OPT_RMSPROP && !in01(c->rho)) BAD("rho %g must be in [0, 1)", c->rho);
    if (!(c->epsilon >= 0) || !isfinite(c->epsilon)) BAD("epsilon %g must be finite and >= 0", c->epsilon);
    if (!(c->initial_accumulator >= 0) || !isfinite(c->initial_accumulator))
        BAD("initial_accumulator %g must be finite and >= 0", c->initial_accumulator);
    if ((unsigned)c->eps_style > RC_EPS_TORCH) BAD("unknown epsilon style %d", (int)c->eps_style);
    const double clips[3] = {c->clipnorm, c->global_clipnorm, c->clipvalue};
    const char *clip_names[3] = {"clipnorm", "global_clipnorm", "clipvalue"};
    int nclip = 0;
    for (int k = 0; k < 3; k++) {
        if (!(clips[k] >= 0) || !isfinite(clips[k])) BAD("%s %g must be finite and >= 0", clip_names[k], clips[k]);
        nclip += clips[k] > 0;
    }
    if (nclip > 1) BAD("set at most one of clipnorm, global_clipnorm and clipvalue (Keras applies only one)");
#undef BAD
    return RC_OK;
}
