/* The cell interface's shared parts and the built-in cells (activations:
 * activation.c).
 *
 * Row-vector convention as in Keras: x_t (B, I), h (B, U); kernels multiply
 * on the right and hold the gates side by side along their columns.
 *
 *   SimpleRNN  h' = φ(x W + b + h U)
 *   LSTM       z = x W + b + h U = [z_i | z_f | z_c | z_o]
 *              i = σ(z_i)  f = σ(z_f)  g = φ(z_c)  o = σ(z_o)
 *              c' = f ⊙ c + i ⊙ g      h' = o ⊙ φ(c')
 *   GRU (reset_after)   [x_z|x_r|x_h] = x W + b_in,  [h_z|h_r|h_h] = h U + b_rec
 *              z = σ(x_z + h_z)  r = σ(x_r + h_r)  hh = φ(x_h + r ⊙ h_h)
 *              h' = z ⊙ h + (1 - z) ⊙ hh
 *   GRU (reset before)  [x_z|x_r|x_h] = x W + b
 *              z = σ(x_z + h U_z)  r = σ(x_r + h U_r)  hh = φ(x_h + (r ⊙ h) U_h)
 * σ is the recurrent activation, φ the activation. Each cell's project()
 * computes x W (+ input bias) for all B·T rows at once. */
#include <stdio.h>
#include <string.h>

#include "recur/fuse.h"
#include "recur/init.h"
#include "recur/ops.h"
#include "recur/rnn.h"

/* --- the cell base ---------------------------------------------------------- */

rc_cell *rc_cell_new(const rc_cell_class *cls, const char *name, int nstates, const int64_t *state_size,
                     int64_t output_size, void *impl, rc_error *err) {
    static const char fn[] = "rc_cell_new";
    const char *nm = name && *name ? name : "cell";
    if (!cls || !cls->build || !cls->step) {
        rc_error_set(err, RC_ERR_ARG, fn, "cell '%s': %s", nm,
                     !cls ? "the class is NULL" : "the class has no build or no step function");
        return NULL;
    }
    if (nstates < 1 || nstates > RC_MAX_STATES || !state_size) {
        rc_error_set(err, RC_ERR_ARG, fn, "cell '%s' (%s): %d states, expected 1..%d with their sizes", nm,
                     cls->type ? cls->type : "?", nstates, RC_MAX_STATES);
        return NULL;
    }
    rc_cell *c = rc_calloc(1, sizeof *c);
    if (!c) {
        rc_error_set(err, RC_ERR_NOMEM, fn, "cell '%s': out of memory", nm);
        return NULL;
    }
    c->cls = cls;
    snprintf(c->name, sizeof c->name, "%s", name && *name ? name : "cell");
    c->nstates = nstates;
    memcpy(c->state_size, state_size, (size_t)nstates * sizeof *state_size);
    c->output_size = output_size;
    c->impl = impl;
    return c;
}

void rc_cell_free(rc_cell *c) {
    if (!c) return;
    if (c->cls->destroy) c->cls->destroy(c);
    else rc_free(c->impl);
    rc_free(c);
}

/* Every parameter build made (node ids from mark on) must be in c->params.
 * One made with rc_param would still train (the trainer takes every
 * parameter of the graph) but be missing from everything that works from
 * c->params: weight loading and saving, parameter counts, gradient checks.
 * Cells that wrap others list the inner cells' parameters as their own, so
 * they pass too. */
static rc_status check_params_listed(rc_cell *c, rc_graph *g, int mark) {
    for (int id = mark; id < rc_graph_node_count(g); id++) {
        rc_node *n = rc_graph_node(g, id);
        if (!rc_node_is_param(n)) continue;
        bool listed = false;
        for (int k = 0; k < c->nparams && !listed; k++) listed = c->params[k] == n;
        if (listed) continue;
        char path[256];
        rc_graph_fail(g, RC_ERR_ARG,
                      "cell '%s': parameter '%s' was made with rc_param; make cell parameters with "
                      "rc_cell_add_param so they are trained, checked and loaded",
                      c->name, rc_node_path(n, path, sizeof path));
        return RC_ERR_ARG;
    }
    return RC_OK;
}

rc_status rc_cell_build(rc_cell *c, rc_graph *g, int64_t input_size, rc_rng *rng) {
    if (!c || !g) return RC_ERR_ARG;
    if (c->built) {
        if (c->input_size == input_size) return RC_OK;
        rc_graph_fail(g, RC_ERR_SHAPE, "cell '%s' was built for %lld input features, got %lld", c->name,
                      (long long)c->input_size, (long long)input_size);
        return RC_ERR_SHAPE;
    }
    if (input_size < 1) {
        rc_graph_fail(g, RC_ERR_SHAPE, "cell '%s': input size %lld must be >= 1", c->name, (long long)input_size);
        return RC_ERR_SHAPE;
    }
    rc_rng local;
    if (!rng) {
        rc_rng_seed(&local, 0);
        rng = &local;
    }
    if (!rc_scope_push(g, c->name)) return rc_graph_status(g);
    c->input_size = input_size;
    int mark = rc_graph_node_count(g);
    rc_status st = c->cls->build(c, g, input_size, rng);
    rc_scope_pop(g);
    if (st == RC_OK && rc_graph_status(g) != RC_OK) st = rc_graph_status(g);
    if (st == RC_OK) st = check_params_listed(c, g, mark);
    c->built = st == RC_OK;
    return st;
}

rc_node *rc_cell_add_param(rc_cell *c, rc_graph *g, const char *name, rc_shape shape) {
    if (c->nparams == RC_MAX_CELL_PARAMS)
        return rc_graph_fail(g, RC_ERR_ARG, "cell '%s': more than %d parameters", c->name, RC_MAX_CELL_PARAMS);
    rc_node *p = rc_param(g, name, shape);
    if (p) c->params[c->nparams++] = p;
    return p;
}

rc_status rc_cell_set_weight(rc_cell *c, int k, rc_shape shape, const float *values) {
    if (!c) return RC_ERR_ARG;
    if (!c->built) return RC_ERR_STATE;
    rc_graph *g = c->nparams ? rc_node_graph(c->params[0]) : NULL;
    if (k < 0 || k >= c->nparams || !values) {
        rc_graph_fail(g, RC_ERR_ARG, "cell '%s': %s (it has %d weights)", c->name,
                      values ? "weight index out of range" : "values are NULL", c->nparams);
        return RC_ERR_ARG;
    }
    rc_node *p = c->params[k];
    if (!rc_shape_eq(shape, rc_node_shape(p))) {
        char a[RC_SHAPE_STRLEN], b[RC_SHAPE_STRLEN];
        rc_graph_fail(g, RC_ERR_SHAPE, "cell '%s': weight %d '%s' has shape %s, got %s", c->name, k, rc_node_name(p),
                      rc_shape_str(rc_node_shape(p), a, sizeof a), rc_shape_str(shape, b, sizeof b));
        return RC_ERR_SHAPE;
    }
    memcpy(rc_node_data(p), values, (size_t)rc_node_numel(p) * sizeof(float));
    return RC_OK;
}

int64_t rc_cell_param_count(const rc_cell *c) {
    int64_t n = 0;
    for (int k = 0; k < c->nparams; k++) n += rc_node_numel(c->params[k]);
    return n;
}

rc_status rc_cell_step_fuse(rc_graph *g, const rc_cell *c, rc_cell_step *s) {
    if (!g || !c || !s) return RC_ERR_ARG;
    rc_node *out[1 + RC_MAX_STATES];
    out[0] = s->output;
    for (int k = 0; k < c->nstates; k++) out[1 + k] = s->next_state[k];
    rc_status st = rc_fuse_step(g, out, 1 + c->nstates);
    s->output = out[0];
    for (int k = 0; k < c->nstates; k++) s->next_state[k] = out[1 + k];
    return st;
}

rc_cell_config rc_cell_defaults(int64_t units) {
    return (rc_cell_config){.units = units,
                            .activation = RC_ACT_TANH,
                            .recurrent_activation = RC_ACT_SIGMOID,
                            .use_bias = true,
                            .unit_forget_bias = true,
                            .reset_after = true};
}

/* --- built-in gated cells: shared build ----------------------------------- */

typedef struct gated {
    rc_cell_config cfg;
    int gates;                         /* G: 1, 4 or 3 */
    rc_node *kernel, *rkernel, *bias;  /* Keras weights */
    rc_node *bias_in, *bias_rec;       /* GRU reset_after: rows of bias */
    rc_node *rk_zr, *rk_h;             /* GRU reset before: column blocks of rkernel */
} gated;

static rc_status gated_build(rc_cell *c, rc_graph *g, int64_t I, rc_rng *rng) {
    gated *s = c->impl;
    int64_t U = s->cfg.units, G = s->gates;
    s->kernel = rc_cell_add_param(c, g, "kernel", RC_SHAPE(I, G * U));
    s->rkernel = rc_cell_add_param(c, g, "recurrent_kernel", RC_SHAPE(U, G * U));
    if (!s->kernel || !s->rkernel) return rc_graph_status(g);
    rc_init_glorot_uniform(rc_node_data(s->kernel), I, G * U, rng);
    rc_error err;
    if (rc_init_orthogonal(rc_node_data(s->rkernel), U, G * U, 1.0f, rng, &err) != RC_OK)
        return rc_graph_fail(g, err.code, "cell '%s': %s", c->name, err.message), err.code;
    bool gru_after = G == 3 && s->cfg.reset_after;
    if (s->cfg.use_bias) {
        s->bias = rc_cell_add_param(c, g, "bias", gru_after ? RC_SHAPE(2, 3 * U) : RC_SHAPE(G * U));
        if (!s->bias) return rc_graph_status(g);
        /* zeros, and unit_forget_bias sets the f block of an LSTM to 1 */
        if (G == 4 && s->cfg.unit_forget_bias) rc_init_constant((float *)rc_node_data(s->bias) + U, U, 1.0f);
        if (gru_after) {
            s->bias_in = rc_reshape(g, rc_slice(g, s->bias, 0, 0, 1), RC_SHAPE(3 * U));
            s->bias_rec = rc_reshape(g, rc_slice(g, s->bias, 0, 1, 2), RC_SHAPE(3 * U));
        }
    }
    if (G == 3 && !s->cfg.reset_after) {
        s->rk_zr = rc_slice(g, s->rkernel, 1, 0, 2 * U);
        s->rk_h = rc_slice(g, s->rkernel, 1, 2 * U, 3 * U);
    }
    return rc_graph_status(g);
}

/* x W + b over all rows (GRU reset_after adds only the input bias). */
static rc_node *gated_project(rc_cell *c, rc_graph *g, rc_node *x) {
    gated *s = c->impl;
    rc_node *p = rc_matmul(g, x, s->kernel, false, false);
    rc_node *b = s->bias_in ? s->bias_in : s->bias;
    return b ? rc_add(g, p, b) : p;
}

/* Column block k of a (B, G·U) node. */
static rc_node *block(rc_graph *g, rc_node *z, int64_t U, int k) {
    return rc_slice(g, z, 1, k * U, (k + 1) * U);
}

/* Block k of z through activation a, in scope `gate`, named `gate`. */
static rc_node *gate(rc_graph *g, const char *name, rc_activation a, rc_node *pre) {
    rc_scope_push(g, name);
    rc_node *y = rc_activate(g, a, pre);
    rc_scope_pop(g);
    if (y && y != pre) rc_node_rename(y, name);
    return y;
}

static void defaults_gated(const rc_cell_config *cfg, gated *s, int G) {
    s->cfg = *cfg;
    s->gates = G;
}

/* h as it enters a recurrent matmul: times the recurrent dropout mask. */
static rc_node *h_in(rc_graph *g, const rc_cell_step *st) {
    return st->rec_mask ? rc_mul(g, st->state[0], st->rec_mask) : st->state[0];
}

/* --- SimpleRNN ---------------------------------------------------------------- */

static rc_status simple_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    gated *s = c->impl;
    rc_node *pre = rc_add(g, st->x, rc_matmul(g, h_in(g, st), s->rkernel, false, false));
    rc_node *h = rc_activate(g, s->cfg.activation, pre);
    if (h) rc_node_rename(h, "h");
    st->output = st->next_state[0] = h;
    return rc_graph_status(g);
}

static const rc_cell_class simple_class = {"SimpleRNNCell", gated_build, gated_project, simple_step, NULL};

static rc_cell *gated_new(const rc_cell_class *cls, const char *name, const rc_cell_config *cfg, int G, int nstates) {
    if (!cfg) return NULL;
    gated *s = rc_calloc(1, sizeof *s);
    if (!s) return NULL;
    defaults_gated(cfg, s, G);
    int64_t sizes[2] = {cfg->units, cfg->units};
    rc_cell *c = rc_cell_new(cls, name, nstates, sizes, cfg->units, s, NULL);
    if (!c) rc_free(s);
    return c;
}

rc_cell *rc_simple_rnn_cell_new(const rc_cell_config *cfg) {
    return gated_new(&simple_class, "simple_rnn_cell", cfg, 1, 1);
}

/* --- LSTM ------------------------------------------------------------------------ */

static rc_status lstm_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    gated *s = c->impl;
    int64_t U = s->cfg.units;
    rc_node *cprev = st->state[1];
    rc_activation ra = s->cfg.recurrent_activation, a = s->cfg.activation;
    /* With Keras' default activations the fusion pass after the step
     * (rc_cell_step_fuse, ops/fuse.c) turns this into the fused lstm_cell:
     * one kernel forward and one backward, keeping only [i f g o c h]. */
    rc_node *z = rc_add(g, st->x, rc_matmul(g, h_in(g, st), s->rkernel, false, false));
    rc_node *i = gate(g, "input_gate", ra, block(g, z, U, 0));
    rc_node *f = gate(g, "forget_gate", ra, block(g, z, U, 1));
    rc_node *cand = gate(g, "candidate", a, block(g, z, U, 2));
    rc_node *o = gate(g, "output_gate", ra, block(g, z, U, 3));
    rc_node *cn = rc_add(g, rc_mul(g, f, cprev), rc_mul(g, i, cand));
    if (cn) rc_node_rename(cn, "c");
    rc_node *hn = rc_mul(g, o, rc_activate(g, a, cn));
    if (hn) rc_node_rename(hn, "h");
    st->output = st->next_state[0] = hn;
    st->next_state[1] = cn;
    return rc_graph_status(g);
}

static const rc_cell_class lstm_class = {"LSTMCell", gated_build, gated_project, lstm_step, NULL};

rc_cell *rc_lstm_cell_new(const rc_cell_config *cfg) { return gated_new(&lstm_class, "lstm_cell", cfg, 4, 2); }

/* --- GRU ---------------------------------------------------------------------------- */

static rc_status gru_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    gated *s = c->impl;
    int64_t U = s->cfg.units;
    rc_node *h = st->state[0], *hm = h_in(g, st), *x = st->x, *z, *r, *hh;
    rc_activation ra = s->cfg.recurrent_activation, a = s->cfg.activation;
    /* reset_after with Keras' default activations: the fusion pass after
     * the step (rc_cell_step_fuse, ops/fuse.c) turns this into the fused
     * gru_cell, one kernel forward and three backward, keeping only
     * [z r hh hu_h h]; it computes these very operations in this order, so
     * the values are the same bit for bit. */
    if (s->cfg.reset_after) {
        rc_node *hu = rc_matmul(g, hm, s->rkernel, false, false);
        if (s->bias_rec) hu = rc_add(g, hu, s->bias_rec);
        z = gate(g, "update_gate", ra, rc_add(g, block(g, x, U, 0), block(g, hu, U, 0)));
        r = gate(g, "reset_gate", ra, rc_add(g, block(g, x, U, 1), block(g, hu, U, 1)));
        hh = gate(g, "candidate", a, rc_add(g, block(g, x, U, 2), rc_mul(g, r, block(g, hu, U, 2))));
    } else {
        rc_node *hzr = rc_matmul(g, hm, s->rk_zr, false, false);
        z = gate(g, "update_gate", ra, rc_add(g, block(g, x, U, 0), block(g, hzr, U, 0)));
        r = gate(g, "reset_gate", ra, rc_add(g, block(g, x, U, 1), block(g, hzr, U, 1)));
        rc_node *rh = rc_matmul(g, rc_mul(g, r, hm), s->rk_h, false, false);
        hh = gate(g, "candidate", a, rc_add(g, block(g, x, U, 2), rh));
    }
    /* h' = z h + (1 - z) hh: one lerp, whose gradient reads only z, h and
     * hh, which backward keeps anyway (ops/lerp.c) */
    rc_node *hn = rc_lerp(g, z, h, hh);
    if (hn) rc_node_rename(hn, "h");
    st->output = st->next_state[0] = hn;
    return rc_graph_status(g);
}

static const rc_cell_class gru_class = {"GRUCell", gated_build, gated_project, gru_step, NULL};

rc_cell *rc_gru_cell_new(const rc_cell_config *cfg) { return gated_new(&gru_class, "gru_cell", cfg, 3, 1); }

/* --- StackedRNNCells ---------------------------------------------------------------- */

typedef struct stacked {
    int n;
    rc_cell **cells;
} stacked;

static rc_status stacked_build(rc_cell *c, rc_graph *g, int64_t I, rc_rng *rng) {
    stacked *s = c->impl;
    int64_t in = I;
    for (int k = 0; k < s->n; k++) {
        rc_status st = rc_cell_build(s->cells[k], g, in, rng);
        if (st != RC_OK) return st;
        for (int p = 0; p < s->cells[k]->nparams; p++) {
            if (c->nparams == RC_MAX_CELL_PARAMS)
                return rc_graph_fail(g, RC_ERR_ARG, "stacked cells: more than %d parameters", RC_MAX_CELL_PARAMS),
                       RC_ERR_ARG;
            c->params[c->nparams++] = s->cells[k]->params[p];
        }
        in = s->cells[k]->output_size;
    }
    return RC_OK;
}

static rc_node *stacked_project(rc_cell *c, rc_graph *g, rc_node *x_all) {
    stacked *s = c->impl;
    rc_cell *c0 = s->cells[0];
    rc_scope_push(g, c0->name);
    rc_node *p = c0->cls->project(c0, g, x_all);
    rc_scope_pop(g);
    return p;
}

static rc_status stacked_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    stacked *s = c->impl;
    rc_node *x = st->x;
    int at = 0;
    for (int k = 0; k < s->n; k++) {
        rc_cell *ck = s->cells[k];
        /* recurrent dropout reaches the first cell of the stack only */
        rc_cell_step sub = {.x = x, .rec_mask = k == 0 ? st->rec_mask : NULL};
        rc_scope_push(g, ck->name);
        /* cell 0 receives rows of the stack's projection; the others
         * project their input at each step */
        if (k > 0 && ck->cls->project) sub.x = ck->cls->project(ck, g, x);
        for (int j = 0; j < ck->nstates; j++) sub.state[j] = st->state[at + j];
        rc_status r = ck->cls->step(ck, g, &sub);
        /* each cell of the stack through the fusion pass, before the next
         * cell reads its output */
        if (r == RC_OK) r = rc_cell_step_fuse(g, ck, &sub);
        rc_scope_pop(g);
        if (r != RC_OK) return r;
        for (int j = 0; j < ck->nstates; j++) st->next_state[at + j] = sub.next_state[j];
        at += ck->nstates;
        x = sub.output;
    }
    st->output = x;
    return rc_graph_status(g);
}

static void stacked_destroy(rc_cell *c) {
    stacked *s = c->impl;
    for (int k = 0; k < s->n; k++) rc_cell_free(s->cells[k]);
    rc_free(s->cells);
    rc_free(s);
}

static const rc_cell_class stacked_class = {"StackedRNNCells", stacked_build, NULL, stacked_step, stacked_destroy};
static const rc_cell_class stacked_projected_class = {"StackedRNNCells", stacked_build, stacked_project,
                                                      stacked_step, stacked_destroy};

rc_cell *rc_stacked_cells_new(rc_cell *const *cells, int n, rc_error *err) {
    static const char fn[] = "rc_stacked_cells_new";
    if (!cells || n < 1) {
        rc_error_set(err, RC_ERR_ARG, fn, "a stack of %d cells%s: need at least one", n, cells ? "" : " (NULL array)");
        return NULL;
    }
    int64_t sizes[RC_MAX_STATES] = {0};
    int ns = 0;
    for (int k = 0; k < n; k++) {
        if (!cells[k]) {
            rc_error_set(err, RC_ERR_ARG, fn, "cell %d of the stack is NULL (did its constructor fail?)", k);
            return NULL;
        }
        if (ns + cells[k]->nstates > RC_MAX_STATES) {
            rc_error_set(err, RC_ERR_ARG, fn, "the stack's cells have more than %d states in all (at cell %d)",
                         RC_MAX_STATES, k);
            return NULL;
        }
        for (int j = 0; j < cells[k]->nstates; j++) sizes[ns++] = cells[k]->state_size[j];
    }
    stacked *s = rc_calloc(1, sizeof *s);
    rc_cell **own = rc_calloc((size_t)n, sizeof *own);
    if (!s || !own) {
        rc_free(s);
        rc_free(own);
        rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
        return NULL;
    }
    s->n = n;
    s->cells = own;
    rc_cell *c = rc_cell_new(cells[0]->cls->project ? &stacked_projected_class : &stacked_class,
                             "stacked_rnn_cells", ns, sizes, cells[n - 1]->output_size, s, err);
    if (!c) {
        rc_free(own);
        rc_free(s);
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        own[k] = cells[k];
        snprintf(own[k]->name, sizeof own[k]->name, "cell_%d", k);
    }
    return c;
}
