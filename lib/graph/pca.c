#include "graph/pca.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "graph/eigen.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"

/* Rows per block: the float partial products of a block (ssyrk / sgemm) sum
 * at most this many terms before they are added in double. */
#define PCA_BLOCK 1024
/* Randomized method: oversampling columns and power (subspace) steps. */
#define PCA_OVERSAMPLE 10
#define PCA_POWER_STEPS 2

void dci_pca_free(dci_pca *p) {
    if (!p) return;
    dci_free(p->mean);
    dci_free(p->components);
    dci_free(p->variance);
    memset(p, 0, sizeof *p);
}

/* rows [r0, r0 + m) of x minus mean, into t (m x d). */
static void center_block(const float *x, int64_t r0, int64_t m, int64_t d, const float *mean,
                         float *t) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < d; j++) t[i * d + j] = x[(r0 + i) * d + j] - mean[j];
}

/* Thin QR of the n x l row-major a, replaced by its orthonormal factor. */
static dc_status orthonormalize(float *a, int64_t n, int64_t l) {
    float *tau = DCI_NEW_ARRAY(float, l, "PCA QR");
    if (!tau) return DC_ERR_NOMEM;
    lapack_int info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)l, a,
                                     (lapack_int)l, tau);
    if (info == 0)
        info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)l, (lapack_int)l, a,
                              (lapack_int)l, tau);
    dci_free(tau);
    return info == 0 ? DC_OK
                     : dci_fail(DC_ERR_INTERNAL, "PCA: LAPACK QR failed (info %d)", (int)info);
}

/* y (n x l) = (x - mean) b, b d x l. */
static dc_status times_right(const float *x, int64_t n, int64_t d, const float *mean,
                             const float *b, int64_t l, float *y) {
    float *t = DCI_NEW_ARRAY(float, PCA_BLOCK * d, "PCA block");
    if (!t) return DC_ERR_NOMEM;
    for (int64_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        int64_t m = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        center_block(x, r0, m, d, mean, t);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)l, (int)d, 1.0f, t,
                    (int)d, b, (int)l, 0.0f, y + r0 * l, (int)l);
    }
    dci_free(t);
    return DC_OK;
}

/* out (d x l, double) = (x - mean)^T y, y n x l; float per block, blocks in double. */
static dc_status times_left(const float *x, int64_t n, int64_t d, const float *mean,
                            const float *y, int64_t l, double *out) {
    float *t = DCI_NEW_ARRAY(float, PCA_BLOCK * d, "PCA block");
    float *part = DCI_NEW_ARRAY(float, d * l, "PCA block product");
    if (!t || !part) {
        dci_free(t);
        dci_free(part);
        return DC_ERR_NOMEM;
    }
    memset(out, 0, (size_t)(d * l) * sizeof *out);
    for (int64_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        int64_t m = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        center_block(x, r0, m, d, mean, t);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)l, (int)m, 1.0f, t,
                    (int)d, y + r0 * l, (int)l, 0.0f, part, (int)l);
        for (int64_t e = 0; e < d * l; e++) out[e] += part[e];
    }
    dci_free(t);
    dci_free(part);
    return DC_OK;
}

/* Covariance method: the q_max top unit eigenvectors (rows of v) and the
 * eigenvalues of sum (x - mean)(x - mean)^T. */
static dc_status fit_covariance(const float *x, int64_t n, int64_t d, const float *mean,
                                int64_t q, double *val, double *v) {
    double *cov = DCI_NEW_ZEROS(double, d * d, "PCA covariance");
    float *t = DCI_NEW_ARRAY(float, PCA_BLOCK * d, "PCA block");
    float *part = DCI_NEW_ARRAY(float, d * d, "PCA block covariance");
    dc_status st = (cov && t && part) ? DC_OK : DC_ERR_NOMEM;
    for (int64_t r0 = 0; st == DC_OK && r0 < n; r0 += PCA_BLOCK) {
        int64_t m = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        center_block(x, r0, m, d, mean, t);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0f, t, (int)d, 0.0f,
                    part, (int)d);
        for (int64_t i = 0; i < d; i++)
            for (int64_t j = i; j < d; j++) cov[i * d + j] += part[i * d + j];
    }
    dci_free(t);
    dci_free(part);
    if (st == DC_OK) st = dci_sym_top_eigen(cov, d, q, val, v, "PCA");
    dci_free(cov);
    return st;
}

/* Randomized method, same outputs. */
static dc_status fit_randomized(const float *x, int64_t n, int64_t d, const float *mean,
                                int64_t q, uint64_t seed, double *val, double *v) {
    int64_t l = q + PCA_OVERSAMPLE;
    if (l > d) l = d;
    if (l > n) l = n;
    if (l < q) return dci_fail(DC_ERR_INVALID_ARG, "PCA: %lld components from %lld rows",
                               (long long)q, (long long)n);
    float *y = DCI_NEW_ARRAY(float, n * l, "PCA range");
    float *b = DCI_NEW_ARRAY(float, d * l, "PCA test matrix");
    double *bd = DCI_NEW_ARRAY(double, d * l, "PCA projection");
    double *g = DCI_NEW_ARRAY(double, l * l, "PCA small Gram");
    double *val_l = DCI_NEW_ARRAY(double, q, "PCA eigenvalues");
    double *u = DCI_NEW_ARRAY(double, q * l, "PCA small eigenvectors");
    dc_status st = (y && b && bd && g && val_l && u) ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        dci_rng r;
        dci_rng_init(&r, seed, DCI_STREAM_PCA);
        for (int64_t e = 0; e < d * l; e++) b[e] = (float)dci_rng_normal(&r);
        st = times_right(x, n, d, mean, b, l, y);
    }
    if (st == DC_OK) st = orthonormalize(y, n, l);
    for (int step = 0; st == DC_OK && step < PCA_POWER_STEPS; step++) {
        st = times_left(x, n, d, mean, y, l, bd);
        for (int64_t e = 0; st == DC_OK && e < d * l; e++) b[e] = (float)bd[e];
        if (st == DC_OK) st = orthonormalize(b, d, l);
        if (st == DC_OK) st = times_right(x, n, d, mean, b, l, y);
        if (st == DC_OK) st = orthonormalize(y, n, l);
    }
    /* B = Y^T (x - mean), stored transposed (d x l); its Gram B B^T (l x l)
     * has the squared singular values of B, and the right singular vectors
     * are B^T u / sigma. */
    if (st == DC_OK) st = times_left(x, n, d, mean, y, l, bd);
    if (st == DC_OK) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l, (int)l, (int)d, 1.0, bd,
                    (int)l, bd, (int)l, 0.0, g, (int)l);
        st = dci_sym_top_eigen(g, l, q, val_l, u, "PCA");
    }
    if (st == DC_OK) {
        for (int64_t c = 0; c < q; c++) {
            val[c] = val_l[c] > 0.0 ? val_l[c] : 0.0;
            double s = 0.0;
            for (int64_t t = 0; t < d; t++) {
                double acc = 0.0;
                for (int64_t e = 0; e < l; e++) acc += bd[t * l + e] * u[c * l + e];
                v[c * d + t] = acc;
                s += acc * acc;
            }
            /* Normalise explicitly: 1 / sigma is unstable for tiny sigma. */
            s = s > 0.0 ? 1.0 / sqrt(s) : 0.0;
            for (int64_t t = 0; t < d; t++) v[c * d + t] *= s;
        }
    }
    dci_free(y);
    dci_free(b);
    dci_free(bd);
    dci_free(g);
    dci_free(val_l);
    dci_free(u);
    return st;
}

dc_status dci_pca_select(dci_pca *p, const double *val, const double *v, int64_t n, int64_t d,
                         int64_t q_max, double var_keep) {
    int64_t q = q_max;
    if (var_keep > 0.0 && var_keep < 1.0) {
        double cum = 0.0;
        for (q = 0; q < q_max;) {
            cum += val[q++] / (double)(n - 1);
            if (cum >= var_keep * p->total) break;
        }
    }
    p->d = d;
    p->q = q;
    p->components = DCI_NEW_ARRAY(float, q * d, "PCA components");
    p->variance = DCI_NEW_ARRAY(double, q, "PCA variances");
    if (!p->components || !p->variance) return DC_ERR_NOMEM;
    for (int64_t c = 0; c < q; c++) {
        const double *vc = v + c * d;
        int64_t arg = 0;
        for (int64_t t = 1; t < d; t++)
            if (fabs(vc[t]) > fabs(vc[arg])) arg = t;
        double sign = vc[arg] < 0.0 ? -1.0 : 1.0;
        for (int64_t t = 0; t < d; t++) p->components[c * d + t] = (float)(sign * vc[t]);
        p->variance[c] = val[c] / (double)(n - 1);
    }
    return DC_OK;
}

dc_status dci_pca_fit(const float *x, int64_t n, int64_t d, int64_t q_max, double var_keep,
                      int method, uint64_t seed, dci_pca *p) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(p);
    memset(p, 0, sizeof *p);
    DCI_TRY(dci_check_shape(n, d, "PCA data"));
    if (n < 2) return dci_fail(DC_ERR_INVALID_ARG, "PCA: need n >= 2 rows, got %lld", (long long)n);
    if (q_max < 1 || q_max > d)
        return dci_fail(DC_ERR_INVALID_ARG, "PCA: %lld components asked, need 1..%lld",
                        (long long)q_max, (long long)d);
    if (method < DCI_PCA_AUTO || method > DCI_PCA_RANDOMIZED)
        return dci_fail(DC_ERR_INVALID_ARG, "PCA: unknown method %d", method);
    DCI_TRY(dci_check_finite(x, n, d, "PCA data"));
    if (method == DCI_PCA_AUTO)
        method = d <= DCI_PCA_COVARIANCE_MAX_D ? DCI_PCA_COVARIANCE : DCI_PCA_RANDOMIZED;

    double *msum = DCI_NEW_ZEROS(double, d, "PCA mean");
    double *val = DCI_NEW_ARRAY(double, q_max, "PCA eigenvalues");
    double *v = DCI_NEW_ARRAY(double, q_max * d, "PCA components");
    p->mean = DCI_NEW_ARRAY(float, d, "PCA mean");
    dc_status st = (msum && val && v && p->mean) ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t t = 0; t < d; t++) msum[t] += x[i * d + t];
        for (int64_t t = 0; t < d; t++) p->mean[t] = (float)(msum[t] / (double)n);
        double total = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t t = 0; t < d; t++) {
                double c = (double)x[i * d + t] - p->mean[t];
                total += c * c;
            }
        p->total = total / (double)(n - 1);
        st = method == DCI_PCA_COVARIANCE ? fit_covariance(x, n, d, p->mean, q_max, val, v)
                                          : fit_randomized(x, n, d, p->mean, q_max, seed, val, v);
    }
    if (st == DC_OK) st = dci_pca_select(p, val, v, n, d, q_max, var_keep);
    dci_free(msum);
    dci_free(val);
    dci_free(v);
    if (st != DC_OK) dci_pca_free(p);
    return st;
}

dc_status dci_pca_transform(const dci_pca *p, const float *x, int64_t n, float *z) {
    DCI_CHECK_NULL(p);
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(z);
    if (n < 0) return dci_fail(DC_ERR_INVALID_ARG, "PCA: %lld rows", (long long)n);
    DCI_TRY(dci_check_finite(x, n, p->d, "PCA data"));
    const int64_t d = p->d, q = p->q;
    float *t = DCI_NEW_ARRAY(float, PCA_BLOCK * d, "PCA block");
    if (!t) return DC_ERR_NOMEM;
    for (int64_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        int64_t m = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        center_block(x, r0, m, d, p->mean, t);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)q, (int)d, 1.0f, t,
                    (int)d, p->components, (int)d, 0.0f, z + r0 * q, (int)q);
    }
    dci_free(t);
    return DC_OK;
}
