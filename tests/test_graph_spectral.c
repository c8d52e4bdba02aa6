/* The spectral embedding (graph/spectral.c) against graphs with known
 * eigenpairs (path, complete), LAPACK against ARPACK, and disconnected graphs
 * (exact block structure, too many components, regularisation), the cases
 * where an eigensolver silently returns a wrong subspace. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "deepclust/graph.h"
#include "graph/affinity.h"
#include "graph/spectral.h"
#include "graph_common.h"

/* ---- helpers ------------------------------------------------------------- */

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
    DCT_CASE(regularised_components), DCT_CASE(spectral_known), DCT_CASE(spectral_random),
    DCT_CASE(spectral_components), DCT_CASE(spectral_options), DCT_CASE(spectral_errors),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
