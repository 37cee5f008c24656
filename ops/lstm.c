/* The fused LSTM cell: one kernel for the gate math of a step, one for its
 * gradient, instead of ~15 elementwise nodes forward and ~25 backward.
 *
 *   lstm_cell(xp, hu, c)   xp, hu (B, 4H) = the step's input projection and
 *                          h U; c (B, H) the previous cell state.
 *     z = xp + hu = [z_i | z_f | z_g | z_o]   (gate blocks side by side)
 *     i = σ(z_i)  f = σ(z_f)  g = tanh(z_g)  o = σ(z_o)
 *     c' = f c + i g          h' = o tanh(c')
 *   Output S (6, B, H): the planes [i, f, g, o, c', h']. Planes are rows of
 *   axis 0, so c' and h' (and each gate) are views: slice axis 0 + reshape.
 *   S is everything backward needs (tanh c' is recomputed), so a step keeps
 *   6·B·H floats.
 *
 *   lstm_cell_grad(S, c, dS), part 0 -> dz (B, 4H) (the gradient of both xp
 *   and hu); part 1 -> dc (B, H). Two nodes, so that dz is a whole value
 *   the plan can compute straight into the stack of all steps' dz
 *   (core/plan.c placement) and nothing else of the step is kept; the
 *   dc part recomputes tanh(c') (B·H elements, small next to the GEMMs).
 *   lstm_cell_grad(S, c, dc', dh') is the same with the gate planes of dS
 *   zero (what a step mid-sequence receives; see compact_ds):
 *     t = tanh(c')
 *     dc'  = dS_c + dS_h o (1 - t²)
 *     dz_i = (dS_i + dc' g) i (1 - i)      dz_f = (dS_f + dc' c) f (1 - f)
 *     dz_g = (dS_g + dc' i) (1 - g²)       dz_o = (dS_o + dS_h t) o (1 - o)
 *     dc   = dc' f
 *   lstm_cell_grad has no gradient of its own: second derivatives through
 *   the fused cell are not provided (tests/ops/test_table.c lists it). The
 *   built-in LSTM cell uses the fused op only for Keras' default
 *   activations (sigmoid, tanh); any other pair takes the plain op path.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops_list.h"
#include "recur/op.h"
#include "recur/ops.h"
#include "cell_split.h"
#include "vecmath.h"

static bool infer_cell(rc_graph *g, rc_node *n) {
    for (int k = 0; k < 3; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape xs = n->in[0]->shape, cs = n->in[2]->shape;
    if (xs.ndim != 2 || xs.dim[1] % 4 != 0 || xs.dim[1] == 0)
        return rc_fail_shape(g, n, "input projection (expected (B, 4H))", xs);
    if (!rc_shape_eq(n->in[1]->shape, xs)) return rc_fail_shape(g, n, "recurrent term (expected as xp)", n->in[1]->shape);
    if (!rc_shape_eq(cs, RC_SHAPE(xs.dim[0], xs.dim[1] / 4)))
        return rc_fail_shape(g, n, "cell state (expected (B, H))", cs);
    n->shape = RC_SHAPE(6, xs.dim[0], xs.dim[1] / 4);
    return true;
}

/* The elementwise kernels below split their batch rows over recur's
 * threads (core/threads.c) when a step has enough elements: rows [lo, hi)
 * are the same contiguous range in every (B, H) plane, and each element's
 * arithmetic does not depend on the split, so results are bit-identical
 * on any number of threads (threshold: RC_CELL_MIN_CHUNK_ELEMS). */

typedef struct cell_job {
    int64_t B, H;
    const float *xp, *hu, *cp, *dS, *dSc, *dSh;
    float *S, *out, *t;
    bool gates;
    int part;
} cell_job;

static void cell_rows(void *ctx, int64_t lo, int64_t hi) {
    const cell_job *j = ctx;
    const int64_t H = j->H, BH = j->B * H, r0 = lo * H, n = (hi - lo) * H;
    float *S = j->S;
    /* pre-activations into the gate planes */
    for (int64_t b = lo; b < hi; b++)
        for (int k = 0; k < 4; k++) {
            const float *x = j->xp + b * 4 * H + k * H, *u = j->hu + b * 4 * H + k * H;
            float *z = S + k * BH + b * H;
            for (int64_t q = 0; q < H; q++) z[q] = x[q] + u[q];
        }
    rc_vsigmoid(S + r0, S + r0, n);                   /* i */
    rc_vsigmoid(S + BH + r0, S + BH + r0, n);         /* f */
    rc_vtanh(S + 2 * BH + r0, S + 2 * BH + r0, n);    /* g */
    rc_vsigmoid(S + 3 * BH + r0, S + 3 * BH + r0, n); /* o */
    const float *i = S, *f = S + BH, *gg = S + 2 * BH, *o = S + 3 * BH, *cp = j->cp;
    float *c = S + 4 * BH, *h = S + 5 * BH;
    for (int64_t e = r0; e < r0 + n; e++) c[e] = f[e] * cp[e] + i[e] * gg[e];
    rc_vtanh(h + r0, c + r0, n);
    for (int64_t e = r0; e < r0 + n; e++) h[e] *= o[e];
}

static rc_status cell_fwd(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    cell_job j = {.B = n->shape.dim[1], .H = n->shape.dim[2], .xp = in[0], .hu = in[1], .cp = in[2], .S = out};
    rc_parallel_rows(j.B, (double)j.H, RC_CELL_MIN_CHUNK_ELEMS, cell_rows, &j);
    return RC_OK;
}

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

static rc_status cell_ref(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    const int64_t B = n->shape.dim[1], H = n->shape.dim[2], BH = B * H;
    const double *xp = in[0], *hu = in[1], *cp = in[2];
    double *S = out;
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < H; j++) {
            const double *x = xp + b * 4 * H, *u = hu + b * 4 * H;
            double i = sigm(x[j] + u[j]), f = sigm(x[H + j] + u[H + j]);
            double g = tanh(x[2 * H + j] + u[2 * H + j]), o = sigm(x[3 * H + j] + u[3 * H + j]);
            double c = f * cp[b * H + j] + i * g;
            int64_t e = b * H + j;
            S[e] = i, S[BH + e] = f, S[2 * BH + e] = g, S[3 * BH + e] = o;
            S[4 * BH + e] = c, S[5 * BH + e] = o * tanh(c);
        }
    return RC_OK;
}

/* dS as autodiff usually delivers it mid-sequence: the gate planes are not
 * read by anything else, so dS = concat(zeros (4, B, H), dc', dh') along
 * axis 0 (ops/shape.c pad_accumulate). Then the gradient reads dc' and dh'
 * directly (the 4-input form) and the zeros and their copy never run. */
static bool compact_ds(const rc_node *dy, int64_t B, int64_t H, rc_node **dc, rc_node **dh) {
    if (dy->op != &rc_op_concat || dy->nin != 3 || dy->attr.i[0] != 0) return false;
    const rc_node *z = dy->in[0];
    if (z->op != &rc_op_fill || z->attr.f[0] != 0.0 || !rc_shape_eq(z->shape, RC_SHAPE(4, B, H))) return false;
    for (int k = 1; k < 3; k++)
        if (!rc_shape_eq(dy->in[k]->shape, RC_SHAPE(1, B, H))) return false;
    *dc = dy->in[1];
    *dh = dy->in[2];
    return true;
}

static void cell_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    const int64_t B = n->shape.dim[1], H = n->shape.dim[2];
    rc_node *in[4] = {n, n->in[2], dy, NULL};
    int nin = compact_ds(dy, B, H, &in[2], &in[3]) ? 4 : 3;
    rc_attr part_dz = {.i = {0}}, part_dc = {.i = {1}};
    rc_node *dz = rc_node_make(g, &rc_op_lstm_cell_grad, in, nin, &part_dz, "lstm_cell_grad");
    dx[0] = dx[1] = dz;
    dx[2] = rc_node_make(g, &rc_op_lstm_cell_grad, in, nin, &part_dc, "lstm_cell_grad_c");
}

static void cell_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s [i f g o c h]", n->op->name);
}

const rc_op rc_op_lstm_cell = {.name = "lstm_cell", .arity = 3, .infer = infer_cell, .forward = cell_fwd,
                               .reference = cell_ref, .grad = cell_gradb, .label = cell_label};

/* --- gradient ---------------------------------------------------------------- */

static bool infer_grad(rc_graph *g, rc_node *n) {
    if (n->nin != 3 && n->nin != 4)
        return rc_node_fail(g, n, RC_ERR_ARG, "takes (S, c, dS) or (S, c, dc', dh'), got %d inputs", n->nin);
    for (int k = 0; k < n->nin; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape ss = n->in[0]->shape;
    if (ss.ndim != 3 || ss.dim[0] != 6) return rc_fail_shape(g, n, "cell output (expected (6, B, H))", ss);
    if (!rc_shape_eq(n->in[1]->shape, RC_SHAPE(ss.dim[1], ss.dim[2])))
        return rc_fail_shape(g, n, "cell state (expected (B, H))", n->in[1]->shape);
    if (n->nin == 3 && !rc_shape_eq(n->in[2]->shape, ss))
        return rc_fail_shape(g, n, "output gradient (expected as S)", n->in[2]->shape);
    for (int k = 2; n->nin == 4 && k < 4; k++)
        if (rc_shape_numel(n->in[k]->shape) != ss.dim[1] * ss.dim[2])
            return rc_fail_shape(g, n, k == 2 ? "gradient of c' (expected B·H elements)" : "gradient of h' (expected B·H elements)",
                              n->in[k]->shape);
    if (n->attr.i[0] != 0 && n->attr.i[0] != 1) return rc_node_fail(g, n, RC_ERR_ARG, "part must be 0 (dz) or 1 (dc)");
    n->shape = n->attr.i[0] == 0 ? RC_SHAPE(ss.dim[1], 4 * ss.dim[2]) : RC_SHAPE(ss.dim[1], ss.dim[2]);
    return true;
}

static size_t grad_scratch(const rc_node *n) {
    return (size_t)(n->in[0]->shape.dim[1] * n->in[0]->shape.dim[2]) * sizeof(float);
}

/* dz for one batch row; gates = false: the gate planes of dS are zero. */
static inline void dz_row(float *restrict zi, const float *dS, const float *dSc, const float *dSh, const float *t,
                          const float *i, const float *f, const float *gg, const float *o, const float *cp,
                          int64_t e0, int64_t H, int64_t BH, bool gates) {
    float *zf = zi + H, *zg = zi + 2 * H, *zo = zi + 3 * H;
    for (int64_t j = 0; j < H; j++) {
        int64_t e = e0 + j;
        float dh = dSh[e], te = t[e], oe = o[e], ie = i[e], fe = f[e], ge = gg[e];
        float dcn = dSc[e] + dh * oe * (1.0f - te * te);
        float si = gates ? dS[e] : 0, sf = gates ? dS[BH + e] : 0, sg = gates ? dS[2 * BH + e] : 0,
              so = gates ? dS[3 * BH + e] : 0;
        zi[j] = (si + dcn * ge) * ie * (1.0f - ie);
        zf[j] = (sf + dcn * cp[e]) * fe * (1.0f - fe);
        zg[j] = (sg + dcn * ie) * (1.0f - ge * ge);
        zo[j] = (so + dh * te) * oe * (1.0f - oe);
    }
}

static void grad_rows(void *ctx, int64_t lo, int64_t hi) {
    const cell_job *j = ctx;
    const int64_t H = j->H, BH = j->B * H, r0 = lo * H, n = (hi - lo) * H;
    const float *S = j->S, *i = S, *f = S + BH, *gg = S + 2 * BH, *o = S + 3 * BH, *c = S + 4 * BH;
    const float *dSc = j->dSc, *dSh = j->dSh;
    float *t = j->t;
    rc_vtanh(t + r0, c + r0, n);
    if (j->part == 1) {
        float *dc = j->out;
        for (int64_t e = r0; e < r0 + n; e++) dc[e] = (dSc[e] + dSh[e] * o[e] * (1.0f - t[e] * t[e])) * f[e];
        return;
    }
    for (int64_t b = lo; b < hi; b++) {
        if (j->gates) dz_row(j->out + b * 4 * H, j->dS, dSc, dSh, t, i, f, gg, o, j->cp, b * H, H, BH, true);
        else dz_row(j->out + b * 4 * H, j->dS, dSc, dSh, t, i, f, gg, o, j->cp, b * H, H, BH, false);
    }
}

static rc_status grad_fwd(const rc_node *n, void *out, void *const *in, void *scratch) {
    const int64_t B = n->in[0]->shape.dim[1], H = n->in[0]->shape.dim[2], BH = B * H;
    const float *dS = in[2];
    const bool gates = n->nin == 3;
    cell_job j = {.B = B, .H = H, .S = (float *)in[0], .cp = in[1], .dS = dS, .gates = gates,
                  .dSc = gates ? dS + 4 * BH : in[2], .dSh = gates ? dS + 5 * BH : in[3], .out = out,
                  .t = scratch, .part = (int)n->attr.i[0]};
    rc_parallel_rows(B, (double)H, RC_CELL_MIN_CHUNK_ELEMS, grad_rows, &j);
    return RC_OK;
}

static rc_status grad_ref(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    const int64_t B = n->in[0]->shape.dim[1], H = n->in[0]->shape.dim[2], BH = B * H;
    const double *S = in[0], *cp = in[1], *dS = in[2];
    const bool gates = n->nin == 3;
    const double *dSc = gates ? dS + 4 * BH : in[2], *dSh = gates ? dS + 5 * BH : in[3];
    double *r = out;
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < H; j++) {
            int64_t e = b * H + j;
            double i = S[e], f = S[BH + e], g = S[2 * BH + e], o = S[3 * BH + e], t = tanh(S[4 * BH + e]);
            double dh = dSh[e];
            double dcn = dSc[e] + dh * o * (1 - t * t);
            if (n->attr.i[0] == 1) {
                r[e] = dcn * f;
                continue;
            }
            double *z = r + b * 4 * H;
            double si = gates ? dS[e] : 0, sf = gates ? dS[BH + e] : 0, sg = gates ? dS[2 * BH + e] : 0,
                   so = gates ? dS[3 * BH + e] : 0;
            z[j] = (si + dcn * g) * i * (1 - i);
            z[H + j] = (sf + dcn * cp[e]) * f * (1 - f);
            z[2 * H + j] = (sg + dcn * i) * (1 - g * g);
            z[3 * H + j] = (so + dh * t) * o * (1 - o);
        }
    return RC_OK;
}

static void grad_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s %s", n->op->name, n->attr.i[0] == 1 ? "dc" : "dz");
}

const rc_op rc_op_lstm_cell_grad = {.name = "lstm_cell_grad", .arity = -1, .infer = infer_grad,
                                    .forward = grad_fwd, .reference = grad_ref, .scratch_bytes = grad_scratch,
                                    .label = grad_label};

rc_node *rc_lstm_step_fused(rc_graph *g, rc_node *xp, rc_node *hu, rc_node *c) {
    rc_node *in[3] = {xp, hu, c};
    return rc_node_make(g, &rc_op_lstm_cell, in, 3, NULL, "lstm_cell");
}
