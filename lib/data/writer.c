/* dc_write_labels / dc_write_matrix: CSV or NPY, all-or-nothing. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/array.h"
#include "data/fileio.h"
#include "data/npy.h"

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n >= m && strcasecmp(path + n - m, ext) == 0;
}

static dc_status output_format(const char *path, dc_format given, dc_format *fmt, char *delim) {
    *delim = has_ext(path, ".tsv") ? '\t' : ',';
    switch (given) {
    case DC_FORMAT_AUTO:
        if (has_ext(path, ".npy"))
            *fmt = DC_FORMAT_NPY;
        else if (has_ext(path, ".csv") || has_ext(path, ".tsv") || has_ext(path, ".txt"))
            *fmt = DC_FORMAT_CSV;
        else
            return dci_fail(DC_ERR_UNSUPPORTED, "cannot tell the output format of '%s' from its "
                            "name (known: .csv .tsv .txt .npy)", path);
        return DC_OK;
    case DC_FORMAT_CSV:
    case DC_FORMAT_NPY: *fmt = given; return DC_OK;
    case DC_FORMAT_IDX:
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: writing IDX is not supported (CSV or NPY)", path);
    }
    return dci_fail(DC_ERR_INVALID_ARG, "format %d is not a dc_format", (int)given);
}

/* Integers are the common case (labels, pixel values) and printf is slow. */
static char *put_int(char *p, long long v) {
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do tmp[n++] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *p++ = '-';
    while (n) *p++ = tmp[--n];
    return p;
}

/* Same text as "%.9g" (enough digits to read back the same float). */
static char *put_float(char *p, float v) {
    if (fabsf(v) < 1e9f && v == truncf(v) && !(v == 0.0f && signbit(v)))
        return put_int(p, (long long)v);
    return p + snprintf(p, 32, "%.9g", (double)v);
}

static dc_status write_csv(FILE *f, const float *x, const int32_t *y, int64_t rows, int64_t cols,
                           char delim) {
    /* %.9g must write '.' whatever the caller's locale; uselocale is per thread. */
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c_loc) return dci_fail(DC_ERR_NOMEM, "cannot create the C locale");
    locale_t old = uselocale(c_loc);
    char line[4096];
    int ok = 1;
    for (int64_t i = 0; i < rows && ok; i++) {
        char *p = line;
        for (int64_t j = 0; j < cols && ok; j++) {
            if (p - line > (long)sizeof line - 40) {
                ok = fwrite(line, 1, (size_t)(p - line), f) == (size_t)(p - line);
                p = line;
            }
            if (j) *p++ = delim;
            p = x ? put_float(p, x[i * cols + j]) : put_int(p, y[i]);
        }
        *p++ = '\n';
        ok = ok && fwrite(line, 1, (size_t)(p - line), f) == (size_t)(p - line);
    }
    uselocale(old);
    freelocale(c_loc);
    return ok ? DC_OK : dci_fail(DC_ERR_IO, "write failed: %s", strerror(errno ? errno : EIO));
}

static dc_status write_table(const char *path, const float *x, const int32_t *y, int64_t rows,
                             int64_t cols, dc_format given) {
    dc_format fmt = DC_FORMAT_CSV;
    char delim;
    int64_t count;
    /* Before any byte is written: the CSV loop indexes rows * cols too. */
    DCI_TRY(dci_size_product(rows, cols, x ? sizeof *x : sizeof *y, &count, path));
    DCI_TRY(output_format(path, given, &fmt, &delim));
    dci_atomic_file af;
    DCI_TRY(dci_atomic_begin(&af, path));
    dc_status st;
    if (fmt == DC_FORMAT_CSV) {
        st = write_csv(af.f, x, y, rows, cols, delim);
    } else {
        int64_t shape[2] = {rows, cols};
        st = x ? dci_npy_write_stream(af.f, DCI_DT_F32, shape, 2, x)
               : dci_npy_write_stream(af.f, DCI_DT_I32, shape, 1, y);
    }
    if (st != DC_OK) {
        dci_atomic_abort(&af);
        return dci_context(st, "%s", path);
    }
    return dci_atomic_commit(&af);
}

dc_status dc_write_labels(const char *path, const int32_t *labels, int64_t n, dc_format format) {
    DCI_CHECK_NULL(path);
    DCI_CHECK_NULL(labels);
    if (n < 1) return dci_fail(DC_ERR_SHAPE, "dc_write_labels: no labels (n = %lld)", (long long)n);
    return write_table(path, NULL, labels, n, 1, format);
}

dc_status dc_write_matrix(const char *path, const float *data, int64_t rows, int64_t cols,
                          dc_format format) {
    DCI_CHECK_NULL(path);
    DCI_CHECK_NULL(data);
    if (rows < 1 || cols < 1)
        return dci_fail(DC_ERR_SHAPE, "dc_write_matrix: %lld x %lld has no entries",
                        (long long)rows, (long long)cols);
    return write_table(path, data, NULL, rows, cols, format);
}
