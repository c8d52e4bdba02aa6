/* Gaussian affinity with adaptive sigma (docs/methods.md "SCDBAS and NJW").
 *
 *   p       = max(1, round(n / K^2)), clamped to n - 1
 *   sigma_i = mean Euclidean distance from x_i to its p nearest other points
 *   W_ij    = exp(-||x_i - x_j||^2 / (sigma_i sigma_j)), W_ii = 0
 *
 * sigma_i = 0 happens when the p nearest other points of x_i are duplicates of
 * it. Such a sigma is raised to the smallest positive sigma of the data set
 * (the finest scale the data shows), so duplicates get W = 1 among themselves
 * and finite, non-NaN weights to everything else. If every sigma is 0 then all
 * points coincide with their p nearest: DC_ERR_DEGENERATE.
 *
 * Dense mode stores all n^2 weights (exact). Sparse mode keeps W_ij only on the
 * symmetrised m-NN graph (edge if j is among the m nearest of i OR i among
 * those of j) in CSR; default m = max(p, 10) capped at min(n - 1, 50). Weights
 * that underflow to 0 stay stored as 0 (the spectral step ignores them). */
#ifndef DCI_GRAPH_AFFINITY_H
#define DCI_GRAPH_AFFINITY_H

#include <stdint.h>
#include "deepclust/status.h"

/* Symmetric sparse matrix, compressed sparse rows, columns ascending per row. */
typedef struct dci_csr {
    int64_t n;
    int64_t *rowptr; /* n + 1 */
    int64_t *col;    /* rowptr[n] */
    double *val;     /* rowptr[n] */
} dci_csr;

/* Frees the arrays (dci_free) and zeroes the struct; NULL-safe. */
void dci_csr_free(dci_csr *a);

/* p for n points and K clusters (n >= 2). */
int64_t dci_affinity_p(int64_t n, int64_t K);
/* Default m of the sparse graph for a given p (n >= 2). */
int64_t dci_affinity_default_m(int64_t n, int64_t p);

/* Applies the sigma floor in place (see above); DC_ERR_DEGENERATE if all 0. */
dc_status dci_affinity_floor_sigma(double *sigma, int64_t n);
/* The next neighbour count when every sigma of q neighbours is 0 (each
 * point has q duplicates): 2q, at most n - 1; and the warning that the
 * scale came from q rather than p neighbours. One process and MPI alike. */
static inline int64_t dci_affinity_wider(int64_t q, int64_t n) {
    return q > (n - 1) / 2 ? n - 1 : 2 * q;
}
void dci_affinity_warn_widened(int64_t p, int64_t q);

/* The sigmas of p neighbours computed with the graph's search: floored, or,
 * when every one is 0 (each point has p duplicates), recomputed from
 * more neighbours as dci_affinity_sigma does. */
dc_status dci_affinity_finish_sigma(const float *x, int64_t n, int64_t d, int64_t p,
                                    double *sigma);

/* Adaptive sigmas (floored), 1 <= p <= n-1. */
dc_status dci_affinity_sigma(const float *x, int64_t n, int64_t d, int64_t p, double *sigma);

/* Sampled estimate of the sigmas, for large p (p = n / K^2 grows with n, and
 * the exact means cost a p-nearest search over all n points). A uniform
 * sample of s = ceil(p_sample (n - 1) / p) + 1 rows (seeded) stands in for
 * the data: sigma_i ~ mean distance from x_i to its p' = round(p (s - 1) /
 * (n - 1)) nearest sample rows other than itself. The p' nearest of the s - 1
 * sampled others sit at the same distance quantile, p / (n - 1), as the p
 * nearest of all n - 1 others, so their mean estimates sigma_i with a relative
 * spread of order 1 / sqrt(p'); cost n s d instead of n^2 d. If s >= n the
 * exact sigmas are computed. *p_used (may be NULL) receives p' (p if exact).
 * Floored as above. */
dc_status dci_affinity_sigma_sampled(const float *x, int64_t n, int64_t d, int64_t p,
                                     int64_t p_sample, uint64_t seed, int64_t *p_used,
                                     double *sigma);

/* Dense n x n W (row-major, float64) for given sigmas: all pairs, squared
 * distances from a float64 Gram matrix of the mean-centred data. */
dc_status dci_affinity_dense_w(const float *x, int64_t n, int64_t d, const double *sigma,
                               double *w);

/* Sparse W from the m nearest other neighbours of every point (idx, dist: n x m,
 * as from dci_knn_select) and the sigmas. On success *w owns its arrays. */
dc_status dci_affinity_csr_from_knn(int64_t n, int64_t m, const int64_t *idx, const float *dist,
                                    const double *sigma, dci_csr *w);

/* Convenience compositions: sigma (p neighbours) then W. sigma_out (n, may be
 * NULL) receives the sigmas. Sparse: 1 <= m <= n-1, *w owns its arrays. */
dc_status dci_affinity_dense(const float *x, int64_t n, int64_t d, int64_t p, double *w,
                             double *sigma_out);
dc_status dci_affinity_sparse(const float *x, int64_t n, int64_t d, int64_t p, int64_t m,
                              dci_csr *w, double *sigma_out);

#endif
