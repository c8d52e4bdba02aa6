/* Neighbour-max encoder branch (docs/methods.md "EDCWRN", EDCWRN Eq. 8):
 *     v_z(i) = max_{l=1..k} enc_z(x_nbr(i,l))   (element-wise)
 * and its backward, plus the neighbour lists the branch consumes.
 *
 * Layout of the k neighbour encodings: e is (B*k) x M row-major, row i*k + l
 * holding enc_z(x_nbr(i,l)) — i.e. sample-major, the order in which a B x k
 * neighbour list (row-major, as dci_knn_self writes it) is read when the
 * neighbour inputs are gathered for one encoder forward over B*k rows.
 * Neighbour lists are int64 row-major n x k. */
#ifndef DCI_CLUSTER_NEIGHBOR_MAX_H
#define DCI_CLUSTER_NEIGHBOR_MAX_H

#include <stdint.h>

#include "deepclust/status.h"

#define DCI_NMAX_K_DEFAULT 2

/* Method-level validation of the neighbour count against n samples:
 * DC_ERR_INVALID_ARG unless 1 <= k < n (a sample is not its own neighbour). */
dc_status dci_nmax_check_k(int64_t k, int64_t n);

/* v (B x M) = element-wise max over the k encodings of each sample; arg
 * (B x M, may be NULL when no backward follows) records the winning l.
 * Ties go to the lowest l. */
void dci_nmax_forward(const float *e, int64_t B, int64_t k, int64_t M, float *v, int32_t *arg);

/* de ((B*k) x M, overwritten) = g (B x M, dL/dv) routed to the winners:
 * de[i*k + l][m] = g[i][m] if arg[i][m] == l, else 0. */
void dci_nmax_backward(const float *g, const int32_t *arg, int64_t B, int64_t k, int64_t M,
                       float *de);

/* idx (n x k) = i for every slot: each sample is its own neighbour (before
 * the first update, neighbours disabled, or a batch smaller than k + 1). */
void dci_nmax_self(int64_t n, int64_t k, int64_t *idx);

/* Batch-local lists: for each of the B rows of emb (B x M), the k nearest
 * OTHER rows by Euclidean distance (ascending; equal distances: lower index
 * first), as indices 0..B-1 into the batch (map them through the batch's
 * sample ids for global indices). If k >= B every sample is its own
 * neighbour (dci_nmax_self); otherwise this is dci_knn_self on the batch
 * (exact; the same call gives the global lists on the whole embedding set).
 * DC_ERR_INVALID_ARG if k < 1. */
dc_status dci_nmax_knn_batch(const float *emb, int64_t B, int64_t M, int64_t k, int64_t *idx);

#endif
