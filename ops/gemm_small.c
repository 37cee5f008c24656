/* Few-row GEMM with AVX-512: C = alpha A op(B) + beta C for small M.
 *
 * An RNN step multiplies a (B, H) state by the same recurrent kernel at
 * every step: M = batch (32) is small, the weight operand is large and
 * constant. A GotoBLAS-style sgemm (OpenBLAS) copies all of op(B) into its
 * panel layout on every call, which for these shapes costs as much as the
 * arithmetic (measured: packing 13-15 % of an LSTM h128 b32 training step,
 * the kernel itself running at ~30 % of peak). These kernels read B where
 * it lies:
 *
 *   A B  (B stored K x N): C's rows in blocks of 8, columns in panels of 32
 *        (two zmm); per k, one row segment of the panel is loaded and each
 *        of the 8 A[i][k] is broadcast into 2 FMAs: 16 accumulators, 16
 *        FMAs per 10 loads. Panels outermost, so a 32-column strip of B
 *        (K x 128 bytes) is read from memory once and from L1/L2 by the
 *        other row blocks; K is blocked by 256 so the strip fits L1.
 *   A Bᵀ (B stored N x K, row j = column j of op(B), contiguous in k):
 *        dot products: a 4 x 4 block of C keeps 16 vector accumulators over
 *        k (8 loads per 16 FMAs) and reduces each to a scalar at the end.
 *        Blocks of 4 B rows outermost, so each B row is read once. For long
 *        dot products (K > 512) and more than 16 rows, instead (B Aᵀ)ᵀ with
 *        the A B tile (tn below).
 *
 * Only trans_a == false, and only when the CPU has AVX-512F (runtime
 * check); everything else stays with BLAS. The split over threads (by
 * column ranges of C) is done by the caller, ops/gemm.c. Summation order
 * differs from BLAS, so results agree with the reference to rounding
 * (tests/core/test_gemm.c). */
#include <immintrin.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gemm_impl.h"
#include "vecmath.h"

#define T512 __attribute__((target("avx512f"), always_inline)) static inline

/* Rows of a packed panel prefetched ahead of the tile (1 KiB): the panel
 * is one contiguous stream, and at 16 rows a replica (LSTM h512) this
 * took the A B tile from ~176 to ~200 GFLOP/s on one Zen 5 core. Read in
 * place (ldb = 8 KiB) a prefetch that far ahead only costs: no prefetch. */
enum { PREFETCH_ROWS = 8 };

/* Row block of MR rows x one 32-column panel (masks m0, m1 for a short
 * panel), over k in [0, K). first: apply beta (else accumulate into C).
 * packed: B is a packed panel (ldb 32), prefetched ahead. */
T512 void nn_tile(int MR, bool packed, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                  float *C, int64_t ldc, float alpha, float beta, bool first, __mmask16 m0,
                  __mmask16 m1) {
    __m512 acc0[8], acc1[8];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < K; k++) {
        const float *b = B + k * ldb;
        if (packed) {
            _mm_prefetch((const char *)(b + PREFETCH_ROWS * 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + PREFETCH_ROWS * 32 + 16), _MM_HINT_T0);
        }
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_set1_ps(A[i * lda + k]);
            acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(first ? beta : 1.0f);
    bool read_c = !first || beta != 0.0f;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        float *c = C + i * ldc;
        __m512 r0 = _mm512_mul_ps(va, acc0[i]), r1 = _mm512_mul_ps(va, acc1[i]);
        if (read_c) {
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), r0);
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), r1);
        }
        _mm512_mask_storeu_ps(c, m0, r0);
        _mm512_mask_storeu_ps(c + 16, m1, r1);
    }
}

/* Instantiations with MR fixed, so the accumulators live in registers. */
typedef void (*nn_tile_fn)(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                           int64_t ldc, float alpha, float beta, bool first, __mmask16 m0, __mmask16 m1);
#define NN_TILE(MR, P, NAME)                                                                     \
    __attribute__((target("avx512f"), noinline)) static void NAME(                             \
        int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,           \
        int64_t ldc, float alpha, float beta, bool first, __mmask16 m0, __mmask16 m1) {         \
        nn_tile(MR, P, K, A, lda, B, ldb, C, ldc, alpha, beta, first, m0, m1);                   \
    }
NN_TILE(8, false, nn_tile_8)
NN_TILE(4, false, nn_tile_4)
NN_TILE(2, false, nn_tile_2)
NN_TILE(1, false, nn_tile_1)
NN_TILE(8, true, nn_packed_tile_8)
NN_TILE(4, true, nn_packed_tile_4)
NN_TILE(2, true, nn_packed_tile_2)
NN_TILE(1, true, nn_packed_tile_1)
/* 8, 4, 2 and 1 rows */
static const nn_tile_fn nn_tiles[4] = {nn_tile_8, nn_tile_4, nn_tile_2, nn_tile_1};
static const nn_tile_fn nn_packed_tiles[4] = {nn_packed_tile_8, nn_packed_tile_4, nn_packed_tile_2,
                                              nn_packed_tile_1};

enum { KC = 256 };

/* Masks of a panel of w <= 32 columns: its first and second 16. */
static inline void panel_masks(int64_t w, __mmask16 *m0, __mmask16 *m1) {
    *m0 = w >= 16 ? 0xFFFF : (__mmask16)((1u << w) - 1);
    *m1 = w >= 32 ? 0xFFFF : w <= 16 ? 0 : (__mmask16)((1u << (w - 16)) - 1);
}

/* All M rows of C against one panel over kc values of k: blocks of 8,
 * then 4, 2, 1 rows. */
static void nn_rows(const nn_tile_fn tile[4], int64_t M, int64_t kc, const float *A, int64_t lda, const float *b,
                    int64_t ldb, float *C, int64_t ldc, float alpha, float beta, bool first, __mmask16 m0,
                    __mmask16 m1) {
    int64_t i = 0;
    for (; i + 8 <= M; i += 8) tile[0](kc, A + i * lda, lda, b, ldb, C + i * ldc, ldc, alpha, beta, first, m0, m1);
    for (int t = 1, r = 4; t < 4; t++, r /= 2)
        if (i + r <= M) {
            tile[t](kc, A + i * lda, lda, b, ldb, C + i * ldc, ldc, alpha, beta, first, m0, m1);
            i += r;
        }
}

/* Columns [j0, j1) of C (j0 a multiple of 32), panel by panel, K in
 * blocks of KC. Element (k, j) of op(B) is at B + j * col_step + k * ldb:
 * col_step 1 for B read in place, K for packed panels (ldb 32). */
static void nn_panels(const nn_tile_fn tile[4], int64_t M, int64_t K, float alpha, const float *A, int64_t lda,
                      const float *B, int64_t ldb, int64_t col_step, int64_t j0, int64_t j1, float beta, float *C,
                      int64_t ldc) {
    for (int64_t j = j0; j < j1; j += 32) {
        __mmask16 m0, m1;
        panel_masks(j1 - j, &m0, &m1); /* a range may end inside a panel */
        for (int64_t k = 0; k < K; k += KC) {
            int64_t kc = K - k < KC ? K - k : KC;
            nn_rows(tile, M, kc, A + k, lda, B + j * col_step + k * ldb, ldb, C + j, ldc, alpha, beta, k == 0, m0,
                    m1);
        }
    }
}

static void nn(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B,
               int64_t ldb, float beta, float *C, int64_t ldc) {
    nn_panels(nn_tiles, M, K, alpha, A, lda, B, ldb, 1, 0, N, beta, C, ldc);
}

/* C[i][j] for i < MR, j < NR: dot products of A's rows with B's rows. */
T512 void nt_tile(int MR, int NR, int64_t K, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float *C, int64_t ldc, float alpha, float beta) {
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) b[j] = _mm512_loadu_ps(B + j * ldb + k);
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_loadu_ps(A + i * lda + k);
#pragma GCC unroll 4
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
        }
    }
    if (k < K) {
        __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
        __m512 b[4];
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) b[j] = _mm512_maskz_loadu_ps(m, B + j * ldb + k);
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_maskz_loadu_ps(m, A + i * lda + k);
#pragma GCC unroll 4
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) {
            float s = alpha * _mm512_reduce_add_ps(acc[i][j]);
            float *c = C + i * ldc + j;
            *c = beta == 0.0f ? s : s + beta * *c;
        }
}

#define NT_TILE(MR, NR)                                                                          \
    __attribute__((target("avx512f"), noinline)) static void nt_tile_##MR##_##NR(              \
        int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,           \
        int64_t ldc, float alpha, float beta) {                                                  \
        nt_tile(MR, NR, K, A, lda, B, ldb, C, ldc, alpha, beta);                                 \
    }
NT_TILE(4, 4)
NT_TILE(2, 4)
NT_TILE(1, 4)
NT_TILE(4, 1)
NT_TILE(2, 1)
NT_TILE(1, 1)

/* Rows of C in blocks of 4, then 2, then 1, against NR rows of B. */
#define NT_ROWS(NR)                                                                              \
    do {                                                                                         \
        int64_t i = 0;                                                                           \
        for (; i + 4 <= M; i += 4)                                                               \
            nt_tile_4_##NR(K, A + i * lda, lda, b, ldb, C + i * ldc + j, ldc, alpha, beta);      \
        if (i + 2 <= M) {                                                                        \
            nt_tile_2_##NR(K, A + i * lda, lda, b, ldb, C + i * ldc + j, ldc, alpha, beta);      \
            i += 2;                                                                              \
        }                                                                                        \
        if (i < M) nt_tile_1_##NR(K, A + i * lda, lda, b, ldb, C + i * ldc + j, ldc, alpha, beta); \
    } while (0)

static void nt(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    int64_t j = 0;
    for (; j + 4 <= N; j += 4) {
        const float *b = B + j * ldb;
        NT_ROWS(4);
    }
    for (; j < N; j++) {
        const float *b = B + j * ldb;
        NT_ROWS(1);
    }
}

/* A Bᵀ as (B Aᵀ)ᵀ: the same register tile as A B with the roles swapped.
 * A's rows (at most 32 at a time, the tile's two zmm) are transposed into
 * a (k, 32) chunk on the stack, 512 k at a time; 8 rows of B (= 8 columns
 * of C) are broadcast against each chunk row, so B, the large operand, is
 * read once from memory in its stored order and no horizontal sums are
 * needed. The 8 x 32 tile of Cᵀ is written back transposed. */
enum { KT = 512 };

T512 void tn_tile(int NR, int64_t kc, const float *At, const float *B, int64_t ldb, float *C,
                  int64_t ldc, int64_t mw, float alpha, float beta, bool first) {
    __m512 acc0[8], acc1[8];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        __m512 a0 = _mm512_load_ps(At + k * 32), a1 = _mm512_load_ps(At + k * 32 + 16);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m512 b = _mm512_set1_ps(B[r * ldb + k]);
            acc0[r] = _mm512_fmadd_ps(b, a0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(b, a1, acc1[r]);
        }
    }
    float t[8][32] __attribute__((aligned(64)));
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        _mm512_store_ps(t[r], _mm512_mul_ps(_mm512_set1_ps(alpha), acc0[r]));
        _mm512_store_ps(t[r] + 16, _mm512_mul_ps(_mm512_set1_ps(alpha), acc1[r]));
    }
    float bt = first ? beta : 1.0f;
    for (int64_t c = 0; c < mw; c++) {
        float *cr = C + c * ldc;
        if (first && beta == 0.0f)
            for (int r = 0; r < NR; r++) cr[r] = t[r][c];
        else
            for (int r = 0; r < NR; r++) cr[r] = t[r][c] + bt * cr[r];
    }
}

#define TN_TILE(NR)                                                                              \
    __attribute__((target("avx512f"), noinline)) static void tn_tile_##NR(                     \
        int64_t kc, const float *At, const float *B, int64_t ldb, float *C, int64_t ldc,         \
        int64_t mw, float alpha, float beta, bool first) {                                       \
        tn_tile(NR, kc, At, B, ldb, C, ldc, mw, alpha, beta, first);                             \
    }
TN_TILE(8)
TN_TILE(4)
TN_TILE(2)
TN_TILE(1)

/* In-register transpose of 16 rows of 16: unpack pairs of rows, shuffle
 * quads within 128-bit lanes (4 x 4 blocks), then exchange lanes. After the
 * first two stages r[4i + j] lane L holds rows 4i..4i+3 of column 4L + j. */
T512 void transpose16(__m512 r[16]) {
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        __m512 c = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD), d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
        t[j] = _mm512_shuffle_f32x4(a, b, 0x88);      /* column j */
        t[8 + j] = _mm512_shuffle_f32x4(a, b, 0xDD);  /* column 8 + j */
        t[4 + j] = _mm512_shuffle_f32x4(c, d, 0x88);  /* column 4 + j */
        t[12 + j] = _mm512_shuffle_f32x4(c, d, 0xDD); /* column 12 + j */
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* At[kk][c] = A[c * lda + kk] for c < mw (zero for mw <= c < 32), kk < kc,
 * in 16 x 16 blocks: each block reads 16 whole cache lines once. (Reading
 * A down its columns instead, with rows 8 KiB apart, maps all 32 rows to
 * one L1 set and refetches every line; that transpose alone took a sixth of
 * an LSTM h512 training step.) */
__attribute__((target("avx512f"))) static void transpose_rows(const float *A, int64_t lda, int64_t mw,
                                                              int64_t kc, float *At) {
    for (int64_t h = 0; h < 32; h += 16) {
        int64_t rows = mw - h < 0 ? 0 : mw - h > 16 ? 16 : mw - h;
        for (int64_t k = 0; k < kc; k += 16) {
            int64_t w = kc - k < 16 ? kc - k : 16;
            __mmask16 m = (__mmask16)((1u << w) - 1);
            __m512 r[16];
            for (int64_t c = 0; c < 16; c++)
                r[c] = c < rows ? _mm512_maskz_loadu_ps(m, A + (h + c) * lda + k) : _mm512_setzero_ps();
            transpose16(r);
            for (int64_t i = 0; i < w; i++) _mm512_store_ps(At + (k + i) * 32 + h, r[i]);
        }
    }
}

__attribute__((target("avx512f"))) static void tn(int64_t M, int64_t N, int64_t K, float alpha,
                                                  const float *A, int64_t lda, const float *B,
                                                  int64_t ldb, float beta, float *C, int64_t ldc) {
    float At[KT * 32] __attribute__((aligned(64)));
    for (int64_t m = 0; m < M; m += 32) {
        int64_t mw = M - m < 32 ? M - m : 32;
        for (int64_t k = 0; k < K; k += KT) {
            int64_t kc = K - k < KT ? K - k : KT;
            transpose_rows(A + m * lda + k, lda, mw, kc, At);
            bool first = k == 0;
            float *c = C + m * ldc;
            int64_t j = 0;
            for (; j + 8 <= N; j += 8)
                tn_tile_8(kc, At, B + j * ldb + k, ldb, c + j, ldc, mw, alpha, beta, first);
            if (j + 4 <= N) {
                tn_tile_4(kc, At, B + j * ldb + k, ldb, c + j, ldc, mw, alpha, beta, first);
                j += 4;
            }
            if (j + 2 <= N) {
                tn_tile_2(kc, At, B + j * ldb + k, ldb, c + j, ldc, mw, alpha, beta, first);
                j += 2;
            }
            if (j < N) tn_tile_1(kc, At, B + j * ldb + k, ldb, c + j, ldc, mw, alpha, beta, first);
        }
    }
}

/* --- packed op(B) ------------------------------------------------------------
 * An unrolled RNN multiplies by the same recurrent kernel U at every step,
 * forward (h U) and backward (dz Uᵀ). Read where it lies, U (K x N, N =
 * 4H: 8 KiB rows at H 512) is walked one row per k, each row on a new
 * page, which the hardware prefetcher does not follow; Uᵀ is read by the
 * dot-product tile, whose horizontal sums and 4 x 4 register block cost
 * more than the A B tile (measured at LSTM h512 b32, 16 rows a replica:
 * the A Bᵀ tile ran at ~48 % of the FMA peak, the A B tile at ~59 %).
 * Packed once per plan run (core/plan.c), op(B) is stored as panels of 32
 * columns, each K x 32 contiguous (zero past N): the A B tile then reads
 * one 128-byte line per k in address order, and Bᵀ takes the same tile. */

__attribute__((target("avx512f"))) void rc_gemm_small_pack(bool trans_b, int64_t N, int64_t K, const float *B,
                                                            int64_t ldb, float *Bp) {
    for (int64_t j = 0; j < N; j += 32) {
        int64_t w = N - j < 32 ? N - j : 32;
        __mmask16 m0, m1;
        panel_masks(w, &m0, &m1);
        float *panel = Bp + j * K; /* panel j / 32 starts at (j / 32) * 32 * K */
        if (trans_b) {
            /* op(B)[k][c] = B[c][k]: rows j..j+w of B transposed */
            for (int64_t k = 0; k < K; k += KT) {
                int64_t kc = K - k < KT ? K - k : KT;
                transpose_rows(B + j * ldb + k, ldb, w, kc, panel + k * 32);
            }
        } else {
            /* a row of the panel: 32 floats, zero past N (masked loads) */
            for (int64_t k = 0; k < K; k++) {
                const float *b = B + k * ldb + j;
                _mm512_storeu_ps(panel + k * 32, _mm512_maskz_loadu_ps(m0, b));
                _mm512_storeu_ps(panel + k * 32 + 16, _mm512_maskz_loadu_ps(m1, b + 16));
            }
        }
    }
}

void rc_gemm_small_packed(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                          const float *Bp, int64_t j0, int64_t j1, float beta, float *C, int64_t ldc) {
    nn_panels(nn_packed_tiles, M, K, alpha, A, lda, Bp, 32, K, j0, j1 < N ? j1 : N, beta, C, ldc);
}

bool rc_gemm_small_available(void) {
    static atomic_int have = -1;
    if (have < 0) {
        /* the CPU's AVX-512F, unless RECUR_ISA caps it (ops/vecmath.c) */
        have = rc_vecmath_width() == 16 ? 1 : 0;
    }
    return have == 1;
}

void rc_gemm_small(bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    /* Long dot products favour the transposed form (A Bᵀ, 32 x 512 x 2048:
     * 178 vs 111 GFLOP/s on one Zen 5 core), short ones and few rows the
     * dot products (32 x 128 x 512: 168 vs 158; 8 x 512 x 2048: 119 vs
     * 48, since a chunk of Aᵀ is padded to 32 columns). */
    if (rc_gemm_small_uses_tn(trans_b, M, K))
        tn(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (trans_b)
        nt(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        nn(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
