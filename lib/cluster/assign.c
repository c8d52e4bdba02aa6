#include "cluster/assign.h"

#include <math.h>

#include "cluster/scratch.h"
#include "core/alloc.h"
#include "core/error.h"

dc_status dci_kernel_check(dci_kernel kern) {
    if (!(kern.a > 0.0) || !isfinite(kern.a))
        return dci_fail(DC_ERR_INVALID_ARG, "soft assignment: a = %g must be > 0", kern.a);
    if (!(kern.b > 0.0) || !isfinite(kern.b))
        return dci_fail(DC_ERR_INVALID_ARG, "soft assignment: b = %g must be > 0", kern.b);
    return DC_OK;
}

static dc_status check_sizes(const char *fn, int64_t B, int64_t M, int64_t K) {
    if (B < 1 || M < 1)
        return dci_fail(DC_ERR_SHAPE, "%s: need at least one row and one column (got %lld x %lld)",
                        fn, (long long)B, (long long)M);
    if (K < 1) return dci_fail(DC_ERR_K_RANGE, "%s: K = %lld clusters", fn, (long long)K);
    return DC_OK;
}

/* What dci_assign_q and dci_assign_loss (fn) check of a batch before
 * anything else; `what` names the computation in a size error. */
static dc_status check_batch(const dci_assign_batch *b, const char *fn, const char *what) {
    if (!b) return dci_fail(DC_ERR_NULL, "%s: argument 'b' is NULL", fn);
    if (!b->z) return dci_fail(DC_ERR_NULL, "%s: argument 'z' is NULL", fn);
    if (!b->r) return dci_fail(DC_ERR_NULL, "%s: argument 'r' is NULL", fn);
    DCI_TRY(dci_kernel_check(b->kern));
    return check_sizes(what, b->B, b->M, b->K);
}

/* Weighted squared distances s_j of one embedding row to every centre, and
 * u_j = a s_j^b, so that the kernel is k_j = 1 / (1 + u_j). */
static void row_distances(const dci_assign_batch *b, const float *zi, double *s, double *u) {
    const dci_kernel kern = b->kern;
    const int64_t M = b->M, K = b->K;
    const float *r = b->r, *w = b->w;
    for (int64_t j = 0; j < K; j++) {
        const float *rj = r + j * M;
        double acc = 0.0;
        if (w) {
            const float *wj = w + j * M;
            for (int64_t m = 0; m < M; m++) {
                double d = (double)zi[m] - (double)rj[m];
                acc += (double)wj[m] * d * d;
            }
        } else {
            for (int64_t m = 0; m < M; m++) {
                double d = (double)zi[m] - (double)rj[m];
                acc += d * d;
            }
        }
        s[j] = acc;
        u[j] = kern.a * (kern.b == 1.0 ? acc : pow(acc, kern.b));
    }
}

dc_status dci_assign_q(const dci_assign_batch *b, float *q) {
    DCI_CHECK_NULL(q);
    DCI_TRY(check_batch(b, __func__, "soft assignment"));
    const dci_kernel kern = b->kern;
    const float *z = b->z;
    const int64_t B = b->B, M = b->M, K = b->K;
    dci_scratch sc;
    double *s = dci_scratch_get(&sc, 2 * K, "soft assignment scratch");
    if (!s) return DC_ERR_NOMEM;
    double *u = s + K;
    for (int64_t i = 0; i < B; i++) {
        row_distances(b, z + i * M, s, u);
        float *qi = q + i * K;
        double norm = 1.0;
        if (kern.normalise) {
            double sum = 0.0;
            for (int64_t j = 0; j < K; j++) sum += 1.0 / (1.0 + u[j]);
            norm = 1.0 / sum;
        }
        for (int64_t j = 0; j < K; j++) qi[j] = (float)(norm / (1.0 + u[j]));
    }
    dci_scratch_release(&sc);
    return DC_OK;
}

dc_status dci_assign_target(const float *q, int64_t n, int64_t K, float *p) {
    DCI_CHECK_NULL(q);
    DCI_CHECK_NULL(p);
    DCI_TRY(check_sizes("target distribution", n, 1, K));
    dci_scratch sc;
    double *f = dci_scratch_get(&sc, 2 * K, "target distribution scratch");
    if (!f) return DC_ERR_NOMEM;
    double *t = f + K;
    for (int64_t j = 0; j < K; j++) f[j] = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < K; j++) f[j] += q[i * K + j];
    /* 1/f_j, with an all-zero cluster contributing nothing rather than 0/0. */
    for (int64_t j = 0; j < K; j++) f[j] = f[j] > 0.0 ? 1.0 / f[j] : 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *qi = q + i * K;
        double sum = 0.0;
        for (int64_t j = 0; j < K; j++) {
            double v = (double)qi[j];
            t[j] = v * v * f[j];
            sum += t[j];
        }
        float *pi = p + i * K;
        if (sum > 0.0) {
            for (int64_t j = 0; j < K; j++) pi[j] = (float)(t[j] / sum);
        } else {
            for (int64_t j = 0; j < K; j++) pi[j] = (float)(1.0 / (double)K);
        }
    }
    dci_scratch_release(&sc);
    return DC_OK;
}

void dci_assign_labels(const float *q, int64_t n, int64_t K, int32_t *labels) {
    for (int64_t i = 0; i < n; i++) {
        const float *qi = q + i * K;
        int64_t best = 0;
        for (int64_t j = 1; j < K; j++)
            if (qi[j] > qi[best]) best = j;
        labels[i] = (int32_t)best;
    }
}

/* The loss depends on z and r only through s_ij, so each row reduces to
 * g_j = dL/ds_ij; then dL/dz_im = sum_j g_j 2 w_jm (z_im - r_jm) and
 * dL/dr_jm = -sum_i g_j 2 w_jm (z_im - r_jm).
 * With log k = -log(1 + a s^b):  d log k / ds = -a b s^(b-1) / (1 + a s^b),
 * and dL/d log k_j is -p_j (unnormalised CE) or -(p_j - qhat_j sum_j' p_j')
 * (CE and KL through qhat: the log-normaliser couples the K entries). */
dc_status dci_assign_loss(const dci_assign_batch *b, dci_closs loss, const float *p, double scale,
                          float *dz, float *dr, double *value) {
    DCI_CHECK_NULL(p);
    DCI_TRY(check_batch(b, __func__, "clustering loss"));
    const dci_kernel kern = b->kern;
    const float *z = b->z, *r = b->r, *w = b->w;
    const int64_t B = b->B, M = b->M, K = b->K;
    if (loss != DCI_CLOSS_CE && loss != DCI_CLOSS_CE_UNNORM && loss != DCI_CLOSS_KL)
        return dci_fail(DC_ERR_INVALID_ARG, "clustering loss: unknown loss %d", (int)loss);
    /* CE on the kernel output is CE on qhat when the kernel is already normalised. */
    int through_qhat = loss != DCI_CLOSS_CE_UNNORM || kern.normalise;
    int want_grad = dz != NULL || dr != NULL;

    dci_scratch sc;
    double *s = dci_scratch_get(&sc, 3 * K + (dr ? K * M : 0), "clustering loss scratch");
    if (!s) return DC_ERR_NOMEM;
    double *u = s + K, *g = u + K, *acc_r = g + K;
    if (dr)
        for (int64_t t = 0; t < K * M; t++) acc_r[t] = 0.0;

    const double inv_b = 1.0 / (double)B;
    double total = 0.0;
    for (int64_t i = 0; i < B; i++) {
        const float *zi = z + i * M, *pi = p + i * K;
        row_distances(b, zi, s, u);
        double ksum = 0.0, psum = 0.0;
        for (int64_t j = 0; j < K; j++) {
            ksum += 1.0 / (1.0 + u[j]);
            psum += pi[j];
        }
        const double log_ksum = through_qhat ? log(ksum) : 0.0;
        for (int64_t j = 0; j < K; j++) {
            const double pj = pi[j];
            /* log k computed as -log1p(u): exact for tiny k, no log(0). */
            const double log_q = -log1p(u[j]) - log_ksum;
            if (pj != 0.0) {
                total -= pj * log_q;
                if (loss == DCI_CLOSS_KL) total += pj * log(pj);
            }
            if (!want_grad) continue;
            const double kj = 1.0 / (1.0 + u[j]);
            const double dl_dlogk = through_qhat ? -(pj - kj / ksum * psum) : -pj;
            /* a b s^(b-1) = b u / s, which saves a pow; below the floor the
             * guarded a b floor^(b-1). */
            double ab_slope;
            if (kern.b == 1.0) ab_slope = kern.a;
            else if (s[j] >= DCI_ASSIGN_S_FLOOR) ab_slope = kern.b * u[j] / s[j];
            else ab_slope = kern.a * kern.b * pow(DCI_ASSIGN_S_FLOOR, kern.b - 1.0);
            g[j] = -dl_dlogk * ab_slope * kj * inv_b * scale;
        }
        if (!want_grad) continue;
        for (int64_t m = 0; m < M; m++) {
            const double zm = zi[m];
            double dzm = 0.0;
            for (int64_t j = 0; j < K; j++) {
                double t = 2.0 * g[j] * (zm - (double)r[j * M + m]);
                if (w) t *= (double)w[j * M + m];
                dzm += t;
                if (dr) acc_r[j * M + m] -= t;
            }
            if (dz) dz[i * M + m] += (float)dzm;
        }
    }
    if (dr)
        for (int64_t t = 0; t < K * M; t++) dr[t] += (float)acc_r[t];
    dci_scratch_release(&sc);
    total *= inv_b;
    if (value) *value = total;
    if (!isfinite(total))
        return dci_fail(DC_ERR_NUMERIC, "clustering loss is not finite (NaN/Inf in embeddings, "
                                        "centres, weights or target)");
    return DC_OK;
}

int64_t dci_count_labels(const int32_t *labels, int64_t n, int64_t K) {
    unsigned char *seen = DCI_NEW_ZEROS(unsigned char, K, "label counts");
    if (!seen) return -1;
    int64_t distinct = 0;
    for (int64_t i = 0; i < n; i++)
        if (!seen[labels[i]]) {
            seen[labels[i]] = 1;
            distinct++;
        }
    dci_free(seen);
    return distinct;
}
