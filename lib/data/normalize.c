/* Feature normalisation in place, and its record (data/normalize.h).
 * Per-feature statistics are accumulated in double over row-major data, so
 * one pass reads each row contiguously. */
#include "data/normalize.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/dataset.h"

void dci_norm_apply(const dci_norm *nm, float *x, int64_t n, int64_t d) {
    const double *shift = nm->shift, *scale = nm->scale;
    for (int64_t i = 0; i < n; i++) {
        float *row = x + i * d;
        for (int64_t j = 0; j < d; j++) row[j] = (float)(((double)row[j] - shift[j]) * scale[j]);
    }
}

dc_status dci_norm_alloc(dci_norm *nm, dc_normalization mode, int64_t d) {
    double *a = DCI_NEW_ARRAY(double, 2 * d, "normalisation record");
    if (!a) return DC_ERR_NOMEM;
    dci_norm_free(nm);
    *nm = (dci_norm){mode, a, a + d};
    return DC_OK;
}

dc_status dci_norm_copy(dci_norm *dst, const dci_norm *src, int64_t d) {
    if (src->mode == DC_NORM_NONE) {
        dci_norm_free(dst);
        return DC_OK;
    }
    DCI_TRY(dci_norm_alloc(dst, src->mode, d));
    memcpy(dst->shift, src->shift, (size_t)d * sizeof *dst->shift);
    memcpy(dst->scale, src->scale, (size_t)d * sizeof *dst->scale);
    return DC_OK;
}

void dci_norm_free(dci_norm *nm) {
    dci_free(nm->shift); /* scale lives in the same block */
    *nm = (dci_norm){DC_NORM_NONE, NULL, NULL};
}

int dci_norm_equal(const dci_norm *a, const dci_norm *b, int64_t d) {
    if (a->mode != b->mode) return 0;
    if (a->mode == DC_NORM_NONE) return 1;
    for (int64_t j = 0; j < d; j++)
        if (a->shift[j] != b->shift[j] || a->scale[j] != b->scale[j]) return 0;
    return 1;
}

/* outer after inner as one map: ((x - s1) c1 - s2) c2 = (x - (s1 + s2 / c1)) c1 c2.
 * With c1 = 0 the inner map already sent the feature to 0, which every mode
 * keeps at 0 (its statistics of a zero column are shift 0 or scale 0), so
 * the composition stays "scale 0". */
static void compose(dci_norm *inner, const dci_norm *outer, int64_t d) {
    for (int64_t j = 0; j < d; j++) {
        const double c1 = inner->scale[j];
        if (c1 == 0.0) continue;
        inner->shift[j] += outer->shift[j] / c1;
        inner->scale[j] = c1 * outer->scale[j];
    }
    inner->mode = outer->mode;
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
    dci_norm step = {DC_NORM_NONE, NULL, NULL};
    DCI_TRY(dci_norm_alloc(&step, mode, ds->d));
    if (mode == DC_NORM_SCALE255)
        for (int64_t j = 0; j < ds->d; j++) step.shift[j] = 0.0, step.scale[j] = 1.0 / 255.0;
    else if (mode == DC_NORM_MINMAX)
        minmax_stats(x, ds->n, ds->d, step.shift, step.scale);
    else
        zscore_stats(x, ds->n, ds->d, step.shift, step.scale);
    dci_norm_apply(&step, x, ds->n, ds->d);
    if (ds->norm.mode == DC_NORM_NONE) {
        ds->norm = step;
    } else {
        compose(&ds->norm, &step, ds->d);
        dci_norm_free(&step);
    }
    return DC_OK;
}

dc_status dci_dataset_apply_norm(dc_dataset *ds, const dci_norm *nm) {
    dci_norm rec = {DC_NORM_NONE, NULL, NULL};
    DCI_TRY(dci_norm_copy(&rec, nm, ds->d));
    float *x;
    dc_status st = dci_dataset_mutable(ds, &x);
    if (st != DC_OK) {
        dci_norm_free(&rec);
        return st;
    }
    dci_norm_apply(&rec, x, ds->n, ds->d);
    dci_norm_free(&ds->norm);
    ds->norm = rec;
    return DC_OK;
}

dc_normalization dc_dataset_normalization(const dc_dataset *ds) {
    return ds ? ds->norm.mode : DC_NORM_NONE;
}

static const struct {
    const char *name;
    dc_normalization mode;
} norm_names[] = {{"none", DC_NORM_NONE},
                  {"scale255", DC_NORM_SCALE255},
                  {"minmax", DC_NORM_MINMAX},
                  {"zscore", DC_NORM_ZSCORE}};

const char *dc_normalization_name(dc_normalization mode) {
    for (size_t i = 0; i < sizeof norm_names / sizeof norm_names[0]; i++)
        if (norm_names[i].mode == mode) return norm_names[i].name;
    return NULL;
}

dc_status dc_normalization_from_name(const char *name, dc_normalization *out) {
    DCI_CHECK_NULL(name);
    DCI_CHECK_NULL(out);
    for (size_t i = 0; i < sizeof norm_names / sizeof norm_names[0]; i++)
        if (strcasecmp(name, norm_names[i].name) == 0) {
            *out = norm_names[i].mode;
            return DC_OK;
        }
    return dci_fail(DC_ERR_UNKNOWN_NAME, "unknown normalization '%s' (none, scale255, minmax, "
                    "zscore)", name);
}
