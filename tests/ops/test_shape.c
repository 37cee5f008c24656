/* Data-movement ops: exact values (slice on each axis, pad_axis, concat,
 * reshape, transpose, reverse), float32 and int32 kernels against the
 * reference, views that run no kernel, gradients, and shape errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

/* Constant (2, 3, 4) holding 0, 1, ..., 23 in row-major order. */
static rc_node *iota234(rc_graph *g) {
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i;
    return rc_const(g, RC_SHAPE(2, 3, 4), v);
}

static void assert_values(rc_graph *g, rc_node *y, rc_shape want_shape, const float *want) {
    tu_assert_ok(g);
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    cr_assert(rc_shape_eq(rc_node_shape(y), want_shape), "shape %s, want %s",
              rc_shape_str(rc_node_shape(y), a, sizeof a), rc_shape_str(want_shape, b, sizeof b));
    int64_t n = rc_node_numel(y);
    float out[64];
    cr_assert_leq(n, 64);
    tu_eval(g, y, out);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(out[i], want[i], "%s: element %lld is %g, want %g", rc_node_op_name(y), (long long)i,
                     out[i], want[i]);
    /* the reference kernel agrees exactly: nothing here rounds */
    tu_check_forward(g, y, 0, 0);
}

static void expect_error(rc_graph *g, rc_node *y, const char *want) {
    cr_assert_null(y, "builder should fail with '%s'", want);
    cr_assert_not_null(rc_graph_error(g));
    cr_assert(strstr(rc_graph_error(g), want), "error '%s' lacks '%s'", rc_graph_error(g), want);
}

/* --- slice -------------------------------------------------------------- */

Test(slice, axis0_takes_whole_leading_blocks) {
    rc_graph *g = rc_graph_new();
    float want[12];
    for (int i = 0; i < 12; i++) want[i] = (float)(12 + i);
    assert_values(g, rc_slice(g, iota234(g), 0, 1, 2), RC_SHAPE(1, 3, 4), want);
    rc_graph_free(g);
}

Test(slice, axis1_takes_rows_within_each_block) {
    rc_graph *g = rc_graph_new();
    /* rows 1..2 of each (3, 4) block */
    float want[16] = {4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23};
    assert_values(g, rc_slice(g, iota234(g), 1, 1, 3), RC_SHAPE(2, 2, 4), want);
    rc_graph_free(g);
}

Test(slice, last_axis_takes_columns_and_negative_axis_counts_from_the_end) {
    rc_graph *g = rc_graph_new();
    float want[6] = {2, 6, 10, 14, 18, 22};
    assert_values(g, rc_slice(g, iota234(g), 2, 2, 3), RC_SHAPE(2, 3, 1), want);
    assert_values(g, rc_slice(g, iota234(g), -1, 2, 3), RC_SHAPE(2, 3, 1), want);
    rc_graph_free(g);
}

Test(slice, contiguous_slice_of_a_leaf_is_a_view_and_runs_no_kernel) {
    rc_graph *g = rc_graph_new();
    rc_node *x = iota234(g);
    /* leading dim 1 before axis 1 after the first slice: both are views */
    rc_node *s0 = rc_slice(g, x, 0, 1, 2), *s1 = rc_slice(g, s0, 1, 1, 3);
    rc_plan *p = rc_plan_new(g, &s1, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_steps(p), 0);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    const float *v = rc_plan_f32(p, s1);
    cr_assert_eq((const void *)v, (const float *)rc_node_data(x) + 16, "aliases x at offset 12 + 4");
    for (int i = 0; i < 8; i++) cr_assert_eq(v[i], (float)(16 + i));
    rc_plan_free(p);
    /* a slice along axis 1 of the whole tensor is strided: it runs a kernel */
    rc_node *s2 = rc_slice(g, x, 1, 0, 2);
    p = rc_plan_new(g, &s2, 1);
    cr_assert_eq(rc_plan_steps(p), 1);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(slice, views_of_computed_values_read_the_right_elements) {
    /* tanh -> reshape -> slice -> scale: the two views alias tanh's buffer
     * at an offset; the consumer must see exactly the reference values. */
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 1);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 4), &r, -2, 2);
    rc_node *v = rc_slice(g, rc_reshape(g, rc_tanh(g, x), RC_SHAPE(6, 4)), 0, 2, 5);
    rc_node *y = rc_scale(g, v, 2.0f);
    tu_check_forward(g, y, 1e-6, 1e-6);
    tu_check_forward(g, v, 1e-6, 1e-6);
    rc_graph_free(g);
}

Test(slice, gradients_pass_on_every_axis) {
    for (int axis = 0; axis < 3; axis++) {
        rc_graph *g = rc_graph_new();
        rc_rng r;
        rc_rng_seed(&r, 10 + (uint64_t)axis);
        rc_node *x = tu_param(g, "x", RC_SHAPE(3, 4, 5), &r, -1, 1);
        rc_node *loss = tu_weighted_sum(g, rc_slice(g, x, axis, 1, 3), &r);
        tu_check_gradients(g, loss, &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

Test(slice, out_of_range_bounds_are_errors) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 5));
    expect_error(g, rc_slice(g, x, 1, 3, 9), "slice [3, 9) out of range for axis 1 of size 5");
    rc_graph_clear_error(g);
    expect_error(g, rc_slice(g, x, 0, -1, 1), "slice [-1, 1) out of range for axis 0 of size 2");
    rc_graph_clear_error(g);
    expect_error(g, rc_slice(g, x, 1, 3, 3), "slice [3, 3) out of range");
    rc_graph_free(g);
}

Test(slice, bad_axis_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 5));
    expect_error(g, rc_slice(g, x, 2, 0, 1), "axis 2 is out of range for shape (2, 5)");
    rc_graph_clear_error(g);
    expect_error(g, rc_slice(g, x, -3, 0, 1), "axis -3 is out of range");
    rc_graph_free(g);
}

/* --- pad_axis ----------------------------------------------------------- */

Test(pad_axis, places_x_inside_zeros_along_the_axis) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 2), (float[]){1, 2, 3, 4});
    float w1[8] = {0, 1, 2, 0, 0, 3, 4, 0};
    assert_values(g, rc_pad_axis(g, x, 1, 1, 4), RC_SHAPE(2, 4), w1);
    float w0[6] = {1, 2, 3, 4, 0, 0};
    assert_values(g, rc_pad_axis(g, x, 0, 0, 3), RC_SHAPE(3, 2), w0);
    rc_graph_free(g);
}

Test(pad_axis, is_the_adjoint_of_slice) {
    /* <slice(x), y> == <x, pad(y)> for random x, y */
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 20);
    rc_node *x = tu_param(g, "x", RC_SHAPE(3, 7, 2), &r, -1, 1);
    rc_node *y = tu_param(g, "y", RC_SHAPE(3, 3, 2), &r, -1, 1);
    rc_node *lhs = rc_sum(g, rc_mul(g, rc_slice(g, x, 1, 2, 5), y), RC_ALL_AXES, false);
    rc_node *rhs = rc_sum(g, rc_mul(g, x, rc_pad_axis(g, y, 1, 2, 7)), RC_ALL_AXES, false);
    float a, b;
    tu_eval(g, lhs, &a);
    tu_eval(g, rhs, &b);
    cr_assert_float_eq(a, b, 1e-5);
    rc_graph_free(g);
}

Test(pad_axis, gradients_pass) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 2), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_pad_axis(g, x, 1, 2, 6), &r);
    tu_check_gradients(g, loss, &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(pad_axis, x_that_does_not_fit_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3));
    expect_error(g, rc_pad_axis(g, x, 1, 2, 4), "(2, 3) placed at 2 along axis 1 does not fit in size 4");
    rc_graph_free(g);
}

/* --- concat ------------------------------------------------------------- */

Test(concat, joins_along_the_last_axis) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_const(g, RC_SHAPE(2, 1), (float[]){1, 2});
    rc_node *b = rc_const(g, RC_SHAPE(2, 2), (float[]){3, 4, 5, 6});
    rc_node *c = rc_const(g, RC_SHAPE(2, 3), (float[]){7, 8, 9, 10, 11, 12});
    float want[12] = {1, 3, 4, 7, 8, 9, 2, 5, 6, 10, 11, 12};
    assert_values(g, rc_concat(g, (rc_node *[]){a, b, c}, 3, 1), RC_SHAPE(2, 6), want);
    assert_values(g, rc_concat(g, (rc_node *[]){a, b, c}, 3, -1), RC_SHAPE(2, 6), want);
    rc_graph_free(g);
}

Test(concat, joins_along_the_first_axis) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_const(g, RC_SHAPE(1, 2), (float[]){1, 2});
    rc_node *b = rc_const(g, RC_SHAPE(2, 2), (float[]){3, 4, 5, 6});
    float want[6] = {1, 2, 3, 4, 5, 6};
    assert_values(g, rc_concat(g, (rc_node *[]){a, b}, 2, 0), RC_SHAPE(3, 2), want);
    rc_graph_free(g);
}

Test(concat, single_input_is_a_copy) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_const(g, RC_SHAPE(3), (float[]){1, 2, 3});
    float want[3] = {1, 2, 3};
    assert_values(g, rc_concat(g, &a, 1, 0), RC_SHAPE(3), want);
    rc_graph_free(g);
}

Test(concat, gradients_are_slices_of_dy) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 30);
    rc_node *a = tu_param(g, "a", RC_SHAPE(2, 1, 3), &r, -1, 1);
    rc_node *b = tu_param(g, "b", RC_SHAPE(2, 4, 3), &r, -1, 1);
    rc_node *c = tu_param(g, "c", RC_SHAPE(2, 2, 3), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_concat(g, (rc_node *[]){a, b, c}, 3, 1), &r);
    tu_check_gradients(g, loss, (rc_node *[]){a, b, c}, 3, 0, 0);
    /* the same input twice gets both slices summed */
    rc_node *loss2 = tu_weighted_sum(g, rc_concat(g, (rc_node *[]){a, a}, 2, 0), &r);
    tu_check_gradients(g, loss2, &a, 1, 0, 0);
    rc_graph_free(g);
}

Test(concat, mismatched_shapes_are_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *a = rc_input(g, "a", RC_F32, RC_SHAPE(2, 3)), *b = rc_input(g, "b", RC_F32, RC_SHAPE(3, 3));
    expect_error(g, rc_concat(g, (rc_node *[]){a, b}, 2, 1), "(3, 3)");
    cr_assert(strstr(rc_graph_error(g), "(2, 3)"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    rc_node *c = rc_input(g, "c", RC_F32, RC_SHAPE(6));
    expect_error(g, rc_concat(g, (rc_node *[]){a, c}, 2, 0), "(6)");
    rc_graph_clear_error(g);
    rc_node *i = rc_input(g, "i", RC_I32, RC_SHAPE(2, 3));
    expect_error(g, rc_concat(g, (rc_node *[]){a, i}, 2, 0), "int32");
    rc_graph_free(g);
}

/* --- reshape ------------------------------------------------------------ */

Test(reshape, keeps_row_major_order_and_is_a_view) {
    rc_graph *g = rc_graph_new();
    rc_node *x = iota234(g);
    rc_node *y = rc_reshape(g, x, RC_SHAPE(4, 6));
    float want[24];
    for (int i = 0; i < 24; i++) want[i] = (float)i;
    assert_values(g, y, RC_SHAPE(4, 6), want);
    assert_values(g, rc_reshape(g, x, RC_SHAPE(24)), RC_SHAPE(24), want);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert_eq(rc_plan_steps(p), 0, "a reshape of a leaf runs nothing");
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(reshape, of_a_view_at_an_offset_reads_from_that_offset) {
    rc_graph *g = rc_graph_new();
    /* x[1, 2, :] through two contiguous slices: offset 12 + 8 */
    rc_node *v = rc_slice(g, rc_slice(g, iota234(g), 0, 1, 2), 1, 2, 3);
    float want[4] = {20, 21, 22, 23};
    assert_values(g, rc_reshape(g, v, RC_SHAPE(2, 2)), RC_SHAPE(2, 2), want);
    rc_graph_free(g);
}

Test(reshape, gradients_pass) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 40);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 6), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_tanh(g, rc_reshape(g, x, RC_SHAPE(3, 2, 2))), &r);
    tu_check_gradients(g, loss, &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(reshape, element_count_mismatch_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3));
    expect_error(g, rc_reshape(g, x, RC_SHAPE(4, 2)), "(2, 3)");
    cr_assert(strstr(rc_graph_error(g), "(4, 2)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

/* --- transpose ---------------------------------------------------------- */

Test(transpose, swaps_the_axes_of_a_matrix) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    float want[6] = {1, 4, 2, 5, 3, 6};
    assert_values(g, rc_transpose(g, x, (int[]){1, 0}), RC_SHAPE(3, 2), want);
    rc_graph_free(g);
}

Test(transpose, permutes_three_axes_with_perm_k_giving_the_input_axis) {
    rc_graph *g = rc_graph_new();
    /* perm (2, 0, 1): y[c, a, b] = x[a, b, c], y shape (4, 2, 3) */
    rc_node *y = rc_transpose(g, iota234(g), (int[]){2, 0, 1});
    float want[24];
    for (int c = 0; c < 4; c++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++) want[(c * 2 + a) * 3 + b] = (float)(a * 12 + b * 4 + c);
    assert_values(g, y, RC_SHAPE(4, 2, 3), want);
    rc_graph_free(g);
}

Test(transpose, four_axes_match_the_reference) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 50);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 4, 5), &r, -1, 1);
    rc_node *y = rc_transpose(g, x, (int[]){3, 1, 0, 2});
    tu_assert_ok(g);
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(5, 3, 2, 4)));
    tu_check_forward(g, y, 0, 0);
    rc_graph_free(g);
}

Test(transpose, gradients_use_the_inverse_permutation) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 51);
    /* (2, 0, 1) is not its own inverse, so a wrong inverse fails the check */
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 3, 4), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_transpose(g, x, (int[]){2, 0, 1}), &r);
    tu_check_gradients(g, loss, &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(transpose, bad_permutations_are_errors) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3, 4));
    expect_error(g, rc_transpose(g, x, (int[]){0, 0, 1}), "permutation");
    cr_assert(strstr(rc_graph_error(g), "(2, 3, 4)"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    expect_error(g, rc_transpose(g, x, (int[]){0, 1, 3}), "permutation");
    rc_graph_clear_error(g);
    expect_error(g, rc_transpose(g, x, (int[]){-1, 0, 1}), "permutation");
    rc_graph_clear_error(g);
    expect_error(g, rc_transpose(g, x, NULL), "perm");
    rc_graph_free(g);
}

/* --- reverse ------------------------------------------------------------ */

Test(reverse, flips_the_order_along_the_axis) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_const(g, RC_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    float w1[6] = {3, 2, 1, 6, 5, 4}, w0[6] = {4, 5, 6, 1, 2, 3};
    assert_values(g, rc_reverse(g, x, 1), RC_SHAPE(2, 3), w1);
    assert_values(g, rc_reverse(g, x, 0), RC_SHAPE(2, 3), w0);
    assert_values(g, rc_reverse(g, x, -1), RC_SHAPE(2, 3), w1);
    /* the time axis of (B, T, U) */
    float want[24];
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 3; t++)
            for (int u = 0; u < 4; u++) want[(b * 3 + t) * 4 + u] = (float)(b * 12 + (2 - t) * 4 + u);
    assert_values(g, rc_reverse(g, iota234(g), 1), RC_SHAPE(2, 3, 4), want);
    rc_graph_free(g);
}

Test(reverse, gradients_pass) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 60);
    rc_node *x = tu_param(g, "x", RC_SHAPE(2, 5, 3), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_reverse(g, x, 1), &r);
    tu_check_gradients(g, loss, &x, 1, 0, 0);
    rc_graph_free(g);
}

Test(reverse, bad_axis_is_an_error) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3));
    expect_error(g, rc_reverse(g, x, 2), "axis 2 is out of range");
    rc_graph_free(g);
}

/* --- int32 data ----------------------------------------------------------- */

Test(shape_ops, move_int32_data_exactly) {
    rc_graph *g = rc_graph_new();
    int32_t v[6] = {10, 11, 12, 13, 14, 15};
    rc_node *x = rc_const_i32(g, RC_SHAPE(2, 3), v);
    rc_node *ys[5] = {
        rc_slice(g, x, 1, 1, 3),
        rc_concat(g, (rc_node *[]){x, x}, 2, 0),
        rc_reshape(g, x, RC_SHAPE(3, 2)),
        rc_transpose(g, x, (int[]){1, 0}),
        rc_reverse(g, x, 1),
    };
    static const int32_t want[5][12] = {
        {11, 12, 14, 15},
        {10, 11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15},
        {10, 11, 12, 13, 14, 15},
        {10, 13, 11, 14, 12, 15},
        {12, 11, 10, 15, 14, 13},
    };
    tu_assert_ok(g);
    for (int k = 0; k < 5; k++) {
        cr_assert_eq(rc_node_dtype(ys[k]), RC_I32);
        rc_plan *p = rc_plan_new(g, &ys[k], 1);
        cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
        const int32_t *out = rc_plan_data(p, ys[k]);
        for (int64_t i = 0; i < rc_node_numel(ys[k]); i++)
            cr_assert_eq(out[i], want[k][i], "%s element %lld", rc_node_op_name(ys[k]), (long long)i);
        rc_plan_free(p);
        tu_check_forward(g, ys[k], 0, 0);
    }
    rc_graph_free(g);
}
