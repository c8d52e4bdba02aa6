/* IDX arrays (the MNIST / Fashion-MNIST format): big-endian header
 * 00 00 <type> <ndim>, ndim 32-bit extents, then the big-endian data.
 * Types 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double. */
#ifndef DCI_IDX_H
#define DCI_IDX_H

#include "data/array.h"
#include "data/fileio.h"

/* Reads one array from the reader's position (data converted to host
 * order). Bad magic or type code is DC_ERR_FORMAT, short data
 * DC_ERR_TRUNCATED. */
dc_status dci_idx_read_stream(dci_reader *r, dci_array *out);

/* Reads a whole IDX file, raw or gzip-compressed; nothing may follow the
 * array. */
dc_status dci_idx_read(const char *path, dci_array *out);

#endif
