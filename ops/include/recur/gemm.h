/* recur — the matrix-multiply backend every matmul goes through.
 *
 * C = alpha * op(A) · op(B) + beta * C, row-major, op = transpose when the
 * flag is set; A is (M, K) after op, B is (K, N) after op, C is (M, N); lda,
 * ldb, ldc are row strides in elements. The BLAS backend calls cblas_sgemm
 * (OpenBLAS); the naive backend is recur's own plain kernel: the fallback
 * and the test oracle.
 */
#ifndef RECUR_GEMM_H
#define RECUR_GEMM_H

#include "recur/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rc_gemm_backend { RC_GEMM_BLAS = 0, RC_GEMM_NAIVE = 1 } rc_gemm_backend;

/* Process-wide choice; BLAS by default. Not to be changed during a run. */
void rc_gemm_set_backend(rc_gemm_backend b);
rc_gemm_backend rc_gemm_get_backend(void);
/* Description of the BLAS in use, e.g. "OpenBLAS 0.3.21 ... core Haswell". */
const char *rc_gemm_backend_info(void);

void rc_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc);
/* The plain kernel, whatever the backend setting. */
void rc_sgemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                    float *C, int64_t ldc);

/* Packed op(B), for products that use the same B many times (an unrolled
 * RNN's recurrent kernel, h U forward and dz Uᵀ backward at every step;
 * core/plan.c packs such an operand once per run). op(B) (K x N) is stored
 * as panels of 32 columns, each K x 32 floats contiguous, zero past N.
 *
 * rc_sgemm_packed_bytes: the size of the packed op(B) when a product of
 * these shapes would run faster from it (A not transposed, 2..64 rows, at
 * least 2 columns, the CPU's AVX-512 kernels, the BLAS backend), else 0:
 * then do not pack. rc_sgemm_pack: write it into Bp (the caller's buffer
 * of that many bytes, 64-byte aligned). rc_sgemm_packed: C = alpha A
 * op(B) + beta C from it, A (M, K) not transposed; results equal
 * rc_sgemm's to rounding (with the AVX-512 kernels the same tile as A B
 * unpacked, so for A B bit-identical to it; without them, or under the
 * naive backend, a plain loop over the panels). */
size_t rc_sgemm_packed_bytes(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K);
void rc_sgemm_pack(bool trans_b, int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp);
void rc_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *Bp,
                     float beta, float *C, int64_t ldc);

#ifdef __cplusplus
}
#endif
#endif
