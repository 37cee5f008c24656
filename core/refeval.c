/* The reference evaluator: every needed node computed by its op's plain
 * double-precision kernel into its own buffer (no reuse, no views), leaves
 * read from the evaluator's own copies so they can be perturbed. It is the
 * oracle for the fast kernels and the engine of rc_gradcheck; clarity over
 * speed. */
#include <string.h>

#include "internal.h"
#include "recur/gradcheck.h"

struct rc_refeval {
    rc_graph *g;
    int nnodes;
    int *order; /* needed non-leaf nodes, side effects last */
    int norder;
    void **val; /* [nnodes]: double* or int32_t* per needed node */
    void **inbuf;
};

static void *leaf_copy(const rc_node *v) {
    int64_t numel = rc_shape_numel(v->shape);
    if (v->dtype == RC_I32) {
        int32_t *d = rc_malloc((size_t)numel * sizeof *d);
        if (d) memcpy(d, v->value->data, (size_t)numel * sizeof *d);
        return d;
    }
    double *d = rc_malloc((size_t)numel * sizeof *d);
    const float *s = v->value->data;
    if (d)
        for (int64_t i = 0; i < numel; i++) d[i] = s[i];
    return d;
}

rc_refeval *rc_refeval_new(rc_graph *g, rc_node *const *outputs, int n) {
    if (!g || g->status != RC_OK) return NULL;
    if (!outputs || n < 1)
        return (rc_refeval *)rc_graph_fail(g, RC_ERR_ARG, "rc_refeval_new: no outputs");
    for (int i = 0; i < n; i++)
        if (!outputs[i] || outputs[i]->graph != g)
            return (rc_refeval *)rc_graph_fail(g, RC_ERR_ARG, "rc_refeval_new: output %d is %s", i,
                                               outputs[i] ? "from another graph" : "NULL");
    int N = g->nnodes, maxin = 1;
    rc_refeval *r = rc_calloc(1, sizeof *r);
    unsigned char *needed = rc_calloc((size_t)N, 1);
    if (!r || !needed) goto nomem;
    r->g = g;
    r->nnodes = N;
    r->order = rc_malloc((size_t)N * sizeof *r->order);
    r->val = rc_calloc((size_t)N, sizeof *r->val);
    if (!r->order || !r->val) goto nomem;
    for (int i = 0; i < n; i++) needed[outputs[i]->id] = 1;
    for (int id = N - 1; id >= 0; id--)
        if (needed[id])
            for (int k = 0; k < g->nodes[id]->nin; k++) needed[g->nodes[id]->in[k]->id] = 1;
    for (int pass = 0; pass < 2; pass++)
        for (int id = 0; id < N; id++) {
            rc_node *v = g->nodes[id];
            if (!needed[id]) continue;
            if (v->nin > maxin) maxin = v->nin;
            if (v->op->flags & RC_OPF_LEAF) {
                if (pass == 0 && !(r->val[id] = leaf_copy(v))) goto nomem;
                continue;
            }
            if (((v->op->flags & RC_OPF_SIDE_EFFECT) != 0) != (pass == 1)) continue;
            if (!v->op->reference) {
                rc_graph_fail(g, RC_ERR_ARG, "rc_refeval_new: op %s has no reference kernel", v->op->name);
                goto fail;
            }
            size_t el = v->dtype == RC_I32 ? sizeof(int32_t) : sizeof(double);
            if (!(r->val[id] = rc_calloc((size_t)rc_shape_numel(v->shape), el))) goto nomem;
            r->order[r->norder++] = id;
        }
    r->inbuf = rc_calloc((size_t)maxin, sizeof *r->inbuf);
    if (!r->inbuf) goto nomem;
    rc_free(needed);
    return r;
nomem:
    rc_graph_fail(g, RC_ERR_NOMEM, "rc_refeval_new: out of memory");
fail:
    rc_free(needed);
    rc_refeval_free(r);
    return NULL;
}

void rc_refeval_free(rc_refeval *r) {
    if (!r) return;
    if (r->val)
        for (int i = 0; i < r->nnodes; i++) rc_free(r->val[i]);
    rc_free(r->val);
    rc_free(r->order);
    rc_free(r->inbuf);
    rc_free(r);
}

rc_status rc_refeval_run(rc_refeval *r, rc_error *err) {
    if (!r) return rc_error_set(err, RC_ERR_ARG, "rc_refeval_run", "evaluator is NULL");
    for (int s = 0; s < r->norder; s++) {
        rc_node *v = r->g->nodes[r->order[s]];
        for (int k = 0; k < v->nin; k++) r->inbuf[k] = r->val[v->in[k]->id];
        rc_status st = v->op->reference(v, r->val[v->id], r->inbuf, NULL);
        if (st != RC_OK) {
            char path[300];
            return rc_error_set(err, st, "rc_refeval_run", "%s at '%s': invalid input values (%s); run stopped",
                                v->op->name, rc_node_path(v, path, sizeof path), rc_status_str(st));
        }
    }
    return RC_OK;
}

const double *rc_refeval_f64(const rc_refeval *r, const rc_node *n) {
    if (!r || !n || n->graph != r->g || n->id >= r->nnodes || n->dtype != RC_F32) return NULL;
    return r->val[n->id];
}

const int32_t *rc_refeval_i32(const rc_refeval *r, const rc_node *n) {
    if (!r || !n || n->graph != r->g || n->id >= r->nnodes || n->dtype != RC_I32) return NULL;
    return r->val[n->id];
}

double *rc_refeval_leaf(rc_refeval *r, const rc_node *leaf) {
    if (!r || !leaf || leaf->graph != r->g || leaf->id >= r->nnodes) return NULL;
    if (!(leaf->op->flags & RC_OPF_LEAF) || leaf->dtype != RC_F32) return NULL;
    return r->val[leaf->id];
}
