#include "data/array.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/fileio.h"

size_t dci_dtype_size(dci_dtype t) {
    switch (t) {
    case DCI_DT_U8:
    case DCI_DT_I8: return 1;
    case DCI_DT_I16: return 2;
    case DCI_DT_I32:
    case DCI_DT_F32: return 4;
    case DCI_DT_I64:
    case DCI_DT_F64: return 8;
    }
    return 0;
}

const char *dci_dtype_name(dci_dtype t) {
    switch (t) {
    case DCI_DT_U8: return "uint8";
    case DCI_DT_I8: return "int8";
    case DCI_DT_I16: return "int16";
    case DCI_DT_I32: return "int32";
    case DCI_DT_I64: return "int64";
    case DCI_DT_F32: return "float32";
    case DCI_DT_F64: return "float64";
    }
    return "?";
}

int64_t dci_array_count(const dci_array *a) {
    int64_t c = 1;
    for (int i = 0; i < a->ndim; i++) c *= a->shape[i];
    return c;
}

dc_status dci_shape_bytes(dci_dtype t, int ndim, const int64_t *shape, uint64_t *bytes,
                          const char *what) {
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return dci_fail(DC_ERR_FORMAT, "%s: negative extent in the shape", what);
        DCI_TRY(dci_size_product(count, shape[i], dci_dtype_size(t), &count, what));
    }
    *bytes = (uint64_t)count * dci_dtype_size(t);
    return DC_OK;
}

dc_status dci_array_alloc(dci_array *a, dci_dtype t, int ndim, const int64_t *shape,
                          const char *what) {
    a->data = NULL;
    a->dtype = t;
    a->ndim = ndim;
    uint64_t bytes = 0;
    DCI_TRY(dci_shape_bytes(t, ndim, shape, &bytes, what));
    memcpy(a->shape, shape, (size_t)ndim * sizeof *shape);
    a->data = dci_alloc_array((int64_t)bytes, 1, what);
    return a->data ? DC_OK : DC_ERR_NOMEM;
}

void dci_array_free(dci_array *a) {
    dci_free(a->data);
    a->data = NULL;
}

void dci_shape_str(const int64_t *shape, int ndim, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
}

int dci_host_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void dci_swap_bytes(void *p, int64_t count, size_t width) {
    unsigned char *b = p;
    for (int64_t i = 0; i < count; i++, b += width)
        for (size_t lo = 0, hi = width - 1; lo < hi; lo++, hi--) {
            unsigned char t = b[lo];
            b[lo] = b[hi];
            b[hi] = t;
        }
}

/* One loop per source type: the element read is the only difference. */
#define DCI_CONVERT(src_type, dst, src, n)                         \
    do {                                                           \
        const src_type *s_ = (const src_type *)(src);              \
        for (int64_t i_ = 0; i_ < (n); i_++) (dst)[i_] = (float)s_[i_]; \
    } while (0)

dc_status dci_array_take_f32(dci_array *a, int64_t row_len, float **out, const char *what) {
    *out = NULL;
    int64_t n = dci_array_count(a);
    if (row_len < 1) row_len = 1;
    float *x;
    if (a->dtype == DCI_DT_F32) {
        x = a->data;
        a->data = NULL;
    } else {
        x = DCI_NEW_ARRAY(float, n, what);
        if (!x) return DC_ERR_NOMEM;
        switch (a->dtype) {
        case DCI_DT_U8: DCI_CONVERT(uint8_t, x, a->data, n); break;
        case DCI_DT_I8: DCI_CONVERT(int8_t, x, a->data, n); break;
        case DCI_DT_I16: DCI_CONVERT(int16_t, x, a->data, n); break;
        case DCI_DT_I32: DCI_CONVERT(int32_t, x, a->data, n); break;
        case DCI_DT_I64: DCI_CONVERT(int64_t, x, a->data, n); break;
        case DCI_DT_F32: break;
        case DCI_DT_F64: {
            const double *s = a->data;
            for (int64_t i = 0; i < n; i++) {
                x[i] = (float)s[i];
                if (isfinite(s[i]) && !isfinite(x[i])) {
                    dci_free(x);
                    return dci_fail(DC_ERR_NONFINITE,
                                    "%s: row %lld, column %lld is %g, beyond the float32 range",
                                    what, (long long)(i / row_len), (long long)(i % row_len),
                                    s[i]);
                }
            }
            break;
        }
        }
    }
    dc_status st = dci_check_finite(x, n / row_len, row_len, what);
    if (st != DC_OK) {
        dci_free(x);
        return st;
    }
    *out = x;
    return DC_OK;
}

static dc_status label_from_double(double v, int64_t i, const char *what, int32_t *dst) {
    if (!(v == floor(v) && v >= (double)INT32_MIN && v <= (double)INT32_MAX))
        return dci_fail(DC_ERR_FORMAT, "%s: entry %lld is %g, not an int32 label", what,
                        (long long)i, v);
    *dst = (int32_t)v;
    return DC_OK;
}

dc_status dci_array_to_labels(const dci_array *a, int32_t **out, const char *what) {
    *out = NULL;
    int64_t n = dci_array_count(a);
    int32_t *y = DCI_NEW_ARRAY(int32_t, n, what);
    if (!y) return DC_ERR_NOMEM;
    dc_status st = DC_OK;
    for (int64_t i = 0; i < n && st == DC_OK; i++) {
        switch (a->dtype) {
        case DCI_DT_U8: y[i] = ((const uint8_t *)a->data)[i]; break;
        case DCI_DT_I8: y[i] = ((const int8_t *)a->data)[i]; break;
        case DCI_DT_I16: y[i] = ((const int16_t *)a->data)[i]; break;
        case DCI_DT_I32: y[i] = ((const int32_t *)a->data)[i]; break;
        case DCI_DT_I64: {
            int64_t v = ((const int64_t *)a->data)[i];
            if (v < INT32_MIN || v > INT32_MAX)
                st = dci_fail(DC_ERR_FORMAT, "%s: entry %lld is %lld, beyond the int32 range",
                              what, (long long)i, (long long)v);
            else
                y[i] = (int32_t)v;
            break;
        }
        case DCI_DT_F32: st = label_from_double(((const float *)a->data)[i], i, what, &y[i]); break;
        case DCI_DT_F64: st = label_from_double(((const double *)a->data)[i], i, what, &y[i]); break;
        }
    }
    if (st != DC_OK) {
        dci_free(y);
        return st;
    }
    *out = y;
    return DC_OK;
}

dc_status dci_array_read_file(const char *path, dci_array *out,
                              dc_status (*read_stream)(struct dci_reader *r, dci_array *out)) {
    dci_reader r;
    out->data = NULL;
    DCI_TRY(dci_reader_open(&r, path));
    dc_status st = read_stream(&r, out);
    if (st == DC_OK) st = dci_reader_expect_end(&r);
    dci_reader_close(&r);
    if (st != DC_OK) dci_array_free(out);
    return st;
}
