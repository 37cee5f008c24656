/* recur — a small seeded random number generator (xoshiro256**), so every
 * initialisation, dropout mask and data window is reproducible from a seed.
 * The state is a plain struct owned by the caller. */
#ifndef RECUR_RNG_H
#define RECUR_RNG_H

#include "recur/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_rng {
    uint64_t s[4];
} rc_rng;

void rc_rng_seed(rc_rng *r, uint64_t seed);
uint64_t rc_rng_u64(rc_rng *r);
/* Uniform in [0, 1) with 24 (float) or 53 (double) random bits. */
float rc_rng_uniform(rc_rng *r);
double rc_rng_uniform_f64(rc_rng *r);
/* Standard normal (Box-Muller). */
double rc_rng_normal(rc_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t rc_rng_below(rc_rng *r, uint64_t n);
/* Fill n floats uniformly in [lo, hi). */
void rc_rng_fill_uniform(rc_rng *r, float *x, int64_t n, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif
