/* A typed n-dimensional array as the file readers (NPY, IDX) return it, and
 * its conversions to the float32 features and int32 labels a data set holds. */
#ifndef DCI_ARRAY_H
#define DCI_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "deepclust/status.h"

typedef enum dci_dtype {
    DCI_DT_U8,
    DCI_DT_I8,
    DCI_DT_I16,
    DCI_DT_I32,
    DCI_DT_I64,
    DCI_DT_F32,
    DCI_DT_F64
} dci_dtype;

#define DCI_MAX_NDIM 8

typedef struct dci_array {
    void *data; /* dci_malloc'd, host byte order, C order */
    dci_dtype dtype;
    int ndim;
    int64_t shape[DCI_MAX_NDIM];
} dci_array;

size_t dci_dtype_size(dci_dtype t);
/* numpy-style name: "uint8", "float32", ... */
const char *dci_dtype_name(dci_dtype t);

/* Number of elements (product of the shape; 1 for ndim 0). */
int64_t dci_array_count(const dci_array *a);

/* Byte size of an array of this dtype and shape. Sizes that overflow are
 * DC_ERR_NOMEM, negative extents DC_ERR_FORMAT (detail prefixed by `what`). */
dc_status dci_shape_bytes(dci_dtype t, int ndim, const int64_t *shape, uint64_t *bytes,
                          const char *what);

/* Sets dtype and shape and allocates the (uninitialised) data; errors as
 * dci_shape_bytes, or DC_ERR_NOMEM. */
dc_status dci_array_alloc(dci_array *a, dci_dtype t, int ndim, const int64_t *shape,
                          const char *what);
void dci_array_free(dci_array *a);

struct dci_reader;
/* Opens `path` (raw or .gz), reads one array with `read_stream`, requires the
 * file to end there, closes it; on failure *out holds nothing. Used by the
 * NPY and IDX readers. */
dc_status dci_array_read_file(const char *path, dci_array *out,
                              dc_status (*read_stream)(struct dci_reader *r, dci_array *out));

/* Writes "(60000, 28, 28)" into buf. */
void dci_shape_str(const int64_t *shape, int ndim, char *buf, size_t size);

int dci_host_little_endian(void);
/* Reverses the bytes of each of `count` elements of `width` bytes. */
void dci_swap_bytes(void *p, int64_t count, size_t width);

/* Converts to float32, taking over the buffer when it already is float32
 * (a->data is then NULL). Rejects NaN/Inf, and float64 values beyond the
 * float32 range, with DC_ERR_NONFINITE naming the row and column (rows of
 * `row_len` elements). */
dc_status dci_array_take_f32(dci_array *a, int64_t row_len, float **out, const char *what);

/* Converts to int32 labels: integer types within the int32 range, or floats
 * with integral values ("3.0"); anything else is DC_ERR_FORMAT naming the
 * entry. */
dc_status dci_array_to_labels(const dci_array *a, int32_t **out, const char *what);

#endif
