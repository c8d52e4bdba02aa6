/* The neighbour-max encoder branch: forward and backward of the element-wise
 * max, and the batch-local neighbour lists. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "cluster/neighbor_max.h"
#include "core/rng.h"
#include "deepclust/status.h"
#include "test_random.h"

static void test_nmax(void) {
    /* B = 2, k = 3, M = 2; row i*k + l. Sample 1, dimension 0 ties at 4
     * between l = 1 and l = 2 -> l = 1. */
    const float e[12] = {1, -1, /**/ 3, -5, /**/ 2, 0,   /* sample 0 */
                         0, 9,  /**/ 4, 7,  /**/ 4, 8};  /* sample 1 */
    float v[4];
    int32_t arg[4];
    dci_nmax_forward(e, 2, 3, 2, v, arg);
    CHECK(v[0] == 3 && v[1] == 0 && v[2] == 4 && v[3] == 9);
    CHECK(arg[0] == 1 && arg[1] == 2 && arg[2] == 1 && arg[3] == 0);
    const float g[4] = {0.5f, -2, 3, 7};
    float de[12];
    dci_nmax_backward(g, arg, 2, 3, 2, de);
    const float want[12] = {0, 0, 0.5f, 0, 0, -2, 0, 7, 3, 0, 0, 0};
    int same = 1;
    for (int t = 0; t < 12; t++) same &= de[t] == want[t];
    CHECK(same);

    /* Backward vs finite differences of S = sum g . v on random encodings
     * (values on a 0.01 grid, so h = 1e-3 never changes a winner). */
    enum { B = 6, k = 3, M = 4 };
    float ee[B * k * M], gg[B * M], vv[B * M], dd[B * k * M];
    int32_t aa[B * M];
    for (int t = 0; t < B * k * M; t++) ee[t] = (float)(0.01 * (double)dci_rng_below(&rng, 50));
    fill(gg, B * M, -1, 1);
    dci_nmax_forward(ee, B, k, M, vv, aa);
    dci_nmax_backward(gg, aa, B, k, M, dd);
    /* Exact check on entries without ties; ties checked by the rule below. */
    int ok = 1;
    for (int i = 0; i < B; i++)
        for (int m = 0; m < M; m++) {
            float best = ee[i * k * M + m];
            int win = 0, ties = 0;
            for (int l = 1; l < k; l++) {
                float c = ee[(i * k + l) * M + m];
                if (c > best) best = c, win = l, ties = 0;
                else if (c == best) ties++;
            }
            for (int l = 0; l < k; l++) {
                int t = (i * k + l) * M + m;
                ok &= dd[t] == (l == win ? gg[i * M + m] : 0.0f);
                if (!ties) {
                    float x0 = ee[t];
                    ee[t] = x0 + 1e-3f;
                    dci_nmax_forward(ee, B, k, M, vv, NULL);
                    double sp = 0;
                    for (int u = 0; u < B * M; u++) sp += (double)gg[u] * vv[u];
                    ee[t] = x0 - 1e-3f;
                    dci_nmax_forward(ee, B, k, M, vv, NULL);
                    double sm = 0;
                    for (int u = 0; u < B * M; u++) sm += (double)gg[u] * vv[u];
                    ee[t] = x0;
                    double fd = (sp - sm) / ((double)(x0 + 1e-3f) - (double)(x0 - 1e-3f));
                    ok &= fabs(fd - dd[t]) < 1e-4;
                }
            }
        }
    CHECK(ok);

    CHECK_STATUS(dci_nmax_check_k(2, 10), DC_OK);
    CHECK_STATUS(dci_nmax_check_k(0, 10), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_nmax_check_k(10, 10), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_nmax_check_k(9, 10), DC_OK);
}

typedef struct {
    double d;
    int64_t j;
} cand;

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->j < y->j ? -1 : (x->j > y->j);
}

static void test_knn_batch(void) {
    enum { B = 40, M = 5 };
    float x[B * M];
    fill(x, B * M, -1, 1);
    /* Exact duplicates and equidistant points exercise the tie rule. */
    for (int m = 0; m < M; m++) x[7 * M + m] = x[3 * M + m], x[20 * M + m] = x[3 * M + m];
    const int64_t ks[3] = {1, 3, 8};
    for (int c = 0; c < 3; c++) {
        int64_t k = ks[c], idx[B * 8];
        CHECK_OK(dci_nmax_knn_batch(x, B, M, k, idx));
        int ok = 1;
        for (int64_t i = 0; i < B; i++) {
            cand all[B];
            int64_t n = 0;
            for (int64_t j = 0; j < B; j++) {
                if (j == i) continue;
                double d = 0;
                for (int m = 0; m < M; m++) {
                    double t = (double)x[i * M + m] - x[j * M + m];
                    d += t * t;
                }
                all[n].d = d, all[n].j = j, n++;
            }
            qsort(all, (size_t)n, sizeof all[0], cand_cmp);
            for (int64_t l = 0; l < k; l++) ok &= idx[i * k + l] == all[l].j;
        }
        CHECK_MSG(ok, "batch kNN differs from brute force for k = %lld", (long long)k);
    }
    int64_t idx3[3 * 2];
    CHECK_OK(dci_nmax_knn_batch(x, 3, M, 2, idx3));
    CHECK(idx3[0] != 0 && idx3[1] != 0 && idx3[0] != idx3[1]);
    /* k >= B: each sample is its own neighbour. */
    int64_t self[2 * 2];
    CHECK_OK(dci_nmax_knn_batch(x, 2, M, 2, self));
    CHECK(self[0] == 0 && self[1] == 0 && self[2] == 1 && self[3] == 1);
    int64_t one[3];
    CHECK_OK(dci_nmax_knn_batch(x, 1, M, 3, one));
    CHECK(one[0] == 0 && one[1] == 0 && one[2] == 0);
    CHECK_STATUS(dci_nmax_knn_batch(x, B, M, 0, idx3), DC_ERR_INVALID_ARG);

    /* With self lists the neighbour-max branch is the sample's own encoding. */
    float enc[3 * 2] = {1, 2, 3, 4, 5, 6}, rep[3 * 2 * 2], v[3 * 2];
    int64_t sl[3 * 2];
    dci_nmax_self(3, 2, sl);
    for (int t = 0; t < 6; t++)
        for (int m = 0; m < 2; m++) rep[t * 2 + m] = enc[sl[t] * 2 + m];
    dci_nmax_forward(rep, 3, 2, 2, v, NULL);
    int same = 1;
    for (int t = 0; t < 6; t++) same &= v[t] == enc[t];
    CHECK(same);
}

static const dct_case cases[] = {DCT_CASE(nmax), DCT_CASE(knn_batch)};

int main(int argc, char **argv) {
    dci_rng_init(&rng, 12345, DCI_STREAM_TEST);
    return dct_run(cases, DCT_COUNT(cases), argc, argv);
}
