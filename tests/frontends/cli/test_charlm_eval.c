/* The evaluation protocol of `recur eval` (rc_lm_eval on the CLI's model) on a tiny
 * corpus: windows at round(linspace(0, len - T - 1, N)), each from a zero
 * state, mean cross-entropy over the N*T predictions — checked against a
 * window-by-window computation, across batch sizes that do and do not
 * divide N, and against the exact value ln V of an all-zero model. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "charlm.h"

enum { N = 300, WINDOWS = 7, T = 10 };

static rc_corpus corpus;
static charlm m;

static void setup(void) {
    int32_t tok[N];
    rc_rng r;
    rc_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) tok[i] = (int32_t)(i % 3 ? rc_rng_below(&r, 40) : 32);
    cr_assert_eq(rc_corpus_from_tokens(&corpus, tok, N, 256, 0.5, NULL), RC_OK);
    charlm_config cfg = {.cell = CHARLM_LSTM, .vocab = 256, .embed = 4, .units = 8, .layers = 2,
                         .init = CHARLM_INIT_TORCH};
    cr_assert(charlm_new(&m, &cfg, 3));
}

static void teardown(void) {
    charlm_free(&m);
    rc_corpus_free(&corpus);
}

static double eval_with_batch(int64_t B) {
    charlm_branch br;
    cr_assert_eq(charlm_branch_new(&m, B, T, false, &br), RC_OK, "%s", rc_graph_error(m.g));
    rc_plan *p = rc_plan_new(m.g, &br.xent, 1);
    cr_assert_not_null(p);
    double nats = NAN;
    rc_error e = {0};
    cr_assert_eq(rc_lm_eval(&br, p, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), WINDOWS, &nats, &e),
                 RC_OK, "%s", e.message);
    rc_plan_free(p);
    return nats;
}

Test(charlm_eval, batching_matches_window_by_window, .init = setup, .fini = teardown) {
    /* Window by window with a 1-step-at-a-time stateful branch: feeds every
     * token with explicit states from zero, so it also checks that the
     * unrolled evaluation starts each window from a zero state. */
    charlm_branch one;
    cr_assert_eq(charlm_branch_new(&m, 1, 1, true, &one), RC_OK, "%s", rc_graph_error(m.g));
    rc_node *outs[1 + RC_LM_MAX_STATES] = {one.xent};
    for (int k = 0; k < one.nstates; k++) outs[1 + k] = one.state_out[k];
    rc_plan *p = rc_plan_new(m.g, outs, 1 + one.nstates);
    cr_assert_not_null(p);
    int64_t starts[WINDOWS];
    cr_assert_eq(rc_eval_starts(rc_corpus_val_len(&corpus), T, WINDOWS, starts, NULL), RC_OK);
    const int32_t *val = rc_corpus_val(&corpus);
    double total = 0;
    for (int w = 0; w < WINDOWS; w++) {
        for (int k = 0; k < one.nstates; k++)
            memset(rc_node_data(one.state_in[k]), 0, (size_t)rc_node_numel(one.state_in[k]) * sizeof(float));
        for (int t = 0; t < T; t++) {
            *(int32_t *)rc_node_data(one.x) = val[starts[w] + t];
            *(int32_t *)rc_node_data(one.y) = val[starts[w] + t + 1];
            cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
            total += rc_plan_f32(p, one.xent)[0];
            for (int k = 0; k < one.nstates; k++)
                memcpy(rc_node_data(one.state_in[k]), rc_plan_f32(p, one.state_out[k]),
                       (size_t)rc_node_numel(one.state_in[k]) * sizeof(float));
        }
    }
    rc_plan_free(p);
    double want = total / (WINDOWS * T);
    cr_expect(want > 1.0, "an untrained model's loss %g is near ln 256", want);
    /* 7 windows in one batch, in batches of 3 (the last padded), one at a time. */
    static const int64_t batches[] = {7, 3, 1, 16};
    for (int i = 0; i < 4; i++) {
        double got = eval_with_batch(batches[i]);
        cr_expect(fabs(got - want) <= 1e-5 * want, "batch %lld: %.8f, window by window %.8f",
                  (long long)batches[i], got, want);
    }
}

Test(charlm_eval, zero_model_scores_ln_vocab, .init = setup, .fini = teardown) {
    charlm_branch br;
    cr_assert_eq(charlm_branch_new(&m, 3, T, false, &br), RC_OK);
    for (int i = 0; i < m.nparams; i++)
        memset(rc_node_data(m.params[i]), 0, (size_t)rc_node_numel(m.params[i]) * sizeof(float));
    rc_plan *p = rc_plan_new(m.g, &br.xent, 1);
    double nats;
    rc_error e = {0};
    cr_assert_eq(rc_lm_eval(&br, p, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), WINDOWS, &nats, &e),
                 RC_OK);
    cr_expect(fabs(nats - log(256.0)) < 1e-5, "%.8f vs ln 256 = %.8f", nats, log(256.0));
    /* A split shorter than one window is an error with a message. */
    cr_expect_eq(rc_lm_eval(&br, p, rc_corpus_val(&corpus), T, WINDOWS, &nats, &e),
                 RC_ERR_ARG);
    cr_expect(strstr(e.message, "too short") != NULL, "%s", e.message);
    rc_plan_free(p);
}

Test(charlm_eval, config_round_trip_and_rejects) {
    charlm_config c = {.cell = CHARLM_GRU, .vocab = 300, .embed = 5, .units = 7, .layers = 3, .init = CHARLM_INIT_KERAS},
                  d;
    char s[256], msg[256];
    charlm_config_str(&c, s, sizeof s);
    cr_expect_str_eq(s, "cell=gru vocab=300 embed=5 units=7 layers=3 init=keras");
    cr_assert(charlm_config_parse(s, &d, msg, sizeof msg), "%s", msg);
    cr_expect(c.cell == d.cell && c.vocab == d.vocab && c.embed == d.embed && c.units == d.units &&
              c.layers == d.layers && c.init == d.init);
    cr_expect(!charlm_config_parse("cell=gru vocab=300 embed=5 units=7 layers=3 init=keras extra", &d, msg, sizeof msg));
    cr_expect(!charlm_config_parse("cell=cnn vocab=300 embed=5 units=7 layers=3 init=keras", &d, msg, sizeof msg));
    cr_expect(!charlm_config_parse("cell=gru vocab=300 embed=0 units=7 layers=3 init=keras", &d, msg, sizeof msg));
    cr_expect(!charlm_config_parse(NULL, &d, msg, sizeof msg));
}
