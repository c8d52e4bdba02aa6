/* SLIC superpixels, CIELAB conversion, image files and the segmentation
 * composition. The quality measures (boundary recall, undersegmentation
 * error, 4-connectivity) are computed here from their definitions, not
 * through the library. (scikit-image cross-checks of the colour conversion
 * and of SLIC are in tests/python/test_image_skimage.py.) */
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "test_files.h"
#include "core/rng.h"
#include "deepclust.h"
#include "image/slic.h"

/* ---- synthetic image with known regions ---- */

enum { W = 160, H = 120, N_REGIONS = 4 };

/* Region of (x, y): 0 background, 1 disc, 2 rectangle, 3 triangle. */
static int region_of(int x, int y) {
    if ((x - 45) * (x - 45) + (y - 40) * (y - 40) < 28 * 28) return 1;
    if (x >= 95 && x < 145 && y >= 15 && y < 60) return 2;
    if (y >= 70 && y < 110 && x >= 60 + (110 - y) / 2 && x < 140 - (110 - y) / 2) return 3;
    return 0;
}

/* Distinct colours, a textured background (a checker of two close
 * shades), Gaussian noise of standard deviation `noise` per channel. */
static uint8_t *synthetic(double noise, uint64_t seed, int32_t *truth) {
    static const int colour[N_REGIONS][3] = {{90, 120, 80}, {200, 60, 50}, {40, 70, 180},
                                             {230, 200, 60}};
    dci_rng r;
    dci_rng_init(&r, seed, 0);
    uint8_t *px = malloc(W * H * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int g = region_of(x, y), tex = g == 0 && ((x / 4 + y / 4) & 1) ? 25 : 0;
            truth[y * W + x] = g;
            for (int c = 0; c < 3; c++) {
                double v = colour[g][c] + tex + noise * dci_rng_normal(&r);
                px[(y * W + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
            }
        }
    return px;
}

/* ---- measures, from their definitions ---- */

static int on_boundary(const int32_t *l, int x, int y) {
    int p = y * W + x;
    return (x + 1 < W && l[p] != l[p + 1]) || (y + 1 < H && l[p] != l[p + W]);
}

/* Fraction of truth boundary pixels with a superpixel boundary pixel within
 * Chebyshev distance 2. */
static double boundary_recall(const int32_t *truth, const int32_t *sp) {
    int total = 0, hit = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (!on_boundary(truth, x, y)) continue;
            total++;
            int found = 0;
            for (int dy = -2; dy <= 2 && !found; dy++)
                for (int dx = -2; dx <= 2 && !found; dx++) {
                    int xx = x + dx, yy = y + dy;
                    found = xx >= 0 && yy >= 0 && xx < W && yy < H && on_boundary(sp, xx, yy);
                }
            hit += found;
        }
    return total ? (double)hit / total : 1.0;
}

/* Undersegmentation error (Neubert and Protzel's corrected form): each
 * superpixel overlapping a region costs the smaller of its part inside and
 * its part outside, summed and divided by the pixel count. */
static double undersegmentation_error(const int32_t *truth, const int32_t *sp, int n_sp) {
    int *inter = calloc((size_t)n_sp * N_REGIONS, sizeof *inter), *size = calloc((size_t)n_sp, sizeof *size);
    for (int p = 0; p < W * H; p++) {
        inter[sp[p] * N_REGIONS + truth[p]]++;
        size[sp[p]]++;
    }
    double err = 0.0;
    for (int s = 0; s < n_sp; s++)
        for (int g = 0; g < N_REGIONS; g++) {
            int in = inter[s * N_REGIONS + g], out = size[s] - in;
            if (in) err += in < out ? in : out;
        }
    free(inter);
    free(size);
    return err / (W * H);
}

/* Number of 4-connected pieces of label l. */
static int pieces(const int32_t *lab, int w, int h, int32_t l) {
    int *seen = calloc((size_t)w * h, sizeof *seen), *stack = malloc((size_t)w * h * sizeof *stack);
    int count = 0;
    for (int s = 0; s < w * h; s++) {
        if (lab[s] != l || seen[s]) continue;
        count++;
        int top = 0;
        stack[top++] = s;
        seen[s] = 1;
        while (top) {
            int p = stack[--top], x = p % w, y = p / w;
            int nb[4] = {x > 0 ? p - 1 : -1, x + 1 < w ? p + 1 : -1, y > 0 ? p - w : -1,
                         y + 1 < h ? p + w : -1};
            for (int i = 0; i < 4; i++)
                if (nb[i] >= 0 && !seen[nb[i]] && lab[nb[i]] == l) {
                    seen[nb[i]] = 1;
                    stack[top++] = nb[i];
                }
        }
    }
    free(seen);
    free(stack);
    return count;
}

/* Labels 0 .. n-1 all used, each one 4-connected piece. */
static void check_superpixels(const int32_t *sp, int w, int h, int32_t n) {
    int bad_range = 0, split = 0;
    for (int p = 0; p < w * h; p++) bad_range += sp[p] < 0 || sp[p] >= n;
    CHECK(bad_range == 0);
    for (int32_t l = 0; l < n && !bad_range; l++) {
        int k = pieces(sp, w, h, l);
        if (k != 1) {
            if (!split) fprintf(stderr, "superpixel %d has %d pieces\n", l, k);
            split++;
        }
    }
    CHECK_MSG(split == 0, "%d of %d superpixels are not one 4-connected piece", split, n);
}

/* ---- tests ---- */

static void test_lab_reference(void) {
    /* CIE L*a*b* (D65) of sRGB colours, as published with the formulas. */
    static const struct { uint8_t rgb[3]; double lab[3]; } ref[] = {
        {{255, 255, 255}, {100.0, 0.0, 0.0}},
        {{0, 0, 0}, {0.0, 0.0, 0.0}},
        {{255, 0, 0}, {53.2408, 80.0925, 67.2032}},
        {{0, 255, 0}, {87.7347, -86.1827, 83.1793}},
        {{0, 0, 255}, {32.2970, 79.1875, -107.8602}},
        {{128, 128, 128}, {53.5850, 0.0, 0.0}},
        {{1, 1, 1}, {0.2742, 0.0, 0.0}}, /* the linear part of f(t) */
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        float lab[3];
        CHECK_OK(dc_srgb_to_lab(ref[i].rgb, 1, 3, lab));
        for (int c = 0; c < 3; c++) CHECK_NEAR(lab[c], ref[i].lab[c], 0.01);
    }
    /* Grey input is R = G = B; alpha does not matter. */
    uint8_t ga[4] = {77, 3, 200, 255}, rgb[6] = {77, 77, 77, 200, 200, 200};
    float a[6], b[6];
    CHECK_OK(dc_srgb_to_lab(ga, 2, 2, a));
    CHECK_OK(dc_srgb_to_lab(rgb, 2, 3, b));
    for (int i = 0; i < 6; i++) CHECK_NEAR(a[i], b[i], 1e-5);
    CHECK_STATUS(dc_srgb_to_lab(rgb, 0, 3, a), DC_ERR_SHAPE);
    CHECK_STATUS(dc_srgb_to_lab(rgb, 1, 5, a), DC_ERR_SHAPE);
}

/* scipy.ndimage's 'reflect' border (d c b a | a b c d | d c b a): the index
 * pattern repeats with period 2n, the edge pixel itself mirrored, so an
 * index any distance outside [0, n) maps back in. */
static int64_t reflect_index(int64_t i, int64_t n) {
    int64_t m = i % (2 * n);
    if (m < 0) m += 2 * n;
    return m < n ? m : 2 * n - 1 - m;
}

/* Direct Gaussian blur in double per lib/image/slic.h and docs/segment.md
 * (scipy's gaussian_filter): weights exp(-x^2 / (2 sigma^2)) for integer
 * |x| <= radius = int(4 sigma + 0.5), normalised to sum 1, applied as a full
 * (2r+1)^2 window (product of the two 1-D weights) with the reflect rule on
 * each axis; every channel on its own. */
static void reference_blur(const float *src, int64_t w, int64_t h, int ch, double sigma,
                           double *dst) {
    const int r = (int)(4.0 * sigma + 0.5);
    double g[64], sum = 0.0;
    for (int j = -r; j <= r; j++) sum += g[j + r] = exp(-0.5 * j * j / (sigma * sigma));
    for (int j = 0; j <= 2 * r; j++) g[j] /= sum;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int c = 0; c < ch; c++) {
                double acc = 0.0;
                for (int dy = -r; dy <= r; dy++)
                    for (int dx = -r; dx <= r; dx++) {
                        int64_t yy = reflect_index(y + dy, h), xx = reflect_index(x + dx, w);
                        acc += g[dy + r] * g[dx + r] * src[(yy * w + xx) * ch + c];
                    }
                dst[(y * w + x) * ch + c] = acc;
            }
}

static void test_gaussian(void) {
    /* An impulse spreads to the normalised kernel; mirrored borders keep
     * the total. */
    float img[21] = {0};
    img[10] = 1.0f;
    CHECK_OK(dci_gaussian_blur(img, 21, 1, 1, 1.0));
    double sum = 0.0;
    for (int i = 0; i < 21; i++) sum += img[i];
    CHECK_NEAR(sum, 1.0, 1e-5);
    CHECK_NEAR(img[10], 1.0 / (1 + 2 * exp(-0.5) + 2 * exp(-2.0) + 2 * exp(-4.5) + 2 * exp(-8.0)), 1e-6);
    CHECK_NEAR(img[11] / img[10], exp(-0.5), 1e-5);
    float edge[5] = {1, 0, 0, 0, 0};
    CHECK_OK(dci_gaussian_blur(edge, 5, 1, 1, 1.0));
    double s2 = 0;
    for (int i = 0; i < 5; i++) s2 += edge[i];
    CHECK_NEAR(s2, 1.0, 1e-5);

    /* A 7 x 5 image of 3 channels against the direct reference: sigma 2 has
     * radius 8, wider than both sides, so the border reflects more than once
     * (column -8 -> 6, row 12 -> 2); sigma 0.7 has radius int(3.3) = 3 (a
     * truncation at int(4 sigma) = 2 would be off by ~3e-5 here); sigma 1.3
     * radius 5. Values in [0, 1]: float rounding stays near 1e-7. */
    enum { BW = 7, BH = 5, BC = 3 };
    static const double sigmas[] = {2.0, 0.7, 1.3};
    float src[BW * BH * BC], out[BW * BH * BC];
    double ref[BW * BH * BC];
    dci_rng r;
    dci_rng_init(&r, 9, DCI_STREAM_TEST);
    for (int i = 0; i < BW * BH * BC; i++) src[i] = (float)dci_rng_uniform(&r);
    for (size_t si = 0; si < sizeof sigmas / sizeof sigmas[0]; si++) {
        memcpy(out, src, sizeof src);
        CHECK_OK(dci_gaussian_blur(out, BW, BH, BC, sigmas[si]));
        reference_blur(src, BW, BH, BC, sigmas[si], ref);
        double worst = 0.0;
        int at = 0;
        for (int i = 0; i < BW * BH * BC; i++)
            if (fabs(out[i] - ref[i]) > worst) {
                worst = fabs(out[i] - ref[i]);
                at = i;
            }
        CHECK_MSG(worst < 1e-5, "sigma %g: max |blur - reference| = %g at pixel %d channel %d",
                  sigmas[si], worst, at / BC, at % BC);
    }
}

static void test_slic_recovers_regions(void) {
    int32_t truth[W * H], sp[W * H], sp2[W * H];
    double noise[2] = {8.0, 20.0};
    for (int t = 0; t < 2; t++) {
        uint8_t *px = synthetic(noise[t], 7 + t, truth);
        dc_slic_options o;
        dc_slic_options_default(&o);
        o.n_segments = 100;
        o.sigma = 1.0;
        int32_t n = 0;
        CHECK_OK(dc_slic(px, W, H, 3, &o, sp, &n));
        CHECK_MSG(n >= 60 && n <= 140, "%d superpixels for 100 asked", n);
        double br = boundary_recall(truth, sp), ue = undersegmentation_error(truth, sp, n);
        CHECK_MSG(br >= 0.90, "noise %g: boundary recall %.3f", noise[t], br);
        CHECK_MSG(ue <= 0.06, "noise %g: undersegmentation error %.3f", noise[t], ue);
        double lib_br = -1.0;
        CHECK_OK(dc_boundary_recall(truth, sp, W, H, 2, &lib_br));
        CHECK_NEAR(lib_br, br, 1e-12);
        check_superpixels(sp, W, H, n);

        /* No smoothing on the noisier image: many stray pixels, still one
         * piece per superpixel after the enforcement. */
        o.sigma = 0.0;
        CHECK_OK(dc_slic(px, W, H, 3, &o, sp, &n));
        check_superpixels(sp, W, H, n);

        /* The same superpixels on one thread and on two. */
        o.sigma = 1.0;
        CHECK_OK(dc_set_threads(1));
        CHECK_OK(dc_slic(px, W, H, 3, &o, sp, &n));
        CHECK_OK(dc_set_threads(2));
        int32_t n2 = 0;
        CHECK_OK(dc_slic(px, W, H, 3, &o, sp2, &n2));
        CHECK(n == n2 && memcmp(sp, sp2, sizeof sp) == 0);
        CHECK_OK(dc_set_threads(1));
        free(px);
    }
}

static void test_slic_sizes_and_grey(void) {
    /* Odd sizes, a grey image and thin images; compactness makes squares. */
    int sizes[][2] = {{2, 2}, {3, 50}, {97, 31}, {31, 97}};
    for (size_t i = 0; i < 4; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *g = malloc((size_t)w * h);
        for (int p = 0; p < w * h; p++) g[p] = (uint8_t)(p % w < w / 2 ? 30 : 220);
        int32_t *sp = malloc(sizeof(int32_t) * w * h), n = 0;
        dc_slic_options o;
        dc_slic_options_default(&o);
        o.n_segments = w * h < 20 ? w * h : 20;
        CHECK_OK(dc_slic(g, w, h, 1, &o, sp, &n));
        CHECK(n >= 1 && n <= w * h);
        check_superpixels(sp, w, h, n);
        free(g);
        free(sp);
    }
    /* Every pixel its own superpixel. */
    uint8_t px[4 * 3] = {0, 0, 0, 255, 255, 255, 10, 200, 30, 250, 20, 90};
    int32_t sp[4], n = 0;
    dc_slic_options o;
    dc_slic_options_default(&o);
    o.n_segments = 4;
    o.min_size_factor = 0.0;
    CHECK_OK(dc_slic(px, 2, 2, 3, &o, sp, &n));
    CHECK(n == 4);
}

static void test_connectivity(void) {
    /* Label 0 in two pieces, label 1 with a one-pixel island at the end. */
    int32_t l[4 * 3] = {0, 0, 1, 1,
                        2, 2, 1, 0,
                        0, 2, 1, 1};
    int32_t n = 0;
    CHECK_OK(dci_enforce_connectivity(l, 4, 3, 0, &n));
    int32_t want[12] = {0, 0, 1, 1,
                        2, 2, 1, 3,
                        4, 2, 1, 1};
    CHECK(n == 5 && memcmp(l, want, sizeof want) == 0);
    /* With min_size 2 the one-pixel pieces join a neighbour found before. */
    int32_t m[12] = {0, 0, 1, 1,
                     2, 2, 1, 0,
                     0, 2, 1, 1};
    CHECK_OK(dci_enforce_connectivity(m, 4, 3, 2, &n));
    int32_t want2[12] = {0, 0, 1, 1,
                         2, 2, 1, 1,
                         2, 2, 1, 1};
    CHECK(n == 3 && memcmp(m, want2, sizeof want2) == 0);
}

static void test_slic_bad_input(void) {
    uint8_t px[16 * 3] = {0};
    int32_t sp[16], n = -1;
    dc_slic_options o;
    dc_slic_options_default(&o);
    CHECK_STATUS(dc_slic(px, 0, 0, 3, &o, sp, &n), DC_ERR_SHAPE);
    CHECK_STATUS(dc_slic(px, 1, 1, 3, &o, sp, &n), DC_ERR_SHAPE);
    CHECK(strstr(dc_last_error(), "1 x 1") != NULL);
    CHECK_STATUS(dc_slic(px, 4, 4, 5, &o, sp, &n), DC_ERR_SHAPE);
    o.n_segments = 17;
    CHECK_STATUS(dc_slic(px, 4, 4, 3, &o, sp, &n), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "16 pixels") != NULL);
    dc_slic_options_default(&o);
    CHECK_STATUS(dc_slic_options_set(&o, "compactness", 0.0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_slic_options_set(&o, "compactness", -1.0), DC_ERR_INVALID_ARG);
    /* Beyond 1e6 the spatial term swamps float colour distances; at 1e20
     * (m / S)^2 was inf in float and no pixel ever moved. */
    CHECK_STATUS(dc_slic_options_set(&o, "compactness", 1e20), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "(0, 1e6]") != NULL);
    CHECK_OK(dc_slic_options_set(&o, "compactness", 1e6));
    CHECK_OK(dc_slic_options_set(&o, "compactness", 10.0));
    CHECK(o.compactness == 10.0);
    CHECK_STATUS(dc_slic_options_set(&o, "n_segments", 2.5), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_slic_options_set(&o, "colour", 1.0), DC_ERR_UNKNOWN_NAME);
    CHECK_OK(dc_slic_options_set(&o, "sigma", 2.0));
    CHECK(o.sigma == 2.0);
    o.compactness = 0.0;
    CHECK_STATUS(dc_slic(px, 4, 4, 3, &o, sp, &n), DC_ERR_INVALID_ARG);
    CHECK(n == -1);
    CHECK_STATUS(dc_slic(NULL, 4, 4, 3, NULL, sp, &n), DC_ERR_NULL);
}

/* ---- image files ---- */

static int same_image(const dc_image *a, const uint8_t *px, int w, int h, int c) {
    return a->width == w && a->height == h && a->channels == c &&
           memcmp(a->pixels, px, (size_t)w * h * c) == 0;
}

static void test_round_trips(void) {
    dci_rng r;
    dci_rng_init(&r, 3, 0);
    uint8_t px[13 * 7 * 4];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)dci_rng_below(&r, 256);
    const char *names[] = {"a.png", "a.png", "a.png", "a.png", "a.pgm", "a.ppm"};
    int channels[] = {1, 2, 3, 4, 1, 3};
    for (int i = 0; i < 6; i++) {
        const char *path = tmp_path(names[i]);
        CHECK_OK(dc_image_write(path, px, 13, 7, channels[i]));
        dc_image img;
        CHECK_OK(dc_image_read(path, &img));
        CHECK_MSG(same_image(&img, px, 13, 7, channels[i]), "%s with %d channels", names[i],
                  channels[i]);
        dc_image_free(&img);
        unlink(path);
    }
    /* Nothing written on a refused request. */
    CHECK_STATUS(dc_image_write(tmp_path("a.bmp"), px, 13, 7, 3), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dc_image_write(tmp_path("b.pgm"), px, 13, 7, 3), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dc_image_write(tmp_path("c.png"), px, 0, 7, 3), DC_ERR_SHAPE);
    CHECK(access(tmp_path("a.bmp"), F_OK) != 0 && access(tmp_path("b.pgm"), F_OK) != 0 &&
          access(tmp_path("c.png"), F_OK) != 0);
    CHECK_STATUS(dc_image_write("/nonexistent_dir/x.png", px, 13, 7, 3), DC_ERR_IO);
}

/* A PNG written with libpng directly, in layouts the library never writes. */
static void write_png_raw(const char *path, int w, int h, int depth, int type, int interlace,
                          const png_color *palette, int n_palette, const uint8_t *trns, int n_trns,
                          const uint8_t *rows_data, size_t rowbytes) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) exit(2);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    if (trns) png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_bytep rows[16];
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(rows_data + y * rowbytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_png_layouts(void) {
    /* Palette (with transparency): expanded to RGBA. */
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    uint8_t trns[3] = {255, 128, 0};
    uint8_t idx[2 * 3] = {0, 1, 2, 2, 1, 0};
    const char *path = tmp_path("pal.png");
    write_png_raw(path, 3, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, pal, 3, trns, 3, idx, 3);
    dc_image img;
    CHECK_OK(dc_image_read(path, &img));
    CHECK(img.channels == 4 && img.width == 3 && img.height == 2);
    if (img.channels == 4)
        for (int p = 0; p < 6; p++) {
            CHECK(img.pixels[4 * p] == pal[idx[p]].red && img.pixels[4 * p + 1] == pal[idx[p]].green &&
                  img.pixels[4 * p + 2] == pal[idx[p]].blue && img.pixels[4 * p + 3] == trns[idx[p]]);
        }
    dc_image_free(&img);
    /* Palette without transparency: RGB. */
    write_png_raw(path, 3, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, pal, 3, NULL, 0, idx, 3);
    CHECK_OK(dc_image_read(path, &img));
    CHECK(img.channels == 3 && img.pixels[3] == 0 && img.pixels[4] == 255);
    dc_image_free(&img);
    /* 1-bit grey: 0 and 255. */
    uint8_t bits[2] = {0xA0, 0x40}; /* row 0: 1 0 1, row 1: 0 1 0 */
    write_png_raw(path, 3, 2, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, bits, 1);
    CHECK_OK(dc_image_read(path, &img));
    uint8_t want[6] = {255, 0, 255, 0, 255, 0};
    CHECK(img.channels == 1 && memcmp(img.pixels, want, 6) == 0);
    dc_image_free(&img);
    /* Interlaced RGB. */
    uint8_t rgb[9 * 9 * 3];
    for (int i = 0; i < 9 * 9 * 3; i++) rgb[i] = (uint8_t)(i * 7);
    write_png_raw(path, 9, 9, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, NULL, 0, NULL, 0, rgb, 27);
    CHECK_OK(dc_image_read(path, &img));
    CHECK(same_image(&img, rgb, 9, 9, 3));
    dc_image_free(&img);
    /* 16-bit: refused, with a hint. */
    uint8_t wide[2 * 2 * 2] = {0};
    write_png_raw(path, 2, 2, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, wide, 4);
    CHECK_STATUS(dc_image_read(path, &img), DC_ERR_UNSUPPORTED);
    CHECK(strstr(dc_last_error(), "16-bit") != NULL && img.pixels == NULL);
}

static void test_damaged_files(void) {
    dc_image img;
    const char *path = tmp_path("d.ppm");
#define CASE(text, status) {text, sizeof text - 1, status}
    static const struct {
        const char *bytes;
        size_t len;
        dc_status want;
    } cases[] = {
        CASE("", DC_ERR_FORMAT),
        CASE("P6\n", DC_ERR_TRUNCATED),
        CASE("P6\n4 4\n255\n\x01\x02", DC_ERR_TRUNCATED),
        CASE("P6\n4 4\n65535\n", DC_ERR_UNSUPPORTED),
        CASE("P3\n1 1\n255\n0 0 0\n", DC_ERR_UNSUPPORTED),
        CASE("P6\n0 0\n255\n", DC_ERR_SHAPE),
        CASE("P6\n2 1\n0\n......", DC_ERR_FORMAT),
        CASE("P5\n2 1\n15\n\x01\x10", DC_ERR_FORMAT), /* a value above maxval */
        CASE("P6 x 1 255\n", DC_ERR_FORMAT),
        CASE("GIF89a", DC_ERR_FORMAT),
        CASE("P5\n1 1\n255\n\x01\x02", DC_ERR_FORMAT), /* a byte too many */
    };
#undef CASE
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_bytes(path, cases[i].bytes, cases[i].len);
        CHECK_MSG(dc_image_read(path, &img) == cases[i].want, "case %zu: %s", i, dc_last_error());
        CHECK(img.pixels == NULL && img.width == 0);
    }
    /* maxval 15 is scaled to 0-255. */
    write_bytes(path, "P5\n2 1\n15\n\x0f\x05", 12);
    CHECK_OK(dc_image_read(path, &img));
    CHECK(img.channels == 1 && img.pixels[0] == 255 && img.pixels[1] == 85);
    dc_image_free(&img);
    /* A PNG cut anywhere fails as truncated or corrupt, never loads. */
    uint8_t px[8 * 8 * 3];
    for (int i = 0; i < 8 * 8 * 3; i++) px[i] = (uint8_t)(i * 13);
    const char *png = tmp_path("d.png");
    CHECK_OK(dc_image_write(png, px, 8, 8, 3));
    size_t n = 0;
    unsigned char *bytes = read_bytes(png, &n);
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++) {
        write_bytes(png, bytes, cut);
        dc_status st = dc_image_read(png, &img);
        bad += !(st == DC_ERR_TRUNCATED || (cut == 0 && st == DC_ERR_FORMAT)) || img.pixels;
    }
    CHECK_MSG(bad == 0, "%d cuts did not fail as truncated", bad);
    CHECK_STATUS(dc_image_read(tmp_path("missing.png"), &img), DC_ERR_IO);
    free(bytes);
}

/* ---- segmentation ---- */

static void test_segment(void) {
    int32_t truth[W * H], seg[W * H], sp[W * H];
    uint8_t *px = synthetic(8.0, 11, truth);
    const char *methods[] = {"scdbas", "njw", "kmeans"};
    dc_slic_options o;
    dc_slic_options_default(&o);
    o.n_segments = 100;
    o.sigma = 1.0;
    for (int m = 0; m < 3; m++) {
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, methods[m]));
        CHECK_OK(dc_solver_set(s, "k", N_REGIONS));
        int32_t n_sp = 0;
        CHECK_OK(dc_segment(s, px, W, H, 3, &o, DC_SEGMENT_POSITION_WEIGHT, seg, sp, &n_sp));
        double acc = 0;
        CHECK_OK(dc_metrics_acc(truth, seg, W * H, &acc));
        /* kmeans may split the textured background: a looser bound. */
        CHECK_MSG(acc >= (m == 2 ? 0.7 : 0.9), "%s: pixel ACC %.3f", methods[m], acc);
        int64_t nl = 0;
        CHECK_OK(dc_solver_labels(s, NULL, 0, &nl));
        CHECK(nl == n_sp);
        /* Every pixel carries its superpixel's cluster. */
        int32_t *spl = malloc(sizeof(int32_t) * (size_t)n_sp);
        CHECK_OK(dc_solver_labels(s, spl, n_sp, &nl));
        int wrong = 0;
        for (int p = 0; p < W * H; p++) wrong += seg[p] != spl[sp[p]];
        CHECK(wrong == 0);
        free(spl);
        dc_solver_free(s);
    }
    /* k above the number of superpixels; a bad weight; a bad index. */
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "kmeans"));
    CHECK_OK(dc_solver_set(s, "k", 30));
    o.n_segments = 12;
    CHECK_STATUS(dc_segment(s, px, W, H, 3, &o, 0.5, seg, NULL, NULL), DC_ERR_K_RANGE);
    CHECK(strstr(dc_last_error(), "superpixels") != NULL);
    CHECK_STATUS(dc_segment(s, px, W, H, 3, &o, -1.0, seg, NULL, NULL), DC_ERR_INVALID_ARG);
    /* 1e300 made the features inf (reported as bad input data): refused as the argument */
    CHECK_STATUS(dc_segment(s, px, W, H, 3, &o, 1e300, seg, NULL, NULL), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "position_weight must be in") != NULL);
    for (int p = 0; p < W * H; p++) sp[p] = p % 40;
    sp[5] = 40;
    CHECK_STATUS(dc_segment_superpixels(s, px, W, H, 3, sp, 40, 0.5, seg), DC_ERR_SHAPE);
    sp[5] = 5;
    CHECK_STATUS(dc_segment_superpixels(s, px, W, H, 3, sp, 41, 0.5, seg), DC_ERR_SHAPE);
    CHECK(strstr(dc_last_error(), "no pixels") != NULL);
    dc_solver_free(s);
    free(px);
}

static void test_boundary_recall_cases(void) {
    int32_t a[6] = {0, 0, 1, 0, 0, 1}, b[6] = {0, 1, 1, 0, 1, 1}, c[6] = {5, 5, 5, 5, 5, 5};
    double r = -1;
    CHECK_OK(dc_boundary_recall(a, a, 3, 2, 0, &r));
    CHECK(r == 1.0);
    CHECK_OK(dc_boundary_recall(a, b, 3, 2, 0, &r));
    CHECK(r == 0.0);
    CHECK_OK(dc_boundary_recall(a, b, 3, 2, 1, &r));
    CHECK(r == 1.0);
    CHECK_OK(dc_boundary_recall(a, c, 3, 2, 2, &r));
    CHECK(r == 0.0);
    CHECK_OK(dc_boundary_recall(c, a, 3, 2, 2, &r));
    CHECK(r == 1.0);
    CHECK_STATUS(dc_boundary_recall(a, b, 3, 2, -1, &r), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_boundary_recall(a, b, 0, 2, 1, &r), DC_ERR_SHAPE);
}

int main(void) {
    scratch_make("dc_test_segment");
    test_lab_reference();
    test_gaussian();
    test_connectivity();
    test_slic_bad_input();
    test_slic_sizes_and_grey();
    test_slic_recovers_regions();
    test_round_trips();
    test_png_layouts();
    test_damaged_files();
    test_boundary_recall_cases();
    test_segment();
    scratch_remove();
    DC_TEST_END();
}
