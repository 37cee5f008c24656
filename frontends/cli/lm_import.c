/* Imported models as the language model of recur train/eval (see lm_import.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lm_import.h"
#include "recur/op.h"

static const char prefix[] = "imported ";

bool lm_import_is_config(const char *cfg) { return cfg && strncmp(cfg, prefix, sizeof prefix - 1) == 0; }

char *lm_import_config_str(const lm_import *m) {
    size_t n = strlen(m->path) + 64;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%svocab=%lld model=%s", prefix, (long long)m->vocab, m->path);
    return s;
}

char *lm_import_config_path(const char *cfg, char *msg, size_t msglen) {
    long long vocab;
    int n = 0;
    if (!lm_import_is_config(cfg) || sscanf(cfg, "imported vocab=%lld model=%n", &vocab, &n) != 1 || n == 0 ||
        cfg[n] == '\0') {
        snprintf(msg, msglen, "model config '%s' does not name an imported model", cfg ? cfg : "(none)");
        return NULL;
    }
    char *p = strdup(cfg + n);
    if (!p) snprintf(msg, msglen, "out of memory");
    return p;
}

void lm_import_free(lm_import *m) {
    rc_io_free(m->io);
    rc_graph_free(m->g);
    free(m->params);
    free(m->path);
    memset(m, 0, sizeof *m);
}

static void shape_str(const int64_t *d, int nd, char *buf, size_t len) {
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < nd && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, d[i] < 0 ? "%sNone" : "%s%lld", i ? ", " : "", (long long)d[i]);
    if (k < len) snprintf(buf + k, len - k, nd == 1 ? ",)" : ")");
}

rc_status lm_import_open(const char *path, int64_t B, int64_t T, int64_t vocab, lm_import *m, char *msg,
                         size_t msglen) {
    memset(m, 0, sizeof *m);
    char *abs = realpath(path, NULL);
    if (!abs) {
        snprintf(msg, msglen, "cannot open the model '%s'", path);
        return RC_ERR_IO;
    }
    rc_error e;
    rc_status s = cli_msg(rc_io_load(abs, &m->io, &e), &e, msg, msglen);
    if (s != RC_OK) {
        free(abs);
        return s;
    }
    m->path = abs;
    m->g = rc_graph_new();
    if (!m->path || !m->g) {
        lm_import_free(m);
        return snprintf(msg, msglen, "out of memory"), RC_ERR_NOMEM;
    }
    /* The input: token ids (batch, time). */
    int64_t d[RC_MAX_DIMS];
    char sh[128];
    int nin = rc_io_ninputs(m->io), nd = rc_io_input_shape(m->io, 0, d);
    shape_str(d, nd, sh, sizeof sh);
    if (nin != 1 || rc_io_input_dtype(m->io, 0) != RC_I32 || nd != 2) {
        snprintf(msg, msglen,
                 "%s: a language model needs one input of token ids (batch, time) read by an Embedding; this "
                 "model has %d input%s, the first %s of shape %s",
                 path, nin, nin == 1 ? "" : "s", rc_io_input_dtype(m->io, 0) == RC_I32 ? "int ids" : "float", sh);
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    if (d[1] > 0 && d[1] != T) {
        snprintf(msg, msglen, "%s: the model's input %s has a fixed %lld time steps, not the %lld asked for", path,
                 sh, (long long)d[1], (long long)T);
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    int64_t in_vocab = rc_io_input_vocab(m->io, 0);
    if (in_vocab < vocab) {
        snprintf(msg, msglen, "%s: the model's Embedding reads ids below %lld but the corpus has %lld token values",
                 path, (long long)in_vocab, (long long)vocab);
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    /* Build once on (B, T); dropout stays off (one branch serves training and evaluation). */
    rc_node *outs[16] = {0};
    int nout = rc_io_noutputs(m->io);
    s = cli_msg(rc_io_build_batch(m->io, m->g, B, T, &m->br.x, 1, outs, 16, &e), &e, msg, msglen);
    if (s != RC_OK) {
        lm_import_free(m);
        return s;
    }
    rc_node *lg = outs[0];
    rc_shape os = rc_node_shape(lg);
    shape_str(os.dim, os.ndim, sh, sizeof sh);
    if (nout != 1 || os.ndim != 3 || os.dim[0] != B || os.dim[1] != T) {
        snprintf(msg, msglen,
                 "%s: a language model must return per-step logits (batch, time, vocabulary) = (%lld, %lld, V); "
                 "this model returns %d output%s, the first of shape %s for input (%lld, %lld)%s",
                 path, (long long)B, (long long)T, nout, nout == 1 ? "" : "s", sh, (long long)B, (long long)T,
                 os.ndim == 2 ? " (does its last recurrent layer lack return_sequences?)" : "");
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    if (os.dim[2] < vocab) {
        snprintf(msg, msglen, "%s: the model returns %s: %lld logits per step, but the corpus has %lld token values",
                 path, sh, (long long)os.dim[2], (long long)vocab);
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    if (rc_node_op(lg)->flags & RC_OPF_PROBABILITIES) {
        /* Cross-entropy needs log-probabilities; log(softmax) is not exact in
         * float32 where probabilities underflow, so refuse instead. */
        snprintf(msg, msglen,
                 "%s: the model's output %s ends in softmax (probabilities); training needs logits: use a linear "
                 "(or log_softmax) final activation",
                 path, sh);
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    m->vocab = os.dim[2];
    /* The loss as on the built-in model's branches (recur/lm.h). */
    rc_lm_branch_on(m->g, m->br.x, lg, &m->br);
    rc_model *rm = rc_io_rc_model(m->io);
    int np = rm ? rc_model_params(rm, NULL, 0) : 0;
    m->params = np > 0 ? malloc((size_t)np * sizeof *m->params) : NULL;
    if (rc_graph_error(m->g) || !m->params) {
        snprintf(msg, msglen, "%s: %s", path,
                 rc_graph_error(m->g) ? rc_graph_error(m->g) : np <= 0 ? "the model has no weights to train" : "out of memory");
        lm_import_free(m);
        return RC_ERR_SHAPE;
    }
    m->nparams = rc_model_params(rm, m->params, np);
    return RC_OK;
}

char *lm_checkpoint_config(const char *ckpt, char *msg, size_t msglen) {
    rc_safetensors *st = NULL;
    rc_error e;
    if (cli_msg(rc_safetensors_read(ckpt, &st, &e), &e, msg, msglen) != RC_OK) return NULL;
    const char *cfg = rc_safetensors_meta(st, "config");
    char *c = cfg ? strdup(cfg) : NULL;
    if (!cfg) snprintf(msg, msglen, "'%s' is not a recur char-LM checkpoint: no \"config\" in its metadata", ckpt);
    else if (!c) snprintf(msg, msglen, "out of memory");
    rc_safetensors_free(st);
    return c;
}

rc_status lm_import_open_checkpoint(const char *ckpt, const char *cfg, int64_t B, int64_t T, int64_t corpus_vocab, lm_import *m,
                                    char *msg, size_t msglen) {
    memset(m, 0, sizeof *m);
    char *path = lm_import_config_path(cfg, msg, msglen);
    if (!path) return RC_ERR_FORMAT;
    long long vocab = 0;
    sscanf(cfg, "imported vocab=%lld", &vocab);
    char why[1024];
    rc_error e;
    rc_status s = lm_import_open(path, B, T, corpus_vocab, m, why, sizeof why);
    if (s != RC_OK)
        snprintf(msg, msglen, "checkpoint '%s' was trained from the imported model '%s', which cannot be rebuilt: %s",
                 ckpt, path, why);
    else if (m->vocab != vocab) {
        snprintf(msg, msglen, "checkpoint '%s': the model '%s' now has %lld logits per step, the checkpoint %lld", ckpt,
                 path, (long long)m->vocab, vocab);
        lm_import_free(m);
        s = RC_ERR_SHAPE;
    } else if ((s = cli_msg(rc_load_params(ckpt, m->params, m->nparams, &e), &e, msg, msglen)) != RC_OK)
        lm_import_free(m);
    free(path);
    return s;
}
