/* Exact k-nearest-neighbour search (Euclidean) by tiled GEMM.
 *
 * Candidates are screened with ||q||^2 + ||r||^2 - 2 q.r from cblas_sgemm on
 * mean-centred tiles (so no n x n matrix is ever stored), with a per-query
 * bound on the float rounding of that expression; every candidate the bound
 * cannot rule out gets its squared distance recomputed exactly in double from
 * the float vectors, and only those exact values decide the result. The
 * neighbours are therefore the exact ones: ascending distance, ties broken by
 * the lower reference index. Cost: 2 * nq * nr * d flops in sgemm (OpenBLAS
 * threads) plus a serial scan of nq * nr screened values. */
#ifndef DCI_GRAPH_KNN_H
#define DCI_GRAPH_KNN_H

#include <stdint.h>
#include "deepclust/status.h"

/* The k nearest OTHER rows of x for every row (self excluded by index, so a
 * duplicate of a point is a neighbour at distance 0). 1 <= k <= n-1, else
 * DC_ERR_INVALID_ARG. idx and dist are n*k, row-major; dist may be NULL. */
dc_status dci_knn_self(const float *x, int64_t n, int64_t d, int64_t k, int64_t *idx, float *dist);

/* The k nearest rows of ref (nr x d) for every row of q (nq x d); 1 <= k <= nr.
 * idx and dist are nq*k; dist may be NULL. */
dc_status dci_knn_query(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                        int64_t k, int64_t *idx, float *dist);

/* General form behind both: selects the k nearest (k >= 1; self excluded when
 * q == NULL, meaning q = ref), stores the first k_out of them (0 <= k_out <= k;
 * idx/dist nq*k_out, either may be NULL), and if mean_dist is not NULL the mean
 * Euclidean distance to the first p_mean (1 <= p_mean <= k) of them, per query.
 * Lets the affinity take sigma over p neighbours while storing only m. */
dc_status dci_knn_select(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                         int64_t k, int64_t k_out, int64_t *idx, float *dist, int64_t p_mean,
                         double *mean_dist);

#endif
