/* mgu_cell — a Minimal Gated Unit as a user cell (see mgu_cell.h).
 *
 * The cell only says how one step is computed. The RNN layer unrolls it
 * over time and adds masking, go_backwards, initial and stateful states,
 * dropout and Bidirectional for free, and autodiff differentiates it.
 *
 *   project (all B·T rows at once)  P = x W + b                 (N, 2U)
 *   step                            hm = h ⊙ rec_mask  (or h)
 *                                   f  = σ(P_f + hm U_f)
 *                                   h~ = tanh(P_h + (f ⊙ hm) U_h)
 *                                   h' = h + f ⊙ (h~ - h)
 * (h + f (h~ - h) is (1 - f) h + f h~ with one op fewer.) */
#include "mgu_cell.h"

#include <recur.h>
#include <recur/init.h>
#include <recur/rnn.h>

typedef struct mgu {
    int64_t units;
    rc_node *kernel, *rkernel, *bias; /* the cell's weights (Keras order) */
    rc_node *rk_f, *rk_h;             /* column blocks of rkernel: U_f, U_h */
} mgu;

/* Called once, in the scope "<layer>/<cell name>", when the layer first
 * sees the input size I. */
static rc_status mgu_build(rc_cell *c, rc_graph *g, int64_t I, rc_rng *rng) {
    mgu *m = c->impl;
    int64_t U = m->units;
    m->kernel = rc_cell_add_param(c, g, "kernel", RC_SHAPE(I, 2 * U));
    m->rkernel = rc_cell_add_param(c, g, "recurrent_kernel", RC_SHAPE(U, 2 * U));
    m->bias = rc_cell_add_param(c, g, "bias", RC_SHAPE(2 * U));
    if (!m->kernel || !m->rkernel || !m->bias) return rc_graph_status(g);
    rc_init_glorot_uniform(rc_node_data(m->kernel), I, 2 * U, rng);
    rc_error err;
    if (rc_init_orthogonal(rc_node_data(m->rkernel), U, 2 * U, 1.0f, rng, &err) != RC_OK) {
        /* a cell's build is a builder: it reports on the graph */
        rc_graph_fail(g, err.code, "cell '%s': %s", c->name, err.message);
        return err.code;
    }
    /* the bias stays zero (rc_param zero-initialises) */
    /* U_f and U_h are views of the recurrent kernel, made once here so the
     * steps share them. */
    m->rk_f = rc_slice(g, m->rkernel, 1, 0, U);
    m->rk_h = rc_slice(g, m->rkernel, 1, U, 2 * U);
    return rc_graph_status(g);
}

/* The input part of both gates for many rows: (N, I) -> (N, 2U). */
static rc_node *mgu_project(rc_cell *c, rc_graph *g, rc_node *x_all) {
    mgu *m = c->impl;
    return rc_add(g, rc_matmul(g, x_all, m->kernel, false, false), m->bias);
}

/* One step: s->x is (B, 2U), rows of mgu_project's result. */
static rc_status mgu_step(rc_cell *c, rc_graph *g, rc_cell_step *s) {
    mgu *m = c->impl;
    int64_t U = m->units;
    rc_node *h = s->state[0];
    /* recurrent dropout: h is masked where it enters a recurrent matmul only */
    rc_node *hm = s->rec_mask ? rc_mul(g, h, s->rec_mask) : h;
    rc_node *xf = rc_slice(g, s->x, 1, 0, U), *xh = rc_slice(g, s->x, 1, U, 2 * U);
    rc_node *f = rc_sigmoid(g, rc_add(g, xf, rc_matmul(g, hm, m->rk_f, false, false)));
    rc_node *fh = rc_matmul(g, rc_mul(g, f, hm), m->rk_h, false, false);
    rc_node *cand = rc_tanh(g, rc_add(g, xh, fh));
    rc_node *hn = rc_add(g, h, rc_mul(g, f, rc_sub(g, cand, h)));
    if (!hn) return rc_graph_status(g); /* an op failed: the graph holds the error */
    rc_node_rename(f, "forget_gate");
    rc_node_rename(cand, "candidate");
    rc_node_rename(hn, "h");
    s->output = hn;
    s->next_state[0] = hn;
    return RC_OK;
}

static const rc_cell_class mgu_class = {
    .type = "MGUCell",
    .build = mgu_build,
    .project = mgu_project,
    .step = mgu_step,
    .destroy = NULL, /* rc_cell_free then rc_free()s impl */
};

rc_cell *mgu_cell_new(int64_t units) {
    mgu *m = rc_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->units = units;
    int64_t state_size[1] = {units};
    rc_cell *c = rc_cell_new(&mgu_class, "mgu_cell", 1, state_size, units, m, NULL);
    if (!c) rc_free(m);
    return c;
}
