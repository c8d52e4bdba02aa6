#include "cluster/neighbor_max.h"

#include "core/error.h"
#include "graph/knn.h"

dc_status dci_nmax_check_k(int64_t k, int64_t n) {
    if (k < 1 || k >= n)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "neighbours: %lld asked, need 1 to n - 1 with n = %lld samples",
                        (long long)k, (long long)n);
    return DC_OK;
}

void dci_nmax_forward(const float *e, int64_t B, int64_t k, int64_t M, float *v, int32_t *arg) {
    for (int64_t i = 0; i < B; i++) {
        const float *ei = e + i * k * M;
        float *vi = v + i * M;
        int32_t *ai = arg ? arg + i * M : NULL;
        for (int64_t m = 0; m < M; m++) {
            float best = ei[m];
            int32_t win = 0;
            for (int64_t l = 1; l < k; l++) {
                float c = ei[l * M + m];
                if (c > best) {
                    best = c;
                    win = (int32_t)l;
                }
            }
            vi[m] = best;
            if (ai) ai[m] = win;
        }
    }
}

void dci_nmax_backward(const float *g, const int32_t *arg, int64_t B, int64_t k, int64_t M,
                       float *de) {
    for (int64_t i = 0; i < B; i++) {
        const float *gi = g + i * M;
        const int32_t *ai = arg + i * M;
        float *di = de + i * k * M;
        for (int64_t l = 0; l < k; l++)
            for (int64_t m = 0; m < M; m++) di[l * M + m] = ai[m] == l ? gi[m] : 0.0f;
    }
}

void dci_nmax_self(int64_t n, int64_t k, int64_t *idx) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t l = 0; l < k; l++) idx[i * k + l] = i;
}

dc_status dci_nmax_knn_batch(const float *emb, int64_t B, int64_t M, int64_t k, int64_t *idx) {
    DCI_CHECK_NULL(emb);
    DCI_CHECK_NULL(idx);
    if (k < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "batch neighbours: k = %lld must be >= 1",
                        (long long)k);
    if (B < 0 || M < 1)
        return dci_fail(DC_ERR_SHAPE, "batch neighbours: %lld x %lld embeddings", (long long)B,
                        (long long)M);
    if (k >= B) {
        dci_nmax_self(B, k, idx);
        return DC_OK;
    }
    return dci_knn_self(emb, B, M, k, idx, NULL);
}
