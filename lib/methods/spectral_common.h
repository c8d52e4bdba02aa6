/* What the spectral methods (NJW, SCDBAS) share: their common parameters and
 * the first half of their fit -- checks, the spectral embedding Y (docs/methods.md "SCDBAS and NJW",
 * 3.2), and the "embedding" output and graph statistics of the solver. */
#ifndef DCI_METHODS_SPECTRAL_COMMON_H
#define DCI_METHODS_SPECTRAL_COMMON_H

#include <stdint.h>
#include "deepclust/dataset.h"
#include "methods/method.h"

/* The parameters every spectral method has, declared once (method.h). A
 * spectral method's configuration struct starts with `spectral`, a
 * dci_spectral_cfg, and its table lists these first:
 *     DCI_SPECTRAL_PARAMS(DCI_SPECTRAL_ENTRY, m_cfg), then its own. */
#define DCI_SPECTRAL_PARAMS(X, C) \
    X(C, k, INT, 0, 1, 1e9, DCI_CLOSED, NULL,                                                       \
      "number of clusters (required: the default 0 means not set; 1 puts every point in one cluster without a graph)") \
    X(C, seed, INT, 0, 0, 9007199254740992.0, DCI_CLOSED, NULL,                                     \
      "random seed (eigensolver start vector, k-means / beetle search)")                            \
    X(C, affinity, CHOICE, 2, 0, 2, DCI_CLOSED, "auto|dense|sparse",                                \
      "Gaussian affinity on all pairs (dense) or on the symmetrised m-nearest-neighbour graph "     \
      "(sparse, the default: it follows thin or curved clusters); auto = dense up to 4000 "         \
      "points")                                                                                     \
    X(C, m, INT, 0, 0, 1e9, DCI_CLOSED, NULL,                                                       \
      "neighbours per point of the sparse graph; 0 = min(10, n - 1) (10 as scikit-learn's "         \
      "n_neighbors: a local graph keeps thin or curved clusters apart)")                            \
    X(C, eigensolver, CHOICE, 0, 0, 2, DCI_CLOSED, "auto|lapack|arpack",                            \
      "auto = ARPACK (LAPACK when n <= 64 or k > n/4, and as the fallback if ARPACK fails on a matrix that fits densely)") \
    X(C, n_init, INT, 10, 1, 10000, DCI_CLOSED, NULL,                                               \
      "k-means restarts on the embedding (NJW; SCDBAS: default number of beetles)")                 \
    X(C, pca, INT, 0, -1, 1e9, DCI_CLOSED, NULL,                                                    \
      "graph on principal components: 0 = auto (sparse affinity and d > 128: the fewest "           \
      "keeping 95 % of the variance, at most 50), -1 = off (raw features), q = q components")       \
    X(C, sigma_sample, INT, 0, -1, 1e9, DCI_CLOSED, NULL,                                           \
      "0 = auto (exact sigmas while p <= 1000 or dense, else sampled with 128), -1 = exact, "       \
      "s = each sigma estimated from a uniform sample holding about s of its p nearest")            \
    X(C, disconnected, CHOICE, 0, 0, 1, DCI_CLOSED, "regularize|error",                             \
      "an affinity graph with more connected components than k: regularize (add tau/n to "          \
      "every affinity, tau = the mean degree, which connects it; a warning) or error (fail)")

typedef struct dci_spectral_cfg {
    DCI_SPECTRAL_PARAMS(DCI_PARAM_MEMBER, ~)
} dci_spectral_cfg;

#define DCI_SPECTRAL_ENTRY(C, name, type, def, lo, hi, open, choices, help) \
    {#name, DC_PARAM_##type, def, lo, hi, open, choices, help, DCI_PARAM_FIELD(C, spectral.name)},

/* Default neighbours of the sparse graph (parameter m = 0), clamped to n - 1. */
#define DCI_SPECTRAL_DEFAULT_M 10

/* Checks the data (finite, k in [1, n], m < n) against c, computes the embedding Y
 * (n x k, unit rows), stores it as the solver's "embedding" output and the
 * stats seconds_pca, seconds_knn, seconds_affinity, seconds_eigen, p, m, p_sigma,
 * pca_dims, components (of the affinity graph), dense, tau (the
 * regularisation of a graph with more components than k; 0 = none). k = 1: Y is a column of ones and no graph
 * (nor its statistics) is made.
 * *Y is borrowed from the solver (valid until its results are cleared). */
/* The graph statistics above from a pipeline's stats (also the distributed one). */
struct dci_spectral_stats;
dc_status dci_spectral_put_stats(dc_solver *s, const struct dci_spectral_stats *st);

dc_status dci_spectral_fit_embedding(dc_solver *s, const dc_dataset *ds, const char *method,
                                     const dci_spectral_cfg *c, const float **Y, int64_t *n,
                                     int64_t *k);

#endif
