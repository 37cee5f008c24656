/* Weight initializers, as Keras 3 defines them. */
#include <math.h>
#include <string.h>

#include "recur/init.h"

void rc_init_uniform(float *w, int64_t n, float lo, float hi, rc_rng *r) {
    rc_rng_fill_uniform(r, w, n, lo, hi);
}

void rc_init_normal(float *w, int64_t n, float mean, float stddev, rc_rng *r) {
    for (int64_t i = 0; i < n; i++) w[i] = (float)(mean + stddev * rc_rng_normal(r));
}

void rc_init_constant(float *w, int64_t n, float value) {
    for (int64_t i = 0; i < n; i++) w[i] = value;
}

void rc_init_glorot_uniform(float *w, int64_t rows, int64_t cols, rc_rng *r) {
    float lim = (float)sqrt(6.0 / (double)(rows + cols));
    rc_rng_fill_uniform(r, w, rows * cols, -lim, lim);
}

/* Modified Gram-Schmidt on the columns of A (m × k, m >= k, column-major
 * in q): Q has orthonormal columns and R a positive diagonal, which is
 * Keras' Q · sign(diag(R)) of a Householder QR. */
rc_status rc_init_orthogonal(float *w, int64_t rows, int64_t cols, float gain, rc_rng *r, rc_error *err) {
    static const char fn[] = "rc_init_orthogonal";
    if (!w || !r) return rc_error_set(err, RC_ERR_ARG, fn, "NULL weights or generator");
    if (rows < 1 || cols < 1 || rows > RC_MAX_ELEMS / cols)
        return rc_error_set(err, RC_ERR_ARG, fn, "a %lld x %lld matrix is empty or too large", (long long)rows,
                            (long long)cols);
    int64_t m = rows > cols ? rows : cols, k = rows > cols ? cols : rows;
    double *q = rc_malloc((size_t)(m * k) * sizeof *q);
    if (!q)
        return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory for a %lld x %lld matrix", (long long)rows,
                            (long long)cols);
    for (int64_t i = 0; i < m * k; i++) q[i] = rc_rng_normal(r);
    for (int64_t j = 0; j < k; j++) {
        double *cj = q + j * m;
        for (int64_t p = 0; p < j; p++) {
            const double *cp = q + p * m;
            double d = 0;
            for (int64_t i = 0; i < m; i++) d += cp[i] * cj[i];
            for (int64_t i = 0; i < m; i++) cj[i] -= d * cp[i];
        }
        double nrm = 0;
        for (int64_t i = 0; i < m; i++) nrm += cj[i] * cj[i];
        nrm = sqrt(nrm);
        if (nrm < 1e-12) { /* degenerate draw: probability zero, redraw */
            for (int64_t i = 0; i < m; i++) cj[i] = rc_rng_normal(r);
            j--;
            continue;
        }
        for (int64_t i = 0; i < m; i++) cj[i] /= nrm;
    }
    /* Q is m × k (column j at q + j m). rows >= cols: w = Q; else w = Qᵀ. */
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            w[i * cols + j] = (float)(gain * (rows >= cols ? q[j * m + i] : q[i * m + j]));
    rc_free(q);
    return RC_OK;
}
