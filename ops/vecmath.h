/* Vectorised elementwise math for the float32 kernels (internal to ops/).
 * SLEEF's AVX-512 or AVX2 functions, chosen once at run time from the CPU's
 * features, so one build runs on AVX2-only and AVX-512 machines; a scalar
 * libm path covers anything older. y may alias x. */
#ifndef RECUR_OPS_VECMATH_H
#define RECUR_OPS_VECMATH_H

#include <stdint.h>

#include "recur/op.h" /* RC_VECTOR_CLONES */

#include <immintrin.h>
#include <sleef.h>

/* sleef.h declares its vector variants only when the including file is
 * compiled for that ISA; ops/ is built for the baseline and enables
 * AVX2/AVX-512 per function (vecmath.c, gru_simd.c), so it declares the
 * variants those call (unless
 * the whole file is built for that ISA, e.g. -march=native, when sleef.h
 * has declared them already). clang refuses a declaration that passes a
 * vector argument without the ISA enabled (the ABI differs), so the
 * declarations carry the ISA as a target attribute, as the functions that
 * call them do. */
#if defined(__clang__)
#define SLEEF_DECL_512 __attribute__((target("avx512f")))
#define SLEEF_DECL_256 __attribute__((target("avx2,fma")))
#else
#define SLEEF_DECL_512
#define SLEEF_DECL_256
#endif
#ifndef __AVX512F__
SLEEF_DECL_512 __m512 Sleef_expf16_u10avx512f(__m512);
SLEEF_DECL_512 __m512 Sleef_logf16_u10avx512f(__m512);
SLEEF_DECL_512 __m512 Sleef_tanhf16_u35avx512f(__m512);
SLEEF_DECL_512 __m512 Sleef_expm1f16_u10avx512f(__m512);
SLEEF_DECL_512 __m512 Sleef_log1pf16_u10avx512f(__m512);
SLEEF_DECL_512 __m512 Sleef_erfcf16_u15avx512f(__m512);
#endif
#ifndef __AVX2__
SLEEF_DECL_256 __m256 Sleef_expf8_u10avx2(__m256);
SLEEF_DECL_256 __m256 Sleef_logf8_u10avx2(__m256);
SLEEF_DECL_256 __m256 Sleef_tanhf8_u35avx2(__m256);
SLEEF_DECL_256 __m256 Sleef_expm1f8_u10avx2(__m256);
SLEEF_DECL_256 __m256 Sleef_log1pf8_u10avx2(__m256);
SLEEF_DECL_256 __m256 Sleef_erfcf8_u15avx2(__m256);
#endif

void rc_vexp(float *y, const float *x, int64_t n);
void rc_vlog(float *y, const float *x, int64_t n);
void rc_vtanh(float *y, const float *x, int64_t n);
/* 1 / (1 + exp(-x)) */
void rc_vsigmoid(float *y, const float *x, int64_t n);
/* e^x - 1, accurate near 0 (the ELU's negative branch) */
void rc_vexpm1(float *y, const float *x, int64_t n);
/* softplus log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large
 * x, and full relative accuracy (~e^x) for very negative x */
void rc_vsoftplus(float *y, const float *x, int64_t n);
/* silu x sigmoid(x) = x / (1 + e^-x) */
void rc_vsilu(float *y, const float *x, int64_t n);
/* its derivative s + x s (1 - s) = s (1 + x (1 - s)), s = sigmoid(x), with
 * 1 - s = sigmoid(-x) from its own exp: 1 - s formed from a rounded s
 * would lose all relative accuracy as s -> 1 (x s (1 - s) is then an
 * absolute error of up to |x| ulp(1) on a result near 1). */
void rc_vsilu_d(float *y, const float *x, int64_t n);
/* GELU x Phi(x) = 0.5 x erfc(-x / sqrt 2) (erfc rather than 1 + erf: no
 * cancellation in the left tail), and its derivative
 * Phi(x) + x phi(x) = 0.5 erfc(-x / sqrt 2) + x e^(-x^2/2) / sqrt(2 pi) */
void rc_vgelu(float *y, const float *x, int64_t n);
void rc_vgelu_d(float *y, const float *x, int64_t n);
/* tanh-approximate GELU 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3),
 * computed as x sigmoid(2u) (1 + tanh u = 2 sigmoid(2u): no cancellation in
 * the left tail), and its derivative
 * 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) u' = s + 2 x s (1 - s) u'
 * with s = sigmoid(2u), 1 - s = sigmoid(-2u) each from its own exp (neither
 * is then 0 * inf), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2). */
void rc_vgelu_tanh(float *y, const float *x, int64_t n);
void rc_vgelu_tanh_d(float *y, const float *x, int64_t n);
/* sum_i (a_i - b_i)^2, the differences, squares and sum in double. */
double rc_vsum_sqdiff(const float *a, const float *b, int64_t n);
/* acc[j] += sum_r x[r m + j] for the rows x of m floats, in double. */
void rc_vacc_rows(double *acc, const float *x, int64_t rows, int64_t m);
/* Floats per vector of the path chosen: 16 (AVX-512), 8 (AVX2 + FMA) or
 * 1 (scalar), for kernels elsewhere in ops/ that dispatch the same way. */
int rc_vecmath_width(void);
/* Name of the path chosen: "avx512f", "avx2" or "scalar". */
const char *rc_vecmath_isa(void);


#endif
