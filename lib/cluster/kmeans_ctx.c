/* The k-means problem context: the data, their norms and shift, tiles, and
 * the row and distance helpers every part of k-means uses
 * (cluster/kmeans_ctx.h). */
#include "cluster/kmeans_ctx.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

/* ||x||^2 + ||c||^2 - 2 x.c loses precision in float when the data sit far
 * from the origin compared with their spread; then the rows are shifted by
 * the data mean (per tile, no copy of x) before the sgemm. */
#define SHIFT_RATIO 10.0

void dci_km_ctx_free(km_ctx *c) {
    dci_free(c->shift);
    dci_free(c->xn);
    dci_free(c->tbuf);
    dci_free(c->dist);
    dci_free(c->cn);
    dci_free(c->todo);
    memset(c, 0, sizeof *c);
}

/* Copies row i of the data, in the centres' coordinates, to out (d floats). */
void dci_km_shifted_row(const km_ctx *c, int64_t i, float *out) {
    const float *r = c->x + i * c->d;
    if (!c->shift) {
        memcpy(out, r, sizeof(float) * (size_t)c->d);
        return;
    }
    for (int64_t j = 0; j < c->d; j++) out[j] = r[j] - c->shift[j];
}

float dci_km_sq_norm(const float *v, int64_t d) {
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) s += (double)v[j] * v[j];
    return (float)s;
}

float dci_km_root(float v) { return v > 0.0f ? sqrtf(v) : 0.0f; }

/* Squared distance of a - shift (shift may be NULL) to b, from differences
 * (no cancellation). 32 partial sums: four independent vector accumulators,
 * so the loop is not bound by the latency of one add chain. */
DCI_VECTOR_CLONES
static float diff_dist2(const float *a, const float *shift, const float *b, int64_t d) {
    float acc[32] = {0};
    int64_t t = 0;
    if (shift) {
        for (; t + 32 <= d; t += 32)
            for (int q = 0; q < 32; q++) {
                float u = a[t + q] - shift[t + q] - b[t + q];
                acc[q] += u * u;
            }
    } else {
        for (; t + 32 <= d; t += 32)
            for (int q = 0; q < 32; q++) {
                float u = a[t + q] - b[t + q];
                acc[q] += u * u;
            }
    }
    float s = 0.0f;
    for (; t < d; t++) {
        float u = a[t] - (shift ? shift[t] : 0.0f) - b[t];
        s += u * u;
    }
    for (int q = 0; q < 32; q++) s += acc[q];
    return s;
}

/* Not cloned itself: an ifunc resolver of a cloned global function would be
 * exported from the .so whatever its visibility. */
float dci_km_diff_dist2(const float *a, const float *shift, const float *b, int64_t d) {
    return diff_dist2(a, shift, b, d);
}

/* Distance from row i to centre cc (shifted coordinates). */
float dci_km_point_dist(const km_ctx *c, int64_t i, const float *cc) {
    return sqrtf(dci_km_diff_dist2(c->x + i * c->d, c->shift, cc, c->d));
}

/* Rows [i0, i0+m) in the centres' coordinates (pointer into x or tbuf). */
const float *dci_km_tile_rows(const km_ctx *c, int64_t i0, int64_t m) {
    const float *r = c->x + i0 * c->d;
    if (!c->shift) return r;
    for (int64_t i = 0; i < m; i++) dci_km_shifted_row(c, i0 + i, c->tbuf + i * c->d);
    return c->tbuf;
}

/* The m rows listed in c->todo, gathered into tbuf. */
const float *dci_km_gather_rows(const km_ctx *c, int64_t m) {
    for (int64_t r = 0; r < m; r++) dci_km_shifted_row(c, c->todo[r], c->tbuf + r * c->d);
    return c->tbuf;
}

/* dist (m x kc) = -2 rows . P^T; callers add the squared norms. */
void dci_km_tile_dot(const km_ctx *c, const float *rows, int64_t m, const float *p, int64_t kc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)kc, (int)c->d, -2.0f, rows,
                (int)c->d, p, (int)c->d, 0.0f, c->dist, (int)kc);
}

void dci_km_point_norms(km_ctx *c, const float *p, int64_t np) {
    for (int64_t j = 0; j < np; j++) c->cn[j] = dci_km_sq_norm(p + j * c->d, c->d);
}

/* Mean, per-feature variance, the shift if needed, squared row norms, and
 * buffers for up to `width` centres per sgemm. */
dc_status dci_km_ctx_init(km_ctx *c, const float *x, int64_t n, int64_t d, int64_t k, int64_t width) {
    memset(c, 0, sizeof *c);
    c->x = x;
    c->n = n;
    c->d = d;
    c->k = k;
    double *mean = DCI_NEW_ZEROS(double, d, "kmeans mean");
    double *m2 = DCI_NEW_ZEROS(double, d, "kmeans variance");
    /* About 1 MB of rows per tile keeps the fused argmin/update in cache;
     * the distance block is capped for large k. */
    int64_t tile = ((int64_t)1 << 18) / d;
    if (tile < 64) tile = 64;
    if (tile > 4096) tile = 4096;
    int64_t cap = ((int64_t)1 << 22) / width;
    if (tile > cap) tile = cap > 0 ? cap : 1;
    if (tile > n) tile = n;
    c->tile = tile;
    c->xn = DCI_NEW_ARRAY(float, n, "kmeans row norms");
    c->cn = DCI_NEW_ARRAY(float, width, "kmeans centre norms");
    c->dist = DCI_NEW_ARRAY(float, tile * width, "kmeans distance tile");
    c->tbuf = DCI_NEW_ARRAY(float, tile * d, "kmeans row tile");
    c->todo = DCI_NEW_ARRAY(int64_t, tile, "kmeans row list");
    if (!mean || !m2 || !c->xn || !c->cn || !c->dist || !c->tbuf || !c->todo) goto nomem;

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
        if (!c->shift) goto nomem;
        for (int64_t j = 0; j < d; j++) c->shift[j] = (float)mean[j];
    }
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double t = (double)x[i * d + j] - (c->shift ? c->shift[j] : 0.0f);
            s += t * t;
        }
        c->xn[i] = (float)s;
        c->xn_total += s;
    }
    dci_free(mean);
    dci_free(m2);
    return DC_OK;
nomem:
    dci_free(mean);
    dci_free(m2);
    dci_km_ctx_free(c);
    return DC_ERR_NOMEM;
}
