/* Training losses with masks and sample weights against the Keras 3
 * "sum_over_batch_size" formulas computed here in double:
 *   no mask:  sum(L w) / numel(L)
 *   mask m:   sum(L w m) / (sum(m) * numel(L) / numel(m)), 0 if sum(m) = 0
 * Float tolerance 1e-6 relative: a handful of float ops on values O(1),
 * summed over <= 24 elements in double inside the kernels. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

enum { B = 2, T = 3, C = 4 };

static const float logits_v[B * T * C] = {0.5f, -1.0f, 2.0f, 0.1f,  1.5f, 0.2f, -0.3f, 0.0f, -2.0f, 1.0f, 0.4f, 0.9f,
                                          0.3f, 0.3f,  0.3f, -1.2f, 2.5f, -0.5f, 0.7f, 1.1f, 0.0f,  -0.8f, 1.6f, -1.4f};
static const int32_t ids_v[B * T] = {2, 0, 1, 3, 0, 2};
static const float mask_v[B * T] = {1, 1, 0, 1, 0, 0};
static const float sw_b[B] = {0.5f, 2.0f};

static double lse(const float *x) {
    double m = x[0], z = 0;
    for (int c = 1; c < C; c++) m = fmax(m, x[c]);
    for (int c = 0; c < C; c++) z += exp(x[c] - m);
    return m + log(z);
}

static double reduce_ref(const double *L, const float *w_b, const float *m) {
    double num = 0, msum = 0;
    for (int i = 0; i < B * T; i++) {
        double w = w_b ? w_b[i / T] : 1.0, mm = m ? m[i] : 1.0;
        num += L[i] * w * mm;
        msum += mm;
    }
    return m ? num / msum : num / (B * T);
}

static float eval1(rc_graph *g, rc_node *loss) {
    float v;
    tu_eval(g, loss, &v);
    return v;
}

Test(loss, sparse_categorical_with_mask_and_per_sample_weights) {
    double L[B * T];
    for (int i = 0; i < B * T; i++) L[i] = lse(logits_v + i * C) - logits_v[i * C + ids_v[i]];
    for (int variant = 0; variant < 4; variant++) {
        rc_graph *g = rc_graph_new();
        rc_node *x = rc_param(g, "logits", RC_SHAPE(B, T, C));
        rc_node_set(x, logits_v);
        rc_node *ids = rc_const_i32(g, RC_SHAPE(B, T), ids_v);
        rc_loss_weights w = {0};
        if (variant & 1) w.mask = rc_const(g, RC_SHAPE(B, T), mask_v);
        if (variant & 2) w.sample_weight = rc_const(g, RC_SHAPE(B), sw_b);
        rc_node *loss = rc_loss_sparse_categorical_xent_logits(g, x, ids, &w);
        double want = reduce_ref(L, variant & 2 ? sw_b : NULL, variant & 1 ? mask_v : NULL);
        float got = eval1(g, loss);
        cr_assert_float_eq(got, want, 1e-6 * fabs(want), "variant %d: %.9g, want %.9g", variant, got, want);
        tu_check_gradients(g, loss, &x, 1, 0, 0);
        rc_graph_free(g);
    }
}

/* Masked steps contribute nothing: changing their logits changes neither
 * the loss nor (via the gradient check above) the gradient. */
Test(loss, masked_steps_do_not_contribute) {
    float moved[B * T * C];
    memcpy(moved, logits_v, sizeof moved);
    for (int c = 0; c < C; c++) moved[2 * C + c] += 5.0f; /* (b0, t2) is masked */
    float out[2];
    for (int k = 0; k < 2; k++) {
        rc_graph *g = rc_graph_new();
        rc_node *x = rc_const(g, RC_SHAPE(B, T, C), k ? moved : logits_v);
        rc_loss_weights w = {.mask = rc_const(g, RC_SHAPE(B, T), mask_v)};
        out[k] = eval1(g, rc_loss_sparse_categorical_xent_logits(g, x, rc_const_i32(g, RC_SHAPE(B, T), ids_v), &w));
        rc_graph_free(g);
    }
    cr_assert_eq(out[0], out[1], "%.9g vs %.9g", out[0], out[1]);
}

Test(loss, categorical_dense_labels_with_full_shape_weights) {
    float labels[B * T * C] = {0}, sw[B * T];
    double L[B * T];
    for (int i = 0; i < B * T; i++) {
        labels[i * C + ids_v[i]] = 0.75f;
        labels[i * C + (ids_v[i] + 1) % C] = 0.25f;
        sw[i] = 0.25f * (float)(i + 1);
        double l = lse(logits_v + i * C);
        L[i] = 0.75 * (l - logits_v[i * C + ids_v[i]]) + 0.25 * (l - logits_v[i * C + (ids_v[i] + 1) % C]);
    }
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "logits", RC_SHAPE(B, T, C));
    rc_node_set(x, logits_v);
    rc_loss_weights w = {.sample_weight = rc_const(g, RC_SHAPE(B, T), sw)};
    rc_node *loss = rc_loss_categorical_xent_logits(g, x, rc_const(g, RC_SHAPE(B, T, C), labels), &w);
    double want = 0;
    for (int i = 0; i < B * T; i++) want += L[i] * sw[i];
    want /= B * T;
    float got = eval1(g, loss);
    cr_assert_float_eq(got, want, 1e-6 * want, "%.9g, want %.9g", got, want);
    tu_check_gradients(g, loss, &x, 1, 0, 0);
    rc_graph_free(g);
}

/* Keras' mse and binary cross-entropy average over the last axis first;
 * a mask of shape (B) against a per-element loss (B, T) counts each
 * valid row T times: sum(L m) / (sum(m) * T). */
Test(loss, mse_and_binary_with_prefix_mask) {
    const float mrow[B] = {1, 0};
    float target[B * T * C];
    for (int i = 0; i < B * T * C; i++) target[i] = (float)((i * 7) % 5) / 4.0f; /* in [0, 1] */
    double Lm[B * T], Lb[B * T];
    for (int i = 0; i < B * T; i++) {
        double sm = 0, sb = 0;
        for (int c = 0; c < C; c++) {
            double x = logits_v[i * C + c], z = target[i * C + c];
            sm += (x - z) * (x - z);
            sb += fmax(x, 0) - x * z + log1p(exp(-fabs(x)));
        }
        Lm[i] = sm / C;
        Lb[i] = sb / C;
    }
    for (int kind = 0; kind < 2; kind++) {
        const double *L = kind ? Lb : Lm;
        for (int masked = 0; masked < 2; masked++) {
            rc_graph *g = rc_graph_new();
            rc_node *x = rc_param(g, "pred", RC_SHAPE(B, T, C));
            rc_node_set(x, logits_v);
            rc_node *z = rc_const(g, RC_SHAPE(B, T, C), target);
            rc_loss_weights w = {.mask = masked ? rc_const(g, RC_SHAPE(B), mrow) : NULL};
            rc_node *loss = kind ? rc_loss_binary_xent_logits(g, x, z, &w) : rc_loss_mse(g, x, z, &w);
            double want = 0;
            if (masked) {
                for (int t = 0; t < T; t++) want += L[t];
                want /= T;
            } else {
                for (int i = 0; i < B * T; i++) want += L[i];
                want /= B * T;
            }
            float got = eval1(g, loss);
            cr_assert_float_eq(got, want, 1e-6 * want, "%s masked %d: %.9g, want %.9g", kind ? "bce" : "mse", masked,
                               got, want);
            tu_check_gradients(g, loss, &x, 1, 0, 0);
            rc_graph_free(g);
        }
    }
}

Test(loss, all_masked_gives_zero_loss_and_zero_gradient) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "logits", RC_SHAPE(B, T, C));
    rc_node_set(x, logits_v);
    rc_loss_weights w = {.mask = rc_fill(g, RC_SHAPE(B, T), 0.0f)};
    rc_node *loss = rc_loss_sparse_categorical_xent_logits(g, x, rc_const_i32(g, RC_SHAPE(B, T), ids_v), &w);
    rc_node *grad;
    cr_assert_eq(rc_gradients(g, loss, &x, 1, &grad), RC_OK);
    rc_node *outs[2] = {loss, grad};
    rc_plan *p = rc_plan_new(g, outs, 2);
    cr_assert_not_null(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    cr_assert_eq(rc_plan_f32(p, loss)[0], 0.0f);
    for (int i = 0; i < B * T * C; i++) cr_assert_eq(rc_plan_f32(p, grad)[i], 0.0f, "grad[%d]", i);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(loss, bad_weight_shapes_and_arguments_are_reported) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_param(g, "logits", RC_SHAPE(B, T, C));
    rc_node *ids = rc_const_i32(g, RC_SHAPE(B, T), ids_v);
    rc_loss_weights w = {.mask = rc_fill(g, RC_SHAPE(B, T + 1), 1.0f)};
    cr_assert_null(rc_loss_sparse_categorical_xent_logits(g, x, ids, &w));
    cr_assert(strstr(rc_graph_error(g), "mask") && strstr(rc_graph_error(g), "(2, 4)"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    w = (rc_loss_weights){.sample_weight = rc_fill(g, RC_SHAPE(T), 1.0f)};
    cr_assert_null(rc_loss_sparse_categorical_xent_logits(g, x, ids, &w));
    cr_assert(strstr(rc_graph_error(g), "sample_weight"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_loss_mse(g, x, NULL, NULL));
    cr_assert(strstr(rc_graph_error(g), "target is NULL"), "%s", rc_graph_error(g));
    rc_graph_clear_error(g);
    cr_assert_null(rc_loss_mse(g, rc_param(g, "s", RC_SCALAR), rc_fill(g, RC_SCALAR, 0), NULL));
    cr_assert(strstr(rc_graph_error(g), "scalar"), "%s", rc_graph_error(g));
    rc_graph_free(g);
}
