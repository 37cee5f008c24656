/* The MPI engine of recur's communicator (recur/comm.h), for the `recur`
 * command and the tests: not part of librecur or librecur-io, so those
 * never link an MPI. Built only when meson finds MPI; without it
 * rc_comm_mpi_available() is false and rc_comm_mpi_new fails with a
 * message (comm_mpi_none.c).
 *
 * Faults: the communicator is a duplicate of MPI_COMM_WORLD with
 * MPI_ERRORS_RETURN, so a failed MPI call comes back as RC_ERR_IO with
 * MPI's message; the caller then ends the job with rc_comm_abort
 * (MPI_Abort), which Open MPI turns into the end of every rank. A rank
 * that dies is seen by mpirun, which ends the others. */
#ifndef RECUR_COMM_MPI_H
#define RECUR_COMM_MPI_H

#include <recur.h>

/* Whether MPI is built in, and the library's version line ("Open MPI
 * v4.1.4, ..." or "not built in"). */
bool rc_comm_mpi_available(void);
const char *rc_comm_mpi_library(void);
/* Whether this process was started by an MPI launcher (mpirun / mpiexec
 * set OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK). */
bool rc_comm_mpi_launched(void);
/* MPI_Init_thread (funneled: only the calling thread talks to MPI) and a
 * communicator over every rank; NULL with the message in err. Free with
 * rc_comm_free, which finalizes MPI. */
rc_comm *rc_comm_mpi_new(int *argc, char ***argv, rc_error *err);

#endif
