/* Reverse-mode autodiff that appends gradient nodes to the graph.
 *
 * For y = f(x) and a seed dy, every node v that y depends on and that
 * depends on some wrt node gets dv = sum over its consumers c of the
 * contribution c's gradient builder emits for that input. Node ids are a
 * topological order, so one sweep from y's id down to 0 sees every consumer
 * of v before v itself. Contributions are summed with one add_n per node.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "recur/autodiff.h"

typedef struct contribs {
    rc_node **v;
    int n, cap;
} contribs;

static bool push_contrib(contribs *c, rc_node *x) {
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 2;
        rc_node **v = rc_realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) return false;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = x;
    return true;
}

/* Sum a node's gradient contributions. Contributions made by an op with an
 * accumulate hook are offered to it in groups (one group per op); what it
 * combines replaces the group, the rest is summed with add_n. The result is
 * the same sum; only the cost differs (memory linear in T, not quadratic,
 * for the slices an unrolled RNN takes of its projected inputs). */
static rc_node *accumulate(rc_graph *g, rc_node **c, int n) {
    if (n < 2) return n == 1 ? c[0] : NULL;
    rc_node *small[16], **rest = n <= 16 ? small : rc_malloc((size_t)n * sizeof *rest);
    rc_node *gsmall[16], **group = n <= 16 ? gsmall : rc_malloc((size_t)n * sizeof *group);
    if (!rest || !group) {
        if (rest != small) rc_free(rest);
        if (group != gsmall) rc_free(group);
        return rc_graph_fail(g, RC_ERR_NOMEM, "rc_gradients: out of memory");
    }
    int nrest = 0;
    bool *used = rc_calloc((size_t)n, sizeof *used);
    if (!used) {
        if (rest != small) rc_free(rest);
        if (group != gsmall) rc_free(group);
        return rc_graph_fail(g, RC_ERR_NOMEM, "rc_gradients: out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (used[i]) continue;
        const rc_op *op = c[i]->op;
        int ng = 0;
        if (op->accumulate)
            for (int j = i; j < n; j++)
                if (!used[j] && c[j]->op == op) group[ng++] = c[j], used[j] = true;
        rc_node *sum = ng >= 2 ? op->accumulate(g, group, ng) : NULL;
        if (sum) rest[nrest++] = sum;
        else if (ng >= 2)
            for (int k = 0; k < ng; k++) rest[nrest++] = group[k];
        else {
            used[i] = true;
            rest[nrest++] = c[i];
        }
    }
    rc_node *r = rc_add_n(g, rest, nrest);
    rc_free(used);
    if (rest != small) rc_free(rest);
    if (group != gsmall) rc_free(group);
    return r;
}

static int by_id(const void *a, const void *b) {
    int x = (*(rc_node *const *)a)->id, y = (*(rc_node *const *)b)->id;
    return (x > y) - (x < y);
}

rc_node *rc_running_sum(rc_graph *g, rc_node *const *c, int n) {
    if (!g || !c || n < 1) return NULL;
    for (int k = 0; k < n; k++)
        if (!c[k] || c[k]->graph != g) return NULL;
    rc_node **v = rc_malloc((size_t)n * sizeof *v), *r = NULL;
    if (!v) return rc_graph_fail(g, RC_ERR_NOMEM, "rc_running_sum: out of memory");
    memcpy(v, c, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, by_id); /* the order backward makes them in */
    bool same = true;
    for (int k = 1; k < n && same; k++) same = rc_shape_eq(v[k]->shape, v[0]->shape) && v[k]->dtype == v[0]->dtype;
    int anchor = g->anchor; /* the caller's, restored after */
    for (int k = 0; k < n && same; k++) {
        rc_graph_schedule_after(g, v[k]);
        r = k == 0 ? v[0] : rc_add_n(g, (rc_node *[]){r, v[k]}, 2);
        if (!r) break;
    }
    g->anchor = anchor;
    rc_free(v);
    return r;
}

static rc_status fail_all(rc_graph *g, rc_node **grads, int n, rc_status s) {
    for (int i = 0; grads && i < n; i++) grads[i] = NULL;
    return g ? (g->status != RC_OK ? g->status : s) : s;
}

rc_status rc_vjp(rc_graph *g, rc_node *y, rc_node *seed, rc_node *const *wrt, int n,
                 rc_node **grads) {
    if (!g) return RC_ERR_ARG;
    if (!grads || (n > 0 && !wrt) || n < 0) {
        rc_graph_fail(g, RC_ERR_ARG, "rc_gradients: %s", !grads ? "grads array is NULL"
                                                         : n < 0 ? "negative count"
                                                                 : "wrt array is NULL");
        return fail_all(g, grads, n, RC_ERR_ARG);
    }
    if (!y || !seed) {
        if (g->status == RC_OK)
            rc_graph_fail(g, RC_ERR_ARG, "rc_gradients: %s is NULL", !y ? "loss" : "seed");
        return fail_all(g, grads, n, RC_ERR_ARG);
    }
    for (int i = 0; i < n; i++) {
        if (!wrt[i]) {
            if (g->status == RC_OK) rc_graph_fail(g, RC_ERR_ARG, "rc_gradients: wrt[%d] is NULL", i);
            return fail_all(g, grads, n, RC_ERR_ARG);
        }
        if (wrt[i]->graph != g || wrt[i]->dtype != RC_F32) {
            rc_graph_fail(g, RC_ERR_ARG, "rc_gradients: wrt[%d] '%s' %s", i, wrt[i]->name,
                          wrt[i]->graph != g ? "belongs to another graph"
                                             : "is int32 and has no gradient");
            return fail_all(g, grads, n, RC_ERR_ARG);
        }
    }
    if (y->graph != g || seed->graph != g) {
        rc_graph_fail(g, RC_ERR_ARG, "rc_gradients: loss or seed belongs to another graph");
        return fail_all(g, grads, n, RC_ERR_ARG);
    }
    if (y->dtype != RC_F32 || seed->dtype != RC_F32 || !rc_shape_eq(y->shape, seed->shape)) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        rc_graph_fail(g, RC_ERR_SHAPE, "rc_vjp: seed %s %s does not match output '%s' %s %s",
                      rc_dtype_name(seed->dtype), rc_shape_str(seed->shape, a, sizeof a), y->name,
                      rc_dtype_name(y->dtype), rc_shape_str(y->shape, b, sizeof b));
        return fail_all(g, grads, n, RC_ERR_SHAPE);
    }
    if (g->status != RC_OK) return fail_all(g, grads, n, g->status);

    int top = y->id + 1;
    /* needed[v]: y depends on v. reaches[v]: v depends on some wrt node. */
    unsigned char *flags = rc_calloc((size_t)top, 1);
    contribs *acc = rc_calloc((size_t)top, sizeof *acc);
    rc_node **total = rc_calloc((size_t)top, sizeof *total);
    rc_status st = RC_OK;
    if (!flags || !acc || !total) {
        st = RC_ERR_NOMEM;
        rc_graph_fail(g, st, "rc_gradients: out of memory");
        goto done;
    }
    enum { NEEDED = 1, REACHES = 2 };
    flags[y->id] |= NEEDED;
    for (int id = top - 1; id >= 0; id--) {
        rc_node *v = g->nodes[id];
        if (!(flags[id] & NEEDED)) continue;
        for (int k = 0; k < v->nin; k++) flags[v->in[k]->id] |= NEEDED;
    }
    for (int i = 0; i < n; i++)
        if (wrt[i]->id < top) flags[wrt[i]->id] |= REACHES;
    for (int id = 0; id < top; id++) {
        rc_node *v = g->nodes[id];
        if (v->dtype != RC_F32) {
            flags[id] &= (unsigned char)~REACHES;
            continue;
        }
        for (int k = 0; k < v->nin; k++)
            if (flags[v->in[k]->id] & REACHES) flags[id] |= REACHES;
    }

    if (!push_contrib(&acc[y->id], seed)) {
        st = RC_ERR_NOMEM;
        rc_graph_fail(g, st, "rc_gradients: out of memory");
        goto done;
    }
    rc_node *dx_small[8];
    for (int id = top - 1; id >= 0 && st == RC_OK; id--) {
        rc_node *v = g->nodes[id];
        if ((flags[id] & (NEEDED | REACHES)) != (NEEDED | REACHES) || acc[id].n == 0) continue;
        g->grad_scope = v->scope;
        rc_node *dv = accumulate(g, acc[id].v, acc[id].n);
        total[id] = dv;
        if (dv && !v->op->grad) {
            /* An op without a gradient builder on a path to wrt (e.g. the
             * fused lstm_cell_grad when differentiating twice) must not be
             * taken as constant: that would be a silently wrong gradient. */
            for (int k = 0; k < v->nin; k++) {
                if (!(flags[v->in[k]->id] & REACHES) || v->in[k]->dtype != RC_F32) continue;
                char path[256];
                st = RC_ERR_ARG;
                rc_graph_fail(g, st, "rc_gradients: op %s ('%s') has no gradient, and it lies between the loss and "
                              "a variable being differentiated", v->op->name, rc_node_path(v, path, sizeof path));
                break;
            }
        }
        if (!dv || !v->op->grad || v->nin == 0 || st != RC_OK) {
            g->grad_scope = NULL;
            if (!dv) st = g->status;
            continue;
        }
        rc_node **dx = v->nin <= 8 ? dx_small : rc_calloc((size_t)v->nin, sizeof *dx);
        if (!dx) {
            st = RC_ERR_NOMEM;
            rc_graph_fail(g, st, "rc_gradients: out of memory");
            break;
        }
        memset(dx, 0, (size_t)v->nin * sizeof *dx);
        v->op->grad(g, v, dv, dx);
        g->grad_scope = NULL;
        if (g->status != RC_OK) st = g->status;
        for (int k = 0; k < v->nin && st == RC_OK; k++) {
            rc_node *x = v->in[k];
            if (!dx[k] || !(flags[x->id] & REACHES)) continue;
            if (!rc_shape_eq(dx[k]->shape, x->shape)) {
                char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
                st = RC_ERR_SHAPE;
                rc_graph_fail(g, st, "rc_gradients: gradient of %s for input %d has shape %s, input has %s",
                              v->op->name, k, rc_shape_str(dx[k]->shape, a, sizeof a),
                              rc_shape_str(x->shape, b, sizeof b));
            } else if (!push_contrib(&acc[x->id], dx[k])) {
                st = RC_ERR_NOMEM;
                rc_graph_fail(g, st, "rc_gradients: out of memory");
            }
        }
        if (dx != dx_small) rc_free(dx);
    }
    g->grad_scope = NULL;
    if (st == RC_OK) {
        for (int i = 0; i < n; i++) {
            rc_node *w = wrt[i];
            grads[i] = w->id < top ? total[w->id] : NULL;
            if (!grads[i]) {
                /* loss does not depend on w: its gradient is zero */
                g->grad_scope = w->scope;
                grads[i] = rc_fill(g, w->shape, 0.0f);
                g->grad_scope = NULL;
                if (!grads[i]) {
                    st = g->status;
                    break;
                }
            }
        }
    }
    /* the records come last, so a failure leaves none behind */
    if (st == RC_OK && g->ngrad_rec + n > g->grad_rec_cap) {
        int cap = g->grad_rec_cap ? g->grad_rec_cap : 8;
        while (cap < g->ngrad_rec + n) cap *= 2;
        int(*r)[3] = rc_realloc(g->grad_rec, (size_t)cap * sizeof *r);
        if (!r) {
            st = RC_ERR_NOMEM;
            rc_graph_fail(g, st, "rc_gradients: out of memory");
        } else {
            g->grad_rec = r;
            g->grad_rec_cap = cap;
        }
    }
    for (int i = 0; st == RC_OK && i < n; i++) {
        int *r = g->grad_rec[g->ngrad_rec++];
        r[0] = y->id;
        r[1] = wrt[i]->id;
        r[2] = grads[i]->id;
    }
done:
    if (acc)
        for (int id = 0; id < top; id++) rc_free(acc[id].v);
    rc_free(acc);
    rc_free(total);
    rc_free(flags);
    if (st != RC_OK) return fail_all(g, grads, n, st);
    return RC_OK;
}

int rc_graph_gradients(const rc_graph *g, rc_gradient_record *out, int max) {
    if (!g) return 0;
    for (int i = 0; out && i < g->ngrad_rec && i < max; i++)
        out[i] = (rc_gradient_record){g->nodes[g->grad_rec[i][0]], g->nodes[g->grad_rec[i][1]],
                                      g->nodes[g->grad_rec[i][2]]};
    return g->ngrad_rec;
}

rc_status rc_gradients(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n, rc_node **grads) {
    if (!g) return RC_ERR_ARG;
    if (loss && loss->graph == g && (loss->dtype != RC_F32 || rc_shape_numel(loss->shape) != 1)) {
        char s[RC_SHAPE_STRLEN];
        rc_graph_fail(g, RC_ERR_SHAPE,
                      "rc_gradients: loss '%s' must be a float32 scalar, got %s %s (reduce it with "
                      "rc_sum or rc_mean, or use rc_vjp)",
                      loss->name, rc_dtype_name(loss->dtype), rc_shape_str(loss->shape, s, sizeof s));
        return fail_all(g, grads, n, RC_ERR_SHAPE);
    }
    rc_node *seed = NULL;
    if (loss && loss->graph == g && g->status == RC_OK) {
        g->grad_scope = loss->scope;
        seed = rc_fill(g, loss->shape, 1.0f);
        g->grad_scope = NULL;
    }
    return rc_vjp(g, loss, seed, wrt, n, grads);
}
