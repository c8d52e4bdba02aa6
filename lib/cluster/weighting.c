#include "cluster/weighting.h"

#include <math.h>

#include "cluster/scratch.h"
#include "core/error.h"

dc_status dci_weighting_check(double alpha, double beta) {
    if (!(alpha > 1.0) || !isfinite(alpha))
        return dci_fail(DC_ERR_INVALID_ARG,
                        "representation weighting: alpha = %g must be > 1 (fuzzifier)", alpha);
    if (!(beta > 1.0) || !isfinite(beta))
        return dci_fail(DC_ERR_INVALID_ARG, "representation weighting: beta = %g must be > 1",
                        beta);
    return DC_OK;
}

void dci_weighting_init(float *w, int64_t K, int64_t M) {
    for (int64_t t = 0; t < K * M; t++) w[t] = (float)(1.0 / (double)M);
}

dc_status dci_weighting_dim_variance(const float *z, int64_t n, int64_t M, double *v) {
    DCI_CHECK_NULL(z);
    DCI_CHECK_NULL(v);
    for (int64_t m = 0; m < M; m++) v[m] = 0.0;
    if (n <= 1) return DC_OK;
    /* Two passes (mean, then squared deviations): the embedding can sit far
     * from the origin relative to its spread. */
    dci_scratch sc;
    double *mu = dci_scratch_get(&sc, M, "dimension means");
    if (!mu) return DC_ERR_NOMEM;
    for (int64_t m = 0; m < M; m++) mu[m] = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t m = 0; m < M; m++) mu[m] += z[i * M + m];
    for (int64_t m = 0; m < M; m++) mu[m] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t m = 0; m < M; m++) {
            double d = (double)z[i * M + m] - mu[m];
            v[m] += d * d;
        }
    for (int64_t m = 0; m < M; m++) v[m] /= (double)n;
    dci_scratch_release(&sc);
    return DC_OK;
}

/* One row of w from its dispersions d[0..M-1] (each >= 0, finite, or +Inf
 * for a dimension excluded from the weighting). */
static void weights_from_dispersions(const double *d, int64_t M, double expo, float *w) {
    int64_t zeros = 0;
    double dmin = INFINITY;
    for (int64_t m = 0; m < M; m++) {
        if (d[m] == 0.0) zeros++;
        if (d[m] < dmin) dmin = d[m];
    }
    if (zeros > 0 || dmin == INFINITY) {
        const double share = 1.0 / (double)(zeros > 0 ? zeros : M);
        for (int64_t m = 0; m < M; m++) w[m] = zeros == 0 || d[m] == 0.0 ? (float)share : 0.0f;
        return;
    }
    /* Ratios dmin/d are in [0, 1] and the smallest dispersion contributes 1,
     * so the sum is >= 1 whatever the scale of D. */
    double sum = 0.0;
    for (int64_t m = 0; m < M; m++) {
        double ratio = dmin / d[m];
        sum += expo == 1.0 ? ratio : pow(ratio, expo);
    }
    for (int64_t m = 0; m < M; m++) {
        double ratio = dmin / d[m];
        w[m] = (float)((expo == 1.0 ? ratio : pow(ratio, expo)) / sum);
    }
}

dc_status dci_weighting_update(const float *q, const float *z, int64_t n, int64_t M,
                               const float *r, int64_t K, double alpha, double beta,
                               const double *scale, float *w) {
    DCI_CHECK_NULL(q);
    DCI_CHECK_NULL(z);
    DCI_CHECK_NULL(r);
    DCI_CHECK_NULL(w);
    DCI_TRY(dci_weighting_check(alpha, beta));
    if (n < 0 || M < 1)
        return dci_fail(DC_ERR_SHAPE, "representation weighting: %lld x %lld embeddings",
                        (long long)n, (long long)M);
    if (K < 1)
        return dci_fail(DC_ERR_K_RANGE, "representation weighting: K = %lld", (long long)K);

    dci_scratch sc;
    double *D = dci_scratch_get(&sc, K * M, "representation weighting scratch");
    if (!D) return DC_ERR_NOMEM;
    for (int64_t t = 0; t < K * M; t++) D[t] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *zi = z + i * M;
        for (int64_t j = 0; j < K; j++) {
            const double qij = q[i * K + j];
            const double qa = alpha == 2.0 ? qij * qij : pow(qij, alpha);
            if (qa == 0.0) continue;
            const float *rj = r + j * M;
            double *Dj = D + j * M;
            for (int64_t m = 0; m < M; m++) {
                double d = (double)zi[m] - (double)rj[m];
                Dj[m] += qa * d * d;
            }
        }
    }
    dc_status st = DC_OK;
    for (int64_t t = 0; t < K * M; t++) {
        if (!isfinite(D[t])) {
            st = dci_fail(DC_ERR_NUMERIC,
                          "representation weighting: dispersion of cluster %lld, dimension %lld "
                          "is not finite (NaN/Inf in q, z or r)",
                          (long long)(t / M), (long long)(t % M));
            break;
        }
    }
    if (st == DC_OK && scale)
        for (int64_t t = 0; t < K * M; t++) {
            const double v = scale[t % M];
            D[t] = v > 0.0 ? D[t] / v : INFINITY;
        }
    if (st == DC_OK)
        for (int64_t j = 0; j < K; j++)
            weights_from_dispersions(D + j * M, M, 1.0 / (beta - 1.0), w + j * M);
    dci_scratch_release(&sc);
    return st;
}
