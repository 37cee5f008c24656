/* Dense: y = act(x · kernel + bias) over the last axis (Keras Dense).
 *
 * kernel (F, U) is glorot_uniform with fan_in = F, fan_out = U; bias (U)
 * starts at zero. A (B, T, F) input goes through rc_matmul's rank-3 case:
 * its leading axes are flattened, so every time step of every sequence is
 * one row of a single (B·T, F)·(F, U) GEMM, and the bias broadcasts over
 * (B, T, U). */
#include <stdio.h>
#include <string.h>

#include "recur/init.h"
#include "recur/layer.h"
#include "recur/layers.h"
#include "recur/ops.h"

struct rc_dense {
    rc_layer layer; /* the handle rc_dense_layer returns; impl = this */
    char name[64];
    int64_t units;
    rc_activation act;
    bool use_bias;
    bool built;
    int64_t input_size;
    rc_graph *graph;
    int nparams;
    rc_node *params[2]; /* kernel, bias */
};

rc_dense *rc_dense_new(const char *name, int64_t units, rc_activation act, bool use_bias) {
    rc_dense *d = rc_calloc(1, sizeof *d);
    if (!d) return NULL;
    snprintf(d->name, sizeof d->name, "%s", name && *name && !strchr(name, '/') ? name : "dense");
    rc_layer_init(&d->layer, &rc_dense_class, d);
    d->units = units;
    d->act = act;
    d->use_bias = use_bias;
    return d;
}

void rc_dense_free(rc_dense *d) { rc_free(d); }

const char *rc_dense_name(const rc_dense *d) { return d ? d->name : ""; }
int64_t rc_dense_units(const rc_dense *d) { return d ? d->units : 0; }
rc_activation rc_dense_activation(const rc_dense *d) { return d ? d->act : RC_ACT_LINEAR; }
bool rc_dense_built(const rc_dense *d) { return d && d->built; }
int64_t rc_dense_input_size(const rc_dense *d) { return d && d->built ? d->input_size : 0; }
int rc_dense_nparams(const rc_dense *d) { return d && d->built ? d->nparams : 0; }
rc_node *const *rc_dense_params(const rc_dense *d) { return d && d->built ? d->params : NULL; }

int64_t rc_dense_param_count(const rc_dense *d) {
    int64_t n = 0;
    for (int k = 0; k < rc_dense_nparams(d); k++) n += rc_node_numel(d->params[k]);
    return n;
}

static bool dense_build(rc_dense *d, rc_graph *g, int64_t F, rc_rng *rng) {
    rc_rng local;
    if (!rng) {
        rc_rng_seed(&local, 0);
        rng = &local;
    }
    rc_node *k = rc_param(g, "kernel", RC_SHAPE(F, d->units));
    rc_node *b = d->use_bias ? rc_param(g, "bias", RC_SHAPE(d->units)) : NULL;
    if (!k || (d->use_bias && !b)) return false;
    rc_init_glorot_uniform(rc_node_data(k), F, d->units, rng);
    /* the bias is zero-initialised by rc_param (Keras "zeros") */
    d->params[0] = k;
    d->params[1] = b;
    d->nparams = b ? 2 : 1;
    d->input_size = F;
    d->graph = g;
    d->built = true;
    return true;
}

rc_node *rc_dense_apply(rc_dense *d, rc_graph *g, rc_node *x, rc_rng *rng) {
    if (!g) return NULL;
    if (!d) return rc_graph_fail(g, RC_ERR_ARG, "dense: layer is NULL");
    if (!x) {
        if (rc_graph_status(g) != RC_OK) return NULL;
        return rc_graph_fail(g, RC_ERR_ARG, "dense '%s': input is NULL", d->name);
    }
    char a[RC_SHAPE_STRLEN];
    rc_shape xs = rc_node_shape(x);
    if (d->units < 1)
        return rc_graph_fail(g, RC_ERR_ARG, "dense '%s': units %lld must be >= 1 (input %s)", d->name,
                             (long long)d->units, rc_shape_str(xs, a, sizeof a));
    if (rc_node_dtype(x) != RC_F32 || xs.ndim < 2 || xs.ndim > 4)
        return rc_graph_fail(g, RC_ERR_SHAPE,
                             "dense '%s': input must be float32 (B, F) or (B, T, F) (rank 2 to 4), got %s %s",
                             d->name, rc_dtype_name(rc_node_dtype(x)), rc_shape_str(xs, a, sizeof a));
    int64_t F = xs.dim[xs.ndim - 1];
    if (d->built && d->graph != g)
        return rc_graph_fail(g, RC_ERR_STATE, "dense '%s': a layer is used with one graph only", d->name);
    if (d->built && F != d->input_size)
        return rc_graph_fail(g, RC_ERR_SHAPE,
                             "dense '%s': input %s has %lld features, the layer was built for %lld (kernel (%lld, %lld))",
                             d->name, rc_shape_str(xs, a, sizeof a), (long long)F, (long long)d->input_size,
                             (long long)d->input_size, (long long)d->units);
    if (!rc_scope_push(g, d->name)) return NULL;
    if (!d->built && !dense_build(d, g, F, rng)) {
        rc_scope_pop(g);
        return NULL;
    }
    rc_node *y = rc_matmul(g, x, d->params[0], false, false);
    if (d->use_bias) y = rc_add(g, y, d->params[1]);
    y = rc_activate(g, d->act, y);
    rc_scope_pop(g);
    return y;
}

rc_status rc_dense_set_weight(rc_dense *d, int k, rc_shape shape, const float *values) {
    if (!d) return RC_ERR_ARG;
    if (!d->built) return RC_ERR_STATE;
    rc_graph *g = d->graph;
    if (k < 0 || k >= d->nparams || !values) {
        rc_graph_fail(g, RC_ERR_ARG, "dense '%s': %s %d (it has %d weights)", d->name,
                      values ? "no weight" : "values are NULL for weight", k, d->nparams);
        return RC_ERR_ARG;
    }
    rc_node *p = d->params[k];
    if (!rc_shape_eq(shape, rc_node_shape(p))) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        rc_graph_fail(g, RC_ERR_SHAPE, "dense '%s': weight %d '%s' has shape %s, got %s", d->name, k,
                      rc_node_name(p), rc_shape_str(rc_node_shape(p), a, sizeof a), rc_shape_str(shape, b, sizeof b));
        return RC_ERR_SHAPE;
    }
    memcpy(rc_node_data(p), values, (size_t)rc_node_numel(p) * sizeof(float));
    return RC_OK;
}

/* --- the layer class ----------------------------------------------------------- */

rc_layer *rc_dense_layer(rc_dense *d) { return d ? &d->layer : NULL; }

static const char *dense_layer_name(const rc_layer *l) { return rc_dense_name(l->impl); }
static void dense_layer_destroy(rc_layer *l) { rc_dense_free(l->impl); }

static int dense_layer_params(const rc_layer *l, rc_node **out, int max) {
    const rc_dense *d = l->impl;
    int n = rc_dense_nparams(d);
    for (int k = 0; out && k < n && k < max; k++) out[k] = d->params[k];
    return n;
}

/* Per step on a sequence: the mask flows through unchanged (Keras). */
static rc_status dense_layer_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    rc_node *y = rc_dense_apply(l->impl, g, in->x, in->rng);
    if (!y) return rc_graph_status(g);
    out->nout = 1;
    out->out[0] = y;
    out->mask[0] = in->mask;
    return RC_OK;
}

const rc_layer_class rc_dense_class = {
    .type = "Dense",
    .input_dtype = RC_F32,
    .name = dense_layer_name,
    .apply = dense_layer_apply,
    .params = dense_layer_params,
    .destroy = dense_layer_destroy,
};
