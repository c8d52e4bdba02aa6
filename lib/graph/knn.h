/* Exact k-nearest-neighbour search (Euclidean) by tiled GEMM.
 *
 * Candidates are screened with ||q||^2 + ||r||^2 - 2 q.r from cblas_sgemm on
 * mean-centred tiles (so no n x n matrix is ever stored), with a per-query
 * bound on the float rounding of that expression; every candidate the bound
 * cannot rule out gets its squared distance recomputed exactly in double from
 * the float vectors, and only those exact values decide the result. The
 * neighbours are therefore the exact ones: ascending distance, ties broken by
 * the lower reference index. Cost: 2 * nq * nr * d flops in sgemm (OpenBLAS
 * threads) plus a serial scan of nq * nr screened values.
 *
 * Magnitude: float squares overflow from |x| ~ 1.8e19 and lose precision in
 * the subnormal range, so rows whose centred squared norms leave the range
 * of dci_float_scale are screened multiplied by a power of two (exact), and
 * the bound carries an absolute term for the subnormals that tiny rows still
 * meet beside huge ones. Every finite input gets its exact neighbours.
 *
 * Selection: each query keeps a buffer of the candidates that passed the
 * screen; when it fills up, a quickselect finds the k-th smallest upper bound
 * and tightens the screen. That costs O(1) per candidate (a heap costs
 * O(log k), which dominated the search at k = 100 and made k = 700 slow);
 * a row's scan stops as soon as the buffer is full, so the tighter screen
 * applies to the rest of the row at once. Measured on Fashion-MNIST 10k after
 * PCA to 64 dimensions, k = 100: 0.75 s -> 0.38 s.
 *
 * Cells (large reference sets): the references are split into cells of about
 * 2048 rows by a few Lloyd steps, with the radius of every cell. A query tile
 * (queries grouped by cell) visits the cells nearest first and skips a cell
 * when the triangle inequality, |q - r| >= |q - centre| - radius, proves
 * that none of its rows can beat any query's current k-th distance. The
 * result is still exact (same neighbours, same ties); what is saved depends
 * on the data: nothing on one diffuse cloud or on Fashion-MNIST, most of the
 * work when the data form separated groups (10 Gaussian blobs, 100k x 50,
 * k = 10: 12 % of the pairs visited, 25 s -> 5.7 s). The serial part (scan,
 * selection) stays serial: a two-thread split of it between the sgemm calls
 * measured no faster on this 2-core machine, so the only threads are
 * OpenBLAS's. */
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

/* Auto uses cells for at least this many references and 4096 queries. */
#define DCI_KNN_CELLS_MIN_REF 8192

/* The most general form. References: the rows ref_rows[0..nref) of x (any
 * order, no repeats), or all rows 0..nref-1 of x when ref_rows is NULL.
 * Queries: rows of q (q_rows[0..nq) or 0..nq-1); q == NULL means q = x, and
 * then a query never has its own row as a neighbour. Outputs are per query in
 * query order; idx holds rows of x. 1 <= k <= number of references (minus one
 * for q == NULL); k_out, p_mean as for dci_knn_select. */
typedef struct dci_knn_args {
    const float *x;
    const int64_t *ref_rows;
    int64_t nref;
    const float *q;
    const int64_t *q_rows;
    int64_t nq, d, k, k_out, p_mean;
    int64_t *idx;
    float *dist;
    double *mean_dist;
    int64_t cells; /* 0 = auto (one per ~2048 references, at most 1024), 1 = none,
                      c >= 2: c cells (at most nref and 1024). Same result; only the work
                      differs. */
} dci_knn_args;

dc_status dci_knn_search(const dci_knn_args *a);

#endif
