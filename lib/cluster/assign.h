/* Clustering layer: soft assignment kernels, target distribution, clustering
 * losses and their gradients (docs/methods.md "EDCWRN"; EDCWRN Eqs. 4, 5, 11, 13).
 *
 * Shapes (row-major float32): z is B x M (embeddings), r is K x M (centres),
 * w is K x M (per-cluster representation weights, docs/methods.md "EDCWRN") or NULL for
 * w_jm = 1 (plain squared Euclidean distance), q and p are B x K.
 *
 * Both kernels share one form. With the weighted squared distance
 *     s_ij = sum_m w_jm (z_im - r_jm)^2
 * the raw kernel is
 *     k_ij = 1 / (1 + a s_ij^b)
 * and the soft assignment is q = k (EDCWRN Eq. 11: a = 1.93, b = 0.79, no
 * normalisation over j) or q_ij = k_ij / sum_j' k_ij' (DEC/IDEC Student-t
 * with one degree of freedom, Eq. 4: a = b = 1, normalised).
 *
 * The weights w are not trained: gradients treat them as constants.
 * All reductions are done in double; inputs and outputs are float. */
#ifndef DCI_CLUSTER_ASSIGN_H
#define DCI_CLUSTER_ASSIGN_H

#include <stdint.h>

#include "deepclust/status.h"

#define DCI_KERNEL_A_DEFAULT 1.93
#define DCI_KERNEL_B_DEFAULT 0.79

/* For b < 1 the derivative of s^b is unbounded at s = 0. The gradient uses
 * max(s, DCI_ASSIGN_S_FLOOR) in that factor only (the loss value is exact).
 * For b > 1/2 (the default 0.79) the true gradient tends to 0 at a centre
 * and the floor changes nothing measurable; for b <= 1/2 the loss has a cusp
 * at the centre and the floor caps the gradient at a finite value. */
#define DCI_ASSIGN_S_FLOOR 1e-12

typedef struct dci_kernel {
    double a, b;   /* k_ij = 1 / (1 + a s_ij^b); both must be > 0 and finite */
    int normalise; /* nonzero: q_ij = k_ij / sum_j' k_ij' */
} dci_kernel;

/* EDCWRN Eq. 11 (unnormalised). */
static inline dci_kernel dci_kernel_proposed(double a, double b) {
    dci_kernel k = {a, b, 0};
    return k;
}

/* DEC/IDEC Eq. 4: Student-t, one degree of freedom, normalised over j. */
static inline dci_kernel dci_kernel_student(void) {
    dci_kernel k = {1.0, 1.0, 1};
    return k;
}

/* Clustering losses, all averaged over the B rows of the batch ("batchmean":
 * (1/B) sum_i sum_j, as Keras' kld loss and PyTorch's reduction='batchmean';
 * NOT PyTorch's default 'mean', which also divides by K). qhat is the kernel
 * normalised over j, qhat_ij = k_ij / sum_j' k_ij' (equal to q for Student-t). */
typedef enum dci_closs {
    DCI_CLOSS_CE = 0,        /* -(1/B) sum p log qhat: EDCWRN default (what the authors'
                                code trains, docs/methods.md "EDCWRN") */
    DCI_CLOSS_CE_UNNORM = 1, /* -(1/B) sum p log q, q the kernel output (Eq. 13 literally) */
    DCI_CLOSS_KL = 2         /* KL(P||Qhat) = (1/B) sum p log(p / qhat): IDEC/DEC (Eq. 3);
                                0 log 0 = 0 */
} dci_closs;

/* DC_ERR_INVALID_ARG unless a > 0, b > 0 and both finite. */
dc_status dci_kernel_check(dci_kernel kern);

/* A batch against the clustering layer: B embeddings z (B x M), K centres r
 * (K x M), their weights w (K x M, or NULL: all 1), under a kernel. */
typedef struct dci_assign_batch {
    dci_kernel kern;
    const float *z;
    int64_t B, M;
    const float *r, *w;
    int64_t K;
} dci_assign_batch;

/* q (B x K) of the batch. */
dc_status dci_assign_q(const dci_assign_batch *b, float *q);

/* Target distribution (Eq. 5) over all n rows of q (n x K, entries >= 0):
 *     p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'),  f_j = sum_i q_ij.
 * Pass the q of the whole data set (docs/methods.md "EDCWRN": computed every T iterations). A
 * cluster with f_j = 0 contributes 0; a row whose q is all zero gets the
 * uniform row 1/K. Rows of p sum to 1. p may not alias q. */
dc_status dci_assign_target(const float *q, int64_t n, int64_t K, float *p);

/* labels_i = argmax_j q_ij (Eq. 14; ties: lowest j). */
void dci_assign_labels(const float *q, int64_t n, int64_t K, int32_t *labels);

/* How many of the K clusters the labels (in [0, K)) use; -1 when out of
 * memory. */
int64_t dci_count_labels(const int32_t *labels, int64_t n, int64_t K);

/* Clustering loss of a batch against a fixed target p (B x K).
 * Returns the loss in *value (may be NULL) and ADDS the gradients:
 *     dz (B x M) += scale * dL/dz,   dr (K x M) += scale * dL/dr
 * (either may be NULL to skip). Accumulating both lets the caller pass the
 * decoder's gradient buffer for dz and scale = lambda (L = L_r + lambda L_c)
 * directly; zero the buffers first for the bare gradient.
 * DC_ERR_NUMERIC if the loss is not finite (NaN/Inf in z, r, w or p). */
dc_status dci_assign_loss(const dci_assign_batch *b, dci_closs loss, const float *p, double scale,
                          float *dz, float *dr, double *value);

#endif
