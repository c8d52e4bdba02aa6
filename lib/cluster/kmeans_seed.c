/* k-means++ seeding (Arthur & Vassilvitskii 2007, greedy as scikit-learn):
 * the few candidates per step are dotted with each row by a small
 * register-blocked kernel, and rows no candidate can come closer to are
 * skipped (cluster/kmeans_ctx.h). */
#include "cluster/kmeans_ctx.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

/* Leaves the struct empty, so that a second call (the caller's cleanup after
 * a failed dci_km_seed_init) frees nothing twice. */
void dci_km_seed_free(dci_km_seed *s) {
    dci_free(s->closest);
    dci_free(s->near);
    dci_free(s->cum);
    dci_free(s->cand_d);
    dci_free(s->cand);
    dci_free(s->cc2);
    memset(s, 0, sizeof *s);
}

int64_t dci_km_local_trials(int64_t k) { return 2 + (int64_t)log((double)k); }

dc_status dci_km_seed_init(dci_km_seed *s, int64_t n, int64_t d, int64_t k) {
    s->trials = dci_km_local_trials(k);
    s->closest = DCI_NEW_ARRAY(float, n, "kmeans++ distances");
    s->near = DCI_NEW_ARRAY(int32_t, n, "kmeans++ nearest centres");
    s->cum = DCI_NEW_ARRAY(double, n, "kmeans++ potentials");
    s->cand_d = DCI_NEW_ARRAY(float, n * s->trials, "kmeans++ candidate distances");
    s->cand = DCI_NEW_ARRAY(float, s->trials * d, "kmeans++ candidates");
    s->cc2 = DCI_NEW_ARRAY(float, s->trials * k, "kmeans++ candidate gaps");
    if (!s->closest || !s->near || !s->cum || !s->cand_d || !s->cand || !s->cc2) {
        dci_km_seed_free(s);
        return DC_ERR_NOMEM;
    }
    return DC_OK;
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

/* -2 x.p for a few points p (np <= FEW_MAX), reading each row once: sgemm
 * packs the rows first, which for so few columns costs more than the
 * products. np is a constant after inlining, so the accumulators (8-float
 * vectors) stay in registers. */
#define FEW_MAX 8
#if defined(__GNUC__)
typedef float km_v8 __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) void dot_few_n(const float *rows, int64_t m,
                                                            int64_t d, const float *p,
                                                            const int np, float *out) {
    for (int64_t r = 0; r < m; r++) {
        const float *xr = rows + r * d;
        km_v8 acc[FEW_MAX];
        for (int q = 0; q < np; q++) acc[q] = (km_v8){0};
        int64_t t = 0;
        for (; t + 8 <= d; t += 8) {
            km_v8 xv, pv;
            memcpy(&xv, xr + t, sizeof xv);
            for (int q = 0; q < np; q++) {
                memcpy(&pv, p + q * d + t, sizeof pv);
                acc[q] += xv * pv;
            }
        }
        for (int q = 0; q < np; q++) {
            float s = 0.0f;
            for (int64_t u = t; u < d; u++) s += xr[u] * p[q * d + u];
            for (int l = 0; l < 8; l++) s += acc[q][l];
            out[r * np + q] = -2.0f * s;
        }
    }
}
#else
static void dot_few_n(const float *rows, int64_t m, int64_t d, const float *p, int np, float *out) {
    for (int64_t r = 0; r < m; r++)
        for (int q = 0; q < np; q++) {
            float s = 0.0f;
            for (int64_t u = 0; u < d; u++) s += rows[r * d + u] * p[q * d + u];
            out[r * np + q] = -2.0f * s;
        }
}
#endif

DCI_VECTOR_CLONES
static void dot_few(const float *rows, int64_t m, int64_t d, const float *p, int64_t np, float *out) {
    switch (np) {
    case 1: dot_few_n(rows, m, d, p, 1, out); break;
    case 2: dot_few_n(rows, m, d, p, 2, out); break;
    case 3: dot_few_n(rows, m, d, p, 3, out); break;
    case 4: dot_few_n(rows, m, d, p, 4, out); break;
    case 5: dot_few_n(rows, m, d, p, 5, out); break;
    case 6: dot_few_n(rows, m, d, p, 6, out); break;
    case 7: dot_few_n(rows, m, d, p, 7, out); break;
    default: dot_few_n(rows, m, d, p, 8, out); break;
    }
}

/* c->dist = -2 rows . P^T for the seeding candidates. */
static void cand_dot(const km_ctx *c, const float *rows, int64_t m, const float *p, int64_t np) {
    if (np <= FEW_MAX) dot_few(rows, m, c->d, p, np, c->dist);
    else dci_km_tile_dot(c, rows, m, p, np);
}

/* Squared distances from rows [i0, i0+m) to the t candidates, for the rows
 * a candidate can come closer to: |cand - x| >= |cand - c| - |x - c| >=
 * |x - c| when |cand - c| >= 2 |x - c| (c: the row's nearest centre). In
 * high dimension few rows are excluded, so when most of the tile is needed
 * it is computed whole, without gathering. */
static void seed_tile(km_ctx *c, dci_km_seed *s, int64_t i0, int64_t m) {
    const int64_t t = s->trials, k = c->k;
    int64_t need = 0;
    for (int64_t i = i0; i < i0 + m; i++) {
        const float lim = 4.0f * s->closest[i];
        const float *g = s->cc2 + s->near[i];
        int any = 0;
        for (int64_t q = 0; q < t; q++) any |= g[q * k] < lim;
        if (any) {
            c->todo[need++] = i;
        } else {
            for (int64_t q = 0; q < t; q++) s->cand_d[i * t + q] = INFINITY;
        }
    }
    if (!need) return;
    const int whole = 2 * need > m;
    const int64_t rows = whole ? m : need;
    cand_dot(c, whole ? dci_km_tile_rows(c, i0, m) : dci_km_gather_rows(c, need), rows, s->cand, t);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = whole ? i0 + r : c->todo[r];
        for (int64_t q = 0; q < t; q++) {
            float v = c->dist[r * t + q] + c->xn[i] + c->cn[q];
            s->cand_d[i * t + q] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* Greedy k-means++ (Arthur & Vassilvitskii 2007, as in scikit-learn): each
 * new centre is the best of `trials` candidates sampled by D^2 weighting,
 * judged by the potential it leaves. */
void dci_km_kmeanspp(km_ctx *c, dci_km_seed *s, dci_rng *rng, float *cent) {
    const int64_t n = c->n, d = c->d, k = c->k, t = s->trials;
    dci_km_shifted_row(c, (int64_t)dci_rng_below(rng, (uint64_t)n), cent);
    c->cn[0] = dci_km_sq_norm(cent, d);
    for (int64_t i0 = 0; i0 < n; i0 += c->tile) {
        int64_t m = n - i0 < c->tile ? n - i0 : c->tile;
        cand_dot(c, dci_km_tile_rows(c, i0, m), m, cent, 1);
        for (int64_t r = 0; r < m; r++) {
            float v = c->dist[r] + c->xn[i0 + r] + c->cn[0];
            s->closest[i0 + r] = v > 0.0f ? v : 0.0f;
            s->near[i0 + r] = 0;
        }
    }
    for (int64_t ci = 1; ci < k; ci++) {
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) s->cum[i] = acc += s->closest[i];
        for (int64_t q = 0; q < t; q++) {
            int64_t idx = acc > 0.0 ? sample_cum(s->cum, n, dci_rng_uniform(rng) * acc)
                                    : (int64_t)dci_rng_below(rng, (uint64_t)n);
            dci_km_shifted_row(c, idx, s->cand + q * d);
            for (int64_t j = 0; j < ci; j++)
                s->cc2[q * k + j] = dci_km_diff_dist2(s->cand + q * d, NULL, cent + j * d, d);
        }
        dci_km_point_norms(c, s->cand, t);
        for (int64_t i0 = 0; i0 < n; i0 += c->tile) seed_tile(c, s, i0, n - i0 < c->tile ? n - i0 : c->tile);
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
            if (v < s->closest[i]) {
                s->closest[i] = v;
                s->near[i] = (int32_t)ci;
            }
        }
        memcpy(cent + ci * d, s->cand + best * d, sizeof(float) * (size_t)d);
    }
}
