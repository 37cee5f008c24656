/* The layer table (recur/layer.h): every class in rc_layer_table is built,
 * applied through its class to an input of the kind it takes, and checked
 * for its output shape, Keras parameter count and weight order, and its
 * summary row. A class without a case here fails the test, so a new kind
 * comes with its case. Keras counts: units·(F + 1) for Dense, V·D for
 * Embedding, G·U·(F + U + 1) for the recurrent layers (GRU with
 * reset_after: 3U·(F + U + 2)), twice that for Bidirectional. */
#include <criterion/criterion.h>
#include <string.h>

#include <recur/model.h>

#include "util.h"

enum { B = 2, T = 5, F = 3 };

typedef struct layer_case {
    const char *type;         /* the class's generic type in the table */
    const char *shown;        /* Keras class name of this instance */
    rc_layer *(*make)(void);
    rc_shape out;             /* output shape on (B, T, F) / (B, T) ids */
    int64_t params;           /* Keras count */
    const char *names[8];     /* weight names, Keras get_weights() order */
    bool mask_out;            /* the output carries a mask (given none in) */
} layer_case;

static rc_layer *make_lstm(void) {
    rc_cell_config cc = rc_cell_defaults(8);
    return rc_rnn_layer(rc_rnn_new("lstm", rc_lstm_cell_new(&cc), NULL, NULL));
}

static rc_layer *make_bidir(void) {
    rc_cell_config cc = rc_cell_defaults(5);
    rc_rnn_config f = {.return_sequences = true}, b = {.return_sequences = true, .go_backwards = true};
    return rc_bidir_layer(rc_bidir_new("bidirectional", rc_rnn_new("forward_lstm", rc_lstm_cell_new(&cc), &f, NULL),
                                       rc_rnn_new("backward_lstm", rc_lstm_cell_new(&cc), &b, NULL), RC_MERGE_CONCAT, NULL));
}

static rc_layer *make_dense(void) { return rc_dense_layer(rc_dense_new("dense", 4, RC_ACT_RELU, true)); }
static rc_layer *make_embedding(void) { return rc_embedding_layer(rc_embedding_new("embedding", 20, 4, true)); }
static rc_layer *make_masking(void) { return rc_masking_layer_new("masking", 0.0); }
static rc_layer *make_dropout(void) { return rc_dropout_layer_new("dropout", 0.5); }
static rc_layer *make_note(void) { return rc_note_layer_new("input_layer", "InputLayer"); }

static const layer_case cases[] = {
    {"RNN", "LSTM", make_lstm, {2, {B, 8}}, 4 * 8 * (F + 8 + 1), {"kernel", "recurrent_kernel", "bias"}, false},
    {"Bidirectional", "Bidirectional", make_bidir, {3, {B, T, 10}}, 2 * 4 * 5 * (F + 5 + 1),
     {"kernel", "recurrent_kernel", "bias", "kernel", "recurrent_kernel", "bias"}, false},
    {"Dense", "Dense", make_dense, {3, {B, T, 4}}, 4 * (F + 1), {"kernel", "bias"}, false},
    {"Embedding", "Embedding", make_embedding, {3, {B, T, 4}}, 20 * 4, {"embeddings"}, true},
    {"Masking", "Masking", make_masking, {3, {B, T, F}}, 0, {NULL}, true},
    {"Dropout", "Dropout", make_dropout, {3, {B, T, F}}, 0, {NULL}, false},
    {"Layer", "InputLayer", make_note, {3, {B, T, F}}, 0, {NULL}, false},
};

static const layer_case *case_of(const rc_layer_class *cls) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(cases[i].type, cls->type)) return &cases[i];
    return NULL;
}

Test(layer_table, every_class_builds_applies_and_reports_its_keras_row) {
    cr_assert_geq(rc_layer_table_len, 7);
    for (int i = 0; i < rc_layer_table_len; i++) {
        const rc_layer_class *cls = rc_layer_table[i];
        const layer_case *c = case_of(cls);
        cr_assert(c, "class '%s' of the layer table has no case in this test", cls->type);
        cr_assert_eq(rc_layer_class_find(cls->type), cls);
        rc_graph *g = rc_graph_new();
        rc_model *m = rc_model_new("m");
        rc_layer *l = c->make();
        cr_assert(l && l->cls == cls, "%s: made a layer of another class", cls->type);
        cr_assert_str_eq(rc_layer_type(l), c->shown);
        cr_assert_eq(rc_layer_param_count(l), 0, "%s: weights before the build", cls->type);
        rc_node *x = cls->input_dtype == RC_I32 ? rc_input(g, "ids", RC_I32, RC_SHAPE(B, T))
                                                : rc_input(g, "x", RC_F32, RC_SHAPE(B, T, F));
        rc_rng rng;
        rc_rng_seed(&rng, 1);
        rc_layer_in in = {.x = x, .rng = &rng};
        rc_layer_out out;
        cr_assert_eq(rc_model_call(m, l, g, &in, &out), RC_OK, "%s: %s", cls->type, rc_graph_error(g));
        cr_assert_eq(out.nout, 1);
        cr_assert(rc_shape_eq(rc_node_shape(out.out[0]), c->out), "%s: output shape", cls->type);
        cr_assert_eq(out.mask[0] != NULL, c->mask_out, "%s: output mask", cls->type);
        /* parameters: the Keras count, in get_weights() order */
        cr_assert_eq(rc_layer_param_count(l), c->params, "%s: %lld parameters, Keras has %lld", cls->type,
                     (long long)rc_layer_param_count(l), (long long)c->params);
        rc_node *p[RC_LAYER_MAX_PARAMS];
        int np = rc_layer_params(l, p, RC_LAYER_MAX_PARAMS), want = 0;
        while (c->names[want]) want++;
        cr_assert_eq(np, want, "%s: %d weights", cls->type, np);
        for (int k = 0; k < np; k++) cr_assert_str_eq(rc_node_name(p[k]), c->names[k], "%s: weight %d", cls->type, k);
        cr_assert_eq(rc_model_params(m, NULL, 0), np);
        /* the summary row */
        rc_layer_info info;
        cr_assert(rc_model_layer_info(m, 0, &info));
        cr_assert_eq(rc_model_layer(m, 0), l);
        cr_assert_str_eq(info.name, rc_layer_name(l));
        cr_assert_str_eq(info.type, c->shown);
        cr_assert(rc_shape_eq(info.output, c->out));
        cr_assert_eq(info.params, c->params);
        char buf[2048], row[160];
        rc_model_summary(m, buf, sizeof buf);
        snprintf(row, sizeof row, "│ %s (%s)", info.name, c->shown);
        cr_assert(strstr(buf, row), "%s: no row '%s' in\n%s", cls->type, row, buf);
        /* a second call shares the weights and the row */
        cr_assert_eq(rc_model_call(m, l, g, &in, &out), RC_OK);
        cr_assert_eq(rc_model_layer_count(m), 1);
        cr_assert_eq(rc_model_param_count(m), c->params);
        rc_model_free(m); /* frees l */
        rc_graph_free(g);
    }
}

/* The RNN class is one row for every cell: its Keras name follows the cell. */
Test(layer_table, rnn_type_follows_the_cell) {
    rc_cell_config cc = rc_cell_defaults(4);
    struct {
        rc_cell *cell;
        const char *type;
        int64_t params; /* on F = 3 */
    } k[] = {
        {rc_simple_rnn_cell_new(&cc), "SimpleRNN", 4 * (F + 4 + 1)},
        {rc_gru_cell_new(&cc), "GRU", 3 * 4 * (F + 4 + 2)},
        {rc_stacked_cells_new((rc_cell *[]){rc_lstm_cell_new(&cc)}, 1, NULL), "RNN", 4 * 4 * (F + 4 + 1)},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        rc_graph *g = rc_graph_new();
        rc_model *m = rc_model_new("m");
        rc_layer *l = rc_rnn_layer(rc_rnn_new("rnn", k[i].cell, NULL, NULL));
        cr_assert_eq(rc_model_add(m, l), RC_OK);
        cr_assert_str_eq(rc_layer_type(l), k[i].type);
        cr_assert(rc_model_apply(m, g, rc_input(g, "x", RC_F32, RC_SHAPE(B, T, F)), false, NULL), "%s",
                  rc_graph_error(g));
        cr_assert_eq(rc_model_param_count(m), k[i].params, "%s: %lld", k[i].type, (long long)rc_model_param_count(m));
        rc_model_free(m);
        rc_graph_free(g);
    }
}

/* A Sequential chain refuses a layer that returns states, naming it. */
Test(layer_table, a_layer_returning_states_does_not_chain) {
    rc_graph *g = rc_graph_new();
    rc_model *m = rc_model_new("m");
    rc_cell_config cc = rc_cell_defaults(4);
    rc_rnn_config rs = {.return_state = true};
    cr_assert_eq(rc_model_add(m, rc_rnn_layer(rc_rnn_new("gru", rc_gru_cell_new(&cc), &rs, NULL))), RC_OK);
    cr_assert_null(rc_model_apply(m, g, rc_input(g, "x", RC_F32, RC_SHAPE(B, T, F)), false, NULL));
    cr_assert(strstr(rc_graph_error(g), "layer 'gru' returns states"), "%s", rc_graph_error(g));
    /* called functionally it gives the output then the states */
    rc_graph *g2 = rc_graph_new();
    rc_model *m2 = rc_model_new("m2");
    rc_layer_in in = {.x = rc_input(g2, "x", RC_F32, RC_SHAPE(B, T, F))};
    rc_layer_out out;
    rc_layer *l = rc_rnn_layer(rc_rnn_new("gru", rc_gru_cell_new(&cc), &rs, NULL));
    cr_assert_eq(rc_model_call(m2, l, g2, &in, &out), RC_OK, "%s", rc_graph_error(g2));
    cr_assert_eq(out.nout, 2);
    cr_assert(rc_shape_eq(rc_node_shape(out.out[1]), RC_SHAPE(B, 4)));
    rc_model_free(m);
    rc_model_free(m2);
    rc_graph_free(g);
    rc_graph_free(g2);
}

/* A NULL layer is refused; ownership is taken either way. */
Test(layer_table, add_refuses_null) {
    rc_model *m = rc_model_new("m");
    cr_assert_eq(rc_model_add(m, NULL), RC_ERR_ARG);
    cr_assert_eq(rc_model_add(NULL, rc_dropout_layer_new("d", 0.1)), RC_ERR_ARG);
    cr_assert_eq(rc_model_layer_count(m), 0);
    rc_model_free(m);
}
