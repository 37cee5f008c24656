/* The MPI engine (comm_mpi.h): rc_comm_ops over an MPI communicator. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm_mpi.h"

typedef struct mpi_impl {
    MPI_Comm comm;
    MPI_Request req[RC_COMM_MAX_REQUESTS];
} mpi_impl;

static MPI_Comm comm_of(rc_comm *c) { return ((mpi_impl *)c->impl)->comm; }

/* An MPI return code as an rc_error (RC_ERR_IO: the transport failed). */
static rc_status check(int rc, rc_error *err, const char *where) {
    if (rc == MPI_SUCCESS) return RC_OK;
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", rc);
    return rc_error_set(err, RC_ERR_IO, where, "MPI: %s", s);
}

/* Counts above INT_MAX go in pieces (MPI counts are int). */
#define CHUNK ((int64_t)1 << 30)

static rc_status mpi_allreduce_f32(rc_comm *c, float *d, int64_t n, rc_error *err) {
    for (int64_t at = 0; at < n; at += CHUNK) {
        int k = (int)(n - at < CHUNK ? n - at : CHUNK);
        rc_status s = check(MPI_Allreduce(MPI_IN_PLACE, d + at, k, MPI_FLOAT, MPI_SUM, comm_of(c)), err, "allreduce");
        if (s != RC_OK) return s;
    }
    return RC_OK;
}

static rc_status mpi_allreduce_f64(rc_comm *c, double *d, int64_t n, rc_error *err) {
    for (int64_t at = 0; at < n; at += CHUNK) {
        int k = (int)(n - at < CHUNK ? n - at : CHUNK);
        rc_status s = check(MPI_Allreduce(MPI_IN_PLACE, d + at, k, MPI_DOUBLE, MPI_SUM, comm_of(c)), err, "allreduce");
        if (s != RC_OK) return s;
    }
    return RC_OK;
}

static rc_status mpi_iallreduce_f32(rc_comm *c, float *d, int64_t n, int slot, rc_error *err) {
    mpi_impl *m = c->impl;
    if (m->req[slot] != MPI_REQUEST_NULL)
        return rc_error_set(err, RC_ERR_STATE, "iallreduce", "request slot %d is in use", slot);
    if (n > INT32_MAX) return mpi_allreduce_f32(c, d, n, err); /* done at once */
    return check(MPI_Iallreduce(MPI_IN_PLACE, d, (int)n, MPI_FLOAT, MPI_SUM, m->comm, &m->req[slot]), err,
                 "iallreduce");
}

static rc_status mpi_wait(rc_comm *c, int slot, rc_error *err) {
    mpi_impl *m = c->impl;
    return check(MPI_Wait(&m->req[slot], MPI_STATUS_IGNORE), err, "wait");
}

static rc_status mpi_progress(rc_comm *c, rc_error *err) {
    mpi_impl *m = c->impl;
    int flag;
    /* Testing one in-flight request drives Open MPI's progress engine,
     * which advances all of them (a completed one is freed: its wait
     * then returns at once). */
    for (int i = 0; i < RC_COMM_MAX_REQUESTS; i++)
        if (m->req[i] != MPI_REQUEST_NULL) return check(MPI_Test(&m->req[i], &flag, MPI_STATUS_IGNORE), err, "test");
    return RC_OK;
}

static rc_status mpi_bcast(rc_comm *c, void *b, size_t n, int root, rc_error *err) {
    for (size_t at = 0; at < n; at += (size_t)CHUNK) {
        int k = (int)(n - at < (size_t)CHUNK ? n - at : (size_t)CHUNK);
        rc_status s = check(MPI_Bcast((char *)b + at, k, MPI_BYTE, root, comm_of(c)), err, "broadcast");
        if (s != RC_OK) return s;
    }
    return RC_OK;
}

static rc_status mpi_barrier(rc_comm *c, rc_error *err) { return check(MPI_Barrier(comm_of(c)), err, "barrier"); }

static void mpi_abort(rc_comm *c, int code) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static void mpi_destroy(rc_comm *c) {
    mpi_impl *m = c->impl;
    MPI_Comm_free(&m->comm);
    MPI_Finalize();
    free(m);
    free(c);
}

static const rc_comm_ops mpi_ops = {
    .name = "mpi", .allreduce_f32 = mpi_allreduce_f32, .allreduce_f64 = mpi_allreduce_f64,
    .iallreduce_f32 = mpi_iallreduce_f32, .wait = mpi_wait, .progress = mpi_progress, .broadcast = mpi_bcast,
    .barrier = mpi_barrier, .abort = mpi_abort, .destroy = mpi_destroy};

bool rc_comm_mpi_available(void) { return true; }

const char *rc_comm_mpi_library(void) {
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        char *nl = strpbrk(v, "\n,");
        if (nl) *nl = 0;
    }
    return v;
}

bool rc_comm_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

rc_comm *rc_comm_mpi_new(int *argc, char ***argv, rc_error *err) {
    int provided = 0, inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        rc_error_set(err, RC_ERR_IO, "rc_comm_mpi_new", "MPI_Init_thread failed");
        return NULL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    rc_comm *c = calloc(1, sizeof *c);
    mpi_impl *m = calloc(1, sizeof *m);
    if (!c || !m || MPI_Comm_dup(MPI_COMM_WORLD, &m->comm) != MPI_SUCCESS) {
        free(c);
        free(m);
        rc_error_set(err, RC_ERR_NOMEM, "rc_comm_mpi_new", "cannot make the communicator");
        return NULL;
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    for (int i = 0; i < RC_COMM_MAX_REQUESTS; i++) m->req[i] = MPI_REQUEST_NULL;
    c->ops = &mpi_ops;
    c->impl = m;
    MPI_Comm_rank(m->comm, &c->rank);
    MPI_Comm_size(m->comm, &c->size);
    return c;
}
