/* dc_mpi_dataset_load: this rank's block of rows of a data file. Raw NPY
 * and IDX files are read by seeking (header, then the block with pread);
 * uncompressed text tables by the line offsets of the blocks
 * (load_csv_mpi.c); gzip-compressed files (whatever their name), which cannot be seeked into, are
 * read whole on every rank and cut. Before anything, the ranks check that they see the
 * same file: its size and the CRC-32 of its first 64 KiB against rank 0's. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/fileio.h"
#include "data/normalize.h"
#include "deepclust/mpi.h"
#include "mpi/comm.h"
#include "mpi/load_csv_mpi.h"

#define HEAD_BYTES 65536

/* Size and head CRC of the file; DC_ERR_IO if it cannot be read. */
static dc_status fingerprint(const char *path, int64_t fp[2]) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return dci_fail(DC_ERR_IO, "%s: cannot open on rank %d: %s", path, dci_mpi_rank(),
                        strerror(errno));
    struct stat sb;
    unsigned char *buf = DCI_NEW_ARRAY(unsigned char, HEAD_BYTES, "file head");
    dc_status st = buf ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK && fstat(fd, &sb) != 0)
        st = dci_fail(DC_ERR_IO, "%s: cannot stat on rank %d: %s", path, dci_mpi_rank(),
                      strerror(errno));
    ssize_t got = 0;
    if (st == DC_OK && (got = pread(fd, buf, HEAD_BYTES, 0)) < 0)
        st = dci_fail(DC_ERR_IO, "%s: cannot read on rank %d: %s", path, dci_mpi_rank(),
                      strerror(errno));
    if (st == DC_OK) {
        fp[0] = (int64_t)sb.st_size;
        fp[1] = (int64_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)got);
    }
    dci_free(buf);
    close(fd);
    return st;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef struct block_src {
    int64_t n, d;       /* rows, features per row */
    int64_t offset;     /* of the data in the file */
    int width;          /* bytes per element: 1 (u8), 4 (f32), 8 (f64) */
    int64_t h, w, c;    /* image shape (IDX with 3 dimensions), 0 = none */
} block_src;

static dc_status read_exact(int fd, void *buf, size_t len, int64_t off, const char *path) {
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + (int64_t)done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return dci_fail(DC_ERR_IO, "%s: read failed on rank %d: %s", path, dci_mpi_rank(),
                            strerror(errno));
        if (r == 0)
            return dci_fail(DC_ERR_TRUNCATED, "%s: file ends before the rows of rank %d", path,
                            dci_mpi_rank());
        done += (size_t)r;
    }
    return DC_OK;
}

/* a * b, saturating at UINT64_MAX (no file holds that many bytes). */
static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* The whole data (n x d elements of width bytes after the header) must be in
 * the file: the status and wording of the one-process readers
 * (dci_reader_expect_elements), and the same verdict on every rank. Every
 * product later made of n, d, width and a block's rows is then below the
 * file size. d_sat: d as declared, saturated (IDX: the product of its
 * extents). what: "NPY data", "IDX data". */
static dc_status check_size(int fd, const char *path, const block_src *b, uint64_t d_sat,
                            const char *what) {
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return dci_fail(DC_ERR_IO, "%s: cannot stat on rank %d: %s", path, dci_mpi_rank(),
                        strerror(errno));
    const uint64_t need = mul_sat(mul_sat((uint64_t)b->width, (uint64_t)b->n), d_sat);
    const uint64_t left = (int64_t)sb.st_size > b->offset ? (uint64_t)(sb.st_size - b->offset) : 0;
    if (need == UINT64_MAX)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the %s (the header declares "
                        "2^64 bytes or more)", path, what);
    if (need > left)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the %s (%llu of %llu bytes "
                        "present)", path, what, (unsigned long long)left, (unsigned long long)need);
    return DC_OK;
}

/* NPY v1-3 header: dtype <f4, <f8 or |u1, C order, 1 or 2 dimensions. */
static dc_status npy_header(int fd, const char *path, block_src *b) {
    unsigned char pre[12];
    DCI_TRY(read_exact(fd, pre, 10, 0, path));
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return dci_fail(DC_ERR_FORMAT, "%s: not an NPY file (bad magic)", path);
    int lb = pre[6] == 1 ? 2 : 4;
    if (lb == 4) DCI_TRY(read_exact(fd, pre + 10, 2, 10, path));
    uint32_t hlen = 0;
    for (int i = lb - 1; i >= 0; i--) hlen = (hlen << 8) | pre[8 + i];
    if (hlen > 1u << 20) return dci_fail(DC_ERR_FORMAT, "%s: NPY header too long", path);
    char *h = DCI_NEW_ZEROS(char, (int64_t)hlen + 1, "NPY header");
    if (!h) return DC_ERR_NOMEM;
    dc_status st = read_exact(fd, h, hlen, 8 + lb, path);
    if (st != DC_OK) {
        dci_free(h);
        return st;
    }
    b->offset = 8 + lb + (int64_t)hlen;
    const char *descr = strstr(h, "'descr'"), *fo = strstr(h, "'fortran_order'"),
               *shape = strstr(h, "'shape'");
    st = DC_OK;
    if (!descr || !fo || !shape) st = dci_fail(DC_ERR_FORMAT, "%s: malformed NPY header", path);
    if (st == DC_OK) {
        const char *t = fo + 15;
        t += strspn(t, " :");
        if (!strncmp(t, "True", 4))
            st = dci_fail(DC_ERR_UNSUPPORTED, "%s: Fortran order (distributed loading)", path);
    }
    if (st == DC_OK) {
        const char *q = strchr(descr + 7, '\'');
        if (q && !strncmp(q, "'<f4'", 5)) b->width = 4;
        else if (q && !strncmp(q, "'<f8'", 5)) b->width = 8;
        else if (q && !strncmp(q, "'|u1'", 5)) b->width = 1;
        else
            st = dci_fail(DC_ERR_UNSUPPORTED, "%s: distributed loading reads NPY dtypes <f4, <f8 "
                          "and |u1", path);
    }
    if (st == DC_OK) {
        const char *p = strchr(shape, '(');
        long long v[3] = {0, 1, 1};
        int nd = 0, ok = p != NULL;
        if (p) p++;
        while (ok) {
            p += strspn(p, " ");
            if (*p == ')') break;
            char *end;
            long long x = strtoll(p, &end, 10);
            if (end == p || nd == 3) {
                ok = 0;
                break;
            }
            v[nd++] = x;
            p = end + strspn(end, " ");
            if (*p == ',') p++;
        }
        if (!ok || nd < 1 || nd > 2 || v[0] < 1 || v[1] < 1)
            st = dci_fail(DC_ERR_UNSUPPORTED, "%s: distributed loading takes NPY arrays of 1 or 2 "
                          "dimensions (n or n x d)", path);
        b->n = v[0];
        b->d = nd == 2 ? v[1] : 1;
    }
    dci_free(h);
    /* strtoll saturates: n, d <= LLONG_MAX; their product with the width is checked */
    if (st == DC_OK) st = check_size(fd, path, b, (uint64_t)b->d, "NPY data");
    return st;
}

/* IDX header: unsigned bytes (type 0x08), 1 to 4 dimensions. */
static dc_status idx_header(int fd, const char *path, block_src *b) {
    unsigned char h[4 + 16];
    DCI_TRY(read_exact(fd, h, 4, 0, path));
    if (h[0] || h[1]) return dci_fail(DC_ERR_FORMAT, "%s: not an IDX file (bad magic)", path);
    if (h[2] != 0x08)
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: distributed loading reads IDX files of unsigned "
                        "bytes (type 0x08), not 0x%02x", path, h[2]);
    int nd = h[3];
    if (nd < 1 || nd > 4) return dci_fail(DC_ERR_FORMAT, "%s: IDX with %d dimensions", path, nd);
    DCI_TRY(read_exact(fd, h + 4, 4 * (size_t)nd, 4, path));
    int64_t ext[4];
    for (int i = 0; i < nd; i++)
        ext[i] = ((int64_t)h[4 + 4 * i] << 24) | (h[5 + 4 * i] << 16) | (h[6 + 4 * i] << 8) |
                 h[7 + 4 * i];
    b->n = ext[0];
    /* up to three extents below 2^32: the product may pass 2^63 */
    uint64_t d = 1;
    for (int i = 1; i < nd; i++) d = mul_sat(d, (uint64_t)ext[i]);
    b->d = d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
    if (b->n < 1 || b->d < 1) return dci_fail(DC_ERR_FORMAT, "%s: empty IDX array", path);
    b->width = 1;
    b->offset = 4 + 4 * (int64_t)nd;
    DCI_TRY(check_size(fd, path, b, d, "IDX data"));
    if (nd >= 3) {
        b->h = ext[1];
        b->w = ext[2];
        b->c = nd == 4 ? ext[3] : 1;
    }
    return DC_OK;
}

/* The rows [first, first + count) as float32. */
static dc_status read_block(int fd, const char *path, const block_src *b, int64_t first,
                            int64_t count, float **out) {
    const int64_t cells = count * b->d;
    const int64_t need = b->offset + (first + count) * b->d * b->width;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (int64_t)sb.st_size < need)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends before the rows of rank %d", path,
                        dci_mpi_rank());
    float *x = DCI_NEW_ARRAY(float, cells, "data block");
    void *raw = b->width == 4 ? (void *)x : dci_alloc_array(cells, (size_t)b->width, "data block");
    if (!x || !raw) {
        dci_free(x);
        if (raw != x) dci_free(raw);
        return DC_ERR_NOMEM;
    }
    dc_status st = read_exact(fd, raw, (size_t)(cells * b->width),
                              b->offset + first * b->d * b->width, path);
    if (st == DC_OK && b->width == 1)
        for (int64_t i = 0; i < cells; i++) x[i] = (float)((const unsigned char *)raw)[i];
    if (st == DC_OK && b->width == 8)
        for (int64_t i = 0; i < cells; i++) x[i] = (float)((const double *)raw)[i];
    if (raw != x) dci_free(raw);
    if (st != DC_OK) {
        dci_free(x);
        return st;
    }
    *out = x;
    return DC_OK;
}

static dc_status too_many_ranks(const char *path, int64_t n) {
    return dci_fail(DC_ERR_SHAPE, "%s: %lld rows for %d ranks: every rank needs at least one row "
                    "(run with at most %lld ranks)", path, (long long)n, dci_mpi_size(),
                    (long long)n);
}

/* Whether the file starts as gzip data does (the readers take it whatever
 * its name). */
static int gzip_magic(const char *path) {
    unsigned char m[2] = {0, 0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t got = pread(fd, m, 2, 0);
    close(fd);
    return got == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* This rank's block by seeking (raw NPY or IDX). */
static dc_status load_seek(const char *path, int npy, dc_dataset **out, int64_t *n_total) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return dci_fail(DC_ERR_IO, "%s: cannot open on rank %d: %s", path, dci_mpi_rank(),
                        strerror(errno));
    block_src b = {0};
    dc_status st = npy ? npy_header(fd, path, &b) : idx_header(fd, path, &b);
    int64_t first = 0, count = 0;
    if (st == DC_OK && b.n < dci_mpi_size()) st = too_many_ranks(path, b.n);
    float *x = NULL;
    if (st == DC_OK) {
        dc_mpi_block(b.n, dci_mpi_rank(), dci_mpi_size(), &first, &count);
        st = read_block(fd, path, &b, first, count, &x);
    }
    close(fd);
    if (st == DC_OK) st = dci_check_finite(x, count, b.d, path);
    if (st == DC_OK) st = dci_dataset_adopt(out, x, count, b.d);
    else dci_free(x);
    if (st == DC_OK && b.h) st = dc_dataset_set_image_shape(*out, b.h, b.w, b.c);
    if (st == DC_OK) *n_total = b.n;
    return st;
}

/* Every rank reads the whole file and keeps its block (gzip-compressed files). */
static dc_status load_whole(const char *path, const dc_load_options *opt, dc_dataset **out,
                            int64_t *n_total) {
    dc_dataset *all = NULL;
    DCI_TRY(dc_dataset_load(&all, path, opt));
    const int64_t n = dc_dataset_rows(all);
    int64_t first = 0, count = 0;
    dc_status st = DC_OK;
    if (n < dci_mpi_size()) st = too_many_ranks(path, n);
    if (st == DC_OK) {
        dc_mpi_block(n, dci_mpi_rank(), dci_mpi_size(), &first, &count);
        st = dc_dataset_subset(out, all, first, count);
    }
    if (st == DC_OK) *n_total = n;
    dc_dataset_free(all);
    return st;
}

dc_status dc_mpi_dataset_load(dc_dataset **out, const char *path, const dc_load_options *opt,
                              int64_t *n_total) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(path);
    if (!dci_mpi_active())
        return dci_fail(DC_ERR_STATE, "dc_mpi_dataset_load: no communicator set (dc_mpi_set_comm)");
    /* the same file everywhere: rank 0's fingerprint, broadcast */
    int64_t mine[2] = {-1, -1}, root[2];
    dc_status st = dci_mpi_agree(fingerprint(path, mine), path);
    if (st != DC_OK) return st;
    memcpy(root, mine, sizeof root);
    DCI_TRY(dci_mpi_bcast(root, 2, MPI_INT64_T, 0, DCI_PH_LOAD, "file fingerprint"));
    st = DC_OK;
    if (mine[0] != root[0] || mine[1] != root[1])
        st = dci_fail(DC_ERR_IO, "%s differs between ranks: rank %d sees %lld bytes (CRC-32 of "
                      "the first 64 KiB %08llx), rank 0 %lld bytes (%08llx)", path,
                      dci_mpi_rank(), (long long)mine[0], (unsigned long long)mine[1],
                      (long long)root[0], (unsigned long long)root[1]);
    DCI_TRY(dci_mpi_agree(st, path));

    dc_load_options o;
    if (opt) o = *opt;
    else dc_load_options_default(&o);
    dc_format fmt = o.format;
    if (fmt == DC_FORMAT_AUTO) st = dci_format_from_path(path, &fmt);
    int64_t n = 0;
    /* gzip data whatever the name (the one-process readers take it): read whole */
    const int gz = ends_with(path, ".gz") || gzip_magic(path);
    if (st == DC_OK) {
        if (!gz && (fmt == DC_FORMAT_NPY || fmt == DC_FORMAT_IDX))
            st = load_seek(path, fmt == DC_FORMAT_NPY, out, &n);
        else if (!gz && fmt == DC_FORMAT_CSV)
            st = dci_mpi_load_csv_block(path, &o, out, &n);
        else st = load_whole(path, &o, out, &n);
    }
    st = dci_mpi_agree(st, path);
    if (st != DC_OK) {
        dc_dataset_free(*out);
        *out = NULL;
        return st;
    }
    if (n_total) *n_total = n;
    return DC_OK;
}

/* ---- normalisation with the statistics of all ranks' rows ---------------- */

dc_status dc_mpi_dataset_normalize(dc_dataset *ds, dc_normalization mode) {
    DCI_CHECK_NULL(ds);
    if (!dci_mpi_active())
        return dci_fail(DC_ERR_STATE, "dc_mpi_dataset_normalize: no communicator set (dc_mpi_set_comm)");
    if (mode < DC_NORM_NONE || mode > DC_NORM_ZSCORE)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_mpi_dataset_normalize: mode %d is not a "
                        "dc_normalization", (int)mode);
    if (mode == DC_NORM_NONE || mode == DC_NORM_SCALE255)
        return dci_mpi_agree(dc_dataset_normalize(ds, mode), "normalisation");
    if (ds->norm.mode != DC_NORM_NONE)
        return dci_mpi_agree(dci_fail(DC_ERR_STATE, "dc_mpi_dataset_normalize: the data set is "
                                      "already normalised (%s); give it raw data",
                                      dc_normalization_name(ds->norm.mode)),
                             "normalisation");
    const int64_t n = ds->n, d = ds->d;
    int64_t dmin = d, dmax = d, ntot = n;
    DCI_TRY(dci_mpi_allreduce(&dmin, 1, MPI_INT64_T, MPI_MIN, DCI_PH_LOAD, "columns"));
    DCI_TRY(dci_mpi_allreduce(&dmax, 1, MPI_INT64_T, MPI_MAX, DCI_PH_LOAD, "columns"));
    if (dmin != dmax)
        return dci_fail(DC_ERR_SHAPE, "dc_mpi_dataset_normalize: the ranks' blocks have %lld to "
                        "%lld columns", (long long)dmin, (long long)dmax);
    DCI_TRY(dci_mpi_allreduce(&ntot, 1, MPI_INT64_T, MPI_SUM, DCI_PH_LOAD, "rows"));
    dci_norm step = {DC_NORM_NONE, NULL, NULL};
    DCI_TRY(dci_mpi_agree(dci_norm_alloc(&step, mode, d), "normalisation"));
    const float *x = ds->x;
    double *a = step.shift, *b = step.scale;
    dc_status st;
    if (mode == DC_NORM_MINMAX) { /* as minmax_stats of data/normalize.c, over all rows */
        for (int64_t j = 0; j < d; j++) a[j] = DBL_MAX, b[j] = -DBL_MAX;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) {
                if (x[i * d + j] < a[j]) a[j] = x[i * d + j];
                if (x[i * d + j] > b[j]) b[j] = x[i * d + j];
            }
        st = dci_mpi_allreduce(a, d, MPI_DOUBLE, MPI_MIN, DCI_PH_LOAD, "feature minima");
        if (st == DC_OK) st = dci_mpi_allreduce(b, d, MPI_DOUBLE, MPI_MAX, DCI_PH_LOAD, "feature maxima");
        for (int64_t j = 0; st == DC_OK && j < d; j++) {
            double range = b[j] - a[j];
            b[j] = range > 0.0 ? 1.0 / range : 0.0;
        }
    } else { /* zscore: two passes, as zscore_stats, with the sums allreduced */
        for (int64_t j = 0; j < d; j++) a[j] = b[j] = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) a[j] += x[i * d + j];
        st = dci_mpi_allreduce(a, d, MPI_DOUBLE, MPI_SUM, DCI_PH_LOAD, "feature sums");
        for (int64_t j = 0; st == DC_OK && j < d; j++) a[j] /= (double)ntot;
        for (int64_t i = 0; st == DC_OK && i < n; i++)
            for (int64_t j = 0; j < d; j++) {
                double t = x[i * d + j] - a[j];
                b[j] += t * t;
            }
        if (st == DC_OK) st = dci_mpi_allreduce(b, d, MPI_DOUBLE, MPI_SUM, DCI_PH_LOAD, "feature variances");
        for (int64_t j = 0; st == DC_OK && j < d; j++) {
            double sd = sqrt(b[j] / (double)ntot);
            b[j] = sd > 0.0 ? 1.0 / sd : 0.0;
        }
    }
    if (st == DC_OK) st = dci_mpi_agree(dci_dataset_apply_norm(ds, &step), "normalisation");
    dci_norm_free(&step);
    return st;
}
