/* dropout_mask and assign. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

Test(dropout_mask, first_run_matches_the_reference_then_redraws) {
    rc_graph *g = rc_graph_new();
    rc_node *m = rc_dropout_mask(g, RC_SHAPE(64, 64), 0.25, 42);
    rc_refeval *r = rc_refeval_new(g, &m, 1);
    cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
    rc_plan *p = rc_plan_new(g, &m, 1);
    rc_plan_run(p, NULL);
    float first[64 * 64];
    memcpy(first, rc_plan_f32(p, m), sizeof first);
    /* the same xoshiro draws; 1/0.75 rounded to float */
    for (int i = 0; i < 64 * 64; i++) cr_assert_float_eq(first[i], rc_refeval_f64(r, m)[i], 1e-7);
    rc_refeval_free(r);
    rc_plan_run(p, NULL);
    int same = 0;
    for (int i = 0; i < 64 * 64; i++) same += first[i] == rc_plan_f32(p, m)[i];
    /* two independent masks agree on p^2 + q^2 = 62.5% of entries; 100% means no redraw */
    cr_assert_lt(same, 64 * 64 * 0.7, "the second run drew the same mask");
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(dropout_mask, keeps_the_mean_and_drops_at_the_rate) {
    rc_graph *g = rc_graph_new();
    const int n = 1 << 16;
    rc_node *m = rc_dropout_mask(g, RC_SHAPE(n), 0.3, 7);
    rc_plan *p = rc_plan_new(g, &m, 1);
    rc_plan_run(p, NULL);
    const float *v = rc_plan_f32(p, m);
    double sum = 0;
    int zeros = 0;
    for (int i = 0; i < n; i++) {
        cr_assert(v[i] == 0.0f || fabsf(v[i] - 1.0f / 0.7f) < 1e-6f);
        sum += v[i];
        zeros += v[i] == 0.0f;
    }
    /* binomial: sd of the zero fraction is sqrt(.3*.7/n) = 0.0018; 5 sd */
    cr_assert_float_eq((double)zeros / n, 0.3, 0.009);
    cr_assert_float_eq(sum / n, 1.0, 0.02);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(dropout_mask, rate_outside_zero_one_is_an_error) {
    rc_graph *g = rc_graph_new();
    cr_assert_null(rc_dropout_mask(g, RC_SHAPE(3), 1.0, 1));
    cr_assert(strstr(rc_graph_error(g), "rate 1 is outside [0, 1)"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(assign, copies_into_the_target_after_every_reader) {
    rc_graph *g = rc_graph_new();
    rc_node *s = rc_input(g, "state", RC_F32, RC_SHAPE(3));
    rc_node_set(s, (float[]){1, 2, 3});
    rc_node *next = rc_scale(g, s, 2.0);
    rc_node *sum = rc_sum(g, s, RC_ALL_AXES, false);
    rc_node *outs[2] = {sum, rc_assign(g, s, next)};
    rc_plan *p = rc_plan_new(g, outs, 2);
    cr_assert(p, "%s", rc_graph_error(g));
    rc_plan_run(p, NULL);
    cr_assert_eq(rc_plan_f32(p, sum)[0], 6.0f, "readers see the value before the assignment");
    cr_assert_eq(((float *)rc_node_data(s))[2], 6.0f);
    rc_plan_run(p, NULL);
    cr_assert_eq(rc_plan_f32(p, sum)[0], 12.0f);
    cr_assert_eq(((float *)rc_node_data(s))[2], 12.0f);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(assign, target_must_be_a_leaf_of_the_same_shape) {
    rc_graph *g = rc_graph_new();
    rc_node *s = rc_input(g, "state", RC_F32, RC_SHAPE(3));
    rc_node *t = rc_tanh(g, s);
    cr_assert_null(rc_assign(g, t, s));
    cr_assert(strstr(rc_graph_error(g), "is not an input or parameter"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_assign(g, s, rc_fill(g, RC_SHAPE(4), 0.0f)));
    cr_assert(strstr(rc_graph_error(g), "value float32 (4) does not match target 'state' float32 (3)"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}
