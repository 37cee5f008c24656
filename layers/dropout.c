/* Dropout layer (Keras Dropout(rate)): inverted dropout in training,
 * identity otherwise. The mask op draws a fresh mask at every plan run from
 * its own generator state, seeded here from the caller's rng. */
#include "recur/layers.h"
#include "recur/ops.h"

rc_node *rc_dropout(rc_graph *g, rc_node *x, double rate, bool training, rc_rng *rng) {
    if (!g) return NULL;
    if (!x) {
        if (rc_graph_status(g) != RC_OK) return NULL;
        return rc_graph_fail(g, RC_ERR_ARG, "dropout: input is NULL");
    }
    char a[RC_SHAPE_STRLEN];
    rc_shape xs = rc_node_shape(x);
    if (!(rate >= 0 && rate < 1))
        return rc_graph_fail(g, RC_ERR_ARG, "dropout: rate %g is outside [0, 1) (input %s)", rate,
                             rc_shape_str(xs, a, sizeof a));
    if (rc_node_dtype(x) != RC_F32)
        return rc_graph_fail(g, RC_ERR_ARG, "dropout: input must be float32, got %s %s",
                             rc_dtype_name(rc_node_dtype(x)), rc_shape_str(xs, a, sizeof a));
    if (!training || rate == 0) return x;
    rc_rng local;
    if (!rng) {
        rc_rng_seed(&local, 0);
        rng = &local;
    }
    if (!rc_scope_push(g, "dropout")) return NULL;
    rc_node *y = rc_mul(g, x, rc_dropout_mask(g, xs, rate, rc_rng_u64(rng)));
    rc_scope_pop(g);
    return y;
}
