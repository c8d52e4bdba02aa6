#include "methods/model_io.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DCI_HOST_BIG_ENDIAN 1
#else
#define DCI_HOST_BIG_ENDIAN 0
#endif

static size_t type_size(dci_rec_type t) {
    switch (t) {
    case DCI_REC_U8: return 1;
    case DCI_REC_I32:
    case DCI_REC_F32: return 4;
    case DCI_REC_I64:
    case DCI_REC_U64:
    case DCI_REC_F64: return 8;
    }
    return 0;
}

static const char *type_name(dci_rec_type t) {
    static const char *const names[] = {"?", "u8", "i32", "i64", "u64", "f32", "f64"};
    return (t >= DCI_REC_U8 && t <= DCI_REC_F64) ? names[t] : "?";
}

/* In-place conversion between host order and little-endian (its own inverse). */
static void to_le(void *p, size_t n, size_t size) {
#if DCI_HOST_BIG_ENDIAN
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += size)
        for (size_t k = 0; k < size / 2; k++) {
            unsigned char t = b[k];
            b[k] = b[size - 1 - k];
            b[size - 1 - k] = t;
        }
#else
    (void)p, (void)n, (void)size;
#endif
}

/* zlib's crc32 takes a uInt length: feed large blocks in pieces. */
static uint32_t crc_update(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) {
        uInt chunk = len > (size_t)(1u << 30) ? (1u << 30) : (uInt)len;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return crc;
}

static void store_u16(unsigned char *b, uint16_t v) {
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
}
static void store_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static void store_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static uint16_t load_u16(const unsigned char *b) { return (uint16_t)(b[0] | (b[1] << 8)); }
static uint32_t load_u32(const unsigned char *b) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}
static uint64_t load_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

/* ---- writing ---- */

static void emit(dci_rec_writer *w, const void *data, size_t len) {
    if (w->st != DC_OK || len == 0) return;
    if (!w->in_memory) {
        if (fwrite(data, 1, len, w->af.f) != len) {
            w->st = dci_fail(DC_ERR_IO, "cannot write '%s': %s", w->af.path, strerror(errno));
            return;
        }
    } else if (w->mem) {
        /* Past the capacity only the size keeps counting: the caller learns
         * it from dci_rec_finish_mem and asks again with a larger buffer. */
        if (w->bytes <= w->mem_cap - DCI_CONTAINER_HEADER &&
            len <= w->mem_cap - DCI_CONTAINER_HEADER - w->bytes)
            memcpy(w->mem + DCI_CONTAINER_HEADER + w->bytes, data, len);
        else
            w->mem = NULL;
    }
    if (!w->in_memory || w->mem) w->crc = crc_update(w->crc, data, len);
    w->bytes += len;
}

dc_status dci_rec_begin(dci_rec_writer *w, const char *path, const char *magic) {
    DCI_CHECK_NULL(w);
    memset(w, 0, sizeof *w);
    DCI_CHECK_NULL(path);
    memcpy(w->magic, magic, 8);
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    DCI_TRY(dci_atomic_begin(&w->af, path));
    unsigned char zero[DCI_CONTAINER_HEADER] = {0};
    if (fwrite(zero, 1, sizeof zero, w->af.f) != sizeof zero) {
        dc_status st = dci_fail(DC_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        dci_atomic_abort(&w->af);
        return st;
    }
    return DC_OK;
}

void dci_rec_begin_mem(dci_rec_writer *w, const char *magic, void *dst, size_t capacity) {
    memset(w, 0, sizeof *w);
    memcpy(w->magic, magic, 8);
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->in_memory = 1;
    w->mem = capacity >= DCI_CONTAINER_HEADER ? dst : NULL;
    w->mem_cap = capacity;
}

void dci_rec_put(dci_rec_writer *w, const char *name, dci_rec_type type, const void *data,
                 int64_t count) {
    if (w->st != DC_OK) return;
    size_t len = strlen(name), size = type_size(type);
    if (len == 0 || len > 0xFFFF || size == 0 || count < 0 || (count > 0 && !data)) {
        w->st = dci_fail(DC_ERR_INTERNAL, "model file: bad record '%s'", name);
        return;
    }
    unsigned char head[2];
    store_u16(head, (uint16_t)len);
    emit(w, head, 2);
    emit(w, name, len);
    unsigned char meta[10];
    meta[0] = (unsigned char)type;
    meta[1] = 0;
    store_u64(meta + 2, (uint64_t)count);
    emit(w, meta, sizeof meta);
    if (!DCI_HOST_BIG_ENDIAN || size == 1) {
        emit(w, data, (size_t)count * size);
        return;
    }
    unsigned char tmp[4096];
    const unsigned char *p = data;
    for (int64_t done = 0; done < count;) {
        size_t n = (size_t)(count - done) < sizeof tmp / size ? (size_t)(count - done)
                                                               : sizeof tmp / size;
        memcpy(tmp, p + (size_t)done * size, n * size);
        to_le(tmp, n, size);
        emit(w, tmp, n * size);
        done += (int64_t)n;
    }
}

void dci_rec_put_i64(dci_rec_writer *w, const char *name, int64_t v) {
    dci_rec_put(w, name, DCI_REC_I64, &v, 1);
}
void dci_rec_put_f64(dci_rec_writer *w, const char *name, double v) {
    dci_rec_put(w, name, DCI_REC_F64, &v, 1);
}
void dci_rec_put_str(dci_rec_writer *w, const char *name, const char *s) {
    dci_rec_put(w, name, DCI_REC_U8, s, (int64_t)strlen(s));
}

static void header_bytes(unsigned char h[DCI_CONTAINER_HEADER], const char *magic,
                         uint64_t payload, uint32_t crc) {
    memcpy(h, magic, 8);
    store_u32(h + 8, DCI_CONTAINER_VERSION);
    store_u32(h + 12, 0);
    store_u64(h + 16, payload);
    store_u32(h + 24, crc);
    store_u32(h + 28, (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, 28));
}

dc_status dci_rec_commit(dci_rec_writer *w) {
    if (w->st == DC_OK) {
        unsigned char h[DCI_CONTAINER_HEADER];
        header_bytes(h, w->magic, w->bytes, w->crc);
        if (fseek(w->af.f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->af.f) != sizeof h)
            w->st = dci_fail(DC_ERR_IO, "cannot write '%s': %s", w->af.path, strerror(errno));
    }
    if (w->st != DC_OK) {
        dci_atomic_abort(&w->af);
        return w->st;
    }
    return dci_atomic_commit(&w->af);
}


dc_status dci_rec_finish_mem(dci_rec_writer *w, int want_bytes, size_t *size) {
    if (w->st != DC_OK) return w->st;
    if (w->bytes > SIZE_MAX - DCI_CONTAINER_HEADER)
        return dci_fail(DC_ERR_NOMEM, "model buffer: %llu bytes do not fit in memory",
                        (unsigned long long)w->bytes);
    *size = DCI_CONTAINER_HEADER + (size_t)w->bytes;
    if (!want_bytes) return DC_OK;
    if (!w->mem)
        return dci_fail(DC_ERR_SHAPE, "model buffer: capacity %zu bytes < %zu needed", w->mem_cap,
                        *size);
    header_bytes(w->mem, w->magic, w->bytes, w->crc);
    return DC_OK;
}

/* ---- reading ---- */

void dci_rec_close(dci_rec_file *f) {
    if (!f) return;
    dci_free(f->buf);
    dci_free(f->recs);
    memset(f, 0, sizeof *f);
}

static dc_status parse_records(dci_rec_file *f, uint64_t len) {
    /* Two passes: count, then index. */
    for (int pass = 0; pass < 2; pass++) {
        uint64_t off = 0;
        int64_t n = 0;
        while (off < len) {
            if (len - off < 2) goto bad;
            size_t nl = load_u16(f->buf + off);
            off += 2;
            if (nl == 0 || len - off < nl + 10) goto bad;
            const char *name = (const char *)f->buf + off;
            off += nl;
            dci_rec_type type = (dci_rec_type)f->buf[off];
            size_t size = type_size(type);
            uint64_t count = load_u64(f->buf + off + 2);
            off += 10;
            if (size == 0 || count > (len - off) / size) goto bad;
            if (pass == 1)
                f->recs[n] = (dci_rec){name, nl, type, (int64_t)count, f->buf + off};
            off += count * size;
            n++;
        }
        if (pass == 0) {
            f->recs = DCI_NEW_ARRAY(dci_rec, n > 0 ? n : 1, "model file index");
            if (!f->recs) return DC_ERR_NOMEM;
        }
        f->n_recs = n;
    }
    return DC_OK;
bad:
    return dci_fail(DC_ERR_FORMAT, "'%s': malformed record structure", f->path);
}

/* The header checks common to files and buffers, in the documented order.
 * h holds the first `got` bytes (at most the header); `total` is the whole
 * size. On success *payload is the payload length the header announces and
 * f->buf has room for it. */
static dc_status accept_header(dci_rec_file *f, const unsigned char *h, size_t got,
                              uint64_t total, uint64_t *payload) {
    const char *path = f->path;
    size_t cmp = got < 8 ? got : 8;
    if (got == 0) return dci_fail(DC_ERR_TRUNCATED, "'%s' is empty", path);
    if (memcmp(h, DCI_MAGIC_MODEL, cmp) != 0 && memcmp(h, DCI_MAGIC_CHECKPOINT, cmp) != 0)
        return dci_fail(DC_ERR_FORMAT, "'%s' is not a libdeepclust model or checkpoint file "
                                       "(bad magic)", path);
    if (got < DCI_CONTAINER_HEADER)
        return dci_fail(DC_ERR_TRUNCATED, "'%s': file ends inside the %d-byte header (%zu bytes)",
                        path, DCI_CONTAINER_HEADER, got);
    memcpy(f->magic, h, 8);
    f->version = load_u32(h + 8);
    if (f->version == 0) return dci_fail(DC_ERR_FORMAT, "'%s': format version 0 is invalid", path);
    if (f->version > DCI_CONTAINER_VERSION)
        return dci_fail(DC_ERR_VERSION,
                        "'%s' has format version %u; this library reads up to version %u", path,
                        f->version, DCI_CONTAINER_VERSION);
    if (load_u32(h + 28) != (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, 28))
        return dci_fail(DC_ERR_CHECKSUM, "'%s': header checksum mismatch (corrupt file)", path);
    const uint64_t len = load_u64(h + 16), avail = total - DCI_CONTAINER_HEADER;
    if (avail < len)
        return dci_fail(DC_ERR_TRUNCATED, "'%s' is truncated: %llu payload bytes of %llu", path,
                        (unsigned long long)avail, (unsigned long long)len);
    if (avail > len)
        return dci_fail(DC_ERR_FORMAT, "'%s': %llu unexpected bytes after the payload", path,
                        (unsigned long long)(avail - len));
    if (len > (uint64_t)INT64_MAX || len > SIZE_MAX)
        return dci_fail(DC_ERR_NOMEM, "'%s': payload too large", path);
    f->buf = DCI_NEW_ARRAY(unsigned char, len > 0 ? (int64_t)len : 1, "model file");
    if (!f->buf) return DC_ERR_NOMEM;
    *payload = len;
    return DC_OK;
}

/* After the payload is in f->buf: its checksum (from header h), then its records. */
static dc_status check_payload(dci_rec_file *f, const unsigned char *h, uint64_t len) {
    if (crc_update((uint32_t)crc32(0L, Z_NULL, 0), f->buf, len) != load_u32(h + 24))
        return dci_fail(DC_ERR_CHECKSUM, "'%s': checksum mismatch (the file was altered or "
                                         "damaged)", f->path);
    return parse_records(f, len);
}

dc_status dci_rec_load(dci_rec_file *f, const char *path) {
    DCI_CHECK_NULL(f);
    memset(f, 0, sizeof *f);
    DCI_CHECK_NULL(path);
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) return dci_fail(DC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    dc_status st = DC_OK;
    struct stat sb;
    unsigned char h[DCI_CONTAINER_HEADER];
    uint64_t len = 0;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = dci_fail(DC_ERR_IO, "'%s' is not a regular file", path);
        goto done;
    }
    size_t got = fread(h, 1, sizeof h, fp);
    if ((st = accept_header(f, h, got, (uint64_t)sb.st_size, &len)) != DC_OK) goto done;
    if (fread(f->buf, 1, len, fp) != len) {
        st = ferror(fp) ? dci_fail(DC_ERR_IO, "cannot read '%s': %s", path, strerror(errno))
                        : dci_fail(DC_ERR_TRUNCATED, "'%s' is truncated", path);
        goto done;
    }
    st = check_payload(f, h, len);
done:
    fclose(fp);
    if (st != DC_OK) dci_rec_close(f);
    return st;
}

dc_status dci_rec_load_mem(dci_rec_file *f, const void *data, size_t size, const char *name) {
    DCI_CHECK_NULL(f);
    memset(f, 0, sizeof *f);
    f->path = name;
    if (size > 0) DCI_CHECK_NULL(data);
    const unsigned char *h = data;
    uint64_t len = 0;
    dc_status st = accept_header(f, h, size < DCI_CONTAINER_HEADER ? size : DCI_CONTAINER_HEADER,
                                (uint64_t)size, &len);
    if (st == DC_OK) {
        memcpy(f->buf, h + DCI_CONTAINER_HEADER, (size_t)len);
        st = check_payload(f, h, len);
    }
    if (st != DC_OK) dci_rec_close(f);
    return st;
}

int dci_rec_is(const dci_rec_file *f, const char *magic) { return memcmp(f->magic, magic, 8) == 0; }

static const dci_rec *find(const dci_rec_file *f, const char *name) {
    size_t len = strlen(name);
    for (int64_t i = 0; i < f->n_recs; i++)
        if (f->recs[i].name_len == len && memcmp(f->recs[i].name, name, len) == 0)
            return &f->recs[i];
    return NULL;
}

int64_t dci_rec_count(const dci_rec_file *f, const char *name) {
    const dci_rec *r = find(f, name);
    return r ? r->count : -1;
}

dc_status dci_rec_get(const dci_rec_file *f, const char *name, dci_rec_type type, int64_t count,
                      void *dst) {
    const dci_rec *r = find(f, name);
    if (!r) return dci_fail(DC_ERR_FORMAT, "'%s': record '%s' is missing", f->path, name);
    if (r->type != type)
        return dci_fail(DC_ERR_FORMAT, "'%s': record '%s' has type %s, expected %s", f->path,
                        name, type_name(r->type), type_name(type));
    if (count >= 0 && r->count != count)
        return dci_fail(DC_ERR_FORMAT, "'%s': record '%s' has %lld elements, expected %lld",
                        f->path, name, (long long)r->count, (long long)count);
    size_t size = type_size(type);
    memcpy(dst, r->data, (size_t)r->count * size);
    to_le(dst, (size_t)r->count, size);
    return DC_OK;
}

dc_status dci_rec_get_i64(const dci_rec_file *f, const char *name, int64_t *v) {
    return dci_rec_get(f, name, DCI_REC_I64, 1, v);
}

dc_status dci_rec_get_f64(const dci_rec_file *f, const char *name, double *v) {
    return dci_rec_get(f, name, DCI_REC_F64, 1, v);
}

dc_status dci_rec_get_str(const dci_rec_file *f, const char *name, char *dst, size_t cap) {
    int64_t n = dci_rec_count(f, name);
    if (n >= 0 && (uint64_t)n >= cap)
        return dci_fail(DC_ERR_FORMAT, "'%s': text record '%s' is too long (%lld bytes)",
                        f->path, name, (long long)n);
    DCI_TRY(dci_rec_get(f, name, DCI_REC_U8, -1, dst));
    dst[n] = '\0';
    return DC_OK;
}
