#include "graph/knn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "deepclust/graph.h"

/* Tile sizes: a query tile of up to TQ rows against a reference tile of TR
 * rows is one sgemm into a TQ x TR float buffer (8 MB), small enough to stay
 * cache friendly for the scan that follows, large enough for sgemm to run at
 * speed. TQ shrinks when k is large so the per-query state stays bounded. */
enum { KNN_TQ = 512, KNN_TR = 4096, KNN_SCAN_BLOCK = 16 };
#define KNN_STATE_BUDGET ((int64_t)64 << 20) /* bytes of per-query state per tile */

typedef struct knn_entry {
    double d2; /* exact squared distance, or a lower bound on it */
    int64_t j;
} knn_entry;

/* Max-heap order: "a is worse than b" = farther, or as far with a higher index. */
static int worse(const knn_entry *a, const knn_entry *b) {
    return a->d2 > b->d2 || (a->d2 == b->d2 && a->j > b->j);
}

static int cmp_entry(const void *pa, const void *pb) {
    const knn_entry *a = pa, *b = pb;
    return worse(a, b) - worse(b, a);
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

/* Offers c to a max-heap of capacity k holding *size entries. */
static void heap_offer(knn_entry *h, int64_t *size, int64_t k, knn_entry c) {
    if (*size < k) {
        h[*size] = c;
        sift_up(h, (*size)++);
    } else if (worse(&h[0], &c)) {
        h[0] = c;
        sift_down(h, k, 0);
    }
}

/* Squared distance in float64. Eight partial sums let the compiler vectorise
 * (a single running sum is one dependent add per coordinate); the order is
 * fixed and symmetric in a, b, so d(a, b) == d(b, a) bit for bit. */
static double exact_d2(const float *a, const float *b, int64_t d) {
    double acc[8] = {0};
    int64_t t = 0;
    for (; t + 8 <= d; t += 8)
        for (int l = 0; l < 8; l++) {
            double diff = (double)a[t + l] - (double)b[t + l];
            acc[l] += diff * diff;
        }
    for (; t < d; t++) {
        double diff = (double)a[t] - (double)b[t];
        acc[0] += diff * diff;
    }
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
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

/* Per-query search state. The cheap mode keeps candidates by their lower
 * bound lo = screened - err and admits a reference only if lo <= U, where U is
 * the k-th smallest upper bound screened + err seen so far (so at least k
 * points are within U, and every true neighbour has lo <= U). Exact distances
 * are then computed only for the few survivors, at the end. If pruning cannot
 * keep the list short (many points tied within the rounding bound, e.g. mass
 * duplicates), the query switches to exact mode: a heap of the k best exact
 * distances, every admitted candidate rechecked at once. */
typedef struct knn_query {
    int exact;
    double bound;      /* U (cheap mode) or the k-th best exact d2; +inf until k seen */
    knn_entry *cand;   /* cheap: (lo, j) list; exact: max-heap of (d2, j) */
    int64_t ncand;
    knn_entry *upper;  /* cheap: max-heap of (upper bound, j), k entries */
    int64_t nupper;
} knn_query;

typedef struct knn_ctx {
    const float *ref, *q;
    int64_t d, k, cap;
    int self;
} knn_ctx;

/* Drops candidates that can no longer be among the k nearest. */
static void prune(knn_query *s) {
    int64_t w = 0;
    for (int64_t e = 0; e < s->ncand; e++)
        if (s->cand[e].d2 <= s->bound) s->cand[w++] = s->cand[e];
    s->ncand = w;
}

/* The k best candidates by exact (d2, j), ascending, into cand[0..k). */
static void exact_best(const knn_ctx *c, knn_query *s, int64_t gi) {
    prune(s);
    for (int64_t e = 0; e < s->ncand; e++)
        s->cand[e].d2 = exact_d2(c->q + gi * c->d, c->ref + s->cand[e].j * c->d, c->d);
    qsort(s->cand, (size_t)s->ncand, sizeof *s->cand, cmp_entry);
    if (s->ncand > c->k) s->ncand = c->k;
}

static void switch_to_exact(const knn_ctx *c, knn_query *s, int64_t gi) {
    exact_best(c, s, gi);
    /* Descending order is a valid max-heap. */
    for (int64_t a = 0, b = s->ncand - 1; a < b; a++, b--) {
        knn_entry t = s->cand[a];
        s->cand[a] = s->cand[b];
        s->cand[b] = t;
    }
    s->exact = 1;
    s->bound = s->ncand == c->k ? s->cand[0].d2 : INFINITY;
}

/* Reference gj passed the screen for query gi, with bounds [lo, hi] on d2. */
static void admit(const knn_ctx *c, knn_query *s, int64_t gi, int64_t gj, double lo, double hi) {
    if (s->exact) {
        knn_entry e = {exact_d2(c->q + gi * c->d, c->ref + gj * c->d, c->d), gj};
        heap_offer(s->cand, &s->ncand, c->k, e);
        if (s->ncand == c->k) s->bound = s->cand[0].d2;
        return;
    }
    heap_offer(s->upper, &s->nupper, c->k, (knn_entry){hi, gj});
    if (s->nupper == c->k) s->bound = s->upper[0].d2;
    if (lo > s->bound) return;
    s->cand[s->ncand++] = (knn_entry){lo, gj};
    if (s->ncand == c->cap) {
        prune(s);
        if (s->ncand > c->cap / 2) switch_to_exact(c, s, gi);
    }
}

/* Threshold on g = |r|^2 (1 - tol) - 2 q.r for a query with squared norm qn: a
 * candidate passes when its lower bound is <= bound. Rounded up to float. */
static float screen_threshold(double bound, float qn, double tol) {
    float thr = (float)(bound - qn * (1.0 - tol));
    return isfinite(thr) ? nextafterf(thr, INFINITY) : thr;
}

/* Whether any of a fixed-size block passes the screen: a constant trip count
 * and an integer count let the compiler vectorise it (the scan over all nq x nr
 * screened values is the only non-GEMM O(n^2) work). */
__attribute__((noinline)) static int block_passes(const float *g, float thr) {
    int count = 0;
    for (int j = 0; j < KNN_SCAN_BLOCK; j++) count += g[j] <= thr;
    return count != 0;
}

dc_status dci_knn_select(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                         int64_t k, int64_t k_out, int64_t *idx, float *dist, int64_t p_mean,
                         double *mean_dist) {
    DCI_TRY(check_args(ref, nr, q, nq, d, k, k_out, mean_dist ? p_mean : 0));
    const int self = (q == NULL);
    if (self) q = ref;
    if (nq == 0) return DC_OK;

    const knn_ctx ctx = {ref, q, d, k, 2 * k + 64, self};
    const int64_t per_query = (ctx.cap + k) * (int64_t)sizeof(knn_entry);
    int64_t tq = KNN_STATE_BUDGET / per_query;
    if (tq > KNN_TQ) tq = KNN_TQ;
    if (tq < 16) tq = 16;
    if (tq > nq) tq = nq;
    const int64_t tr = nr < KNN_TR ? nr : KNN_TR;
    /* Rounding bound of the screened value relative to |cq|^2 + |cr|^2: sgemm
     * dot product (d u), centring (4 u), norms and key arithmetic (~4 u),
     * with a factor 2 of margin; u = FLT_EPSILON / 2. */
    const double tol = (double)(d + 16) * FLT_EPSILON;

    float *mu = DCI_NEW_ZEROS(float, d, "kNN mean");
    double *musum = DCI_NEW_ZEROS(double, d, "kNN mean");
    float *rnorm = DCI_NEW_ARRAY(float, nr, "kNN reference norms");
    float *radj = DCI_NEW_ARRAY(float, tr, "kNN screen terms");
    float *qc = DCI_NEW_ARRAY(float, tq * d, "kNN query tile");
    float *qnorm = DCI_NEW_ARRAY(float, tq, "kNN query norms");
    float *rc = DCI_NEW_ARRAY(float, tr * d, "kNN reference tile");
    float *g = DCI_NEW_ARRAY(float, tq * tr, "kNN distance tile");
    knn_entry *cand_mem = DCI_NEW_ARRAY(knn_entry, tq * ctx.cap, "kNN candidates");
    knn_entry *upper_mem = DCI_NEW_ARRAY(knn_entry, tq * k, "kNN bounds");
    knn_query *qs = DCI_NEW_ARRAY(knn_query, tq, "kNN query state");
    dc_status st = DC_OK;
    if (!mu || !musum || !rnorm || !radj || !qc || !qnorm || !rc || !g || !cand_mem ||
        !upper_mem || !qs) {
        st = DC_ERR_NOMEM;
        goto done;
    }

    /* Centring on the reference mean keeps |c|^2 small, hence the rounding
     * of the GEMM expression and the number of candidates to recheck. */
    for (int64_t j = 0; j < nr; j++)
        for (int64_t t = 0; t < d; t++) musum[t] += ref[j * d + t];
    for (int64_t t = 0; t < d; t++) mu[t] = (float)(musum[t] / (double)nr);
    for (int64_t j = 0; j < nr; j++) {
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++) {
            float cj = ref[j * d + t] - mu[t];
            sum += (double)cj * cj;
        }
        rnorm[j] = (float)sum;
    }

    for (int64_t q0 = 0; q0 < nq; q0 += tq) {
        const int64_t mq = nq - q0 < tq ? nq - q0 : tq;
        center_rows(q, q0, mq, d, mu, qc, qnorm);
        for (int64_t i = 0; i < mq; i++)
            qs[i] = (knn_query){0, INFINITY, cand_mem + i * ctx.cap, 0, upper_mem + i * k, 0};
        for (int64_t r0 = 0; r0 < nr; r0 += tr) {
            const int64_t mr = nr - r0 < tr ? nr - r0 : tr;
            center_rows(ref, r0, mr, d, mu, rc, NULL);
            for (int64_t j = 0; j < mr; j++) radj[j] = (float)(rnorm[r0 + j] * (1.0 - tol));
            /* g = |r|^2 (1 - tol) - 2 q.r: the screened value |q|^2 + |r|^2 - 2 q.r
             * minus its error bound, less |q|^2 (1 - tol). Prefilling and beta = 1
             * spare sgemm its separate pass over the tile to apply beta = 0. */
            for (int64_t i = 0; i < mq; i++) memcpy(g + i * mr, radj, (size_t)mr * sizeof *g);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)mr, (int)d, -2.0f,
                        qc, (int)d, rc, (int)d, 1.0f, g, (int)mr);
            for (int64_t i = 0; i < mq; i++) {
                knn_query *sq = &qs[i];
                const int64_t gi = q0 + i;
                const float *gr = g + i * mr;
                const double qn = qnorm[i];
                float thr = screen_threshold(sq->bound, qnorm[i], tol);
                for (int64_t j0 = 0; j0 < mr; j0 += KNN_SCAN_BLOCK) {
                    const int64_t j1 = j0 + KNN_SCAN_BLOCK < mr ? j0 + KNN_SCAN_BLOCK : mr;
                    if (j1 - j0 == KNN_SCAN_BLOCK && !block_passes(gr + j0, thr)) continue;
                    for (int64_t j = j0; j < j1; j++) {
                        if (!(gr[j] <= thr)) continue;
                        const int64_t gj = r0 + j;
                        if (self && gj == gi) continue;
                        const double lo = qn * (1.0 - tol) + gr[j];
                        admit(&ctx, sq, gi, gj, lo, lo + 2.0 * tol * (qn + rnorm[gj]));
                        thr = screen_threshold(sq->bound, qnorm[i], tol);
                    }
                }
            }
        }
        for (int64_t i = 0; i < mq; i++) {
            knn_query *sq = &qs[i];
            const int64_t gi = q0 + i;
            if (sq->exact) qsort(sq->cand, (size_t)sq->ncand, sizeof *sq->cand, cmp_entry);
            else exact_best(&ctx, sq, gi);
            for (int64_t l = 0; l < k_out; l++) {
                if (idx) idx[gi * k_out + l] = sq->cand[l].j;
                if (dist) dist[gi * k_out + l] = (float)sqrt(sq->cand[l].d2);
            }
            if (mean_dist) {
                double sum = 0.0;
                for (int64_t l = 0; l < p_mean; l++) sum += sqrt(sq->cand[l].d2);
                mean_dist[gi] = sum / (double)p_mean;
            }
        }
    }

done:
    dci_free(mu);
    dci_free(musum);
    dci_free(rnorm);
    dci_free(radj);
    dci_free(qc);
    dci_free(qnorm);
    dci_free(rc);
    dci_free(g);
    dci_free(cand_mem);
    dci_free(upper_mem);
    dci_free(qs);
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
