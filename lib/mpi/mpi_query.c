/* dc_mpi_enabled: in every build, so that callers can ask before using
 * deepclust/mpi.h. */
#include "deepclust/core.h"

int dc_mpi_enabled(void) {
#ifdef DCI_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}
