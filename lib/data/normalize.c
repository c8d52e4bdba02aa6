/* Feature normalisation in place. Per-feature statistics are accumulated in
 * double over row-major data, so one pass reads each row contiguously. */
#include <float.h>
#include <math.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/dataset.h"

static void scale255(float *x, int64_t count) {
    for (int64_t i = 0; i < count; i++) x[i] /= 255.0f;
}

/* x <- (x - shift[j]) * scale[j]; scale 0 maps a constant feature to 0. */
static void affine(float *x, int64_t n, int64_t d, const double *shift, const double *scale) {
    for (int64_t i = 0; i < n; i++) {
        float *row = x + i * d;
        for (int64_t j = 0; j < d; j++) row[j] = (float)(((double)row[j] - shift[j]) * scale[j]);
    }
}

static void minmax_stats(const float *x, int64_t n, int64_t d, double *lo, double *scale) {
    for (int64_t j = 0; j < d; j++) lo[j] = DBL_MAX, scale[j] = -DBL_MAX; /* scale holds max */
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * d;
        for (int64_t j = 0; j < d; j++) {
            if (row[j] < lo[j]) lo[j] = row[j];
            if (row[j] > scale[j]) scale[j] = row[j];
        }
    }
    for (int64_t j = 0; j < d; j++) {
        double range = scale[j] - lo[j];
        scale[j] = range > 0.0 ? 1.0 / range : 0.0;
    }
}

/* Two passes (mean, then squared deviations): exact zero variance for a
 * constant feature, and no cancellation for large offsets. */
static void zscore_stats(const float *x, int64_t n, int64_t d, double *mean, double *scale) {
    for (int64_t j = 0; j < d; j++) mean[j] = scale[j] = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mean[j];
            scale[j] += t * t;
        }
    for (int64_t j = 0; j < d; j++) {
        double sd = sqrt(scale[j] / (double)n);
        scale[j] = sd > 0.0 ? 1.0 / sd : 0.0;
    }
}

dc_status dc_dataset_normalize(dc_dataset *ds, dc_normalization mode) {
    DCI_CHECK_NULL(ds);
    if (mode < DC_NORM_NONE || mode > DC_NORM_ZSCORE)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_dataset_normalize: mode %d is not a "
                        "dc_normalization", (int)mode);
    if (mode == DC_NORM_NONE) return DC_OK;
    float *x;
    DCI_TRY(dci_dataset_mutable(ds, &x));
    if (mode == DC_NORM_SCALE255) {
        scale255(x, ds->n * ds->d);
        return DC_OK;
    }
    double *a = DCI_NEW_ARRAY(double, 2 * ds->d, "normalisation statistics");
    if (!a) return DC_ERR_NOMEM;
    double *b = a + ds->d;
    if (mode == DC_NORM_MINMAX)
        minmax_stats(x, ds->n, ds->d, a, b);
    else
        zscore_stats(x, ds->n, ds->d, a, b);
    affine(x, ds->n, ds->d, a, b);
    dci_free(a);
    return DC_OK;
}

dc_status dc_normalization_from_name(const char *name, dc_normalization *out) {
    DCI_CHECK_NULL(name);
    DCI_CHECK_NULL(out);
    static const struct {
        const char *name;
        dc_normalization mode;
    } names[] = {{"none", DC_NORM_NONE},
                 {"scale255", DC_NORM_SCALE255},
                 {"minmax", DC_NORM_MINMAX},
                 {"zscore", DC_NORM_ZSCORE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].mode;
            return DC_OK;
        }
    return dci_fail(DC_ERR_UNKNOWN_NAME, "unknown normalization '%s' (none, scale255, minmax, "
                    "zscore)", name);
}
