/* Broadcasting binary ops (add, sub, mul, div), where, broadcast_to and
 * sum_to: fast float32 kernels against the double reference on every kernel
 * path, gradients against finite differences (broadcast axes included),
 * exact values, and errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

/* One correctly rounded float operation per element on inputs exact in
 * double: |f32 - f64| <= 2^-24 |f64| (half a float ULP) plus the double
 * reference's own 2^-53. 2^-23 relative (one ULP) bounds it with margin and
 * no absolute slack is needed (an exact 0 is 0 in both). */
#define ELEM_ATOL 0.0
#define ELEM_RTOL 0x1p-23
/* Sums accumulated in double in a different order than the reference, then
 * rounded once to float: the same ULP plus ~1e-16 per term of |x| <= 2. */
#define SUM_ATOL 1e-12
#define SUM_RTOL 0x1p-23

typedef rc_node *(*binary_fn)(rc_graph *, rc_node *, rc_node *);

/* Shape pairs covering every float kernel path: same shape, scalar on
 * either side, a row vector on either side ((B, U) + (U), (B, T, U) + (U)),
 * a per-row column on either side ((B, 1) * (B, U)), and the strided walk
 * (both sides broadcast, rank 4). Sizes of 33 and 65 leave vector tails. */
static const struct {
    rc_shape a, b;
} pairs[] = {
    {RC_SHAPE(3, 4), RC_SHAPE(3, 4)},             /* same */
    {RC_SHAPE(33, 65), RC_SHAPE(33, 65)},         /* same, long */
    {RC_SHAPE(3, 4), RC_SCALAR},                  /* b scalar */
    {RC_SCALAR, RC_SHAPE(2, 3)},                  /* a scalar */
    {RC_SHAPE(5), RC_SHAPE(1)},                   /* b one element of rank 1 */
    {RC_SHAPE(5, 4), RC_SHAPE(4)},                /* b row: (B, U) + (U) */
    {RC_SHAPE(2, 3, 65), RC_SHAPE(65)},           /* b row: (B, T, U) + (U) */
    {RC_SHAPE(2, 3, 4), RC_SHAPE(1, 4)},          /* b row of rank 2 */
    {RC_SHAPE(4), RC_SHAPE(3, 4)},                /* a row */
    {RC_SHAPE(3, 5), RC_SHAPE(3, 1)},             /* b column: (B, U) * (B, 1) */
    {RC_SHAPE(2, 3, 1), RC_SHAPE(2, 3, 7)},       /* a column */
    {RC_SHAPE(2, 1, 4), RC_SHAPE(2, 3, 1)},       /* (B, 1, U) * (B, T, 1) */
    {RC_SHAPE(4, 1), RC_SHAPE(3)},                /* both broadcast */
    {RC_SHAPE(2, 2, 3, 2), RC_SHAPE(3, 1)},       /* rank 4 */
    {RC_SHAPE(1, 3, 1, 2), RC_SHAPE(2, 1, 4, 1)}, /* rank 4, both sides */
};
#define NPAIRS (int)(sizeof pairs / sizeof pairs[0])

/* b in [0.5, 2) keeps division well conditioned. */
static void check_kernel_on_every_pattern(binary_fn fn, uint64_t seed) {
    for (int p = 0; p < NPAIRS; p++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, seed + (uint64_t)p);
        rc_node *a = tu_param(g, "a", pairs[p].a, &r, -2, 2);
        rc_node *b = tu_param(g, "b", pairs[p].b, &r, 0.5f, 2);
        tu_check_forward(g, fn(g, a, b), ELEM_ATOL, ELEM_RTOL);
        rc_graph_free(g);
    }
}

/* Gradient checks stay small: skip the long pairs. */
static void check_gradients_on_every_pattern(binary_fn fn, uint64_t seed) {
    for (int p = 0; p < NPAIRS; p++) {
        if (rc_shape_numel(pairs[p].a) > 200 || rc_shape_numel(pairs[p].b) > 200) continue;
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, seed + (uint64_t)p);
        rc_node *a = tu_param(g, "a", pairs[p].a, &r, -2, 2);
        rc_node *b = tu_param(g, "b", pairs[p].b, &r, 0.5f, 2);
        rc_node *loss = tu_weighted_sum(g, fn(g, a, b), &r);
        tu_check_gradients(g, loss, (rc_node *[]){a, b}, 2, 0, 0);
        rc_graph_free(g);
    }
}

/* --- forward kernels ---------------------------------------------------- */

Test(binary, add_kernel_matches_reference_on_every_broadcast_pattern) {
    check_kernel_on_every_pattern(rc_add, 100);
}
Test(binary, sub_kernel_matches_reference_on_every_broadcast_pattern) {
    check_kernel_on_every_pattern(rc_sub, 200);
}
Test(binary, mul_kernel_matches_reference_on_every_broadcast_pattern) {
    check_kernel_on_every_pattern(rc_mul, 300);
}
Test(binary, div_kernel_matches_reference_on_every_broadcast_pattern) {
    check_kernel_on_every_pattern(rc_div, 400);
}

/* --- gradients ---------------------------------------------------------- */

Test(binary, add_gradients_sum_over_broadcast_axes) { check_gradients_on_every_pattern(rc_add, 1100); }
Test(binary, sub_gradients_sum_over_broadcast_axes) { check_gradients_on_every_pattern(rc_sub, 1200); }
Test(binary, mul_gradients_sum_over_broadcast_axes) { check_gradients_on_every_pattern(rc_mul, 1300); }
Test(binary, div_gradients_sum_over_broadcast_axes) { check_gradients_on_every_pattern(rc_div, 1400); }

Test(binary, second_order_gradients_through_mul_and_div_with_broadcasting) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_node *a = tu_param(g, "a", RC_SHAPE(3, 2), &r, -2, 2);
    rc_node *b = tu_param(g, "b", RC_SHAPE(2), &r, 0.5f, 2);
    rc_node *loss = tu_weighted_sum(g, rc_div(g, rc_mul(g, a, a), b), &r), *d[2];
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){a, b}, 2, d), RC_OK, "%s", rc_graph_error(g));
    rc_node *l2 = rc_add(g, tu_weighted_sum(g, d[0], &r), tu_weighted_sum(g, d[1], &r));
    tu_check_gradients(g, l2, (rc_node *[]){a, b}, 2, 0, 0);
    rc_graph_free(g);
}

Test(binary, gradient_of_a_same_shape_operand_is_not_reduced) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    rc_node *b = rc_param(g, "b", RC_SHAPE(2, 3));
    rc_node *loss = rc_sum(g, rc_add(g, a, b), RC_ALL_AXES, false), *d[2];
    cr_assert_eq(rc_gradients(g, loss, (rc_node *[]){a, b}, 2, d), RC_OK, "%s", rc_graph_error(g));
    for (int i = 0; i < rc_graph_node_count(g); i++)
        cr_assert_str_neq(rc_node_op_name(rc_graph_node(g, i)), "sum_to");
    rc_graph_free(g);
}

Test(binary, bias_gradient_runs_on_the_fast_kernels) {
    /* d/db sum(W (x + b)) over (B, T, U) + (U): a sum_to over B*T rows. */
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 8);
    rc_node *x = tu_param(g, "x", RC_SHAPE(4, 50, 33), &r, -1, 1);
    rc_node *b = tu_param(g, "b", RC_SHAPE(33), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_add(g, x, b), &r), *db;
    cr_assert_eq(rc_gradients(g, loss, &b, 1, &db), RC_OK, "%s", rc_graph_error(g));
    tu_check_forward(g, db, SUM_ATOL, SUM_RTOL);
    rc_graph_free(g);
}

/* --- exact values ------------------------------------------------------- */

Test(binary, result_shape_follows_numpy_broadcasting) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 1, 4));
    rc_node *b = rc_param(g, "b", RC_SHAPE(3, 1));
    rc_node *s = rc_param(g, "s", RC_SCALAR);
    cr_assert(rc_shape_eq(rc_node_shape(rc_mul(g, a, b)), RC_SHAPE(2, 3, 4)));
    cr_assert(rc_shape_eq(rc_node_shape(rc_add(g, s, b)), RC_SHAPE(3, 1)));
    cr_assert(rc_shape_eq(rc_node_shape(rc_sub(g, s, s)), RC_SCALAR));
    cr_assert_eq(rc_node_dtype(rc_div(g, a, b)), RC_F32);
    rc_graph_free(g);
}

Test(binary, add_broadcasts_a_bias_row_exactly) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *b = rc_const(g, RC_SHAPE(3), (float[]){10, 20, 30});
    float out[6], want[6] = {11, 22, 33, 14, 25, 36};
    tu_eval(g, rc_add(g, x, b), out);
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

Test(binary, sub_keeps_operand_order_when_the_row_is_on_the_left) {
    rc_graph *g = rc_graph_new();
    rc_node *row = rc_const(g, RC_SHAPE(3), (float[]){10, 20, 30});
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    float out[6], want[6] = {9, 18, 27, 6, 15, 24};
    tu_eval(g, rc_sub(g, row, x), out);
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

Test(binary, mul_scales_each_row_by_a_column) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *col = rc_const(g, RC_SHAPE(2, 1), (float[]){2, 3});
    float out[6], want[6] = {2, 4, 6, 12, 15, 18};
    tu_eval(g, rc_mul(g, x, col), out);
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

Test(binary, div_by_a_scalar_and_of_a_scalar) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(4), (float[]){1, 2, 4, 8});
    rc_node *two = rc_const(g, RC_SCALAR, (float[]){2});
    float out[4], want1[4] = {0.5f, 1, 2, 4}, want2[4] = {2, 1, 0.5f, 0.25f};
    tu_eval(g, rc_div(g, x, two), out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], want1[i], "element %d", i);
    tu_eval(g, rc_div(g, two, x), out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], want2[i], "element %d", i);
    rc_graph_free(g);
}

Test(binary, outer_product_by_broadcasting_both_sides) {
    rc_graph *g = rc_graph_new();
    rc_node *col = rc_const(g, RC_SHAPE(3, 1), (float[]){1, 2, 3});
    rc_node *row = rc_const(g, RC_SHAPE(1, 2), (float[]){10, 100});
    float out[6], want[6] = {10, 100, 20, 200, 30, 300};
    rc_node *y = rc_mul(g, col, row);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(3, 2)));
    tu_eval(g, y, out);
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

/* --- where -------------------------------------------------------------- */

Test(where, selects_a_where_cond_is_nonzero_and_b_elsewhere) {
    rc_graph *g = rc_graph_new();
    rc_node *mask = rc_const(g, RC_SHAPE(3, 1), (float[]){1, 0, -2});
    rc_node *a = rc_const(g, RC_SHAPE(3, 2), (float[]){1, 2, 3, 4, 5, 6});
    rc_node *b = rc_const(g, RC_SHAPE(2), (float[]){-1, -2});
    float out[6], want[6] = {1, 2, -1, -2, 5, 6};
    rc_node *y = rc_where(g, mask, a, b);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(3, 2)));
    tu_eval(g, y, out);
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

/* A copy of an input element: exact. */
Test(where, kernel_matches_reference_on_every_broadcast_pattern) {
    static const struct {
        rc_shape c, a, b;
    } cases[] = {
        {RC_SHAPE(4, 9), RC_SHAPE(4, 9), RC_SHAPE(4, 9)},       /* all full */
        {RC_SHAPE(4, 1), RC_SHAPE(4, 9), RC_SHAPE(4, 9)},       /* per-row step mask */
        {RC_SHAPE(2, 3, 1), RC_SHAPE(2, 3, 5), RC_SHAPE(2, 3, 5)},
        {RC_SHAPE(9), RC_SHAPE(4, 9), RC_SHAPE(4, 9)},          /* per-column */
        {RC_SHAPE(4, 1), RC_SHAPE(4, 9), RC_SCALAR},            /* b scalar */
        {RC_SHAPE(2, 1, 3), RC_SHAPE(4, 1), RC_SHAPE(1, 4, 3)}, /* all broadcast */
    };
    for (int k = 0; k < (int)(sizeof cases / sizeof cases[0]); k++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 60 + (uint64_t)k);
        rc_node *c = tu_const(g, cases[k].c, &r, 0, 1);
        /* about half the mask zero */
        float *cv = rc_node_data(c);
        for (int64_t i = 0; i < rc_node_numel(c); i++) cv[i] = cv[i] < 0.5f ? 0.0f : 1.0f;
        rc_node *a = tu_param(g, "a", cases[k].a, &r, -1, 1);
        rc_node *b = tu_param(g, "b", cases[k].b, &r, -1, 1);
        tu_check_forward(g, rc_where(g, c, a, b), 0, 0);
        rc_graph_free(g);
    }
}

Test(where, gradients_flow_to_the_selected_input_summed_over_broadcast_axes) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 6);
    rc_node *mask = rc_const(g, RC_SHAPE(3, 1), (float[]){1, 0, 1});
    rc_node *a = tu_param(g, "a", RC_SHAPE(3, 4), &r, -1, 1);
    rc_node *b = tu_param(g, "b", RC_SHAPE(4), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_where(g, mask, a, b), &r);
    tu_check_gradients(g, loss, (rc_node *[]){a, b}, 2, 0, 0);
    rc_graph_free(g);
}

Test(where, cond_receives_no_gradient) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 61);
    rc_node *c = tu_param(g, "c", RC_SHAPE(2, 3), &r, -1, 1);
    rc_node *a = tu_param(g, "a", RC_SHAPE(2, 3), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_where(g, c, a, rc_fill(g, RC_SCALAR, 0)), &r), *dc;
    cr_assert_eq(rc_gradients(g, loss, &c, 1, &dc), RC_OK, "%s", rc_graph_error(g));
    float out[6];
    tu_eval(g, dc, out);
    for (int i = 0; i < 6; i++) cr_assert_eq(out[i], 0.0f);
    rc_graph_free(g);
}

/* --- broadcast_to / sum_to ---------------------------------------------- */

static const struct {
    rc_shape small, big;
} bc_cases[] = {
    {RC_SHAPE(2, 3), RC_SHAPE(2, 3)},       /* nothing to do */
    {RC_SHAPE(6), RC_SHAPE(1, 6)},          /* same elements, higher rank */
    {RC_SCALAR, RC_SHAPE(3, 4)},            /* scalar */
    {RC_SHAPE(1, 1), RC_SHAPE(5, 7)},       /* one element */
    {RC_SHAPE(33), RC_SHAPE(40, 33)},       /* row: the bias case */
    {RC_SHAPE(1, 5), RC_SHAPE(2, 3, 5)},    /* row of rank 2 */
    {RC_SHAPE(3, 1), RC_SHAPE(2, 3, 4)},    /* middle axis kept */
    {RC_SHAPE(2, 1, 4), RC_SHAPE(2, 3, 4)}, /* middle axis broadcast */
    {RC_SHAPE(2, 1, 3, 1), RC_SHAPE(2, 4, 3, 5)},
};
#define NBC (int)(sizeof bc_cases / sizeof bc_cases[0])

Test(broadcast_to, repeats_along_broadcast_axes_exactly) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 1), (float[]){1, 2});
    rc_node *y = rc_broadcast_to(g, x, RC_SHAPE(2, 2, 3));
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2, 2, 3)));
    float out[12], want[12] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2};
    tu_eval(g, y, out);
    for (int i = 0; i < 12; i++) cr_assert_eq(out[i], want[i], "element %d", i);
    rc_graph_free(g);
}

/* Copies: exact. */
Test(broadcast_to, kernel_matches_reference_on_every_pattern) {
    for (int k = 0; k < NBC; k++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 70 + (uint64_t)k);
        rc_node *x = tu_param(g, "x", bc_cases[k].small, &r, -1, 1);
        tu_check_forward(g, rc_broadcast_to(g, x, bc_cases[k].big), 0, 0);
        rc_graph_free(g);
    }
}

Test(broadcast_to, gradient_is_sum_to) {
    for (int k = 0; k < NBC; k++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 80 + (uint64_t)k);
        rc_node *x = tu_param(g, "x", bc_cases[k].small, &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_broadcast_to(g, x, bc_cases[k].big), &r);
        tu_check_gradients(g, loss, &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

Test(sum_to, sums_over_broadcast_axes_exactly) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2, 3), (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    float out[3];
    rc_node *rows = rc_sum_to(g, x, RC_SHAPE(3));
    cr_assert(rc_shape_eq(rc_node_shape(rows), RC_SHAPE(3)));
    tu_eval(g, rows, out);
    cr_assert_eq(out[0], 1 + 4 + 7 + 10);
    cr_assert_eq(out[1], 2 + 5 + 8 + 11);
    cr_assert_eq(out[2], 3 + 6 + 9 + 12);
    rc_node *mid = rc_sum_to(g, x, RC_SHAPE(2, 1));
    tu_eval(g, mid, out);
    cr_assert_eq(out[0], 1 + 2 + 3 + 7 + 8 + 9);
    cr_assert_eq(out[1], 4 + 5 + 6 + 10 + 11 + 12);
    rc_node *all = rc_sum_to(g, x, RC_SCALAR);
    tu_eval(g, all, out);
    cr_assert_eq(out[0], 78);
    rc_graph_free(g);
}

Test(sum_to, kernel_matches_reference_on_every_pattern) {
    for (int k = 0; k < NBC; k++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 90 + (uint64_t)k);
        rc_node *x = tu_param(g, "x", bc_cases[k].big, &r, -1, 1);
        tu_check_forward(g, rc_sum_to(g, x, bc_cases[k].small), SUM_ATOL, SUM_RTOL);
        rc_graph_free(g);
    }
}

Test(sum_to, gradient_is_broadcast_to) {
    for (int k = 0; k < NBC; k++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 95 + (uint64_t)k);
        rc_node *x = tu_param(g, "x", bc_cases[k].big, &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_sum_to(g, x, bc_cases[k].small), &r);
        tu_check_gradients(g, loss, &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

Test(sum_to, is_the_adjoint_of_broadcast_to) {
    /* <broadcast_to(x), y> = <x, sum_to(y)> */
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 7);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 1), &r, -1, 1);
    rc_node *y = tu_param(g, "y", RC_SHAPE(2, 3, 4), &r, -1, 1);
    rc_node *lhs = rc_sum(g, rc_mul(g, rc_broadcast_to(g, x, RC_SHAPE(2, 3, 4)), y), RC_ALL_AXES, false);
    rc_node *rhs = rc_sum(g, rc_mul(g, x, rc_sum_to(g, y, RC_SHAPE(3, 1))), RC_ALL_AXES, false);
    float l, rr;
    tu_eval(g, lhs, &l);
    tu_eval(g, rhs, &rr);
    cr_assert_float_eq(l, rr, 1e-5);
    rc_graph_free(g);
}

Test(sum_to, large_reduction_accumulates_in_double) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_fill(g, RC_SHAPE(1 << 12, 1 << 8), 0.1f);
    float out[1 << 8];
    tu_eval(g, rc_sum_to(g, x, RC_SHAPE(1 << 8)), out);
    /* a float accumulator drifts by 4e-5 relative (0.016) over 4096 rows; the
     * double one is within a float ULP of 409.6 (3e-5) */
    for (int j = 0; j < (1 << 8); j++)
        cr_assert_float_eq(out[j], (double)0.1f * (1 << 12), 409.6 * 0x1p-23, "column %d", j);
    rc_graph_free(g);
}

/* --- errors ------------------------------------------------------------- */

Test(binary, shapes_that_do_not_broadcast_are_an_error_naming_both) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    rc_node *b = rc_param(g, "b", RC_SHAPE(4));
    cr_assert_null(rc_add(g, a, b));
    cr_assert_str_eq(rc_graph_error(g), "add at 'add': shapes (2, 3) and (4) do not broadcast");
    cr_assert_eq(rc_graph_status(g), RC_ERR_SHAPE);
    rc_graph_clear_error(g);
    cr_assert_null(rc_div(g, rc_param(g, "c", RC_SHAPE(2, 1, 3)), rc_param(g, "d", RC_SHAPE(4, 2))));
    cr_assert(strstr(rc_graph_error(g), "div at 'div': shapes (2, 1, 3) and (4, 2) do not broadcast"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

Test(binary, int32_operand_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2, 3));
    cr_assert_null(rc_mul(g, a, ids));
    cr_assert(strstr(rc_graph_error(g), "mul at 'mul': input 1 has dtype int32, expected float32"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_sub(g, ids, a));
    cr_assert(strstr(rc_graph_error(g), "input 0 has dtype int32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(binary, error_propagates_through_later_builders_quietly) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    rc_node *bad = rc_add(g, a, rc_param(g, "b", RC_SHAPE(5)));
    cr_assert_null(rc_mul(g, rc_sub(g, bad, a), a));
    cr_assert(strstr(rc_graph_error(g), "add at 'add': shapes (2, 3) and (5)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(where, shapes_that_do_not_broadcast_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    cr_assert_null(rc_where(g, rc_param(g, "c", RC_SHAPE(4, 1)), a, a));
    cr_assert(strstr(rc_graph_error(g), "where at 'where': shapes (4, 1) and (2, 3) do not broadcast"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_where(g, a, a, rc_param(g, "b", RC_SHAPE(2))));
    cr_assert(strstr(rc_graph_error(g), "shapes (2, 3) and (2) do not broadcast"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(where, int32_cond_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    rc_node *c = rc_input(g, "c", RC_I32, RC_SHAPE(2, 3));
    cr_assert_null(rc_where(g, c, a, a));
    cr_assert(strstr(rc_graph_error(g), "input 0 has dtype int32, expected float32"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(broadcast_to, target_that_x_does_not_broadcast_to_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    cr_assert_null(rc_broadcast_to(g, a, RC_SHAPE(3, 3)));
    cr_assert(strstr(rc_graph_error(g), "broadcast_to at 'broadcast_to': shapes (2, 3) and (3, 3) do not broadcast"),
              "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_broadcast_to(g, a, RC_SHAPE(3))); /* lower rank */
    cr_assert(strstr(rc_graph_error(g), "do not broadcast"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    rc_shape five = {.ndim = 5, .dim = {1, 1, 2, 3}}; /* ndim past RC_MAX_DIMS */
    cr_assert_null(rc_broadcast_to(g, a, five));
    cr_assert(strstr(rc_graph_error(g), "target shape has 5 dims (at most 4)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(sum_to, target_that_does_not_broadcast_to_x_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_param(g, "a", RC_SHAPE(2, 3));
    cr_assert_null(rc_sum_to(g, a, RC_SHAPE(4)));
    cr_assert(strstr(rc_graph_error(g), "sum_to at 'sum_to': cannot sum (2, 3) down to (4)"), "%s",
              rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_sum_to(g, a, RC_SHAPE(1, 2, 3))); /* higher rank */
    cr_assert(strstr(rc_graph_error(g), "cannot sum (2, 3) down to (1, 2, 3)"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_sum_to(g, a, RC_SHAPE(0, 3))); /* invalid dim */
    cr_assert(strstr(rc_graph_error(g), "cannot sum (2, 3) down to (0, 3)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
