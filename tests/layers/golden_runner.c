/* golden — checks recur's recurrent layers against Keras golden data.
 *
 * usage: golden [DIR]   (default tests/golden/cases)
 *
 * Each DIR/<case>.json (format: tests/golden/FORMAT.md) gives a layer
 * configuration, inputs, weights, the expected outputs and the gradients of
 * L = sum_k sum(R[k] * outputs[k]) w.r.t. x, the initial states and every
 * weight. The case is rebuilt with the public API, run through one plan,
 * and every value compared with |got - want| <= 1e-5 + 1e-4 |want|.
 * One line per failing case names the tensor and its worst element; the
 * last line is "N passed, M failed". Exit status 1 on any failure or
 * unreadable case, 2 on bad usage. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/rnn.h>

#define ATOL 1e-5
#define RTOL 1e-4
#define MAXT 64

typedef struct tensor {
    rc_shape shape;
    float *v;
    char name[96];
} tensor;

typedef struct gcase {
    char err[512];
} gcase;

static bool fail(gcase *c, const char *fmt, const char *a, const char *b) {
    if (!c->err[0]) snprintf(c->err, sizeof c->err, fmt, a, b);
    return false;
}

static bool parse_tensor(gcase *c, json_t *j, tensor *t, const char *what) {
    memset(t, 0, sizeof *t);
    json_t *shape = json_object_get(j, "shape"), *vals = json_object_get(j, "values");
    const char *nm = json_string_value(json_object_get(j, "name"));
    snprintf(t->name, sizeof t->name, "%s", nm ? nm : what);
    if (!json_is_array(shape) || !json_is_array(vals) || json_array_size(shape) > RC_MAX_DIMS)
        return fail(c, "%s: malformed tensor%s", what, "");
    t->shape.ndim = (int)json_array_size(shape);
    for (int k = 0; k < t->shape.ndim; k++) t->shape.dim[k] = json_integer_value(json_array_get(shape, (size_t)k));
    if (!rc_shape_valid(t->shape) || (size_t)rc_shape_numel(t->shape) != json_array_size(vals))
        return fail(c, "%s: shape and value count disagree%s", what, "");
    t->v = malloc(json_array_size(vals) * sizeof *t->v + 1);
    if (!t->v) return fail(c, "%s: out of memory%s", what, "");
    for (size_t i = 0; i < json_array_size(vals); i++) {
        json_t *e = json_array_get(vals, i);
        if (!json_is_number(e)) return fail(c, "%s: non-numeric value%s", what, "");
        t->v[i] = (float)json_number_value(e);
    }
    return true;
}

static bool get_bool(json_t *o, const char *k, bool dflt) {
    json_t *v = json_object_get(o, k);
    return v ? json_is_true(v) : dflt;
}

static bool parse_act(gcase *c, json_t *o, const char *k, rc_activation dflt, rc_activation *out) {
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return true;
    }
    if (!(*out = rc_activation_find(json_string_value(v)))) return fail(c, "unknown activation '%s' for %s", json_string_value(v), k);
    return true;
}

/* A cell from {"class_name": "LSTM" | "LSTMCell" | ..., "units", ...}. */
static rc_cell *make_cell(gcase *c, json_t *cfg) {
    const char *cls = json_string_value(json_object_get(cfg, "class_name"));
    if (!cls) return fail(c, "config has no class_name%s%s", "", ""), NULL;
    rc_cell_config cc = rc_cell_defaults(json_integer_value(json_object_get(cfg, "units")));
    if (!parse_act(c, cfg, "activation", RC_ACT_TANH, &cc.activation) ||
        !parse_act(c, cfg, "recurrent_activation", RC_ACT_SIGMOID, &cc.recurrent_activation))
        return NULL;
    cc.use_bias = get_bool(cfg, "use_bias", true);
    cc.reset_after = get_bool(cfg, "reset_after", true);
    rc_cell *cell = NULL;
    if (!strncmp(cls, "SimpleRNN", 9)) cell = rc_simple_rnn_cell_new(&cc);
    else if (!strncmp(cls, "LSTM", 4)) cell = rc_lstm_cell_new(&cc);
    else if (!strncmp(cls, "GRU", 3)) cell = rc_gru_cell_new(&cc);
    else return fail(c, "unsupported class '%s'%s", cls, ""), NULL;
    if (!cell) fail(c, "could not make a %s cell (units < 1?)%s", cls, "");
    return cell;
}

static rc_rnn *make_rnn(gcase *c, json_t *cfg, const char *name, bool backwards) {
    const char *cls = json_string_value(json_object_get(cfg, "class_name"));
    rc_cell *cell;
    if (cls && !strcmp(cls, "RNN")) {
        json_t *cells = json_object_get(cfg, "cells");
        size_t n = json_array_size(cells);
        if (!n || n > 8) return fail(c, "RNN case needs 1..8 cells%s%s", "", ""), NULL;
        rc_cell *cs[8];
        for (size_t k = 0; k < n; k++)
            if (!(cs[k] = make_cell(c, json_array_get(cells, k)))) {
                while (k--) rc_cell_free(cs[k]);
                return NULL;
            }
        cell = rc_stacked_cells_new(cs, (int)n, NULL);
    } else {
        cell = make_cell(c, cfg);
    }
    if (!cell) return NULL;
    rc_rnn_config rc = {.return_sequences = get_bool(cfg, "return_sequences", false),
                        .return_state = get_bool(cfg, "return_state", false),
                        .go_backwards = backwards || get_bool(cfg, "go_backwards", false),
                        .zero_output_for_mask = get_bool(cfg, "zero_output_for_mask", false)};
    return rc_rnn_new(name, cell, &rc, NULL);
}

/* Compare n floats; on failure describe the worst element. */
static bool compare(gcase *c, const char *what, const float *got, const tensor *want) {
    int64_t n = rc_shape_numel(want->shape), worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want->v[i]), lim = ATOL + RTOL * fabs(want->v[i]);
        if (!(d <= lim) && (worst < 0 || d - lim > worst_excess || isnan(d))) {
            worst = i;
            worst_excess = isnan(d) ? INFINITY : d - lim;
        }
    }
    if (worst < 0) return true;
    char msg[300];
    snprintf(msg, sizeof msg, "%s '%s' element %lld: got %.9g, want %.9g", what, want->name, (long long)worst,
             (double)got[worst], (double)want->v[worst]);
    return fail(c, "%s%s", msg, "");
}

static bool run_case(gcase *c, json_t *root) {
    json_t *cfg = json_object_get(root, "config");
    const char *cls = json_string_value(json_object_get(cfg, "class_name"));
    if (!cls) return fail(c, "missing config.class_name%s%s", "", "");
    bool ok = false;
    tensor x, mask, init[RC_MAX_STATES * 2], w[RC_MAX_CELL_PARAMS * 2];
    tensor outs[2 * RC_MAX_STATES + 2], R[2 * RC_MAX_STATES + 2];
    tensor gx, ginit[RC_MAX_STATES * 2], gw[RC_MAX_CELL_PARAMS * 2];
    memset(&x, 0, sizeof x);
    memset(&mask, 0, sizeof mask);
    memset(&gx, 0, sizeof gx);
    memset(init, 0, sizeof init);
    memset(ginit, 0, sizeof ginit);
    memset(w, 0, sizeof w);
    memset(gw, 0, sizeof gw);
    memset(outs, 0, sizeof outs);
    memset(R, 0, sizeof R);
    size_t ninit = 0, nw = 0, nout = 0;
    rc_graph *g = rc_graph_new();
    rc_rnn *layer = NULL;
    rc_bidir *bidir = NULL;
    rc_plan *plan = NULL;

    json_t *ji = json_object_get(root, "initial_state"), *jw = json_object_get(root, "weights");
    json_t *jo = json_object_get(root, "outputs"), *jg = json_object_get(root, "gradients");
    json_t *jR = json_object_get(json_object_get(root, "loss"), "R");
    ninit = json_array_size(ji);
    nw = json_array_size(jw);
    nout = json_array_size(jo);
    if (ninit > RC_MAX_STATES * 2 || nw > RC_MAX_CELL_PARAMS * 2 || nout > 2 * RC_MAX_STATES + 2 ||
        json_array_size(jR) != nout) {
        fail(c, "too many tensors or loss.R does not match outputs%s%s", "", "");
        goto done;
    }
    if (!parse_tensor(c, json_object_get(root, "x"), &x, "x")) goto done;
    json_t *jm = json_object_get(root, "mask");
    if (jm && !json_is_null(jm) && !parse_tensor(c, jm, &mask, "mask")) goto done;
    for (size_t k = 0; k < ninit; k++)
        if (!parse_tensor(c, json_array_get(ji, k), &init[k], "initial_state")) goto done;
    for (size_t k = 0; k < nw; k++)
        if (!parse_tensor(c, json_array_get(jw, k), &w[k], "weight")) goto done;
    for (size_t k = 0; k < nout; k++)
        if (!parse_tensor(c, json_array_get(jo, k), &outs[k], "output") ||
            !parse_tensor(c, json_array_get(jR, k), &R[k], "loss.R"))
            goto done;
    if (!parse_tensor(c, json_object_get(jg, "x"), &gx, "gradients.x")) goto done;
    json_t *jgi = json_object_get(jg, "initial_state"), *jgw = json_object_get(jg, "weights");
    if (json_array_size(jgi) != ninit || json_array_size(jgw) != nw) {
        fail(c, "gradient lists do not match initial_state/weights%s%s", "", "");
        goto done;
    }
    for (size_t k = 0; k < ninit; k++)
        if (!parse_tensor(c, json_array_get(jgi, k), &ginit[k], "gradients.initial_state")) goto done;
    for (size_t k = 0; k < nw; k++)
        if (!parse_tensor(c, json_array_get(jgw, k), &gw[k], "gradients.weights")) goto done;

    /* the graph: x and the initial states are parameters so they get gradients */
    rc_node *xn = rc_param(g, "x", x.shape);
    rc_node_set(xn, x.v);
    rc_node *mn = mask.v ? rc_const(g, mask.shape, mask.v) : NULL;
    rc_node *in[RC_MAX_STATES * 2];
    for (size_t k = 0; k < ninit; k++) {
        in[k] = rc_param(g, "initial_state", init[k].shape);
        rc_node_set(in[k], init[k].v);
    }
    rc_node *got[2 * RC_MAX_STATES + 2];
    size_t ngot = 0;
    rc_node *params[RC_MAX_CELL_PARAMS * 2];
    int nparams = 0;
    rc_rng rng;
    rc_rng_seed(&rng, 1);
    if (!strcmp(cls, "Bidirectional")) {
        json_t *inner = json_object_get(cfg, "layer");
        json_t *mm = json_object_get(cfg, "merge_mode");
        const char *m = json_string_value(mm);
        rc_merge_mode mode = !m ? RC_MERGE_NONE : !strcmp(m, "concat") ? RC_MERGE_CONCAT : !strcmp(m, "sum") ? RC_MERGE_SUM
                             : !strcmp(m, "mul") ? RC_MERGE_MUL : !strcmp(m, "ave") ? RC_MERGE_AVE : (rc_merge_mode)-1;
        if ((int)mode < 0) {
            fail(c, "unknown merge_mode '%s'%s", m, "");
            goto done;
        }
        rc_rnn *f = make_rnn(c, inner, "forward", false), *b = make_rnn(c, inner, "backward", true);
        if (f && b) bidir = rc_bidir_new("bidirectional", f, b, mode, NULL);
        if (!bidir) {
            rc_rnn_free(f);
            rc_rnn_free(b);
            fail(c, "could not make the Bidirectional layer%s%s", "", "");
            goto done;
        }
        rc_bidir_out o;
        rc_rnn_call call = {.mask = mn, .initial_state = in, .ninitial = (int)ninit, .rng = &rng};
        if (rc_bidir_apply(bidir, g, xn, &call, &o) != RC_OK) goto graph_err;
        if (mode == RC_MERGE_NONE) {
            got[ngot++] = o.output_forward;
            got[ngot++] = o.output_backward;
        } else {
            got[ngot++] = o.output;
        }
        if (get_bool(inner, "return_state", false))
            for (int k = 0; k < o.nstates; k++) got[ngot++] = o.state[k];
        rc_cell *cf = rc_rnn_cell(rc_bidir_forward(bidir)), *cb = rc_rnn_cell(rc_bidir_backward(bidir));
        for (int k = 0; k < cf->nparams; k++) params[nparams++] = cf->params[k];
        for (int k = 0; k < cb->nparams; k++) params[nparams++] = cb->params[k];
    } else {
        layer = make_rnn(c, cfg, "rnn", false);
        if (!layer) goto done;
        rc_rnn_out o;
        rc_rnn_call call = {.mask = mn, .initial_state = in, .ninitial = (int)ninit, .rng = &rng};
        if (rc_rnn_apply(layer, g, xn, &call, &o) != RC_OK) goto graph_err;
        got[ngot++] = o.output;
        if (get_bool(cfg, "return_state", false))
            for (int k = 0; k < o.nstates; k++) got[ngot++] = o.state[k];
        rc_cell *cl = rc_rnn_cell(layer);
        for (int k = 0; k < cl->nparams; k++) params[nparams++] = cl->params[k];
    }
    if (ngot != nout) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%zu", ngot);
        snprintf(b, sizeof b, "%zu", nout);
        fail(c, "the layer returns %s tensors, the case expects %s", a, b);
        goto done;
    }
    if ((size_t)nparams != nw) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%d", nparams);
        snprintf(b, sizeof b, "%zu", nw);
        fail(c, "the layer has %s weights, the case gives %s", a, b);
        goto done;
    }
    for (int k = 0; k < nparams; k++) {
        if (!rc_shape_eq(rc_node_shape(params[k]), w[k].shape)) {
            char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
            fail(c, "weight shape %s, the case gives %s", rc_shape_str(rc_node_shape(params[k]), a, sizeof a),
                 rc_shape_str(w[k].shape, b, sizeof b));
            goto done;
        }
        rc_node_set(params[k], w[k].v);
    }
    /* L = sum_k sum(R_k * out_k) */
    rc_node *terms[2 * RC_MAX_STATES + 2];
    for (size_t k = 0; k < nout; k++) {
        if (!rc_shape_eq(rc_node_shape(got[k]), outs[k].shape)) {
            char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
            fail(c, "output shape %s, the case expects %s", rc_shape_str(rc_node_shape(got[k]), a, sizeof a),
                 rc_shape_str(outs[k].shape, b, sizeof b));
            goto done;
        }
        terms[k] = rc_sum(g, rc_mul(g, got[k], rc_const(g, R[k].shape, R[k].v)), RC_ALL_AXES, false);
    }
    rc_node *loss = rc_add_n(g, terms, (int)nout);
    rc_node *wrt[1 + RC_MAX_STATES * 2 + RC_MAX_CELL_PARAMS * 2], *grads[1 + RC_MAX_STATES * 2 + RC_MAX_CELL_PARAMS * 2];
    int nwrt = 0;
    wrt[nwrt++] = xn;
    for (size_t k = 0; k < ninit; k++) wrt[nwrt++] = in[k];
    for (int k = 0; k < nparams; k++) wrt[nwrt++] = params[k];
    if (rc_gradients(g, loss, wrt, nwrt, grads) != RC_OK) goto graph_err;
    rc_node *plan_out[2 * RC_MAX_STATES + 2 + 1 + RC_MAX_STATES * 2 + RC_MAX_CELL_PARAMS * 2];
    int np = 0;
    for (size_t k = 0; k < nout; k++) plan_out[np++] = got[k];
    for (int k = 0; k < nwrt; k++) plan_out[np++] = grads[k];
    plan = rc_plan_new(g, plan_out, np);
    if (!plan) goto graph_err;
    rc_error err;
    if (rc_plan_run(plan, &err) != RC_OK) {
        fail(c, "run failed: %s%s", err.message, "");
        goto done;
    }
    ok = true;
    for (size_t k = 0; k < nout && ok; k++) ok = compare(c, "output", rc_plan_f32(plan, got[k]), &outs[k]);
    if (ok) ok = compare(c, "gradient of x", rc_plan_f32(plan, grads[0]), &gx);
    for (size_t k = 0; k < ninit && ok; k++)
        ok = compare(c, "gradient of initial state", rc_plan_f32(plan, grads[1 + k]), &ginit[k]);
    for (size_t k = 0; k < nw && ok; k++)
        ok = compare(c, "gradient of weight", rc_plan_f32(plan, grads[1 + ninit + k]), &gw[k]);
    goto done;
graph_err:
    fail(c, "%s%s", rc_graph_error(g) ? rc_graph_error(g) : "graph error", "");
done:
    rc_plan_free(plan);
    rc_rnn_free(layer);
    rc_bidir_free(bidir);
    rc_graph_free(g);
    free(x.v);
    free(mask.v);
    free(gx.v);
    for (size_t k = 0; k < RC_MAX_STATES * 2; k++) free(init[k].v), free(ginit[k].v);
    for (size_t k = 0; k < RC_MAX_CELL_PARAMS * 2; k++) free(w[k].v), free(gw[k].v);
    for (size_t k = 0; k < 2 * RC_MAX_STATES + 2; k++) free(outs[k].v), free(R[k].v);
    return ok;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(argc > 2 ? stderr : stdout, "usage: golden [DIR]   (default tests/golden/cases)\n");
        return argc > 2 ? 2 : 0;
    }
    const char *dir = argc == 2 ? argv[1] : "tests/golden/cases";
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "golden: cannot open directory '%s'\n", dir);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        gcase c = {{0}};
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        bool ok;
        if (!root) {
            snprintf(c.err, sizeof c.err, "unreadable: %s (line %d)", jerr.text, jerr.line);
            ok = false;
        } else {
            ok = run_case(&c, root);
            json_decref(root);
        }
        if (ok) passed++;
        else {
            failed++;
            printf("FAIL %s: %s\n", names[i], c.err);
        }
        free(names[i]);
    }
    free(names);
    if (n == 0) {
        fprintf(stderr, "golden: no .json cases in '%s'\n", dir);
        failed = failed ? failed : 1;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
