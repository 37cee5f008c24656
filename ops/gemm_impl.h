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

#endif
