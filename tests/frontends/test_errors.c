/* The one error model (docs/errors.md): every fallible call that is not a
 * graph builder fills the caller's rc_error with a code, the function's
 * name and a message, and accepts a NULL rc_error. One table of failing
 * calls, from every part of the library, each run twice: with an rc_error
 * (the three fields checked) and with NULL (the same status, no crash). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <recur.h>
#include <recur/checkpoint.h>
#include <recur/model_io.h>
#include <recur/render.h>

#define MISSING "/nonexistent-dir-of-recur-tests"

/* --- the failing calls --------------------------------------------------- */

static rc_status corpus_bytes_missing(rc_error *e) {
    rc_corpus c;
    return rc_corpus_load_bytes(&c, MISSING "/corpus.txt", 0.9, e);
}

static rc_status corpus_ints_missing(rc_error *e) {
    rc_corpus c;
    return rc_corpus_load_ints(&c, MISSING "/ids.txt", 0, 0.9, e);
}

static rc_status corpus_bad_fraction(rc_error *e) {
    rc_corpus c;
    return rc_corpus_from_bytes(&c, "abc", 3, 0.0, NULL, e);
}

static rc_status corpus_no_tokens(rc_error *e) {
    rc_corpus c;
    return rc_corpus_from_tokens(&c, NULL, 0, 0, 0.5, e);
}

static rc_status windows_too_long(rc_error *e) {
    static const int32_t tok[10] = {0};
    rc_corpus c;
    cr_assert_eq(rc_corpus_from_tokens(&c, tok, 10, 4, 0.5, NULL), RC_OK);
    rc_rng r;
    rc_rng_seed(&r, 1);
    int32_t x[8], y[8];
    rc_status st = rc_corpus_windows(&c, &r, 1, 8, x, y, NULL, e);
    rc_corpus_free(&c);
    return st;
}

static rc_status eval_starts_no_count(rc_error *e) {
    int64_t s[1];
    return rc_eval_starts(100, 10, 0, s, e);
}

static rc_status optim_bad_beta(rc_error *e) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_ADAM);
    c.beta2 = 1.5;
    return rc_optim_validate(&c, e);
}

static rc_status optim_json_no_kind(rc_error *e) {
    rc_optim_config c;
    return rc_optim_from_json("{\"learning_rate\": 0.1}", &c, e);
}

static rc_status safetensors_missing(rc_error *e) {
    rc_safetensors *s = NULL;
    return rc_safetensors_read(MISSING "/w.safetensors", &s, e);
}

static rc_status safetensors_unwritable(rc_error *e) {
    float v = 1;
    rc_st_tensor t = {.name = "w", .dtype = RC_F32, .shape = RC_SHAPE(1), .data = &v};
    return rc_safetensors_write(MISSING "/w.safetensors", &t, 1, NULL, 0, e);
}

/* A graph with one parameter, for the parameter files and the trainer. */
typedef struct tiny {
    rc_graph *g;
    rc_node *p, *x, *loss;
    rc_trainer *t;
} tiny;

static tiny tiny_new(bool trainer) {
    tiny n = {.g = rc_graph_new()};
    n.p = rc_param(n.g, "p", RC_SHAPE(2));
    n.x = rc_input(n.g, "x", RC_F32, RC_SHAPE(2));
    n.loss = rc_sum(n.g, rc_mul(n.g, n.p, n.x), RC_ALL_AXES, false);
    if (trainer) {
        rc_trainer_spec spec = {.loss = n.loss, .optim = rc_optim_defaults(RC_OPT_SGD)};
        n.t = rc_trainer_new(n.g, &spec);
        cr_assert(n.t, "%s", rc_graph_error(n.g));
    }
    return n;
}

static void tiny_free(tiny *n) {
    rc_trainer_free(n->t);
    rc_graph_free(n->g);
}

static rc_status load_params_missing(rc_error *e) {
    tiny n = tiny_new(false);
    rc_status st = rc_load_params(MISSING "/p.safetensors", &n.p, 1, e);
    tiny_free(&n);
    return st;
}

static rc_status save_params_none(rc_error *e) { return rc_save_params("p.safetensors", NULL, 0, NULL, 0, e); }

static rc_status trainer_load_missing(rc_error *e) {
    tiny n = tiny_new(true);
    rc_status st = rc_trainer_load(n.t, MISSING "/ckpt.safetensors", NULL, NULL, e);
    tiny_free(&n);
    return st;
}

static rc_status trainer_save_unwritable(rc_error *e) {
    tiny n = tiny_new(true);
    rc_status st = rc_trainer_save(n.t, MISSING "/ckpt.safetensors", NULL, NULL, e);
    tiny_free(&n);
    return st;
}

static rc_status trainer_step_nan_loss(rc_error *e) {
    tiny n = tiny_new(true);
    rc_node_set(n.x, (const float[]){NAN, 1});
    rc_status st = rc_trainer_step(n.t, NULL, e);
    tiny_free(&n);
    return st;
}

static rc_status trainer_fit_no_config(rc_error *e) {
    tiny n = tiny_new(true);
    rc_status st = rc_trainer_fit(n.t, NULL, NULL, e);
    tiny_free(&n);
    return st;
}

static rc_status trainer_negative_iterations(rc_error *e) {
    tiny n = tiny_new(true);
    rc_status st = rc_trainer_set_iterations(n.t, -1, e);
    tiny_free(&n);
    return st;
}

static rc_status io_load_missing_json(rc_error *e) {
    rc_io_model *m = NULL;
    return rc_io_load(MISSING "/model.json", &m, e);
}

static rc_status io_load_missing_keras(rc_error *e) {
    rc_io_model *m = NULL;
    return rc_io_load(MISSING "/model.keras", &m, e);
}

static rc_status io_build_null(rc_error *e) {
    return rc_io_build(NULL, NULL, NULL, 0, false, NULL, NULL, 0, NULL, 0, NULL, e);
}

static rc_status io_export_null(rc_error *e) { return rc_io_export_tfjs(NULL, MISSING, e); }

/* A gather reading id 9 of a 5-row table: both runners stop with a message. */
typedef struct gather_net {
    rc_graph *g;
    rc_node *y;
} gather_net;

static gather_net gather_new(void) {
    gather_net n = {.g = rc_graph_new()};
    rc_node *table = rc_param(n.g, "table", RC_SHAPE(5, 2));
    rc_node *ids = rc_input(n.g, "ids", RC_I32, RC_SHAPE(2));
    cr_assert(rc_node_set_i32(ids, (const int32_t[]){1, 9}));
    n.y = rc_gather(n.g, table, ids);
    cr_assert(n.y, "%s", rc_graph_error(n.g));
    return n;
}

static rc_status plan_run_bad_id(rc_error *e) {
    gather_net n = gather_new();
    rc_plan *p = rc_plan_new(n.g, &n.y, 1);
    cr_assert(p, "%s", rc_graph_error(n.g));
    rc_status st = rc_plan_run(p, e);
    rc_plan_free(p);
    rc_graph_free(n.g);
    return st;
}

static rc_status refeval_run_bad_id(rc_error *e) {
    gather_net n = gather_new();
    rc_refeval *r = rc_refeval_new(n.g, &n.y, 1);
    cr_assert(r, "%s", rc_graph_error(n.g));
    rc_status st = rc_refeval_run(r, e);
    rc_refeval_free(r);
    rc_graph_free(n.g);
    return st;
}

static rc_status dot_string_bad_rankdir(rc_error *e) {
    tiny n = tiny_new(false);
    rc_dot_options o = rc_dot_defaults();
    o.rankdir = "XY";
    char *s = NULL;
    rc_status st = rc_dot_string(n.g, &o, &s, NULL, e);
    tiny_free(&n);
    return st;
}

static rc_status dot_write_no_file(rc_error *e) {
    tiny n = tiny_new(false);
    rc_status st = rc_dot_write(n.g, NULL, NULL, e);
    tiny_free(&n);
    return st;
}

static rc_status render_bad_dot(rc_error *e) {
    char *out = NULL;
    return rc_dot_render("digraph { a -> }", "svg", &out, NULL, e);
}

static rc_status dot_save_bad_extension(rc_error *e) {
    tiny n = tiny_new(false);
    rc_status st = rc_dot_save(n.g, NULL, "graph.jpeg", e);
    tiny_free(&n);
    return st;
}

static rc_status rnn_new_bad_dropout(rc_error *e) {
    rc_cell_config cc = rc_cell_defaults(4);
    rc_cell *c = rc_lstm_cell_new(&cc);
    rc_rnn_config cfg = {.dropout = 1.5f};
    rc_rnn *l = rc_rnn_new("lstm", c, &cfg, e);
    cr_assert_null(l);
    rc_cell_free(c); /* not taken over on failure */
    return e ? e->code : RC_ERR_ARG;
}

static rc_status bidir_new_forward_only(rc_error *e) {
    rc_cell_config cc = rc_cell_defaults(4);
    rc_rnn *fw = rc_rnn_new("fw", rc_lstm_cell_new(&cc), NULL, NULL);
    rc_rnn *bw = rc_rnn_new("bw", rc_lstm_cell_new(&cc), NULL, NULL); /* no go_backwards */
    cr_assert(fw && bw);
    rc_bidir *b = rc_bidir_new("bidi", fw, bw, RC_MERGE_CONCAT, e);
    cr_assert_null(b);
    rc_rnn_free(fw); /* not taken over on failure */
    rc_rnn_free(bw);
    return e ? e->code : RC_ERR_ARG;
}

static rc_status cell_new_no_states(rc_error *e) {
    rc_cell_config cc = rc_cell_defaults(4);
    rc_cell *lstm = rc_lstm_cell_new(&cc); /* borrow a valid class */
    rc_cell *c = rc_cell_new(lstm->cls, "mine", 0, NULL, 4, NULL, e);
    cr_assert_null(c);
    rc_cell_free(lstm);
    return e ? e->code : RC_ERR_ARG;
}

static rc_status stacked_cells_none(rc_error *e) {
    cr_assert_null(rc_stacked_cells_new(NULL, 0, e));
    return e ? e->code : RC_ERR_ARG;
}

static rc_status orthogonal_empty(rc_error *e) {
    float w[1];
    rc_rng r;
    rc_rng_seed(&r, 1);
    return rc_init_orthogonal(w, 0, 4, 1.0f, &r, e);
}

static rc_status reset_states_before_apply(rc_error *e) {
    rc_cell_config cc = rc_cell_defaults(4);
    rc_rnn_config cfg = {.stateful = true};
    rc_rnn *l = rc_rnn_new("stateful", rc_lstm_cell_new(&cc), &cfg, NULL);
    rc_status st = rc_rnn_reset_states(l, NULL, e);
    rc_rnn_free(l);
    return st;
}

typedef struct error_case {
    const char *what;
    rc_status (*call)(rc_error *e);
    rc_status code;
    const char *where;
    const char *needle; /* in the message */
} error_case;

static const error_case cases[] = {
    {"bytes corpus, missing file", corpus_bytes_missing, RC_ERR_IO, "rc_corpus_load_bytes", "corpus.txt"},
    {"integer corpus, missing file", corpus_ints_missing, RC_ERR_IO, "rc_corpus_load_ints", "ids.txt"},
    {"corpus from bytes, bad fraction", corpus_bad_fraction, RC_ERR_ARG, "rc_corpus_from_bytes", "fraction"},
    {"corpus from no tokens", corpus_no_tokens, RC_ERR_ARG, "rc_corpus_from_tokens", "at least one"},
    {"windows longer than the split", windows_too_long, RC_ERR_ARG, "rc_corpus_windows", "training split"},
    {"evaluation starts, count 0", eval_starts_no_count, RC_ERR_ARG, "rc_eval_starts", "count 0"},
    {"bad optimizer config", optim_bad_beta, RC_ERR_ARG, "rc_optim_validate", "beta2"},
    {"optimizer JSON without kind", optim_json_no_kind, RC_ERR_FORMAT, "rc_optim_from_json", "kind"},
    {"safetensors, missing file", safetensors_missing, RC_ERR_IO, "rc_safetensors_read", "w.safetensors"},
    {"safetensors, unwritable", safetensors_unwritable, RC_ERR_IO, "rc_safetensors_write", "w.safetensors"},
    {"parameters, missing file", load_params_missing, RC_ERR_IO, "rc_load_params", "p.safetensors"},
    {"parameters, none to save", save_params_none, RC_ERR_ARG, "rc_save_params", "no parameters"},
    {"checkpoint, missing file", trainer_load_missing, RC_ERR_IO, "rc_trainer_load", "ckpt.safetensors"},
    {"checkpoint, unwritable", trainer_save_unwritable, RC_ERR_IO, "rc_trainer_save", "ckpt.safetensors"},
    {"trainer step, NaN loss", trainer_step_nan_loss, RC_ERR_NUMERIC, "rc_trainer_step", "no parameter was updated"},
    {"fit without a config", trainer_fit_no_config, RC_ERR_ARG, "rc_trainer_fit", "config is NULL"},
    {"negative iterations", trainer_negative_iterations, RC_ERR_ARG, "rc_trainer_set_iterations", "-1"},
    {"TF.js model, missing file", io_load_missing_json, RC_ERR_IO, "rc_io_load", "model.json"},
    {"Keras model, missing file", io_load_missing_keras, RC_ERR_IO, "rc_io_load", "model.keras"},
    {"building no model", io_build_null, RC_ERR_ARG, "rc_io_build", "NULL"},
    {"exporting no model", io_export_null, RC_ERR_ARG, "rc_io_export_tfjs", "NULL"},
    {"plan run, out-of-range id", plan_run_bad_id, RC_ERR_ARG, "rc_plan_run", "gather at 'gather'"},
    {"reference run, out-of-range id", refeval_run_bad_id, RC_ERR_ARG, "rc_refeval_run", "gather at 'gather'"},
    {"DOT, bad rankdir", dot_string_bad_rankdir, RC_ERR_ARG, "rc_dot_string", "rankdir 'XY'"},
    {"DOT, no file", dot_write_no_file, RC_ERR_ARG, "rc_dot_write", "file is NULL"},
    {"render, bad DOT text", render_bad_dot, RC_ERR_FORMAT, "rc_dot_render", "could not read the DOT text"},
    {"save, unknown extension", dot_save_bad_extension, RC_ERR_ARG, "rc_dot_save", "graph.jpeg"},
    {"RNN layer, dropout 1.5", rnn_new_bad_dropout, RC_ERR_ARG, "rc_rnn_new", "layer 'lstm': dropout 1.5"},
    {"Bidirectional, forward-only backward", bidir_new_forward_only, RC_ERR_ARG, "rc_bidir_new", "go_backwards"},
    {"cell without states", cell_new_no_states, RC_ERR_ARG, "rc_cell_new", "0 states"},
    {"stack of no cells", stacked_cells_none, RC_ERR_ARG, "rc_stacked_cells_new", "at least one"},
    {"orthogonal init, empty matrix", orthogonal_empty, RC_ERR_ARG, "rc_init_orthogonal", "0 x 4"},
    {"reset states before apply", reset_states_before_apply, RC_ERR_STATE, "rc_rnn_reset_states", "first apply"},
};

Test(errors, every_converted_call_fills_code_where_and_message) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const error_case *c = &cases[i];
        rc_error e;
        rc_error_set(&e, RC_ERR_STATE, "stale", "a previous error"); /* overwritten, not appended to */
        rc_status st = c->call(&e);
        cr_expect_eq(st, c->code, "%s: status %s, want %s (%s)", c->what, rc_status_str(st), rc_status_str(c->code),
                     e.message);
        cr_expect_eq(e.code, st, "%s: err.code %d, returned %d", c->what, (int)e.code, (int)st);
        cr_expect_str_eq(e.where, c->where, "%s", c->what);
        cr_expect(strstr(e.message, c->needle) != NULL, "%s: message '%s' lacks '%s'", c->what, e.message, c->needle);
        cr_expect(!strchr(e.message, '\n'), "%s: message '%s' is not one line", c->what, e.message);
    }
}

Test(errors, a_null_error_is_accepted_everywhere) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_neq(cases[i].call(NULL), RC_OK, "%s", cases[i].what);
}

Test(errors, success_leaves_the_error_as_it_was) {
    rc_error e;
    rc_error_set(&e, RC_ERR_IO, "earlier", "an earlier failure");
    rc_optim_config c = rc_optim_defaults(RC_OPT_SGD);
    cr_assert_eq(rc_optim_validate(&c, &e), RC_OK);
    cr_expect_eq(e.code, RC_ERR_IO);
    cr_expect_str_eq(e.where, "earlier");
    cr_expect_str_eq(e.message, "an earlier failure");
}

Test(errors, helpers) {
    rc_error e;
    cr_expect_eq(rc_error_set(NULL, RC_ERR_IO, "f", "x %d", 1), RC_ERR_IO);
    cr_expect_eq(rc_error_set(&e, RC_ERR_NOMEM, "f", NULL), RC_ERR_NOMEM);
    cr_expect_str_eq(e.message, rc_status_str(RC_ERR_NOMEM), "no format: the status' name");
    char longer[2 * sizeof e.message];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    rc_error_set(&e, RC_ERR_ARG, longer, "%s", longer); /* cut, never overrun */
    cr_expect_eq(strlen(e.message), sizeof e.message - 1);
    cr_expect_eq(strlen(e.where), sizeof e.where - 1);
    /* one line even when the message quotes a hostile file (a layer name
     * with a newline, a terminal escape; fuzz/regressions/tfjs) */
    rc_error_set(&e, RC_ERR_FORMAT, "f", "layer '%s': option '%s'", "a\nb\r", "u\x1b[2J\x7f\tv\xc3\xa9");
    cr_expect_str_eq(e.message, "layer 'a?b?': option 'u?[2J??v\xc3\xa9'");
    rc_error_clear(&e);
    cr_expect(e.code == RC_OK && !e.where[0] && !e.message[0]);
    rc_error_clear(NULL);
    /* a graph's error as an rc_error */
    rc_graph *g = rc_graph_new();
    rc_error_set(&e, RC_ERR_IO, "untouched", "while the graph is fine");
    cr_expect_eq(rc_error_from_graph(&e, g, "build"), RC_OK);
    cr_expect_str_eq(e.where, "untouched");
    rc_node *a = rc_param(g, "a", RC_SHAPE(2)), *b = rc_param(g, "b", RC_SHAPE(3));
    cr_assert_null(rc_add(g, a, b));
    cr_expect_eq(rc_error_from_graph(&e, g, "build"), RC_ERR_SHAPE);
    cr_expect_eq(e.code, RC_ERR_SHAPE);
    cr_expect_str_eq(e.where, "build");
    cr_expect_str_eq(e.message, rc_graph_error(g));
    cr_expect_eq(rc_error_from_graph(NULL, g, "build"), RC_ERR_SHAPE);
    rc_graph_free(g);
}
