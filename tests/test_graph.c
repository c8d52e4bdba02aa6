/* Graph modules: exact kNN against a float64 brute force, the adaptive-sigma
 * affinity against hand-computed values, and the spectral embedding against
 * graphs with known eigenpairs (path graph), LAPACK against ARPACK, and
 * disconnected graphs (exact block structure, too many components). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "deepclust/graph.h"
#include "graph/affinity.h"
#include "graph/knn.h"
#include "graph/pca.h"
#include "graph/spectral.h"

/* ---- helpers ------------------------------------------------------------- */

static float *random_data(int64_t n, int64_t d, uint64_t seed, double offset, double scale) {
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    float *x = malloc((size_t)(n * d) * sizeof *x);
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)(offset + scale * dci_rng_normal(&r));
    return x;
}

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

/* Max over the matrix of |S u - lambda u| and of |U^T U - I|, dense S. */
static void eig_check(const double *S, int64_t n, const double *U, const double *lam, int64_t K,
                      double *resid, double *orth) {
    *resid = 0.0;
    *orth = 0.0;
    for (int64_t l = 0; l < K; l++) {
        for (int64_t i = 0; i < n; i++) {
            double s = 0.0;
            for (int64_t j = 0; j < n; j++) s += S[i * n + j] * U[j * K + l];
            double r = fabs(s - lam[l] * U[i * K + l]);
            if (r > *resid) *resid = r;
        }
        for (int64_t l2 = 0; l2 < K; l2++) {
            double s = 0.0;
            for (int64_t i = 0; i < n; i++) s += U[i * K + l] * U[i * K + l2];
            double e = fabs(s - (l == l2));
            if (e > *orth) *orth = e;
        }
    }
}

/* Frobenius norm of U1 U1^T - U2 U2^T via traces: K + K - 2 |U1^T U2|_F^2. */
static double projector_distance(const double *U1, const double *U2, int64_t n, int64_t K) {
    double cross = 0.0;
    for (int64_t a = 0; a < K; a++)
        for (int64_t b = 0; b < K; b++) {
            double s = 0.0;
            for (int64_t i = 0; i < n; i++) s += U1[i * K + a] * U2[i * K + b];
            cross += s * s;
        }
    double v = 2.0 * (double)K - 2.0 * cross;
    return sqrt(v > 0.0 ? v : 0.0);
}

static void csr_to_dense(const dci_csr *w, double *out) {
    memset(out, 0, (size_t)(w->n * w->n) * sizeof *out);
    for (int64_t i = 0; i < w->n; i++)
        for (int64_t e = w->rowptr[i]; e < w->rowptr[i + 1]; e++) out[i * w->n + w->col[e]] = w->val[e];
}

/* 1 if every row of the n x K embedding Y has unit length. */
static int unit_rows(const float *Y, int64_t n, int64_t K) {
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t l = 0; l < K; l++) s += (double)Y[i * K + l] * Y[i * K + l];
        ok &= fabs(s - 1.0) < 1e-5;
    }
    return ok;
}

/* S = D^-1/2 W D^-1/2 with S_ii = 1 for isolated points (the documented convention). */
static void normalized(const double *W, int64_t n, double *S) {
    double *dinv = malloc((size_t)n * sizeof *dinv);
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < n; j++) s += W[i * n + j];
        dinv[i] = s > 0 ? 1.0 / sqrt(s) : 0.0;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) S[i * n + j] = dinv[i] * W[i * n + j] * dinv[j];
    for (int64_t i = 0; i < n; i++)
        if (dinv[i] == 0.0) S[i * n + i] = 1.0;
    free(dinv);
}

/* Path graph 0-1-2-...-(n-1) with unit weights, as CSR and dense. */
static void path_graph(int64_t n, dci_csr *w, double *dense) {
    w->n = n;
    w->rowptr = malloc((size_t)(n + 1) * sizeof *w->rowptr);
    w->col = malloc((size_t)(2 * n) * sizeof *w->col);
    w->val = malloc((size_t)(2 * n) * sizeof *w->val);
    int64_t e = 0;
    for (int64_t i = 0; i < n; i++) {
        w->rowptr[i] = e;
        if (i > 0) { w->col[e] = i - 1; w->val[e++] = 1.0; }
        if (i < n - 1) { w->col[e] = i + 1; w->val[e++] = 1.0; }
    }
    w->rowptr[n] = e;
    csr_to_dense(w, dense);
}

static void free_test_csr(dci_csr *w) {
    free(w->rowptr);
    free(w->col);
    free(w->val);
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

/* ---- affinity ------------------------------------------------------------ */

static void test_affinity(void) {
    CHECK(dci_affinity_p(4, 2) == 1);
    CHECK(dci_affinity_p(100, 3) == 11);  /* 11.1 */
    CHECK(dci_affinity_p(150, 10) == 2);  /* 1.5 rounds up */
    CHECK(dci_affinity_p(10, 1) == 9);    /* clamped to n - 1 */
    CHECK(dci_affinity_p(10, 100) == 1);  /* at least 1 */
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

/* ---- spectral ------------------------------------------------------------ */

static void test_spectral_known(void) {
    /* Path graph P_n: S has eigenvalues cos(pi j / (n-1)), j = 0..n-1. */
    const int64_t n = 120, K = 4;
    dci_csr w;
    double *Wd = malloc((size_t)(n * n) * sizeof *Wd), *S = malloc((size_t)(n * n) * sizeof *S);
    path_graph(n, &w, Wd);
    normalized(Wd, n, S);
    double U1[120 * 4], U2[120 * 4], U3[120 * 4], l1[4], l2[4], l3[4], res, orth;
    int64_t c = 0;
    CHECK_OK(dci_spectral_top_dense(
        Wd, n, K,
        &(dci_spectral_top){.eigensolver = DCI_EIGEN_LAPACK, .lambda = l1, .components = &c}, U1));
    CHECK(c == 1);
    CHECK_OK(dci_spectral_top_csr(
        &w, K, &(dci_spectral_top){.eigensolver = DCI_EIGEN_ARPACK, .lambda = l2}, U2));
    CHECK_OK(dci_spectral_top_csr(
        &w, K, &(dci_spectral_top){.eigensolver = DCI_EIGEN_LAPACK, .lambda = l3}, U3));
    for (int64_t j = 0; j < K; j++) {
        double want = cos(M_PI * (double)j / (double)(n - 1));
        CHECK_NEAR(l1[j], want, 1e-12);
        CHECK_NEAR(l2[j], want, 1e-9);
        CHECK_NEAR(l3[j], want, 1e-12);
    }
    eig_check(S, n, U1, l1, K, &res, &orth);
    CHECK_MSG(res < 1e-10 && orth < 1e-10, "lapack resid %g orth %g", res, orth);
    eig_check(S, n, U2, l2, K, &res, &orth);
    CHECK_MSG(res < 1e-8 && orth < 1e-8, "arpack resid %g orth %g", res, orth);
    /* Simple eigenvalues: the vectors agree up to sign, and the sign rule fixes it. */
    double dmax = 0.0;
    for (int64_t e = 0; e < n * K; e++) dmax = fmax(dmax, fabs(U1[e] - U2[e]));
    CHECK_MSG(dmax < 1e-6, "LAPACK vs ARPACK vectors differ by %g", dmax);
    /* The first is the known sqrt(D_i / vol). */
    CHECK_NEAR(U1[0], sqrt(1.0 / (2.0 * (double)(n - 1))), 1e-14);
    CHECK_NEAR(U1[5 * K], sqrt(2.0 / (2.0 * (double)(n - 1))), 1e-14);
    free_test_csr(&w);

    /* Complete graph: S = (J - I) / (n-1), eigenvalues 1 and -1/(n-1) (n-1 times). */
    const int64_t nc = 30;
    for (int64_t i = 0; i < nc; i++)
        for (int64_t j = 0; j < nc; j++) Wd[i * nc + j] = i == j ? 0.0 : 2.5;
    normalized(Wd, nc, S);
    double Uc[30 * 3], lc[3];
    for (int solver = DCI_EIGEN_LAPACK; solver <= DCI_EIGEN_ARPACK; solver++) {
        CHECK_OK(dci_spectral_top_dense(
            Wd, nc, 3, &(dci_spectral_top){.eigensolver = solver, .seed = 7, .lambda = lc}, Uc));
        CHECK_NEAR(lc[0], 1.0, 1e-15);
        CHECK_NEAR(lc[1], -1.0 / 29.0, 1e-10);
        CHECK_NEAR(lc[2], -1.0 / 29.0, 1e-10);
        eig_check(S, nc, Uc, lc, 3, &res, &orth);
        CHECK_MSG(res < 1e-8 && orth < 1e-8, "complete graph solver %d: resid %g orth %g", solver, res, orth);
    }
    free(Wd);
    free(S);
}

static void test_spectral_random(void) {
    /* LAPACK vs ARPACK on the kNN affinity of random data: same subspace. */
    const int64_t n = 400, d = 5, K = 6;
    float *x = random_data(n, d, 6, 0.0, 1.0);
    dci_csr w;
    CHECK_OK(dci_affinity_sparse(x, n, d, dci_affinity_p(n, K), 10, &w, NULL));
    double *Ua = malloc((size_t)(n * K) * sizeof *Ua), *Ul = malloc((size_t)(n * K) * sizeof *Ul);
    double la[6], ll[6];
    int64_t c = 0;
    CHECK_OK(dci_spectral_top_csr(
        &w, K,
        &(dci_spectral_top){
            .eigensolver = DCI_EIGEN_ARPACK, .seed = 1, .lambda = la, .components = &c},
        Ua));
    CHECK(c == 1);
    CHECK_OK(dci_spectral_top_csr(
        &w, K, &(dci_spectral_top){.eigensolver = DCI_EIGEN_LAPACK, .seed = 1, .lambda = ll}, Ul));
    for (int l = 0; l < K; l++) CHECK_NEAR(la[l], ll[l], 1e-9);
    double pd = projector_distance(Ua, Ul, n, K);
    CHECK_MSG(pd < 1e-6, "projector distance %g (gap %g)", pd, ll[K - 1]);
    double *Wd = malloc((size_t)(n * n) * sizeof *Wd), *S = malloc((size_t)(n * n) * sizeof *S);
    csr_to_dense(&w, Wd);
    normalized(Wd, n, S);
    double res, orth;
    eig_check(S, n, Ua, la, K, &res, &orth);
    CHECK_MSG(res < 1e-8 && orth < 1e-8, "arpack resid %g orth %g", res, orth);
    /* Same seed, same result (bit for bit). */
    double *Ub = malloc((size_t)(n * K) * sizeof *Ub);
    CHECK_OK(dci_spectral_top_csr(
        &w, K, &(dci_spectral_top){.eigensolver = DCI_EIGEN_ARPACK, .seed = 1}, Ub));
    CHECK(memcmp(Ua, Ub, (size_t)(n * K) * sizeof *Ua) == 0);

    /* Pipeline: rows of Y have unit length; dense and sparse agree on the
     * dense affinity's subspace when sparse keeps all pairs. */
    float *Y1 = malloc((size_t)(n * K) * sizeof *Y1), *Y2 = malloc((size_t)(n * K) * sizeof *Y2);
    dci_spectral_opts od = {.mode = DCI_SPECTRAL_DENSE, .m = 0, .eigensolver = DCI_EIGEN_AUTO, .seed = 0};
    dci_spectral_opts os = {.mode = DCI_SPECTRAL_SPARSE, .m = n - 1, .eigensolver = DCI_EIGEN_ARPACK, .seed = 0};
    dci_spectral_stats st1, st2;
    CHECK_OK(dci_spectral_embedding(x, n, d, K, &od, Y1, &st1));
    CHECK_OK(dci_spectral_embedding(x, n, d, K, &os, Y2, &st2));
    CHECK(st1.dense == 1 && st2.dense == 0 && st1.p == 11 && st2.m == n - 1 && st1.components == 1);
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double s1 = 0, s2 = 0, dot = 0;
        for (int64_t l = 0; l < K; l++) {
            s1 += (double)Y1[i * K + l] * Y1[i * K + l];
            s2 += (double)Y2[i * K + l] * Y2[i * K + l];
        }
        worst = fmax(worst, fmax(fabs(s1 - 1.0), fabs(s2 - 1.0)));
        (void)dot;
    }
    CHECK_MSG(worst < 1e-6, "row norms off by %g", worst);
    /* Same eigenvalue ordering and sign rule: Y agrees entry-wise. */
    double ydiff = 0.0;
    for (int64_t e = 0; e < n * K; e++) ydiff = fmax(ydiff, fabs(Y1[e] - Y2[e]));
    CHECK_MSG(ydiff < 1e-4, "dense vs sparse (m = n-1) Y differ by %g", ydiff);
    dci_csr_free(&w);
    free(Ua);
    free(Ul);
    free(Ub);
    free(Wd);
    free(S);
    free(Y1);
    free(Y2);
    free(x);
}

/* Blobs far apart: blob b at offset 1000 b. */
static float *blobs(int64_t nb, int64_t per, int64_t d, uint64_t seed) {
    float *x = random_data(nb * per, d, seed, 0.0, 1.0);
    for (int64_t i = 0; i < nb * per; i++) x[i * d] += 1000.0f * (float)(i / per);
    return x;
}

static void test_spectral_components(void) {
    const int64_t per = 60, d = 3, K = 3, n = 3 * per;
    float *x = blobs(3, per, d, 8);
    float *Y = malloc((size_t)(n * K) * sizeof *Y);
    for (int mode = DCI_SPECTRAL_DENSE; mode <= DCI_SPECTRAL_SPARSE; mode++) {
        dci_spectral_opts o = {.mode = mode, .m = 10, .eigensolver = DCI_EIGEN_AUTO, .seed = 0};
        dci_spectral_stats st;
        memset(Y, 0xff, (size_t)(n * K) * sizeof *Y);
        CHECK_OK(dci_spectral_embedding(x, n, d, K, &o, Y, &st));
        CHECK(st.components == 3);
        /* Blob b's rows are exactly e_b. */
        int exact = 1;
        for (int64_t i = 0; i < n; i++)
            for (int64_t l = 0; l < K; l++) exact &= Y[i * K + l] == (l == i / per ? 1.0f : 0.0f);
        CHECK_MSG(exact, "mode %d: rows are not the blob indicators", mode);
    }
    /* K = 4 > 3 components: one computed eigenvector on top, still finite. */
    dci_spectral_opts o4 = {.mode = DCI_SPECTRAL_SPARSE, .m = 10, .eigensolver = DCI_EIGEN_ARPACK, .seed = 0};
    float *Y4 = malloc((size_t)(n * 4) * sizeof *Y4);
    CHECK_OK(dci_spectral_embedding(x, n, d, 4, &o4, Y4, NULL));
    int finite = 1;
    for (int64_t e = 0; e < n * 4; e++) finite &= isfinite(Y4[e]);
    CHECK(finite);
    free(Y4);
    /* Public API, sparse mode. */
    CHECK_OK(dc_spectral_embedding(x, n, d, K, DC_SPECTRAL_SPARSE, 0, Y));
    CHECK(Y[0] == 1.0f && Y[per * K + 1] == 1.0f && Y[(n - 1) * K + 2] == 1.0f);
    free(x);

    /* Four blobs, K = 3: more components than clusters. */
    x = blobs(4, 30, d, 9);
    dci_spectral_opts os = {.mode = DCI_SPECTRAL_SPARSE, .m = 5, .eigensolver = DCI_EIGEN_AUTO,
                            .seed = 0, .disconnected = DCI_DISCONNECTED_ERROR};
    CHECK_STATUS(dci_spectral_embedding(x, 120, d, 3, &os, Y, NULL), DC_ERR_DEGENERATE);
    CHECK(strstr(dc_last_error(), "4 connected components") != NULL);
    CHECK(strstr(dc_last_error(), "parameter 'disconnected'") != NULL);
    /* The default regularises: an embedding, and the statistics say so. */
    os.disconnected = DCI_DISCONNECTED_REGULARIZE;
    dci_spectral_stats sr;
    CHECK_OK(dci_spectral_embedding(x, 120, d, 3, &os, Y, &sr));
    CHECK(sr.components == 4 && sr.tau > 0);
    CHECK(unit_rows(Y, 120, 3));
    free(x);

    /* An isolated point (row 0 has no edges) next to a path 1..n-1. */
    const int64_t ni = 80;
    dci_csr w, path;
    double *Wd = malloc((size_t)(ni * ni) * sizeof *Wd), *S = malloc((size_t)(ni * ni) * sizeof *S);
    path_graph(ni - 1, &path, Wd);
    w.n = ni;
    w.rowptr = malloc((size_t)(ni + 1) * sizeof *w.rowptr);
    w.col = path.col;
    w.val = path.val;
    w.rowptr[0] = 0;
    for (int64_t i = 0; i < ni; i++) w.rowptr[i + 1] = path.rowptr[i];
    for (int64_t e = 0; e < path.rowptr[ni - 1]; e++) w.col[e] += 1;
    csr_to_dense(&w, Wd);
    normalized(Wd, ni, S);
    double U[80 * 3], lam[3], res, orth;
    float Yi[80 * 3];
    int64_t c = 0;
    for (int solver = DCI_EIGEN_LAPACK; solver <= DCI_EIGEN_ARPACK; solver++) {
        CHECK_OK(dci_spectral_top_csr(
            &w, 3, &(dci_spectral_top){.eigensolver = solver, .lambda = lam, .components = &c}, U));
        CHECK(c == 2);
        CHECK(U[0] == 1.0 && U[1] == 0.0 && fabs(U[2]) < 1e-10); /* the isolated point's indicator */
        CHECK_NEAR(lam[2], cos(M_PI / (double)(ni - 2)), 1e-9);
        eig_check(S, ni, U, lam, 3, &res, &orth);
        CHECK_MSG(res < 1e-8 && orth < 1e-8, "isolated, solver %d: resid %g orth %g", solver, res, orth);
        dci_spectral_normalize_rows(U, ni, 3, Yi);
        int ok = 1;
        for (int64_t e = 0; e < ni * 3; e++) ok &= isfinite(Yi[e]);
        CHECK(ok && Yi[0] == 1.0f);
    }
    CHECK_STATUS(
        dci_spectral_top_csr(
            &w, 1,
            &(dci_spectral_top){.eigensolver = DCI_EIGEN_AUTO, .lambda = lam, .components = &c}, U),
        DC_ERR_DEGENERATE);
    free(w.rowptr);
    free_test_csr(&path);
    free(Wd);
    free(S);
    free(Y);
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

/* Largest |(Y1 Y1^T - Y2 Y2^T)_ij|: compares embeddings up to rotation. */
static double gram_distance(const float *Y1, const float *Y2, int64_t n, int64_t K) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double a = 0.0, b = 0.0;
            for (int64_t l = 0; l < K; l++) {
                a += (double)Y1[i * K + l] * Y1[j * K + l];
                b += (double)Y2[i * K + l] * Y2[j * K + l];
            }
            worst = fmax(worst, fabs(a - b));
        }
    return worst;
}

/* The speed options of the pipeline: when auto turns them on, and that a
 * projection onto all components (a rotation) changes nothing. */
static void test_spectral_options(void) {
    const int64_t K = 3, per = 80, n = 3 * per;
    float *Y1 = malloc((size_t)(n * K) * sizeof *Y1), *Y2 = malloc((size_t)(n * K) * sizeof *Y2);
    dci_spectral_stats st;
    /* Three touching groups in 150 dimensions (d > 128), all variance in 4. */
    const int64_t d = 150;
    float *x = random_data(n, d, 51, 0.0, 0.01);
    float *lat = random_data(n, 4, 52, 0.0, 1.0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            double v = 2.5 * (double)(i / per) * (t % 3 == 0);
            for (int64_t l = 0; l < 4; l++) v += lat[i * 4 + l] * sin((double)(t + 1) * (l + 1));
            x[i * d + t] += (float)(v / sqrt((double)d / 2.0));
        }
    dci_spectral_opts o = {.mode = DCI_SPECTRAL_SPARSE, .m = 10};
    CHECK_OK(dci_spectral_embedding(x, n, d, K, &o, Y1, &st));
    CHECK(st.pca_dims >= 1 && st.pca_dims <= 5 && st.p_sigma == st.p && st.components == 1);
    o.pca_dims = -1;
    CHECK_OK(dci_spectral_embedding(x, n, d, K, &o, Y2, &st));
    CHECK(st.pca_dims == 0);
    o.pca_dims = 0;
    o.mode = DCI_SPECTRAL_DENSE;
    CHECK_OK(dci_spectral_embedding(x, n, d, K, &o, Y2, &st));
    CHECK(st.pca_dims == 0 && st.dense == 1);
    free(x);
    free(lat);

    /* d <= 128: auto leaves the data alone; pca = d rotates them, which keeps
     * every distance and so the embedding (up to rounding). */
    const int64_t d2 = 8;
    x = random_data(n, d2, 53, 0.0, 1.0);
    for (int64_t i = 0; i < n; i++) x[i * d2 + (i / per)] += 4.0f;
    o = (dci_spectral_opts){.mode = DCI_SPECTRAL_SPARSE, .m = 10};
    CHECK_OK(dci_spectral_embedding(x, n, d2, K, &o, Y1, &st));
    CHECK(st.pca_dims == 0);
    o.pca_dims = d2;
    CHECK_OK(dci_spectral_embedding(x, n, d2, K, &o, Y2, &st));
    CHECK(st.pca_dims == d2);
    double g = gram_distance(Y1, Y2, n, K);
    CHECK_MSG(g < 1e-4, "rotation changed the embedding by %g", g);
    /* Explicit sigma sampling: p = round(240 / 9) = 27, p_sample 9 ->
     * s - 1 = ceil(9 * 239 / 27) = 80, p' = round(27 * 80 / 239) = 9. */
    o.pca_dims = 0;
    o.sigma_sample = 9;
    CHECK_OK(dci_spectral_embedding(x, n, d2, K, &o, Y2, &st));
    CHECK(st.p == 27 && st.p_sigma == 9);
    /* Bad values. */
    o.sigma_sample = -2;
    CHECK_STATUS(dci_spectral_embedding(x, n, d2, K, &o, Y2, NULL), DC_ERR_INVALID_ARG);
    o.sigma_sample = 0;
    o.pca_dims = d2 + 1;
    CHECK_STATUS(dci_spectral_embedding(x, n, d2, K, &o, Y2, NULL), DC_ERR_INVALID_ARG);
    o.pca_dims = -2;
    CHECK_STATUS(dci_spectral_embedding(x, n, d2, K, &o, Y2, NULL), DC_ERR_INVALID_ARG);
    free(x);
    free(Y1);
    free(Y2);
}

static void test_spectral_errors(void) {
    float *x = random_data(50, 2, 10, 0.0, 1.0);
    float Y[50 * 50];
    dci_spectral_opts o = {.mode = DCI_SPECTRAL_SPARSE, .m = 0, .eigensolver = DCI_EIGEN_AUTO, .seed = 0};
    CHECK_STATUS(dci_spectral_embedding(x, 50, 2, 1, &o, Y, NULL), DC_ERR_K_RANGE);
    CHECK_STATUS(dci_spectral_embedding(x, 50, 2, 51, &o, Y, NULL), DC_ERR_K_RANGE);
    o.m = 50;
    CHECK_STATUS(dci_spectral_embedding(x, 50, 2, 3, &o, Y, NULL), DC_ERR_INVALID_ARG);
    o.m = 0;
    o.mode = 7;
    CHECK_STATUS(dci_spectral_embedding(x, 50, 2, 3, &o, Y, NULL), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_spectral_embedding(x, 50, 2, 3, 7, 0, Y), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_spectral_embedding(x, 50, 2, 3, 0, 0, NULL), DC_ERR_NULL);
    x[17] = NAN;
    CHECK_STATUS(dc_spectral_embedding(x, 50, 2, 3, DC_SPECTRAL_DENSE, 0, Y), DC_ERR_NONFINITE);
    x[17] = 0.0f;
    /* K = n (dense): every eigenvector; rows still unit. */
    CHECK_OK(dc_spectral_embedding(x, 50, 2, 50, DC_SPECTRAL_DENSE, 0, Y));
    CHECK(unit_rows(Y, 50, 50));
    free(x);
}

/* Three components (two paths and an isolated point), K = 2: regularised,
 * the eigenpairs are those of D'^-1/2 (W + tau/n) D'^-1/2 with tau the mean
 * degree, built densely here, for the sparse and the dense form and both
 * eigensolvers; refused without regularisation. */
static void test_regularised_components(void) {
    enum { N = 61, K = 2 };
    double *W = calloc(N * N, sizeof *W), *S = malloc(N * N * sizeof *S);
    for (int64_t i = 0; i + 1 < 60; i++)
        if (i != 29) W[i * N + i + 1] = W[(i + 1) * N + i] = 0.5 + 0.01 * (double)(i % 7);
    dci_csr w = {N, malloc((N + 1) * sizeof(int64_t)), malloc(N * N * sizeof(int64_t)),
                 malloc(N * N * sizeof(double))};
    int64_t e = 0;
    double vol = 0;
    for (int64_t i = 0; i < N; i++) {
        w.rowptr[i] = e;
        for (int64_t j = 0; j < N; j++)
            if (W[i * N + j] > 0) {
                w.col[e] = j;
                w.val[e++] = W[i * N + j];
                vol += W[i * N + j];
            }
    }
    w.rowptr[N] = e;
    const double tau = vol / N;
    double *Wr = malloc(N * N * sizeof *Wr);
    for (int64_t t = 0; t < N * N; t++) Wr[t] = W[t] + tau / N;
    normalized(Wr, N, S);
    double U[N * K], lam[K], res, orth, got_tau = 0;
    int64_t c = 0;
    for (int solver = DCI_EIGEN_LAPACK; solver <= DCI_EIGEN_ARPACK; solver++)
        for (int dense = 0; dense <= 1; dense++) {
            const dci_spectral_top top = {.eigensolver = solver, .seed = 3, .regularize = 1,
                                          .lambda = lam, .components = &c, .tau = &got_tau};
            dc_status st = dense ? dci_spectral_top_dense(W, N, K, &top, U)
                                 : dci_spectral_top_csr(&w, K, &top, U);
            CHECK_OK(st);
            CHECK(c == 3);
            CHECK_NEAR(got_tau, tau, 1e-12);
            eig_check(S, N, U, lam, K, &res, &orth);
            CHECK_MSG(res < 1e-8 && orth < 1e-8, "solver %d dense %d: resid %g orth %g", solver,
                      dense, res, orth);
            CHECK_NEAR(lam[0], 1.0, 1e-12);
            CHECK(lam[1] < 1.0 - 1e-6); /* connected now: eigenvalue 1 is simple */
        }
    CHECK_STATUS(dci_spectral_top_csr(
                     &w, K,
                     &(dci_spectral_top){
                         .eigensolver = DCI_EIGEN_AUTO, .seed = 3, .lambda = lam, .components = &c},
                     U),
                 DC_ERR_DEGENERATE);
    free(W);
    free(S);
    free(Wr);
    free(w.rowptr);
    free(w.col);
    free(w.val);
}

static const dct_case cases[] = {
    DCT_CASE(regularised_components), DCT_CASE(knn), DCT_CASE(knn_search),
    DCT_CASE(knn_magnitude), DCT_CASE(pca_hand), DCT_CASE(pca_random), DCT_CASE(affinity),
    DCT_CASE(spectral_known), DCT_CASE(spectral_random), DCT_CASE(spectral_components),
    DCT_CASE(spectral_options), DCT_CASE(sigma_sampled), DCT_CASE(spectral_errors),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
