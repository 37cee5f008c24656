/* SLEEF-backed vector math with run-time ISA dispatch.
 *
 * Each function processes full vectors with SLEEF and the
 * tail with a masked copy through a stack vector, so results never depend
 * on where an element sits. sigmoid(x) = 1 / (1 + exp(-x)), computed from
 * SLEEF's exp; for x < -88 exp(-x) is +inf and the result is 0, as it should.
 *
 * Accuracy: exp and log are SLEEF's 1.0-ULP variants. tanh is the 3.5-ULP
 * variant: ~3x the throughput of the 1.0-ULP one (0.43 vs 1.24 ns/element
 * on AVX-512, measured), and tanh is the hottest non-GEMM kernel of LSTM
 * training (g and tanh(c') forward, tanh(c') again in the gradient). 3.5 ULP
 * is at most 3.5 * 2^-23 = 4.2e-7 relative, under the 1e-6 the kernel tests
 * allow and far under the golden tests' 1e-4 (measured worst over a sweep
 * of [-12, 12]: 2.7 ULP, 8.9e-8 absolute). */
#include <immintrin.h>
#include <math.h>
#include <sleef.h>
#include <stdlib.h>
#include <string.h>

#include "vecmath.h"

enum { ISA_UNKNOWN, ISA_SCALAR, ISA_AVX2, ISA_AVX512 };
static int isa_cached = ISA_UNKNOWN;

static int isa(void) {
    int v = __atomic_load_n(&isa_cached, __ATOMIC_RELAXED);
    if (v != ISA_UNKNOWN) return v;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) v = ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v = ISA_AVX2;
    else v = ISA_SCALAR;
    /* RECUR_ISA=avx2 or scalar caps the kernels recur picks itself (this
     * file's SLEEF paths, the fused GRU, the AVX-512 small GEMM, which asks
     * rc_vecmath_width), so the AVX2 and scalar paths run and are tested on
     * an AVX-512 machine; any other value (avx512, unset) leaves the CPU's
     * choice. The compiler's target_clones of elementwise ops
     * (RC_VECTOR_CLONES) follow the CPU regardless. */
    const char *cap = getenv("RECUR_ISA");
    if (cap && !strcmp(cap, "avx2") && v > ISA_AVX2) v = ISA_AVX2;
    if (cap && !strcmp(cap, "scalar")) v = ISA_SCALAR;
    __atomic_store_n(&isa_cached, v, __ATOMIC_RELAXED);
    return v;
}

const char *rc_vecmath_isa(void) {
    switch (isa()) {
    case ISA_AVX512: return "avx512f";
    case ISA_AVX2: return "avx2";
    default: return "scalar";
    }
}

int rc_vecmath_width(void) {
    switch (isa()) {
    case ISA_AVX512: return 16;
    case ISA_AVX2: return 8;
    default: return 1;
    }
}

/* One macro per ISA stamps out the loop around a SLEEF vector function.
 * The body expression maps vector v to the result. */
#define DEFINE_AVX512(fname, body)                                                     \
    __attribute__((target("avx512f"))) static void fname##_avx512(float *y, const float *x, \
                                                                  int64_t n) {         \
        int64_t i = 0;                                                                 \
        for (; i + 16 <= n; i += 16) {                                                 \
            __m512 v = _mm512_loadu_ps(x + i);                                         \
            _mm512_storeu_ps(y + i, body);                                             \
        }                                                                              \
        if (i < n) {                                                                   \
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                            \
            __m512 v = _mm512_maskz_loadu_ps(m, x + i);                                \
            _mm512_mask_storeu_ps(y + i, m, body);                                     \
        }                                                                              \
    }

#define DEFINE_AVX2(fname, body)                                                       \
    __attribute__((target("avx2,fma"))) static void fname##_avx2(float *y, const float *x,  \
                                                                 int64_t n) {          \
        int64_t i = 0;                                                                 \
        for (; i + 8 <= n; i += 8) {                                                   \
            __m256 v = _mm256_loadu_ps(x + i);                                         \
            _mm256_storeu_ps(y + i, body);                                             \
        }                                                                              \
        if (i < n) {                                                                   \
            float tmp[8] = {0};                                                        \
            memcpy(tmp, x + i, (size_t)(n - i) * sizeof(float));                       \
            __m256 v = _mm256_loadu_ps(tmp);                                           \
            _mm256_storeu_ps(tmp, body);                                               \
            memcpy(y + i, tmp, (size_t)(n - i) * sizeof(float));                       \
        }                                                                              \
    }

#define ONE512 _mm512_set1_ps(1.0f)
#define ONE256 _mm256_set1_ps(1.0f)

DEFINE_AVX512(exp, Sleef_expf16_u10avx512f(v))
DEFINE_AVX512(log, Sleef_logf16_u10avx512f(v))
DEFINE_AVX512(tanh, Sleef_tanhf16_u35avx512f(v))
DEFINE_AVX512(sigmoid, _mm512_div_ps(ONE512, _mm512_add_ps(ONE512, Sleef_expf16_u10avx512f(
                                                                          _mm512_sub_ps(_mm512_setzero_ps(), v)))))
DEFINE_AVX2(exp, Sleef_expf8_u10avx2(v))
DEFINE_AVX2(log, Sleef_logf8_u10avx2(v))
DEFINE_AVX2(tanh, Sleef_tanhf8_u35avx2(v))
DEFINE_AVX2(sigmoid, _mm256_div_ps(ONE256, _mm256_add_ps(ONE256, Sleef_expf8_u10avx2(
                                                                       _mm256_sub_ps(_mm256_setzero_ps(), v)))))

static float sigmoidf_scalar(float v) { return 1.0f / (1.0f + expf(-v)); }

/* --- activations built from several SLEEF calls --------------------------
 * Each formula is written once, over a small vocabulary (P##add, P##exp,
 * ...), and instantiated for AVX-512 (v512_), AVX2 (v256_) and scalar libm
 * (v1_), so the three paths evaluate the same expression. exp, expm1 and
 * log1p are SLEEF's 1.0-ULP variants, erfc its 1.5-ULP one. */
#define V_ATTR512 __attribute__((target("avx512f"))) static inline
#define V_ATTR256 __attribute__((target("avx2,fma"))) static inline
#define V_ATTR1 static inline

V_ATTR512 __m512 v512_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
V_ATTR512 __m512 v512_sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
V_ATTR512 __m512 v512_mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
V_ATTR512 __m512 v512_div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
V_ATTR512 __m512 v512_max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
V_ATTR512 __m512 v512_abs(__m512 a) { return _mm512_abs_ps(a); }
V_ATTR512 __m512 v512_set(float c) { return _mm512_set1_ps(c); }
V_ATTR512 __m512 v512_exp(__m512 a) { return Sleef_expf16_u10avx512f(a); }
V_ATTR512 __m512 v512_log1p(__m512 a) { return Sleef_log1pf16_u10avx512f(a); }
V_ATTR512 __m512 v512_erfc(__m512 a) { return Sleef_erfcf16_u15avx512f(a); }

V_ATTR256 __m256 v256_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
V_ATTR256 __m256 v256_sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
V_ATTR256 __m256 v256_mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
V_ATTR256 __m256 v256_div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
V_ATTR256 __m256 v256_max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
V_ATTR256 __m256 v256_abs(__m256 a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
V_ATTR256 __m256 v256_set(float c) { return _mm256_set1_ps(c); }
V_ATTR256 __m256 v256_exp(__m256 a) { return Sleef_expf8_u10avx2(a); }
V_ATTR256 __m256 v256_log1p(__m256 a) { return Sleef_log1pf8_u10avx2(a); }
V_ATTR256 __m256 v256_erfc(__m256 a) { return Sleef_erfcf8_u15avx2(a); }

V_ATTR1 float v1_add(float a, float b) { return a + b; }
V_ATTR1 float v1_sub(float a, float b) { return a - b; }
V_ATTR1 float v1_mul(float a, float b) { return a * b; }
V_ATTR1 float v1_div(float a, float b) { return a / b; }
V_ATTR1 float v1_max(float a, float b) { return fmaxf(a, b); }
V_ATTR1 float v1_abs(float a) { return fabsf(a); }
V_ATTR1 float v1_set(float c) { return c; }
V_ATTR1 float v1_exp(float a) { return expf(a); }
V_ATTR1 float v1_log1p(float a) { return log1pf(a); }
V_ATTR1 float v1_erfc(float a) { return erfcf(a); }

#define GELU_RSQRT2 0.70710678118654752f   /* 1 / sqrt 2 */
#define GELU_RSQRT2PI 0.39894228040143268f /* 1 / sqrt(2 pi) */
#define GELU_C 0.79788456080286536f        /* sqrt(2 / pi) */
#define GELU_K 0.044715f

/* See vecmath.h for the math of each. In the tanh GELU, 2u is formed as
 * x (2c + 2ck x^2); x > 0 and x < 0 give e^-2u = 0 and inf at the far ends,
 * which the divisions turn into the limits (x and -0). */
#define DEFINE_FORMULAS(P, VT, A)                                                          \
    A VT P##softplus(VT v) {                                                  \
        VT e = P##exp(P##sub(P##set(0.0f), P##abs(v)));                              \
        return P##add(P##max(v, P##set(0.0f)), P##log1p(e));                          \
    }                                                                                  \
    A VT P##silu(VT v) {                                                      \
        return P##div(v, P##add(P##set(1.0f), P##exp(P##sub(P##set(0.0f), v))));      \
    }                                                                                  \
    A VT P##silu_d(VT v) {                                                    \
        VT s = P##div(P##set(1.0f), P##add(P##set(1.0f), P##exp(P##sub(P##set(0.0f), v)))); \
        VT sbar = P##div(P##set(1.0f), P##add(P##set(1.0f), P##exp(v)));              \
        return P##mul(s, P##add(P##set(1.0f), P##mul(v, sbar)));                      \
    }                                                                                  \
    A VT P##gelu(VT v) {                                                      \
        return P##mul(P##mul(P##set(0.5f), v), P##erfc(P##mul(v, P##set(-GELU_RSQRT2)))); \
    }                                                                                  \
    A VT P##gelu_d(VT v) {                                                    \
        VT cdf = P##mul(P##set(0.5f), P##erfc(P##mul(v, P##set(-GELU_RSQRT2))));    \
        VT pdf = P##mul(P##set(GELU_RSQRT2PI), P##exp(P##mul(P##mul(v, v), P##set(-0.5f)))); \
        return P##add(cdf, P##mul(v, pdf));                                            \
    }                                                                                  \
    A VT P##gelu_tanh(VT v) {                                                 \
        VT x2 = P##mul(v, v);                                                        \
        VT u2 = P##mul(v, P##add(P##set(2 * GELU_C), P##mul(P##set(2 * GELU_C * GELU_K), x2))); \
        return P##div(v, P##add(P##set(1.0f), P##exp(P##sub(P##set(0.0f), u2))));     \
    }                                                                                  \
    A VT P##gelu_tanh_d(VT v) {                                               \
        VT x2 = P##mul(v, v);                                                        \
        VT u2 = P##mul(v, P##add(P##set(2 * GELU_C), P##mul(P##set(2 * GELU_C * GELU_K), x2))); \
        VT s = P##div(P##set(1.0f), P##add(P##set(1.0f), P##exp(P##sub(P##set(0.0f), u2)))); \
        VT sbar = P##div(P##set(1.0f), P##add(P##set(1.0f), P##exp(u2)));           \
        VT du = P##add(P##set(GELU_C), P##mul(P##set(3 * GELU_C * GELU_K), x2));    \
        VT t = P##mul(P##mul(P##set(2.0f), v), P##mul(sbar, du));                    \
        return P##mul(s, P##add(P##set(1.0f), t));                                     \
    }

DEFINE_FORMULAS(v512_, __m512, V_ATTR512)
DEFINE_FORMULAS(v256_, __m256, V_ATTR256)
DEFINE_FORMULAS(v1_, float, V_ATTR1)

#define DISPATCH(fname, scalar)                                                        \
    void rc_v##fname(float *y, const float *x, int64_t n) {                             \
        switch (isa()) {                                                               \
        case ISA_AVX512: fname##_avx512(y, x, n); break;                               \
        case ISA_AVX2: fname##_avx2(y, x, n); break;                                   \
        default:                                                                       \
            for (int64_t i = 0; i < n; i++) y[i] = scalar(x[i]);                       \
        }                                                                              \
    }

DISPATCH(exp, expf)
DISPATCH(log, logf)
DISPATCH(tanh, tanhf)
DISPATCH(sigmoid, sigmoidf_scalar)

DEFINE_AVX512(expm1, Sleef_expm1f16_u10avx512f(v))
DEFINE_AVX2(expm1, Sleef_expm1f8_u10avx2(v))
DISPATCH(expm1, expm1f)
#define ACTIVATION(f)                                                                  \
    DEFINE_AVX512(f, v512_##f(v))                                                      \
    DEFINE_AVX2(f, v256_##f(v))                                                        \
    DISPATCH(f, v1_##f)
ACTIVATION(softplus)
ACTIVATION(silu)
ACTIVATION(silu_d)
ACTIVATION(gelu)
ACTIVATION(gelu_d)
ACTIVATION(gelu_tanh)
ACTIVATION(gelu_tanh_d)

/* --- double-accumulated sums of float data ------------------------------
 * Both convert to double before adding (the result is then accurate to its
 * final float rounding however many terms there are) and keep several
 * independent vector accumulators, so neither is one serial chain of adds;
 * the summation order differs from a left-to-right loop only by double
 * roundings (2^-53 relative each). */

__attribute__((target("avx512f"))) static double sqdiff_avx512(const float *a, const float *b, int64_t n) {
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i)));
        __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 8)),
                                   _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 8)));
        __m512d d2 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 16)),
                                   _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 16)));
        __m512d d3 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i + 24)),
                                   _mm512_cvtps_pd(_mm256_loadu_ps(b + i + 24)));
        s0 = _mm512_fmadd_pd(d0, d0, s0);
        s1 = _mm512_fmadd_pd(d1, d1, s1);
        s2 = _mm512_fmadd_pd(d2, d2, s2);
        s3 = _mm512_fmadd_pd(d3, d3, s3);
    }
    double acc = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
    for (; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        acc += d * d;
    }
    return acc;
}

__attribute__((target("avx2,fma"))) static double sqdiff_avx2(const float *a, const float *b, int64_t n) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)));
        __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)));
        __m256d d2 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 8)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 8)));
        __m256d d3 =
            _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 12)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 12)));
        s0 = _mm256_fmadd_pd(d0, d0, s0);
        s1 = _mm256_fmadd_pd(d1, d1, s1);
        s2 = _mm256_fmadd_pd(d2, d2, s2);
        s3 = _mm256_fmadd_pd(d3, d3, s3);
    }
    __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double acc = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        acc += d * d;
    }
    return acc;
}

static double sqdiff_scalar(const float *a, const float *b, int64_t n) {
    double p[4] = {0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            double d = (double)a[i + j] - (double)b[i + j];
            p[j] += d * d;
        }
    for (; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        p[0] += d * d;
    }
    return (p[0] + p[1]) + (p[2] + p[3]);
}

double rc_vsum_sqdiff(const float *a, const float *b, int64_t n) {
    switch (isa()) {
    case ISA_AVX512: return sqdiff_avx512(a, b, n);
    case ISA_AVX2: return sqdiff_avx2(a, b, n);
    default: return sqdiff_scalar(a, b, n);
    }
}

/* acc[j] += sum over the rows. Four rows are added in registers before
 * acc is read and written, so acc (in L1) is touched once per four rows. */
__attribute__((target("avx512f"))) static void rows_avx512(double *acc, const float *x, int64_t rows, int64_t m) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *x0 = x + r * m, *x1 = x0 + m, *x2 = x1 + m, *x3 = x2 + m;
        int64_t j = 0;
        for (; j + 8 <= m; j += 8) {
            __m512d s01 = _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x0 + j)), _mm512_cvtps_pd(_mm256_loadu_ps(x1 + j)));
            __m512d s23 = _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x2 + j)), _mm512_cvtps_pd(_mm256_loadu_ps(x3 + j)));
            _mm512_storeu_pd(acc + j, _mm512_add_pd(_mm512_loadu_pd(acc + j), _mm512_add_pd(s01, s23)));
        }
        for (; j < m; j++) acc[j] += ((double)x0[j] + (double)x1[j]) + ((double)x2[j] + (double)x3[j]);
    }
    for (; r < rows; r++)
        for (int64_t j = 0; j < m; j++) acc[j] += x[r * m + j];
}

__attribute__((target("avx2,fma"))) static void rows_avx2(double *acc, const float *x, int64_t rows, int64_t m) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *x0 = x + r * m, *x1 = x0 + m, *x2 = x1 + m, *x3 = x2 + m;
        int64_t j = 0;
        for (; j + 4 <= m; j += 4) {
            __m256d s01 = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(x0 + j)), _mm256_cvtps_pd(_mm_loadu_ps(x1 + j)));
            __m256d s23 = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(x2 + j)), _mm256_cvtps_pd(_mm_loadu_ps(x3 + j)));
            _mm256_storeu_pd(acc + j, _mm256_add_pd(_mm256_loadu_pd(acc + j), _mm256_add_pd(s01, s23)));
        }
        for (; j < m; j++) acc[j] += ((double)x0[j] + (double)x1[j]) + ((double)x2[j] + (double)x3[j]);
    }
    for (; r < rows; r++)
        for (int64_t j = 0; j < m; j++) acc[j] += x[r * m + j];
}

void rc_vacc_rows(double *acc, const float *x, int64_t rows, int64_t m) {
    switch (isa()) {
    case ISA_AVX512: rows_avx512(acc, x, rows, m); break;
    case ISA_AVX2: rows_avx2(acc, x, rows, m); break;
    default:
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < m; j++) acc[j] += x[r * m + j];
    }
}
