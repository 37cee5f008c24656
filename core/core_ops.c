/* The ops core itself needs: leaves (input, param, const), fill, and add_n,
 * which autodiff emits to seed and accumulate gradients. */
#include <string.h>

#include "internal.h"

/* Leaves carry their shape and dtype in attr.i[0..4] and attr.i[5]. */
static rc_attr shape_attr(rc_shape s, rc_dtype dt) {
    rc_attr a = {.i = {0}};
    a.i[0] = s.ndim;
    for (int i = 0; i < RC_MAX_DIMS; i++) a.i[1 + i] = i < s.ndim ? s.dim[i] : 0;
    a.i[5] = dt;
    return a;
}

static rc_shape attr_shape(const rc_attr *a) {
    rc_shape s = {.ndim = (int)a->i[0]};
    for (int i = 0; i < RC_MAX_DIMS; i++) s.dim[i] = a->i[1 + i];
    return s;
}

static bool infer_shape_attr(rc_graph *g, rc_node *n) {
    n->shape = attr_shape(&n->attr);
    n->dtype = (rc_dtype)n->attr.i[5];
    if (n->dtype != RC_F32 && n->dtype != RC_I32)
        return rc_node_fail(g, n, RC_ERR_ARG, "unknown dtype %d", (int)n->attr.i[5]);
    if (!rc_shape_valid(n->shape)) {
        char s[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_SHAPE, "shape %s is invalid (ndim 0..%d, dims >= 1, at most 2^40 elements)",
                            rc_shape_str(n->shape, s, sizeof s), RC_MAX_DIMS);
    }
    return true;
}

static bool infer_leaf(rc_graph *g, rc_node *n) {
    if (!infer_shape_attr(g, n)) return false;
    int64_t bytes = rc_shape_numel(n->shape) * (int64_t)rc_dtype_size(n->dtype);
    int64_t held = rc_limits_in_use();
    if (!rc_limits_fit(bytes) || !rc_limits_fit(bytes + held)) {
        char a[32], b[32], c[32], s[RC_SHAPE_STRLEN];
        return rc_node_fail(g, n, RC_ERR_NOMEM, "shape %s needs %s (with %s held by other tensors and plans), over "
                            "the memory limit of %s (rc_limits; recur --max-memory)", rc_shape_str(n->shape, s, sizeof s),
                            rc_bytes_str(bytes, a, sizeof a), rc_bytes_str(held, c, sizeof c),
                            rc_bytes_str(rc_limits_get().max_bytes, b, sizeof b));
    }
    n->value = rc_tensor_new(n->dtype, n->shape);
    if (!n->value) return rc_node_fail(g, n, RC_ERR_NOMEM, "out of memory for its storage");
    return true;
}

static void leaf_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s", n->name);
}

const rc_op rc_op_input = {.name = "input", .arity = 0, .flags = RC_OPF_LEAF,
                           .infer = infer_leaf, .label = leaf_label};
const rc_op rc_op_param = {.name = "param", .arity = 0, .flags = RC_OPF_LEAF,
                           .infer = infer_leaf, .label = leaf_label};
const rc_op rc_op_const = {.name = "const", .arity = 0, .flags = RC_OPF_LEAF, .infer = infer_leaf};

static rc_node *leaf(rc_graph *g, const rc_op *op, const char *name, rc_dtype dt, rc_shape shape) {
    rc_attr a = shape_attr(shape, dt);
    return rc_node_make(g, op, NULL, 0, &a, name);
}

rc_node *rc_input(rc_graph *g, const char *name, rc_dtype dtype, rc_shape shape) {
    if (g && !name) return rc_graph_fail(g, RC_ERR_ARG, "rc_input: name is NULL");
    return leaf(g, &rc_op_input, name, dtype, shape);
}

rc_node *rc_input_borrowed(rc_graph *g, const char *name, rc_dtype dtype, rc_shape shape, void *data) {
    if (g && !data) return rc_graph_fail(g, RC_ERR_ARG, "rc_input_borrowed: data is NULL");
    if (g && data && ((uintptr_t)data % rc_dtype_size(dtype == RC_I32 ? RC_I32 : RC_F32)) != 0)
        return rc_graph_fail(g, RC_ERR_ARG, "rc_input_borrowed: data is not aligned for %s", rc_dtype_name(dtype));
    rc_node *n = rc_input(g, name, dtype, shape);
    if (!n) return NULL;
    /* The storage rc_input made (zero pages when large: never touched) is
     * replaced by a view of the caller's memory, which rc_tensor_free leaves
     * alone; freeing the storage through rc_tensor_free also returns its
     * bytes to the memory limit (rc_limits). */
    rc_tensor *view = rc_tensor_view(n->value->dtype, n->value->shape, data);
    if (!view) return rc_graph_fail(g, RC_ERR_NOMEM, "rc_input_borrowed: out of memory");
    rc_tensor_free(n->value);
    n->value = view;
    return n;
}

rc_node *rc_param(rc_graph *g, const char *name, rc_shape shape) {
    if (g && !name) return rc_graph_fail(g, RC_ERR_ARG, "rc_param: name is NULL");
    rc_node *n = leaf(g, &rc_op_param, name, RC_F32, shape);
    if (n) n->is_param = true;
    return n;
}

rc_node *rc_const(rc_graph *g, rc_shape shape, const float *values) {
    rc_node *n = leaf(g, &rc_op_const, NULL, RC_F32, shape);
    if (n && values) memcpy(n->value->data, values, rc_tensor_bytes(n->value));
    return n;
}

rc_node *rc_const_i32(rc_graph *g, rc_shape shape, const int32_t *values) {
    rc_node *n = leaf(g, &rc_op_const, NULL, RC_I32, shape);
    if (n && values) memcpy(n->value->data, values, rc_tensor_bytes(n->value));
    return n;
}

/* --- fill: out[i] = value (attr.f[0]) ---------------------------------- */

static rc_status fill_fwd(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)in, (void)scratch;
    float v = (float)n->attr.f[0], *y = out;
    int64_t N = rc_shape_numel(n->shape);
    for (int64_t i = 0; i < N; i++) y[i] = v;
    return RC_OK;
}

static rc_status fill_ref(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)in, (void)scratch;
    double *y = out;
    int64_t N = rc_shape_numel(n->shape);
    for (int64_t i = 0; i < N; i++) y[i] = n->attr.f[0];
    return RC_OK;
}

static void fill_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "fill %g", n->attr.f[0]);
}

const rc_op rc_op_fill = {.name = "fill", .arity = 0, .infer = infer_shape_attr,
                          .forward = fill_fwd, .reference = fill_ref, .label = fill_label};

rc_node *rc_fill(rc_graph *g, rc_shape shape, float value) {
    rc_attr a = shape_attr(shape, RC_F32);
    a.f[0] = value;
    return rc_node_make(g, &rc_op_fill, NULL, 0, &a, NULL);
}

/* --- add_n: y = sum_k x_k, all the same shape --------------------------- */

static bool add_n_infer(rc_graph *g, rc_node *n) {
    for (int k = 0; k < n->nin; k++) {
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
        if (!rc_shape_eq(n->in[k]->shape, n->in[0]->shape)) {
            char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
            return rc_node_fail(g, n, RC_ERR_SHAPE, "input %d has shape %s, input 0 has %s", k,
                                rc_shape_str(n->in[k]->shape, a, sizeof a),
                                rc_shape_str(n->in[0]->shape, b, sizeof b));
        }
    }
    n->shape = n->in[0]->shape;
    return true;
}

/* y = ((x0 + x1) + x2) + ...; y may alias any input (RC_OPF_ELEMENTWISE).
 * Two inputs: one pass. More: blocks of 256 summed in a stack buffer, so
 * each block of every input is read before y's block is written. */
RC_VECTOR_CLONES static rc_status add_n_fwd(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    float *y = out;
    int64_t N = rc_shape_numel(n->shape);
    const float *x0 = in[0];
    if (n->nin == 1) {
        for (int64_t i = 0; i < N; i++) y[i] = x0[i];
        return RC_OK;
    }
    const float *x1 = in[1];
    if (n->nin == 2) {
        for (int64_t i = 0; i < N; i++) y[i] = x0[i] + x1[i];
        return RC_OK;
    }
    float acc[256];
    for (int64_t b = 0; b < N; b += 256) {
        int64_t m = N - b < 256 ? N - b : 256;
        for (int64_t i = 0; i < m; i++) acc[i] = x0[b + i] + x1[b + i];
        for (int k = 2; k < n->nin; k++) {
            const float *x = (const float *)in[k] + b;
            for (int64_t i = 0; i < m; i++) acc[i] += x[i];
        }
        for (int64_t i = 0; i < m; i++) y[b + i] = acc[i];
    }
    return RC_OK;
}

static rc_status add_n_ref(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    double *y = out;
    int64_t N = rc_shape_numel(n->shape);
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int k = 0; k < n->nin; k++) s += ((const double *)in[k])[i];
        y[i] = s;
    }
    return RC_OK;
}

static void add_n_grad(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    (void)g, (void)n;
    for (int k = 0; k < n->nin; k++) dx[k] = dy;
}

const rc_op rc_op_add_n = {.name = "add_n", .arity = -1, .flags = RC_OPF_ELEMENTWISE,
                           .infer = add_n_infer, .forward = add_n_fwd, .reference = add_n_ref,
                           .grad = add_n_grad};

rc_node *rc_add_n(rc_graph *g, rc_node *const *xs, int n) {
    if (g && n == 1 && xs && xs[0]) return xs[0];
    return rc_node_make(g, &rc_op_add_n, xs, n, NULL, NULL);
}
