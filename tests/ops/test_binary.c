/* Broadcasting binary ops, where, broadcast_to and sum_to. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

typedef rc_node *(*binary_fn)(rc_graph *, rc_node *, rc_node *);
static const struct {
    const char *name;
    binary_fn fn;
} ops[] = {{"add", rc_add}, {"sub", rc_sub}, {"mul", rc_mul}, {"div", rc_div}};

/* Shape pairs covering every kernel path: equal, bias row, scalar on either
 * side, broadcast on both sides, rank-4. */
static const struct {
    rc_shape a, b;
} pairs[] = {
    {RC_SHAPE(3, 4), RC_SHAPE(3, 4)},
    {RC_SHAPE(5, 4), RC_SHAPE(4)},
    {RC_SHAPE(2, 3, 4), RC_SHAPE(1, 4)},
    {RC_SHAPE(3, 4), RC_SCALAR},
    {RC_SCALAR, RC_SHAPE(2, 3)},
    {RC_SHAPE(2, 1, 4), RC_SHAPE(2, 3, 1)},
    {RC_SHAPE(4, 1), RC_SHAPE(3)},
    {RC_SHAPE(2, 2, 3, 2), RC_SHAPE(3, 1)},
};
#define NPAIRS (int)(sizeof pairs / sizeof pairs[0])

/* One float operation per element: float32 result within half an ULP of the
 * double one; 1e-6 relative covers it (division by |b| >= 0.5 keeps results
 * bounded). */
Test(binary, fast_kernels_match_the_reference_on_every_broadcast_pattern) {
    for (int o = 0; o < 4; o++)
        for (int p = 0; p < NPAIRS; p++) {
            rc_graph *g = rc_graph_new();
            rc_rng r;
            rc_rng_seed(&r, (uint64_t)(o * 100 + p));
            rc_node *a = tu_param(g, "a", pairs[p].a, &r, -2, 2);
            rc_node *b = tu_param(g, "b", pairs[p].b, &r, 0.5f, 2);
            tu_check_forward(g, ops[o].fn(g, a, b), 1e-6, 1e-6);
            rc_graph_free(g);
        }
}

Test(binary, gradients_reduce_over_broadcast_axes) {
    for (int o = 0; o < 4; o++)
        for (int p = 0; p < NPAIRS; p++) {
            rc_graph *g = rc_graph_new();
            rc_rng r;
            rc_rng_seed(&r, (uint64_t)(1000 + o * 100 + p));
            rc_node *a = tu_param(g, "a", pairs[p].a, &r, -2, 2);
            rc_node *b = tu_param(g, "b", pairs[p].b, &r, 0.5f, 2);
            rc_node *loss = tu_weighted_sum(g, ops[o].fn(g, a, b), &r);
            tu_check_gradients(g, loss, (rc_node *[]){a, b}, 2, 0, 0);
            rc_graph_free(g);
        }
}

Test(binary, second_order_through_mul_and_div) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_node *a = tu_param(g, "a", RC_SHAPE(3, 2), &r, -2, 2);
    rc_node *b = tu_param(g, "b", RC_SHAPE(2), &r, 0.5f, 2);
    rc_node *loss = tu_weighted_sum(g, rc_div(g, rc_mul(g, a, a), b), &r), *d[2];
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){a, b}, 2, d), RC_OK);
    rc_node *l2 = rc_add(g, tu_weighted_sum(g, d[0], &r), tu_weighted_sum(g, d[1], &r));
    tu_check_gradients(g, l2, (rc_node *[]){a, b}, 2, 0, 0);
    rc_graph_free(g);
}

Test(binary, exact_bias_broadcast) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *b = rc_const(g, RC_SHAPE(3), (float[]){10, 20, 30});
    float out[6];
    tu_eval(g, rc_add(g, x, b), out);
    float want[6] = {11, 22, 33, 14, 25, 36};
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i]);
    rc_node *col = rc_const(g, RC_SHAPE(2, 1), (float[]){2, 3});
    tu_eval(g, rc_mul(g, x, col), out);
    float want2[6] = {2, 4, 6, 12, 15, 18};
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want2[i]);
    rc_graph_free(g);
}

Test(binary, where_selects_and_routes_gradients) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 6);
    rc_node *mask = rc_const(g, RC_SHAPE(3, 1), (float[]){1, 0, 1});
    rc_node *a = tu_param(g, "a", RC_SHAPE(3, 4), &r, -1, 1);
    rc_node *b = tu_param(g, "b", RC_SHAPE(4), &r, -1, 1);
    rc_node *y = rc_where(g, mask, a, b);
    float out[12];
    tu_eval(g, y, out);
    const float *av = rc_node_data(a), *bv = rc_node_data(b);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) cr_assert_eq(out[i * 4 + j], i == 1 ? bv[j] : av[i * 4 + j]);
    tu_check_forward(g, y, 0, 0);
    tu_check_gradients(g, tu_weighted_sum(g, y, &r), (rc_node *[]){a, b}, 2, 0, 0);
    rc_graph_free(g);
}

Test(binary, broadcast_to_and_sum_to_are_adjoint) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 7);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 1), &r, -1, 1);
    rc_node *big = rc_broadcast_to(g, x, RC_SHAPE(2, 3, 4));
    rc_node *back = rc_sum_to(g, big, RC_SHAPE(3, 1));
    float out[3];
    tu_eval(g, back, out);
    const float *xv = rc_node_data(x);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(out[i], 8 * xv[i], 1e-6);
    tu_check_forward(g, big, 0, 0);
    tu_check_gradients(g, tu_weighted_sum(g, big, &r), &x, 1, 0, 0);
    rc_node *y = tu_param(g, "y", RC_SHAPE(2, 3, 4), &r, -1, 1);
    tu_check_gradients(g, tu_weighted_sum(g, rc_sum_to(g, y, RC_SHAPE(3, 1)), &r), &y, 1, 0, 0);
    rc_graph_free(g);
}

Test(binary, shapes_that_do_not_broadcast_are_errors) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    rc_node *b = rc_param(g, "b", RC_SHAPE(4));
    cr_assert_null(rc_add(g, a, b));
    cr_assert_str_eq(rc_graph_error(g), "add at 'add': shapes (2, 3) and (4) do not broadcast");
    rc_graph_clear_error(g);
    cr_assert_null(rc_sum_to(g, a, RC_SHAPE(4)));
    cr_assert(strstr(rc_graph_error(g), "cannot sum (2, 3) down to (4)"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_broadcast_to(g, a, RC_SHAPE(3, 3)));
    cr_assert(strstr(rc_graph_error(g), "do not broadcast"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2, 3));
    cr_assert_null(rc_mul(g, a, ids));
    cr_assert(strstr(rc_graph_error(g), "input 1 has dtype int32, expected float32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
