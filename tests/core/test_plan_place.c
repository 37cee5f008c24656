/* Placement ("write into slice", core/plan.c): kernels whose whole value is
 * a block of a concat write into that block; values, lifetimes and the
 * concat's own copy of other pieces stay right. */
#include <criterion/criterion.h>
#include <math.h>

#include "util.h"

#define MIB ((size_t)1 << 20)

/* y = concat(tanh x, 2x, x) along axis 0 (the first two placed, x a leaf
 * copied), and tanh x, 2x read again after the concat ran: their blocks
 * must still hold them. */
Test(plan_place, pieces_computed_in_place_keep_their_values) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3));
    rc_node *a = rc_tanh(g, x), *b = rc_scale(g, x, 2.0f);
    rc_node *pieces[3] = {rc_reshape(g, a, RC_SHAPE(3, 2)), rc_reshape(g, b, RC_SHAPE(3, 2)),
                          rc_reshape(g, x, RC_SHAPE(3, 2))};
    rc_node *y = rc_concat(g, pieces, 3, 0);
    rc_node *y2 = rc_scale(g, y, 3.0f);
    rc_node *late = rc_add(g, a, rc_tanh(g, b));
    rc_node *outs[3] = {late, y, y2};
    rc_plan *p = rc_plan_new(g, outs, 3);
    cr_assert(p, "%s", rc_graph_error(g));
    float v[6] = {0.5f, -1, 2, 0, -0.25f, 3};
    for (int rep = 0; rep < 2; rep++) {
        for (int i = 0; i < 6; i++) v[i] += (float)rep;
        rc_node_set(x, v);
        cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
        const float *yv = rc_plan_f32(p, y), *y2v = rc_plan_f32(p, y2), *lv = rc_plan_f32(p, late);
        for (int i = 0; i < 6; i++) {
            cr_assert_float_eq(yv[i], tanhf(v[i]), 1e-6);
            cr_assert_float_eq(yv[6 + i], 2 * v[i], 1e-6);
            cr_assert_eq(yv[12 + i], v[i]);
            cr_assert_float_eq(lv[i], tanhf(v[i]) + tanhf(2 * v[i]), 1e-6);
        }
        for (int i = 0; i < 18; i++) cr_assert_float_eq(y2v[i], 3 * yv[i], 1e-6);
    }
    rc_plan_free(p);
    rc_graph_free(g);
}

/* Two computed 1 MiB pieces of a 2 MiB concat: the arena is the concat
 * alone, not the pieces plus their copy. */
Test(plan_place, placed_pieces_need_no_buffers_of_their_own) {
    rc_graph *g = rc_graph_new();
    const int64_t n = MIB / sizeof(float);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(1, n));
    rc_node *pieces[2] = {rc_tanh(g, x), rc_scale(g, x, -1.0f)};
    rc_node *y = rc_concat(g, pieces, 2, 0);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_peak_bytes(p), 2 * MIB);
    float *xv = rc_node_data(x);
    for (int64_t i = 0; i < n; i++) xv[i] = (float)(i % 5) - 2.0f;
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    const float *yv = rc_plan_f32(p, y);
    for (int64_t i = 0; i < n; i += 997) {
        cr_assert_float_eq(yv[i], tanhf(xv[i]), 1e-6);
        cr_assert_eq(yv[n + i], -xv[i]);
    }
    rc_plan_free(p);
    rc_graph_free(g);
}

/* Along an inner axis the pieces are interleaved, not blocks: copied. */
Test(plan_place, inner_axis_concat_is_copied) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 2));
    rc_node *pieces[2] = {rc_tanh(g, x), rc_scale(g, x, 2.0f)};
    rc_node *y = rc_concat(g, pieces, 2, 1);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    float v[4] = {1, -2, 0.5f, 3};
    rc_node_set(x, v);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    const float *yv = rc_plan_f32(p, y);
    float want[8] = {tanhf(1), tanhf(-2), 2, -4, tanhf(0.5f), tanhf(3), 1, 6};
    for (int i = 0; i < 8; i++) cr_assert_float_eq(yv[i], want[i], 1e-6);
    rc_plan_free(p);
    rc_graph_free(g);
}
