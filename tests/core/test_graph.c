/* Graph building: leaves, scopes, names, and the sticky first error. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

Test(graph, leaves_have_storage_shape_and_dtype) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(4));
    rc_node *w = rc_param(g, "w", RC_SHAPE(3, 5));
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(x), RC_SHAPE(2, 3)));
    cr_assert_eq(rc_node_dtype(ids), RC_I32);
    cr_assert(rc_node_is_param(w) && !rc_node_is_param(x));
    cr_assert(rc_node_is_input(x) && rc_node_is_leaf(w));
    float *d = rc_node_data(w);
    for (int i = 0; i < 15; i++) cr_assert_eq(d[i], 0.0f, "params start at zero");
    rc_node *ps[4];
    cr_assert_eq(rc_graph_params(g, ps, 4), 1);
    cr_assert_eq(ps[0], w);
    rc_graph_free(g);
}

Test(graph, scopes_name_nodes_by_path) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2));
    cr_assert(rc_scope_push(g, "lstm_1"));
    cr_assert(rc_scope_push(g, "t3"));
    rc_node *f = rc_sigmoid(g, x);
    rc_node_rename(f, "forget_gate");
    rc_scope_pop(g);
    rc_node *h = rc_tanh(g, x);
    rc_scope_pop(g);
    rc_scope_pop(g); /* popping an empty stack is harmless */
    rc_node *top = rc_neg(g, x);
    char buf[128];
    cr_assert_str_eq(rc_node_path(f, buf, sizeof buf), "lstm_1/t3/forget_gate");
    cr_assert_str_eq(rc_node_path(h, buf, sizeof buf), "lstm_1/tanh");
    cr_assert_str_eq(rc_node_scope(top), "");
    cr_assert_str_eq(rc_scope_path(g), "");
    rc_graph_free(g);
}

Test(graph, bad_scope_name_is_an_error) {
    rc_graph *g = rc_graph_new();
    cr_assert_not(rc_scope_push(g, "a/b"));
    cr_assert(strstr(rc_graph_error(g), "contains '/'"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(graph, invalid_shapes_are_errors) {
    rc_graph *g = rc_graph_new();
    cr_assert_null(rc_input(g, "x", RC_F32, RC_SHAPE(2, 0)));
    cr_assert(strstr(rc_graph_error(g), "shape (2, 0) is invalid"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    /* 2^21 * 2^21 elements overflow the 2^40 limit */
    cr_assert_null(rc_param(g, "huge", RC_SHAPE((int64_t)1 << 21, (int64_t)1 << 21)));
    cr_assert(strstr(rc_graph_error(g), "is invalid"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_input(g, "x", (rc_dtype)7, RC_SHAPE(2)));
    cr_assert(strstr(rc_graph_error(g), "unknown dtype"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(graph, null_argument_is_reported_then_propagates_quietly) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2));
    cr_assert_null(rc_tanh(g, NULL));
    cr_assert(strstr(rc_graph_error(g), "tanh: input 0 is NULL"), "%s", rc_graph_error(g));
    cr_assert_eq(rc_graph_status(g), RC_ERR_ARG);
    /* a chain built on the poisoned node keeps the first message */
    rc_node *y = rc_sigmoid(g, rc_tanh(g, NULL));
    cr_assert_null(y);
    cr_assert_null(rc_exp(g, y));
    cr_assert(strstr(rc_graph_error(g), "tanh: input 0 is NULL"));
    /* valid nodes can still be made; plans refuse a graph with an error */
    cr_assert_not_null(rc_exp(g, x));
    cr_assert_null(rc_plan_new(g, &x, 1));
    rc_graph_free(g);
}

Test(graph, wrong_dtype_is_an_error_naming_the_node) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(3));
    cr_assert(rc_scope_push(g, "layer"));
    cr_assert_null(rc_sigmoid(g, ids));
    cr_assert_str_eq(rc_graph_error(g),
                     "sigmoid at 'layer/sigmoid': input 0 has dtype int32, expected float32");
    rc_graph_free(g);
}

Test(graph, inputs_from_another_graph_are_rejected) {
    rc_graph *g = rc_graph_new(), *h = rc_graph_new();
    rc_node *x = rc_input(h, "x", RC_F32, RC_SHAPE(2));
    cr_assert_null(rc_tanh(g, x));
    cr_assert(strstr(rc_graph_error(g), "belongs to another graph"));
    rc_graph_free(g);
    rc_graph_free(h);
}

Test(graph, set_copies_values_and_checks_the_node) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(3));
    float v[3] = {1, 2, 3};
    cr_assert(rc_node_set(x, v));
    cr_assert_eq(((float *)rc_node_data(x))[2], 3.0f);
    rc_node *t = rc_tanh(g, x);
    cr_assert_not(rc_node_set(t, v));
    cr_assert(strstr(rc_graph_error(g), "not an input, parameter or constant"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    int32_t iv[3] = {0};
    cr_assert_not(rc_node_set_i32(x, iv));
    cr_assert(strstr(rc_graph_error(g), "has dtype float32, not int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(graph, null_graph_is_harmless) {
    cr_assert_null(rc_input(NULL, "x", RC_F32, RC_SHAPE(1)));
    cr_assert_null(rc_tanh(NULL, NULL));
    cr_assert_str_eq(rc_graph_error(NULL), "graph is NULL");
    rc_graph_free(NULL);
}

/* add_n sums in the order ((x0 + x1) + x2) + ..., in float, in blocks of
 * 256 for three or more inputs: 1035 elements cover whole blocks and a
 * tail. With |x| <= 1 each of the nin - 1 float adds rounds by at most half
 * an ULP of a partial sum <= nin, so 2^-24 * nin * (nin - 1) <= 1.2e-6
 * absolute for nin = 5. */
Test(graph, add_n_of_two_to_five_inputs_matches_the_reference) {
    for (int nin = 2; nin <= 5; nin++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 40 + (uint64_t)nin);
        rc_node *xs[5];
        for (int k = 0; k < nin; k++) {
            char name[8];
            snprintf(name, sizeof name, "x%d", k);
            xs[k] = tu_param(g, name, RC_SHAPE(3, 345), &r, -1, 1);
        }
        tu_check_forward(g, rc_add_n(g, xs, nin), 1.2e-6, 0);
        rc_graph_free(g);
    }
}

Test(graph, const_and_fill_evaluate_to_their_values) {
    rc_graph *g = rc_graph_new();
    float v[4] = {1, -2, 3, -4};
    rc_node *c = rc_const(g, RC_SHAPE(2, 2), v);
    rc_node *f = rc_fill(g, RC_SHAPE(2, 2), 0.5f);
    rc_node *y = rc_add_n(g, (rc_node *[]){c, f}, 2);
    float out[4];
    tu_eval(g, y, out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], v[i] + 0.5f);
    rc_graph_free(g);
}

/* The memory limit (rc_limits) counts what graphs hold and gets it back
 * when they are freed: a borrowed input's temporary storage (it once kept
 * its reservation for ever, so a process feeding arrays graph after graph
 * was eventually refused), leaves of 1 MiB and more (zero pages, zero
 * when read), and nodes (a graph made node by node past the limit is
 * refused with a message naming the limit). */
Test(graph, memory_limit_counts_leaves_and_nodes_and_gets_them_back) {
    rc_limits_set(&(rc_limits){.max_bytes = 8 << 20});
    static float big[1 << 20]; /* 4 MiB */
    for (int round = 0; round < 4; round++) {
        rc_graph *g = rc_graph_new();
        rc_node *x = rc_input_borrowed(g, "x", RC_F32, RC_SHAPE(1 << 20), big);
        rc_node *y = rc_input(g, "y", RC_F32, RC_SHAPE(1 << 20)); /* owned, mapped */
        tu_assert_ok(g);
        cr_assert_eq(rc_node_data(x), (void *)big);
        float *d = rc_node_data(y);
        cr_assert_eq(d[0], 0.0f);
        cr_assert_eq(d[(1 << 20) - 1], 0.0f);
        d[12345] = 2.0f;
        rc_graph_free(g);
    }
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(4));
    int made = 0;
    while (made < 1000000 && (x = rc_neg(g, x)) != NULL) made++;
    cr_assert_lt(made, 1000000, "8 MiB of nodes should not hold a million");
    cr_assert_gt(made, 1000, "but thousands");
    cr_assert_eq(rc_graph_status(g), RC_ERR_NOMEM);
    cr_assert(strstr(rc_graph_error(g), "memory limit of 8.0 MiB") != NULL, "%s", rc_graph_error(g));
    rc_graph_free(g);
    g = rc_graph_new(); /* everything came back */
    rc_input(g, "y", RC_F32, RC_SHAPE(3 << 19)); /* 6 MiB */
    tu_assert_ok(g);
    rc_graph_free(g);
    rc_limits_set(NULL);
}
