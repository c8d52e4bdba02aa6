#include "data/idx.h"

#include "core/error.h"

static int idx_type(unsigned char code, dci_dtype *t) {
    switch (code) {
    case 0x08: *t = DCI_DT_U8; return 1;
    case 0x09: *t = DCI_DT_I8; return 1;
    case 0x0B: *t = DCI_DT_I16; return 1;
    case 0x0C: *t = DCI_DT_I32; return 1;
    case 0x0D: *t = DCI_DT_F32; return 1;
    case 0x0E: *t = DCI_DT_F64; return 1;
    }
    return 0;
}

dc_status dci_idx_read_stream(dci_reader *r, dci_array *out) {
    out->data = NULL;
    out->ndim = 0;
    unsigned char magic[4];
    size_t got = 0;
    DCI_TRY(dci_reader_read_some(r, magic, 4, &got));
    if (got == 0) return dci_fail(DC_ERR_FORMAT, "%s: empty file", r->path);
    dci_dtype t = DCI_DT_U8;
    /* Judge only the bytes present: a cut-off valid header is a truncation. */
    int bad = magic[0] != 0 || (got > 1 && magic[1] != 0) || (got > 2 && !idx_type(magic[2], &t)) ||
              (got > 3 && (magic[3] == 0 || magic[3] > DCI_MAX_NDIM));
    if (bad)
        return dci_fail(DC_ERR_FORMAT,
                        "%s: not an IDX file (magic %02x %02x %02x %02x; expected 00 00 "
                        "<type 08-0e> <ndim 1-%d>)",
                        r->path, magic[0], got > 1 ? magic[1] : 0, got > 2 ? magic[2] : 0,
                        got > 3 ? magic[3] : 0, DCI_MAX_NDIM);
    if (got < 4) return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the IDX header", r->path);
    int ndim = magic[3];
    unsigned char dims[4 * DCI_MAX_NDIM];
    DCI_TRY(dci_reader_read(r, dims, 4 * (size_t)ndim, "IDX header"));
    int64_t shape[DCI_MAX_NDIM];
    for (int i = 0; i < ndim; i++) {
        const unsigned char *b = dims + 4 * i;
        shape[i] = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
    }
    uint64_t bytes;
    DCI_TRY(dci_reader_expect_elements(r, shape, ndim, dci_dtype_size(t), "IDX data"));
    DCI_TRY(dci_shape_bytes(t, ndim, shape, &bytes, r->path));
    DCI_TRY(dci_array_alloc(out, t, ndim, shape, r->path));
    int64_t count = dci_array_count(out);
    size_t width = dci_dtype_size(t);
    dc_status st = dci_reader_read(r, out->data, (size_t)bytes, "IDX data");
    if (st != DC_OK) {
        dci_array_free(out);
        return st;
    }
    if (dci_host_little_endian() && width > 1) dci_swap_bytes(out->data, count, width);
    return DC_OK;
}

dc_status dci_idx_read(const char *path, dci_array *out) {
    return dci_array_read_file(path, out, dci_idx_read_stream);
}
