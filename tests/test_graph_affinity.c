/* The adaptive-sigma affinity (graph/affinity.c) against hand-computed
 * values, dense against sparse, and the sampled sigma estimate against the
 * exact one: the spectral methods see the data only through these weights. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "deepclust/graph.h"
#include "graph/affinity.h"
#include "graph/knn.h"
#include "graph_common.h"

/* ---- affinity ------------------------------------------------------------ */

static void test_affinity(void) {
    CHECK(dci_affinity_p(4, 2) == 1);
    CHECK(dci_affinity_p(100, 3) == 11);  /* 11.1 */
    CHECK(dci_affinity_p(150, 10) == 2);  /* 1.5 rounds up */
    CHECK(dci_affinity_p(10, 1) == 9);    /* clamped to n - 1 */
    CHECK(dci_affinity_p(10, 100) == 1);  /* at least 1 */
    CHECK(dci_affinity_p(INT64_MAX, 1) == INT64_MAX - 1); /* no llround beyond int64 */
    CHECK(dci_affinity_p(INT64_MAX - 1, 1) == INT64_MAX - 2);
    CHECK(dci_affinity_default_m(1000, 3) == 10);
    CHECK(dci_affinity_default_m(100000, 700) == 50);
    CHECK(dci_affinity_default_m(6, 1) == 5);
    CHECK(dc_affinity_p(1, 1) == 0 && dc_affinity_p(4, 2) == 1);

    /* Four points on a line: 0, 1, 3, 7. p = 1: sigma = 1, 1, 2, 4. */
    float x4[4] = {0.0f, 1.0f, 3.0f, 7.0f};
    double W[16], sg[4];
    CHECK_OK(dci_affinity_dense(x4, 4, 1, 1, W, sg));
    CHECK_NEAR(sg[0], 1.0, 1e-12);
    CHECK_NEAR(sg[1], 1.0, 1e-12);
    CHECK_NEAR(sg[2], 2.0, 1e-12);
    CHECK_NEAR(sg[3], 4.0, 1e-12);
    const double want1[16] = {0, exp(-1.0), exp(-9.0 / 2), exp(-49.0 / 4),
                              exp(-1.0), 0, exp(-4.0 / 2), exp(-36.0 / 4),
                              exp(-9.0 / 2), exp(-4.0 / 2), 0, exp(-16.0 / 8),
                              exp(-49.0 / 4), exp(-36.0 / 4), exp(-16.0 / 8), 0};
    for (int e = 0; e < 16; e++) CHECK_NEAR(W[e], want1[e], 1e-14);
    /* p = 2: sigma = (1+3)/2, (1+2)/2, (2+3)/2, (4+6)/2 = 2, 1.5, 2.5, 5. */
    CHECK_OK(dci_affinity_dense(x4, 4, 1, 2, W, sg));
    CHECK_NEAR(sg[1], 1.5, 1e-12);
    CHECK_NEAR(sg[3], 5.0, 1e-12);
    CHECK_NEAR(W[0 * 4 + 3], exp(-49.0 / 10), 1e-14);
    CHECK_NEAR(W[1 * 4 + 2], exp(-4.0 / 3.75), 1e-14);
    {
        float Wf[16], sf[4];
        CHECK_OK(dc_affinity_dense(x4, 4, 1, 2, Wf));
        CHECK_OK(dc_affinity_sigma(x4, 4, 1, 2, sf));
        CHECK_NEAR(Wf[2 * 4 + 3], exp(-16.0 / 12.5), 1e-7);
        CHECK_NEAR(sf[2], 2.5, 1e-6);
    }
    /* Sparse with m = n - 1 holds every pair, equal to the dense W. */
    dci_csr ws;
    CHECK_OK(dci_affinity_sparse(x4, 4, 1, 1, 3, &ws, NULL));
    CHECK(ws.rowptr[4] == 12);
    double Wd[16];
    csr_to_dense(&ws, Wd);
    for (int e = 0; e < 16; e++) CHECK_NEAR(Wd[e], want1[e], 1e-14);
    dci_csr_free(&ws);

    /* Random data: dense symmetric, zero diagonal, in (0, 1]; sparse with
     * m = n - 1 equals dense; sparse with small m is the symmetrised kNN graph. */
    const int64_t n = 120, d = 6;
    float *x = random_data(n, d, 5, 3.0, 2.0);
    double *Wn = malloc((size_t)(n * n) * sizeof *Wn), *Ws = malloc((size_t)(n * n) * sizeof *Ws);
    CHECK_OK(dci_affinity_dense(x, n, d, 4, Wn, NULL));
    int sym = 1, diag = 1, range = 1, agree = 1;
    for (int64_t i = 0; i < n; i++) {
        diag &= Wn[i * n + i] == 0.0;
        for (int64_t j = 0; j < n; j++) {
            sym &= Wn[i * n + j] == Wn[j * n + i];
            if (i != j) range &= Wn[i * n + j] > 0.0 && Wn[i * n + j] <= 1.0;
        }
    }
    CHECK(sym && diag && range);
    CHECK_OK(dci_affinity_sparse(x, n, d, 4, n - 1, &ws, NULL));
    csr_to_dense(&ws, Ws);
    /* The sparse path squares float distances: relative error ~1e-7 in the
     * exponent -log W. */
    for (int64_t e = 0; e < n * n; e++)
        agree &= fabs(Ws[e] - Wn[e]) <= 1e-6 * Wn[e] * (1.0 - log(Wn[e] + 1e-300)) + 1e-300;
    CHECK(agree);
    CHECK(ws.rowptr[n] == n * (n - 1));
    dci_csr_free(&ws);

    const int64_t m = 5;
    int64_t *nb = malloc((size_t)(n * m) * sizeof *nb);
    CHECK_OK(dci_knn_self(x, n, d, m, nb, NULL));
    CHECK_OK(dci_affinity_sparse(x, n, d, 4, m, &ws, NULL));
    csr_to_dense(&ws, Ws);
    int edges_ok = 1, sorted = 1;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t e = ws.rowptr[i] + 1; e < ws.rowptr[i + 1]; e++) sorted &= ws.col[e - 1] < ws.col[e];
        for (int64_t j = 0; j < n; j++) {
            int in_i = 0, in_j = 0;
            for (int64_t l = 0; l < m; l++) {
                in_i |= nb[i * m + l] == j;
                in_j |= nb[j * m + l] == i;
            }
            int stored = 0;
            for (int64_t e = ws.rowptr[i]; e < ws.rowptr[i + 1]; e++) stored |= ws.col[e] == j;
            edges_ok &= stored == (in_i || in_j);
            if (stored) edges_ok &= Ws[i * n + j] == Ws[j * n + i] &&
                                    fabs(Ws[i * n + j] - Wn[i * n + j]) <=
                                        1e-6 * Wn[i * n + j] * (1.0 - log(Wn[i * n + j]));
        }
    }
    CHECK(edges_ok && sorted);
    dci_csr_free(&ws);
    free(nb);

    /* Duplicates: sigma 0 is floored, no NaN, W = 1 between copies. */
    for (int i = 0; i < 10; i++) memcpy(x + (50 + i) * d, x + i * d, (size_t)d * sizeof *x);
    double *sig = malloc((size_t)n * sizeof *sig);
    CHECK_OK(dci_affinity_dense(x, n, d, 1, Wn, sig));
    double smin = INFINITY;
    int finite = 1;
    for (int64_t i = 0; i < n; i++) {
        if (i != 0 && i != 50) smin = fmin(smin, sig[i]);
        for (int64_t j = 0; j < n; j++) finite &= isfinite(Wn[i * n + j]);
    }
    CHECK(finite);
    CHECK(sig[0] > 0.0 && sig[0] == smin && sig[50] == smin);
    CHECK(Wn[0 * n + 50] == 1.0);
    CHECK_OK(dci_affinity_sparse(x, n, d, 1, 3, &ws, NULL));
    finite = 1;
    for (int64_t e = 0; e < ws.rowptr[n]; e++) finite &= isfinite(ws.val[e]);
    CHECK(finite);
    dci_csr_free(&ws);

    /* All identical: no scale. */
    for (int64_t i = 1; i < n; i++) memcpy(x + i * d, x, (size_t)d * sizeof *x);
    CHECK_STATUS(dci_affinity_dense(x, n, d, 3, Wn, NULL), DC_ERR_DEGENERATE);
    CHECK_STATUS(dci_affinity_sparse(x, n, d, 3, 5, &ws, NULL), DC_ERR_DEGENERATE);
    CHECK_STATUS(dci_affinity_sparse(x4, 4, 1, 1, 4, &ws, NULL), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_affinity_sigma(x4, 4, 1, 0, sig), DC_ERR_INVALID_ARG);
    free(sig);
    free(x);
    free(Wn);
    free(Ws);
}

/* The sampled sigma estimate: exact when the sample would be everything;
 * otherwise close to the exact means (the p' nearest of a 1/5 sample sit at
 * the same distance quantile), reproducible by seed. */
static void test_sigma_sampled(void) {
    const int64_t n = 5000, d = 4, p = 500;
    float *x = random_data(n, d, 41, 0.0, 1.0);
    double *se = malloc((size_t)n * sizeof *se), *ss = malloc((size_t)n * sizeof *ss);
    double *s2 = malloc((size_t)n * sizeof *s2);
    CHECK_OK(dci_affinity_sigma(x, n, d, p, se));
    int64_t used = 0;
    /* s - 1 = ceil(600 * 4999 / 500) = 5999 >= n - 1: exact. */
    CHECK_OK(dci_affinity_sigma_sampled(x, n, d, p, 600, 1, &used, ss));
    CHECK(used == p && memcmp(se, ss, (size_t)n * sizeof *se) == 0);
    /* s - 1 = ceil(100 * 4999 / 500) = 1000, p' = round(500 * 1000 / 4999) = 100. */
    CHECK_OK(dci_affinity_sigma_sampled(x, n, d, p, 100, 1, &used, ss));
    CHECK(used == 100);
    double abs_err = 0.0, bias = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double r = ss[i] / se[i] - 1.0;
        abs_err += fabs(r) / (double)n;
        bias += r / (double)n;
    }
    /* Measured 0.012 mean |relative error| for p' = 100 on such data. */
    CHECK_MSG(abs_err < 0.03 && fabs(bias) < 0.01, "sampled sigma: mean |rel err| %g, bias %g",
              abs_err, bias);
    CHECK_OK(dci_affinity_sigma_sampled(x, n, d, p, 100, 1, NULL, s2));
    CHECK(memcmp(ss, s2, (size_t)n * sizeof *ss) == 0);
    CHECK_OK(dci_affinity_sigma_sampled(x, n, d, p, 100, 2, NULL, s2));
    CHECK(memcmp(ss, s2, (size_t)n * sizeof *ss) != 0);
    CHECK_STATUS(dci_affinity_sigma_sampled(x, n, d, p, 0, 1, NULL, s2), DC_ERR_INVALID_ARG);
    free(x);
    free(se);
    free(ss);
    free(s2);
}

/* Every point with a duplicate (p = 1): each sigma of the nearest
 * neighbour is 0, though the groups are far apart. The scale comes from
 * the 2 nearest (by hand: the mean of 0 and the distance to the nearest
 * distinct point where the group is a pair, floored elsewhere); the graph
 * then separates the three groups. Only all-equal points stay degenerate. */
static void test_sigma_with_duplicates(void) {
    const float x[] = {0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 20, 20, 20, 20};
    const int64_t n = 8, d = 2;
    double sig[8];
    CHECK_OK(dci_affinity_sigma(x, n, d, 1, sig));
    const double pair = 0.5 * sqrt(200.0); /* (20,20)'s two nearest: its twin and (10,10) */
    for (int i = 0; i < n; i++) CHECK_MSG(fabs(sig[i] - pair) < 1e-6, "sigma[%d] = %g", i, sig[i]);
    dci_csr ws = {0};
    double sig2[8];
    CHECK_OK(dci_affinity_sparse(x, n, d, 1, 3, &ws, sig2));
    CHECK(memcmp(sig, sig2, sizeof sig) == 0);
    dci_csr_free(&ws);
    CHECK_OK(dci_affinity_sigma_sampled(x, n, d, 1, 1, 7, NULL, sig2));
    for (int i = 0; i < n; i++) CHECK(sig2[i] > 0.0);
}

static const dct_case cases[] = {
    DCT_CASE(affinity), DCT_CASE(sigma_sampled), DCT_CASE(sigma_with_duplicates),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
