/* Internal: the few-row AVX-512 GEMM kernels (ops/gemm_small.c). */
#ifndef RECUR_GEMM_IMPL_H
#define RECUR_GEMM_IMPL_H

#include <stdbool.h>
#include <stdint.h>

/* True when the CPU runs AVX-512F (checked once). */
bool rc_gemm_small_available(void);
/* C = alpha A op(B) + beta C, A not transposed; beta == 0 ignores C's old
 * contents. Only when rc_gemm_small_available(). M, N, K >= 1. */
void rc_gemm_small(bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* Whether rc_gemm_small computes A Bᵀ as (B Aᵀ)ᵀ, transposing A's rows
 * once per call (so a split should give each thread one call). */
static inline bool rc_gemm_small_uses_tn(bool trans_b, int64_t M, int64_t K) {
    return trans_b && M > 16 && K > 512;
}

/* op(B) (K x N after op) as panels of 32 columns, each K x 32 floats
 * contiguous, zero past N: Bp holds ceil(N / 32) * 32 * K floats and is
 * 64-byte aligned. */
void rc_gemm_small_pack(bool trans_b, int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp);
/* Columns [j0, j1) of C = alpha A op(B) + beta C from the packed op(B);
 * j0 a multiple of 32 (j1 anything, clamped to N). Same tile and
 * summation order as A B unpacked. */
void rc_gemm_small_packed(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                          const float *Bp, int64_t j0, int64_t j1, float beta, float *C, int64_t ldc);

#endif
