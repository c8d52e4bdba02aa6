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

/* Whether the line [b, e) (without its '\n') holds data: not blank, not a
 * '#' comment. The reader skips the others; splitters count rows with it. */
int dci_csv_content_line(const char *b, const char *e);

/* The delimiter, the header decision and the first row's field count that
 * dci_csv_read finds, from head[0, len): the start of the file up to its
 * second content line (opt->delimiter / opt->header given: used as they are);
 * head[len] must be '\0', as for dci_csv_parse_block. */
dc_status dci_csv_sniff(const char *path, char *head, size_t len, const dc_load_options *opt,
                        char *delim, int *header, int *nfields);

/* Whole lines of a table: buf[0, len), whose first line is line first_line
 * of the file (for messages); nfields = the file's first row's field count,
 * which every row must have. */
typedef struct dci_csv_block {
    char *buf;
    size_t len;
    long first_line;
    int nfields;
} dci_csv_block;

/* Parses a block as dci_csv_read does the whole file; b->buf[b->len] must
 * be '\0' (the number parsers read until a byte that is not part of a
 * number). opt gives the
 * delimiter and the header decision of the whole file (a block that does
 * not start the file has no header). */
dc_status dci_csv_parse_block(const char *path, const dci_csv_block *b, const dc_load_options *opt,
                              float **x, int64_t *n, int64_t *d, int32_t **labels);

#endif
