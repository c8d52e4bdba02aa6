/* Corrupt CSV files (raw and .gz) and text label files: each must load as a
 * plain reference reader of the damaged bytes reads it, or fail cleanly, as
 * text leaves a reader the most rules to get wrong (quoting, blanks, number
 * syntax, ragged rows). */
#include "file_fuzz_common.h"

/* ---- CSV: a plain reference reader ---- */

static int is_blank(unsigned char c) { return c == ' ' || c == '\t'; }

/* Next field of [*p, le) split at ',' with RFC 4180 quoting: unquoted fields
 * are trimmed of blanks; a quoted one must close and be followed by blanks
 * only. 0: no more fields; 1: a field in [*s, *e); -1: bad quoting. */
static int ref_field(const unsigned char **p, const unsigned char *le, int *done,
                     const unsigned char **s, const unsigned char **e) {
    if (*done) return 0;
    const unsigned char *q = *p;
    while (q < le && is_blank(*q)) q++;
    if (q < le && *q == '"') {
        const unsigned char *c = q + 1;
        for (;;) {
            while (c < le && *c != '"') c++;
            if (c >= le) return -1;
            if (c + 1 < le && c[1] == '"') {
                c += 2;
                continue;
            }
            break;
        }
        *s = q + 1;
        *e = c;
        q = c + 1;
        while (q < le && is_blank(*q)) q++;
        if (q < le && *q != ',') return -1;
    } else {
        *s = q;
        while (q < le && *q != ',') q++;
        *e = q;
        while (*e > *s && is_blank((*e)[-1])) (*e)--;
    }
    if (q < le) *p = q + 1;
    else *done = 1;
    return 1;
}

/* The cell [s, e) as a C string in buf (1001 bytes); its length, 0 if it
 * is empty or too long to be a number. */
static size_t ref_cell(const unsigned char *s, const unsigned char *e, char *buf) {
    size_t n = (size_t)(e - s);
    if (n == 0 || n > 1000) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return n;
}

/* The whole cell must be one strtof number. 0 bad, 1 ok. */
static int ref_float(const unsigned char *s, const unsigned char *e, float *v) {
    char buf[1001], *stop;
    size_t n = ref_cell(s, e, buf);
    if (n == 0) return 0;
    *v = strtof(buf, &stop);
    return stop == buf + n;
}

/* strtod, integral, int32. 1 ok, 0 not a number, -1 not an integer label. */
static int ref_label(const unsigned char *s, const unsigned char *e, int32_t *v) {
    char buf[1001], *stop;
    size_t n = ref_cell(s, e, buf);
    if (n == 0) return 0;
    double d = strtod(buf, &stop);
    if (stop != buf + n) return 0;
    if (!(d == floor(d) && d >= INT32_MIN && d <= INT32_MAX)) return -1;
    *v = (int32_t)d;
    return 1;
}

/* Content lines of a text file: BOM skipped, '\n' ends a line (one '\r'
 * before it dropped), blank and '#' lines skipped. */
static int ref_next_line(const bytes *b, size_t *pos, const unsigned char **ls,
                         const unsigned char **le) {
    if (*pos == 0 && b->n >= 3 && memcmp(b->p, "\xEF\xBB\xBF", 3) == 0) *pos = 3;
    while (*pos < b->n) {
        const unsigned char *s = b->p + *pos, *end = b->p + b->n;
        const unsigned char *nl = memchr(s, '\n', (size_t)(end - s));
        const unsigned char *e = nl ? nl : end;
        *pos = nl ? (size_t)(nl + 1 - b->p) : b->n;
        if (e > s && e[-1] == '\r') e--;
        const unsigned char *q = s;
        while (q < e && is_blank(*q)) q++;
        if (q == e || *q == '#') continue;
        *ls = s;
        *le = e;
        return 1;
    }
    return 0;
}

/* The table as dc_dataset_load reads it with delimiter ',' and no header. */
static dexp ref_csv(const bytes *b) {
    dexp r = {DC_OK, 0, 0, 0, 0, 0, NULL};
    size_t pos = 0;
    const unsigned char *ls, *le;
    int64_t nf = -1, cap = 0;
    while (ref_next_line(b, &pos, &ls, &le)) {
        const unsigned char *p = ls, *s, *e;
        int done = 0, k;
        int64_t j = 0;
        if (nf < 0) {
            /* The first content line sets the field count. */
            const unsigned char *p2 = ls;
            int d2 = 0;
            nf = 0;
            while ((k = ref_field(&p2, le, &d2, &s, &e)) != 0) {
                if (k < 0) {
                    r.st = DC_ERR_FORMAT;
                    return r;
                }
                nf++;
            }
        }
        if (r.n == cap) {
            cap = cap ? cap * 2 : 16;
            r.x = realloc(r.x, sizeof(float) * (size_t)(cap * nf));
        }
        while ((k = ref_field(&p, le, &done, &s, &e)) != 0) {
            float v;
            if (k < 0 || j >= nf || !ref_float(s, e, &v)) {
                r.st = DC_ERR_FORMAT;
                break;
            }
            if (!isfinite(v)) {
                r.st = DC_ERR_NONFINITE;
                break;
            }
            r.x[r.n * nf + j++] = v;
        }
        if (r.st == DC_OK && j != nf) r.st = DC_ERR_FORMAT;
        if (r.st != DC_OK) break;
        r.n++;
    }
    if (r.st == DC_OK && r.n == 0) r.st = DC_ERR_FORMAT; /* empty file */
    if (r.st != DC_OK) dexp_free(&r);
    r.d = nf;
    return r;
}

/* One integer per line, first field, as dc_dataset_load_labels reads a file
 * whose first content line is numeric and has no ',' or inner blank. */
static lexp ref_csv_labels(const bytes *b, int64_t rows) {
    lexp r = {DC_OK, 0, malloc(sizeof(int32_t) * (size_t)(b->n + 1))};
    size_t pos = 0;
    const unsigned char *ls, *le;
    while (ref_next_line(b, &pos, &ls, &le)) {
        const unsigned char *p = ls, *s, *e;
        int done = 0;
        int32_t v;
        if (ref_field(&p, le, &done, &s, &e) != 1 || ref_label(s, e, &v) != 1) {
            r.st = DC_ERR_FORMAT;
            break;
        }
        r.y[r.n++] = v;
    }
    if (r.st == DC_OK && r.n == 0) r.st = DC_ERR_FORMAT;
    if (r.st == DC_OK && r.n != rows) r.st = DC_ERR_SHAPE;
    return r;
}

/* Random cells: "%.9g" of floats of many magnitudes (reads back exactly). */
static void csv_cell(char *buf, size_t size, float *v) {
    double mag = pow(10.0, (double)below(9) - 4.0);
    *v = below(8) == 0 ? (float)(int)below(100) : (float)(dci_rng_normal(&R) * mag);
    snprintf(buf, size, "%.9g", (double)*v);
}

/* Cells that test the number rules and the structure. */
static const char *const special_cells[] = {
    "nan", "NaN", "-nan", "inf", "-inf", "+Inf", "Infinity", "nan(123)", "1e39", "-1e39",
    "3.4028236e38", "3.4028234e38", "1e-50", "1e-45", "1.4e-45", "0x1p-149", "0x1.8p3",
    "abc", "", "  ", "1.5.2", "--1", "+", ".", "e5", "1e", "1e+", "1,2", "\"7\"", "\" 7 \"",
    "\"7\"x", "\"7", "7\"", "\"\"", "1 2", "#3", "\t4\t", "1e5000", "0e99999999999",
    "00000000000000000000001.25", "123456789012345678901234567890",
    "4.9406564584124654e-324", "1.00000005960464477539062500000001",
    "1.000000059604644775390625", "0.000000000000000000000000000000000000011754942",
    "16777217", "-0", "+.5", "5.", "1_0", "1e-", "0x", "١", "\xEF\xBB\xBF" "1", "\x01",
    "1\r2"};

/* A random number token: long mantissas, exponents, signs. */
static void random_number_token(char *buf, size_t size) {
    size_t k = 0;
    if (below(3) == 0) buf[k++] = below(2) ? '-' : '+';
    size_t digits = 1 + below(24), dot = below(digits + 2);
    for (size_t i = 0; i < digits && k + 8 < size; i++) {
        if (i == dot) buf[k++] = '.';
        buf[k++] = (char)('0' + below(10));
    }
    buf[k] = '\0';
    if (below(2)) snprintf(buf + k, size - k, "e%d", (int)below(100) - 50);
}

static void csv_case(const char *path, const bytes *m, size_t first_nl, size_t at,
                     const dc_load_options *fixed) {
    write_bytes(path, m->p, m->n);
    dexp e = ref_csv(m);
    check_dataset_load(path, fixed, &e);
    /* Detection sees the same first line: it must agree with the fixed
     * options. Otherwise only a clean failure or a sane success. */
    dexp any = {EXP_ANY, 0, 0, 0, 0, 0, NULL};
    check_dataset_load(path, NULL, at > first_nl ? &e : &any);
    dexp_free(&e);
}

/* Positions of the cells of a CSV text: [start, end) of cell i. */
static size_t csv_cells(const bytes *b, size_t *cs, size_t *ce, size_t max) {
    size_t k = 0, s = 0;
    for (size_t i = 0; i <= b->n && k < max; i++)
        if (i == b->n || b->p[i] == ',' || b->p[i] == '\n') {
            if (i > s) {
                cs[k] = s;
                ce[k++] = i;
            }
            s = i + 1;
        }
    return k;
}

static void test_csv(void) {
    enum { ROWS = 7, COLS = 3 };
    float x[ROWS * COLS];
    bytes b = {NULL, 0};
    size_t cap = 0;
    char cell[64];
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) {
            csv_cell(cell, sizeof cell, &x[i * COLS + j]);
            put_text(&b, &cap, cell, strlen(cell));
            put_text(&b, &cap, j + 1 < COLS ? "," : "\n", 1);
        }
    const char *path = tmp_path("fuzz.csv");
    size_t first_nl = (size_t)((unsigned char *)memchr(b.p, '\n', b.n) - b.p);
    dc_load_options fixed;
    dc_load_options_default(&fixed);
    fixed.delimiter = ',';
    fixed.header = 0;

    /* The valid file reads back the floats written, with both option sets,
     * and the reference reader agrees. */
    set_case("valid CSV");
    dexp e = ref_csv(&b);
    CHECK(e.st == DC_OK && e.n == ROWS && e.d == COLS &&
          memcmp(e.x, x, sizeof x) == 0);
    dexp_free(&e);
    dexp want = {DC_OK, ROWS, COLS, 0, 0, 0, x};
    write_bytes(path, b.p, b.n);
    check_dataset_load(path, &fixed, &want);
    check_dataset_load(path, NULL, &want);
    bytes gz = gzip_bytes(&b);
    write_bytes(tmp_path("fuzz.csv.gz"), gz.p, gz.n);
    check_dataset_load(tmp_path("fuzz.csv.gz"), NULL, &want);

    /* Every truncation. */
    for (size_t len = 0; len < b.n; len++) {
        set_case("CSV cut to %zu of %zu bytes", len, b.n);
        bytes m = splice(&b, len, b.n, NULL, 0);
        csv_case(path, &m, first_nl, len, &fixed);
        free(m.p);
    }
    /* Random damage. */
    char what[96];
    for (int t = 0; t < 400; t++) {
        size_t at;
        bytes m = random_damage(&b, 0, &at, what, sizeof what);
        set_case("CSV %s", what);
        csv_case(path, &m, first_nl, at, &fixed);
        free(m.p);
    }
    /* Cells replaced by special or random number tokens. */
    size_t cs[ROWS * COLS], ce[ROWS * COLS];
    size_t ncell = csv_cells(&b, cs, ce, ROWS * COLS);
    CHECK(ncell == ROWS * COLS);
    const size_t nspecial = sizeof special_cells / sizeof special_cells[0];
    for (size_t t = 0; t < nspecial + 300; t++) {
        size_t c = below(ncell);
        char tok[80];
        if (t < nspecial) snprintf(tok, sizeof tok, "%s", special_cells[t]);
        else random_number_token(tok, sizeof tok);
        set_case("CSV cell %zu replaced by '%s'", c, tok);
        bytes m = splice(&b, cs[c], ce[c] - cs[c], tok, strlen(tok));
        csv_case(path, &m, first_nl, cs[c], &fixed);
        free(m.p);
    }
    /* Structure: blank, comment and CRLF lines, a BOM, ragged rows. */
    static const char *const inserts[] = {"\n", "\n\n", " \t \n", "# note, 1, 2\n", "\r\n",
                                          "  # x\n", "1,2\n", "1,2,3,4\n", ",,\n", "\xEF\xBB\xBF",
                                          "\"1\",\"2\",\"3\"\n", "1, 2 ,3\r\n", "\0\n"};
    size_t line_starts[ROWS + 1], nl = 0;
    for (size_t i = 0; i < b.n; i++)
        if (i == 0 || b.p[i - 1] == '\n') line_starts[nl++] = i;
    line_starts[nl++] = b.n;
    for (size_t t = 0; t < sizeof inserts / sizeof inserts[0]; t++)
        for (size_t l = 0; l < nl; l++) {
            size_t len = t == sizeof inserts / sizeof inserts[0] - 1 ? 2 : strlen(inserts[t]);
            set_case("CSV line inserted before line %zu: '%s'", l, inserts[t]);
            bytes m = splice(&b, line_starts[l], 0, inserts[t], len);
            csv_case(path, &m, first_nl, line_starts[l] ? line_starts[l] : 0, &fixed);
            free(m.p);
        }
    /* A cell dropped or added (ragged), a line ending removed. */
    for (size_t c = 0; c < ncell; c++) {
        set_case("CSV cell %zu deleted with its comma", c);
        size_t from = c % COLS ? cs[c] - 1 : cs[c], to = c % COLS ? ce[c] : ce[c] + 1;
        bytes m = splice(&b, from, to - from, NULL, 0);
        csv_case(path, &m, first_nl, from, &fixed);
        free(m.p);
        set_case("CSV extra cell after cell %zu", c);
        m = splice(&b, ce[c], 0, ",1", 2);
        csv_case(path, &m, first_nl, ce[c], &fixed);
        free(m.p);
    }

    /* Compressed: every truncation, random damage of the stream. */
    const char *gpath = tmp_path("fuzz-g.csv.gz");
    for (size_t t = 0; t < gz.n + 300; t++) {
        bytes m;
        if (t < gz.n) {
            set_case("CSV.gz cut to %zu of %zu bytes", t, gz.n);
            m = splice(&gz, t, gz.n, NULL, 0);
        } else {
            size_t at;
            m = random_damage(&gz, 0, &at, what, sizeof what);
            set_case("CSV.gz %s", what);
        }
        write_bytes(gpath, m.p, m.n);
        bytes plain;
        int bad = gunzip_like_gzread(&m, &plain);
        dexp ge = {EXP_FAIL, 0, 0, 0, 0, 0, NULL};
        if (!bad) ge = ref_csv(&plain);
        if (t < gz.n) FCHECK(ge.st != DC_OK); /* a cut stream never ends cleanly */
        check_dataset_load(gpath, &fixed, &ge);
        dexp_free(&ge);
        free(plain.p);
        free(m.p);
    }
    free(gz.p);

    /* ---- label files: one integer per line ---- */
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, ROWS, COLS, DC_COPY));
    int32_t y[ROWS], before[ROWS];
    bytes lb = {NULL, 0};
    cap = 0;
    for (int i = 0; i < ROWS; i++) {
        y[i] = i == 3 ? -2 : i == 5 ? 1000000 : (int32_t)below(6);
        before[i] = -7;
        snprintf(cell, sizeof cell, "%d\n", (int)y[i]);
        put_text(&lb, &cap, cell, strlen(cell));
    }
    CHECK_OK(dc_dataset_set_labels(ds, before, ROWS));
    const char *lpath = tmp_path("fuzz-labels.txt");
    size_t lfirst_nl = (size_t)((unsigned char *)memchr(lb.p, '\n', lb.n) - lb.p);
    set_case("valid label file");
    write_bytes(lpath, lb.p, lb.n);
    lexp lwant = {DC_OK, ROWS, y};
    check_labels_load(ds, lpath, DC_FORMAT_AUTO, &lwant, before);
    static const char *const label_cells[] = {
        "3.0", "3.5", "1e3", "2147483647", "2147483648", "-2147483648", "-2147483649", "nan",
        "inf", "x", "", "0x10", "3,4", " 5 ", "\"6\"", "\"6\"x", "\"6", "#", "1e400", "-0",
        "+2", "2 3"};
    const size_t nlc = sizeof label_cells / sizeof label_cells[0];
    for (size_t t = 0; t < lb.n + 300 + nlc; t++) {
        bytes m;
        size_t at;
        if (t < lb.n) {
            set_case("label file cut to %zu of %zu bytes", t, lb.n);
            at = t;
            m = splice(&lb, t, lb.n, NULL, 0);
        } else if (t < lb.n + 300) {
            m = random_damage(&lb, 0, &at, what, sizeof what);
            set_case("label file %s", what);
        } else {
            /* Not the first line: that one decides delimiter and header. */
            const char *tok = label_cells[t - lb.n - 300];
            set_case("label line 3 replaced by '%s'", tok);
            size_t s = 0, e2;
            for (int l = 0; l < 3; l++)
                s = (size_t)((unsigned char *)memchr(lb.p + s, '\n', lb.n - s) - lb.p) + 1;
            e2 = (size_t)((unsigned char *)memchr(lb.p + s, '\n', lb.n - s) - lb.p);
            at = s;
            m = splice(&lb, s, e2 - s, tok, strlen(tok));
        }
        write_bytes(lpath, m.p, m.n);
        lexp le = ref_csv_labels(&m, ROWS);
        lexp lany = {EXP_ANY, 0, NULL};
        check_labels_load(ds, lpath, DC_FORMAT_AUTO, at > lfirst_nl ? &le : &lany, before);
        free(le.y);
        free(m.p);
    }
    free(lb.p);
    dc_dataset_free(ds);
    free(b.p);
}

int main(void) { return fuzz_main(FUZZ_CSV, test_csv); }
