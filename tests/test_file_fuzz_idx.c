/* Corrupt IDX files (images and labels, every element type, raw and .gz)
 * against a complete reference reader written here from the format
 * description: an extent set huge must fail before the allocation it would
 * size. */
#include "file_fuzz_common.h"

/* ---- IDX: a complete reference reader ---- */

static int idx_kind(unsigned char code, char *kind, int *width) {
    switch (code) {
    case 0x08: *kind = 'u', *width = 1; return 1;
    case 0x09: *kind = 'i', *width = 1; return 1;
    case 0x0B: *kind = 'i', *width = 2; return 1;
    case 0x0C: *kind = 'i', *width = 4; return 1;
    case 0x0D: *kind = 'f', *width = 4; return 1;
    case 0x0E: *kind = 'f', *width = 8; return 1;
    }
    return 0;
}

/* The array of an IDX file: status, and on DC_OK the type, shape, data. */
typedef struct idx_ref {
    int st;
    char kind;
    int width, ndim;
    int64_t shape[8];
    const unsigned char *data;
} idx_ref;

static idx_ref ref_idx(const bytes *b) {
    idx_ref r = {DC_OK, 0, 0, 0, {0}, NULL};
    const unsigned char *p = b->p;
    if (b->n == 0) return (idx_ref){DC_ERR_FORMAT, 0, 0, 0, {0}, NULL};
    int bad = p[0] != 0 || (b->n > 1 && p[1] != 0) ||
              (b->n > 2 && !idx_kind(p[2], &r.kind, &r.width)) ||
              (b->n > 3 && (p[3] == 0 || p[3] > 8));
    if (bad) return (idx_ref){DC_ERR_FORMAT, 0, 0, 0, {0}, NULL};
    if (b->n < 4) return (idx_ref){DC_ERR_TRUNCATED, 0, 0, 0, {0}, NULL};
    r.ndim = p[3];
    if (b->n < 4 + 4 * (size_t)r.ndim) return (idx_ref){DC_ERR_TRUNCATED, 0, 0, 0, {0}, NULL};
    /* Sizes in long double: exact for these, no overflow to reason about. */
    long double bytes_needed = r.width;
    for (int i = 0; i < r.ndim; i++) {
        const unsigned char *q = p + 4 + 4 * i;
        r.shape[i] = ((int64_t)q[0] << 24) | ((int64_t)q[1] << 16) | ((int64_t)q[2] << 8) | q[3];
        bytes_needed *= (long double)r.shape[i];
    }
    /* A file shorter than its header's array is truncated, whatever the
     * array's size (checked first: a small file declaring 2^64 bytes is not
     * an allocation failure); then a nonzero product over 2^63 bytes is
     * refused as too large, and a zero extent after huge ones too (the
     * running product overflows first). */
    long double have = (long double)(b->n - 4 - 4 * (size_t)r.ndim);
    if (have < bytes_needed) return (idx_ref){DC_ERR_TRUNCATED, 0, 0, 0, {0}, NULL};
    long double run = 1;
    for (int i = 0; i < r.ndim; i++) {
        if (r.shape[i] && run * r.shape[i] * 8 > 9.2233720368547758e18L)
            return (idx_ref){DC_ERR_NOMEM, 0, 0, 0, {0}, NULL};
        run *= r.shape[i];
    }
    if (have > bytes_needed) return (idx_ref){DC_ERR_FORMAT, 0, 0, 0, {0}, NULL};
    r.data = p + 4 + 4 * r.ndim;
    return r;
}

static dexp ref_idx_dataset(const bytes *b) {
    idx_ref r = ref_idx(b);
    dexp e = {r.st, 0, 0, 0, 0, 0, NULL};
    if (r.st != DC_OK) return e;
    if (r.ndim > 4) {
        e.st = DC_ERR_UNSUPPORTED;
        return e;
    }
    int64_t d = 1;
    for (int i = 1; i < r.ndim; i++) d *= r.shape[i];
    if (r.shape[0] < 1 || d < 1) {
        e.st = DC_ERR_SHAPE;
        return e;
    }
    e.n = r.shape[0];
    e.d = d;
    if (r.ndim >= 3) {
        e.h = r.shape[1];
        e.w = r.shape[2];
        e.c = r.ndim == 4 ? r.shape[3] : 1;
    }
    e.x = malloc(sizeof(float) * (size_t)(e.n * d));
    e.st = decode_features(r.data, e.n * d, r.kind, r.width, 1, e.x);
    if (e.st != DC_OK) dexp_free(&e);
    return e;
}

static lexp ref_idx_labels(const bytes *b, int64_t rows, int32_t *buf) {
    idx_ref r = ref_idx(b);
    lexp e = {r.st, 0, NULL};
    if (r.st != DC_OK) return e;
    if (!(r.ndim == 1 || (r.ndim == 2 && r.shape[1] == 1))) {
        e.st = DC_ERR_SHAPE;
        return e;
    }
    if (r.shape[0] != rows) {
        /* The entries are converted (and may fail) before the count check;
         * the data are all present, so shape[0] is bounded by the file. */
        int32_t *tmp = malloc(sizeof(int32_t) * (size_t)(r.shape[0] + 1));
        int st = decode_labels(r.data, r.shape[0], r.kind, r.width, 1, tmp);
        e.st = st != DC_OK ? st : DC_ERR_SHAPE;
        free(tmp);
        return e;
    }
    e.n = rows;
    e.y = buf;
    e.st = decode_labels(r.data, rows, r.kind, r.width, 1, buf);
    return e;
}

static bytes idx_file(unsigned char code, int ndim, const int64_t *shape, const void *data,
                      size_t nbytes) {
    bytes b = {malloc(4 + 4 * (size_t)ndim + nbytes + 1), 4 + 4 * (size_t)ndim + nbytes};
    b.p[0] = b.p[1] = 0;
    b.p[2] = code;
    b.p[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++) b.p[4 + 4 * i + k] = (unsigned char)(shape[i] >> (24 - 8 * k));
    if (nbytes) memcpy(b.p + 4 + 4 * ndim, data, nbytes);
    return b;
}

/* One IDX file, raw and compressed: all truncations, random damage, huge
 * extents; the reference reader decides every outcome. */
static void idx_file_cases(const char *name, const bytes *b, int labels, dc_dataset *ds,
                           const int32_t *before) {
    const int64_t rows = ds ? dc_dataset_rows(ds) : 0;
    for (int gz = 0; gz < 2; gz++) {
        bytes src = gz ? gzip_bytes(b) : splice(b, 0, 0, NULL, 0);
        const char *path = tmp_path(labels ? (gz ? "fuzz-l-idx1-ubyte.gz" : "fuzz-l-idx1-ubyte")
                                        : (gz ? "fuzz-idx3-ubyte.gz" : "fuzz-idx3-ubyte"));
        const size_t ndamage = 300;
        for (size_t t = 0; t <= src.n + ndamage + 24; t++) {
            bytes m;
            char what[96];
            if (t <= src.n) {
                set_case("IDX %s%s cut to %zu of %zu", name, gz ? ".gz" : "", t, src.n);
                m = splice(&src, t, src.n, NULL, 0);
            } else if (t <= src.n + ndamage) {
                size_t at;
                m = random_damage(&src, 0, &at, what, sizeof what);
                set_case("IDX %s%s %s", name, gz ? ".gz" : "", what);
            } else {
                /* An extent set to a huge value (in the uncompressed header). */
                static const uint32_t huge[] = {0x7fffffffu, 0xffffffffu, 0x80000000u,
                                                0x01000000u, 0u, 0x00010000u};
                const int ndim = b->p[3];
                const size_t k = t - src.n - ndamage - 1;
                const int dim = (int)(k % (size_t)ndim);
                const uint32_t v = huge[(k / (size_t)ndim) % 6];
                bytes h = splice(b, 0, 0, NULL, 0);
                for (int q = 0; q < 4; q++)
                    h.p[4 + 4 * dim + q] = (unsigned char)(v >> (24 - 8 * q));
                if (k >= 12) /* every extent huge */
                    for (int dd = 0; dd < ndim; dd++)
                        for (int q = 0; q < 4; q++) h.p[4 + 4 * dd + q] = 0xff;
                set_case("IDX %s%s extent %d = 0x%08x%s", name, gz ? ".gz" : "", dim, (unsigned)v,
                         k >= 12 ? " (all 0xffffffff)" : "");
                m = gz ? gzip_bytes(&h) : h;
                if (gz) free(h.p);
            }
            write_bytes(path, m.p, m.n);
            bytes plain = {NULL, 0};
            int bad = gz ? gunzip_like_gzread(&m, &plain) : 0;
            const bytes *content = gz ? &plain : &m;
            if (labels) {
                int32_t yb[64];
                lexp e = {EXP_FAIL, 0, NULL};
                if (!bad) e = ref_idx_labels(content, rows, yb);
                if (gz && e.st == DC_ERR_TRUNCATED) e.st = EXP_FAIL;
                check_labels_load(ds, path, DC_FORMAT_AUTO, &e, before);
            } else {
                dexp e = {EXP_FAIL, 0, 0, 0, 0, 0, NULL};
                if (!bad) e = ref_idx_dataset(content);
                /* a cut stream may be reported as either */
                if (gz && (bad || e.st == DC_ERR_TRUNCATED)) e.st = EXP_FAIL;
                if (gz && t < src.n) FCHECK(e.st != DC_OK);
                check_dataset_load(path, NULL, &e);
                dexp_free(&e);
            }
            free(plain.p);
            free(m.p);
        }
        free(src.p);
    }
}

static void test_idx(void) {
    /* Images: ubyte 5 x 3 x 4. */
    unsigned char px[60];
    for (int i = 0; i < 60; i++) px[i] = (unsigned char)below(256);
    int64_t shape[3] = {5, 3, 4};
    bytes img = idx_file(0x08, 3, shape, px, 60);
    set_case("valid IDX images");
    write_bytes(tmp_path("fuzz-idx3-ubyte"), img.p, img.n);
    float fx[60];
    for (int i = 0; i < 60; i++) fx[i] = px[i];
    dexp want = {DC_OK, 5, 12, 3, 4, 1, fx};
    check_dataset_load(tmp_path("fuzz-idx3-ubyte"), NULL, &want);
    dexp r = ref_idx_dataset(&img);
    CHECK(r.st == DC_OK && memcmp(r.x, fx, sizeof fx) == 0);
    dexp_free(&r);
    idx_file_cases("u8 5x3x4", &img, 0, NULL, NULL);
    free(img.p);

    /* Other element types, big-endian on disk. */
    static const struct {
        unsigned char code;
        int ndim;
        int64_t shape[4];
    } others[] = {{0x09, 1, {6}}, {0x0B, 2, {4, 3}}, {0x0C, 2, {3, 2}},
                  {0x0D, 2, {4, 2}}, {0x0E, 4, {2, 1, 2, 2}}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char kind = 'u';
        int width = 1;
        idx_kind(others[i].code, &kind, &width);
        int64_t count = 1;
        for (int k = 0; k < others[i].ndim; k++) count *= others[i].shape[k];
        unsigned char le[64], be[64];
        ntype t = {"", kind, width};
        random_elements(le, count, &t);
        for (int64_t e = 0; e < count; e++)
            for (int k = 0; k < width; k++) be[e * width + k] = le[e * width + width - 1 - k];
        bytes b = idx_file(others[i].code, others[i].ndim, others[i].shape, be,
                           (size_t)(count * width));
        char name[32];
        snprintf(name, sizeof name, "type 0x%02x", others[i].code);
        set_case("valid IDX %s", name);
        float vals[64];
        CHECK(decode_features(le, count, kind, width, 0, vals) == DC_OK);
        dexp w = ref_idx_dataset(&b);
        CHECK(w.st == DC_OK && memcmp(w.x, vals, sizeof(float) * (size_t)count) == 0);
        write_bytes(tmp_path("fuzz-idx3-ubyte"), b.p, b.n);
        check_dataset_load(tmp_path("fuzz-idx3-ubyte"), NULL, &w);
        dexp_free(&w);
        idx_file_cases(name, &b, 0, NULL, NULL);
        free(b.p);
    }

    /* Labels: ubyte, 9 entries. */
    dc_dataset *ds = NULL;
    float zero[9] = {0};
    CHECK_OK(dc_dataset_create(&ds, zero, 9, 1, DC_COPY));
    int32_t before[9] = {-5, -5, -5, -5, -5, -5, -5, -5, -5};
    CHECK_OK(dc_dataset_set_labels(ds, before, 9));
    unsigned char lab[9];
    int32_t y[9];
    for (int i = 0; i < 9; i++) y[i] = lab[i] = (unsigned char)below(10);
    int64_t n9 = 9;
    bytes lb = idx_file(0x08, 1, &n9, lab, 9);
    set_case("valid IDX labels");
    write_bytes(tmp_path("fuzz-l-idx1-ubyte"), lb.p, lb.n);
    lexp lw = {DC_OK, 9, y};
    check_labels_load(ds, tmp_path("fuzz-l-idx1-ubyte"), DC_FORMAT_AUTO, &lw, before);
    idx_file_cases("labels", &lb, 1, ds, before);
    free(lb.p);
    dc_dataset_free(ds);
}

int main(void) { return fuzz_main(FUZZ_IDX, test_idx); }
