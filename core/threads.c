/* recur's worker threads: one fork-join pool for the matrix products.
 *
 * Why our own: an RNN step's products are small (an LSTM h128 b32 step is
 * ~10 µs of arithmetic), and OpenBLAS' threads park with sched_yield
 * between calls (a fifth of an LSTM h512 b32 training step went to
 * sched_yield in perf), while BLAS splits each call anew. OpenBLAS is told
 * to use one thread per call (ops/gemm.c, when the library is loaded), so
 * the two never compete for the cores.
 *
 * A job is cut into chunks that the caller and the workers claim one at a
 * time from a shared counter, so nobody waits for a thread the system has
 * not scheduled: on a busy machine the caller simply computes the chunks
 * itself (a fixed part per thread made a loaded 2-core machine run GRU h128
 * training 6x slower than on one thread). It waits only for chunks already
 * claimed. The counter word holds the job's number, its chunk count and
 * the next chunk (32 | 16 | 16 bits), and a claim succeeds only for a chunk
 * that exists: that pins the job (it cannot end, nor the next be posted,
 * before this chunk is done), so the job's fields read after the claim are
 * its own. (With the count read apart from the counter, a worker that
 * claimed past the end of a finished job could read the next job's count
 * and run a chunk with mixed arguments: seen once as a changed training
 * result on a heavily loaded machine.)
 *
 * Idle workers spin (pause, then sched_yield after SPIN_YIELD_NS) on the
 * job number, so the next product of the same RNN step starts without a
 * system call, and sleep on a condition variable after SPIN_NS.
 *
 * One job at a time: a caller that finds the pool busy (two plans run from
 * two user threads) or that is itself a worker runs every chunk itself;
 * the result is the same, nothing deadlocks. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "recur/threads.h"
#include "recur/parallel.h"

enum { MAX_THREADS = 64 };
#define SPIN_NS 500000L      /* 0.5 ms */
#define SPIN_YIELD_NS 50000L /* 50 µs */

typedef struct pool {
    pthread_mutex_t busy;   /* held by the thread that posts a job */
    pthread_mutex_t mu;     /* guards sleeping and thread start */
    pthread_cond_t wake;
    atomic_ulong seq;       /* number of the latest job; workers wait for a change */
    _Atomic uint64_t claim; /* job number << 32 | chunks << 16 | next chunk */
    atomic_int done;        /* chunks of the current job finished */
    atomic_int sleepers;
    atomic_int started;     /* workers created */
    _Atomic(rc_part_fn) fn;
    _Atomic(void *) ctx;
} pool;

enum { MAX_CHUNKS = 0xFFFF };

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

/* Claim and run chunks of job `job` until none is left (or a later job
 * has replaced it). */
static void run_chunks(uint32_t job) {
    for (;;) {
        uint64_t c = atomic_load(&P.claim);
        int n = (int)((c >> 16) & MAX_CHUNKS), idx = (int)(c & MAX_CHUNKS);
        if ((uint32_t)(c >> 32) != job || idx >= n) return;
        if (!atomic_compare_exchange_weak(&P.claim, &c, c + 1)) continue;
        atomic_load(&P.fn)(atomic_load(&P.ctx), idx, n); /* job pinned: its own fields */
        atomic_fetch_add(&P.done, 1);
    }
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    is_worker = 1;
    unsigned long seen = start_seq[id];
    for (;;) {
        unsigned long s;
        long t0 = now_ns();
        for (int spins = 0; (s = atomic_load(&P.seq)) == seen; spins++) {
            __builtin_ia32_pause();
            if ((spins & 255) != 255) continue;
            long t = now_ns() - t0;
            if (t > SPIN_NS) {
                pthread_mutex_lock(&P.mu);
                atomic_fetch_add(&P.sleepers, 1);
                while ((s = atomic_load(&P.seq)) == seen) pthread_cond_wait(&P.wake, &P.mu);
                atomic_fetch_sub(&P.sleepers, 1);
                pthread_mutex_unlock(&P.mu);
                break;
            }
            if (t > SPIN_YIELD_NS) sched_yield();
        }
        seen = s;
        run_chunks((uint32_t)s);
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

void rc_parallel(int nchunks, rc_part_fn fn, void *ctx) {
    if (nchunks <= 1 || nchunks > MAX_CHUNKS || is_worker || atomic_load(&P.started) == 0 ||
        pthread_mutex_trylock(&P.busy) != 0) {
        for (int i = 0; i < nchunks; i++) fn(ctx, i, nchunks);
        return;
    }
    uint32_t job = (uint32_t)(atomic_load(&P.seq) + 1);
    atomic_store(&P.fn, fn);
    atomic_store(&P.ctx, ctx);
    atomic_store(&P.done, 0);
    atomic_store(&P.claim, (uint64_t)job << 32 | (uint64_t)nchunks << 16); /* publishes the fields */
    atomic_store(&P.seq, job);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.mu);
    }
    run_chunks(job);
    long t0 = 0;
    for (int spins = 0; atomic_load(&P.done) < nchunks; spins++) {
        __builtin_ia32_pause();
        /* a worker holding a chunk was descheduled: let it run */
        if ((spins & 255) == 255) {
            if (!t0) t0 = now_ns();
            else if (now_ns() - t0 > SPIN_YIELD_NS) sched_yield();
        }
    }
    pthread_mutex_unlock(&P.busy);
}

typedef struct rows_job {
    int64_t n;
    rc_range_fn fn;
    void *ctx;
} rows_job;

static void rows_chunk(void *ctx, int chunk, int nchunks) {
    const rows_job *j = ctx;
    int64_t lo = j->n * chunk / nchunks, hi = j->n * (chunk + 1) / nchunks;
    if (hi > lo) j->fn(j->ctx, lo, hi);
}

void rc_parallel_rows(int64_t n, double row_cost, double min_chunk, rc_range_fn fn, void *ctx) {
    int threads = rc_threads_ready();
    double work = (double)n * row_cost;
    if (threads <= 1 || n < 2 || work < 2 * min_chunk) {
        if (n > 0) fn(ctx, 0, n);
        return;
    }
    int64_t chunks = (int64_t)(work / min_chunk);
    if (chunks > 4 * (int64_t)threads) chunks = 4 * (int64_t)threads;
    if (chunks > n) chunks = n;
    rows_job j = {n, fn, ctx};
    rc_parallel((int)chunks, rows_chunk, &j);
}
