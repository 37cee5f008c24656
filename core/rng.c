/* xoshiro256** seeded through splitmix64 (Blackman & Vigna). */
#include <math.h>

#include "recur/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rc_rng_seed(rc_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rc_rng_u64(rc_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rc_rng_uniform(rc_rng *r) { return (float)(rc_rng_u64(r) >> 40) * 0x1.0p-24f; }
double rc_rng_uniform_f64(rc_rng *r) { return (double)(rc_rng_u64(r) >> 11) * 0x1.0p-53; }

double rc_rng_normal(rc_rng *r) {
    /* Box-Muller; 1 - u keeps the log argument in (0, 1]. */
    double u = 1.0 - rc_rng_uniform_f64(r), v = rc_rng_uniform_f64(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

uint64_t rc_rng_below(rc_rng *r, uint64_t n) {
    /* Rejection keeps the result exactly uniform. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rc_rng_u64(r);
    while (x >= limit);
    return x % n;
}

void rc_rng_fill_uniform(rc_rng *r, float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rc_rng_uniform(r);
}
