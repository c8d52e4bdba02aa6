#include "graph/knn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "deepclust/graph.h"
#include "graph/knn_select.h"

/* Tile sizes: a query tile of up to TQ rows against a reference tile of TR
 * rows is one sgemm into a TQ x TR float buffer (8 MB), small enough to stay
 * cache friendly for the scan that follows, large enough for sgemm to run at
 * speed. TQ shrinks when k is large so the per-query state stays bounded. */
enum { KNN_TQ = 512, KNN_TR = 4096, KNN_SCAN_BLOCK = 16 };
#define KNN_STATE_BUDGET ((int64_t)64 << 20) /* bytes of per-query state per tile */
/* Cells: about this many references each, at most KNN_CELL_MAX of them (the
 * per-tile bound matrix is TQ x cells), placed by a few Lloyd steps (their
 * quality only changes how much is skipped, never the result). */
#define KNN_CELL_SIZE 2048
#define KNN_CELL_MAX 1024
#define KNN_LLOYD_STEPS 2
/* Relative slack on the cell bounds for the double rounding of sqrt and of
 * the radius (the float rounding of the GEMM is covered by tol). */
#define KNN_CELL_SLACK 1e-12
/* What the relative bound tol cannot cover: rows with tiny coordinates next
 * to huge ones (1e-6 beside 1e30) still meet subnormals, each rounded to
 * 2^-149 at worst; the sums of a dot product and a norm add at most 2d + 16
 * such errors (in screen units). */
#define KNN_ABS_ERR(d) ((double)(2 * (d) + 16) * 0x1p-149)

/* The hot row loops benefit from 8-wide vectors; the default build targets
 * baseline x86-64. Without FMA contraction (ISO C mode) both clones round
 * identically, so results do not depend on the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define KNN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KNN_VECTOR_CLONES
#endif

/* Squared distance in float64. Eight partial sums let the compiler vectorise
 * (a single running sum is one dependent add per coordinate); the order is
 * fixed and symmetric in a, b, so d(a, b) == d(b, a) bit for bit. */
KNN_VECTOR_CLONES static double exact_d2(const float *a, const float *b, int64_t d) {
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

static inline int64_t row_of(const int64_t *rows, int64_t p) {
    return rows ? rows[p] : p;
}

/* A coordinate in the screen's frame: centred, times the power of two
 * `scale`. scale 1 keeps the float subtraction (data of ordinary size give
 * bit for bit the results they always gave); otherwise the difference, which
 * may exceed the float range, is taken in double. */
static inline float screen_coord(float x, float mu, double scale) {
    return scale == 1.0 ? x - mu : (float)(((double)x - (double)mu) * scale);
}

/* Largest |x - mu| over the rows (rows[p], or 0..m-1 when rows is NULL). */
static double max_centred(const float *a, const int64_t *rows, int64_t m, int64_t d,
                          const float *mu) {
    double mx = 0.0;
    for (int64_t p = 0; p < m; p++) {
        const float *src = a + row_of(rows, p) * d;
        for (int64_t t = 0; t < d; t++) {
            const double v = fabs((double)src[t] - (double)mu[t]);
            if (v > mx) mx = v;
        }
    }
    return mx;
}

/* Threshold on g = |r|^2 (1 - tol) - 2 q.r for a query with squared norm qn: a
 * candidate passes when its lower bound qn (1 - tol) - eps + g is <= bound.
 * Rounded up to float. */
static float screen_threshold(double bound, double qn, double tol, double eps) {
    float thr = (float)(bound - qn * (1.0 - tol) + eps);
    return isfinite(thr) ? nextafterf(thr, INFINITY) : thr;
}

/* Bit l set iff g[l] <= thr, for l < 16. SSE2 (baseline x86-64) compares
 * four at a time and movemask turns lanes into bits, so a block costs a few
 * instructions whether or not anything passes, and the hits come out by
 * counting trailing zeros instead of sixteen unpredictable branches (about
 * half the blocks hold a hit at k/n = 1 %). */
static inline unsigned block_mask(const float *g, float thr) {
#if defined(__SSE2__)
    const __m128 t = _mm_set1_ps(thr);
    return (unsigned)_mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(g), t)) |
           (unsigned)_mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(g + 4), t)) << 4 |
           (unsigned)_mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(g + 8), t)) << 8 |
           (unsigned)_mm_movemask_ps(_mm_cmple_ps(_mm_loadu_ps(g + 12), t)) << 12;
#else
    unsigned mask = 0;
    for (int l = 0; l < KNN_SCAN_BLOCK; l++) mask |= (unsigned)(g[l] <= thr) << l;
    return mask;
#endif
}

/* Positions j in [j0, m) with g[j] <= thr, into hits, scanning until at least
 * `want` are found (whole blocks of 16); returns their number, *end = where
 * the scan stopped. The scan over all nq x nr screened values is the only
 * non-GEMM O(n^2) work. Stopping early lets the caller tighten thr as soon as
 * its buffer is full instead of collecting a whole loose row. */
static int64_t screen_row(const float *g, int64_t j0, int64_t m, float thr, int64_t want,
                          int32_t *hits, int64_t *end) {
    int64_t nh = 0;
    for (; j0 + KNN_SCAN_BLOCK <= m && nh < want; j0 += KNN_SCAN_BLOCK)
        for (unsigned mask = block_mask(g + j0, thr); mask; mask &= mask - 1)
            hits[nh++] = (int32_t)(j0 + __builtin_ctz(mask));
    if (nh < want)
        for (; j0 < m; j0++)
            if (g[j0] <= thr) hits[nh++] = (int32_t)j0;
    *end = j0;
    return nh;
}

/* ---- per-query selection ------------------------------------------------- */

/* Cheap mode keeps every candidate whose lower bound lo = screened - err is
 * <= U, where U is the k-th smallest upper bound screened + err seen so far
 * (so at least k references are within U and every true neighbour has
 * lo <= U); exact distances are computed only for the survivors, at the end.
 * U is refreshed only when the buffer fills (quickselect), so a candidate
 * costs O(1). If pruning cannot halve a full buffer (many points tied within
 * the rounding bound, e.g. mass duplicates), the query switches to exact
 * mode: keys become exact squared distances, and a full buffer is cut to the
 * k best by (d2, position). */
typedef struct knn_query {
    int exact;
    double bound; /* U (cheap mode) or the k-th best exact d2; +inf until known */
    double qn;    /* squared norm of the centred query */
    const float *qrow;
    knn_cand *buf;
    int64_t n;
} knn_query;

typedef struct knn_ctx {
    const float *x;
    const int64_t *ref_rows;
    int64_t d, k, cap;
    double tol, eps;    /* relative and absolute bounds on the screen's rounding */
    double scale2;      /* the screen's scale squared: exact d2 into screen units */
    const float *rnorm; /* squared norms of the centred references, by position */
    double *sa, *sb;    /* cap doubles each, for dci_knn_kth_smallest */
} knn_ctx;

/* Tightens the bound to the k-th smallest upper bound in the buffer and
 * drops the candidates it rules out. (A cheaper guessed bound, from a sample
 * of the entries and checked by counting, measured no faster.) */
static void cheap_bound(const knn_ctx *c, knn_query *s) {
    const double scale = 2.0 * c->tol, slack = 2.0 * c->eps;
    for (int64_t e = 0; e < s->n; e++)
        c->sa[e] = s->buf[e].key + scale * (s->qn + c->rnorm[s->buf[e].j]) + slack;
    double u = dci_knn_kth_smallest(c->sa, c->sb, s->n, c->k);
    if (u < s->bound) s->bound = u;
    int64_t w = 0;
    for (int64_t e = 0; e < s->n; e++) { /* branch-free filter */
        s->buf[w] = s->buf[e];
        w += s->buf[e].key <= s->bound;
    }
    s->n = w;
}

/* Rows a few candidates ahead are requested early: the rows are scattered
 * over the data, and waiting for each one dominated the exact recheck. */
#define KNN_PREFETCH_AHEAD 8

static void prefetch_row(const float *row, int64_t d) {
    for (int64_t t = 0; t < d; t += 64 / (int64_t)sizeof *row) __builtin_prefetch(row + t);
}

static void to_exact(const knn_ctx *c, knn_query *s) {
    const int64_t d = c->d;
    for (int64_t e = 0; e < s->n && e < KNN_PREFETCH_AHEAD; e++)
        prefetch_row(c->x + row_of(c->ref_rows, s->buf[e].j) * d, d);
    for (int64_t e = 0; e < s->n; e++) {
        if (e + KNN_PREFETCH_AHEAD < s->n)
            prefetch_row(c->x + row_of(c->ref_rows, s->buf[e + KNN_PREFETCH_AHEAD].j) * d, d);
        s->buf[e].key = exact_d2(s->qrow, c->x + row_of(c->ref_rows, s->buf[e].j) * d, d) *
                        c->scale2;
    }
    s->exact = 1;
}

/* Exact mode, n >= k: keeps the k best, bound = the k-th. */
static void keep_k_best(const knn_ctx *c, knn_query *s) {
    dci_knn_select_smallest(s->buf, s->n, c->k);
    s->n = c->k;
    s->bound = s->buf[c->k - 1].key;
}

static void on_full(const knn_ctx *c, knn_query *s) {
    if (!s->exact) {
        cheap_bound(c, s);
        if (s->n <= c->cap / 2) return;
        to_exact(c, s);
    }
    keep_k_best(c, s);
}

/* Leaves the k nearest, by exact d2, in buf[0..k) (any order). */
static void finish_query(const knn_ctx *c, knn_query *s) {
    if (!s->exact) {
        cheap_bound(c, s);
        to_exact(c, s);
    }
    keep_k_best(c, s);
}

/* Offers one screened row to a query: gr[j] = g value of reference position
 * rt[j]; gi = the query's own row to skip (self search), or -1. */
static void scan_row(const knn_ctx *c, knn_query *sq, int64_t gi, const float *gr,
                     const int64_t *rt, int64_t mr, int32_t *hits) {
    const double lo0 = sq->qn * (1.0 - c->tol) - c->eps;
    float thr = screen_threshold(sq->bound, sq->qn, c->tol, c->eps);
    for (int64_t j0 = 0; j0 < mr;) {
        const int64_t nh = screen_row(gr, j0, mr, thr, c->cap - sq->n, hits, &j0);
        for (int64_t h = 0; h < nh; h++) {
            const int64_t j = hits[h];
            if (!(gr[j] <= thr)) continue; /* the threshold tightened since */
            const int64_t pj = rt[j];
            const float *row = c->x + row_of(c->ref_rows, pj) * c->d;
            if (row_of(c->ref_rows, pj) == gi) continue;
            double key = lo0 + gr[j];
            if (sq->exact) {
                key = exact_d2(sq->qrow, row, c->d) * c->scale2;
                if (key > sq->bound) continue;
            }
            sq->buf[sq->n++] = (knn_cand){key, pj};
            if (sq->n == c->cap) {
                on_full(c, sq);
                thr = screen_threshold(sq->bound, sq->qn, c->tol, c->eps);
            }
        }
    }
}

/* ---- cells --------------------------------------------------------------- */

/* References grouped into c cells: positions members[start[l]..start[l+1])
 * (ascending), centre cen (raw coordinates, c x d) and radius rad (max exact
 * distance of a member to its centre). c == 1 with members == NULL is the
 * whole reference set in order. */
typedef struct knn_cells {
    int64_t c;
    int64_t *start, *members;
    float *cen;
    double *rad;
} knn_cells;

static void cells_free(knn_cells *cl) {
    dci_free(cl->start);
    dci_free(cl->members);
    dci_free(cl->cen);
    dci_free(cl->rad);
    memset(cl, 0, sizeof *cl);
}

/* The nearest cell centre of each of the rows rows[0..n) of x (rows NULL:
 * 0..n-1), through the plain search itself. */
static dc_status nearest_cell(const knn_cells *cl, const float *x, const int64_t *rows, int64_t n,
                              int64_t d, int64_t *label) {
    const dci_knn_args s = {.x = cl->cen, .nref = cl->c, .q = x, .q_rows = rows, .nq = n,
                            .d = d, .k = 1, .k_out = 1, .idx = label, .cells = 1};
    return dci_knn_search(&s);
}

static dc_status cells_build(const dci_knn_args *a, int64_t c, knn_cells *cl) {
    const int64_t nref = a->nref, d = a->d;
    memset(cl, 0, sizeof *cl);
    cl->c = c;
    cl->start = DCI_NEW_ZEROS(int64_t, c + 1, "kNN cells");
    cl->members = DCI_NEW_ARRAY(int64_t, nref, "kNN cell members");
    cl->cen = DCI_NEW_ARRAY(float, c * d, "kNN cell centres");
    cl->rad = DCI_NEW_ZEROS(double, c, "kNN cell radii");
    int64_t *label = DCI_NEW_ARRAY(int64_t, nref, "kNN cell labels");
    double *sum = DCI_NEW_ARRAY(double, c * d, "kNN cell sums");
    dc_status st = (cl->start && cl->members && cl->cen && cl->rad && label && sum) ? DC_OK
                                                                                   : DC_ERR_NOMEM;
    /* Evenly spaced references as initial centres: deterministic, and they
     * cover every part of a data set stored sorted by class. */
    for (int64_t l = 0; st == DC_OK && l < c; l++)
        memcpy(cl->cen + l * d, a->x + row_of(a->ref_rows, (2 * l + 1) * nref / (2 * c)) * d,
               (size_t)d * sizeof *cl->cen);
    for (int step = 0; st == DC_OK; step++) {
        st = nearest_cell(cl, a->x, a->ref_rows, nref, d, label);
        if (st != DC_OK || step == KNN_LLOYD_STEPS) break;
        memset(sum, 0, (size_t)(c * d) * sizeof *sum);
        memset(cl->start, 0, (size_t)(c + 1) * sizeof *cl->start);
        for (int64_t p = 0; p < nref; p++) {
            const float *xr = a->x + row_of(a->ref_rows, p) * d;
            double *sr = sum + label[p] * d;
            for (int64_t t = 0; t < d; t++) sr[t] += xr[t];
            cl->start[label[p]]++;
        }
        for (int64_t l = 0; l < c; l++)
            if (cl->start[l] > 0) /* an empty cell keeps its centre */
                for (int64_t t = 0; t < d; t++)
                    cl->cen[l * d + t] = (float)(sum[l * d + t] / (double)cl->start[l]);
    }
    if (st == DC_OK) {
        /* Counting sort of the positions by cell (ascending within a cell). */
        memset(cl->start, 0, (size_t)(c + 1) * sizeof *cl->start);
        for (int64_t p = 0; p < nref; p++) cl->start[label[p] + 1]++;
        for (int64_t l = 0; l < c; l++) cl->start[l + 1] += cl->start[l];
        /* label[p] becomes p's slot in members. */
        for (int64_t p = 0; p < nref; p++) label[p] = cl->start[label[p]]++;
        for (int64_t l = c; l > 0; l--) cl->start[l] = cl->start[l - 1];
        cl->start[0] = 0;
        for (int64_t p = 0; p < nref; p++) cl->members[label[p]] = p;
        for (int64_t l = 0; l < c; l++)
            for (int64_t e = cl->start[l]; e < cl->start[l + 1]; e++) {
                const int64_t p = cl->members[e];
                double r = sqrt(exact_d2(a->x + row_of(a->ref_rows, p) * d, cl->cen + l * d, d));
                if (r > cl->rad[l]) cl->rad[l] = r;
            }
    }
    dci_free(label);
    dci_free(sum);
    if (st != DC_OK) cells_free(cl);
    return st;
}

typedef struct cell_order {
    double lb;
    int64_t l;
} cell_order;

static int cmp_cell_order(const void *pa, const void *pb) {
    const cell_order *a = pa, *b = pb;
    if (a->lb != b->lb) return a->lb < b->lb ? -1 : 1;
    return (a->l > b->l) - (a->l < b->l);
}

/* ---- the search ---------------------------------------------------------- */

static dc_status check_search_args(const dci_knn_args *a) {
    DCI_CHECK_NULL(a);
    DCI_CHECK_NULL(a->x);
    const int self = a->q == NULL;
    /* The references' shape; x itself may hold more rows (ref_rows). */
    DCI_TRY(dci_check_shape(a->nref, a->d, self ? "kNN data" : "kNN reference"));
    if (a->nq < 0)
        return dci_fail(DC_ERR_INVALID_ARG, "kNN: %lld query rows", (long long)a->nq);
    int64_t avail = self ? a->nref - 1 : a->nref;
    if (a->k < 1 || a->k > avail)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "kNN: %lld neighbours asked, need 1 to %lld (%s)",
                        (long long)a->k, (long long)avail,
                        self ? "number of other points" : "number of reference points");
    if (a->k_out < 0 || a->k_out > a->k ||
        (a->mean_dist && (a->p_mean < 1 || a->p_mean > a->k)))
        return dci_fail(DC_ERR_INVALID_ARG, "kNN: k_out = %lld, p_mean = %lld for k = %lld",
                        (long long)a->k_out, (long long)a->p_mean, (long long)a->k);
    if (a->cells < 0)
        return dci_fail(DC_ERR_INVALID_ARG, "kNN: %lld cells", (long long)a->cells);
    int64_t count;
    if (!a->ref_rows) DCI_TRY(dci_size_product(a->nref, a->d, sizeof *a->x, &count, "kNN data"));
    if (!self && !a->q_rows)
        DCI_TRY(dci_size_product(a->nq, a->d, sizeof *a->q, &count, "kNN queries"));
    DCI_TRY(dci_size_product(a->nq, a->k_out, sizeof *a->idx, &count, "kNN output"));
    if (a->ref_rows)
        for (int64_t p = 0; p < a->nref; p++)
            if (a->ref_rows[p] < 0 || (p > 0 && a->ref_rows[p] <= a->ref_rows[p - 1]))
                return dci_fail(DC_ERR_INVALID_ARG,
                                "kNN: reference rows must be ascending and >= 0 (position %lld)",
                                (long long)p);
    if (a->q_rows)
        for (int64_t i = 0; i < a->nq; i++)
            if (a->q_rows[i] < 0)
                return dci_fail(DC_ERR_INVALID_ARG, "kNN: negative query row at %lld",
                                (long long)i);
    /* Finite data: checked row by row for subsets. */
    if (!a->ref_rows) DCI_TRY(dci_check_finite(a->x, a->nref, a->d, self ? "kNN data" : "kNN reference"));
    else
        for (int64_t p = 0; p < a->nref; p++)
            DCI_TRY(dci_check_finite(a->x + a->ref_rows[p] * a->d, 1, a->d, "kNN data"));
    if (!self) {
        if (!a->q_rows) DCI_TRY(dci_check_finite(a->q, a->nq, a->d, "kNN queries"));
        else
            for (int64_t i = 0; i < a->nq; i++)
                DCI_TRY(dci_check_finite(a->q + a->q_rows[i] * a->d, 1, a->d, "kNN queries"));
    }
    return DC_OK;
}

/* Writes the outputs of query position qp from its k best (buf, any order;
 * keys in screen units, scale2 times the squared distance). */
static void emit(const dci_knn_args *a, knn_query *s, int64_t qp, double scale2) {
    if (a->mean_dist) {
        if (a->p_mean < a->k) dci_knn_select_smallest(s->buf, a->k, a->p_mean);
        double sum = 0.0;
        for (int64_t l = 0; l < a->p_mean; l++) sum += sqrt(s->buf[l].key / scale2);
        a->mean_dist[qp] = sum / (double)a->p_mean;
    }
    if (a->k_out == 0) return;
    if (a->k_out < a->k) dci_knn_select_smallest(s->buf, a->k, a->k_out);
    dci_knn_sort_cands(s->buf, a->k_out);
    for (int64_t l = 0; l < a->k_out; l++) {
        if (a->idx) a->idx[qp * a->k_out + l] = row_of(a->ref_rows, s->buf[l].j);
        if (a->dist) a->dist[qp * a->k_out + l] = (float)sqrt(s->buf[l].key / scale2);
    }
}

/* The work of one search, allocated once: the screen's frame, one query tile
 * with its per-query state, one reference tile, and the cells. */
typedef struct knn_work {
    const dci_knn_args *a;
    int self;             /* q == NULL: the queries are the rows of x */
    const float *qx;      /* the matrix the query rows are taken from */
    int64_t tq, tr;       /* rows per query tile and per reference tile */
    knn_ctx ctx;          /* what the per-query selection reads */
    double scale;         /* of the screen's frame (dci_float_scale) */
    float *mu;            /* reference mean, d */
    float *rnorm;         /* nref squared norms of the centred references */
    /* the query tile */
    float *qc, *qnorm;    /* tq x d centred queries, their squared norms */
    int64_t *qp;          /* their positions */
    knn_query *qs;        /* their selection state ... */
    knn_cand *cand_mem;   /* ... and candidate buffers (tq x cap) */
    double *scratch;      /* 2 cap doubles: ctx.sa, ctx.sb */
    /* the reference tile */
    float *rc, *radj, *g; /* tr x d centred rows, their screen terms, tq x tr screen */
    int64_t *rt;          /* their positions */
    int32_t *hits;        /* screen hits of one row */
    /* cells (cl.c == 1: none) */
    knn_cells cl;
    int64_t *qorder;      /* queries grouped by cell; NULL: in order; may be cl.members */
    float *cc, *cg;       /* centred centres (c x d), their products with a tile (tq x c) */
    double *ccn, *lb;     /* centre norms (c), lower bounds per query and cell (tq x c) */
    cell_order *corder;   /* the tile's cell visiting order */
} knn_work;

/* Rows rows[pos[i]] (pos NULL: positions i) of a in the screen's frame
 * into out (m x d), and their squared norms (if norm2). */
static void center_rows(const knn_work *w, const float *a, const int64_t *rows,
                        const int64_t *pos, int64_t m, float *out, float *norm2) {
    const int64_t d = w->a->d;
    const float *mu = w->mu;
    const double scale = w->scale;
    for (int64_t i = 0; i < m; i++) {
        const float *src = a + row_of(rows, pos ? pos[i] : i) * d;
        float *dst = out + i * d;
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) {
            dst[t] = screen_coord(src[t], mu[t], scale);
            s += (double)dst[t] * dst[t];
        }
        if (norm2) norm2[i] = (float)s;
    }
}

static void work_free(knn_work *w) {
    if (w->qorder != w->cl.members) dci_free(w->qorder);
    cells_free(&w->cl);
    dci_free(w->mu);
    dci_free(w->rnorm);
    dci_free(w->radj);
    dci_free(w->rt);
    dci_free(w->hits);
    dci_free(w->qc);
    dci_free(w->qnorm);
    dci_free(w->qp);
    dci_free(w->rc);
    dci_free(w->g);
    dci_free(w->cand_mem);
    dci_free(w->scratch);
    dci_free(w->qs);
    dci_free(w->cc);
    dci_free(w->ccn);
    dci_free(w->cg);
    dci_free(w->lb);
    dci_free(w->corder);
}

/* Tile sizes, the rounding bounds and the tile buffers. */
static dc_status work_alloc(knn_work *w, const dci_knn_args *a) {
    const int64_t nref = a->nref, nq = a->nq, d = a->d;
    memset(w, 0, sizeof *w);
    w->a = a;
    w->self = a->q == NULL;
    w->qx = w->self ? a->x : a->q;
    const int64_t cap = 2 * a->k + 64;
    int64_t tq = KNN_STATE_BUDGET / ((int64_t)sizeof(knn_cand) * cap);
    if (tq > KNN_TQ) tq = KNN_TQ;
    if (tq < 16) tq = 16;
    if (tq > nq) tq = nq;
    const int64_t tr = nref < KNN_TR ? nref : KNN_TR;
    w->tq = tq;
    w->tr = tr;
    /* Rounding bound of the screened value relative to |cq|^2 + |cr|^2: sgemm
     * dot product (d u), centring (4 u), norms and key arithmetic (~4 u),
     * with a factor 2 of margin; u = FLT_EPSILON / 2. */
    w->ctx = (knn_ctx){.x = a->x, .ref_rows = a->ref_rows, .d = d, .k = a->k, .cap = cap,
                       .tol = (double)(d + 16) * FLT_EPSILON, .eps = KNN_ABS_ERR(d)};
    w->mu = DCI_NEW_ARRAY(float, d, "kNN mean");
    w->rnorm = DCI_NEW_ARRAY(float, nref, "kNN reference norms");
    w->radj = DCI_NEW_ARRAY(float, tr, "kNN screen terms");
    w->rt = DCI_NEW_ARRAY(int64_t, tr, "kNN reference tile");
    w->hits = DCI_NEW_ARRAY(int32_t, tr, "kNN screen hits");
    w->qc = DCI_NEW_ARRAY(float, tq * d, "kNN query tile");
    w->qnorm = DCI_NEW_ARRAY(float, tq, "kNN query norms");
    w->qp = DCI_NEW_ARRAY(int64_t, tq, "kNN query positions");
    w->rc = DCI_NEW_ARRAY(float, tr * d, "kNN reference tile");
    w->g = DCI_NEW_ARRAY(float, tq * tr, "kNN distance tile");
    w->cand_mem = DCI_NEW_ARRAY(knn_cand, tq * cap, "kNN candidates");
    w->scratch = DCI_NEW_ARRAY(double, 2 * cap, "kNN selection");
    w->qs = DCI_NEW_ARRAY(knn_query, tq, "kNN query state");
    if (!w->mu || !w->rnorm || !w->radj || !w->rt || !w->hits || !w->qc || !w->qnorm || !w->qp ||
        !w->rc || !w->g || !w->cand_mem || !w->scratch || !w->qs)
        return DC_ERR_NOMEM;
    w->ctx.rnorm = w->rnorm;
    w->ctx.sa = w->scratch;
    w->ctx.sb = w->scratch + cap;
    return DC_OK;
}

/* The screen's frame: the reference mean, the scale, and the squared norms
 * of the references in it. */
static dc_status screen_frame(knn_work *w) {
    const dci_knn_args *a = w->a;
    const int64_t nref = a->nref, d = a->d;
    double *musum = DCI_NEW_ZEROS(double, d, "kNN mean");
    if (!musum) return DC_ERR_NOMEM;
    /* Centring on the reference mean keeps |c|^2 small, hence the rounding
     * of the GEMM expression and the number of candidates to recheck. */
    for (int64_t p = 0; p < nref; p++) {
        const float *xr = a->x + row_of(a->ref_rows, p) * d;
        for (int64_t t = 0; t < d; t++) musum[t] += xr[t];
    }
    for (int64_t t = 0; t < d; t++) w->mu[t] = (float)(musum[t] / (double)nref);
    dci_free(musum);
    double mx = max_centred(a->x, a->ref_rows, nref, d, w->mu);
    if (!w->self) mx = fmax(mx, max_centred(a->q, a->q_rows, a->nq, d, w->mu));
    /* The screen works in float (dci_float_scale); its frame is scaled when
     * the data's magnitude needs it, exactly, so it decides as on data of
     * ordinary size. */
    w->scale = dci_float_scale(mx, d);
    w->ctx.scale2 = w->scale * w->scale;
    for (int64_t p = 0; p < nref; p++) {
        const float *xr = a->x + row_of(a->ref_rows, p) * d;
        double sum = 0.0;
        for (int64_t t = 0; t < d; t++) {
            float cj = screen_coord(xr[t], w->mu[t], w->scale);
            sum += (double)cj * cj;
        }
        w->rnorm[p] = (float)sum;
    }
    return DC_OK;
}

/* Queries grouped by cell, so that a query tile is compact in space. */
static dc_status group_queries(knn_work *w) {
    const dci_knn_args *a = w->a;
    const int64_t nq = a->nq, ncell = w->cl.c;
    if (w->self && !a->ref_rows && !a->q_rows) {
        w->qorder = w->cl.members;
        return DC_OK;
    }
    int64_t *label = DCI_NEW_ARRAY(int64_t, nq, "kNN query cells");
    w->qorder = DCI_NEW_ARRAY(int64_t, nq, "kNN query order");
    int64_t *cnt = DCI_NEW_ZEROS(int64_t, ncell + 1, "kNN query cells");
    dc_status st = (label && w->qorder && cnt) ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) st = nearest_cell(&w->cl, w->qx, a->q_rows, nq, a->d, label);
    if (st == DC_OK) {
        for (int64_t i = 0; i < nq; i++) cnt[label[i] + 1]++;
        for (int64_t l = 0; l < ncell; l++) cnt[l + 1] += cnt[l];
        for (int64_t i = 0; i < nq; i++) w->qorder[cnt[label[i]]++] = i;
    }
    dci_free(label);
    dci_free(cnt);
    return st;
}

/* The references in ncell cells (ncell > 1), the centres in the screen's
 * frame, and the queries in cell order; ncell == 1: one cell of all. */
static dc_status cells_setup(knn_work *w, int64_t ncell) {
    const int64_t d = w->a->d;
    if (ncell == 1) {
        w->cl.c = 1;
        w->cl.start = DCI_NEW_ARRAY(int64_t, 2, "kNN cells");
        if (!w->cl.start) return DC_ERR_NOMEM;
        w->cl.start[0] = 0;
        w->cl.start[1] = w->a->nref;
        return DC_OK;
    }
    DCI_TRY(cells_build(w->a, ncell, &w->cl));
    w->cc = DCI_NEW_ARRAY(float, ncell * d, "kNN cell centres");
    w->ccn = DCI_NEW_ARRAY(double, ncell, "kNN cell norms");
    w->cg = DCI_NEW_ARRAY(float, w->tq * ncell, "kNN cell products");
    w->lb = DCI_NEW_ARRAY(double, w->tq * ncell, "kNN cell bounds");
    w->corder = DCI_NEW_ARRAY(cell_order, ncell, "kNN cell order");
    if (!w->cc || !w->ccn || !w->cg || !w->lb || !w->corder) return DC_ERR_NOMEM;
    center_rows(w, w->cl.cen, NULL, NULL, ncell, w->cc, NULL);
    for (int64_t l = 0; l < ncell; l++) {
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) s += (double)w->cc[l * d + t] * w->cc[l * d + t];
        w->ccn[l] = s;
    }
    return group_queries(w);
}

/* Cell visiting order for the mq queries of the tile: by the smallest lower
 * bound over the tile; lb keeps each query's bound per cell. */
static void order_cells(knn_work *w, int64_t mq) {
    const int64_t c = w->cl.c, d = w->a->d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)c, (int)d, 1.0f, w->qc,
                (int)d, w->cc, (int)d, 0.0f, w->cg, (int)c);
    for (int64_t l = 0; l < c; l++) w->corder[l] = (cell_order){INFINITY, l};
    for (int64_t i = 0; i < mq; i++)
        for (int64_t l = 0; l < c; l++) {
            double s = (double)w->qnorm[i] + w->ccn[l];
            double d2lo = s - 2.0 * w->cg[i * c + l] - w->ctx.tol * s - KNN_ABS_ERR(d);
            double v = sqrt(d2lo > 0.0 ? d2lo : 0.0) -
                       w->cl.rad[l] * w->scale * (1.0 + KNN_CELL_SLACK);
            w->lb[i * c + l] = v;
            if (v < w->corder[l].lb) w->corder[l].lb = v;
        }
    qsort(w->corder, (size_t)c, sizeof *w->corder, cmp_cell_order);
}

/* Whether some query of the tile may have a neighbour in cell l. */
static int cell_needed(const knn_work *w, int64_t mq, int64_t l) {
    for (int64_t i = 0; i < mq; i++) {
        double v = w->lb[i * w->cl.c + l];
        if (v <= 0.0 || v * v <= w->qs[i].bound * (1.0 + KNN_CELL_SLACK)) return 1;
    }
    return 0;
}

/* The positions of the next reference tile into rt, from whole or partial
 * cells; *oc and *off are the next cell (in visiting order) and the offset
 * in it. A cell that no query of the tile can need is skipped. A tile ends
 * at a cell boundary once it holds TR / 4 rows, so that the bounds tighten
 * on the nearest cells before the farther ones are tested. Returns the
 * number of rows, 0 when all cells are done. */
static int64_t next_ref_tile(knn_work *w, int64_t mq, int64_t *oc, int64_t *off) {
    const knn_cells *cl = &w->cl;
    int64_t mr = 0;
    while (mr < w->tr && *oc < cl->c) {
        const int64_t l = cl->c > 1 ? w->corder[*oc].l : 0;
        const int64_t size = cl->start[l + 1] - cl->start[l];
        if (*off == 0 && cl->c > 1) {
            if (mr >= KNN_TR / 4) break;
            if (!cell_needed(w, mq, l) || size == 0) {
                (*oc)++;
                continue;
            }
        }
        int64_t take = size - *off < w->tr - mr ? size - *off : w->tr - mr;
        for (int64_t e = 0; e < take; e++)
            w->rt[mr + e] = cl->members ? cl->members[cl->start[l] + *off + e]
                                        : cl->start[l] + *off + e;
        mr += take;
        *off += take;
        if (*off == size) {
            (*oc)++;
            *off = 0;
        }
    }
    return mr;
}

/* Screens the reference tile rt[0..mr) against the mq queries of the tile
 * and offers what passes to each query. */
static void screen_tile(knn_work *w, int64_t mq, int64_t mr) {
    const dci_knn_args *a = w->a;
    const int64_t d = a->d;
    const double tol = w->ctx.tol;
    center_rows(w, a->x, a->ref_rows, w->rt, mr, w->rc, NULL);
    for (int64_t j = 0; j < mr; j++) w->radj[j] = (float)(w->rnorm[w->rt[j]] * (1.0 - tol));
    /* g = |r|^2 (1 - tol) - 2 q.r: the screened value |q|^2 + |r|^2 - 2 q.r
     * minus its error bound, less |q|^2 (1 - tol). Prefilling and beta = 1
     * spare sgemm its separate pass over the tile to apply beta = 0. */
    for (int64_t i = 0; i < mq; i++) memcpy(w->g + i * mr, w->radj, (size_t)mr * sizeof *w->g);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)mr, (int)d, -2.0f, w->qc,
                (int)d, w->rc, (int)d, 1.0f, w->g, (int)mr);
    for (int64_t i = 0; i < mq; i++)
        scan_row(&w->ctx, &w->qs[i], w->self ? row_of(a->q_rows, w->qp[i]) : -1, w->g + i * mr,
                 w->rt, mr, w->hits);
}

/* The mq queries from position q0 (in query order) against every
 * reference tile they may need, then their outputs. */
static void search_query_tile(knn_work *w, int64_t q0, int64_t mq) {
    const dci_knn_args *a = w->a;
    const int64_t d = a->d, cap = w->ctx.cap;
    for (int64_t i = 0; i < mq; i++) w->qp[i] = w->qorder ? w->qorder[q0 + i] : q0 + i;
    center_rows(w, w->qx, a->q_rows, w->qp, mq, w->qc, w->qnorm);
    for (int64_t i = 0; i < mq; i++)
        w->qs[i] = (knn_query){.bound = INFINITY, .qn = w->qnorm[i],
                               .qrow = w->qx + row_of(a->q_rows, w->qp[i]) * d,
                               .buf = w->cand_mem + i * cap};
    if (w->cl.c > 1) order_cells(w, mq);
    int64_t oc = 0, off = 0, mr;
    while ((mr = next_ref_tile(w, mq, &oc, &off)) > 0) screen_tile(w, mq, mr);
    for (int64_t i = 0; i < mq; i++) {
        finish_query(&w->ctx, &w->qs[i]);
        emit(a, &w->qs[i], w->qp[i], w->ctx.scale2);
    }
}

dc_status dci_knn_search(const dci_knn_args *a) {
    DCI_TRY(check_search_args(a));
    if (a->nq == 0) return DC_OK;
    int64_t ncell = a->cells ? a->cells : 1;
    if (a->cells == 0 && a->nref >= DCI_KNN_CELLS_MIN_REF && a->nq >= 4096)
        ncell = a->nref / KNN_CELL_SIZE;
    if (ncell > KNN_CELL_MAX) ncell = KNN_CELL_MAX;
    if (ncell > a->nref) ncell = a->nref;
    knn_work w;
    dc_status st = work_alloc(&w, a);
    if (st == DC_OK) st = screen_frame(&w);
    if (st == DC_OK) st = cells_setup(&w, ncell);
    for (int64_t q0 = 0; st == DC_OK && q0 < a->nq; q0 += w.tq)
        search_query_tile(&w, q0, a->nq - q0 < w.tq ? a->nq - q0 : w.tq);
    work_free(&w);
    return st;
}

dc_status dci_knn_select(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                         int64_t k, int64_t k_out, int64_t *idx, float *dist, int64_t p_mean,
                         double *mean_dist) {
    const dci_knn_args a = {.x = ref, .nref = nr, .q = q, .nq = nq, .d = d, .k = k,
                            .k_out = k_out, .p_mean = p_mean, .idx = idx, .dist = dist,
                            .mean_dist = mean_dist};
    return dci_knn_search(&a);
}

dc_status dci_knn_self(const float *x, int64_t n, int64_t d, int64_t k, int64_t *idx,
                       float *dist) {
    DCI_CHECK_NULL(idx);
    return dci_knn_select(x, n, NULL, n, d, k, k, idx, dist, 0, NULL);
}

dc_status dci_knn_query(const float *ref, int64_t nr, const float *q, int64_t nq, int64_t d,
                        int64_t k, int64_t *idx, float *dist) {
    /* No queries: the reference side is still checked as for any call, and
     * nothing is read from q or written to idx (a zero-length array may be
     * NULL). q == NULL would mean a self search to dci_knn_select. */
    if (nq == 0) return dci_knn_select(ref, nr, ref, 0, d, k, 0, NULL, NULL, 0, NULL);
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
