/* Data sets: creation and ownership, normalisation, CSV / NPY / IDX(.gz)
 * readers, label files, writers, and every bad-input path. Files are written
 * byte by byte here, independently of the library's own writers. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "test_bytes.h"
#include "core/util.h"
#include "data/fileio.h"
#include "data/npy.h"
#include "deepclust.h"

/* Status and a fragment the detail must contain. */
#define CHECK_ERR(expr, code, fragment)                                                   \
    do {                                                                                  \
        CHECK_STATUS(expr, code);                                                         \
        CHECK_MSG(strstr(dc_last_error(), (fragment)) != NULL, "detail '%s' lacks '%s'", \
                  dc_last_error(), (fragment));                                           \
    } while (0)

static char g_dir[64];

static const char *tmp(const char *name) {
    static char buf[8][512];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, data, (unsigned)n) != (int)n) {
        fprintf(stderr, "gz write %s failed\n", path);
        exit(2);
    }
    gzclose(g);
}

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    b[*n] = 0;
    fclose(f);
    return b;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Files in g_dir whose name starts with `prefix` (left-over temporaries). */
static int count_prefixed(const char *prefix) {
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void remove_dir(void) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        const char *p = tmp(e->d_name);
        if (remove(p) != 0) rmdir(p);
    }
    closedir(d);
    rmdir(g_dir);
}

static dc_dataset *load(const char *path) {
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, path, NULL);
    CHECK_MSG(st == DC_OK, "loading %s: %s", path, dc_last_error());
    return ds;
}

static int data_equals(const dc_dataset *ds, int64_t n, int64_t d, const float *expect) {
    if (!ds || dc_dataset_rows(ds) != n || dc_dataset_cols(ds) != d) return 0;
    return memcmp(dc_dataset_data(ds), expect, (size_t)(n * d) * sizeof(float)) == 0;
}

static int labels_equal(const dc_dataset *ds, int64_t n, const int32_t *expect) {
    const int32_t *y = dc_dataset_labels(ds);
    return y && dc_dataset_rows(ds) == n && memcmp(y, expect, (size_t)n * sizeof *y) == 0;
}

/* ---------------------------------------------------------------- memory */

static void test_create(void) {
    float a[6] = {1, 2, 3, 4, 5, 6};
    dc_dataset *c = NULL, *b = NULL;
    CHECK_OK(dc_dataset_create(&c, a, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_create(&b, a, 3, 2, DC_BORROW));
    CHECK(dc_dataset_rows(c) == 3 && dc_dataset_cols(c) == 2);
    CHECK(dc_dataset_data(b) == a);
    CHECK(dc_dataset_data(c) != a);
    a[0] = 100;
    CHECK(dc_dataset_data(c)[0] == 1.0f);   /* copy: independent of the caller */
    CHECK(dc_dataset_data(b)[0] == 100.0f); /* borrow: sees the caller's array */
    CHECK(dc_dataset_labels(c) == NULL);
    int64_t h = 9, w = 9, ch = 9;
    CHECK(dc_dataset_image_shape(c, &h, &w, &ch) == 0 && h == 0 && w == 0 && ch == 0);

    /* Normalising a borrowed set copies first: the caller's array stays. */
    CHECK_OK(dc_dataset_normalize(b, DC_NORM_SCALE255));
    CHECK(a[0] == 100.0f && a[5] == 6.0f);
    CHECK(dc_dataset_data(b) != a);
    CHECK(dc_dataset_data(b)[0] == 100.0f / 255.0f && dc_dataset_data(b)[5] == 6.0f / 255.0f);
    dc_dataset_free(b);
    dc_dataset_free(c);
    dc_dataset_free(NULL);
    CHECK(dc_dataset_rows(NULL) == 0 && dc_dataset_data(NULL) == NULL);

    dc_dataset *x = (dc_dataset *)&x;
    CHECK_ERR(dc_dataset_create(NULL, a, 3, 2, DC_COPY), DC_ERR_NULL, "out");
    CHECK_ERR(dc_dataset_create(&x, NULL, 3, 2, DC_COPY), DC_ERR_NULL, "data");
    CHECK(x == NULL); /* out is cleared on failure */
    CHECK_ERR(dc_dataset_create(&x, a, 0, 2, DC_COPY), DC_ERR_SHAPE, "no rows");
    CHECK_ERR(dc_dataset_create(&x, a, -1, 2, DC_COPY), DC_ERR_SHAPE, "no rows");
    CHECK_ERR(dc_dataset_create(&x, a, 3, 0, DC_BORROW), DC_ERR_SHAPE, "no columns");
    CHECK_ERR(dc_dataset_create(&x, a, 3, 2, (dc_ownership)5), DC_ERR_INVALID_ARG, "mode 5");
    a[3] = NAN;
    CHECK_ERR(dc_dataset_create(&x, a, 3, 2, DC_COPY), DC_ERR_NONFINITE, "row 1, column 1");
    a[3] = 4;
    a[4] = -INFINITY;
    CHECK_ERR(dc_dataset_create(&x, a, 3, 2, DC_BORROW), DC_ERR_NONFINITE, "row 2, column 0 is Inf");
    CHECK(x == NULL);
}

static void test_labels_shape_subset(void) {
    float a[20];
    for (int i = 0; i < 20; i++) a[i] = (float)i;
    int32_t y[5] = {4, 3, 2, 1, 0};
    dc_dataset *ds = NULL, *sub = NULL;
    CHECK_OK(dc_dataset_create(&ds, a, 5, 4, DC_COPY));
    CHECK_ERR(dc_dataset_set_labels(ds, y, 4), DC_ERR_SHAPE, "4 labels, data has 5 rows");
    CHECK_ERR(dc_dataset_set_labels(ds, NULL, 5), DC_ERR_NULL, "labels");
    CHECK_OK(dc_dataset_set_labels(ds, y, 5));
    y[0] = 99;
    CHECK(dc_dataset_labels(ds)[0] == 4); /* copied */
    CHECK_ERR(dc_dataset_set_image_shape(ds, 2, 3, 1), DC_ERR_SHAPE, "4 columns");
    CHECK_STATUS(dc_dataset_set_image_shape(ds, 0, 4, 1), DC_ERR_SHAPE);
    CHECK_OK(dc_dataset_set_image_shape(ds, 2, 2, 1));
    int64_t h, w, c;
    CHECK(dc_dataset_image_shape(ds, &h, &w, &c) == 1 && h == 2 && w == 2 && c == 1);

    CHECK_OK(dc_dataset_subset(&sub, ds, 1, 3));
    CHECK(data_equals(sub, 3, 4, a + 4));
    CHECK(labels_equal(sub, 3, (const int32_t[]){3, 2, 1}));
    CHECK(dc_dataset_image_shape(sub, &h, &w, &c) == 1 && h == 2 && w == 2 && c == 1);
    dc_dataset_free(sub);
    CHECK_ERR(dc_dataset_subset(&sub, ds, 3, 3), DC_ERR_INVALID_ARG, "outside");
    CHECK_STATUS(dc_dataset_subset(&sub, ds, -1, 2), DC_ERR_INVALID_ARG);
    CHECK_ERR(dc_dataset_subset(&sub, ds, 0, 0), DC_ERR_SHAPE, "no rows");
    CHECK_STATUS(dc_dataset_subset(&sub, NULL, 0, 1), DC_ERR_NULL);
    /* Bounds near INT64_MAX: the detail gives the rows asked for, computed
     * without signed overflow (UBSan), never a wrapped negative number. */
    CHECK_ERR(dc_dataset_subset(&sub, ds, INT64_MAX - 1, 5), DC_ERR_INVALID_ARG,
              "5 rows from row 9223372036854775806 are outside 0..4");
    CHECK_ERR(dc_dataset_subset(&sub, ds, INT64_MAX, INT64_MAX), DC_ERR_INVALID_ARG,
              "from row 9223372036854775807");
    CHECK_ERR(dc_dataset_subset(&sub, ds, 4, INT64_MAX), DC_ERR_INVALID_ARG, "outside 0..4");
    CHECK(sub == NULL);
    dc_dataset_free(ds);
}

/* ------------------------------------------------------------ normalise */

static void test_normalize(void) {
    /* Feature 0: 1, 2, 4 (min 1, range 3, mean 7/3, population std sqrt(14)/3);
     * feature 1 is constant and must become 0 under minmax and zscore. */
    const float base[6] = {1, 5, 2, 5, 4, 5};
    const double s14 = sqrt(14.0);
    dc_dataset *ds = NULL;

    CHECK_OK(dc_dataset_create(&ds, base, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_SCALE255));
    const float *x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], 1.0 / 255, 1e-7);
    CHECK_NEAR(x[4], 4.0 / 255, 1e-7);
    CHECK_NEAR(x[5], 5.0 / 255, 1e-7);
    dc_dataset_free(ds);

    CHECK_OK(dc_dataset_create(&ds, base, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_MINMAX));
    x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], 0.0, 0);
    CHECK_NEAR(x[2], 1.0 / 3, 1e-7);
    CHECK_NEAR(x[4], 1.0, 1e-7);
    CHECK(x[1] == 0.0f && x[3] == 0.0f && x[5] == 0.0f);
    dc_dataset_free(ds);

    CHECK_OK(dc_dataset_create(&ds, base, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_ZSCORE));
    x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], -4 / s14, 1e-6);
    CHECK_NEAR(x[2], -1 / s14, 1e-6);
    CHECK_NEAR(x[4], 5 / s14, 1e-6);
    CHECK(x[1] == 0.0f && x[3] == 0.0f && x[5] == 0.0f);
    dc_dataset_free(ds);

    /* The same feature shifted by 2^20: float accumulation of x^2 would lose
     * the spread entirely; double two-pass statistics keep it. */
    const float shifted[6] = {1048577, 5, 1048578, 5, 1048580, 5};
    CHECK_OK(dc_dataset_create(&ds, shifted, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_ZSCORE));
    x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], -4 / s14, 1e-6);
    CHECK_NEAR(x[4], 5 / s14, 1e-6);
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_NONE));
    CHECK_NEAR(x[4], 5 / s14, 1e-6);
    CHECK_ERR(dc_dataset_normalize(ds, (dc_normalization)9), DC_ERR_INVALID_ARG, "mode 9");
    CHECK_STATUS(dc_dataset_normalize(NULL, DC_NORM_ZSCORE), DC_ERR_NULL);
    dc_dataset_free(ds);

    dc_normalization m = DC_NORM_NONE;
    CHECK_OK(dc_normalization_from_name("zscore", &m));
    CHECK(m == DC_NORM_ZSCORE);
    CHECK_OK(dc_normalization_from_name("MinMax", &m));
    CHECK(m == DC_NORM_MINMAX);
    CHECK_OK(dc_normalization_from_name("scale255", &m));
    CHECK(m == DC_NORM_SCALE255);
    CHECK_OK(dc_normalization_from_name("none", &m));
    CHECK(m == DC_NORM_NONE);
    CHECK_ERR(dc_normalization_from_name("l2", &m), DC_ERR_UNKNOWN_NAME, "'l2'");
    CHECK_STATUS(dc_normalization_from_name(NULL, &m), DC_ERR_NULL);
}

/* ------------------------------------------------------------------ CSV */

static dc_dataset *load_csv(const char *name, const char *text, int label_column) {
    write_text(tmp(name), text);
    dc_load_options o;
    dc_load_options_default(&o);
    o.label_column = label_column;
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, tmp(name), &o);
    CHECK_MSG(st == DC_OK, "%s: %s", name, dc_last_error());
    return ds;
}

static dc_status csv_status(const char *name, const char *text, const dc_load_options *o) {
    write_text(tmp(name), text);
    dc_dataset *ds = (dc_dataset *)&ds;
    dc_status st = dc_dataset_load(&ds, tmp(name), o);
    if (st == DC_OK) dc_dataset_free(ds);
    else CHECK(ds == NULL);
    return st;
}

/* Options set by name (the bindings' path) load exactly like the struct fields. */
static void test_options_by_name(void) {
    CHECK(dc_load_options_size() == sizeof(dc_load_options));
    dc_load_options o;
    dc_load_options_default(&o);
    CHECK_OK(dc_load_options_set(&o, "delimiter", ';'));
    CHECK_OK(dc_load_options_set(&o, "header", 1));
    CHECK_OK(dc_load_options_set(&o, "label_column", DC_LABEL_COLUMN_LAST));
    CHECK_OK(dc_load_options_set(&o, "format", DC_FORMAT_CSV));
    CHECK(o.delimiter == ';' && o.header == 1 && o.label_column == DC_LABEL_COLUMN_LAST &&
          o.format == DC_FORMAT_CSV);
    write_text(tmp("named.txt"), "a;b;y\n1;2;7\n3;4;8\n");
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_load(&ds, tmp("named.txt"), &o));
    CHECK(ds && dc_dataset_rows(ds) == 2 && dc_dataset_cols(ds) == 2);
    CHECK(ds && dc_dataset_labels(ds) && dc_dataset_labels(ds)[1] == 8);
    dc_dataset_free(ds);
    CHECK_STATUS(dc_load_options_set(&o, "header", 2), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_load_options_set(&o, "delimiter", 0.5), DC_ERR_INVALID_ARG);
    /* Only the delimiters the reader knows (dataset.h), as the struct's field. */
    CHECK_ERR(dc_load_options_set(&o, "delimiter", 'x'), DC_ERR_INVALID_ARG, "','");
    CHECK_STATUS(dc_load_options_set(&o, "delimiter", '.'), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_load_options_set(&o, "delimiter", '"'), DC_ERR_INVALID_ARG);
    CHECK(o.delimiter == ';'); /* unchanged by the refusals */
    for (const char *ok = ",;\t "; *ok; ok++) CHECK_OK(dc_load_options_set(&o, "delimiter", *ok));
    CHECK_OK(dc_load_options_set(&o, "delimiter", 0));
    CHECK(o.delimiter == 0);
    CHECK_STATUS(dc_load_options_set(&o, "format", 9), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_load_options_set(&o, "quote", 1), DC_ERR_UNKNOWN_NAME);
    CHECK_STATUS(dc_load_options_set(NULL, "header", 1), DC_ERR_NULL);
}

static void test_csv(void) {
    dc_dataset *ds;
    /* Header detected, comma, label last. */
    ds = load_csv("h.csv", "a,b,label\n1,2,3\n4.5,-6,7\n", DC_LABEL_COLUMN_LAST);
    CHECK(data_equals(ds, 2, 2, (const float[]){1, 2, 4.5f, -6}));
    CHECK(labels_equal(ds, 2, (const int32_t[]){3, 7}));
    dc_dataset_free(ds);
    /* No header, semicolon, label column 0, CRLF, blank trailing lines. */
    ds = load_csv("s.csv", "1;2;3\r\n4;5;6\r\n\r\n\n", 0);
    CHECK(data_equals(ds, 2, 2, (const float[]){2, 3, 5, 6}));
    CHECK(labels_equal(ds, 2, (const int32_t[]){1, 4}));
    dc_dataset_free(ds);
    /* Tab, no labels, no final newline; label column in the middle. */
    ds = load_csv("t.tsv", "1\t2\t3\n4\t5\t6", DC_LABEL_COLUMN_NONE);
    CHECK(data_equals(ds, 2, 3, (const float[]){1, 2, 3, 4, 5, 6}));
    CHECK(dc_dataset_labels(ds) == NULL);
    dc_dataset_free(ds);
    ds = load_csv("t2.txt", "x\ty\tz\r\n1\t2\t3\r\n4\t5\t6\r\n", 1);
    CHECK(data_equals(ds, 2, 2, (const float[]){1, 3, 4, 6}));
    CHECK(labels_equal(ds, 2, (const int32_t[]){2, 5}));
    dc_dataset_free(ds);
    /* Whitespace-separated (numpy.savetxt), comment lines, float labels "3.0". */
    ds = load_csv("w.txt", "# written by savetxt\n 1.5  2e1 3.0\n-1 -2 -3.0\n", DC_LABEL_COLUMN_LAST);
    CHECK(data_equals(ds, 2, 2, (const float[]){1.5f, 20, -1, -2}));
    CHECK(labels_equal(ds, 2, (const int32_t[]){3, -3}));
    dc_dataset_free(ds);
    /* Quoted header, UTF-8 BOM, blank line in the middle, gzip-compressed. */
    const char *q = "\xEF\xBB\xBF\"x\",\"y, the second\"\n1,2\n\n3,4\n";
    write_gz(tmp("q.csv.gz"), q, strlen(q));
    ds = load(tmp("q.csv.gz"));
    CHECK(data_equals(ds, 2, 2, (const float[]){1, 2, 3, 4}));
    dc_dataset_free(ds);

    /* Header forced on and off. */
    dc_load_options o;
    dc_load_options_default(&o);
    CHECK(o.struct_size == (int)sizeof o && o.header == -1 && o.delimiter == 0 &&
          o.label_column == DC_LABEL_COLUMN_NONE && o.format == DC_FORMAT_AUTO);
    o.header = 1;
    write_text(tmp("f.csv"), "1,2\n3,4\n");
    CHECK_OK(dc_dataset_load(&ds, tmp("f.csv"), &o));
    CHECK(data_equals(ds, 1, 2, (const float[]){3, 4}));
    dc_dataset_free(ds);
    o.header = 0;
    o.delimiter = ';'; /* explicit delimiter: commas are then part of a cell */
    CHECK_ERR(dc_dataset_load(&ds, tmp("f.csv"), &o), DC_ERR_FORMAT, "'1,2' is not a number");

    /* Decimal parsing matches strtof exactly (the fast path must round as
     * strtof does): random decimals of every common shape, plus values at
     * float midpoints, range edges and subnormals. */
    static const char *hard[] = {"16777217", "16777217.00000001", "16777216.99999999", "0.1",
                                 "3.4028235e38", "3.40282346e38", "1.17549435e-38", "1e-40",
                                 "-0", "0.000000000000000000000000001234", "9007199254740993",
                                 "1.00000005960464477539062", "33554434.999999999", "1e22",
                                 "1e23", "123456789012345678901", "5e-324", ".5", "7.", "+3",
                                 /* the nearest double is a float midpoint: */
                                 "7.01546383652385e-7", "5.334831909564741e-9",
                                 "1.018550656735897e-1"};
    const int nhard = (int)(sizeof hard / sizeof hard[0]);
    char *text = malloc(400000), *p = text;
    float expect[8000];
    srand(7);
    for (int i = 0; i < 8000; i++) {
        char cell[64];
        int kind = i % 8;
        double u = (double)rand() / RAND_MAX - 0.5;
        if (i < nhard) snprintf(cell, sizeof cell, "%s", hard[i]);
        else if (kind == 0) snprintf(cell, sizeof cell, "%d", rand() % 20000000 - 10000000);
        else if (kind == 1) snprintf(cell, sizeof cell, "%d.%0*d", rand() % 1000, 1 + rand() % 7, rand() % 10000);
        else if (kind == 2) snprintf(cell, sizeof cell, "-0.%06d%04d", rand() % 1000000, rand() % 10000);
        else if (kind == 3) snprintf(cell, sizeof cell, "%.3e", u * pow(10.0, rand() % 60 - 30));
        else if (kind == 4) snprintf(cell, sizeof cell, "%.9g", (double)(float)(u * pow(10.0, rand() % 20 - 10)));
        else if (kind == 5) snprintf(cell, sizeof cell, "%.17g", u * pow(10.0, rand() % 20 - 10));
        else if (kind == 6) snprintf(cell, sizeof cell, "%.15g", u / 255.0);
        else snprintf(cell, sizeof cell, "%.*f", rand() % 18, u * 1000);
        expect[i] = strtof(cell, NULL);
        p += sprintf(p, "%s%c", cell, i % 8 == 7 ? '\n' : ',');
    }
    write_text(tmp("r.csv"), text);
    free(text);
    ds = load(tmp("r.csv"));
    CHECK(data_equals(ds, 1000, 8, expect));
    for (int i = 0; ds && i < 8000; i++)
        if (memcmp(&dc_dataset_data(ds)[i], &expect[i], sizeof(float)))
            CHECK_MSG(0, "cell %d: %.9g != strtof %.9g", i, dc_dataset_data(ds)[i], expect[i]);
    dc_dataset_free(ds);

    /* Bad input: each with the specific code and the line/column. */
    CHECK_STATUS(csv_status("bad1.csv", "a,b,c\n1,2,3\n\n4,5\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 4: expected 3 fields, got 2") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("bad2.csv", "1,2\n3,4,5,6\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 2: expected 2 fields, got 4") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("bad3.csv", "1,2\n3,abc\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 2, column 2: 'abc'") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("bad4.csv", "1,2\n3,\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 2, column 2") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("empty.csv", "", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "empty file") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("blank.csv", "\n \r\n\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "empty file") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("hdr.csv", "a,b\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "no data rows") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("nan.csv", "1,2\n3,4\n5,nan\n", NULL), DC_ERR_NONFINITE);
    CHECK_MSG(strstr(dc_last_error(), "line 3, column 2 is NaN") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("inf.csv", "1,-inf\n", NULL), DC_ERR_NONFINITE);
    CHECK_MSG(strstr(dc_last_error(), "line 1, column 2 is Inf") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("big.csv", "1,1e39\n", NULL), DC_ERR_NONFINITE);
    dc_load_options_default(&o);
    o.label_column = DC_LABEL_COLUMN_LAST;
    CHECK_STATUS(csv_status("lab.csv", "1,2\n3,2.5\n", &o), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 2, column 2: '2.5' is not an integer label") != NULL,
              "%s", dc_last_error());
    CHECK_STATUS(csv_status("one.csv", "1\n2\n", &o), DC_ERR_SHAPE);
    o.label_column = 2;
    CHECK_STATUS(csv_status("col.csv", "1,2\n", &o), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "label column 2") != NULL, "%s", dc_last_error());
    o.label_column = -3;
    CHECK_STATUS(csv_status("col.csv", "1,2\n", &o), DC_ERR_INVALID_ARG);
    dc_load_options_default(&o);
    o.struct_size = 0;
    CHECK_STATUS(csv_status("col.csv", "1,2\n", &o), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "dc_load_options_default") != NULL, "%s", dc_last_error());
    dc_load_options_default(&o);
    o.delimiter = 'x';
    CHECK_STATUS(csv_status("col.csv", "1,2\n", &o), DC_ERR_INVALID_ARG);
}

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

static dc_status load_status(const char *name) {
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, tmp(name), NULL);
    dc_dataset_free(ds);
    return st;
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
        size_t gn;
        unsigned char *gzb = read_file(tmp("big-ubyte.gz"), &gn);
        write_bytes(tmp("cut-ubyte.gz"), gzb, gn / 2);
        CHECK_ERR(load_status("cut-ubyte.gz"), DC_ERR_TRUNCATED, "cut-ubyte.gz");
        write_bytes(tmp("crc-ubyte.gz"), gzb, gn - 6); /* data complete, trailer cut */
        CHECK_STATUS(load_status("crc-ubyte.gz"), DC_ERR_TRUNCATED);
        for (size_t i = gn / 2; i < gn / 2 + 8; i++) gzb[i] ^= 0x5A;
        write_bytes(tmp("bad-ubyte.gz"), gzb, gn);
        CHECK_ERR(load_status("bad-ubyte.gz"), DC_ERR_FORMAT, "corrupt gzip");
        free(gzb);
    }
}

/* ------------------------------------------------- names, labels, writers */

static void test_paths_and_labels(void) {
    dc_format f = DC_FORMAT_AUTO;
    CHECK(dci_format_from_path("a/train-images-idx3-ubyte.gz", &f) == DC_OK && f == DC_FORMAT_IDX);
    CHECK(dci_format_from_path("train-images.idx3-ubyte", &f) == DC_OK && f == DC_FORMAT_IDX);
    CHECK(dci_format_from_path("x.idx1", &f) == DC_OK && f == DC_FORMAT_IDX);
    CHECK(dci_format_from_path("X.NPY", &f) == DC_OK && f == DC_FORMAT_NPY);
    CHECK(dci_format_from_path("x.npy.gz", &f) == DC_OK && f == DC_FORMAT_NPY);
    CHECK(dci_format_from_path("x.tsv", &f) == DC_OK && f == DC_FORMAT_CSV);
    CHECK(dci_format_from_path("x.txt.gz", &f) == DC_OK && f == DC_FORMAT_CSV);
    CHECK_STATUS(dci_format_from_path("x.gz", &f), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dci_format_from_path("x.csv.bz2", &f), DC_ERR_UNSUPPORTED);

    dc_dataset *ds = (dc_dataset *)&ds;
    write_text(tmp("data.dat"), "1,2\n3,4\n5,6\n");
    CHECK_ERR(dc_dataset_load(&ds, tmp("data.dat"), NULL), DC_ERR_UNSUPPORTED, "--format");
    CHECK_MSG(strstr(dc_last_error(), ".csv") && strstr(dc_last_error(), "-ubyte"), "%s", dc_last_error());
    CHECK(ds == NULL);
    CHECK_ERR(dc_dataset_load(&ds, tmp("missing.csv"), NULL), DC_ERR_IO, "No such file or directory");
    CHECK_MSG(strstr(dc_last_error(), "missing.csv") != NULL, "%s", dc_last_error());
    mkdir(tmp("dir.csv"), 0700);
    CHECK_ERR(dc_dataset_load(&ds, tmp("dir.csv"), NULL), DC_ERR_IO, "Is a directory");
    CHECK_STATUS(dc_dataset_load(&ds, NULL, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_dataset_load(NULL, tmp("data.dat"), NULL), DC_ERR_NULL);
    dc_load_options o;
    dc_load_options_default(&o);
    o.format = DC_FORMAT_CSV; /* an explicit format overrides the name */
    CHECK_OK(dc_dataset_load(&ds, tmp("data.dat"), &o));
    CHECK(dc_dataset_rows(ds) == 3 && dc_dataset_cols(ds) == 2);

    /* Text label files: first column, optional header, "3.0" accepted. */
    write_text(tmp("y.csv"), "label,name\n1,cat\n2.0,dog\r\n-3,cow\n\n");
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.csv"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){1, 2, -3}));
    write_text(tmp("y.txt"), "4\n5\n6\n");
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.txt"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){4, 5, 6}));
    write_text(tmp("y2.txt"), "4\n5\n");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y2.txt"), DC_FORMAT_AUTO), DC_ERR_SHAPE,
              "labels file has 2 entries, data has 3 rows");
    write_text(tmp("y3.txt"), "4\nfive\n6\n");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y3.txt"), DC_FORMAT_AUTO), DC_ERR_FORMAT, "line 2");
    write_text(tmp("y4.txt"), "4\n5.5\n6\n");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y4.txt"), DC_FORMAT_AUTO), DC_ERR_FORMAT,
              "'5.5' is not an integer label");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y.bin"), DC_FORMAT_AUTO), DC_ERR_UNSUPPORTED, "--format");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("none.txt"), DC_FORMAT_AUTO), DC_ERR_IO, "none.txt");
    CHECK_STATUS(dc_dataset_load_labels(NULL, tmp("y.txt"), DC_FORMAT_AUTO), DC_ERR_NULL);
    CHECK(labels_equal(ds, 3, (const int32_t[]){4, 5, 6}));
    dc_dataset_free(ds);
}

static void test_writers(void) {
    const float m[6] = {1, 0.5f, -2, 3, 1e10f, 0.1f};
    CHECK_OK(dc_write_matrix(tmp("w.csv"), m, 2, 3, DC_FORMAT_AUTO));
    size_t n;
    unsigned char *raw = read_file(tmp("w.csv"), &n);
    CHECK_MSG(raw && !strcmp((char *)raw, "1,0.5,-2\n3,1e+10,0.100000001\n"), "got '%s'", raw);
    free(raw);
    const int32_t y[3] = {3, -1, 2147483647};
    CHECK_OK(dc_write_labels(tmp("w.txt"), y, 3, DC_FORMAT_AUTO));
    raw = read_file(tmp("w.txt"), &n);
    CHECK_MSG(raw && !strcmp((char *)raw, "3\n-1\n2147483647\n"), "got '%s'", raw);
    free(raw);
    CHECK_OK(dc_write_matrix(tmp("w.tsv"), m, 3, 2, DC_FORMAT_AUTO));
    raw = read_file(tmp("w.tsv"), &n);
    CHECK_MSG(raw && !strncmp((char *)raw, "1\t0.5\n", 6), "got '%s'", raw);
    free(raw);

    /* %.9g reads back to the same float for every value. */
    float r[1000];
    srand(3);
    for (int i = 0; i < 1000; i++)
        r[i] = (float)((rand() - RAND_MAX / 2) * pow(10.0, rand() % 40 - 20) / RAND_MAX);
    r[0] = -0.0f;
    r[1] = 123456789.0f;
    r[2] = 1e-38f;
    CHECK_OK(dc_write_matrix(tmp("rt.csv"), r, 100, 10, DC_FORMAT_AUTO));
    dc_dataset *ds = load(tmp("rt.csv"));
    CHECK(data_equals(ds, 100, 10, r));
    dc_dataset_free(ds);

    /* Permissions as for a plain fopen (mkstemp alone would give 0600). */
    umask(027);
    CHECK_OK(dc_write_labels(tmp("perm.csv"), y, 3, DC_FORMAT_AUTO));
    struct stat st;
    CHECK(stat(tmp("perm.csv"), &st) == 0 && (st.st_mode & 0777) == 0640);
    umask(022);

    /* Failures leave nothing behind and `path` untouched. */
    CHECK_ERR(dc_write_matrix(tmp("nodir/m.csv"), m, 2, 3, DC_FORMAT_AUTO), DC_ERR_IO, "nodir/m.csv");
    CHECK(!file_exists(tmp("nodir/m.csv")) && !file_exists(tmp("nodir")));
    write_text(tmp("keep.npy"), "old");
    CHECK_ERR(dc_write_matrix(tmp("keep.npy"), m, 2, 3, DC_FORMAT_IDX), DC_ERR_UNSUPPORTED, "IDX");
    CHECK_ERR(dc_write_matrix(tmp("keep.bin"), m, 2, 3, DC_FORMAT_AUTO), DC_ERR_UNSUPPORTED, ".npy");
    CHECK_ERR(dc_write_labels(tmp("keep.npy"), y, 0, DC_FORMAT_AUTO), DC_ERR_SHAPE, "no labels");
    CHECK_STATUS(dc_write_labels(tmp("keep.npy"), NULL, 3, DC_FORMAT_AUTO), DC_ERR_NULL);
    CHECK_STATUS(dc_write_matrix(NULL, m, 2, 3, DC_FORMAT_AUTO), DC_ERR_NULL);
    /* rows x cols beyond int64: refused before a byte is written (no signed
     * overflow in the NPY header's count, no CSV loop past the array). */
    CHECK_ERR(dc_write_matrix(tmp("overflow.npy"), m, INT64_MAX / 2, 4, DC_FORMAT_AUTO),
              DC_ERR_NOMEM, "do not fit in memory");
    CHECK_ERR(dc_write_matrix(tmp("overflow.csv"), m, 3, INT64_MAX / 2, DC_FORMAT_AUTO),
              DC_ERR_NOMEM, "do not fit in memory");
    CHECK(!file_exists(tmp("overflow.npy")) && !file_exists(tmp("overflow.csv")));
    CHECK(count_prefixed("overflow.") == 0);
    /* A write that fails midway (file size limit): the old file survives. */
    static float big[100000];
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        CHECK_ERR(dc_write_matrix(tmp("keep.npy"), big, 1000, 100, DC_FORMAT_AUTO), DC_ERR_IO,
                  "keep.npy");
        CHECK_ERR(dc_write_matrix(tmp("keep.npy"), big, 1000, 100, DC_FORMAT_CSV), DC_ERR_IO,
                  "keep.npy");
        setrlimit(RLIMIT_FSIZE, &old);
    }
    raw = read_file(tmp("keep.npy"), &n);
    CHECK(raw && n == 3 && !memcmp(raw, "old", 3));
    free(raw);
    CHECK(count_prefixed("keep.npy.tmp.") == 0);
    CHECK(count_prefixed("w.csv.tmp.") == 0);
}

/* The real Fashion-MNIST test set, when installed: sizes, image shape,
 * class balance and values cross-checked against numpy. */
static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char img[256], lab[256];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (!file_exists(img) || !file_exists(lab)) {
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

/* Mean and variance of the differences after - before over values [from, n). */
static void diff_moments(const float *before, const float *after, int64_t from, int64_t n,
                         double scale, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (int64_t i = from; i < n; i++) {
        double e = ((double)after[i] - before[i]) / scale;
        s += e;
        s2 += e * e;
    }
    const double m = (double)(n - from);
    *mean = s / m;
    *var = s2 / m - *mean * *mean;
}

/* A 1000 x 1000 set of `fill`, except values 0 and 1 which set the data
 * range to [-100, 100]: wide enough that small noise is never clipped. */
static dc_dataset *noise_set(float fill, float **x) {
    const int64_t n = 1000 * 1000;
    *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) (*x)[i] = fill;
    (*x)[0] = -100.0f;
    (*x)[1] = 100.0f;
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, *x, 1000, 1000, DC_BORROW));
    return ds;
}

static void test_noise(void) {
    const int64_t n = 1000 * 1000;
    float *x;
    double mean, var;

    /* Gaussian: the added noise has mean 0 and the variance asked for. */
    dc_dataset *ds = noise_set(0.25f, &x);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_GAUSSIAN, 0.04, 7));
    const float *y = dc_dataset_data(ds);
    CHECK(y != x && x[2] == 0.25f); /* borrowed: copied, the caller's array untouched */
    diff_moments(x, y, 2, n, 1.0, &mean, &var);
    CHECK_MSG(fabs(mean) < 1e-3 && fabs(var - 0.04) < 0.04 * 0.01, "mean %g var %g", mean, var);
    CHECK(y[0] >= -100.0f && y[1] <= 100.0f); /* clipped to the range */
    dc_dataset_free(ds);
    free(x);

    /* Speckle: x + x*n, so (y - x) / x has variance v. */
    ds = noise_set(2.0f, &x);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, 0.09, 7));
    diff_moments(x, dc_dataset_data(ds), 2, n, 2.0, &mean, &var);
    CHECK_MSG(fabs(mean) < 1e-3 && fabs(var - 0.09) < 0.09 * 0.01, "mean %g var %g", mean, var);
    dc_dataset_free(ds);
    free(x);

    /* Salt & pepper: density p, half at the minimum, half at the maximum,
     * the rest unchanged. */
    ds = noise_set(0.5f, &x);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 0.2, 3));
    y = dc_dataset_data(ds);
    int64_t salt = 0, pepper = 0, same = 0;
    for (int64_t i = 2; i < n; i++) {
        pepper += y[i] == -100.0f;
        salt += y[i] == 100.0f;
        same += y[i] == 0.5f;
    }
    CHECK(salt + pepper + same == n - 2);
    CHECK_MSG(fabs((double)salt / (double)n - 0.1) < 0.002 &&
                  fabs((double)pepper / (double)n - 0.1) < 0.002,
              "salt %lld pepper %lld", (long long)salt, (long long)pepper);

    /* Determinism: the seed alone decides the noise. */
    dc_dataset *again = NULL, *other = NULL;
    CHECK_OK(dc_dataset_create(&again, x, 1000, 1000, DC_COPY));
    CHECK_OK(dc_dataset_create(&other, x, 1000, 1000, DC_COPY));
    CHECK_OK(dc_dataset_add_noise(again, DC_NOISE_SALT_PEPPER, 0.2, 3));
    CHECK_OK(dc_dataset_add_noise(other, DC_NOISE_SALT_PEPPER, 0.2, 4));
    CHECK(memcmp(dc_dataset_data(again), y, sizeof(float) * (size_t)n) == 0);
    CHECK(memcmp(dc_dataset_data(other), y, sizeof(float) * (size_t)n) != 0);
    dc_dataset_free(again);
    dc_dataset_free(other);
    dc_dataset_free(ds);
    free(x);

    /* Clipping to the data's range [0, 1]: large noise piles up at both ends. */
    float small[4000];
    for (int i = 0; i < 4000; i++) small[i] = (float)(i % 11) / 10.0f;
    int32_t labels[1000];
    for (int i = 0; i < 1000; i++) labels[i] = i % 3;
    CHECK_OK(dc_dataset_create(&ds, small, 1000, 4, DC_COPY));
    CHECK_OK(dc_dataset_set_labels(ds, labels, 1000));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_MINMAX));
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_GAUSSIAN, 1.0, 1));
    y = dc_dataset_data(ds);
    int inside = 1, at_lo = 0, at_hi = 0;
    for (int i = 0; i < 4000; i++) {
        inside &= y[i] >= 0.0f && y[i] <= 1.0f;
        at_lo += y[i] == 0.0f;
        at_hi += y[i] == 1.0f;
    }
    CHECK(inside && at_lo > 400 && at_hi > 400);
    CHECK(dc_dataset_normalization(ds) == DC_NORM_MINMAX && dc_dataset_labels(ds)[4] == 1);
    /* Speckle of zeros is zero: multiplicative noise leaves them alone. */
    float before[4000];
    memcpy(before, y, sizeof before);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, 0.5, 2));
    y = dc_dataset_data(ds);
    int zeros_kept = 1;
    for (int i = 0; i < 4000; i++)
        if (before[i] == 0.0f) zeros_kept &= y[i] == 0.0f;
    CHECK(zeros_kept);

    /* Refused levels and kinds leave the set as it was. */
    memcpy(before, y, sizeof before);
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_GAUSSIAN, -0.1, 1), DC_ERR_INVALID_ARG, "variance");
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, NAN, 1), DC_ERR_INVALID_ARG, "variance");
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, INFINITY, 1), DC_ERR_INVALID_ARG,
              "variance");
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 1.5, 1), DC_ERR_INVALID_ARG,
              "density");
    CHECK_ERR(dc_dataset_add_noise(ds, (dc_noise_kind)7, 0.1, 1), DC_ERR_INVALID_ARG,
              "unknown noise kind 7");
    CHECK_STATUS(dc_dataset_add_noise(NULL, DC_NOISE_GAUSSIAN, 0.1, 1), DC_ERR_NULL);
    CHECK(memcmp(before, dc_dataset_data(ds), sizeof before) == 0);
    /* Level 0 changes nothing. */
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 0.0, 1));
    CHECK(memcmp(before, dc_dataset_data(ds), sizeof before) == 0);
    dc_dataset_free(ds);

    /* A constant set stays constant (every value clipped to the one value). */
    float flat[6] = {3, 3, 3, 3, 3, 3};
    CHECK_OK(dc_dataset_create(&ds, flat, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 1.0, 1));
    CHECK(memcmp(flat, dc_dataset_data(ds), sizeof flat) == 0);
    dc_dataset_free(ds);

    /* The CLI's spelling. */
    dc_noise_kind kind;
    double level;
    CHECK_OK(dc_noise_parse("gaussian:0.1", &kind, &level));
    CHECK(kind == DC_NOISE_GAUSSIAN && level == 0.1);
    CHECK_OK(dc_noise_parse("saltpepper:1", &kind, &level));
    CHECK(kind == DC_NOISE_SALT_PEPPER && level == 1.0);
    CHECK_OK(dc_noise_parse("speckle:2e-1", &kind, &level));
    CHECK(kind == DC_NOISE_SPECKLE && level == 0.2);
    CHECK_ERR(dc_noise_parse("blur:0.1", &kind, &level), DC_ERR_INVALID_ARG, "unknown kind 'blur'");
    CHECK_ERR(dc_noise_parse("gaussian", &kind, &level), DC_ERR_INVALID_ARG, "KIND:LEVEL");
    CHECK_ERR(dc_noise_parse("gaussian:", &kind, &level), DC_ERR_INVALID_ARG, "not a number");
    CHECK_ERR(dc_noise_parse("gaussian:0.1x", &kind, &level), DC_ERR_INVALID_ARG, "not a number");
    CHECK_ERR(dc_noise_parse("saltpepper:1.01", &kind, &level), DC_ERR_INVALID_ARG, "density");
    CHECK_ERR(dc_noise_parse("speckle:-1", &kind, &level), DC_ERR_INVALID_ARG, "variance");
    CHECK_ERR(dc_noise_parse("speckle:nan", &kind, &level), DC_ERR_INVALID_ARG, "variance");
    CHECK(!strcmp(dc_noise_name(DC_NOISE_SALT_PEPPER), "saltpepper"));
    CHECK(dc_noise_name((dc_noise_kind)3) == NULL && dc_noise_name((dc_noise_kind)-1) == NULL);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/dc_test_dataset_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 2;
    }
    umask(022);
    test_create();
    test_labels_shape_subset();
    test_normalize();
    test_csv();
    test_options_by_name();
    test_npy();
    test_idx();
    test_paths_and_labels();
    test_writers();
    test_noise();
    test_fashion_mnist();
    remove_dir();
    DC_TEST_END();
}
