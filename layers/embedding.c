/* Embedding: y = embeddings[ids] (Keras Embedding), through rc_gather, whose
 * gradient w.r.t. the table is rc_scatter_add.
 *
 * mask_zero: the mask (ids != 0) is built without a comparison op, as a
 * second gather from a constant (V, 1) table holding 0 in row 0 and 1 in
 * every other row, reshaped to the ids' shape. An out-of-range id already
 * fails the run through the embeddings gather (and gives mask 0). */
#include <stdio.h>
#include <string.h>

#include "recur/init.h"
#include "recur/layer.h"
#include "recur/layers.h"
#include "recur/ops.h"

struct rc_embedding {
    rc_layer layer; /* the handle rc_embedding_layer returns; impl = this */
    char name[64];
    int64_t input_dim, output_dim;
    bool mask_zero;
    bool built;
    rc_graph *graph;
    rc_node *params[1];   /* embeddings (V, D) */
    rc_node *mask_table;  /* (V, 1) constant, with mask_zero */
};

rc_embedding *rc_embedding_new(const char *name, int64_t input_dim, int64_t output_dim, bool mask_zero) {
    rc_embedding *e = rc_calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->name, sizeof e->name, "%s", name && *name && !strchr(name, '/') ? name : "embedding");
    rc_layer_init(&e->layer, &rc_embedding_class, e);
    e->input_dim = input_dim;
    e->output_dim = output_dim;
    e->mask_zero = mask_zero;
    return e;
}

void rc_embedding_free(rc_embedding *e) { rc_free(e); }

const char *rc_embedding_name(const rc_embedding *e) { return e ? e->name : ""; }
int64_t rc_embedding_input_dim(const rc_embedding *e) { return e ? e->input_dim : 0; }
int64_t rc_embedding_output_dim(const rc_embedding *e) { return e ? e->output_dim : 0; }
bool rc_embedding_mask_zero(const rc_embedding *e) { return e && e->mask_zero; }
bool rc_embedding_built(const rc_embedding *e) { return e && e->built; }
int rc_embedding_nparams(const rc_embedding *e) { return e && e->built ? 1 : 0; }
rc_node *const *rc_embedding_params(const rc_embedding *e) { return e && e->built ? e->params : NULL; }
int64_t rc_embedding_param_count(const rc_embedding *e) {
    return e && e->built ? rc_node_numel(e->params[0]) : 0;
}

static bool embedding_build(rc_embedding *e, rc_graph *g, rc_rng *rng) {
    rc_rng local;
    if (!rng) {
        rc_rng_seed(&local, 0);
        rng = &local;
    }
    int64_t V = e->input_dim, D = e->output_dim;
    rc_node *w = rc_param(g, "embeddings", RC_SHAPE(V, D));
    if (!w) return false;
    rc_init_uniform(rc_node_data(w), V * D, -0.05f, 0.05f, rng);
    rc_node *mt = NULL;
    if (e->mask_zero) {
        if (!(mt = rc_const(g, RC_SHAPE(V, 1), NULL))) return false;
        rc_node_rename(mt, "mask_table");
        float *m = rc_node_data(mt);
        for (int64_t v = 1; v < V; v++) m[v] = 1.0f; /* row 0 stays 0 */
    }
    e->params[0] = w;
    e->mask_table = mt;
    e->graph = g;
    e->built = true;
    return true;
}

rc_node *rc_embedding_apply(rc_embedding *e, rc_graph *g, rc_node *ids, rc_rng *rng, rc_node **mask_out) {
    if (mask_out) *mask_out = NULL;
    if (!g) return NULL;
    if (!e) return rc_graph_fail(g, RC_ERR_ARG, "embedding: layer is NULL");
    if (!ids) {
        if (rc_graph_status(g) != RC_OK) return NULL;
        return rc_graph_fail(g, RC_ERR_ARG, "embedding '%s': input is NULL", e->name);
    }
    char a[RC_SHAPE_STRLEN];
    rc_shape is = rc_node_shape(ids);
    if (e->input_dim < 1 || e->output_dim < 1)
        return rc_graph_fail(g, RC_ERR_ARG,
                             "embedding '%s': input_dim (vocabulary) %lld and output_dim %lld must be >= 1 (ids %s)",
                             e->name, (long long)e->input_dim, (long long)e->output_dim,
                             rc_shape_str(is, a, sizeof a));
    if (rc_node_dtype(ids) != RC_I32 || is.ndim < 1 || is.ndim > 3)
        return rc_graph_fail(g, RC_ERR_SHAPE,
                             "embedding '%s': ids must be int32 (B, T) (rank 1 to 3), got %s %s", e->name,
                             rc_dtype_name(rc_node_dtype(ids)), rc_shape_str(is, a, sizeof a));
    if (e->built && e->graph != g)
        return rc_graph_fail(g, RC_ERR_STATE, "embedding '%s': a layer is used with one graph only", e->name);
    if (!rc_scope_push(g, e->name)) return NULL;
    if (!e->built && !embedding_build(e, g, rng)) {
        rc_scope_pop(g);
        return NULL;
    }
    rc_node *y = rc_gather(g, e->params[0], ids);
    rc_node *mask = NULL;
    if (e->mask_zero) {
        mask = rc_reshape(g, rc_gather(g, e->mask_table, ids), is);
        if (mask) rc_node_rename(mask, "mask");
    }
    rc_scope_pop(g);
    if (!y || (e->mask_zero && !mask)) return NULL;
    if (mask_out) *mask_out = mask;
    return y;
}

rc_status rc_embedding_set_weight(rc_embedding *e, int k, rc_shape shape, const float *values) {
    if (!e) return RC_ERR_ARG;
    if (!e->built) return RC_ERR_STATE;
    rc_graph *g = e->graph;
    if (k != 0 || !values) {
        rc_graph_fail(g, RC_ERR_ARG, "embedding '%s': %s %d (it has 1 weight)", e->name,
                      values ? "no weight" : "values are NULL for weight", k);
        return RC_ERR_ARG;
    }
    rc_node *p = e->params[0];
    if (!rc_shape_eq(shape, rc_node_shape(p))) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        rc_graph_fail(g, RC_ERR_SHAPE, "embedding '%s': weight 0 'embeddings' has shape %s, got %s", e->name,
                      rc_shape_str(rc_node_shape(p), a, sizeof a), rc_shape_str(shape, b, sizeof b));
        return RC_ERR_SHAPE;
    }
    memcpy(rc_node_data(p), values, (size_t)rc_node_numel(p) * sizeof(float));
    return RC_OK;
}

/* --- the layer class ----------------------------------------------------------- */

rc_layer *rc_embedding_layer(rc_embedding *e) { return e ? &e->layer : NULL; }

static const char *embedding_layer_name(const rc_layer *l) { return rc_embedding_name(l->impl); }
static void embedding_layer_destroy(rc_layer *l) { rc_embedding_free(l->impl); }

static int embedding_layer_params(const rc_layer *l, rc_node **out, int max) {
    const rc_embedding *e = l->impl;
    if (!e->built) return 0;
    if (out && max > 0) out[0] = e->params[0];
    return 1;
}

/* The mask it makes (mask_zero) replaces any mask flowing in. */
static rc_status embedding_layer_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    rc_node *mask = NULL, *y = rc_embedding_apply(l->impl, g, in->x, in->rng, &mask);
    if (!y) return rc_graph_status(g);
    out->nout = 1;
    out->out[0] = y;
    out->mask[0] = mask;
    return RC_OK;
}

const rc_layer_class rc_embedding_class = {
    .type = "Embedding",
    .input_dtype = RC_I32,
    .name = embedding_layer_name,
    .apply = embedding_layer_apply,
    .params = embedding_layer_params,
    .destroy = embedding_layer_destroy,
};
