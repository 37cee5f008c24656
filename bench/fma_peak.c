/* fma_peak — the machine's float32 FMA peak, measured: every thread runs
 * independent chains of vector FMAs (acc = acc * m + a, 24 accumulators, so
 * latency never limits) for a fixed count and the rate is
 *   FLOPs = threads * iters * 24 accumulators * lanes * 2 (an FMA is 2 FLOPs)
 * over wall time. AVX-512 (16 lanes) when the CPU has it, else AVX2+FMA (8).
 * This is the denominator of "fraction of FMA peak" in bench/README.md.
 *
 * usage: fma_peak [--threads N] [--iters N] [--reps R]
 * Output: one JSON line per thread count 1..N, best of R repetitions.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

typedef struct job {
    long iters;
    int avx512;
    float sink;
    double t0, t1; /* the worker's own start and end */
    pthread_barrier_t *start;
} job;

#define NACC 24

__attribute__((target("avx512f"))) static float chains512(long iters) {
    __m512 acc[NACC];
    for (int k = 0; k < NACC; k++) acc[k] = _mm512_set1_ps(1.0f + 1e-3f * (float)k);
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
    for (long i = 0; i < iters; i++)
#pragma GCC unroll 24 /* keeps every accumulator in a register */
        for (int k = 0; k < NACC; k++) acc[k] = _mm512_fmadd_ps(acc[k], m, a);
    float s = 0;
    for (int k = 0; k < NACC; k++) s += _mm512_reduce_add_ps(acc[k]);
    return s;
}

__attribute__((target("avx2,fma"))) static float chains256(long iters) {
    __m256 acc[NACC];
    for (int k = 0; k < NACC; k++) acc[k] = _mm256_set1_ps(1.0f + 1e-3f * (float)k);
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
    for (long i = 0; i < iters; i++)
#pragma GCC unroll 24
        for (int k = 0; k < NACC; k++) acc[k] = _mm256_fmadd_ps(acc[k], m, a);
    float buf[8], s = 0;
    for (int k = 0; k < NACC; k++) {
        _mm256_storeu_ps(buf, acc[k]);
        for (int j = 0; j < 8; j++) s += buf[j];
    }
    return s;
}

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    j->t0 = now_sec();
    j->sink = j->avx512 ? chains512(j->iters) : chains256(j->iters);
    j->t1 = now_sec();
    return NULL;
}

int main(int argc, char **argv) {
    /* many short bursts, best kept: on a shared machine some burst finds
     * the cores free (measured on the reference machine: 230 GFLOP/s per
     * core, 457 for 2; long runs under load report a fraction of that) */
    int threads = 2, reps = 300;
    long iters = 300000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--iters") == 0) iters = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: fma_peak [--threads N] [--iters N] [--reps R]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || iters < 1 || reps < 1) {
        fprintf(stderr, "fma_peak: bad arguments\n");
        return 2;
    }
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        fprintf(stderr, "fma_peak: the CPU has neither AVX-512 nor AVX2+FMA\n");
        return 1;
    }
    int lanes = avx512 ? 16 : 8;
    for (int n = 1; n <= threads; n++) {
        double best = 1e300;
        float sink = 0;
        for (int r = 0; r < reps; r++) {
            pthread_t tid[256];
            job jobs[256];
            pthread_barrier_t start;
            pthread_barrier_init(&start, NULL, (unsigned)n + 1);
            for (int k = 0; k < n; k++) {
                jobs[k] = (job){.iters = iters, .avx512 = avx512, .start = &start};
                pthread_create(&tid[k], NULL, worker, &jobs[k]);
            }
            pthread_barrier_wait(&start);
            /* wall time from the first worker's start to the last one's end
             * (timed by the workers: the main thread may be descheduled) */
            double t0 = 1e300, t1 = 0;
            for (int k = 0; k < n; k++) {
                pthread_join(tid[k], NULL);
                if (jobs[k].t0 < t0) t0 = jobs[k].t0;
                if (jobs[k].t1 > t1) t1 = jobs[k].t1;
            }
            double dt = t1 - t0;
            pthread_barrier_destroy(&start);
            for (int k = 0; k < n; k++) sink += jobs[k].sink;
            if (dt < best) best = dt;
        }
        double flops = (double)n * (double)iters * NACC * lanes * 2.0;
        printf("{\"bench\":\"fma_peak\",\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.1f,\"gflops_per_thread\":%.1f,"
               "\"seconds\":%.4f,\"sink\":%g}\n",
               avx512 ? "avx512" : "avx2", n, flops / best * 1e-9, flops / best * 1e-9 / n, best, (double)sink);
    }
    return 0;
}
