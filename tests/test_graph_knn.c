/* Exact kNN (graph/knn.c) against a float64 brute force: ties, duplicates,
 * cells, subsets and magnitudes where float distances overflow or underflow,
 * since every graph method builds on these neighbours being exact. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "deepclust/graph.h"
#include "graph/knn.h"
#include "graph_common.h"

/* ---- reference ----------------------------------------------------------- */

static double d2_ref(const float *a, const float *b, int64_t d) {
    double s = 0.0;
    for (int64_t t = 0; t < d; t++) s += ((double)a[t] - b[t]) * ((double)a[t] - b[t]);
    return s;
}

/* Brute force: k nearest by (exact d2, index), by insertion into a sorted list. */
static void knn_ref(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d, int self,
                    int64_t k, int64_t *idx, double *d2) {
    for (int64_t i = 0; i < nq; i++) {
        int64_t *bi = idx + i * k;
        double *bd = d2 + i * k;
        int64_t size = 0;
        for (int64_t j = 0; j < nr; j++) {
            if (self && j == i) continue;
            double v = d2_ref(q + i * d, ref + j * d, d);
            if (size == k && !(v < bd[k - 1])) continue; /* j larger: ties keep earlier */
            int64_t pos = size < k ? size++ : k - 1;
            while (pos > 0 && bd[pos - 1] > v) {
                bd[pos] = bd[pos - 1];
                bi[pos] = bi[pos - 1];
                pos--;
            }
            bd[pos] = v;
            bi[pos] = j;
        }
    }
}

/* kNN of x against the reference, with the given cells setting of
 * dci_knn_search; returns the number of mismatches. */
static int knn_compare_cells(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                             int64_t k, int64_t cells) {
    int self = q == NULL;
    int64_t *idx = malloc((size_t)(nq * k) * sizeof *idx), *ridx = malloc((size_t)(nq * k) * sizeof *ridx);
    float *dist = malloc((size_t)(nq * k) * sizeof *dist);
    double *rd2 = malloc((size_t)(nq * k) * sizeof *rd2);
    knn_ref(ref, nr, self ? ref : q, nq, d, self, k, ridx, rd2);
    /* nq < nr with q == NULL: the first nq rows of ref against all of ref. */
    dc_status st;
    if (cells) {
        dci_knn_args a = {ref, NULL, nr, q, NULL, nq, d, k, k, 0, idx, dist, NULL, cells};
        st = dci_knn_search(&a);
    } else {
        st = nq == nr && self ? dci_knn_self(ref, nr, d, k, idx, dist)
                              : dci_knn_select(ref, nr, q, nq, d, k, k, idx, dist, 0, NULL);
    }
    CHECK_OK(st);
    int bad = 0;
    for (int64_t e = 0; e < nq * k; e++) {
        if (idx[e] != ridx[e] || fabs(dist[e] - sqrt(rd2[e])) > 1e-6 * (1.0 + sqrt(rd2[e]))) {
            if (bad < 3)
                fprintf(stderr, "  knn row %lld col %lld: got %lld (%.9g), want %lld (%.9g)\n",
                        (long long)(e / k), (long long)(e % k), (long long)idx[e], dist[e],
                        (long long)ridx[e], sqrt(rd2[e]));
            bad++;
        }
    }
    free(idx);
    free(ridx);
    free(dist);
    free(rd2);
    return bad;
}

static int knn_compare(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                       int64_t k) {
    return knn_compare_cells(ref, nr, q, nq, d, k, 0);
}

/* ---- kNN ----------------------------------------------------------------- */

static void test_knn(void) {
    /* Small random set with duplicates (rows 10..14 copy rows 0..4). */
    float *x = random_data(60, 7, 1, 0.0, 1.0);
    for (int i = 0; i < 5; i++) memcpy(x + (10 + i) * 7, x + i * 7, 7 * sizeof *x);
    memcpy(x + 20 * 7, x + 0, 7 * sizeof *x); /* a triple */
    CHECK(knn_compare(x, 60, NULL, 60, 7, 5) == 0);
    CHECK(knn_compare(x, 60, NULL, 60, 7, 59) == 0);
    {
        /* The duplicate is the nearest neighbour at exactly 0. */
        int64_t idx[60 * 2];
        float dist[60 * 2];
        CHECK_OK(dci_knn_self(x, 60, 7, 2, idx, dist));
        CHECK(idx[0] == 10 && idx[1] == 20 && dist[0] == 0.0f && dist[1] == 0.0f);
        CHECK(idx[20 * 2] == 0 && idx[20 * 2 + 1] == 10);
    }
    free(x);

    /* Integer lattice: many exact ties, broken by lower index. */
    float lat[100 * 2];
    for (int i = 0; i < 100; i++) { lat[2 * i] = (float)(i % 10); lat[2 * i + 1] = (float)(i / 10); }
    CHECK(knn_compare(lat, 100, NULL, 100, 2, 4) == 0);
    CHECK(knn_compare(lat, 100, NULL, 100, 2, 13) == 0);
    {
        int64_t idx[100 * 4];
        CHECK_OK(dci_knn_self(lat, 100, 2, 4, idx, NULL));
        /* point 55 = (5,5): neighbours at distance 1 are 45, 54, 56, 65 */
        CHECK(idx[55 * 4] == 45 && idx[55 * 4 + 1] == 54 && idx[55 * 4 + 2] == 56 && idx[55 * 4 + 3] == 65);
    }

    /* Larger than one tile on both sides (512 queries x 4096 references),
     * far from the origin (GEMM cancellation), with near-duplicates. */
    x = random_data(5000, 5, 2, 1000.0, 1.0);
    for (int i = 0; i < 50; i++)
        for (int t = 0; t < 5; t++) x[(4500 + i) * 5 + t] = x[(7 * i) * 5 + t] + (t == 0 ? 1e-4f : 0.0f);
    CHECK(knn_compare(x, 5000, NULL, 5000, 5, 6) == 0);
    /* Query form: queries include exact copies of references (distance 0). */
    float *q = random_data(700, 5, 3, 1000.0, 1.0);
    for (int i = 0; i < 20; i++) memcpy(q + i * 5, x + (100 * i) * 5, 5 * sizeof *q);
    CHECK(knn_compare(x, 5000, q, 700, 5, 3) == 0);
    free(q);
    free(x);

    /* A thin spherical shell around point 0: its neighbours differ in distance
     * by ~1e-7 relative, below the float rounding of |q|^2 + |r|^2 - 2 q.r,
     * so only the exact recheck orders them right. */
    {
        const int64_t ns = 3000, ds = 16;
        float *s = random_data(ns, ds, 11, 0.0, 1.0);
        dci_rng r;
        dci_rng_init(&r, 12, DCI_STREAM_TEST);
        for (int64_t i = 1; i < ns; i++) {
            double nrm = 0.0;
            for (int64_t t = 0; t < ds; t++) nrm += (double)s[i * ds + t] * s[i * ds + t];
            double radius = 100.0 * (1.0 + 1e-6 * dci_rng_uniform(&r));
            for (int64_t t = 0; t < ds; t++) s[i * ds + t] = (float)(s[i * ds + t] * radius / sqrt(nrm));
        }
        for (int64_t t = 0; t < ds; t++) s[t] = 0.0f;
        CHECK(knn_compare(s, ns, NULL, 1, ds, 40) == 0); /* row 0 only (nq = 1) */
        CHECK(knn_compare(s, ns, s, 1, ds, 40) == 0);
        free(s);
    }

    /* High dimension (GEMM does most of the work). */
    x = random_data(700, 300, 4, 0.5, 0.3);
    CHECK(knn_compare(x, 700, NULL, 700, 300, 10) == 0);

    /* Argument errors. */
    int64_t idx[700];
    float bad[6] = {0, 1, 2, NAN, 4, 5};
    CHECK_STATUS(dci_knn_self(x, 700, 300, 700, idx, NULL), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_knn_self(x, 700, 300, 0, idx, NULL), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_knn_query(x, 700, x, 1, 300, 701, idx, NULL), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_knn_self(bad, 3, 2, 1, idx, NULL), DC_ERR_NONFINITE);
    CHECK_STATUS(dci_knn_self(NULL, 3, 2, 1, idx, NULL), DC_ERR_NULL);
    CHECK_STATUS(dci_knn_self(x, 1, 300, 1, idx, NULL), DC_ERR_INVALID_ARG);
    /* k = n - 1 on two points; public API wrappers. */
    float two[2] = {0.0f, 3.0f};
    float dd[2];
    CHECK_OK(dc_knn(two, 2, 1, 1, idx, dd));
    CHECK(idx[0] == 1 && idx[1] == 0 && dd[0] == 3.0f && dd[1] == 3.0f);
    float q1[1] = {2.0f};
    CHECK_OK(dc_knn_query(two, 2, q1, 1, 1, 2, idx, dd));
    CHECK(idx[0] == 1 && idx[1] == 0 && dd[0] == 1.0f && dd[1] == 2.0f);
    /* An empty query writes nothing (the buffers may be NULL) but checks the
     * reference side as any call; a negative count is an error. */
    idx[0] = -7;
    dd[0] = -7.0f;
    CHECK_OK(dc_knn_query(two, 2, q1, 0, 1, 2, idx, dd));
    CHECK(idx[0] == -7 && dd[0] == -7.0f);
    CHECK_OK(dc_knn_query(two, 2, NULL, 0, 1, 1, NULL, NULL));
    CHECK_STATUS(dc_knn_query(two, 2, NULL, 0, 1, 3, NULL, NULL), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_knn_query(NULL, 2, NULL, 0, 1, 1, NULL, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_knn_query(bad, 3, NULL, 0, 2, 1, NULL, NULL), DC_ERR_NONFINITE);
    CHECK_STATUS(dc_knn_query(two, 2, q1, -1, 1, 1, idx, dd), DC_ERR_INVALID_ARG);
    free(x);
}


/* Finite data far from the usual scale. Float squares overflow from |x| ~
 * 1.8e19 (the screen once returned row 0 at distance 0 for every query
 * there) and underflow below ~1e-19: every magnitude must give the brute
 * force's neighbours, through the plain search, the cells and the query
 * form; a power-of-two scaling gives the unscaled result scaled exactly. */
static void test_knn_magnitude(void) {
    const int64_t n = 300, d = 5, k = 7, nq = 40;
    float *base = random_data(n, d, 31, 0.0, 1.0), *qbase = random_data(nq, d, 32, 0.5, 1.5);
    for (int i = 0; i < 10; i++) memcpy(base + (n - 1 - i) * d, base + 3 * i * d, d * sizeof *base);
    int64_t *idx0 = malloc((size_t)(n * k) * sizeof *idx0), *idx = malloc((size_t)(n * k) * sizeof *idx);
    float *dist0 = malloc((size_t)(n * k) * sizeof *dist0), *dist = malloc((size_t)(n * k) * sizeof *dist);
    float *x = malloc((size_t)(n * d) * sizeof *x), *q = malloc((size_t)(nq * d) * sizeof *q);
    float sigma0[300], sigma[300];
    CHECK_OK(dc_knn(base, n, d, k, idx0, dist0));
    CHECK_OK(dc_affinity_sigma(base, n, d, 9, sigma0));
    static const double scales[] = {1e18, 2e19, 1e30, 1e37, 0x1p60, 0x1p100, 0x1p120,
                                    1e-20, 1e-30, 0x1p-70, 0x1p-100};
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        const double c = scales[s];
        for (int64_t i = 0; i < n * d; i++) x[i] = (float)(base[i] * c);
        for (int64_t i = 0; i < nq * d; i++) q[i] = (float)(qbase[i] * c);
        CHECK_MSG(knn_compare(x, n, NULL, n, d, k) == 0, "scale %g", c);
        CHECK_MSG(knn_compare_cells(x, n, NULL, n, d, k, 6) == 0, "scale %g, cells", c);
        CHECK_MSG(knn_compare(x, n, q, nq, d, k) == 0, "scale %g, queries", c);
        CHECK_OK(dc_knn(x, n, d, k, idx, dist));
        int exp2;
        if (frexp(c, &exp2) != 0.5) continue; /* not a power of two */
        int same = 1;
        for (int64_t e = 0; e < n * k; e++)
            same &= idx[e] == idx0[e] && dist[e] == (float)(dist0[e] * c);
        CHECK_MSG(same, "scale 2^%d: not the unscaled neighbours scaled", exp2 - 1);
        CHECK_OK(dc_affinity_sigma(x, n, d, 9, sigma));
        same = 1;
        for (int64_t i = 0; i < n; i++) same &= sigma[i] == (float)(sigma0[i] * c);
        CHECK_MSG(same, "scale 2^%d: sigmas not scaled", exp2 - 1);
    }
    /* Small values beside a few huge ones (+-1e30 as missing-value markers,
     * in pairs, so the mean stays small): the screen's frame is set by the
     * huge rows, and the small ones meet subnormals there. */
    for (double small = 1e-3; small > 1e-12; small *= 1e-1) {
        for (int64_t i = 0; i < n * d; i++) x[i] = (float)(base[i] * small);
        for (int64_t i = 0; i < 4; i++) x[(i * 71 % n) * d + i / 2] = i & 1 ? -1e30f : 1e30f;
        CHECK_MSG(knn_compare(x, n, NULL, n, d, k) == 0, "values %g beside 1e30", small);
        CHECK_MSG(knn_compare_cells(x, n, NULL, n, d, k, 6) == 0, "values %g beside 1e30, cells",
                  small);
    }
    free(base);
    free(qbase);
    free(idx0);
    free(idx);
    free(dist0);
    free(dist);
    free(x);
    free(q);
}

/* Cells (triangle-inequality skipping), reference subsets and query subsets
 * give the same exact neighbours as the brute force. */
static void test_knn_search(void) {
    /* Eight well-separated groups: most cells are skipped for most tiles. */
    const int64_t groups = 8, per = 500, d = 6, n = groups * per;
    float *x = random_data(n, d, 21, 0.0, 1.0);
    for (int64_t i = 0; i < n; i++) x[i * d + (i / per) % d] += 40.0f * (float)(1 + i / per);
    for (int i = 0; i < 30; i++) memcpy(x + (n - 1 - i) * d, x + (7 * i) * d, (size_t)d * sizeof *x);
    CHECK(knn_compare_cells(x, n, NULL, n, d, 5, 1) == 0);
    CHECK(knn_compare_cells(x, n, NULL, n, d, 5, 40) == 0);
    CHECK(knn_compare_cells(x, n, NULL, n, d, 60, 40) == 0);
    CHECK(knn_compare_cells(x, n, NULL, n, d, 600, 20) == 0); /* beyond one group */
    /* Query form with cells: queries near and between the groups. */
    float *q = random_data(300, d, 22, 0.0, 30.0);
    CHECK(knn_compare_cells(x, n, q, 300, d, 7, 12) == 0);
    free(q);
    /* One diffuse cloud: nothing to skip, the visiting order still must not matter. */
    float *c = random_data(1500, 4, 23, 0.0, 1.0);
    CHECK(knn_compare_cells(c, 1500, NULL, 1500, 4, 9, 8) == 0);
    /* Integer lattice with cells: exact ties across cells. */
    float lat[400 * 2];
    for (int i = 0; i < 400; i++) { lat[2 * i] = (float)(i % 20); lat[2 * i + 1] = (float)(i / 20); }
    CHECK(knn_compare_cells(lat, 400, NULL, 400, 2, 12, 10) == 0);

    /* Mean distance over the first p_mean against the brute force, and the
     * same neighbours with and without cells. */
    {
        const int64_t k = 40, p = 25, ko = 5;
        int64_t *ridx = malloc((size_t)(n * k) * sizeof *ridx), *idx = malloc((size_t)(n * ko) * sizeof *idx);
        double *rd2 = malloc((size_t)(n * k) * sizeof *rd2), *mean = malloc((size_t)n * sizeof *mean);
        float *dist = malloc((size_t)(n * ko) * sizeof *dist);
        knn_ref(x, n, x, n, d, 1, k, ridx, rd2);
        for (int64_t cells = 1; cells <= 20; cells += 19) {
            dci_knn_args a = {x, NULL, n, NULL, NULL, n, d, k, ko, p, idx, dist, mean, cells};
            CHECK_OK(dci_knn_search(&a));
            int bad = 0;
            double worst = 0.0;
            for (int64_t i = 0; i < n; i++) {
                double sum = 0.0;
                for (int64_t l = 0; l < p; l++) sum += sqrt(rd2[i * k + l]);
                worst = fmax(worst, fabs(mean[i] - sum / (double)p) / (sum / (double)p + 1e-300));
                for (int64_t l = 0; l < ko; l++) bad += idx[i * ko + l] != ridx[i * k + l];
            }
            CHECK_MSG(bad == 0 && worst < 1e-12, "cells %lld: %d index mismatches, mean rel err %g",
                      (long long)cells, bad, worst);
        }
        free(ridx);
        free(idx);
        free(rd2);
        free(mean);
        free(dist);
    }

    /* A subset of the rows as references, all rows as queries (self search):
     * a query that is in the subset never finds itself. */
    {
        const int64_t ns = n / 3, k = 6;
        int64_t *rows = malloc((size_t)ns * sizeof *rows), *idx = malloc((size_t)(n * k) * sizeof *idx);
        float *sub = malloc((size_t)(ns * d) * sizeof *sub);
        for (int64_t e = 0; e < ns; e++) {
            rows[e] = 3 * e + (e % 3);
            memcpy(sub + e * d, x + rows[e] * d, (size_t)d * sizeof *sub);
        }
        for (int64_t cells = 1; cells <= 9; cells += 8) {
            dci_knn_args a = {x, rows, ns, NULL, NULL, n, d, k, k, 0, idx, NULL, NULL, cells};
            CHECK_OK(dci_knn_search(&a));
            int bad = 0;
            for (int64_t i = 0; i < n; i++) {
                /* Brute force over the subset without row i, ties by row. */
                int64_t best[6];
                double bd[6];
                int64_t size = 0;
                for (int64_t e = 0; e < ns; e++) {
                    if (rows[e] == i) continue;
                    double v = d2_ref(x + i * d, sub + e * d, d);
                    if (size == k && !(v < bd[k - 1])) continue;
                    int64_t pos = size < k ? size++ : k - 1;
                    while (pos > 0 && bd[pos - 1] > v) {
                        bd[pos] = bd[pos - 1];
                        best[pos] = best[pos - 1];
                        pos--;
                    }
                    bd[pos] = v;
                    best[pos] = rows[e];
                }
                for (int64_t l = 0; l < k; l++) bad += idx[i * k + l] != best[l];
            }
            CHECK_MSG(bad == 0, "reference subset, cells %lld: %d mismatches", (long long)cells, bad);
        }
        /* Query subset (q_rows) of another matrix. */
        int64_t qrows[3] = {5, 1, 5};
        int64_t qi[3 * 2], want[2];
        dci_knn_args aq = {x, NULL, n, sub, qrows, 3, d, 2, 2, 0, qi, NULL, NULL, 0};
        CHECK_OK(dci_knn_search(&aq));
        CHECK_OK(dci_knn_query(x, n, sub + 5 * d, 1, d, 2, want, NULL));
        CHECK(qi[0] == want[0] && qi[1] == want[1] && qi[4] == want[0] && qi[5] == want[1]);
        CHECK(qi[0] == rows[5]); /* row 5 of sub is a row of x, at distance 0 */
        /* Bad arguments. */
        int64_t desc[2] = {4, 3};
        dci_knn_args bad = {x, desc, 2, NULL, NULL, n, d, 1, 1, 0, idx, NULL, NULL, 0};
        CHECK_STATUS(dci_knn_search(&bad), DC_ERR_INVALID_ARG);
        bad.ref_rows = rows;
        bad.nref = ns;
        bad.cells = -1;
        CHECK_STATUS(dci_knn_search(&bad), DC_ERR_INVALID_ARG);
        bad.cells = 0;
        bad.k = ns; /* self search over the subset: at most ns - 1 */
        CHECK_STATUS(dci_knn_search(&bad), DC_ERR_INVALID_ARG);
        free(rows);
        free(idx);
        free(sub);
    }
    free(c);
    free(x);
}

static const dct_case cases[] = {
    DCT_CASE(knn), DCT_CASE(knn_search), DCT_CASE(knn_magnitude),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
