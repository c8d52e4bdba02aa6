/* Local representation weighting (docs/methods.md "EDCWRN", EDCWRN Eq. 15): per cluster, a
 * weight per embedding dimension, larger for dimensions along which the
 * cluster's members are tighter around the centre.
 *
 *     D_jm = sum_i q_ij^alpha (z_im - r_jm)^2
 *     w_jm = 1 / sum_s (D_jm / D_js)^(1 / (beta - 1))
 *
 * (beta = 2 is Eq. 15). Rows of w sum to 1 and entries lie in [0, 1]. The
 * weights are not trained by the gradient; they are recomputed from the
 * current q, z, r (of a batch, or of the whole set at a target update). */
#ifndef DCI_CLUSTER_WEIGHTING_H
#define DCI_CLUSTER_WEIGHTING_H

#include <stdint.h>

#include "deepclust/status.h"

#define DCI_WEIGHT_ALPHA_DEFAULT 2.0
#define DCI_WEIGHT_BETA_DEFAULT 2.0

/* DC_ERR_INVALID_ARG unless alpha > 1 and beta > 1 (both finite). */
dc_status dci_weighting_check(double alpha, double beta);

/* The starting weights w_jm = 1/M (K x M). */
void dci_weighting_init(float *w, int64_t K, int64_t M);

/* Per-dimension variance of the n rows of z (n x M) into v (M doubles),
 * population form (divided by n); n <= 1 gives zeros. */
dc_status dci_weighting_dim_variance(const float *z, int64_t n, int64_t M, double *v);

/* w (K x M) from q (n x K, entries >= 0, e.g. the proposed kernel's output),
 * z (n x M) and r (K x M), over the n given rows.
 * scale: NULL for Eq. 15 on the raw embedding; otherwise M per-dimension
 * variances v_m >= 0 and the dispersions become D_jm / v_m, i.e. Eq. 15 on
 * the embedding standardised per dimension (z_m / sqrt(v_m)), a dispersion
 * relative to the spread of that dimension. A dimension with v_m = 0
 * carries no information and gets weight 0 (uniform rows if all do).
 * Zero dispersions: w_jm behaves like D_jm^(-1/(beta-1)), so as some D_jm -> 0
 * those dimensions take all the weight. A row with zeros therefore shares
 * the weight equally among its zero entries; a row that is all zero (a
 * cluster empty in these rows, or whose members all sit on the centre) is
 * uniform 1/M. Computed as (D_min / D_jm)^(1/(beta-1)), normalised, so
 * extreme ratios underflow to 0 rather than overflow.
 * DC_ERR_NUMERIC if a dispersion is NaN/Inf (bad input). */
dc_status dci_weighting_update(const float *q, const float *z, int64_t n, int64_t M,
                               const float *r, int64_t K, double alpha, double beta,
                               const double *scale, float *w);

#endif
