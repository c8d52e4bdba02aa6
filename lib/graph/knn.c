#include "graph/knn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "deepclust/graph.h"

/* Tile sizes: a query tile of TQ rows against a reference tile of TR rows is
 * one sgemm into a TQ x TR float buffer (8 MB), small enough to stay cache
 * friendly for the scan that follows, large enough for sgemm to run at speed. */
enum { KNN_TQ = 512, KNN_TR = 4096, KNN_SCAN_BLOCK = 16 };

typedef struct knn_entry {
    double d2; /* exact squared distance */
    int64_t j;
} knn_entry;

/* Heap order: "a is worse than b" = farther, or as far with a higher index. */
static int worse(const knn_entry *a, const knn_entry *b) {
    return a->d2 > b->d2 || (a->d2 == b->d2 && a->j > b->j);
}

static void sift_down(knn_entry *h, int64_t size, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < size && worse(&h[l], &h[top])) top = l;
        if (r < size && worse(&h[r], &h[top])) top = r;
        if (top == i) return;
        knn_entry t = h[i];
        h[i] = h[top];
        h[top] = t;
        i = top;
    }
}

static void sift_up(knn_entry *h, int64_t i) {
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!worse(&h[i], &h[parent])) return;
        knn_entry t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

/* Max-heap of the k best so far for one query. */
typedef struct knn_heap {
    knn_entry *e;
    int64_t size;
} knn_heap;

/* Offers (d2, j); returns the new admission bound: the worst kept squared
 * distance once the heap is full, +inf before. */
static double heap_offer(knn_heap *h, int64_t k, double d2, int64_t j) {
    knn_entry c = {d2, j};
    if (h->size < k) {
        h->e[h->size] = c;
        sift_up(h->e, h->size++);
    } else if (worse(&h->e[0], &c)) {
        h->e[0] = c;
        sift_down(h->e, k, 0);
    }
    return h->size < k ? INFINITY : h->e[0].d2;
}

/* Heap sort in place: ascending (distance, index). */
static void heap_sort(knn_heap *h) {
    for (int64_t end = h->size - 1; end > 0; end--) {
        knn_entry t = h->e[0];
        h->e[0] = h->e[end];
        h->e[end] = t;
        sift_down(h->e, end, 0);
    }
}

static double exact_d2(const float *a, const float *b, int64_t d) {
    double s = 0.0;
    for (int64_t t = 0; t < d; t++) {
        double diff = (double)a[t] - (double)b[t];
        s += diff * diff;
    }
    return s;
}

/* rows [r0, r0+m) of a minus mu, into out (m x d), and their squared norms. */
static void center_rows(const float *a, int64_t r0, int64_t m, int64_t d, const float *mu,
                        float *out, float *norm2) {
    for (int64_t i = 0; i < m; i++) {
        const float *src = a + (r0 + i) * d;
        float *dst = out + i * d;
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) {
            dst[t] = src[t] - mu[t];
            s += (double)dst[t] * dst[t];
        }
        if (norm2) norm2[i] = (float)s;
    }
}

/* Threshold on |r|^2 (1 - tol) - 2 q.r for a query with squared norm qn whose
 * k-th best exact squared distance is `bound`; rounded up to float. */
static float screen_threshold(double bound, float qn, double tol) {
    float thr = (float)(bound - qn * (1.0 - tol));
    return isfinite(thr) ? nextafterf(thr, INFINITY) : thr;
}

static dc_status check_args(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                            int64_t k, int64_t k_out, int64_t p_mean) {
    DCI_CHECK_NULL(ref);
    if (d < 1) return dci_fail(DC_ERR_INVALID_ARG, "kNN: dimension d = %lld < 1", (long long)d);
    if (nr < 1 || nq < 0)
        return dci_fail(DC_ERR_INVALID_ARG, "kNN: %lld reference and %lld query rows",
                        (long long)nr, (long long)nq);
    int64_t avail = q ? nr : nr - 1;
    if (k < 1 || k > avail)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "kNN: k = %lld neighbours asked, need 1 <= k <= %lld (%s)",
                        (long long)k, (long long)avail,
                        q ? "number of reference points" : "number of other points");
    if (k_out < 0 || k_out > k || (p_mean != 0 && (p_mean < 1 || p_mean > k)))
        return dci_fail(DC_ERR_INVALID_ARG, "kNN: k_out = %lld, p_mean = %lld for k = %lld",
                        (long long)k_out, (long long)p_mean, (long long)k);
    DCI_TRY(dci_check_finite(ref, nr, d, q ? "kNN reference" : "kNN data"));
    if (q) DCI_TRY(dci_check_finite(q, nq, d, "kNN queries"));
    return DC_OK;
}

dc_status dci_knn_select(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                         int64_t k, int64_t k_out, int64_t *idx, float *dist, int64_t p_mean,
                         double *mean_dist) {
    DCI_TRY(check_args(ref, nr, q, nq, d, k, k_out, mean_dist ? p_mean : 0));
    const int self = (q == NULL);
    if (self) q = ref;
    if (nq == 0) return DC_OK;

    const int64_t tq = nq < KNN_TQ ? nq : KNN_TQ;
    const int64_t tr = nr < KNN_TR ? nr : KNN_TR;
    /* Rounding bound of the screened value relative to |cq|^2 + |cr|^2: sgemm
     * dot product (d u), centring (4 u), norms and key arithmetic (~4 u),
     * with a factor 2 of margin; u = FLT_EPSILON / 2. */
    const double tol = (double)(d + 16) * FLT_EPSILON;

    float *mu = DCI_NEW_ZEROS(float, d, "kNN mean");
    float *rnorm = DCI_NEW_ARRAY(float, nr, "kNN reference norms");
    float *radj = DCI_NEW_ARRAY(float, tr, "kNN screen terms");
    float *qc = DCI_NEW_ARRAY(float, tq * d, "kNN query tile");
    float *qnorm = DCI_NEW_ARRAY(float, tq, "kNN query norms");
    float *rc = DCI_NEW_ARRAY(float, tr * d, "kNN reference tile");
    float *g = DCI_NEW_ARRAY(float, tq * tr, "kNN distance tile");
    knn_entry *heap_mem = DCI_NEW_ARRAY(knn_entry, tq * k, "kNN heaps");
    knn_heap *heaps = DCI_NEW_ARRAY(knn_heap, tq, "kNN heaps");
    double *bound = DCI_NEW_ARRAY(double, tq, "kNN bounds");
    double *musum = DCI_NEW_ZEROS(double, d, "kNN mean");
    dc_status st = DC_OK;
    if (!mu || !rnorm || !radj || !qc || !qnorm || !rc || !g || !heap_mem || !heaps || !bound ||
        !musum) {
        st = DC_ERR_NOMEM;
        goto done;
    }

    /* Centring on the reference mean keeps |c|^2 small, hence the rounding
     * of the GEMM expression and the number of candidates to recheck. */
    for (int64_t j = 0; j < nr; j++)
        for (int64_t t = 0; t < d; t++) musum[t] += ref[j * d + t];
    for (int64_t t = 0; t < d; t++) mu[t] = (float)(musum[t] / (double)nr);
    for (int64_t j = 0; j < nr; j++) {
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) {
            float c = ref[j * d + t] - mu[t];
            s += (double)c * c;
        }
        rnorm[j] = (float)s;
    }

    for (int64_t q0 = 0; q0 < nq; q0 += tq) {
        const int64_t mq = nq - q0 < tq ? nq - q0 : tq;
        center_rows(q, q0, mq, d, mu, qc, qnorm);
        for (int64_t i = 0; i < mq; i++) {
            heaps[i].e = heap_mem + i * k;
            heaps[i].size = 0;
            bound[i] = INFINITY;
        }
        for (int64_t r0 = 0; r0 < nr; r0 += tr) {
            const int64_t mr = nr - r0 < tr ? nr - r0 : tr;
            center_rows(ref, r0, mr, d, mu, rc, NULL);
            for (int64_t j = 0; j < mr; j++) radj[j] = (float)(rnorm[r0 + j] * (1.0 - tol));
            /* g = -2 q.r, so the screened value is |q|^2 + |r|^2 + g. */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)mr, (int)d, -2.0f,
                        qc, (int)d, rc, (int)d, 0.0f, g, (int)mr);
            for (int64_t i = 0; i < mq; i++) {
                const int64_t gi = q0 + i;
                const float *gr = g + i * mr;
                const float *qi = q + gi * d;
                /* Candidate j can beat the k-th best (exact d2 = bound) only if
                 * screened - tol (|q|^2 + |r|^2) <= bound. */
                float thr = screen_threshold(bound[i], qnorm[i], tol);
                for (int64_t j0 = 0; j0 < mr; j0 += KNN_SCAN_BLOCK) {
                    const int64_t j1 = j0 + KNN_SCAN_BLOCK < mr ? j0 + KNN_SCAN_BLOCK : mr;
                    int any = 0;
                    for (int64_t j = j0; j < j1; j++) any |= (radj[j] + gr[j] <= thr);
                    if (!any) continue;
                    for (int64_t j = j0; j < j1; j++) {
                        if (!(radj[j] + gr[j] <= thr)) continue;
                        const int64_t gj = r0 + j;
                        if (self && gj == gi) continue;
                        double d2 = exact_d2(qi, ref + gj * d, d);
                        double b = heap_offer(&heaps[i], k, d2, gj);
                        if (b != bound[i]) {
                            bound[i] = b;
                            thr = screen_threshold(b, qnorm[i], tol);
                        }
                    }
                }
            }
        }
        for (int64_t i = 0; i < mq; i++) {
            knn_heap *h = &heaps[i];
            heap_sort(h);
            const int64_t gi = q0 + i;
            for (int64_t l = 0; l < k_out; l++) {
                if (idx) idx[gi * k_out + l] = h->e[l].j;
                if (dist) dist[gi * k_out + l] = (float)sqrt(h->e[l].d2);
            }
            if (mean_dist) {
                double s = 0.0;
                for (int64_t l = 0; l < p_mean; l++) s += sqrt(h->e[l].d2);
                mean_dist[gi] = s / (double)p_mean;
            }
        }
    }

done:
    dci_free(mu);
    dci_free(rnorm);
    dci_free(radj);
    dci_free(qc);
    dci_free(qnorm);
    dci_free(rc);
    dci_free(g);
    dci_free(heap_mem);
    dci_free(heaps);
    dci_free(bound);
    dci_free(musum);
    return st;
}

dc_status dci_knn_self(const float *x, int64_t n, int64_t d, int64_t k, int64_t *idx,
                       float *dist) {
    DCI_CHECK_NULL(idx);
    return dci_knn_select(x, n, NULL, n, d, k, k, idx, dist, 0, NULL);
}

dc_status dci_knn_query(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                        int64_t k, int64_t *idx, float *dist) {
    DCI_CHECK_NULL(q);
    DCI_CHECK_NULL(idx);
    return dci_knn_select(ref, nr, q, nq, d, k, k, idx, dist, 0, NULL);
}

/* ---- public API ---------------------------------------------------------- */

dc_status dc_knn(const float *x, int64_t n, int64_t d, int64_t k, int64_t *idx, float *dist) {
    return dci_knn_self(x, n, d, k, idx, dist);
}

dc_status dc_knn_query(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                       int64_t k, int64_t *idx, float *dist) {
    return dci_knn_query(ref, nr, q, nq, d, k, idx, dist);
}
