/* recur — how many threads the library's kernels use.
 *
 * Process-wide, like BLAS' own setting. recur splits each large enough
 * matrix product over its threads (core/threads.c) and, whenever it runs,
 * sets OpenBLAS to one thread per call so the two never compete for the
 * cores. Default: the number of online CPUs (at most 64). Set it before
 * making plans: rc_set_num_threads() starts the worker threads (planning
 * starts them for the default), so that rc_plan_run() never allocates.
 * Not to be called while a plan is running.
 */
#ifndef RECUR_THREADS_H
#define RECUR_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

/* n <= 0 selects the default. Values above 64 are taken as 64. If a worker
 * cannot be started, products run on the threads that could. */
void rc_set_num_threads(int n);
/* The current setting (the default if never set). */
int rc_get_num_threads(void);

#ifdef __cplusplus
}
#endif
#endif
