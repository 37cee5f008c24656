/* The GEMM backend: C = alpha op(A) op(B) + beta C, row-major.
 *
 * BLAS: cblas_sgemm from OpenBLAS. Naive: our own loops, the fallback and
 * the oracle the tests hold BLAS to. Both follow the BLAS convention that
 * beta == 0 overwrites C (whatever it held, NaN included), and both treat
 * K == 0 as an empty sum: C = beta C.
 */
#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "gemm_impl.h"
#include "recur/gemm.h"
#include "recur/parallel.h"

static rc_gemm_backend backend = RC_GEMM_BLAS;

/* recur splits large products over its own threads (recur/parallel.h) and
 * calls BLAS from each part, so BLAS itself runs one thread per call: set
 * once when the library is loaded, before any product can run. */
__attribute__((constructor)) static void blas_one_thread(void) { openblas_set_num_threads(1); }

void rc_gemm_set_backend(rc_gemm_backend b) {
    if (b == RC_GEMM_BLAS || b == RC_GEMM_NAIVE) backend = b;
}

rc_gemm_backend rc_gemm_get_backend(void) { return backend; }

static char info[256];
static pthread_once_t info_once = PTHREAD_ONCE_INIT;

static void info_init(void) {
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    snprintf(info, sizeof info, "%s; core %s", cfg ? cfg : "OpenBLAS", core ? core : "unknown");
}

const char *rc_gemm_backend_info(void) {
    pthread_once(&info_once, info_init);
    return info;
}

/* C = beta C over an M x N block with row stride ldc (beta 0 writes zeros). */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
}

void rc_sgemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                    float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    scale_c(M, N, beta, C, ldc);
    if (K <= 0 || alpha == 0.0f) return;
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (!trans_b) {
            /* i-k-j: row k of B and row i of C are walked contiguously. */
            for (int64_t k = 0; k < K; k++) {
                float a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
                const float *b = B + k * ldb;
                for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else {
            /* op(B)[k, j] = B[j, k]: row j of B is contiguous in k, so each
             * C[i, j] is a dot product. */
            for (int64_t j = 0; j < N; j++) {
                const float *b = B + j * ldb;
                float s = 0.0f;
                if (trans_a)
                    for (int64_t k = 0; k < K; k++) s += A[k * lda + i] * b[k];
                else
                    for (int64_t k = 0; k < K; k++) s += A[i * lda + k] * b[k];
                c[j] += alpha * s;
            }
        }
    }
}

/* One thread's product: BLAS (or sgemv for a single row or column), or
 * the few-row AVX-512 kernels (ops/gemm_small.c) for A not transposed and
 * M <= SMALL_M, where BLAS' packing of op(B) on every call costs as much as
 * the arithmetic. */
enum { SMALL_M = 64, SMALL_NT_MIN_K = 256 };

static bool use_small(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K) {
    /* A Bᵀ reduces each dot product once at the end: with short dot
     * products (K < 256) the reductions cost more than BLAS' packing
     * (measured 0.70x BLAS at 32 x 32 x 128, 1.34x at 32 x 128 x 384). */
    return !trans_a && M > 1 && M <= SMALL_M && N > 1 && (!trans_b || K >= SMALL_NT_MIN_K) &&
           rc_gemm_small_available();
}

static void gemm1(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc) {
    if (use_small(trans_a, trans_b, M, N, K)) {
        rc_gemm_small(trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* One row or one column of C: a matrix-vector product. OpenBLAS 0.3.21's
     * sgemm packs all of op(B) on every call even for M = 1 (a batch-1 RNN
     * step packs the whole recurrent kernel 50 times per sequence), while
     * sgemv streams it once. C is zeroed here for beta == 0 so that the
     * BLAS convention (C's old contents, NaN included, are ignored) holds
     * whatever the library's scal does with 0 · NaN. */
    if (M == 1 || N == 1) {
        if (beta == 0.0f) scale_c(M, N, 0.0f, C, ldc);
        float b1 = beta == 0.0f ? 1.0f : beta;
        if (M == 1) {
            /* c (N) = op(B)ᵀ-as-stored · a: a's element k is op(A)[0, k] */
            int inca = trans_a ? (int)lda : 1;
            if (!trans_b) /* B stored (K, N): c = Bᵀ a */
                cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, alpha, B, (int)ldb, A, inca, b1, C, 1);
            else /* B stored (N, K): c = B a */
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, alpha, B, (int)ldb, A, inca, b1, C, 1);
        } else {
            /* c (M, stride ldc) = op(A) · b: b's element k is op(B)[k, 0] */
            int incb = trans_b ? 1 : (int)ldb;
            if (!trans_a) /* A stored (M, K) */
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)M, (int)K, alpha, A, (int)lda, B, incb, b1, C,
                            (int)ldc);
            else /* A stored (K, M): c = Aᵀ b */
                cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)M, alpha, A, (int)lda, B, incb, b1, C,
                            (int)ldc);
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda,
                B, (int)ldb, beta, C, (int)ldc);
}

/* A product split over threads: C's columns (or rows) in contiguous
 * ranges, one per chunk. Columns are cut at multiples of 32 (whole zmm
 * panels of the small kernel), rows at multiples of 8. Every element is
 * computed by the same kernel in the same order whichever thread takes
 * its chunk, and the chunks do not depend on load, so results are
 * reproducible run to run (and bit-identical to one thread for the small
 * kernel, whose blocking does not depend on the width it is given). */
typedef struct split_job {
    bool ta, tb, by_rows;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} split_job;

static void range(int64_t n, int64_t align, int part, int nparts, int64_t *lo, int64_t *hi) {
    int64_t blocks = (n + align - 1) / align;
    *lo = blocks * part / nparts * align;
    *hi = blocks * (part + 1) / nparts * align;
    if (*lo > n) *lo = n;
    if (*hi > n) *hi = n;
}

static void split_part(void *ctx, int part, int nparts) {
    const split_job *j = ctx;
    int64_t lo, hi;
    if (j->by_rows) {
        range(j->M, 8, part, nparts, &lo, &hi);
        if (hi <= lo) return;
        const float *a = j->A + (j->ta ? lo : lo * j->lda);
        gemm1(j->ta, j->tb, hi - lo, j->N, j->K, j->alpha, a, j->lda, j->B, j->ldb, j->beta,
              j->C + lo * j->ldc, j->ldc);
    } else {
        range(j->N, 32, part, nparts, &lo, &hi);
        if (hi <= lo) return;
        const float *b = j->B + (j->tb ? lo * j->ldb : lo);
        gemm1(j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, b, j->ldb, j->beta,
              j->C + lo, j->ldc);
    }
}

/* Fewest multiply-adds per thread for a split to pay: the hand-over costs
 * about a microsecond, 1M multiply-adds are ~5 µs of one core's AVX-512
 * arithmetic. A BLAS call has its own fixed costs (buffers, packing) that
 * a split doubles: measured, a 2M-multiply-add dW = hᵀ dz (128 x 512 x 32)
 * ran 0.5x as fast on two threads, a 52M one (1600 x 512 x 64) 1.75x. */
#define SPLIT_MIN_MACS_SMALL ((double)(1 << 19))
#define SPLIT_MIN_MACS_BLAS ((double)(1 << 23))

/* Chunks to cut a product of `macs` multiply-adds into over the threads
 * (1: run it whole here): at most per_thread chunks a thread, at least
 * min_macs a thread, at most `blocks`. */
static int64_t split_chunks(double macs, double min_macs, int64_t blocks, int per_thread) {
    int threads = rc_threads_ready();
    if (threads == 0) threads = rc_threads_prepare(); /* first product outside a plan */
    if (threads < 2 || macs < 2 * min_macs) return 1;
    int64_t parts = threads;
    if ((double)parts > macs / min_macs) parts = (int64_t)(macs / min_macs);
    int64_t chunks = parts * per_thread;
    return chunks > blocks ? blocks : chunks;
}

/* CBLAS takes int sizes; anything larger goes to the 64-bit loops. */
static bool fits_int(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
    return M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX;
}

void rc_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    if (backend == RC_GEMM_NAIVE || !fits_int(M, N, K, lda, ldb, ldc)) {
        rc_sgemm_naive(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    double macs = (double)M * (double)N * (double)K;
    bool small = use_small(trans_a, trans_b, M, N, K);
    /* split the longer side of C, if it has room for a piece per thread; a
     * few chunks per thread, fewer for BLAS, which repacks per call, and
     * one for the transposing A Bᵀ kernel, which transposes per call */
    bool by_rows = M > N;
    int64_t side = by_rows ? M : N, align = by_rows ? 8 : 32;
    int64_t chunks = split_chunks(macs, small ? SPLIT_MIN_MACS_SMALL : SPLIT_MIN_MACS_BLAS, (side + align - 1) / align,
                                  !small ? 2 : rc_gemm_small_uses_tn(trans_b, M, K) ? 1 : 4);
    if (chunks > 1) {
        split_job j = {trans_a, trans_b, by_rows, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
        rc_parallel((int)chunks, split_part, &j);
        return;
    }
    gemm1(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* --- packed op(B) (recur/gemm.h) ------------------------------------------ */

size_t rc_sgemm_packed_bytes(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K) {
    /* The few-row kernels' shapes (A not transposed, 2 <= M <= SMALL_M),
     * whatever the length of the dot products: packed, A Bᵀ takes the
     * A B tile and has no horizontal sums to amortise. One row stays with
     * sgemv. */
    if (backend != RC_GEMM_BLAS || trans_a || M < 2 || M > SMALL_M || N < 2 || K < 1 ||
        !fits_int(M, N, K, 1, 1, 1) || !rc_gemm_small_available())
        return 0;
    int64_t cols = (N + 31) / 32 * 32;
    if (cols > INT64_MAX / 4 / K) return 0;
    (void)trans_b;
    return (size_t)(cols * K) * sizeof(float);
}

void rc_sgemm_pack(bool trans_b, int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp) {
    if (N <= 0 || K <= 0) return;
    /* the AVX-512 packer stores whole 64-byte lines (a buffer that is not
     * aligned as documented takes the plain loop rather than a fault) */
    if (rc_gemm_small_available() && ((uintptr_t)Bp & 63) == 0) {
        rc_gemm_small_pack(trans_b, N, K, B, ldb, Bp);
        return;
    }
    for (int64_t j = 0; j < N; j += 32)
        for (int64_t k = 0; k < K; k++)
            for (int64_t c = 0; c < 32; c++)
                Bp[j * K + k * 32 + c] = j + c >= N ? 0.0f : trans_b ? B[(j + c) * ldb + k] : B[k * ldb + j + c];
}

typedef struct packed_job {
    int64_t M, N, K, lda, ldc;
    float alpha, beta;
    const float *A, *Bp;
    float *C;
} packed_job;

static void packed_part(void *ctx, int part, int nparts) {
    const packed_job *j = ctx;
    int64_t lo, hi;
    range(j->N, 32, part, nparts, &lo, &hi);
    if (hi > lo) rc_gemm_small_packed(j->M, j->N, j->K, j->alpha, j->A, j->lda, j->Bp, lo, hi, j->beta, j->C, j->ldc);
}

void rc_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *Bp,
                     float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    if (backend == RC_GEMM_NAIVE || !rc_gemm_small_available()) {
        /* the plain loop over the panels (a backend chosen after packing) */
        scale_c(M, N, beta, C, ldc);
        for (int64_t i = 0; i < M; i++)
            for (int64_t k = 0; k < K; k++) {
                float a = alpha * A[i * lda + k];
                for (int64_t j = 0; j < N; j++) C[i * ldc + j] += a * Bp[j / 32 * 32 * K + k * 32 + j % 32];
            }
        return;
    }
    packed_job j = {M, N, K, lda, ldc, alpha, beta, A, Bp, C};
    int64_t chunks = split_chunks((double)M * (double)N * (double)K, SPLIT_MIN_MACS_SMALL, (N + 31) / 32, 4);
    if (chunks > 1)
        rc_parallel((int)chunks, packed_part, &j);
    else
        packed_part(&j, 0, 1);
}
