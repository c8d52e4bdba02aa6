/* File plumbing common to the readers and writers: a reader that treats raw
 * and gzip files alike, all-or-nothing output files, and format detection. */
#ifndef DCI_FILEIO_H
#define DCI_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "deepclust/dataset.h"
#include "deepclust/status.h"

/* Input through zlib, which reads uncompressed files transparently, so every
 * format is also accepted gzip-compressed without a second code path. */
typedef struct dci_reader {
    gzFile gz;
    const char *path;    /* borrowed, for messages */
    long long file_size; /* bytes on disk (compressed size for .gz) */
    int sized;           /* a regular file: file_size bounds what it can hold */
} dci_reader;

/* DC_ERR_IO naming the path and strerror(errno) if it cannot be opened. */
dc_status dci_reader_open(dci_reader *r, const char *path);

/* Reads exactly n bytes. Short input is DC_ERR_TRUNCATED (detail names
 * `what` and how many bytes were missing), a corrupt gzip stream
 * DC_ERR_FORMAT, a read error DC_ERR_IO. */
dc_status dci_reader_read(dci_reader *r, void *buf, size_t n, const char *what);

/* For uncompressed files, DC_ERR_TRUNCATED if fewer than n bytes remain, so
 * a corrupt header cannot make the caller allocate a huge buffer first.
 * Compressed sizes are unknown until read: there, only more than the file
 * could hold at deflate's largest ratio is refused up front, and the read
 * itself detects the rest. */
dc_status dci_reader_expect_available(dci_reader *r, uint64_t n, const char *what);
/* The same for an array header's declared shape, before its byte count is
 * checked for overflow: a small file that declares an enormous array is
 * reported as truncated, not as an allocation failure. */
dc_status dci_reader_expect_elements(dci_reader *r, const int64_t *shape, int ndim,
                                     size_t width, const char *what);

/* Reads up to n bytes; *got is how many arrived before the end of the file. */
dc_status dci_reader_read_some(dci_reader *r, void *buf, size_t n, size_t *got);

/* Checks that nothing follows (this also makes zlib verify the gzip CRC).
 * Extra data is DC_ERR_FORMAT: the header and the content disagree. */
dc_status dci_reader_expect_end(dci_reader *r);

/* Reads the rest of the file into a NUL-terminated dci_malloc'd buffer. */
dc_status dci_reader_read_all(dci_reader *r, char **out, size_t *len);

void dci_reader_close(dci_reader *r);

/* An output file written as "<path>.tmp.XXXXXX" next to `path` and renamed
 * over it on commit, so readers never see a partial file and a failed write
 * leaves `path` as it was. A symbolic link's target is replaced (the link
 * stays); a device, FIFO or socket (/dev/null, a pipe) is written in place. */
typedef struct dci_atomic_file {
    FILE *f;
    char *tmp; /* temporary name (dci_malloc'd); NULL when writing straight to `path` */
    const char *path;
    char *target; /* the file a symbolic link `path` names (malloc'd by realpath), or NULL */
} dci_atomic_file;

dc_status dci_atomic_begin(dci_atomic_file *af, const char *path);
/* Flushes, syncs, closes and renames; on any failure removes the temporary
 * file and returns DC_ERR_IO. The handle is finished either way. */
dc_status dci_atomic_commit(dci_atomic_file *af);
/* Discards the temporary file (safe after a failed begin or a commit). */
void dci_atomic_abort(dci_atomic_file *af);

/* Format from the file name: .csv .tsv .txt => CSV, .npy => NPY, .idx[1-4]
 * and *-ubyte => IDX, each optionally followed by .gz. Unknown names are
 * DC_ERR_UNSUPPORTED with a message listing the known extensions. */
dc_status dci_format_from_path(const char *path, dc_format *out);
/* The same without an error: 1 and *out when the name tells, else 0. */
int dci_format_guess(const char *path, dc_format *out);

/* Whether `path` names a TSV file (tab-separated by convention). */
int dci_path_is_tsv(const char *path);

#endif
