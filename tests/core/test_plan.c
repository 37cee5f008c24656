/* The planner: only needed nodes, buffer reuse, views, no allocation while
 * running, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

#define MIB ((size_t)1 << 20)

Test(plan, chain_of_100_one_mib_nodes_peaks_at_two_buffers) {
    rc_graph *g = rc_graph_new();
    const int64_t n = MIB / sizeof(float);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(n)), *y = x;
    for (int i = 0; i < 100; i++) y = (i % 2) ? rc_tanh(g, y) : rc_scale(g, y, 0.5f);
    rc_plan *p = rc_plan_new(g, &y, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_steps(p), 100);
    /* each value dies when its successor is computed: two live buffers */
    cr_assert_leq(rc_plan_peak_bytes(p), 3 * MIB, "peak %zu", rc_plan_peak_bytes(p));
    cr_assert_eq(rc_plan_peak_bytes(p), 2 * MIB);
    float *xv = rc_node_data(x);
    for (int64_t i = 0; i < n; i++) xv[i] = (float)(i % 7) - 3.0f;
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    const float *yv = rc_plan_f32(p, y);
    double ref = (double)xv[5];
    for (int i = 0; i < 100; i++) ref = (i % 2) ? tanh(ref) : 0.5 * ref;
    cr_assert_float_eq(yv[5], ref, 1e-6);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(plan, only_needed_nodes_run) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(4));
    rc_node *a = rc_tanh(g, x);
    rc_node *unused = rc_exp(g, a);
    (void)unused;
    rc_node *b = rc_sigmoid(g, a);
    rc_plan *p = rc_plan_new(g, &b, 1);
    cr_assert_eq(rc_plan_steps(p), 2);
    cr_assert_null(rc_plan_f32(p, a), "intermediate values are not readable");
    cr_assert_not_null(rc_plan_f32(p, b));
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(plan, reshape_is_a_view_and_runs_no_kernel) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3));
    rc_node *t = rc_tanh(g, x);
    rc_node *r = rc_reshape(g, t, RC_SHAPE(3, 2));
    rc_node *y = rc_scale(g, r, 2.0f);
    rc_node *outs[2] = {y, r};
    rc_plan *p = rc_plan_new(g, outs, 2);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_steps(p), 2);
    float v[6] = {0, 1, 2, -1, -2, 0.5f};
    rc_node_set(x, v);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    for (int i = 0; i < 6; i++) {
        cr_assert_float_eq(rc_plan_f32(p, r)[i], tanhf(v[i]), 1e-6);
        cr_assert_float_eq(rc_plan_f32(p, y)[i], 2 * tanhf(v[i]), 1e-6);
    }
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(plan, runs_again_with_new_input_data) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(3));
    rc_node *y = rc_sum(g, rc_square(g, x), RC_ALL_AXES, false);
    rc_plan *p = rc_plan_new(g, &y, 1);
    rc_node_set(x, (float[]){1, 2, 3});
    rc_plan_run(p, NULL);
    cr_assert_eq(rc_plan_f32(p, y)[0], 14.0f);
    rc_node_set(x, (float[]){0, 0, 4});
    rc_plan_run(p, NULL);
    cr_assert_eq(rc_plan_f32(p, y)[0], 16.0f);
    rc_plan_free(p);
    rc_graph_free(g);
}

/* A training step of an MLP with an embedding: matmul (BLAS), gather,
 * softmax cross-entropy, reductions, gradients and SGD updates. */
typedef struct train_graph {
    rc_graph *g;
    rc_node *ids, *labels, *loss;
    rc_node *outs[8];
    int nouts;
} train_graph;

static train_graph make_train(void) {
    train_graph t = {.g = rc_graph_new()};
    rc_graph *g = t.g;
    rc_rng r;
    rc_rng_seed(&r, 7);
    t.ids = rc_input(g, "ids", RC_I32, RC_SHAPE(16, 5));
    t.labels = rc_input(g, "labels", RC_I32, RC_SHAPE(16));
    rc_node *emb = tu_param(g, "emb", RC_SHAPE(50, 8), &r, -0.1f, 0.1f);
    rc_node *w = tu_param(g, "w", RC_SHAPE(8, 10), &r, -0.3f, 0.3f);
    rc_node *b = tu_param(g, "b", RC_SHAPE(10), &r, -0.1f, 0.1f);
    rc_node *e = rc_mean(g, rc_gather(g, emb, t.ids), 1, false); /* (16, 8) */
    rc_node *logits = rc_add(g, rc_matmul(g, rc_tanh(g, e), w, false, false), b);
    t.loss = rc_mean(g, rc_sparse_softmax_xent(g, logits, t.labels), RC_ALL_AXES, false);
    rc_node *params[3] = {emb, w, b}, *grads[3];
    cr_assert_eq(rc_gradients(g, t.loss, params, 3, grads), RC_OK, "%s", rc_graph_error(g));
    t.outs[t.nouts++] = t.loss;
    for (int i = 0; i < 3; i++) t.outs[t.nouts++] = rc_apply_gradient_descent(g, params[i], grads[i], 0.5f);
    int32_t *iv = rc_node_data(t.ids), *lv = rc_node_data(t.labels);
    for (int i = 0; i < 80; i++) iv[i] = (int32_t)rc_rng_below(&r, 50);
    for (int i = 0; i < 16; i++) lv[i] = iv[i * 5] % 10;
    tu_assert_ok(g);
    return t;
}

Test(plan, training_step_reuses_memory_and_lowers_the_loss) {
    train_graph t = make_train();
    rc_plan *p = rc_plan_new(t.g, t.outs, t.nouts);
    cr_assert(p, "%s", rc_graph_error(t.g));
    size_t all = 0;
    for (int id = 0; id < rc_graph_node_count(t.g); id++) {
        rc_node *n = rc_graph_node(t.g, id);
        if (!rc_node_is_leaf(n)) all += (size_t)rc_node_numel(n) * 4;
    }
    cr_assert_lt(rc_plan_peak_bytes(p), all, "peak %zu should be below the sum of all values %zu",
                 rc_plan_peak_bytes(p), all);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    float first = rc_plan_f32(p, t.loss)[0];
    for (int i = 0; i < 200; i++) rc_plan_run(p, NULL);
    float last = rc_plan_f32(p, t.loss)[0];
    cr_assert_lt(last, first * 0.5f, "loss %g -> %g", first, last);
    rc_plan_free(p);
    rc_graph_free(t.g);
}

Test(plan, run_makes_no_library_allocation) {
    train_graph t = make_train();
    rc_plan *p = rc_plan_new(t.g, t.outs, t.nouts);
    cr_assert(p);
    rc_plan_run(p, NULL);
    uint64_t before = rc_alloc_count();
    for (int i = 0; i < 5; i++) cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    cr_assert_eq(rc_alloc_count(), before, "rc_plan_run allocated");
    rc_plan_free(p);
    rc_graph_free(t.g);
}

/* ASan owns malloc in sanitizer builds; the counter test above still runs. */
#ifndef __SANITIZE_ADDRESS__
/* Count every malloc-family call made on this thread while `counting` is
 * set, whoever makes it (recur, libc, OpenBLAS on the calling thread). The
 * executable's definitions interpose glibc's for the whole process. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static __thread int counting;
static __thread long counted;
void *malloc(size_t n) { counted += counting; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { counted += counting; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { counted += counting; return __libc_realloc(p, n); }
void *aligned_alloc(size_t al, size_t n) { counted += counting; return __libc_memalign(al, n); }
int posix_memalign(void **out, size_t al, size_t n) {
    counted += counting;
    *out = __libc_memalign(al, n);
    return *out ? 0 : 12;
}
void free(void *p) { __libc_free(p); }

Test(plan, run_calls_no_malloc_at_all) {
    train_graph t = make_train();
    rc_plan *p = rc_plan_new(t.g, t.outs, t.nouts);
    cr_assert(p);
    rc_plan_run(p, NULL); /* warm-up: BLAS may set up its buffers once */
    counting = 1; /* the counter itself works (volatile: clang may elide a
                     malloc/free pair it can see) */
    void *volatile probe = malloc(16);
    free(probe);
    counting = 0;
    cr_assert_eq(counted, 1);
    counted = 0;
    counting = 1;
    for (int i = 0; i < 5; i++) rc_plan_run(p, NULL);
    counting = 0;
    cr_assert_eq(counted, 0, "%ld malloc-family calls during rc_plan_run", counted);
    rc_plan_free(p);
    rc_graph_free(t.g);
}
#endif

Test(plan, out_of_range_id_stops_the_run_with_a_message) {
    train_graph t = make_train();
    rc_plan *p = rc_plan_new(t.g, t.outs, t.nouts);
    ((int32_t *)rc_node_data(t.ids))[3] = 50;
    rc_error err;
    cr_assert_eq(rc_plan_run(p, &err), RC_ERR_ARG);
    cr_assert_eq(err.code, RC_ERR_ARG);
    cr_assert_str_eq(err.where, "rc_plan_run");
    cr_assert(strstr(err.message, "gather at 'gather'"), "%s", err.message);
    ((int32_t *)rc_node_data(t.ids))[3] = 1;
    cr_assert_eq(rc_plan_run(p, &err), RC_OK);
    rc_plan_free(p);
    rc_graph_free(t.g);
}

Test(plan, side_effect_output_cannot_be_used) {
    rc_graph *g = rc_graph_new();
    rc_node *w = rc_param(g, "w", RC_SHAPE(2));
    rc_node *u = rc_apply_gradient_descent(g, w, rc_fill(g, RC_SHAPE(2), 1.0f), 0.1f);
    rc_node *bad = rc_add_scalar(g, u, 1.0f);
    cr_assert_null(rc_plan_new(g, &bad, 1));
    cr_assert(strstr(rc_graph_error(g), "uses the output of side-effect op sgd_update"), "%s",
              rc_graph_error(g));
    rc_graph_free(g);
}

Test(plan, bad_arguments_are_errors) {
    rc_graph *g = rc_graph_new();
    cr_assert_null(rc_plan_new(g, NULL, 1));
    cr_assert(strstr(rc_graph_error(g), "outputs array is NULL"));
    rc_graph_clear_error(g);
    rc_node *none = NULL;
    cr_assert_null(rc_plan_new(g, &none, 1));
    cr_assert(strstr(rc_graph_error(g), "output 0 is NULL"));
    cr_assert_eq(rc_plan_run(NULL, NULL), RC_ERR_ARG);
    rc_plan_free(NULL);
    rc_graph_free(g);
}

/* --- hooks ------------------------------------------------------------------ */

typedef struct hook_log {
    char ev[16][16];
    float seen[16];
    int n;
    rc_plan *p;
} hook_log;

static rc_status log_ready(void *u, const rc_node *n, void *data, rc_error *err) {
    hook_log *l = u;
    snprintf(l->ev[l->n], sizeof l->ev[0], "ready %s", rc_node_name(n));
    l->seen[l->n++] = ((float *)data)[0];
    return RC_OK;
}

static rc_status log_needed(void *u, const rc_node *n, void *data, rc_error *err) {
    hook_log *l = u;
    snprintf(l->ev[l->n], sizeof l->ev[0], "need %s", rc_node_name(n));
    l->seen[l->n++] = ((float *)data)[0];
    ((float *)data)[0] *= 10.0f; /* rewritten in place before its reader */
    return RC_OK;
}

static rc_status fail_hook(void *u, const rc_node *n, void *data, rc_error *err) {
    return rc_error_set(err, RC_ERR_IO, "test", "the hook on '%s' failed", rc_node_name(n));
}

Test(plan, hooks_fire_when_a_value_is_final_and_before_its_first_reader) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2));
    rc_node *a = rc_scale(g, x, 2.0f);       /* step 0 */
    rc_node *b = rc_tanh(g, x);              /* step 1 */
    rc_node *ar = rc_reshape(g, a, RC_SHAPE(1, 2)); /* a view of a */
    rc_node *c = rc_scale(g, ar, 3.0f);      /* step 2: first reader of a (through the view) */
    rc_node *d = rc_add(g, b, rc_reshape(g, c, RC_SHAPE(2))); /* step 3 */
    rc_plan *p = rc_plan_new(g, &d, 1);
    cr_assert(p, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_steps(p), 4);
    rc_node_set(x, (float[]){0.5f, 1.0f});
    hook_log l = {.p = p};
    rc_error e;
    cr_assert_eq(rc_plan_on_needed(p, a, log_needed, &l, &e), RC_OK, "%s", e.message);
    cr_assert_eq(rc_plan_on_ready(p, ar, log_ready, &l, &e), RC_OK, "%s", e.message); /* = a's kernel */
    cr_assert_eq(rc_plan_on_ready(p, x, log_ready, &l, &e), RC_OK, "%s", e.message);  /* a leaf: first */
    cr_assert_eq(rc_plan_on_needed(p, d, log_needed, &l, &e), RC_OK, "%s", e.message); /* nothing reads d: last */
    cr_assert_eq(rc_plan_run(p, &e), RC_OK, "%s", e.message);
    cr_assert_eq(l.n, 4);
    cr_assert_str_eq(l.ev[0], "ready x");
    cr_assert_str_eq(l.ev[1], "ready reshape");
    cr_assert_str_eq(l.ev[2], "need scale");
    cr_assert_str_eq(l.ev[3], "need add");
    cr_assert_float_eq(l.seen[1], 1.0f, 0);     /* a = 2x, final */
    /* the needed hook multiplied a[0] by 10 before c read it */
    float want = tanhf(0.5f) + 3.0f * 10.0f;
    cr_assert_float_eq(l.seen[3], want, 1e-6f);
    cr_assert_float_eq(rc_plan_f32(p, d)[0], 10.0f * want, 1e-5f);
    /* a second run fires them again, in the same order */
    l.n = 0;
    cr_assert_eq(rc_plan_run(p, &e), RC_OK);
    cr_assert_eq(l.n, 4);
    cr_assert_str_eq(l.ev[2], "need scale");
    rc_plan_clear_hooks(p);
    l.n = 0;
    cr_assert_eq(rc_plan_run(p, &e), RC_OK);
    cr_assert_eq(l.n, 0);
    cr_assert_float_eq(rc_plan_f32(p, d)[0], tanhf(0.5f) + 3.0f, 1e-6f);
    rc_plan_free(p);
    rc_graph_free(g);
}

Test(plan, a_failing_hook_stops_the_run_and_bad_hooks_are_refused) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2));
    rc_node *a = rc_scale(g, x, 2.0f);
    rc_node *unused = rc_exp(g, x);
    rc_node *b = rc_tanh(g, a);
    rc_plan *p = rc_plan_new(g, &b, 1);
    rc_error e;
    cr_assert_eq(rc_plan_on_ready(p, unused, log_ready, NULL, &e), RC_ERR_ARG);
    cr_assert(strstr(e.message, "not computed or read by this plan"), "%s", e.message);
    cr_assert_eq(rc_plan_on_ready(p, a, NULL, NULL, &e), RC_ERR_ARG);
    cr_assert_eq(rc_plan_on_ready(p, a, fail_hook, NULL, &e), RC_OK);
    cr_assert_eq(rc_plan_run(p, &e), RC_ERR_IO);
    cr_assert_str_eq(e.message, "the hook on 'scale' failed");
    rc_plan_free(p);
    rc_graph_free(g);
}

/* Packed operands (core/plan.c): a weight read by the product of every
 * step, forward (h U) and backward (dz Uᵀ), is packed once per run by the
 * first reader of each group into one buffer the groups share, and read
 * packed. Values agree with the double reference; the arena holds one
 * packed copy (40 columns padded to 64, K = 40) more than the unpacked
 * plan's; an on_needed hook that rewrites U is seen by the packed readers
 * (packing happens after the hooks before the first reader). Without the
 * small AVX-512 kernel (RECUR_ISA=avx2) nothing is packed and the values
 * still hold. */
static rc_node *unrolled(rc_graph *g, rc_node *U, rc_node *h, int T) {
    for (int t = 0; t < T; t++) h = rc_tanh(g, rc_matmul(g, h, U, false, false));
    return h;
}

static rc_status double_hook(void *u, const rc_node *n, void *data, rc_error *err) {
    (void)u, (void)err;
    float *v = data;
    for (int64_t i = 0; i < rc_shape_numel(rc_node_shape(n)); i++) v[i] *= 2;
    return RC_OK;
}

bool rc_gemm_small_available(void); /* ops/gemm_impl.h */

Test(plan, a_weight_read_by_every_step_is_packed_once_and_read_packed) {
    enum { B = 8, H = 40, T = 6 };
    rc_rng r;
    rc_rng_seed(&r, 21);
    rc_graph *g = rc_graph_new();
    rc_node *U = tu_param(g, "U", RC_SHAPE(H, H), &r, -0.3f, 0.3f);
    rc_node *h0 = tu_const(g, RC_SHAPE(B, H), &r, -1, 1);
    rc_node *hT = unrolled(g, U, h0, T);
    rc_node *loss = tu_weighted_sum(g, hT, &r), *dU;
    cr_assert_eq(rc_gradients(g, loss, &U, 1, &dU), RC_OK, "%s", rc_graph_error(g));
    tu_check_forward(g, hT, 1e-5, 1e-5);
    tu_check_forward(g, dU, 1e-5, 1e-4);

    rc_node *outs[2] = {hT, dU};
    rc_plan *packed = rc_plan_new(g, outs, 2);
    cr_assert(packed, "%s", rc_graph_error(g));
    rc_gemm_set_backend(RC_GEMM_NAIVE); /* no packing under the naive backend */
    rc_plan *plain = rc_plan_new(g, outs, 2);
    rc_gemm_set_backend(RC_GEMM_BLAS);
    cr_assert(plain, "%s", rc_graph_error(g));
    /* one copy, shared by the forward and the backward group: at most the
     * copy's bytes more than the plain plan (the arena's layout may hide
     * part of it in a gap) */
    if (rc_gemm_small_available()) {
        size_t a = rc_plan_peak_bytes(packed), b = rc_plan_peak_bytes(plain);
        cr_assert(a > b && a <= b + 64 * H * sizeof(float), "packed %zu, plain %zu", a, b);
    } else
        cr_assert_eq(rc_plan_peak_bytes(packed), rc_plan_peak_bytes(plain));

    /* a hook doubling U before its first reader: the packed readers see 2U */
    rc_error e;
    cr_assert_eq(rc_plan_on_needed(packed, U, double_hook, NULL, &e), RC_OK, "%s", e.message);
    float *u = rc_node_data(U), u0[H * H];
    memcpy(u0, u, sizeof u0);
    cr_assert_eq(rc_plan_run(packed, &e), RC_OK, "%s", e.message);
    float got_h[B * H], got_du[H * H];
    memcpy(got_h, rc_plan_f32(packed, hT), sizeof got_h);
    memcpy(got_du, rc_plan_f32(packed, dU), sizeof got_du);
    for (int i = 0; i < H * H; i++) cr_assert_eq(u[i], 2 * u0[i]);
    rc_plan_clear_hooks(packed);
    cr_assert_eq(rc_plan_run(packed, &e), RC_OK, "%s", e.message); /* U is 2 u0 now, no hook */
    cr_assert(memcmp(got_h, rc_plan_f32(packed, hT), sizeof got_h) == 0);
    cr_assert(memcmp(got_du, rc_plan_f32(packed, dU), sizeof got_du) == 0);
    /* and the unpacked plan agrees to rounding */
    cr_assert_eq(rc_plan_run(plain, &e), RC_OK, "%s", e.message);
    const float *ph = rc_plan_f32(plain, hT), *pdu = rc_plan_f32(plain, dU);
    for (int i = 0; i < B * H; i++) cr_assert_float_eq(got_h[i], ph[i], 1e-5f, "h[%d]", i);
    for (int i = 0; i < H * H; i++) cr_assert_float_eq(got_du[i], pdu[i], 1e-4f * (1 + fabsf(pdu[i])), "dU[%d]", i);
    rc_plan_free(packed);
    rc_plan_free(plain);
    rc_graph_free(g);
}

/* The packing budget (core/plan.c, PACK_BUDGET_PERCENT): a packed copy is
 * made only when it adds at most a fifth to the step's memory (arena +
 * the leaves the steps read). U 256 x 256 read by the products of three
 * steps of batch 32: its copy (256 KiB), alive beside the weight
 * gradient at the step's peak, would add 62 % (688 128 bytes instead of
 * 425 984), so the plan is the unpacked one, byte for byte; over 48 steps
 * of batch 16 the same copy is within the budget and made. */
static size_t last_packed; /* rc_plan_packed_bytes of the last plan made */

static size_t unrolled_plan_bytes(int B, int T, bool blas, float *du) {
    enum { H = 256 };
    rc_rng r;
    rc_rng_seed(&r, 22);
    rc_graph *g = rc_graph_new();
    rc_node *U = tu_param(g, "U", RC_SHAPE(H, H), &r, -0.05f, 0.05f);
    rc_node *hT = unrolled(g, U, tu_const(g, RC_SHAPE(B, H), &r, -1, 1), T);
    rc_node *loss = tu_weighted_sum(g, hT, &r), *dU;
    cr_assert_eq(rc_gradients(g, loss, &U, 1, &dU), RC_OK, "%s", rc_graph_error(g));
    rc_node *outs[2] = {hT, dU};
    rc_gemm_set_backend(blas ? RC_GEMM_BLAS : RC_GEMM_NAIVE);
    rc_plan *p = rc_plan_new(g, outs, 2);
    cr_assert(p, "%s", rc_graph_error(g));
    rc_error e;
    cr_assert_eq(rc_plan_run(p, &e), RC_OK, "%s", e.message);
    rc_gemm_set_backend(RC_GEMM_BLAS);
    memcpy(du, rc_plan_f32(p, dU), H * H * sizeof(float));
    size_t bytes = rc_plan_peak_bytes(p);
    last_packed = rc_plan_packed_bytes(p);
    rc_plan_free(p);
    rc_graph_free(g);
    return bytes;
}

Test(plan, a_packed_copy_is_made_only_within_its_memory_budget) {
    static float du[2][256 * 256];
    size_t few = unrolled_plan_bytes(32, 3, true, du[0]), few_plain = unrolled_plan_bytes(32, 3, false, du[1]);
    cr_assert_eq(few, few_plain, "3 steps of batch 32: packed plan %zu bytes, unpacked %zu", few, few_plain);
    cr_assert_eq(last_packed, 0);
    /* and it runs, reading U where it lies (no packed group left behind) */
    for (int i = 0; i < 256 * 256; i++)
        cr_assert_float_eq(du[0][i], du[1][i], 1e-5f * (1 + fabsf(du[1][i])), "dU[%d]", i);
    size_t many = unrolled_plan_bytes(16, 48, true, du[0]);
    size_t many_packed = last_packed, many_plain = unrolled_plan_bytes(16, 48, false, du[1]);
    if (rc_gemm_small_available()) {
        cr_assert(many > many_plain && many <= many_plain + 256 * 256 * sizeof(float),
                  "48 steps of batch 16: packed plan %zu bytes, unpacked %zu", many, many_plain);
        cr_assert_eq(many_packed, 256 * 256 * sizeof(float));
    } else
        cr_assert_eq(many, many_plain);
    for (int i = 0; i < 256 * 256; i++)
        cr_assert_float_eq(du[0][i], du[1][i], 1e-4f * (1 + fabsf(du[1][i])), "dU[%d]", i);
}

/* Over the budget the largest copy goes first: one plan with U1 (256 x
 * 256, three steps of batch 32: its copy alone is over) and U2 (64 x 64,
 * 48 steps of batch 16) keeps U2's copy (64 x 64 floats) and reads U1
 * where it lies; values as the unpacked plan's. */
Test(plan, over_the_budget_the_largest_copy_is_dropped_first) {
    rc_rng r;
    rc_rng_seed(&r, 23);
    rc_graph *g = rc_graph_new();
    rc_node *U[2] = {tu_param(g, "U1", RC_SHAPE(256, 256), &r, -0.05f, 0.05f),
                     tu_param(g, "U2", RC_SHAPE(64, 64), &r, -0.2f, 0.2f)};
    /* U2's chain first: its groups come first, so only the size order
     * drops U1's copy before U2's */
    rc_node *h2 = unrolled(g, U[1], tu_const(g, RC_SHAPE(16, 64), &r, -1, 1), 48);
    rc_node *h1 = unrolled(g, U[0], tu_const(g, RC_SHAPE(32, 256), &r, -1, 1), 3);
    rc_node *loss = rc_add(g, tu_weighted_sum(g, h1, &r), tu_weighted_sum(g, h2, &r)), *dU[2];
    cr_assert_eq(rc_gradients(g, loss, U, 2, dU), RC_OK, "%s", rc_graph_error(g));
    rc_plan *p = rc_plan_new(g, dU, 2);
    rc_gemm_set_backend(RC_GEMM_NAIVE);
    rc_plan *plain = rc_plan_new(g, dU, 2);
    rc_gemm_set_backend(RC_GEMM_BLAS);
    cr_assert(p && plain, "%s", rc_graph_error(g));
    cr_assert_eq(rc_plan_packed_bytes(p), rc_gemm_small_available() ? 64 * 64 * sizeof(float) : 0);
    cr_assert_eq(rc_plan_packed_bytes(plain), 0);
    rc_error e;
    cr_assert_eq(rc_plan_run(p, &e), RC_OK, "%s", e.message);
    cr_assert_eq(rc_plan_run(plain, &e), RC_OK, "%s", e.message);
    for (int k = 0; k < 2; k++) {
        const float *a = rc_plan_f32(p, dU[k]), *b = rc_plan_f32(plain, dU[k]);
        for (int64_t i = 0; i < rc_shape_numel(rc_node_shape(dU[k])); i++)
            cr_assert_float_eq(a[i], b[i], 1e-4f * (1 + fabsf(b[i])), "dU%d[%lld]", k + 1, (long long)i);
    }
    rc_plan_free(p);
    rc_plan_free(plain);
    rc_graph_free(g);
}
