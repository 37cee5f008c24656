/* The in-process engine (recur/comm.h, rc_comm_threads_new): n replicas of
 * one training job, each a thread of this process with its own model
 * copy, plan and half (a 1/n share) of the global batch — KANN's way of
 * using several cores for small RNNs, where splitting every small matrix
 * product between threads costs a join per op per step.
 *
 * Collectives go through shared memory. An operation on a slot: every
 * replica posts its buffer; once all n have, replica r sums elements
 * [r len / n, (r + 1) len / n) over the replicas' buffers in rank order
 * and writes the sum into every buffer. No two replicas touch the same
 * element, so no scratch and no second phase are needed, and every
 * replica ends with the same bits (one summation order). A replica
 * leaves when all n have finished their parts (a counted barrier per
 * slot), which also frees the slot for its next use. Non-blocking
 * allreduce posts and returns: the sum is made in wait(), so the replicas
 * meet once, when the first reader of the gradients needs them (the
 * trainer's buckets), not once per bucket. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recur/comm.h"

enum { BLOCKING = RC_COMM_MAX_REQUESTS, NSLOTS }; /* the extra slot: blocking collectives */
enum { K_F32, K_F64, K_BCAST, K_BARRIER };

typedef struct coll_slot {
    int posted, done;
    unsigned gen;
    int kind, root;
    int64_t len;
    void **ptr; /* n buffers */
    bool mismatch;
} coll_slot;

typedef struct group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n, refs;
    bool broken; /* rc_comm_threads_fail: every collective fails from then on */
    coll_slot s[NSLOTS];
} group;

static rc_status broken_err(rc_error *err) {
    return rc_error_set(err, RC_ERR_STATE, "rc_comm_threads",
                        "another replica failed: the replicas' collectives are stopped");
}

static group *grp(rc_comm *c) { return c->impl; }

static rc_status post(rc_comm *c, int si, int kind, void *data, int64_t len, int root, rc_error *err) {
    group *g = grp(c);
    coll_slot *s = &g->s[si];
    pthread_mutex_lock(&g->mu);
    if (g->broken) {
        pthread_mutex_unlock(&g->mu);
        return broken_err(err);
    }
    if (s->posted == 0) s->kind = kind, s->len = len, s->root = root, s->mismatch = false;
    else if (s->kind != kind || s->len != len || s->root != root)
        s->mismatch = true; /* reported by every replica in complete() */
    s->ptr[c->rank] = data;
    if (++s->posted == g->n) pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return RC_OK;
}

/* Elements [lo, hi) of the n buffers replaced by their sum, added in rank
 * order. In blocks through a local array, so the compiler vectorises the
 * loops (the buffers may alias as far as it knows): the gradients of an
 * LSTM h512 are 4.7 MB a replica, summed every step. */
enum { SUM_BLOCK = 512 };
#define SUM_RANKS(T, NAME)                                                                        \
    static void NAME(T **p, int n, int64_t lo, int64_t hi) {                                      \
        T acc[SUM_BLOCK];                                                                         \
        for (int64_t j0 = lo; j0 < hi; j0 += SUM_BLOCK) {                                         \
            int64_t w = hi - j0 < SUM_BLOCK ? hi - j0 : SUM_BLOCK;                                \
            memcpy(acc, p[0] + j0, (size_t)w * sizeof(T));                                        \
            for (int q = 1; q < n; q++) {                                                         \
                const T *src = p[q] + j0;                                                         \
                for (int64_t j = 0; j < w; j++) acc[j] += src[j];                                 \
            }                                                                                     \
            for (int q = 0; q < n; q++) memcpy(p[q] + j0, acc, (size_t)w * sizeof(T));            \
        }                                                                                         \
    }
SUM_RANKS(float, sum_f32)
SUM_RANKS(double, sum_f64)

static rc_status complete(rc_comm *c, int si, rc_error *err) {
    group *g = grp(c);
    coll_slot *s = &g->s[si];
    int n = g->n, r = c->rank;
    pthread_mutex_lock(&g->mu);
    while (s->posted < n && !g->broken) pthread_cond_wait(&g->cv, &g->mu);
    bool bad = s->mismatch, broken = g->broken;
    pthread_mutex_unlock(&g->mu);
    if (broken) return broken_err(err);
    if (!bad) {
        int64_t lo = s->len * r / n, hi = s->len * (r + 1) / n;
        if (s->kind == K_F32)
            sum_f32((float **)s->ptr, n, lo, hi);
        else if (s->kind == K_F64)
            sum_f64((double **)s->ptr, n, lo, hi);
        else if (s->kind == K_BCAST && r != s->root && s->len) {
            memcpy(s->ptr[r], s->ptr[s->root], (size_t)s->len);
        }
    }
    /* leave together: the last one out frees the slot */
    pthread_mutex_lock(&g->mu);
    unsigned gen = s->gen;
    if (++s->done == n) {
        s->posted = s->done = 0;
        s->gen++;
        pthread_cond_broadcast(&g->cv);
    } else
        while (s->gen == gen && !g->broken) pthread_cond_wait(&g->cv, &g->mu);
    broken = s->gen == gen && g->broken;
    pthread_mutex_unlock(&g->mu);
    if (broken) return broken_err(err);
    if (bad)
        return rc_error_set(err, RC_ERR_STATE, "rc_comm_threads",
                            "replicas called a collective with different sizes or kinds (slot %d)", si);
    return RC_OK;
}

static rc_status th_f32(rc_comm *c, float *d, int64_t n, rc_error *e) {
    rc_status s = post(c, BLOCKING, K_F32, d, n, 0, e);
    return s ? s : complete(c, BLOCKING, e);
}
static rc_status th_f64(rc_comm *c, double *d, int64_t n, rc_error *e) {
    rc_status s = post(c, BLOCKING, K_F64, d, n, 0, e);
    return s ? s : complete(c, BLOCKING, e);
}
static rc_status th_if32(rc_comm *c, float *d, int64_t n, int slot, rc_error *e) {
    return post(c, slot, K_F32, d, n, 0, e);
}
static rc_status th_wait(rc_comm *c, int slot, rc_error *e) { return complete(c, slot, e); }
static rc_status th_progress(rc_comm *c, rc_error *e) { return RC_OK; }
static rc_status th_bcast(rc_comm *c, void *b, size_t n, int root, rc_error *e) {
    rc_status s = post(c, BLOCKING, K_BCAST, b, (int64_t)n, root, e);
    return s ? s : complete(c, BLOCKING, e);
}
static rc_status th_barrier(rc_comm *c, rc_error *e) {
    rc_status s = post(c, BLOCKING, K_BARRIER, NULL, 0, 0, e);
    return s ? s : complete(c, BLOCKING, e);
}
/* Every replica is a thread of this process: ending the job is ending the
 * process. _exit, not exit: the other replicas are still running, and
 * exit's handlers (the libraries' destructors) would run under them. */
static void th_abort(rc_comm *c, int code) {
    fflush(NULL);
    _exit(code);
}

static void group_free(group *g) {
    for (int i = 0; i < NSLOTS; i++) free(g->s[i].ptr);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void th_destroy(rc_comm *c) {
    group *g = grp(c);
    pthread_mutex_lock(&g->mu);
    bool last = --g->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (last) group_free(g);
    free(c);
}

static const rc_comm_ops threads_ops = {
    .name = "threads", .in_place = true, .allreduce_f32 = th_f32, .allreduce_f64 = th_f64, .iallreduce_f32 = th_if32,
    .wait = th_wait, .progress = th_progress, .broadcast = th_bcast, .barrier = th_barrier,
    .abort = th_abort, .destroy = th_destroy};

void rc_comm_threads_fail(rc_comm *c) {
    if (!c || c->ops != &threads_ops) return;
    group *g = grp(c);
    pthread_mutex_lock(&g->mu);
    g->broken = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

bool rc_comm_threads_same_group(const rc_comm *a, const rc_comm *b) {
    return a && b && a->ops == &threads_ops && b->ops == &threads_ops && a->impl == b->impl;
}

rc_status rc_comm_threads_new(int n, rc_comm **comms, rc_error *err) {
    static const char fn[] = "rc_comm_threads_new";
    if (n < 1 || n > RC_COMM_MAX_THREADS || !comms)
        return rc_error_set(err, RC_ERR_ARG, fn, "%d replicas: need 1 to %d and an array for them", n,
                            RC_COMM_MAX_THREADS);
    for (int r = 0; r < n; r++) comms[r] = NULL;
    group *g = calloc(1, sizeof *g);
    if (!g) return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->n = n;
    bool ok = true;
    for (int i = 0; i < NSLOTS && ok; i++) ok = (g->s[i].ptr = calloc((size_t)n, sizeof(void *))) != NULL;
    for (int r = 0; r < n && ok; r++) {
        rc_comm *c = calloc(1, sizeof *c);
        if (!c) {
            ok = false;
            break;
        }
        *c = (rc_comm){.ops = &threads_ops, .rank = r, .size = n, .impl = g};
        comms[r] = c;
        g->refs++;
    }
    if (!ok) {
        for (int r = 0; r < n; r++) free(comms[r]), comms[r] = NULL;
        group_free(g);
        return rc_error_set(err, RC_ERR_NOMEM, fn, "out of memory");
    }
    return RC_OK;
}
