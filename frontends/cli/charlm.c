/* The CLI's character-level language model (see charlm.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    rc_lm_config lc = {.cell = cfg->cell == CHARLM_LSTM ? RC_LM_LSTM : cfg->cell == CHARLM_GRU ? RC_LM_GRU
                                                                                            : RC_LM_SIMPLE_RNN,
                       .vocab = cfg->vocab, .embed = cfg->embed, .units = cfg->units, .layers = cfg->layers};
    m->model = cfg->layers <= CHARLM_MAX_LAYERS ? rc_lm_model_new(&lc) : NULL;
    bool ok = m->g && m->model;
    if (!ok) charlm_free(m);
    return ok;
}

void charlm_free(charlm *m) {
    rc_model_free(m->model);
    rc_graph_free(m->g);
    free(m->params);
    memset(m, 0, sizeof *m);
}

rc_status charlm_branch_new(charlm *m, int64_t B, int64_t T, bool explicit_states, charlm_branch *br) {
    /* Every branch draws from a generator seeded alike; only the first,
     * which builds the weights, draws anything. */
    rc_rng rng;
    rc_rng_seed(&rng, m->seed);
    rc_status s = rc_lm_branch_new(m->model, m->g, B, T, explicit_states, &rng, br);
    if (s != RC_OK || m->params) return s;
    int np = rc_model_params(m->model, NULL, 0);
    m->params = malloc((size_t)np * sizeof *m->params);
    if (!m->params) return rc_graph_fail(m->g, RC_ERR_NOMEM, "out of memory"), RC_ERR_NOMEM;
    m->nparams = rc_model_params(m->model, m->params, np);
    if (m->cfg.init == CHARLM_INIT_TORCH && (s = rc_lm_init_torch(m->model, &rng)) != RC_OK)
        rc_graph_fail(m->g, s, "initialising the weights failed: %s", rc_status_str(s));
    return s;
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

/* A checkpoint from before the model was an rc_model: the same weights
 * without the model's scope ("lstm/lstm_cell/kernel" for
 * "charlm/lstm/lstm_cell/kernel"). All or nothing, as rc_load_params. */
static rc_status load_legacy(const char *path, charlm *m) {
    rc_safetensors *st = NULL;
    if (rc_safetensors_read(path, &st, NULL) != RC_OK) return RC_ERR_IO;
    if (rc_safetensors_check_finite(st, path, NULL) != RC_OK) {
        rc_safetensors_free(st);
        return RC_ERR_FORMAT;
    }
    size_t skip = strlen(rc_model_name(m->model)) + 1;
    const rc_st_tensor **src = calloc((size_t)m->nparams, sizeof *src);
    rc_status s = src ? RC_OK : RC_ERR_NOMEM;
    for (int i = 0; s == RC_OK && i < m->nparams; i++) {
        char name[512];
        rc_node_path(m->params[i], name, sizeof name);
        src[i] = strlen(name) > skip ? rc_safetensors_find(st, name + skip) : NULL;
        if (!src[i] || src[i]->dtype != rc_node_dtype(m->params[i]) ||
            !rc_shape_eq(src[i]->shape, rc_node_shape(m->params[i])))
            s = RC_ERR_FORMAT;
    }
    for (int i = 0; s == RC_OK && i < m->nparams; i++)
        memcpy(rc_node_data(m->params[i]), src[i]->data, rc_tensor_bytes(rc_node_value(m->params[i])));
    free(src);
    rc_safetensors_free(st);
    return s;
}

rc_status charlm_open(const char *path, int64_t B, int64_t T, bool explicit_states, charlm *m, charlm_branch *br,
                      char *msg, size_t msglen) {
    charlm_config cfg;
    rc_error e = {0};
    rc_status s = charlm_config_from_file(path, &cfg, msg, msglen);
    if (s != RC_OK) return s;
    if (!charlm_new(m, &cfg, 0)) return snprintf(msg, msglen, "out of memory"), RC_ERR_NOMEM;
    s = charlm_branch_new(m, B, T, explicit_states, br);
    if (s != RC_OK) snprintf(msg, msglen, "building the model failed: %s", rc_graph_error(m->g));
    if (s == RC_OK && (s = cli_msg(rc_load_params(path, m->params, m->nparams, &e), &e, msg, msglen)) != RC_OK &&
        load_legacy(path, m) == RC_OK)
        s = RC_OK;
    if (s != RC_OK) charlm_free(m);
    return s;
}

char *charlm_legacy_copy(const char *path, const charlm *m, char *msg, size_t msglen) {
    rc_safetensors *st = NULL;
    rc_error e = {0};
    if (!m->nparams || cli_msg(rc_safetensors_read(path, &st, &e), &e, msg, msglen) != RC_OK) return NULL;
    const char *scope = rc_model_name(m->model);
    size_t skip = strlen(scope) + 1;
    char name[512];
    rc_node_path(m->params[0], name, sizeof name);
    char *tmp = NULL;
    int n = rc_safetensors_count(st);
    rc_st_tensor *t = NULL;
    char (*names)[600] = NULL;
    if (rc_safetensors_find(st, name) || strlen(name) <= skip || !rc_safetensors_find(st, name + skip)) goto done;
    /* Every weight "w" becomes "charlm/w", its slots "optimizer/w/m"
     * become "optimizer/charlm/w/m"; the step counter stays. */
    t = calloc((size_t)n, sizeof *t);
    names = calloc((size_t)n, sizeof *names);
    const char *dir = getenv("TMPDIR");
    size_t len = strlen(dir && *dir ? dir : "/tmp") + 64;
    tmp = t && names ? malloc(len) : NULL;
    if (!tmp) goto done;
    /* one name per call: replicas of `recur train` convert at once */
    static atomic_int seq;
    snprintf(tmp, len, "%s/recur-legacy-%ld-%d.safetensors", dir && *dir ? dir : "/tmp", (long)getpid(),
             atomic_fetch_add(&seq, 1));
    for (int i = 0; i < n; i++) {
        t[i] = *rc_safetensors_tensor(st, i);
        const char *w = t[i].name;
        if (!strncmp(w, "optimizer/", 10) && strcmp(w, "optimizer/iterations"))
            snprintf(names[i], sizeof names[i], "optimizer/%s/%s", scope, w + 10);
        else if (strncmp(w, "optimizer/", 10)) snprintf(names[i], sizeof names[i], "%s/%s", scope, w);
        else snprintf(names[i], sizeof names[i], "%s", w);
        t[i].name = names[i];
    }
    static const char *const keys[] = {"format", "format_version", "optimizer", "iterations", "dropout_count",
                                       "dropout_states", "rng", "config"};
    const char *meta[16];
    int nmeta = 0;
    for (int k = 0; k < 8; k++)
        if (rc_safetensors_meta(st, keys[k])) meta[nmeta++] = keys[k], meta[nmeta++] = rc_safetensors_meta(st, keys[k]);
    rc_error we = {0};
    if (cli_msg(rc_safetensors_write(tmp, t, n, meta, nmeta / 2, &we), &we, msg, msglen) != RC_OK) free(tmp), tmp = NULL;
done:
    free(t);
    free(names);
    rc_safetensors_free(st);
    return tmp;
}
