#include "data/npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Headers are a few hundred bytes; anything huge is a corrupt length field. */
#define NPY_MAX_HEADER (1u << 20)

/* ---- header: a Python dict literal {'descr': .., 'fortran_order': .., 'shape': (..)} ---- */

typedef struct cursor {
    const char *start, *p, *end;
    const char *path;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && isspace((unsigned char)*c->p)) c->p++;
}

static dc_status syntax(cursor *c, const char *expected) {
    return dci_fail(DC_ERR_FORMAT, "%s: malformed NPY header: expected %s at offset %ld",
                    c->path, expected, (long)(c->p - c->start));
}

static int accept(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static dc_status parse_string(cursor *c, char *buf, size_t size) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return syntax(c, "a string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size) return syntax(c, "a short string");
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return syntax(c, "a closing quote");
    c->p++;
    buf[n] = '\0';
    return DC_OK;
}

static dc_status parse_bool(cursor *c, int *out) {
    skip_ws(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        *out = 1;
        c->p += 4;
    } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        *out = 0;
        c->p += 5;
    } else
        return syntax(c, "True or False");
    return DC_OK;
}

static dc_status parse_shape(cursor *c, int64_t *shape, int *ndim) {
    if (!accept(c, '(')) return syntax(c, "'(' opening the shape");
    *ndim = 0;
    for (;;) {
        if (accept(c, ')')) return DC_OK;
        skip_ws(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p)) return syntax(c, "a dimension");
        if (*ndim == DCI_MAX_NDIM)
            return dci_fail(DC_ERR_UNSUPPORTED, "%s: arrays with more than %d dimensions are "
                            "not supported", c->path, DCI_MAX_NDIM);
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (v > (INT64_MAX - 9) / 10) return syntax(c, "a smaller dimension");
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long literal */
        shape[(*ndim)++] = v;
        if (!accept(c, ',')) {
            if (!accept(c, ')')) return syntax(c, "',' or ')' in the shape");
            return DC_OK;
        }
    }
}

/* Maps a descr such as '<f4' to a dtype. */
static dc_status parse_descr(const char *descr, const char *path, dci_dtype *out) {
    static const struct {
        char kind;
        char size;
        dci_dtype t;
    } known[] = {{'u', '1', DCI_DT_U8},  {'i', '1', DCI_DT_I8},  {'i', '2', DCI_DT_I16},
                 {'i', '4', DCI_DT_I32}, {'i', '8', DCI_DT_I64}, {'f', '4', DCI_DT_F32},
                 {'f', '8', DCI_DT_F64}};
    if (strlen(descr) == 3 && strchr("<>|=", descr[0]))
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            if (descr[1] != known[i].kind || descr[2] != known[i].size) continue;
            int big = descr[0] == '>' || (descr[0] == '=' && !dci_host_little_endian());
            if (big && known[i].size != '1')
                return dci_fail(DC_ERR_UNSUPPORTED,
                                "%s: big-endian dtype '%s' is not supported (save with "
                                "arr.astype('<%c%c'))",
                                path, descr, descr[1], descr[2]);
            *out = known[i].t;
            return DC_OK;
        }
    return dci_fail(DC_ERR_UNSUPPORTED,
                    "%s: NPY dtype '%s' is not supported (float32/64, uint8, int8/16/32/64)",
                    path, descr);
}

static dc_status parse_header(cursor *c, dci_dtype *dtype, int64_t *shape, int *ndim) {
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    char descr[64] = "";
    if (!accept(c, '{')) return syntax(c, "'{'");
    while (!accept(c, '}')) {
        char key[32];
        DCI_TRY(parse_string(c, key, sizeof key));
        if (!accept(c, ':')) return syntax(c, "':'");
        if (strcmp(key, "descr") == 0) {
            skip_ws(c);
            if (c->p < c->end && *c->p == '[')
                return dci_fail(DC_ERR_UNSUPPORTED, "%s: structured NPY dtypes are not supported",
                                c->path);
            DCI_TRY(parse_string(c, descr, sizeof descr));
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            DCI_TRY(parse_bool(c, &fortran));
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            DCI_TRY(parse_shape(c, shape, ndim));
            have_shape = 1;
        } else
            return dci_fail(DC_ERR_FORMAT, "%s: malformed NPY header: unexpected key '%s'",
                            c->path, key);
        if (!accept(c, ',')) {
            if (!accept(c, '}')) return syntax(c, "',' or '}'");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return dci_fail(DC_ERR_FORMAT, "%s: NPY header lacks '%s'", c->path,
                        !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    DCI_TRY(parse_descr(descr, c->path, dtype));
    if (fortran) {
        /* A 1-D or single-row array is laid out the same in either order. */
        int nontrivial = 0;
        for (int i = 0; i < *ndim; i++) nontrivial += shape[i] > 1;
        if (nontrivial > 1)
            return dci_fail(DC_ERR_UNSUPPORTED,
                            "%s: Fortran-order NPY arrays are not supported (save with "
                            "np.ascontiguousarray)",
                            c->path);
    }
    return DC_OK;
}

static uint32_t read_le(const unsigned char *b, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

dc_status dci_npy_read_stream(dci_reader *r, dci_array *out) {
    out->data = NULL;
    out->ndim = 0;
    unsigned char pre[12];
    size_t got = 0;
    DCI_TRY(dci_reader_read_some(r, pre, 8, &got));
    /* Judge only the bytes present: a cut-off valid magic is a truncation. */
    if (memcmp(pre, npy_magic, got < 6 ? got : 6) != 0)
        return dci_fail(DC_ERR_FORMAT, "%s: not an NPY file (bad magic)", r->path);
    if (got < 8) return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the NPY header", r->path);
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3)
        return dci_fail(DC_ERR_VERSION, "%s: NPY format version %d.%d is not supported "
                        "(1.0, 2.0, 3.0)", r->path, major, minor);
    int len_bytes = major == 1 ? 2 : 4;
    DCI_TRY(dci_reader_read(r, pre + 8, (size_t)len_bytes, "NPY header"));
    uint32_t hlen = read_le(pre + 8, len_bytes);
    if (hlen > NPY_MAX_HEADER)
        return dci_fail(DC_ERR_FORMAT, "%s: NPY header length %u is implausible", r->path, hlen);
    char *hdr = DCI_NEW_ARRAY(char, (int64_t)hlen + 1, "NPY header");
    if (!hdr) return DC_ERR_NOMEM;
    dc_status st = dci_reader_read(r, hdr, hlen, "NPY header");
    dci_dtype dtype = DCI_DT_U8;
    int64_t shape[DCI_MAX_NDIM];
    int ndim = 0;
    if (st == DC_OK) {
        cursor c = {hdr, hdr, hdr + hlen, r->path};
        st = parse_header(&c, &dtype, shape, &ndim);
    }
    dci_free(hdr);
    DCI_TRY(st);
    uint64_t bytes;
    DCI_TRY(dci_reader_expect_elements(r, shape, ndim, dci_dtype_size(dtype), "NPY data"));
    DCI_TRY(dci_shape_bytes(dtype, ndim, shape, &bytes, r->path));
    DCI_TRY(dci_array_alloc(out, dtype, ndim, shape, r->path));
    size_t width = dci_dtype_size(dtype);
    st = dci_reader_read(r, out->data, (size_t)bytes, "NPY data");
    if (st != DC_OK) {
        dci_array_free(out);
        return st;
    }
    if (!dci_host_little_endian() && width > 1)
        dci_swap_bytes(out->data, dci_array_count(out), width);
    return DC_OK;
}

dc_status dci_npy_read(const char *path, dci_array *out) {
    return dci_array_read_file(path, out, dci_npy_read_stream);
}

static const char *descr_of(dci_dtype t) {
    switch (t) {
    case DCI_DT_U8: return "|u1";
    case DCI_DT_I8: return "|i1";
    case DCI_DT_I16: return "<i2";
    case DCI_DT_I32: return "<i4";
    case DCI_DT_I64: return "<i8";
    case DCI_DT_F32: return "<f4";
    case DCI_DT_F64: return "<f8";
    }
    return "?";
}

static dc_status write_error(void) {
    return dci_fail(DC_ERR_IO, "write failed: %s", strerror(errno ? errno : EIO));
}

dc_status dci_npy_write_stream(FILE *f, dci_dtype dtype, const int64_t *shape, int ndim,
                               const void *data) {
    if (ndim < 0 || ndim > DCI_MAX_NDIM)
        return dci_fail(DC_ERR_INVALID_ARG, "NPY writer: %d dimensions", ndim);
    const size_t width = dci_dtype_size(dtype);
    uint64_t bytes = 0;
    DCI_TRY(dci_shape_bytes(dtype, ndim, shape, &bytes, "NPY writer"));
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': ",
                       descr_of(dtype));
    char shp[256];
    dci_shape_str(shape, ndim, shp, sizeof shp);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s, }", shp);
    /* numpy pads with spaces and a final newline so the data starts 64-byte aligned. */
    int v1 = 10 + len + 1 <= 65535;
    int pre = v1 ? 10 : 12;
    int total = (pre + len + 1 + 63) / 64 * 64;
    int hlen = total - pre;
    unsigned char head[12];
    memcpy(head, npy_magic, 6);
    head[6] = v1 ? 1 : 2;
    head[7] = 0;
    for (int i = 0; i < pre - 8; i++) head[8 + i] = (unsigned char)((unsigned)hlen >> (8 * i));
    errno = 0;
    if (fwrite(head, 1, (size_t)pre, f) != (size_t)pre) return write_error();
    if (fwrite(dict, 1, (size_t)len, f) != (size_t)len) return write_error();
    for (int i = len; i < hlen - 1; i++)
        if (putc(' ', f) == EOF) return write_error();
    if (putc('\n', f) == EOF) return write_error();

    const int64_t count = (int64_t)(bytes / width);
    if (dci_host_little_endian() || width == 1) {
        if (fwrite(data, width, (size_t)count, f) != (size_t)count) return write_error();
        return DC_OK;
    }
    unsigned char chunk[4096];
    size_t per = sizeof chunk / width;
    for (int64_t i = 0; i < count; i += (int64_t)per) {
        size_t m = (size_t)(count - i) < per ? (size_t)(count - i) : per;
        memcpy(chunk, (const unsigned char *)data + (size_t)i * width, m * width);
        dci_swap_bytes(chunk, (int64_t)m, width);
        if (fwrite(chunk, width, m, f) != m) return write_error();
    }
    return DC_OK;
}

dc_status dci_npy_write(const char *path, dci_dtype dtype, const int64_t *shape, int ndim,
                        const void *data) {
    dci_atomic_file af;
    DCI_TRY(dci_atomic_begin(&af, path));
    dc_status st = dci_npy_write_stream(af.f, dtype, shape, ndim, data);
    if (st != DC_OK) {
        dci_atomic_abort(&af);
        return dci_context(st, "%s", path);
    }
    return dci_atomic_commit(&af);
}
