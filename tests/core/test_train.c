/* Training end to end: a 2-8-1 MLP learns XOR by plain SGD through its
 * gradient graph, with one plan (loss + updates) run once per step.
 *
 *   h = tanh(x · W1 + b1), logits = h · W2 + b2,
 *   loss = mean(sigmoid_bce(logits, y))
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

enum { B = 4, I = 2, H = 8, NP = 4 };

static const float xor_x[B * I] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float xor_y[B] = {0, 1, 1, 0};

typedef struct xor_net {
    rc_graph *g;
    rc_node *params[NP]; /* W1 (2, 8), b1 (8), W2 (8, 1), b2 (1) */
    rc_node *grads[NP];
    rc_node *updates[NP];
    rc_node *loss, *prob;
    rc_plan *train; /* outputs: loss, then the NP updates */
} xor_net;

static void xor_net_init(xor_net *n, uint64_t seed, float lr) {
    memset(n, 0, sizeof *n);
    rc_graph *g = n->g = rc_graph_new();
    cr_assert_not_null(g);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(B, I));
    rc_node *y = rc_input(g, "y", RC_F32, RC_SHAPE(B, 1));
    rc_node *w1 = rc_param(g, "w1", RC_SHAPE(I, H)), *b1 = rc_param(g, "b1", RC_SHAPE(H));
    rc_node *w2 = rc_param(g, "w2", RC_SHAPE(H, 1)), *b2 = rc_param(g, "b2", RC_SHAPE(1));
    rc_node *h = rc_tanh(g, rc_add(g, rc_matmul(g, x, w1, false, false), b1));
    rc_node *logits = rc_add(g, rc_matmul(g, h, w2, false, false), b2);
    n->loss = rc_mean(g, rc_sigmoid_bce(g, logits, y), RC_ALL_AXES, false);
    n->prob = rc_sigmoid(g, logits);
    rc_node *ps[NP] = {w1, b1, w2, b2};
    memcpy(n->params, ps, sizeof ps);
    cr_assert_eq(rc_gradients(g, n->loss, n->params, NP, n->grads), RC_OK, "%s", rc_graph_error(g));
    for (int i = 0; i < NP; i++) n->updates[i] = rc_apply_gradient_descent(g, n->params[i], n->grads[i], lr);
    tu_assert_ok(g);

    /* Glorot-uniform weights, zero biases. */
    rc_rng r;
    rc_rng_seed(&r, seed);
    rc_rng_fill_uniform(&r, rc_node_data(w1), I * H, -sqrtf(6.0f / (I + H)), sqrtf(6.0f / (I + H)));
    rc_rng_fill_uniform(&r, rc_node_data(w2), H, -sqrtf(6.0f / (H + 1)), sqrtf(6.0f / (H + 1)));
    rc_node_set(x, xor_x);
    rc_node_set(y, xor_y);

    rc_node *outs[1 + NP] = {n->loss};
    memcpy(outs + 1, n->updates, sizeof n->updates);
    n->train = rc_plan_new(g, outs, 1 + NP);
    cr_assert_not_null(n->train, "%s", rc_graph_error(g));
}

/* One SGD step; returns the loss computed before the update. */
static float xor_net_step(xor_net *n) {
    rc_error err;
    cr_assert_eq(rc_plan_run(n->train, &err), RC_OK, "%s", err.message);
    return rc_plan_f32(n->train, n->loss)[0];
}

/* Loss and probabilities at the current parameters, without training. */
static float xor_net_eval(xor_net *n, float prob[B]) {
    rc_node *outs[2] = {n->loss, n->prob};
    rc_plan *p = rc_plan_new(n->g, outs, 2);
    cr_assert_not_null(p, "%s", rc_graph_error(n->g));
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    float loss = rc_plan_f32(p, n->loss)[0];
    if (prob) memcpy(prob, rc_plan_f32(p, n->prob), B * sizeof *prob);
    rc_plan_free(p);
    return loss;
}

static void xor_net_free(xor_net *n) {
    rc_plan_free(n->train);
    rc_graph_free(n->g);
}

/* 2000 full-batch steps at lr 0.5 take this seed to a loss near 0.0012; the
 * 0.01 bar leaves room for kernel rounding differences between machines. */
Test(train, xor_mlp_reaches_loss_below_0_01) {
    xor_net n;
    xor_net_init(&n, 42, 0.5f);
    for (int s = 0; s < 2000; s++) xor_net_step(&n);
    float prob[B];
    float loss = xor_net_eval(&n, prob);
    cr_assert_lt(loss, 0.01f, "final loss %g", loss);
    for (int b = 0; b < B; b++)
        cr_assert_lt(fabsf(prob[b] - xor_y[b]), 0.1f, "xor(%g, %g): predicted %g, want %g",
                     xor_x[2 * b], xor_x[2 * b + 1], prob[b], xor_y[b]);
    xor_net_free(&n);
}

/* Full-batch gradient descent at a small enough rate decreases the loss at
 * every step; checkpoints every 100 steps may only ever go down (with 1% of
 * slack for float rounding), and the total drop is at least tenfold. */
Test(train, loss_falls_steadily_and_tenfold) {
    xor_net n;
    xor_net_init(&n, 42, 0.5f);
    float initial = xor_net_step(&n), prev = initial, loss = initial;
    for (int s = 1; s <= 2000; s++) {
        loss = xor_net_step(&n);
        cr_assert(isfinite(loss), "step %d: loss %g", s, loss);
        if (s % 100 == 0) {
            cr_assert_leq(loss, prev * 1.01f, "step %d: loss rose from %g to %g", s, prev, loss);
            prev = loss;
        }
    }
    cr_assert_lt(loss, initial / 10, "initial %g, final %g", initial, loss);
    xor_net_free(&n);
}

/* The updates are planned after every reader of the parameters: one run
 * reports the loss at the old parameters and leaves p - lr * dL/dp. */
Test(train, one_step_reports_old_loss_and_applies_lr_times_gradient) {
    const float lr = 0.5f;
    xor_net n;
    xor_net_init(&n, 7, lr);
    rc_plan *gp = rc_plan_new(n.g, n.grads, NP);
    cr_assert_not_null(gp, "%s", rc_graph_error(n.g));
    cr_assert_eq(rc_plan_run(gp, NULL), RC_OK);
    float loss_before = xor_net_eval(&n, NULL);
    float expected[NP][H * I];
    for (int i = 0; i < NP; i++) {
        const float *p = rc_node_data(n.params[i]), *gr = rc_plan_f32(gp, n.grads[i]);
        for (int64_t j = 0; j < rc_node_numel(n.params[i]); j++) expected[i][j] = p[j] - lr * gr[j];
    }
    cr_assert(fabsf(rc_plan_f32(gp, n.grads[0])[0]) > 0, "a zero gradient would prove nothing");

    float reported = xor_net_step(&n);
    /* after the update the loss would differ by about lr * |g|^2 >> 1e-6 */
    cr_assert_float_eq(reported, loss_before, 1e-6f, "step reported %.9g, loss before was %.9g",
                       reported, loss_before);
    for (int i = 0; i < NP; i++) {
        const float *p = rc_node_data(n.params[i]);
        for (int64_t j = 0; j < rc_node_numel(n.params[i]); j++)
            cr_assert_float_eq(p[j], expected[i][j], 1e-6f, "%s[%lld]: %g, want %g",
                               rc_node_name(n.params[i]), (long long)j, p[j], expected[i][j]);
    }
    rc_plan_free(gp);
    xor_net_free(&n);
}

Test(train, same_seed_gives_bit_identical_training) {
    xor_net a, b;
    xor_net_init(&a, 123, 0.5f);
    xor_net_init(&b, 123, 0.5f);
    for (int s = 0; s < 300; s++) {
        float la = xor_net_step(&a), lb = xor_net_step(&b);
        cr_assert_eq(memcmp(&la, &lb, sizeof la), 0, "step %d: %.9g vs %.9g", s, la, lb);
    }
    xor_net_free(&a);
    xor_net_free(&b);
}

/* A training step is the hot loop: it must not touch the allocator. */
Test(train, training_steps_allocate_nothing) {
    xor_net n;
    xor_net_init(&n, 42, 0.5f);
    xor_net_step(&n);
    uint64_t before = rc_alloc_count();
    for (int s = 0; s < 100; s++) xor_net_step(&n);
    cr_assert_eq(rc_alloc_count(), before, "%llu allocations in 100 steps",
                 (unsigned long long)(rc_alloc_count() - before));
    xor_net_free(&n);
}
