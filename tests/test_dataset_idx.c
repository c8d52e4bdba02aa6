/* The IDX reader (data/idx.c), raw and gzip, on files built byte by byte
 * here: element types, labels, damaged streams; and the real Fashion-MNIST
 * test set when installed, cross-checked against numpy. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/util.h"
#include "deepclust.h"
#include "dataset_common.h"

/* ------------------------------------------------------------------ IDX */

static void test_idx(void) {
    unsigned char buf[70000];
    const unsigned char pix[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255};
    size_t n = idx_bytes(buf, 0x08, 3, (const int[]){2, 2, 3}, pix, 12);
    write_bytes(tmp("img-ubyte"), buf, n);
    write_gz(tmp("img-ubyte.gz"), buf, n);
    const float expect[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255};
    int64_t h, w, c;
    for (int gz = 0; gz < 2; gz++) {
        dc_dataset *ds = load(tmp(gz ? "img-ubyte.gz" : "img-ubyte"));
        CHECK(data_equals(ds, 2, 6, expect));
        CHECK(dc_dataset_image_shape(ds, &h, &w, &c) == 1 && h == 2 && w == 3 && c == 1);
        dc_dataset_free(ds);
    }
    /* Wider types are big-endian on disk. */
    const unsigned char i16[4] = {0xFF, 0xFE, 0x01, 0x00};             /* -2, 256 */
    const unsigned char i32[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0}; /* -1, 65536 */
    const unsigned char f32[8] = {0x3F, 0xC0, 0, 0, 0xC1, 0x20, 0, 0}; /* 1.5, -10 */
    const unsigned char f64[16] = {0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0xC0, 0x24, 0, 0, 0, 0, 0, 0};
    const unsigned char i8[2] = {0x80, 0x7F}; /* -128, 127 */
    const struct {
        int type;
        const void *data;
        size_t size;
        float a, b;
    } types[] = {{0x0B, i16, 4, -2, 256},  {0x0C, i32, 8, -1, 65536}, {0x0D, f32, 8, 1.5f, -10},
                 {0x0E, f64, 16, 1.5f, -10}, {0x09, i8, 2, -128, 127}};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        n = idx_bytes(buf, types[t].type, 2, (const int[]){1, 2}, types[t].data, types[t].size);
        write_bytes(tmp("typed.idx"), buf, n);
        dc_dataset *ds = load(tmp("typed.idx"));
        CHECK_MSG(data_equals(ds, 1, 2, (const float[]){types[t].a, types[t].b}), "IDX type 0x%02x",
                  types[t].type);
        dc_dataset_free(ds);
    }

    /* Labels: 1-D ubyte, raw and gzip. */
    dc_dataset *ds = load(tmp("img-ubyte"));
    n = idx_bytes(buf, 0x08, 1, (const int[]){2}, "\x07\x03", 2);
    write_gz(tmp("lab-ubyte.gz"), buf, n);
    CHECK_OK(dc_dataset_load_labels(ds, tmp("lab-ubyte.gz"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 2, (const int32_t[]){7, 3}));
    n = idx_bytes(buf, 0x08, 1, (const int[]){3}, "\x07\x03\x01", 3);
    write_bytes(tmp("lab3.idx"), buf, n);
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("lab3.idx"), DC_FORMAT_AUTO), DC_ERR_SHAPE,
              "labels file has 3 entries, data has 2 rows");
    dc_dataset_free(ds);

    /* Bad input. */
    n = idx_bytes(buf, 0x08, 3, (const int[]){2, 2, 3}, pix, 12);
    write_bytes(tmp("short-ubyte"), buf, n - 2);
    CHECK_ERR(load_status("short-ubyte"), DC_ERR_TRUNCATED, "IDX data");
    write_gz(tmp("short-ubyte.gz"), buf, n - 2);
    CHECK_ERR(load_status("short-ubyte.gz"), DC_ERR_TRUNCATED, "IDX data");
    n = idx_bytes(buf, 0x0E, 3, (const int[]){-1, 1000, 1000}, pix, 12);
    write_bytes(tmp("huge-ubyte"), buf, n);
    CHECK_ERR(load_status("huge-ubyte"), DC_ERR_TRUNCATED, "12 of 34359738360000000 bytes");
    n = idx_bytes(buf, 0x08, 3, (const int[]){2, 2, 3}, pix, 12);
    write_bytes(tmp("hdr-ubyte"), buf, 9);
    CHECK_ERR(load_status("hdr-ubyte"), DC_ERR_TRUNCATED, "IDX header");
    buf[n] = 1;
    write_bytes(tmp("long-ubyte"), buf, n + 1);
    CHECK_ERR(load_status("long-ubyte"), DC_ERR_FORMAT, "longer");
    buf[2] = 0x0A;
    write_bytes(tmp("type-ubyte"), buf, n);
    CHECK_ERR(load_status("type-ubyte"), DC_ERR_FORMAT, "not an IDX file");
    write_text(tmp("text-ubyte"), "hello world\n");
    CHECK_ERR(load_status("text-ubyte"), DC_ERR_FORMAT, "not an IDX file");
    write_text(tmp("empty-ubyte"), "");
    CHECK_ERR(load_status("empty-ubyte"), DC_ERR_FORMAT, "empty");

    /* Damaged gzip: 60000 bytes of images, once compressible (Huffman
     * blocks) and once random (stored blocks), cut in half or with bytes
     * flipped in the middle. */
    unsigned char img[60000];
    for (int kind = 0; kind < 2; kind++) {
        srand(11);
        for (int i = 0; i < 60000; i++)
            img[i] = kind ? (unsigned char)rand() : (unsigned char)((i * 7) % 13 + (i / 600) % 3);
        n = idx_bytes(buf, 0x08, 3, (const int[]){600, 10, 10}, img, sizeof img);
        write_gz(tmp("big-ubyte.gz"), buf, n);
        dc_dataset *big = load(tmp("big-ubyte.gz"));
        CHECK(dc_dataset_rows(big) == 600 && dc_dataset_cols(big) == 100 &&
              dc_dataset_data(big)[12345] == (float)img[12345]);
        dc_dataset_free(big);
        size_t gn = 0;
        unsigned char *gzb = read_file(tmp("big-ubyte.gz"), &gn);
        write_bytes(tmp("cut-ubyte.gz"), gzb, gn / 2);
        CHECK_ERR(load_status("cut-ubyte.gz"), DC_ERR_TRUNCATED, "cut-ubyte.gz");
        write_bytes(tmp("crc-ubyte.gz"), gzb, gn - 6); /* data complete, trailer cut */
        CHECK_STATUS(load_status("crc-ubyte.gz"), DC_ERR_TRUNCATED);
        for (size_t i = gn / 2; i < gn / 2 + 8; i++) gzb[i] ^= 0x5A;
        write_bytes(tmp("bad-ubyte.gz"), gzb, gn);
        CHECK_ERR(load_status("bad-ubyte.gz"), DC_ERR_FORMAT, "corrupt gzip");
        CHECK_MSG(strstr(dc_last_error(), "<fd:") == NULL, "%s", dc_last_error());
        /* 16 bytes declaring a 2^32 x 2^32 array: truncated, not "out of memory". */
        const unsigned char huge[16] = {0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        write_bytes(tmp("huge-idx2-ubyte"), huge, 12);
        CHECK_ERR(load_status("huge-idx2-ubyte"), DC_ERR_TRUNCATED, "file ends inside the IDX data");
        free(gzb);
    }
}

/* ---------------------------------------------------------- real data */

/* The real Fashion-MNIST test set, when installed: sizes, image shape,
 * class balance and values cross-checked against numpy. */
static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char img[256], lab[256];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (!file_exists(img) || !file_exists(lab)) {
        const char *need = getenv("DEEPCLUST_REQUIRE_REFERENCES");
        /* meson sets it: scripts/install-deps.sh installs the data set */
        CHECK_MSG(!need || !strcmp(need, "0") || !*need,
                  "Fashion-MNIST not found in %s (Debian package dataset-fashion-mnist)", dir);
        printf("Fashion-MNIST not found in %s: skipped\n", dir);
        return;
    }
    double t0 = dci_now();
    dc_dataset *ds = load(img);
    double t1 = dci_now();
    CHECK_OK(dc_dataset_load_labels(ds, lab, DC_FORMAT_AUTO));
    CHECK(dc_dataset_rows(ds) == 10000 && dc_dataset_cols(ds) == 784);
    int64_t h, w, c;
    CHECK(dc_dataset_image_shape(ds, &h, &w, &c) == 1 && h == 28 && w == 28 && c == 1);
    const int32_t *y = dc_dataset_labels(ds);
    int counts[10] = {0}, bad = 0;
    for (int i = 0; i < 10000; i++) {
        if (y[i] < 0 || y[i] > 9) bad++;
        else counts[y[i]]++;
    }
    CHECK(bad == 0);
    for (int k = 0; k < 10; k++) CHECK_MSG(counts[k] == 1000, "class %d: %d", k, counts[k]);
    CHECK(y[0] == 9 && y[1] == 2 && y[2] == 1 && y[3] == 1 && y[4] == 6);
    /* numpy: x.astype(int64).sum() == 573469082, x.max() == 255 */
    const float *x = dc_dataset_data(ds);
    double sum = 0, mx = 0;
    for (int64_t i = 0; i < 10000 * 784; i++) {
        sum += x[i];
        if (x[i] > mx) mx = x[i];
    }
    CHECK(sum == 573469082.0 && mx == 255.0);
    printf("t10k images: %.3f s\n", t1 - t0);
    dc_dataset_free(ds);
}

int main(void) {
    make_dir();
    test_idx();
    test_fashion_mnist();
    remove_dir();
    DC_TEST_END();
}
