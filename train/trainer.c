/* The trainer: optimizer configuration, the training plan (forward,
 * gradients, clipping, fused updates, step increment) built once, one run
 * per step, and the fit loop. Checkpoints are in train/checkpoint.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "recur/autodiff.h"
#include "recur/op.h"
#include "recur/ops.h"
#include "recur/plan.h"
#include "recur/train.h"
#include "trainer_internal.h"

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

rc_status rc_optim_validate(const rc_optim_config *c, char *err, size_t errlen) {
    char tmp[8];
    if (!err) {
        err = tmp;
        errlen = sizeof tmp;
    }
#define BAD(...) return snprintf(err, errlen, __VA_ARGS__), RC_ERR_ARG
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
    if (err != tmp && errlen) err[0] = 0;
    return RC_OK;
}

/* --- building ------------------------------------------------------------------ */

static rc_trainer *build_fail(rc_trainer *t) {
    rc_trainer_free(t);
    return NULL;
}

/* Push each component of `path` ("a/b/c") as a scope; returns the depth. */
static int push_path(rc_graph *g, const char *path) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    int depth = 0;
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (!rc_scope_push(g, tok)) break;
        depth++;
    }
    return depth;
}

static void pop_n(rc_graph *g, int n) {
    while (n-- > 0) rc_scope_pop(g);
}

/* A gradient that is a leaf or a view of one would be read through storage
 * an earlier update may already have changed; give it its own buffer. */
static rc_node *own_buffer(rc_graph *g, rc_node *grad) {
    rc_node *r = grad;
    int64_t off;
    while (r && r->op->view && r->op->view(r, &off)) r = r->in[0];
    if (r && (r->op->flags & RC_OPF_LEAF)) return rc_scale(g, grad, 1.0);
    return grad;
}

static char *path_of(const rc_node *n) {
    char buf[1024];
    return rc_strdup(rc_node_path(n, buf, sizeof buf));
}

void rc_trainer_fill_slots(rc_trainer *t) {
    for (int i = 0; i < t->nparams * t->nslots; i++) {
        float *d = rc_node_data(t->slots[i]);
        float v = t->cfg.kind == RC_OPT_ADAGRAD ? (float)t->cfg.initial_accumulator : 0.0f;
        for (int64_t j = 0, n = rc_node_numel(t->slots[i]); j < n; j++) d[j] = v;
    }
}

rc_trainer *rc_trainer_new(rc_graph *g, const rc_trainer_spec *spec) {
    if (!g || rc_graph_status(g) != RC_OK) return NULL;
    char err[300];
    if (!spec) return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: spec is NULL");
    if (!spec->loss) return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: loss is NULL");
    if (rc_optim_validate(&spec->optim, err, sizeof err) != RC_OK)
        return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: %s", err);
    if (spec->nparams < 0 || spec->noutputs < 0 || spec->nstate < 0 || (spec->noutputs && !spec->outputs) ||
        (spec->nstate && !spec->state) || (spec->nparams && !spec->params))
        return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: negative count or NULL array");

    rc_trainer *t = rc_calloc(1, sizeof *t);
    if (!t) return (rc_trainer *)rc_graph_fail(g, RC_ERR_NOMEM, "rc_trainer_new: out of memory");
    t->g = g;
    t->cfg = spec->optim;
    t->loss = spec->loss;
    t->last_norm = NAN;
    int np = spec->params ? spec->nparams : rc_graph_params(g, NULL, 0);
    if (np < 1) {
        rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: no parameters to train");
        return build_fail(t);
    }
    t->nparams = np;
    t->nslots = rc_optim_slot_count(&t->cfg);
    t->nstate = spec->nstate;
    t->noutputs = spec->noutputs;
    t->params = rc_calloc((size_t)np, sizeof *t->params);
    t->grads = rc_calloc((size_t)np, sizeof *t->grads);
    t->updates = rc_calloc((size_t)np, sizeof *t->updates);
    t->slots = rc_calloc((size_t)(np * t->nslots + 1), sizeof *t->slots);
    t->state = rc_calloc((size_t)(t->nstate + 1), sizeof *t->state);
    t->outputs = rc_calloc((size_t)(t->noutputs + 1), sizeof *t->outputs);
    t->paths = rc_calloc((size_t)(np + t->nstate), sizeof *t->paths);
    if (!t->params || !t->grads || !t->updates || !t->slots || !t->state || !t->outputs || !t->paths) {
        rc_graph_fail(g, RC_ERR_NOMEM, "rc_trainer_new: out of memory");
        return build_fail(t);
    }
    if (spec->params) memcpy(t->params, spec->params, (size_t)np * sizeof *t->params);
    else rc_graph_params(g, t->params, np);
    if (t->nstate) memcpy(t->state, spec->state, (size_t)t->nstate * sizeof *t->state);
    if (t->noutputs) memcpy(t->outputs, spec->outputs, (size_t)t->noutputs * sizeof *t->outputs);

    /* Parameters and state leaves must be distinct leaves with distinct
     * paths: the paths are the checkpoint's tensor names. */
    for (int i = 0; i < np + t->nstate; i++) {
        rc_node *n = i < np ? t->params[i] : t->state[i - np];
        if (!n || rc_node_graph(n) != g) {
            rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: %s %d is %s", i < np ? "parameter" : "state", i < np ? i : i - np,
                          n ? "from another graph" : "NULL");
            return build_fail(t);
        }
        if (i < np ? !rc_node_is_param(n) : !rc_node_is_leaf(n) || !rc_node_value(n)) {
            rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: '%s' (%s) is not a %s", rc_node_name(n), rc_node_op_name(n),
                          i < np ? "parameter" : "input or parameter leaf");
            return build_fail(t);
        }
        if (!(t->paths[i] = path_of(n))) {
            rc_graph_fail(g, RC_ERR_NOMEM, "rc_trainer_new: out of memory");
            return build_fail(t);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(t->paths[i], t->paths[j]) == 0) {
                rc_graph_fail(g, RC_ERR_ARG,
                              "rc_trainer_new: two trained or saved leaves have the path '%s'; checkpoints name tensors "
                              "by path, so give the layers distinct names",
                              t->paths[i]);
                return build_fail(t);
            }
    }

    if (rc_gradients(g, t->loss, t->params, np, t->grads) != RC_OK) return build_fail(t);
    for (int i = 0; i < np; i++) t->grads[i] = own_buffer(g, t->grads[i]);

    /* Optimizer state, scoped "optimizer/...". */
    if (!rc_scope_push(g, "optimizer")) return build_fail(t);
    t->step = rc_input(g, "iterations", RC_I32, RC_SCALAR);
    t->lr = rc_lr_schedule_node(g, &t->cfg.lr, t->step);
    for (int i = 0; i < np; i++) {
        int depth = push_path(g, t->paths[i]);
        for (int k = 0; k < t->nslots; k++)
            t->slots[i * t->nslots + k] =
                rc_input(g, rc_optim_slot_name(&t->cfg, k), RC_F32, rc_node_shape(t->params[i]));
        pop_n(g, depth);
    }
    rc_node *global = NULL;
    if (t->cfg.global_clipnorm > 0) global = t->norm = rc_global_norm(g, t->grads, np);
    for (int i = 0; i < np; i++) {
        rc_node *norm = global;
        if (t->cfg.clipnorm > 0) norm = rc_global_norm(g, &t->grads[i], 1);
        t->updates[i] = rc_optim_update(g, &t->cfg, t->params[i], t->grads[i], t->lr, t->step,
                                        t->slots + i * t->nslots, norm);
    }
    t->checked = rc_check_finite(g, t->loss);
    /* Created last: side effects run in creation order, so every update
     * reads the counter before it advances. */
    t->inc = rc_step_increment(g, t->step);
    rc_scope_pop(g);
    if (rc_graph_status(g) != RC_OK) return build_fail(t);
    rc_trainer_fill_slots(t);

    int nout = 0, cap = 3 + t->noutputs + np;
    rc_node **outs = rc_malloc((size_t)cap * sizeof *outs);
    if (!outs) {
        rc_graph_fail(g, RC_ERR_NOMEM, "rc_trainer_new: out of memory");
        return build_fail(t);
    }
    outs[nout++] = t->checked;
    for (int i = 0; i < t->noutputs; i++) outs[nout++] = t->outputs[i];
    if (t->norm) outs[nout++] = t->norm;
    for (int i = 0; i < np; i++) outs[nout++] = t->updates[i];
    outs[nout++] = t->inc;
    t->plan = rc_plan_new(g, outs, nout);
    rc_free(outs);
    if (!t->plan) return build_fail(t);
    return t;
}

void rc_trainer_free(rc_trainer *t) {
    if (!t) return;
    rc_plan_free(t->plan);
    if (t->paths)
        for (int i = 0; i < t->nparams + t->nstate; i++) rc_free(t->paths[i]);
    rc_free(t->paths);
    rc_free(t->params);
    rc_free(t->grads);
    rc_free(t->updates);
    rc_free(t->slots);
    rc_free(t->state);
    rc_free(t->outputs);
    rc_free(t);
}

/* --- running -------------------------------------------------------------------- */

rc_status rc_trainer_step(rc_trainer *t, float *loss) {
    if (!t) return RC_ERR_ARG;
    t->err[0] = 0;
    int64_t it = rc_trainer_iterations(t);
    rc_status st = rc_plan_run(t->plan);
    if (st != RC_OK) {
        snprintf(t->err, sizeof t->err, "training step %lld: %s; no parameter was updated", (long long)it,
                 rc_plan_error(t->plan) ? rc_plan_error(t->plan) : rc_status_str(st));
        return st;
    }
    if (loss) *loss = rc_plan_f32(t->plan, t->checked)[0];
    if (t->norm) t->last_norm = rc_plan_f32(t->plan, t->norm)[0];
    return RC_OK;
}

const char *rc_trainer_error(const rc_trainer *t) {
    if (!t) return "trainer is NULL";
    return t->err[0] ? t->err : NULL;
}

int64_t rc_trainer_iterations(const rc_trainer *t) {
    return t ? *(const int32_t *)rc_node_data(t->step) : 0;
}

rc_status rc_trainer_set_iterations(rc_trainer *t, int64_t it) {
    if (!t || it < 0 || it > INT32_MAX) return RC_ERR_ARG;
    *(int32_t *)rc_node_data(t->step) = (int32_t)it;
    return RC_OK;
}

double rc_trainer_lr(const rc_trainer *t) {
    return t ? rc_lr_at(&t->cfg.lr, rc_trainer_iterations(t)) : NAN;
}

double rc_trainer_grad_norm(const rc_trainer *t) { return t ? t->last_norm : NAN; }

const float *rc_trainer_value(const rc_trainer *t, const rc_node *out) {
    if (!t || !out) return NULL;
    for (int i = 0; i < t->noutputs; i++)
        if (t->outputs[i] == out) return rc_plan_f32(t->plan, out);
    return NULL;
}

const rc_optim_config *rc_trainer_config(const rc_trainer *t) { return t ? &t->cfg : NULL; }
int rc_trainer_param_count(const rc_trainer *t) { return t ? t->nparams : 0; }
rc_node *rc_trainer_param(const rc_trainer *t, int i) {
    return t && i >= 0 && i < t->nparams ? t->params[i] : NULL;
}

void rc_trainer_reset_optimizer(rc_trainer *t) {
    if (!t) return;
    rc_trainer_fill_slots(t);
    *(int32_t *)rc_node_data(t->step) = 0;
}

/* --- fit loop ------------------------------------------------------------------- */

rc_status rc_trainer_fit(rc_trainer *t, const rc_fit_config *cfg, rc_fit_history *hist) {
    if (!t) return RC_ERR_ARG;
    t->err[0] = 0;
    if (!cfg || !cfg->fill_batch || cfg->steps_per_epoch < 1 || cfg->initial_epoch < 0 || cfg->epochs < 0) {
        snprintf(t->err, sizeof t->err, "rc_trainer_fit: %s",
                 !cfg ? "config is NULL" : !cfg->fill_batch ? "fill_batch callback is NULL"
                 : cfg->steps_per_epoch < 1 ? "steps_per_epoch must be >= 1" : "epochs must be >= initial_epoch >= 0");
        return RC_ERR_ARG;
    }
    if (hist) hist->n = 0;
    rc_status st = RC_OK;
    bool stop = false;
    for (int64_t e = cfg->initial_epoch; e < cfg->epochs && !stop; e++) {
        rc_fit_progress p = {.epoch = e, .val_loss = NAN};
        double sum = 0;
        int64_t done = 0;
        for (int64_t b = 0; b < cfg->steps_per_epoch; b++) {
            if ((st = cfg->fill_batch(cfg->user, e, b)) != RC_OK) {
                snprintf(t->err, sizeof t->err, "epoch %lld batch %lld: the batch callback failed (%s)", (long long)e,
                         (long long)b, rc_status_str(st));
                return st;
            }
            p.lr = rc_trainer_lr(t);
            float loss;
            if ((st = rc_trainer_step(t, &loss)) != RC_OK) {
                char msg[sizeof t->err];
                snprintf(msg, sizeof msg, "%s", t->err);
                snprintf(t->err, sizeof t->err, "epoch %lld batch %lld: %.900s", (long long)e, (long long)b, msg);
                return st;
            }
            sum += loss;
            done++;
            p.batch = b;
            p.iterations = rc_trainer_iterations(t);
            p.loss = loss;
            p.epoch_loss = sum / (double)done;
            if (cfg->on_step && !cfg->on_step(cfg->user, &p)) {
                stop = true;
                break;
            }
        }
        if (!stop && cfg->validate && (st = cfg->validate(cfg->user, e, &p.val_loss)) != RC_OK) {
            snprintf(t->err, sizeof t->err, "epoch %lld: the validation callback failed (%s)", (long long)e,
                     rc_status_str(st));
            return st;
        }
        if (hist && hist->n < hist->cap) {
            if (hist->loss) hist->loss[hist->n] = p.epoch_loss;
            if (hist->val_loss) hist->val_loss[hist->n] = p.val_loss;
            hist->n++;
        }
        if (!stop && cfg->on_epoch && !cfg->on_epoch(cfg->user, &p)) stop = true;
    }
    return RC_OK;
}
