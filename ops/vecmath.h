/* Vectorised elementwise math for the float32 kernels (internal to ops/).
 * SLEEF's AVX-512 or AVX2 functions, chosen once at run time from the CPU's
 * features, so one build runs on AVX2-only and AVX-512 machines; a scalar
 * libm path covers anything older. y may alias x. */
#ifndef RECUR_OPS_VECMATH_H
#define RECUR_OPS_VECMATH_H

#include <stdint.h>

void rc_vexp(float *y, const float *x, int64_t n);
void rc_vlog(float *y, const float *x, int64_t n);
void rc_vtanh(float *y, const float *x, int64_t n);
/* 1 / (1 + exp(-x)) */
void rc_vsigmoid(float *y, const float *x, int64_t n);
/* sum_i (a_i - b_i)^2, the differences, squares and sum in double. */
double rc_vsum_sqdiff(const float *a, const float *b, int64_t n);
/* acc[j] += sum_r x[r m + j] for the rows x of m floats, in double. */
void rc_vacc_rows(double *acc, const float *x, int64_t rows, int64_t m);
/* Floats per vector of the path chosen: 16 (AVX-512), 8 (AVX2 + FMA) or
 * 1 (scalar), for kernels elsewhere in ops/ that dispatch the same way. */
int rc_vecmath_width(void);
/* Name of the path chosen: "avx512f", "avx2" or "scalar". */
const char *rc_vecmath_isa(void);

/* For plain elementwise loops (add, mul, the fused gradients, ...): GCC
 * compiles the function three times, for AVX-512, AVX2 and the baseline
 * (SSE2), and the loader picks one for the CPU (an ifunc), so the loops are
 * vectorised 16 or 8 wide instead of 4 (measured on B·H = 4096-element
 * operands of a GRU step: see the commit). Without -ffast-math and with
 * ISO C's -ffp-contract=off every version rounds each operation the same
 * way, so the results do not depend on the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RC_VECTOR_CLONES
#endif

#endif
