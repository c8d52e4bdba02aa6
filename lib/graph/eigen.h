/* Top eigenpairs of a dense symmetric matrix (LAPACKE dsyevr, index range),
 * used by both the spectral embedding and PCA. */
#ifndef DCI_GRAPH_EIGEN_H
#define DCI_GRAPH_EIGEN_H

#include <stdint.h>
#include "deepclust/status.h"

/* The r largest eigenpairs of the symmetric n x n matrix a (row-major; only
 * its upper triangle is read; a is destroyed). lam gets the eigenvalues in
 * descending order; eigenvector l is stored contiguously at z + l*n (unit
 * length). `what` names the caller in error messages. Errors:
 * DC_ERR_NOT_CONVERGED, DC_ERR_INTERNAL, DC_ERR_NOMEM. */
dc_status dci_sym_top_eigen(double *a, int64_t n, int64_t r, double *lam, double *z,
                            const char *what);

#endif
