/* Vectorised elementwise math for the float32 kernels (internal to ops/).
 * SLEEF's AVX-512 or AVX2 functions, chosen once at run time from the CPU's
 * features, so one build runs on AVX2-only and AVX-512 machines; a scalar
 * libm path covers anything older. y may alias x. */
#ifndef RECUR_OPS_VECMATH_H
#define RECUR_OPS_VECMATH_H

#include <stdint.h>

#include "recur/op.h" /* RC_VECTOR_CLONES */

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


#endif
