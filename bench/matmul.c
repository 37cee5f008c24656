/* matmul — GFLOP/s of rc_sgemm (recur's backend) beside the same call made
 * directly to cblas_sgemm, in the same run, alternately.
 *
 * Shapes: square GEMMs and the ones an RNN makes: the per-step recurrent
 * product (B, U)·(U, G·U), the hoisted input projection (B·T, I)·(I, G·U),
 * and the two backward products dW = h^T·dz and dh = dz·W^T.
 *
 * Method: warm up, pick a repeat count so one timed run lasts >= 50 ms
 * (--quick: 10 ms), then time rounds of recur and BLAS runs, swapping which
 * goes first each round; report the median of each side. FLOPs = 2·M·N·K.
 * The ratio is the median of the per-round ratios: the two runs of a round
 * are adjacent in time, so load from other processes mostly cancels.
 *
 * usage: matmul [--quick] [--threads N] [--naive]
 * Output: one JSON object per line.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <recur.h>

#include "bench_util.h"

typedef struct point {
    const char *kind;
    int64_t M, N, K;
    bool trans_a, trans_b;
} point;

static const point points[] = {
    {"square", 64, 64, 64, false, false},
    {"square", 128, 128, 128, false, false},
    {"square", 256, 256, 256, false, false},
    {"square", 512, 512, 512, false, false},
    {"square", 1024, 1024, 1024, false, false},
    /* recurrent step h·U, batch 32, LSTM gates 4U */
    {"rnn_step", 32, 512, 128, false, false},
    {"rnn_step", 32, 1024, 256, false, false},
    {"rnn_step", 32, 2048, 512, false, false},
    {"rnn_step", 1, 512, 128, false, false},
    /* hoisted input projection over B·T = 32·50 rows */
    {"rnn_input", 1600, 512, 64, false, false},
    /* backward: dW = h^T·dz (reduces over the batch), dh = dz·W^T */
    {"rnn_dW", 128, 512, 32, true, false},
    {"rnn_dh", 32, 128, 512, false, true},
    {"rnn_dh", 32, 512, 2048, false, true},
    {"rnn_dh", 32, 32, 128, false, true},
    /* GRU: 3U gates */
    {"rnn_step", 32, 384, 128, false, false},
    {"rnn_step", 32, 1536, 512, false, false},
    {"rnn_dh", 32, 128, 384, false, true},
    /* weight gradient as one GEMM over T = 50 steps, U = 512 */
    {"rnn_dU", 512, 2048, 1600, true, false},
};
#define NPOINTS ((int)(sizeof points / sizeof points[0]))

enum { RECUR, BLAS, NAIVE };

typedef struct bufs {
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
} bufs;

static void gemm(int which, const point *p, const bufs *b) {
    switch (which) {
    case RECUR:
        rc_sgemm(p->trans_a, p->trans_b, p->M, p->N, p->K, 1.0f, b->A, b->lda, b->B, b->ldb,
                 0.0f, b->C, b->ldc);
        break;
    case BLAS:
        cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans,
                    p->trans_b ? CblasTrans : CblasNoTrans, (int)p->M, (int)p->N, (int)p->K,
                    1.0f, b->A, (int)b->lda, b->B, (int)b->ldb, 0.0f, b->C, (int)b->ldc);
        break;
    default:
        rc_sgemm_naive(p->trans_a, p->trans_b, p->M, p->N, p->K, 1.0f, b->A, b->lda, b->B,
                       b->ldb, 0.0f, b->C, b->ldc);
    }
}

static int threads = 1;

static double timed(int which, const point *p, const bufs *b, long reps) {
    /* recur's parts call BLAS single-threaded (rc_set_num_threads);
     * direct BLAS calls get the requested thread count */
    openblas_set_num_threads(which == BLAS ? threads : 1);
    double t0 = now_sec();
    for (long r = 0; r < reps; r++) gemm(which, p, b);
    return now_sec() - t0;
}

/* Repeats needed for one timed run to last at least `target` seconds. */
static long calibrate(int which, const point *p, const bufs *b, double target) {
    long reps = 1;
    double t;
    while ((t = timed(which, p, b, reps)) < target / 4 && reps < (1L << 30)) reps *= 2;
    long need = (long)ceil((double)reps * target / (t > 0 ? t : 1e-9));
    return need > reps ? need : reps;
}

static void usage(FILE *f) {
    fprintf(f, "usage: matmul [--quick] [--threads N] [--naive]\n");
}

int main(int argc, char **argv) {
    bool quick = false, naive = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--naive") == 0) {
            naive = true;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads < 1) return usage(stderr), 2;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout), 0;
        } else {
            fprintf(stderr, "matmul: unknown argument '%s'\n", argv[i]);
            return usage(stderr), 2;
        }
    }
    const double target = quick ? 0.01 : 0.05;
    enum { MAX_ROUNDS = 9 };
    const int rounds = quick ? 3 : MAX_ROUNDS;

    rc_gemm_set_backend(RC_GEMM_BLAS);
    rc_set_num_threads(threads);
    rc_rng rng;
    rc_rng_seed(&rng, 1);
    for (int pi = 0; pi < NPOINTS; pi++) {
        const point *p = &points[pi];
        /* stored shapes: A is (M, K) or (K, M) when transposed; likewise B */
        int64_t a_rows = p->trans_a ? p->K : p->M, a_cols = p->trans_a ? p->M : p->K;
        int64_t b_rows = p->trans_b ? p->N : p->K, b_cols = p->trans_b ? p->K : p->N;
        float *A = rc_malloc_aligned((size_t)(a_rows * a_cols) * sizeof(float));
        float *B = rc_malloc_aligned((size_t)(b_rows * b_cols) * sizeof(float));
        float *C = rc_malloc_aligned((size_t)(p->M * p->N) * sizeof(float));
        if (!A || !B || !C) {
            fprintf(stderr, "matmul: out of memory\n");
            return 1;
        }
        rc_rng_fill_uniform(&rng, A, a_rows * a_cols, -1.0f, 1.0f);
        rc_rng_fill_uniform(&rng, B, b_rows * b_cols, -1.0f, 1.0f);
        bufs b = {A, B, C, a_cols, b_cols, p->N};

        /* warm caches, page in C, let OpenBLAS start its threads */
        timed(BLAS, p, &b, 3);
        timed(RECUR, p, &b, 3);
        long reps = calibrate(BLAS, p, &b, target);
        double t_recur[MAX_ROUNDS], t_blas[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            if (r % 2) {
                t_recur[r] = timed(RECUR, p, &b, reps);
                t_blas[r] = timed(BLAS, p, &b, reps);
            } else {
                t_blas[r] = timed(BLAS, p, &b, reps);
                t_recur[r] = timed(RECUR, p, &b, reps);
            }
        }
        double ratios[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) ratios[r] = t_blas[r] / t_recur[r];
        double ratio = median(ratios, rounds);
        double flop = 2.0 * (double)p->M * (double)p->N * (double)p->K * (double)reps;
        double g_recur = flop / median(t_recur, rounds) * 1e-9;
        double g_blas = flop / median(t_blas, rounds) * 1e-9;

        printf("{\"bench\":\"matmul\",\"kind\":\"%s\",\"M\":%lld,\"N\":%lld,\"K\":%lld,"
               "\"trans_a\":%s,\"trans_b\":%s,\"recur_gflops\":%.3f,\"blas_gflops\":%.3f,"
               "\"ratio\":%.4f",
               p->kind, (long long)p->M, (long long)p->N, (long long)p->K,
               p->trans_a ? "true" : "false", p->trans_b ? "true" : "false", g_recur, g_blas,
               ratio);
        if (naive) {
            /* the plain kernel is 10-100x slower: fewer repeats, same target time */
            long nreps = calibrate(NAIVE, p, &b, target);
            double t_naive[MAX_ROUNDS];
            for (int r = 0; r < rounds; r++) t_naive[r] = timed(NAIVE, p, &b, nreps);
            double nflop = 2.0 * (double)p->M * (double)p->N * (double)p->K * (double)nreps;
            printf(",\"naive_gflops\":%.3f", nflop / median(t_naive, rounds) * 1e-9);
        }
        printf(",\"reps\":%ld,\"blas\":", reps);
        json_str(rc_gemm_backend_info());
        printf(",\"threads\":%d}\n", threads);
        fflush(stdout);
        rc_free_aligned(A);
        rc_free_aligned(B);
        rc_free_aligned(C);
    }
    return 0;
}
