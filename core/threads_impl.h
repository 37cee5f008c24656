/* Internal interface of recur's worker pool (core/threads.c). */
#ifndef RECUR_THREADS_IMPL_H
#define RECUR_THREADS_IMPL_H

/* One part of a job: part in [0, nparts). */
typedef void (*rc_part_fn)(void *ctx, int part, int nparts);

/* Apply the thread setting (the default if none was made): OpenBLAS to one
 * thread per call, workers started. Returns the threads usable now. May
 * allocate (thread start): called when planning, not when running. */
int rc_threads_prepare(void);
/* Threads usable without starting any (0 if rc_threads_prepare never ran). */
int rc_threads_ready(void);
/* Run fn for parts 0..nparts-1 (nparts <= rc_threads_ready() to run in
 * parallel; otherwise, or when the pool is busy, serially in the caller)
 * and return when all are done. */
void rc_parallel(int nparts, rc_part_fn fn, void *ctx);

#endif
