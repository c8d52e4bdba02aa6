/* Image augmentation and noise (nn/augment.c): affine transforms against
 * pixels worked out by hand, random transforms within their ranges, and the
 * noise models' moments, since a wrong augmentation only shows as worse
 * clusters. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "nn/augment.h"
#include "nn_common.h"

/* ---- augmentation ---- */

static float px(const float *img, const dci_image_shape *s, int64_t r, int64_t c, int64_t ch) {
    if (r < 0 || r >= s->h || c < 0 || c >= s->w) return 0.0f;
    return img[(r * s->w + c) * s->c + ch];
}

static void test_affine(void) {
    const dci_image_shape sq = {5, 5, 2}, rect = {4, 7, 1};
    float src[70], dst[70];
    fill_uniform(src, 70, 0.1, 1.0);
    dci_affine t = dci_affine_identity();
    dci_affine_apply(src, dst, &sq, &t, DCI_FILL_ZERO);
    CHECK(!memcmp(src, dst, 50 * sizeof(float)));

    /* Integer shift: content moves 2 right and 1 up, zeros come in. */
    t.shift_x = 2;
    t.shift_y = -1;
    dci_affine_apply(src, dst, &rect, &t, DCI_FILL_ZERO);
    int ok = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 7; c++) ok &= dst[r * 7 + c] == px(src, &rect, r + 1, c - 2, 0);
    CHECK(ok);
    /* The same with the nearest fill: the edge rows and columns repeat
     * (scipy.ndimage's mode="nearest", Keras' default). */
    dci_affine_apply(src, dst, &rect, &t, DCI_FILL_NEAREST);
    ok = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 7; c++) {
            const int rr = r + 1 > 3 ? 3 : r + 1, cc = c - 2 < 0 ? 0 : c - 2;
            ok &= dst[r * 7 + c] == src[rr * 7 + cc];
        }
    CHECK(ok);
    /* A half-pixel shift out of the left edge: the first column mixes the
     * edge pixel with itself. */
    t = dci_affine_identity();
    t.shift_x = -0.5;
    dci_affine_apply(src, dst, &rect, &t, DCI_FILL_NEAREST);
    CHECK_NEAR(dst[6], src[6], 1e-7);
    CHECK_NEAR(dst[0], 0.5 * (src[0] + src[1]), 1e-6);

    /* Half-pixel shift: the average of two neighbours (bilinear). */
    t = dci_affine_identity();
    t.shift_x = 0.5;
    dci_affine_apply(src, dst, &rect, &t, DCI_FILL_ZERO);
    ok = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 7; c++)
            ok &= fabs(dst[r * 7 + c] - 0.5 * (px(src, &rect, r, c, 0) + px(src, &rect, r, c - 1, 0))) < 1e-6;
    CHECK(ok);

    /* 90° counter-clockwise: out[r][c] = in[c][N−1−r] (the top-right corner
     * goes to the top-left). */
    t = dci_affine_identity();
    t.rotation = 90;
    dci_affine_apply(src, dst, &sq, &t, DCI_FILL_ZERO);
    ok = 1;
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++)
            for (int ch = 0; ch < 2; ch++)
                ok &= dst[(r * 5 + c) * 2 + ch] == px(src, &sq, c, 4 - r, ch);
    CHECK(ok);
    /* 180° on a non-square image: point reflection through the centre. */
    t.rotation = -180;
    dci_affine_apply(src, dst, &rect, &t, DCI_FILL_ZERO);
    ok = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 7; c++) ok &= dst[r * 7 + c] == px(src, &rect, 3 - r, 6 - c, 0);
    CHECK(ok);

    /* Zoom 2 about the centre of a 5×5 image: centre kept, (2,3) comes from
     * (2, 2.5), the mean of two pixels. */
    t = dci_affine_identity();
    t.zoom_x = t.zoom_y = 2;
    dci_affine_apply(src, dst, &sq, &t, DCI_FILL_ZERO);
    CHECK_NEAR(dst[(2 * 5 + 2) * 2], src[(2 * 5 + 2) * 2], 1e-7);
    CHECK_NEAR(dst[(2 * 5 + 3) * 2], 0.5 * (src[(2 * 5 + 2) * 2] + src[(2 * 5 + 3) * 2]), 1e-6);

    /* Random transforms: parameters in their ranges, outputs in the data
     * range [0, 1] (bilinear weights are convex, fill repeats pixels), samples differ. */
    dci_rng r;
    dci_rng_init(&r, 5, DCI_STREAM_AUGMENT);
    dci_augment_ranges rg = dci_augment_ranges_default();
    const dci_image_shape mn = {28, 28, 1};
    int in_range = 1, zoom_differs = 0;
    double max_rot = 0;
    for (int i = 0; i < 2000; i++) {
        dci_affine a = dci_affine_draw(&r, &mn, &rg);
        in_range &= fabs(a.shift_x) <= 2.8 && fabs(a.shift_y) <= 2.8 && fabs(a.rotation) <= 10 &&
                    fabs(a.zoom_x - 1) <= 0.1 && fabs(a.zoom_y - 1) <= 0.1;
        zoom_differs |= a.zoom_x != a.zoom_y;
        max_rot = fmax(max_rot, fabs(a.rotation));
    }
    CHECK(in_range && zoom_differs && max_rot > 9.9);
    float *imgs = malloc(3 * 784 * sizeof(float)), *aug = malloc(3 * 784 * sizeof(float));
    fill_uniform(imgs, 784, 0, 1);
    memcpy(imgs + 784, imgs, 784 * sizeof(float));
    memcpy(imgs + 1568, imgs, 784 * sizeof(float));
    const int64_t rows[3] = {0, 1, 2};
    dci_gather_batch(imgs, 784, rows, 3, aug, &mn, &rg, &r);
    int within = 1;
    for (int i = 0; i < 3 * 784; i++) within &= aug[i] >= 0.0f && aug[i] <= 1.0f;
    CHECK(within);
    CHECK(memcmp(aug, aug + 784, 784 * sizeof(float)) && memcmp(aug, imgs, 784 * sizeof(float)));
    /* Gather: plain rows in the given order, or each augmented on its own. */
    const int64_t idx[3] = {2, 0, 2};
    dci_gather_batch(imgs, 784, idx, 3, aug, NULL, NULL, &r);
    CHECK(!memcmp(aug, imgs + 1568, 784 * sizeof(float)) && !memcmp(aug + 784, imgs, 784 * sizeof(float)));
    dci_gather_batch(imgs, 784, idx, 3, aug, &mn, NULL, &r);
    CHECK(memcmp(aug, aug + 1568, 784 * sizeof(float)) && memcmp(aug, imgs, 784 * sizeof(float)));
    free(imgs);
    free(aug);

    CHECK_STATUS(dci_augment_check(NULL, 784), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_augment_check(&mn, 785), DC_ERR_SHAPE);
    const dci_image_shape zero = {0, 28, 1};
    CHECK_STATUS(dci_augment_check(&zero, 0), DC_ERR_INVALID_ARG);
    CHECK_OK(dci_augment_check(&mn, 784));
}

/* ---- a double-precision reference for the composite transform ----
 *
 * Written from the documented conventions (nn/augment.h, docs/methods.md
 * "EDCWRN"), not from augment.c:
 *  - pixel (r, c) has its centre at integer coordinates; the transform is
 *    about the image centre ((H−1)/2, (W−1)/2);
 *  - in the display frame (x = c − cx to the right, y = cy − r up, row 0
 *    on top) the content moves by F = T(shift_x, −shift_y)·R(θ)·Z(zoom_x,
 *    zoom_y): zoom first, then a counter-clockwise rotation, then the shift
 *    (shift_y > 0 moves content down, i.e. y decreases);
 *  - output pixel p' samples the input at F⁻¹(p'), bilinearly from the four
 *    integer neighbours; a neighbour outside the image reads, under the
 *    nearest fill, the pixel at the clamped index (scipy.ndimage / Keras
 *    mode "nearest": the image extended by its edge pixels), and under the
 *    zero fill 0 (the image extended by zeros: the half-pixel-shift check
 *    of test_affine, where the first column is half the edge pixel, implies
 *    this rather than scipy's mode "constant").
 * F⁻¹ is the numerical inverse of the composed 3×3 homogeneous matrix, so
 * the order of the factors and the centre are taken from the definition
 * only. */

typedef struct ref_affine {
    double m[3][3];
} ref_affine;

static ref_affine ref_mul(const ref_affine *a, const ref_affine *b) {
    ref_affine o;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += a->m[i][k] * b->m[k][j];
            o.m[i][j] = s;
        }
    return o;
}

/* Forward map of the content in display coordinates (x right, y up). */
static ref_affine ref_forward(const dci_affine *t) {
    const double th = t->rotation * (M_PI / 180.0);
    const ref_affine Z = {{{t->zoom_x, 0, 0}, {0, t->zoom_y, 0}, {0, 0, 1}}};
    const ref_affine R = {{{cos(th), -sin(th), 0}, {sin(th), cos(th), 0}, {0, 0, 1}}};
    const ref_affine T = {{{1, 0, t->shift_x}, {0, 1, -t->shift_y}, {0, 0, 1}}};
    ref_affine RZ = ref_mul(&R, &Z);
    return ref_mul(&T, &RZ);
}

/* Inverse of an affine map [A b; 0 1]: [A⁻¹ −A⁻¹b; 0 1]. */
static ref_affine ref_invert(const ref_affine *f) {
    const double a = f->m[0][0], b = f->m[0][1], c = f->m[1][0], d = f->m[1][1];
    const double det = a * d - b * c;
    ref_affine o = {{{d / det, -b / det, 0}, {-c / det, a / det, 0}, {0, 0, 1}}};
    o.m[0][2] = -(o.m[0][0] * f->m[0][2] + o.m[0][1] * f->m[1][2]);
    o.m[1][2] = -(o.m[1][0] * f->m[0][2] + o.m[1][1] * f->m[1][2]);
    return o;
}

static double ref_tap(const float *img, const dci_image_shape *s, int64_t r, int64_t c,
                      int64_t ch, dci_fill fill) {
    if (fill == DCI_FILL_NEAREST) {
        r = r < 0 ? 0 : (r >= s->h ? s->h - 1 : r);
        c = c < 0 ? 0 : (c >= s->w ? s->w - 1 : c);
    } else if (r < 0 || r >= s->h || c < 0 || c >= s->w) {
        return 0.0;
    }
    return (double)img[(r * s->w + c) * s->c + ch];
}

static void ref_apply(const float *src, double *dst, const dci_image_shape *s,
                      const dci_affine *t, dci_fill fill) {
    const double cy = 0.5 * (double)(s->h - 1), cx = 0.5 * (double)(s->w - 1);
    const ref_affine F = ref_forward(t);
    const ref_affine G = ref_invert(&F);
    for (int64_t r = 0; r < s->h; r++)
        for (int64_t c = 0; c < s->w; c++) {
            const double x1 = (double)c - cx, y1 = cy - (double)r;
            const double x = G.m[0][0] * x1 + G.m[0][1] * y1 + G.m[0][2];
            const double y = G.m[1][0] * x1 + G.m[1][1] * y1 + G.m[1][2];
            const double rs = cy - y, cs = cx + x; /* source row, column */
            const double r0 = floor(rs), c0 = floor(cs);
            const double fr = rs - r0, fc = cs - c0;
            const int64_t i0 = (int64_t)r0, j0 = (int64_t)c0;
            for (int64_t ch = 0; ch < s->c; ch++)
                dst[(r * s->w + c) * s->c + ch] =
                    (1 - fr) * ((1 - fc) * ref_tap(src, s, i0, j0, ch, fill) +
                                fc * ref_tap(src, s, i0, j0 + 1, ch, fill)) +
                    fr * ((1 - fc) * ref_tap(src, s, i0 + 1, j0, ch, fill) +
                          fc * ref_tap(src, s, i0 + 1, j0 + 1, ch, fill));
        }
}

/* The composite transform against the reference: random non-right-angle
 * rotations with unequal zooms and fractional shifts, every fill, grey,
 * 2-channel and a non-square 3-channel image (the library has a separate
 * path for one channel). Values in [0, 1]; the library's bilinear weights
 * and sums are in float, so it agrees with the double reference to a few
 * float ulps of 1 (observed <= 1.8e-7): 1e-6 leaves margin, and any wrong
 * geometry or sampling moves samples by a visible fraction of a pixel
 * (errors ~0.5-1 when the reference is deliberately broken). */
static void test_affine_reference(void) {
    /* The reference reproduces the worked cases of test_affine. */
    {
        const dci_image_shape sq = {5, 5, 1}, rect = {4, 7, 1};
        float src[28];
        double ref[28];
        fill_uniform(src, 28, 0.1, 1.0);
        dci_affine t = dci_affine_identity();
        t.rotation = 90;
        ref_apply(src, ref, &sq, &t, DCI_FILL_ZERO);
        int ok = 1;
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 5; c++) ok &= fabs(ref[r * 5 + c] - src[c * 5 + 4 - r]) < 1e-12;
        CHECK(ok);
        t = dci_affine_identity();
        t.shift_x = 2;
        t.shift_y = -1;
        ref_apply(src, ref, &rect, &t, DCI_FILL_NEAREST);
        ok = 1;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 7; c++) {
                const int rr = r + 1 > 3 ? 3 : r + 1, cc = c - 2 < 0 ? 0 : c - 2;
                ok &= fabs(ref[r * 7 + c] - src[rr * 7 + cc]) < 1e-12;
            }
        CHECK(ok);
        t = dci_affine_identity();
        t.shift_x = 0.5;
        ref_apply(src, ref, &rect, &t, DCI_FILL_ZERO);
        CHECK_NEAR(ref[0], 0.5 * src[0], 1e-12);
    }

    const dci_image_shape shapes[3] = {{28, 28, 2}, {28, 28, 1}, {11, 17, 3}};
    const dci_fill fills[2] = {DCI_FILL_NEAREST, DCI_FILL_ZERO};
    const int64_t maxn = 28 * 28 * 3;
    float *src = malloc(maxn * sizeof(float)), *dst = malloc(maxn * sizeof(float));
    double *ref = malloc(maxn * sizeof(double));
    dci_rng r;
    dci_rng_init(&r, 77, DCI_STREAM_TEST);
    for (int si = 0; si < 3; si++) {
        const dci_image_shape *s = &shapes[si];
        const int64_t n = s->h * s->w * s->c;
        for (int f = 0; f < 2; f++) {
            double worst = 0;
            int worst_trial = -1, moved = 1;
            for (int trial = 0; trial < 40; trial++) {
                fill_uniform(src, n, 0.0, 1.0);
                dci_affine t;
                do t.rotation = 360.0 * dci_rng_uniform(&r) - 180.0;
                while (fabs(remainder(t.rotation, 90.0)) < 5.0);
                if (trial % 2) t.rotation = remainder(t.rotation, 20.0); /* within ±10° */
                t.zoom_x = 0.6 + 0.9 * dci_rng_uniform(&r);
                do t.zoom_y = 0.6 + 0.9 * dci_rng_uniform(&r);
                while (fabs(t.zoom_y - t.zoom_x) < 0.05);
                t.shift_x = 12.0 * dci_rng_uniform(&r) - 6.0;
                t.shift_y = 12.0 * dci_rng_uniform(&r) - 6.0;
                if (fabs(t.shift_x - nearbyint(t.shift_x)) < 0.1) t.shift_x += 0.37;
                if (fabs(t.shift_y - nearbyint(t.shift_y)) < 0.1) t.shift_y -= 0.29;
                dci_affine_apply(src, dst, s, &t, fills[f]);
                ref_apply(src, ref, s, &t, fills[f]);
                double dmax = 0, dmove = 0;
                for (int64_t i = 0; i < n; i++) {
                    dmax = fmax(dmax, fabs((double)dst[i] - ref[i]));
                    dmove = fmax(dmove, fabs((double)src[i] - ref[i]));
                }
                moved &= dmove > 0.1; /* the transform is not a near-identity */
                if (dmax > worst) worst = dmax, worst_trial = trial;
            }
            CHECK(moved);
            CHECK_MSG(worst < 1e-6,
                      "shape %lldx%lldx%lld fill %d: max |lib - ref| %.3g (trial %d)",
                      (long long)s->h, (long long)s->w, (long long)s->c, (int)fills[f], worst,
                      worst_trial);
        }
    }
    free(src);
    free(dst);
    free(ref);
}

static void moments(const float *x, int64_t n, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int64_t i = 0; i < n; i++) s2 += (x[i] - *mean) * (x[i] - *mean);
    *var = s2 / (n - 1);
}

static void test_noise(void) {
    const int64_t n = 100000;
    float *x = malloc(n * sizeof(float));
    dci_rng r;
    dci_rng_init(&r, 9, DCI_STREAM_NOISE);
    double mean, var;

    /* Gaussian, variance 0.01, no clipping in [−10, 10]: sd of the mean
     * 3e-4, of the variance ~4.5e-5. */
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f;
    CHECK_OK(dci_noise_apply(x, n, DCI_NOISE_GAUSSIAN, 0.01, -10, 10, &r));
    moments(x, n, &mean, &var);
    CHECK_NEAR(mean, 0.5, 0.0015);
    CHECK_NEAR(var, 0.01, 3e-4);

    /* Speckle x + x·n, variance 0.04 at x = 0.5: variance 0.25·0.04. */
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f;
    CHECK_OK(dci_noise_apply(x, n, DCI_NOISE_SPECKLE, 0.04, -10, 10, &r));
    moments(x, n, &mean, &var);
    CHECK_NEAR(mean, 0.5, 0.0015);
    CHECK_NEAR(var, 0.01, 3e-4);
    /* ... and zero stays zero. */
    float zz[3] = {0, 0, 0};
    CHECK_OK(dci_noise_apply(zz, 3, DCI_NOISE_SPECKLE, 0.5, 0, 1, &r));
    CHECK(zz[0] == 0 && zz[1] == 0 && zz[2] == 0);

    /* Salt & pepper, density 0.2: 10% lo, 10% hi, the rest unchanged. */
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f;
    CHECK_OK(dci_noise_apply(x, n, DCI_NOISE_SALT_PEPPER, 0.2, 0, 1, &r));
    int64_t lo = 0, hi = 0, same = 0;
    for (int64_t i = 0; i < n; i++) lo += x[i] == 0.0f, hi += x[i] == 1.0f, same += x[i] == 0.5f;
    CHECK(lo + hi + same == n);
    CHECK_NEAR((double)lo / n, 0.1, 0.005);
    CHECK_NEAR((double)hi / n, 0.1, 0.005);

    /* Clipping: variance 0.25 at 0.5 in [0, 1]: P(> 1) = P(N(0,1) > 1) = 0.1587. */
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f;
    CHECK_OK(dci_noise_apply(x, n, DCI_NOISE_GAUSSIAN, 0.25, 0, 1, &r));
    int64_t top = 0, outside = 0;
    for (int64_t i = 0; i < n; i++) top += x[i] == 1.0f, outside += x[i] < 0.0f || x[i] > 1.0f;
    CHECK(outside == 0);
    CHECK_NEAR((double)top / n, 0.1587, 0.005);

    CHECK_STATUS(dci_noise_apply(x, n, DCI_NOISE_GAUSSIAN, -0.1, 0, 1, &r), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_noise_apply(x, n, DCI_NOISE_SALT_PEPPER, 1.5, 0, 1, &r), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_noise_apply(x, n, DCI_NOISE_SPECKLE, 0.1, 1, 1, &r), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_noise_apply(x, n, (dci_noise_kind)7, 0.1, 0, 1, &r), DC_ERR_INVALID_ARG);
    free(x);
}

static const dct_case cases[] = {
    DCT_CASE(affine), DCT_CASE(affine_reference), DCT_CASE(noise),
};

int main(int argc, char **argv) { return nn_main(cases, DCT_COUNT(cases), argc, argv); }
