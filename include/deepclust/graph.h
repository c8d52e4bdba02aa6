/* Graph building blocks of the spectral methods (SCDBAS, NJW), usable alone:
 * exact k-nearest neighbours, the adaptive-sigma Gaussian affinity and the
 * spectral embedding.
 *
 * Data is row-major float32 (const float *x, int64_t n, int64_t d), borrowed
 * for the duration of the call only. Every output goes into a caller-allocated
 * buffer of the documented size; nothing is allocated for the caller. Data
 * with no rows or no columns: DC_ERR_SHAPE (as everywhere in the library);
 * NaN or Inf in the data: DC_ERR_NONFINITE. Any finite magnitude is fine: data near
 * FLT_MAX or near the smallest floats get the same exact neighbours as data of
 * ordinary size (the float screen works on a power-of-two rescaled copy of
 * the rows, the distances are exact in double). The calls keep no state and may run on
 * several threads at once; the ARPACK eigensolver (sparse mode) is serialised
 * internally because ARPACK has global state. Linear algebra runs on the
 * OpenBLAS threads (dc_set_threads). */
#ifndef DEEPCLUST_GRAPH_H
#define DEEPCLUST_GRAPH_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The k nearest other rows of every row of x (Euclidean, exact). A point is
 * never its own neighbour, but its duplicates are (at distance 0). Neighbours
 * are sorted by distance, ties by lower index. idx: n*k entries; dist: n*k or
 * NULL. 1 <= k <= n-1, else DC_ERR_INVALID_ARG. Cost O(n^2 d) (GEMM). */
DC_API dc_status dc_knn(const float *x, int64_t n, int64_t d, int64_t k, int64_t *idx,
                        float *dist);

/* The k nearest rows of ref (nr x d) for every row of q (nq x d); idx indexes
 * ref. idx: nq*k; dist: nq*k or NULL. 1 <= k <= nr. nq = 0 is an empty
 * query: ref and k are checked as always, then DC_OK with nothing read from
 * q and nothing written (q, idx and dist may be NULL); nq < 0:
 * DC_ERR_INVALID_ARG. */
DC_API dc_status dc_knn_query(const float *ref, int64_t nr, const float *q, int64_t nq,
                              int64_t d, int64_t k, int64_t *idx, float *dist);

/* Neighbours used for the adaptive sigma: p = max(1, round(n / k^2)), at most
 * n - 1, for n points and k clusters. Returns 0 if n < 2 or k < 1. */
DC_API int64_t dc_affinity_p(int64_t n, int64_t k);

/* sigma_i = mean distance from x_i to its p nearest other points (n entries).
 * A sigma of 0 (x_i has p duplicates) is raised to the smallest positive
 * sigma; all zero: DC_ERR_DEGENERATE. 1 <= p <= n-1. */
DC_API dc_status dc_affinity_sigma(const float *x, int64_t n, int64_t d, int64_t p,
                                   float *sigma);

/* Dense affinity W (n*n, row-major): W_ij = exp(-|x_i - x_j|^2 / (sigma_i
 * sigma_j)), W_ii = 0, sigmas as dc_affinity_sigma with p neighbours. Meant for
 * small n: it needs about 12 n^2 bytes of working memory. */
DC_API dc_status dc_affinity_dense(const float *x, int64_t n, int64_t d, int64_t p, float *W);

typedef enum dc_spectral_mode {
    DC_SPECTRAL_AUTO = 0,   /* dense up to 4000 points, sparse above */
    DC_SPECTRAL_DENSE = 1,  /* all-pairs affinity (n^2 doubles of memory) */
    DC_SPECTRAL_SPARSE = 2  /* affinity on the symmetrised m-nearest-neighbour graph */
} dc_spectral_mode;

/* Spectral embedding with k clusters: the top-k eigenvectors of
 * D^-1/2 W D^-1/2 for the affinity above (p = dc_affinity_p(n, k)), rows
 * normalised to unit length. Y: n*k floats. m: neighbours per point of the
 * sparse graph (0 = default max(p, 10) capped at min(n-1, 50); ignored in
 * dense mode). Errors: k < 2 or k > n DC_ERR_K_RANGE; m >= n or unknown mode
 * DC_ERR_INVALID_ARG; more connected components in the graph than k
 * DC_ERR_DEGENERATE (raise m or use dense mode); DC_ERR_NOT_CONVERGED if the
 * eigensolver fails. Deterministic: same input, same output. */
DC_API dc_status dc_spectral_embedding(const float *x, int64_t n, int64_t d, int64_t k, int mode,
                                       int64_t m, float *Y);

#ifdef __cplusplus
}
#endif
#endif
