/* Corrupt NPY files, features and labels, raw and .gz: damaged data must give
 * exactly the damaged values, and implausible header fields a clean failure
 * before any allocation they would size. */
#include "file_fuzz_common.h"

/* ---- NPY ---- */

static const ntype NT_F4 = {"<f4", 'f', 4}, NT_F8 = {"<f8", 'f', 8}, NT_U1 = {"|u1", 'u', 1},
                   NT_I1 = {"|i1", 'i', 1}, NT_I2 = {"<i2", 'i', 2}, NT_I4 = {"<i4", 'i', 4},
                   NT_I8 = {"<i8", 'i', 8};

/* magic, version, header length, the dict padded with blanks and '\n' to a
 * multiple of 64, the data. */
static bytes npy_file(int major, const char *dict, const void *data, size_t nbytes) {
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t total = (pre + len + 1 + 63) / 64 * 64, hlen = total - pre;
    bytes b = {malloc(total + nbytes + 1), total + nbytes};
    memcpy(b.p, "\x93NUMPY", 6);
    b.p[6] = (unsigned char)major;
    b.p[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b.p[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b.p + pre, dict, len);
    memset(b.p + pre + len, ' ', hlen - len - 1);
    b.p[total - 1] = '\n';
    if (nbytes) memcpy(b.p + total, data, nbytes);
    return b;
}

static bytes npy_of(int major, const ntype *t, const char *shape, int fortran, const void *data,
                    size_t nbytes) {
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", t->descr,
             fortran ? "True" : "False", shape);
    return npy_file(major, dict, data, nbytes);
}

typedef struct npy_spec {
    const char *name;
    int major;
    const ntype *t;
    int ndim;
    int64_t shape[4];
    int fortran;
} npy_spec;

static int64_t spec_count(const npy_spec *s) {
    int64_t c = 1;
    for (int i = 0; i < s->ndim; i++) c *= s->shape[i];
    return c;
}

static void spec_shape_text(const npy_spec *s, char *buf, size_t size) {
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < s->ndim; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)s->shape[i]);
    snprintf(buf + k, size - k, s->ndim == 1 ? ",)" : ")");
}

/* The data set a file of this spec with these data bytes gives. */
static dexp npy_expect(const npy_spec *s, const ntype *t, const unsigned char *data) {
    int64_t count = spec_count(s), d = count / s->shape[0];
    dexp e = {DC_OK, s->shape[0], d, 0, 0, 0, malloc(sizeof(float) * (size_t)count)};
    if (s->ndim >= 3) {
        e.h = s->shape[1];
        e.w = s->shape[2];
        e.c = s->ndim == 4 ? s->shape[3] : 1;
    }
    e.st = decode_features(data, count, t->kind, t->width, 0, e.x);
    if (e.st != DC_OK) dexp_free(&e);
    return e;
}

/* The descr in a (possibly damaged) header, if it names one of ours. */
static const ntype *descr_in(const bytes *m, size_t hstart, size_t hend) {
    static const ntype *const all[] = {&NT_F4, &NT_F8, &NT_U1, &NT_I1, &NT_I2, &NT_I4, &NT_I8};
    if (hend > m->n) return NULL;
    const unsigned char *k = NULL;
    for (size_t i = hstart; i + 5 <= hend; i++)
        if (memcmp(m->p + i, "descr", 5) == 0) {
            k = m->p + i + 5;
            break;
        }
    if (!k) return NULL;
    while (k < m->p + hend && *k != '\'' && *k != '"') k++; /* the key's closing quote */
    k++;
    while (k < m->p + hend && *k != '\'' && *k != '"') k++; /* the value's opening quote */
    k++;
    if (k + 4 > m->p + hend || (k[3] != '\'' && k[3] != '"')) return NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (k[1] == all[i]->descr[1] && k[2] == all[i]->descr[2] &&
            (k[0] == '<' || k[0] == '|' || k[0] == '=' || (k[0] == '>' && all[i]->width == 1)))
            return all[i];
    return NULL;
}

static void npy_feature_file(const npy_spec *s) {
    const int64_t count = spec_count(s);
    const size_t nbytes = (size_t)count * (size_t)s->t->width;
    unsigned char *data = malloc(nbytes);
    random_elements(data, count, s->t);
    char shape[96];
    spec_shape_text(s, shape, sizeof shape);
    bytes b = npy_of(s->major, s->t, shape, s->fortran, data, nbytes);
    const size_t hend = b.n - nbytes;
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path("fuzz.npy"));

    set_case("valid NPY %s", s->name);
    dexp good = npy_expect(s, s->t, data);
    CHECK(good.st == DC_OK);
    write_bytes(path, b.p, b.n);
    check_dataset_load(path, NULL, &good);

    /* Every truncation: the file ends before its header says. */
    for (size_t len = 0; len < b.n; len++) {
        set_case("NPY %s cut to %zu of %zu bytes", s->name, len, b.n);
        write_bytes(path, b.p, len);
        dexp e = {DC_ERR_TRUNCATED, 0, 0, 0, 0, 0, NULL};
        check_dataset_load(path, NULL, &e);
    }
    /* Random damage: in the data, exactly the damaged values (or a clean
     * failure for non-finite ones and changed lengths); in the header, a
     * clean failure or the original array (with a descr that may have
     * changed to another of the same width). */
    char what[96];
    for (int t = 0; t < 250; t++) {
        size_t at;
        bytes m = random_damage(&b, t < 125 ? 0 : hend, &at, what, sizeof what);
        set_case("NPY %s %s", s->name, what);
        write_bytes(path, m.p, m.n);
        dexp e = {EXP_FAIL, 0, 0, 0, 0, 0, NULL};
        if (m.n == b.n) {
            const ntype *t2 = at < hend ? descr_in(&m, 10, hend) : s->t;
            if (t2 && t2->width == s->t->width) e = npy_expect(s, t2, m.p + hend);
            /* The header may also have broken: then any clean failure. */
            if (at < hend) e.st = e.st == DC_OK ? EXP_MAYBE : EXP_FAIL;
        } else if (at >= hend) {
            e.st = m.n < b.n ? DC_ERR_TRUNCATED : DC_ERR_FORMAT;
        }
        check_dataset_load(path, NULL, &e);
        dexp_free(&e);
        free(m.p);
    }
    free(b.p);
    dexp_free(&good);
    free(data);
}

/* A header with the given dict text and data, expected status. */
static void npy_header_case(int major, const char *dict, const void *data, size_t nbytes,
                            int want, const char *ext) {
    set_case("NPY%s header %s + %zu data bytes", ext, dict, nbytes);
    bytes b = npy_file(major, dict, data, nbytes);
    char name[32];
    snprintf(name, sizeof name, "fuzz-h.npy%s", ext);
    if (strcmp(ext, ".gz") == 0) {
        bytes g = gzip_bytes(&b);
        write_bytes(tmp_path(name), g.p, g.n);
        free(g.p);
    } else {
        write_bytes(tmp_path(name), b.p, b.n);
    }
    /* The two loadable headers below: (6, 3) float32 and (8, 9) uint8. */
    float x[72];
    const int u8 = strstr(dict, "u1") != NULL;
    for (size_t i = 0; i < 72 && want == DC_OK; i++)
        x[i] = u8 ? (float)((const unsigned char *)data)[i]
                  : i < 18 ? ((const float *)data)[i] : 0.0f;
    dexp e = {want, u8 ? 8 : 6, u8 ? 9 : 3, 0, 0, 0, x};
    check_dataset_load(tmp_path(name), NULL, &e);
    free(b.p);
}

static void test_npy(void) {
    static const npy_spec specs[] = {
        {"f4 (6, 3) v1", 1, &NT_F4, 2, {6, 3}, 0},
        {"f8 (5, 2) v2", 2, &NT_F8, 2, {5, 2}, 0},
        {"u1 (4, 2, 3) v3", 3, &NT_U1, 3, {4, 2, 3}, 0},
        {"i1 (7,) v1", 1, &NT_I1, 1, {7}, 0},
        {"i2 (3, 4) v1", 1, &NT_I2, 2, {3, 4}, 0},
        {"i4 (1, 5) fortran v1", 1, &NT_I4, 2, {1, 5}, 1},
        {"i8 (5, 2) v1", 1, &NT_I8, 2, {5, 2}, 0},
        {"f4 (2, 2, 2, 3) v1", 1, &NT_F4, 4, {2, 2, 2, 3}, 0},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) npy_feature_file(&specs[i]);

    /* Header fields set to implausible values, raw and compressed. */
    float f[20];
    for (int i = 0; i < 20; i++) f[i] = (float)i;
    static const struct {
        const char *dict;
        size_t nbytes;
        int want;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", 0, DC_ERR_SHAPE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", 0, DC_ERR_SHAPE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 0, DC_ERR_SHAPE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", 0,
         DC_ERR_SHAPE},
        {"{'descr': '<f4', 'fortran_order': False, "
         "'shape': (0, 4294967296, 4294967296, 4294967296), }",
         0, DC_ERR_SHAPE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, DC_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 3), }", 72,
         DC_ERR_TRUNCATED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647), }", 72,
         DC_ERR_TRUNCATED}, /* beyond 2^63 bytes, but first: more than the file holds */
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (100000000,), }", 72, DC_ERR_TRUNCATED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 72,
         DC_ERR_TRUNCATED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807,), }", 72,
         DC_ERR_FORMAT}, /* the parser stops below INT64_MAX */
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 72,
         DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
         DC_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 3, 6), }", 72,
         DC_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }", 71, DC_ERR_TRUNCATED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }", 72, DC_OK},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 2), }", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 6, 3), }", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6; 3), }", 72, DC_ERR_FORMAT},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (6, 6), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (6, 3), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (3, 3), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': '|b1', 'fortran_order': False, 'shape': (6, 12), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': '<U3', 'fortran_order': False, 'shape': (6, 1), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': 'O', 'fortran_order': False, 'shape': (9,), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': '', 'fortran_order': False, 'shape': (6, 3), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (18,), }", 72,
         DC_ERR_UNSUPPORTED},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (6, 3), }", 72, DC_ERR_FORMAT},
        {"{'descr': '>u1', 'fortran_order': False, 'shape': (8, 9), }", 72, DC_OK},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (6, 3), }", 72, DC_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6, 3), }", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'shape': (6, 3), }", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), 'x': 1}", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3) 'x'}", 72, DC_ERR_FORMAT},
        {"", 72, DC_ERR_FORMAT},
        {"{", 72, DC_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }", 76, DC_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        npy_header_case(1, cases[i].dict, f, cases[i].nbytes, cases[i].want, "");
        npy_header_case(2, cases[i].dict, f, cases[i].nbytes, cases[i].want, "");
        /* Compressed: the size of the content is unknown up front; a header
         * claiming more than the stream can hold fails the same way. */
        npy_header_case(1, cases[i].dict, f, cases[i].nbytes, cases[i].want, ".gz");
    }

    /* Fields of the 10-byte preamble. */
    unsigned char data[72];
    memcpy(data, f, 72);
    bytes b = npy_of(1, &NT_F4, "(6, 3)", 0, data, 72);
    static const struct {
        size_t at;
        unsigned char v;
        int want;
    } pre[] = {{6, 0, DC_ERR_VERSION}, {6, 4, DC_ERR_VERSION}, {6, 0xff, DC_ERR_VERSION},
               {7, 9, DC_OK}, /* the minor version is not checked */
               {8, 0, DC_ERR_FORMAT}, {9, 0xff, DC_ERR_TRUNCATED}, {0, 0x92, DC_ERR_FORMAT},
               {1, 'n', DC_ERR_FORMAT}};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        set_case("NPY preamble byte %zu = 0x%02x", pre[i].at, pre[i].v);
        bytes m = splice(&b, pre[i].at, 1, &pre[i].v, 1);
        write_bytes(tmp_path("fuzz.npy"), m.p, m.n);
        dexp e = {pre[i].want, 6, 3, 0, 0, 0, f};
        check_dataset_load(tmp_path("fuzz.npy"), NULL, &e);
        free(m.p);
    }
    /* A version 2 header length of 4 GiB - 1 must not be allocated. */
    bytes v2 = npy_of(2, &NT_F4, "(6, 3)", 0, data, 72);
    for (int k = 8; k < 12; k++) v2.p[k] = 0xff;
    set_case("NPY v2 header length 0xffffffff");
    write_bytes(tmp_path("fuzz.npy"), v2.p, v2.n);
    dexp e = {DC_ERR_FORMAT, 0, 0, 0, 0, 0, NULL};
    check_dataset_load(tmp_path("fuzz.npy"), NULL, &e);
    v2.p[11] = 0; /* 16 MiB: still beyond any real header */
    write_bytes(tmp_path("fuzz.npy"), v2.p, v2.n);
    check_dataset_load(tmp_path("fuzz.npy"), NULL, &e);
    free(v2.p);

    /* Compressed NPY: every truncation and random damage of the stream. */
    bytes g = gzip_bytes(&b);
    const size_t hend = b.n - 72;
    for (size_t t = 0; t < g.n + 300; t++) {
        bytes m;
        char what[96];
        if (t < g.n) {
            set_case("NPY.gz cut to %zu of %zu bytes", t, g.n);
            m = splice(&g, t, g.n, NULL, 0);
        } else {
            size_t at;
            m = random_damage(&g, 0, &at, what, sizeof what);
            set_case("NPY.gz %s", what);
        }
        write_bytes(tmp_path("fuzz.npy.gz"), m.p, m.n);
        bytes plain;
        int bad = gunzip_like_gzread(&m, &plain);
        dexp ge = {EXP_FAIL, 0, 0, 0, 0, 0, NULL};
        if (!bad && plain.n == b.n && memcmp(plain.p, b.p, hend) == 0) {
            npy_spec s = {"f4", 1, &NT_F4, 2, {6, 3}, 0};
            ge = npy_expect(&s, &NT_F4, plain.p + hend);
        } else if (!bad && !(plain.n == b.n && memcmp(plain.p, b.p, b.n) == 0)) {
            ge.st = EXP_ANY; /* a different but intact stream (header bytes) */
        }
        if (t < g.n) FCHECK(bad || m.n < 2 || m.p[0] != 0x1f || m.p[1] != 0x8b);
        check_dataset_load(tmp_path("fuzz.npy.gz"), NULL, &ge);
        dexp_free(&ge);
        free(plain.p);
        free(m.p);
    }
    free(g.p);
    free(b.p);

    /* NPY label files: integer vectors, integral floats, a (n, 1) column. */
    dc_dataset *ds = NULL;
    float zero[7] = {0};
    CHECK_OK(dc_dataset_create(&ds, zero, 7, 1, DC_COPY));
    int32_t before[7] = {-1, -1, -1, -1, -1, -1, -1};
    CHECK_OK(dc_dataset_set_labels(ds, before, 7));
    static const struct {
        const ntype *t;
        const char *shape;
    } lspecs[] = {{&NT_I4, "(7,)"}, {&NT_I8, "(7,)"}, {&NT_F8, "(7,)"}, {&NT_U1, "(7, 1)"}};
    for (size_t i = 0; i < sizeof lspecs / sizeof lspecs[0]; i++) {
        const ntype *t = lspecs[i].t;
        unsigned char ld[56];
        int32_t y[7];
        for (int k = 0; k < 7; k++) {
            y[k] = (int32_t)below(10) - (t->kind == 'u' ? 0 : 3);
            if (t->kind == 'f') {
                double v = y[k];
                memcpy(ld + 8 * k, &v, 8);
            } else if (t->width == 8) {
                int64_t v = y[k];
                memcpy(ld + 8 * k, &v, 8);
            } else if (t->width == 4) {
                memcpy(ld + 4 * k, &y[k], 4);
            } else {
                ld[k] = (unsigned char)y[k];
            }
        }
        const size_t nb = (size_t)(7 * t->width);
        bytes lb = npy_of(1, t, lspecs[i].shape, 0, ld, nb);
        const size_t lh = lb.n - nb;
        const char *lp = tmp_path("fuzz-labels.npy");
        set_case("valid NPY labels %s %s", t->descr, lspecs[i].shape);
        write_bytes(lp, lb.p, lb.n);
        lexp want = {DC_OK, 7, y};
        check_labels_load(ds, lp, DC_FORMAT_AUTO, &want, before);
        for (size_t k = 0; k < lb.n + 150; k++) {
            bytes m;
            char what[96];
            size_t at = k;
            if (k < lb.n) {
                set_case("NPY labels %s cut to %zu", t->descr, k);
                m = splice(&lb, k, lb.n, NULL, 0);
            } else {
                m = random_damage(&lb, lh, &at, what, sizeof what);
                set_case("NPY labels %s %s", t->descr, what);
            }
            write_bytes(lp, m.p, m.n);
            lexp le = {EXP_FAIL, 7, NULL};
            int32_t yy[7];
            if (k < lb.n) le.st = DC_ERR_TRUNCATED;
            else if (m.n < lb.n) le.st = DC_ERR_TRUNCATED;
            else if (m.n > lb.n) le.st = DC_ERR_FORMAT;
            else {
                le.st = decode_labels(m.p + lh, 7, t->kind, t->width, 0, yy);
                le.y = yy;
            }
            check_labels_load(ds, lp, DC_FORMAT_AUTO, &le, before);
            free(m.p);
        }
        free(lb.p);
    }
    /* Label vectors of the wrong length or shape, non-integral, huge. */
    static const struct {
        const char *shape;
        const ntype *t;
        size_t count;
        int want;
    } lbad[] = {{"(6,)", &NT_I4, 6, DC_ERR_SHAPE},       {"(8,)", &NT_I4, 8, DC_ERR_SHAPE},
                {"(7, 2)", &NT_I4, 14, DC_ERR_SHAPE},    {"(1, 7)", &NT_I4, 7, DC_ERR_SHAPE},
                {"(0,)", &NT_I4, 0, DC_ERR_SHAPE},       {"(7,)", &NT_F4, 7, DC_ERR_FORMAT},
                {"(2147483647,)", &NT_I4, 7, DC_ERR_TRUNCATED}};
    for (size_t i = 0; i < sizeof lbad / sizeof lbad[0]; i++) {
        unsigned char ld[64];
        const float half = 0.5f;
        for (int k = 0; k < 16; k++)
            if (lbad[i].t == &NT_F4) memcpy(ld + 4 * k, &half, 4);
            else memset(ld + 4 * k, 0, 4);
        bytes lb = npy_of(1, lbad[i].t, lbad[i].shape, 0, ld, lbad[i].count * 4);
        set_case("NPY labels %s %s", lbad[i].t->descr, lbad[i].shape);
        write_bytes(tmp_path("fuzz-labels.npy"), lb.p, lb.n);
        lexp le = {lbad[i].want, 0, NULL};
        check_labels_load(ds, tmp_path("fuzz-labels.npy"), DC_FORMAT_AUTO, &le, before);
        free(lb.p);
    }
    dc_dataset_free(ds);
}

int main(void) { return fuzz_main(FUZZ_NPY, test_npy); }
