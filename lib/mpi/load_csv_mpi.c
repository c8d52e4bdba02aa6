/* This rank's block of rows of an uncompressed text table (CSV, TSV,
 * blank-separated), without any rank reading the whole file:
 *
 *   1. the file's bytes are cut into N equal chunks; each rank walks the
 *      lines that start in its chunk and counts the content lines (the rows
 *      the reader keeps: not blank, not '#') and the newlines;
 *   2. an allgather of the counts tells every rank where each chunk's rows
 *      and lines begin; rank 0 decides the delimiter and the header from the
 *      file's first lines, as the one-process reader does, and broadcasts them
 *      with the first row's field count, which every block's rows must have;
 *   3. the owners of the rows that start the N blocks (block r = rows
 *      [floor(r n / N), floor((r+1) n / N)), as for NPY and IDX) walk their
 *      chunk again for those rows' byte offsets and line numbers, which one
 *      allreduce hands to all;
 *   4. each rank reads its byte range [offset r, offset r+1) and parses it
 *      with the one-process parser (messages name the file's line numbers).
 *
 * Each rank reads about 2 x size / N bytes. The reader's lines end at '\n'
 * (no newline inside a quoted cell), so cutting at line starts is exact. */
#include "mpi/load_csv_mpi.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "mpi/comm.h"

#define WINDOW (1 << 20)

/* A read-only window over the file for walking it. */
typedef struct walker {
    int fd;
    const char *path;
    int64_t size;
    int64_t start, len; /* the window holds bytes [start, start + len) */
    char *buf;
} walker;

static dc_status read_at(const walker *w, char *dst, size_t len, int64_t off) {
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(w->fd, dst + done, len - done, (off_t)(off + (int64_t)done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return dci_fail(DC_ERR_IO, "%s: read failed on rank %d: %s", w->path, dci_mpi_rank(),
                            strerror(errno));
        if (r == 0)
            return dci_fail(DC_ERR_TRUNCATED, "%s: the file shrank while rank %d read it", w->path,
                            dci_mpi_rank());
        done += (size_t)r;
    }
    return DC_OK;
}

/* Makes byte pos (< size) part of the window. */
static dc_status window_at(walker *w, int64_t pos) {
    if (pos >= w->start && pos < w->start + w->len) return DC_OK;
    w->start = pos;
    w->len = w->size - pos < WINDOW ? w->size - pos : WINDOW;
    return read_at(w, w->buf, (size_t)w->len, pos);
}

/* The position of the first '\n' at or after pos, or size. */
static dc_status next_newline(walker *w, int64_t pos, int64_t *nl) {
    while (pos < w->size) {
        DCI_TRY(window_at(w, pos));
        const char *b = w->buf + (pos - w->start);
        const char *q = memchr(b, '\n', (size_t)(w->start + w->len - pos));
        if (q) {
            *nl = w->start + (q - w->buf);
            return DC_OK;
        }
        pos = w->start + w->len;
    }
    *nl = w->size;
    return DC_OK;
}

/* Whether the line starting at pos (ending at the '\n' at nl, or the end of
 * the file) is a row, by the reader's own test on its first bytes. */
static dc_status is_row(walker *w, int64_t pos, int64_t nl, int *row) {
    if (pos == 0 && nl >= 3) { /* a UTF-8 byte-order mark, as the reader skips it */
        DCI_TRY(window_at(w, 0));
        if (w->len >= 3 && memcmp(w->buf, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    }
    /* The test needs the line up to its first non-blank byte (and the one
     * after, for a lone '\r'); whole lines are not needed. */
    char head[64];
    for (;;) {
        int64_t len = nl - pos < (int64_t)sizeof head ? nl - pos : (int64_t)sizeof head;
        if (len > 0) DCI_TRY(read_at(w, head, (size_t)len, pos));
        int64_t i = 0;
        while (i < len && (head[i] == ' ' || head[i] == '\t')) i++;
        if (i < len - 1 || len == nl - pos) {
            *row = dci_csv_content_line(head + i, head + len);
            return DC_OK;
        }
        pos += i ? i : len; /* only blanks so far (or a last byte to pair): go on */
    }
}

typedef struct chunk_walk {
    int64_t rows, newlines;  /* rows starting in the chunk; '\n' in it */
    const int64_t *want;     /* with want_n: chunk-local row indices, ascending ... */
    int want_n;
    int64_t *want_off;       /* ... whose byte offsets ... */
    int64_t *want_line;      /* ... and 1-based line numbers (minus the chunk's first) are found */
} chunk_walk;

/* Walks the lines that start in [lo, hi). */
static dc_status walk_chunk(walker *w, int64_t lo, int64_t hi, chunk_walk *cw) {
    cw->rows = cw->newlines = 0;
    int64_t pos = lo;
    if (lo > 0) { /* a line starts at lo only after a '\n' */
        char prev;
        DCI_TRY(read_at(w, &prev, 1, lo - 1));
        if (prev != '\n') {
            int64_t nl;
            DCI_TRY(next_newline(w, lo, &nl));
            if (nl < hi) cw->newlines++;
            pos = nl + 1;
        }
    }
    int k = 0;
    while (pos < hi) {
        int64_t nl;
        int row;
        DCI_TRY(next_newline(w, pos, &nl));
        DCI_TRY(is_row(w, pos, nl, &row));
        if (row) {
            if (k < cw->want_n && cw->want[k] == cw->rows) {
                cw->want_off[k] = pos;
                cw->want_line[k] = cw->newlines;
                k++;
            }
            cw->rows++;
        }
        if (nl < hi) cw->newlines++;
        pos = nl + 1;
    }
    return DC_OK;
}

/* The delimiter and header decision from the start of the file up to its
 * second content line (a header needs a row after it), rank 0 only. */
static dc_status sniff(walker *w, const dc_load_options *opt, int32_t lay[3]) {
    int64_t pos = 0, end = 0;
    int found = 0;
    while (pos < w->size && found < 2) {
        int64_t nl;
        int row;
        DCI_TRY(next_newline(w, pos, &nl));
        DCI_TRY(is_row(w, pos, nl, &row));
        found += row;
        pos = end = nl < w->size ? nl + 1 : nl;
    }
    if (!found) return dci_fail(DC_ERR_FORMAT, "%s: empty file", w->path);
    char *head = DCI_NEW_ARRAY(char, end + 1, "table head");
    if (!head) return DC_ERR_NOMEM;
    dc_status st = read_at(w, head, (size_t)end, 0);
    head[end] = '\0'; /* as parse_mine's block */
    char delim = 0;
    int header = 0, nfields = 0;
    if (st == DC_OK) st = dci_csv_sniff(w->path, head, (size_t)end, opt, &delim, &header, &nfields);
    lay[0] = delim;
    lay[1] = header;
    lay[2] = nfields;
    dci_free(head);
    return st;
}

typedef struct layout {
    int64_t n;                /* rows in the file (without the header) */
    int header, nfields;      /* the first row's field count, every row's */
    char delim;
    int64_t *off, *line;      /* per rank: its block's first byte and line; off[N] = size */
} layout;

/* Steps 1-3 of the file comment. */
static dc_status find_blocks(walker *w, const dc_load_options *opt, layout *L) {
    const int N = dci_mpi_size(), r = dci_mpi_rank();
    const int64_t lo = w->size * r / N, hi = w->size * (r + 1) / N;
    chunk_walk cw = {0};
    dc_status st = dci_mpi_agree(walk_chunk(w, lo, hi, &cw), w->path);
    if (st != DC_OK) return st;
    int64_t mine[2] = {cw.rows, cw.newlines};
    int64_t *all = DCI_NEW_ARRAY(int64_t, 2 * (int64_t)N, "chunk counts");
    int32_t lay[3] = {0, 0, 0};
    st = all ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK && r == 0) st = sniff(w, opt, lay);
    st = dci_mpi_agree(st, w->path);
    if (st == DC_OK) st = dci_mpi_allgather(mine, 2, MPI_INT64_T, all, DCI_PH_LOAD, "chunk counts");
    if (st == DC_OK) st = dci_mpi_bcast(lay, 3, MPI_INT32_T, 0, DCI_PH_LOAD, "table layout");
    int64_t rows_before = 0, lines_before = 0, total = 0;
    for (int q = 0; st == DC_OK && q < N; q++) {
        if (q < r) rows_before += all[2 * q], lines_before += all[2 * q + 1];
        total += all[2 * q];
    }
    L->delim = (char)lay[0];
    L->header = lay[1];
    L->nfields = lay[2];
    L->n = total - L->header;
    if (st == DC_OK && L->n < 1) st = dci_fail(DC_ERR_FORMAT, "%s: no data rows", w->path);
    if (st == DC_OK && L->n < N)
        st = dci_fail(DC_ERR_SHAPE, "%s: %lld rows for %d ranks: every rank needs at least one "
                      "row (run with at most %lld ranks)", w->path, (long long)L->n, N,
                      (long long)(L->n > 0 ? L->n : 1));
    /* the blocks' first rows that start in this chunk (file row = block row + header) */
    int64_t *want = NULL, *want_off = NULL, *want_line = NULL;
    int *want_rank = NULL, nw = 0;
    if (st == DC_OK) {
        want = DCI_NEW_ARRAY(int64_t, N, "block starts");
        want_off = DCI_NEW_ARRAY(int64_t, N, "block starts");
        want_line = DCI_NEW_ARRAY(int64_t, N, "block starts");
        want_rank = DCI_NEW_ARRAY(int, N, "block starts");
        L->off = DCI_NEW_ARRAY(int64_t, 2 * (int64_t)N + 2, "block offsets");
        if (!want || !want_off || !want_line || !want_rank || !L->off) st = DC_ERR_NOMEM;
    }
    if (st == DC_OK) {
        L->line = L->off + N + 1;
        for (int q = 0; q < 2 * N + 2; q++) L->off[q] = -1;
        for (int q = 0; q < N; q++) {
            const int64_t row = L->n * q / N + L->header;
            if (row >= rows_before && row < rows_before + cw.rows) {
                want[nw] = row - rows_before;
                want_rank[nw++] = q;
            }
        }
        cw.want = want;
        cw.want_n = nw;
        cw.want_off = want_off;
        cw.want_line = want_line;
        if (nw) st = walk_chunk(w, lo, hi, &cw);
        for (int k = 0; st == DC_OK && k < nw; k++) {
            L->off[want_rank[k]] = want_off[k];
            L->line[want_rank[k]] = lines_before + want_line[k] + 1;
        }
    }
    st = dci_mpi_agree(st, w->path);
    if (st == DC_OK) st = dci_mpi_allreduce(L->off, 2 * (int64_t)N + 2, MPI_INT64_T, MPI_MAX,
                                             DCI_PH_LOAD, "block offsets");
    for (int q = 0; st == DC_OK && q < N; q++)
        if (L->off[q] < 0 || L->line[q] < 1)
            st = dci_fail(DC_ERR_IO, "%s changed while it was read: the start of block %d was "
                          "not found", w->path, q);
    if (st == DC_OK) L->off[N] = w->size;
    dci_free(all);
    dci_free(want);
    dci_free(want_off);
    dci_free(want_line);
    dci_free(want_rank);
    return st;
}

/* Step 4: this rank's rows, parsed; the row and column counts agreed. */
static dc_status parse_mine(walker *w, const dc_load_options *opt, const layout *L,
                            dc_dataset **out) {
    const int N = dci_mpi_size(), r = dci_mpi_rank();
    const int64_t first = L->off[r], len = L->off[r + 1] - first;
    const int64_t expect = L->n * (r + 1) / N - L->n * r / N;
    /* NUL-terminated like the one-process reader's buffer: the number
     * parsers (strtod_l) stop at the first non-number byte, and at the end
     * of a file without a final newline that byte is past the block (the
     * last field read garbage: "'1' is not a number", now and then). */
    char *buf = DCI_NEW_ARRAY(char, (len > 0 ? len : 0) + 1, "table block");
    dc_status st = buf ? read_at(w, buf, (size_t)len, first) : DC_ERR_NOMEM;
    if (buf) buf[len > 0 ? len : 0] = '\0';
    dc_load_options o = *opt;
    o.delimiter = L->delim;
    o.header = 0; /* the header, if any, precedes block 0 */
    float *x = NULL;
    int32_t *y = NULL;
    int64_t n = 0, d = 0;
    if (st == DC_OK)
        st = dci_csv_parse_block(w->path, &(dci_csv_block){buf, (size_t)len, (long)L->line[r],
                                                           L->nfields}, &o, &x, &n, &d, &y);
    dci_free(buf);
    if (st == DC_OK && n != expect)
        st = dci_fail(DC_ERR_IO, "%s changed while it was read: rank %d found %lld rows where "
                      "%lld were counted", w->path, r, (long long)n, (long long)expect);
    st = dci_mpi_agree(st, w->path);
    if (st == DC_OK) st = dci_dataset_adopt(out, x, n, d);
    else dci_free(x);
    if (st == DC_OK) (*out)->labels = y;
    else dci_free(y);
    return st;
}

dc_status dci_mpi_load_csv_block(const char *path, const dc_load_options *opt, dc_dataset **out,
                                 int64_t *n_total) {
    walker w = {.fd = open(path, O_RDONLY), .path = path};
    dc_status st = DC_OK;
    struct stat sb;
    if (w.fd < 0 || fstat(w.fd, &sb) != 0)
        st = dci_fail(DC_ERR_IO, "%s: cannot open on rank %d: %s", path, dci_mpi_rank(),
                      strerror(errno));
    else w.size = (int64_t)sb.st_size;
    if (st == DC_OK && !(w.buf = DCI_NEW_ARRAY(char, WINDOW, "read window"))) st = DC_ERR_NOMEM;
    layout L = {0};
    st = dci_mpi_agree(st, path);
    if (st == DC_OK) st = find_blocks(&w, opt, &L);
    if (st == DC_OK) st = parse_mine(&w, opt, &L, out);
    if (st == DC_OK) *n_total = L.n;
    dci_free(L.off);
    dci_free(w.buf);
    if (w.fd >= 0) close(w.fd);
    return st;
}
