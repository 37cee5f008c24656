/* recur generate: sample text from a trained char-LM checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>

#include "args.h"
#include "charlm.h"
#include "cli.h"

static const char generate_usage[] =
    "usage: recur generate CHECKPOINT [--length N] [--temperature T] [--seed S]\n"
    "                      [--prime TEXT]\n"
    "\n"
    "Feeds the priming text (default \"The \") through the model one token at a\n"
    "time from a zero state, then samples N tokens (300), each from\n"
    "softmax(logits / T) (T = 0.8) with a generator seeded by S (0), feeding\n"
    "every sample back in. Prints the priming text and the sample. Models with\n"
    "a vocabulary other than 256 bytes read and print integers.\n"
    "exit status: 0 generated, 1 failed (unreadable checkpoint, ...), 2 bad usage\n";

/* Run one token through the 1-step branch; the final states become the next
 * initial states. */
static rc_status feed(charlm_branch *br, rc_plan *p, int32_t tok, const float **logits) {
    *(int32_t *)rc_node_data(br->x) = tok;
    rc_status s = rc_plan_run(p);
    if (s != RC_OK) return s;
    for (int k = 0; k < br->nstates; k++)
        memcpy(rc_node_data(br->state_in[k]), rc_plan_f32(p, br->state_out[k]),
               (size_t)rc_node_numel(br->state_in[k]) * sizeof(float));
    *logits = rc_plan_f32(p, br->logits);
    return RC_OK;
}

int cmd_generate(int argc, char **argv) {
    int64_t length = 300, seed = 0;
    double temperature = 0.8;
    const char *prime = "The ";
    arg_opt opts[] = {
        OPT_INT("--length", &length, 0, 100000000),
        OPT_DBL("--temperature", &temperature, 1e-3, 100),
        OPT_INT("--seed", &seed, 0, 9007199254740992.0),
        OPT_STR("--prime", &prime),
    };
    const char *pos[1];
    int npos;
    int r = args_parse("generate", generate_usage, argc, argv, opts, 4, pos, 1, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("generate", "missing the checkpoint file");
    charlm m;
    charlm_branch br;
    char msg[1024];
    if (charlm_open(pos[0], 1, 1, true, &m, &br, msg, sizeof msg) != RC_OK) return args_fail("generate", "%s", msg);
    bool bytes = m.cfg.vocab == 256;
    int status = 1;
    rc_node *outs[1 + 2 * CHARLM_MAX_LAYERS] = {br.logits};
    for (int k = 0; k < br.nstates; k++) outs[1 + k] = br.state_out[k];
    rc_plan *p = rc_plan_new(m.g, outs, 1 + br.nstates);
    if (!p) {
        args_fail("generate", "planning failed: %s", rc_graph_error(m.g));
        goto done;
    }
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
            if (v < 0 || v >= m.cfg.vocab) {
                args_fail("generate", "priming token %ld is outside the vocabulary [0, %lld)", v,
                          (long long)m.cfg.vocab);
                goto done;
            }
            ptok[np++] = (int32_t)v, c = end;
        }
    }
    if (np == 0) {
        /* Nothing to condition on: start from token 0 ('\0' never occurs in text,
         * so use a newline for bytes). */
        ptok[np++] = bytes ? '\n' : 0;
    } else if (bytes) {
        fwrite(prime, 1, (size_t)np, stdout);
    } else {
        for (int i = 0; i < np; i++) printf("%d ", ptok[i]);
    }
    rc_rng rng;
    rc_rng_seed(&rng, (uint64_t)seed);
    const float *logits = NULL;
    rc_status s = RC_OK;
    for (int i = 0; i < np && s == RC_OK; i++) s = feed(&br, p, ptok[i], &logits);
    for (int64_t i = 0; i < length && s == RC_OK; i++) {
        int tok = charlm_sample(logits, m.cfg.vocab, temperature, &rng);
        if (bytes) putchar(tok);
        else printf("%d ", tok);
        if (i + 1 < length) s = feed(&br, p, tok, &logits);
    }
    putchar('\n');
    if (s != RC_OK) {
        args_fail("generate", "running the model failed: %s", rc_plan_error(p) ? rc_plan_error(p) : rc_status_str(s));
        goto done;
    }
    status = 0;
done:
    rc_plan_free(p);
    charlm_free(&m);
    return status;
}
