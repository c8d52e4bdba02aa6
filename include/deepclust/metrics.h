/* External clustering metrics (agree with scikit-learn to 1e-9).
 * Labels are arbitrary int32 values (not necessarily 0..K-1). All functions
 * are thread-safe and allocate only temporary memory. */
#ifndef DEEPCLUST_METRICS_H
#define DEEPCLUST_METRICS_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Clustering accuracy: best one-to-one map of clusters to classes (Hungarian
 * algorithm on the contingency table; works when the counts differ). */
DC_API dc_status dc_metrics_acc(const int32_t *truth, const int32_t *pred, int64_t n, double *out);

typedef enum dc_nmi_norm {
    DC_NMI_SQRT = 0,       /* MI / sqrt(H(T) H(P)) -- the EDCWRN paper's Eq. 17 */
    DC_NMI_ARITHMETIC = 1  /* MI / ((H(T) + H(P)) / 2) -- scikit-learn's default */
} dc_nmi_norm;

/* Normalised mutual information. Both labelings constant: 1. */
DC_API dc_status dc_metrics_nmi(const int32_t *truth, const int32_t *pred, int64_t n,
                                dc_nmi_norm norm, double *out);

/* Adjusted Rand index (Hubert-Arabie). */
DC_API dc_status dc_metrics_ari(const int32_t *truth, const int32_t *pred, int64_t n, double *out);

/* Pair-counting F1: precision SS/(SS+SD), recall SS/(SS+DS), where SS counts
 * pairs together in both, SD together in pred only, DS in truth only. */
DC_API dc_status dc_metrics_f1(const int32_t *truth, const int32_t *pred, int64_t n, double *out);

/* Inter-cluster variance of an embedding (EDCWRN Table 4): mean squared
 * distance of the cluster means (of non-empty clusters) to the global mean. */
DC_API dc_status dc_metrics_inter_cluster_variance(const float *z, int64_t n, int64_t m,
                                                   const int32_t *labels, double *out);

#ifdef __cplusplus
}
#endif
#endif
