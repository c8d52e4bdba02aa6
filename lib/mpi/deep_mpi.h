/* Data-parallel training of the deep methods (MPI builds): the nn/dist.h
 * hooks on the library's communicator. */
#ifndef DCI_MPI_DEEP_H
#define DCI_MPI_DEEP_H

#include "deepclust/status.h"
#include "nn/dist.h"

struct dc_dataset;

/* The hooks for a fit on ds, this rank's block (checks as the other
 * distributed fits: equal widths, no empty rank, finite data). The traffic
 * is counted from here (dist->stats). Collective. */
dc_status dci_deep_dist_create(dci_dist **out, const struct dc_dataset *ds, const char *method);

#endif
