/* Delimited text tables (CSV, TSV, whitespace-separated .txt), optionally
 * gzip-compressed. Blank lines and lines starting with '#' are skipped;
 * CRLF line ends and a UTF-8 byte-order mark are accepted. */
#ifndef DCI_CSV_H
#define DCI_CSV_H

#include <stdint.h>

#include "deepclust/dataset.h"

/* Reads a numeric table into *x (n x d float32, dci_malloc'd). With a label
 * column (opt->label_column), that column is parsed as integer labels into
 * *labels (dci_malloc'd) and left out of the features; otherwise *labels is
 * NULL. Errors name the line and column: DC_ERR_FORMAT for a wrong field
 * count, a non-numeric cell, an empty file; DC_ERR_NONFINITE for NaN/Inf. */
dc_status dci_csv_read(const char *path, const dc_load_options *opt, float **x, int64_t *n,
                       int64_t *d, int32_t **labels);

/* Reads one integer label per line (the first field; "3.0" is accepted),
 * with an optional header line (detected). */
dc_status dci_csv_read_labels(const char *path, int32_t **labels, int64_t *n);

#endif
