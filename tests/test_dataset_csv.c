/* The CSV reader (data/csv.c): delimiters, headers, quoting, label columns,
 * gzip, decimals exactly as strtof reads them, and every bad input with its
 * line and column; and the load options set by name, as the bindings do. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "dataset_common.h"

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
    CHECK_MSG(strstr(dc_last_error(), "column 2 is beyond the float32 range") != NULL, "%s",
              dc_last_error());
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

static char g_warning[512];
static int g_warnings;

static void keep_warning(void *user, dc_log_level level, const char *message) {
    (void)user;
    if (level > DC_LOG_WARN) return;
    g_warnings++;
    snprintf(g_warning, sizeof g_warning, "%s", message);
}

/* A detected header with numbers in it (a data row with a typo, a trailing
 * comma) is dropped with a warning naming the field; a real header or an
 * explicit choice is silent. */
static void test_numeric_header_warning(void) {
    dc_set_log(keep_warning, NULL, DC_LOG_WARN);
    CHECK_OK(csv_status("typo.csv", "1,x\n3,4\n5,6\n", NULL));
    CHECK(g_warnings == 1 && strstr(g_warning, "line 1 taken as a header line (column 2: 'x'"));
    CHECK_OK(csv_status("num.csv", "1,2,y\n3,4,5\n", NULL));
    CHECK(g_warnings == 2 && strstr(g_warning, "2 of its 3 fields are numbers"));
    /* An empty field is no sign of a header: the row is data, and its
     * missing value an error (it was dropped as a header, silently). */
    CHECK_STATUS(csv_status("blank.csv", "1,,3\n4,5,6\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 1, column 2") != NULL, "%s", dc_last_error());
    CHECK_STATUS(csv_status("trail.csv", "1,2,\n3,4,\n", NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 1, column 3") != NULL, "%s", dc_last_error());
    CHECK(g_warnings == 2);
    CHECK_OK(csv_status("names.csv", "a,b\n3,4\n", NULL));
    CHECK_OK(csv_status("pandas.csv", ",a,b\n0,3,4\n1,5,6\n", NULL)); /* blank index name */
    dc_load_options o;
    dc_load_options_default(&o);
    o.header = 1;
    CHECK_OK(csv_status("typo.csv", "1,x\n3,4\n5,6\n", &o));
    CHECK(g_warnings == 2);
    dc_set_log(NULL, NULL, DC_LOG_WARN);
}

int main(void) {
    make_dir();
    test_csv();
    test_numeric_header_warning();
    test_options_by_name();
    remove_dir();
    DC_TEST_END();
}
