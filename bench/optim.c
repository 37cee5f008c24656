/* optim — one optimizer step over P parameters of N floats each, through
 * the fused update ops in a plan (updates + step increment, gradients fed
 * as inputs so only the optimizer is timed). bench/optim_peer.py times
 * torch.optim on the same sizes; bench/compare_optim.sh runs both
 * alternately and prints the ratios.
 *
 * usage: optim [--kind sgd|sgdm|adam|rmsprop|adagrad] [--params P] [--numel N]
 *              [--clip] [--iters K] [--warmup W]
 * Output: one JSON line: median seconds per step over K timed steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <recur.h>

#include "bench_util.h"

int main(int argc, char **argv) {
    const char *kind = "adam";
    int P = 4, iters = 50, warmup = 5;
    int64_t N = 1 << 20;
    bool clip = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kind") && i + 1 < argc) kind = argv[++i];
        else if (!strcmp(argv[i], "--params") && i + 1 < argc) P = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--numel") && i + 1 < argc) N = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clip")) clip = true;
        else {
            fprintf(stderr, "usage: optim [--kind sgd|sgdm|adam|rmsprop|adagrad] [--params P] [--numel N] [--clip] "
                            "[--iters K] [--warmup W]\n");
            return 2;
        }
    }
    rc_optim_config c;
    rc_optim_kind k;
    if (!strcmp(kind, "sgdm")) {
        c = rc_optim_defaults(RC_OPT_SGD);
        c.momentum = 0.9;
    } else if (rc_optim_from_name(kind, &k)) {
        c = rc_optim_defaults(k);
    } else {
        fprintf(stderr, "optim: unknown kind '%s'\n", kind);
        return 2;
    }
    if (P < 1 || P > 64 || N < 1 || iters < 1) {
        fprintf(stderr, "optim: bad sizes\n");
        return 2;
    }
    if (clip) c.global_clipnorm = 1.0;
    rc_graph *g = rc_graph_new();
    rc_node *step = rc_input(g, "iterations", RC_I32, RC_SCALAR);
    rc_node *lr = rc_lr_schedule_node(g, &c.lr, step);
    rc_node *params[64], *grads[64], *outs[66];
    rc_rng r;
    rc_rng_seed(&r, 1);
    for (int i = 0; i < P; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "p%d", i);
        params[i] = rc_param(g, nm, RC_SHAPE(N));
        snprintf(nm, sizeof nm, "g%d", i);
        rc_node *gi = rc_input(g, nm, RC_F32, RC_SHAPE(N));
        rc_rng_fill_uniform(&r, rc_node_data(params[i]), N, -1, 1);
        rc_rng_fill_uniform(&r, rc_node_data(gi), N, -1e-3f, 1e-3f);
        grads[i] = rc_scale(g, gi, 1.0); /* a computed gradient, as in training */
    }
    rc_node *norm = clip ? rc_global_norm(g, grads, P) : NULL;
    int nout = 0;
    for (int i = 0; i < P; i++) {
        rc_node *slots[3];
        for (int s = 0; s < rc_optim_slot_count(&c); s++) {
            char nm[32];
            snprintf(nm, sizeof nm, "p%d_%s", i, rc_optim_slot_name(&c, s));
            slots[s] = rc_input(g, nm, RC_F32, RC_SHAPE(N));
        }
        outs[nout++] = rc_optim_update(g, &c, params[i], grads[i], lr, step, slots, norm);
    }
    outs[nout++] = rc_step_increment(g, step);
    rc_plan *plan = rc_plan_new(g, outs, nout);
    if (!plan) {
        fprintf(stderr, "optim: %s\n", rc_graph_error(g));
        return 1;
    }
    for (int i = 0; i < warmup; i++) rc_plan_run(plan, NULL);
    double *t = malloc((size_t)iters * sizeof *t);
    for (int i = 0; i < iters; i++) {
        double t0 = now_sec();
        rc_plan_run(plan, NULL);
        t[i] = now_sec() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    /* The timed step includes the scale(1.0) that stands in for the last
     * op producing each gradient, as a training step would have. */
    printf("{\"side\": \"recur\", \"kind\": \"%s\", \"params\": %d, \"numel\": %lld, \"clip\": %s, "
           "\"median_s\": %.6g, \"min_s\": %.6g}\n",
           kind, P, (long long)N, clip ? "true" : "false", t[iters / 2], t[0]);
    free(t);
    rc_plan_free(plan);
    rc_graph_free(g);
    return 0;
}
