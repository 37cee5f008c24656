/* Initializers follow Keras 3's definitions. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include <recur/init.h>
#include <recur/rnn.h>

#include "util.h"

/* Q Qᵀ = I over the smaller dimension; Gram-Schmidt in double then rounded
 * to float: entries of the product within a few float ULPs of I. */
static void check_orthogonal(int64_t rows, int64_t cols) {
    float *w = malloc((size_t)(rows * cols) * sizeof *w);
    rc_rng r;
    rc_rng_seed(&r, (uint64_t)(rows * 100 + cols));
    cr_assert_eq(rc_init_orthogonal(w, rows, cols, 1.0f, &r, NULL), RC_OK);
    bool by_rows = rows <= cols;
    int64_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = 0; b < k; b++) {
            double d = 0;
            for (int64_t i = 0; i < len; i++)
                d += (double)(by_rows ? w[a * cols + i] : w[i * cols + a]) *
                     (by_rows ? w[b * cols + i] : w[i * cols + b]);
            cr_assert_float_eq(d, a == b ? 1.0 : 0.0, 1e-5, "(%lld, %lld) of a %lldx%lld", (long long)a,
                               (long long)b, (long long)rows, (long long)cols);
        }
    free(w);
}

Test(init, orthogonal_has_orthonormal_rows_over_the_whole_matrix) {
    check_orthogonal(8, 32);  /* a recurrent kernel (U, 4U): rows orthonormal across gates */
    check_orthogonal(5, 15);
    check_orthogonal(6, 6);
    check_orthogonal(12, 4);  /* tall: columns orthonormal */
}

Test(init, orthogonal_gain_scales) {
    float w[16];
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_init_orthogonal(w, 4, 4, 2.0f, &r, NULL);
    double n = 0;
    for (int i = 0; i < 4; i++) n += (double)w[i] * w[i];
    cr_assert_float_eq(n, 4.0, 1e-5);
}

Test(init, glorot_uniform_stays_within_its_limit_and_fills_it) {
    const int64_t rows = 64, cols = 256;
    float *w = malloc(rows * cols * sizeof *w);
    rc_rng r;
    rc_rng_seed(&r, 4);
    rc_init_glorot_uniform(w, rows, cols, &r);
    double lim = sqrt(6.0 / (rows + cols)), mx = 0, var = 0;
    for (int64_t i = 0; i < rows * cols; i++) {
        cr_assert_leq(fabs(w[i]), lim);
        mx = fmax(mx, fabs(w[i]));
        var += (double)w[i] * w[i];
    }
    var /= rows * cols;
    cr_assert_gt(mx, 0.99 * lim);
    /* U(-L, L) has variance L^2 / 3; 16k samples: relative sd ~1% */
    cr_assert_float_eq(var, lim * lim / 3, 0.05 * lim * lim / 3);
    free(w);
}

Test(init, lstm_bias_has_unit_forget_gate_and_zeros_elsewhere) {
    rc_graph *g = rc_graph_new();
    rc_cell_config cfg = rc_cell_defaults(3);
    rc_rnn *l = rc_rnn_new("lstm", rc_lstm_cell_new(&cfg), NULL, NULL);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 4, 5));
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
    rc_cell *c = rc_rnn_cell(l);
    cr_assert_eq(c->nparams, 3);
    const float *b = rc_node_data(c->params[2]);
    for (int i = 0; i < 12; i++) cr_assert_eq(b[i], i >= 3 && i < 6 ? 1.0f : 0.0f, "bias[%d]", i);
    char path[128];
    cr_assert_str_eq(rc_node_path(c->params[0], path, sizeof path), "lstm/lstm_cell/kernel");
    cr_assert_str_eq(rc_node_path(c->params[1], path, sizeof path), "lstm/lstm_cell/recurrent_kernel");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(init, same_seed_same_weights) {
    float a[40], b[40];
    rc_rng r1, r2;
    rc_rng_seed(&r1, 9);
    rc_rng_seed(&r2, 9);
    rc_init_orthogonal(a, 4, 10, 1.0f, &r1, NULL);
    rc_init_orthogonal(b, 4, 10, 1.0f, &r2, NULL);
    for (int i = 0; i < 40; i++) cr_assert_eq(a[i], b[i]);
}

Test(init, normal_has_the_requested_moments) {
    const int n = 1 << 16;
    float *w = malloc(n * sizeof *w);
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_init_normal(w, n, 1.0f, 2.0f, &r);
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += w[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (w[i] - m) * (w[i] - m);
    v /= n;
    /* sd of the mean 2/256 = 0.008, of the variance ~4*sqrt(2/n) = 0.022 */
    cr_assert_float_eq(m, 1.0, 0.04);
    cr_assert_float_eq(v, 4.0, 0.11);
    free(w);
}
