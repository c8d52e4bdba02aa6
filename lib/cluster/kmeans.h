/* k-means: greedy k-means++ seeding, Lloyd iterations, restarts (docs/methods.md "k-means").
 * Used directly as the "kmeans" method and by NJW, SCDBAS (final polish) and
 * EDCWRN (centre initialisation). Distances are computed as
 * ||x||^2 + ||c||^2 - 2 x.c with sgemm on row tiles, so memory beyond the data
 * is O(n + k*d + tile*k). */
#ifndef DCI_KMEANS_H
#define DCI_KMEANS_H

#include <stdint.h>
#include "deepclust/core.h"
#include "deepclust/status.h"

/* How Lloyd's assignment step avoids distance computations. All give the
 * same result up to floating-point ties. */
typedef enum dci_kmeans_algo {
    DCI_KMEANS_AUTO = 0,    /* Elkan for k <= 64 and d >= 256, else Hamerly */
    DCI_KMEANS_HAMERLY = 1, /* one lower bound per point */
    DCI_KMEANS_ELKAN = 2    /* one lower bound per point and centre (n*k floats) */
} dci_kmeans_algo;

typedef struct dci_kmeans_opts {
    int64_t n_init;   /* restarts, default 10 */
    int64_t max_iter; /* Lloyd iterations per restart, default 300 */
    double tol;       /* stop when the summed squared centre shift is at most
                         tol * (mean per-feature variance of x), like sklearn;
                         default 1e-4 */
    uint64_t seed;
    dc_progress_fn progress; /* optional: phase "kmeans", done = restarts finished,
                                total = n_init, value = best inertia so far */
    void *progress_user;
    dci_kmeans_algo algorithm; /* default DCI_KMEANS_AUTO */
} dci_kmeans_opts;

void dci_kmeans_opts_default(dci_kmeans_opts *o);

/* x: n x d row-major. Writes labels (n), centers (k x d), inertia (sum of
 * squared distances to the assigned centres, computed exactly in double) and
 * the Lloyd iterations of the kept restart. labels, inertia, iterations may be
 * NULL. Errors: DC_ERR_K_RANGE unless 1 <= k <= n, DC_ERR_NONFINITE,
 * DC_ERR_INVALID_ARG for bad options, DC_ERR_CANCELLED from the callback. */
dc_status dci_kmeans(const float *x, int64_t n, int64_t d, int64_t k, const dci_kmeans_opts *o,
                     int32_t *labels, float *centers, double *inertia, int64_t *iterations);

/* Nearest-centre assignment (tiled sgemm), for predict and other modules.
 * inertia (exact, double) may be NULL. */
dc_status dci_kmeans_assign(const float *x, int64_t n, int64_t d, const float *centers, int64_t k,
                            int32_t *labels, double *inertia);

/* Lloyd from the given initial centres, refined in place; tol has the same
 * relative meaning as dci_kmeans_opts.tol. labels, inertia, iterations may be
 * NULL. */
dc_status dci_kmeans_refine(const float *x, int64_t n, int64_t d, int64_t k, float *centers,
                            int64_t max_iter, double tol, int32_t *labels, double *inertia,
                            int64_t *iterations);

/* Same with the options' max_iter, tol and algorithm (n_init and seed unused). */
dc_status dci_kmeans_refine_opts(const float *x, int64_t n, int64_t d, int64_t k, float *centers,
                                 const dci_kmeans_opts *o, int32_t *labels, double *inertia,
                                 int64_t *iterations);

#endif
