#include "nn/augment.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/error.h"
#include "core/parallel.h"

dci_augment_ranges dci_augment_ranges_default(void) {
    return (dci_augment_ranges){0.1, 0.1, 10.0, 0.1, DCI_FILL_NEAREST};
}

dci_augment_ranges dci_augment_ranges_pretrain(void) {
    return (dci_augment_ranges){0.1, 0.1, 10.0, 0.0, DCI_FILL_NEAREST};
}

dc_status dci_augment_check(const dci_image_shape *shape, int64_t d) {
    if (!shape)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "augmentation needs image data: the data set has no image shape (H x W x C)");
    if (shape->h < 1 || shape->w < 1 || shape->c < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "augmentation: image shape %lld x %lld x %lld",
                        (long long)shape->h, (long long)shape->w, (long long)shape->c);
    if (shape->h > INT64_MAX / shape->w || shape->h * shape->w > INT64_MAX / shape->c ||
        shape->h * shape->w * shape->c != d)
        return dci_fail(DC_ERR_SHAPE,
                        "augmentation: image shape %lld x %lld x %lld does not match %lld columns",
                        (long long)shape->h, (long long)shape->w, (long long)shape->c,
                        (long long)d);
    return DC_OK;
}

dci_affine dci_affine_identity(void) { return (dci_affine){0.0, 0.0, 0.0, 1.0, 1.0}; }

static double uniform_pm(dci_rng *r, double range) {
    return (2.0 * dci_rng_uniform(r) - 1.0) * range;
}

dci_affine dci_affine_draw(dci_rng *r, const dci_image_shape *shape,
                           const dci_augment_ranges *ranges) {
    dci_affine t;
    t.shift_x = uniform_pm(r, ranges->width_shift) * (double)shape->w;
    t.shift_y = uniform_pm(r, ranges->height_shift) * (double)shape->h;
    t.rotation = uniform_pm(r, ranges->rotation);
    t.zoom_x = 1.0 + uniform_pm(r, ranges->zoom);
    t.zoom_y = 1.0 + uniform_pm(r, ranges->zoom);
    return t;
}

/* cos and sin of an angle in degrees, exact at multiples of 90° so that
 * quarter turns move pixels without interpolation error. */
static void cos_sin_deg(double deg, double *c, double *s) {
    double q = deg / 90.0;
    if (q == floor(q) && fabs(q) < 1e9) {
        static const double cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        long k = ((long)q % 4 + 4) % 4;
        *c = cs[k][0];
        *s = cs[k][1];
        return;
    }
    double rad = deg * (3.14159265358979323846 / 180.0);
    *c = cos(rad);
    *s = sin(rad);
}

/* Bilinear sample at (rs, cs) with coordinates clamped into the image: the
 * nearest-edge fill. */
static void sample_nearest(const float *src, float *out, int64_t H, int64_t W, int64_t C,
                           double rs, double cs) {
    rs = rs < 0.0 ? 0.0 : (rs > (double)(H - 1) ? (double)(H - 1) : rs);
    cs = cs < 0.0 ? 0.0 : (cs > (double)(W - 1) ? (double)(W - 1) : cs);
    const int64_t r0 = (int64_t)rs, c0 = (int64_t)cs;
    const int64_t r1 = r0 + 1 < H ? r0 + 1 : r0, c1 = c0 + 1 < W ? c0 + 1 : c0;
    const float wr = (float)(rs - (double)r0), wc = (float)(cs - (double)c0);
    const float *p00 = src + (r0 * W + c0) * C, *p01 = src + (r0 * W + c1) * C;
    const float *p10 = src + (r1 * W + c0) * C, *p11 = src + (r1 * W + c1) * C;
    for (int64_t ch = 0; ch < C; ch++)
        out[ch] = (1.0f - wr) * ((1.0f - wc) * p00[ch] + wc * p01[ch]) +
                  wr * ((1.0f - wc) * p10[ch] + wc * p11[ch]);
}

void dci_affine_apply(const float *src, float *dst, const dci_image_shape *shape,
                      const dci_affine *t, dci_fill fill) {
    const int64_t H = shape->h, W = shape->w, C = shape->c;
    const double cy = 0.5 * (double)(H - 1), cx = 0.5 * (double)(W - 1);
    double cs, sn;
    cos_sin_deg(t->rotation, &cs, &sn);
    /* Forward map of content (u = row − cy, v = col − cx; "up" is −u):
     * p' = R·Z·p + shift. Inverse for each output pixel:
     *   a = u' − shift_y, b = v' − shift_x
     *   u = ( a·cos + b·sin) / zoom_y,  v = (−a·sin + b·cos) / zoom_x.
     * The source position is affine in (row, col): step it along a row. */
    const double iy = 1.0 / t->zoom_y, ix = 1.0 / t->zoom_x;
    const double dr_dcol = sn * iy, dc_dcol = cs * ix;  /* per output column */
    for (int64_t r = 0; r < H; r++) {
        double a = (double)r - cy - t->shift_y;
        double b0 = -cx - t->shift_x;
        double rs = (a * cs + b0 * sn) * iy + cy;
        double csrc = (-a * sn + b0 * cs) * ix + cx;
        float *out = dst + r * W * C;
        for (int64_t c = 0; c < W; c++, rs += dr_dcol, csrc += dc_dcol, out += C) {
            if (fill == DCI_FILL_NEAREST &&
                !(rs >= 0.0 && rs < (double)(H - 1) && csrc >= 0.0 && csrc < (double)(W - 1))) {
                sample_nearest(src, out, H, W, C, rs, csrc);
                continue;
            }
            if (!(rs > -1.0 && rs < (double)H && csrc > -1.0 && csrc < (double)W)) {
                for (int64_t ch = 0; ch < C; ch++) out[ch] = 0.0f;
                continue;
            }
            /* Both > −1 here, so truncation of (v + 1) is floor(v) + 1 (no libm call). */
            const int64_t r0 = (int64_t)(rs + 1.0) - 1, c0 = (int64_t)(csrc + 1.0) - 1;
            const float wr = (float)(rs - (double)r0), wc = (float)(csrc - (double)c0);
            const float w00 = (1.0f - wr) * (1.0f - wc), w01 = (1.0f - wr) * wc;
            const float w10 = wr * (1.0f - wc), w11 = wr * wc;
            if (r0 >= 0 && r0 + 1 < H && c0 >= 0 && c0 + 1 < W) {
                const float *p00 = src + (r0 * W + c0) * C, *p10 = p00 + W * C;
                if (C == 1) { /* grey images: the common case, without a channel loop */
                    out[0] = w00 * p00[0] + w01 * p00[1] + w10 * p10[0] + w11 * p10[1];
                    continue;
                }
                for (int64_t ch = 0; ch < C; ch++)
                    out[ch] = w00 * p00[ch] + w01 * p00[C + ch] + w10 * p10[ch] + w11 * p10[C + ch];
                continue;
            }
            /* Border: taps outside the image read as 0. */
            const int in_r0 = r0 >= 0, in_r1 = r0 + 1 < H, in_c0 = c0 >= 0, in_c1 = c0 + 1 < W;
            for (int64_t ch = 0; ch < C; ch++) {
                const int64_t k = (r0 * W + c0) * C + ch; /* may be negative: index, not pointer */
                float v = 0.0f;
                if (in_r0 && in_c0) v += w00 * src[k];
                if (in_r0 && in_c1) v += w01 * src[k + C];
                if (in_r1 && in_c0) v += w10 * src[k + W * C];
                if (in_r1 && in_c1) v += w11 * src[k + W * C + C];
                out[ch] = v;
            }
        }
    }
}

/* Rows [lo, hi) of one chunk of dci_gather_batch (transforms drawn). */
typedef struct gather_job {
    const float *x;
    int64_t d;
    const int64_t *idx;
    float *out;
    const dci_image_shape *shape;
    const dci_affine *t;
    dci_fill fill;
} gather_job;

static void gather_part(void *ctx, int64_t lo, int64_t hi) {
    const gather_job *j = ctx;
    for (int64_t i = lo; i < hi; i++)
        dci_affine_apply(j->x + j->idx[i] * j->d, j->out + i * j->d, j->shape, &j->t[i], j->fill);
}

#define GATHER_CHUNK 256

void dci_gather_batch(const float *x, int64_t d, const int64_t *idx, int64_t b, float *out,
                      const dci_image_shape *shape, const dci_augment_ranges *ranges,
                      dci_rng *r) {
    if (!shape) {
        for (int64_t i = 0; i < b; i++)
            memcpy(out + i * d, x + idx[i] * d, (size_t)d * sizeof *out);
        return;
    }
    const dci_augment_ranges def = dci_augment_ranges_default();
    if (!ranges) ranges = &def;
    dci_affine t[GATHER_CHUNK];
    for (int64_t s = 0; s < b; s += GATHER_CHUNK) {
        const int64_t m = b - s < GATHER_CHUNK ? b - s : GATHER_CHUNK;
        for (int64_t i = 0; i < m; i++) t[i] = dci_affine_draw(r, shape, ranges);
        gather_job j = {x, d, idx + s, out + s * d, shape, t, ranges->fill};
        dci_parallel_for(m, 16, gather_part, &j);
    }
}

static float clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

dc_status dci_noise_apply(float *x, int64_t count, dci_noise_kind kind, double level, float lo,
                          float hi, dci_rng *r) {
    if (count > 0) DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(r);
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return dci_fail(DC_ERR_INVALID_ARG, "noise: data range [%g, %g] is not an interval",
                        (double)lo, (double)hi);
    switch (kind) {
    case DCI_NOISE_GAUSSIAN:
    case DCI_NOISE_SPECKLE: {
        if (!(level >= 0.0) || !isfinite(level))
            return dci_fail(DC_ERR_INVALID_ARG, "noise: variance %g must be >= 0", level);
        const double sd = sqrt(level);
        const int mult = kind == DCI_NOISE_SPECKLE;
        for (int64_t i = 0; i < count; i++) {
            double n = sd * dci_rng_normal(r);
            double v = (double)x[i] + (mult ? (double)x[i] * n : n);
            x[i] = clip((float)v, lo, hi);
        }
        return DC_OK;
    }
    case DCI_NOISE_SALT_PEPPER: {
        if (!(level >= 0.0 && level <= 1.0))
            return dci_fail(DC_ERR_INVALID_ARG, "noise: salt & pepper density %g out of [0, 1]",
                            level);
        const double half = 0.5 * level;
        for (int64_t i = 0; i < count; i++) {
            double u = dci_rng_uniform(r);
            x[i] = u < half ? lo : (u < level ? hi : clip(x[i], lo, hi));
        }
        return DC_OK;
    }
    }
    return dci_fail(DC_ERR_INVALID_ARG, "noise: unknown kind %d", (int)kind);
}
