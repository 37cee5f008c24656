/* How the fused cell kernels (ops/lstm.c, ops/gru.c) split a step's batch
 * rows over recur's threads (internal to ops/). */
#ifndef RECUR_OPS_CELL_SPLIT_H
#define RECUR_OPS_CELL_SPLIT_H

#include "recur/parallel.h"

/* rc_parallel_rows' min_chunk for the fused cell kernels, in
 * elements of one (B, H) plane: ~3 ns an element, so 4096 are ~12 µs
 * against ~1 µs of hand-over (at 2048, LSTM h128 b32 showed no gain;
 * h512 b32, 16384 elements a plane, is split in 4). */
#define RC_CELL_MIN_CHUNK_ELEMS 4096.0

#endif
