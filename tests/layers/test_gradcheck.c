/* Double-precision gradient checks of the recurrent layers: every built-in
 * cell (SimpleRNN tanh/relu, LSTM sigmoid/hard_sigmoid/hard_sigmoid_k2, GRU
 * reset_after true/false, use_bias false for each) and the user cell of
 * examples/mgu_cell.c (with and without its project hook), in plain RNN
 * layers, with masks, go_backwards and initial states, stacked (two and
 * three cells of mixed kinds) and in Bidirectional (every merge mode), and
 * with training-mode dropout.
 *
 * Each case builds one layer over x (B, T, I) whose x and initial states are
 * parameters, gives every weight a random value, takes
 *   loss = sum_k sum(R_k * returned_k)
 * over every tensor the layer returns (output, or both halves for merge
 * mode none, plus the states with return_state), and checks d loss / d x,
 * d loss / d each initial state and d loss / d each weight against central
 * differences (rc_gradcheck: eps 1e-6, |analytic - numeric| <= 1e-6 +
 * 1e-5 |numeric|).
 *
 * Kinks. relu and hard_sigmoid are not differentiable at relu(0) and where
 * hard_sigmoid's argument leaves (0, 1). Central differences with eps 1e-6
 * are wrong only when a pre-activation lies within |d pre / d leaf| * 1e-6
 * of a kink for the perturbed leaf. Inputs and weights are drawn from
 * [-1, 1) and [-0.6, 0.6), sizes are at most 3 wide, so |d pre / d leaf| <
 * 10 and a margin of 1e-4 is far more than enough. Rather than trusting a
 * seed, every case checks it: kink_guard() evaluates the argument of every
 * relu and hard_sigmoid node of the forward graph (in double, as the check
 * does) and asserts each is at least 1e-4 from its kinks. (Saturated
 * hard_sigmoid elements just have zero gradient on both sides, which the
 * check verifies like any other value.)
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <recur.h>
#include <recur/op.h>
#include <recur/rnn.h>

#include "../../examples/mgu_cell.h"
#include "util.h"

enum { T = 4, I = 3, MAXW = 1 + 4 * RC_MAX_STATES + 2 * RC_MAX_CELL_PARAMS };
#define KINK_MARGIN 1e-4

/* --- cells ----------------------------------------------------------------- */

typedef enum kind {
    SIMPLE_TANH,
    SIMPLE_RELU,
    SIMPLE_NOBIAS,
    LSTM,
    LSTM_HARD,    /* recurrent_activation hard_sigmoid (Keras 3, x/6 + 1/2) */
    LSTM_HARD_K2, /* hard_sigmoid_k2 (0.2x + 1/2) */
    LSTM_NOBIAS,
    GRU_AFTER,
    GRU_BEFORE,
    GRU_AFTER_NOBIAS,
    GRU_BEFORE_NOBIAS,
    MGU,          /* the user cell */
    MGU_NOPROJ,   /* the user cell behind a class without project() */
    NKINDS
} kind;

static const char *kind_name[NKINDS] = {
    "SimpleRNN(tanh)", "SimpleRNN(relu)", "SimpleRNN(no bias)", "LSTM", "LSTM(hard_sigmoid)",
    "LSTM(hard_sigmoid_k2)", "LSTM(no bias)", "GRU(reset_after)", "GRU(reset_before)",
    "GRU(reset_after, no bias)", "GRU(reset_before, no bias)", "MGU", "MGU(no project)",
};

/* A cell class with no project hook wrapping another cell, so the RNN layer
 * (and a stack starting with it) pass raw x_t rows to step. */
typedef struct noproj {
    rc_cell *inner;
} noproj;

static rc_status noproj_build(rc_cell *c, rc_graph *g, int64_t in, rc_rng *rng) {
    noproj *w = c->impl;
    rc_status st = rc_cell_build(w->inner, g, in, rng);
    for (int k = 0; st == RC_OK && k < w->inner->nparams; k++) c->params[c->nparams++] = w->inner->params[k];
    return st;
}

static rc_status noproj_step(rc_cell *c, rc_graph *g, rc_cell_step *s) {
    rc_cell *in = ((noproj *)c->impl)->inner;
    rc_cell_step sub = *s;
    sub.x = in->cls->project(in, g, s->x);
    rc_status st = in->cls->step(in, g, &sub);
    s->output = sub.output;
    memcpy(s->next_state, sub.next_state, sizeof s->next_state);
    return st;
}

static void noproj_destroy(rc_cell *c) {
    noproj *w = c->impl;
    rc_cell_free(w->inner);
    rc_free(w);
}

static const rc_cell_class noproj_class = {"NoProject", noproj_build, NULL, noproj_step, noproj_destroy};

static rc_cell *make_cell(kind k, int64_t U) {
    rc_cell_config c = rc_cell_defaults(U);
    switch (k) {
    case SIMPLE_TANH: return rc_simple_rnn_cell_new(&c);
    case SIMPLE_RELU: c.activation = RC_ACT_RELU; return rc_simple_rnn_cell_new(&c);
    case SIMPLE_NOBIAS: c.use_bias = false; return rc_simple_rnn_cell_new(&c);
    case LSTM: return rc_lstm_cell_new(&c);
    case LSTM_HARD: c.recurrent_activation = RC_ACT_HARD_SIGMOID; return rc_lstm_cell_new(&c);
    case LSTM_HARD_K2: c.recurrent_activation = RC_ACT_HARD_SIGMOID_K2; return rc_lstm_cell_new(&c);
    case LSTM_NOBIAS: c.use_bias = false; return rc_lstm_cell_new(&c);
    case GRU_AFTER: return rc_gru_cell_new(&c);
    case GRU_BEFORE: c.reset_after = false; return rc_gru_cell_new(&c);
    case GRU_AFTER_NOBIAS: c.use_bias = false; return rc_gru_cell_new(&c);
    case GRU_BEFORE_NOBIAS: c.use_bias = false, c.reset_after = false; return rc_gru_cell_new(&c);
    case MGU: return mgu_cell_new(U);
    case MGU_NOPROJ: {
        noproj *w = rc_calloc(1, sizeof *w);
        cr_assert(w);
        w->inner = mgu_cell_new(U);
        cr_assert(w->inner);
        return rc_cell_new(&noproj_class, "mgu_noproj", 1, (int64_t[]){U}, U, w, NULL);
    }
    case NKINDS: break;
    }
    return NULL;
}

/* --- one case ----------------------------------------------------------------- */

typedef struct spec {
    int ncells;             /* 1: the cell alone; 2-3: rc_stacked_cells_new */
    kind kinds[3];
    int64_t units[3];
    bool seq, state, back, zero_out;
    bool mask, init;
    bool bidir;
    rc_merge_mode mode;
    bool training;
    float dropout, rdrop;
    bool embed;             /* x = table[ids], table (EMBED_V, I) the leaf checked */
    uint64_t seed;
} spec;

static void describe(const spec *s, char *buf, size_t len) {
    static const char *modes[] = {"concat", "sum", "mul", "ave", "none"};
    int n = snprintf(buf, len, "%s", s->bidir ? "Bidirectional(" : "RNN(");
    for (int k = 0; k < s->ncells; k++)
        n += snprintf(buf + n, len - (size_t)n, "%s%s[%lld]", k ? ", " : "", kind_name[s->kinds[k]],
                      (long long)s->units[k]);
    snprintf(buf + n, len - (size_t)n, ")%s%s%s%s%s%s%s%s%s%s seed %llu", s->bidir ? " merge " : "",
             s->bidir ? modes[s->mode] : "", s->seq ? " seq" : "", s->state ? " state" : "",
             s->back ? " backwards" : "", s->zero_out ? " zero_output" : "", s->mask ? " mask" : "",
             s->init ? " init" : "", s->training ? " training+dropout" : "", s->embed ? " embedding" : "",
             (unsigned long long)s->seed);
}

static rc_cell *make_layer_cell(const spec *s) {
    if (s->ncells == 1) {
        rc_cell *c = make_cell(s->kinds[0], s->units[0]);
        cr_assert(c);
        return c;
    }
    rc_cell *cs[3];
    for (int k = 0; k < s->ncells; k++) cr_assert((cs[k] = make_cell(s->kinds[k], s->units[k])));
    rc_cell *c = rc_stacked_cells_new(cs, s->ncells, NULL);
    cr_assert(c);
    return c;
}

static rc_rnn *make_rnn(const spec *s, const char *name, bool back) {
    rc_rnn_config cfg = {.return_sequences = s->seq, .return_state = s->state, .go_backwards = back,
                         .zero_output_for_mask = s->zero_out, .dropout = s->dropout,
                         .recurrent_dropout = s->rdrop};
    rc_rnn *l = rc_rnn_new(name, make_layer_cell(s), &cfg, NULL);
    cr_assert(l);
    return l;
}

/* Row 0 has a gap, row 1 is masked at every step (keeps its initial state,
 * outputs zeros), row 2 is masked at both ends. */
/* Embedding ids for B <= 3 rows: every table row used, one twice in a step. */
enum { EMBED_V = 3 };
static const int32_t embed_ids[3 * T] = {0, 2, 1, 1, 2, 0, 0, 1, 1, 2, 0, 2};

static const float mask3[3 * T] = {1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0};

/* The argument of every relu / hard_sigmoid node is KINK_MARGIN away from
 * the kinks (see the top of the file). */
static void kink_guard(rc_graph *g, const char *what) {
    int n = rc_graph_node_count(g), nk = 0;
    rc_node *args[512];
    for (int id = 0; id < n; id++) {
        rc_node *v = rc_graph_node(g, id);
        const char *op = rc_node_op_name(v);
        if (!strcmp(op, "relu") || !strcmp(op, "hard_sigmoid")) {
            cr_assert(nk < 512);
            args[nk++] = v;
        }
    }
    if (!nk) return;
    rc_node *in[512];
    for (int k = 0; k < nk; k++) in[k] = rc_node_input(args[k], 0);
    rc_refeval *r = rc_refeval_new(g, in, nk);
    cr_assert(r, "refeval: %s", rc_graph_error(g));
    cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
    for (int k = 0; k < nk; k++) {
        const double *x = rc_refeval_f64(r, in[k]);
        bool relu = !strcmp(rc_node_op_name(args[k]), "relu");
        double a = relu ? 1 : args[k]->attr.f[0], b = relu ? 0 : args[k]->attr.f[1];
        for (int64_t e = 0; e < rc_node_numel(in[k]); e++) {
            double z = a * x[e] + b; /* kinks at z = 0 (relu, hard_sigmoid) and z = 1 (hard_sigmoid) */
            double d = relu ? fabs(z) : fmin(fabs(z), fabs(z - 1));
            char path[256];
            cr_assert(d >= KINK_MARGIN * a, "%s: %s element %lld argument %.9g is within %.3g of a kink; pick another seed",
                      what, rc_node_path(args[k], path, sizeof path), (long long)e, x[e], d / a);
        }
    }
    rc_refeval_free(r);
}

static void check_grads(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n, const char *what) {
    cr_assert(rc_graph_error(g) == NULL, "%s: graph error: %s", what, rc_graph_error(g));
    rc_gradcheck_result res;
    int before = rc_graph_node_count(g);
    rc_status st = rc_gradcheck(g, loss, wrt, n, NULL, &res);
    cr_assert_eq(rc_graph_node_count(g), before, "%s: gradcheck left nodes behind", what);
    char path[256] = "?";
    if (res.worst_node >= 0 && res.worst_node < n) rc_node_path(wrt[res.worst_node], path, sizeof path);
    cr_assert(st == RC_OK,
              "%s: gradcheck %s (%s); %lld of %lld failed; worst: '%s' element %lld analytic %.12g numeric %.12g",
              what, rc_status_str(st), rc_graph_error(g) ? rc_graph_error(g) : "-", (long long)res.failed,
              (long long)res.checked, path, (long long)res.worst_elem, res.worst_analytic, res.worst_numeric);
    cr_assert(res.checked > 0);
}

static int count_op(rc_graph *g, const char *op) {
    int c = 0;
    for (int id = 0; id < rc_graph_node_count(g); id++) c += !strcmp(rc_node_op_name(rc_graph_node(g, id)), op);
    return c;
}

static void run_case(const spec *s) {
    char what[400];
    describe(s, what, sizeof what);
    int64_t B = s->mask ? 3 : 2;
    rc_graph *g = rc_graph_new();
    cr_assert(g);
    rc_rng rng;
    rc_rng_seed(&rng, 1000 + s->seed);

    /* embed: x is an embedding lookup with fewer table rows than T·B, which
     * the layer projects as a table (layers/rnn.c), the gather then taking
     * the projected rows; the gradient reaches the table through it */
    rc_node *table = s->embed ? tu_param(g, "table", RC_SHAPE(EMBED_V, I), &rng, -1.0f, 1.0f) : NULL;
    rc_node *x = s->embed ? rc_gather(g, table, rc_const_i32(g, RC_SHAPE(B, T), embed_ids))
                          : tu_param(g, "x", RC_SHAPE(B, T, I), &rng, -1.0f, 1.0f);
    rc_node *mask = s->mask ? rc_const(g, RC_SHAPE(B, T), mask3) : NULL;
    rc_rnn *layer = NULL, *halves[2] = {NULL, NULL};
    rc_bidir *bidir = NULL;
    int nl = 1;
    if (s->bidir) {
        bidir = rc_bidir_new("bidirectional", make_rnn(s, "forward", false), make_rnn(s, "backward", true), s->mode, NULL);
        cr_assert(bidir, "%s: rc_bidir_new failed", what);
        halves[0] = rc_bidir_forward(bidir);
        halves[1] = rc_bidir_backward(bidir);
        nl = 2;
    } else {
        halves[0] = layer = make_rnn(s, "rnn", s->back);
    }

    rc_node *init[2 * RC_MAX_STATES];
    int ninit = 0;
    if (s->init)
        for (int h = 0; h < nl; h++) {
            rc_cell *c = rc_rnn_cell(halves[h]);
            for (int k = 0; k < c->nstates; k++)
                init[ninit++] = tu_param(g, "initial_state", RC_SHAPE(B, c->state_size[k]), &rng, -1.0f, 1.0f);
        }
    rc_rnn_call call = {.mask = mask, .initial_state = ninit ? init : NULL, .ninitial = ninit,
                        .training = s->training, .rng = &rng};
    rc_node *got[2 + 2 * RC_MAX_STATES];
    int ngot = 0;
    if (bidir) {
        rc_bidir_out o;
        cr_assert_eq(rc_bidir_apply(bidir, g, x, &call, &o), RC_OK, "%s: %s", what, rc_graph_error(g));
        if (s->mode == RC_MERGE_NONE) {
            cr_assert_null(o.output);
            got[ngot++] = o.output_forward;
            got[ngot++] = o.output_backward;
        } else {
            got[ngot++] = o.output;
        }
        if (s->state)
            for (int k = 0; k < o.nstates; k++) got[ngot++] = o.state[k];
    } else {
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(layer, g, x, &call, &o), RC_OK, "%s: %s", what, rc_graph_error(g));
        got[ngot++] = o.output;
        if (s->state)
            for (int k = 0; k < o.nstates; k++) got[ngot++] = o.state[k];
    }
    /* dropout masks exist exactly when training with a rate > 0 */
    int want_masks = s->training ? nl * ((s->dropout > 0) + (s->rdrop > 0)) : 0;
    cr_assert_eq(count_op(g, "dropout_mask"), want_masks, "%s: dropout_mask nodes", what);
    if (s->embed) { /* the projected table is looked up (one gather per chunk) unless it cannot be */
        bool folds = !s->back && !s->bidir && !(s->training && s->dropout > 0) && s->kinds[0] != MGU_NOPROJ;
        cr_assert_eq(count_op(g, "gather") > 1, folds, "%s: %d gather nodes", what, count_op(g, "gather"));
    }

    rc_node *wrt[MAXW];
    int nw = 0;
    wrt[nw++] = s->embed ? table : x;
    for (int k = 0; k < ninit; k++) wrt[nw++] = init[k];
    for (int h = 0; h < nl; h++) {
        rc_cell *c = rc_rnn_cell(halves[h]);
        cr_assert_gt(c->nparams, 0);
        for (int k = 0; k < c->nparams; k++) {
            /* random values everywhere (biases too), not the initializers' */
            rc_rng_fill_uniform(&rng, rc_node_data(c->params[k]), rc_node_numel(c->params[k]), -0.6f, 0.6f);
            wrt[nw++] = c->params[k];
        }
    }
    rc_node *terms[2 + 2 * RC_MAX_STATES];
    for (int k = 0; k < ngot; k++) terms[k] = tu_weighted_sum(g, got[k], &rng);
    rc_node *loss = ngot == 1 ? terms[0] : rc_add_n(g, terms, ngot);
    cr_assert(rc_graph_error(g) == NULL, "%s: %s", what, rc_graph_error(g));
    kink_guard(g, what);
    check_grads(g, loss, wrt, nw, what);
    rc_bidir_free(bidir);
    rc_rnn_free(layer);
    rc_graph_free(g);
}

static int64_t units_for(int k) { return 2 + k % 2; }

static spec one(kind k, int i) {
    return (spec){.ncells = 1, .kinds = {k}, .units = {units_for(k + i)}, .seed = (uint64_t)(k * 100 + i)};
}

/* --- plain RNN ---------------------------------------------------------------------- */

Test(rnn_gradcheck, embedding_lookup) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 40);
        s.embed = s.seq = s.state = true;
        run_case(&s);
        s = one(k, 41);
        s.embed = s.mask = s.seq = true;
        run_case(&s);
        s = one(k, 42); /* reversed: no table projection, same gradients */
        s.embed = s.back = true;
        run_case(&s);
    }
    spec st = {.ncells = 2, .kinds = {LSTM, GRU_AFTER}, .units = {3, 2}, .seq = true, .embed = true, .seed = 43};
    run_case(&st);
    st = (spec){.ncells = 1, .kinds = {LSTM}, .units = {2}, .seq = true, .embed = true, .training = true,
                .dropout = 0.3f, .rdrop = 0.2f, .seed = 44}; /* dropout on x: no table projection */
    run_case(&st);
}

Test(rnn_gradcheck, plain) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 0);
        s.seq = true, s.state = true; /* every output and every final state */
        run_case(&s);
        s = one(k, 1); /* last output only */
        run_case(&s);
        s = one(k, 2); /* last output and states */
        s.state = true;
        run_case(&s);
    }
}

Test(rnn_gradcheck, mask) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 3);
        s.mask = s.seq = s.state = true;
        run_case(&s);
        s = one(k, 4);
        s.mask = s.seq = s.zero_out = true;
        run_case(&s);
        s = one(k, 5);
        s.mask = true; /* last output of masked rows: carried */
        run_case(&s);
    }
}

Test(rnn_gradcheck, go_backwards) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 6);
        s.back = s.seq = s.state = true;
        run_case(&s);
        s = one(k, 7);
        s.back = s.mask = s.init = s.seq = true;
        run_case(&s);
    }
}

Test(rnn_gradcheck, initial_state) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 8);
        s.init = s.seq = s.state = true;
        run_case(&s);
        s = one(k, 9);
        s.init = s.mask = s.state = true; /* the fully masked row returns its initial state */
        run_case(&s);
    }
}

/* --- stacked -------------------------------------------------------------------------- */

static const kind stacks2[][2] = {
    {MGU, LSTM},          {LSTM, GRU_BEFORE},       {GRU_AFTER, SIMPLE_RELU}, {SIMPLE_TANH, MGU},
    {MGU_NOPROJ, GRU_AFTER}, {LSTM_HARD, SIMPLE_NOBIAS}, {GRU_BEFORE_NOBIAS, LSTM_HARD_K2},
    {LSTM_NOBIAS, GRU_AFTER_NOBIAS}, {SIMPLE_RELU, MGU_NOPROJ},
};
static const kind stacks3[][3] = {
    {MGU, LSTM, GRU_AFTER},
    {SIMPLE_RELU, GRU_BEFORE_NOBIAS, MGU},
    {LSTM_NOBIAS, MGU_NOPROJ, LSTM_HARD_K2},
    {MGU_NOPROJ, SIMPLE_TANH, LSTM_HARD},
    {GRU_BEFORE, GRU_AFTER_NOBIAS, SIMPLE_NOBIAS},
};

Test(rnn_gradcheck, stacked) {
    int nv = 4;
    for (size_t i = 0; i < sizeof stacks2 / sizeof stacks2[0]; i++)
        for (int v = 0; v < nv; v++) {
            spec s = {.ncells = 2, .kinds = {stacks2[i][0], stacks2[i][1]}, .units = {3, 2},
                      .seed = 5000 + i * 10 + (uint64_t)v};
            s.seq = s.state = true;
            s.mask = v == 1 || v == 3;
            s.back = v == 2 || v == 3;
            s.init = v >= 2;
            run_case(&s);
        }
    for (size_t i = 0; i < sizeof stacks3 / sizeof stacks3[0]; i++)
        for (int v = 0; v < nv; v++) {
            spec s = {.ncells = 3, .kinds = {stacks3[i][0], stacks3[i][1], stacks3[i][2]}, .units = {2, 3, 2},
                      .seed = 6000 + i * 10 + (uint64_t)v};
            s.state = true;
            s.seq = v != 1;
            s.mask = v == 1 || v == 3;
            s.back = v == 2 || v == 3;
            s.init = v >= 2;
            run_case(&s);
        }
}

/* --- Bidirectional ---------------------------------------------------------------------- */

Test(rnn_gradcheck, bidirectional) {
    for (int mode = RC_MERGE_CONCAT; mode <= RC_MERGE_NONE; mode++)
        for (int k = 0; k < NKINDS; k++) {
            spec s = one(k, 20 + mode);
            s.bidir = true, s.mode = (rc_merge_mode)mode;
            s.seq = s.state = s.mask = s.init = true; /* everything at once */
            run_case(&s);
            s = one(k, 30 + mode);
            s.bidir = true, s.mode = (rc_merge_mode)mode;
            s.mask = (k + mode) % 2 == 0; /* last outputs, with or without a mask */
            run_case(&s);
        }
}

Test(rnn_gradcheck, bidirectional_stacked) {
    for (int mode = RC_MERGE_CONCAT; mode <= RC_MERGE_NONE; mode++) {
        spec s = {.ncells = 2, .kinds = {stacks2[mode][0], stacks2[mode][1]}, .units = {2, 3},
                  .seed = 7000 + (uint64_t)mode};
        s.bidir = true, s.mode = (rc_merge_mode)mode;
        s.seq = s.state = s.mask = s.init = true;
        run_case(&s);
    }
}

/* --- dropout ---------------------------------------------------------------------------- */

/* Training mode: the masks are drawn once per sequence (fixed for one
 * reference evaluation), so the gradient is still exact. */
Test(rnn_gradcheck, training_dropout) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 40);
        s.training = true, s.dropout = 0.3f, s.rdrop = 0.4f;
        s.seq = s.state = true;
        s.mask = k % 2 == 0;
        run_case(&s);
        s = one(k, 41); /* recurrent dropout only, backwards */
        s.training = true, s.rdrop = 0.5f, s.back = true;
        run_case(&s);
    }
    spec s = {.ncells = 3, .kinds = {MGU, LSTM, GRU_BEFORE}, .units = {3, 2, 2}, .seed = 42};
    s.training = true, s.dropout = 0.25f, s.rdrop = 0.25f, s.seq = s.state = s.mask = true;
    run_case(&s);
    s = (spec){.ncells = 1, .kinds = {MGU}, .units = {3}, .seed = 43};
    s.training = s.bidir = true, s.mode = RC_MERGE_CONCAT, s.dropout = 0.3f, s.rdrop = 0.3f;
    s.seq = s.state = s.mask = s.init = true;
    run_case(&s);
}

/* Training mode changes the result (the masks are applied). */
Test(rnn_gradcheck, training_dropout_is_applied) {
    for (int k = 0; k < NKINDS; k++) {
        for (int which = 0; which < 2; which++) {
            rc_graph *g = rc_graph_new();
            rc_rng rng;
            rc_rng_seed(&rng, 9);
            rc_node *x = tu_const(g, RC_SHAPE(2, T, I), &rng, -1.0f, 1.0f);
            spec s = one(k, 0);
            s.seq = true;
            s.dropout = which == 0 ? 0.5f : 0.0f;
            s.rdrop = which == 1 ? 0.5f : 0.0f;
            rc_rnn *a = make_rnn(&s, "a", false);
            rc_rnn_out oa, ot;
            cr_assert_eq(rc_rnn_apply(a, g, x, &(rc_rnn_call){.rng = &rng}, &oa), RC_OK);
            cr_assert_eq(rc_rnn_apply(a, g, x, &(rc_rnn_call){.training = true, .rng = &rng}, &ot), RC_OK);
            rc_cell *c = rc_rnn_cell(a);
            for (int p = 0; p < c->nparams; p++)
                rc_rng_fill_uniform(&rng, rc_node_data(c->params[p]), rc_node_numel(c->params[p]), -0.6f, 0.6f);
            int64_t n = rc_node_numel(oa.output);
            float va[64], vt[64];
            cr_assert(n <= 64);
            tu_eval(g, oa.output, va);
            tu_eval(g, ot.output, vt);
            double diff = 0;
            for (int64_t e = 0; e < n; e++) diff = fmax(diff, fabs(va[e] - vt[e]));
            cr_assert_gt(diff, 1e-3, "%s: %s dropout in training mode changed nothing", kind_name[k],
                         which ? "recurrent" : "input");
            rc_rnn_free(a);
            rc_graph_free(g);
        }
    }
}

/* Inference mode: a layer with dropout and recurrent_dropout computes
 * exactly what the same layer without them computes, given the same weights
 * (copied with rc_cell_set_weight), and builds no dropout mask. */
static void check_inference_equal(const spec *s_drop) {
    char what[400];
    describe(s_drop, what, sizeof what);
    spec s_plain = *s_drop;
    s_plain.dropout = s_plain.rdrop = 0;
    int64_t B = s_drop->mask ? 3 : 2;
    rc_graph *g = rc_graph_new();
    rc_rng rng;
    rc_rng_seed(&rng, 77 + s_drop->seed);
    rc_node *x = tu_const(g, RC_SHAPE(B, T, I), &rng, -1.0f, 1.0f);
    rc_node *mask = s_drop->mask ? rc_const(g, RC_SHAPE(B, T), mask3) : NULL;
    rc_node *outs[2][2 + 2 * RC_MAX_STATES];
    int nouts = 0;
    rc_cell *cells[2][2];
    int nl = s_drop->bidir ? 2 : 1;
    rc_rnn *layers[2] = {NULL, NULL};
    rc_bidir *bid[2] = {NULL, NULL};
    for (int v = 0; v < 2; v++) {
        const spec *s = v == 0 ? s_drop : &s_plain;
        char name[32];
        rc_rnn_call call = {.mask = mask, .training = false, .rng = &rng};
        int n = 0;
        if (s->bidir) {
            snprintf(name, sizeof name, "bidir_%d", v);
            bid[v] = rc_bidir_new(name, make_rnn(s, "forward", false), make_rnn(s, "backward", true), s->mode, NULL);
            cr_assert(bid[v]);
            rc_bidir_out o;
            cr_assert_eq(rc_bidir_apply(bid[v], g, x, &call, &o), RC_OK, "%s", rc_graph_error(g));
            outs[v][n++] = o.output_forward;
            outs[v][n++] = o.output_backward;
            if (o.output) outs[v][n++] = o.output;
            for (int k = 0; k < o.nstates; k++) outs[v][n++] = o.state[k];
            cells[v][0] = rc_rnn_cell(rc_bidir_forward(bid[v]));
            cells[v][1] = rc_rnn_cell(rc_bidir_backward(bid[v]));
        } else {
            snprintf(name, sizeof name, "rnn_%d", v);
            layers[v] = make_rnn(s, name, s->back);
            rc_rnn_out o;
            cr_assert_eq(rc_rnn_apply(layers[v], g, x, &call, &o), RC_OK, "%s", rc_graph_error(g));
            outs[v][n++] = o.output;
            for (int k = 0; k < o.nstates; k++) outs[v][n++] = o.state[k];
            cells[v][0] = rc_rnn_cell(layers[v]);
        }
        nouts = n;
    }
    cr_assert_eq(count_op(g, "dropout_mask"), 0, "%s: inference built a dropout mask", what);
    for (int h = 0; h < nl; h++) {
        rc_cell *a = cells[0][h], *b = cells[1][h];
        cr_assert_eq(a->nparams, b->nparams);
        for (int k = 0; k < a->nparams; k++) {
            rc_rng_fill_uniform(&rng, rc_node_data(a->params[k]), rc_node_numel(a->params[k]), -0.6f, 0.6f);
            cr_assert_eq(rc_cell_set_weight(b, k, rc_node_shape(a->params[k]), rc_node_data(a->params[k])), RC_OK,
                         "%s", rc_graph_error(g));
        }
    }
    for (int k = 0; k < nouts; k++) {
        int64_t n = rc_node_numel(outs[0][k]);
        cr_assert(rc_shape_eq(rc_node_shape(outs[0][k]), rc_node_shape(outs[1][k])));
        float a[256], b[256];
        cr_assert(n <= 256);
        tu_eval(g, outs[0][k], a);
        tu_eval(g, outs[1][k], b);
        cr_assert(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s: returned tensor %d differs", what, k);
    }
    rc_bidir_free(bid[0]);
    rc_bidir_free(bid[1]);
    rc_rnn_free(layers[0]);
    rc_rnn_free(layers[1]);
    rc_graph_free(g);
}

Test(rnn_gradcheck, inference_ignores_dropout) {
    for (int k = 0; k < NKINDS; k++) {
        spec s = one(k, 50);
        s.dropout = 0.5f, s.rdrop = 0.5f, s.seq = s.state = true;
        s.mask = k % 2 == 1;
        s.back = k % 3 == 0;
        check_inference_equal(&s);
    }
    spec s = {.ncells = 2, .kinds = {MGU, LSTM}, .units = {3, 2}, .dropout = 0.4f, .rdrop = 0.4f, .seed = 51};
    s.seq = s.state = s.mask = true;
    check_inference_equal(&s);
    s = (spec){.ncells = 1, .kinds = {MGU}, .units = {2}, .dropout = 0.4f, .rdrop = 0.4f, .seed = 52};
    s.bidir = true, s.mode = RC_MERGE_CONCAT, s.seq = s.state = s.mask = true;
    check_inference_equal(&s);
}

/* The table projection computes the same function as projecting x's rows:
 * an LSTM over table[ids] (V = 5 rows, T·B = 24) against the same LSTM over
 * a constant holding table[ids] itself, float32 on the plan. The two sum
 * the same products (x·W row by row), so they agree to rounding: 1e-6. */
Test(rnn_embedding, table_projection_matches_rows) {
    enum { V = 5, TB = 4, BB = 6, IN = 7, U = 8 };
    rc_rng rng;
    rc_rng_seed(&rng, 77);
    float tab[V * IN], xs[BB * TB * IN];
    int32_t ids[BB * TB];
    rc_rng_fill_uniform(&rng, tab, V * IN, -1.0f, 1.0f);
    for (int k = 0; k < BB * TB; k++) ids[k] = (int32_t)((k * 7 + 3) % V);
    for (int k = 0; k < BB * TB; k++) memcpy(xs + k * IN, tab + ids[k] * IN, sizeof(float) * IN);
    float out[2][BB * TB * U];
    for (int v = 0; v < 2; v++) {
        rc_graph *g = rc_graph_new();
        rc_node *x = v ? rc_const(g, RC_SHAPE(BB, TB, IN), xs)
                       : rc_gather(g, rc_const(g, RC_SHAPE(V, IN), tab), rc_const_i32(g, RC_SHAPE(BB, TB), ids));
        rc_cell_config cc = rc_cell_defaults(U);
        rc_rnn_config cfg = {.return_sequences = true};
        rc_rnn *l = rc_rnn_new("rnn", rc_lstm_cell_new(&cc), &cfg, NULL);
        rc_rng r2;
        rc_rng_seed(&r2, 5);
        rc_rnn_call call = {.rng = &r2};
        rc_rnn_out o;
        cr_assert_eq(rc_rnn_apply(l, g, x, &call, &o), RC_OK, "%s", rc_graph_error(g));
        rc_cell *c = rc_rnn_cell(l);
        for (int k = 0; k < c->nparams; k++) /* biases too */
            rc_rng_fill_uniform(&r2, rc_node_data(c->params[k]), rc_node_numel(c->params[k]), -0.6f, 0.6f);
        cr_assert_eq(count_op(g, "gather") > 1, v == 0);
        tu_eval(g, o.output, out[v]);
        rc_rnn_free(l);
        rc_graph_free(g);
    }
    for (int k = 0; k < BB * TB * U; k++)
        cr_assert_float_eq(out[0][k], out[1][k], 1e-6, "element %d: %.9g vs %.9g", k, out[0][k], out[1][k]);
}
