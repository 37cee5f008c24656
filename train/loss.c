/* Training losses with per-element masks and sample weights, composed from
 * ops (so their gradients come from the ops' own), reduced as Keras 3's
 * "sum_over_batch_size":
 *
 *   no mask:   sum(L * w) / numel(L)
 *   mask m:    sum(L * w * m) / (sum(m) * numel(L) / numel(m)), 0 if sum(m) = 0
 *
 * The mask line is Keras' apply_mask: m is scaled by
 * divide_no_nan(total, valid) (total = numel(m), valid = sum(m)) before the
 * sum_over_batch_size division by numel(L); for a mask of L's full shape it
 * is the weighted mean over the valid elements. Weights and masks of a
 * leading prefix of L's shape get trailing axes of size 1 and broadcast. */
#include "recur/ops.h"
#include "recur/train.h"

/* w (shape = a prefix of S) reshaped to S's rank with trailing 1s. */
static rc_node *align(rc_graph *g, rc_node *w, rc_shape S, const char *what) {
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    if (rc_node_dtype(w) != RC_F32)
        return rc_graph_fail(g, RC_ERR_ARG, "loss: %s '%s' must be float32, got %s", what, rc_node_name(w),
                             rc_dtype_name(rc_node_dtype(w)));
    rc_shape ws = rc_node_shape(w);
    bool ok = ws.ndim <= S.ndim;
    for (int k = 0; ok && k < ws.ndim; k++) ok = ws.dim[k] == S.dim[k];
    if (!ok)
        return rc_graph_fail(g, RC_ERR_SHAPE, "loss: %s '%s' of shape %s is not the per-element loss shape %s or a prefix of it",
                             what, rc_node_name(w), rc_shape_str(ws, a, sizeof a), rc_shape_str(S, b, sizeof b));
    if (ws.ndim == S.ndim) return w;
    rc_shape t = ws;
    while (t.ndim < S.ndim) t.dim[t.ndim++] = 1;
    return rc_reshape(g, w, t);
}

static rc_node *sum_all(rc_graph *g, rc_node *x) {
    return rc_node_shape(x).ndim == 0 ? x : rc_sum(g, x, RC_ALL_AXES, false);
}

rc_node *rc_loss_reduce(rc_graph *g, rc_node *L, const rc_loss_weights *w) {
    if (!g) return NULL;
    if (!L) return rc_graph_status(g) != RC_OK ? NULL : rc_graph_fail(g, RC_ERR_ARG, "loss: per-element loss is NULL");
    if (rc_node_dtype(L) != RC_F32)
        return rc_graph_fail(g, RC_ERR_ARG, "loss: per-element loss '%s' must be float32", rc_node_name(L));
    rc_shape S = rc_node_shape(L);
    double numel = (double)rc_shape_numel(S);
    rc_node *x = L;
    if (w && w->sample_weight) {
        rc_node *sw = align(g, w->sample_weight, S, "sample_weight");
        if (!sw) return NULL;
        x = rc_mul(g, x, sw);
    }
    if (!w || !w->mask) return rc_scale(g, sum_all(g, x), 1.0 / numel);
    rc_node *m = align(g, w->mask, S, "mask");
    if (!m) return NULL;
    rc_node *num = sum_all(g, rc_mul(g, x, m));
    double ratio = (double)rc_node_numel(w->mask) / numel;
    rc_node *den = rc_scale(g, sum_all(g, w->mask), 1.0 / ratio);
    /* divide_no_nan: where(den, num / where(den, den, 1), 0) */
    rc_node *one = rc_fill(g, RC_SCALAR, 1.0f), *zero = rc_fill(g, RC_SCALAR, 0.0f);
    return rc_where(g, den, rc_div(g, num, rc_where(g, den, den, one)), zero);
}

static bool has_weights(const rc_loss_weights *w) { return w && (w->sample_weight || w->mask); }

static bool check_pair(rc_graph *g, rc_node *a, rc_node *b, const char *fn) {
    if (!g) return false;
    if (!a || !b) {
        if (rc_graph_status(g) == RC_OK) rc_graph_fail(g, RC_ERR_ARG, "%s: %s is NULL", fn, !a ? "prediction" : "target");
        return false;
    }
    if (rc_node_shape(a).ndim < 1) {
        rc_graph_fail(g, RC_ERR_SHAPE, "%s: prediction '%s' is a scalar; it needs a last axis to reduce", fn,
                      rc_node_name(a));
        return false;
    }
    return true;
}

rc_node *rc_loss_mse(rc_graph *g, rc_node *pred, rc_node *target, const rc_loss_weights *w) {
    if (!check_pair(g, pred, target, "rc_loss_mse")) return NULL;
    /* Without weights the mean of the per-row means is the fused mse. */
    if (!has_weights(w)) return rc_mean_squared_diff(g, pred, target);
    return rc_loss_reduce(g, rc_mean(g, rc_square(g, rc_sub(g, pred, target)), -1, false), w);
}

rc_node *rc_loss_binary_xent_logits(rc_graph *g, rc_node *logits, rc_node *targets, const rc_loss_weights *w) {
    if (!check_pair(g, logits, targets, "rc_loss_binary_xent_logits")) return NULL;
    rc_node *e = rc_sigmoid_bce(g, logits, targets);
    if (!has_weights(w)) return rc_mean(g, e, RC_ALL_AXES, false);
    return rc_loss_reduce(g, rc_mean(g, e, -1, false), w);
}

rc_node *rc_loss_categorical_xent_logits(rc_graph *g, rc_node *logits, rc_node *labels, const rc_loss_weights *w) {
    if (!check_pair(g, logits, labels, "rc_loss_categorical_xent_logits")) return NULL;
    return rc_loss_reduce(g, rc_softmax_xent(g, logits, labels), w);
}

rc_node *rc_loss_sparse_categorical_xent_logits(rc_graph *g, rc_node *logits, rc_node *ids,
                                                const rc_loss_weights *w) {
    if (!check_pair(g, logits, ids, "rc_loss_sparse_categorical_xent_logits")) return NULL;
    return rc_loss_reduce(g, rc_sparse_softmax_xent(g, logits, ids), w);
}
