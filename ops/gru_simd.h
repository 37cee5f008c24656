/* One-pass vector kernels of the fused GRU cell (internal to ops/; the
 * math, the planes of S and the gradient formulas are in ops/gru.c).
 * Each returns false, and does nothing, when the CPU has neither AVX-512
 * nor AVX2 + FMA; the caller then runs its plain loops. */
#ifndef RECUR_OPS_GRU_SIMD_H
#define RECUR_OPS_GRU_SIMD_H

#include <stdbool.h>
#include <stdint.h>

/* Both compute batch rows [lo, hi) of B (planes stay B·H apart), so the
 * caller may split rows over threads.
 * GRU: S (5, B, H) = [z, r, hh, hu_h, h'] from xp, hu (B, 3H), h (B, H). */
bool rc_gru_cell_rows(float *S, const float *xp, const float *hu, const float *hp, int64_t B, int64_t H, int64_t lo,
                      int64_t hi);
/* part 0: dxp (B, 3H), 1: dhu (B, 3H), 2: dh (B, H). dS: all 5 planes
 * when full, else dh' alone (B, H). */
bool rc_gru_grad_rows(float *out, int part, const float *S, const float *hp, const float *dS, bool full, int64_t B,
                      int64_t H, int64_t lo, int64_t hi);

#endif
