#include "graph/affinity.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust/graph.h"
#include "graph/knn.h"

void dci_csr_free(dci_csr *a) {
    if (!a) return;
    dci_free(a->rowptr);
    dci_free(a->col);
    dci_free(a->val);
    memset(a, 0, sizeof *a);
}

int64_t dci_affinity_p(int64_t n, int64_t K) {
    /* clamped in double first: llround of a value beyond int64 is undefined */
    const double q = (double)n / ((double)K * (double)K);
    if (!(q < (double)(n - 1))) return n - 1;
    int64_t p = (int64_t)llround(q);
    if (p < 1) p = 1;
    if (p > n - 1) p = n - 1;
    return p;
}

int64_t dci_affinity_default_m(int64_t n, int64_t p) {
    /* At least 10 neighbours keeps the graph connected on ordinary data; 50
     * bounds memory and mat-vec cost when p = n / K^2 is large (the sigmas
     * still use all p neighbours). */
    int64_t m = p > 10 ? p : 10;
    if (m > 50) m = 50;
    if (m > n - 1) m = n - 1;
    return m;
}

dc_status dci_affinity_floor_sigma(double *sigma, int64_t n) {
    double floor = INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (sigma[i] > 0.0 && sigma[i] < floor) floor = sigma[i];
    if (!isfinite(floor))
        return dci_fail(DC_ERR_DEGENERATE,
                        "affinity: every point coincides with its nearest neighbours (all "
                        "points identical?), so no scale sigma can be set");
    for (int64_t i = 0; i < n; i++)
        if (!(sigma[i] > 0.0)) sigma[i] = floor;
    return DC_OK;
}

static dc_status check_xp(const float *x, int64_t n, int64_t d, int64_t p) {
    DCI_CHECK_NULL(x);
    DCI_TRY(dci_check_shape(n, d, "affinity data"));
    if (n < 2)
        return dci_fail(DC_ERR_INVALID_ARG, "affinity: need n >= 2 points, got %lld", (long long)n);
    if (p < 1 || p > n - 1)
        return dci_fail(DC_ERR_INVALID_ARG, "affinity: p = %lld neighbours for sigma, need 1..%lld",
                        (long long)p, (long long)(n - 1));
    int64_t count;
    return dci_size_product(n, d, sizeof *x, &count, "affinity data");
}

static int any_positive(const double *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (v[i] > 0.0) return 1;
    return 0;
}

dc_status dci_affinity_finish_sigma(const float *x, int64_t n, int64_t d, int64_t p,
                                    double *sigma) {
    return any_positive(sigma, n) ? dci_affinity_floor_sigma(sigma, n)
                                  : dci_affinity_sigma(x, n, d, p, sigma);
}

dc_status dci_affinity_sigma(const float *x, int64_t n, int64_t d, int64_t p, double *sigma) {
    DCI_TRY(check_xp(x, n, d, p));
    DCI_CHECK_NULL(sigma);
    /* Data where every point has p exact duplicates (p = n / K^2 is small)
     * give every sigma 0, though the points are not all equal: the scale
     * then comes from more neighbours, doubled until some point has a
     * distinct one (only all-equal data still fail). */
    for (int64_t q = p;; q = dci_affinity_wider(q, n)) {
        DCI_TRY(dci_knn_select(x, n, NULL, n, d, q, 0, NULL, NULL, q, sigma));
        if (any_positive(sigma, n) || q == n - 1) {
            if (q != p && any_positive(sigma, n)) dci_affinity_warn_widened(p, q);
            return dci_affinity_floor_sigma(sigma, n);
        }
    }
}

void dci_affinity_warn_widened(int64_t p, int64_t q) {
    dci_log(DC_LOG_WARN, "affinity: every point's %lld nearest neighbour%s duplicate%s of it; "
            "sigma is the mean distance to the %lld nearest",
            (long long)p, p == 1 ? " is a" : "s are", p == 1 ? "" : "s", (long long)q);
}

dc_status dci_affinity_sigma_sampled(const float *x, int64_t n, int64_t d, int64_t p,
                                     int64_t p_sample, uint64_t seed, int64_t *p_used,
                                     double *sigma) {
    DCI_TRY(check_xp(x, n, d, p));
    DCI_CHECK_NULL(sigma);
    if (p_sample < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "affinity: %lld sample neighbours for sigma",
                        (long long)p_sample);
    /* s - 1 = p_sample (n - 1) / p, rounded up, in double: no overflow. */
    double others = ceil((double)p_sample * (double)(n - 1) / (double)p);
    if (others + 1.0 >= (double)n) {
        if (p_used) *p_used = p;
        return dci_affinity_sigma(x, n, d, p, sigma);
    }
    const int64_t s = (int64_t)others + 1;
    int64_t pp = (int64_t)llround((double)p * (double)(s - 1) / (double)(n - 1));
    if (pp < 1) pp = 1;
    if (pp > s - 1) pp = s - 1;
    if (p_used) *p_used = pp;
    int64_t *rows = DCI_NEW_ARRAY(int64_t, s, "sigma sample");
    if (!rows) return DC_ERR_NOMEM;
    /* Selection sampling (Knuth's Algorithm S): uniform, rows ascending. */
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_SIGMA);
    for (int64_t i = 0, need = s; need > 0; i++)
        if ((int64_t)dci_rng_below(&r, (uint64_t)(n - i)) < need) rows[s - need--] = i;
    const dci_knn_args a = {.x = x, .ref_rows = rows, .nref = s, .nq = n, .d = d, .k = pp,
                            .p_mean = pp, .mean_dist = sigma};
    dc_status st = dci_knn_search(&a);
    dci_free(rows);
    return st == DC_OK ? dci_affinity_finish_sigma(x, n, d, p, sigma) : st;
}

static double gauss(double d2, double si, double sj) {
    return exp(-d2 / (si * sj));
}

dc_status dci_affinity_dense_w(const float *x, int64_t n, int64_t d, const double *sigma,
                               double *w) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(sigma);
    DCI_CHECK_NULL(w);
    double *xc = DCI_NEW_ARRAY(double, n * d, "dense affinity data");
    double *mean = DCI_NEW_ZEROS(double, d, "dense affinity mean");
    double *nrm = DCI_NEW_ARRAY(double, n, "dense affinity norms");
    if (!xc || !mean || !nrm) {
        dci_free(xc);
        dci_free(mean);
        dci_free(nrm);
        return DC_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) mean[t] += x[i * d + t];
    for (int64_t t = 0; t < d; t++) mean[t] /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) {
            double c = (double)x[i * d + t] - mean[t];
            xc[i * d + t] = c;
            s += c * c;
        }
        nrm[i] = s;
    }
    /* Upper triangle of the Gram matrix; then both triangles of W from it. */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0, xc, (int)d, 0.0, w,
                (int)n);
    for (int64_t i = 0; i < n; i++) {
        w[i * n + i] = 0.0;
        for (int64_t j = i + 1; j < n; j++) {
            double d2 = nrm[i] + nrm[j] - 2.0 * w[i * n + j];
            if (d2 < 0.0) d2 = 0.0;
            double v = gauss(d2, sigma[i], sigma[j]);
            w[i * n + j] = v;
            w[j * n + i] = v;
        }
    }
    dci_free(xc);
    dci_free(mean);
    dci_free(nrm);
    return DC_OK;
}

typedef struct csr_item {
    int64_t col;
    double val;
} csr_item;

static int cmp_item(const void *a, const void *b) {
    int64_t ca = ((const csr_item *)a)->col, cb = ((const csr_item *)b)->col;
    return (ca > cb) - (ca < cb);
}

dc_status dci_affinity_csr_from_knn(int64_t n, int64_t m, const int64_t *idx, const float *dist,
                                    const double *sigma, dci_csr *w) {
    DCI_CHECK_NULL(idx);
    DCI_CHECK_NULL(dist);
    DCI_CHECK_NULL(sigma);
    DCI_CHECK_NULL(w);
    memset(w, 0, sizeof *w);
    if (n < 1 || m < 1 || m > n - 1)
        return dci_fail(DC_ERR_INVALID_ARG, "affinity: m = %lld neighbours for n = %lld points",
                        (long long)m, (long long)n);
    /* Every kNN edge (i, j) goes into row i and row j; duplicates (mutual
     * neighbours) are merged after sorting each row. The distance of a pair is
     * computed identically from either end, so W is exactly symmetric. */
    int64_t *start = DCI_NEW_ZEROS(int64_t, n + 1, "CSR row starts");
    csr_item *items = DCI_NEW_ARRAY(csr_item, 2 * n * m, "CSR entries");
    int64_t *fill = DCI_NEW_ARRAY(int64_t, n, "CSR fill");
    if (!start || !items || !fill) {
        dci_free(start);
        dci_free(items);
        dci_free(fill);
        return DC_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        start[i + 1] += m;
        for (int64_t l = 0; l < m; l++) start[idx[i * m + l] + 1]++;
    }
    for (int64_t i = 0; i < n; i++) start[i + 1] += start[i];
    memcpy(fill, start, (size_t)n * sizeof *fill);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t l = 0; l < m; l++) {
            int64_t j = idx[i * m + l];
            double dd = (double)dist[i * m + l];
            double v = gauss(dd * dd, sigma[i], sigma[j]);
            items[fill[i]++] = (csr_item){j, v};
            items[fill[j]++] = (csr_item){i, v};
        }
    }
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t a = start[i], b = start[i + 1];
        qsort(items + a, (size_t)(b - a), sizeof *items, cmp_item);
        int64_t row_begin = nnz;
        for (int64_t e = a; e < b; e++)
            if (nnz == row_begin || items[nnz - 1].col != items[e].col) items[nnz++] = items[e];
        start[i] = row_begin; /* start[i] is no longer read for row i */
    }
    start[n] = nnz;
    dci_free(fill);
    w->n = n;
    w->rowptr = start;
    w->col = DCI_NEW_ARRAY(int64_t, nnz, "CSR columns");
    w->val = DCI_NEW_ARRAY(double, nnz, "CSR values");
    if (!w->col || !w->val) {
        dci_free(items);
        dci_csr_free(w);
        return DC_ERR_NOMEM;
    }
    for (int64_t e = 0; e < nnz; e++) {
        w->col[e] = items[e].col;
        w->val[e] = items[e].val;
    }
    dci_free(items);
    return DC_OK;
}

dc_status dci_affinity_dense(const float *x, int64_t n, int64_t d, int64_t p, double *w,
                             double *sigma_out) {
    DCI_TRY(check_xp(x, n, d, p));
    DCI_CHECK_NULL(w);
    double *sigma = sigma_out ? sigma_out : DCI_NEW_ARRAY(double, n, "sigmas");
    if (!sigma) return DC_ERR_NOMEM;
    dc_status st = dci_affinity_sigma(x, n, d, p, sigma);
    if (st == DC_OK) st = dci_affinity_dense_w(x, n, d, sigma, w);
    if (!sigma_out) dci_free(sigma);
    return st;
}

dc_status dci_affinity_sparse(const float *x, int64_t n, int64_t d, int64_t p, int64_t m,
                              dci_csr *w, double *sigma_out) {
    DCI_TRY(check_xp(x, n, d, p));
    DCI_CHECK_NULL(w);
    memset(w, 0, sizeof *w);
    if (m < 1 || m > n - 1)
        return dci_fail(DC_ERR_INVALID_ARG, "affinity: m = %lld graph neighbours, need 1..%lld",
                        (long long)m, (long long)(n - 1));
    int64_t k = p > m ? p : m;
    int64_t *idx = DCI_NEW_ARRAY(int64_t, n * m, "kNN indices");
    float *dist = DCI_NEW_ARRAY(float, n * m, "kNN distances");
    double *sigma = sigma_out ? sigma_out : DCI_NEW_ARRAY(double, n, "sigmas");
    dc_status st = (idx && dist && sigma) ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) st = dci_knn_select(x, n, NULL, n, d, k, m, idx, dist, p, sigma);
    if (st == DC_OK) st = dci_affinity_finish_sigma(x, n, d, p, sigma);
    if (st == DC_OK) st = dci_affinity_csr_from_knn(n, m, idx, dist, sigma, w);
    dci_free(idx);
    dci_free(dist);
    if (!sigma_out) dci_free(sigma);
    return st;
}

/* ---- public API ---------------------------------------------------------- */

int64_t dc_affinity_p(int64_t n, int64_t k) {
    return (n < 2 || k < 1) ? 0 : dci_affinity_p(n, k);
}

dc_status dc_affinity_sigma(const float *x, int64_t n, int64_t d, int64_t p, float *sigma) {
    DCI_TRY(check_xp(x, n, d, p));
    DCI_CHECK_NULL(sigma);
    double *s = DCI_NEW_ARRAY(double, n, "sigmas");
    if (!s) return DC_ERR_NOMEM;
    dc_status st = dci_affinity_sigma(x, n, d, p, s);
    if (st == DC_OK)
        for (int64_t i = 0; i < n; i++) sigma[i] = (float)s[i];
    dci_free(s);
    return st;
}

dc_status dc_affinity_dense(const float *x, int64_t n, int64_t d, int64_t p, float *W) {
    DCI_TRY(check_xp(x, n, d, p));
    DCI_CHECK_NULL(W);
    int64_t cells;
    DCI_TRY(dci_size_product(n, n, sizeof *W, &cells, "dense affinity"));
    double *w = DCI_NEW_ARRAY(double, n * n, "dense affinity");
    if (!w) return DC_ERR_NOMEM;
    dc_status st = dci_affinity_dense(x, n, d, p, w, NULL);
    if (st == DC_OK)
        for (int64_t i = 0; i < n * n; i++) W[i] = (float)w[i];
    dci_free(w);
    return st;
}
