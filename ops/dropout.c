/* dropout_mask: m_i = [u_i >= rate] / (1 - rate), u_i uniform in [0, 1),
 * a fresh draw at every run (inverted dropout: E[m_i] = 1).
 *
 * The generator state (xoshiro256**, four words) lives in attr.i[8..11] of
 * the node, so the plan needs no allocation; the float kernel advances it
 * (plans run on one thread at a time), the reference kernel draws from a
 * copy so every reference evaluation sees the same mask. */
#include <string.h>

#include "broadcast.h"
#include "recur/ops.h"
#include "recur/rng.h"

static bool dropout_infer(rc_graph *g, rc_node *n) {
    double rate = n->attr.f[0];
    if (!(rate >= 0 && rate < 1)) return rc_node_fail(g, n, RC_ERR_ARG, "rate %g is outside [0, 1)", rate);
    n->shape = rc_attr_shape(&n->attr);
    return true;
}

#define DROPOUT_KERNEL(name, T, ADVANCE)                                               \
    static rc_status name(const rc_node *n, void *out, void *const *in, void *s) {      \
        rc_rng r;                                                                      \
        memcpy(r.s, &n->attr.i[8], sizeof r.s);                                        \
        double rate = n->attr.f[0], keep = 1.0 / (1.0 - rate);                         \
        T *y = out;                                                                    \
        for (int64_t i = 0, N = rc_shape_numel(n->shape); i < N; i++)                  \
            y[i] = rc_rng_uniform_f64(&r) >= rate ? (T)keep : (T)0;                    \
        if (ADVANCE) memcpy((void *)&n->attr.i[8], r.s, sizeof r.s);                   \
        return RC_OK;                                                                  \
    }
DROPOUT_KERNEL(dropout_fwd, float, 1)
DROPOUT_KERNEL(dropout_ref, double, 0)

static void dropout_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "dropout_mask %g", n->attr.f[0]);
}

const rc_op rc_op_dropout_mask = {.name = "dropout_mask", .arity = 0, .flags = RC_OPF_RNG_STATE, .infer = dropout_infer,
                                  .forward = dropout_fwd, .reference = dropout_ref, .label = dropout_label};

rc_node *rc_dropout_mask(rc_graph *g, rc_shape shape, double rate, uint64_t seed) {
    rc_attr a = {.i = {0}, .f = {rate}};
    if (shape.ndim < 0 || shape.ndim > RC_MAX_DIMS)
        return rc_graph_fail(g, RC_ERR_SHAPE, "dropout_mask: shape has %d dims (at most %d)", shape.ndim, RC_MAX_DIMS);
    rc_attr_set_shape(&a, shape);
    rc_rng r;
    rc_rng_seed(&r, seed);
    memcpy(&a.i[8], r.s, sizeof r.s);
    return rc_node_make(g, &rc_op_dropout_mask, NULL, 0, &a, NULL);
}
