/* Dropout layer (Keras Dropout(rate)): inverted dropout in training,
 * identity otherwise. The mask op draws a fresh mask at every plan run from
 * its own generator state, seeded here from the caller's rng. */
#include <stdio.h>
#include <string.h>

#include "recur/layer.h"
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

/* --- the layer class: a name and the rate around rc_dropout ------------------ */

typedef struct dropout_layer {
    rc_layer layer;
    char name[64];
    double rate;
} dropout_layer;

rc_layer *rc_dropout_layer_new(const char *name, double rate) {
    dropout_layer *d = rc_calloc(1, sizeof *d);
    if (!d) return NULL;
    rc_layer_init(&d->layer, &rc_dropout_class, d);
    snprintf(d->name, sizeof d->name, "%s", name && *name && !strchr(name, '/') ? name : "dropout");
    d->rate = rate;
    return &d->layer;
}

static const char *dropout_layer_name(const rc_layer *l) { return ((const dropout_layer *)l->impl)->name; }
static void dropout_layer_destroy(rc_layer *l) { rc_free(l->impl); }

/* Elementwise: the mask flows through. */
static rc_status dropout_layer_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    rc_node *y = rc_dropout(g, in->x, ((dropout_layer *)l->impl)->rate, in->training, in->rng);
    if (!y) return rc_graph_status(g);
    out->nout = 1;
    out->out[0] = y;
    out->mask[0] = in->mask;
    return RC_OK;
}

const rc_layer_class rc_dropout_class = {
    .type = "Dropout",
    .input_dtype = RC_F32,
    .name = dropout_layer_name,
    .apply = dropout_layer_apply,
    .destroy = dropout_layer_destroy,
};
