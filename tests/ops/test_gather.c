/* Embedding lookup (gather), its adjoint scatter_add, and the in-place
 * sgd_update side effect. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

/* Table (5, 2) with row v = (10 v, 10 v + 1). */
static rc_node *table52(rc_graph *g) {
    float t[10];
    for (int v = 0; v < 5; v++) t[2 * v] = (float)(10 * v), t[2 * v + 1] = (float)(10 * v + 1);
    return rc_const(g, RC_SHAPE(5, 2), t);
}

static void expect_error(rc_graph *g, rc_node *y, const char *want) {
    cr_assert_null(y, "builder should fail with '%s'", want);
    cr_assert_not_null(rc_graph_error(g));
    cr_assert(strstr(rc_graph_error(g), want), "error '%s' lacks '%s'", rc_graph_error(g), want);
}

/* --- gather ------------------------------------------------------------- */

Test(gather, copies_the_rows_named_by_the_ids) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2, 3), (int32_t[]){4, 0, 2, 2, 1, 4});
    rc_node *y = rc_gather(g, table52(g), ids);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2, 3, 2)));
    float out[12], want[12] = {40, 41, 0, 1, 20, 21, 20, 21, 10, 11, 40, 41};
    tu_eval(g, y, out);
    for (int i = 0; i < 12; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    tu_check_forward(g, y, 0, 0);
    rc_graph_free(g);
}

Test(gather, scalar_id_gives_one_row) {
    rc_graph *g = rc_graph_new();
    rc_node *id = rc_const_i32(g, RC_SCALAR, (int32_t[]){3});
    rc_node *y = rc_gather(g, table52(g), id);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2)));
    float out[2];
    tu_eval(g, y, out);
    cr_assert_eq(out[0], 30);
    cr_assert_eq(out[1], 31);
    rc_graph_free(g);
}

Test(gather, gradient_wrt_table_accumulates_repeated_ids) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 1);
    rc_node *w = tu_param(g, "w", RC_SHAPE(6, 3), &r, -1, 1);
    /* id 2 three times, id 5 twice, ids 1 and 4 never (zero gradient rows) */
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2, 4), (int32_t[]){2, 5, 0, 2, 3, 2, 5, 0});
    rc_node *loss = tu_weighted_sum(g, rc_tanh(g, rc_gather(g, w, ids)), &r);
    tu_check_gradients(g, loss, &w, 1, 0, 0);
    rc_graph_free(g);
}

Test(gather, out_of_range_id_zeroes_its_row_and_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(4));
    rc_node *y = rc_gather(g, table52(g), ids);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    int32_t *iv = rc_node_data(ids);
    const int32_t good[4] = {1, 2, 3, 4};
    memcpy(iv, good, sizeof good);
    rc_error err;
    rc_error_clear(&err);
    cr_assert_eq(rc_plan_run(p, &err), RC_OK);
    cr_assert_eq(err.code, RC_OK); /* untouched on success */
    for (int bad = 0; bad < 2; bad++) {
        memcpy(iv, good, sizeof good);
        iv[1] = bad ? -1 : 5; /* just past either end */
        cr_assert_eq(rc_plan_run(p, &err), RC_ERR_ARG);
        cr_assert(strstr(err.message, "gather"), "%s", err.message);
        /* the kernel finished the other rows before reporting */
        const float *out = rc_plan_f32(p, y);
        float want[8] = {10, 11, 0, 0, 30, 31, 40, 41};
        for (int i = 0; i < 8; i++) cr_assert_eq(out[i], want[i], "id %d: element %d", iv[1], i);
    }
    /* the reference evaluator reports it too */
    rc_refeval *r = rc_refeval_new(g, &y, 1);
    cr_assert_eq(rc_refeval_run(r, NULL), RC_ERR_ARG);
    rc_refeval_free(r);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(gather, float_ids_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_F32, RC_SHAPE(3));
    expect_error(g, rc_gather(g, table52(g), ids), "input 1 has dtype float32, expected int32");
    rc_graph_free(g);
}

Test(gather, table_that_is_not_2d_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(3));
    rc_node *t = rc_input(g, "t", RC_F32, RC_SHAPE(2, 3, 4));
    expect_error(g, rc_gather(g, t, ids), "(2, 3, 4)");
    rc_graph_clear_error(g);
    /* ids of rank 4 leave no room for the feature axis */
    rc_node *ids4 = rc_input(g, "ids4", RC_I32, RC_SHAPE(1, 1, 1, 2));
    expect_error(g, rc_gather(g, table52(g), ids4), "gather");
    rc_graph_free(g);
}

/* --- scatter_add -------------------------------------------------------- */

Test(scatter_add, sums_rows_into_their_ids) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2, 2), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2, 2), (int32_t[]){3, 0, 3, 3});
    rc_node *y = rc_scatter_add(g, x, ids, 4);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(4, 2)));
    float out[8], want[8] = {3, 4, 0, 0, 0, 0, 1 + 5 + 7, 2 + 6 + 8};
    tu_eval(g, y, out);
    for (int i = 0; i < 8; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    tu_check_forward(g, y, 0, 0);
    rc_graph_free(g);
}

Test(scatter_add, gradient_wrt_x_is_a_gather) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 2);
    rc_node *x = tu_param(g, "x", RC_SHAPE(5, 3), &r, -1, 1);
    rc_node *ids = rc_const_i32(g, RC_SHAPE(5), (int32_t[]){1, 1, 0, 3, 1});
    rc_node *loss = tu_weighted_sum(g, rc_tanh(g, rc_scatter_add(g, x, ids, 4)), &r);
    tu_check_gradients(g, loss, &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(scatter_add, out_of_range_id_fails_the_run) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 1), (float[]){1, 2});
    rc_node *ids = rc_const_i32(g, RC_SHAPE(2), (int32_t[]){0, 7});
    rc_node *y = rc_scatter_add(g, x, ids, 3);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert_eq(rc_plan_run(p, NULL), RC_ERR_ARG);
    const float *out = rc_plan_f32(p, y);
    cr_assert_eq(out[0], 1);
    cr_assert_eq(out[1], 0);
    cr_assert_eq(out[2], 0);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(scatter_add, ids_that_do_not_match_x_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(3, 2));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(4));
    expect_error(g, rc_scatter_add(g, x, ids, 5), "(3, 2)");
    cr_assert(strstr(rc_graph_error(g), "(4)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- sgd_update --------------------------------------------------------- */

Test(sgd_update, subtracts_lr_times_grad_in_place_after_the_forward_pass) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_node *w = tu_param(g, "w", RC_SHAPE(2, 3), &r, -1, 1);
    rc_node *c = tu_const(g, RC_SHAPE(2, 3), &r, -1, 1);
    /* loss = sum(w * c): dL/dw = c */
    rc_node *loss = rc_sum(g, rc_mul(g, w, c), RC_ALL_AXES, false), *dw;
    cr_assert_eq(rc_gradients(g, loss, &w, 1, &dw), RC_OK, "%s", rc_graph_error(g));
    const float lr = 0.25f;
    rc_node *upd = rc_apply_gradient_descent(g, w, dw, lr);
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(upd), RC_SCALAR));
    float w0[6];
    memcpy(w0, rc_node_data(w), sizeof w0);
    const float *cv = rc_node_data(c);
    rc_plan *p = rc_plan_new(g, (rc_node *[]){loss, upd}, 2);
    cr_assert(p, "%s", rc_graph_error(g));
    for (int step = 1; step <= 2; step++) {
        cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
        const float *wv = rc_node_data(w);
        double want_loss = 0;
        for (int i = 0; i < 6; i++) {
            /* the loss was computed from the value before this step's update */
            want_loss += (double)(w0[i] - (float)(step - 1) * lr * cv[i]) * cv[i];
            cr_assert_float_eq(wv[i], w0[i] - (float)step * lr * cv[i], 1e-6, "step %d element %d", step, i);
        }
        cr_assert_float_eq(rc_plan_f32(p, loss)[0], want_loss, 1e-5);
        cr_assert_eq(rc_plan_f32(p, upd)[0], 0.0f);
    }
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(sgd_update, reference_kernel_updates_its_own_copy) {
    rc_graph *g = rc_graph_new();
    rc_node *w = rc_param(g, "w", RC_SHAPE(3));
    rc_node_set(w, (float[]){1, 2, 3});
    rc_node *grad = rc_const(g, RC_SHAPE(3), (float[]){4, -8, 0.5f});
    rc_node *upd = rc_apply_gradient_descent(g, w, grad, 0.5f);
    rc_refeval *r = rc_refeval_new(g, &upd, 1);
    cr_assert(r, "%s", rc_graph_error(g));
    cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
    const double *wv = rc_refeval_leaf(r, w);
    cr_assert_eq(wv[0], -1.0);
    cr_assert_eq(wv[1], 6.0);
    cr_assert_eq(wv[2], 2.75);
    cr_assert_eq(((const float *)rc_node_data(w))[0], 1.0f, "the graph's storage is untouched");
    rc_refeval_free(r);
    rc_graph_free(g);
}

Test(sgd_update, target_that_is_not_a_parameter_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(3));
    rc_node *grad = rc_const(g, RC_SHAPE(3), NULL);
    expect_error(g, rc_apply_gradient_descent(g, x, grad, 0.1f), "not a parameter");
    rc_graph_free(g);
}

Test(sgd_update, gradient_of_another_shape_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *w = rc_param(g, "w", RC_SHAPE(2, 3));
    rc_node *grad = rc_const(g, RC_SHAPE(3, 2), NULL);
    expect_error(g, rc_apply_gradient_descent(g, w, grad, 0.1f), "(3, 2)");
    cr_assert(strstr(rc_graph_error(g), "(2, 3)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
