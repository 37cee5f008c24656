/* recur — the worker pool as kernels use it (core/threads.c): for op
 * authors, like recur/op.h. Users set the thread count with
 * recur/threads.h. */
#ifndef RECUR_PARALLEL_H
#define RECUR_PARALLEL_H

#include <stdint.h>

/* One chunk of a job: chunk in [0, nchunks). */
typedef void (*rc_part_fn)(void *ctx, int chunk, int nchunks);

/* Apply the thread setting (the default if none was made): OpenBLAS to one
 * thread per call, workers started. Returns the threads usable now. May
 * allocate (thread start): called when planning, not when running. */
int rc_threads_prepare(void);
/* Threads usable without starting any (0 if rc_threads_prepare never ran). */
int rc_threads_ready(void);
/* Run fn for chunks 0..nchunks-1, each exactly once, on the caller and the
 * workers (whoever claims it first; serially in the caller when the pool
 * is busy or has no workers), and return when all are done. Chunks must
 * be independent; a few per thread balance the load. */
void rc_parallel(int nchunks, rc_part_fn fn, void *ctx);

/* Split rows [0, n) into contiguous ranges run as chunks of rc_parallel,
 * when the whole job (n rows of row_cost units each, e.g. elements touched)
 * has at least 2 * min_chunk units; otherwise fn(ctx, 0, n) on the caller.
 * Ranges depend only on n, row_cost, min_chunk and the thread setting. */
typedef void (*rc_range_fn)(void *ctx, int64_t lo, int64_t hi);
void rc_parallel_rows(int64_t n, double row_cost, double min_chunk, rc_range_fn fn, void *ctx);

#endif
