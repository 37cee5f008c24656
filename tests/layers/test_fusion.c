/* Step-level fusion (ops/fuse.c, rc_fuse_step, called by the RNN layer
 * after every step): a user cell that writes the LSTM or the GRU from plain
 * ops gets the fused lstm_cell / gru_cell op exactly as the built-in cells
 * (which are plain ops too) do: one fused kernel per step in the training
 * plan, the built-in's kernel count and bytes, and its exact values, with
 * correct gradients (also under masks and recurrent dropout); near-miss
 * patterns are left alone. Fused against unfused values. These tests fail
 * when the rewrite stops applying. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <recur.h>
#include <recur/op.h>
#include <recur/rnn.h>

#include "util.h"

/* variant: 0 = the LSTM, operands in Keras order; 1 = the LSTM with every
 * commutative operand swapped; 2 = not an LSTM (candidate through sigmoid). */
typedef struct ulstm {
    int64_t units;
    int variant;
    rc_node *kernel, *rkernel, *bias;
} ulstm;

static rc_status ul_build(rc_cell *c, rc_graph *g, int64_t nin, rc_rng *rng) {
    ulstm *s = c->impl;
    int64_t U = s->units;
    s->kernel = rc_cell_add_param(c, g, "kernel", RC_SHAPE(nin, 4 * U));
    s->rkernel = rc_cell_add_param(c, g, "recurrent_kernel", RC_SHAPE(U, 4 * U));
    s->bias = rc_cell_add_param(c, g, "bias", RC_SHAPE(4 * U));
    if (!s->bias) return rc_graph_status(g);
    rc_init_uniform(rc_node_data(s->kernel), nin * 4 * U, -0.6f, 0.6f, rng);
    rc_init_uniform(rc_node_data(s->rkernel), U * 4 * U, -0.6f, 0.6f, rng);
    rc_init_uniform(rc_node_data(s->bias), 4 * U, -0.6f, 0.6f, rng);
    return rc_graph_status(g);
}

static rc_node *ul_project(rc_cell *c, rc_graph *g, rc_node *x) {
    ulstm *s = c->impl;
    return rc_add(g, rc_matmul(g, x, s->kernel, false, false), s->bias);
}

static rc_status ul_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    ulstm *s = c->impl;
    int64_t U = s->units;
    bool sw = s->variant == 1;
    rc_node *h = st->rec_mask ? rc_mul(g, st->state[0], st->rec_mask) : st->state[0];
    rc_node *hu = rc_matmul(g, h, s->rkernel, false, false);
    rc_node *z = sw ? rc_add(g, hu, st->x) : rc_add(g, st->x, hu);
    rc_node *i = rc_sigmoid(g, rc_slice(g, z, 1, 0, U));
    rc_node *f = rc_sigmoid(g, rc_slice(g, z, -1, U, 2 * U));
    rc_node *gc = s->variant == 2 ? rc_sigmoid(g, rc_slice(g, z, 1, 2 * U, 3 * U))
                                  : rc_tanh(g, rc_slice(g, z, 1, 2 * U, 3 * U));
    rc_node *o = rc_sigmoid(g, rc_slice(g, z, 1, 3 * U, 4 * U));
    rc_node *fc = sw ? rc_mul(g, st->state[1], f) : rc_mul(g, f, st->state[1]);
    rc_node *ig = sw ? rc_mul(g, gc, i) : rc_mul(g, i, gc);
    rc_node *cn = sw ? rc_add(g, ig, fc) : rc_add(g, fc, ig);
    rc_node *hn = sw ? rc_mul(g, rc_tanh(g, cn), o) : rc_mul(g, o, rc_tanh(g, cn));
    st->output = st->next_state[0] = hn;
    st->next_state[1] = cn;
    return rc_graph_status(g);
}

static const rc_cell_class ul_class = {"UserLSTM", ul_build, ul_project, ul_step, NULL};

static rc_cell *ul_new(int64_t units, int variant) {
    ulstm *s = rc_calloc(1, sizeof *s);
    s->units = units;
    s->variant = variant;
    int64_t sizes[2] = {units, units};
    return rc_cell_new(&ul_class, "user_lstm", 2, sizes, units, s, NULL);
}

/* Nodes of an op in the graph, by identity (the table's entry). */
static int count_op(rc_graph *g, const char *name) {
    const rc_op *op = rc_op_find(name);
    cr_assert(op, "no op %s", name);
    int n = 0;
    for (int i = 0; i < rc_graph_node_count(g); i++) n += rc_graph_node(g, i)->op == op;
    return n;
}

enum { B = 3, T = 5, I = 4, U = 3 };

/* Output of a layer over a fixed x, with the cell's weights copied from src
 * (when given) so two cells can be compared. */
static void run_layer(rc_cell *cell, rc_cell *src, float *out, int *fused) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
    rc_rnn_config cfg = {.return_sequences = true};
    rc_rnn *l = rc_rnn_new("rnn", cell, &cfg, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
    if (src)
        for (int k = 0; k < 3; k++)
            cr_assert_eq(rc_cell_set_weight(cell, k, rc_node_shape(cell->params[k]), rc_node_data(src->params[k])),
                         RC_OK);
    tu_eval(g, o.output, out);
    *fused = count_op(g, "lstm_cell");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(fusion, a_user_lstm_gets_the_fused_op_and_the_built_in_values) {
    for (int variant = 0; variant < 2; variant++) {
        /* the built-in LSTM with the user cell's (random) weights */
        rc_cell *uc = ul_new(U, variant);
        float want[B * T * U], got[B * T * U];
        int fu, fb;
        rc_graph *g0 = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 1);
        cr_assert_eq(rc_cell_build(uc, g0, I, &r), RC_OK);
        rc_cell_config cfg = rc_cell_defaults(U);
        rc_cell *bc = rc_lstm_cell_new(&cfg);
        run_layer(bc, uc, want, &fb);
        run_layer(ul_new(U, variant), uc, got, &fu);
        cr_assert_eq(fb, T, "built-in LSTM: %d fused steps", fb);
        cr_assert_eq(fu, T, "variant %d: %d of %d steps fused", variant, fu, T);
        for (int e = 0; e < B * T * U; e++)
            cr_assert_eq(got[e], want[e], "variant %d elem %d: %g vs %g", variant, e, got[e], want[e]);
        rc_cell_free(uc);
        rc_graph_free(g0);
    }
}

Test(fusion, a_near_miss_is_not_fused_and_computes_its_own_formula) {
    float got[B * T * U];
    int fu;
    run_layer(ul_new(U, 2), NULL, got, &fu);
    cr_assert_eq(fu, 0, "a sigmoid candidate must not be fused");
    /* and the plain path agrees with the double reference */
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 6);
    rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
    rc_rnn_config cfg = {.return_sequences = true};
    rc_rnn *l = rc_rnn_new("rnn", ul_new(U, 2), &cfg, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK);
    tu_check_forward(g, o.output, 1e-6, 1e-5);
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(fusion, gradients_of_the_fused_user_cell_with_mask_and_recurrent_dropout) {
    for (int variant = 0; variant < 2; variant++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 11 + (uint64_t)variant);
        rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
        rc_node *mask = rc_input(g, "mask", RC_F32, RC_SHAPE(B, T));
        float *m = rc_node_data(mask);
        for (int e = 0; e < B * T; e++) m[e] = (e % 4 == 3) ? 0.0f : 1.0f;
        rc_rnn_config cfg = {.return_sequences = true, .return_state = true, .recurrent_dropout = 0.3f};
        rc_rnn *l = rc_rnn_new("rnn", ul_new(U, variant), &cfg, NULL);
        rc_rnn_call call = {.mask = mask, .training = true, .rng = &r};
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(l, g, x, &call, &o), RC_OK, "%s", rc_graph_error(g));
        cr_assert_eq(count_op(g, "lstm_cell"), T);
        rc_node *loss = rc_add(g, tu_weighted_sum(g, o.output, &r),
                               rc_add(g, tu_weighted_sum(g, o.state[0], &r), tu_weighted_sum(g, o.state[1], &r)));
        rc_cell *c = rc_rnn_cell(l);
        rc_node *wrt[4] = {x, c->params[0], c->params[1], c->params[2]};
        tu_check_gradients(g, loss, wrt, 4, 0, 0);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
}

/* rc_graph_set_fusion(g, false): the built-in LSTM is built from its gates
 * (nothing fused), computes the same values up to float rounding of the
 * different evaluation order, and its gradient graph can be differentiated
 * again — which the fused graph refuses with an error. */
Test(fusion, switched_off_the_lstm_is_plain_ops_and_twice_differentiable) {
    float out[2][B * T * U];
    for (int fuse = 0; fuse < 2; fuse++) {
        rc_graph *g = rc_graph_new();
        rc_graph_set_fusion(g, fuse);
        cr_assert_eq(rc_graph_fusion(g), (bool)fuse);
        rc_rng r;
        rc_rng_seed(&r, 5);
        rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
        rc_cell_config cc = rc_cell_defaults(U);
        rc_rnn_config cfg = {.return_sequences = true};
        rc_rnn *l = rc_rnn_new("rnn", rc_lstm_cell_new(&cc), &cfg, NULL);
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
        cr_assert_eq(count_op(g, "lstm_cell"), fuse ? T : 0);
        tu_eval(g, o.output, out[fuse]);
        rc_node *loss = rc_sum(g, rc_square(g, o.output), RC_ALL_AXES, false), *dx, *d2;
        cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
        rc_node *loss2 = rc_sum(g, rc_square(g, dx), RC_ALL_AXES, false);
        rc_status st = rc_gradients(g, loss2, &x, 1, &d2);
        if (fuse) {
            cr_assert_eq(st, RC_ERR_ARG);
            cr_assert(strstr(rc_graph_error(g), "lstm_cell_grad"), "%s", rc_graph_error(g));
        } else {
            cr_assert_eq(st, RC_OK, "%s", rc_graph_error(g));
            cr_assert_not_null(d2);
        }
        rc_rnn_free(l);
        rc_graph_free(g);
    }
    /* |h| < 1 and a handful of roundings per step: 1e-6 absolute */
    for (int e = 0; e < B * T * U; e++)
        cr_assert(fabsf(out[0][e] - out[1][e]) <= 1e-6f, "elem %d: %g vs %g", e, out[0][e], out[1][e]);
}

/* The built-in GRU (reset_after, Keras' default activations) takes the fused
 * gru_cell op (ops/gru.c) unless fusion is off; both give the same output
 * and gradients, and only the plain ops are twice differentiable. */
Test(fusion, the_gru_fused_and_plain_agree_and_only_plain_is_twice_differentiable) {
    enum { NG = 4 };
    float out[2][B * T * U], grad[2][NG][3 * U * (I > U ? I : U) * 2];
    int64_t numel[NG];
    for (int fuse = 0; fuse < 2; fuse++) {
        rc_graph *g = rc_graph_new();
        rc_graph_set_fusion(g, fuse);
        rc_rng r;
        rc_rng_seed(&r, 5);
        rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
        rc_cell_config cc = rc_cell_defaults(U);
        rc_rnn_config cfg = {.return_sequences = true};
        rc_cell *cell = rc_gru_cell_new(&cc);
        rc_rnn *l = rc_rnn_new("rnn", cell, &cfg, NULL);
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
        cr_assert_eq(count_op(g, "gru_cell"), fuse ? T : 0);
        /* a random bias, so its gradient paths are exercised with nonzero values */
        cr_assert_eq(cell->nparams, 3);
        rc_init_uniform(rc_node_data(cell->params[2]), rc_shape_numel(rc_node_shape(cell->params[2])), -0.5f, 0.5f,
                        &r);
        tu_eval(g, o.output, out[fuse]);
        rc_node *loss = tu_weighted_sum(g, o.output, &r);
        rc_node *wrt[NG] = {x, cell->params[0], cell->params[1], cell->params[2]}, *d[NG];
        cr_assert_eq(rc_gradients(g, loss, wrt, NG, d), RC_OK, "%s", rc_graph_error(g));
        for (int k = 0; k < NG; k++) {
            numel[k] = rc_shape_numel(rc_node_shape(wrt[k]));
            cr_assert_leq(numel[k], (int64_t)(sizeof grad[0][0] / sizeof(float)));
            tu_eval(g, d[k], grad[fuse][k]);
        }
        rc_node *loss2 = rc_sum(g, rc_square(g, d[0]), RC_ALL_AXES, false), *d2;
        rc_status st = rc_gradients(g, loss2, &x, 1, &d2);
        if (fuse) {
            cr_assert_eq(st, RC_ERR_ARG);
            cr_assert(strstr(rc_graph_error(g), "gru_cell_grad"), "%s", rc_graph_error(g));
        } else {
            cr_assert_eq(st, RC_OK, "%s", rc_graph_error(g));
        }
        rc_rnn_free(l);
        rc_graph_free(g);
    }
    /* the forward is the same operations in the same order: equal */
    for (int e = 0; e < B * T * U; e++) cr_assert_eq(out[0][e], out[1][e], "elem %d: %g vs %g", e, out[0][e], out[1][e]);
    /* gradients: the fused kernel groups the float products differently
     * (e.g. dh' (1 - z) (1 - hh²) in one expression): a few roundings of
     * values of order 1, summed over T = 5 steps: 1e-5 absolute */
    for (int k = 0; k < NG; k++)
        for (int64_t e = 0; e < numel[k]; e++)
            cr_assert(fabsf(grad[0][k][e] - grad[1][k][e]) <= 1e-5f, "grad %d elem %lld: %g vs %g", k, (long long)e,
                      grad[0][k][e], grad[1][k][e]);
}

/* --- a user GRU (Keras reset_after) written from ops -------------------------
 * Keras' weights: kernel (I, 3U), recurrent_kernel (U, 3U), bias (2, 3U)
 * (input and recurrent rows), so the built-in GRU's weights copy over.
 * variant 0: the built-in's form, h' = lerp(z, h, hh); 1: every
 * commutative operand swapped and h' = hh + z (h - hh) written out;
 * 2: not a GRU (the candidate through sigmoid). */
typedef struct ugru {
    int64_t units;
    int variant;
    rc_node *kernel, *rkernel, *bias, *b_in, *b_rec;
} ugru;

static rc_status ug_build(rc_cell *c, rc_graph *g, int64_t nin, rc_rng *rng) {
    ugru *s = c->impl;
    int64_t u = s->units;
    s->kernel = rc_cell_add_param(c, g, "kernel", RC_SHAPE(nin, 3 * u));
    s->rkernel = rc_cell_add_param(c, g, "recurrent_kernel", RC_SHAPE(u, 3 * u));
    s->bias = rc_cell_add_param(c, g, "bias", RC_SHAPE(2, 3 * u));
    if (!s->bias) return rc_graph_status(g);
    rc_init_uniform(rc_node_data(s->kernel), nin * 3 * u, -0.6f, 0.6f, rng);
    rc_init_uniform(rc_node_data(s->rkernel), u * 3 * u, -0.6f, 0.6f, rng);
    rc_init_uniform(rc_node_data(s->bias), 6 * u, -0.6f, 0.6f, rng);
    s->b_in = rc_reshape(g, rc_slice(g, s->bias, 0, 0, 1), RC_SHAPE(3 * u));
    s->b_rec = rc_reshape(g, rc_slice(g, s->bias, 0, 1, 2), RC_SHAPE(3 * u));
    return rc_graph_status(g);
}

static rc_node *ug_project(rc_cell *c, rc_graph *g, rc_node *x) {
    ugru *s = c->impl;
    return rc_add(g, rc_matmul(g, x, s->kernel, false, false), s->b_in);
}

static rc_status ug_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    ugru *s = c->impl;
    int64_t u = s->units;
    bool sw = s->variant == 1;
    rc_node *h = st->state[0], *x = st->x;
    rc_node *hm = st->rec_mask ? rc_mul(g, h, st->rec_mask) : h;
    rc_node *hu = rc_add(g, rc_matmul(g, hm, s->rkernel, false, false), s->b_rec);
    rc_node *xb[3], *hb[3];
    for (int k = 0; k < 3; k++) {
        xb[k] = rc_slice(g, x, 1, k * u, (k + 1) * u);
        hb[k] = rc_slice(g, hu, -1, k * u, (k + 1) * u);
    }
    rc_node *z = rc_sigmoid(g, sw ? rc_add(g, hb[0], xb[0]) : rc_add(g, xb[0], hb[0]));
    rc_node *r = rc_sigmoid(g, sw ? rc_add(g, hb[1], xb[1]) : rc_add(g, xb[1], hb[1]));
    rc_node *rh = sw ? rc_mul(g, hb[2], r) : rc_mul(g, r, hb[2]);
    rc_node *pre = sw ? rc_add(g, rh, xb[2]) : rc_add(g, xb[2], rh);
    rc_node *hh = s->variant == 2 ? rc_sigmoid(g, pre) : rc_tanh(g, pre);
    rc_node *hn = sw ? rc_add(g, rc_mul(g, rc_sub(g, h, hh), z), hh) : rc_lerp(g, z, h, hh);
    st->output = st->next_state[0] = hn;
    return rc_graph_status(g);
}

static const rc_cell_class ug_class = {"UserGRU", ug_build, ug_project, ug_step, NULL};

static rc_cell *ug_new(int64_t units, int variant) {
    ugru *s = rc_calloc(1, sizeof *s);
    s->units = units;
    s->variant = variant;
    int64_t sizes[1] = {units};
    return rc_cell_new(&ug_class, "user_gru", 1, sizes, units, s, NULL);
}

/* --- the training plan: one fused kernel per step ------------------------------ */

typedef struct trained {
    int fused;      /* kernels of the fused op in the plan */
    int kernels;    /* all kernels */
    size_t bytes;   /* the plan's arena */
    float out[B * T * U], grad[3][4 * U * (I > U ? I : U)];
    float w[3][4 * U * (I > U ? I : U)]; /* the weights the run used */
} trained;

/* A training step's plan (loss, output and every weight's gradient) of an
 * RNN layer over cell (freed here), with the weights of src (when given:
 * another cell's run), with or without fusion; fused kernels counted by the
 * op's identity through the table. */
static void train_plan(rc_cell *cell, const trained *src, bool fusion, const char *fused_op, trained *t) {
    rc_graph *g = rc_graph_new();
    rc_graph_set_fusion(g, fusion);
    rc_rng r;
    rc_rng_seed(&r, 9);
    rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
    rc_rnn *l = rc_rnn_new("rnn", cell, &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, &(rc_rnn_call){.training = true}, &o), RC_OK, "%s", rc_graph_error(g));
    if (src)
        for (int k = 0; k < 3; k++)
            cr_assert_eq(rc_cell_set_weight(cell, k, rc_node_shape(cell->params[k]), src->w[k]), RC_OK);
    for (int k = 0; k < 3; k++) {
        int64_t n = rc_node_numel(cell->params[k]);
        cr_assert_leq(n, (int64_t)(sizeof t->w[k] / sizeof(float)));
        memcpy(t->w[k], rc_node_data(cell->params[k]), (size_t)n * sizeof(float));
    }
    rc_node *loss = tu_weighted_sum(g, o.output, &r), *grads[3], *outs[8] = {loss, o.output};
    cr_assert_eq(cell->nparams, 3);
    cr_assert_eq(rc_gradients(g, loss, cell->params, 3, grads), RC_OK, "%s", rc_graph_error(g));
    for (int k = 0; k < 3; k++) outs[2 + k] = grads[k];
    rc_plan *p = rc_plan_new(g, outs, 5);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    const rc_op *op = rc_op_find(fused_op);
    t->fused = 0;
    for (int k = 0; k < rc_plan_steps(p); k++) t->fused += rc_node_op(rc_plan_step_node(p, k)) == op;
    t->kernels = rc_plan_steps(p);
    t->bytes = rc_plan_peak_bytes(p);
    memcpy(t->out, rc_plan_f32(p, o.output), sizeof t->out);
    for (int k = 0; k < 3; k++) {
        int64_t n = rc_node_numel(grads[k]);
        cr_assert_leq(n, (int64_t)(sizeof t->grad[k] / sizeof(float)));
        memcpy(t->grad[k], rc_plan_f32(p, grads[k]), (size_t)n * sizeof(float));
    }
    rc_plan_free(p);
    rc_rnn_free(l);
    rc_graph_free(g);
}

/* For the LSTM and the GRU: the built-in cell and the user cells (each
 * variant of operand order and blend form) reach the same fused plan
 * through the one pass: exactly one fused kernel per step, and the user
 * cell's plan has the built-in's kernel count and bytes and computes its
 * values bit for bit. Fails when the rewrite stops applying to any. */
Test(fusion, built_in_and_user_cells_reach_the_same_fused_training_plan) {
    for (int gru = 0; gru < 2; gru++) {
        const char *op = gru ? "gru_cell" : "lstm_cell";
        rc_cell_config cc = rc_cell_defaults(U);
        static trained want, got;
        rc_cell *bc = gru ? rc_gru_cell_new(&cc) : rc_lstm_cell_new(&cc);
        train_plan(bc, NULL, true, op, &want);
        cr_assert_eq(want.fused, T, "built-in %s: %d fused kernels for %d steps", op, want.fused, T);
        for (int variant = 0; variant < 2; variant++) {
            rc_cell *uc = gru ? ug_new(U, variant) : ul_new(U, variant);
            train_plan(uc, &want, true, op, &got);
            cr_assert_eq(got.fused, T, "user %s variant %d: %d fused kernels for %d steps", op, variant, got.fused, T);
            cr_assert_eq(got.kernels, want.kernels, "user %s variant %d: %d kernels, built-in %d", op, variant,
                         got.kernels, want.kernels);
            cr_assert_eq(got.bytes, want.bytes, "user %s variant %d: %zu bytes, built-in %zu", op, variant, got.bytes,
                         want.bytes);
            for (int e = 0; e < B * T * U; e++)
                cr_assert_eq(got.out[e], want.out[e], "user %s variant %d elem %d", op, variant, e);
            for (int k = 0; k < 3; k++)
                for (size_t e = 0; e < sizeof got.grad[k] / sizeof(float); e++)
                    cr_assert_eq(got.grad[k][e], want.grad[k][e], "user %s variant %d grad %d elem %zu", op, variant,
                                 k, e);
        }
    }
}

/* Fusion off: nothing fused, and the values agree with the fused plan's.
 * The GRU: bit for bit forward (the fused kernel evaluates the plain ops'
 * operations in their order); gradients within 1e-5 (the fused gradient
 * groups products differently: a few roundings of values of order 1 over
 * T = 5 steps). The LSTM: 1e-6 forward (a handful of roundings per step,
 * |h| < 1), 1e-5 gradients. For the user GRU too. */
Test(fusion, fused_and_unfused_training_plans_agree) {
    for (int kind = 0; kind < 3; kind++) {
        const char *op = kind == 0 ? "lstm_cell" : "gru_cell";
        static trained on, off;
        rc_cell_config cc = rc_cell_defaults(U);
        rc_cell *cells[2];
        for (int f = 0; f < 2; f++)
            cells[f] = kind == 0 ? rc_lstm_cell_new(&cc) : kind == 1 ? rc_gru_cell_new(&cc) : ug_new(U, 1);
        train_plan(cells[1], NULL, true, op, &on);
        train_plan(cells[0], &on, false, op, &off);
        cr_assert_eq(on.fused, T);
        cr_assert_eq(off.fused, 0);
        cr_assert_lt(on.kernels, off.kernels);
        float tol = kind == 0 ? 1e-6f : 0.0f;
        for (int e = 0; e < B * T * U; e++)
            cr_assert(fabsf(on.out[e] - off.out[e]) <= tol, "kind %d elem %d: %g vs %g", kind, e, on.out[e], off.out[e]);
        for (int k = 0; k < 3; k++)
            for (size_t e = 0; e < sizeof on.grad[k] / sizeof(float); e++)
                cr_assert(fabsf(on.grad[k][e] - off.grad[k][e]) <= 1e-5f, "kind %d grad %d elem %zu: %g vs %g", kind,
                          k, e, on.grad[k][e], off.grad[k][e]);
    }
}

Test(fusion, a_near_miss_gru_is_not_fused) {
    static trained t;
    train_plan(ug_new(U, 2), NULL, true, "gru_cell", &t);
    cr_assert_eq(t.fused, 0, "a sigmoid candidate must not be fused");
}

/* StackedRNNCells passes each cell's step through the same pass: a stack
 * of a built-in LSTM and a user GRU runs one lstm_cell and one gru_cell
 * kernel per step. */
Test(fusion, cells_of_a_stack_are_fused_each) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_node *x = tu_param(g, "x", RC_SHAPE(B, T, I), &r, -1, 1);
    rc_cell_config cc = rc_cell_defaults(U);
    rc_cell *cells[2] = {rc_lstm_cell_new(&cc), ug_new(U, 0)};
    rc_rnn *l = rc_rnn_new("stack", rc_stacked_cells_new(cells, 2, NULL), &(rc_rnn_config){.return_sequences = true}, NULL);
    rc_rnn_out o;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK, "%s", rc_graph_error(g));
    rc_plan *p = rc_plan_new(g, &o.output, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    int n[2] = {0, 0};
    for (int k = 0; k < rc_plan_steps(p); k++) {
        n[0] += rc_node_op(rc_plan_step_node(p, k)) == rc_op_find("lstm_cell");
        n[1] += rc_node_op(rc_plan_step_node(p, k)) == rc_op_find("gru_cell");
    }
    cr_assert_eq(n[0], T, "%d lstm_cell kernels", n[0]);
    cr_assert_eq(n[1], T, "%d gru_cell kernels", n[1]);
    rc_plan_free(p);
    rc_rnn_free(l);
    rc_graph_free(g);
}
