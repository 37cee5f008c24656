/* Dense, Embedding, Masking and Dropout: exact values against double loops,
 * gradient checks, Keras parameter counts for every built-in layer, and the
 * errors for bad configuration (each checked by its message). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"
#include <recur/layers.h>
#include <recur/rnn.h>

#define NACTS 6
static const rc_activation all_acts[NACTS] = {RC_ACT_TANH,   RC_ACT_SIGMOID,      RC_ACT_RELU,
                                              RC_ACT_LINEAR, RC_ACT_HARD_SIGMOID, RC_ACT_HARD_SIGMOID_K2};

static double act_d(rc_activation a, double x) {
    if (a == RC_ACT_TANH) return tanh(x);
    if (a == RC_ACT_SIGMOID) return 1.0 / (1.0 + exp(-x));
    if (a == RC_ACT_RELU) return x > 0 ? x : 0.0;
    if (a == RC_ACT_LINEAR) return x;
    if (a == RC_ACT_HARD_SIGMOID) return fmin(fmax(x / 6.0 + 0.5, 0.0), 1.0);
    if (a == RC_ACT_HARD_SIGMOID_K2) return fmin(fmax(0.2 * x + 0.5, 0.0), 1.0);
    return NAN;
}

static void fill(rc_rng *r, float *x, int n, float lo, float hi) { rc_rng_fill_uniform(r, x, n, lo, hi); }

static void expect_error(rc_graph *g, const char *want) {
    cr_assert_not_null(rc_graph_error(g), "expected an error containing '%s'", want);
    cr_assert(strstr(rc_graph_error(g), want), "error '%s' lacks '%s'", rc_graph_error(g), want);
}

static int count_op(rc_graph *g, const char *op) {
    int n = 0;
    for (int i = 0; i < rc_graph_node_count(g); i++) n += strcmp(rc_node_op_name(rc_graph_node(g, i)), op) == 0;
    return n;
}

/* float32 results of a GEMM with K <= 8 terms of size <= ~10 against exact
 * double: a few ulps of the largest partial sum. */
#define VAL_ATOL 2e-6
#define VAL_RTOL 2e-6

/* --- Dense ------------------------------------------------------------------- */

enum { DB = 3, DT = 4, DF = 5, DU = 6 };

/* A Dense(DU, act) on x (shape xs, last axis DF) with known weights; y and
 * the double expectation rows·K + b through act. */
static void dense_exact(rc_activation act, bool use_bias, rc_shape xs) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 7 + (uint64_t)act);
    int64_t rows = rc_shape_numel(xs) / DF;
    float xv[DB * DT * DF], kv[DF * DU], bv[DU];
    fill(&r, xv, (int)(rows * DF), -2, 2);
    fill(&r, kv, DF * DU, -1.5f, 1.5f);
    fill(&r, bv, DU, -1, 1);
    rc_node *x = rc_const(g, xs, xv);
    rc_dense *d = rc_dense_new("dense_1", DU, act, use_bias);
    cr_assert_not_null(d);
    rc_node *y = rc_dense_apply(d, g, x, &r);
    tu_assert_ok(g);
    rc_shape ys = xs;
    ys.dim[ys.ndim - 1] = DU;
    cr_assert(rc_shape_eq(rc_node_shape(y), ys));
    cr_assert_eq(rc_dense_nparams(d), use_bias ? 2 : 1);
    cr_assert_eq(rc_dense_param_count(d), DU * (DF + (use_bias ? 1 : 0)));
    cr_assert_eq(rc_dense_set_weight(d, 0, RC_SHAPE(DF, DU), kv), RC_OK);
    if (use_bias) cr_assert_eq(rc_dense_set_weight(d, 1, RC_SHAPE(DU), bv), RC_OK);
    /* one flat GEMM for every row, whatever the rank */
    cr_assert_eq(count_op(g, "matmul"), 1);
    float out[DB * DT * DU];
    tu_eval(g, y, out);
    for (int64_t i = 0; i < rows; i++)
        for (int u = 0; u < DU; u++) {
            double pre = use_bias ? bv[u] : 0.0;
            for (int f = 0; f < DF; f++) pre += (double)xv[i * DF + f] * kv[f * DU + u];
            double want = act_d(act, pre);
            cr_assert(fabs(out[i * DU + u] - want) <= VAL_ATOL + VAL_RTOL * fabs(want),
                      "%s row %lld unit %d: %.9g vs %.9g", rc_activation_name(act), (long long)i, u,
                      (double)out[i * DU + u], want);
        }
    tu_check_forward(g, y, 1e-5, 1e-5);
    rc_dense_free(d);
    rc_graph_free(g);
}

Test(dense, exact_values_2d_every_activation) {
    for (int a = 0; a < NACTS; a++) dense_exact(all_acts[a], true, RC_SHAPE(DB, DF));
}

Test(dense, exact_values_3d_per_time_step_every_activation) {
    for (int a = 0; a < NACTS; a++) dense_exact(all_acts[a], true, RC_SHAPE(DB, DT, DF));
}

Test(dense, without_bias) {
    dense_exact(RC_ACT_TANH, false, RC_SHAPE(DB, DF));
    dense_exact(RC_ACT_LINEAR, false, RC_SHAPE(DB, DT, DF));
}

Test(dense, keras_weight_names_shapes_and_init) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 1);
    rc_dense *d = rc_dense_new("dense", 16, RC_ACT_RELU, true);
    cr_assert_not(rc_dense_built(d));
    cr_assert_eq(rc_dense_param_count(d), 0);
    cr_assert_null(rc_dense_params(d));
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 7, 48));
    rc_dense_apply(d, g, x, &r);
    tu_assert_ok(g);
    cr_assert(rc_dense_built(d));
    cr_assert_eq(rc_dense_input_size(d), 48);
    rc_node *const *p = rc_dense_params(d);
    char buf[128];
    cr_assert_str_eq(rc_node_path(p[0], buf, sizeof buf), "dense/kernel");
    cr_assert_str_eq(rc_node_path(p[1], buf, sizeof buf), "dense/bias");
    cr_assert(rc_shape_eq(rc_node_shape(p[0]), RC_SHAPE(48, 16)));
    cr_assert(rc_shape_eq(rc_node_shape(p[1]), RC_SHAPE(16)));
    /* glorot_uniform: |w| < sqrt(6 / (48 + 16)), spread over the range; bias zeros */
    const float *k = rc_node_data(p[0]), *b = rc_node_data(p[1]);
    double lim = sqrt(6.0 / 64.0), mx = 0;
    for (int i = 0; i < 48 * 16; i++) {
        cr_assert(fabs(k[i]) < lim);
        mx = fmax(mx, fabs(k[i]));
    }
    cr_assert(mx > 0.9 * lim);
    for (int i = 0; i < 16; i++) cr_assert_eq(b[i], 0.0f);
    /* applying again shares the weights */
    rc_node *x2 = rc_input(g, "x2", RC_F32, RC_SHAPE(3, 48));
    rc_dense_apply(d, g, x2, &r);
    tu_assert_ok(g);
    rc_node *all[8];
    cr_assert_eq(rc_graph_params(g, all, 8), 2);
    rc_dense_free(d);
    rc_graph_free(g);
}

Test(dense, gradients_2d_and_3d_every_activation) {
    for (int a = 0; a < NACTS; a++)
        for (int nd = 2; nd <= 3; nd++) {
            rc_graph *g = rc_graph_new();
            rc_rng r;
            rc_rng_seed(&r, 100 + (uint64_t)(a * 2 + nd));
            rc_shape xs = nd == 2 ? RC_SHAPE(DB, DF) : RC_SHAPE(DB, DT, DF);
            rc_node *x = tu_param(g, "x", xs, &r, -2, 2);
            rc_dense *d = rc_dense_new("dense", DU, all_acts[a], true);
            rc_node *y = rc_dense_apply(d, g, x, &r);
            /* a non-zero bias so hard_sigmoid and relu see both sides */
            tu_assert_ok(g);
            rc_rng_fill_uniform(&r, rc_node_data(rc_dense_params(d)[1]), DU, -1, 1);
            rc_node *loss = tu_weighted_sum(g, y, &r);
            rc_node *wrt[3] = {x, rc_dense_params(d)[0], rc_dense_params(d)[1]};
            tu_check_gradients(g, loss, wrt, 3, 0, 0);
            rc_dense_free(d);
            rc_graph_free(g);
        }
}

/* --- Embedding ------------------------------------------------------------------ */

enum { EV = 6, ED = 3, EB = 2, ET = 5 };
static const int32_t e_ids[EB * ET] = {3, 1, 0, 5, 0, 0, 2, 2, 4, 0};

static float e_table(int v, int d) { return (float)(10 * v + d) + 0.25f; }

Test(embedding, exact_rows_and_mask_zero) {
    rc_graph *g = rc_graph_new();
    rc_embedding *e = rc_embedding_new("embedding", EV, ED, true);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(EB, ET), e_ids);
    rc_node *mask = NULL;
    rc_node *y = rc_embedding_apply(e, g, ids, NULL, &mask);
    tu_assert_ok(g);
    cr_assert_not_null(mask);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(EB, ET, ED)));
    cr_assert(rc_shape_eq(rc_node_shape(mask), RC_SHAPE(EB, ET)));
    cr_assert_eq(rc_node_dtype(mask), RC_F32);
    float tv[EV * ED];
    for (int v = 0; v < EV; v++)
        for (int d = 0; d < ED; d++) tv[v * ED + d] = e_table(v, d);
    cr_assert_eq(rc_embedding_set_weight(e, 0, RC_SHAPE(EV, ED), tv), RC_OK);
    float out[EB * ET * ED], m[EB * ET];
    tu_eval(g, y, out);
    tu_eval(g, mask, m);
    for (int i = 0; i < EB * ET; i++) {
        for (int d = 0; d < ED; d++) cr_assert_eq(out[i * ED + d], e_table(e_ids[i], d));
        cr_assert_eq(m[i], e_ids[i] != 0 ? 1.0f : 0.0f, "mask[%d]", i);
    }
    tu_check_forward(g, mask, 0, 0);
    rc_embedding_free(e);
    rc_graph_free(g);
}

Test(embedding, without_mask_zero_no_mask_and_uniform_init) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_embedding *e = rc_embedding_new(NULL, 500, 16, false);
    cr_assert_eq(rc_embedding_param_count(e), 0);
    rc_node *mask = (rc_node *)1;
    rc_node *y = rc_embedding_apply(e, g, rc_input(g, "ids", RC_I32, RC_SHAPE(4, 100)), &r, &mask);
    tu_assert_ok(g);
    cr_assert_null(mask);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(4, 100, 16)));
    cr_assert_eq(rc_embedding_nparams(e), 1);
    cr_assert_eq(rc_embedding_param_count(e), 8000);
    char buf[128];
    cr_assert_str_eq(rc_node_path(rc_embedding_params(e)[0], buf, sizeof buf), "embedding/embeddings");
    const float *w = rc_node_data(rc_embedding_params(e)[0]);
    double lo = 1, hi = -1, sum = 0;
    for (int i = 0; i < 8000; i++) {
        lo = fmin(lo, w[i]);
        hi = fmax(hi, w[i]);
        sum += w[i];
    }
    cr_assert(lo >= -0.05 && hi < 0.05 && lo < -0.049 && hi > 0.049, "range [%g, %g]", lo, hi);
    cr_assert(fabs(sum / 8000) < 0.003, "mean %g", sum / 8000); /* sd of the mean 0.029/sqrt(8000) = 3.2e-4 */
    rc_embedding_free(e);
    rc_graph_free(g);
}

Test(embedding, gradient_wrt_embeddings_with_repeated_ids) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 11);
    rc_embedding *e = rc_embedding_new("emb", EV, ED, true);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(EB, ET), e_ids);
    rc_node *y = rc_embedding_apply(e, g, ids, &r, NULL);
    rc_node *loss = tu_weighted_sum(g, y, &r);
    tu_check_gradients(g, loss, rc_embedding_params(e), 1, 0, 0);
    rc_embedding_free(e);
    rc_graph_free(g);
}

Test(embedding, out_of_range_id_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_embedding *e = rc_embedding_new("emb", 4, 2, true);
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(1, 3));
    rc_node *y = rc_embedding_apply(e, g, ids, NULL, NULL);
    tu_assert_ok(g);
    int32_t *iv = rc_node_data(ids);
    iv[0] = 1, iv[1] = 4, iv[2] = 0;
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert_not_null(p);
    cr_assert_eq(rc_plan_run(p, NULL), RC_ERR_ARG);
    iv[1] = 3;
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    rc_plan_free(p);
    rc_embedding_free(e);
    rc_graph_free(g);
}

/* Embedding(mask_zero) -> SimpleRNN: a right-padded row gives the same final
 * output as its unpadded prefix alone (Keras' reason for mask_zero). */
Test(embedding, mask_zero_feeds_an_rnn_like_the_unpadded_sequence) {
    rc_rng r;
    rc_rng_seed(&r, 5);
    float tv[EV * ED], kv[ED * 4], rk[4 * 4], bv[4];
    fill(&r, tv, EV * ED, -1, 1);
    fill(&r, kv, ED * 4, -1, 1);
    fill(&r, rk, 16, -0.5f, 0.5f);
    fill(&r, bv, 4, -0.5f, 0.5f);
    float outs[2][4];
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: {3, 1, 5, 0, 0}; pass 1: {3, 1, 5} */
        int T = pass ? 3 : 5;
        rc_graph *g = rc_graph_new();
        rc_embedding *e = rc_embedding_new("emb", EV, ED, true);
        rc_node *mask;
        rc_node *x = rc_embedding_apply(e, g, rc_const_i32(g, RC_SHAPE(1, T), (int32_t[]){3, 1, 5, 0, 0}), &r, &mask);
        rc_cell_config cc = rc_cell_defaults(4);
        rc_rnn *l = rc_rnn_new("simple_rnn", rc_simple_rnn_cell_new(&cc), NULL, NULL);
        rc_rnn_out o;
        rc_rnn_call call = {.mask = mask};
        cr_assert_eq(rc_rnn_apply(l, g, x, &call, &o), RC_OK, "%s", rc_graph_error(g));
        rc_cell *c = rc_rnn_cell(l);
        cr_assert_eq(rc_embedding_set_weight(e, 0, RC_SHAPE(EV, ED), tv), RC_OK);
        cr_assert_eq(rc_cell_set_weight(c, 0, RC_SHAPE(ED, 4), kv), RC_OK);
        cr_assert_eq(rc_cell_set_weight(c, 1, RC_SHAPE(4, 4), rk), RC_OK);
        cr_assert_eq(rc_cell_set_weight(c, 2, RC_SHAPE(4), bv), RC_OK);
        tu_eval(g, o.output, outs[pass]);
        rc_rnn_free(l);
        rc_embedding_free(e);
        rc_graph_free(g);
    }
    for (int u = 0; u < 4; u++) cr_assert_float_eq(outs[0][u], outs[1][u], 1e-6);
}

/* --- Masking ------------------------------------------------------------------ */

Test(masking, mask_and_zeroed_steps) {
    rc_graph *g = rc_graph_new();
    /* (2, 4, 3): masked where every feature equals 0 */
    const float xv[24] = {1, 2, 3,  0, 0, 0,  0, 5, 0,  0, 0, 0,
                          0, 0, 0,  -0.0f, 0, 0,  NAN, 0, 0,  4, 0, -1};
    const float want_m[8] = {1, 0, 1, 0, 0, 0, 1, 1};
    rc_node *x = rc_const(g, RC_SHAPE(2, 4, 3), xv);
    rc_node *mask = NULL;
    rc_node *y = rc_masking(g, x, 0.0, &mask);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(mask), RC_SHAPE(2, 4)));
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2, 4, 3)));
    float m[8], out[24];
    tu_eval(g, mask, m);
    tu_eval(g, y, out);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(m[i], want_m[i], "mask[%d] = %g", i, (double)m[i]);
        for (int f = 0; f < 3; f++) {
            int k = i * 3 + f;
            if (isnan(xv[k])) cr_assert(isnan(out[k]));
            else cr_assert_eq(out[k], want_m[i] ? xv[k] : 0.0f, "y[%d]", k);
        }
    }
    tu_check_forward(g, mask, 0, 0);
    rc_graph_free(g);
}

Test(masking, nonzero_and_nan_mask_values) {
    rc_graph *g = rc_graph_new();
    /* 0.1 is compared in float32, as Keras casts mask_value to the input dtype */
    const float xv[8] = {-1, -1, 0.1f, 0.1f, -1, 0.1f, 0, 0};
    rc_node *x = rc_const(g, RC_SHAPE(1, 4, 2), xv);
    rc_node *m1, *m2, *m3;
    rc_masking(g, x, -1.0, &m1);
    rc_masking(g, x, 0.1, &m2);
    rc_masking(g, x, NAN, &m3);
    tu_assert_ok(g);
    float a[4], b[4], c[4];
    tu_eval(g, m1, a);
    tu_eval(g, m2, b);
    tu_eval(g, m3, c);
    const float wa[4] = {0, 1, 1, 1}, wb[4] = {1, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(a[i], wa[i], "mask_value -1, step %d", i);
        cr_assert_eq(b[i], wb[i], "mask_value 0.1, step %d", i);
        cr_assert_eq(c[i], 1.0f, "mask_value NaN masks nothing, step %d", i);
    }
    rc_graph_free(g);
}

/* The TF.js / Keras check: Masking(0) then a linear SimpleRNN(1) with
 * W = U = 1 on 1, 0, 2, 0, 0 gives 1, 1, 3, 3, 3 (state and output carried). */
Test(masking, keras_example_masked_linear_simple_rnn) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(1, 5, 1), (float[]){1, 0, 2, 0, 0});
    rc_node *mask;
    rc_node *xm = rc_masking(g, x, 0.0, &mask);
    rc_cell_config cc = rc_cell_defaults(1);
    cc.activation = RC_ACT_LINEAR;
    rc_rnn *l = rc_rnn_new("simple_rnn", rc_simple_rnn_cell_new(&cc), &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, xm, &(rc_rnn_call){.mask = mask}, &o), RC_OK, "%s", rc_graph_error(g));
    rc_cell *c = rc_rnn_cell(l);
    cr_assert_eq(rc_cell_set_weight(c, 0, RC_SHAPE(1, 1), (float[]){1}), RC_OK);
    cr_assert_eq(rc_cell_set_weight(c, 1, RC_SHAPE(1, 1), (float[]){1}), RC_OK);
    cr_assert_eq(rc_cell_set_weight(c, 2, RC_SHAPE(1), (float[]){0}), RC_OK);
    float y[5];
    tu_eval(g, o.output, y);
    const float want[5] = {1, 1, 3, 3, 3};
    for (int t = 0; t < 5; t++) cr_assert_eq(y[t], want[t], "t=%d: %g", t, (double)y[t]);
    rc_rnn_free(l);
    rc_graph_free(g);
}

/* dy/dx is exactly the mask (the mask itself carries no gradient), and a
 * masked tanh SimpleRNN passes the gradient check w.r.t. its weights. */
Test(masking, gradients) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 4, 3), &r, -1, 1);
    float *xv = rc_node_data(x);
    for (int f = 0; f < 3; f++) xv[1 * 3 + f] = xv[(4 + 3) * 3 + f] = 0; /* mask steps (0, 1) and (1, 3) */
    rc_node *mask;
    rc_node *y = rc_masking(g, x, 0.0, &mask);
    rc_node *dx;
    cr_assert_eq(rc_gradients(g, rc_sum(g, y, RC_ALL_AXES, false), &x, 1, &dx), RC_OK);
    float d[24];
    tu_eval(g, dx, d);
    for (int i = 0; i < 24; i++) {
        int step = i / 3;
        cr_assert_eq(d[i], step == 1 || step == 7 ? 0.0f : 1.0f, "dx[%d]", i);
    }
    rc_cell_config cc = rc_cell_defaults(3);
    rc_rnn *l = rc_rnn_new("rnn", rc_simple_rnn_cell_new(&cc), &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, y, &(rc_rnn_call){.mask = mask, .rng = &r}, &o), RC_OK, "%s",
                 rc_graph_error(g));
    rc_cell *c = rc_rnn_cell(l);
    tu_check_gradients(g, tu_weighted_sum(g, o.output, &r), c->params, c->nparams, 0, 0);
    rc_rnn_free(l);
    rc_graph_free(g);
}

/* --- Dropout ------------------------------------------------------------------ */

Test(dropout, identity_in_inference_and_at_rate_zero) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(4, 5));
    int before = rc_graph_node_count(g);
    cr_assert_eq(rc_dropout(g, x, 0.5, false, NULL), x);
    cr_assert_eq(rc_dropout(g, x, 0.0, true, NULL), x);
    cr_assert_eq(rc_graph_node_count(g), before);
    tu_assert_ok(g);
    rc_graph_free(g);
}

Test(dropout, inverted_mask_preserves_the_mean) {
    enum { R = 200, C = 1000, N = R * C };
    const double rate = 0.3;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 99);
    rc_node *x = rc_fill(g, RC_SHAPE(R, C), 2.0f);
    rc_node *y = rc_dropout(g, x, rate, true, &r);
    tu_assert_ok(g);
    cr_assert_neq(y, x);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert_not_null(p);
    const float keep = (float)(1.0 / (1.0 - rate));
    float first[8];
    for (int run = 0; run < 3; run++) {
        cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
        const float *v = rc_plan_f32(p, y);
        double sum = 0;
        int64_t zeros = 0;
        for (int64_t i = 0; i < N; i++) {
            cr_assert(v[i] == 0.0f || v[i] == 2.0f * keep, "y[%lld] = %g", (long long)i, (double)v[i]);
            sum += v[i];
            zeros += v[i] == 0.0f;
        }
        /* E[y] = 2; sd of the mean = 2 sqrt(rate / (1 - rate)) / sqrt(N) = 0.0029,
         * sd of the zero fraction = sqrt(rate (1 - rate) / N) = 0.001: 5 sd bounds */
        cr_assert(fabs(sum / N - 2.0) < 0.015, "mean %g", sum / N);
        cr_assert(fabs((double)zeros / N - rate) < 0.005, "zero fraction %g", (double)zeros / N);
        if (run == 0) memcpy(first, v, sizeof first);
        else cr_assert(memcmp(first, v, sizeof first) != 0, "each run draws a new mask");
    }
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(dropout, gradient_is_the_mask) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 4);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 7), &r, -1, 1);
    rc_node *y = rc_dropout(g, x, 0.4, true, &r);
    tu_check_gradients(g, tu_weighted_sum(g, y, &r), &x, 1, 0, 0);
    rc_graph_free(g);
}

/* --- errors ------------------------------------------------------------------- */

Test(errors, dense) {
    char s[RC_SHAPE_STRLEN];
    {
        rc_graph *g = rc_graph_new();
        rc_dense *d = rc_dense_new("head", 0, RC_ACT_LINEAR, true);
        cr_assert_not_null(d, "constructors accept units 0; the error comes at apply");
        cr_assert_null(rc_dense_apply(d, g, rc_input(g, "x", RC_F32, RC_SHAPE(2, 3)), NULL));
        expect_error(g, "dense 'head'");
        expect_error(g, "units 0 must be >= 1");
        expect_error(g, "(2, 3)");
        rc_dense_free(d);
        rc_graph_free(g);
    }
    {
        rc_graph *g = rc_graph_new();
        rc_dense *d = rc_dense_new("head", 4, RC_ACT_LINEAR, true);
        cr_assert_null(rc_dense_apply(d, g, rc_input(g, "x", RC_F32, RC_SHAPE(5)), NULL));
        expect_error(g, "dense 'head'");
        expect_error(g, rc_shape_str(RC_SHAPE(5), s, sizeof s));
        expect_error(g, "rank 2 to 4");
        rc_graph_free(g);
        g = rc_graph_new();
        cr_assert_null(rc_dense_apply(d, g, rc_input(g, "x", RC_I32, RC_SHAPE(2, 3)), NULL));
        expect_error(g, "dense 'head': input must be float32");
        expect_error(g, "int32 (2, 3)");
        cr_assert_not(rc_dense_built(d));
        rc_graph_free(g);
        g = rc_graph_new();
        cr_assert_not_null(rc_dense_apply(d, g, rc_input(g, "x", RC_F32, RC_SHAPE(2, 3)), NULL));
        tu_assert_ok(g);
        cr_assert_null(rc_dense_apply(d, g, rc_input(g, "x2", RC_F32, RC_SHAPE(2, 7, 5)), NULL));
        expect_error(g, "dense 'head': input (2, 7, 5) has 5 features, the layer was built for 3");
        rc_graph_clear_error(g);
        /* weights of the wrong shape, index out of range */
        float w[15] = {0};
        cr_assert_eq(rc_dense_set_weight(d, 0, RC_SHAPE(4, 3), w), RC_ERR_SHAPE);
        expect_error(g, "dense 'head': weight 0 'kernel' has shape (3, 4), got (4, 3)");
        rc_graph_clear_error(g);
        cr_assert_eq(rc_dense_set_weight(d, 1, RC_SHAPE(5), w), RC_ERR_SHAPE);
        expect_error(g, "weight 1 'bias' has shape (4), got (5)");
        rc_graph_clear_error(g);
        cr_assert_eq(rc_dense_set_weight(d, 2, RC_SHAPE(4), w), RC_ERR_ARG);
        expect_error(g, "dense 'head': no weight 2 (it has 2 weights)");
        rc_graph_clear_error(g);
        /* a second graph */
        rc_graph *g2 = rc_graph_new();
        cr_assert_null(rc_dense_apply(d, g2, rc_input(g2, "x", RC_F32, RC_SHAPE(2, 3)), NULL));
        expect_error(g2, "dense 'head': a layer is used with one graph only");
        rc_graph_free(g2);
        rc_dense_free(d);
        rc_graph_free(g);
    }
    {
        rc_dense *d = rc_dense_new("late", 4, RC_ACT_LINEAR, true);
        cr_assert_eq(rc_dense_set_weight(d, 0, RC_SHAPE(3, 4), (float[12]){0}), RC_ERR_STATE);
        rc_dense_free(d);
    }
    {
        /* a NULL input on a healthy graph is an error; on a failed graph, quiet */
        rc_graph *g = rc_graph_new();
        rc_dense *d = rc_dense_new("head", 4, RC_ACT_LINEAR, true);
        cr_assert_null(rc_dense_apply(d, g, NULL, NULL));
        expect_error(g, "dense 'head': input is NULL");
        rc_dense_free(d);
        rc_graph_free(g);
    }
}

Test(errors, embedding) {
    {
        rc_graph *g = rc_graph_new();
        rc_embedding *e = rc_embedding_new("tokens", 0, 8, true);
        cr_assert_not_null(e);
        rc_node *m = (rc_node *)1;
        cr_assert_null(rc_embedding_apply(e, g, rc_input(g, "ids", RC_I32, RC_SHAPE(2, 9)), NULL, &m));
        cr_assert_null(m);
        expect_error(g, "embedding 'tokens'");
        expect_error(g, "input_dim (vocabulary) 0");
        expect_error(g, "(2, 9)");
        rc_embedding_free(e);
        rc_graph_free(g);
    }
    {
        rc_graph *g = rc_graph_new();
        rc_embedding *e = rc_embedding_new("tokens", 10, 0, false);
        cr_assert_null(rc_embedding_apply(e, g, rc_input(g, "ids", RC_I32, RC_SHAPE(2, 9)), NULL, NULL));
        expect_error(g, "embedding 'tokens'");
        expect_error(g, "output_dim 0");
        rc_embedding_free(e);
        rc_graph_free(g);
    }
    {
        rc_graph *g = rc_graph_new();
        rc_embedding *e = rc_embedding_new("tokens", 10, 4, false);
        cr_assert_null(rc_embedding_apply(e, g, rc_input(g, "ids", RC_F32, RC_SHAPE(2, 9)), NULL, NULL));
        expect_error(g, "embedding 'tokens': ids must be int32");
        expect_error(g, "float32 (2, 9)");
        rc_graph_free(g);
        g = rc_graph_new();
        cr_assert_null(rc_embedding_apply(e, g, rc_input(g, "ids", RC_I32, RC_SHAPE(2, 3, 4, 5)), NULL, NULL));
        expect_error(g, "int32 (2, 3, 4, 5)");
        rc_graph_free(g);
        g = rc_graph_new();
        cr_assert_not_null(rc_embedding_apply(e, g, rc_input(g, "ids", RC_I32, RC_SHAPE(2, 9)), NULL, NULL));
        cr_assert_eq(rc_embedding_set_weight(e, 0, RC_SHAPE(4, 10), (float[40]){0}), RC_ERR_SHAPE);
        expect_error(g, "embedding 'tokens': weight 0 'embeddings' has shape (10, 4), got (4, 10)");
        rc_graph_clear_error(g);
        cr_assert_eq(rc_embedding_set_weight(e, 1, RC_SHAPE(10, 4), (float[40]){0}), RC_ERR_ARG);
        expect_error(g, "no weight 1");
        rc_embedding_free(e);
        rc_graph_free(g);
    }
}

Test(errors, masking_and_dropout) {
    rc_graph *g = rc_graph_new();
    rc_node *m = (rc_node *)1;
    cr_assert_null(rc_masking(g, rc_input(g, "ids", RC_I32, RC_SHAPE(2, 5, 3)), 0.0, &m));
    cr_assert_null(m);
    expect_error(g, "masking: input must be float32");
    expect_error(g, "int32 (2, 5, 3)");
    rc_graph_clear_error(g);
    cr_assert_null(rc_masking(g, rc_input(g, "v", RC_F32, RC_SHAPE(7)), 0.0, NULL));
    expect_error(g, "masking: input must be float32 (B, T, F)");
    expect_error(g, "float32 (7)");
    rc_graph_clear_error(g);
    cr_assert_null(rc_masking(g, rc_input(g, "x", RC_F32, RC_SHAPE(2, 5, 3)), INFINITY, NULL));
    expect_error(g, "masking: mask_value inf is not supported (input (2, 5, 3))");
    rc_graph_clear_error(g);
    rc_node *x = rc_input(g, "x2", RC_F32, RC_SHAPE(2, 5, 3));
    cr_assert_null(rc_dropout(g, x, 1.0, true, NULL));
    expect_error(g, "dropout: rate 1 is outside [0, 1) (input (2, 5, 3))");
    rc_graph_clear_error(g);
    cr_assert_null(rc_dropout(g, x, -0.5, false, NULL));
    expect_error(g, "dropout: rate -0.5 is outside [0, 1)");
    rc_graph_clear_error(g);
    cr_assert_null(rc_dropout(g, rc_input(g, "ids2", RC_I32, RC_SHAPE(2, 5)), 0.5, true, NULL));
    expect_error(g, "dropout: input must be float32, got int32 (2, 5)");
    rc_graph_clear_error(g);
    /* quiet on a graph that already failed */
    rc_graph_fail(g, RC_ERR_ARG, "earlier failure");
    cr_assert_null(rc_masking(g, NULL, 0.0, NULL));
    cr_assert_null(rc_dropout(g, NULL, 0.5, true, NULL));
    expect_error(g, "earlier failure");
    rc_graph_free(g);
}

/* --- Keras parameter counts -------------------------------------------------------- */

typedef enum { K_SIMPLE, K_LSTM, K_GRU } kind;

static rc_cell *make_cell(kind k, int64_t U, bool use_bias, bool reset_after) {
    rc_cell_config c = rc_cell_defaults(U);
    c.use_bias = use_bias;
    c.reset_after = reset_after;
    return k == K_SIMPLE ? rc_simple_rnn_cell_new(&c) : k == K_LSTM ? rc_lstm_cell_new(&c) : rc_gru_cell_new(&c);
}

/* Parameters of a layer of kind k after applying it to (2, 3, I). */
static int64_t rnn_params(kind k, int64_t I, int64_t U, bool use_bias, bool reset_after) {
    rc_graph *g = rc_graph_new();
    rc_rnn *l = rc_rnn_new("rnn", make_cell(k, U, use_bias, reset_after), NULL, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, rc_input(g, "x", RC_F32, RC_SHAPE(2, 3, I)), NULL, &o), RC_OK);
    int64_t n = rc_cell_param_count(rc_rnn_cell(l));
    /* every parameter of the graph belongs to the layer */
    rc_node *all[RC_MAX_CELL_PARAMS];
    int np = rc_graph_params(g, all, RC_MAX_CELL_PARAMS);
    int64_t tot = 0;
    for (int i = 0; i < np; i++) tot += rc_node_numel(all[i]);
    cr_assert_eq(tot, n);
    rc_rnn_free(l);
    rc_graph_free(g);
    return n;
}

static int64_t bidir_params(kind k, int64_t I, int64_t U) {
    rc_graph *g = rc_graph_new();
    rc_rnn *f = rc_rnn_new("forward_rnn", make_cell(k, U, true, true), NULL, NULL);
    rc_rnn *b = rc_rnn_new("backward_rnn", make_cell(k, U, true, true), &(rc_rnn_config){.go_backwards = true}, NULL);
    rc_bidir *bd = rc_bidir_new("bidirectional", f, b, RC_MERGE_CONCAT, NULL);
    rc_bidir_out o;
    cr_assert_eq(rc_bidir_apply(bd, g, rc_input(g, "x", RC_F32, RC_SHAPE(2, 3, I)), NULL, &o), RC_OK);
    int64_t n = rc_cell_param_count(rc_rnn_cell(f)) + rc_cell_param_count(rc_rnn_cell(b));
    rc_bidir_free(bd);
    rc_graph_free(g);
    return n;
}

Test(param_counts, rnn_layers_match_keras_formulas) {
    const int64_t sizes[][2] = {{1, 10}, {3, 8}, {16, 32}, {16, 8}, {4, 5}, {8, 4}, {64, 128}, {7, 1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int64_t I = sizes[i][0], U = sizes[i][1];
        cr_assert_eq(rnn_params(K_SIMPLE, I, U, true, true), U * (I + U + 1));
        cr_assert_eq(rnn_params(K_LSTM, I, U, true, true), 4 * U * (I + U + 1));
        cr_assert_eq(rnn_params(K_GRU, I, U, true, true), 3 * U * (I + U + 2));
        cr_assert_eq(rnn_params(K_GRU, I, U, true, false), 3 * U * (I + U + 1));
        /* use_bias=False drops the bias terms */
        cr_assert_eq(rnn_params(K_SIMPLE, I, U, false, true), U * (I + U));
        cr_assert_eq(rnn_params(K_LSTM, I, U, false, true), 4 * U * (I + U));
        cr_assert_eq(rnn_params(K_GRU, I, U, false, true), 3 * U * (I + U));
        cr_assert_eq(bidir_params(K_LSTM, I, U), 2 * 4 * U * (I + U + 1));
        cr_assert_eq(bidir_params(K_GRU, I, U), 2 * 3 * U * (I + U + 2));
        cr_assert_eq(bidir_params(K_SIMPLE, I, U), 2 * U * (I + U + 1));
    }
    /* the worked examples of the reference (Keras / TF.js summaries) */
    cr_assert_eq(rnn_params(K_SIMPLE, 3, 8, true, true), 96);
    cr_assert_eq(rnn_params(K_LSTM, 16, 32, true, true), 6272);
    cr_assert_eq(rnn_params(K_LSTM, 16, 8, true, true), 800);
    cr_assert_eq(rnn_params(K_LSTM, 1, 10, true, true), 480);
    cr_assert_eq(rnn_params(K_GRU, 1, 10, true, true), 390);
    cr_assert_eq(rnn_params(K_GRU, 4, 5, true, false), 150);
    cr_assert_eq(rnn_params(K_GRU, 8, 4, true, false), 156);
    cr_assert_eq(bidir_params(K_LSTM, 4, 6), 528);
}

Test(param_counts, dense_embedding_and_stacked_cells) {
    rc_graph *g = rc_graph_new();
    rc_embedding *e = rc_embedding_new("embedding", 500, 16, true);
    rc_node *mask;
    rc_node *x = rc_embedding_apply(e, g, rc_input(g, "ids", RC_I32, RC_SHAPE(2, 100)), NULL, &mask);
    rc_cell_config cc = rc_cell_defaults(8);
    rc_rnn *l = rc_rnn_new("lstm", rc_lstm_cell_new(&cc), NULL, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, &(rc_rnn_call){.mask = mask}, &o), RC_OK);
    rc_dense *d = rc_dense_new("dense", 1, RC_ACT_SIGMOID, true);
    rc_dense_apply(d, g, o.output, NULL);
    rc_dense *d2 = rc_dense_new("dense_1", 5, RC_ACT_LINEAR, false);
    rc_dense_apply(d2, g, x, NULL);
    tu_assert_ok(g);
    /* the Keras 3 summary of Embedding(500, 16) -> LSTM(8) -> Dense(1): 8,000 + 800 + 9 */
    cr_assert_eq(rc_embedding_param_count(e), 500 * 16);
    cr_assert_eq(rc_cell_param_count(rc_rnn_cell(l)), 800);
    cr_assert_eq(rc_dense_param_count(d), 8 + 1);
    cr_assert_eq(rc_dense_param_count(d2), 16 * 5);
    rc_rnn_free(l);
    rc_dense_free(d);
    rc_dense_free(d2);
    rc_embedding_free(e);
    rc_graph_free(g);

    /* stacked cells: the sum over cells with I_k = U_{k-1} */
    g = rc_graph_new();
    rc_cell_config c1 = rc_cell_defaults(6), c2 = rc_cell_defaults(4);
    rc_cell *cells[2] = {rc_lstm_cell_new(&c1), rc_gru_cell_new(&c2)};
    rc_rnn *s = rc_rnn_new("rnn", rc_stacked_cells_new(cells, 2, NULL), NULL, NULL);
    cr_assert_eq(rc_rnn_apply(s, g, rc_input(g, "x", RC_F32, RC_SHAPE(2, 3, 5)), NULL, &o), RC_OK);
    cr_assert_eq(rc_cell_param_count(rc_rnn_cell(s)), 4 * 6 * (5 + 6 + 1) + 3 * 4 * (6 + 4 + 2));
    rc_rnn_free(s);
    rc_graph_free(g);
}
