/* The trainer: the training plan (forward, gradients, clipping, fused
 * updates, step increment) built once, one run per step, and the fit loop.
 * What a checkpoint holds is rc_trainer_leaves (below); the file format is
 * frontends/safetensors/checkpoint.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "recur/autodiff.h"
#include "recur/op.h"
#include "recur/ops.h"
#include "recur/plan.h"
#include "recur/train.h"
#include "trainer_internal.h"

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

/* The storage a node's value lives in: the node that owns it (through
 * views: reshapes, contiguous slices) and the element offset in it. */
static const rc_node *storage_of(const rc_node *n, int64_t *lo) {
    *lo = 0;
    int64_t off;
    while (n->op->view && n->nin > 0 && n->op->view(n, &off)) *lo += off, n = n->in[0];
    return n;
}

/* read[id]: whether a kernel of g (a node that is not a view) reads the
 * storage node id owns, directly or through views of it; NULL when out
 * of memory. One pass, for all gradients. */
static bool *storage_readers(const rc_graph *g) {
    int n = rc_graph_node_count(g);
    bool *read = rc_calloc((size_t)n + 1, sizeof *read);
    int64_t lo;
    for (int id = 0; read && id < n; id++) {
        const rc_node *k = rc_graph_node(g, id);
        if (!k || (k->op->view && k->nin > 0 && k->op->view(k, &lo))) continue;
        for (int j = 0; j < k->nin; j++) read[storage_of(k->in[j], &lo)->id] = true;
    }
    return read;
}

/* Gradient i in storage of its own, read by nothing but what the trainer
 * adds (the global norm, the update). Copied (one scale by 1) when it is
 * * a leaf or a view of one: an earlier update may already have changed
 *   that storage when this gradient is read;
 * * in storage that backward kernels read too (read[], above; autodiff
 *   hands a + b's dy to both a and b, and a view of dy is a gradient too):
 *   with data parallelism the gradient is replaced by its sum over ranks
 *   at its first reader (rc_trainer_set_comm), which would be one of
 *   those kernels;
 * * in the storage of an earlier gradient (the same node for two
 *   parameters), which would be reduced twice. */
static rc_node *own_buffer(rc_graph *g, const bool *read, rc_node *const *grads, int i) {
    rc_node *grad = grads[i];
    int64_t lo, lj;
    const rc_node *root = storage_of(grad, &lo);
    bool copy = (root->op->flags & RC_OPF_LEAF) || read[root->id];
    for (int j = 0; j < i && !copy; j++) {
        const rc_node *rj = storage_of(grads[j], &lj);
        copy = rj == root && lo < lj + rc_node_numel(grads[j]) && lj < lo + rc_node_numel(grad);
    }
    return copy ? rc_scale(g, grad, 1.0) : grad;
}

static char *path_of(const rc_node *n) {
    char buf[1024];
    return rc_strdup(rc_node_path(n, buf, sizeof buf));
}

/* Slots to their initial values (Adagrad's initial_accumulator, else 0). */
static void fill_slots(rc_trainer *t) {
    for (int i = 0; i < t->nparams * t->nslots; i++) {
        float *d = rc_node_data(t->slots[i]);
        float v = t->cfg.kind == RC_OPT_ADAGRAD ? (float)t->cfg.initial_accumulator : 0.0f;
        for (int64_t j = 0, n = rc_node_numel(t->slots[i]); j < n; j++) d[j] = v;
    }
}

rc_trainer *rc_trainer_new(rc_graph *g, const rc_trainer_spec *spec) {
    if (!g || rc_graph_status(g) != RC_OK) return NULL;
    rc_error err;
    if (!spec) return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: spec is NULL");
    if (!spec->loss) return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: loss is NULL");
    if (rc_optim_validate(&spec->optim, &err) != RC_OK)
        return (rc_trainer *)rc_graph_fail(g, RC_ERR_ARG, "rc_trainer_new: %s", err.message);
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
    bool *read = storage_readers(g); /* before own_buffer adds readers of its own */
    if (!read) {
        rc_graph_fail(g, RC_ERR_NOMEM, "rc_trainer_new: out of memory");
        return build_fail(t);
    }
    for (int i = 0; i < np; i++) t->grads[i] = own_buffer(g, read, t->grads, i);
    rc_free(read);

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
    fill_slots(t);

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

static void comm_state_free(comm_state *cs) {
    if (!cs) return;
    rc_free_aligned(cs->stage);
    rc_free(cs->hooks);
    rc_free(cs->off);
    rc_free(cs->bucket);
    rc_free(cs);
}

void rc_trainer_free(rc_trainer *t) {
    if (!t) return;
    comm_state_free(t->cs);
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

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- gradient reduction (rc_trainer_set_comm) ------------------------------------
 * Hooks of the training plan (recur/plan.h): grad_ready when the backward
 * pass has finished gradient i, grad_needed right before its first reader
 * (the global norm, or its update). Every rank runs the same plan, so the
 * hooks, and therefore the buckets and their collectives, come in the
 * same order everywhere. */

static rc_status bucket_start(comm_state *cs, int b, rc_error *err) {
    cs->b_state[b] = 1;
    rc_status s = rc_comm_iallreduce_f32(cs->comm, cs->stage + cs->b_start[b], cs->b_len[b], b, err);
    if (s == RC_OK && b + 1 < RC_COMM_MAX_REQUESTS) {
        /* the next bucket starts where this one ends */
        cs->nb = b + 2 > cs->nb ? b + 2 : cs->nb;
        cs->b_start[b + 1] = cs->b_start[b] + cs->b_len[b];
        cs->b_len[b + 1] = 0;
        cs->b_state[b + 1] = 0;
    }
    return s;
}

static rc_status grad_ready(void *user, const rc_node *n, void *data, rc_error *err) {
    grad_hook *h = user;
    comm_state *cs = h->t->cs;
    int64_t len = rc_node_numel(n);
    if (cs->in_place) {
        /* The gradient's storage is its own and nothing reads it before
         * grad_needed (own_buffer), so the plan leaves it untouched until
         * then: reduce it there, no copy. */
        cs->bucket[h->i] = h->i;
        rc_status s = rc_comm_iallreduce_f32(cs->comm, data, len, h->i, err);
        return s != RC_OK ? s : rc_comm_progress(cs->comm, err);
    }
    int b = cs->nb - 1;
    if (cs->fill + len > cs->total)
        return rc_error_set(err, RC_ERR_STATE, "rc_trainer_step", "gradient reduction out of order");
    memcpy(cs->stage + cs->fill, data, (size_t)len * sizeof(float));
    cs->off[h->i] = cs->fill;
    if (cs->b_state[b] != 0) {
        /* every request slot used (gradients read as soon as made, e.g. a
         * clipnorm per parameter): reduce this one now, blocking */
        cs->bucket[h->i] = -2;
        cs->fill += len;
        double t0 = now_s();
        rc_status s = rc_comm_allreduce_f32(cs->comm, cs->stage + cs->off[h->i], len, err);
        cs->wait_s += now_s() - t0;
        return s;
    }
    cs->bucket[h->i] = b;
    cs->fill += len;
    cs->b_len[b] += len;
    /* a full bucket starts now (the last one may take the rest: the 64
     * requests are never exceeded, bucket_elems >= total / 63) */
    if (cs->b_len[b] >= cs->bucket_elems && b + 1 < RC_COMM_MAX_REQUESTS) return bucket_start(cs, b, err);
    return rc_comm_progress(cs->comm, err);
}

static rc_status grad_needed(void *user, const rc_node *n, void *data, rc_error *err) {
    grad_hook *h = user;
    comm_state *cs = h->t->cs;
    int b = cs->bucket[h->i];
    rc_status s = RC_OK;
    if (b == -2) goto reduced;
    if (b < 0) return rc_error_set(err, RC_ERR_STATE, "rc_trainer_step", "a gradient was read before it was final");
    /* in place: request b is this gradient's own, always in flight here */
    if (!cs->in_place && cs->b_state[b] == 0 && (s = bucket_start(cs, b, err)) != RC_OK) return s;
    if (cs->in_place || cs->b_state[b] == 1) {
        double t0 = now_s();
        s = rc_comm_wait(cs->comm, b, err);
        cs->wait_s += now_s() - t0;
        if (s != RC_OK) return s;
        cs->b_state[b] = 2;
    }
reduced:;
    /* The sum over ranks of the ranks' mean-loss gradients, scaled once:
     * the gradient of the mean over the global batch. */
    float scale = 1.0f / (float)cs->comm->size, *g = data;
    const float *src = cs->in_place ? g : cs->stage + cs->off[h->i];
    for (int64_t j = 0, len = rc_node_numel(n); j < len; j++) g[j] = src[j] * scale;
    return RC_OK;
}

static void comm_run_reset(rc_trainer *t) {
    comm_state *cs = t->cs;
    cs->nb = 1;
    cs->fill = 0;
    cs->b_start[0] = cs->b_len[0] = 0;
    cs->b_state[0] = 0;
    for (int i = 0; i < t->nparams; i++) cs->bucket[i] = -1;
}

rc_status rc_trainer_step(rc_trainer *t, float *loss, rc_error *err) {
    if (!t) return rc_error_set(err, RC_ERR_ARG, "rc_trainer_step", "trainer is NULL");
    int64_t it = rc_trainer_iterations(t);
    rc_error run;
    double t0 = t->cs ? now_s() : 0;
    if (t->cs) comm_run_reset(t);
    rc_status st = rc_plan_run(t->plan, &run);
    if (st != RC_OK)
        return rc_error_set(err, st, "rc_trainer_step", "training step %lld: %.900s; no parameter was updated",
                            (long long)it, run.message);
    double l = rc_plan_f32(t->plan, t->checked)[0];
    if (t->cs) {
        /* the global batch's loss: the mean of the ranks' means */
        double w0 = now_s();
        st = rc_comm_allreduce_f64(t->cs->comm, &l, 1, &run);
        t->cs->wait_s += now_s() - w0;
        if (st != RC_OK)
            return rc_error_set(err, st, "rc_trainer_step", "training step %lld: %.900s", (long long)it, run.message);
        l /= t->cs->comm->size;
        t->cs->step_s += now_s() - t0;
        t->cs->steps++;
    }
    if (loss) *loss = (float)l;
    if (t->norm) t->last_norm = rc_plan_f32(t->plan, t->norm)[0];
    return RC_OK;
}

/* What every rank must agree on: the trained and saved leaves' paths,
 * dtypes and shapes, and the optimizer's slots. */
static uint64_t structure_hash(const rc_trainer *t) {
    uint64_t h = RC_FNV_OFFSET;
    int32_t counts[3] = {t->nparams, t->nslots, t->nstate};
    h = rc_fnv1a(h, counts, sizeof counts);
    for (int i = 0; i < t->nparams + t->nstate; i++) {
        const rc_node *n = i < t->nparams ? t->params[i] : t->state[i - t->nparams];
        rc_shape s = rc_node_shape(n);
        int64_t d[RC_MAX_DIMS + 2] = {rc_node_dtype(n), s.ndim};
        for (int k = 0; k < s.ndim; k++) d[2 + k] = s.dim[k];
        h = rc_fnv1a(h, t->paths[i], strlen(t->paths[i]) + 1);
        h = rc_fnv1a(h, d, sizeof d);
    }
    for (int k = 0; k < t->nslots; k++) {
        const char *name = rc_optim_slot_name(&t->cfg, k);
        h = rc_fnv1a(h, name, strlen(name) + 1);
    }
    return h;
}

rc_status rc_trainer_set_comm(rc_trainer *t, rc_comm *comm, rc_error *err) {
    if (!t) return rc_error_set(err, RC_ERR_ARG, "rc_trainer_set_comm", "trainer is NULL");
    rc_plan_clear_hooks(t->plan);
    comm_state_free(t->cs);
    t->cs = NULL;
    if (!comm || comm->size <= 1) return RC_OK;
    uint64_t h = structure_hash(t);
    rc_status s = rc_comm_check_same(comm, &h, sizeof h, "the model (parameter and state paths, shapes, optimizer slots)", err);
    if (s != RC_OK) return s;
    /* Rank 0's values everywhere: the same start and, after a resume, the
     * same optimizer state and step. */
    int nl = rc_trainer_leaves(t, NULL, 0);
    rc_node **leaves = rc_malloc((size_t)nl * sizeof *leaves);
    if (!leaves) return rc_error_set(err, RC_ERR_NOMEM, "rc_trainer_set_comm", "out of memory");
    rc_trainer_leaves(t, leaves, nl);
    for (int i = 0; i < nl && s == RC_OK; i++)
        s = rc_comm_broadcast(comm, rc_node_data(leaves[i]), rc_tensor_bytes(rc_node_value(leaves[i])), 0, err);
    rc_free(leaves);
    if (s != RC_OK) return s;
    comm_state *cs = rc_calloc(1, sizeof *cs);
    if (!cs) return rc_error_set(err, RC_ERR_NOMEM, "rc_trainer_set_comm", "out of memory");
    cs->comm = comm;
    for (int i = 0; i < t->nparams; i++) cs->total += rc_node_numel(t->params[i]);
    /* >= 1 MiB per bucket, and at most RC_COMM_MAX_REQUESTS - 1 full ones */
    cs->bucket_elems = ((int64_t)1 << 20) / (int64_t)sizeof(float);
    if (cs->bucket_elems < cs->total / (RC_COMM_MAX_REQUESTS - 1) + 1)
        cs->bucket_elems = cs->total / (RC_COMM_MAX_REQUESTS - 1) + 1;
    /* In place needs what own_buffer gave every gradient: storage of its
     * own that no kernel reads before its update. It depends only on the
     * engine and the parameter count, so every rank chooses alike. */
    cs->in_place = comm->ops->in_place && t->nparams <= RC_COMM_MAX_REQUESTS;
    if (!cs->in_place) cs->stage = rc_malloc_aligned((size_t)cs->total * sizeof(float));
    cs->hooks = rc_calloc((size_t)t->nparams, sizeof *cs->hooks);
    cs->off = rc_calloc((size_t)t->nparams, sizeof *cs->off);
    cs->bucket = rc_calloc((size_t)t->nparams, sizeof *cs->bucket);
    if ((!cs->in_place && !cs->stage) || !cs->hooks || !cs->off || !cs->bucket) {
        comm_state_free(cs);
        return rc_error_set(err, RC_ERR_NOMEM, "rc_trainer_set_comm", "out of memory");
    }
    t->cs = cs;
    for (int i = 0; i < t->nparams && s == RC_OK; i++) {
        cs->hooks[i] = (grad_hook){.t = t, .i = i};
        s = rc_plan_on_ready(t->plan, t->grads[i], grad_ready, &cs->hooks[i], err);
        if (s == RC_OK) s = rc_plan_on_needed(t->plan, t->grads[i], grad_needed, &cs->hooks[i], err);
    }
    if (s != RC_OK) {
        rc_plan_clear_hooks(t->plan);
        comm_state_free(cs);
        t->cs = NULL;
    }
    return s;
}

rc_comm *rc_trainer_comm(const rc_trainer *t) { return t && t->cs ? t->cs->comm : rc_comm_single(); }

void rc_trainer_comm_stats(const rc_trainer *t, double *wait_s, double *step_s, int64_t *steps) {
    const comm_state *cs = t ? t->cs : NULL;
    if (wait_s) *wait_s = cs ? cs->wait_s : 0;
    if (step_s) *step_s = cs ? cs->step_s : 0;
    if (steps) *steps = cs ? cs->steps : 0;
}

int64_t rc_trainer_iterations(const rc_trainer *t) {
    return t ? *(const int32_t *)rc_node_data(t->step) : 0;
}

rc_status rc_trainer_set_iterations(rc_trainer *t, int64_t it, rc_error *err) {
    if (!t) return rc_error_set(err, RC_ERR_ARG, "rc_trainer_set_iterations", "trainer is NULL");
    if (it < 0 || it > INT32_MAX)
        return rc_error_set(err, RC_ERR_ARG, "rc_trainer_set_iterations", "iterations %lld is outside [0, 2^31)",
                            (long long)it);
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
    fill_slots(t);
    *(int32_t *)rc_node_data(t->step) = 0;
}

/* --- fit loop ------------------------------------------------------------------- */

/* A callback's failure as the fit's, at epoch e (batch b, or -1 for the
 * validation callback): its own message when it gave one. */
static rc_status callback_failed(rc_error *err, rc_status st, const rc_error *cb, int64_t e, int64_t b) {
    char at[64];
    if (b < 0) snprintf(at, sizeof at, "epoch %lld", (long long)e);
    else snprintf(at, sizeof at, "epoch %lld batch %lld", (long long)e, (long long)b);
    if (cb->message[0]) return rc_error_set(err, st, "rc_trainer_fit", "%s: %.900s", at, cb->message);
    return rc_error_set(err, st, "rc_trainer_fit", "%s: the %s callback failed (%s)", at,
                        b < 0 ? "validation" : "batch", rc_status_str(st));
}

rc_status rc_trainer_fit(rc_trainer *t, const rc_fit_config *cfg, rc_fit_history *hist, rc_error *err) {
    if (!t) return rc_error_set(err, RC_ERR_ARG, "rc_trainer_fit", "trainer is NULL");
    if (!cfg || !cfg->fill_batch || cfg->steps_per_epoch < 1 || cfg->initial_epoch < 0 || cfg->epochs < 0)
        return rc_error_set(err, RC_ERR_ARG, "rc_trainer_fit", "%s",
                            !cfg ? "config is NULL" : !cfg->fill_batch ? "fill_batch callback is NULL"
                            : cfg->steps_per_epoch < 1 ? "steps_per_epoch must be >= 1"
                                                       : "epochs must be >= initial_epoch >= 0");
    if (hist) hist->n = 0;
    rc_status st = RC_OK;
    rc_error cb;
    bool stop = false;
    for (int64_t e = cfg->initial_epoch; e < cfg->epochs && !stop; e++) {
        rc_fit_progress p = {.epoch = e, .val_loss = NAN};
        double sum = 0;
        int64_t done = 0;
        for (int64_t b = 0; b < cfg->steps_per_epoch; b++) {
            rc_error_clear(&cb);
            if ((st = cfg->fill_batch(cfg->user, e, b, &cb)) != RC_OK)
                return callback_failed(err, st, &cb, e, b);
            p.lr = rc_trainer_lr(t);
            float loss;
            if ((st = rc_trainer_step(t, &loss, &cb)) != RC_OK)
                return rc_error_set(err, st, "rc_trainer_fit", "epoch %lld batch %lld: %.900s", (long long)e,
                                    (long long)b, cb.message);
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
        rc_error_clear(&cb);
        if (!stop && cfg->validate && (st = cfg->validate(cfg->user, e, &p.val_loss, &cb)) != RC_OK)
            return callback_failed(err, st, &cb, e, -1);
        if (hist && hist->n < hist->cap) {
            if (hist->loss) hist->loss[hist->n] = p.epoch_loss;
            if (hist->val_loss) hist->val_loss[hist->n] = p.val_loss;
            hist->n++;
        }
        if (!stop && cfg->on_epoch && !cfg->on_epoch(cfg->user, &p)) stop = true;
    }
    return RC_OK;
}

rc_graph *rc_trainer_graph(const rc_trainer *t) { return t ? t->g : NULL; }
rc_node *rc_trainer_counter(const rc_trainer *t) { return t ? t->step : NULL; }

int rc_trainer_leaves(const rc_trainer *t, rc_node **out, int max) {
    if (!t) return 0;
    int k = 0;
#define PUT(x) do { if (out && k < max) out[k] = (x); k++; } while (0)
    for (int i = 0; i < t->nparams; i++) PUT(t->params[i]);
    for (int i = 0; i < t->nparams * t->nslots; i++) PUT(t->slots[i]);
    PUT(t->step);
    for (int i = 0; i < t->nstate; i++) PUT(t->state[i]);
#undef PUT
    return k;
}
