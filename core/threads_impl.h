/* Internal interface of recur's worker pool (core/threads.c). */
#ifndef RECUR_THREADS_IMPL_H
#define RECUR_THREADS_IMPL_H

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

#endif
