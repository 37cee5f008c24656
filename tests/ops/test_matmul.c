/* GEMM backends and the matmul op: BLAS against our naive kernel (both held
 * to a rigorous float32 error bound around an exact double product), the
 * float32 op against its double reference, gradients for every transpose
 * combination and every rank case, and shape errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/gemm.h>

#include "util.h"

bool rc_gemm_small_available(void); /* ops/gemm_impl.h */

/* Unit roundoff of float32. */
#define U32 (1.0 / (1 << 24))

/* --- rc_sgemm ----------------------------------------------------------- */

typedef struct gemm_case {
    bool ta, tb;
    int64_t M, N, K, lda, ldb, ldc;
    float alpha, beta;
    float *A, *B, *C0; /* C0: C before the call */
} gemm_case;

/* Random operands stored with row strides larger than needed (pad), so the
 * leading-dimension arguments are exercised too. */
static gemm_case make_case(rc_rng *r, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                           float alpha, float beta) {
    gemm_case c = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta};
    int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    c.lda = ac + 3;
    c.ldb = bc + 1;
    c.ldc = N + 2;
    c.A = malloc((size_t)(ar * c.lda) * sizeof(float));
    c.B = malloc((size_t)(br * c.ldb) * sizeof(float));
    c.C0 = malloc((size_t)(M * c.ldc) * sizeof(float));
    rc_rng_fill_uniform(r, c.A, ar * c.lda, -1, 1);
    rc_rng_fill_uniform(r, c.B, br * c.ldb, -1, 1);
    rc_rng_fill_uniform(r, c.C0, M * c.ldc, -1, 1);
    return c;
}

static void free_case(gemm_case *c) {
    free(c->A);
    free(c->B);
    free(c->C0);
}

static float *run_case(const gemm_case *c, bool naive) {
    float *C = malloc((size_t)(c->M * c->ldc) * sizeof(float));
    memcpy(C, c->C0, (size_t)(c->M * c->ldc) * sizeof(float));
    if (naive)
        rc_sgemm_naive(c->ta, c->tb, c->M, c->N, c->K, c->alpha, c->A, c->lda, c->B, c->ldb,
                       c->beta, C, c->ldc);
    else
        rc_sgemm(c->ta, c->tb, c->M, c->N, c->K, c->alpha, c->A, c->lda, c->B, c->ldb, c->beta,
                 C, c->ldc);
    return C;
}

static double opa(const gemm_case *c, int64_t i, int64_t k) {
    return c->ta ? c->A[k * c->lda + i] : c->A[i * c->lda + k];
}
static double opb(const gemm_case *c, int64_t k, int64_t j) {
    return c->tb ? c->B[j * c->ldb + k] : c->B[k * c->ldb + j];
}

/* Asserts C (as computed by `who`) is within the rigorous float32 bound of
 * the exact result (so two kernels that pass are within twice that bound
 * of each other). A float32 dot product
 * of length K (whatever the summation order or blocking, FMA or not) has
 * |error| <= gamma_K * sum_k |a_ik b_kj| with gamma_K = K u / (1 - K u);
 * scaling by alpha, the beta C term and the final add cost three more
 * roundings, so gamma_{K+3} bounds the whole update. The exact value is
 * computed in double from the float operands (exact products, 2^-53 sums:
 * negligible here). Padding columns of C must be left untouched. */
static void check_exact(const gemm_case *c, const float *C, const char *who) {
    double gam = (double)(c->K + 3) * U32 / (1.0 - (double)(c->K + 3) * U32);
    for (int64_t i = 0; i < c->M; i++) {
        for (int64_t j = 0; j < c->N; j++) {
            double exact = 0, mag = 0;
            for (int64_t k = 0; k < c->K; k++) {
                exact += opa(c, i, k) * opb(c, k, j);
                mag += fabs(opa(c, i, k) * opb(c, k, j));
            }
            double c0 = c->C0[i * c->ldc + j];
            exact = c->alpha * exact + c->beta * c0;
            double bound = gam * (fabs(c->alpha) * mag + fabs(c->beta * c0)) + 1e-30;
            cr_assert(fabs(C[i * c->ldc + j] - exact) <= bound,
                      "%s ta=%d tb=%d M=%lld N=%lld K=%lld C[%lld,%lld] = %.9g, exact %.12g, bound %.3g", who, c->ta,
                      c->tb, (long long)c->M, (long long)c->N, (long long)c->K, (long long)i, (long long)j,
                      C[i * c->ldc + j], exact, bound);
        }
        for (int64_t j = c->N; j < c->ldc; j++)
            cr_assert_eq(C[i * c->ldc + j], c->C0[i * c->ldc + j], "%s wrote C padding", who);
    }
}

static void check_case(const gemm_case *c) {
    float *blas = run_case(c, false), *naive = run_case(c, true);
    check_exact(c, blas, "BLAS");
    check_exact(c, naive, "naive");
    free(blas);
    free(naive);
}

Test(gemm, naive_and_blas_agree_on_odd_sizes_and_every_transpose_combination) {
    static const int64_t sizes[] = {1, 7, 33, 129};
    rc_rng r;
    rc_rng_seed(&r, 1);
    for (int f = 0; f < 4; f++)
        for (int mi = 0; mi < 4; mi++)
            for (int ni = 0; ni < 4; ni++)
                for (int ki = 0; ki < 4; ki++) {
                    gemm_case c = make_case(&r, f & 1, f & 2, sizes[mi], sizes[ni], sizes[ki], 1.0f, 0.0f);
                    check_case(&c);
                    free_case(&c);
                }
}

/* The few-row AVX-512 kernels (ops/gemm_small.c, A not transposed, M <= 64)
 * on every tail: row blocks of 8/4/2/1, column panels of 32 cut by masks,
 * K blocks of 256, A Bᵀ dot products with a masked remainder (from K = 256)
 * and, above K = 512 with more than 16 rows, A Bᵀ as (B Aᵀ)ᵀ in chunks of
 * 512 k and 32 rows of A. On a CPU without AVX-512 this checks BLAS. */
static void few_rows_cases(int threads) {
    static const int64_t Ms[] = {2, 5, 8, 9, 17, 32, 33, 64};
    static const int64_t Ns[] = {2, 17, 32, 33, 100};
    static const int64_t Ks[] = {1, 17, 256, 257, 600, 1100};
    static const float ab[][2] = {{1.0f, 0.0f}, {-0.5f, 1.5f}};
    rc_set_num_threads(threads);
    rc_rng r;
    rc_rng_seed(&r, 7);
    for (int tb = 0; tb < 2; tb++)
        for (int mi = 0; mi < 8; mi++)
            for (int ni = 0; ni < 5; ni++)
                for (int ki = 0; ki < 6; ki++) {
                    const float *s = ab[(mi + ni + ki) % 2];
                    gemm_case c = make_case(&r, false, tb, Ms[mi], Ns[ni], Ks[ki], s[0], s[1]);
                    check_case(&c);
                    free_case(&c);
                }
}

Test(gemm, few_row_products_agree_with_the_exact_result_on_every_tail) { few_rows_cases(1); }

/* Products large enough to be split over threads (by columns for few rows,
 * by rows for many), in both kernels and in BLAS. */
Test(gemm, products_split_over_two_threads_agree_with_the_exact_result) {
    rc_set_num_threads(2);
    cr_assert_eq(rc_get_num_threads(), 2);
    static const struct { bool ta, tb; int64_t M, N, K; } shapes[] = {
        {false, false, 32, 1030, 130}, {false, true, 32, 515, 700}, {false, false, 1600, 96, 64},
        {true, false, 200, 700, 96},   {false, true, 100, 33, 1100}, {true, true, 70, 300, 400},
    };
    rc_rng r;
    rc_rng_seed(&r, 8);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gemm_case c = make_case(&r, shapes[i].ta, shapes[i].tb, shapes[i].M, shapes[i].N, shapes[i].K,
                                0.75f, i % 2 ? 0.0f : -1.0f);
        check_case(&c);
        free_case(&c);
    }
    few_rows_cases(2);
}

/* Splitting by columns gives every element of C the same kernel and the
 * same summation order as on one thread: the small AVX-512 kernel's
 * property (BLAS' blocking depends on the width it is given, so under
 * RECUR_ISA=avx2 the split products are held to the exact result only, in
 * products_split_over_two_threads_agree_with_the_exact_result). */
Test(gemm, few_row_products_are_bit_identical_on_one_and_two_threads) {
    if (!rc_gemm_small_available()) cr_skip_test("the small AVX-512 kernel is not in use");
    rc_rng r;
    rc_rng_seed(&r, 9);
    for (int v = 0; v < 4; v++) {
        bool tb = v & 1;
        gemm_case c = make_case(&r, false, tb, 32, 1100, v < 2 ? 512 : 1100, 1.0f, 0.0f);
        rc_set_num_threads(1);
        float *one = run_case(&c, false);
        rc_set_num_threads(2);
        float *two = run_case(&c, false);
        cr_assert(memcmp(one, two, (size_t)(c.M * c.ldc) * sizeof(float)) == 0, "tb=%d K=%lld", tb,
                  (long long)c.K);
        free(one);
        free(two);
        free_case(&c);
    }
}

Test(gemm, few_row_products_with_beta_zero_overwrite_nan) {
    for (int tb = 0; tb < 2; tb++) {
        enum { M = 9, N = 40, K = 300 };
        float *A = malloc(M * K * sizeof(float)), *B = malloc(K * N * sizeof(float)), C[M * N];
        for (int i = 0; i < M * K; i++) A[i] = 1.0f;
        for (int i = 0; i < K * N; i++) B[i] = 0.5f;
        for (int i = 0; i < M * N; i++) C[i] = NAN;
        rc_sgemm(false, tb, M, N, K, 1.0f, A, K, B, tb ? K : N, 0.0f, C, N);
        for (int i = 0; i < M * N; i++) cr_assert_eq(C[i], 150.0f, "tb=%d C[%d] = %g", tb, i, C[i]);
        free(A);
        free(B);
    }
}

/* --- packed op(B) (rc_sgemm_pack / rc_sgemm_packed) ------------------------ */

/* Packs c's op(B) into a buffer of the documented layout: panels of 32
 * columns, K x 32 floats each, zero past N. */
static float *pack_case(const gemm_case *c) {
    size_t n = (size_t)((c->N + 31) / 32 * 32 * c->K);
    float *Bp = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    rc_sgemm_pack(c->tb, c->N, c->K, c->B, c->ldb, Bp);
    return Bp;
}

static float *run_packed(const gemm_case *c, const float *Bp) {
    float *C = malloc((size_t)(c->M * c->ldc) * sizeof(float));
    memcpy(C, c->C0, (size_t)(c->M * c->ldc) * sizeof(float));
    rc_sgemm_packed(c->M, c->N, c->K, c->alpha, c->A, c->lda, Bp, c->beta, C, c->ldc);
    return C;
}

/* The packed product on every tail of the few-row kernel (row blocks of
 * 8/4/2/1, a last panel cut short, K blocks of 256), both op(B), against
 * the exact result with check_case's bound; C's padding untouched; the
 * panel layout itself (zero past N) checked element by element. Without
 * AVX-512 (RECUR_ISA=avx2) this checks the plain fallback. */
static void packed_cases(int threads) {
    static const int64_t Ms[] = {1, 2, 5, 8, 9, 17, 33, 64};
    static const int64_t Ns[] = {2, 17, 32, 33, 100};
    static const int64_t Ks[] = {1, 17, 256, 257, 600};
    static const float ab[][2] = {{1.0f, 0.0f}, {-0.5f, 1.5f}};
    rc_set_num_threads(threads);
    rc_rng r;
    rc_rng_seed(&r, 17);
    for (int tb = 0; tb < 2; tb++)
        for (int mi = 0; mi < 8; mi++)
            for (int ni = 0; ni < 5; ni++)
                for (int ki = 0; ki < 5; ki++) {
                    const float *s = ab[(mi + ni + ki) % 2];
                    gemm_case c = make_case(&r, false, tb, Ms[mi], Ns[ni], Ks[ki], s[0], s[1]);
                    float *Bp = pack_case(&c), *C = run_packed(&c, Bp);
                    for (int64_t k = 0; k < c.K; k++)
                        for (int64_t j = 0; j < (c.N + 31) / 32 * 32; j++) {
                            float want = j < c.N ? (float)opb(&c, k, j) : 0.0f;
                            cr_assert_eq(Bp[j / 32 * 32 * c.K + k * 32 + j % 32], want,
                                         "tb=%d N=%lld K=%lld k=%lld j=%lld", tb, (long long)c.N, (long long)c.K,
                                         (long long)k, (long long)j);
                        }
                    check_exact(&c, C, "packed");
                    free(C);
                    free(Bp);
                    free_case(&c);
                }
}

Test(gemm, packed_products_agree_with_the_exact_result_on_every_tail) { packed_cases(1); }
Test(gemm, packed_products_split_over_two_threads_agree_with_the_exact_result) { packed_cases(2); }

/* Packed A B runs the same tile in the same order as A B read in place,
 * and a column split keeps every element's summation: bit-identical to
 * the unpacked product and on one and two threads (A Bᵀ packed is held to
 * the exact result above: unpacked it runs other kernels). */
Test(gemm, packed_products_are_bit_identical_to_unpacked_and_across_threads) {
    if (!rc_gemm_small_available()) cr_skip_test("the small AVX-512 kernel is not in use");
    rc_rng r;
    rc_rng_seed(&r, 18);
    for (int v = 0; v < 4; v++) {
        gemm_case c = make_case(&r, false, v & 1, v < 2 ? 16 : 33, 1100, 600, 1.0f, v < 2 ? 0.0f : 0.5f);
        float *Bp = pack_case(&c);
        rc_set_num_threads(1);
        float *one = run_packed(&c, Bp), *plain = run_case(&c, false);
        rc_set_num_threads(2);
        float *two = run_packed(&c, Bp);
        size_t bytes = (size_t)(c.M * c.ldc) * sizeof(float);
        cr_assert(memcmp(one, two, bytes) == 0, "tb=%d: one and two threads differ", v & 1);
        if (!(v & 1)) cr_assert(memcmp(one, plain, bytes) == 0, "packed and unpacked A B differ");
        free(one);
        free(two);
        free(plain);
        free(Bp);
        free_case(&c);
    }
}

/* A buffer not 64-byte aligned (against the documented contract) still
 * packs, by the plain loop, to the same layout: no fault. */
Test(gemm, packing_into_an_unaligned_buffer_gives_the_same_layout) {
    rc_rng r;
    rc_rng_seed(&r, 19);
    for (int tb = 0; tb < 2; tb++) {
        gemm_case c = make_case(&r, false, tb, 4, 70, 33, 1.0f, 0.0f);
        size_t n = (size_t)(96 * c.K);
        float *good = pack_case(&c), *raw = aligned_alloc(64, (n + 16) * sizeof(float));
        rc_sgemm_pack(tb, c.N, c.K, c.B, c.ldb, raw + 1);
        cr_assert(memcmp(good, raw + 1, n * sizeof(float)) == 0, "tb=%d", tb);
        free(good);
        free(raw);
        free_case(&c);
    }
}

Test(gemm, packed_products_with_beta_zero_overwrite_nan) {
    enum { M = 9, N = 40, K = 300 };
    for (int tb = 0; tb < 2; tb++) {
        float *A = malloc(M * K * sizeof(float)), *B = malloc(K * N * sizeof(float)), C[M * N];
        float *Bp = aligned_alloc(64, 64 * K * sizeof(float));
        for (int i = 0; i < M * K; i++) A[i] = 1.0f;
        for (int i = 0; i < K * N; i++) B[i] = 0.5f;
        for (int i = 0; i < M * N; i++) C[i] = NAN;
        rc_sgemm_pack(tb, N, K, B, tb ? K : N, Bp);
        rc_sgemm_packed(M, N, K, 1.0f, A, K, Bp, 0.0f, C, N);
        for (int i = 0; i < M * N; i++) cr_assert_eq(C[i], 150.0f, "tb=%d C[%d] = %g", tb, i, C[i]);
        free(A);
        free(B);
        free(Bp);
    }
}

/* Packing is offered where it pays: few rows of A, not transposed, the
 * small AVX-512 kernel under the BLAS backend; the size is the layout's. */
Test(gemm, packed_bytes_offers_packing_only_to_few_row_products) {
    bool small = rc_gemm_small_available();
    cr_assert_eq(rc_sgemm_packed_bytes(false, false, 16, 2048, 512), small ? (size_t)2048 * 512 * 4 : 0);
    cr_assert_eq(rc_sgemm_packed_bytes(false, true, 16, 100, 7), small ? (size_t)128 * 7 * 4 : 0);
    cr_assert_eq(rc_sgemm_packed_bytes(true, false, 16, 2048, 512), 0, "A transposed");
    cr_assert_eq(rc_sgemm_packed_bytes(false, false, 1, 2048, 512), 0, "one row: sgemv");
    cr_assert_eq(rc_sgemm_packed_bytes(false, false, 65, 2048, 512), 0, "more rows than the small kernel's");
    rc_gemm_set_backend(RC_GEMM_NAIVE);
    cr_assert_eq(rc_sgemm_packed_bytes(false, false, 16, 2048, 512), 0, "naive backend");
    rc_gemm_set_backend(RC_GEMM_BLAS);
}

Test(gemm, alpha_and_beta_scale_the_product_and_the_old_c) {
    rc_rng r;
    rc_rng_seed(&r, 2);
    for (int f = 0; f < 4; f++) {
        gemm_case c = make_case(&r, f & 1, f & 2, 17, 9, 40, -1.5f, 0.75f);
        check_case(&c);
        free_case(&c);
        c = make_case(&r, f & 1, f & 2, 5, 31, 3, 0.5f, 1.0f);
        check_case(&c);
        free_case(&c);
        /* one row / one column: the matrix-vector path */
        c = make_case(&r, f & 1, f & 2, 1, 300, 70, -0.5f, 0.25f);
        check_case(&c);
        free_case(&c);
        c = make_case(&r, f & 1, f & 2, 300, 1, 70, 2.0f, -1.0f);
        check_case(&c);
        free_case(&c);
    }
}

Test(gemm, one_row_or_column_with_beta_zero_overwrites_nan) {
    /* a (1x3) . B (3x2), and B^T (2x3) . a^T (3x1): the gemv path */
    float a[3] = {1, 2, 3}, B[6] = {1, 0, 0, 1, 1, 1}, Bt[6] = {1, 0, 1, 0, 1, 1};
    float want[2] = {4, 5};
    for (int naive = 0; naive < 2; naive++) {
        void (*fn)(bool, bool, int64_t, int64_t, int64_t, float, const float *, int64_t,
                   const float *, int64_t, float, float *, int64_t) = naive ? rc_sgemm_naive : rc_sgemm;
        float C[2] = {NAN, INFINITY};
        fn(false, false, 1, 2, 3, 1.0f, a, 3, B, 2, 0.0f, C, 2);
        for (int i = 0; i < 2; i++) cr_assert_eq(C[i], want[i], "naive=%d row C[%d] = %g", naive, i, C[i]);
        float D[4] = {NAN, -1, NAN, -1}; /* column with ldc 2: D[1], D[3] untouched */
        fn(false, false, 2, 1, 3, 1.0f, Bt, 3, a, 1, 0.0f, D, 2);
        cr_assert(D[0] == 4 && D[2] == 5 && D[1] == -1 && D[3] == -1, "naive=%d column %g %g %g %g", naive, D[0],
                  D[1], D[2], D[3]);
    }
}

Test(gemm, beta_zero_overwrites_c_even_when_it_holds_nan) {
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1};
    for (int naive = 0; naive < 2; naive++) {
        float C[4] = {NAN, NAN, INFINITY, NAN};
        if (naive)
            rc_sgemm_naive(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2);
        else
            rc_sgemm(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2);
        /* [[1,2,3],[4,5,6]] . [[1,0],[0,1],[1,1]] = [[4,5],[10,11]] */
        float want[4] = {4, 5, 10, 11};
        for (int i = 0; i < 4; i++) cr_assert_eq(C[i], want[i], "naive=%d C[%d] = %g", naive, i, C[i]);
    }
}

Test(gemm, k_zero_sets_c_to_beta_c_and_empty_m_or_n_touch_nothing) {
    float A[1] = {7}, B[1] = {7};
    for (int naive = 0; naive < 2; naive++) {
        void (*fn)(bool, bool, int64_t, int64_t, int64_t, float, const float *, int64_t,
                   const float *, int64_t, float, float *, int64_t) = naive ? rc_sgemm_naive : rc_sgemm;
        float C[6] = {1, 2, 3, 4, 5, 6};
        fn(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3);
        for (int i = 0; i < 6; i++) cr_assert_eq(C[i], 0.5f * (float)(i + 1));
        fn(true, true, 2, 3, 0, 1.0f, A, 2, B, 1, 0.0f, C, 3);
        for (int i = 0; i < 6; i++) cr_assert_eq(C[i], 0.0f);
        float D[3] = {1, 2, 3};
        fn(false, false, 0, 3, 4, 1.0f, A, 4, B, 3, 0.0f, D, 3);
        fn(false, false, 3, 0, 4, 1.0f, A, 4, B, 1, 0.0f, D, 1);
        for (int i = 0; i < 3; i++) cr_assert_eq(D[i], (float)(i + 1));
    }
}

Test(gemm, naive_backend_setting_routes_rc_sgemm_to_the_plain_kernel) {
    cr_assert_eq(rc_gemm_get_backend(), RC_GEMM_BLAS, "BLAS is the default");
    rc_rng r;
    rc_rng_seed(&r, 3);
    gemm_case c = make_case(&r, false, true, 13, 11, 57, 1.0f, 0.0f);
    rc_gemm_set_backend(RC_GEMM_NAIVE);
    cr_assert_eq(rc_gemm_get_backend(), RC_GEMM_NAIVE);
    float *via = run_case(&c, false), *direct = run_case(&c, true);
    rc_gemm_set_backend(RC_GEMM_BLAS);
    cr_assert_eq(memcmp(via, direct, (size_t)(c.M * c.ldc) * sizeof(float)), 0,
                 "rc_sgemm under RC_GEMM_NAIVE must be bit-identical to rc_sgemm_naive");
    free(via);
    free(direct);
    free_case(&c);
}

Test(gemm, backend_info_names_openblas_and_its_core_and_is_built_once) {
    const char *s = rc_gemm_backend_info();
    cr_assert_not_null(s);
    cr_assert(strstr(s, "OpenBLAS"), "info: %s", s);
    cr_assert(strstr(s, "core "), "info: %s", s);
    cr_assert_eq(rc_gemm_backend_info(), s, "the same static string every call");
}

/* --- the matmul op ------------------------------------------------------ */

/* Shapes of a and b as stored for a product op(a)·op(b) of sizes M, K, N. */
static rc_shape a_shape(bool ta, int64_t M, int64_t K) { return ta ? RC_SHAPE(K, M) : RC_SHAPE(M, K); }
static rc_shape b_shape(bool tb, int64_t K, int64_t N) { return tb ? RC_SHAPE(N, K) : RC_SHAPE(K, N); }

/* Tolerance for matmul's float32 kernel against the double reference with
 * inputs in [-1, 1]: the dot-product bound gamma_K * sum |a_ik b_kj| with
 * sum |a_ik b_kj| <= K, i.e. about K^2 u. Rigorous, and it grows with K. */
static double mm_atol(int64_t K) { return 1.01 * (double)K * (double)K * U32; }

Test(matmul, exact_product_of_small_integer_matrices) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 4});
    rc_node *b = rc_const(g, RC_SHAPE(2, 2), (float[]){5, 6, 7, 8});
    float out[4];
    tu_eval(g, rc_matmul(g, a, b, false, false), out);
    float ab[4] = {19, 22, 43, 50};
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], ab[i]);
    tu_eval(g, rc_matmul(g, a, b, true, false), out); /* [[1,3],[2,4]]·b */
    float atb[4] = {26, 30, 38, 44};
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], atb[i]);
    tu_eval(g, rc_matmul(g, a, b, false, true), out); /* a·[[5,7],[6,8]] */
    float abt[4] = {17, 23, 39, 53};
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], abt[i]);
    tu_eval(g, rc_matmul(g, a, b, true, true), out);
    float atbt[4] = {23, 31, 34, 46};
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], atbt[i]);
    rc_graph_free(g);
}

Test(matmul, float32_kernel_matches_reference_for_2d_and_every_transpose_combination) {
    static const int64_t sizes[][3] = {{1, 1, 1}, {7, 33, 5}, {33, 7, 129}, {129, 1, 33}, {4, 129, 7}};
    for (int f = 0; f < 4; f++)
        for (int s = 0; s < 5; s++) {
            bool ta = f & 1, tb = f & 2;
            int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
            rc_graph *g = rc_graph_new();
            rc_rng r;
            rc_rng_seed(&r, (uint64_t)(10 * f + s));
            rc_node *a = tu_param(g, "a", a_shape(ta, M, K), &r, -1, 1);
            rc_node *b = tu_param(g, "b", b_shape(tb, K, N), &r, -1, 1);
            rc_node *c = rc_matmul(g, a, b, ta, tb);
            tu_assert_ok(g);
            cr_assert(rc_shape_eq(rc_node_shape(c), RC_SHAPE(M, N)));
            tu_check_forward(g, c, mm_atol(K), 0);
            rc_graph_free(g);
        }
}

Test(matmul, float32_kernel_matches_reference_for_flattened_and_batched_cases) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 20);
    /* (B, T, K)·(K, N) and (B, T, K)·(N, K)ᵀ: one GEMM over B·T rows */
    rc_node *x3 = tu_param(g, "x3", RC_SHAPE(3, 5, 33), &r, -1, 1);
    rc_node *w = tu_param(g, "w", RC_SHAPE(33, 7), &r, -1, 1);
    rc_node *wt = tu_param(g, "wt", RC_SHAPE(7, 33), &r, -1, 1);
    rc_node *y = rc_matmul(g, x3, w, false, false);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(3, 5, 7)));
    tu_check_forward(g, y, mm_atol(33), 0);
    tu_check_forward(g, rc_matmul(g, x3, wt, false, true), mm_atol(33), 0);
    /* rank 4 */
    rc_node *x4 = tu_param(g, "x4", RC_SHAPE(2, 3, 4, 33), &r, -1, 1);
    rc_node *y4 = rc_matmul(g, x4, w, false, false);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(y4), RC_SHAPE(2, 3, 4, 7)));
    tu_check_forward(g, y4, mm_atol(33), 0);
    /* batched, every flag combination: (S, M, K)·(S, K, N) -> (S, M, N) */
    const int64_t S = 3, M = 6, K = 17, N = 9;
    for (int f = 0; f < 4; f++) {
        bool ta = f & 1, tb = f & 2;
        rc_node *a = tu_param(g, "a", ta ? RC_SHAPE(S, K, M) : RC_SHAPE(S, M, K), &r, -1, 1);
        rc_node *b = tu_param(g, "b", tb ? RC_SHAPE(S, N, K) : RC_SHAPE(S, K, N), &r, -1, 1);
        rc_node *c = rc_matmul(g, a, b, ta, tb);
        tu_assert_ok(g);
        cr_assert(rc_shape_eq(rc_node_shape(c), RC_SHAPE(S, M, N)));
        tu_check_forward(g, c, mm_atol(K), 0);
    }
    rc_graph_free(g);
}

Test(matmul, batched_product_equals_separate_2d_products) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_node *a = tu_param(g, "a", RC_SHAPE(2, 3, 4), &r, -1, 1);
    rc_node *b = tu_param(g, "b", RC_SHAPE(2, 4, 5), &r, -1, 1);
    float all[30], one[15];
    tu_eval(g, rc_matmul(g, a, b, false, false), all);
    for (int s = 0; s < 2; s++) {
        rc_node *as = rc_reshape(g, rc_slice(g, a, 0, s, s + 1), RC_SHAPE(3, 4));
        rc_node *bs = rc_reshape(g, rc_slice(g, b, 0, s, s + 1), RC_SHAPE(4, 5));
        tu_eval(g, rc_matmul(g, as, bs, false, false), one);
        for (int i = 0; i < 15; i++) cr_assert_eq(all[15 * s + i], one[i], "batch %d element %d", s, i);
    }
    rc_graph_free(g);
}

Test(matmul, gradients_pass_the_gradient_check_for_every_transpose_combination) {
    for (int f = 0; f < 4; f++) {
        bool ta = f & 1, tb = f & 2;
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 30 + (uint64_t)f);
        rc_node *a = tu_param(g, "a", a_shape(ta, 3, 4), &r, -1, 1);
        rc_node *b = tu_param(g, "b", b_shape(tb, 4, 5), &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_matmul(g, a, b, ta, tb), &r);
        tu_check_gradients(g, loss, (rc_node *[]){a, b}, 2, 0, 0);
        rc_graph_free(g);
    }
}

Test(matmul, gradients_pass_for_rank3_and_rank4_a_with_2d_b) {
    for (int tb = 0; tb < 2; tb++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 40 + (uint64_t)tb);
        rc_node *x3 = tu_param(g, "x3", RC_SHAPE(2, 3, 4), &r, -1, 1);
        rc_node *x4 = tu_param(g, "x4", RC_SHAPE(2, 2, 3, 4), &r, -1, 1);
        rc_node *w = tu_param(g, "w", tb ? RC_SHAPE(5, 4) : RC_SHAPE(4, 5), &r, -1, 1);
        rc_node *l3 = tu_weighted_sum(g, rc_matmul(g, x3, w, false, tb), &r);
        tu_check_gradients(g, l3, (rc_node *[]){x3, w}, 2, 0, 0);
        rc_node *l4 = tu_weighted_sum(g, rc_matmul(g, x4, w, false, tb), &r);
        tu_check_gradients(g, l4, (rc_node *[]){x4, w}, 2, 0, 0);
        rc_graph_free(g);
    }
}

Test(matmul, gradients_pass_for_batched_products_with_every_transpose_combination) {
    for (int f = 0; f < 4; f++) {
        bool ta = f & 1, tb = f & 2;
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 50 + (uint64_t)f);
        rc_node *a = tu_param(g, "a", ta ? RC_SHAPE(2, 4, 3) : RC_SHAPE(2, 3, 4), &r, -1, 1);
        rc_node *b = tu_param(g, "b", tb ? RC_SHAPE(2, 5, 4) : RC_SHAPE(2, 4, 5), &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_matmul(g, a, b, ta, tb), &r);
        tu_check_gradients(g, loss, (rc_node *[]){a, b}, 2, 0, 0);
        rc_graph_free(g);
    }
}

Test(matmul, second_derivatives_pass_the_gradient_check) {
    /* The gradient of a bilinear map is linear in the other operand, so
     * differentiating sum(W2 * dL/da) w.r.t. b exercises matmul's gradient
     * of its own gradient nodes. */
    for (int f = 0; f < 4; f++) {
        bool ta = f & 1, tb = f & 2;
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 60 + (uint64_t)f);
        rc_node *a = tu_param(g, "a", a_shape(ta, 3, 4), &r, -1, 1);
        rc_node *b = tu_param(g, "b", b_shape(tb, 4, 2), &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_tanh(g, rc_matmul(g, a, b, ta, tb)), &r), *da;
        cr_assert_eq(rc_gradients(g, loss, &a, 1, &da), RC_OK, "%s", rc_graph_error(g));
        tu_check_gradients(g, tu_weighted_sum(g, da, &r), (rc_node *[]){a, b}, 2, 0, 0);
        rc_graph_free(g);
    }
}

/* Builds a product that must fail; asserts NULL and the message. */
static void expect_error(rc_shape sa, rc_shape sb, bool ta, bool tb, const char *want) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_input(g, "a", RC_F32, sa), *b = rc_input(g, "b", RC_F32, sb);
    cr_assert_null(rc_matmul(g, a, b, ta, tb));
    cr_assert_not_null(rc_graph_error(g));
    cr_assert(strstr(rc_graph_error(g), want), "error '%s' lacks '%s'", rc_graph_error(g), want);
    cr_assert(strstr(rc_graph_error(g), "matmul"), "error names the op: %s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(matmul, inner_dimension_mismatch_names_both_shapes) {
    expect_error(RC_SHAPE(2, 3), RC_SHAPE(4, 5), false, false, "inner dimensions differ: (2, 3) · (4, 5)");
    /* with flags the message still names the stored shapes, and the flags */
    expect_error(RC_SHAPE(2, 3), RC_SHAPE(3, 5), true, false, "(2, 3) · (3, 5)");
    expect_error(RC_SHAPE(2, 3), RC_SHAPE(3, 5), true, false, "transposed");
    expect_error(RC_SHAPE(2, 3), RC_SHAPE(3, 5), false, true, "inner dimensions differ");
    expect_error(RC_SHAPE(2, 5, 3), RC_SHAPE(4, 5), false, false, "(2, 5, 3) · (4, 5)");
    expect_error(RC_SHAPE(2, 5, 3), RC_SHAPE(2, 4, 5), false, false, "inner dimensions differ");
}

Test(matmul, batch_size_mismatch_is_an_error) {
    expect_error(RC_SHAPE(2, 3, 4), RC_SHAPE(3, 4, 5), false, false, "(2, 3, 4) · (3, 4, 5)");
}

Test(matmul, unsupported_rank_combinations_are_errors) {
    expect_error(RC_SHAPE(4), RC_SHAPE(4, 5), false, false, "(4) · (4, 5)");
    expect_error(RC_SHAPE(2, 4), RC_SHAPE(2, 4, 5), false, false, "(2, 4) · (2, 4, 5)");
    expect_error(RC_SHAPE(2, 2, 3, 4), RC_SHAPE(2, 2, 4, 5), false, false, "(2, 2, 3, 4) · (2, 2, 4, 5)");
    /* flattening the rows of a leaves nothing to transpose */
    expect_error(RC_SHAPE(2, 3, 4), RC_SHAPE(3, 5), true, false, "(2, 3, 4) · (3, 5)");
}

Test(matmul, int32_operand_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_input(g, "a", RC_I32, RC_SHAPE(2, 3)), *b = rc_input(g, "b", RC_F32, RC_SHAPE(3, 2));
    cr_assert_null(rc_matmul(g, a, b, false, false));
    cr_assert(strstr(rc_graph_error(g), "expected float32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- matmul_acc: acc + aᵀ b ----------------------------------------------- */

Test(matmul_acc, exact_sum_of_small_integer_matrices) {
    rc_graph *g = rc_graph_new();
    rc_node *acc = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 1, 1, -1});
    rc_node *a = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 4});
    rc_node *b = rc_const(g, RC_SHAPE(2, 2), (float[]){5, 6, 7, 8});
    float out[4], want[4] = {27, 31, 39, 43}; /* acc + [[26,30],[38,44]] */
    tu_eval(g, rc_matmul_acc(g, acc, a, b), out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], want[i]);
    rc_graph_free(g);
}

/* A chain of sums whose running value dies at each step runs in place: the
 * arena holds one (M, N) buffer, and the values match the reference. */
Test(matmul_acc, chain_runs_in_one_buffer_and_matches_reference) {
    const int64_t M = 13, N = 7, K = 9;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_node *p = tu_param(g, "p", RC_SHAPE(K, M), &r, -1, 1), *q = tu_param(g, "q", RC_SHAPE(K, N), &r, -1, 1);
    rc_node *y = rc_matmul(g, p, q, true, false);
    for (int k = 0; k < 3; k++)
        y = rc_matmul_acc(g, y, tu_param(g, "a", RC_SHAPE(K, M), &r, -1, 1), tu_param(g, "b", RC_SHAPE(K, N), &r, -1, 1));
    tu_assert_ok(g);
    rc_plan *pl = rc_plan_new(g, &y, 1);
    cr_assert(pl, "%s", rc_graph_error(g));
    size_t one = ((size_t)(M * N) * sizeof(float) + 63) & ~(size_t)63;
    cr_assert_eq(rc_plan_peak_bytes(pl), one, "arena %zu bytes, one buffer is %zu", rc_plan_peak_bytes(pl), one);
    rc_plan_free(pl);
    tu_check_forward(g, y, mm_atol(4 * K), 0);
    rc_graph_free(g);
}

/* A running value still read later is not overwritten: it is copied. */
Test(matmul_acc, input_read_later_is_not_overwritten) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 4});
    rc_node *b = rc_const(g, RC_SHAPE(2, 2), (float[]){5, 6, 7, 8});
    rc_node *acc = rc_matmul(g, a, b, false, false); /* [[19,22],[43,50]] */
    rc_node *y = rc_matmul_acc(g, acc, a, b);       /* + [[26,30],[38,44]] */
    rc_node *outs[2] = {y, rc_add(g, acc, acc)};
    rc_plan *pl = rc_plan_new(g, outs, 2);
    cr_assert(pl, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_run(pl, NULL), RC_OK);
    const float *vy = rc_plan_f32(pl, outs[0]), *v2 = rc_plan_f32(pl, outs[1]);
    float wy[4] = {45, 52, 81, 94}, w2[4] = {38, 44, 86, 100};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(vy[i], wy[i]);
        cr_assert_eq(v2[i], w2[i]);
    }
    rc_plan_free(pl);
    rc_graph_free(g);
}

Test(matmul_acc, gradients_pass_the_gradient_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 6);
    rc_node *acc = tu_param(g, "acc", RC_SHAPE(4, 3), &r, -1, 1), *a = tu_param(g, "a", RC_SHAPE(5, 4), &r, -1, 1),
            *b = tu_param(g, "b", RC_SHAPE(5, 3), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_matmul_acc(g, acc, a, b), &r);
    tu_check_gradients(g, loss, (rc_node *[]){acc, a, b}, 3, 0, 0);
    rc_graph_free(g);
}

Test(matmul_acc, mismatched_shapes_name_all_three) {
    rc_graph *g = rc_graph_new();
    rc_node *acc = rc_input(g, "acc", RC_F32, RC_SHAPE(4, 3)), *a = rc_input(g, "a", RC_F32, RC_SHAPE(5, 4)),
            *b = rc_input(g, "b", RC_F32, RC_SHAPE(6, 3));
    cr_assert_null(rc_matmul_acc(g, acc, a, b));
    cr_assert(strstr(rc_graph_error(g), "matmul_acc") && strstr(rc_graph_error(g), "(4, 3)") &&
                  strstr(rc_graph_error(g), "(5, 4)") && strstr(rc_graph_error(g), "(6, 3)"),
              "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* RECUR_ISA caps the kernels recur dispatches itself (ops/vecmath.c): the
 * *_avx2 tests of tests/meson.build run the golden, gradcheck and sweep
 * suites with RECUR_ISA=avx2 and rely on this. */
const char *rc_vecmath_isa(void);

Test(isa, the_recur_isa_cap_is_honoured) {
    const char *cap = getenv("RECUR_ISA");
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (cap && !strcmp(cap, "scalar")) {
        cr_assert_str_eq(rc_vecmath_isa(), "scalar");
        cr_assert(!rc_gemm_small_available());
    } else if (cap && !strcmp(cap, "avx2")) {
        cr_assert_str_eq(rc_vecmath_isa(), avx2 ? "avx2" : "scalar");
        cr_assert(!rc_gemm_small_available());
    } else {
        cr_assert_str_eq(rc_vecmath_isa(), avx512 ? "avx512f" : avx2 ? "avx2" : "scalar");
        cr_assert_eq(rc_gemm_small_available(), avx512);
    }
}
