/* The layer class's generic calls and the layer table. Adding a built-in
 * layer kind means writing its file (its object, its rc_layer_class) and
 * adding one row here; the model and the formats reach it through the
 * class. */
#include <string.h>

#include "recur/layer.h"

const rc_layer_class *const rc_layer_table[] = {
    &rc_rnn_class,     &rc_bidir_class,   &rc_dense_class, &rc_embedding_class,
    &rc_masking_class, &rc_dropout_class, &rc_note_class,
};

const int rc_layer_table_len = (int)(sizeof rc_layer_table / sizeof rc_layer_table[0]);

const rc_layer_class *rc_layer_class_find(const char *type) {
    for (int i = 0; type && i < rc_layer_table_len; i++)
        if (!strcmp(rc_layer_table[i]->type, type)) return rc_layer_table[i];
    return NULL;
}

void rc_layer_init(rc_layer *l, const rc_layer_class *cls, void *impl) {
    if (!l) return;
    l->cls = cls;
    l->impl = impl;
}

void rc_layer_free(rc_layer *l) {
    if (l && l->cls && l->cls->destroy) l->cls->destroy(l);
}

const char *rc_layer_type(const rc_layer *l) {
    if (!l || !l->cls) return "";
    return l->cls->type_of ? l->cls->type_of(l) : l->cls->type;
}

const char *rc_layer_name(const rc_layer *l) { return l && l->cls && l->cls->name ? l->cls->name(l) : ""; }

rc_status rc_layer_apply(rc_layer *l, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!g) return RC_ERR_ARG;
    if (!l || !l->cls || !l->cls->apply || !in || !out) {
        rc_graph_fail(g, RC_ERR_ARG, "rc_layer_apply: %s is NULL", !l || !l->cls || !l->cls->apply ? "layer" : !in ? "in" : "out");
        return RC_ERR_ARG;
    }
    rc_status st = l->cls->apply(l, g, in, out);
    if (st == RC_OK && (out->nout < 1 || !out->out[0])) st = rc_graph_status(g) != RC_OK ? rc_graph_status(g) : RC_ERR_ARG;
    if (st != RC_OK) {
        if (rc_graph_status(g) == RC_OK)
            rc_graph_fail(g, st, "layer '%s' (%s): %s", rc_layer_name(l), rc_layer_type(l), rc_status_str(st));
        memset(out, 0, sizeof *out);
    }
    return st;
}

int rc_layer_params(const rc_layer *l, rc_node **out, int max) {
    return l && l->cls && l->cls->params ? l->cls->params(l, out, max) : 0;
}

int64_t rc_layer_param_count(const rc_layer *l) {
    rc_node *p[RC_LAYER_MAX_PARAMS];
    int n = rc_layer_params(l, p, RC_LAYER_MAX_PARAMS);
    int64_t s = 0;
    for (int k = 0; k < n && k < RC_LAYER_MAX_PARAMS; k++) s += rc_node_numel(p[k]);
    return s;
}
