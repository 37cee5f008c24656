/* elementwise — one op through a plan (rc_plan_run on a one-op graph: the
 * SLEEF/vector kernel plus the run's fixed cost) beside a plain scalar libm
 * loop computing the same thing, for sizes from 1K to 4M elements.
 *
 * Method: warm up, pick a repeat count so one timed run lasts >= 20 ms
 * (--quick: 5 ms), time rounds of both sides alternately, report medians;
 * the speedup is the median of per-round ratios (adjacent runs share the
 * machine's load).
 * max_rel_diff compares the two results, a cheap check that the fast kernel
 * computes the same function.
 *
 * usage: elementwise [--quick] [--threads N]
 * Output: one JSON object per line.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <recur.h>

#include "bench_util.h"

typedef struct op {
    const char *name;
    int arity;
    rc_node *(*unary)(rc_graph *, rc_node *);
    rc_node *(*binary)(rc_graph *, rc_node *, rc_node *);
} op;

static const op ops[] = {
    {"sigmoid", 1, rc_sigmoid, NULL}, {"tanh", 1, rc_tanh, NULL}, {"exp", 1, rc_exp, NULL},
    {"add", 2, NULL, rc_add},         {"mul", 2, NULL, rc_mul},
};
#define NOPS ((int)(sizeof ops / sizeof ops[0]))

/* The baseline: what a C programmer writes without thinking about vectors.
 * (The compiler may still vectorise add and mul; that is part of the bar.) */
static void libm_loop(int k, int64_t n, const float *x, const float *y, float *out) {
    switch (k) {
    case 0:
        for (int64_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case 1:
        for (int64_t i = 0; i < n; i++) out[i] = tanhf(x[i]);
        break;
    case 2:
        for (int64_t i = 0; i < n; i++) out[i] = expf(x[i]);
        break;
    case 3:
        for (int64_t i = 0; i < n; i++) out[i] = x[i] + y[i];
        break;
    default:
        for (int64_t i = 0; i < n; i++) out[i] = x[i] * y[i];
    }
}

typedef struct run_ctx {
    rc_plan *plan;
    int k;
    int64_t n;
    const float *x, *y;
    float *out;
} run_ctx;

enum { RECUR, LIBM };

static double timed(int which, const run_ctx *c, long reps) {
    double t0 = now_sec();
    for (long r = 0; r < reps; r++) {
        if (which == RECUR)
            rc_plan_run(c->plan, NULL);
        else
            libm_loop(c->k, c->n, c->x, c->y, c->out);
    }
    return now_sec() - t0;
}

static long calibrate(int which, const run_ctx *c, double target) {
    long reps = 1;
    double t;
    while ((t = timed(which, c, reps)) < target / 4 && reps < (1L << 30)) reps *= 2;
    long need = (long)ceil((double)reps * target / (t > 0 ? t : 1e-9));
    return need > reps ? need : reps;
}

static void usage(FILE *f) { fprintf(f, "usage: elementwise [--quick] [--threads N]\n"); }

int main(int argc, char **argv) {
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            int t = atoi(argv[++i]);
            if (t < 1) return usage(stderr), 2;
            openblas_set_num_threads(t);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout), 0;
        } else {
            fprintf(stderr, "elementwise: unknown argument '%s'\n", argv[i]);
            return usage(stderr), 2;
        }
    }
    const double target = quick ? 0.005 : 0.02;
    enum { MAX_ROUNDS = 7 };
    const int rounds = quick ? 3 : MAX_ROUNDS;
    static const int64_t sizes_full[] = {1 << 10, 1 << 12, 1 << 14, 1 << 16,
                                         1 << 18, 1 << 20, 1 << 22};
    static const int64_t sizes_quick[] = {1 << 10, 1 << 16, 1 << 22};
    const int64_t *sizes = quick ? sizes_quick : sizes_full;
    int nsizes = quick ? 3 : 7;

    rc_rng rng;
    rc_rng_seed(&rng, 1);
    for (int k = 0; k < NOPS; k++) {
        for (int si = 0; si < nsizes; si++) {
            int64_t n = sizes[si];
            rc_graph *g = rc_graph_new();
            rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(n));
            rc_node *y = ops[k].arity == 2 ? rc_input(g, "y", RC_F32, RC_SHAPE(n)) : NULL;
            rc_node *z = ops[k].arity == 2 ? ops[k].binary(g, x, y) : ops[k].unary(g, x);
            rc_plan *plan = z ? rc_plan_new(g, &z, 1) : NULL;
            float *out = rc_malloc_aligned((size_t)n * sizeof(float));
            if (!plan || !out) {
                fprintf(stderr, "elementwise: %s: %s\n", ops[k].name,
                        rc_graph_error(g) ? rc_graph_error(g) : "out of memory");
                return 1;
            }
            /* [-5, 5) covers the saturating and the linear parts of the curves */
            rc_rng_fill_uniform(&rng, rc_node_data(x), n, -5.0f, 5.0f);
            if (y) rc_rng_fill_uniform(&rng, rc_node_data(y), n, -5.0f, 5.0f);
            run_ctx c = {plan, k, n, rc_node_data(x), y ? rc_node_data(y) : NULL, out};

            timed(RECUR, &c, 2);
            timed(LIBM, &c, 2);
            long reps = calibrate(LIBM, &c, target);
            double t_recur[MAX_ROUNDS], t_libm[MAX_ROUNDS];
            for (int r = 0; r < rounds; r++) {
                if (r % 2) {
                    t_recur[r] = timed(RECUR, &c, reps);
                    t_libm[r] = timed(LIBM, &c, reps);
                } else {
                    t_libm[r] = timed(LIBM, &c, reps);
                    t_recur[r] = timed(RECUR, &c, reps);
                }
            }
            const float *z_val = rc_plan_f32(plan, z);
            double diff = 0;
            for (int64_t i = 0; i < n; i++)
                diff = fmax(diff, fabs((double)z_val[i] - out[i]) / fmax(fabs(out[i]), FLT_MIN));

            double ratios[MAX_ROUNDS];
            for (int r = 0; r < rounds; r++) ratios[r] = t_libm[r] / t_recur[r];
            double speedup = median(ratios, rounds);
            double elems = (double)n * (double)reps;
            double ns_recur = median(t_recur, rounds) / elems * 1e9;
            double ns_libm = median(t_libm, rounds) / elems * 1e9;
            printf("{\"bench\":\"elementwise\",\"op\":\"%s\",\"n\":%lld,"
                   "\"recur_ns_per_elem\":%.4f,\"recur_gelem_s\":%.3f,"
                   "\"libm_ns_per_elem\":%.4f,\"libm_gelem_s\":%.3f,\"speedup\":%.3f,"
                   "\"max_rel_diff\":%.3g,\"reps\":%ld}\n",
                   ops[k].name, (long long)n, ns_recur, 1.0 / ns_recur, ns_libm, 1.0 / ns_libm,
                   speedup, diff, reps);
            fflush(stdout);
            rc_free_aligned(out);
            rc_plan_free(plan);
            rc_graph_free(g);
        }
    }
    return 0;
}
