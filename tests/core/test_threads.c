/* recur's worker pool (core/threads.c): every chunk of every job runs
 * exactly once, with its own job's arguments, however the workers and the
 * caller interleave. Many short jobs of changing sizes back to back are
 * what exposes a worker that claims a chunk as one job ends and the next
 * begins (the race the claim word's chunk count closes). */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "util.h"
#include "recur/parallel.h"

typedef struct job {
    int n;
    atomic_int runs[16];
    atomic_int wrong; /* chunks that saw another job's count */
} job;

static void count(void *ctx, int chunk, int nchunks) {
    job *j = ctx;
    if (nchunks != j->n || chunk < 0 || chunk >= j->n) {
        atomic_fetch_add(&j->wrong, 1);
        return;
    }
    atomic_fetch_add(&j->runs[chunk], 1);
}

Test(threads, every_chunk_of_every_job_runs_once_with_its_own_arguments, .timeout = 120) {
    rc_set_num_threads(2);
    cr_assert_eq(rc_get_num_threads(), 2);
    for (int it = 0; it < 200000; it++) {
        job j = {.n = 2 + it % 15};
        for (int k = 0; k < 16; k++) atomic_init(&j.runs[k], 0);
        atomic_init(&j.wrong, 0);
        rc_parallel(j.n, count, &j);
        cr_assert_eq(atomic_load(&j.wrong), 0, "job %d: a chunk ran with another job's count", it);
        for (int k = 0; k < j.n; k++)
            cr_assert_eq(atomic_load(&j.runs[k]), 1, "job %d chunk %d ran %d times", it, k, atomic_load(&j.runs[k]));
    }
}

/* Row ranges cover [0, n) once, in order, for any n and cost. */
typedef struct rows {
    int64_t n;
    atomic_int hits[1000];
} rows;

static void mark(void *ctx, int64_t lo, int64_t hi) {
    rows *r = ctx;
    for (int64_t i = lo; i < hi; i++) atomic_fetch_add(&r->hits[i], 1);
}

Test(threads, row_ranges_cover_every_row_once) {
    rc_set_num_threads(2);
    static rows r;
    for (int64_t n = 1; n <= 1000; n += 37)
        for (int c = 0; c < 3; c++) {
            r.n = n;
            for (int64_t i = 0; i < n; i++) atomic_init(&r.hits[i], 0);
            rc_parallel_rows(n, (double)(c * 100), 1000.0, mark, &r);
            for (int64_t i = 0; i < n; i++) cr_assert_eq(atomic_load(&r.hits[i]), 1, "n %lld row %lld", (long long)n, (long long)i);
        }
}
