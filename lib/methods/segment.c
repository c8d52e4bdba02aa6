/* Image segmentation by clustering SLIC superpixels (deepclust/segment.h). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "deepclust/dataset.h"
#include "deepclust/segment.h"
#include "image/slic.h"

static dc_status check_image(const uint8_t *pixels, int64_t width, int64_t height, int channels) {
    DCI_CHECK_NULL(pixels);
    if (width < 1 || height < 1 || width > INT32_MAX / height || channels < 1 || channels > 4)
        return dci_fail(DC_ERR_SHAPE, "image of %lld x %lld pixels with %d channels (need at "
                        "least 1 x 1, at most 2^31 - 1 pixels, 1-4 channels)", (long long)width,
                        (long long)height, channels);
    return DC_OK;
}

/* Root mean squared distance of the rows of a block (n x d, stride 5) to
 * their mean; 1 when they all coincide, so the block is left as it is. */
static double block_spread(const float *x, int64_t n, int d) {
    double mean[3] = {0, 0, 0}, ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[i * 5 + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) ss += (x[i * 5 + j] - mean[j]) * (x[i * 5 + j] - mean[j]);
    double s = sqrt(ss / (double)n);
    return s > 0.0 ? s : 1.0;
}

/* Mean L*a*b* and centroid of each superpixel, each block scaled as the
 * header documents: n_superpixels x 5 floats. */
static dc_status superpixel_features(const uint8_t *pixels, int64_t width, int64_t height,
                                     int channels, const int32_t *sp, int32_t n_sp,
                                     double position_weight, float *feat) {
    int64_t n = width * height;
    float *lab = DCI_NEW_ARRAY(float, 3 * n, "CIELAB image");
    double *sums = DCI_NEW_ZEROS(double, (int64_t)n_sp * 6, "superpixel sums");
    dc_status st = DC_OK;
    if (!lab || !sums) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    if ((st = dci_image_lab(pixels, width, height, channels, 0.0, 0, lab))) goto done;
    for (int64_t p = 0; p < n; p++) {
        if (sp[p] < 0 || sp[p] >= n_sp) {
            st = dci_fail(DC_ERR_SHAPE, "superpixel index %d at pixel (%lld, %lld) outside 0..%d",
                          sp[p], (long long)(p % width), (long long)(p / width), n_sp - 1);
            goto done;
        }
        double *s = sums + (int64_t)sp[p] * 6;
        for (int j = 0; j < 3; j++) s[j] += lab[3 * p + j];
        s[3] += (double)(p % width);
        s[4] += (double)(p / width);
        s[5] += 1.0;
    }
    for (int32_t i = 0; i < n_sp; i++) {
        const double *s = sums + (int64_t)i * 6;
        if (s[5] == 0.0) {
            st = dci_fail(DC_ERR_SHAPE, "superpixel %d of %d has no pixels", i, n_sp);
            goto done;
        }
        for (int j = 0; j < 5; j++) feat[(int64_t)i * 5 + j] = (float)(s[j] / s[5]);
    }
    double colour = block_spread(feat, n_sp, 3);
    double position = block_spread(feat + 3, n_sp, 2) / position_weight;
    for (int32_t i = 0; i < n_sp; i++) {
        for (int j = 0; j < 3; j++) feat[(int64_t)i * 5 + j] = (float)(feat[(int64_t)i * 5 + j] / colour);
        for (int j = 3; j < 5; j++)
            feat[(int64_t)i * 5 + j] =
                position_weight > 0.0 ? (float)(feat[(int64_t)i * 5 + j] / position) : 0.0f;
    }
done:
    dci_free(lab);
    dci_free(sums);
    return st;
}

dc_status dc_segment_superpixels(dc_solver *solver, const uint8_t *pixels, int64_t width,
                                 int64_t height, int channels, const int32_t *superpixels,
                                 int32_t n_superpixels, double position_weight, int32_t *labels) {
    DCI_CHECK_NULL(solver);
    DCI_CHECK_NULL(superpixels);
    DCI_CHECK_NULL(labels);
    DCI_TRY(check_image(pixels, width, height, channels));
    if (n_superpixels < 1 || n_superpixels > width * height)
        return dci_fail(DC_ERR_SHAPE, "%d superpixels in an image of %lld pixels", n_superpixels,
                        (long long)(width * height));
    if (!(position_weight >= 0.0 && position_weight <= DC_SEGMENT_POSITION_WEIGHT_MAX))
        return dci_fail(DC_ERR_INVALID_ARG, "position_weight must be in [0, %g], got %g",
                        DC_SEGMENT_POSITION_WEIGHT_MAX, position_weight);
    double k = 0.0;
    DCI_TRY(dc_solver_get(solver, "k", &k));
    if (k > n_superpixels)
        return dci_fail(DC_ERR_K_RANGE, "k = %.0f segments asked of %d superpixels (ask for more "
                        "superpixels or fewer segments)", k, n_superpixels);
    float *feat = DCI_NEW_ARRAY(float, (int64_t)n_superpixels * 5, "superpixel features");
    int32_t *sp_label = DCI_NEW_ARRAY(int32_t, n_superpixels, "superpixel clusters");
    dc_dataset *ds = NULL;
    dc_status st = DC_OK;
    if (!feat || !sp_label) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    if ((st = superpixel_features(pixels, width, height, channels, superpixels, n_superpixels,
                                  position_weight, feat)))
        goto done;
    int64_t got = 0;
    if ((st = dc_dataset_create(&ds, feat, n_superpixels, 5, DC_BORROW)) ||
        (st = dc_solver_fit(solver, ds)) ||
        (st = dc_solver_labels(solver, sp_label, n_superpixels, &got)))
        goto done;
    for (int64_t p = 0; p < width * height; p++) labels[p] = sp_label[superpixels[p]];
done:
    dc_dataset_free(ds);
    dci_free(feat);
    dci_free(sp_label);
    return st;
}

dc_status dc_segment(dc_solver *solver, const uint8_t *pixels, int64_t width, int64_t height,
                     int channels, const dc_slic_options *slic, double position_weight,
                     int32_t *labels, int32_t *superpixels, int32_t *n_superpixels) {
    DCI_CHECK_NULL(solver);
    DCI_CHECK_NULL(labels);
    DCI_TRY(check_image(pixels, width, height, channels));
    int32_t *sp = superpixels ? superpixels : DCI_NEW_ARRAY(int32_t, width * height, "superpixels");
    if (!sp) return DC_ERR_NOMEM;
    int32_t n_sp = 0;
    dc_status st = dc_slic(pixels, width, height, channels, slic, sp, &n_sp);
    if (st == DC_OK)
        st = dc_segment_superpixels(solver, pixels, width, height, channels, sp, n_sp,
                                    position_weight, labels);
    if (st == DC_OK && n_superpixels) *n_superpixels = n_sp;
    if (!superpixels) dci_free(sp);
    return st;
}

/* 1 where the right or lower neighbour has another label. */
static void boundary_map(const int32_t *lab, int64_t w, int64_t h, uint8_t *b) {
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int64_t p = y * w + x;
            b[p] = (uint8_t)((x + 1 < w && lab[p] != lab[p + 1]) || (y + 1 < h && lab[p] != lab[p + w]));
        }
}

/* Max filter over a (2t + 1) window along rows (step 1) or columns (step w). */
static void dilate(const uint8_t *src, uint8_t *dst, int64_t w, int64_t h, int t, int along_rows) {
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int64_t pos = along_rows ? x : y, len = along_rows ? w : h;
            int64_t lo = pos - t < 0 ? 0 : pos - t, hi = pos + t >= len ? len - 1 : pos + t;
            uint8_t v = 0;
            for (int64_t i = lo; i <= hi && !v; i++) v = along_rows ? src[y * w + i] : src[i * w + x];
            dst[y * w + x] = v;
        }
}

dc_status dc_boundary_recall(const int32_t *truth, const int32_t *pred, int64_t width,
                             int64_t height, int tolerance, double *out) {
    DCI_CHECK_NULL(truth);
    DCI_CHECK_NULL(pred);
    DCI_CHECK_NULL(out);
    if (width < 1 || height < 1 || width > INT32_MAX / height)
        return dci_fail(DC_ERR_SHAPE, "label images of %lld x %lld pixels", (long long)width,
                        (long long)height);
    if (tolerance < 0 || tolerance > 1000)
        return dci_fail(DC_ERR_INVALID_ARG, "tolerance must be in [0, 1000], got %d", tolerance);
    int64_t n = width * height;
    uint8_t *tb = DCI_NEW_ARRAY(uint8_t, n, "truth boundaries");
    uint8_t *pb = DCI_NEW_ARRAY(uint8_t, n, "boundaries");
    uint8_t *tmp = DCI_NEW_ARRAY(uint8_t, n, "dilated boundaries");
    if (!tb || !pb || !tmp) {
        dci_free(tb);
        dci_free(pb);
        dci_free(tmp);
        return DC_ERR_NOMEM;
    }
    boundary_map(truth, width, height, tb);
    boundary_map(pred, width, height, pb);
    dilate(pb, tmp, width, height, tolerance, 1);
    dilate(tmp, pb, width, height, tolerance, 0);
    int64_t total = 0, hit = 0;
    for (int64_t p = 0; p < n; p++) {
        total += tb[p];
        hit += tb[p] & pb[p];
    }
    *out = total ? (double)hit / (double)total : 1.0;
    dci_free(tb);
    dci_free(pb);
    dci_free(tmp);
    return DC_OK;
}
