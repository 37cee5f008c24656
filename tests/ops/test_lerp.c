/* lerp(w, a, b) = b + w (a - b): exact values, the float kernel against the
 * double reference, the gradient check, and shape errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"

Test(lerp, exact_values_at_the_ends_and_between) {
    rc_graph *g = rc_graph_new();
    rc_node *w = rc_const(g, RC_SHAPE(4), (float[]){0, 1, 0.5f, 0.25f});
    rc_node *a = rc_const(g, RC_SHAPE(4), (float[]){3, 3, 4, 8});
    rc_node *b = rc_const(g, RC_SHAPE(4), (float[]){-1, -1, 2, 0});
    float out[4], want[4] = {-1, 3, 3, 2};
    tu_eval(g, rc_lerp(g, w, a, b), out);
    for (int i = 0; i < 4; i++) cr_assert_eq(out[i], want[i], "element %d: %g", i, out[i]);
    rc_graph_free(g);
}

Test(lerp, float32_kernel_matches_reference) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 11);
    rc_node *w = tu_param(g, "w", RC_SHAPE(5, 7), &r, 0, 1), *a = tu_param(g, "a", RC_SHAPE(5, 7), &r, -2, 2),
            *b = tu_param(g, "b", RC_SHAPE(5, 7), &r, -2, 2);
    /* |b + w (a - b)| < 6: three roundings of values below 8 */
    tu_check_forward(g, rc_lerp(g, w, a, b), 3 * 8.0 / (1 << 24), 0);
    rc_graph_free(g);
}

Test(lerp, gradients_pass_the_gradient_check) {
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 12);
    rc_node *w = tu_param(g, "w", RC_SHAPE(3, 4), &r, 0, 1), *a = tu_param(g, "a", RC_SHAPE(3, 4), &r, -1, 1),
            *b = tu_param(g, "b", RC_SHAPE(3, 4), &r, -1, 1);
    rc_node *loss = tu_weighted_sum(g, rc_lerp(g, w, a, b), &r);
    tu_check_gradients(g, loss, (rc_node *[]){w, a, b}, 3, 0, 0);
    rc_graph_free(g);
}

Test(lerp, shapes_must_match_and_the_message_names_them) {
    rc_graph *g = rc_graph_new();
    rc_node *w = rc_input(g, "w", RC_F32, RC_SHAPE(2, 3)), *a = rc_input(g, "a", RC_F32, RC_SHAPE(2, 3)),
            *b = rc_input(g, "b", RC_F32, RC_SHAPE(3));
    cr_assert_null(rc_lerp(g, w, a, b));
    const char *e = rc_graph_error(g);
    cr_assert(strstr(e, "lerp") && strstr(e, "(2, 3)") && strstr(e, "(3)"), "%s", e);
    rc_graph_free(g);
}
