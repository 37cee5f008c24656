/* Language models: branches with the next-token loss, the evaluation
 * protocol, sampling, and the demo's char-level model (see recur/lm.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "recur/data.h"
#include "recur/init.h"
#include "recur/layer.h"
#include "recur/lm.h"
#include "recur/ops.h"

rc_model *rc_lm_model_new(const rc_lm_config *cfg) {
    if (!cfg || cfg->vocab < 1 || cfg->embed < 1 || cfg->units < 1 || cfg->layers < 1 ||
        (unsigned)cfg->cell > RC_LM_SIMPLE_RNN)
        return NULL;
    static const char *const names[] = {"lstm", "gru", "simple_rnn"};
    rc_model *m = rc_model_new("charlm");
    bool ok = m && rc_model_add_embedding(m, rc_embedding_new("embedding", cfg->vocab, cfg->embed, false)) == RC_OK;
    for (int l = 0; ok && l < cfg->layers; l++) {
        rc_cell_config cc = rc_cell_defaults(cfg->units);
        rc_cell *cell = cfg->cell == RC_LM_LSTM  ? rc_lstm_cell_new(&cc)
                        : cfg->cell == RC_LM_GRU ? rc_gru_cell_new(&cc)
                                                 : rc_simple_rnn_cell_new(&cc);
        rc_rnn_config rcfg = {.return_sequences = true};
        char name[32];
        snprintf(name, sizeof name, l ? "%s_%d" : "%s", names[cfg->cell], l);
        rc_rnn *r = cell ? rc_rnn_new(name, cell, &rcfg, NULL) : NULL;
        if (!r) rc_cell_free(cell);
        ok = rc_model_add_rnn(m, r) == RC_OK; /* owns r, also on failure */
    }
    ok = ok && rc_model_add_dense(m, rc_dense_new("dense", cfg->vocab, RC_ACT_LINEAR, true)) == RC_OK;
    if (!ok) rc_model_free(m);
    return ok ? m : NULL;
}

rc_status rc_lm_init_torch(rc_model *m, rc_rng *r) {
    int nl = rc_model_layer_count(m);
    if (rc_model_params(m, NULL, 0) < 1) return RC_ERR_STATE;
    /* Check every layer first: nothing changes on error. */
    for (int i = 0; i < nl; i++) {
        const rc_layer *l = rc_model_layer(m, i);
        if (rc_layer_params(l, NULL, 0) > 0 && l->cls != &rc_embedding_class && l->cls != &rc_rnn_class &&
            l->cls != &rc_dense_class)
            return RC_ERR_ARG;
    }
    for (int i = 0; i < nl; i++) {
        rc_layer *l = rc_model_layer(m, i);
        rc_node *w[RC_LAYER_MAX_PARAMS];
        int n = rc_layer_params(l, w, RC_LAYER_MAX_PARAMS);
        if (n == 0) continue;
        if (l->cls == &rc_embedding_class) {
            rc_init_normal(rc_node_data(w[0]), rc_node_numel(w[0]), 0.0f, 1.0f, r);
        } else if (l->cls == &rc_rnn_class) {
            /* k = 1/sqrt(U), U the size of the first state (h). */
            float k = 1.0f / sqrtf((float)rc_rnn_cell(l->impl)->state_size[0]);
            for (int q = 0; q < n; q++) {
                float *d = rc_node_data(w[q]);
                int64_t len = rc_node_numel(w[q]);
                rc_init_uniform(d, len, -k, k, r);
                if (strcmp(rc_node_name(w[q]), "bias") == 0 && rc_node_shape(w[q]).ndim == 1)
                    for (int64_t j = 0; j < len; j++) d[j] += -k + 2.0f * k * rc_rng_uniform(r);
            }
        } else {
            float kd = 1.0f / sqrtf((float)rc_node_shape(w[0]).dim[0]); /* kernel (fan_in, units) */
            for (int q = 0; q < n; q++) rc_init_uniform(rc_node_data(w[q]), rc_node_numel(w[q]), -kd, kd, r);
        }
    }
    return RC_OK;
}

/* rc_model_apply with explicit states: each layer's output and mask feed
 * the next in the model's scope (so the weights are the same nodes, or get
 * the same paths when this branch builds them), but every RNN layer starts
 * from state inputs made here and its final states are kept (in layer
 * order, a layer's states in its cell's order), for feeding tokens one at
 * a time. A Bidirectional layer sees later tokens: refused. */
static rc_node *apply_with_states(rc_model *m, rc_graph *g, rc_node *x, rc_rng *rng, rc_lm_branch *br) {
    int nl = rc_model_layer_count(m);
    for (int i = 0; i < nl; i++) {
        rc_layer *l = rc_model_layer(m, i);
        if (l->cls == &rc_bidir_class)
            return rc_graph_fail(g, RC_ERR_ARG, "model '%s': layer '%s' (Bidirectional) reads later tokens: it cannot "
                                 "be fed one token at a time", rc_model_name(m), rc_layer_name(l));
        if (l->cls != &rc_rnn_class) continue;
        const rc_cell *c = rc_rnn_cell(l->impl);
        if (br->nstates + c->nstates > RC_LM_MAX_STATES)
            return rc_graph_fail(g, RC_ERR_ARG, "model '%s' has more than %d recurrent states", rc_model_name(m),
                                 RC_LM_MAX_STATES);
        for (int k = 0; k < c->nstates; k++) {
            char name[32];
            snprintf(name, sizeof name, "state_%d", br->nstates);
            br->state_in[br->nstates++] = rc_input(g, name, RC_F32, RC_SHAPE(br->B, c->state_size[k]));
        }
    }
    if (nl == 0) return rc_graph_fail(g, RC_ERR_STATE, "model '%s' has no layers", rc_model_name(m));
    if (!rc_scope_push(g, rc_model_name(m))) return NULL;
    rc_node *mask = NULL;
    int used = 0;
    for (int i = 0; i < nl && x; i++) {
        rc_layer *l = rc_model_layer(m, i);
        if (l->cls == &rc_rnn_class) {
            rc_rnn *r = l->impl;
            int n = rc_rnn_cell(r)->nstates;
            rc_rnn_call call = {.mask = mask, .initial_state = br->state_in + used, .ninitial = n, .rng = rng};
            rc_rnn_out o;
            x = rc_rnn_apply(r, g, x, &call, &o) == RC_OK ? o.output : NULL;
            for (int k = 0; x && k < n; k++) br->state_out[used + k] = o.state[k];
            used += n;
            if (!rc_rnn_get_config(r)->return_sequences) mask = NULL;
        } else {
            rc_layer_in in = {.x = x, .mask = mask, .rng = rng};
            rc_layer_out o;
            if (rc_layer_apply(l, g, &in, &o) != RC_OK) x = NULL;
            else if (o.nout != 1)
                x = rc_graph_fail(g, RC_ERR_ARG, "model '%s': layer '%s' returns several tensors", rc_model_name(m),
                                  rc_layer_name(l));
            else x = o.out[0], mask = o.mask[0];
        }
    }
    rc_scope_pop(g);
    return x;
}

/* The next-id input (made right after the ids, as the demo always has:
 * the same node order gives the same plan). */
static void add_next(rc_graph *g, rc_lm_branch *br) { br->y = rc_input(g, "next", RC_I32, RC_SHAPE(br->B, br->T)); }

/* The loss nodes on the ids, next ids and logits in br. */
static rc_status add_loss(rc_graph *g, rc_lm_branch *br) {
    br->xent = rc_sparse_softmax_xent(g, br->logits, br->y);
    br->loss = rc_mean(g, br->xent, RC_ALL_AXES, false);
    return rc_graph_status(g);
}

static rc_status check_logits(rc_graph *g, const rc_lm_branch *br) {
    rc_shape s = rc_node_shape(br->logits);
    if (s.ndim == 3 && s.dim[0] == br->B && s.dim[1] == br->T && s.dim[2] >= 2 && rc_node_dtype(br->logits) == RC_F32)
        return RC_OK;
    char a[RC_SHAPE_STRLEN];
    rc_graph_fail(g, RC_ERR_SHAPE, "language model: logits must be float32 (%lld, %lld, V), got %s %s",
                  (long long)br->B, (long long)br->T, rc_dtype_name(rc_node_dtype(br->logits)),
                  rc_shape_str(s, a, sizeof a));
    return RC_ERR_SHAPE;
}

rc_status rc_lm_branch_new(rc_model *m, rc_graph *g, int64_t B, int64_t T, bool explicit_states, rc_rng *rng,
                           rc_lm_branch *br) {
    if (!g) return RC_ERR_ARG;
    memset(br, 0, sizeof *br);
    if (!m) return rc_graph_fail(g, RC_ERR_ARG, "rc_lm_branch_new: model is NULL"), RC_ERR_ARG;
    br->B = B, br->T = T;
    char name[32];
    snprintf(name, sizeof name, "b%lldx%lld%s", (long long)B, (long long)T, explicit_states ? "s" : "");
    br->x = rc_input(g, name, RC_I32, RC_SHAPE(B, T));
    add_next(g, br);
    if (!br->x || !br->y) return rc_graph_status(g);
    br->logits = explicit_states ? apply_with_states(m, g, br->x, rng, br) : rc_model_apply(m, g, br->x, false, rng);
    if (!br->logits) return rc_graph_status(g);
    if (check_logits(g, br) != RC_OK) return RC_ERR_SHAPE;
    br->V = rc_node_shape(br->logits).dim[2];
    return add_loss(g, br);
}

rc_status rc_lm_branch_on(rc_graph *g, rc_node *ids, rc_node *logits, rc_lm_branch *br) {
    if (!g) return RC_ERR_ARG;
    memset(br, 0, sizeof *br);
    if (!ids || !logits) return rc_graph_fail(g, RC_ERR_ARG, "rc_lm_branch_on: ids or logits is NULL"), RC_ERR_ARG;
    rc_shape s = rc_node_shape(ids);
    if (s.ndim != 2 || rc_node_dtype(ids) != RC_I32) {
        char a[RC_SHAPE_STRLEN];
        return rc_graph_fail(g, RC_ERR_SHAPE, "language model: ids must be int32 (B, T), got %s %s",
                             rc_dtype_name(rc_node_dtype(ids)), rc_shape_str(s, a, sizeof a)), RC_ERR_SHAPE;
    }
    br->B = s.dim[0], br->T = s.dim[1];
    br->x = ids, br->logits = logits;
    if (check_logits(g, br) != RC_OK) return RC_ERR_SHAPE;
    br->V = rc_node_shape(logits).dim[2];
    add_next(g, br);
    return add_loss(g, br);
}

rc_status rc_lm_eval_range(const rc_lm_branch *br, rc_plan *plan, const int32_t *split, int64_t len, int64_t count,
                           int64_t first, int64_t n, double *sum, rc_error *err) {
    if (!br || !plan || !split || !sum || count < 1)
        return rc_error_set(err, RC_ERR_ARG, "rc_lm_eval", "NULL argument or no windows");
    if (first < 0 || n < 0 || first > count || n > count - first)
        return rc_error_set(err, RC_ERR_ARG, "rc_lm_eval", "windows [%lld, %lld) are outside [0, %lld)",
                            (long long)first, (long long)(first + n), (long long)count);
    int64_t T = br->T, B = br->B;
    int64_t *starts = rc_malloc((size_t)count * sizeof *starts);
    if (!starts) {
        return rc_error_set(err, RC_ERR_NOMEM, "rc_lm_eval", "out of memory");
    }
    rc_status s = rc_eval_starts(len, T, count, starts, NULL);
    if (s != RC_OK) {
        rc_error_set(err, s, "rc_lm_eval", "the split has %lld tokens: too short for windows of %lld", (long long)len,
                     (long long)(T + 1));
        rc_free(starts);
        return s;
    }
    int32_t *x = rc_node_data(br->x), *y = rc_node_data(br->y);
    double total = 0.0;
    for (int64_t i0 = first; i0 < first + n && s == RC_OK; i0 += B) {
        int64_t rows = first + n - i0 < B ? first + n - i0 : B;
        for (int64_t b = 0; b < B; b++) {
            int64_t st = starts[i0 + (b < rows ? b : rows - 1)];
            memcpy(x + b * T, split + st, (size_t)T * sizeof(int32_t));
            memcpy(y + b * T, split + st + 1, (size_t)T * sizeof(int32_t));
        }
        rc_lm_reset_states(br);
        s = rc_plan_run(plan, err);
        if (s != RC_OK) {
            if (err) snprintf(err->where, sizeof err->where, "rc_lm_eval");
            break;
        }
        const float *xe = rc_plan_f32(plan, br->xent);
        for (int64_t i = 0; i < rows * T; i++) total += xe[i];
    }
    rc_free(starts);
    if (s == RC_OK) *sum = total;
    return s;
}

rc_status rc_lm_eval(const rc_lm_branch *br, rc_plan *plan, const int32_t *split, int64_t len, int64_t count,
                     double *nats, rc_error *err) {
    double sum;
    rc_status s = rc_lm_eval_range(br, plan, split, len, count, 0, count, &sum, err);
    if (s == RC_OK) *nats = sum / (double)(count * br->T);
    return s;
}

rc_plan *rc_lm_step_plan(rc_graph *g, const rc_lm_branch *br) {
    rc_node *outs[1 + RC_LM_MAX_STATES] = {br->logits};
    for (int k = 0; k < br->nstates; k++) outs[1 + k] = br->state_out[k];
    return rc_plan_new(g, outs, 1 + br->nstates);
}

void rc_lm_reset_states(const rc_lm_branch *br) {
    for (int k = 0; k < br->nstates; k++)
        memset(rc_node_data(br->state_in[k]), 0, rc_tensor_bytes(rc_node_value(br->state_in[k])));
}

rc_status rc_lm_feed(const rc_lm_branch *br, rc_plan *plan, int32_t tok, const float **logits, rc_error *err) {
    *(int32_t *)rc_node_data(br->x) = tok;
    rc_status s = rc_plan_run(plan, err);
    if (s != RC_OK) return s;
    for (int k = 0; k < br->nstates; k++)
        memcpy(rc_node_data(br->state_in[k]), rc_plan_f32(plan, br->state_out[k]),
               (size_t)rc_node_numel(br->state_in[k]) * sizeof(float));
    *logits = rc_plan_f32(plan, br->logits);
    return RC_OK;
}

int rc_lm_sample(const float *logits, int64_t V, double temperature, rc_rng *rng) {
    /* Inverse CDF of softmax(z / temperature): one uniform u in [0, Z). */
    double mx = -INFINITY;
    for (int64_t i = 0; i < V; i++)
        if (logits[i] / temperature > mx) mx = logits[i] / temperature;
    double z = 0.0;
    for (int64_t i = 0; i < V; i++) z += exp(logits[i] / temperature - mx);
    double u = rc_rng_uniform_f64(rng) * z, acc = 0.0;
    for (int64_t i = 0; i < V; i++) {
        acc += exp(logits[i] / temperature - mx);
        if (u < acc) return (int)i;
    }
    /* Rounding left u just above the running sum: the last likely token. */
    for (int64_t i = V - 1; i >= 0; i--)
        if (logits[i] / temperature - mx > -700) return (int)i;
    return (int)(V - 1);
}
