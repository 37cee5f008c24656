/* Language models: branches with the next-token loss, the evaluation
 * protocol, sampling, and the demo's char-level model (see recur/lm.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "recur/data.h"
#include "recur/init.h"
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
        rc_rnn *r = cell ? rc_rnn_new(name, cell, &rcfg) : NULL;
        if (!r) rc_cell_free(cell);
        ok = rc_model_add_rnn(m, r) == RC_OK; /* owns r, also on failure */
    }
    ok = ok && rc_model_add_dense(m, rc_dense_new("dense", cfg->vocab, RC_ACT_LINEAR, true)) == RC_OK;
    if (!ok) rc_model_free(m);
    return ok ? m : NULL;
}

/* How many of the weights from p on belong to a layer of `scalars` scalars
 * (layer info gives scalar counts; rc_model_params lists weights in layer
 * order). */
static int layer_weights(rc_node *const *p, int left, int64_t scalars) {
    int n = 0;
    for (int64_t s = 0; s < scalars && n < left; n++) s += rc_node_numel(p[n]);
    return n;
}

rc_status rc_lm_init_torch(rc_model *m, rc_rng *r) {
    int np = rc_model_params(m, NULL, 0);
    if (np < 1) return RC_ERR_STATE;
    rc_node **p = rc_malloc((size_t)np * sizeof *p);
    if (!p) return RC_ERR_NOMEM;
    rc_model_params(m, p, np);
    rc_status st = RC_OK;
    for (int pass = 0; pass < 2 && st == RC_OK; pass++) {
        /* pass 0 checks every layer, pass 1 draws: nothing changes on error. */
        int at = 0;
        for (int i = 0; i < rc_model_layer_count(m); i++) {
            rc_layer_info in;
            rc_model_layer_info(m, i, &in);
            int n = layer_weights(p + at, np - at, in.params);
            rc_node *const *w = p + at;
            at += n;
            if (n == 0) continue;
            bool rnn = !strcmp(in.type, "LSTM") || !strcmp(in.type, "GRU") || !strcmp(in.type, "SimpleRNN");
            if (strcmp(in.type, "Embedding") && strcmp(in.type, "Dense") && !rnn) st = RC_ERR_ARG;
            if (pass == 0 || st != RC_OK) continue;
            if (!strcmp(in.type, "Embedding")) {
                rc_init_normal(rc_node_data(w[0]), rc_node_numel(w[0]), 0.0f, 1.0f, r);
            } else if (rnn) {
                /* k from U, the rows of the recurrent kernel (U, G*U). */
                int64_t U = 0;
                for (int k = 0; k < n; k++)
                    if (!strcmp(rc_node_name(w[k]), "recurrent_kernel")) U = rc_node_shape(w[k]).dim[0];
                float k = 1.0f / sqrtf((float)(U > 0 ? U : 1));
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
    }
    rc_free(p);
    return st;
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
    if (explicit_states) {
        int64_t size[RC_LM_MAX_STATES];
        int n = rc_model_state_sizes(m, size, RC_LM_MAX_STATES);
        if (n > RC_LM_MAX_STATES)
            return rc_graph_fail(g, RC_ERR_ARG, "model '%s' has %d recurrent states, at most %d", rc_model_name(m), n,
                                 RC_LM_MAX_STATES), RC_ERR_ARG;
        for (int k = 0; k < n; k++) {
            snprintf(name, sizeof name, "state_%d", k);
            br->state_in[k] = rc_input(g, name, RC_F32, RC_SHAPE(B, size[k]));
        }
        br->nstates = n;
        br->logits = rc_model_apply_states(m, g, br->x, false, rng, br->state_in, n, br->state_out,
                                           RC_LM_MAX_STATES, NULL);
    } else {
        br->logits = rc_model_apply(m, g, br->x, false, rng);
    }
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

rc_status rc_lm_eval(const rc_lm_branch *br, rc_plan *plan, const int32_t *split, int64_t len, int64_t count,
                     double *nats, char *err, size_t errlen) {
    if (!br || !plan || !split || !nats || count < 1) {
        if (err && errlen) snprintf(err, errlen, "rc_lm_eval: NULL argument or no windows");
        return RC_ERR_ARG;
    }
    int64_t T = br->T, B = br->B;
    int64_t *starts = rc_malloc((size_t)count * sizeof *starts);
    if (!starts) {
        if (err && errlen) snprintf(err, errlen, "out of memory");
        return RC_ERR_NOMEM;
    }
    rc_status s = rc_eval_starts(len, T, count, starts);
    if (s != RC_OK) {
        if (err && errlen)
            snprintf(err, errlen, "the split has %lld tokens: too short for windows of %lld", (long long)len,
                     (long long)(T + 1));
        rc_free(starts);
        return s;
    }
    int32_t *x = rc_node_data(br->x), *y = rc_node_data(br->y);
    double total = 0.0;
    for (int64_t i0 = 0; i0 < count && s == RC_OK; i0 += B) {
        int64_t rows = count - i0 < B ? count - i0 : B;
        for (int64_t b = 0; b < B; b++) {
            int64_t st = starts[i0 + (b < rows ? b : rows - 1)];
            memcpy(x + b * T, split + st, (size_t)T * sizeof(int32_t));
            memcpy(y + b * T, split + st + 1, (size_t)T * sizeof(int32_t));
        }
        rc_lm_reset_states(br);
        s = rc_plan_run(plan);
        if (s != RC_OK) {
            if (err && errlen) snprintf(err, errlen, "%s", rc_plan_error(plan) ? rc_plan_error(plan) : rc_status_str(s));
            break;
        }
        const float *xe = rc_plan_f32(plan, br->xent);
        for (int64_t i = 0; i < rows * T; i++) total += xe[i];
    }
    rc_free(starts);
    if (s == RC_OK) *nats = total / (double)(count * T);
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

rc_status rc_lm_feed(const rc_lm_branch *br, rc_plan *plan, int32_t tok, const float **logits) {
    *(int32_t *)rc_node_data(br->x) = tok;
    rc_status s = rc_plan_run(plan);
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
