/* recur generate: sample text from a trained char-LM checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>

#include "args.h"
#include "charlm.h"
#include "cli.h"
#include "lm_import.h"

static const char generate_usage[] =
    "usage: recur generate CHECKPOINT [--length N] [--temperature T] [--seed S]\n"
    "                      [--prime TEXT]\n"
    "\n"
    "Feeds the priming text (default \"The \") through the model one token at a\n"
    "time from a zero state, then samples N tokens (300), each from\n"
    "softmax(logits / T) (T = 0.8) with a generator seeded by S (0), feeding\n"
    "every sample back in. Prints the priming text and the sample. Models with\n"
    "a vocabulary other than 256 bytes read and print integers. A checkpoint of\n"
    "an imported model (train --model) is rebuilt for one sequence of priming +\n"
    "N tokens and rerun over the whole prefix for every sample (no states to\n"
    "carry; the model must be causal: a later token may not change an earlier\n"
    "step's logits, so Bidirectional models are refused).\n"
    "exit status: 0 generated, 1 failed (unreadable checkpoint, ...), 2 bad usage\n";

/* An imported model: one branch (1, np + length) rerun for every sample;
 * position t's logits give token t + 1. Tokens not yet sampled are filler,
 * which a causal model's earlier logits cannot see: checked once by
 * changing the filler. *im and *plan are freed by the caller. */
static void echo_prime(const char *prime, const int32_t *ptok, int np, bool bytes) {
    if (bytes) fwrite(prime, 1, (size_t)np, stdout);
    else
        for (int i = 0; i < np; i++) printf("%d ", ptok[i]);
}

static int generate_imported(const char *ckpt, const char *cfg, const char *prime, bool echo, const int32_t *ptok,
                             int np, int64_t length, double temperature, rc_rng *rng, bool bytes, lm_import *im,
                             rc_plan **plan) {
    char msg[1024];
    int64_t L = np + length;
    if (lm_import_open_checkpoint(ckpt, cfg, 1, L, 1, im, msg, sizeof msg) != RC_OK)
        return args_fail("generate", "%s", msg);
    int64_t V = im->vocab, in_vocab = rc_io_input_vocab(im->io, 0);
    if (in_vocab < V)
        return args_fail("generate", "the model predicts %lld token values but reads only ids below %lld: samples "
                         "cannot be fed back", (long long)V, (long long)in_vocab);
    rc_plan *p = *plan = rc_plan_new(im->g, &im->br.logits, 1);
    if (!p) return args_fail("generate", "planning failed: %s", rc_graph_error(im->g));
    int32_t *x = rc_node_data(im->br.x);
    for (int64_t t = 0; t < L; t++) x[t] = t < np ? ptok[t] : 0;
    rc_error rerr;
    rc_status s = rc_plan_run(p, &rerr);
    float *first = s == RC_OK ? malloc((size_t)V * sizeof *first) : NULL;
    if (first) {
        memcpy(first, rc_plan_f32(p, im->br.logits) + (int64_t)(np - 1) * V, (size_t)V * sizeof *first);
        for (int64_t t = np; t < L; t++) x[t] = 1;
        s = rc_plan_run(p, &rerr);
        const float *again = rc_plan_f32(p, im->br.logits) + (int64_t)(np - 1) * V;
        for (int64_t v = 0; v < V && s == RC_OK && L > np; v++)
            if (fabsf(again[v] - first[v]) > 1e-4f * (1.0f + fabsf(first[v]))) {
                free(first);
                return args_fail("generate", "the model is not causal (step %d's logits change with later tokens, "
                                 "e.g. a Bidirectional layer): it cannot generate left to right", np - 1);
            }
        free(first);
    } else if (s == RC_OK) return args_fail("generate", "out of memory");
    if (echo) echo_prime(prime, ptok, np, bytes);
    for (int64_t i = 0; i < length && s == RC_OK; i++) {
        const float *logits = rc_plan_f32(p, im->br.logits) + (np - 1 + i) * V;
        int tok = rc_lm_sample(logits, V, temperature, rng);
        if (bytes) putchar(tok);
        else printf("%d ", tok);
        x[np + i] = tok;
        if (i + 1 < length) s = rc_plan_run(p, &rerr);
    }
    putchar('\n');
    if (s != RC_OK)
        return args_fail("generate", "running the model failed: %s", rerr.message);
    return 0;
}

int cmd_generate(int argc, char **argv) {
    int64_t length = 300, seed = 0;
    double temperature = 0.8;
    const char *prime = "The ";
    arg_opt opts[] = {
        OPT_INT("--length", &length, 0, 100000000),
        OPT_DBL("--temperature", &temperature, 1e-3, 100),
        OPT_INT("--seed", &seed, 0, 9007199254740992.0),
        OPT_STRW("--prime", &prime, "a priming text"),
    };
    const char *pos[1];
    int npos;
    int r = args_parse("generate", generate_usage, argc, argv, opts, 4, pos, 1, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("generate", "missing CHECKPOINT (a checkpoint file)");
    charlm m = {0};
    lm_import im = {0};
    charlm_branch br;
    char msg[1024];
    rc_plan *p = NULL;
    int status = 1;
    int64_t vocab;
    char *cfg = lm_checkpoint_config(pos[0], msg, sizeof msg);
    bool imported = lm_import_is_config(cfg);
    if (imported) {
        long long v = 0;
        sscanf(cfg, "imported vocab=%lld", &v);
        vocab = v;
    } else {
        if (charlm_open(pos[0], 1, 1, true, &m, &br, msg, sizeof msg) != RC_OK) {
            free(cfg);
            return args_fail("generate", "%s", msg);
        }
        vocab = m.cfg.vocab;
        p = rc_lm_step_plan(m.g, &br);
        if (!p) {
            args_fail("generate", "planning failed: %s", rc_graph_error(m.g));
            goto done;
        }
    }
    bool bytes = vocab == 256;
    /* The priming tokens: bytes, or integers for a non-byte vocabulary. */
    int32_t ptok[4096];
    int np = 0;
    if (bytes) {
        for (const char *c = prime; *c && np < 4096; c++) ptok[np++] = (unsigned char)*c;
    } else {
        const char *c = prime;
        char *end;
        while (*c && np < 4096) {
            long v = strtol(c, &end, 10);
            if (end == c) break;
            if (v < 0 || v >= vocab) {
                args_fail("generate", "priming token %ld is outside the vocabulary [0, %lld)", v,
                          (long long)vocab);
                goto done;
            }
            ptok[np++] = (int32_t)v, c = end;
        }
    }
    bool echo = np > 0;
    if (np == 0) {
        /* Nothing to condition on: start from token 0 ('\0' never occurs in text,
         * so use a newline for bytes). */
        ptok[np++] = bytes ? '\n' : 0;
    }
    if (echo && !imported) echo_prime(prime, ptok, np, bytes);
    rc_rng rng;
    rc_rng_seed(&rng, (uint64_t)seed);
    if (imported) {
        status = generate_imported(pos[0], cfg, prime, echo, ptok, np, length, temperature, &rng, bytes, &im, &p);
        goto done;
    }
    const float *logits = NULL;
    rc_status s = RC_OK;
    rc_error rerr = {0};
    for (int i = 0; i < np && s == RC_OK; i++) s = rc_lm_feed(&br, p, ptok[i], &logits, &rerr);
    for (int64_t i = 0; i < length && s == RC_OK; i++) {
        int tok = rc_lm_sample(logits, vocab, temperature, &rng);
        if (bytes) putchar(tok);
        else printf("%d ", tok);
        if (i + 1 < length) s = rc_lm_feed(&br, p, tok, &logits, &rerr);
    }
    putchar('\n');
    if (s != RC_OK) {
        args_fail("generate", "running the model failed: %s", rerr.message);
        goto done;
    }
    status = 0;
done:
    rc_plan_free(p);
    if (imported) lm_import_free(&im);
    else if (m.g) charlm_free(&m);
    free(cfg);
    return status;
}
