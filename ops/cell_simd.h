/* One-pass vector kernels of the fused LSTM and GRU cells (internal to
 * ops/; the math, the planes of S and the gradient formulas are in
 * ops/lstm.c and ops/gru.c).
 * Each returns false, and does nothing, when the CPU has neither AVX-512
 * nor AVX2 + FMA; the caller then runs its plain loops. */
#ifndef RECUR_OPS_CELL_SIMD_H
#define RECUR_OPS_CELL_SIMD_H

#include <stdbool.h>
#include <stdint.h>

/* S (6, B, H) = [i, f, g, o, c', h'] from xp, hu (B, 4H) and c (B, H). */
bool rc_lstm_cell_rows(float *S, const float *xp, const float *hu, const float *cp, int64_t B, int64_t H);
/* part 0: dz (B, 4H); part 1: dc (B, H). dSg: the gate planes of dS
 * ((4, B, H)), or NULL when they are zero; dSc, dSh: (B, H). */
bool rc_lstm_grad_rows(float *out, int part, const float *S, const float *cp, const float *dSg, const float *dSc,
                       const float *dSh, int64_t B, int64_t H);

/* GRU: S (5, B, H) = [z, r, hh, hu_h, h'] from xp, hu (B, 3H), h (B, H). */
bool rc_gru_cell_rows(float *S, const float *xp, const float *hu, const float *hp, int64_t B, int64_t H);
/* part 0: dxp (B, 3H), 1: dhu (B, 3H), 2: dh (B, H). dS: all 5 planes
 * when full, else dh' alone (B, H). */
bool rc_gru_grad_rows(float *out, int part, const float *S, const float *hp, const float *dS, bool full, int64_t B,
                      int64_t H);

#endif
