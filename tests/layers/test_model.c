/* Models: sequential chains with masks, functional calls, parameter counts
 * and the Keras 3 summary. */
#include <criterion/criterion.h>
#include <string.h>

#include <recur/model.h>

#include "util.h"

/* The Keras 3 example of keras-rnn-semantics.md §5.1: Embedding(500, 16) ->
 * LSTM(8) -> Dense(1) on (None, 100) ids. */
Test(model, sequential_summary_matches_keras) {
    rc_graph *g = rc_graph_new();
    rc_model *m = rc_model_new("sequential");
    rc_cell_config cc = rc_cell_defaults(8);
    cr_assert_eq(rc_model_add_embedding(m, rc_embedding_new("embedding", 500, 16, false)), RC_OK);
    cr_assert_eq(rc_model_add_rnn(m, rc_rnn_new("lstm", rc_lstm_cell_new(&cc), NULL, NULL)), RC_OK);
    cr_assert_eq(rc_model_add_dense(m, rc_dense_new("dense", 1, RC_ACT_LINEAR, true)), RC_OK);
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(4, 100));
    rc_node *y = rc_model_apply(m, g, ids, false, NULL);
    cr_assert(y, "%s", rc_graph_error(g));
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(4, 1)));
    cr_assert_eq(rc_model_param_count(m), 8809);
    char buf[4096];
    size_t n = rc_model_summary(m, buf, sizeof buf);
    cr_assert_lt(n, sizeof buf);
    const char *want =
        "Model: \"sequential\"\n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
        "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
        "│ embedding (Embedding)           │ (None, 100, 16)        │         8,000 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ lstm (LSTM)                     │ (None, 8)              │           800 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ dense (Dense)                   │ (None, 1)              │             9 │\n"
        "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
        " Total params: 8,809 (34.41 KB)\n"
        " Trainable params: 8,809 (34.41 KB)\n"
        " Non-trainable params: 0 (0.00 B)\n";
    cr_assert_str_eq(buf, want);
    /* a short buffer is truncated but the needed length is reported */
    char tiny[16];
    cr_assert_eq(rc_model_summary(m, tiny, sizeof tiny), n);
    cr_assert_eq(strlen(tiny), 15);
    rc_model_free(m);
    rc_graph_free(g);
}

Test(model, parameter_counts_follow_the_keras_formulas) {
    struct {
        int kind; /* 0 simple, 1 lstm, 2 gru after, 3 gru before */
        int64_t U, I, want;
    } cases[] = {
        {0, 8, 3, 8 * (3 + 8 + 1)},     {1, 32, 16, 6272},  {1, 10, 1, 480},
        {2, 10, 1, 390},                {3, 5, 4, 150},     {3, 4, 8, 156},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_graph *g = rc_graph_new();
        rc_cell_config cc = rc_cell_defaults(cases[i].U);
        cc.reset_after = cases[i].kind == 2;
        rc_cell *c = cases[i].kind == 0 ? rc_simple_rnn_cell_new(&cc)
                     : cases[i].kind == 1 ? rc_lstm_cell_new(&cc)
                                          : rc_gru_cell_new(&cc);
        rc_model *m = rc_model_new("m");
        rc_model_add_rnn(m, rc_rnn_new("rnn", c, NULL, NULL));
        rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3, cases[i].I));
        cr_assert(rc_model_apply(m, g, x, false, NULL), "%s", rc_graph_error(g));
        cr_assert_eq(rc_model_param_count(m), cases[i].want, "case %zu: %lld", i, (long long)rc_model_param_count(m));
        rc_model_free(m);
        rc_graph_free(g);
    }
}

Test(model, bidirectional_counts_twice_and_masks_flow_from_the_embedding) {
    rc_graph *g = rc_graph_new();
    rc_model *m = rc_model_new("bi");
    rc_cell_config cc = rc_cell_defaults(6);
    rc_rnn_config seq = {.return_sequences = true}, back = {.return_sequences = true, .go_backwards = true};
    rc_model_add_embedding(m, rc_embedding_new("embedding", 20, 4, true));
    rc_model_add_bidir(m, rc_bidir_new("bidirectional", rc_rnn_new("forward_lstm", rc_lstm_cell_new(&cc), &seq, NULL),
                                       rc_rnn_new("backward_lstm", rc_lstm_cell_new(&cc), &back, NULL), RC_MERGE_CONCAT, NULL));
    rc_model_add_dense(m, rc_dense_new("dense", 3, RC_ACT_LINEAR, true));
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(2, 5));
    rc_node_set_i32(ids, (int32_t[]){3, 4, 5, 0, 0, 1, 2, 0, 0, 0});
    rc_node *y = rc_model_apply(m, g, ids, false, NULL);
    cr_assert(y, "%s", rc_graph_error(g));
    cr_assert(rc_shape_eq(rc_node_shape(y), RC_SHAPE(2, 5, 3)));
    rc_layer_info in;
    cr_assert(rc_model_layer_info(m, 1, &in));
    cr_assert_str_eq(in.type, "Bidirectional");
    cr_assert_eq(in.params, 2 * 4 * 6 * (4 + 6 + 1)); /* Bi-LSTM(6) on I=4: 528 */
    cr_assert(rc_shape_eq(in.output, RC_SHAPE(2, 5, 12)));
    /* masked steps are zeros in both halves, so the Dense output there is its bias */
    float out[30];
    tu_eval(g, y, out);
    rc_node *const *dp = NULL;
    rc_node *params[16];
    int np = rc_model_params(m, params, 16);
    cr_assert_eq(np, 1 + 6 + 2);
    dp = &params[np - 1];
    const float *bias = rc_node_data(*dp);
    for (int j = 0; j < 3; j++) {
        cr_assert_float_eq(out[(0 * 5 + 3) * 3 + j], bias[j], 1e-6);
        cr_assert_float_eq(out[(1 * 5 + 4) * 3 + j], bias[j], 1e-6);
    }
    rc_model_free(m);
    rc_graph_free(g);
}

Test(model, functional_calls_share_weights_and_return_states) {
    rc_graph *g = rc_graph_new();
    rc_model *m = rc_model_new("encoder_decoder");
    rc_cell_config cc = rc_cell_defaults(5);
    rc_rnn_config st = {.return_state = true};
    rc_rnn *enc = rc_rnn_new("encoder", rc_lstm_cell_new(&cc), &st, NULL);
    rc_rnn_config seq = {.return_sequences = true};
    rc_rnn *dec = rc_rnn_new("decoder", rc_lstm_cell_new(&cc), &seq, NULL);
    rc_node *a = rc_input(g, "a", RC_F32, RC_SHAPE(2, 7, 3)), *b = rc_input(g, "b", RC_F32, RC_SHAPE(2, 4, 3));
    rc_rnn_out eo, d1, d2;
    cr_assert_eq(rc_model_call_rnn(m, enc, g, a, NULL, &eo), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(eo.nstates, 2);
    rc_rnn_call init = {.initial_state = eo.state, .ninitial = 2};
    cr_assert_eq(rc_model_call_rnn(m, dec, g, b, &init, &d1), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(rc_model_call_rnn(m, dec, g, b, NULL, &d2), RC_OK, "%s", rc_graph_error(g));
    cr_assert_eq(rc_model_layer_count(m), 2, "a second call shares the layer");
    cr_assert_eq(rc_model_param_count(m), 2 * 4 * 5 * (3 + 5 + 1));
    rc_model_free(m);
    rc_graph_free(g);
}

Test(model, sequential_rejects_layers_with_several_outputs) {
    rc_graph *g = rc_graph_new();
    rc_model *m = rc_model_new("seq");
    rc_cell_config cc = rc_cell_defaults(2);
    rc_rnn_config st = {.return_state = true};
    rc_model_add_rnn(m, rc_rnn_new("gru", rc_gru_cell_new(&cc), &st, NULL));
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(1, 2, 3));
    cr_assert_null(rc_model_apply(m, g, x, false, NULL));
    cr_assert(strstr(rc_graph_error(g), "layer 'gru' returns states"), "%s", rc_graph_error(g));
    cr_assert_eq(rc_model_add_rnn(m, NULL), RC_ERR_ARG);
    rc_model_free(m);
    rc_graph_free(g);
}

/* A user cell whose step disagrees with its declared sizes is caught at
 * apply time, naming the layer and the cell. */
static rc_status wide_build(rc_cell *c, rc_graph *g, int64_t I, rc_rng *r) {
    (void)r;
    return rc_cell_add_param(c, g, "kernel", RC_SHAPE(I, 5)) ? RC_OK : rc_graph_status(g);
}
static rc_status wide_step(rc_cell *c, rc_graph *g, rc_cell_step *s) {
    s->output = s->next_state[0] = rc_tanh(g, rc_matmul(g, s->x, c->params[0], false, false));
    return RC_OK;
}
static rc_status lazy_step(rc_cell *c, rc_graph *g, rc_cell_step *s) {
    s->output = rc_tanh(g, rc_matmul(g, s->x, c->params[0], false, false));
    return RC_OK;
}

Test(model, a_step_with_wrong_shapes_or_missing_states_is_an_error) {
    static const rc_cell_class wide = {"Wide", wide_build, NULL, wide_step, NULL};
    static const rc_cell_class lazy = {"Lazy", wide_build, NULL, lazy_step, NULL};
    const rc_cell_class *classes[2] = {&wide, &lazy};
    const char *want[2] = {"rnn 'rnn': the step of cell 'bad_cell' (Wide) made output of shape (2, 5), declared (2, 2)",
                           "rnn 'rnn': the step of cell 'bad_cell' (Lazy) set no new state 0"};
    for (int i = 0; i < 2; i++) {
        rc_graph *g = rc_graph_new();
        rc_cell *c = rc_cell_new(classes[i], "bad_cell", 1, (int64_t[]){i ? 5 : 2}, i ? 5 : 2, NULL, NULL);
        rc_rnn *l = rc_rnn_new("rnn", c, NULL, NULL);
        rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 3, 3));
        rc_rnn_out o;
        cr_assert_neq(rc_rnn_apply(l, g, x, NULL, &o), RC_OK);
        cr_assert_str_eq(rc_graph_error(g), want[i]);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
}
