/* The RNN layer owns time; Bidirectional runs two of them.
 *
 * Unrolling x (B, T, I):
 *   xs = transpose(x) -> (T, B, I), reversed along T for go_backwards;
 *   P  = cell.project(xs as (T·B, I)) when the cell offers it: one GEMM for
 *        every step, each step reading its rows as a view;
 *   for t in processing order: (output_t, s_t) = cell.step(P_t, s_{t-1});
 *   with a mask m_t (B, 1): s_t = where(m_t, s_t, s_{t-1}) and
 *        output_t = where(m_t, output_t, output_{t-1} or 0);
 *   the sequence output stacks output_t in processing order, so with
 *   go_backwards it is reversed relative to the input, as in Keras.
 * A row masked at every step keeps its initial state and outputs zeros. */
#include <stdio.h>
#include <string.h>

#include "recur/op.h"
#include "recur/ops.h"
#include "recur/layer.h"
#include "recur/rnn.h"

struct rc_rnn {
    rc_layer layer; /* the handle rc_rnn_layer returns; impl = this */
    char name[64];
    rc_cell *cell;
    rc_rnn_config cfg;
    /* stateful: storage of the states carried between calls */
    rc_graph *graph;
    int64_t batch;
    rc_node *store[RC_MAX_STATES];
};

static rc_status fail(rc_graph *g, rc_status s, const char *fmt, const char *layer, const char *detail) {
    rc_graph_fail(g, s, fmt, layer, detail);
    return rc_graph_status(g);
}

/* A constructor's refusal: fill err and return NULL. */
static void *refuse(rc_error *err, rc_status st, const char *fn, const char *layer, const char *why) {
    rc_error_set(err, st, fn, "layer '%s': %s", layer, why);
    return NULL;
}

rc_rnn *rc_rnn_new(const char *name, rc_cell *cell, const rc_rnn_config *cfg, rc_error *err) {
    static const char fn[] = "rc_rnn_new";
    const char *nm = name && *name ? name : "rnn";
    if (!cell) return refuse(err, RC_ERR_ARG, fn, nm, "the cell is NULL (did its constructor fail?)");
    if (cfg && (!(cfg->dropout >= 0 && cfg->dropout < 1) ||
                !(cfg->recurrent_dropout >= 0 && cfg->recurrent_dropout < 1))) {
        bool rec = cfg->dropout >= 0 && cfg->dropout < 1;
        rc_error_set(err, RC_ERR_ARG, fn, "layer '%s': %s %g is outside [0, 1)", nm,
                     rec ? "recurrent_dropout" : "dropout", rec ? (double)cfg->recurrent_dropout : (double)cfg->dropout);
        return NULL;
    }
    rc_rnn *l = rc_calloc(1, sizeof *l);
    if (!l) return refuse(err, RC_ERR_NOMEM, fn, nm, "out of memory");
    snprintf(l->name, sizeof l->name, "%s", name && *name && !strchr(name, '/') ? name : "rnn");
    rc_layer_init(&l->layer, &rc_rnn_class, l);
    l->cell = cell;
    if (cfg) l->cfg = *cfg;
    return l;
}

void rc_rnn_free(rc_rnn *l) {
    if (!l) return;
    rc_cell_free(l->cell);
    rc_free(l);
}

rc_cell *rc_rnn_cell(rc_rnn *l) { return l ? l->cell : NULL; }
const char *rc_rnn_name(const rc_rnn *l) { return l ? l->name : ""; }
const rc_rnn_config *rc_rnn_get_config(const rc_rnn *l) { return l ? &l->cfg : NULL; }

rc_status rc_rnn_reset_states(rc_rnn *l, const float *const *values, rc_error *err) {
    static const char fn[] = "rc_rnn_reset_states";
    if (!l) return rc_error_set(err, RC_ERR_ARG, fn, "layer is NULL");
    if (!l->cfg.stateful) return rc_error_set(err, RC_ERR_STATE, fn, "layer '%s' is not stateful", l->name);
    if (!l->store[0])
        return rc_error_set(err, RC_ERR_STATE, fn, "layer '%s' has no states before its first apply", l->name);
    for (int k = 0; k < l->cell->nstates; k++)
        if (values && !values[k]) /* checked first: all states or none change */
            return rc_error_set(err, RC_ERR_ARG, fn, "layer '%s': values of state %d are NULL", l->name, k);
    for (int k = 0; k < l->cell->nstates; k++) {
        float *d = rc_node_data(l->store[k]);
        int64_t n = rc_node_numel(l->store[k]);
        for (int64_t i = 0; i < n; i++) d[i] = values ? values[k][i] : 0.0f;
    }
    return RC_OK;
}

/* First stateful call: storage for the states; later calls: same batch. */
static rc_status stateful_states(rc_rnn *l, rc_graph *g, int64_t B) {
    rc_cell *c = l->cell;
    if (l->store[0]) {
        if (l->graph != g)
            return fail(g, RC_ERR_STATE, "rnn '%s': %s", l->name, "a stateful layer is used with one graph only");
        if (l->batch != B) {
            char msg[160];
            snprintf(msg, sizeof msg, "stateful layer has batch size %lld, input has %lld", (long long)l->batch,
                     (long long)B);
            return fail(g, RC_ERR_SHAPE, "rnn '%s': %s", l->name, msg);
        }
        return RC_OK;
    }
    for (int k = 0; k < c->nstates; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "state_%d", k);
        if (!(l->store[k] = rc_input(g, nm, RC_F32, RC_SHAPE(B, c->state_size[k])))) return rc_graph_status(g);
    }
    l->graph = g;
    l->batch = B;
    return RC_OK;
}

static rc_status check_inputs(rc_rnn *l, rc_graph *g, rc_node *x, rc_node *mask, rc_node *const *init,
                              int ninit) {
    char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN], msg[300];
    if (!x) return rc_graph_status(g) != RC_OK ? rc_graph_status(g) : fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, "input is NULL");
    rc_shape xs = rc_node_shape(x);
    if (rc_node_dtype(x) != RC_F32 || xs.ndim != 3) {
        snprintf(msg, sizeof msg, "input must be float32 (B, T, I), got %s %s", rc_dtype_name(rc_node_dtype(x)),
                 rc_shape_str(xs, a, sizeof a));
        return fail(g, RC_ERR_SHAPE, "rnn '%s': %s", l->name, msg);
    }
    if (mask) {
        rc_shape ms = rc_node_shape(mask);
        if (rc_node_dtype(mask) != RC_F32 || !rc_shape_eq(ms, RC_SHAPE(xs.dim[0], xs.dim[1]))) {
            snprintf(msg, sizeof msg, "mask %s %s does not match input %s: expected float32 (%lld, %lld)",
                     rc_dtype_name(rc_node_dtype(mask)), rc_shape_str(ms, a, sizeof a), rc_shape_str(xs, b, sizeof b),
                     (long long)xs.dim[0], (long long)xs.dim[1]);
            return fail(g, RC_ERR_SHAPE, "rnn '%s': %s", l->name, msg);
        }
    }
    rc_cell *c = l->cell;
    for (int k = 0; k < c->nstates; k++)
        if (c->state_size[k] < 1) {
            snprintf(msg, sizeof msg, "cell '%s' has state %d of size %lld (units must be >= 1)", c->name, k,
                     (long long)c->state_size[k]);
            return fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, msg);
        }
    if (c->output_size < 1) {
        snprintf(msg, sizeof msg, "cell '%s' has output size %lld (units must be >= 1)", c->name,
                 (long long)c->output_size);
        return fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, msg);
    }
    if (ninit != 0 && ninit != c->nstates) {
        snprintf(msg, sizeof msg, "%d initial states given, the cell has %d", ninit, c->nstates);
        return fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, msg);
    }
    if (ninit && !init) return fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, "initial state array is NULL");
    for (int k = 0; k < ninit; k++) {
        rc_shape want = RC_SHAPE(xs.dim[0], c->state_size[k]);
        if (!init[k]) {
            snprintf(msg, sizeof msg, "initial state %d is NULL", k);
            return rc_graph_status(g) != RC_OK ? rc_graph_status(g) : fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, msg);
        }
        if (rc_node_dtype(init[k]) != RC_F32 || !rc_shape_eq(rc_node_shape(init[k]), want)) {
            snprintf(msg, sizeof msg, "initial state %d has shape %s, expected %s", k,
                     rc_shape_str(rc_node_shape(init[k]), a, sizeof a), rc_shape_str(want, b, sizeof b));
            return fail(g, RC_ERR_SHAPE, "rnn '%s': %s", l->name, msg);
        }
    }
    if (c->built && c->input_size != xs.dim[2]) {
        snprintf(msg, sizeof msg, "input %s has %lld features, the layer was built for %lld",
                 rc_shape_str(xs, a, sizeof a), (long long)xs.dim[2], (long long)c->input_size);
        return fail(g, RC_ERR_SHAPE, "rnn '%s': %s", l->name, msg);
    }
    return RC_OK;
}

/* A parameter made by step or project (node ids from mark on) would be a
 * new weight at every step or projection chunk, outside c->params: the
 * same mistake as an rc_param in build, so the same answer. */
static rc_status check_no_params(rc_rnn *l, rc_graph *g, int mark, const char *where) {
    for (int id = mark; id < rc_graph_node_count(g); id++) {
        rc_node *n = rc_graph_node(g, id);
        if (!rc_node_is_param(n)) continue;
        char path[256];
        rc_graph_fail(g, RC_ERR_ARG,
                      "rnn '%s': cell '%s': parameter '%s' was made in %s; make cell parameters in build "
                      "with rc_cell_add_param so they are trained, checked and loaded",
                      l->name, l->cell->name, rc_node_path(n, path, sizeof path), where);
        return RC_ERR_ARG;
    }
    return RC_OK;
}

/* The step's output and new states must exist with the declared sizes. */
static rc_status check_step(rc_rnn *l, rc_graph *g, const rc_cell_step *s, int64_t B) {
    rc_cell *c = l->cell;
    char msg[320], a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
    if (rc_graph_status(g) != RC_OK) return rc_graph_status(g);
    for (int k = -1; k < c->nstates; k++) {
        rc_node *v = k < 0 ? s->output : s->next_state[k];
        rc_shape want = RC_SHAPE(B, k < 0 ? c->output_size : c->state_size[k]);
        char what[32];
        if (k < 0) snprintf(what, sizeof what, "output");
        else snprintf(what, sizeof what, "new state %d", k);
        if (!v) {
            snprintf(msg, sizeof msg, "the step of cell '%s' (%s) set no %s", c->name, c->cls->type, what);
            return fail(g, RC_ERR_ARG, "rnn '%s': %s", l->name, msg);
        }
        if (rc_node_dtype(v) != RC_F32 || !rc_shape_eq(rc_node_shape(v), want)) {
            snprintf(msg, sizeof msg, "the step of cell '%s' (%s) made %s of shape %s, declared %s", c->name,
                     c->cls->type, what, rc_shape_str(rc_node_shape(v), a, sizeof a), rc_shape_str(want, b, sizeof b));
            return fail(g, RC_ERR_SHAPE, "rnn '%s': %s", l->name, msg);
        }
    }
    return RC_OK;
}

/* Row block t of a (T, B, F) node as (B, F): a view. */
/* The zero initial states the layer made get the names of the states the
 * cell returns, with a 0: "h0", "c0" (drawings then show them as the
 * states they are, not as anonymous fills); "state<k>_0" when the cell
 * leaves a state unnamed. */
static void name_initial_states(const rc_cell *c, rc_node *const *zeros, const rc_cell_step *s) {
    for (int k = 0; k < c->nstates; k++) {
        if (!zeros[k]) continue;
        const rc_node *n = s->next_state[k];
        const char *name = n ? rc_node_name(n) : "";
        /* a node keeps its op's name until named: a name, not an op test */
        const char *unnamed = n ? rc_node_op_name(n) : "";
        char buf[80];
        if (*name && strcmp(name, unnamed) != 0 && strlen(name) < 64) snprintf(buf, sizeof buf, "%s0", name);
        else snprintf(buf, sizeof buf, "state%d_0", k);
        rc_node_rename(zeros[k], buf);
    }
}

static rc_node *step_rows(rc_graph *g, rc_node *seq, int64_t t) {
    rc_shape s = rc_node_shape(seq);
    return rc_reshape(g, rc_slice(g, seq, 0, t, t + 1), RC_SHAPE(s.dim[1], s.dim[2]));
}

/* Rows of a projection chunk: up to PROJECT_ROWS; and at least
 * MIN_CHUNKS chunks (of whole steps, so about SPLIT_ROWS / MIN_CHUNKS rows
 * or more; at most T) when the sequence has SPLIT_ROWS rows or more.
 * Backward keeps one chunk's stack of per-step
 * deltas (rows x 4H for an LSTM) beside every step's activations (6H a
 * row): as one chunk of 256..511 rows that stack is 2/3 of the
 * activations (LSTM h32 b8 T50 needed 1.93x what backward keeps; in 4
 * chunks 1.25x; b4 T20: 1.59x, 1.24x). Below 64 rows (batch 1 at T 50, or
 * short sequences drawn as pictures) one chunk, as before: the stack is
 * small and the weight gradient one GEMM. */
enum { PROJECT_ROWS = 256, MIN_CHUNKS = 4, SPLIT_ROWS = 64 };

/* cell.project of steps [t0, t1) of seq (T, B, I), chunk k of n (as even
 * as the steps allow), as (t1 - t0, B, F). `leaf`: the leaf x that seq is
 * the transpose of, or NULL; then the rows are declared to be x's steps
 * (time_rows, ops/shape.c), so the kernel's gradient makes them again from
 * x instead of keeping seq through backward. */
static rc_node *project_chunk(rc_rnn *l, rc_graph *g, rc_node *seq, rc_node *leaf, rc_node *ptable, rc_node *tids,
                              int64_t T, int64_t n, int64_t k, int64_t *t0, int64_t *t1) {
    rc_cell *c = l->cell;
    *t0 = k * T / n;
    *t1 = (k + 1) * T / n;
    int64_t C = *t1 - *t0;
    rc_scope_push(g, "input_projection");
    if (ptable) { /* rows of the projected table (see rc_rnn_apply) */
        rc_node *p = rc_gather(g, ptable, C == T ? tids : rc_slice(g, tids, 0, *t0, *t1));
        rc_scope_pop(g);
        return p;
    }
    rc_shape s = rc_node_shape(seq);
    rc_node *xs = C == T ? seq : rc_slice(g, seq, 0, *t0, *t1);
    rc_node *rows = leaf ? rc_time_rows(g, xs, leaf, *t0, *t1) : rc_reshape(g, xs, RC_SHAPE(C * s.dim[1], s.dim[2]));
    int mark = rc_graph_node_count(g);
    rc_node *p = c->cls->project(c, g, rows);
    if (p && check_no_params(l, g, mark, "project") != RC_OK) p = NULL;
    p = p ? rc_reshape(g, p, RC_SHAPE(C, s.dim[1], rc_node_shape(p).dim[1])) : NULL;
    rc_scope_pop(g);
    return p;
}

rc_status rc_rnn_apply(rc_rnn *l, rc_graph *g, rc_node *x, const rc_rnn_call *call, rc_rnn_out *out) {
    if (!g) return RC_ERR_ARG;
    rc_rnn_call none = {0};
    if (!call) call = &none;
    rc_node *mask = call->mask, *const *init = call->initial_state;
    int ninit = call->ninitial;
    rc_rng local, *rng = call->rng;
    if (!rng) {
        rc_rng_seed(&local, 0);
        rng = &local;
    }
    if (!l || !out) return fail(g, RC_ERR_ARG, "rnn%s: %s", "", !l ? "layer is NULL" : "out is NULL");
    memset(out, 0, sizeof *out);
    rc_status st = check_inputs(l, g, x, mask, init, ninit);
    if (st != RC_OK) return st;
    rc_cell *c = l->cell;
    rc_shape xs = rc_node_shape(x);
    int64_t B = xs.dim[0], T = xs.dim[1], I = xs.dim[2];
    /* Unrolling makes nodes for every step, and running them keeps every
     * step's states for backward: at least T (B (states + output) floats
     * + a node per state). A time dimension read from a file (2^31) is
     * refused here with that figure, before any step is made. */
    int64_t per_step = c->output_size;
    for (int k = 0; k < c->nstates; k++) per_step += c->state_size[k];
    per_step = per_step * B * (int64_t)sizeof(float) + (int64_t)(c->nstates + 1) * (int64_t)sizeof(rc_node);
    if (!rc_limits_fit(T > INT64_MAX / per_step ? INT64_MAX : T * per_step)) {
        char a[32], b[32];
        rc_graph_fail(g, RC_ERR_NOMEM, "rnn '%s': %lld steps of batch %lld need at least %s for their states and "
                      "graph nodes, over the memory limit of %s (rc_limits; recur --max-memory)", l->name,
                      (long long)T, (long long)B,
                      T > INT64_MAX / per_step ? "8 EiB" : rc_bytes_str(T * per_step, a, sizeof a),
                      rc_bytes_str(rc_limits_get().max_bytes, b, sizeof b));
        return rc_graph_status(g);
    }
    if (!rc_scope_push(g, l->name)) return rc_graph_status(g);
    if ((st = rc_cell_build(c, g, I, rng)) != RC_OK || (l->cfg.stateful && (st = stateful_states(l, g, B)) != RC_OK)) {
        rc_scope_pop(g);
        return st;
    }
    if (call->training && l->cfg.dropout > 0) {
        /* one mask per sequence, shared by every step */
        rc_scope_push(g, "dropout");
        x = rc_mul(g, x, rc_dropout_mask(g, RC_SHAPE(B, 1, I), l->cfg.dropout, rc_rng_u64(rng)));
        rc_scope_pop(g);
    }
    rc_node *rec_mask = NULL;
    if (call->training && l->cfg.recurrent_dropout > 0) {
        rc_scope_push(g, "recurrent_dropout");
        rec_mask = rc_dropout_mask(g, RC_SHAPE(B, c->state_size[0]), l->cfg.recurrent_dropout, rc_rng_u64(rng));
        rc_scope_pop(g);
    }

    /* x = table[ids], an embedding lookup (not through dropout), with fewer
     * table rows than steps · batch: project the table once instead of
     * every step's row, and look the steps' rows up in the result,
     *   project(table[ids]) = project(table)[ids],
     * which holds because project works row by row. x W + b then costs
     * V (not T·B) rows of GEMM forward and backward, and x itself is never
     * made (KANN's textgen configuration: V = 114, T·B = 4480). The
     * gradient is a scatter-add of the steps' dz into (V, P) per chunk. */
    rc_node *gtable = NULL, *gids = NULL, *ptable = NULL, *tids = NULL;
    if (c->cls->project && !l->cfg.go_backwards && rc_gather_parts(x, &gtable, &gids) &&
        2 * rc_node_shape(gtable).dim[0] <= T * B) {
        rc_scope_push(g, "input_projection");
        int mark = rc_graph_node_count(g);
        ptable = c->cls->project(c, g, gtable);
        if (ptable && check_no_params(l, g, mark, "project") != RC_OK) ptable = NULL;
        tids = ptable ? rc_transpose(g, gids, (int[]){1, 0}) : NULL; /* (T, B) */
        rc_scope_pop(g);
        if (!ptable) {
            rc_scope_pop(g);
            return rc_graph_status(g) != RC_OK ? rc_graph_status(g) : RC_ERR_ARG;
        }
    }
    rc_node *seq = ptable ? NULL : rc_transpose(g, x, (int[]){1, 0, 2});
    if (seq && l->cfg.go_backwards) seq = rc_reverse(g, seq, 0);
    /* seq is x's steps in order when x is a leaf (no dropout) read forwards */
    rc_node *leaf = rc_node_is_leaf(x) && !l->cfg.go_backwards ? x : NULL;
    /* The projection runs in chunks of steps, each made just before its
     * first step: a chunk dies when the forward has passed it, and its
     * gradient (the stack of the chunk's per-step deltas) is complete when
     * backward has, so the weight gradients are taken chunk by chunk
     * (ops/matmul.c matmul_accumulate) and the stack is reused. Chunk
     * sizes: PROJECT_ROWS, MIN_CHUNKS above (below SPLIT_ROWS rows, e.g.
     * batch 1 up to 63 steps, one GEMM for all steps). */
    int64_t nchunks = c->cls->project ? (T * B) / PROJECT_ROWS : 1;
    if (c->cls->project && nchunks < MIN_CHUNKS)
        nchunks = T * B < SPLIT_ROWS ? 1 : MIN_CHUNKS;
    if (nchunks < 1) nchunks = 1;
    if (nchunks > T) nchunks = T;
    rc_node *xseq = seq, *proj = NULL;
    int64_t chunk = 0, chunk_t0 = 0, chunk_t1 = T;
    if (c->cls->project) proj = project_chunk(l, g, xseq, leaf, ptable, tids, T, nchunks, 0, &chunk_t0, &chunk_t1);
    rc_node *mseq = NULL;
    if (mask) {
        mseq = rc_reshape(g, rc_transpose(g, mask, (int[]){1, 0}), RC_SHAPE(T, B, 1));
        if (l->cfg.go_backwards) mseq = rc_reverse(g, mseq, 0);
    }
    rc_node *state[RC_MAX_STATES];
    rc_node *zeros[RC_MAX_STATES] = {0}; /* initial states made here, named after the first step */
    for (int k = 0; k < c->nstates; k++)
        state[k] = ninit ? init[k] : l->store[0] ? l->store[k] : (zeros[k] = rc_fill(g, RC_SHAPE(B, c->state_size[k]), 0.0f));
    rc_node *zero_out = mask ? rc_fill(g, RC_SHAPE(B, c->output_size), 0.0f) : NULL;
    rc_node *prev_out = zero_out;
    rc_node **outs = l->cfg.return_sequences ? rc_calloc((size_t)T, sizeof *outs) : NULL;
    if (l->cfg.return_sequences && !outs) {
        rc_scope_pop(g);
        return fail(g, RC_ERR_NOMEM, "rnn '%s': %s", l->name, "out of memory");
    }
    rc_node *last = NULL;
    for (int64_t t = 0; t < T && rc_graph_status(g) == RC_OK; t++) {
        char tn[24];
        snprintf(tn, sizeof tn, "t%lld", (long long)t);
        rc_scope_push(g, tn);
        if (proj && t == chunk_t1) proj = project_chunk(l, g, xseq, leaf, ptable, tids, T, nchunks, ++chunk, &chunk_t0, &chunk_t1);
        rc_cell_step s = {.x = proj ? step_rows(g, proj, t - chunk_t0) : seq ? step_rows(g, seq, t) : NULL,
                          .rec_mask = rec_mask};
        memcpy(s.state, state, sizeof state);
        int mark = rc_graph_node_count(g);
        st = c->cls->step(c, g, &s);
        if (st == RC_OK) st = check_no_params(l, g, mark, "step");
        if (st == RC_OK) st = check_step(l, g, &s, B);
        /* the one fusion pass (ops/fuse.c): built-in and user cells alike */
        if (st == RC_OK) st = rc_cell_step_fuse(g, c, &s);
        if (st == RC_OK && t == 0) name_initial_states(c, zeros, &s);
        rc_node *o = s.output;
        if (st == RC_OK && mask) {
            rc_node *m = step_rows(g, mseq, t);
            for (int k = 0; k < c->nstates; k++) state[k] = rc_where(g, m, s.next_state[k], state[k]);
            o = rc_where(g, m, o, l->cfg.zero_output_for_mask ? zero_out : prev_out);
            prev_out = o;
        } else if (st == RC_OK) {
            for (int k = 0; k < c->nstates; k++) state[k] = s.next_state[k];
        }
        rc_scope_pop(g);
        if (st != RC_OK) break;
        if (outs) outs[t] = rc_reshape(g, o, RC_SHAPE(B, 1, c->output_size));
        last = o;
    }
    if (rc_graph_status(g) == RC_OK) {
        out->output = outs ? (T == 1 ? outs[0] : rc_concat(g, outs, (int)T, 1)) : last;
        out->nstates = c->nstates;
        for (int k = 0; k < c->nstates; k++) out->state[k] = state[k];
        if (l->store[0]) {
            out->nupdates = c->nstates;
            for (int k = 0; k < c->nstates; k++) out->update[k] = rc_assign(g, l->store[k], state[k]);
        }
    }
    rc_free(outs);
    rc_scope_pop(g);
    st = rc_graph_status(g);
    if (st != RC_OK) memset(out, 0, sizeof *out);
    return st;
}

/* --- Bidirectional ---------------------------------------------------------- */

struct rc_bidir {
    rc_layer layer; /* the handle rc_bidir_layer returns; impl = this */
    char name[64];
    rc_rnn *fwd, *bwd;
    rc_merge_mode mode;
};

rc_bidir *rc_bidir_new(const char *name, rc_rnn *forward, rc_rnn *backward, rc_merge_mode mode, rc_error *err) {
    static const char fn[] = "rc_bidir_new";
    const char *nm = name && *name ? name : "bidirectional";
    if (!forward || !backward)
        return refuse(err, RC_ERR_ARG, fn, nm, !forward ? "the forward layer is NULL" : "the backward layer is NULL");
    if (forward == backward) return refuse(err, RC_ERR_ARG, fn, nm, "the forward and backward layers are the same layer");
    const rc_rnn_config *f = &forward->cfg, *bw = &backward->cfg;
    if (f->go_backwards == bw->go_backwards) {
        rc_error_set(err, RC_ERR_ARG, fn, "layer '%s': %s", nm,
                     bw->go_backwards ? "the forward layer has go_backwards set too"
                                      : "the backward layer must have go_backwards set");
        return NULL;
    }
    const char *differs = f->return_sequences != bw->return_sequences ? "return_sequences"
                          : f->return_state != bw->return_state       ? "return_state"
                          : f->stateful != bw->stateful               ? "stateful"
                                                                      : NULL;
    if (differs) {
        rc_error_set(err, RC_ERR_ARG, fn, "layer '%s': the forward and backward layers differ in %s", nm, differs);
        return NULL;
    }
    if (mode < RC_MERGE_CONCAT || mode > RC_MERGE_NONE) {
        rc_error_set(err, RC_ERR_ARG, fn, "layer '%s': unknown merge mode %d", nm, (int)mode);
        return NULL;
    }
    rc_bidir *b = rc_calloc(1, sizeof *b);
    if (!b) return refuse(err, RC_ERR_NOMEM, fn, nm, "out of memory");
    snprintf(b->name, sizeof b->name, "%s", name && *name && !strchr(name, '/') ? name : "bidirectional");
    rc_layer_init(&b->layer, &rc_bidir_class, b);
    b->fwd = forward;
    b->bwd = backward;
    b->mode = mode;
    /* Keras sets zero_output_for_mask = return_sequences on both halves */
    forward->cfg.zero_output_for_mask = backward->cfg.zero_output_for_mask = forward->cfg.return_sequences;
    return b;
}

void rc_bidir_free(rc_bidir *b) {
    if (!b) return;
    rc_rnn_free(b->fwd);
    rc_rnn_free(b->bwd);
    rc_free(b);
}

rc_rnn *rc_bidir_forward(rc_bidir *b) { return b ? b->fwd : NULL; }
rc_rnn *rc_bidir_backward(rc_bidir *b) { return b ? b->bwd : NULL; }
const char *rc_bidir_name(const rc_bidir *b) { return b ? b->name : ""; }
rc_merge_mode rc_bidir_merge_mode(const rc_bidir *b) { return b ? b->mode : RC_MERGE_CONCAT; }

rc_status rc_bidir_apply(rc_bidir *b, rc_graph *g, rc_node *x, const rc_rnn_call *call, rc_bidir_out *out) {
    if (!g) return RC_ERR_ARG;
    rc_rnn_call none = {0};
    if (!call) call = &none;
    rc_node *const *init = call->initial_state;
    int ninit = call->ninitial;
    if (!b || !out) return fail(g, RC_ERR_ARG, "bidirectional%s: %s", "", !b ? "layer is NULL" : "out is NULL");
    memset(out, 0, sizeof *out);
    int nf = b->fwd->cell->nstates, nb = b->bwd->cell->nstates;
    if (ninit != 0 && ninit != nf + nb) {
        char msg[200];
        snprintf(msg, sizeof msg, "%d initial states given, expected %d (forward %d, backward %d)", ninit, nf + nb, nf, nb);
        return fail(g, RC_ERR_ARG, "bidirectional '%s': %s", b->name, msg);
    }
    if (ninit && !init) return fail(g, RC_ERR_ARG, "bidirectional '%s': %s", b->name, "initial state array is NULL");
    if (!rc_scope_push(g, b->name)) return rc_graph_status(g);
    rc_rnn_out f, r;
    rc_rnn_call cf = *call, cb = *call;
    /* one generator for both halves, so they never start from equal weights */
    rc_rng local;
    if (!call->rng) {
        rc_rng_seed(&local, 0);
        cf.rng = cb.rng = &local;
    }
    cf.initial_state = ninit ? init : NULL;
    cf.ninitial = ninit ? nf : 0;
    cb.initial_state = ninit ? init + nf : NULL;
    cb.ninitial = ninit ? nb : 0;
    rc_status st = rc_rnn_apply(b->fwd, g, x, &cf, &f);
    if (st == RC_OK) st = rc_rnn_apply(b->bwd, g, x, &cb, &r);
    if (st == RC_OK) {
        rc_node *yf = f.output, *yb = r.output;
        if (b->fwd->cfg.return_sequences) yb = rc_reverse(g, yb, 1); /* back to input order */
        out->output_forward = yf;
        out->output_backward = yb;
        switch (b->mode) {
        case RC_MERGE_CONCAT: out->output = rc_concat(g, (rc_node *[]){yf, yb}, 2, -1); break;
        case RC_MERGE_SUM: out->output = rc_add(g, yf, yb); break;
        case RC_MERGE_MUL: out->output = rc_mul(g, yf, yb); break;
        case RC_MERGE_AVE: out->output = rc_scale(g, rc_add(g, yf, yb), 0.5); break;
        case RC_MERGE_NONE: break;
        }
        out->nstates = nf + nb;
        for (int k = 0; k < nf; k++) out->state[k] = f.state[k];
        for (int k = 0; k < nb; k++) out->state[nf + k] = r.state[k];
        out->nupdates = f.nupdates + r.nupdates;
        for (int k = 0; k < f.nupdates; k++) out->update[k] = f.update[k];
        for (int k = 0; k < r.nupdates; k++) out->update[f.nupdates + k] = r.update[k];
    }
    rc_scope_pop(g);
    st = rc_graph_status(g);
    if (st != RC_OK) memset(out, 0, sizeof *out);
    return st;
}

/* --- the layer classes ----------------------------------------------------- */

rc_layer *rc_rnn_layer(rc_rnn *l) { return l ? &l->layer : NULL; }
rc_layer *rc_bidir_layer(rc_bidir *b) { return b ? &b->layer : NULL; }

/* Keras class name of an RNN layer: its cell's class without "Cell" for
 * the built-in cells (SimpleRNN, LSTM, GRU), RNN for any other cell. */
static const char *rnn_type_of(const rc_layer *ly) {
    const rc_rnn *l = ly->impl;
    const char *t = l->cell->cls->type;
    if (!strcmp(t, "SimpleRNNCell")) return "SimpleRNN";
    if (!strcmp(t, "LSTMCell")) return "LSTM";
    if (!strcmp(t, "GRUCell")) return "GRU";
    return "RNN";
}

static const char *rnn_layer_name(const rc_layer *ly) { return rc_rnn_name(ly->impl); }

static void rnn_layer_destroy(rc_layer *ly) { rc_rnn_free(ly->impl); }

/* Cell weights, Keras order, appended from out[at]. */
static int cell_params(const rc_cell *c, rc_node **out, int at, int max) {
    for (int k = 0; k < c->nparams; k++, at++)
        if (out && at < max) out[at] = c->params[k];
    return at;
}

static int rnn_layer_params(const rc_layer *ly, rc_node **out, int max) {
    return cell_params(((const rc_rnn *)ly->impl)->cell, out, 0, max);
}

static rc_rnn_call layer_call(const rc_layer_in *in) {
    return (rc_rnn_call){.mask = in->mask, .initial_state = in->initial_state, .ninitial = in->ninitial,
                         .training = in->training, .rng = in->rng};
}

/* Keras: the output, then the final states with return_state; the mask
 * flows on with the sequence only. */
static rc_status rnn_layer_apply(rc_layer *ly, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    rc_rnn *l = ly->impl;
    rc_rnn_call call = layer_call(in);
    rc_rnn_out o;
    rc_status st = rc_rnn_apply(l, g, in->x, &call, &o);
    if (st != RC_OK) return st;
    out->out[out->nout++] = o.output;
    out->mask[0] = l->cfg.return_sequences ? in->mask : NULL;
    for (int k = 0; l->cfg.return_state && k < o.nstates; k++) out->out[out->nout++] = o.state[k];
    out->nupdates = o.nupdates;
    for (int k = 0; k < o.nupdates; k++) out->update[k] = o.update[k];
    return RC_OK;
}

const rc_layer_class rc_rnn_class = {
    .type = "RNN",
    .type_of = rnn_type_of,
    .input_dtype = RC_F32,
    .name = rnn_layer_name,
    .apply = rnn_layer_apply,
    .params = rnn_layer_params,
    .destroy = rnn_layer_destroy,
};

static const char *bidir_layer_name(const rc_layer *ly) { return rc_bidir_name(ly->impl); }

static void bidir_layer_destroy(rc_layer *ly) { rc_bidir_free(ly->impl); }

/* Forward weights then backward weights (Keras get_weights()). */
static int bidir_layer_params(const rc_layer *ly, rc_node **out, int max) {
    const rc_bidir *b = ly->impl;
    return cell_params(b->bwd->cell, out, cell_params(b->fwd->cell, out, 0, max), max);
}

/* Keras: the merged output (or both halves with merge_mode None), then the
 * forward states and the backward states with return_state. */
static rc_status bidir_layer_apply(rc_layer *ly, rc_graph *g, const rc_layer_in *in, rc_layer_out *out) {
    rc_bidir *b = ly->impl;
    rc_rnn_call call = layer_call(in);
    rc_bidir_out o;
    rc_status st = rc_bidir_apply(b, g, in->x, &call, &o);
    if (st != RC_OK) return st;
    bool seq = b->fwd->cfg.return_sequences;
    if (o.output) out->out[out->nout++] = o.output;
    else out->out[out->nout++] = o.output_forward, out->out[out->nout++] = o.output_backward;
    for (int k = 0; k < out->nout; k++) out->mask[k] = seq ? in->mask : NULL;
    for (int k = 0; b->fwd->cfg.return_state && k < o.nstates; k++) out->out[out->nout++] = o.state[k];
    out->nupdates = o.nupdates;
    for (int k = 0; k < o.nupdates; k++) out->update[k] = o.update[k];
    return RC_OK;
}

const rc_layer_class rc_bidir_class = {
    .type = "Bidirectional",
    .input_dtype = RC_F32,
    .name = bidir_layer_name,
    .apply = bidir_layer_apply,
    .params = bidir_layer_params,
    .destroy = bidir_layer_destroy,
};
