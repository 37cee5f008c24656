/* The fused GRU cell (Keras reset_after = true, the default): one kernel
 * for the gate math of a step and a fused gradient, instead of ~12
 * elementwise and slice nodes forward and ~30 backward.
 *
 *   gru_cell(xp, hu, h)   xp (B, 3H) the step's input projection x W + b_in,
 *                         hu (B, 3H) = h U + b_rec, h (B, H) the previous state.
 *     z = σ(xp_z + hu_z)    r = σ(xp_r + hu_r)
 *     hh = tanh(xp_h + r hu_h)
 *     h' = hh + z (h - hh)        (= z h + (1 - z) hh, Keras' form)
 *   Output S (5, B, H): the planes [z, r, hh, hu_h, h'] (h' the output and
 *   new state, a view: slice axis 0 + reshape). hu_h is kept so that the
 *   gradient needs S and h only, not hu (B, 3H).
 *
 *   gru_cell_grad(S, h, dS) part 0 -> dxp (B, 3H), part 1 -> dhu (B, 3H),
 *   part 2 -> dh (B, H); the same with (S, h, dh') when dS is zero but in
 *   its h' plane (what a step mid-sequence receives: see compact_ds):
 *     dz~  = dS_z + dh' (h - hh)       dhh~ = dS_hh + dh' (1 - z)
 *     da_h = dhh~ (1 - hh²)
 *     dr~  = dS_r + da_h hu_h          dhu_h~ = dS_huh + da_h r
 *     da_z = dz~ z (1 - z)             da_r = dr~ r (1 - r)
 *     dxp = [da_z | da_r | da_h]       dhu = [da_z | da_r | dhu_h~]
 *     dh  = dh' z
 *   The kernels (ops/gru_simd.c, plain loops below as the fallback)
 *   evaluate each formula in the order the GRU written from plain ops does
 *   (layers/cell.c), so the forward values are the same.
 *   gru_cell_grad has no gradient of its own (no second derivatives through
 *   the fused cell; tests/ops/test_table.c lists it). */
#include <math.h>
#include <stdio.h>

#include "ops_list.h"
#include "recur/op.h"
#include "recur/ops.h"
#include "gru_simd.h"
#include "cell_split.h"
#include "vecmath.h"

static bool infer_cell(rc_graph *g, rc_node *n) {
    for (int k = 0; k < 3; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape xs = n->in[0]->shape, hs = n->in[2]->shape;
    if (xs.ndim != 2 || xs.dim[1] % 3 != 0 || xs.dim[1] == 0)
        return rc_fail_shape(g, n, "input projection (expected (B, 3H))", xs);
    if (!rc_shape_eq(n->in[1]->shape, xs)) return rc_fail_shape(g, n, "recurrent term (expected as xp)", n->in[1]->shape);
    if (!rc_shape_eq(hs, RC_SHAPE(xs.dim[0], xs.dim[1] / 3))) return rc_fail_shape(g, n, "state (expected (B, H))", hs);
    n->shape = RC_SHAPE(5, xs.dim[0], xs.dim[1] / 3);
    return true;
}

/* The vector kernels (ops/gru_simd.c) split batch rows over recur's
 * threads when a step has enough elements (as ops/lstm.c); each element's
 * arithmetic does not depend on the split (threshold:
 * RC_CELL_MIN_CHUNK_ELEMS). */

typedef struct gru_job {
    int64_t B, H;
    const float *xp, *hu, *hp, *S, *dS;
    float *out;
    bool full;
    int part;
} gru_job;

static void cell_rows(void *ctx, int64_t lo, int64_t hi) {
    const gru_job *j = ctx;
    rc_gru_cell_rows(j->out, j->xp, j->hu, j->hp, j->B, j->H, lo, hi);
}

static void grad_rows(void *ctx, int64_t lo, int64_t hi) {
    const gru_job *j = ctx;
    rc_gru_grad_rows(j->out, j->part, j->S, j->hp, j->dS, j->full, j->B, j->H, lo, hi);
}

static rc_status cell_fwd(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    const int64_t B = n->shape.dim[1], H = n->shape.dim[2], BH = B * H;
    const float *xp = in[0], *hu = in[1], *hp = in[2];
    float *S = out, *z = S, *r = S + BH, *hh = S + 2 * BH, *uh = S + 3 * BH, *hn = S + 4 * BH;
    if (rc_vecmath_width() > 0) { /* one pass, ops/gru_simd.c */
        gru_job j = {.B = B, .H = H, .xp = xp, .hu = hu, .hp = hp, .out = S};
        rc_parallel_rows(B, (double)H, RC_CELL_MIN_CHUNK_ELEMS, cell_rows, &j);
        return RC_OK;
    }
    for (int64_t b = 0; b < B; b++) {
        const float *x = xp + b * 3 * H, *u = hu + b * 3 * H;
        for (int64_t j = 0; j < H; j++) {
            z[b * H + j] = x[j] + u[j];
            r[b * H + j] = x[H + j] + u[H + j];
            uh[b * H + j] = u[2 * H + j];
        }
    }
    rc_vsigmoid(z, z, 2 * BH); /* z, r */
    for (int64_t b = 0; b < B; b++) {
        const float *x = xp + b * 3 * H + 2 * H;
        for (int64_t j = 0; j < H; j++) hh[b * H + j] = x[j] + r[b * H + j] * uh[b * H + j];
    }
    rc_vtanh(hh, hh, BH);
    for (int64_t e = 0; e < BH; e++) hn[e] = hh[e] + z[e] * (hp[e] - hh[e]);
    return RC_OK;
}

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

static rc_status cell_ref(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    const int64_t B = n->shape.dim[1], H = n->shape.dim[2], BH = B * H;
    const double *xp = in[0], *hu = in[1], *hp = in[2];
    double *S = out;
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < H; j++) {
            const double *x = xp + b * 3 * H, *u = hu + b * 3 * H;
            int64_t e = b * H + j;
            double z = sigm(x[j] + u[j]), r = sigm(x[H + j] + u[H + j]), uh = u[2 * H + j];
            double hh = tanh(x[2 * H + j] + r * uh);
            S[e] = z, S[BH + e] = r, S[2 * BH + e] = hh, S[3 * BH + e] = uh;
            S[4 * BH + e] = z * hp[e] + (1 - z) * hh;
        }
    return RC_OK;
}

/* dS as autodiff delivers it when only h' is used (the built-in cell): the
 * slice's gradient pad_axis(dh', axis 0, begin 4, size 5). Then the
 * gradient reads dh' directly and the zero planes are never written. */
static rc_node *compact_ds(rc_node *dy, int64_t B, int64_t H) {
    if (dy->op != &rc_op_pad_axis || dy->attr.i[0] != 0 || dy->attr.i[1] != 4 || dy->attr.i[2] != 5) return NULL;
    return rc_shape_eq(dy->in[0]->shape, RC_SHAPE(1, B, H)) ? dy->in[0] : NULL;
}

static void cell_gradb(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx) {
    const int64_t B = n->shape.dim[1], H = n->shape.dim[2];
    rc_node *dh = compact_ds(dy, B, H);
    rc_node *in[3] = {n, n->in[2], dh ? dh : dy};
    for (int p = 0; p < 3; p++) {
        rc_attr part = {.i = {p}};
        static const char *names[3] = {"gru_cell_grad_xp", "gru_cell_grad_hu", "gru_cell_grad_h"};
        dx[p] = rc_node_make(g, &rc_op_gru_cell_grad, in, 3, &part, names[p]);
    }
}

static void cell_label(const rc_node *n, char *buf, size_t len) {
    snprintf(buf, len, "%s [z r hh uh h]", n->op->name);
}

const rc_op rc_op_gru_cell = {.name = "gru_cell", .arity = 3, .infer = infer_cell, .forward = cell_fwd,
                              .reference = cell_ref, .grad = cell_gradb, .label = cell_label};

/* --- gradient ---------------------------------------------------------------- */

static bool infer_grad(rc_graph *g, rc_node *n) {
    for (int k = 0; k < 3; k++)
        if (!rc_require_dtype(g, n, k, RC_F32)) return false;
    rc_shape ss = n->in[0]->shape;
    if (ss.ndim != 3 || ss.dim[0] != 5) return rc_fail_shape(g, n, "cell output (expected (5, B, H))", ss);
    int64_t B = ss.dim[1], H = ss.dim[2];
    if (!rc_shape_eq(n->in[1]->shape, RC_SHAPE(B, H))) return rc_fail_shape(g, n, "state (expected (B, H))", n->in[1]->shape);
    int64_t nd = rc_shape_numel(n->in[2]->shape);
    if (!rc_shape_eq(n->in[2]->shape, ss) && nd != B * H)
        return rc_fail_shape(g, n, "output gradient (expected as S, or B·H elements for h' alone)", n->in[2]->shape);
    if (n->attr.i[0] < 0 || n->attr.i[0] > 2) return rc_node_fail(g, n, RC_ERR_ARG, "part must be 0 (dxp), 1 (dhu) or 2 (dh)");
    n->shape = n->attr.i[0] == 2 ? RC_SHAPE(B, H) : RC_SHAPE(B, 3 * H);
    return true;
}

/* One kernel for the three parts (full: dS has all 5 planes); the plain
 * loops are the scalar fallback of ops/gru_simd.c. */
static rc_status grad_fwd(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    const int64_t B = n->in[0]->shape.dim[1], H = n->in[0]->shape.dim[2], BH = B * H;
    const float *S = in[0], *hp = in[1], *dS = in[2];
    const float *z = S, *r = S + BH, *hh = S + 2 * BH, *uh = S + 3 * BH;
    const bool full = rc_shape_numel(n->in[2]->shape) == 5 * BH;
    const float *dhn = full ? dS + 4 * BH : dS;
    const int part = (int)n->attr.i[0];
    float *o = out;
    if (rc_vecmath_width() > 0) { /* one pass, ops/gru_simd.c */
        gru_job j = {.B = B, .H = H, .S = S, .hp = hp, .dS = dS, .full = full, .part = part, .out = o};
        rc_parallel_rows(B, (double)H, RC_CELL_MIN_CHUNK_ELEMS, grad_rows, &j);
        return RC_OK;
    }
    if (part == 2) {
        for (int64_t e = 0; e < BH; e++) o[e] = dhn[e] * z[e];
        return RC_OK;
    }
    for (int64_t b = 0; b < B; b++) {
        float *oz = o + b * 3 * H, *orr = oz + H, *oh = oz + 2 * H;
        for (int64_t j = 0; j < H; j++) {
            const int64_t e = b * H + j;
            float d = dhn[e], ze = z[e], re = r[e], he = hh[e];
            float dz = d * (hp[e] - he), dhh = d * (1.0f - ze);
            if (full) dz += dS[e], dhh += dS[2 * BH + e];
            float dah = dhh * (1.0f - he * he);
            float dr = dah * uh[e];
            if (full) dr += dS[BH + e];
            oz[j] = dz * ze * (1.0f - ze);
            orr[j] = dr * re * (1.0f - re);
            if (part == 0) {
                oh[j] = dah;
            } else {
                float duh = dah * re;
                if (full) duh += dS[3 * BH + e];
                oh[j] = duh;
            }
        }
    }
    return RC_OK;
}

static rc_status grad_ref(const rc_node *n, void *out, void *const *in, void *scratch) {
    (void)scratch;
    const int64_t B = n->in[0]->shape.dim[1], H = n->in[0]->shape.dim[2], BH = B * H;
    const double *S = in[0], *hp = in[1], *dS = in[2];
    const bool full = rc_shape_numel(n->in[2]->shape) == 5 * BH;
    const int part = (int)n->attr.i[0];
    double *o = out;
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < H; j++) {
            int64_t e = b * H + j;
            double z = S[e], r = S[BH + e], hh = S[2 * BH + e], uh = S[3 * BH + e];
            double d = full ? dS[4 * BH + e] : dS[e];
            double gz = full ? dS[e] : 0, gr = full ? dS[BH + e] : 0, ghh = full ? dS[2 * BH + e] : 0,
                   guh = full ? dS[3 * BH + e] : 0;
            if (part == 2) {
                o[e] = d * z;
                continue;
            }
            double dz = gz + d * (hp[e] - hh), dah = (ghh + d * (1 - z)) * (1 - hh * hh);
            double dr = gr + dah * uh;
            double *row = o + b * 3 * H;
            row[j] = dz * z * (1 - z);
            row[H + j] = dr * r * (1 - r);
            row[2 * H + j] = part == 0 ? dah : guh + dah * r;
        }
    return RC_OK;
}

static void grad_label(const rc_node *n, char *buf, size_t len) {
    static const char *what[3] = {"dxp", "dhu", "dh"};
    snprintf(buf, len, "%s %s", n->op->name, what[n->attr.i[0] >= 0 && n->attr.i[0] <= 2 ? n->attr.i[0] : 0]);
}

const rc_op rc_op_gru_cell_grad = {.name = "gru_cell_grad", .arity = 3, .infer = infer_grad, .forward = grad_fwd,
                                   .reference = grad_ref, .label = grad_label};

rc_node *rc_gru_step_fused(rc_graph *g, rc_node *xp, rc_node *hu, rc_node *h) {
    rc_node *in[3] = {xp, hu, h};
    return rc_node_make(g, &rc_op_gru_cell, in, 3, NULL, "gru_cell");
}
