#include "util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

rc_node *tu_param(rc_graph *g, const char *name, rc_shape s, rc_rng *r, float lo, float hi) {
    rc_node *p = rc_param(g, name, s);
    cr_assert(p, "rc_param failed: %s", rc_graph_error(g));
    rc_rng_fill_uniform(r, rc_node_data(p), rc_node_numel(p), lo, hi);
    return p;
}

rc_node *tu_const(rc_graph *g, rc_shape s, rc_rng *r, float lo, float hi) {
    rc_node *c = rc_const(g, s, NULL);
    cr_assert(c, "rc_const failed: %s", rc_graph_error(g));
    rc_rng_fill_uniform(r, rc_node_data(c), rc_node_numel(c), lo, hi);
    return c;
}

rc_node *tu_weighted_sum(rc_graph *g, rc_node *y, rc_rng *r) {
    rc_node *w = tu_const(g, rc_node_shape(y), r, -1.0f, 1.0f);
    return rc_sum(g, rc_mul(g, y, w), RC_ALL_AXES, false);
}

void tu_assert_ok(rc_graph *g) {
    cr_assert(rc_graph_error(g) == NULL, "graph error: %s", rc_graph_error(g));
}

void tu_check_forward(rc_graph *g, rc_node *y, double atol, double rtol) {
    tu_assert_ok(g);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "plan: %s", rc_graph_error(g));
    rc_error run_err;
    cr_assert_eq(rc_plan_run(p, &run_err), RC_OK, "run: %s", run_err.message);
    rc_refeval *r = rc_refeval_new(g, &y, 1);
    cr_assert(r, "refeval: %s", rc_graph_error(g));
    cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
    int64_t n = rc_node_numel(y);
    if (rc_node_dtype(y) == RC_I32) {
        const int32_t *a = rc_plan_data(p, y), *b = rc_refeval_i32(r, y);
        for (int64_t i = 0; i < n; i++) cr_assert_eq(a[i], b[i], "element %lld", (long long)i);
    } else {
        const float *a = rc_plan_f32(p, y);
        const double *b = rc_refeval_f64(r, y);
        for (int64_t i = 0; i < n; i++) {
            double err = fabs((double)a[i] - b[i]);
            cr_assert(err <= atol + rtol * fabs(b[i]),
                      "%s: element %lld: float32 %.9g vs reference %.17g (err %.3g > %.3g + %.3g*|ref|)",
                      rc_node_op_name(y), (long long)i, (double)a[i], b[i], err, atol, rtol);
        }
    }
    rc_refeval_free(r);
    rc_plan_free(p);
}

void tu_check_gradients(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n, double atol,
                        double rtol) {
    tu_assert_ok(g);
    rc_gradcheck_opts o = {.atol = atol, .rtol = rtol};
    rc_gradcheck_result res;
    int before = rc_graph_node_count(g);
    rc_status s = rc_gradcheck(g, loss, wrt, n, &o, &res);
    cr_assert_eq(rc_graph_node_count(g), before, "gradcheck left %d nodes behind",
                 rc_graph_node_count(g) - before);
    cr_assert(s == RC_OK,
              "gradcheck: %s (%s); %lld of %lld failed; worst: wrt[%d] '%s' element %lld analytic %.12g "
              "numeric %.12g (max abs %.3g, max rel %.3g)",
              rc_status_str(s), rc_graph_error(g) ? rc_graph_error(g) : "-", (long long)res.failed,
              (long long)res.checked, res.worst_node,
              res.worst_node >= 0 && res.worst_node < n ? rc_node_name(wrt[res.worst_node]) : "?",
              (long long)res.worst_elem, res.worst_analytic, res.worst_numeric, res.max_abs_err,
              res.max_rel_err);
    cr_assert(res.checked > 0, "gradcheck checked nothing");
}

void tu_eval(rc_graph *g, rc_node *y, float *out) {
    tu_assert_ok(g);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "plan: %s", rc_graph_error(g));
    rc_error err;
    cr_assert_eq(rc_plan_run(p, &err), RC_OK, "run: %s", err.message);
    const float *v = rc_plan_f32(p, y);
    for (int64_t i = 0; i < rc_node_numel(y); i++) out[i] = v[i];
    rc_plan_free(p);
}

void tu_check_same_on_1_and_2_threads(rc_graph *g, rc_node *y) {
    int64_t n = rc_node_numel(y);
    float *one = malloc((size_t)n * sizeof *one), *two = malloc((size_t)n * sizeof *two);
    cr_assert(one && two);
    rc_set_num_threads(1);
    tu_eval(g, y, one);
    rc_set_num_threads(2);
    tu_eval(g, y, two);
    cr_assert(memcmp(one, two, (size_t)n * sizeof *one) == 0, "%s differs on 1 and 2 threads", rc_node_name(y));
    free(one);
    free(two);
}

void tu_check_cell_split_over_threads(rc_node *(*fused)(rc_graph *, rc_node *, rc_node *, rc_node *), int gates,
                                      int planes) {
    int64_t B = 64, H = 128;
    rc_graph *g = rc_graph_new();
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_node *xp = tu_param(g, "xp", RC_SHAPE(B, gates * H), &r, -3, 3);
    rc_node *hu = tu_param(g, "hu", RC_SHAPE(B, gates * H), &r, -3, 3);
    rc_node *st = tu_param(g, "state", RC_SHAPE(B, H), &r, -1, 1);
    rc_node *S = fused(g, xp, hu, st);
    rc_node *last = rc_reshape(g, rc_slice(g, S, 0, planes - 1, planes), RC_SHAPE(B, H));
    rc_node *wrt[3] = {xp, hu, st}, *grads[3], *grads2[3];
    cr_assert_eq(rc_gradients(g, tu_weighted_sum(g, S, &r), wrt, 3, grads), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(rc_gradients(g, tu_weighted_sum(g, last, &r), wrt, 3, grads2), RC_OK, "%s", rc_graph_error(g));
    tu_check_same_on_1_and_2_threads(g, S);
    for (int k = 0; k < 3; k++) {
        tu_check_same_on_1_and_2_threads(g, grads[k]);
        tu_check_same_on_1_and_2_threads(g, grads2[k]);
    }
    tu_check_forward(g, S, 1e-6, 1e-5);
    for (int k = 0; k < 3; k++) tu_check_forward(g, grads[k], 1e-6, 1e-5);
    rc_graph_free(g);
}

bool tu_activation_ref(rc_activation a, const double *x, double *y, int n) {
    const char *name = rc_activation_name(a);
    if (!strcmp(name, "softmax") || !strcmp(name, "log_softmax")) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < n; i++) m = fmax(m, x[i]);
        for (int i = 0; i < n; i++) s += exp(x[i] - m);
        for (int i = 0; i < n; i++) y[i] = name[0] == 's' ? exp(x[i] - m) / s : x[i] - m - log(s);
        return true;
    }
    /* SELU constants and sqrt(2/pi): keras/src/activations/activations.py */
    const double selu_a = 1.6732632423543772848170429916717, selu_s = 1.0507009873554804934193349852946;
    const double c = sqrt(2.0 / M_PI);
    for (int i = 0; i < n; i++) {
        double v = x[i];
        if (!strcmp(name, "tanh")) y[i] = tanh(v);
        else if (!strcmp(name, "sigmoid")) y[i] = 1.0 / (1.0 + exp(-v));
        else if (!strcmp(name, "relu")) y[i] = v > 0 ? v : 0.0;
        else if (!strcmp(name, "linear")) y[i] = v;
        else if (!strcmp(name, "hard_sigmoid")) y[i] = fmin(fmax(v / 6.0 + 0.5, 0.0), 1.0);
        else if (!strcmp(name, "hard_sigmoid_k2")) y[i] = fmin(fmax(0.2 * v + 0.5, 0.0), 1.0);
        else if (!strcmp(name, "exponential")) y[i] = exp(v);
        else if (!strcmp(name, "elu")) y[i] = v > 0 ? v : exp(v) - 1.0;
        else if (!strcmp(name, "selu")) y[i] = selu_s * (v > 0 ? v : selu_a * (exp(v) - 1.0));
        else if (!strcmp(name, "softplus")) y[i] = log(1.0 + exp(v));
        else if (!strcmp(name, "softsign")) y[i] = v / (1.0 + fabs(v));
        else if (!strcmp(name, "silu")) y[i] = v / (1.0 + exp(-v));
        else if (!strcmp(name, "gelu")) y[i] = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
        else if (!strcmp(name, "gelu_tanh")) y[i] = 0.5 * v * (1.0 + tanh(c * (v + 0.044715 * v * v * v)));
        else return false;
    }
    return true;
}

char tu_tmpdir[64];

void tu_tmpdir_setup(void) {
    snprintf(tu_tmpdir, sizeof tu_tmpdir, "/tmp/recur-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tu_tmpdir));
}

void tu_tmpdir_teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tu_tmpdir);
    cr_assert_eq(system(cmd), 0);
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    cr_assert_geq(n, 0, "cannot size %s", path);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n, "cannot read %s", path);
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

const char *tu_write_tmp(const char *name, const void *data, size_t n) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}
