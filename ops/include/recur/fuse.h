/* recur — step-level fusion: the one pass that decides whether the gate
 * math of a recurrent step runs as a fused cell op.
 *
 * Cells (built-in and user-written alike) build their step from plain ops.
 * After each step the RNN layer (and StackedRNNCells, after each cell of
 * its stack) hands the step's output and new states to rc_fuse_step, which
 * recognises, by op identity and never by name:
 *
 *   LSTM   z = a + b (B, 4U), no broadcasting
 *          i = σ(z[:, 0:U])  f = σ(z[:, U:2U])  g = tanh(z[:, 2U:3U])
 *          o = σ(z[:, 3U:4U])
 *          c' = f ⊙ c + i ⊙ g      h' = o ⊙ tanh(c')
 *          with h' and c' both among the nodes given;
 *          -> lstm_cell(a, b, c) (ops/lstm.c)
 *   GRU    (Keras reset_after = true) xp, hu (B, 3U), h (B, U)
 *          z = σ(xp[:, 0:U] + hu[:, 0:U])   r = σ(xp[:, U:2U] + hu[:, U:2U])
 *          hh = tanh(xp[:, 2U:3U] + r ⊙ hu[:, 2U:3U])
 *          h' = lerp(z, h, hh)  or  hh + z ⊙ (h - hh)   (the same floats)
 *          -> gru_cell(xp, hu, h) (ops/gru.c)
 *
 * σ is sigmoid. Operands of every add and mul may come in either order
 * (exact in floating point). Each matched h' (and c') among `out` is
 * replaced by a view of the fused node's plane (named as the node it
 * replaces when that node has a name of its own, e.g. "h", "c"). The matched
 * nodes stay in the graph but nothing reads them any more, so plans and
 * gradients skip them. The fused GRU's values equal the plain ops' bit for
 * bit; the fused LSTM's are the same formulas evaluated in one kernel (the
 * built-in LSTM's values; against the plain ops, float rounding).
 *
 * With fusion off for the graph (rc_graph_set_fusion(g, false)) it does
 * nothing. Returns the graph's status. */
#ifndef RECUR_FUSE_H
#define RECUR_FUSE_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[0..n): a step's output and new states (a node may appear more than
 * once, e.g. an LSTM's h as output and state 0); rewritten in place. */
rc_status rc_fuse_step(rc_graph *g, rc_node **out, int n);

#ifdef __cplusplus
}
#endif
#endif
