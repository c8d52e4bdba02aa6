/* NumPy .npy arrays (format versions 1.0, 2.0 and 3.0), little-endian, C
 * order; dtypes u1 i1 i2 i4 i8 f4 f8. */
#ifndef DCI_NPY_H
#define DCI_NPY_H

#include <stdint.h>
#include <stdio.h>

#include "data/array.h"
#include "data/fileio.h"

/* Reads one array from the reader's current position, so NPY blocks can be
 * embedded in other files. Bad magic and malformed headers are
 * DC_ERR_FORMAT; big-endian, Fortran order and other dtypes
 * DC_ERR_UNSUPPORTED (naming the dtype); short data DC_ERR_TRUNCATED. */
dc_status dci_npy_read_stream(dci_reader *r, dci_array *out);

/* Reads a whole .npy file (optionally gzip-compressed): one array, nothing
 * after it. */
dc_status dci_npy_read(const char *path, dci_array *out);

/* Writes one array (host-order data, C order) at the stream's position. */
dc_status dci_npy_write_stream(FILE *f, dci_dtype dtype, const int64_t *shape, int ndim,
                               const void *data);

/* Writes a .npy file all-or-nothing (temporary file + rename). */
dc_status dci_npy_write(const char *path, dci_dtype dtype, const int64_t *shape, int ndim,
                        const void *data);

#endif
