/* One sweep over the op table: every op, built on small random inputs,
 *   - has the shape its row expects (the shape rule),
 *   - computes in float32 what its double reference kernel computes,
 *   - has gradients that pass the double-precision gradient check
 *     (central differences, so the check measures the gradient builders),
 *   - and its gradient nodes' float32 kernels agree with their references.
 * The sweep records every op that appears in any graph it builds (forward
 * and gradient nodes), and the last check fails if an op of the table was
 * never reached: a new op needs a row here (or a reason in `untested`).
 *
 * Tolerances: float32 against double, |f32 - f64| <= 1e-5 + 1e-4 |f64|
 * for these O(1) values (a few float32 roundings, SLEEF's <= 3.5 ULP tanh,
 * sums of at most 24 terms: relative errors ~1e-6); gradcheck in double
 * with rc_gradcheck's defaults (atol 1e-6, rtol 1e-5; eps 1e-6 gives
 * truncation ~1e-12 and rounding ~1e-10). Inputs avoid kinks (relu at 0,
 * hard_sigmoid at its clip points) by more than eps with probability ~1. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"
#include <recur/op.h>

#define MAX_WRT 4

typedef struct example {
    rc_node *y;              /* the op's node */
    rc_node *wrt[MAX_WRT];   /* float leaves to differentiate against */
    int nwrt;
    bool side_effect;        /* a parameter update: built and planned only */
    bool no_forward_check;   /* draws random numbers at run time */
} example;

typedef void (*build_fn)(rc_graph *g, rc_rng *r, example *e);

typedef struct row {
    const char *what;
    build_fn build;
    rc_shape shape; /* expected output shape */
} row;

#define P(name, ...) tu_param(g, name, RC_SHAPE(__VA_ARGS__), r, -1, 1)
#define WRT1(a) (e->wrt[0] = (a), e->nwrt = 1)
#define WRT2(a, b) (e->wrt[0] = (a), e->wrt[1] = (b), e->nwrt = 2)
#define WRT3(a, b, c) (e->wrt[0] = (a), e->wrt[1] = (b), e->wrt[2] = (c), e->nwrt = 3)

static rc_node *ids(rc_graph *g, rc_shape s, int32_t vocab, rc_rng *r) {
    int32_t v[64];
    for (int64_t i = 0; i < rc_shape_numel(s); i++) v[i] = (int32_t)rc_rng_below(r, (uint64_t)vocab);
    return rc_const_i32(g, s, v);
}

/* --- unary --------------------------------------------------------------- */
static void b_neg(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_neg(g, x); WRT1(x); }
static void b_scale(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_scale(g, x, 0.7); WRT1(x); }
static void b_add_scalar(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3);
    e->y = rc_add_scalar(g, x, 0.3);
    WRT1(x);
}
static void b_sigmoid(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_sigmoid(g, x); WRT1(x); }
static void b_tanh(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_tanh(g, x); WRT1(x); }
static void b_relu(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_relu(g, x); WRT1(x); }
static void b_hard_sigmoid(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3), r, -2, 2); /* clip points at -2.5 and 2.5 */
    e->y = rc_hard_sigmoid(g, x, 0.2f, 0.5f);
    WRT1(x);
}
static void b_exp(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_exp(g, x); WRT1(x); }
static void b_log(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3), r, 0.5f, 2);
    e->y = rc_log(g, x);
    WRT1(x);
}
static void b_square(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_square(g, x); WRT1(x); }

/* Keras activations (ops/unary.c). */
static rc_node *elu1(rc_graph *g, rc_node *x) { return rc_elu(g, x, 1.3f); }
static rc_node *gelu_exact(rc_graph *g, rc_node *x) { return rc_gelu(g, x, false); }
static rc_node *gelu_tanh(rc_graph *g, rc_node *x) { return rc_gelu(g, x, true); }
static const struct act { const char *name; rc_node *(*f)(rc_graph *, rc_node *); } acts[] = {
    {"elu", elu1}, {"selu", rc_selu}, {"softplus", rc_softplus}, {"softsign", rc_softsign},
    {"silu", rc_silu}, {"gelu", gelu_exact}, {"gelu (tanh)", gelu_tanh},
};
static void act_row(rc_graph *g, rc_rng *r, example *e, int k) {
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3), r, -3, 3);
    e->y = acts[k].f(g, x);
    WRT1(x);
}
/* The activation's derivative as the example, so the sweep's gradient of
 * it checks the second derivative (the gradient ops' own gradients). */
static void act_d_row(rc_graph *g, rc_rng *r, example *e, int k) {
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3), r, -3, 3), *dx;
    rc_node *loss = tu_weighted_sum(g, acts[k].f(g, x), r);
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
    e->y = dx;
    WRT1(x);
}
#define ACT_ROWS(k, f)                                                                                 \
    static void b_##f(rc_graph *g, rc_rng *r, example *e) { act_row(g, r, e, k); }                     \
    static void b_##f##_d(rc_graph *g, rc_rng *r, example *e) { act_d_row(g, r, e, k); }
ACT_ROWS(0, elu)
ACT_ROWS(1, selu)
ACT_ROWS(2, softplus)
ACT_ROWS(3, softsign)
ACT_ROWS(4, silu)
ACT_ROWS(5, gelu)
ACT_ROWS(6, gelu_tanh)

/* The fused gradient ops, built directly so their own gradients (second
 * order) are checked too. */
static void b_sigmoid_grad(rc_graph *g, rc_rng *r, example *e) {
    rc_node *y = tu_param(g, "y", RC_SHAPE(2, 3), r, 0.1f, 0.9f), *dy = P("dy", 2, 3);
    e->y = rc_sigmoid_grad(g, y, dy);
    WRT2(y, dy);
}
static void b_tanh_grad(rc_graph *g, rc_rng *r, example *e) {
    rc_node *y = tu_param(g, "y", RC_SHAPE(2, 3), r, -0.9f, 0.9f), *dy = P("dy", 2, 3);
    e->y = rc_tanh_grad(g, y, dy);
    WRT2(y, dy);
}
static void b_relu_grad(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3), *dy = P("dy", 2, 3);
    e->y = rc_relu_grad(g, x, dy);
    WRT2(x, dy);
}
static void b_hard_sigmoid_grad(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3), r, -2, 2), *dy = P("dy", 2, 3);
    e->y = rc_hard_sigmoid_grad(g, x, dy, 0.2f, 0.5f);
    WRT2(x, dy);
}

/* --- binary, broadcasting -------------------------------------------------- */
static void b_add(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 3), *b = P("b", 3);
    e->y = rc_add(g, a, b);
    WRT2(a, b);
}
static void b_sub(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 1), *b = P("b", 2, 3);
    e->y = rc_sub(g, a, b);
    WRT2(a, b);
}
static void b_mul(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 3), *b = P("b", 2, 3);
    e->y = rc_mul(g, a, b);
    WRT2(a, b);
}
static void b_div(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 3), *b = tu_param(g, "b", RC_SHAPE(3), r, 0.5f, 2);
    e->y = rc_div(g, a, b);
    WRT2(a, b);
}
static void b_where(rc_graph *g, rc_rng *r, example *e) {
    rc_node *c = rc_const(g, RC_SHAPE(2, 1), (const float[]){1, 0}), *a = P("a", 2, 3), *b = P("b", 2, 3);
    e->y = rc_where(g, c, a, b);
    WRT2(a, b);
}
static void b_broadcast_to(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 1, 3);
    e->y = rc_broadcast_to(g, x, RC_SHAPE(2, 3));
    WRT1(x);
}
static void b_sum_to(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3);
    e->y = rc_sum_to(g, x, RC_SHAPE(1, 3));
    WRT1(x);
}
static void b_add_n(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 3), *b = P("b", 2, 3), *c = P("c", 2, 3);
    e->y = rc_add_n(g, (rc_node *[]){a, b, c}, 3);
    WRT3(a, b, c);
}
static void b_lerp(rc_graph *g, rc_rng *r, example *e) {
    rc_node *w = P("w", 2, 3), *a = P("a", 2, 3), *b = P("b", 2, 3);
    e->y = rc_lerp(g, w, a, b);
    WRT3(w, a, b);
}

/* --- reductions, softmax, losses ---------------------------------------------- */
static void b_sum(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3, 4); e->y = rc_sum(g, x, 1, false); WRT1(x); }
static void b_mean(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3, 4);
    e->y = rc_mean(g, x, RC_ALL_AXES, false);
    WRT1(x);
}
static void b_softmax(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 5); e->y = rc_softmax(g, x); WRT1(x); }
static void b_log_softmax(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 5);
    e->y = rc_log_softmax(g, x);
    WRT1(x);
}
static void b_mse(rc_graph *g, rc_rng *r, example *e) {
    rc_node *p = P("p", 2, 3), *t = P("t", 2, 3);
    e->y = rc_mean_squared_diff(g, p, t);
    WRT2(p, t);
}
static void b_softmax_xent(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 4), *l = rc_softmax(g, tu_const(g, RC_SHAPE(2, 4), r, -1, 1));
    e->y = rc_softmax_xent(g, x, l);
    WRT1(x);
}
static void b_sparse_softmax_xent(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3, 4);
    e->y = rc_sparse_softmax_xent(g, x, ids(g, RC_SHAPE(2, 3), 4, r));
    WRT1(x);
}
static void b_sigmoid_bce(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3), *t = tu_const(g, RC_SHAPE(2, 3), r, 0, 1);
    e->y = rc_sigmoid_bce(g, x, t);
    WRT1(x);
}

/* --- matrix products ------------------------------------------------------------- */
static void b_matmul(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 3, 4), *b = P("b", 5, 4);
    e->y = rc_matmul(g, a, b, false, true);
    WRT2(a, b);
}
static void b_matmul_seq(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 3, 4), *b = P("b", 4, 5);
    e->y = rc_matmul(g, a, b, false, false);
    WRT2(a, b);
}
static void b_matmul_batched(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 4, 3), *b = P("b", 2, 4, 5);
    e->y = rc_matmul(g, a, b, true, false);
    WRT2(a, b);
}
static void b_matmul_acc(rc_graph *g, rc_rng *r, example *e) {
    rc_node *acc = P("acc", 3, 5), *a = P("a", 4, 3), *b = P("b", 4, 5);
    e->y = rc_matmul_acc(g, acc, a, b);
    WRT3(acc, a, b);
}

/* --- shape ------------------------------------------------------------------------ */
static void b_slice(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 5); e->y = rc_slice(g, x, 1, 1, 4); WRT1(x); }
static void b_pad_axis(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3);
    e->y = rc_pad_axis(g, x, 1, 1, 6);
    WRT1(x);
}
static void b_concat(rc_graph *g, rc_rng *r, example *e) {
    rc_node *a = P("a", 2, 3), *b = P("b", 2, 2);
    e->y = rc_concat(g, (rc_node *[]){a, b}, 2, 1);
    WRT2(a, b);
}
static void b_reshape(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 6);
    e->y = rc_reshape(g, x, RC_SHAPE(3, 4));
    WRT1(x);
}
static void b_transpose(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 2, 3, 4);
    e->y = rc_transpose(g, x, (int[]){1, 0, 2});
    WRT1(x);
}
/* seq = x time-major, steps [1, 3) of x (B 2, T 4, F 3) as rows (4, 3). */
static void b_time_rows(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 4, 3), r, -1, 1);
    rc_node *seq = rc_slice(g, rc_transpose(g, x, (int[]){1, 0, 2}), 0, 1, 3);
    e->y = rc_time_rows(g, seq, x, 1, 3);
    WRT1(x);
}
static void b_reverse(rc_graph *g, rc_rng *r, example *e) { rc_node *x = P("x", 2, 3); e->y = rc_reverse(g, x, 1); WRT1(x); }

/* --- lookups ----------------------------------------------------------------------- */
static void b_gather(rc_graph *g, rc_rng *r, example *e) {
    rc_node *t = P("table", 5, 3);
    e->y = rc_gather(g, t, ids(g, RC_SHAPE(2, 3), 5, r));
    WRT1(t);
}
static void b_scatter_add(rc_graph *g, rc_rng *r, example *e) {
    rc_node *x = P("x", 4, 3);
    e->y = rc_scatter_add(g, x, ids(g, RC_SHAPE(4), 5, r), 5);
    WRT1(x);
}
static void b_one_hot(rc_graph *g, rc_rng *r, example *e) { e->y = rc_one_hot(g, ids(g, RC_SHAPE(2, 3), 4, r), 4); }
static void b_fill(rc_graph *g, rc_rng *r, example *e) { e->y = rc_fill(g, RC_SHAPE(2, 3), 0.25f); }

/* --- fused cells (their gradient ops are reached through the gradients) ------------------ */
static void b_lstm_cell(rc_graph *g, rc_rng *r, example *e) {
    rc_node *xp = P("xp", 2, 12), *hu = P("hu", 2, 12), *c = P("c", 2, 3);
    e->y = rc_lstm_step_fused(g, xp, hu, c);
    WRT3(xp, hu, c);
}
static void b_gru_cell(rc_graph *g, rc_rng *r, example *e) {
    rc_node *xp = P("xp", 2, 9), *hu = P("hu", 2, 9), *h = P("h", 2, 3);
    e->y = rc_gru_step_fused(g, xp, hu, h);
    WRT3(xp, hu, h);
}

/* --- randomness, training ops and side effects --------------------------------------------- */
static void b_dropout_mask(rc_graph *g, rc_rng *r, example *e) {
    e->y = rc_dropout_mask(g, RC_SHAPE(2, 3), 0.5, 7);
    e->no_forward_check = true; /* a run advances the node's generator; tests/ops/test_random.c */
}
static rc_node *counter(rc_graph *g) {
    rc_node *s = rc_input(g, "step", RC_I32, RC_SCALAR);
    ((int32_t *)rc_node_data(s))[0] = 3;
    return s;
}
static void b_lr_schedule(rc_graph *g, rc_rng *r, example *e) {
    rc_lr_schedule s = {.kind = RC_LR_COSINE, .initial = 0.1, .decay_steps = 10, .alpha = 0.1};
    e->y = rc_lr_schedule_node(g, &s, counter(g));
}
static void b_global_norm(rc_graph *g, rc_rng *r, example *e) {
    e->y = rc_global_norm(g, (rc_node *[]){P("a", 2, 3), P("b", 4)}, 2);
}
static void b_check_finite(rc_graph *g, rc_rng *r, example *e) { e->y = rc_check_finite(g, P("x", 2, 3)); }
static void b_sgd_update(rc_graph *g, rc_rng *r, example *e) {
    rc_node *p = P("p", 2, 3);
    e->y = rc_apply_gradient_descent(g, p, tu_const(g, RC_SHAPE(2, 3), r, -1, 1), 0.1f);
    e->side_effect = true;
}
static void b_assign(rc_graph *g, rc_rng *r, example *e) {
    rc_node *p = P("p", 2, 3);
    e->y = rc_assign(g, p, tu_const(g, RC_SHAPE(2, 3), r, -1, 1));
    e->side_effect = true;
}
static void b_step_increment(rc_graph *g, rc_rng *r, example *e) {
    e->y = rc_step_increment(g, counter(g));
    e->side_effect = true;
}
static void optim(rc_graph *g, rc_rng *r, example *e, rc_optim_kind kind) {
    rc_optim_config cfg = rc_optim_defaults(kind);
    rc_node *p = P("p", 2, 3), *slots[4];
    for (int k = 0; k < rc_optim_slot_count(&cfg); k++) slots[k] = rc_input(g, "slot", RC_F32, RC_SHAPE(2, 3));
    rc_node *lr = rc_const(g, RC_SCALAR, (const float[]){0.01f});
    e->y = rc_optim_update(g, &cfg, p, tu_const(g, RC_SHAPE(2, 3), r, -1, 1), lr, counter(g), slots, NULL);
    e->side_effect = true;
}
static void b_optim_sgd(rc_graph *g, rc_rng *r, example *e) { optim(g, r, e, RC_OPT_SGD); }
static void b_optim_adam(rc_graph *g, rc_rng *r, example *e) { optim(g, r, e, RC_OPT_ADAM); }
static void b_optim_rmsprop(rc_graph *g, rc_rng *r, example *e) { optim(g, r, e, RC_OPT_RMSPROP); }
static void b_optim_adagrad(rc_graph *g, rc_rng *r, example *e) { optim(g, r, e, RC_OPT_ADAGRAD); }

static const row rows[] = {
    {"neg", b_neg, RC_SHAPE(2, 3)},
    {"scale", b_scale, RC_SHAPE(2, 3)},
    {"add_scalar", b_add_scalar, RC_SHAPE(2, 3)},
    {"sigmoid", b_sigmoid, RC_SHAPE(2, 3)},
    {"tanh", b_tanh, RC_SHAPE(2, 3)},
    {"relu", b_relu, RC_SHAPE(2, 3)},
    {"hard_sigmoid", b_hard_sigmoid, RC_SHAPE(2, 3)},
    {"exp", b_exp, RC_SHAPE(2, 3)},
    {"log", b_log, RC_SHAPE(2, 3)},
    {"square", b_square, RC_SHAPE(2, 3)},
    {"elu", b_elu, RC_SHAPE(2, 3)},
    {"elu derivative", b_elu_d, RC_SHAPE(2, 3)},
    {"selu", b_selu, RC_SHAPE(2, 3)},
    {"selu derivative", b_selu_d, RC_SHAPE(2, 3)},
    {"softplus", b_softplus, RC_SHAPE(2, 3)},
    {"softplus derivative", b_softplus_d, RC_SHAPE(2, 3)},
    {"softsign", b_softsign, RC_SHAPE(2, 3)},
    {"softsign derivative", b_softsign_d, RC_SHAPE(2, 3)},
    {"silu", b_silu, RC_SHAPE(2, 3)},
    {"silu derivative", b_silu_d, RC_SHAPE(2, 3)},
    {"gelu", b_gelu, RC_SHAPE(2, 3)},
    {"gelu derivative", b_gelu_d, RC_SHAPE(2, 3)},
    {"gelu (tanh)", b_gelu_tanh, RC_SHAPE(2, 3)},
    {"gelu (tanh) derivative", b_gelu_tanh_d, RC_SHAPE(2, 3)},
    {"sigmoid_grad", b_sigmoid_grad, RC_SHAPE(2, 3)},
    {"tanh_grad", b_tanh_grad, RC_SHAPE(2, 3)},
    {"relu_grad", b_relu_grad, RC_SHAPE(2, 3)},
    {"hard_sigmoid_grad", b_hard_sigmoid_grad, RC_SHAPE(2, 3)},
    {"add (broadcast)", b_add, RC_SHAPE(2, 3)},
    {"sub (broadcast)", b_sub, RC_SHAPE(2, 3)},
    {"mul", b_mul, RC_SHAPE(2, 3)},
    {"div (broadcast)", b_div, RC_SHAPE(2, 3)},
    {"where", b_where, RC_SHAPE(2, 3)},
    {"broadcast_to", b_broadcast_to, RC_SHAPE(2, 3)},
    {"sum_to", b_sum_to, RC_SHAPE(1, 3)},
    {"add_n", b_add_n, RC_SHAPE(2, 3)},
    {"lerp", b_lerp, RC_SHAPE(2, 3)},
    {"sum over axis 1", b_sum, RC_SHAPE(2, 4)},
    {"mean over all axes", b_mean, RC_SCALAR},
    {"softmax", b_softmax, RC_SHAPE(2, 5)},
    {"log_softmax", b_log_softmax, RC_SHAPE(2, 5)},
    {"mse", b_mse, RC_SCALAR},
    {"softmax_xent", b_softmax_xent, RC_SHAPE(2)},
    {"sparse_softmax_xent", b_sparse_softmax_xent, RC_SHAPE(2, 3)},
    {"sigmoid_bce", b_sigmoid_bce, RC_SHAPE(2, 3)},
    {"matmul A Bt", b_matmul, RC_SHAPE(3, 5)},
    {"matmul (B, T, K) (K, N)", b_matmul_seq, RC_SHAPE(2, 3, 5)},
    {"matmul batched At B", b_matmul_batched, RC_SHAPE(2, 3, 5)},
    {"matmul_acc", b_matmul_acc, RC_SHAPE(3, 5)},
    {"slice", b_slice, RC_SHAPE(2, 3)},
    {"pad_axis", b_pad_axis, RC_SHAPE(2, 6)},
    {"concat", b_concat, RC_SHAPE(2, 5)},
    {"reshape", b_reshape, RC_SHAPE(3, 4)},
    {"transpose", b_transpose, RC_SHAPE(3, 2, 4)},
    {"reverse", b_reverse, RC_SHAPE(2, 3)},
    {"time_rows", b_time_rows, RC_SHAPE(4, 3)},
    {"gather", b_gather, RC_SHAPE(2, 3, 3)},
    {"scatter_add", b_scatter_add, RC_SHAPE(5, 3)},
    {"one_hot", b_one_hot, RC_SHAPE(2, 3, 4)},
    {"fill", b_fill, RC_SHAPE(2, 3)},
    {"lstm_cell", b_lstm_cell, RC_SHAPE(6, 2, 3)},
    {"gru_cell", b_gru_cell, RC_SHAPE(5, 2, 3)},
    {"dropout_mask", b_dropout_mask, RC_SHAPE(2, 3)},
    {"lr_schedule", b_lr_schedule, RC_SCALAR},
    {"global_norm", b_global_norm, RC_SCALAR},
    {"check_finite", b_check_finite, RC_SHAPE(2, 3)},
    {"sgd_update", b_sgd_update, RC_SCALAR},
    {"assign", b_assign, RC_SCALAR},
    {"step_increment", b_step_increment, RC_SCALAR},
    {"optim sgd", b_optim_sgd, RC_SCALAR},
    {"optim adam", b_optim_adam, RC_SCALAR},
    {"optim rmsprop", b_optim_rmsprop, RC_SCALAR},
    {"optim adagrad", b_optim_adagrad, RC_SCALAR},
};

static void mark_ops(rc_graph *g, bool *seen) {
    for (int i = 0; i < rc_graph_node_count(g); i++) {
        const rc_op *op = rc_node_op(rc_graph_node(g, i));
        for (int k = 0; k < rc_op_table_len; k++)
            if (rc_op_table[k] == op) seen[k] = true;
    }
}

static void sweep_row(const row *rw, bool *seen) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 42);
    example e = {0};
    rw->build(g, &r, &e);
    cr_assert(e.y, "%s: built nothing: %s", rw->what, rc_graph_error(g) ? rc_graph_error(g) : "");
    tu_assert_ok(g);
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    cr_assert(rc_shape_eq(rc_node_shape(e.y), rw->shape), "%s: shape %s, expected %s", rw->what,
              rc_shape_str(rc_node_shape(e.y), a, sizeof a), rc_shape_str(rw->shape, b, sizeof b));
    if (e.side_effect) {
        rc_plan *p = rc_plan_new(g, &e.y, 1);
        cr_assert(p, "%s: plan: %s", rw->what, rc_graph_error(g));
        rc_plan_free(p);
    } else if (!e.no_forward_check) {
        tu_check_forward(g, e.y, 1e-5, 1e-4);
    }
    if (e.nwrt > 0) {
        rc_node *loss = tu_weighted_sum(g, e.y, &r), *grads[MAX_WRT];
        cr_assert_eq(rc_gradients(g, loss, e.wrt, e.nwrt, grads), RC_OK, "%s: %s", rw->what, rc_graph_error(g));
        for (int k = 0; k < e.nwrt; k++) tu_check_forward(g, grads[k], 1e-5, 1e-4);
        mark_ops(g, seen);
        tu_check_gradients(g, loss, e.wrt, e.nwrt, 0, 0);
    }
    mark_ops(g, seen);
    rc_graph_free(g);
}

Test(op_sweep, every_op_of_the_table_passes_shape_forward_and_gradient_checks) {
    bool seen[256] = {false};
    cr_assert_lt(rc_op_table_len, 256);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) sweep_row(&rows[i], seen);
    /* Leaves are made by every row (input, param, const). */
    for (int k = 0; k < rc_op_table_len; k++)
        cr_expect(seen[k], "op %s is in the table but no row of tests/ops/test_op_sweep.c reaches it",
                  rc_op_table[k]->name);
}
