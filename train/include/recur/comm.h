/* recur — communicators: what data-parallel training needs from a
 * message-passing engine (docs/distributed.md).
 *
 * A communicator joins `size` processes (ranks 0 .. size-1) running the
 * same program. The trainer (rc_trainer_set_comm, recur/train.h) uses it
 * to give every rank the same starting weights (broadcast from rank 0),
 * to refuse ranks that disagree on the model, and to sum gradients over
 * ranks (allreduce), started without waiting as buckets of gradients
 * become final during the backward pass.
 *
 * An engine implements rc_comm_ops; librecur has the single-process one
 * (rc_comm_single: size 1, every operation a no-op on the data). The MPI
 * engine is librecur's caller's (the `recur` command's frontends/mpi/,
 * recur/comm_mpi.h), so the library itself never links an MPI; another
 * engine (gloo, NCCL) would be one more rc_comm_ops.
 *
 * Collective calls must be made by every rank in the same order with the
 * same sizes (MPI's rule), and waited in the same order (the in-process
 * engine makes its sums inside wait). Errors: every call returns an rc_status and
 * fills the caller's rc_error (may be NULL). A failed collective leaves
 * the ranks out of step: the caller ends the job (rc_comm_abort), which
 * for MPI stops every rank. Nothing here prints or exits, except
 * rc_comm_abort, whose purpose it is.
 *
 * Ownership: rc_comm_free frees a communicator made by an engine's
 * constructor (the single-process one is static; freeing it does nothing).
 */
#ifndef RECUR_COMM_H
#define RECUR_COMM_H

#include "recur/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* In-flight non-blocking operations per communicator, at most. */
#define RC_COMM_MAX_REQUESTS 64

typedef struct rc_comm rc_comm;

typedef struct rc_comm_ops {
    const char *name; /* "single", "threads", "mpi" */
    /* data[0..n) := sum over ranks, in place, blocking. */
    rc_status (*allreduce_f32)(rc_comm *c, float *data, int64_t n, rc_error *err);
    rc_status (*allreduce_f64)(rc_comm *c, double *data, int64_t n, rc_error *err);
    /* The same without waiting: the data must not be touched until
     * wait(slot) returns; slot in [0, RC_COMM_MAX_REQUESTS) and free. */
    rc_status (*iallreduce_f32)(rc_comm *c, float *data, int64_t n, int slot, rc_error *err);
    rc_status (*wait)(rc_comm *c, int slot, rc_error *err);
    /* Let in-flight operations advance (engines that progress only inside
     * their calls, as Open MPI's shared memory and TCP transports). */
    rc_status (*progress)(rc_comm *c, rc_error *err);
    /* bytes[0..n) of rank `root` to every rank. */
    rc_status (*broadcast)(rc_comm *c, void *bytes, size_t n, int root, rc_error *err);
    rc_status (*barrier)(rc_comm *c, rc_error *err);
    /* End every rank of the job with exit status `code`; does not return. */
    void (*abort)(rc_comm *c, int code);
    void (*destroy)(rc_comm *c);
    /* true: the ranks share this process's memory and a request sends no
     * message, so a caller may reduce each array where it lies (one
     * request per array) instead of copying small arrays into buckets.
     * (Last: the fields before it keep their places.) */
    bool in_place;
} rc_comm_ops;

struct rc_comm {
    const rc_comm_ops *ops;
    int rank, size;
    void *impl; /* the engine's */
};

/* The one-process communicator (rank 0 of 1); static, never NULL. */
rc_comm *rc_comm_single(void);

/* In-process replicas (train/comm_threads.c): comms[0..n) are the n ranks
 * of one job whose ranks are threads of this process, each running its
 * own copy of the training (replica r uses comms[r], from its own
 * thread). Collectives meet in shared memory; every replica gets the
 * same bits. rc_comm_abort on one ends the process (every replica).
 * Each comms[r] is freed with rc_comm_free (the shared part with the
 * last). */
#define RC_COMM_MAX_THREADS 64
rc_status rc_comm_threads_new(int n, rc_comm **comms, rc_error *err);
/* A replica that fails outside a collective (its step stopped before it
 * posted) calls this so the others do not wait for it for ever: every
 * collective of the group, in progress or later, returns RC_ERR_STATE
 * ("another replica failed"). The group cannot be used again. No effect
 * on other engines' communicators. */
void rc_comm_threads_fail(rc_comm *c);
/* Whether a and b are ranks of one rc_comm_threads_new group. */
bool rc_comm_threads_same_group(const rc_comm *a, const rc_comm *b);

const char *rc_comm_name(const rc_comm *c);
int rc_comm_rank(const rc_comm *c);
int rc_comm_size(const rc_comm *c);
rc_status rc_comm_allreduce_f32(rc_comm *c, float *data, int64_t n, rc_error *err);
rc_status rc_comm_allreduce_f64(rc_comm *c, double *data, int64_t n, rc_error *err);
rc_status rc_comm_iallreduce_f32(rc_comm *c, float *data, int64_t n, int slot, rc_error *err);
rc_status rc_comm_wait(rc_comm *c, int slot, rc_error *err);
rc_status rc_comm_progress(rc_comm *c, rc_error *err);
rc_status rc_comm_broadcast(rc_comm *c, void *bytes, size_t n, int root, rc_error *err);
rc_status rc_comm_barrier(rc_comm *c, rc_error *err);
/* Ends the job (every rank) with `code`; with one process, exit(code). */
void rc_comm_abort(rc_comm *c, int code);
void rc_comm_free(rc_comm *c);

/* Whether every rank holds the same bytes[0..n): rank 0's 64-bit hash
 * (FNV-1a) is broadcast and each rank's verdict summed, so every rank
 * returns the same answer: RC_OK, or RC_ERR_ARG with "ranks disagree on
 * <what>: rank(s) ... differ from rank 0" in err. Two collectives. */
rc_status rc_comm_check_same(rc_comm *c, const void *bytes, size_t n, const char *what, rc_error *err);

/* FNV-1a over bytes, continuing from h (start with RC_FNV_OFFSET). */
#define RC_FNV_OFFSET 14695981039346656037ull
uint64_t rc_fnv1a(uint64_t h, const void *bytes, size_t n);

#ifdef __cplusplus
}
#endif
#endif
