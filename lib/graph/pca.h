/* Principal component analysis as a linear dimension reduction, used before
 * the nearest-neighbour graph of high-dimensional data (the kNN search costs
 * 2 n^2 d flops, so 784 -> 64 dimensions makes it ~12x cheaper).
 *
 * The components are the top eigenvectors of the covariance of the rows,
 * found one of two ways:
 *   covariance  C = sum_i (x_i - mu)(x_i - mu)^T by ssyrk on blocks of 1024
 *               rows, the blocks summed in double; LAPACKE_dsyevr for the top
 *               q eigenpairs. Cost n d^2 + O(d^2 q); memory d^2 doubles.
 *   randomized  subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4)
 *               with l = q + 10 columns and 2 power steps: a few sgemm passes
 *               over the data, O(n d l); for large d, where d^2 is too much.
 * Auto picks the covariance for d <= DCI_PCA_COVARIANCE_MAX_D.
 *
 * Components are unit rows, ordered by decreasing variance; each one's sign
 * makes its largest-magnitude entry positive (the first, on ties). The
 * projection z_i = V (x_i - mu) centres rows in float first, so data far from
 * the origin lose no precision. */
#ifndef DCI_GRAPH_PCA_H
#define DCI_GRAPH_PCA_H

#include <stdint.h>
#include "deepclust/status.h"

enum { DCI_PCA_AUTO = 0, DCI_PCA_COVARIANCE = 1, DCI_PCA_RANDOMIZED = 2 };
#define DCI_PCA_COVARIANCE_MAX_D 2048

typedef struct dci_pca {
    int64_t d, q;
    float *mean;       /* d */
    float *components; /* q x d, row-major */
    double *variance;  /* q: variance along each component (divisor n - 1) */
    double total;      /* total variance (trace of the covariance) */
} dci_pca;

/* Fits up to q_max components (1 <= q_max <= d). With 0 < var_keep < 1, only
 * the fewest leading components whose variance reaches var_keep of the total
 * are kept (at least 1, at most q_max); var_keep <= 0 or >= 1 keeps q_max.
 * n >= 2. seed: the randomized method's test matrix. On success *p owns its
 * arrays (dci_pca_free). */
dc_status dci_pca_fit(const float *x, int64_t n, int64_t d, int64_t q_max, double var_keep,
                      int method, uint64_t seed, dci_pca *p);

/* The end of a fit, from the q_max leading eigenpairs of the scatter matrix
 * (val descending; eigenvector c at v + c d) and p->mean, p->total already
 * set: keeps the components as dci_pca_fit says (var_keep), signs them and
 * allocates p->components and p->variance. Also used by the distributed PCA
 * (lib/mpi/spectral_mpi.c). */
dc_status dci_pca_select(dci_pca *p, const double *val, const double *v, int64_t n, int64_t d,
                         int64_t q_max, double var_keep);

/* z (n x p->q) = projections of the rows of x (n x p->d). */
dc_status dci_pca_transform(const dci_pca *p, const float *x, int64_t n, float *z);

void dci_pca_free(dci_pca *p);

#endif
