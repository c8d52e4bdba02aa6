/* k-means (SPEC §1.6): greedy k-means++ seeding, Lloyd iterations with the
 * scikit-learn stopping rule, best of n_init restarts.
 *
 * Time goes into one sgemm per row tile (x . C^T) per iteration; the argmin
 * and the centre sums are fused into the same tile loop so each row is read
 * from memory once per iteration while it is still in cache. */
#include "cluster/kmeans.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"

void dci_kmeans_opts_default(dci_kmeans_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_init = 10;
    o->max_iter = 300;
    o->tol = 1e-4;
}

/* ||x||^2 + ||c||^2 - 2 x.c loses precision in float when the data sit far
 * from the origin compared with their spread; then the rows are shifted by
 * the data mean (per tile, no copy of x) before the sgemm. */
#define SHIFT_RATIO 10.0

/* One k-means problem: the data, their squared norms and the work buffers,
 * allocated once and reused by every iteration and restart. */
typedef struct km_ctx {
    const float *x;
    int64_t n, d, k;
    float *shift;  /* NULL, or the data mean subtracted from every row */
    float *xn;     /* n squared norms of the (shifted) rows */
    double tol_scale; /* mean per-feature variance */
    int64_t tile;  /* rows per sgemm call */
    int64_t width; /* columns of dist */
    float *tbuf;   /* tile x d shifted rows (only with shift) */
    float *dist;   /* tile x width */
    float *cn;     /* width squared norms of centres / candidates */
} km_ctx;

static void ctx_free(km_ctx *c) {
    dci_free(c->shift);
    dci_free(c->xn);
    dci_free(c->tbuf);
    dci_free(c->dist);
    dci_free(c->cn);
    memset(c, 0, sizeof *c);
}

static dc_status check_args(const float *x, int64_t n, int64_t d, int64_t k, const float *centers) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(centers);
    if (n < 1 || d < 1)
        return dci_fail(DC_ERR_SHAPE, "kmeans: data must have at least one row and column (got %lld x %lld)",
                        (long long)n, (long long)d);
    if (d > INT_MAX)
        return dci_fail(DC_ERR_UNSUPPORTED, "kmeans: %lld columns exceed the BLAS index range", (long long)d);
    if (k < 1)
        return dci_fail(DC_ERR_K_RANGE, "kmeans: k = %lld, need k >= 1", (long long)k);
    if (k > n)
        return dci_fail(DC_ERR_K_RANGE, "kmeans: k = %lld is larger than the number of samples n = %lld",
                        (long long)k, (long long)n);
    if (k > INT_MAX)
        return dci_fail(DC_ERR_K_RANGE, "kmeans: k = %lld exceeds the BLAS index range", (long long)k);
    return dci_check_finite(x, n, d, "kmeans data");
}

/* Copies row i of the data, in the centres' coordinates, to out (d floats). */
static void shifted_row(const km_ctx *c, int64_t i, float *out) {
    const float *r = c->x + i * c->d;
    if (!c->shift) {
        memcpy(out, r, sizeof(float) * (size_t)c->d);
        return;
    }
    for (int64_t j = 0; j < c->d; j++) out[j] = r[j] - c->shift[j];
}

static float sq_norm(const float *v, int64_t d) {
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) s += (double)v[j] * v[j];
    return (float)s;
}

/* Rows [i0, i0+m) in the centres' coordinates (pointer into x or tbuf). */
static const float *tile_rows(const km_ctx *c, int64_t i0, int64_t m) {
    const float *r = c->x + i0 * c->d;
    if (!c->shift) return r;
    const int64_t d = c->d;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < d; j++) c->tbuf[i * d + j] = r[i * d + j] - c->shift[j];
    return c->tbuf;
}

/* dist (m x kc) = -2 rows . P^T; callers add the squared norms. */
static void tile_dot(const km_ctx *c, const float *rows, int64_t m, const float *p, int64_t kc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)kc, (int)c->d, -2.0f, rows,
                (int)c->d, p, (int)c->d, 0.0f, c->dist, (int)kc);
}

/* Mean, per-feature variance and (when needed) the shift; squared norms;
 * buffers for up to `width` centres per sgemm. */
static dc_status ctx_init(km_ctx *c, const float *x, int64_t n, int64_t d, int64_t k, int64_t width) {
    memset(c, 0, sizeof *c);
    c->x = x;
    c->n = n;
    c->d = d;
    c->k = k;
    c->width = width;
    double *mean = DCI_NEW_ZEROS(double, d, "kmeans mean");
    double *m2 = DCI_NEW_ZEROS(double, d, "kmeans variance");
    c->xn = DCI_NEW_ARRAY(float, n, "kmeans row norms");
    c->cn = DCI_NEW_ARRAY(float, width, "kmeans centre norms");
    /* About 1 MB of rows per tile keeps the fused argmin/update in cache;
     * the distance block is capped for large k. */
    int64_t tile = ((int64_t)1 << 18) / d;
    if (tile < 64) tile = 64;
    if (tile > 4096) tile = 4096;
    int64_t cap = ((int64_t)1 << 22) / width;
    if (tile > cap) tile = cap > 0 ? cap : 1;
    if (tile > n) tile = n;
    c->tile = tile;
    c->dist = DCI_NEW_ARRAY(float, tile * width, "kmeans distance tile");
    if (!mean || !m2 || !c->xn || !c->cn || !c->dist) goto nomem;

    /* Welford per feature would be slower; two passes in double are exact enough. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += x[i * d + j];
    double mu2 = 0.0, var = 0.0;
    for (int64_t j = 0; j < d; j++) {
        mean[j] /= (double)n;
        mu2 += mean[j] * mean[j];
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mean[j];
            m2[j] += t * t;
        }
    for (int64_t j = 0; j < d; j++) var += m2[j] / (double)n;
    c->tol_scale = var / (double)d;

    if (mu2 > SHIFT_RATIO * var) {
        c->shift = DCI_NEW_ARRAY(float, d, "kmeans shift");
        c->tbuf = DCI_NEW_ARRAY(float, tile * d, "kmeans row tile");
        if (!c->shift || !c->tbuf) goto nomem;
        for (int64_t j = 0; j < d; j++) c->shift[j] = (float)mean[j];
        for (int64_t i = 0; i < n; i++) {
            double s = 0.0;
            for (int64_t j = 0; j < d; j++) {
                double t = (double)x[i * d + j] - c->shift[j];
                s += t * t;
            }
            c->xn[i] = (float)s;
        }
    } else {
        for (int64_t i = 0; i < n; i++) c->xn[i] = sq_norm(x + i * d, d);
    }
    dci_free(mean);
    dci_free(m2);
    return DC_OK;
nomem:
    dci_free(mean);
    dci_free(m2);
    ctx_free(c);
    return DC_ERR_NOMEM;
}

/* Nearest centre of every row. With sums != NULL also accumulates the
 * per-cluster sums (double) and counts in the same pass. Returns the number
 * of labels that changed. */
static int64_t assign_step(km_ctx *c, const float *cent, int32_t *labels, float *mind,
                           double *sums, int64_t *counts) {
    const int64_t n = c->n, d = c->d, k = c->k;
    for (int64_t j = 0; j < k; j++) c->cn[j] = sq_norm(cent + j * d, d);
    int64_t changed = 0;
    for (int64_t i0 = 0; i0 < n; i0 += c->tile) {
        int64_t m = n - i0 < c->tile ? n - i0 : c->tile;
        const float *rows = tile_rows(c, i0, m);
        tile_dot(c, rows, m, cent, k);
        for (int64_t r = 0; r < m; r++) {
            const float *g = c->dist + r * k;
            int32_t best = 0;
            float bv = g[0] + c->cn[0];
            for (int64_t j = 1; j < k; j++) {
                float v = g[j] + c->cn[j];
                if (v < bv) {
                    bv = v;
                    best = (int32_t)j;
                }
            }
            int64_t i = i0 + r;
            bv += c->xn[i];
            mind[i] = bv > 0.0f ? bv : 0.0f;
            changed += labels[i] != best;
            labels[i] = best;
            if (sums) {
                double *s = sums + (int64_t)best * d;
                const float *xr = rows + r * d;
                for (int64_t j = 0; j < d; j++) s[j] += xr[j];
                counts[best]++;
            }
        }
    }
    return changed;
}

/* An empty cluster takes the point farthest from its centre among clusters
 * that can spare one (n >= k guarantees there is such a cluster). */
static void relocate_empty(km_ctx *c, int32_t *labels, float *mind, double *sums, int64_t *counts,
                           float *row) {
    const int64_t n = c->n, d = c->d;
    for (int64_t e = 0; e < c->k; e++) {
        if (counts[e] > 0) continue;
        int64_t far = -1;
        float fv = -1.0f;
        for (int64_t i = 0; i < n; i++)
            if (counts[labels[i]] > 1 && mind[i] > fv) {
                fv = mind[i];
                far = i;
            }
        if (far < 0) return; /* only when k > n, rejected earlier */
        int32_t old = labels[far];
        shifted_row(c, far, row);
        for (int64_t j = 0; j < d; j++) {
            sums[old * d + j] -= row[j];
            sums[e * d + j] = row[j];
        }
        counts[old]--;
        counts[e] = 1;
        labels[far] = (int32_t)e;
        mind[far] = 0.0f;
    }
}

/* Work arrays of the Lloyd loop. */
typedef struct km_work {
    int32_t *labels;
    float *mind;
    double *sums;
    int64_t *counts;
    float *row;
} km_work;

static void work_free(km_work *w) {
    dci_free(w->labels);
    dci_free(w->mind);
    dci_free(w->sums);
    dci_free(w->counts);
    dci_free(w->row);
}

static dc_status work_init(km_work *w, int64_t n, int64_t d, int64_t k) {
    w->labels = DCI_NEW_ARRAY(int32_t, n, "kmeans labels");
    w->mind = DCI_NEW_ARRAY(float, n, "kmeans distances");
    w->sums = DCI_NEW_ARRAY(double, k * d, "kmeans sums");
    w->counts = DCI_NEW_ARRAY(int64_t, k, "kmeans counts");
    w->row = DCI_NEW_ARRAY(float, d, "kmeans row");
    if (!w->labels || !w->mind || !w->sums || !w->counts || !w->row) {
        work_free(w);
        return DC_ERR_NOMEM;
    }
    return DC_OK;
}

/* Lloyd from centres cent (shifted coordinates) as scikit-learn does it:
 * stop when the labels repeat, or the summed squared centre shift is at most
 * tol_abs (then relabel with the final centres), or after max_iter.
 * Returns the number of iterations; w->labels hold the final assignment. */
static int64_t lloyd(km_ctx *c, km_work *w, float *cent, int64_t max_iter, double tol_abs) {
    const int64_t n = c->n, d = c->d, k = c->k;
    for (int64_t i = 0; i < n; i++) w->labels[i] = -1;
    int64_t it = 0;
    for (; it < max_iter; it++) {
        memset(w->sums, 0, sizeof(double) * (size_t)(k * d));
        memset(w->counts, 0, sizeof(int64_t) * (size_t)k);
        /* Repeated labels mean the centres already are their means. */
        if (assign_step(c, cent, w->labels, w->mind, w->sums, w->counts) == 0) return it + 1;
        relocate_empty(c, w->labels, w->mind, w->sums, w->counts, w->row);
        double shift = 0.0;
        for (int64_t j = 0; j < k; j++) {
            double inv = 1.0 / (double)w->counts[j];
            for (int64_t t = 0; t < d; t++) {
                float v = (float)(w->sums[j * d + t] * inv);
                double diff = (double)v - cent[j * d + t];
                shift += diff * diff;
                cent[j * d + t] = v;
            }
        }
        if (shift <= tol_abs) {
            it++;
            break;
        }
    }
    assign_step(c, cent, w->labels, w->mind, NULL, NULL);
    return it;
}

/* Sum of squared distances in double; cent in the shifted coordinates. */
static double exact_inertia(const km_ctx *c, const float *cent, const int32_t *labels) {
    const int64_t d = c->d;
    double total = 0.0;
    for (int64_t i = 0; i < c->n; i++) {
        const float *xr = c->x + i * d, *cr = cent + (int64_t)labels[i] * d;
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double t = (double)xr[j] - (c->shift ? c->shift[j] : 0.0f) - cr[j];
            s += t * t;
        }
        total += s;
    }
    return total;
}

/* Distances from every row to np points p (shifted coordinates): out n x np. */
static void dists_to_points(km_ctx *c, const float *p, int64_t np, float *out) {
    const int64_t n = c->n, d = c->d;
    for (int64_t j = 0; j < np; j++) c->cn[j] = sq_norm(p + j * d, d);
    for (int64_t i0 = 0; i0 < n; i0 += c->tile) {
        int64_t m = n - i0 < c->tile ? n - i0 : c->tile;
        tile_dot(c, tile_rows(c, i0, m), m, p, np);
        for (int64_t r = 0; r < m; r++)
            for (int64_t j = 0; j < np; j++) {
                float v = c->dist[r * np + j] + c->xn[i0 + r] + c->cn[j];
                out[(i0 + r) * np + j] = v > 0.0f ? v : 0.0f;
            }
    }
}

/* Index i with cum[i-1] <= r < cum[i]: sampling proportional to potential,
 * never picking a point whose potential is zero. */
static int64_t sample_cum(const double *cum, int64_t n, double r) {
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > r) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Seeding buffers for k-means++. */
typedef struct km_seed {
    float *closest; /* n */
    double *cum;    /* n */
    float *cand_d;  /* n x trials */
    float *cand;    /* trials x d */
    int64_t trials;
} km_seed;

static void seed_free(km_seed *s) {
    dci_free(s->closest);
    dci_free(s->cum);
    dci_free(s->cand_d);
    dci_free(s->cand);
}

static int64_t local_trials(int64_t k) { return 2 + (int64_t)log((double)k); }

static dc_status seed_init(km_seed *s, int64_t n, int64_t d, int64_t k) {
    s->trials = local_trials(k);
    s->closest = DCI_NEW_ARRAY(float, n, "kmeans++ distances");
    s->cum = DCI_NEW_ARRAY(double, n, "kmeans++ potentials");
    s->cand_d = DCI_NEW_ARRAY(float, n * s->trials, "kmeans++ candidate distances");
    s->cand = DCI_NEW_ARRAY(float, s->trials * d, "kmeans++ candidates");
    if (!s->closest || !s->cum || !s->cand_d || !s->cand) {
        seed_free(s);
        return DC_ERR_NOMEM;
    }
    return DC_OK;
}

/* Greedy k-means++ (Arthur & Vassilvitskii 2007, as in scikit-learn): each
 * new centre is the best of `trials` candidates sampled by D^2 weighting,
 * judged by the potential it leaves. */
static void kmeanspp(km_ctx *c, km_seed *s, dci_rng *rng, float *cent) {
    const int64_t n = c->n, d = c->d, t = s->trials;
    shifted_row(c, (int64_t)dci_rng_below(rng, (uint64_t)n), cent);
    dists_to_points(c, cent, 1, s->closest);
    for (int64_t ci = 1; ci < c->k; ci++) {
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) s->cum[i] = acc += s->closest[i];
        for (int64_t q = 0; q < t; q++) {
            int64_t idx = acc > 0.0 ? sample_cum(s->cum, n, dci_rng_uniform(rng) * acc)
                                    : (int64_t)dci_rng_below(rng, (uint64_t)n);
            shifted_row(c, idx, s->cand + q * d);
        }
        dists_to_points(c, s->cand, t, s->cand_d);
        int64_t best = 0;
        double best_pot = INFINITY;
        for (int64_t q = 0; q < t; q++) {
            double pot = 0.0;
            for (int64_t i = 0; i < n; i++) {
                float v = s->cand_d[i * t + q];
                pot += v < s->closest[i] ? v : s->closest[i];
            }
            if (pot < best_pot) {
                best_pot = pot;
                best = q;
            }
        }
        for (int64_t i = 0; i < n; i++) {
            float v = s->cand_d[i * t + best];
            if (v < s->closest[i]) s->closest[i] = v;
        }
        memcpy(cent + ci * d, s->cand + best * d, sizeof(float) * (size_t)d);
    }
}

/* Centres from shifted back to data coordinates. */
static void unshift(const km_ctx *c, float *cent) {
    if (!c->shift) return;
    for (int64_t j = 0; j < c->k; j++)
        for (int64_t t = 0; t < c->d; t++) cent[j * c->d + t] += c->shift[t];
}

static void to_shifted(const km_ctx *c, float *cent) {
    if (!c->shift) return;
    for (int64_t j = 0; j < c->k; j++)
        for (int64_t t = 0; t < c->d; t++) cent[j * c->d + t] -= c->shift[t];
}

dc_status dci_kmeans(const float *x, int64_t n, int64_t d, int64_t k, const dci_kmeans_opts *o,
                     int32_t *labels, float *centers, double *inertia, int64_t *iterations) {
    DCI_CHECK_NULL(o);
    DCI_TRY(check_args(x, n, d, k, centers));
    if (o->n_init < 1 || o->max_iter < 1 || !(o->tol >= 0.0) || !isfinite(o->tol))
        return dci_fail(DC_ERR_INVALID_ARG, "kmeans: need n_init >= 1, max_iter >= 1, tol >= 0 (got %lld, %lld, %g)",
                        (long long)o->n_init, (long long)o->max_iter, o->tol);
    km_ctx c;
    int64_t trials = local_trials(k);
    DCI_TRY(ctx_init(&c, x, n, d, k, k > trials ? k : trials));
    km_work w = {0};
    km_seed s = {0};
    float *cent = DCI_NEW_ARRAY(float, k * d, "kmeans centres");
    dc_status st = cent ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) st = work_init(&w, n, d, k);
    if (st == DC_OK) st = seed_init(&s, n, d, k);
    if (st != DC_OK) goto done;

    const double tol_abs = o->tol * c.tol_scale;
    dci_rng master;
    dci_rng_init(&master, o->seed, DCI_STREAM_KMEANS);
    double best = INFINITY;
    for (int64_t r = 0; r < o->n_init; r++) {
        dci_rng rng;
        dci_rng_init(&rng, dci_rng_u64(&master), DCI_STREAM_KMEANS);
        kmeanspp(&c, &s, &rng, cent);
        int64_t its = lloyd(&c, &w, cent, o->max_iter, tol_abs);
        double in = exact_inertia(&c, cent, w.labels);
        if (in < best) {
            best = in;
            memcpy(centers, cent, sizeof(float) * (size_t)(k * d));
            if (labels) memcpy(labels, w.labels, sizeof(int32_t) * (size_t)n);
            if (iterations) *iterations = its;
        }
        st = dci_progress(o->progress, o->progress_user, "kmeans", r + 1, o->n_init, best);
        if (st != DC_OK) goto done;
    }
    unshift(&c, centers);
    if (inertia) *inertia = best;
done:
    dci_free(cent);
    seed_free(&s);
    work_free(&w);
    ctx_free(&c);
    return st;
}

dc_status dci_kmeans_refine(const float *x, int64_t n, int64_t d, int64_t k, float *centers,
                            int64_t max_iter, double tol, int32_t *labels, double *inertia,
                            int64_t *iterations) {
    DCI_TRY(check_args(x, n, d, k, centers));
    if (max_iter < 1 || !(tol >= 0.0) || !isfinite(tol))
        return dci_fail(DC_ERR_INVALID_ARG, "kmeans refine: need max_iter >= 1 and tol >= 0 (got %lld, %g)",
                        (long long)max_iter, tol);
    DCI_TRY(dci_check_finite(centers, k, d, "kmeans initial centres"));
    km_ctx c;
    DCI_TRY(ctx_init(&c, x, n, d, k, k));
    km_work w = {0};
    dc_status st = work_init(&w, n, d, k);
    if (st == DC_OK) {
        to_shifted(&c, centers);
        int64_t its = lloyd(&c, &w, centers, max_iter, tol * c.tol_scale);
        if (inertia) *inertia = exact_inertia(&c, centers, w.labels);
        if (iterations) *iterations = its;
        if (labels) memcpy(labels, w.labels, sizeof(int32_t) * (size_t)n);
        unshift(&c, centers);
    }
    work_free(&w);
    ctx_free(&c);
    return st;
}

dc_status dci_kmeans_assign(const float *x, int64_t n, int64_t d, const float *centers, int64_t k,
                            int32_t *labels, double *inertia) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(centers);
    DCI_CHECK_NULL(labels);
    if (n < 1 || d < 1 || k < 1 || d > INT_MAX || k > INT_MAX)
        return dci_fail(DC_ERR_SHAPE, "kmeans assign: bad sizes n = %lld, d = %lld, k = %lld",
                        (long long)n, (long long)d, (long long)k);
    DCI_TRY(dci_check_finite(x, n, d, "kmeans assign data"));
    DCI_TRY(dci_check_finite(centers, k, d, "kmeans centres"));
    km_ctx c;
    DCI_TRY(ctx_init(&c, x, n, d, k, k));
    float *cent = DCI_NEW_ARRAY(float, k * d, "kmeans centres");
    float *mind = DCI_NEW_ARRAY(float, n, "kmeans distances");
    dc_status st = cent && mind ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        memcpy(cent, centers, sizeof(float) * (size_t)(k * d));
        to_shifted(&c, cent);
        for (int64_t i = 0; i < n; i++) labels[i] = -1;
        assign_step(&c, cent, labels, mind, NULL, NULL);
        if (inertia) *inertia = exact_inertia(&c, cent, labels);
    }
    dci_free(cent);
    dci_free(mind);
    ctx_free(&c);
    return st;
}
