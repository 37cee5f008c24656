/* comm_mpi.h when meson found no MPI: the feature is reported absent. */
#include <stdlib.h>

#include "comm_mpi.h"

bool rc_comm_mpi_available(void) { return false; }
const char *rc_comm_mpi_library(void) { return "not built in (meson found no MPI)"; }

bool rc_comm_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

rc_comm *rc_comm_mpi_new(int *argc, char ***argv, rc_error *err) {
    rc_error_set(err, RC_ERR_STATE, "rc_comm_mpi_new",
                 "this recur was built without MPI (install libopenmpi-dev and run meson setup again)");
    return NULL;
}
