/* k-means (docs/methods.md "k-means"): greedy k-means++ seeding
 * (cluster/kmeans_seed.c), Lloyd iterations with the scikit-learn stopping
 * rule, best of n_init restarts; the problem context and its row and
 * distance helpers are in cluster/kmeans_ctx.c.
 *
 * Where the time goes and what is done about it:
 * - Distances of many rows to all centres: one sgemm per row tile
 *   (||x||^2 + ||c||^2 - 2 x.c), with the argmin and the centre sums fused
 *   into the same tile loop while the rows are in cache.
 * - Lloyd after the first iteration: most points keep their centre, which
 *   the triangle inequality proves without computing distances (Elkan 2003
 *   with one lower bound per point and centre for small k in high
 *   dimension, Hamerly 2010 with a single lower bound otherwise). The
 *   centre sums are updated only for points that change cluster.
 * - k-means++ seeding: the few candidates per step are dotted with each row
 *   by a small register-blocked kernel (sgemm would spend its time packing
 *   the rows); rows that no candidate can come closer to (triangle
 *   inequality) are skipped where that saves whole tiles.
 * - Per-restart inertia comes from the running cluster sums; only the kept
 *   run's inertia is recomputed exactly over the data.
 * Everything is sequential apart from the BLAS calls, so results depend only
 * on the seed. */
#include "cluster/kmeans.h"
#include "cluster/kmeans_ctx.h"

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
    o->algorithm = DCI_KMEANS_AUTO;
}

/* Elkan keeps n*k lower bounds: measured faster than Hamerly only for few
 * centres in high dimension (~8 % on Fashion-MNIST, d = 784, k = 10), slower
 * for d <= 100. */
#define ELKAN_MAX_K 64
#define ELKAN_MIN_D 256

static dc_status check_args(const float *x, int64_t n, int64_t d, int64_t k, const float *centers) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(centers);
    DCI_TRY(dci_check_shape(n, d, "kmeans data"));
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

static dc_status check_opts(const dci_kmeans_opts *o) {
    DCI_CHECK_NULL(o);
    if (o->n_init < 1 || o->max_iter < 1 || !(o->tol >= 0.0) || !isfinite(o->tol))
        return dci_fail(DC_ERR_INVALID_ARG,
                        "kmeans: need n_init >= 1, max_iter >= 1, finite tol >= 0 (got %lld, %lld, %g)",
                        (long long)o->n_init, (long long)o->max_iter, o->tol);
    if (o->algorithm < DCI_KMEANS_AUTO || o->algorithm > DCI_KMEANS_ELKAN)
        return dci_fail(DC_ERR_INVALID_ARG, "kmeans: unknown algorithm %d", (int)o->algorithm);
    return DC_OK;
}

/* Work arrays of the Lloyd loop. Bounds: ub[i] >= distance of point i to
 * its centre; Hamerly: lb[i] <= distance to every other centre; Elkan:
 * lb[i*k + j] <= distance to centre j. */
typedef struct km_work {
    int elkan;
    int32_t *labels;
    float *ub, *lb;
    float *far;     /* n: squared distances when re-seeding empty clusters */
    double *sums;   /* k x d, kept in step with labels */
    int64_t *counts;
    float *half;    /* k: half the distance to the nearest other centre */
    float *gap;     /* Elkan, k x k: half the distance between two centres */
    float *moved;   /* k: how far each centre moved in the last update */
} km_work;

static void work_free(km_work *w) {
    dci_free(w->labels);
    dci_free(w->ub);
    dci_free(w->lb);
    dci_free(w->far);
    dci_free(w->sums);
    dci_free(w->counts);
    dci_free(w->half);
    dci_free(w->gap);
    dci_free(w->moved);
    memset(w, 0, sizeof *w);
}

static dc_status work_init(km_work *w, const km_ctx *c, dci_kmeans_algo algo) {
    const int64_t n = c->n, k = c->k;
    memset(w, 0, sizeof *w);
    /* In low dimension a distance costs little more than checking n*k
     * bounds, so Hamerly's single bound wins there. */
    w->elkan = algo == DCI_KMEANS_ELKAN ||
               (algo == DCI_KMEANS_AUTO && k <= ELKAN_MAX_K && c->d >= ELKAN_MIN_D);
    w->labels = DCI_NEW_ARRAY(int32_t, n, "kmeans labels");
    w->ub = DCI_NEW_ARRAY(float, n, "kmeans bounds");
    w->lb = DCI_NEW_ARRAY(float, w->elkan ? n * k : n, "kmeans bounds");
    w->far = DCI_NEW_ARRAY(float, n, "kmeans distances");
    w->sums = DCI_NEW_ARRAY(double, k * c->d, "kmeans sums");
    w->counts = DCI_NEW_ARRAY(int64_t, k, "kmeans counts");
    w->half = DCI_NEW_ARRAY(float, k, "kmeans centre gaps");
    w->gap = w->elkan ? DCI_NEW_ARRAY(float, k * k, "kmeans centre gaps") : NULL;
    w->moved = DCI_NEW_ARRAY(float, k, "kmeans centre moves");
    if (!w->labels || !w->ub || !w->lb || !w->far || !w->sums || !w->counts || !w->half ||
        (w->elkan && !w->gap) || !w->moved) {
        work_free(w);
        return DC_ERR_NOMEM;
    }
    return DC_OK;
}

/* Centre norms; half the distance from each centre to its nearest other
 * (and, for Elkan, to every other). */
static void centre_prep(km_ctx *c, km_work *w, const float *cent) {
    const int64_t k = c->k;
    dci_km_point_norms(c, cent, k);
    for (int64_t j0 = 0; j0 < k; j0 += c->tile) {
        int64_t m = k - j0 < c->tile ? k - j0 : c->tile;
        dci_km_tile_dot(c, cent + j0 * c->d, m, cent, k);
        for (int64_t r = 0; r < m; r++) {
            const int64_t a = j0 + r;
            float best = INFINITY;
            for (int64_t j = 0; j < k; j++) {
                float h = j == a ? 0.0f : 0.5f * dci_km_root(c->dist[r * k + j] + c->cn[j] + c->cn[a]);
                if (w->gap) w->gap[a * k + j] = h;
                if (j != a && h < best) best = h;
            }
            w->half[a] = best;
        }
    }
}

/* Nearest and second-nearest centre from a row of -2 x.c (g) and the centre
 * norms; v1, v2 get the squared distances minus ||x||^2 (v2 = INFINITY for
 * k = 1). Ties go to the lower index. */
static int32_t nearest2(const float *g, const float *cn, int64_t k, float *v1, float *v2) {
    int32_t best = 0;
    float b1 = g[0] + cn[0], b2 = INFINITY;
    for (int64_t j = 1; j < k; j++) {
        float v = g[j] + cn[j];
        if (v < b1) {
            b2 = b1;
            b1 = v;
            best = (int32_t)j;
        } else if (v < b2) {
            b2 = v;
        }
    }
    *v1 = b1;
    *v2 = b2;
    return best;
}

/* Nearest centre of every row (c->cn must hold the centre norms). With w:
 * also the initial bounds, and the cluster sums (zeroed by the caller) in the
 * same pass while the rows are in cache. */
DCI_VECTOR_CLONES
static void full_assign(km_ctx *c, const float *cent, int32_t *labels, km_work *w) {
    const int64_t n = c->n, d = c->d, k = c->k;
    for (int64_t i0 = 0; i0 < n; i0 += c->tile) {
        int64_t m = n - i0 < c->tile ? n - i0 : c->tile;
        const float *rows = dci_km_tile_rows(c, i0, m);
        dci_km_tile_dot(c, rows, m, cent, k);
        for (int64_t r = 0; r < m; r++) {
            const int64_t i = i0 + r;
            const float *g = c->dist + r * k;
            float v1, v2;
            const int32_t best = nearest2(g, c->cn, k, &v1, &v2);
            labels[i] = best;
            if (!w) continue;
            w->ub[i] = dci_km_root(v1 + c->xn[i]);
            if (w->elkan)
                for (int64_t j = 0; j < k; j++) w->lb[i * k + j] = dci_km_root(g[j] + c->cn[j] + c->xn[i]);
            else
                w->lb[i] = dci_km_root(v2 + c->xn[i]);
            double *s = w->sums + (int64_t)best * d;
            const float *xr = rows + r * d;
            for (int64_t j = 0; j < d; j++) s[j] += xr[j];
            w->counts[best]++;
        }
    }
}

/* Moves a row (shifted coordinates) from cluster `from` to `to` in the sums. */
DCI_VECTOR_CLONES
static void move_row(const km_ctx *c, km_work *w, const float *row, int32_t from, int32_t to) {
    double *sf = w->sums + (int64_t)from * c->d, *st = w->sums + (int64_t)to * c->d;
    for (int64_t j = 0; j < c->d; j++) {
        sf[j] -= row[j];
        st[j] += row[j];
    }
    w->counts[from]--;
    w->counts[to]++;
}

static void relabel(km_ctx *c, km_work *w, int64_t i, int32_t to) {
    dci_km_shifted_row(c, i, c->tbuf);
    move_row(c, w, c->tbuf, w->labels[i], to);
    w->labels[i] = to;
}

/* Hamerly: all k distances for the m rows in c->todo (one sgemm). */
static int64_t hamerly_rows(km_ctx *c, km_work *w, const float *cent, int64_t m) {
    const int64_t d = c->d, k = c->k;
    const float *rows = dci_km_gather_rows(c, m);
    dci_km_tile_dot(c, rows, m, cent, k);
    int64_t changed = 0;
    for (int64_t r = 0; r < m; r++) {
        const int64_t i = c->todo[r];
        const float *g = c->dist + r * k;
        float v1, v2;
        const int32_t best = nearest2(g, c->cn, k, &v1, &v2);
        w->ub[i] = dci_km_root(v1 + c->xn[i]);
        w->lb[i] = dci_km_root(v2 + c->xn[i]);
        if (best != w->labels[i]) {
            move_row(c, w, rows + r * d, w->labels[i], best);
            w->labels[i] = best;
            changed++;
        }
    }
    return changed;
}

/* Hamerly's step: a point keeps its centre while its upper bound is below
 * both its lower bound and half the gap from its centre to the nearest
 * other; otherwise the upper bound is made exact and, if that does not
 * settle it, all k distances are computed (batched per tile). */
static int64_t hamerly_assign(km_ctx *c, km_work *w, const float *cent) {
    const int64_t n = c->n, d = c->d;
    int64_t changed = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        const int32_t a = w->labels[i];
        const float bound = w->half[a] > w->lb[i] ? w->half[a] : w->lb[i];
        if (w->ub[i] <= bound) continue;
        w->ub[i] = dci_km_point_dist(c, i, cent + (int64_t)a * d);
        if (w->ub[i] <= bound) continue;
        c->todo[m++] = i;
        if (m == c->tile) {
            changed += hamerly_rows(c, w, cent, m);
            m = 0;
        }
    }
    if (m) changed += hamerly_rows(c, w, cent, m);
    return changed;
}

/* Starts loading row i into the cache. The Elkan step touches a scattered
 * subset of rows, which the hardware prefetcher does not foresee, and is
 * bound by memory (~10 % faster with prefetching on Fashion-MNIST). */
static void prefetch_row(const km_ctx *c, int64_t i) {
#if defined(__GNUC__)
    const char *p = (const char *)(c->x + i * c->d);
    const size_t bytes = sizeof(float) * (size_t)c->d;
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o);
#else
    (void)c;
    (void)i;
#endif
}

/* Elkan: centre j is only a candidate for point i when the upper bound
 * exceeds both the lower bound for j and half the distance between the
 * point's centre and j. */
static int elkan_candidate(const km_work *w, int64_t i, int64_t k) {
    const int32_t a = w->labels[i];
    const float u = w->ub[i];
    if (u <= w->half[a]) return 0;
    const float *l = w->lb + i * k, *g = w->gap + a * k;
    for (int64_t j = 0; j < k; j++)
        if (j != a && u > l[j] && u > g[j]) return 1;
    return 0;
}

/* Elkan for one point; returns 1 if it changed cluster. */
static int elkan_point(km_ctx *c, km_work *w, const float *cent, int64_t i) {
    const int64_t d = c->d, k = c->k;
    int32_t a = w->labels[i];
    float u = w->ub[i];
    float *l = w->lb + i * k;
    int exact = 0;
    for (int64_t j = 0; j < k; j++) {
        if (j == a || u <= l[j] || u <= w->gap[a * k + j]) continue;
        if (!exact) {
            u = l[a] = dci_km_point_dist(c, i, cent + (int64_t)a * d);
            exact = 1;
            if (u <= l[j] || u <= w->gap[a * k + j]) continue;
        }
        float dj = l[j] = dci_km_point_dist(c, i, cent + j * d);
        if (dj < u) {
            u = dj;
            a = (int32_t)j;
        }
    }
    w->ub[i] = u;
    if (a == w->labels[i]) return 0;
    relabel(c, w, i, a);
    return 1;
}

/* Elkan's step, per tile: list the points that need distances (bounds
 * only), then compute them with their rows prefetched a few points ahead. */
static int64_t elkan_assign(km_ctx *c, km_work *w, const float *cent) {
    enum { AHEAD = 2 };
    const int64_t n = c->n, k = c->k;
    int64_t changed = 0;
    for (int64_t i0 = 0; i0 < n; i0 += c->tile) {
        const int64_t end = n - i0 < c->tile ? n : i0 + c->tile;
        int64_t m = 0;
        for (int64_t i = i0; i < end; i++)
            if (elkan_candidate(w, i, k)) c->todo[m++] = i;
        for (int64_t r = 0; r < m && r < AHEAD; r++) prefetch_row(c, c->todo[r]);
        for (int64_t r = 0; r < m; r++) {
            if (r + AHEAD < m) prefetch_row(c, c->todo[r + AHEAD]);
            changed += elkan_point(c, w, cent, c->todo[r]);
        }
    }
    return changed;
}

static int64_t bounded_assign(km_ctx *c, km_work *w, const float *cent) {
    return w->elkan ? elkan_assign(c, w, cent) : hamerly_assign(c, w, cent);
}

/* An empty cluster takes the point farthest from its centre among clusters
 * that can spare one (n >= k guarantees there is such a cluster). */
static void relocate_empty(km_ctx *c, km_work *w, const float *cent) {
    const int64_t n = c->n, d = c->d, k = c->k;
    int64_t empty = 0;
    for (int64_t e = 0; e < k; e++) empty += w->counts[e] == 0;
    if (!empty) return;
    for (int64_t i = 0; i < n; i++) w->far[i] = dci_km_point_dist(c, i, cent + (int64_t)w->labels[i] * d);
    for (int64_t e = 0; e < k; e++) {
        if (w->counts[e] > 0) continue;
        int64_t far = -1;
        float fv = -1.0f;
        for (int64_t i = 0; i < n; i++)
            if (w->counts[w->labels[i]] > 1 && w->far[i] > fv) {
                fv = w->far[i];
                far = i;
            }
        if (far < 0) break; /* only when k > n, rejected earlier */
        relabel(c, w, far, (int32_t)e);
        /* The point becomes the centre; its other distances are unknown. */
        w->ub[far] = 0.0f;
        if (w->elkan)
            for (int64_t j = 0; j < k; j++) w->lb[far * k + j] = 0.0f;
        else
            w->lb[far] = 0.0f;
        w->far[far] = 0.0f;
    }
}

/* Centres = cluster means; loosens the bounds by how far the centres moved.
 * Returns the summed squared centre shift. */
static double update_centres(km_ctx *c, km_work *w, float *cent) {
    const int64_t n = c->n, d = c->d, k = c->k;
    double total = 0.0;
    int64_t far1 = 0;
    float m1 = 0.0f, m2 = 0.0f;
    for (int64_t j = 0; j < k; j++) {
        double inv = 1.0 / (double)w->counts[j], s2 = 0.0;
        for (int64_t t = 0; t < d; t++) {
            float v = (float)(w->sums[j * d + t] * inv);
            double diff = (double)v - cent[j * d + t];
            s2 += diff * diff;
            cent[j * d + t] = v;
        }
        total += s2;
        float mv = (float)sqrt(s2);
        w->moved[j] = mv;
        if (mv > m1) {
            m2 = m1;
            m1 = mv;
            far1 = j;
        } else if (mv > m2) {
            m2 = mv;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        const int32_t a = w->labels[i];
        w->ub[i] += w->moved[a];
        if (w->elkan) {
            float *l = w->lb + i * k;
            for (int64_t j = 0; j < k; j++) l[j] -= w->moved[j];
        } else {
            w->lb[i] -= a == far1 ? m2 : m1;
        }
    }
    return total;
}

/* Lloyd from centres cent (shifted coordinates) with scikit-learn's stopping
 * rule: stop when the labels repeat, or when the summed squared centre shift
 * is at most tol_abs (then relabel with the final centres), or after max_iter.
 * Returns the number of iterations; w->labels hold the final assignment. */
static int64_t lloyd(km_ctx *c, km_work *w, float *cent, int64_t max_iter, double tol_abs) {
    memset(w->sums, 0, sizeof(double) * (size_t)(c->k * c->d));
    memset(w->counts, 0, sizeof(int64_t) * (size_t)c->k);
    centre_prep(c, w, cent);
    full_assign(c, cent, w->labels, w);
    int64_t it = 1;
    for (;;) {
        relocate_empty(c, w, cent);
        double shift = update_centres(c, w, cent);
        centre_prep(c, w, cent);
        /* A cancelled fit stops here; the callers' next check reports it. */
        if (shift <= tol_abs || it >= max_iter || dci_cancel_requested()) break;
        it++;
        /* Repeated labels mean the centres already are their means. */
        if (bounded_assign(c, w, cent) == 0) return it;
    }
    bounded_assign(c, w, cent);
    return it;
}

/* Sum of squared distances to centres in data coordinates, in double. */
static double exact_inertia(const km_ctx *c, const float *cent, const int32_t *labels) {
    const int64_t d = c->d;
    double total = 0.0;
    for (int64_t i = 0; i < c->n; i++) {
        const float *xr = c->x + i * d, *cr = cent + (int64_t)labels[i] * d;
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double t = (double)xr[j] - cr[j];
            s += t * t;
        }
        total += s;
    }
    return total;
}

/* The inertia from the running cluster sums, without a pass over the data:
 * sum ||x||^2 - 2 sum_j c_j . S_j + sum_j n_j ||c_j||^2 (double; the terms
 * are of the size of the inertia unless the data sit far from the origin,
 * which the shift prevents). */
static double sums_inertia(const km_ctx *c, const km_work *w, const float *cent) {
    double total = c->xn_total;
    for (int64_t j = 0; j < c->k; j++) {
        const float *cj = cent + j * c->d;
        const double *sj = w->sums + j * c->d;
        double dot = 0.0, nn = 0.0;
        for (int64_t t = 0; t < c->d; t++) {
            dot += cj[t] * sj[t];
            nn += (double)cj[t] * cj[t];
        }
        total += (double)w->counts[j] * nn - 2.0 * dot;
    }
    return total > 0.0 ? total : 0.0;
}

/* Centres between data and shifted coordinates. */
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

/* ---- magnitude ----
 * Everything above works in float (squared norms, sgemm, bounds), which
 * data beyond ~1e19 or below ~1e-19 overflow or underflow. Such data are
 * clustered as a copy scaled by a power of two (dci_float_scale), and the
 * results scaled back: exact, so they are the results the scaled data have.
 * Progress values (inertia) are then in the scaled units. */

/* The scale for the rows of x and, when given, k centres. */
static double data_scale(const float *x, int64_t n, int64_t d, const float *cent, int64_t k) {
    double mx = 0.0;
    for (int64_t i = 0; i < n * d; i++) mx = fmax(mx, fabs((double)x[i]));
    for (int64_t i = 0; cent && i < k * d; i++) mx = fmax(mx, fabs((double)cent[i]));
    return dci_float_scale(mx, d);
}

static void scale_in_place(float *v, int64_t count, double s) {
    for (int64_t i = 0; i < count; i++) v[i] = (float)((double)v[i] * s);
}

static float *scaled_copy(const float *v, int64_t count, double s, const char *what) {
    float *c = DCI_NEW_ARRAY(float, count, what);
    if (c) {
        memcpy(c, v, sizeof(float) * (size_t)count);
        scale_in_place(c, count, s);
    }
    return c;
}

dc_status dci_kmeans(const float *x, int64_t n, int64_t d, int64_t k, const dci_kmeans_opts *o,
                     int32_t *labels, float *centers, double *inertia, int64_t *iterations) {
    DCI_TRY(check_opts(o));
    DCI_TRY(check_args(x, n, d, k, centers));
    const double scale = data_scale(x, n, d, NULL, 0);
    if (scale != 1.0) {
        float *xs = scaled_copy(x, n * d, scale, "kmeans scaled data");
        if (!xs) return DC_ERR_NOMEM;
        dc_status st = dci_kmeans(xs, n, d, k, o, labels, centers, inertia, iterations);
        dci_free(xs);
        if (st == DC_OK) {
            scale_in_place(centers, k * d, 1.0 / scale);
            if (inertia) *inertia /= scale * scale;
        }
        return st;
    }
    km_ctx c;
    int64_t trials = dci_km_local_trials(k);
    DCI_TRY(dci_km_ctx_init(&c, x, n, d, k, k > trials ? k : trials));
    km_work w = {0};
    dci_km_seed s = {0};
    float *cent = DCI_NEW_ARRAY(float, k * d, "kmeans centres");
    int32_t *best_l = labels ? labels : DCI_NEW_ARRAY(int32_t, n, "kmeans labels");
    dc_status st = cent && best_l ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) st = work_init(&w, &c, o->algorithm);
    if (st == DC_OK) st = dci_km_seed_init(&s, n, d, k);
    if (st != DC_OK) goto done;

    const double tol_abs = o->tol * c.tol_scale;
    dci_rng master;
    dci_rng_init(&master, o->seed, DCI_STREAM_KMEANS);
    double best = INFINITY;
    for (int64_t r = 0; r < o->n_init; r++) {
        dci_rng rng;
        dci_rng_init(&rng, dci_rng_u64(&master), DCI_STREAM_KMEANS);
        dci_km_kmeanspp(&c, &s, &rng, cent);
        int64_t its = lloyd(&c, &w, cent, o->max_iter, tol_abs);
        if ((st = dci_cancel_check("kmeans")) != DC_OK) goto done;
        double in = sums_inertia(&c, &w, cent);
        if (in < best) {
            best = in;
            memcpy(centers, cent, sizeof(float) * (size_t)(k * d));
            memcpy(best_l, w.labels, sizeof(int32_t) * (size_t)n);
            if (iterations) *iterations = its;
        }
        st = dci_progress(o->progress, o->progress_user, "kmeans", r + 1, o->n_init, best);
        if (st != DC_OK) goto done;
    }
    unshift(&c, centers);
    /* Reported exactly, against the float centres the caller gets. */
    if (inertia) *inertia = exact_inertia(&c, centers, best_l);
done:
    if (best_l != labels) dci_free(best_l);
    dci_free(cent);
    dci_km_seed_free(&s);
    work_free(&w);
    dci_km_ctx_free(&c);
    return st;
}

dc_status dci_kmeans_refine_opts(const float *x, int64_t n, int64_t d, int64_t k, float *centers,
                                 const dci_kmeans_opts *o, int32_t *labels, double *inertia,
                                 int64_t *iterations) {
    DCI_TRY(check_opts(o));
    DCI_TRY(check_args(x, n, d, k, centers));
    DCI_TRY(dci_check_finite(centers, k, d, "kmeans initial centres"));
    const double s = data_scale(x, n, d, centers, k);
    if (s != 1.0) {
        float *xs = scaled_copy(x, n * d, s, "kmeans scaled data");
        if (!xs) return DC_ERR_NOMEM;
        scale_in_place(centers, k * d, s);
        dc_status st = dci_kmeans_refine_opts(xs, n, d, k, centers, o, labels, inertia, iterations);
        dci_free(xs);
        scale_in_place(centers, k * d, 1.0 / s); /* also back to the caller's on failure */
        if (st == DC_OK && inertia) *inertia /= s * s;
        return st;
    }
    km_ctx c;
    DCI_TRY(dci_km_ctx_init(&c, x, n, d, k, k));
    km_work w;
    dc_status st = work_init(&w, &c, o->algorithm);
    if (st == DC_OK) {
        to_shifted(&c, centers);
        int64_t its = lloyd(&c, &w, centers, o->max_iter, o->tol * c.tol_scale);
        unshift(&c, centers);
        st = dci_cancel_check("kmeans");
        if (inertia) *inertia = exact_inertia(&c, centers, w.labels);
        if (iterations) *iterations = its;
        if (labels) memcpy(labels, w.labels, sizeof(int32_t) * (size_t)n);
    }
    work_free(&w);
    dci_km_ctx_free(&c);
    return st;
}

dc_status dci_kmeans_refine(const float *x, int64_t n, int64_t d, int64_t k, float *centers,
                            int64_t max_iter, double tol, int32_t *labels, double *inertia,
                            int64_t *iterations) {
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.max_iter = max_iter;
    o.tol = tol;
    return dci_kmeans_refine_opts(x, n, d, k, centers, &o, labels, inertia, iterations);
}

dc_status dci_kmeans_assign(const float *x, int64_t n, int64_t d, const float *centers, int64_t k,
                            int32_t *labels, double *inertia) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(centers);
    DCI_CHECK_NULL(labels);
    DCI_TRY(dci_check_shape(n, d, "kmeans assign data"));
    if (k < 1 || d > INT_MAX || k > INT_MAX)
        return dci_fail(DC_ERR_SHAPE, "kmeans assign: bad sizes n = %lld, d = %lld, k = %lld",
                        (long long)n, (long long)d, (long long)k);
    DCI_TRY(dci_check_finite(x, n, d, "kmeans assign data"));
    DCI_TRY(dci_check_finite(centers, k, d, "kmeans centres"));
    const double s = data_scale(x, n, d, centers, k);
    if (s != 1.0) {
        float *xs = scaled_copy(x, n * d, s, "kmeans scaled data");
        float *cs = xs ? scaled_copy(centers, k * d, s, "kmeans scaled centres") : NULL;
        dc_status st = cs ? dci_kmeans_assign(xs, n, d, cs, k, labels, inertia) : DC_ERR_NOMEM;
        dci_free(xs);
        dci_free(cs);
        if (st == DC_OK && inertia) *inertia /= s * s;
        return st;
    }
    km_ctx c;
    DCI_TRY(dci_km_ctx_init(&c, x, n, d, k, k));
    float *cent = DCI_NEW_ARRAY(float, k * d, "kmeans centres");
    dc_status st = cent ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        memcpy(cent, centers, sizeof(float) * (size_t)(k * d));
        to_shifted(&c, cent);
        dci_km_point_norms(&c, cent, k);
        full_assign(&c, cent, labels, NULL);
        if (inertia) *inertia = exact_inertia(&c, centers, labels);
    }
    dci_free(cent);
    dci_km_ctx_free(&c);
    return st;
}
