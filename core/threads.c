/* recur's worker threads: one fork-join pool for the matrix products.
 *
 * Why our own: an RNN step's products are small (an LSTM h128 b32 step is
 * ~10 µs of arithmetic), and OpenBLAS' threads park with sched_yield
 * between calls (a fifth of an LSTM h512 b32 training step went to
 * sched_yield in perf), while BLAS splits each call anew. Here the caller
 * runs part 0 itself; each worker spins briefly on a sequence number
 * after its part, so the next product of the same step starts without a
 * system call, and sleeps on a condition variable when nothing came for
 * SPIN_NS. When recur runs more than one thread, OpenBLAS is told to use
 * one thread per call, so both libraries never compete for the cores.
 *
 * Safety: one job at a time. A caller that finds the pool busy (two plans
 * run from two user threads) or that is itself a worker runs every part
 * serially, so the result is the same and nothing deadlocks. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "recur/threads.h"
#include "threads_impl.h"

enum { MAX_THREADS = 64 };
#define SPIN_NS 500000L /* 0.5 ms */

typedef struct pool {
    pthread_mutex_t busy;   /* held by the thread that posts a job */
    pthread_mutex_t mu;     /* guards sleeping and thread start */
    pthread_cond_t wake;
    atomic_ulong seq;       /* job sequence number; workers wait for a change */
    atomic_int pending;     /* workers still running the current job */
    atomic_int sleepers;
    atomic_int started;     /* workers created */
    rc_part_fn fn;
    void *ctx;
    int nparts;
} pool;

static pool P = {.busy = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER,
                 .wake = PTHREAD_COND_INITIALIZER};
static atomic_int nthreads; /* 0 = not chosen yet: the default applies */
static _Thread_local int is_worker;

static int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int rc_get_num_threads(void) {
    int n = atomic_load(&nthreads);
    return n > 0 ? n : default_threads();
}

static int ensure_workers(int want);

void rc_set_num_threads(int n) {
    if (n <= 0) n = default_threads();
    if (n > MAX_THREADS) n = MAX_THREADS;
    /* Each part calls BLAS single-threaded; see the top of the file. */
    openblas_set_num_threads(1);
    pthread_mutex_lock(&P.busy);
    ensure_workers(n);
    atomic_store(&nthreads, n);
    pthread_mutex_unlock(&P.busy);
}

int rc_threads_prepare(void) {
    if (atomic_load(&nthreads) == 0) rc_set_num_threads(0);
    return rc_threads_ready();
}

int rc_threads_ready(void) {
    int n = atomic_load(&nthreads), have = atomic_load(&P.started) + 1;
    return n == 0 ? 0 : n < have ? n : have;
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* The job sequence number when each worker was made: a worker must not read
 * it itself, or a job posted before the new thread first runs would be
 * taken as already seen (and the poster would wait for it forever). */
static unsigned long start_seq[MAX_THREADS];

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg; /* part index, 1.. */
    is_worker = 1;
    unsigned long seen = start_seq[id];
    for (;;) {
        unsigned long s;
        long t0 = now_ns();
        for (int spins = 0; (s = atomic_load(&P.seq)) == seen; spins++) {
            __builtin_ia32_pause();
            if ((spins & 1023) == 1023 && now_ns() - t0 > SPIN_NS) {
                pthread_mutex_lock(&P.mu);
                atomic_fetch_add(&P.sleepers, 1);
                while ((s = atomic_load(&P.seq)) == seen) pthread_cond_wait(&P.wake, &P.mu);
                atomic_fetch_sub(&P.sleepers, 1);
                pthread_mutex_unlock(&P.mu);
                break;
            }
        }
        seen = s;
        if (id < P.nparts) P.fn(P.ctx, id, P.nparts);
        atomic_fetch_sub(&P.pending, 1);
    }
    return NULL;
}

/* Start workers up to want - 1 (never stops any). Called holding P.busy. */
static int ensure_workers(int want) {
    if (atomic_load(&P.started) >= want - 1) return atomic_load(&P.started) + 1;
    pthread_mutex_lock(&P.mu);
    while (atomic_load(&P.started) < want - 1) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        start_seq[atomic_load(&P.started) + 1] = atomic_load(&P.seq); /* stable: we hold P.busy */
        int rc = pthread_create(&t, &at, worker, (void *)(intptr_t)(atomic_load(&P.started) + 1));
        pthread_attr_destroy(&at);
        if (rc != 0) break; /* run with what we have */
        atomic_fetch_add(&P.started, 1);
    }
    pthread_mutex_unlock(&P.mu);
    return atomic_load(&P.started) + 1;
}

void rc_parallel(int nparts, rc_part_fn fn, void *ctx) {
    if (nparts <= 1 || is_worker || pthread_mutex_trylock(&P.busy) != 0) {
        for (int i = 0; i < nparts; i++) fn(ctx, i, nparts);
        return;
    }
    int workers = atomic_load(&P.started);
    if (nparts > workers + 1) {
        /* more parts than threads: not what callers ask for, but correct */
        pthread_mutex_unlock(&P.busy);
        for (int i = 0; i < nparts; i++) fn(ctx, i, nparts);
        return;
    }
    P.fn = fn;
    P.ctx = ctx;
    P.nparts = nparts;
    atomic_store(&P.pending, workers);
    atomic_fetch_add(&P.seq, 1);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.mu);
    }
    fn(ctx, 0, nparts);
    while (atomic_load(&P.pending) > 0) __builtin_ia32_pause();
    pthread_mutex_unlock(&P.busy);
}
