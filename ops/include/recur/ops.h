/* recur — op builders. Each call appends one node (or a few) to the graph,
 * infers its shape, and returns it; on bad input it records the first error
 * on the graph and returns NULL (see graph.h). Axes may be negative
 * (counted from the end). All float ops work on RC_F32 nodes.
 */
#ifndef RECUR_OPS_H
#define RECUR_OPS_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- elementwise, unary ------------------------------------------------ */
rc_node *rc_neg(rc_graph *g, rc_node *x);
rc_node *rc_scale(rc_graph *g, rc_node *x, double c);         /* c * x */
rc_node *rc_add_scalar(rc_graph *g, rc_node *x, double c);    /* x + c */
rc_node *rc_sigmoid(rc_graph *g, rc_node *x);
rc_node *rc_tanh(rc_graph *g, rc_node *x);
rc_node *rc_relu(rc_graph *g, rc_node *x);
/* clip(slope * x + offset, 0, 1). Keras 3 hard_sigmoid: slope 1/6, offset
 * 0.5; Keras 2 / TF.js: slope 0.2, offset 0.5. */
rc_node *rc_hard_sigmoid(rc_graph *g, rc_node *x, float slope, float offset);
rc_node *rc_exp(rc_graph *g, rc_node *x);
rc_node *rc_log(rc_graph *g, rc_node *x);
rc_node *rc_square(rc_graph *g, rc_node *x);

/* Keras 3 activations (keras.activations.*; Keras' `exponential` is
 * rc_exp). Each is one op with a fused float32 kernel; every derivative
 * order is differentiable again. */
/* elu(x, alpha): x > 0 ? x : alpha (e^x - 1). Keras default alpha 1. */
rc_node *rc_elu(rc_graph *g, rc_node *x, float alpha);
/* selu: scale (x > 0 ? x : alpha (e^x - 1)) with Keras' constants
 * scale = 1.0507009873554804934193349852946,
 * alpha = 1.6732632423543772848170429916717. */
rc_node *rc_selu(rc_graph *g, rc_node *x);
/* softplus: ln(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) (no
 * overflow for large x). */
rc_node *rc_softplus(rc_graph *g, rc_node *x);
/* softsign: x / (1 + |x|). */
rc_node *rc_softsign(rc_graph *g, rc_node *x);
/* silu (Keras `silu` = `swish`): x sigmoid(x) = x / (1 + e^-x). */
rc_node *rc_silu(rc_graph *g, rc_node *x);
/* gelu: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (Keras 3
 * activations.gelu's default, approximate = false); with approximate:
 * 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). */
rc_node *rc_gelu(rc_graph *g, rc_node *x, bool approximate);

/* Fused gradient ops (ordinary ops with their own gradients):
 * sigmoid_grad(y, dy) = dy * y * (1 - y)      (y = sigmoid(x))
 * tanh_grad(y, dy)    = dy * (1 - y^2)        (y = tanh(x))
 * relu_grad(x, dy)    = x > 0 ? dy : 0
 * hard_sigmoid_grad(x, dy) = slope * dy where 0 < slope*x+offset < 1, else 0 */
rc_node *rc_sigmoid_grad(rc_graph *g, rc_node *y, rc_node *dy);
rc_node *rc_tanh_grad(rc_graph *g, rc_node *y, rc_node *dy);
rc_node *rc_relu_grad(rc_graph *g, rc_node *x, rc_node *dy);
rc_node *rc_hard_sigmoid_grad(rc_graph *g, rc_node *x, rc_node *dy,
                              float slope, float offset);

/* --- elementwise, binary, with broadcasting ---------------------------- */
/* Shapes broadcast as in NumPy: aligned at the last axis, each pair of dims
 * equal or one of them 1 (a bias of shape (U) adds to (B, U) or (B, T, U)).
 * The gradient reduces over broadcast axes (rc_sum_to). */
rc_node *rc_add(rc_graph *g, rc_node *a, rc_node *b);
rc_node *rc_sub(rc_graph *g, rc_node *a, rc_node *b);
rc_node *rc_mul(rc_graph *g, rc_node *a, rc_node *b);
rc_node *rc_div(rc_graph *g, rc_node *a, rc_node *b);
/* cond != 0 ? a : b, with cond, a, b broadcast together. cond is an F32
 * mask (e.g. (B, 1) per-sample step mask) and receives no gradient. */
rc_node *rc_where(rc_graph *g, rc_node *cond, rc_node *a, rc_node *b);
/* Repeat x along broadcast axes to `shape`; rc_sum_to is its adjoint
 * (sums x down to `shape`, which must broadcast to x's shape). */
rc_node *rc_broadcast_to(rc_graph *g, rc_node *x, rc_shape shape);
rc_node *rc_sum_to(rc_graph *g, rc_node *x, rc_shape shape);

/* w a + (1 - w) b = b + w (a - b), elementwise; w, a, b of one shape (the
 * GRU's h' = z h + (1 - z) hh). Its gradient keeps only w, a and b. */
rc_node *rc_lerp(rc_graph *g, rc_node *w, rc_node *a, rc_node *b);

/* --- matrix product ---------------------------------------------------- */
/* op(a) · op(b), op = transpose when the flag is set.
 * 2-D: (M, K)·(K, N) -> (M, N).
 * a of rank 3-4 with b 2-D (no trans_a): leading axes of a are flattened,
 *   (B, T, K)·(K, N) -> (B, T, N): one GEMM over B·T rows.
 * Batched: a and b both rank 3 with the same first dim: (S, M, K)·(S, K, N)
 *   -> (S, M, N). */
rc_node *rc_matmul(rc_graph *g, rc_node *a, rc_node *b, bool trans_a, bool trans_b);
/* acc + aᵀ·b, all 2-D: acc (M, N), a (K, M), b (K, N). A running sum of
 * products (weight gradients taken a chunk of steps at a time): planned in
 * place on acc when acc is not read afterwards, so the GEMM adds onto it. */
rc_node *rc_matmul_acc(rc_graph *g, rc_node *acc, rc_node *a, rc_node *b);

/* --- shape ------------------------------------------------------------- */
/* x[..., begin:end, ...] along axis; a view when contiguous. */
rc_node *rc_slice(rc_graph *g, rc_node *x, int axis, int64_t begin, int64_t end);
/* Adjoint of slice: x placed at [begin, begin + x.dim[axis]) along axis in a
 * zero tensor whose axis has size `size`. */
rc_node *rc_pad_axis(rc_graph *g, rc_node *x, int axis, int64_t begin, int64_t size);
rc_node *rc_concat(rc_graph *g, rc_node *const *xs, int n, int axis);
/* Same data, new shape with the same number of elements (always a view). */
rc_node *rc_reshape(rc_graph *g, rc_node *x, rc_shape shape);
/* seq (C, B, F) as (C·B, F) rows (a view, like rc_reshape), declared to be
 * steps [t0, t1) of the leaf x (B, T, F) in time-major order:
 * seq[k, b] = x[b, t0 + k]. Gradient builders that need the rows late make
 * them again from x (rc_time_rows_again, recur/op.h) instead of keeping seq
 * alive. The caller vouches for the values; shapes are checked. */
rc_node *rc_time_rows(rc_graph *g, rc_node *seq, rc_node *x, int64_t t0, int64_t t1);
/* perm[k] = input axis that becomes output axis k; perm has x.ndim entries. */
rc_node *rc_transpose(rc_graph *g, rc_node *x, const int *perm);
/* Reverse the order of elements along axis (the time axis for go_backwards). */
rc_node *rc_reverse(rc_graph *g, rc_node *x, int axis);

/* --- reductions -------------------------------------------------------- */
#define RC_ALL_AXES 1000
/* Sum / mean over one axis (removed unless keepdims) or over all axes with
 * axis = RC_ALL_AXES (result is a scalar, or all-ones shape with keepdims). */
rc_node *rc_sum(rc_graph *g, rc_node *x, int axis, bool keepdims);
rc_node *rc_mean(rc_graph *g, rc_node *x, int axis, bool keepdims);

/* --- softmax ----------------------------------------------------------- */
/* Over the last axis, computed stably (max subtracted). */
rc_node *rc_softmax(rc_graph *g, rc_node *x);
rc_node *rc_log_softmax(rc_graph *g, rc_node *x);

/* --- embedding lookup -------------------------------------------------- */
/* table (V, D), ids I32 of any shape S -> (S..., D). An id outside [0, V)
 * gives a zero row (the plan also reports it: rc_plan_run returns
 * RC_ERR_ARG). Gradient w.r.t. table is rc_scatter_add. */
rc_node *rc_gather(rc_graph *g, rc_node *table, rc_node *ids);
/* Whether n is a gather; then its table and ids (either pointer may be
 * NULL). Lets a layer see that its input is an embedding lookup. */
bool rc_gather_parts(const rc_node *n, rc_node **table, rc_node **ids);
/* Zero (V, D) tensor with rows ids[j] += x[j]: the adjoint of gather. */
rc_node *rc_scatter_add(rc_graph *g, rc_node *x, rc_node *ids, int64_t vocab);

/* One-hot float rows: ids I32 of shape S -> (S..., depth), 1 at each id.
 * An id outside [0, depth) gives a zero row and fails the run (RC_ERR_ARG). */
rc_node *rc_one_hot(rc_graph *g, rc_node *ids, int64_t depth);

/* --- losses ------------------------------------------------------------ */
/* mean((pred - target)^2) over all elements: scalar. The raw op (formerly
 * rc_mse); the Keras-style loss with masks and sample weights is
 * rc_loss_mse (recur/train.h). */
rc_node *rc_mean_squared_diff(rc_graph *g, rc_node *pred, rc_node *target);
/* Per-row cross-entropy of softmax(logits) against a dense distribution:
 * -sum_c labels[..., c] * log_softmax(logits)[..., c]. Shape = logits shape
 * without its last axis. */
rc_node *rc_softmax_xent(rc_graph *g, rc_node *logits, rc_node *labels);
/* Same with int32 class ids of shape = logits shape without its last axis. */
rc_node *rc_sparse_softmax_xent(rc_graph *g, rc_node *logits, rc_node *ids);
/* Elementwise binary cross-entropy of sigmoid(logits) against targets in
 * [0, 1], computed stably: max(x, 0) - x*z + log(1 + exp(-|x|)). */
rc_node *rc_sigmoid_bce(rc_graph *g, rc_node *logits, rc_node *targets);

/* --- parameter update -------------------------------------------------- */
/* param -= lr * grad with a constant lr, run as the last step of a plan
 * (side effect): plain gradient descent, the raw op (formerly
 * rc_sgd_update). Optimizers with slots, schedules and clipping are
 * rc_optim_update (recur/optim.h). The returned node is only for passing
 * to rc_plan_new as an output. */
rc_node *rc_apply_gradient_descent(rc_graph *g, rc_node *param, rc_node *grad, float lr);

/* Copy value into the storage of a leaf (input or parameter) of the same
 * shape, as the last step of a plan (side effect): stateful RNN layers use
 * it to keep their final states. */
rc_node *rc_assign(rc_graph *g, rc_node *target, rc_node *value);

/* --- randomness ------------------------------------------------------------ */
/* Inverted-dropout mask: each element 1/(1 - rate) with probability
 * 1 - rate, else 0, drawn anew at every run of a plan from the node's own
 * xoshiro state seeded by `seed`. The reference evaluator draws from a copy
 * of the current state, so repeated reference runs see one fixed mask.
 * rate in [0, 1). */
rc_node *rc_dropout_mask(rc_graph *g, rc_shape shape, double rate, uint64_t seed);

/* --- fused cells --------------------------------------------------------------- */
/* One LSTM step's gate math in one kernel (Keras gate order, sigmoid gates,
 * tanh candidate and output): xp, hu (B, 4H) are summed into
 * z = [z_i | z_f | z_g | z_o]; c (B, H) is the previous cell state. Returns
 * S (6, B, H) = the planes [i, f, g, o, c', h'] with c' = f c + i g and
 * h' = o tanh(c'); take plane k as rc_reshape(rc_slice(g, S, 0, k, k + 1),
 * (B, H)) (a view). Differentiable (one fused gradient kernel); its
 * gradient is not differentiable again. (Formerly rc_lstm_cell_fused: an op
 * for one step, not a cell object like rc_lstm_cell_new.) */
rc_node *rc_lstm_step_fused(rc_graph *g, rc_node *xp, rc_node *hu, rc_node *c);
/* One GRU step's gate math in one kernel (Keras reset_after = true, gate
 * order [z | r | h], sigmoid gates, tanh candidate): xp = x W + b_in and
 * hu = h U + b_rec, both (B, 3H); h (B, H) is the previous state. Returns
 * S (5, B, H) = the planes [z, r, hh, hu_h, h'] with
 * hh = tanh(xp_h + r hu_h) and h' = z h + (1 - z) hh; take h' as
 * rc_reshape(rc_slice(g, S, 0, 4, 5), (B, H)) (a view). Differentiable
 * (fused gradient kernels); its gradient is not differentiable again.
 * (Formerly rc_gru_cell_fused.) */
rc_node *rc_gru_step_fused(rc_graph *g, rc_node *xp, rc_node *hu, rc_node *h);

#ifdef __cplusplus
}
#endif
#endif
