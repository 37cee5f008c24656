/* recur — weight initializers (Keras 3 definitions). Each fills a float
 * array in place from a caller-owned RNG. For a 2-D weight (rows, cols):
 * fan_in = rows, fan_out = cols (a kernel (I, 4U) counts all gates). */
#ifndef RECUR_INIT_H
#define RECUR_INIT_H

#include "recur/base.h"
#include "recur/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* U(-L, L), L = sqrt(6 / (fan_in + fan_out)) */
void rc_init_glorot_uniform(float *w, int64_t rows, int64_t cols, rc_rng *r);
/* The whole (rows, cols) matrix with orthonormal rows (rows <= cols) or
 * columns (rows > cols), times gain: QR of a standard normal matrix with
 * the signs of diag(R) folded into Q. RC_ERR_ARG for NULL pointers or an
 * empty or oversized matrix, RC_ERR_NOMEM on allocation failure; the
 * reason in err (may be NULL). */
rc_status rc_init_orthogonal(float *w, int64_t rows, int64_t cols, float gain, rc_rng *r, rc_error *err);
void rc_init_uniform(float *w, int64_t n, float lo, float hi, rc_rng *r);
void rc_init_normal(float *w, int64_t n, float mean, float stddev, rc_rng *r);
void rc_init_constant(float *w, int64_t n, float value);

#ifdef __cplusplus
}
#endif
#endif
