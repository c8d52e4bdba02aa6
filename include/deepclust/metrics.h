/* External clustering metrics (agree with scikit-learn to 1e-9).
 * Labels are arbitrary int32 values (not necessarily 0..K-1, negatives
 * allowed); truth and pred each hold n labels. All functions are thread-safe
 * and allocate only temporary memory (O(n) plus, for ACC, the largest
 * connected block of the contingency table). On failure *out is unchanged.
 * Errors: DC_ERR_NULL (a NULL pointer), DC_ERR_SHAPE (n < 1, or n above
 * 3037000499, where n^2 pair counts would overflow int64),
 * DC_ERR_NOMEM. */
#ifndef DEEPCLUST_METRICS_H
#define DEEPCLUST_METRICS_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Clustering accuracy: best one-to-one map of clusters to classes (Hungarian
 * algorithm on the contingency table; works when the counts differ: samples
 * of unmatched clusters or classes count as errors), divided by n. */
DC_API dc_status dc_metrics_acc(const int32_t *truth, const int32_t *pred, int64_t n, double *out);

typedef enum dc_nmi_norm {
    DC_NMI_SQRT = 0,       /* MI / sqrt(H(T) H(P)) -- the EDCWRN paper's Eq. 17 */
    DC_NMI_ARITHMETIC = 1  /* MI / ((H(T) + H(P)) / 2) -- scikit-learn's default */
} dc_nmi_norm;

/* Normalised mutual information (natural log; the ratio is base-free).
 * Both labelings constant (e.g. n = 1): 1. Exactly one constant: 0 (as
 * scikit-learn 1.2). Unknown norm: DC_ERR_INVALID_ARG. */
DC_API dc_status dc_metrics_nmi(const int32_t *truth, const int32_t *pred, int64_t n,
                                dc_nmi_norm norm, double *out);

/* Adjusted Rand index (Hubert-Arabie), in [-0.5, 1]. Identical partitions,
 * including both constant or both all-singletons, give 1 (as scikit-learn). */
DC_API dc_status dc_metrics_ari(const int32_t *truth, const int32_t *pred, int64_t n, double *out);

/* Pair-counting F1: precision SS/(SS+SD), recall SS/(SS+DS), where SS counts
 * pairs together in both, SD together in pred only, DS in truth only;
 * F1 = 2PR/(P+R). Degenerate cases: no pair together in either labeling (all
 * singletons in both, e.g. n = 1) gives 1; pairs together on one side only
 * gives 0; SS = 0 otherwise gives 0. */
DC_API dc_status dc_metrics_f1(const int32_t *truth, const int32_t *pred, int64_t n, double *out);

/* Inter-cluster variance of an embedding (EDCWRN Table 4): mean squared
 * Euclidean distance of the cluster means to the global mean of z, averaged
 * over the distinct labels (non-empty clusters) without weighting by size.
 * z is n x m float32, row-major. Errors: DC_ERR_NULL, DC_ERR_SHAPE (n or m
 * < 1), DC_ERR_NONFINITE (NaN/Inf in z), DC_ERR_NOMEM. */
DC_API dc_status dc_metrics_inter_cluster_variance(const float *z, int64_t n, int64_t m,
                                                   const int32_t *labels, double *out);

#ifdef __cplusplus
}
#endif
#endif
