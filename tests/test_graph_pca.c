/* The PCA run before the kNN graph of high-dimensional data (graph/pca.c):
 * an exact hand case and random data against a float64 covariance, for both
 * methods, since a wrong projection silently changes the graph's neighbours. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "graph/pca.h"
#include "graph_common.h"

/* ---- PCA ----------------------------------------------------------------- */

/* Six points +-3 u1, +-2 u2, +-1 u3 around an offset, u the rows of an exact
 * rotation: the sample covariance is (18 u1 u1' + 8 u2 u2' + 2 u3 u3') / 5. */
static void test_pca_hand(void) {
    const double u[3][3] = {{0.36, 0.48, 0.8}, {0.48, 0.64, -0.6}, {-0.8, 0.6, 0.0}};
    const double a[3] = {3.0, 2.0, 1.0}, off[3] = {5.0, -1.0, 2.0};
    float x[6 * 3];
    for (int r = 0; r < 6; r++)
        for (int t = 0; t < 3; t++)
            x[r * 3 + t] = (float)(off[t] + (r % 2 ? -1.0 : 1.0) * a[r / 2] * u[r / 2][t]);
    /* Sign rule: the largest-magnitude entry positive, so u3 flips. */
    const double want[3][3] = {{0.36, 0.48, 0.8}, {0.48, 0.64, -0.6}, {0.8, -0.6, 0.0}};
    for (int method = DCI_PCA_COVARIANCE; method <= DCI_PCA_RANDOMIZED; method++) {
        dci_pca p;
        CHECK_OK(dci_pca_fit(x, 6, 3, 3, 0.0, method, 1, &p));
        CHECK(p.q == 3 && p.d == 3);
        CHECK_NEAR(p.total, 28.0 / 5.0, 1e-5);
        CHECK_NEAR(p.variance[0], 18.0 / 5.0, 1e-5);
        CHECK_NEAR(p.variance[1], 8.0 / 5.0, 1e-5);
        CHECK_NEAR(p.variance[2], 2.0 / 5.0, 1e-5);
        double err = 0.0;
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 3; t++) err = fmax(err, fabs(p.components[c * 3 + t] - want[c][t]));
        CHECK_MSG(err < 1e-5, "method %d: components off by %g", method, err);
        /* x_0 = off + 3 u1 projects to (3, 0, 0); x_3 = off - 2 u2 to (0, -2, 0). */
        float z[6 * 3];
        CHECK_OK(dci_pca_transform(&p, x, 6, z));
        CHECK_NEAR(z[0], 3.0, 1e-5);
        CHECK_NEAR(z[1], 0.0, 1e-5);
        CHECK_NEAR(z[3 * 3 + 1], -2.0, 1e-5);
        CHECK_NEAR(z[5 * 3 + 2], 1.0, 1e-5); /* -u3 = +want[2] */
        dci_pca_free(&p);
    }
    /* var_keep: 18/28 = 0.643, 26/28 = 0.929 of the variance. */
    dci_pca p;
    CHECK_OK(dci_pca_fit(x, 6, 3, 3, 0.6, DCI_PCA_AUTO, 0, &p));
    CHECK(p.q == 1);
    dci_pca_free(&p);
    CHECK_OK(dci_pca_fit(x, 6, 3, 3, 0.9, DCI_PCA_AUTO, 0, &p));
    CHECK(p.q == 2);
    dci_pca_free(&p);
    CHECK_OK(dci_pca_fit(x, 6, 3, 2, 0.95, DCI_PCA_AUTO, 0, &p)); /* capped by q_max */
    CHECK(p.q == 2);
    dci_pca_free(&p);
    /* Errors. */
    CHECK_STATUS(dci_pca_fit(x, 6, 3, 4, 0.0, 0, 0, &p), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_pca_fit(x, 6, 3, 0, 0.0, 0, 0, &p), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_pca_fit(x, 1, 3, 1, 0.0, 0, 0, &p), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_pca_fit(x, 6, 3, 1, 0.0, 9, 0, &p), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_pca_fit(NULL, 6, 3, 1, 0.0, 0, 0, &p), DC_ERR_NULL);
    x[4] = NAN;
    CHECK_STATUS(dci_pca_fit(x, 6, 3, 1, 0.0, 0, 0, &p), DC_ERR_NONFINITE);
}

/* Random data with five strong directions: both methods satisfy the
 * eigen-equation of a float64 covariance computed here, and agree. */
static void test_pca_random(void) {
    const int64_t n = 1500, d = 120, r = 5;
    float *x = random_data(n, d, 31, 0.0, 0.05);
    float *g = random_data(n, r, 32, 0.0, 1.0), *b = random_data(r, d, 33, 0.0, 1.0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            double v = 3.0;
            for (int64_t l = 0; l < r; l++) v += (double)(10 - 2 * l) * g[i * r + l] * b[l * d + t] / sqrt((double)d);
            x[i * d + t] += (float)v;
        }
    double *cov = calloc((size_t)(d * d), sizeof *cov), *mean = calloc((size_t)d, sizeof *mean);
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) mean[t] += x[i * d + t] / (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t s1 = 0; s1 < d; s1++)
            for (int64_t s2 = 0; s2 < d; s2++)
                cov[s1 * d + s2] += ((double)x[i * d + s1] - mean[s1]) * ((double)x[i * d + s2] - mean[s2]) / (double)(n - 1);
    dci_pca pc, pr;
    CHECK_OK(dci_pca_fit(x, n, d, r, 0.0, DCI_PCA_COVARIANCE, 0, &pc));
    CHECK_OK(dci_pca_fit(x, n, d, r, 0.0, DCI_PCA_RANDOMIZED, 7, &pr));
    double trace = 0.0;
    for (int64_t t = 0; t < d; t++) trace += cov[t * d + t];
    CHECK_NEAR(pc.total, trace, 1e-9 * trace);
    const dci_pca *both[2] = {&pc, &pr};
    for (int m = 0; m < 2; m++) {
        const dci_pca *p = both[m];
        double resid = 0.0, orth = 0.0;
        for (int64_t c = 0; c < r; c++) {
            const float *v = p->components + c * d;
            for (int64_t s1 = 0; s1 < d; s1++) {
                double cv = 0.0;
                for (int64_t s2 = 0; s2 < d; s2++) cv += cov[s1 * d + s2] * v[s2];
                resid = fmax(resid, fabs(cv - p->variance[c] * v[s1]));
            }
            for (int64_t c2 = 0; c2 < r; c2++) {
                double dot = 0.0;
                for (int64_t t = 0; t < d; t++) dot += (double)v[t] * p->components[c2 * d + t];
                orth = fmax(orth, fabs(dot - (c == c2)));
            }
            if (c > 0) CHECK(p->variance[c] <= p->variance[c - 1]);
        }
        CHECK_MSG(resid < 1e-4 * p->variance[0] && orth < 1e-5,
                  "method %d: |C v - l v| = %g (l1 = %g), |V V' - I| = %g", m, resid, p->variance[0], orth);
        CHECK_NEAR(p->variance[r - 1], pc.variance[r - 1], 1e-4 * pc.variance[r - 1]);
    }
    /* Transform against (x - mean) V' in float64. */
    float *z = malloc((size_t)(n * r) * sizeof *z);
    CHECK_OK(dci_pca_transform(&pc, x, n, z));
    double zerr = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < r; c++) {
            double v = 0.0;
            for (int64_t t = 0; t < d; t++) v += ((double)x[i * d + t] - mean[t]) * pc.components[c * d + t];
            zerr = fmax(zerr, fabs(v - z[i * r + c]));
        }
    CHECK_MSG(zerr < 1e-4, "projection off by %g", zerr);
    dci_pca_free(&pc);
    dci_pca_free(&pr);
    free(z);
    free(cov);
    free(mean);
    free(g);
    free(b);
    free(x);
}

static const dct_case cases[] = {
    DCT_CASE(pca_hand), DCT_CASE(pca_random),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
