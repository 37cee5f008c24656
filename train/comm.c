/* Communicators (recur/comm.h): the calls through the engine's table, the
 * single-process engine and the agreement check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/comm.h"

/* --- the single-process engine: the sum over one rank is the data -------------- */

static rc_status single_f32(rc_comm *c, float *d, int64_t n, rc_error *e) { return RC_OK; }
static rc_status single_f64(rc_comm *c, double *d, int64_t n, rc_error *e) { return RC_OK; }
static rc_status single_if32(rc_comm *c, float *d, int64_t n, int slot, rc_error *e) { return RC_OK; }
static rc_status single_wait(rc_comm *c, int slot, rc_error *e) { return RC_OK; }
static rc_status single_progress(rc_comm *c, rc_error *e) { return RC_OK; }
static rc_status single_bcast(rc_comm *c, void *b, size_t n, int root, rc_error *e) { return RC_OK; }
static rc_status single_barrier(rc_comm *c, rc_error *e) { return RC_OK; }
static void single_abort(rc_comm *c, int code) { exit(code); }
static void single_destroy(rc_comm *c) {}

static const rc_comm_ops single_ops = {
    .name = "single", .allreduce_f32 = single_f32, .allreduce_f64 = single_f64, .iallreduce_f32 = single_if32,
    .wait = single_wait, .progress = single_progress, .broadcast = single_bcast, .barrier = single_barrier,
    .abort = single_abort, .destroy = single_destroy};

static rc_comm single_comm = {.ops = &single_ops, .rank = 0, .size = 1};

rc_comm *rc_comm_single(void) { return &single_comm; }

/* --- calls ------------------------------------------------------------------------ */

#define NEED(c, where)                                                                        \
    do {                                                                                      \
        if (!(c) || !(c)->ops) return rc_error_set(err, RC_ERR_ARG, where, "communicator is NULL"); \
    } while (0)

const char *rc_comm_name(const rc_comm *c) { return c && c->ops ? c->ops->name : "none"; }
int rc_comm_rank(const rc_comm *c) { return c ? c->rank : 0; }
int rc_comm_size(const rc_comm *c) { return c ? c->size : 1; }

rc_status rc_comm_allreduce_f32(rc_comm *c, float *data, int64_t n, rc_error *err) {
    NEED(c, "rc_comm_allreduce_f32");
    if (n < 0 || (n && !data)) return rc_error_set(err, RC_ERR_ARG, "rc_comm_allreduce_f32", "bad buffer");
    return c->ops->allreduce_f32(c, data, n, err);
}

rc_status rc_comm_allreduce_f64(rc_comm *c, double *data, int64_t n, rc_error *err) {
    NEED(c, "rc_comm_allreduce_f64");
    if (n < 0 || (n && !data)) return rc_error_set(err, RC_ERR_ARG, "rc_comm_allreduce_f64", "bad buffer");
    return c->ops->allreduce_f64(c, data, n, err);
}

rc_status rc_comm_iallreduce_f32(rc_comm *c, float *data, int64_t n, int slot, rc_error *err) {
    NEED(c, "rc_comm_iallreduce_f32");
    if (n < 0 || (n && !data) || slot < 0 || slot >= RC_COMM_MAX_REQUESTS)
        return rc_error_set(err, RC_ERR_ARG, "rc_comm_iallreduce_f32", "bad buffer or slot %d", slot);
    return c->ops->iallreduce_f32(c, data, n, slot, err);
}

rc_status rc_comm_wait(rc_comm *c, int slot, rc_error *err) {
    NEED(c, "rc_comm_wait");
    if (slot < 0 || slot >= RC_COMM_MAX_REQUESTS)
        return rc_error_set(err, RC_ERR_ARG, "rc_comm_wait", "bad slot %d", slot);
    return c->ops->wait(c, slot, err);
}

rc_status rc_comm_progress(rc_comm *c, rc_error *err) {
    NEED(c, "rc_comm_progress");
    return c->ops->progress(c, err);
}

rc_status rc_comm_broadcast(rc_comm *c, void *bytes, size_t n, int root, rc_error *err) {
    NEED(c, "rc_comm_broadcast");
    if ((n && !bytes) || root < 0 || root >= c->size)
        return rc_error_set(err, RC_ERR_ARG, "rc_comm_broadcast", "bad buffer or root %d", root);
    return c->ops->broadcast(c, bytes, n, root, err);
}

rc_status rc_comm_barrier(rc_comm *c, rc_error *err) {
    NEED(c, "rc_comm_barrier");
    return c->ops->barrier(c, err);
}

void rc_comm_abort(rc_comm *c, int code) {
    if (c && c->ops) c->ops->abort(c, code);
    exit(code);
}

void rc_comm_free(rc_comm *c) {
    if (c && c->ops && c != &single_comm) c->ops->destroy(c);
}

uint64_t rc_fnv1a(uint64_t h, const void *bytes, size_t n) {
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

rc_status rc_comm_check_same(rc_comm *c, const void *bytes, size_t n, const char *what, rc_error *err) {
    NEED(c, "rc_comm_check_same");
    if (c->size == 1) return RC_OK;
    uint64_t mine = rc_fnv1a(RC_FNV_OFFSET, bytes, n), root = mine;
    rc_status s = rc_comm_broadcast(c, &root, sizeof root, 0, err);
    if (s != RC_OK) return s;
    /* one slot per rank (up to 1024 named; the count covers the rest) */
    enum { NAMED = 1024 };
    int m = c->size < NAMED ? c->size : NAMED;
    double *votes = rc_calloc((size_t)m + 1, sizeof *votes);
    if (!votes) return rc_error_set(err, RC_ERR_NOMEM, "rc_comm_check_same", "out of memory");
    if (mine != root) {
        votes[m] = 1;
        if (c->rank < m) votes[c->rank] = 1;
    }
    s = rc_comm_allreduce_f64(c, votes, m + 1, err);
    if (s == RC_OK && votes[m] > 0) {
        char list[200] = "";
        size_t at = 0;
        for (int r = 0; r < m && at + 16 < sizeof list; r++)
            if (votes[r] > 0) at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", at ? ", " : "", r);
        s = rc_error_set(err, RC_ERR_ARG, "rc_comm_check_same", "ranks disagree on %s: %d rank(s) (%s) differ from rank 0",
                         what ? what : "their data", (int)votes[m], list);
    }
    rc_free(votes);
    return s;
}
