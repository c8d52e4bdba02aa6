/* The NPY reader and writers (data/npy.c, writer.c): every dtype and
 * version, image shapes, label vectors and every bad input, on files built
 * byte by byte here so that a reader and writer wrong alike cannot agree. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/npy.h"
#include "deepclust.h"
#include "dataset_common.h"

/* ------------------------------------------------------------------ NPY */

/* A .npy file built by hand: magic, version, header length, dict padded
 * with spaces to a multiple of 64 and ended by a newline, then the data. */
static size_t make_npy(unsigned char *out, int major, const char *descr, const char *fortran,
                       const char *shape, const void *data, size_t nbytes) {
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                       descr, fortran, shape);
    int pre = major == 1 ? 10 : 12;
    int total = (pre + len + 1 + 63) / 64 * 64;
    int hlen = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (int i = 0; i < pre - 8; i++) out[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(out + pre, dict, (size_t)len);
    memset(out + pre + len, ' ', (size_t)(hlen - len - 1));
    out[total - 1] = '\n';
    memcpy(out + total, data, nbytes);
    return (size_t)total + nbytes;
}

static void npy_file(const char *name, int major, const char *descr, const char *fortran,
                     const char *shape, const void *data, size_t nbytes) {
    unsigned char buf[4096];
    write_bytes(tmp(name), buf, make_npy(buf, major, descr, fortran, shape, data, nbytes));
}


static void test_npy(void) {
    const float expect[6] = {-1, 2, 3, 4, 5, 100};
    const uint8_t u1[6] = {0, 2, 3, 4, 5, 255};
    const int8_t i1[6] = {-1, 2, 3, 4, 5, 100};
    const int16_t i2[6] = {-1, 2, 3, 4, 5, 100};
    const int32_t i4[6] = {-1, 2, 3, 4, 5, 100};
    const int64_t i8[6] = {-1, 2, 3, 4, 5, 100};
    const double f8[6] = {-1, 2, 3, 4, 5, 100};
    const struct {
        const char *descr;
        const void *data;
        size_t size;
    } types[] = {{"<f4", expect, 4}, {"<f8", f8, 8}, {"|i1", i1, 1}, {"<i2", i2, 2},
                 {"<i4", i4, 4},     {"<i8", i8, 8}, {"|u1", u1, 1}};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (int major = 1; major <= 3; major++) {
            npy_file("t.npy", major, types[t].descr, "False", "(2, 3)", types[t].data,
                     6 * types[t].size);
            dc_dataset *ds = load(tmp("t.npy"));
            if (types[t].data == u1) {
                CHECK(data_equals(ds, 2, 3, (const float[]){0, 2, 3, 4, 5, 255}));
            } else
                CHECK_MSG(data_equals(ds, 2, 3, expect), "dtype %s v%d", types[t].descr, major);
            dc_dataset_free(ds);
        }
    }
    /* Shapes: 1-D is a column; 3-D and 4-D are images. */
    dc_dataset *ds;
    int64_t h, w, c;
    npy_file("v.npy", 1, "<f4", "False", "(6,)", expect, 24);
    ds = load(tmp("v.npy"));
    CHECK(data_equals(ds, 6, 1, expect));
    CHECK(dc_dataset_image_shape(ds, NULL, NULL, NULL) == 0);
    dc_dataset_free(ds);
    npy_file("i3.npy", 1, "<f4", "False", "(2, 1, 3)", expect, 24);
    ds = load(tmp("i3.npy"));
    CHECK(data_equals(ds, 2, 3, expect));
    CHECK(dc_dataset_image_shape(ds, &h, &w, &c) == 1 && h == 1 && w == 3 && c == 1);
    dc_dataset_free(ds);
    npy_file("i4.npy", 1, "|u1", "False", "(1, 2, 1, 3)", u1, 6);
    ds = load(tmp("i4.npy"));
    CHECK(dc_dataset_rows(ds) == 1 && dc_dataset_cols(ds) == 6);
    CHECK(dc_dataset_image_shape(ds, &h, &w, &c) == 1 && h == 2 && w == 1 && c == 3);
    dc_dataset_free(ds);
    /* Fortran order is harmless for a vector. */
    npy_file("fv.npy", 1, "<f4", "True", "(6,)", expect, 24);
    CHECK_OK(load_status("fv.npy"));

    /* Bad input. */
    const float bad[6] = {1, 2, 3, 4, 5, NAN};
    npy_file("nan.npy", 1, "<f4", "False", "(2, 3)", bad, 24);
    CHECK_ERR(load_status("nan.npy"), DC_ERR_NONFINITE, "row 1, column 2 is NaN");
    const double huge[2] = {1, 1e300};
    npy_file("huge.npy", 1, "<f8", "False", "(1, 2)", huge, 16);
    CHECK_ERR(load_status("huge.npy"), DC_ERR_NONFINITE, "row 0, column 1");
    npy_file("fo.npy", 1, "<f4", "True", "(2, 3)", expect, 24);
    CHECK_ERR(load_status("fo.npy"), DC_ERR_UNSUPPORTED, "Fortran");
    npy_file("u2.npy", 1, "<u2", "False", "(2, 3)", i2, 12);
    CHECK_ERR(load_status("u2.npy"), DC_ERR_UNSUPPORTED, "'<u2'");
    npy_file("c8.npy", 1, "<c8", "False", "(3,)", expect, 24);
    CHECK_ERR(load_status("c8.npy"), DC_ERR_UNSUPPORTED, "'<c8'");
    npy_file("be.npy", 1, ">f4", "False", "(2, 3)", expect, 24);
    CHECK_ERR(load_status("be.npy"), DC_ERR_UNSUPPORTED, "big-endian");
    npy_file("sc.npy", 1, "<f4", "False", "()", expect, 4);
    CHECK_ERR(load_status("sc.npy"), DC_ERR_UNSUPPORTED, "()");
    npy_file("zero.npy", 1, "<f4", "False", "(0, 3)", expect, 0);
    CHECK_ERR(load_status("zero.npy"), DC_ERR_SHAPE, "no rows");
    npy_file("short.npy", 1, "<f4", "False", "(2, 3)", expect, 20);
    CHECK_ERR(load_status("short.npy"), DC_ERR_TRUNCATED, "20 of 24 bytes");
    /* A corrupt shape must not make the reader allocate terabytes first. */
    npy_file("huge.npy", 1, "<f4", "False", "(1000000000, 1000000)", expect, 24);
    CHECK_ERR(load_status("huge.npy"), DC_ERR_TRUNCATED, "24 of 4000000000000000 bytes");
    npy_file("long.npy", 1, "<f4", "False", "(1, 3)", expect, 24);
    CHECK_ERR(load_status("long.npy"), DC_ERR_FORMAT, "longer");
    unsigned char buf[512];
    size_t n = make_npy(buf, 1, "<f4", "False", "(2, 3)", expect, 24);
    write_bytes(tmp("cut.npy"), buf, 40); /* inside the header */
    CHECK_ERR(load_status("cut.npy"), DC_ERR_TRUNCATED, "NPY header");
    buf[1] = 'X';
    write_bytes(tmp("magic.npy"), buf, n);
    CHECK_ERR(load_status("magic.npy"), DC_ERR_FORMAT, "magic");
    buf[1] = 'N';
    buf[6] = 4;
    write_bytes(tmp("v4.npy"), buf, n);
    CHECK_ERR(load_status("v4.npy"), DC_ERR_VERSION, "4.0");
    npy_file("junk.npy", 1, "<f4", "False", "(2, 3", expect, 24);
    CHECK_ERR(load_status("junk.npy"), DC_ERR_FORMAT, "malformed NPY header");
    write_text(tmp("text.npy"), "1,2,3\n");
    CHECK_ERR(load_status("text.npy"), DC_ERR_FORMAT, "not an NPY file");

    /* Round trip through the library's writers, and a hand check of what
     * they write. */
    float m[12];
    for (int i = 0; i < 12; i++) m[i] = (float)(i * 0.1 - 0.35);
    CHECK_OK(dc_write_matrix(tmp("m.npy"), m, 3, 4, DC_FORMAT_AUTO));
    ds = load(tmp("m.npy"));
    CHECK(data_equals(ds, 3, 4, m));
    size_t fn;
    unsigned char *raw = read_file(tmp("m.npy"), &fn);
    CHECK(fn == 128 + 48 && raw[127] == '\n' && memcmp(raw + 128, m, 48) == 0);
    CHECK(strstr((char *)raw + 10, "'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)") != NULL);
    free(raw);
    int32_t y[3] = {2, -1, 7};
    CHECK_OK(dc_write_labels(tmp("y.npy"), y, 3, DC_FORMAT_NPY));
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.npy"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, y));
    raw = read_file(tmp("y.npy"), &fn);
    CHECK(fn == 128 + 12 && strstr((char *)raw + 10, "'descr': '<i4'") && strstr((char *)raw + 10, "(3,)"));
    free(raw);
    /* The internal writer, also used by the model files. */
    const double v[4] = {0.5, -2, 1e300, 3};
    CHECK_OK(dci_npy_write(tmp("d.npy"), DCI_DT_F64, (const int64_t[]){2, 2}, 2, v));
    dci_array a;
    CHECK_OK(dci_npy_read(tmp("d.npy"), &a));
    CHECK(a.dtype == DCI_DT_F64 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 2 &&
          memcmp(a.data, v, sizeof v) == 0);
    dci_array_free(&a);

    /* Label vectors: integers, or floats with integral values. */
    const double fl[3] = {0, 2, 1};
    npy_file("fl.npy", 1, "<f8", "False", "(3,)", fl, 24);
    CHECK_OK(dc_dataset_load_labels(ds, tmp("fl.npy"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){0, 2, 1}));
    const double fl2[3] = {0, 2.5, 1};
    npy_file("fl2.npy", 1, "<f8", "False", "(3,)", fl2, 24);
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("fl2.npy"), DC_FORMAT_AUTO), DC_ERR_FORMAT, "entry 1 is 2.5");
    const int64_t wide[3] = {0, 1, 1ll << 40};
    npy_file("wide.npy", 1, "<i8", "False", "(3,)", wide, 24);
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("wide.npy"), DC_FORMAT_AUTO), DC_ERR_FORMAT, "entry 2");
    npy_file("mat.npy", 1, "<i4", "False", "(3, 2)", i4, 24);
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("mat.npy"), DC_FORMAT_AUTO), DC_ERR_SHAPE, "(3, 2)");
    npy_file("four.npy", 1, "<i4", "False", "(4,)", i4, 16);
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("four.npy"), DC_FORMAT_AUTO), DC_ERR_SHAPE,
              "labels file has 4 entries, data has 3 rows");
    CHECK(labels_equal(ds, 3, (const int32_t[]){0, 2, 1})); /* unchanged by failures */
    dc_dataset_free(ds);
}

int main(void) {
    make_dir();
    test_npy();
    remove_dir();
    DC_TEST_END();
}
