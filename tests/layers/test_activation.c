/* The activation table (recur/activation.h), row by row: whatever rows it
 * has, each one
 *   - applies its op: float32 result against the op's double reference
 *     (rc_refeval) and against the Keras formula of tests/util.c's
 *     tu_activation_ref, at points across both sides of 0;
 *   - has gradients: rc_gradcheck through a Dense layer and through a
 *     SimpleRNN cell using it;
 *   - round-trips its names: recur's name, and every Keras 3 and Keras 2 /
 *     TF.js spelling back to the same row, no spelling on two rows.
 *
 * Kinks. relu, selu (f' jumps from scale alpha to scale at 0) and the hard
 * sigmoids (where a x + b leaves (0, 1): x = +-3 for Keras 3, +-2.5 for
 * Keras 2) are not differentiable everywhere; a central difference with
 * eps 1e-6 is wrong only within ~|d pre / d leaf| 1e-6 of a kink. Every
 * gradcheck asserts that every argument of the activation's op is at least
 * KINK_MARGIN from each of those points (the seeds are fixed, the check
 * keeps them honest).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <recur.h>
#include <recur/op.h>

#include "util.h"

#define KINK_MARGIN 1e-4
static const double kinks[] = {0.0, -3.0, 3.0, -2.5, 2.5};

/* --- values ------------------------------------------------------------------- */

/* Points on both sides of 0, small and large, per row of 10 (softmax and
 * log_softmax normalise over each row of 10). */
static const float points[20] = {-6.0f, -3.5f, -2.0f, -1.0f, -0.3f, -1e-3f, 0.0f, 1e-3f, 0.7f, 1.5f,
                                 2.8f,  4.0f,  -0.05f, 0.25f, 1.0f,  -4.5f, 3.2f, -2.7f, 0.5f, 6.0f};

Test(activation, every_row_matches_its_op_and_the_keras_formula) {
    cr_assert(rc_activation_count() >= 16);
    for (int i = 0; i < rc_activation_count(); i++) {
        rc_activation a = rc_activation_at(i);
        rc_graph *g = rc_graph_new();
        rc_node *x = rc_const(g, RC_SHAPE(2, 10), points);
        rc_node *y = rc_activate(g, a, x);
        tu_assert_ok(g);
        cr_assert(rc_shape_eq(rc_node_shape(y), rc_node_shape(x)), "%s: shape", a->name);
        if (a != RC_ACT_LINEAR) tu_check_forward(g, y, 1e-6, 2e-6);
        float got[20];
        tu_eval(g, y, got);
        for (int r = 0; r < 2; r++) {
            double xin[10], want[10];
            for (int k = 0; k < 10; k++) xin[k] = points[r * 10 + k];
            cr_assert(tu_activation_ref(a, xin, want, 10), "row '%s' has no formula in tests/util.c", a->name);
            for (int k = 0; k < 10; k++)
                cr_assert(fabs(got[r * 10 + k] - want[k]) <= 1e-6 + 2e-6 * fabs(want[k]),
                          "%s(%.9g) = %.9g, Keras %.9g", a->name, xin[k], (double)got[r * 10 + k], want[k]);
        }
        rc_graph_free(g);
    }
}

/* The Keras defaults a name stands for, at a point each. */
Test(activation, keras_defaults) {
    struct {
        const char *name;
        double x, y;
    } cases[] = {
        {"elu", -1.0, exp(-1.0) - 1.0},                 /* alpha 1 */
        {"selu", 1.0, 1.0507009873554804934193349852946}, /* scale */
        {"gelu", 1.0, 0.5 * (1.0 + erf(1.0 / sqrt(2.0)))}, /* exact, not the tanh form */
        {"gelu_tanh", 1.0, 0.5 * (1.0 + tanh(sqrt(2.0 / M_PI) * 1.044715))},
        {"hard_sigmoid", 1.2, 0.7},                     /* Keras 3: x/6 + 1/2 */
        {"hard_sigmoid_k2", 1.0, 0.7},                  /* Keras 2: 0.2x + 1/2 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rc_activation a = rc_activation_find(cases[k].name);
        cr_assert(a, "%s", cases[k].name);
        rc_graph *g = rc_graph_new();
        float xv = (float)cases[k].x, out;
        rc_node *y = rc_activate(g, a, rc_const(g, RC_SHAPE(1), &xv));
        tu_eval(g, y, &out);
        cr_assert(fabs(out - cases[k].y) <= 1e-6, "%s(%g) = %.9g, want %.9g", cases[k].name, cases[k].x, (double)out,
                  cases[k].y);
        rc_graph_free(g);
    }
}

/* --- names ------------------------------------------------------------------- */

Test(activation, names_round_trip) {
    const rc_act_format formats[2] = {RC_ACT_KERAS3, RC_ACT_KERAS2};
    for (int i = 0; i < rc_activation_count(); i++) {
        rc_activation a = rc_activation_at(i);
        cr_assert_eq(rc_activation_find(a->name), a, "%s", a->name);
        cr_assert_str_eq(rc_activation_name(a), a->name);
        cr_assert_eq(a->apply != NULL, true);
        for (int f = 0; f < 2; f++) {
            const char *const *sp = formats[f] == RC_ACT_KERAS3 ? a->keras3 : a->keras2;
            const char *w = rc_activation_keras_name(a, formats[f]);
            cr_assert_eq(w, sp[0], "%s: written spelling", a->name);
            for (int k = 0; k < RC_ACT_SPELLINGS && sp[k]; k++)
                cr_assert_eq(rc_activation_from_keras(formats[f], sp[k]), a, "%s: '%s' in %s is another row",
                             a->name, sp[k], f ? "Keras 2" : "Keras 3");
        }
        /* every row is writable in at least one format */
        cr_assert(a->keras3[0] || a->keras2[0], "%s", a->name);
    }
    /* no spelling on two rows of one format */
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < rc_activation_count(); i++)
            for (int j = i + 1; j < rc_activation_count(); j++) {
                rc_activation a = rc_activation_at(i), b = rc_activation_at(j);
                const char *const *sa = f ? a->keras2 : a->keras3, *const *sb = f ? b->keras2 : b->keras3;
                for (int p = 0; p < RC_ACT_SPELLINGS && sa[p]; p++)
                    for (int q = 0; q < RC_ACT_SPELLINGS && sb[q]; q++)
                        cr_assert(strcmp(sa[p], sb[q]), "'%s' names %s and %s", sa[p], a->name, b->name);
            }
    /* the format differences the table encodes */
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS3, "hard_sigmoid"), RC_ACT_HARD_SIGMOID);
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS2, "hard_sigmoid"), RC_ACT_HARD_SIGMOID_K2);
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS2, "hardSigmoid"), RC_ACT_HARD_SIGMOID_K2);
    cr_assert_null(rc_activation_keras_name(RC_ACT_HARD_SIGMOID, RC_ACT_KERAS2));
    cr_assert_null(rc_activation_keras_name(RC_ACT_HARD_SIGMOID_K2, RC_ACT_KERAS3));
    rc_activation silu = rc_activation_find("silu");
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS3, "swish"), silu);
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS2, "swish"), silu);
    cr_assert_str_eq(rc_activation_keras_name(silu, RC_ACT_KERAS3), "silu");
    cr_assert_str_eq(rc_activation_keras_name(silu, RC_ACT_KERAS2), "swish");
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS2, "gelu_new"), rc_activation_find("gelu_tanh"));
    cr_assert_null(rc_activation_from_keras(RC_ACT_KERAS3, "gelu_new"));
    cr_assert_eq(rc_activation_from_keras(RC_ACT_KERAS2, "logSoftmax"), rc_activation_find("log_softmax"));
    /* edges: linear by default, NULL when unknown */
    cr_assert_eq(rc_activation_find(NULL), RC_ACT_LINEAR);
    cr_assert_eq(rc_activation_find(""), RC_ACT_LINEAR);
    cr_assert_null(rc_activation_find("mish"));
    cr_assert_null(rc_activation_from_keras(RC_ACT_KERAS3, "mish"));
    cr_assert_null(rc_activation_from_keras(RC_ACT_KERAS3, NULL));
    cr_assert_str_eq(rc_activation_name(NULL), "linear");
    cr_assert_str_eq(rc_activation_keras_name(NULL, RC_ACT_KERAS2), "linear");
    cr_assert_null(rc_activation_at(-1));
    cr_assert_null(rc_activation_at(rc_activation_count()));
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2), NULL);
    cr_assert_eq(rc_activate(g, NULL, x), x);
    cr_assert_eq(rc_activate(g, RC_ACT_LINEAR, x), x);
    rc_graph_free(g);
}

/* --- gradients ------------------------------------------------------------------ */

/* Every argument of a node made by the op `a` applies (found by op
 * identity: the op of a probe application) is KINK_MARGIN from the kinks. */
static void kink_guard(rc_graph *g, rc_activation a, const char *what) {
    rc_graph *pg = rc_graph_new();
    rc_node *probe = rc_activate(pg, a, rc_const(pg, RC_SHAPE(1), NULL));
    const rc_op *op = probe ? probe->op : NULL;
    rc_graph_free(pg);
    if (a == RC_ACT_LINEAR || !op) return;
    rc_node *args[256];
    int n = 0;
    for (int id = 0; id < rc_graph_node_count(g); id++) {
        rc_node *v = rc_graph_node(g, id);
        if (v->op == op) {
            cr_assert(n < 256);
            args[n++] = rc_node_input(v, 0);
        }
    }
    cr_assert(n > 0, "%s: no %s node", what, a->name);
    rc_refeval *r = rc_refeval_new(g, args, n);
    cr_assert(r);
    cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
    for (int k = 0; k < n; k++) {
        const double *x = rc_refeval_f64(r, args[k]);
        for (int64_t e = 0; e < rc_node_numel(args[k]); e++)
            for (size_t q = 0; q < sizeof kinks / sizeof kinks[0]; q++)
                cr_assert(fabs(x[e] - kinks[q]) >= KINK_MARGIN,
                          "%s: argument %.9g is within %g of the kink %g; pick another seed", what, x[e], KINK_MARGIN,
                          kinks[q]);
    }
    rc_refeval_free(r);
}

static void gradcheck(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n, const char *what) {
    tu_assert_ok(g);
    rc_gradcheck_result res;
    rc_status st = rc_gradcheck(g, loss, wrt, n, NULL, &res);
    cr_assert(st == RC_OK, "%s: gradcheck %s; %lld of %lld failed; worst element %lld analytic %.12g numeric %.12g",
              what, rc_status_str(st), (long long)res.failed, (long long)res.checked, (long long)res.worst_elem,
              res.worst_analytic, res.worst_numeric);
    cr_assert(res.checked > 0);
}

/* loss = sum(R * Dense(4, a)(x)), x (3, 5) in [-1, 1): d loss / d x, kernel,
 * bias. */
Test(activation, gradcheck_through_dense) {
    for (int i = 0; i < rc_activation_count(); i++) {
        rc_activation a = rc_activation_at(i);
        char what[96];
        snprintf(what, sizeof what, "Dense(%s)", a->name);
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 11);
        rc_node *x = tu_param(g, "x", RC_SHAPE(3, 5), &r, -1, 1);
        rc_dense *d = rc_dense_new("dense", 4, a, true);
        rc_node *y = rc_dense_apply(d, g, x, &r);
        /* a bias away from 0 so relu & co. see both sides */
        rc_rng_fill_uniform(&r, rc_node_data(rc_dense_params(d)[1]), 4, -0.5f, 0.5f);
        rc_node *loss = tu_weighted_sum(g, y, &r);
        rc_node *wrt[3] = {x, rc_dense_params(d)[0], rc_dense_params(d)[1]};
        kink_guard(g, a, what);
        gradcheck(g, loss, wrt, 3, what);
        rc_dense_free(d);
        rc_graph_free(g);
    }
}

/* loss = sum(R * SimpleRNN(3, a, return_sequences)(x)), x (2, 4, 3): d loss /
 * d x and each weight, through every step's activation. */
Test(activation, gradcheck_through_simple_rnn) {
    for (int i = 0; i < rc_activation_count(); i++) {
        rc_activation a = rc_activation_at(i);
        char what[96];
        snprintf(what, sizeof what, "SimpleRNN(%s)", a->name);
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 23);
        rc_node *x = tu_param(g, "x", RC_SHAPE(2, 4, 3), &r, -1, 1);
        rc_cell_config cc = rc_cell_defaults(3);
        cc.activation = a;
        rc_rnn_config cfg = {.return_sequences = true};
        rc_rnn *l = rc_rnn_new("rnn", rc_simple_rnn_cell_new(&cc), &cfg, NULL);
        cr_assert(l);
        rc_rnn_call call = {.rng = &r};
        rc_rnn_out out;
        cr_assert_eq(rc_rnn_apply(l, g, x, &call, &out), RC_OK, "%s: %s", what, rc_graph_error(g));
        rc_cell *c = rc_rnn_cell(l);
        rc_node *wrt[1 + RC_MAX_CELL_PARAMS];
        int n = 0;
        wrt[n++] = x;
        for (int k = 0; k < c->nparams; k++) {
            rc_rng_fill_uniform(&r, rc_node_data(c->params[k]), rc_node_numel(c->params[k]), -0.6f, 0.6f);
            wrt[n++] = c->params[k];
        }
        rc_node *loss = tu_weighted_sum(g, out.output, &r);
        kink_guard(g, a, what);
        gradcheck(g, loss, wrt, n, what);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
}
