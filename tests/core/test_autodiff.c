/* Autodiff builds gradient graphs: first and second order, accumulation
 * over shared nodes, zero gradients, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <recur/op.h>

#include "util.h"

/* f(x) = x tanh x;  f' = t + x (1 - t^2);  f'' = 2 (1 - t^2)(1 - x t). */
static double f1(double x) { double t = tanh(x); return t + x * (1 - t * t); }
static double f2(double x) { double t = tanh(x); return 2 * (1 - t * t) * (1 - x * t); }

Test(autodiff, first_derivative_of_x_tanh_x_matches_the_formula) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 1);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 7), &r, -3, 3);
    rc_node *loss = rc_sum(g, rc_mul(g, x, rc_tanh(g, x)), RC_ALL_AXES, false);
    rc_node *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK, "%s", rc_graph_error(g));
    float out[21];
    tu_eval(g, dx, out);
    const float *xv = rc_node_data(x);
    /* float32 tanh (SLEEF, 1 ULP) and 3 float ops: 1e-6 relative is ample */
    for (int i = 0; i < 21; i++) cr_assert_float_eq(out[i], f1(xv[i]), 1e-5, "x=%g", xv[i]);
    rc_graph_free(g);
}

Test(autodiff, second_derivative_of_x_tanh_x_is_the_gradient_of_the_gradient) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 2);
    rc_node *x = tu_param(g, "x", RC_SHAPE(11), &r, -3, 3);
    rc_node *loss = rc_sum(g, rc_mul(g, x, rc_tanh(g, x)), RC_ALL_AXES, false);
    rc_node *d1, *d2;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &d1), RC_OK);
    /* elementwise f, so d/dx sum(f'(x)) = f''(x) */
    rc_node *s1 = rc_sum(g, d1, RC_ALL_AXES, false);
    cr_assert_eq(rc_gradients(g, s1, &x, 1, &d2), RC_OK, "%s", rc_graph_error(g));
    float out[11];
    tu_eval(g, d2, out);
    const float *xv = rc_node_data(x);
    for (int i = 0; i < 11; i++) cr_assert_float_eq(out[i], f2(xv[i]), 2e-5, "x=%g", xv[i]);
    /* and in double against finite differences of the first gradient */
    tu_check_gradients(g, s1, &x, 1, 0, 0);
    /* the third derivative too: the gradient graph differentiates again */
    rc_node *s2 = rc_sum(g, d2, RC_ALL_AXES, false);
    tu_check_gradients(g, s2, &x, 1, 0, 0);
    rc_graph_free(g);
}

/* Small MLP: loss = mean((W2 tanh(x W1 + b1) + b2 - y)^2). */
typedef struct mlp {
    rc_node *p[4], *loss;
} mlp;

static mlp make_mlp(rc_graph *g, rc_rng *r) {
    mlp m;
    rc_node *x = tu_const(g, RC_SHAPE(5, 3), r, -1, 1);
    rc_node *y = tu_const(g, RC_SHAPE(5, 2), r, -1, 1);
    m.p[0] = tu_param(g, "W1", RC_SHAPE(3, 4), r, -1, 1);
    m.p[1] = tu_param(g, "b1", RC_SHAPE(4), r, -0.5f, 0.5f);
    m.p[2] = tu_param(g, "W2", RC_SHAPE(4, 2), r, -1, 1);
    m.p[3] = tu_param(g, "b2", RC_SHAPE(2), r, -0.5f, 0.5f);
    rc_node *h = rc_tanh(g, rc_add(g, rc_matmul(g, x, m.p[0], false, false), m.p[1]));
    rc_node *o = rc_add(g, rc_matmul(g, h, m.p[2], false, false), m.p[3]);
    m.loss = rc_mean_squared_diff(g, o, y);
    return m;
}

Test(autodiff, hessian_vector_product_of_an_mlp_matches_finite_differences) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    mlp m = make_mlp(g, &r);
    rc_node *grad[4], *hv[4], *terms[4];
    cr_assert_eq(rc_gradients(g, m.loss, m.p, 4, grad), RC_OK, "%s", rc_graph_error(g));
    /* hv = d/dθ <∇L(θ), v> = H v for a fixed direction v */
    rc_node *v[4];
    for (int i = 0; i < 4; i++) {
        v[i] = tu_const(g, rc_node_shape(m.p[i]), &r, -1, 1);
        terms[i] = rc_sum(g, rc_mul(g, grad[i], v[i]), RC_ALL_AXES, false);
    }
    rc_node *gv = rc_add_n(g, terms, 4);
    cr_assert_eq(rc_gradients(g, gv, m.p, 4, hv), RC_OK, "%s", rc_graph_error(g));

    /* H v ≈ (∇L(θ + e v) - ∇L(θ - e v)) / 2e, all in double */
    rc_refeval *re = rc_refeval_new(g, hv, 4);
    rc_refeval *rg = rc_refeval_new(g, grad, 4);
    cr_assert(re && rg);
    cr_assert_eq(rc_refeval_run(re, NULL), RC_OK);
    const double e = 1e-5;
    double *plus[4], *minus[4];
    for (int sgn = 0; sgn < 2; sgn++) {
        for (int i = 0; i < 4; i++) {
            double *th = rc_refeval_leaf(rg, m.p[i]);
            const float *vv = rc_node_data(v[i]), *p0 = rc_node_data(m.p[i]);
            for (int64_t k = 0; k < rc_node_numel(m.p[i]); k++) th[k] = p0[k] + (sgn ? -e : e) * vv[k];
        }
        cr_assert_eq(rc_refeval_run(rg, NULL), RC_OK);
        for (int i = 0; i < 4; i++) {
            int64_t n = rc_node_numel(m.p[i]);
            double *dst = malloc((size_t)n * sizeof *dst);
            memcpy(dst, rc_refeval_f64(rg, grad[i]), (size_t)n * sizeof *dst);
            (sgn ? minus : plus)[i] = dst;
        }
    }
    for (int i = 0; i < 4; i++) {
        const double *a = rc_refeval_f64(re, hv[i]);
        for (int64_t k = 0; k < rc_node_numel(m.p[i]); k++) {
            double num = (plus[i][k] - minus[i][k]) / (2 * e);
            /* central differences in double: error ~ e^2 * L'''' ~ 1e-10 */
            cr_assert(fabs(a[k] - num) <= 1e-7 + 1e-6 * fabs(num), "Hv[%d][%lld] %.12g vs %.12g", i,
                      (long long)k, a[k], num);
        }
        free(plus[i]);
        free(minus[i]);
    }
    rc_refeval_free(re);
    rc_refeval_free(rg);
    /* and the Hessian-vector graph passes the generic gradient check */
    tu_check_gradients(g, gv, m.p, 4, 0, 0);
    rc_graph_free(g);
}

Test(autodiff, mlp_gradients_pass_the_gradient_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 4);
    mlp m = make_mlp(g, &r);
    tu_check_gradients(g, m.loss, m.p, 4, 0, 0);
    rc_graph_free(g);
}

Test(autodiff, gradients_of_a_shared_node_accumulate) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_node *x = tu_param(g, "x", RC_SHAPE(6), &r, -2, 2);
    rc_node *t = rc_tanh(g, x);
    /* loss = sum(t * t + t): dt = 2t + 1, dx = (2t + 1)(1 - t^2) */
    rc_node *loss = rc_sum(g, rc_add(g, rc_mul(g, t, t), t), RC_ALL_AXES, false);
    rc_node *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK);
    float out[6];
    tu_eval(g, dx, out);
    const float *xv = rc_node_data(x);
    for (int i = 0; i < 6; i++) {
        double tv = tanh(xv[i]);
        cr_assert_float_eq(out[i], (2 * tv + 1) * (1 - tv * tv), 1e-5);
    }
    rc_graph_free(g);
}

Test(autodiff, unrelated_parameter_gets_a_zero_gradient) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(3));
    rc_node *u = rc_param(g, "unused", RC_SHAPE(2, 2));
    rc_node *loss = rc_sum(g, rc_square(g, x), RC_ALL_AXES, false);
    rc_node *d[2];
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){x, u}, 2, d), RC_OK);
    cr_assert(rc_shape_eq(rc_node_shape(d[1]), RC_SHAPE(2, 2)));
    float out[4] = {1, 1, 1, 1};
    tu_eval(g, d[1], out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], 0.0f);
    rc_graph_free(g);
}

Test(autodiff, gradient_nodes_are_flagged_and_keep_the_forward_scope) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(3));
    rc_scope_push(g, "cell");
    rc_node *t = rc_tanh(g, x);
    rc_scope_pop(g);
    rc_node *loss = rc_sum(g, t, RC_ALL_AXES, false);
    int before = rc_graph_node_count(g);
    rc_node *dx;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &dx), RC_OK);
    cr_assert(rc_graph_node_count(g) > before);
    for (int id = 0; id < before; id++) cr_assert_not(rc_node_is_gradient(rc_graph_node(g, id)));
    bool saw_tanh_grad = false;
    for (int id = before; id < rc_graph_node_count(g); id++) {
        rc_node *n = rc_graph_node(g, id);
        cr_assert(rc_node_is_gradient(n), "node %d (%s) not flagged", id, rc_node_op_name(n));
        if (strcmp(rc_node_op_name(n), "tanh_grad") == 0) {
            saw_tanh_grad = true;
            cr_assert_str_eq(rc_node_scope(n), "cell");
        }
    }
    cr_assert(saw_tanh_grad, "tanh's gradient uses the fused tanh_grad op");
    rc_graph_free(g);
}

Test(autodiff, non_scalar_loss_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(3));
    rc_node *y = rc_tanh(g, x);
    rc_node *d = (rc_node *)1;
    cr_assert_eq(rc_gradients(g, y, &x, 1, &d), RC_ERR_SHAPE);
    cr_assert_null(d);
    cr_assert(strstr(rc_graph_error(g), "loss 'tanh' must be a float32 scalar, got float32 (3)"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

Test(autodiff, null_and_int_arguments_are_errors) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "x", RC_SHAPE(3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(3));
    rc_node *loss = rc_sum(g, x, RC_ALL_AXES, false), *d;
    cr_assert_eq(rc_gradients(g, NULL, &x, 1, &d), RC_ERR_ARG);
    cr_assert(strstr(rc_graph_error(g), "loss is NULL"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_eq(rc_gradients(g, loss, &ids, 1, &d), RC_ERR_ARG);
    cr_assert(strstr(rc_graph_error(g), "is int32 and has no gradient"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){NULL}, 1, &d), RC_ERR_ARG);
    cr_assert(strstr(rc_graph_error(g), "wrt[0] is NULL"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(autodiff, vjp_seeds_a_non_scalar_output) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 6);
    rc_node *x = tu_param(g, "x", RC_SHAPE(4), &r, -1, 1);
    rc_node *y = rc_tanh(g, x);
    rc_node *seed = tu_const(g, RC_SHAPE(4), &r, -1, 1), *dx;
    cr_assert_eq(rc_vjp(g, y, seed, &x, 1, &dx), RC_OK);
    float out[4];
    tu_eval(g, dx, out);
    const float *xv = rc_node_data(x), *sv = rc_node_data(seed);
    for (int i = 0; i < 4; i++) {
        double t = tanh(xv[i]);
        cr_assert_float_eq(out[i], sv[i] * (1 - t * t), 1e-6);
    }
    rc_graph_free(g);
}

/* The fused LSTM gradient has no gradient of its own: differentiating
 * through it again must fail loudly, not treat it as a constant. */
Test(autodiff, op_without_gradient_on_the_path_is_an_error_not_a_zero) {
    rc_graph *g = rc_graph_new();
    rc_node *xp = rc_param(g, "xp", RC_SHAPE(2, 12));
    rc_node *hu = rc_param(g, "hu", RC_SHAPE(2, 12));
    rc_node *c = rc_param(g, "c", RC_SHAPE(2, 3));
    rc_node *S = rc_lstm_step_fused(g, xp, hu, c);
    rc_node *h = rc_reshape(g, rc_slice(g, S, 0, 5, 6), RC_SHAPE(2, 3));
    rc_node *loss = rc_sum(g, rc_square(g, h), RC_ALL_AXES, false);
    rc_node *dxp;
    cr_assert_eq(rc_gradients(g, loss, &xp, 1, &dxp), RC_OK, "%s", rc_graph_error(g));
    rc_node *loss2 = rc_sum(g, rc_square(g, dxp), RC_ALL_AXES, false);
    rc_node *d2;
    cr_assert_eq(rc_gradients(g, loss2, &xp, 1, &d2), RC_ERR_ARG);
    cr_assert_null(d2);
    cr_assert(strstr(rc_graph_error(g), "op lstm_cell_grad"), "%s", rc_graph_error(g));
    cr_assert(strstr(rc_graph_error(g), "has no gradient"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* rc_running_sum (recur/op.h): the sum of equal-shaped contributions in id
 * order, each add planned right after its contribution; NULL for
 * mismatched shapes or a NULL entry; one contribution is itself; the
 * caller's schedule anchor is kept. Values: the reference evaluator's sum.
 * Through sum_to's hook, a bias read by 6 steps gets its gradient as
 * such a chain (add_n nodes of two inputs), not one add_n of 6. */
Test(autodiff, running_sum_adds_contributions_in_order_and_keeps_the_anchor) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_node *c[5];
    for (int k = 0; k < 5; k++) c[k] = tu_const(g, RC_SHAPE(4, 3), &r, -1, 1);
    rc_node *odd = tu_const(g, RC_SHAPE(3, 4), &r, -1, 1);
    cr_assert_eq(rc_running_sum(g, c, 1), c[0]);
    cr_assert_null(rc_running_sum(g, (rc_node *[]){c[0], odd}, 2));
    cr_assert_null(rc_running_sum(g, (rc_node *[]){c[0], NULL}, 2));
    rc_graph_schedule_after(g, c[1]);
    rc_node *s = rc_running_sum(g, (rc_node *[]){c[3], c[0], c[4], c[2], c[1]}, 5);
    cr_assert(s, "%s", rc_graph_error(g));
    rc_node *after = rc_tanh(g, c[0]); /* made under the caller's anchor again */
    rc_graph_schedule_after(g, NULL);
    cr_assert_eq(after->after, c[1]->id);
    /* the chain: the last add reads the last contribution by id */
    cr_assert_eq(s->nin, 2);
    cr_assert_eq(s->in[1], c[4]);
    cr_assert_eq(s->after, c[4]->id);
    rc_node *ref = rc_add_n(g, c, 5);
    tu_check_forward(g, rc_sub(g, s, ref), 1e-6, 0);
    rc_graph_free(g);

    /* a bias read by 6 steps: its gradient is a running sum */
    g = rc_graph_new();
    rc_node *b = tu_param(g, "b", RC_SHAPE(3), &r, -1, 1), *h = tu_const(g, RC_SHAPE(2, 3), &r, -1, 1);
    for (int t = 0; t < 6; t++) h = rc_tanh(g, rc_add(g, h, b));
    rc_node *db, *loss = rc_sum(g, h, RC_ALL_AXES, false);
    tu_check_gradients(g, loss, &b, 1, 0, 0);
    cr_assert_eq(rc_gradients(g, loss, &b, 1, &db), RC_OK, "%s", rc_graph_error(g));
    cr_assert_str_eq(db->op->name, "add_n");
    cr_assert_eq(db->nin, 2, "one add_n of %d contributions instead of a running sum", db->nin);
    rc_graph_free(g);
}
