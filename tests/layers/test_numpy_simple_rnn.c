/* The tutorials' manual numpy computation of SimpleRNN, in C.
 *
 * Keras tutorials check a SimpleRNN by reading its weights back with
 * get_weights() ([kernel Wx (D, U), recurrent_kernel Wh (U, U), bias b (U)])
 * and recomputing it by hand in numpy:
 *
 *     h = np.zeros((B, U))
 *     for t in range(T):
 *         h = np.tanh(x[:, t, :] @ Wx + h @ Wh + b)
 *         outputs.append(h)
 *
 * numpy_simple_rnn below is that loop, written as plain C loops in double.
 * It is compared with the layer (float32 kernels) on
 *   1. real Keras weights, input and output (the golden case
 *      simple_rnn_tanh_seq_state, from TF.js 4.22, checked in float64):
 *      the loop must reproduce Keras' own output, and the layer the loop;
 *   2. a larger (B, T, D) input with the weights the layer initialised itself
 *      (glorot_uniform kernel, orthogonal recurrent kernel, as Keras), read
 *      back through the cell's params as get_weights() would;
 *   3. the "Understanding SimpleRNN" tutorial: SimpleRNN(2, linear) then
 *      Dense(1, linear) on x = [1, 2, 3] of shape (1, 3, 1), recomputed as
 *      h1 = x0 Wx + h0 + b, h2 = x1 Wx + h1 Wh + b, h3 = ..., o3 = h3 Wy + by.
 *
 * Tolerances. Let u = 2^-24 (float32 unit roundoff). Each pre-activation is
 * a sum of n = D + U + 1 terms, so the float32 GEMMs round it with error
 * at most about n·u·Σ|terms|; tanh (SLEEF, ≤ 1 ulp) adds u·|h|. With
 * |terms| ≤ 1 here that is ≤ 12·6e-8·12 ≈ 9e-6 per step in the worst case
 * and ~√n·u ≈ 2e-7 in practice. The recurrence does not amplify an error
 * made earlier: tanh' ≤ 1 and ‖Wh‖₂ ≤ 1 (orthogonal, or row sums of |Wh|
 * ≤ 1.2 for the Keras weights with tanh' < 0.9 at these activations), so
 * after T steps the error is at most T times the per-step one. We assert
 * 1e-5 absolute (outputs lie in (-1, 1)), above the ~1e-6 expected and
 * well below any real mistake (a wrong weight or a missing bias moves an
 * output by > 1e-2). The Keras file's values agree with float64 to 3.1e-7
 * (FORMAT.md) and are printed with 9 digits, so the double loop must match
 * them to 5e-7. The linear tutorial grows to |o| ~ 10, so its bound is
 * relative: 1e-5·(1 + |o|). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "util.h"
#include <recur/layers.h>
#include <recur/rnn.h>

/* Keras golden case simple_rnn_tanh_seq_state: SimpleRNN(4, tanh) on
 * x (2, 5, 2), return_sequences. */
static const float keras_x[20] = {
    0.978754997f, 0.436610252f, -0.195404217f, -0.395254314f, 0.354429901f, 0.905262887f,
    0.846662343f, 0.385487556f, 0.837767541f, 0.668843746f, 0.867676556f, -0.770388663f,
    -0.921104014f, 0.737372279f, -0.411048144f, 0.762453079f, 0.0201172624f, 0.871788502f,
    0.408790737f, -0.667485654f};
static const float keras_wx[8] = {
    0.176808998f, 0.448881209f, -0.368079424f, 0.477882564f, -0.336987197f, -0.111644484f,
    -0.38240236f, -0.098757416f};
static const float keras_wh[16] = {
    -0.175675079f, 0.157551467f, 0.00906450488f, 0.0315440185f, -0.423887551f, 0.30799076f,
    0.354238689f, -0.227213457f, -0.33573103f, -0.196743488f, 0.393974155f, -0.210060582f,
    -0.35627085f, 0.15457657f, 0.0490608886f, -0.175382912f};
static const float keras_b[4] = {
    -0.379834384f, -0.358656287f, -0.43257156f, -0.199173078f};
static const float keras_output[40] = {
    -0.339841872f, 0.031932462f, -0.744184017f, 0.221695334f, -0.0640720055f, -0.259215325f,
    -0.449108213f, -0.152845174f, -0.287521362f, -0.314764082f, -0.829348266f, 0.0587560982f,
    0.0812192485f, 0.00836410839f, -0.869148791f, 0.37456274f, -0.306393623f, 0.184849724f,
    -0.866048574f, 0.247428447f, 0.0331775621f, 0.116308294f, -0.427919477f, 0.283566326f,
    -0.666083276f, -0.595001936f, -0.453168601f, -0.602713346f, 0.0266454313f, -0.726132274f,
    -0.760649204f, -0.154574648f, -0.0564375371f, -0.493473202f, -0.871092796f, 0.0769125223f,
    0.381249338f, -0.0780837387f, -0.687143862f, 0.329205245f};

/* numpy's loop: hs (B, T, U) in double; tanh or linear. */
static void numpy_simple_rnn(int B, int T, int D, int U, const float *x, const float *wx, const float *wh,
                             const float *b, bool linear, double *hs) {
    double h[64], hn[64];
    for (int bi = 0; bi < B; bi++) {
        for (int u = 0; u < U; u++) h[u] = 0.0; /* h = np.zeros(U) */
        for (int t = 0; t < T; t++) {
            const float *xt = x + ((size_t)bi * T + t) * D;
            for (int u = 0; u < U; u++) {
                double s = b ? b[u] : 0.0;
                for (int d = 0; d < D; d++) s += (double)xt[d] * wx[d * U + u]; /* x_t · Wx */
                for (int k = 0; k < U; k++) s += h[k] * wh[k * U + u];         /* h · Wh */
                hn[u] = linear ? s : tanh(s);
            }
            for (int u = 0; u < U; u++) hs[((size_t)bi * T + t) * U + u] = h[u] = hn[u];
        }
    }
}

/* A SimpleRNN layer of U units on x (B, T, D) returning sequences and state.
 * weights NULL: keep the layer's own initialisation. */
typedef struct built {
    rc_graph *g;
    rc_rnn *layer;
    rc_rnn_out out;
} built;

static built simple_rnn(int B, int T, int D, int U, const float *x, rc_activation act, uint64_t seed) {
    built m = {.g = rc_graph_new()};
    rc_rng r;
    rc_rng_seed(&r, seed);
    rc_cell_config cc = rc_cell_defaults(U);
    cc.activation = act;
    m.layer = rc_rnn_new("simple_rnn", rc_simple_rnn_cell_new(&cc),
                         &(rc_rnn_config){.return_sequences = true, .return_state = true}, NULL);
    rc_node *xn = rc_const(m.g, RC_SHAPE(B, T, D), x);
    cr_assert_eq(rc_rnn_apply(m.layer, m.g, xn, &(rc_rnn_call){.rng = &r}, &m.out), RC_OK, "%s",
                 rc_graph_error(m.g));
    return m;
}

static void compare(const char *what, const float *got, const double *want, int64_t n, double atol, double rtol,
                    double *max_err) {
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (e > *max_err) *max_err = e;
        cr_assert(e <= atol + rtol * fabs(want[i]), "%s[%lld]: %.9g vs %.12g (err %.3g)", what, (long long)i,
                  (double)got[i], want[i], e);
    }
}

Test(numpy_simple_rnn, keras_weights_reproduce_keras_and_the_layer) {
    enum { B = 2, T = 5, D = 2, U = 4 };
    double hs[B * T * U], err = 0;
    numpy_simple_rnn(B, T, D, U, keras_x, keras_wx, keras_wh, keras_b, false, hs);
    /* the loop reproduces Keras' own output */
    for (int i = 0; i < B * T * U; i++)
        cr_assert(fabs(hs[i] - keras_output[i]) <= 5e-7, "numpy loop vs Keras [%d]: %.12g vs %.9g", i, hs[i],
                  (double)keras_output[i]);
    built m = simple_rnn(B, T, D, U, keras_x, RC_ACT_TANH, 0);
    rc_cell *c = rc_rnn_cell(m.layer);
    cr_assert_eq(rc_cell_set_weight(c, 0, RC_SHAPE(D, U), keras_wx), RC_OK);
    cr_assert_eq(rc_cell_set_weight(c, 1, RC_SHAPE(U, U), keras_wh), RC_OK);
    cr_assert_eq(rc_cell_set_weight(c, 2, RC_SHAPE(U), keras_b), RC_OK);
    float y[B * T * U], h[B * U];
    tu_eval(m.g, m.out.output, y);
    tu_eval(m.g, m.out.state[0], h);
    compare("output", y, hs, B * T * U, 1e-5, 0, &err);
    double last[B * U];
    for (int bi = 0; bi < B; bi++)
        for (int u = 0; u < U; u++) last[bi * U + u] = hs[(bi * T + T - 1) * U + u];
    compare("final state", h, last, B * U, 1e-5, 0, &err);
    cr_log_info("Keras weights: max |layer - numpy loop| = %.3g\n", err);
    rc_rnn_free(m.layer);
    rc_graph_free(m.g);
}

Test(numpy_simple_rnn, layer_initialised_weights_read_back_like_get_weights) {
    enum { B = 4, T = 7, D = 5, U = 6 };
    rc_rng r;
    rc_rng_seed(&r, 2024);
    float x[B * T * D];
    rc_rng_fill_uniform(&r, x, B * T * D, -1, 1);
    built m = simple_rnn(B, T, D, U, x, RC_ACT_TANH, 17);
    rc_cell *c = rc_rnn_cell(m.layer);
    cr_assert_eq(c->nparams, 3);
    /* Keras initialises the bias to zeros; give it values so it is checked */
    rc_rng_fill_uniform(&r, rc_node_data(c->params[2]), U, -0.5f, 0.5f);
    /* get_weights(): kernel (D, U), recurrent_kernel (U, U), bias (U) */
    const float *wx = rc_node_data(c->params[0]), *wh = rc_node_data(c->params[1]), *b = rc_node_data(c->params[2]);
    cr_assert(rc_shape_eq(rc_node_shape(c->params[0]), RC_SHAPE(D, U)));
    cr_assert(rc_shape_eq(rc_node_shape(c->params[1]), RC_SHAPE(U, U)));
    double hs[B * T * U], err = 0;
    numpy_simple_rnn(B, T, D, U, x, wx, wh, b, false, hs);
    float y[B * T * U];
    tu_eval(m.g, m.out.output, y);
    compare("output", y, hs, B * T * U, 1e-5, 0, &err);
    cr_log_info("initialised weights: max |layer - numpy loop| = %.3g\n", err);
    rc_rnn_free(m.layer);
    rc_graph_free(m.g);
}

Test(numpy_simple_rnn, tutorial_linear_rnn_then_dense) {
    /* demo_model = create_RNN(2, 1, (3, 1), activation=['linear', 'linear']) */
    const float x[3] = {1, 2, 3};
    built m = simple_rnn(1, 3, 1, 2, x, RC_ACT_LINEAR, 42);
    rc_dense *dense = rc_dense_new("dense", 1, RC_ACT_LINEAR, true);
    rc_node *last = rc_reshape(m.g, rc_slice(m.g, m.out.output, 1, 2, 3), RC_SHAPE(1, 2));
    rc_node *y = rc_dense_apply(dense, m.g, last, NULL);
    tu_assert_ok(m.g);
    rc_cell *c = rc_rnn_cell(m.layer);
    /* wx, wh, bh, wy, by = demo_model.get_weights() */
    const float *wx = rc_node_data(c->params[0]), *wh = rc_node_data(c->params[1]), *bh = rc_node_data(c->params[2]);
    const float *wy = rc_node_data(rc_dense_params(dense)[0]), *by = rc_node_data(rc_dense_params(dense)[1]);
    double h0[2] = {0, 0}, h1[2], h2[2], h3[2], o3;
    for (int u = 0; u < 2; u++) h1[u] = x[0] * wx[u] + h0[u] + bh[u]; /* h1 = np.dot(x[0], wx) + h0 + bh */
    for (int u = 0; u < 2; u++) h2[u] = x[1] * wx[u] + h1[0] * wh[u] + h1[1] * wh[2 + u] + bh[u];
    for (int u = 0; u < 2; u++) h3[u] = x[2] * wx[u] + h2[0] * wh[u] + h2[1] * wh[2 + u] + bh[u];
    o3 = h3[0] * wy[0] + h3[1] * wy[1] + by[0];
    float hseq[6], got;
    tu_eval(m.g, m.out.output, hseq);
    tu_eval(m.g, y, &got);
    double want[6] = {h1[0], h1[1], h2[0], h2[1], h3[0], h3[1]}, err = 0;
    for (int i = 0; i < 6; i++) compare("h", &hseq[i], &want[i], 1, 1e-5, 1e-5, &err);
    compare("o3", &got, &o3, 1, 1e-5, 1e-5, &err);
    cr_log_info("tutorial: h1..h3 = %g %g / %g %g / %g %g, o3 = %g (model %g)\n", want[0], want[1], want[2], want[3],
                want[4], want[5], o3, (double)got);
    rc_dense_free(dense);
    rc_rnn_free(m.layer);
    rc_graph_free(m.g);
}
