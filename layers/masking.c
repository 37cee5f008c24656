/* Masking (Keras Masking(mask_value)):
 *   mask = any(x != mask_value, axis=-1)   float 0/1, x's shape without its last axis
 *   y    = x * mask[..., None]             masked steps become zeros
 *
 * Built from existing ops, with no comparison op: where(c, 1, 0) is the
 * indicator c != 0, and in IEEE arithmetic (with subnormals) x - v == 0
 * exactly when x == v for finite v (a NaN x gives NaN != 0, "different", as
 * Keras). So
 *   ne   = where(x - v, 1, 0)          elementwise x != v
 *   mask = where(sum(ne, -1), 1, 0)    any over the last axis
 * The conditions of where carry no gradient, so the mask is a constant to
 * autodiff and dy/dx = mask, as in Keras. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "recur/layer.h"
#include "recur/layers.h"
#include "recur/ops.h"

rc_node *rc_masking(rc_graph *g, rc_node *x, double mask_value, rc_node **mask_out) {
    if (mask_out) *mask_out = NULL;
    if (!g) return NULL;
    if (!x) {
        if (rc_graph_status(g) != RC_OK) return NULL;
        return rc_graph_fail(g, RC_ERR_ARG, "masking: input is NULL");
    }
    char a[RC_SHAPE_STRLEN];
    rc_shape xs = rc_node_shape(x);
    if (rc_node_dtype(x) != RC_F32 || xs.ndim < 2)
        return rc_graph_fail(g, RC_ERR_SHAPE, "masking: input must be float32 (B, T, F) (rank 2 to 4), got %s %s",
                             rc_dtype_name(rc_node_dtype(x)), rc_shape_str(xs, a, sizeof a));
    if (isinf(mask_value))
        return rc_graph_fail(g, RC_ERR_ARG, "masking: mask_value %g is not supported (input %s): it must be finite or NaN",
                             mask_value, rc_shape_str(xs, a, sizeof a));
    /* the comparison happens in the input's dtype, as Keras casts mask_value */
    double v = (double)(float)mask_value;
    if (!rc_scope_push(g, "masking")) return NULL;
    rc_node *one = rc_fill(g, RC_SCALAR, 1.0f), *zero = rc_fill(g, RC_SCALAR, 0.0f);
    rc_node *ne = rc_where(g, rc_add_scalar(g, x, -v), one, zero);
    rc_node *mask = rc_where(g, rc_sum(g, ne, -1, false), one, zero);
    if (mask) rc_node_rename(mask, "mask");
    rc_shape ks = xs;
    ks.dim[ks.ndim - 1] = 1;
    rc_node *y = rc_mul(g, x, rc_reshape(g, mask, ks));
    rc_scope_pop(g);
    if (!y) return NULL;
    if (mask_out) *mask_out = mask;
    return y;
}

/* --- the layer class: a name and the mask value around rc_masking ----------- */

typedef struct masking_layer {
    rc_layer layer;
    char name[64];
    double mask_value;
} masking_layer;

rc_layer *rc_masking_layer_new(const char *name, double mask_value) {
    masking_layer *k = rc_calloc(1, sizeof *k);
    if (!k) return NULL;
    rc_layer_init(&k->layer, &rc_masking_class, k);
    snprintf(k->name, sizeof k->name, "%s", name && *name && !strchr(name, '/') ? name : "masking");
    k->mask_value = mask_value;
    return &k->layer;
}

static const char *masking_layer_name(const rc_layer *l) { return ((const masking_layer *)l->impl)->name; }
static void masking_layer_destroy(rc_layer *l) { rc_free(l->impl); }

/* The mask it makes replaces any mask flowing in (Keras). */
static rc_status masking_layer_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    rc_node *mask = NULL, *y = rc_masking(g, in->x, ((masking_layer *)l->impl)->mask_value, &mask);
    if (!y) return rc_graph_status(g);
    out->nout = 1;
    out->out[0] = y;
    out->mask[0] = mask;
    return RC_OK;
}

const rc_layer_class rc_masking_class = {
    .type = "Masking",
    .input_dtype = RC_F32,
    .name = masking_layer_name,
    .apply = masking_layer_apply,
    .destroy = masking_layer_destroy,
};
