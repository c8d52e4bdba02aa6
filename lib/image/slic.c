/* SLIC superpixels: sRGB -> CIELAB, optional Gaussian smoothing, grid seeds
 * on the lowest gradient, local k-means, connectivity enforcement. */
#include "image/slic.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/parallel.h"
#include "deepclust/image.h"

/* ---- colour ---- */

/* The sRGB primaries with D65 white (IEC 61966-2-1), as scikit-image uses. */
static const double XYZ_FROM_RGB[3][3] = {{0.412453, 0.357580, 0.180423},
                                          {0.212671, 0.715160, 0.072169},
                                          {0.019334, 0.119193, 0.950227}};
static const double WHITE_D65[3] = {0.95047, 1.0, 1.08883};

static double srgb_to_linear(double c) {
    return c > 0.04045 ? pow((c + 0.055) / 1.055, 2.4) : c / 12.92;
}

/* Cube root of t in (0.008, 1.1]: a first guess from the exponent bits,
 * then two Halley steps (cubic convergence: 3 % -> 1e-5 -> 1e-15), at a
 * fraction of libm's cbrt, which dominated the conversion. */
static double cube_root(double t) {
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = bits / 3 + (uint64_t)0x2A9F7893782DA1CEULL;
    double x;
    memcpy(&x, &bits, sizeof x);
    for (int i = 0; i < 2; i++) {
        double x3 = x * x * x;
        x *= (x3 + 2.0 * t) / (2.0 * x3 + t);
    }
    return x;
}

static double lab_f(double t) {
    return t > 216.0 / 24389.0 ? cube_root(t) : (24389.0 / 27.0 * t + 16.0) / 116.0;
}

static void linear_rgb_to_lab(double r, double g, double b, float *out) {
    double f[3];
    for (int i = 0; i < 3; i++)
        f[i] = lab_f((XYZ_FROM_RGB[i][0] * r + XYZ_FROM_RGB[i][1] * g + XYZ_FROM_RGB[i][2] * b) /
                     WHITE_D65[i]);
    out[0] = (float)(116.0 * f[1] - 16.0);
    out[1] = (float)(500.0 * (f[0] - f[1]));
    out[2] = (float)(200.0 * (f[1] - f[2]));
}

/* The transfer curve of 8-bit values, computed once: pow() per pixel would
 * dominate the conversion. */
static double g_linear[256];
/* The same curve on [0, 1] in FINE steps for smoothed values, read with
 * linear interpolation (error below 1e-7, far under the 8-bit input's). */
#define FINE 4096
static double g_linear_fine[FINE + 2];
static pthread_once_t g_linear_once = PTHREAD_ONCE_INIT;

static void fill_linear_table(void) {
    for (int v = 0; v < 256; v++) g_linear[v] = srgb_to_linear(v / 255.0);
    for (int i = 0; i <= FINE; i++) g_linear_fine[i] = srgb_to_linear((double)i / FINE);
    g_linear_fine[FINE + 1] = g_linear_fine[FINE];
}

static double linear_of(float c) {
    double t = (double)c * FINE;
    t = t < 0.0 ? 0.0 : t > FINE ? FINE : t;
    int i = (int)t;
    return g_linear_fine[i] + (t - i) * (g_linear_fine[i + 1] - g_linear_fine[i]);
}

typedef struct lab_ctx {
    const uint8_t *u8; /* 8-bit input (no smoothing), or */
    const float *f;    /* smoothed sRGB in [0, 1] with fch channels */
    int channels, fch;
    int64_t width;
    float *lab;
    int64_t pixel_stride, plane_stride; /* component c of pixel p: lab[p ps + c cs] */
    const float (*grey_lab)[3]; /* L*a*b* of each grey level */
} lab_ctx;

static void lab_rows(void *vc, int64_t lo, int64_t hi) {
    const lab_ctx *c = vc;
    for (int64_t p = lo * c->width; p < hi * c->width; p++) {
        float out[3];
        if (c->u8 && c->channels < 3) {
            memcpy(out, c->grey_lab[c->u8[p * c->channels]], sizeof out);
        } else if (c->u8) {
            const uint8_t *px = c->u8 + p * c->channels;
            linear_rgb_to_lab(g_linear[px[0]], g_linear[px[1]], g_linear[px[2]], out);
        } else {
            const float *px = c->f + p * c->fch;
            double r = linear_of(px[0]);
            double g = c->fch == 3 ? linear_of(px[1]) : r;
            double b = c->fch == 3 ? linear_of(px[2]) : r;
            linear_rgb_to_lab(r, g, b, out);
        }
        for (int i = 0; i < 3; i++) c->lab[p * c->pixel_stride + i * c->plane_stride] = out[i];
    }
}

dc_status dc_srgb_to_lab(const uint8_t *pixels, int64_t n, int channels, float *lab) {
    DCI_CHECK_NULL(pixels);
    DCI_CHECK_NULL(lab);
    if (n < 1 || channels < 1 || channels > 4)
        return dci_fail(DC_ERR_SHAPE, "dc_srgb_to_lab: n = %lld, channels = %d (need n >= 1, "
                        "channels 1-4)", (long long)n, channels);
    return dci_image_lab(pixels, n, 1, channels, 0.0, 0, lab);
}

/* ---- Gaussian smoothing ---- */

typedef struct blur_ctx {
    const float *src;
    float *dst;
    int64_t width, height;
    int nc, radius;
    const float *kernel;   /* 2 radius + 1 weights */
    const int64_t *mirror; /* mirror[i + radius]: the coordinate read for i */
    int vertical;
} blur_ctx;

static void blur_rows(void *vc, int64_t lo, int64_t hi) {
    const blur_ctx *c = vc;
    int64_t rowlen = c->width * c->nc;
    for (int64_t y = lo; y < hi; y++) {
        float *out = c->dst + y * rowlen;
        if (c->vertical) {
            /* Whole rows at a time: the inner loop runs along memory. */
            memset(out, 0, (size_t)rowlen * sizeof *out);
            for (int j = -c->radius; j <= c->radius; j++) {
                const float *in = c->src + c->mirror[y + j + c->radius] * rowlen;
                float kj = c->kernel[j + c->radius];
                for (int64_t i = 0; i < rowlen; i++) out[i] += kj * in[i];
            }
        } else {
            const float *in = c->src + y * rowlen;
            for (int64_t x = 0; x < c->width; x++)
                for (int ch = 0; ch < c->nc; ch++) {
                    float s = 0.0f;
                    for (int j = -c->radius; j <= c->radius; j++)
                        s += c->kernel[j + c->radius] * in[c->mirror[x + j + c->radius] * c->nc + ch];
                    out[x * c->nc + ch] = s;
                }
        }
    }
}

/* scipy's 'reflect' border (d c b a | a b c d | d c b a) for i in
 * [-radius, n + radius), as a table so the inner loops have no branches. */
static void mirror_table(int64_t *t, int64_t n, int radius) {
    for (int64_t i = -radius; i < n + radius; i++) {
        int64_t m = i % (2 * n);
        if (m < 0) m += 2 * n;
        t[i + radius] = m < n ? m : 2 * n - 1 - m;
    }
}

dc_status dci_gaussian_blur(float *img, int64_t width, int64_t height, int channels, double sigma) {
    if (sigma <= 0.0) return DC_OK;
    int radius = (int)(4.0 * sigma + 0.5);
    int64_t longest = width > height ? width : height;
    float *kernel = DCI_NEW_ARRAY(float, 2 * radius + 1, "Gaussian kernel");
    int64_t *mirror = DCI_NEW_ARRAY(int64_t, longest + 2 * radius, "Gaussian border table");
    float *tmp = DCI_NEW_ARRAY(float, width * height * channels, "smoothed image");
    dc_status st = DC_OK;
    if (!kernel || !mirror || !tmp) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    double sum = 0.0;
    for (int j = -radius; j <= radius; j++) sum += exp(-0.5 * j * j / (sigma * sigma));
    for (int j = -radius; j <= radius; j++)
        kernel[j + radius] = (float)(exp(-0.5 * j * j / (sigma * sigma)) / sum);
    blur_ctx c = {img, tmp, width, height, channels, radius, kernel, mirror, 0};
    mirror_table(mirror, width, radius);
    dci_parallel_for(height, 16, blur_rows, &c);
    c.src = tmp;
    c.dst = img;
    c.vertical = 1;
    mirror_table(mirror, height, radius);
    dci_parallel_for(height, 16, blur_rows, &c);
done:
    dci_free(kernel);
    dci_free(mirror);
    dci_free(tmp);
    return st;
}

dc_status dci_image_lab(const uint8_t *pixels, int64_t width, int64_t height, int channels,
                        double sigma, int planar, float *lab) {
    pthread_once(&g_linear_once, fill_linear_table);
    float grey_lab[256][3];
    for (int v = 0; v < 256; v++) linear_rgb_to_lab(g_linear[v], g_linear[v], g_linear[v], grey_lab[v]);
    int64_t n = width * height;
    lab_ctx c = {pixels, NULL, channels, 0, width, lab, planar ? 1 : 3, planar ? n : 1, grey_lab};
    float *f = NULL;
    if (sigma > 0.0) {
        /* Smoothed in sRGB before the conversion, as scikit-image does, so
         * the same sigma means the same thing. */
        int fch = channels < 3 ? 1 : 3;
        f = DCI_NEW_ARRAY(float, width * height * fch, "image for smoothing");
        if (!f) return DC_ERR_NOMEM;
        for (int64_t p = 0; p < width * height; p++)
            for (int ch = 0; ch < fch; ch++) f[p * fch + ch] = pixels[p * channels + ch] / 255.0f;
        dc_status st = dci_gaussian_blur(f, width, height, fch, sigma);
        if (st) {
            dci_free(f);
            return st;
        }
        c.u8 = NULL;
        c.f = f;
        c.fch = fch;
    }
    dci_parallel_for(height, 16, lab_rows, &c);
    dci_free(f);
    return DC_OK;
}

/* ---- local k-means ---- */

enum { CL = 0, CA, CB, CX, CY, NCOORD }; /* a centre: L*, a*, b*, x, y */

typedef struct assign_ctx {
    const float *lab; /* planes L*, a*, b* of n pixels each */
    int32_t *labels;
    float *dist;
    const double *centre; /* K x NCOORD */
    int64_t n_centres, width, height, window;
    double spatial; /* (m / S)^2 */
} assign_ctx;

/* Each call owns whole rows, so the windows of all centres can be scanned
 * without two threads writing one pixel; every pixel sees the centres in
 * the same order whatever the split, so the result is the same. */
static void assign_rows(void *vc, int64_t lo, int64_t hi) {
    const assign_ctx *c = vc;
    int64_t n = c->width * c->height;
    for (int64_t p = lo * c->width; p < hi * c->width; p++) c->dist[p] = FLT_MAX;
    for (int64_t k = 0; k < c->n_centres; k++) {
        const double *ck = c->centre + k * NCOORD;
        int64_t cx = (int64_t)ck[CX], cy = (int64_t)ck[CY];
        int64_t y0 = cy - c->window, y1 = cy + c->window + 1;
        int64_t x0 = cx - c->window, x1 = cx + c->window + 1;
        if (y0 < lo) y0 = lo;
        if (y1 > hi) y1 = hi;
        if (x0 < 0) x0 = 0;
        if (x1 > c->width) x1 = c->width;
        float L = (float)ck[CL], A = (float)ck[CA], B = (float)ck[CB];
        float fx = (float)ck[CX], sp = (float)c->spatial;
        int32_t label = (int32_t)k;
        for (int64_t y = y0; y < y1; y++) {
            float dy = (float)y - (float)ck[CY];
            float dy2 = dy * dy * sp;
            int64_t row = y * c->width;
            const float *pl = c->lab + row, *pa = pl + n, *pb = pa + n;
            float *dist = c->dist + row;
            int32_t *lab = c->labels + row;
            /* Branch-free with a 32-bit index, so the compiler can
             * vectorise it (SSE2 has no packed int64 -> float). */
            for (int32_t x = (int32_t)x0; x < (int32_t)x1; x++) {
                float dl = pl[x] - L, da = pa[x] - A, db = pb[x] - B, dx = (float)x - fx;
                float d = dl * dl + da * da + db * db + dx * dx * sp + dy2;
                int closer = d < dist[x];
                dist[x] = closer ? d : dist[x];
                lab[x] = closer ? label : lab[x];
            }
        }
    }
}

typedef struct update_ctx {
    const float *lab; /* planes */
    const int32_t *labels;
    double *sums; /* n_bands x K x (NCOORD + 1) */
    int64_t n_centres, width, height, n_bands;
} update_ctx;

/* Sums per fixed band of rows (not per thread), added up in band order
 * afterwards: the centres come out the same for any thread count. */
static void update_bands(void *vc, int64_t lo, int64_t hi) {
    const update_ctx *c = vc;
    for (int64_t band = lo; band < hi; band++) {
        double *s = c->sums + band * c->n_centres * (NCOORD + 1);
        memset(s, 0, (size_t)(c->n_centres * (NCOORD + 1)) * sizeof *s);
        int64_t y0 = band * c->height / c->n_bands, y1 = (band + 1) * c->height / c->n_bands;
        int64_t n = c->width * c->height;
        for (int64_t y = y0; y < y1; y++)
            for (int64_t x = 0; x < c->width; x++) {
                int64_t p = y * c->width + x;
                double *sk = s + (int64_t)c->labels[p] * (NCOORD + 1);
                sk[CL] += c->lab[p];
                sk[CA] += c->lab[p + n];
                sk[CB] += c->lab[p + 2 * n];
                sk[CX] += (double)x;
                sk[CY] += (double)y;
                sk[NCOORD] += 1.0;
            }
    }
}

/* Squared CIELAB distance of pixels p and q (planes of n pixels). */
static double lab_dist2(const float *lab, int64_t n, int64_t p, int64_t q) {
    double d = 0.0;
    for (int i = 0; i < 3; i++) d += ((double)lab[p + i * n] - lab[q + i * n]) * ((double)lab[p + i * n] - lab[q + i * n]);
    return d;
}

/* Squared colour gradient at (x, y), clamped at the borders. */
static double gradient(const float *lab, int64_t w, int64_t h, int64_t x, int64_t y) {
    int64_t xl = x > 0 ? x - 1 : x, xr = x + 1 < w ? x + 1 : x;
    int64_t yu = y > 0 ? y - 1 : y, yd = y + 1 < h ? y + 1 : y;
    return lab_dist2(lab, w * h, y * w + xr, y * w + xl) + lab_dist2(lab, w * h, yd * w + x, yu * w + x);
}

/* Grid seeds, each moved to the lowest gradient of its 3 x 3 neighbourhood
 * (so that no seed starts on an edge or a noisy pixel); the pixels start
 * in their grid cell's superpixel. Cell i of nx spans [i w / nx, (i+1) w / nx). */
static void place_seeds(const float *lab, int64_t w, int64_t h, int64_t nx, int64_t ny,
                        double *centre, int32_t *labels) {
    for (int64_t j = 0; j < ny; j++)
        for (int64_t i = 0; i < nx; i++) {
            int64_t sx = (int64_t)((i + 0.5) * (double)w / (double)nx);
            int64_t sy = (int64_t)((j + 0.5) * (double)h / (double)ny);
            /* Within the seed's own grid cell, so that on a fine grid two
             * seeds cannot move onto one pixel. */
            int64_t cx0 = i * w / nx, cx1 = (i + 1) * w / nx, cy0 = j * h / ny, cy1 = (j + 1) * h / ny;
            int64_t bx = sx, by = sy;
            double best = gradient(lab, w, h, sx, sy);
            for (int64_t y = sy - 1; y <= sy + 1; y++)
                for (int64_t x = sx - 1; x <= sx + 1; x++) {
                    if (x < cx0 || y < cy0 || x >= cx1 || y >= cy1) continue;
                    double g = gradient(lab, w, h, x, y);
                    if (g < best) {
                        best = g;
                        bx = x;
                        by = y;
                    }
                }
            double *c = centre + (j * nx + i) * NCOORD;
            for (int k = 0; k < 3; k++) c[CL + k] = lab[by * w + bx + k * w * h];
            c[CX] = (double)bx;
            c[CY] = (double)by;
        }
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            labels[y * w + x] = (int32_t)((y * ny / h) * nx + x * nx / w);
}

/* ---- connectivity ---- */

dc_status dci_enforce_connectivity(int32_t *labels, int64_t width, int64_t height,
                                   int64_t min_size, int32_t *n_out) {
    int64_t n = width * height;
    int32_t *fresh = DCI_NEW_ARRAY(int32_t, n, "connected superpixels");
    int64_t *queue = DCI_NEW_ARRAY(int64_t, n, "connectivity queue");
    if (!fresh || !queue) {
        dci_free(fresh);
        dci_free(queue);
        return DC_ERR_NOMEM;
    }
    for (int64_t p = 0; p < n; p++) fresh[p] = -1;
    int32_t next = 0;
    for (int64_t start = 0; start < n; start++) {
        if (fresh[start] >= 0) continue;
        int32_t old = labels[start], neighbour = -1;
        int64_t head = 0, tail = 0;
        queue[tail++] = start;
        fresh[start] = next;
        while (head < tail) {
            int64_t p = queue[head++], x = p % width;
            int64_t nb[4] = {x > 0 ? p - 1 : -1, x + 1 < width ? p + 1 : -1,
                             p >= width ? p - width : -1, p + width < n ? p + width : -1};
            for (int i = 0; i < 4; i++) {
                int64_t q = nb[i];
                if (q < 0) continue;
                if (fresh[q] < 0 && labels[q] == old) {
                    fresh[q] = next;
                    queue[tail++] = q;
                } else if (fresh[q] >= 0 && fresh[q] != next && neighbour < 0) {
                    neighbour = fresh[q];
                }
            }
        }
        /* A piece found before this one touches it: merging keeps every
         * superpixel 4-connected. The first piece has none and stays. */
        if (tail < min_size && neighbour >= 0)
            for (int64_t i = 0; i < tail; i++) fresh[queue[i]] = neighbour;
        else
            next++;
    }
    memcpy(labels, fresh, (size_t)n * sizeof *labels);
    dci_free(fresh);
    dci_free(queue);
    *n_out = next;
    return DC_OK;
}

/* Numbers the labels 0 .. n-1 in raster order of first appearance (the
 * k-means can leave a seed without pixels). */
static dc_status compact_labels(int32_t *labels, int64_t n, int64_t n_centres, int32_t *n_out) {
    int32_t *map = DCI_NEW_ARRAY(int32_t, n_centres, "label map");
    if (!map) return DC_ERR_NOMEM;
    for (int64_t k = 0; k < n_centres; k++) map[k] = -1;
    int32_t next = 0;
    for (int64_t p = 0; p < n; p++) {
        if (map[labels[p]] < 0) map[labels[p]] = next++;
        labels[p] = map[labels[p]];
    }
    dci_free(map);
    *n_out = next;
    return DC_OK;
}

/* ---- options ---- */

void dc_slic_options_default(dc_slic_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = (int)sizeof *opt;
    opt->n_segments = 200;
    opt->compactness = 10.0;
    opt->sigma = 0.0;
    opt->max_iter = 10;
    opt->enforce_connectivity = 1;
    opt->min_size_factor = 0.25;
}

size_t dc_slic_options_size(void) { return sizeof(dc_slic_options); }

static dc_status check_options(const dc_slic_options *o) {
    if (o->struct_size != (int)sizeof *o)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_slic_options.struct_size is %d, expected %d "
                        "(initialise with dc_slic_options_default)", o->struct_size, (int)sizeof *o);
    if (o->n_segments < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "n_segments must be >= 1, got %d", o->n_segments);
    /* Above 1e6 the spatial term (m / S)^2 swamps float32 colour distances
     * (and near 1e19 it overflows to inf: every pixel would stay put). */
    if (!(o->compactness > 0.0 && o->compactness <= 1e6))
        return dci_fail(DC_ERR_INVALID_ARG, "compactness must be in (0, 1e6], got %g",
                        o->compactness);
    if (!(o->sigma >= 0.0 && o->sigma <= 100.0))
        return dci_fail(DC_ERR_INVALID_ARG, "sigma must be in [0, 100], got %g", o->sigma);
    if (o->max_iter < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "max_iter must be >= 1, got %d", o->max_iter);
    if (o->enforce_connectivity != 0 && o->enforce_connectivity != 1)
        return dci_fail(DC_ERR_INVALID_ARG, "enforce_connectivity must be 0 or 1, got %d",
                        o->enforce_connectivity);
    if (!(o->min_size_factor >= 0.0 && o->min_size_factor <= 1.0))
        return dci_fail(DC_ERR_INVALID_ARG, "min_size_factor must be in [0, 1], got %g",
                        o->min_size_factor);
    return DC_OK;
}

dc_status dc_slic_options_set(dc_slic_options *opt, const char *name, double value) {
    DCI_CHECK_NULL(opt);
    DCI_CHECK_NULL(name);
    dc_slic_options o = *opt;
    int whole = value == floor(value) && fabs(value) < 2147483647.0;
    if (!strcmp(name, "n_segments") && whole) o.n_segments = (int)value;
    else if (!strcmp(name, "compactness")) o.compactness = value;
    else if (!strcmp(name, "sigma")) o.sigma = value;
    else if (!strcmp(name, "max_iter") && whole) o.max_iter = (int)value;
    else if (!strcmp(name, "enforce_connectivity") && whole) o.enforce_connectivity = (int)value;
    else if (!strcmp(name, "min_size_factor")) o.min_size_factor = value;
    else if (!strcmp(name, "n_segments") || !strcmp(name, "max_iter") ||
             !strcmp(name, "enforce_connectivity"))
        return dci_fail(DC_ERR_INVALID_ARG, "%s takes a whole number below 2^31, got %g", name,
                        value);
    else
        return dci_fail(DC_ERR_UNKNOWN_NAME, "unknown SLIC option '%s' (n_segments, compactness, "
                        "sigma, max_iter, enforce_connectivity, min_size_factor)", name);
    DCI_TRY(check_options(&o));
    *opt = o;
    return DC_OK;
}

/* ---- SLIC ---- */

dc_status dc_slic(const uint8_t *pixels, int64_t width, int64_t height, int channels,
                  const dc_slic_options *opt, int32_t *labels, int32_t *n_superpixels) {
    DCI_CHECK_NULL(pixels);
    DCI_CHECK_NULL(labels);
    DCI_CHECK_NULL(n_superpixels);
    dc_slic_options defaults;
    dc_slic_options_default(&defaults);
    const dc_slic_options *o = opt ? opt : &defaults;
    DCI_TRY(check_options(o));
    if (channels < 1 || channels > 4)
        return dci_fail(DC_ERR_SHAPE, "an image has 1-4 channels, got %d", channels);
    if (width < 2 || height < 2 || width > INT32_MAX / height)
        return dci_fail(DC_ERR_SHAPE, "image of %lld x %lld pixels: SLIC needs at least 2 x 2 "
                        "and at most 2^31 - 1 pixels", (long long)width, (long long)height);
    int64_t n = width * height;
    if (o->n_segments > n)
        return dci_fail(DC_ERR_INVALID_ARG, "%d superpixels asked of an image of %lld pixels",
                        o->n_segments, (long long)n);

    double step = sqrt((double)n / o->n_segments);
    int64_t nx = llround((double)width / step), ny = llround((double)height / step);
    nx = nx < 1 ? 1 : nx > width ? width : nx;
    ny = ny < 1 ? 1 : ny > height ? height : ny;
    int64_t n_centres = nx * ny;
    step = sqrt((double)n / (double)n_centres);
    /* Half the window: the grid spacing, so the windows of neighbouring
     * seeds overlap and every pixel is in some window at the start. */
    double spacing = fmax((double)width / (double)nx, (double)height / (double)ny);
    int64_t window = (int64_t)ceil(spacing);
    int64_t n_bands = height < 16 ? height : 16;
    while (n_bands > 1 && n_bands * n_centres > ((int64_t)1 << 22)) n_bands /= 2;

    float *lab = DCI_NEW_ARRAY(float, 3 * n, "CIELAB image");
    float *dist = DCI_NEW_ARRAY(float, n, "SLIC distances");
    double *centre = DCI_NEW_ARRAY(double, n_centres * NCOORD, "SLIC centres");
    double *sums = DCI_NEW_ARRAY(double, n_bands * n_centres * (NCOORD + 1), "SLIC sums");
    dc_status st = DC_OK;
    if (!lab || !dist || !centre || !sums) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    if ((st = dci_image_lab(pixels, width, height, channels, o->sigma, 1, lab))) goto done;
    place_seeds(lab, width, height, nx, ny, centre, labels);

    assign_ctx ac = {lab, labels, dist, centre, n_centres, width, height, window,
                     (o->compactness / step) * (o->compactness / step)};
    update_ctx uc = {lab, labels, sums, n_centres, width, height, n_bands};
    for (int it = 0; it < o->max_iter; it++) {
        dci_parallel_for(height, 32, assign_rows, &ac);
        dci_parallel_for(n_bands, 1, update_bands, &uc);
        for (int64_t k = 0; k < n_centres; k++) {
            double acc[NCOORD + 1] = {0};
            for (int64_t b = 0; b < n_bands; b++)
                for (int i = 0; i <= NCOORD; i++)
                    acc[i] += sums[(b * n_centres + k) * (NCOORD + 1) + i];
            if (acc[NCOORD] == 0.0) continue; /* no pixels: the seed stays */
            for (int i = 0; i < NCOORD; i++) centre[k * NCOORD + i] = acc[i] / acc[NCOORD];
        }
    }
    if (o->enforce_connectivity) {
        int64_t min_size = (int64_t)(o->min_size_factor * (double)n / (double)n_centres);
        st = dci_enforce_connectivity(labels, width, height, min_size, n_superpixels);
    } else {
        st = compact_labels(labels, n, n_centres, n_superpixels);
    }
done:
    dci_free(lab);
    dci_free(dist);
    dci_free(centre);
    dci_free(sums);
    return st;
}
