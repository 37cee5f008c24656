/* mgu_cell — a Minimal Gated Unit (Zhou et al., 2016) written only against
 * recur's public API, as an example of a user cell (docs/cells.md).
 *
 *   f  = σ(x W_f + h U_f + b_f)              forget gate
 *   h~ = tanh(x W_h + (f ⊙ h) U_h + b_h)     candidate
 *   h' = (1 - f) ⊙ h + f ⊙ h~                output and new state
 *
 * Weights in Keras style, the two gates side by side along the columns
 * ([f | h]): kernel (I, 2U) glorot_uniform, recurrent_kernel (U, 2U)
 * orthogonal, bias (2U) zeros; 2U(I + U + 1) scalars in all.
 */
#ifndef MGU_CELL_H
#define MGU_CELL_H

#include <recur/rnn.h>

/* A cell of `units` units (one state of size units); free it with
 * rc_cell_free, or hand it to rc_rnn_new / rc_stacked_cells_new, which take
 * ownership. units < 1 is reported when the cell is first applied. NULL on
 * out of memory. */
rc_cell *mgu_cell_new(int64_t units);

#endif
