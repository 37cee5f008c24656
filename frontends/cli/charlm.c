/* The CLI's character-level language model (see charlm.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "charlm.h"
#include "cli.h"
#include "fortunes.h"

static const char *const cell_names[] = {"lstm", "gru", "simple"};
static const char *const init_names[] = {"torch", "keras"};

const char *charlm_cell_name(charlm_cell c) { return cell_names[c]; }
const char *charlm_init_name(charlm_init i) { return init_names[i]; }

bool charlm_cell_parse(const char *s, charlm_cell *out) {
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, cell_names[i]) == 0) return *out = (charlm_cell)i, true;
    return false;
}

bool charlm_init_parse(const char *s, charlm_init *out) {
    for (int i = 0; i < 2; i++)
        if (s && strcmp(s, init_names[i]) == 0) return *out = (charlm_init)i, true;
    return false;
}

bool charlm_new(charlm *m, const charlm_config *cfg, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->seed = seed;
    m->g = rc_graph_new();
    m->emb = rc_embedding_new("embedding", cfg->vocab, cfg->embed, false);
    m->out = rc_dense_new("dense", cfg->vocab, RC_ACT_LINEAR, true);
    bool ok = m->g && m->emb && m->out && cfg->layers >= 1 && cfg->layers <= CHARLM_MAX_LAYERS;
    for (int l = 0; ok && l < cfg->layers; l++) {
        rc_cell_config cc = rc_cell_defaults(cfg->units);
        rc_cell *cell = cfg->cell == CHARLM_LSTM  ? rc_lstm_cell_new(&cc)
                        : cfg->cell == CHARLM_GRU ? rc_gru_cell_new(&cc)
                                                  : rc_simple_rnn_cell_new(&cc);
        rc_rnn_config rcfg = {.return_sequences = true, .return_state = true};
        char name[32];
        snprintf(name, sizeof name, l ? "%s_%d" : "%s", cfg->cell == CHARLM_SIMPLE ? "simple_rnn" : cell_names[cfg->cell], l);
        m->rnn[l] = cell ? rc_rnn_new(name, cell, &rcfg, NULL) : NULL;
        if (!m->rnn[l]) rc_cell_free(cell), ok = false;
    }
    if (!ok) charlm_free(m);
    return ok;
}

void charlm_free(charlm *m) {
    rc_embedding_free(m->emb);
    for (int l = 0; l < CHARLM_MAX_LAYERS; l++) rc_rnn_free(m->rnn[l]);
    rc_dense_free(m->out);
    rc_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

/* PyTorch's default initialisation, so the model starts where the PyTorch
 * peer's does (shared/peers/torch_charlm.py, --init torch):
 *   nn.Embedding      N(0, 1)
 *   nn.LSTM/GRU/RNN   every weight and both biases U(-k, k), k = 1/sqrt(U);
 *                     Keras cells have one bias where PyTorch adds b_ih + b_hh,
 *                     so it is the sum of two such draws (GRU with reset_after
 *                     keeps the two rows separately: one draw each);
 *   nn.Linear         weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static void torch_init(charlm *m, rc_rng *r) {
    rc_node *emb = rc_embedding_params(m->emb)[0];
    rc_init_normal(rc_node_data(emb), rc_node_numel(emb), 0.0f, 1.0f, r);
    float k = 1.0f / sqrtf((float)m->cfg.units);
    for (int l = 0; l < m->cfg.layers; l++) {
        rc_cell *c = rc_rnn_cell(m->rnn[l]);
        for (int p = 0; p < c->nparams; p++) {
            rc_node *w = c->params[p];
            float *d = rc_node_data(w);
            int64_t n = rc_node_numel(w);
            rc_init_uniform(d, n, -k, k, r);
            if (strcmp(rc_node_name(w), "bias") == 0 && rc_node_shape(w).ndim == 1)
                for (int64_t i = 0; i < n; i++) d[i] += -k + 2.0f * k * rc_rng_uniform(r);
        }
    }
    rc_node *const *dp = rc_dense_params(m->out);
    float kd = 1.0f / sqrtf((float)rc_dense_input_size(m->out));
    for (int p = 0; p < rc_dense_nparams(m->out); p++)
        rc_init_uniform(rc_node_data(dp[p]), rc_node_numel(dp[p]), -kd, kd, r);
}

rc_status charlm_branch_new(charlm *m, int64_t B, int64_t T, bool explicit_states, charlm_branch *br) {
    rc_graph *g = m->g;
    memset(br, 0, sizeof *br);
    br->B = B, br->T = T;
    rc_rng rng;
    rc_rng_seed(&rng, m->seed);
    char name[32];
    snprintf(name, sizeof name, "b%lldx%lld%s", (long long)B, (long long)T, explicit_states ? "s" : "");
    br->x = rc_input(g, name, RC_I32, RC_SHAPE(B, T));
    br->y = rc_input(g, "next", RC_I32, RC_SHAPE(B, T));
    rc_node *h = rc_embedding_apply(m->emb, g, br->x, &rng, NULL);
    for (int l = 0; l < m->cfg.layers && h; l++) {
        rc_cell *c = rc_rnn_cell(m->rnn[l]);
        rc_rnn_call call = {.rng = &rng};
        rc_node *init[RC_MAX_STATES];
        if (explicit_states) {
            for (int k = 0; k < c->nstates; k++) {
                char sn[32];
                snprintf(sn, sizeof sn, "state_%d_%d", l, k);
                init[k] = br->state_in[br->nstates + k] = rc_input(g, sn, RC_F32, RC_SHAPE(B, c->state_size[k]));
            }
            call.initial_state = init, call.ninitial = c->nstates;
        }
        rc_rnn_out o;
        if (rc_rnn_apply(m->rnn[l], g, h, &call, &o) != RC_OK) return rc_graph_status(g);
        if (explicit_states)
            for (int k = 0; k < o.nstates; k++) br->state_out[br->nstates++] = o.state[k];
        h = o.output;
    }
    br->logits = rc_dense_apply(m->out, g, h, &rng);
    br->xent = rc_sparse_softmax_xent(g, br->logits, br->y);
    br->loss = rc_mean(g, br->xent, RC_ALL_AXES, false);
    if (rc_graph_error(g)) return rc_graph_status(g);
    if (!m->built) {
        /* First branch: the layers have just created their weights. */
        m->built = true;
        m->nparams = 0;
        m->params[m->nparams++] = rc_embedding_params(m->emb)[0];
        for (int l = 0; l < m->cfg.layers; l++) {
            rc_cell *c = rc_rnn_cell(m->rnn[l]);
            for (int p = 0; p < c->nparams; p++) m->params[m->nparams++] = c->params[p];
        }
        for (int p = 0; p < rc_dense_nparams(m->out); p++) m->params[m->nparams++] = rc_dense_params(m->out)[p];
        if (m->cfg.init == CHARLM_INIT_TORCH) torch_init(m, &rng);
    }
    return RC_OK;
}

rc_status charlm_eval_split(charlm *m, const int32_t *split, int64_t len, int64_t count, charlm_branch *br,
                            rc_plan *plan, double *nats, char *msg, size_t msglen) {
    (void)m;
    int64_t T = br->T, B = br->B;
    int64_t *starts = rc_malloc((size_t)count * sizeof *starts);
    if (!starts) return snprintf(msg, msglen, "out of memory"), RC_ERR_NOMEM;
    rc_status s = rc_eval_starts(len, T, count, starts, NULL);
    if (s != RC_OK) {
        snprintf(msg, msglen, "the split has %lld tokens: too short for windows of %lld", (long long)len,
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
        for (int k = 0; k < br->nstates; k++) memset(rc_node_data(br->state_in[k]), 0, rc_tensor_bytes(rc_node_value(br->state_in[k])));
        rc_error rerr;
        s = rc_plan_run(plan, &rerr);
        if (s != RC_OK) {
            snprintf(msg, msglen, "%s", rerr.message);
            break;
        }
        const float *xe = rc_plan_f32(plan, br->xent);
        for (int64_t i = 0; i < rows * T; i++) total += xe[i];
    }
    rc_free(starts);
    if (s == RC_OK) *nats = total / (double)(count * T);
    return s;
}

int charlm_sample(const float *logits, int64_t V, double temperature, rc_rng *rng) {
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

void charlm_config_str(const charlm_config *c, char *buf, size_t len) {
    snprintf(buf, len, "cell=%s vocab=%lld embed=%lld units=%lld layers=%d init=%s", cell_names[c->cell],
             (long long)c->vocab, (long long)c->embed, (long long)c->units, c->layers, init_names[c->init]);
}

bool charlm_config_parse(const char *s, charlm_config *c, char *msg, size_t msglen) {
    char cell[16] = "", init[16] = "";
    long long vocab, embed, units;
    int layers, n = 0;
    if (!s || sscanf(s, "cell=%15s vocab=%lld embed=%lld units=%lld layers=%d init=%15s%n", cell, &vocab, &embed,
                     &units, &layers, init, &n) != 6 || s[n] != '\0') {
        snprintf(msg, msglen, "model config '%s' is not a recur char-LM description", s ? s : "(none)");
        return false;
    }
    if (!charlm_cell_parse(cell, &c->cell) || !charlm_init_parse(init, &c->init) || vocab < 2 ||
        vocab > (1 << 24) || embed < 1 || embed > 65536 || units < 1 || units > 65536 || layers < 1 ||
        layers > CHARLM_MAX_LAYERS) {
        snprintf(msg, msglen, "model config '%s' has an unknown cell or a size out of range", s);
        return false;
    }
    c->vocab = vocab, c->embed = embed, c->units = units, c->layers = layers;
    return true;
}

rc_status charlm_config_from_file(const char *path, charlm_config *c, char *msg, size_t msglen) {
    rc_safetensors *st = NULL;
    rc_error e;
    rc_status s = cli_msg(rc_safetensors_read(path, &st, &e), &e, msg, msglen);
    if (s != RC_OK) return s;
    const char *cfg = rc_safetensors_meta(st, "config");
    char why[256];
    if (cfg && strncmp(cfg, "imported ", 9) == 0) {
        /* Its layers are the imported model's (lm_import.c rebuilds it). */
        snprintf(msg, msglen, "'%s' holds a model trained from an imported model (%s), not the built-in char LM",
                 path, cfg);
        s = RC_ERR_FORMAT;
    } else if (!cfg || !charlm_config_parse(cfg, c, why, sizeof why)) {
        snprintf(msg, msglen, "'%s' is not a recur char-LM checkpoint: %s", path,
                 cfg ? why : "no \"config\" in its metadata");
        s = RC_ERR_FORMAT;
    }
    rc_safetensors_free(st);
    return s;
}

rc_status charlm_load_corpus(const char *spec, bool ints, rc_corpus *c, char *msg, size_t msglen) {
    if (strcmp(spec, "fortunes") == 0 && !ints) return fortunes_load(c, NULL, msg, msglen);
    rc_error e;
    return cli_msg(ints ? rc_corpus_load_ints(c, spec, 0, 0.9, &e) : rc_corpus_load_bytes(c, spec, 0.9, &e), &e, msg,
                   msglen);
}

rc_status charlm_open(const char *path, int64_t B, int64_t T, bool explicit_states, charlm *m, charlm_branch *br,
                      char *msg, size_t msglen) {
    charlm_config cfg;
    rc_status s = charlm_config_from_file(path, &cfg, msg, msglen);
    if (s != RC_OK) return s;
    if (!charlm_new(m, &cfg, 0)) return snprintf(msg, msglen, "out of memory"), RC_ERR_NOMEM;
    s = charlm_branch_new(m, B, T, explicit_states, br);
    if (s != RC_OK) snprintf(msg, msglen, "building the model failed: %s", rc_graph_error(m->g));
    rc_error e;
    if (s == RC_OK) s = cli_msg(rc_load_params(path, m->params, m->nparams, &e), &e, msg, msglen);
    if (s != RC_OK) charlm_free(m);
    return s;
}
