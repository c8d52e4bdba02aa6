/* PCA of data spread over the ranks in row blocks: the graph of the
 * distributed spectral methods runs on principal components (as
 * graph/pca.h in one process). */
#ifndef DCI_PCA_MPI_H
#define DCI_PCA_MPI_H

#include <stdint.h>

#include "deepclust/status.h"
#include "graph/pca.h"

/* This rank's nl rows x (d features) of n in all; at most q_max components,
 * the fewest keeping var_keep of the variance (dci_pca_select). Collective:
 * every rank gets the same *p (free with dci_pca_free) or the same error. */
dc_status dci_pca_mpi(const float *x, int64_t nl, int64_t d, int64_t n, int64_t q_max,
                      double var_keep, dci_pca *p);

#endif
