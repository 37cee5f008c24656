/* The RNN layer's error reporting, stateful behaviour and graph size.
 *
 * Errors: every bad configuration gives a status and a message (on the
 * graph) that names the layer and the shapes involved; constructors that
 * can check their arguments return NULL.
 * Stateful: the update nodes carry the final states from one plan run to
 * the next; reset sets them to zeros or to given values; the stored state
 * is an input leaf, so gradients stop at the call boundary (truncated BPTT).
 * Size: unrolling T steps adds a fixed number of nodes per step, forward
 * and gradient.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <recur/rnn.h>

#include "util.h"

enum { B = 2, T = 5, F = 3, U = 4 };

/* --- helpers ------------------------------------------------------------------ */

static rc_rnn *lstm_layer(const char *name, int64_t units, const rc_rnn_config *cfg) {
    rc_cell_config cc = rc_cell_defaults(units);
    rc_cell *c = rc_lstm_cell_new(&cc);
    cr_assert_not_null(c);
    rc_rnn *l = rc_rnn_new(name, c, cfg, NULL);
    cr_assert_not_null(l);
    return l;
}

static rc_rnn *cell_layer(const char *kind, const char *name, int64_t units, const rc_rnn_config *cfg) {
    rc_cell_config cc = rc_cell_defaults(units);
    rc_cell *c = strcmp(kind, "lstm") == 0  ? rc_lstm_cell_new(&cc)
                 : strcmp(kind, "gru") == 0 ? rc_gru_cell_new(&cc)
                                            : rc_simple_rnn_cell_new(&cc);
    cr_assert_not_null(c);
    rc_rnn *l = rc_rnn_new(name, c, cfg, NULL);
    cr_assert_not_null(l);
    return l;
}

/* Asserts st == want and that the graph's error contains every string of
 * the NULL-terminated list. */
static void expect_error(rc_graph *g, rc_status st, rc_status want, const char *const *parts) {
    const char *e = rc_graph_error(g);
    cr_assert_eq(st, want, "status %s, want %s (error: %s)", rc_status_str(st), rc_status_str(want),
                 e ? e : "(none)");
    cr_assert_not_null(e, "no error recorded on the graph");
    for (int i = 0; parts[i]; i++) cr_assert_not_null(strstr(e, parts[i]), "error \"%s\" lacks \"%s\"", e, parts[i]);
}
#define EXPECT_ERROR(g, st, want, ...) expect_error((g), (st), (want), (const char *const[]){__VA_ARGS__, NULL})

static rc_node *input(rc_graph *g, const char *name, rc_shape s, uint64_t seed) {
    rc_node *x = rc_input(g, name, RC_F32, s);
    cr_assert_not_null(x, "%s", rc_graph_error(g));
    rc_rng r;
    rc_rng_seed(&r, seed);
    rc_rng_fill_uniform(&r, rc_node_data(x), rc_node_numel(x), -1.0f, 1.0f);
    return x;
}

/* --- errors: the RNN layer ------------------------------------------------------ */

Test(rnn_errors, units_zero_is_reported_when_applied) {
    rc_cell_config cc = rc_cell_defaults(0);
    rc_cell *cells[3] = {rc_simple_rnn_cell_new(&cc), rc_lstm_cell_new(&cc), rc_gru_cell_new(&cc)};
    const char *names[3] = {"rnn_zero", "lstm_zero", "gru_zero"};
    for (int k = 0; k < 3; k++) {
        cr_assert_not_null(cells[k], "cell constructors accept units 0");
        rc_rnn *l = rc_rnn_new(names[k], cells[k], NULL, NULL);
        cr_assert_not_null(l);
        rc_graph *g = rc_graph_new();
        rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
        rc_rnn_out out;
        rc_status st = rc_rnn_apply(l, g, x, NULL, &out);
        EXPECT_ERROR(g, st, RC_ERR_ARG, names[k], "size 0", "units must be >= 1");
        cr_assert_null(out.output);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
}

Test(rnn_errors, initial_states_of_the_wrong_count) {
    rc_rnn *l = lstm_layer("lstm_count", U, NULL);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_node *h0 = input(g, "h0", RC_SHAPE(B, U), 2);
    rc_rnn_call call = {.initial_state = &h0, .ninitial = 1};
    rc_rnn_out out;
    rc_status st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "lstm_count", "1 initial states given, the cell has 2");
    cr_assert_null(out.output);
    rc_rnn_free(l);
    rc_graph_free(g);

    /* three for a one-state GRU */
    l = cell_layer("gru", "gru_count", U, NULL);
    g = rc_graph_new();
    x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_node *s[3] = {input(g, "a", RC_SHAPE(B, U), 2), input(g, "b", RC_SHAPE(B, U), 3),
                     input(g, "c", RC_SHAPE(B, U), 4)};
    call = (rc_rnn_call){.initial_state = s, .ninitial = 3};
    st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "gru_count", "3 initial states given, the cell has 1");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, initial_state_of_the_wrong_shape) {
    rc_rnn *l = lstm_layer("lstm_shape", U, NULL);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_node *s[2] = {input(g, "h0", RC_SHAPE(B, U), 2), input(g, "c0", RC_SHAPE(B, U + 1), 3)};
    rc_rnn_call call = {.initial_state = s, .ninitial = 2};
    rc_rnn_out out;
    rc_status st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_shape", "initial state 1", "(2, 5)", "(2, 4)");
    rc_rnn_free(l);
    rc_graph_free(g);

    /* wrong batch, and a rank-1 state */
    l = lstm_layer("lstm_shape2", U, NULL);
    g = rc_graph_new();
    x = input(g, "x", RC_SHAPE(B, T, F), 1);
    s[0] = input(g, "h0", RC_SHAPE(B + 1, U), 2);
    s[1] = input(g, "c0", RC_SHAPE(B, U), 3);
    st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_shape2", "initial state 0", "(3, 4)", "(2, 4)");
    rc_rnn_free(l);
    rc_graph_free(g);

    l = lstm_layer("lstm_shape3", U, NULL);
    g = rc_graph_new();
    x = input(g, "x", RC_SHAPE(B, T, F), 1);
    s[0] = input(g, "h0", RC_SHAPE(B, U), 2);
    s[1] = input(g, "c0", RC_SHAPE(B * U), 3);
    st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_shape3", "initial state 1", "(8)", "(2, 4)");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, mask_of_the_wrong_shape_or_dtype) {
    rc_rnn *l = lstm_layer("lstm_mask", U, NULL);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_node *m = rc_fill(g, RC_SHAPE(B, T - 1), 1.0f);
    rc_rnn_call call = {.mask = m};
    rc_rnn_out out;
    rc_status st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_mask", "(2, 4)", "(2, 5, 3)", "(2, 5)");
    rc_rnn_free(l);
    rc_graph_free(g);

    /* a (B, T, 1) mask is not (B, T) */
    l = lstm_layer("lstm_mask3", U, NULL);
    g = rc_graph_new();
    x = input(g, "x", RC_SHAPE(B, T, F), 1);
    call.mask = rc_fill(g, RC_SHAPE(B, T, 1), 1.0f);
    st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_mask3", "(2, 5, 1)", "(2, 5)");
    rc_rnn_free(l);
    rc_graph_free(g);

    /* an int32 mask of the right shape */
    l = lstm_layer("lstm_mask_i32", U, NULL);
    g = rc_graph_new();
    x = input(g, "x", RC_SHAPE(B, T, F), 1);
    call.mask = rc_input(g, "m", RC_I32, RC_SHAPE(B, T));
    st = rc_rnn_apply(l, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_mask_i32", "int32", "(2, 5)", "float32");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, input_of_rank_2_or_int32) {
    rc_rnn *l = lstm_layer("lstm_rank", U, NULL);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, F), 1);
    rc_rnn_out out;
    rc_status st = rc_rnn_apply(l, g, x, NULL, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_rank", "(B, T, I)", "float32 (2, 3)");
    cr_assert_null(out.output);
    rc_rnn_free(l);
    rc_graph_free(g);

    l = lstm_layer("lstm_i32", U, NULL);
    g = rc_graph_new();
    x = rc_input(g, "ids", RC_I32, RC_SHAPE(B, T, F));
    st = rc_rnn_apply(l, g, x, NULL, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_i32", "int32 (2, 5, 3)");
    rc_rnn_free(l);
    rc_graph_free(g);

    /* a NULL input on a clean graph is an error too */
    l = lstm_layer("lstm_null", U, NULL);
    g = rc_graph_new();
    st = rc_rnn_apply(l, g, NULL, NULL, &out);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "lstm_null", "NULL");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, wrong_feature_size_on_a_second_apply) {
    rc_rnn *l = lstm_layer("lstm_feat", U, NULL);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &out), RC_OK, "%s", rc_graph_error(g));
    /* another batch and length are fine; another feature size is not */
    rc_node *x2 = input(g, "x2", RC_SHAPE(B + 1, T + 2, F), 2);
    cr_assert_eq(rc_rnn_apply(l, g, x2, NULL, &out), RC_OK, "%s", rc_graph_error(g));
    rc_node *x3 = input(g, "x3", RC_SHAPE(B, T, F + 1), 3);
    rc_status st = rc_rnn_apply(l, g, x3, NULL, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_feat", "(2, 5, 4)", "4 features", "built for 3");
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, stateful_batch_mismatch_on_a_second_apply) {
    rc_rnn_config cfg = {.stateful = true};
    rc_rnn *l = lstm_layer("lstm_stateful", U, &cfg);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &out), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(out.nupdates, 2);
    rc_node *x2 = input(g, "x2", RC_SHAPE(B + 1, T, F), 2);
    rc_status st = rc_rnn_apply(l, g, x2, NULL, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_stateful", "batch size 2", "input has 3");
    cr_assert_null(out.output);
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, stateful_layer_is_used_with_one_graph) {
    rc_rnn_config cfg = {.stateful = true};
    rc_rnn *l = lstm_layer("lstm_graphs", U, &cfg);
    rc_graph *g = rc_graph_new(), *g2 = rc_graph_new();
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, input(g, "x", RC_SHAPE(B, T, F), 1), NULL, &out), RC_OK);
    rc_status st = rc_rnn_apply(l, g2, input(g2, "x", RC_SHAPE(B, T, F), 1), NULL, &out);
    EXPECT_ERROR(g2, st, RC_ERR_STATE, "lstm_graphs", "one graph");
    rc_rnn_free(l);
    rc_graph_free(g);
    rc_graph_free(g2);
}

Test(rnn_errors, reset_states_before_the_first_apply_or_when_not_stateful) {
    rc_rnn_config cfg = {.stateful = true};
    rc_rnn *l = lstm_layer("lstm_reset", U, &cfg);
    cr_assert_eq(rc_rnn_reset_states(l, NULL, NULL), RC_ERR_STATE);
    rc_rnn_free(l);
    l = lstm_layer("lstm_plain", U, NULL);
    rc_graph *g = rc_graph_new();
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, input(g, "x", RC_SHAPE(B, T, F), 1), NULL, &out), RC_OK);
    cr_assert_eq(rc_rnn_reset_states(l, NULL, NULL), RC_ERR_STATE);
    cr_assert_eq(out.nupdates, 0);
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, dropout_rate_outside_0_1_gives_null) {
    const float bad[] = {-0.1f, 1.0f, 1.5f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int which = 0; which < 2; which++) {
            rc_cell_config cc = rc_cell_defaults(U);
            rc_cell *c = rc_lstm_cell_new(&cc);
            rc_rnn_config cfg = {0};
            if (which) cfg.recurrent_dropout = bad[i];
            else cfg.dropout = bad[i];
            rc_rnn *l = rc_rnn_new("lstm_drop", c, &cfg, NULL);
            cr_assert_null(l, "%s = %g accepted", which ? "recurrent_dropout" : "dropout", (double)bad[i]);
            rc_cell_free(c); /* not taken over on failure */
        }
    }
    /* the edges that are allowed */
    rc_cell_config cc = rc_cell_defaults(U);
    rc_rnn_config ok = {.dropout = 0.0f, .recurrent_dropout = 0.999f};
    rc_rnn *l = rc_rnn_new("lstm_drop_ok", rc_lstm_cell_new(&cc), &ok, NULL);
    cr_assert_not_null(l);
    rc_rnn_free(l);
    cr_assert_null(rc_rnn_new("no_cell", NULL, NULL, NULL));
}

/* --- errors: weights ------------------------------------------------------------- */

Test(rnn_errors, set_weight_checks_state_index_and_shape) {
    rc_rnn *l = lstm_layer("lstm_w", U, NULL);
    rc_cell *c = rc_rnn_cell(l);
    float buf[(F + U + 1) * 4 * U * 2];
    memset(buf, 0, sizeof buf);
    /* before the first apply the cell has no weights */
    cr_assert_eq(rc_cell_set_weight(c, 0, RC_SHAPE(F, 4 * U), buf), RC_ERR_STATE);

    rc_graph *g = rc_graph_new();
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, input(g, "x", RC_SHAPE(B, T, F), 1), NULL, &out), RC_OK);
    cr_assert_eq(c->nparams, 3);

    /* kernel (3, 16) given as (3, 12) */
    rc_status st = rc_cell_set_weight(c, 0, RC_SHAPE(F, 3 * U), buf);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_cell", "kernel", "(3, 16)", "(3, 12)");
    rc_graph_clear_error(g);
    /* recurrent_kernel (4, 16) given transposed */
    st = rc_cell_set_weight(c, 1, RC_SHAPE(4 * U, U), buf);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_cell", "recurrent_kernel", "(4, 16)", "(16, 4)");
    rc_graph_clear_error(g);
    /* bias (16) given as (1, 16) */
    st = rc_cell_set_weight(c, 2, RC_SHAPE(1, 4 * U), buf);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "lstm_cell", "bias", "(16)", "(1, 16)");
    rc_graph_clear_error(g);
    /* k out of range */
    st = rc_cell_set_weight(c, 3, RC_SHAPE(4 * U), buf);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "lstm_cell", "out of range", "3 weights");
    rc_graph_clear_error(g);
    st = rc_cell_set_weight(c, -1, RC_SHAPE(4 * U), buf);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "lstm_cell", "out of range");
    rc_graph_clear_error(g);
    st = rc_cell_set_weight(c, 2, RC_SHAPE(4 * U), NULL);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "lstm_cell", "NULL");
    rc_graph_clear_error(g);

    /* the right shape is copied */
    for (int i = 0; i < 4 * U; i++) buf[i] = (float)i;
    cr_assert_eq(rc_cell_set_weight(c, 2, RC_SHAPE(4 * U), buf), RC_OK);
    const float *b = rc_node_data(c->params[2]);
    for (int i = 0; i < 4 * U; i++) cr_assert_eq(b[i], (float)i);
    cr_assert_null(rc_graph_error(g));
    rc_rnn_free(l);
    rc_graph_free(g);
}

Test(rnn_errors, set_weight_gru_reset_after_bias_is_2_by_3u) {
    rc_rnn *l = cell_layer("gru", "gru_w", U, NULL);
    rc_cell *c = rc_rnn_cell(l);
    rc_graph *g = rc_graph_new();
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, input(g, "x", RC_SHAPE(B, T, F), 1), NULL, &out), RC_OK);
    float buf[2 * 3 * U] = {0};
    rc_status st = rc_cell_set_weight(c, 2, RC_SHAPE(3 * U), buf);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "gru_cell", "bias", "(2, 12)", "(12)");
    rc_rnn_free(l);
    rc_graph_free(g);
}

/* --- errors: Bidirectional --------------------------------------------------------- */

Test(rnn_errors, bidirectional_with_mismatched_halves_gives_null) {
    rc_rnn_config fwd = {.return_sequences = true}, bwd = {.return_sequences = true, .go_backwards = true};
    struct {
        rc_rnn_config f, b;
        const char *why;
    } cases[] = {
        {fwd, fwd, "both forward"},
        {bwd, bwd, "both backward"},
        {fwd, {.go_backwards = true}, "return_sequences differs"},
        {fwd, {.return_sequences = true, .go_backwards = true, .return_state = true}, "return_state differs"},
        {fwd, {.return_sequences = true, .go_backwards = true, .stateful = true}, "stateful differs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_rnn *f = lstm_layer("f", U, &cases[i].f), *b = lstm_layer("b", U, &cases[i].b);
        cr_assert_null(rc_bidir_new("bi", f, b, RC_MERGE_CONCAT, NULL), "accepted: %s", cases[i].why);
        rc_rnn_free(f); /* not taken over on failure */
        rc_rnn_free(b);
    }
    rc_rnn *f = lstm_layer("f", U, &fwd), *b = lstm_layer("b", U, &bwd);
    cr_assert_null(rc_bidir_new("bi", f, f, RC_MERGE_CONCAT, NULL), "the same layer twice");
    cr_assert_null(rc_bidir_new("bi", f, NULL, RC_MERGE_CONCAT, NULL));
    cr_assert_null(rc_bidir_new("bi", f, b, (rc_merge_mode)99, NULL), "unknown merge mode");
    rc_bidir *bi = rc_bidir_new("bi", f, b, RC_MERGE_SUM, NULL);
    cr_assert_not_null(bi, "a good pair");
    rc_bidir_free(bi);
}

Test(rnn_errors, bidirectional_initial_states_of_the_wrong_count) {
    rc_rnn_config fwd = {0}, bwd = {.go_backwards = true};
    rc_bidir *bi = rc_bidir_new("bi_lstm", lstm_layer("f", U, &fwd), lstm_layer("b", U, &bwd), RC_MERGE_CONCAT, NULL);
    cr_assert_not_null(bi);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_node *s[3] = {input(g, "s0", RC_SHAPE(B, U), 2), input(g, "s1", RC_SHAPE(B, U), 3),
                     input(g, "s2", RC_SHAPE(B, U), 4)};
    rc_rnn_call call = {.initial_state = s, .ninitial = 2};
    rc_bidir_out out;
    rc_status st = rc_bidir_apply(bi, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "bi_lstm", "2 initial states given, expected 4", "forward 2", "backward 2");
    cr_assert_null(out.output);
    rc_graph_clear_error(g);
    call.ninitial = 3;
    st = rc_bidir_apply(bi, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "bi_lstm", "3 initial states given, expected 4");
    rc_bidir_free(bi);
    rc_graph_free(g);

    /* the right count with a wrong shape in the backward half names that layer */
    bi = rc_bidir_new("bi_lstm2", lstm_layer("fw", U, &fwd), lstm_layer("bw", U, &bwd), RC_MERGE_CONCAT, NULL);
    g = rc_graph_new();
    x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_node *s4[4] = {input(g, "a", RC_SHAPE(B, U), 2), input(g, "b", RC_SHAPE(B, U), 3),
                      input(g, "c", RC_SHAPE(B, U), 4), input(g, "d", RC_SHAPE(B, U + 2), 5)};
    call = (rc_rnn_call){.initial_state = s4, .ninitial = 4};
    st = rc_bidir_apply(bi, g, x, &call, &out);
    EXPECT_ERROR(g, st, RC_ERR_SHAPE, "bw", "initial state 1", "(2, 6)", "(2, 4)");
    rc_bidir_free(bi);
    rc_graph_free(g);
}

/* --- stateful behaviour ------------------------------------------------------------- */

/* A stateful LSTM applied to x (B, T2, F) with return_sequences, and a plan
 * with the output and the update nodes. */
typedef struct stateful_net {
    rc_graph *g;
    rc_rnn *l;
    rc_node *x;
    rc_rnn_out out;
    rc_plan *p;
} stateful_net;

enum { T2 = 4 };

static void stateful_init(stateful_net *n) {
    rc_rnn_config cfg = {.stateful = true, .return_sequences = true};
    n->l = lstm_layer("lstm_sf", U, &cfg);
    n->g = rc_graph_new();
    n->x = input(n->g, "x", RC_SHAPE(B, T2, F), 0);
    cr_assert_eq(rc_rnn_apply(n->l, n->g, n->x, NULL, &n->out), RC_OK, "%s", rc_graph_error(n->g));
    cr_assert_eq(n->out.nupdates, 2);
    rc_node *outs[3] = {n->out.output, n->out.update[0], n->out.update[1]};
    n->p = rc_plan_new(n->g, outs, 3);
    cr_assert_not_null(n->p, "%s", rc_graph_error(n->g));
}

static void stateful_run(stateful_net *n, const float *x, float *y) {
    memcpy(rc_node_data(n->x), x, sizeof(float) * B * T2 * F);
    cr_assert_eq(rc_plan_run(n->p, NULL), RC_OK);
    memcpy(y, rc_plan_f32(n->p, n->out.output), sizeof(float) * B * T2 * U);
}

static void stateful_free(stateful_net *n) {
    rc_plan_free(n->p);
    rc_rnn_free(n->l);
    rc_graph_free(n->g);
}

/* The same weights in a plain (non-stateful) layer over x (B, Tn, F) with
 * optional initial states: returns the (B, Tn, U) outputs. */
static void plain_run(const rc_cell *src, const float *x, int64_t Tn, const float *h0, const float *c0, float *y) {
    rc_rnn_config cfg = {.return_sequences = true};
    rc_rnn *l = lstm_layer("lstm_plain", U, &cfg);
    rc_graph *g = rc_graph_new();
    rc_node *xn = rc_const(g, RC_SHAPE(B, Tn, F), x);
    rc_node *init[2] = {h0 ? rc_const(g, RC_SHAPE(B, U), h0) : NULL, c0 ? rc_const(g, RC_SHAPE(B, U), c0) : NULL};
    rc_rnn_call call = {.initial_state = init, .ninitial = h0 ? 2 : 0};
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, xn, &call, &out), RC_OK, "%s", rc_graph_error(g));
    rc_cell *c = rc_rnn_cell(l);
    for (int k = 0; k < src->nparams; k++)
        cr_assert_eq(rc_cell_set_weight(c, k, rc_node_shape(src->params[k]), rc_node_data(src->params[k])), RC_OK);
    tu_eval(g, out.output, y);
    rc_rnn_free(l);
    rc_graph_free(g);
}

static void assert_close(const float *a, const float *b, int64_t n, double tol, const char *what) {
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabs((double)a[i] - (double)b[i]) <= tol, "%s: element %lld: %.9g vs %.9g", what, (long long)i,
                  (double)a[i], (double)b[i]);
}

static void random_fill(float *v, int64_t n, uint64_t seed) {
    rc_rng r;
    rc_rng_seed(&r, seed);
    rc_rng_fill_uniform(&r, v, n, -1.0f, 1.0f);
}

/* Run 1 on x1, run 2 on x2 == the last T2 steps of one run over [x1 x2]. */
Test(rnn_stateful, two_runs_equal_one_run_over_the_concatenated_sequence) {
    stateful_net n;
    stateful_init(&n);
    float x1[B * T2 * F], x2[B * T2 * F], xcat[B * 2 * T2 * F];
    random_fill(x1, B * T2 * F, 11);
    random_fill(x2, B * T2 * F, 12);
    for (int b = 0; b < B; b++) {
        memcpy(xcat + (b * 2 * T2) * F, x1 + b * T2 * F, sizeof(float) * T2 * F);
        memcpy(xcat + (b * 2 * T2 + T2) * F, x2 + b * T2 * F, sizeof(float) * T2 * F);
    }
    float y1[B * T2 * U], y2[B * T2 * U], ycat[B * 2 * T2 * U];
    stateful_run(&n, x1, y1);
    stateful_run(&n, x2, y2);
    plain_run(rc_rnn_cell(n.l), xcat, 2 * T2, NULL, NULL, ycat);
    for (int b = 0; b < B; b++) {
        assert_close(y1 + b * T2 * U, ycat + b * 2 * T2 * U, T2 * U, 1e-5, "run 1");
        assert_close(y2 + b * T2 * U, ycat + (b * 2 * T2 + T2) * U, T2 * U, 1e-5, "run 2");
    }
    /* and run 2 differs from a fresh start on x2 (the state mattered) */
    float yfresh[B * T2 * U];
    plain_run(rc_rnn_cell(n.l), x2, T2, NULL, NULL, yfresh);
    double diff = 0;
    for (int i = 0; i < B * T2 * U; i++) diff = fmax(diff, fabs((double)y2[i] - yfresh[i]));
    cr_assert_gt(diff, 1e-3, "carried state made no difference");
    stateful_free(&n);
}

/* Without the update nodes in the plan, nothing is carried. */
Test(rnn_stateful, without_update_nodes_nothing_is_carried) {
    stateful_net n;
    stateful_init(&n);
    rc_plan *p = rc_plan_new(n.g, &n.out.output, 1);
    cr_assert_not_null(p);
    float x1[B * T2 * F], a[B * T2 * U];
    random_fill(x1, B * T2 * F, 11);
    memcpy(rc_node_data(n.x), x1, sizeof x1);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    memcpy(a, rc_plan_f32(p, n.out.output), sizeof a);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    assert_close(a, rc_plan_f32(p, n.out.output), B * T2 * U, 0, "second run");
    rc_plan_free(p);
    stateful_free(&n);
}

Test(rnn_stateful, reset_to_zeros_and_to_given_values) {
    stateful_net n;
    stateful_init(&n);
    float x1[B * T2 * F], y1[B * T2 * U], y[B * T2 * U], ref[B * T2 * U];
    random_fill(x1, B * T2 * F, 11);
    stateful_run(&n, x1, y1);
    stateful_run(&n, x1, y);
    /* to zeros: the next run repeats the first */
    cr_assert_eq(rc_rnn_reset_states(n.l, NULL, NULL), RC_OK);
    stateful_run(&n, x1, y);
    assert_close(y, y1, B * T2 * U, 0, "after reset to zeros");
    /* to given values: as a plain layer with those initial states */
    float h0[B * U], c0[B * U];
    random_fill(h0, B * U, 21);
    random_fill(c0, B * U, 22);
    const float *vals[2] = {h0, c0};
    cr_assert_eq(rc_rnn_reset_states(n.l, vals, NULL), RC_OK);
    stateful_run(&n, x1, y);
    plain_run(rc_rnn_cell(n.l), x1, T2, h0, c0, ref);
    assert_close(y, ref, B * T2 * U, 1e-5, "after reset to values");
    /* a NULL entry is refused */
    const float *partial[2] = {h0, NULL};
    cr_assert_eq(rc_rnn_reset_states(n.l, partial, NULL), RC_ERR_ARG);
    stateful_free(&n);
}

/* The stored state is an input leaf: the gradient of run 2's loss w.r.t.
 * the weights equals the gradient of a plain layer started from the carried
 * state held as a constant, i.e. nothing flows back into run 1. */
Test(rnn_stateful, no_gradient_flows_across_calls) {
    rc_rnn_config cfg = {.stateful = true, .return_sequences = true};
    rc_rnn *l = lstm_layer("lstm_tbptt", U, &cfg);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, T2, F), 0);
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &out), RC_OK, "%s", rc_graph_error(g));
    rc_cell *c = rc_rnn_cell(l);
    for (int k = 0; k < out.nupdates; k++) {
        rc_node *store = rc_node_input(out.update[k], 0);
        cr_assert(rc_node_is_input(store) && !rc_node_is_param(store), "state %d is not an input leaf", k);
        cr_assert(!rc_node_is_gradient(store));
    }
    rc_node *loss = rc_sum(g, rc_square(g, out.output), RC_ALL_AXES, false);
    rc_node *grads[3];
    cr_assert_eq(rc_gradients(g, loss, c->params, c->nparams, grads), RC_OK, "%s", rc_graph_error(g));
    rc_node *outs[6] = {grads[0], grads[1], grads[2], out.update[0], out.update[1], loss};
    rc_plan *p = rc_plan_new(g, outs, 6);
    cr_assert_not_null(p, "%s", rc_graph_error(g));
    float x1[B * T2 * F], x2[B * T2 * F];
    random_fill(x1, B * T2 * F, 11);
    random_fill(x2, B * T2 * F, 12);
    memcpy(rc_node_data(x), x1, sizeof x1);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);
    /* the carried states, read from their storage */
    float h[B * U], cs[B * U];
    memcpy(h, rc_node_data(rc_node_input(out.update[0], 0)), sizeof h);
    memcpy(cs, rc_node_data(rc_node_input(out.update[1], 0)), sizeof cs);
    memcpy(rc_node_data(x), x2, sizeof x2);
    cr_assert_eq(rc_plan_run(p, NULL), RC_OK);

    /* reference: plain layer from constant (h, c) on x2 */
    rc_rnn_config pc = {.return_sequences = true};
    rc_rnn *l2 = lstm_layer("lstm_ref", U, &pc);
    rc_graph *g2 = rc_graph_new();
    rc_node *init[2] = {rc_const(g2, RC_SHAPE(B, U), h), rc_const(g2, RC_SHAPE(B, U), cs)};
    rc_rnn_call call = {.initial_state = init, .ninitial = 2};
    rc_rnn_out o2;
    cr_assert_eq(rc_rnn_apply(l2, g2, rc_const(g2, RC_SHAPE(B, T2, F), x2), &call, &o2), RC_OK);
    rc_cell *c2 = rc_rnn_cell(l2);
    for (int k = 0; k < c->nparams; k++)
        cr_assert_eq(rc_cell_set_weight(c2, k, rc_node_shape(c->params[k]), rc_node_data(c->params[k])), RC_OK);
    rc_node *loss2 = rc_sum(g2, rc_square(g2, o2.output), RC_ALL_AXES, false);
    rc_node *grads2[3];
    cr_assert_eq(rc_gradients(g2, loss2, c2->params, c2->nparams, grads2), RC_OK);
    rc_node *outs2[4] = {grads2[0], grads2[1], grads2[2], loss2};
    rc_plan *p2 = rc_plan_new(g2, outs2, 4);
    cr_assert_not_null(p2, "%s", rc_graph_error(g2));
    cr_assert_eq(rc_plan_run(p2, NULL), RC_OK);
    cr_assert_float_eq(rc_plan_f32(p, loss)[0], rc_plan_f32(p2, loss2)[0], 1e-4);
    const char *names[3] = {"kernel", "recurrent_kernel", "bias"};
    for (int k = 0; k < 3; k++)
        assert_close(rc_plan_f32(p, grads[k]), rc_plan_f32(p2, grads2[k]), rc_node_numel(grads[k]), 1e-4, names[k]);
    rc_plan_free(p2);
    rc_rnn_free(l2);
    rc_graph_free(g2);
    rc_plan_free(p);
    rc_rnn_free(l);
    rc_graph_free(g);
}

/* --- graph size: O(T) nodes --------------------------------------------------------- */

/* Nodes added by applying a fresh layer of `kind` over T steps
 * (return_sequences), and after the gradients of an MSE loss w.r.t. its
 * weights when `grad`. */
static int nodes_for(const char *kind, int64_t Tn, bool grad) {
    rc_rnn_config cfg = {.return_sequences = true};
    rc_rnn *l = cell_layer(kind, "layer", U, &cfg);
    rc_graph *g = rc_graph_new();
    rc_node *x = input(g, "x", RC_SHAPE(B, Tn, F), 1);
    rc_node *target = grad ? input(g, "y", RC_SHAPE(B, Tn, U), 2) : NULL;
    int before = rc_graph_node_count(g);
    rc_rnn_out out;
    cr_assert_eq(rc_rnn_apply(l, g, x, NULL, &out), RC_OK, "%s", rc_graph_error(g));
    if (grad) {
        rc_cell *c = rc_rnn_cell(l);
        rc_node *grads[RC_MAX_CELL_PARAMS];
        rc_node *loss = rc_mean_squared_diff(g, out.output, target);
        cr_assert_eq(rc_gradients(g, loss, c->params, c->nparams, grads), RC_OK, "%s", rc_graph_error(g));
    }
    int n = rc_graph_node_count(g) - before;
    rc_rnn_free(l);
    rc_graph_free(g);
    return n;
}

/* Nodes per time step measured at the time of writing (U = 4, no mask,
 * return_sequences; forward / forward + gradient):
 *   SimpleRNN  6 / 14     LSTM 18 / 42     GRU 21 / 46
 * (the cell's step, the step's input rows as a slice + reshape view, and
 * one reshape per step for the output sequence; a masked go_backwards LSTM
 * with initial states: 23 forward). The test asserts exact linearity and a generous
 * bound, not these numbers, so fusion may lower them. */
Test(rnn_size, unrolling_adds_a_fixed_number_of_nodes_per_step) {
    const char *kinds[3] = {"rnn", "lstm", "gru"};
    for (int k = 0; k < 3; k++)
        for (int grad = 0; grad < 2; grad++) {
            int n10 = nodes_for(kinds[k], 10, grad), n11 = nodes_for(kinds[k], 11, grad);
            int n20 = nodes_for(kinds[k], 20, grad), n30 = nodes_for(kinds[k], 30, grad);
            int per_step = n11 - n10;
            cr_log_info("%s %s: %d nodes per step (T=10: %d, T=20: %d, T=30: %d)", kinds[k],
                        grad ? "forward+gradient" : "forward", per_step, n10, n20, n30);
            cr_assert_gt(per_step, 0);
            cr_assert_leq(per_step, grad ? 100 : 40, "%s: %d nodes per step", kinds[k], per_step);
            cr_assert_eq(n20 - n10, 10 * per_step, "%s %s: nodes(20) - nodes(10) = %d, 10 x per-step = %d",
                         kinds[k], grad ? "gradient" : "forward", n20 - n10, 10 * per_step);
            cr_assert_eq(n30 - n20, 10 * per_step, "%s: nodes(30) - nodes(20) = %d", kinds[k], n30 - n20);
        }
}

/* The same over a masked, go_backwards LSTM with initial states. */
Test(rnn_size, masked_backwards_lstm_is_linear_too) {
    int n[3];
    const int64_t Ts[3] = {10, 11, 20};
    for (int i = 0; i < 3; i++) {
        rc_rnn_config cfg = {.return_sequences = true, .go_backwards = true};
        rc_rnn *l = lstm_layer("masked", U, &cfg);
        rc_graph *g = rc_graph_new();
        rc_node *x = input(g, "x", RC_SHAPE(B, Ts[i], F), 1);
        rc_node *m = rc_fill(g, RC_SHAPE(B, Ts[i]), 1.0f);
        rc_node *init[2] = {input(g, "h", RC_SHAPE(B, U), 2), input(g, "c", RC_SHAPE(B, U), 3)};
        rc_rnn_call call = {.mask = m, .initial_state = init, .ninitial = 2};
        int before = rc_graph_node_count(g);
        rc_rnn_out out;
        cr_assert_eq(rc_rnn_apply(l, g, x, &call, &out), RC_OK, "%s", rc_graph_error(g));
        n[i] = rc_graph_node_count(g) - before;
        rc_rnn_free(l);
        rc_graph_free(g);
    }
    cr_log_info("masked go_backwards lstm: %d nodes per step", n[1] - n[0]);
    cr_assert_eq(n[2] - n[0], 10 * (n[1] - n[0]));
}

/* --- parameters made outside rc_cell_add_param ---------------------------------------- */

/* h' = tanh(x W + h) with W from rc_cell_add_param, plus one parameter made
 * the wrong way where `rogue` says: in build with rc_param, in step, or in
 * project. */
typedef enum { ROGUE_NONE, ROGUE_BUILD, ROGUE_STEP, ROGUE_PROJECT } rogue_at;

typedef struct rogue_cell {
    rogue_at rogue;
    rc_node *w;
} rogue_cell;

static rc_status rogue_build(rc_cell *c, rc_graph *g, int64_t in, rc_rng *rng) {
    rogue_cell *r = c->impl;
    r->w = rc_cell_add_param(c, g, "kernel", RC_SHAPE(in, c->output_size));
    if (r->rogue == ROGUE_BUILD) rc_param(g, "extra", RC_SHAPE(c->output_size));
    return rc_graph_status(g);
}

static rc_node *rogue_project(rc_cell *c, rc_graph *g, rc_node *x) {
    rogue_cell *r = c->impl;
    if (r->rogue == ROGUE_PROJECT) rc_param(g, "p", RC_SHAPE(1));
    return rc_matmul(g, x, r->w, false, false);
}

static rc_status rogue_step(rc_cell *c, rc_graph *g, rc_cell_step *s) {
    rogue_cell *r = c->impl;
    rc_node *b = r->rogue == ROGUE_STEP ? rc_param(g, "b", RC_SHAPE(c->output_size)) : NULL;
    rc_node *z = rc_add(g, s->x, s->state[0]);
    if (b) z = rc_add(g, z, rc_reshape(g, b, RC_SHAPE(1, c->output_size)));
    s->output = s->next_state[0] = rc_tanh(g, z);
    return rc_graph_status(g);
}

static const rc_cell_class rogue_class = {"RogueCell", rogue_build, rogue_project, rogue_step, NULL};

static rc_status apply_rogue(rogue_at where, rc_graph *g) {
    rogue_cell *r = rc_calloc(1, sizeof *r);
    cr_assert_not_null(r);
    r->rogue = where;
    rc_cell *c = rc_cell_new(&rogue_class, "mycell", 1, (const int64_t[]){U}, U, r, NULL);
    cr_assert_not_null(c);
    rc_rnn *l = rc_rnn_new("rnn", c, NULL, NULL);
    cr_assert_not_null(l);
    rc_node *x = input(g, "x", RC_SHAPE(B, T, F), 1);
    rc_rnn_out out;
    rc_status st = rc_rnn_apply(l, g, x, NULL, &out);
    if (st != RC_OK) cr_assert_null(out.output);
    rc_rnn_free(l);
    return st;
}

Test(rnn_errors, a_cell_made_right_builds) {
    rc_graph *g = rc_graph_new();
    cr_assert_eq(apply_rogue(ROGUE_NONE, g), RC_OK, "%s", rc_graph_error(g));
    rc_graph_free(g);
}

Test(rnn_errors, a_cell_parameter_made_with_rc_param_in_build_is_named) {
    rc_graph *g = rc_graph_new();
    rc_status st = apply_rogue(ROGUE_BUILD, g);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "cell 'mycell'", "parameter 'rnn/mycell/extra' was made with rc_param",
                 "rc_cell_add_param");
    rc_graph_free(g);
}

Test(rnn_errors, a_parameter_made_in_step_is_named) {
    rc_graph *g = rc_graph_new();
    rc_status st = apply_rogue(ROGUE_STEP, g);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "rnn 'rnn'", "cell 'mycell'", "parameter 'rnn/t0/b' was made in step",
                 "rc_cell_add_param");
    rc_graph_free(g);
}

Test(rnn_errors, a_parameter_made_in_project_is_named) {
    rc_graph *g = rc_graph_new();
    rc_status st = apply_rogue(ROGUE_PROJECT, g);
    EXPECT_ERROR(g, st, RC_ERR_ARG, "rnn 'rnn'", "cell 'mycell'",
                 "parameter 'rnn/input_projection/p' was made in project", "rc_cell_add_param");
    rc_graph_free(g);
}
