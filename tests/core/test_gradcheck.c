/* rc_gradcheck leaves the graph as it found it (no nodes added, the same
 * DOT text, the same results when repeated), on success and on errors, and
 * max_per_node checks at most that many elements per node. */
#include <criterion/criterion.h>
#include <string.h>

#include <recur/dot.h>

#include "util.h"

static char *dot_of(rc_graph *g) {
    char *s = NULL;
    rc_error err;
    cr_assert_eq(rc_dot_string(g, NULL, &s, NULL, &err), RC_OK, "%s", err.message);
    return s;
}

/* loss = sum(R * tanh(x w)) with x (3, 4), w (4, 5) */
static rc_node *small_model(rc_graph *g, rc_node **wrt) {
    rc_rng r;
    rc_rng_seed(&r, 7);
    wrt[0] = tu_param(g, "x", RC_SHAPE(3, 4), &r, -1, 1);
    wrt[1] = tu_param(g, "w", RC_SHAPE(4, 5), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_tanh(g, rc_matmul(g, wrt[0], wrt[1], false, false)), &r);
    tu_assert_ok(g);
    return loss;
}

static void assert_same_result(const rc_gradcheck_result *a, const rc_gradcheck_result *b) {
    cr_assert_eq(a->checked, b->checked);
    cr_assert_eq(a->failed, b->failed);
    cr_assert_eq(a->worst_node, b->worst_node);
    cr_assert_eq(a->worst_elem, b->worst_elem);
    cr_assert(a->max_abs_err == b->max_abs_err && a->max_rel_err == b->max_rel_err);
    cr_assert(a->worst_analytic == b->worst_analytic && a->worst_numeric == b->worst_numeric);
}

Test(gradcheck, leaves_the_graph_as_it_found_it) {
    rc_graph *g = rc_graph_new();
    rc_node *wrt[2];
    rc_node *loss = small_model(g, wrt);
    int n0 = rc_graph_node_count(g);
    char *dot0 = dot_of(g);
    rc_gradcheck_result first, res;
    cr_assert_eq(rc_gradcheck(g, loss, wrt, 2, NULL, &first), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(first.checked, 12 + 20);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(rc_graph_node_count(g), n0, "call %d left %d nodes, had %d", k, rc_graph_node_count(g), n0);
        char *dot = dot_of(g);
        cr_assert_str_eq(dot, dot0, "call %d changed the drawing", k);
        rc_free(dot);
        cr_assert_eq(rc_gradcheck(g, loss, wrt, 2, NULL, &res), RC_OK, "%s", rc_graph_error(g));
        assert_same_result(&first, &res);
    }
    for (int id = 0; id < rc_graph_node_count(g); id++)
        cr_assert(!rc_node_is_gradient(rc_graph_node(g, id)), "gradient node %d left behind", id);
    /* the graph still differentiates and plans as before */
    rc_node *d[2];
    cr_assert_eq(rc_gradients(g, loss, wrt, 2, d), RC_OK, "%s", rc_graph_error(g));
    float v[12];
    tu_eval(g, d[0], v);
    rc_free(dot0);
    rc_graph_free(g);
}

/* rc_gradients fails part-way (the fused LSTM gradient has no gradient of
 * its own) after making some nodes: they go, the error stays readable, and
 * once cleared the graph is the one we started with. */
Test(gradcheck, a_gradient_error_leaves_the_nodes_as_found_and_the_error_recorded) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_node *xp = tu_param(g, "xp", RC_SHAPE(2, 12), &r, -1, 1);
    rc_node *hu = tu_param(g, "hu", RC_SHAPE(2, 12), &r, -1, 1);
    rc_node *c = tu_param(g, "c", RC_SHAPE(2, 3), &r, -1, 1);
    rc_node *S = rc_lstm_step_fused(g, xp, hu, c);
    rc_node *h = rc_reshape(g, rc_slice(g, S, 0, 5, 6), RC_SHAPE(2, 3));
    rc_node *loss = rc_sum(g, rc_square(g, h), RC_ALL_AXES, false);
    rc_node *dxp;
    cr_assert_eq(rc_gradients(g, loss, &xp, 1, &dxp), RC_OK, "%s", rc_graph_error(g));
    rc_node *loss2 = rc_sum(g, rc_square(g, dxp), RC_ALL_AXES, false);
    tu_assert_ok(g);
    int n0 = rc_graph_node_count(g);
    char *dot0 = dot_of(g);
    rc_gradcheck_result res;
    cr_assert_eq(rc_gradcheck(g, loss2, &xp, 1, NULL, &res), RC_ERR_ARG);
    cr_assert(rc_graph_error(g) && strstr(rc_graph_error(g), "lstm_cell_grad"), "%s", rc_graph_error(g));
    cr_assert_eq(rc_graph_node_count(g), n0);
    cr_assert_eq(res.checked, 0);
    rc_graph_clear_error(g);
    char *dot = dot_of(g);
    cr_assert_str_eq(dot, dot0);
    /* and the same check again fails the same way, not on leftovers */
    cr_assert_eq(rc_gradcheck(g, loss2, &xp, 1, NULL, &res), RC_ERR_ARG);
    cr_assert_eq(rc_graph_node_count(g), n0);
    rc_free(dot);
    rc_free(dot0);
    rc_graph_free(g);
}

Test(gradcheck, a_graph_holding_an_error_is_returned_its_status_untouched) {
    rc_graph *g = rc_graph_new();
    rc_node *wrt[2];
    rc_node *loss = small_model(g, wrt);
    int n0 = rc_graph_node_count(g);
    rc_graph_fail(g, RC_ERR_SHAPE, "an earlier mistake");
    rc_gradcheck_result res;
    cr_assert_eq(rc_gradcheck(g, loss, wrt, 2, NULL, &res), RC_ERR_SHAPE);
    cr_assert_str_eq(rc_graph_error(g), "an earlier mistake");
    cr_assert_eq(rc_graph_node_count(g), n0);
    cr_assert_eq(res.checked, 0);
    rc_graph_free(g);
}

/* numel / max as a stride would check 6 of 6 for max 5 (stride 1) and 4 of
 * 10 for max 3 (stride 3: 0, 3, 6, 9). */
Test(gradcheck, max_per_node_checks_at_most_that_many_elements) {
    static const struct {
        int64_t numel;
        int max;
        int64_t want;
    } cases[] = {{6, 5, 5}, {10, 3, 3}, {10, 4, 4}, {7, 7, 7}, {4, 5, 4}, {9, 1, 1}, {11, 0, 11}, {1000, 999, 999}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 5);
        rc_node *x = tu_param(g, "x", RC_SHAPE(cases[i].numel), &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_tanh(g, x), &r);
        rc_gradcheck_opts o = {.max_per_node = cases[i].max};
        rc_gradcheck_result res;
        cr_assert_eq(rc_gradcheck(g, loss, &x, 1, &o, &res), RC_OK, "%s", rc_graph_error(g));
        cr_assert_eq(res.checked, cases[i].want, "numel %lld max %d: checked %lld, want %lld",
                     (long long)cases[i].numel, cases[i].max, (long long)res.checked, (long long)cases[i].want);
        rc_graph_free(g);
    }
}
