/* Step-level fusion (include/recur/fuse.h): the one place that decides
 * whether a recurrent step's gate math runs as the fused lstm_cell or
 * gru_cell op. Patterns are matched by op identity (n->op == &rc_op_...)
 * and attributes, never by names, so renaming or rescoping a node changes
 * nothing, and tests/layers/test_fusion.c fails when a cell's step stops
 * matching (one fused kernel per step in the training plan).
 *
 * Why after the step rather than inside the cells: a user cell written from
 * ops gets the fused kernels (one pass over memory forward and backward,
 * instead of ~15 and ~25 elementwise nodes for an LSTM step) without knowing
 * they exist, and the built-in cells reach them the same way, so the two
 * cannot drift apart. */
#include "ops_list.h"
#include "recur/fuse.h"
#include "recur/op.h"
#include "recur/ops.h"

static bool is(const rc_node *n, const rc_op *op) { return n && n->op == op; }

/* x when n = slice(x, axis 1, [b, e)) with x 2-D float32, else NULL. */
static rc_node *block_of(rc_node *n, int64_t b, int64_t e) {
    if (!is(n, &rc_op_slice)) return NULL;
    rc_node *x = n->in[0];
    int64_t axis = n->attr.i[0];
    if (x->shape.ndim != 2 || x->dtype != RC_F32 || !rc_axis_norm(&axis, 2) || axis != 1 || n->attr.i[1] != b ||
        n->attr.i[2] != e)
        return NULL;
    return x;
}

/* z when n = act(slice(z, axis 1, [b, e))), else NULL. */
static rc_node *gate_of(rc_node *n, const rc_op *act, int64_t b, int64_t e) {
    return is(n, act) ? block_of(n->in[0], b, e) : NULL;
}

static bool shaped(const rc_node *n, int64_t B, int64_t C) {
    return n->dtype == RC_F32 && rc_shape_eq(n->shape, RC_SHAPE(B, C));
}

/* Plane k of a fused S (P, B, U) as (B, U), a view; named as `was` when
 * that node carries a name of its own (the built-in cells' "h" and "c"). */
static rc_node *plane(rc_graph *g, rc_node *S, int64_t k, const rc_node *was) {
    rc_node *v = rc_reshape(g, rc_slice(g, S, 0, k, k + 1), RC_SHAPE(S->shape.dim[1], S->shape.dim[2]));
    if (v && was->named) rc_node_rename(v, was->name);
    return v;
}

static void replace(rc_node **out, int n, const rc_node *old, rc_node *by) {
    for (int k = 0; k < n; k++)
        if (out[k] == old) out[k] = by;
}

static bool among(rc_node *const *out, int n, const rc_node *v) {
    for (int k = 0; k < n; k++)
        if (out[k] == v) return true;
    return false;
}

/* --- LSTM: h' = o tanh(c'), c' = f c + i g ----------------------------------- */

static bool fuse_lstm(rc_graph *g, rc_node **out, int n, rc_node *hn) {
    if (!is(hn, &rc_op_mul) || hn->shape.ndim != 2) return false;
    const int64_t B = hn->shape.dim[0], U = hn->shape.dim[1];
    for (int ord = 0; ord < 2; ord++) {
        rc_node *o = hn->in[ord], *tc = hn->in[1 - ord];
        if (!is(tc, &rc_op_tanh) || !is(tc->in[0], &rc_op_add)) continue;
        rc_node *cn = tc->in[0], *z = gate_of(o, &rc_op_sigmoid, 3 * U, 4 * U);
        if (!z || !is(z, &rc_op_add) || !shaped(z, B, 4 * U) || !among(out, n, cn)) continue;
        if (!rc_shape_eq(z->in[0]->shape, z->shape) || !rc_shape_eq(z->in[1]->shape, z->shape)) continue;
        /* c' = f c + i g: the f-term and the i g-term among the add's operands */
        rc_node *cprev = NULL;
        bool ig = false;
        for (int a = 0; a < 2; a++) {
            rc_node *m = cn->in[a];
            if (!is(m, &rc_op_mul)) break;
            for (int q = 0; q < 2; q++) {
                rc_node *x = m->in[q], *y = m->in[1 - q];
                if (!cprev && gate_of(x, &rc_op_sigmoid, U, 2 * U) == z && shaped(y, B, U)) {
                    cprev = y;
                    break;
                }
                if (!ig && gate_of(x, &rc_op_sigmoid, 0, U) == z && gate_of(y, &rc_op_tanh, 2 * U, 3 * U) == z) {
                    ig = true;
                    break;
                }
            }
        }
        if (!cprev || !ig) continue;
        rc_node *S = rc_lstm_step_fused(g, z->in[0], z->in[1], cprev);
        rc_node *cv = S ? plane(g, S, 4, cn) : NULL, *hv = S ? plane(g, S, 5, hn) : NULL;
        if (!cv || !hv) return false;
        replace(out, n, cn, cv);
        replace(out, n, hn, hv);
        return true;
    }
    return false;
}

/* --- GRU (reset_after): h' = hh + z (h - hh) ------------------------------------ */

/* With p = add(slice(X, [b, e)), slice(H, [b, e))) in either order and
 * X, H given: true when the two slices are of X and of H. */
static bool sum_of_blocks(const rc_node *p, const rc_node *X, const rc_node *H, int64_t b, int64_t e) {
    if (!is(p, &rc_op_add)) return false;
    for (int ord = 0; ord < 2; ord++)
        if (block_of(p->in[ord], b, e) == X && block_of(p->in[1 - ord], b, e) == H) return true;
    return false;
}

/* The blend: lerp(z, h, hh), or hh + z (h - hh) written out (lerp's own
 * formula, so the same floats). Sets z, h, hh. */
static bool blend(rc_node *hn, rc_node **z, rc_node **h, rc_node **hh) {
    if (is(hn, &rc_op_lerp)) {
        *z = hn->in[0], *h = hn->in[1], *hh = hn->in[2];
        return true;
    }
    if (!is(hn, &rc_op_add)) return false;
    for (int a = 0; a < 2; a++) {
        rc_node *c = hn->in[a], *m = hn->in[1 - a];
        if (!is(m, &rc_op_mul)) continue;
        for (int q = 0; q < 2; q++) {
            rc_node *d = m->in[1 - q];
            if (is(d, &rc_op_sub) && d->in[1] == c) {
                *z = m->in[q], *h = d->in[0], *hh = c;
                return true;
            }
        }
    }
    return false;
}

static bool fuse_gru(rc_graph *g, rc_node **out, int n, rc_node *hn) {
    rc_node *z, *h, *hh;
    if (hn->shape.ndim != 2 || !blend(hn, &z, &h, &hh)) return false;
    const int64_t B = hn->shape.dim[0], U = hn->shape.dim[1];
    if (!shaped(h, B, U) || !shaped(z, B, U) || !is(z, &rc_op_sigmoid) || !is(hh, &rc_op_tanh) ||
        !is(hh->in[0], &rc_op_add))
        return false;
    /* hh = tanh(xp_h + r hu_h): which operand of the add is xp's block and
     * which r times hu's block tells xp from hu */
    rc_node *pre = hh->in[0];
    for (int a = 0; a < 2; a++) {
        rc_node *X = block_of(pre->in[a], 2 * U, 3 * U), *m = pre->in[1 - a];
        if (!X || !shaped(X, B, 3 * U) || !is(m, &rc_op_mul)) continue;
        for (int q = 0; q < 2; q++) {
            rc_node *r = m->in[q], *H = block_of(m->in[1 - q], 2 * U, 3 * U);
            if (!H || !shaped(H, B, 3 * U) || !is(r, &rc_op_sigmoid) || !sum_of_blocks(r->in[0], X, H, U, 2 * U) ||
                !sum_of_blocks(z->in[0], X, H, 0, U))
                continue;
            rc_node *S = rc_gru_step_fused(g, X, H, h);
            rc_node *hv = S ? plane(g, S, 4, hn) : NULL;
            if (!hv) return false;
            replace(out, n, hn, hv);
            return true;
        }
    }
    return false;
}

rc_status rc_fuse_step(rc_graph *g, rc_node **out, int n) {
    if (!g) return RC_ERR_ARG;
    if (!rc_graph_fusion(g) || rc_graph_status(g) != RC_OK || !out) return rc_graph_status(g);
    for (int k = 0; k < n; k++) {
        rc_node *v = out[k];
        if (v && v->graph == g && !fuse_lstm(g, out, n, v) && rc_graph_status(g) == RC_OK) fuse_gru(g, out, n, v);
        if (rc_graph_status(g) != RC_OK) break;
    }
    return rc_graph_status(g);
}
