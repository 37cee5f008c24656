/* Language models (recur/lm.h) on a tiny corpus: the demo's model as an
 * ordinary rc_model, the evaluation protocol (windows at
 * round(linspace(0, len - T - 1, N)), each from a zero state, mean
 * cross-entropy over the N*T predictions) against a token-by-token run with
 * explicit states, the exact ln V of an all-zero model, PyTorch's
 * initialisation ranges, training lowering the loss, and the errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <recur.h>

enum { N = 300, WINDOWS = 7, T = 10 };

static rc_corpus corpus;
static rc_model *model;
static rc_graph *g;

static void setup(void) {
    int32_t tok[N];
    rc_rng r;
    rc_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) tok[i] = (int32_t)(i % 3 ? rc_rng_below(&r, 40) : 32);
    rc_error e = {0};
    cr_assert_eq(rc_corpus_from_tokens(&corpus, tok, N, 256, 0.5, &e), RC_OK);
    rc_lm_config cfg = {.cell = RC_LM_LSTM, .vocab = 256, .embed = 4, .units = 8, .layers = 2};
    model = rc_lm_model_new(&cfg);
    g = rc_graph_new();
    cr_assert(model && g);
}

static void teardown(void) {
    rc_model_free(model);
    rc_graph_free(g);
    rc_corpus_free(&corpus);
}

/* The first branch builds the weights; then PyTorch's initialisation. */
static void build(void) {
    rc_rng r;
    rc_rng_seed(&r, 3);
    rc_lm_branch br;
    cr_assert_eq(rc_lm_init_torch(model, &r), RC_ERR_STATE, "not built yet");
    cr_assert_eq(rc_lm_branch_new(model, g, 2, T, false, &r, &br), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(rc_lm_init_torch(model, &r), RC_OK);
}

static double eval_with_batch(int64_t B) {
    rc_lm_branch br;
    cr_assert_eq(rc_lm_branch_new(model, g, B, T, false, NULL, &br), RC_OK, "%s", rc_graph_error(g));
    rc_plan *p = rc_plan_new(g, &br.xent, 1);
    cr_assert_not_null(p);
    double nats = NAN;
    rc_error e = {0};
    cr_assert_eq(rc_lm_eval(&br, p, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), WINDOWS, &nats, &e),
                 RC_OK, "%s", e.message);
    rc_plan_free(p);
    return nats;
}

Test(lm, model_is_a_sequential_of_the_layer_table, .init = setup, .fini = teardown) {
    build();
    static const char *const names[] = {"embedding", "lstm", "lstm_1", "dense"};
    static const char *const types[] = {"Embedding", "LSTM", "LSTM", "Dense"};
    cr_assert_eq(rc_model_layer_count(model), 4);
    for (int i = 0; i < 4; i++) {
        rc_layer_info in;
        cr_assert(rc_model_layer_info(model, i, &in));
        cr_expect_str_eq(in.name, names[i]);
        cr_expect_str_eq(in.type, types[i]);
    }
    /* V*E + (E + U + 1) 4U + (U + U + 1) 4U + U V + V */
    cr_expect_eq(rc_model_param_count(model), 256 * 4 + 13 * 32 + 17 * 32 + 8 * 256 + 256);
    rc_node *p[16];
    cr_assert_eq(rc_model_params(model, p, 16), 9);
    char path[128];
    cr_expect_str_eq(rc_node_path(p[1], path, sizeof path), "charlm/lstm/lstm_cell/kernel");
    /* Explicit states: h and c of both layers, (B, U) each. */
    rc_lm_branch one;
    cr_assert_eq(rc_lm_branch_new(model, g, 1, 1, true, NULL, &one), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(one.nstates, 4);
    for (int k = 0; k < 4; k++) cr_expect(rc_shape_eq(rc_node_shape(one.state_in[k]), RC_SHAPE(1, 8)));
}

Test(lm, torch_init_ranges, .init = setup, .fini = teardown) {
    build();
    rc_node *p[9];
    cr_assert_eq(rc_model_params(model, p, 9), 9);
    /* Embedding N(0, 1): sample variance near 1. */
    const float *e = rc_node_data(p[0]);
    double ss = 0;
    for (int64_t i = 0; i < rc_node_numel(p[0]); i++) ss += (double)e[i] * e[i];
    cr_expect(fabs(ss / (double)rc_node_numel(p[0]) - 1.0) < 0.15, "embedding variance %g", ss / 1024);
    /* LSTM weights in [-k, k], the bias (a sum of two draws) in [-2k, 2k]
     * and beyond k somewhere; Dense in [-1/sqrt(8), 1/sqrt(8)]. */
    float k = 1.0f / sqrtf(8.0f);
    for (int q = 1; q < 9; q++) {
        const float *d = rc_node_data(p[q]);
        bool bias = q == 3 || q == 6;
        float lim = bias ? 2 * k : k, mx = 0;
        for (int64_t i = 0; i < rc_node_numel(p[q]); i++) mx = fmaxf(mx, fabsf(d[i]));
        cr_expect(mx <= lim, "weight %d: |w| %g > %g", q, mx, lim);
        if (bias) cr_expect(mx > k, "bias %d: %g, not a sum of two draws", q, mx);
    }
}

Test(lm, batching_matches_token_by_token, .init = setup, .fini = teardown) {
    build();
    /* Token by token with a (1, 1) branch with explicit states, from zero
     * states per window: also checks that each evaluation window starts
     * from a zero state. */
    rc_lm_branch one;
    cr_assert_eq(rc_lm_branch_new(model, g, 1, 1, true, NULL, &one), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(one.nstates, 4);
    rc_node *outs[1 + RC_LM_MAX_STATES] = {one.xent};
    for (int k = 0; k < one.nstates; k++) outs[1 + k] = one.state_out[k];
    rc_plan *p = rc_plan_new(g, outs, 1 + one.nstates);
    cr_assert_not_null(p);
    int64_t starts[WINDOWS];
    cr_assert_eq(rc_eval_starts(rc_corpus_val_len(&corpus), T, WINDOWS, starts, NULL), RC_OK);
    const int32_t *val = rc_corpus_val(&corpus);
    double total = 0;
    for (int w = 0; w < WINDOWS; w++) {
        rc_lm_reset_states(&one);
        for (int t = 0; t < T; t++) {
            *(int32_t *)rc_node_data(one.y) = val[starts[w] + t + 1];
            const float *logits;
            cr_assert_eq(rc_lm_feed(&one, p, val[starts[w] + t], &logits, NULL), RC_OK);
            total += rc_plan_f32(p, one.xent)[0];
        }
    }
    rc_plan_free(p);
    double want = total / (WINDOWS * T);
    cr_expect(want > 1.0, "an untrained model's loss %g is near ln 256", want);
    /* 7 windows in one batch, in batches of 3 (the last padded), one at a time. */
    static const int64_t batches[] = {7, 3, 1, 16};
    for (int i = 0; i < 4; i++) {
        double got = eval_with_batch(batches[i]);
        cr_expect(fabs(got - want) <= 1e-5 * want, "batch %lld: %.8f, token by token %.8f", (long long)batches[i], got,
                  want);
    }
}

Test(lm, zero_model_scores_ln_vocab, .init = setup, .fini = teardown) {
    build();
    rc_lm_branch br;
    cr_assert_eq(rc_lm_branch_new(model, g, 3, T, false, NULL, &br), RC_OK);
    rc_node *p[9];
    for (int i = 0; i < rc_model_params(model, p, 9); i++)
        memset(rc_node_data(p[i]), 0, (size_t)rc_node_numel(p[i]) * sizeof(float));
    rc_plan *plan = rc_plan_new(g, &br.xent, 1);
    double nats;
    rc_error e = {0};
    cr_assert_eq(rc_lm_eval(&br, plan, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), WINDOWS, &nats, &e),
                 RC_OK);
    cr_expect(fabs(nats - log(256.0)) < 1e-5, "%.8f vs ln 256 = %.8f", nats, log(256.0));
    /* A split shorter than one window is an error with a message. */
    cr_expect_eq(rc_lm_eval(&br, plan, rc_corpus_val(&corpus), T, WINDOWS, &nats, &e), RC_ERR_ARG);
    cr_expect(strstr(e.message, "too short") != NULL, "%s", e.message);
    rc_plan_free(plan);
}

/* The protocol split over ranks (rc_lm_eval_range): the parts' sums add up
 * to count * T * the mean, whatever the split and the batch. */
Test(lm, eval_range_parts_add_up_to_the_whole, .init = setup, .fini = teardown) {
    build();
    double whole = eval_with_batch(3);
    rc_lm_branch br;
    cr_assert_eq(rc_lm_branch_new(model, g, 2, T, false, NULL, &br), RC_OK, "%s", rc_graph_error(g));
    rc_plan *p = rc_plan_new(g, &br.xent, 1);
    rc_error e = {0};
    const int64_t cuts[][4] = {{0, 3, 7, 7}, {0, 0, 1, 7}, {0, 5, 6, 7}};
    for (int k = 0; k < 3; k++) {
        double total = 0;
        for (int r = 0; r < 3; r++) {
            double sum = -1;
            cr_assert_eq(rc_lm_eval_range(&br, p, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), WINDOWS,
                                          cuts[k][r], cuts[k][r + 1] - cuts[k][r], &sum, &e), RC_OK, "%s", e.message);
            if (cuts[k][r + 1] == cuts[k][r]) cr_expect_eq(sum, 0.0, "an empty range sums to 0");
            total += sum;
        }
        cr_expect(fabs(total / (WINDOWS * T) - whole) < 1e-6 * whole, "split %d: %.9f vs %.9f", k,
                  total / (WINDOWS * T), whole);
    }
    double sum;
    cr_expect_eq(rc_lm_eval_range(&br, p, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), WINDOWS, 5, 3, &sum, &e),
                 RC_ERR_ARG);
    cr_expect(strstr(e.message, "outside [0, 7)") != NULL, "%s", e.message);
    rc_plan_free(p);
}

Test(lm, training_lowers_the_loss, .init = setup, .fini = teardown) {
    rc_rng r;
    rc_rng_seed(&r, 5);
    rc_lm_branch tb;
    cr_assert_eq(rc_lm_branch_new(model, g, 8, T, false, &r, &tb), RC_OK, "%s", rc_graph_error(g));
    rc_node *p[9];
    int np = rc_model_params(model, p, 9);
    rc_optim_config oc = rc_optim_defaults(RC_OPT_ADAM);
    oc.lr.initial = 0.02;
    rc_trainer_spec spec = {.loss = tb.loss, .params = p, .nparams = np, .optim = oc};
    rc_trainer *t = rc_trainer_new(g, &spec);
    cr_assert_not_null(t, "%s", rc_graph_error(g));
    float first = 0, last = 0;
    rc_error e = {0};
    for (int s = 0; s < 60; s++) {
        cr_assert_eq(rc_corpus_windows(&corpus, &r, 8, T, rc_node_data(tb.x), rc_node_data(tb.y), NULL, NULL), RC_OK);
        cr_assert_eq(rc_trainer_step(t, s ? &last : &first, &e), RC_OK, "%s", e.message);
    }
    /* Every third token is a space: far below ln 256 = 5.5 soon. */
    cr_expect(last < first - 1.5, "loss %g -> %g", first, last);
    rc_trainer_free(t);
}

Test(lm, sampling) {
    rc_rng r;
    rc_rng_seed(&r, 1);
    float z[4] = {0, 0, 30, 0};
    for (int i = 0; i < 20; i++) cr_expect_eq(rc_lm_sample(z, 4, 1.0, &r), 2);
    /* Equal logits: every token turns up. */
    float u[4] = {1, 1, 1, 1};
    int seen[4] = {0};
    for (int i = 0; i < 400; i++) seen[rc_lm_sample(u, 4, 0.5, &r)]++;
    for (int i = 0; i < 4; i++) cr_expect(seen[i] > 50, "token %d: %d of 400", i, seen[i]);
}

Test(lm, errors, .init = setup, .fini = teardown) {
    cr_expect_null(rc_lm_model_new(&(rc_lm_config){.cell = RC_LM_GRU, .vocab = 5, .embed = 0, .units = 3, .layers = 1}));
    cr_expect_null(rc_lm_model_new(NULL));
    /* Logits that are not (B, T, V). */
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2, 3));
    rc_node *flat = rc_input(g, "flat", RC_F32, RC_SHAPE(2, 7));
    rc_lm_branch br;
    cr_expect_eq(rc_lm_branch_on(g, ids, flat, &br), RC_ERR_SHAPE);
    cr_expect(strstr(rc_graph_error(g), "logits must be float32 (2, 3, V)") != NULL, "%s", rc_graph_error(g));
    /* A Bidirectional layer cannot be fed one token at a time. */
    rc_model *bm = rc_model_new("bi");
    rc_cell_config cc = rc_cell_defaults(3);
    rc_rnn_config fw = {.return_sequences = true}, bw = {.return_sequences = true, .go_backwards = true};
    cr_assert_eq(rc_model_add_embedding(bm, rc_embedding_new("embedding", 5, 2, false)), RC_OK);
    cr_assert_eq(rc_model_add_bidir(bm, rc_bidir_new("bidirectional", rc_rnn_new("fw", rc_gru_cell_new(&cc), &fw, NULL),
                                                     rc_rnn_new("bw", rc_gru_cell_new(&cc), &bw, NULL), RC_MERGE_CONCAT, NULL)),
                 RC_OK);
    rc_graph *h = rc_graph_new();
    cr_expect_eq(rc_lm_branch_new(bm, h, 1, 1, true, NULL, &br), RC_ERR_ARG);
    cr_expect(strstr(rc_graph_error(h), "'bidirectional' (Bidirectional) reads later tokens") != NULL, "%s",
              rc_graph_error(h));
    rc_model_free(bm);
    rc_graph_free(h);
}
