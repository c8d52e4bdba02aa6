/* Local representation weighting (EDCWRN Eq. 15): hand example, against a
 * direct double-precision evaluation, standardised dispersions. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "cluster/weighting.h"
#include "core/rng.h"
#include "deepclust/status.h"
#include "test_random.h"

static void direct_weights(const float *q, const float *z, int64_t n, int64_t M, const float *r,
                           int64_t K, double alpha, double beta, double *w) {
    double D[64];
    for (int64_t j = 0; j < K; j++) {
        for (int64_t m = 0; m < M; m++) {
            D[m] = 0;
            for (int64_t i = 0; i < n; i++) {
                double d = z[i * M + m] - r[j * M + m];
                D[m] += pow(q[i * K + j], alpha) * d * d;
            }
        }
        for (int64_t m = 0; m < M; m++) {
            double s = 0;
            for (int64_t t = 0; t < M; t++) s += pow(D[m] / D[t], 1.0 / (beta - 1));
            w[j * M + m] = 1.0 / s;
        }
    }
}

static void test_weighting(void) {
    /* Eq. 15 by hand (alpha = beta = 2), r0 = (0,0), r1 = (1,1),
     * z0 = (1,2), z1 = (2,0); q(.,0) = (1, 1/2), q(.,1) = (1/2, 1):
     * D_0 = (1*1 + 1/4*4, 1*4 + 1/4*0) = (2, 4)     -> w_0 = (2/3, 1/3)
     * D_1 = (1/4*0 + 1*1, 1/4*1 + 1*1) = (1, 5/4)   -> w_1 = (5/9, 4/9). */
    const float z[4] = {1, 2, 2, 0}, r[4] = {0, 0, 1, 1}, q[4] = {1.0f, 0.5f, 0.5f, 1.0f};
    float w[4];
    CHECK_OK(dci_weighting_update(q, z, 2, 2, r, 2, 2.0, 2.0, NULL, w));
    CHECK_NEAR(w[0], 2.0 / 3, 1e-7);
    CHECK_NEAR(w[1], 1.0 / 3, 1e-7);
    CHECK_NEAR(w[2], 5.0 / 9, 1e-7);
    CHECK_NEAR(w[3], 4.0 / 9, 1e-7);

    dci_weighting_init(w, 2, 2);
    CHECK(w[0] == 0.5f && w[3] == 0.5f);

    /* Random data: beta = 2, 3, 1.5 and alpha = 2, 3 against the formula. */
    enum { N = 30, M = 5, K = 3 };
    float zz[N * M], rr[K * M], qq[N * K], ww[K * M];
    double ref[K * M];
    fill(zz, N * M, -2, 2);
    fill(rr, K * M, -1, 1);
    fill(qq, N * K, 0, 1);
    const double ab[4][2] = {{2, 2}, {2, 3}, {3, 1.5}, {1.3, 2}};
    for (int c = 0; c < 4; c++) {
        CHECK_OK(dci_weighting_update(qq, zz, N, M, rr, K, ab[c][0], ab[c][1], NULL, ww));
        direct_weights(qq, zz, N, M, rr, K, ab[c][0], ab[c][1], ref);
        double worst = 0, rowerr = 0;
        int in01 = 1;
        for (int j = 0; j < K; j++) {
            double s = 0;
            for (int m = 0; m < M; m++) {
                worst = fmax(worst, fabs(ww[j * M + m] - ref[j * M + m]));
                in01 &= ww[j * M + m] >= 0 && ww[j * M + m] <= 1;
                s += ww[j * M + m];
            }
            rowerr = fmax(rowerr, fabs(s - 1));
        }
        CHECK_MSG(worst < 1e-6, "alpha %g beta %g: max error %g", ab[c][0], ab[c][1], worst);
        CHECK(rowerr < 1e-6 && in01);
    }

    /* Degenerate rows (n = 3, M = 2, K = 3): cluster 0 has q = 0 everywhere
     * (empty); cluster 1's members (rows 0, 1) sit on its centre (collapsed);
     * cluster 2 has zero dispersion in dimension 1 only, which takes all the
     * weight (the beta = 2 limit w ∝ 1/D). */
    const float qd[9] = {0, 1, 0.5f, /**/ 0, 1, 0.5f, /**/ 0, 0, 0.5f};
    const float zd[6] = {1, 5, /**/ 1, 5, /**/ 4, 5};
    const float rd[6] = {0, 0, /**/ 1, 5, /**/ 9, 5};
    float wd[6];
    CHECK_OK(dci_weighting_update(qd, zd, 3, 2, rd, 3, 2.0, 2.0, NULL, wd));
    CHECK(wd[0] == 0.5f && wd[1] == 0.5f); /* empty */
    CHECK(wd[2] == 0.5f && wd[3] == 0.5f); /* collapsed */
    CHECK(wd[4] == 0.0f && wd[5] == 1.0f); /* zero dispersion in dim 1 only */

    /* Extreme scale: tiny and huge dispersions, large 1/(beta-1): no overflow. */
    const float zx[3] = {1e-18f, 1.0f, 1e18f}, rx[3] = {0, 0, 0}, qx[1] = {1.0f};
    float wx[3];
    CHECK_OK(dci_weighting_update(qx, zx, 1, 3, rx, 1, 2.0, 1.05, NULL, wx));
    CHECK(wx[0] == 1.0f && wx[1] == 0.0f && wx[2] == 0.0f);

    CHECK_STATUS(dci_weighting_update(q, z, 2, 2, r, 2, 1.0, 2.0, NULL, w), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_weighting_update(q, z, 2, 2, r, 2, 2.0, 1.0, NULL, w), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_weighting_update(q, z, 2, 2, r, 2, 0.5, 2.0, NULL, w), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_weighting_update(q, z, 2, 2, r, 2, 2.0, NAN, NULL, w), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_weighting_check(2.0, 2.0), DC_OK);
    const float zbad[4] = {1, NAN, 2, 0};
    CHECK_STATUS(dci_weighting_update(q, zbad, 2, 2, r, 2, 2.0, 2.0, NULL, w), DC_ERR_NUMERIC);
}

/* Standardised dispersions (scale = per-dimension variances): D_jm / v_m. */
static void test_weighting_standardized(void) {
    /* Hand case, n = 4, M = 2, K = 2, hard memberships: rows 0-1 in cluster
     * 0 (r0 = (0.5, 0.25)), rows 2-3 in cluster 1 (r1 = (10.5, 2)).
     * Dimension 0 separates the clusters; dimension 1 has the smaller raw
     * spread. Variances: v = (101/4, 5.1875/4) = (25.25, 1.296875).
     * D_0 = (0.5, 0.125): raw w_0 = (0.2, 0.8); standardised
     *   1/(D/v) = (50.5, 10.375) -> w_0 = (50.5, 10.375) / 60.875.
     * D_1 = (0.5, 2): raw w_1 = (0.8, 0.2); standardised
     *   (50.5, 0.6484375) / 51.1484375. */
    const float z[8] = {0, 0, 1, 0.5f, 10, 1, 11, 3};
    const float r[4] = {0.5f, 0.25f, 10.5f, 2};
    const float q[8] = {1, 0, 1, 0, 0, 1, 0, 1};
    double v[2];
    float w[4];
    CHECK_OK(dci_weighting_dim_variance(z, 4, 2, v));
    CHECK_NEAR(v[0], 25.25, 1e-12);
    CHECK_NEAR(v[1], 1.296875, 1e-12);
    CHECK_OK(dci_weighting_update(q, z, 4, 2, r, 2, 2.0, 2.0, NULL, w));
    CHECK_NEAR(w[0], 0.2, 1e-7);
    CHECK_NEAR(w[1], 0.8, 1e-7);
    CHECK_NEAR(w[2], 0.8, 1e-7);
    CHECK_OK(dci_weighting_update(q, z, 4, 2, r, 2, 2.0, 2.0, v, w));
    CHECK_NEAR(w[0], 50.5 / 60.875, 1e-7);
    CHECK_NEAR(w[1], 10.375 / 60.875, 1e-7);
    CHECK_NEAR(w[2], 50.5 / 51.1484375, 1e-7);
    CHECK_NEAR(w[3], 0.6484375 / 51.1484375, 1e-7);

    /* Rescaling a dimension of z and r (the encoder can do that without
     * changing what it represents) leaves the standardised weights as they
     * were; the raw weights follow the scale. */
    enum { N = 40, M = 4, K = 3 };
    float zz[N * M], rr[K * M], qq[N * K], zs[N * M], rs[K * M];
    float w1[K * M], w2[K * M], raw1[K * M], raw2[K * M];
    double v1[M], v2[M];
    const double c[M] = {0.01, 1.0, 7.0, 300.0};
    fill(zz, N * M, -2, 2);
    fill(rr, K * M, -1, 1);
    fill(qq, N * K, 0, 1);
    for (int i = 0; i < N * M; i++) zs[i] = (float)(zz[i] * c[i % M]);
    for (int i = 0; i < K * M; i++) rs[i] = (float)(rr[i] * c[i % M]);
    CHECK_OK(dci_weighting_dim_variance(zz, N, M, v1));
    CHECK_OK(dci_weighting_dim_variance(zs, N, M, v2));
    CHECK_OK(dci_weighting_update(qq, zz, N, M, rr, K, 2.0, 2.0, v1, w1));
    CHECK_OK(dci_weighting_update(qq, zs, N, M, rs, K, 2.0, 2.0, v2, w2));
    CHECK_OK(dci_weighting_update(qq, zz, N, M, rr, K, 2.0, 2.0, NULL, raw1));
    CHECK_OK(dci_weighting_update(qq, zs, N, M, rs, K, 2.0, 2.0, NULL, raw2));
    double worst = 0, moved = 0;
    for (int t = 0; t < K * M; t++) {
        worst = fmax(worst, fabs(w1[t] - w2[t]));
        moved = fmax(moved, fabs(raw1[t] - raw2[t]));
    }
    CHECK_MSG(worst < 1e-5, "standardised weights moved by %g under rescaling", worst);
    CHECK(moved > 0.5); /* the 0.01-scaled dimension takes nearly all raw weight */

    /* One cluster at the mean with full membership: D_m = n v_m, so no
     * dimension is relatively tighter and the weights are uniform. */
    float z1[N * M], r1[M], q1[N];
    double v3[M];
    fill(z1, N * M, -3, 3);
    for (int i = 0; i < N * M; i++) z1[i] = (float)(z1[i] * c[i % M]);
    for (int m = 0; m < M; m++) {
        double mu = 0;
        for (int i = 0; i < N; i++) mu += z1[i * M + m];
        r1[m] = (float)(mu / N);
    }
    for (int i = 0; i < N; i++) q1[i] = 1.0f;
    CHECK_OK(dci_weighting_dim_variance(z1, N, M, v3));
    CHECK_OK(dci_weighting_update(q1, z1, N, M, r1, 1, 2.0, 2.0, v3, w1));
    for (int m = 0; m < M; m++) CHECK_NEAR(w1[m], 0.25, 1e-5);

    /* A constant dimension carries no information: weight 0; all constant:
     * uniform. One row: every variance 0. */
    const float zc[6] = {1, 5, 2, 5, 4, 5}, rc[2] = {0, 5}, qc[3] = {1, 1, 1};
    double vc[2];
    float wc[2];
    CHECK_OK(dci_weighting_dim_variance(zc, 3, 2, vc));
    CHECK(vc[1] == 0.0 && vc[0] > 0.0);
    CHECK_OK(dci_weighting_update(qc, zc, 3, 2, rc, 1, 2.0, 2.0, vc, wc));
    CHECK(wc[0] == 1.0f && wc[1] == 0.0f);
    const double vz[2] = {0, 0};
    CHECK_OK(dci_weighting_update(qc, zc, 3, 2, rc, 1, 2.0, 2.0, vz, wc));
    CHECK(wc[0] == 0.5f && wc[1] == 0.5f);
    CHECK_OK(dci_weighting_dim_variance(zc, 1, 2, vc));
    CHECK(vc[0] == 0.0 && vc[1] == 0.0);
    CHECK_STATUS(dci_weighting_dim_variance(NULL, 3, 2, vc), DC_ERR_NULL);
}

static const dct_case cases[] = {DCT_CASE(weighting), DCT_CASE(weighting_standardized)};

int main(int argc, char **argv) {
    dci_rng_init(&rng, 12345, DCI_STREAM_TEST);
    return dct_run(cases, DCT_COUNT(cases), argc, argv);
}
