/* The data set handle: creation from memory or files, labels, image shape,
 * subsets and accessors (normalisation and its record: normalize.c). */
#include "data/dataset.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/array.h"
#include "data/csv.h"
#include "data/fileio.h"
#include "data/idx.h"
#include "data/npy.h"

void dc_load_options_default(dc_load_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = (int)sizeof *opt;
    opt->format = DC_FORMAT_AUTO;
    opt->delimiter = 0;
    opt->header = -1;
    opt->label_column = DC_LABEL_COLUMN_NONE;
}

size_t dc_load_options_size(void) { return sizeof(dc_load_options); }

/* The delimiters the CSV reader splits on (dataset.h), or 0 to detect. */
static dc_status check_delimiter(int c, const char *what) {
    if (c == 0 || (c > 0 && c < 128 && strchr(",;\t ", c)))
        return DC_OK;
    if (c > 32 && c < 127)
        return dci_fail(DC_ERR_INVALID_ARG, "%s '%c' is not one of ',' ';' tab space (or 0 to "
                        "detect)", what, c);
    return dci_fail(DC_ERR_INVALID_ARG, "%s (character code %d) is not one of ',' ';' tab space "
                    "(or 0 to detect)", what, c);
}

dc_status dc_load_options_set(dc_load_options *opt, const char *name, double value) {
    DCI_CHECK_NULL(opt);
    DCI_CHECK_NULL(name);
    if (value != floor(value) || !isfinite(value))
        return dci_fail(DC_ERR_INVALID_ARG, "load option %s takes a whole number, got %g", name, value);
    if (!strcmp(name, "format")) {
        if (value < DC_FORMAT_AUTO || value > DC_FORMAT_IDX)
            return dci_fail(DC_ERR_INVALID_ARG, "load option format = %g is not a dc_format", value);
        opt->format = (dc_format)value;
    } else if (!strcmp(name, "delimiter")) {
        if (value < 0 || value > 127)
            return dci_fail(DC_ERR_INVALID_ARG, "load option delimiter = %g is not an ASCII code", value);
        DCI_TRY(check_delimiter((int)value, "load option delimiter"));
        opt->delimiter = (char)value;
    } else if (!strcmp(name, "header")) {
        if (value < -1 || value > 1)
            return dci_fail(DC_ERR_INVALID_ARG, "load option header = %g, need 1, 0 or -1", value);
        opt->header = (int)value;
    } else if (!strcmp(name, "label_column")) {
        if (value < DC_LABEL_COLUMN_LAST || value > 2147483647.0)
            return dci_fail(DC_ERR_INVALID_ARG, "load option label_column = %g is out of range", value);
        opt->label_column = (int)value;
    } else {
        return dci_fail(DC_ERR_UNKNOWN_NAME,
                        "no load option '%s' (format, delimiter, header, label_column)", name);
    }
    return DC_OK;
}

dc_status dci_dataset_adopt(dc_dataset **out, float *data, int64_t n, int64_t d) {
    dc_dataset *ds = DCI_NEW_ZEROS(dc_dataset, 1, "data set");
    if (!ds) {
        dci_free(data);
        return DC_ERR_NOMEM;
    }
    ds->owned = data;
    ds->x = data;
    ds->n = n;
    ds->d = d;
    *out = ds;
    return DC_OK;
}

dc_status dci_dataset_mutable(dc_dataset *ds, float **out) {
    if (!ds->owned) {
        float *copy = DCI_NEW_ARRAY(float, ds->n * ds->d, "data set copy");
        if (!copy) return DC_ERR_NOMEM;
        memcpy(copy, ds->x, (size_t)(ds->n * ds->d) * sizeof(float));
        ds->owned = copy;
        ds->x = copy;
    }
    *out = ds->owned;
    return DC_OK;
}

dc_status dc_dataset_create(dc_dataset **out, const float *data, int64_t rows, int64_t cols,
                            dc_ownership mode) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(data);
    if (mode != DC_COPY && mode != DC_BORROW)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_dataset_create: mode %d is neither DC_COPY nor "
                        "DC_BORROW", (int)mode);
    DCI_TRY(dci_check_matrix(data, rows, cols, "dc_dataset_create"));
    float *copy = NULL;
    if (mode == DC_COPY) {
        copy = DCI_NEW_ARRAY(float, rows * cols, "data set");
        if (!copy) return DC_ERR_NOMEM;
        memcpy(copy, data, (size_t)(rows * cols) * sizeof(float));
    }
    DCI_TRY(dci_dataset_adopt(out, copy, rows, cols));
    (*out)->x = copy ? copy : data;
    return DC_OK;
}

/* Copies the caller's options over the defaults, honouring struct_size so
 * callers compiled against an older, shorter struct keep working. */
static dc_status resolve_options(const dc_load_options *opt, dc_load_options *o) {
    dc_load_options_default(o);
    if (!opt) return DC_OK;
    int v1 = (int)(offsetof(dc_load_options, label_column) + sizeof(int));
    if (opt->struct_size < v1)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_load_options.struct_size is %d: initialise the "
                        "options with dc_load_options_default()", opt->struct_size);
    memcpy(o, opt, opt->struct_size < (int)sizeof *o ? (size_t)opt->struct_size : sizeof *o);
    o->struct_size = (int)sizeof *o;
    if (o->format < DC_FORMAT_AUTO || o->format > DC_FORMAT_IDX)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_load_options.format %d is not a dc_format",
                        (int)o->format);
    DCI_TRY(check_delimiter(o->delimiter, "dc_load_options.delimiter"));
    if (o->header < -1 || o->header > 1)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_load_options.header is %d (1, 0 or -1 to detect)",
                        o->header);
    if (o->label_column < DC_LABEL_COLUMN_LAST)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_load_options.label_column is %d",
                        o->label_column);
    return DC_OK;
}

static dc_status resolve_format(const char *path, dc_format given, dc_format *fmt) {
    if (given < DC_FORMAT_AUTO || given > DC_FORMAT_IDX)
        return dci_fail(DC_ERR_INVALID_ARG, "format %d is not a dc_format", (int)given);
    *fmt = given;
    return given == DC_FORMAT_AUTO ? dci_format_from_path(path, fmt) : DC_OK;
}

static dc_status read_array(const char *path, dc_format fmt, dci_array *a) {
    return fmt == DC_FORMAT_NPY ? dci_npy_read(path, a) : dci_idx_read(path, a);
}

/* n x (everything else); 3-D and 4-D arrays are images n x H x W [x C]. */
static dc_status dataset_from_array(dci_array *a, const char *path, dc_dataset **out) {
    if (a->ndim < 1 || a->ndim > 4) {
        char shp[128];
        dci_shape_str(a->shape, a->ndim, shp, sizeof shp);
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: array of shape %s: expected 1 to 4 dimensions "
                        "(n, n x d, n x H x W, n x H x W x C)", path, shp);
    }
    int64_t n = a->shape[0], d = 1;
    /* First: an empty array's other extents may be anything, and their
     * product overflow. */
    DCI_TRY(dci_check_shape(n, d, path));
    for (int i = 1; i < a->ndim; i++) d *= a->shape[i];
    DCI_TRY(dci_check_shape(n, d, path));
    float *x;
    DCI_TRY(dci_array_take_f32(a, d, &x, path));
    DCI_TRY(dci_dataset_adopt(out, x, n, d));
    if (a->ndim >= 3) {
        (*out)->h = a->shape[1];
        (*out)->w = a->shape[2];
        (*out)->c = a->ndim == 4 ? a->shape[3] : 1;
    }
    return DC_OK;
}

dc_status dc_dataset_load(dc_dataset **out, const char *path, const dc_load_options *opt) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(path);
    dc_load_options o;
    DCI_TRY(resolve_options(opt, &o));
    dc_format fmt;
    DCI_TRY(resolve_format(path, o.format, &fmt));
    if (fmt != DC_FORMAT_CSV && o.label_column != DC_LABEL_COLUMN_NONE)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: a label column applies to CSV/text data; %s files "
                                            "have none (give the labels as a file of their own)",
                        path, fmt == DC_FORMAT_NPY ? "NPY" : "IDX");
    if (fmt == DC_FORMAT_CSV) {
        float *x;
        int32_t *y;
        int64_t n, d;
        DCI_TRY(dci_csv_read(path, &o, &x, &n, &d, &y));
        dc_status st = dci_dataset_adopt(out, x, n, d);
        if (st != DC_OK) {
            dci_free(y);
            return st;
        }
        (*out)->labels = y;
        return DC_OK;
    }
    dci_array a;
    DCI_TRY(read_array(path, fmt, &a));
    dc_status st = dataset_from_array(&a, path, out);
    dci_array_free(&a);
    return st;
}

/* Labels come from files named any way (y.labels) and from pipes: a name
 * that says nothing is told by its first bytes (NPY and IDX magic), and
 * what cannot be peeked at (a pipe) or has neither magic is text. */
static dc_format sniff_labels_format(const char *path) {
    struct stat st;
    unsigned char b[6] = {0};
    FILE *f = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    if (got == 6 && memcmp(b, "\x93NUMPY", 6) == 0) return DC_FORMAT_NPY;
    if (got >= 4 && b[0] == 0 && b[1] == 0 && b[2] >= 0x08 && b[2] <= 0x0E && b[3] >= 1 &&
        b[3] <= 4)
        return DC_FORMAT_IDX;
    return DC_FORMAT_CSV;
}

dc_status dc_dataset_load_labels(dc_dataset *ds, const char *path, dc_format format) {
    DCI_CHECK_NULL(ds);
    DCI_CHECK_NULL(path);
    dc_format fmt;
    if (format == DC_FORMAT_AUTO && !dci_format_guess(path, &fmt)) {
        fmt = sniff_labels_format(path);
    } else {
        DCI_TRY(resolve_format(path, format, &fmt));
    }
    int32_t *y = NULL;
    int64_t n = 0;
    if (fmt == DC_FORMAT_CSV) {
        DCI_TRY(dci_csv_read_labels(path, &y, &n));
    } else {
        dci_array a;
        DCI_TRY(read_array(path, fmt, &a));
        dc_status st = DC_OK;
        if (a.ndim == 1 || (a.ndim == 2 && a.shape[1] == 1)) {
            n = a.shape[0];
            st = dci_array_to_labels(&a, &y, path);
        } else {
            char shp[128];
            dci_shape_str(a.shape, a.ndim, shp, sizeof shp);
            st = dci_fail(DC_ERR_SHAPE, "%s: labels must be a vector, got shape %s", path, shp);
        }
        dci_array_free(&a);
        DCI_TRY(st);
    }
    if (n != ds->n) {
        dci_free(y);
        return dci_fail(DC_ERR_SHAPE, "%s: labels file has %lld entries, data has %lld rows", path,
                        (long long)n, (long long)ds->n);
    }
    dci_free(ds->labels);
    ds->labels = y;
    return DC_OK;
}

dc_status dc_dataset_set_labels(dc_dataset *ds, const int32_t *labels, int64_t n) {
    DCI_CHECK_NULL(ds);
    DCI_CHECK_NULL(labels);
    if (n != ds->n)
        return dci_fail(DC_ERR_SHAPE, "dc_dataset_set_labels: %lld labels, data has %lld rows",
                        (long long)n, (long long)ds->n);
    int32_t *y = DCI_NEW_ARRAY(int32_t, n, "labels");
    if (!y) return DC_ERR_NOMEM;
    memcpy(y, labels, (size_t)n * sizeof *y);
    dci_free(ds->labels);
    ds->labels = y;
    return DC_OK;
}

dc_status dc_dataset_set_image_shape(dc_dataset *ds, int64_t h, int64_t w, int64_t c) {
    DCI_CHECK_NULL(ds);
    if (h < 1 || w < 1 || c < 1 || h > ds->d || w > ds->d || c > ds->d || h * w > ds->d ||
        h * w * c != ds->d)
        return dci_fail(DC_ERR_SHAPE, "image shape %lld x %lld x %lld does not match the %lld "
                        "columns", (long long)h, (long long)w, (long long)c, (long long)ds->d);
    ds->h = h;
    ds->w = w;
    ds->c = c;
    return DC_OK;
}

int64_t dc_dataset_rows(const dc_dataset *ds) { return ds ? ds->n : 0; }
int64_t dc_dataset_cols(const dc_dataset *ds) { return ds ? ds->d : 0; }
const float *dc_dataset_data(const dc_dataset *ds) { return ds ? ds->x : NULL; }
const int32_t *dc_dataset_labels(const dc_dataset *ds) { return ds ? ds->labels : NULL; }

int dc_dataset_image_shape(const dc_dataset *ds, int64_t *h, int64_t *w, int64_t *c) {
    int has = ds && ds->h > 0;
    if (h) *h = has ? ds->h : 0;
    if (w) *w = has ? ds->w : 0;
    if (c) *c = has ? ds->c : 0;
    return has;
}

dc_status dc_dataset_subset(dc_dataset **out, const dc_dataset *ds, int64_t first,
                            int64_t count) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(ds);
    if (count < 1) return dci_fail(DC_ERR_SHAPE, "dc_dataset_subset: no rows (count = %lld)",
                                   (long long)count);
    int64_t last;
    if (first < 0 || first > ds->n - count) {
        if (!dci_add_i64(first, count - 1, &last))
            return dci_fail(DC_ERR_INVALID_ARG, "dc_dataset_subset: %lld rows from row %lld are "
                            "outside 0..%lld", (long long)count, (long long)first,
                            (long long)ds->n - 1);
        return dci_fail(DC_ERR_INVALID_ARG, "dc_dataset_subset: rows %lld..%lld are outside "
                        "0..%lld", (long long)first, (long long)last, (long long)ds->n - 1);
    }
    float *x = DCI_NEW_ARRAY(float, count * ds->d, "data subset");
    int32_t *y = ds->labels ? DCI_NEW_ARRAY(int32_t, count, "label subset") : NULL;
    if (!x || (ds->labels && !y)) {
        dci_free(x);
        dci_free(y);
        return DC_ERR_NOMEM;
    }
    memcpy(x, ds->x + first * ds->d, (size_t)(count * ds->d) * sizeof(float));
    if (y) memcpy(y, ds->labels + first, (size_t)count * sizeof *y);
    dc_status st = dci_dataset_adopt(out, x, count, ds->d);
    if (st != DC_OK) {
        dci_free(y);
        return st;
    }
    (*out)->labels = y;
    (*out)->h = ds->h;
    (*out)->w = ds->w;
    (*out)->c = ds->c;
    st = dci_norm_copy(&(*out)->norm, &ds->norm, ds->d);
    if (st != DC_OK) {
        dc_dataset_free(*out);
        *out = NULL;
    }
    return st;
}

void dc_dataset_free(dc_dataset *ds) {
    if (!ds) return;
    dci_free(ds->owned);
    dci_free(ds->labels);
    dci_norm_free(&ds->norm);
    dci_free(ds);
}
