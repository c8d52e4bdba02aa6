/* Corrupt-file robustness of every reader, from a fixed seed: small valid
 * CSV, NPY and IDX files (raw and .gz), label files, model files and
 * checkpoints are truncated at every length, have bytes flipped, inserted
 * and deleted, and header fields set to implausible values. Each load must
 * either fail with a specific status, a detail and no result, or succeed
 * with exactly what an independent reference reading of the damaged bytes
 * gives (the readers here are written plainly from the format descriptions,
 * not copied from the library); PGM/PPM images likewise, and PNG images
 * (checked by their CRCs) must fail or give the original pixels. A counting
 * allocator (dc_set_allocator) checks after every call that nothing leaked and that no header value made
 * the library ask for a giant block. Little-endian host assumed (model
 * records are compared as raw bytes). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "test_alloc.h"
#include "test_files.h"
#include "core/rng.h"
#include "deepclust.h"
#include "methods/deep_model.h"
#include "methods/model_io.h"

static dci_rng R;
static char g_case[256]; /* the load under test, for failure messages */
static dc_status g_st;


static void set_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_case(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_case, sizeof g_case, fmt, ap);
    va_end(ap);
}

#define FCHECK(cond)                                                                     \
    CHECK_MSG(cond, "[%s] status %d (%s), detail '%s'", g_case, (int)g_st,              \
              dc_strerror(g_st), dc_last_error())

static uint64_t below(uint64_t n) { return dci_rng_below(&R, n); }

/* The allocator (test_alloc.h) refuses requests above this and records
 * them: no header value may make the library ask for a giant block. */
#define GIANT ((size_t)64 << 20)

/* Every call under test is bracketed by these: fresh error state before,
 * no leak and no giant request after. */
static long long g_live_before;
static int g_allow_giant; /* a case where a refused giant request is the known outcome */
static void call_begin(void) {
    dc_clear_error();
    g_alloc.giant_seen = 0;
    g_live_before = g_alloc.live;
}
static void call_end(void) {
    FCHECK(g_alloc.live == g_live_before);
    CHECK_MSG(g_alloc.giant_seen == 0 || g_allow_giant, "[%s] asked for a block of %zu bytes",
              g_case, g_alloc.giant_seen);
}

/* A failed load: a specific code, a detail, no result. */
static int load_code(dc_status st) {
    return st == DC_ERR_FORMAT || st == DC_ERR_TRUNCATED || st == DC_ERR_UNSUPPORTED ||
           st == DC_ERR_NONFINITE || st == DC_ERR_SHAPE || st == DC_ERR_VERSION ||
           st == DC_ERR_CHECKSUM || st == DC_ERR_NOMEM;
}

/* ---- byte buffers ---- */

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

/* src with [at, at + del) replaced by ins[0, nins). */
static bytes splice(const bytes *src, size_t at, size_t del, const void *ins, size_t nins) {
    if (at > src->n) at = src->n;
    if (del > src->n - at) del = src->n - at;
    bytes b = {malloc(src->n - del + nins + 1), src->n - del + nins};
    memcpy(b.p, src->p, at);
    if (nins) memcpy(b.p + at, ins, nins);
    memcpy(b.p + at + nins, src->p + at + del, src->n - at - del);
    return b;
}

static void put_text(bytes *b, size_t *cap, const char *s, size_t n) {
    if (b->n + n + 1 > *cap) {
        *cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, *cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

/* Bytes that mean something to one of the formats. */
static unsigned char interesting_byte(void) {
    static const char set[] = ",;\t \n\r#\"'.eE-+0123456789nNaAiIfF(){}:LTu<>|";
    switch (below(4)) {
    case 0: return (unsigned char)below(256);
    case 1: return (unsigned char)(below(2) ? 0x00 : 0xff);
    default: return (unsigned char)set[below(sizeof set - 1)];
    }
}

/* One random damage of b at a random place; *at is where it starts. */
static bytes random_damage(const bytes *b, size_t lo, size_t *at, char *what, size_t wsize) {
    size_t span = b->n > lo ? b->n - lo : 1;
    *at = lo + below(span);
    unsigned char ins[4] = {0};
    switch (below(5)) {
    case 0: {
        unsigned char c = (unsigned char)(b->p[*at < b->n ? *at : 0] ^ (1u << below(8)));
        snprintf(what, wsize, "bit flip at %zu", *at);
        return splice(b, *at, 1, &c, 1);
    }
    case 1:
    case 2: {
        unsigned char c = interesting_byte();
        snprintf(what, wsize, "byte at %zu set to 0x%02x", *at, c);
        return splice(b, *at, 1, &c, 1);
    }
    case 3: {
        size_t k = 1 + below(3);
        for (size_t i = 0; i < k; i++) ins[i] = interesting_byte();
        snprintf(what, wsize, "%zu bytes inserted at %zu (0x%02x..)", k, *at, ins[0]);
        return splice(b, *at, 0, ins, k);
    }
    default: {
        size_t k = 1 + below(3);
        snprintf(what, wsize, "%zu bytes deleted at %zu", k, *at);
        return splice(b, *at, k, NULL, 0);
    }
    }
}

/* gzip in memory (the same stream gzwrite makes). */
static bytes gzip_bytes(const bytes *src) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(2);
    bytes out = {malloc(deflateBound(&z, (uLong)src->n) + 32), 0};
    z.next_in = src->p;
    z.avail_in = (uInt)src->n;
    z.next_out = out.p;
    z.avail_out = (uInt)(deflateBound(&z, (uLong)src->n) + 32);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(2);
    out.n = z.total_out;
    deflateEnd(&z);
    return out;
}

/* What reading the file through zlib's gzread gives: gzip members (one
 * after another while the rest starts with the gzip magic; other trailing
 * bytes are ignored), or the bytes as they are when the file does not start
 * with the magic. 0: *out holds the content; 1: the stream is damaged. */
static int gunzip_like_gzread(const bytes *src, bytes *out) {
    out->p = NULL;
    out->n = 0;
    if (src->n < 2 || src->p[0] != 0x1f || src->p[1] != 0x8b) {
        *out = splice(src, 0, 0, NULL, 0);
        return 0;
    }
    size_t cap = 4096, pos = 0;
    out->p = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 31) != Z_OK) exit(2);
    z.next_in = src->p;
    z.avail_in = (uInt)src->n;
    int bad = 0;
    for (;;) {
        if (pos + 4096 > cap) out->p = realloc(out->p, cap *= 2);
        z.next_out = out->p + pos;
        z.avail_out = (uInt)(cap - pos);
        int ret = inflate(&z, Z_NO_FLUSH);
        pos = cap - z.avail_out;
        if (ret == Z_STREAM_END) {
            if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
                inflateReset(&z);
                continue;
            }
            break;
        }
        if (ret == Z_OK) continue;
        if (ret == Z_BUF_ERROR && z.avail_out > 0 && z.avail_in == 0) {
            bad = 1; /* input ended inside the stream */
            break;
        }
        if (ret == Z_BUF_ERROR) continue;
        bad = 1;
        break;
    }
    inflateEnd(&z);
    out->n = pos;
    return bad;
}

/* ---- expected data sets ---- */

/* Expectations besides DC_OK and a specific code: any clean failure; a
 * clean failure or a sane success; a clean failure or exactly the given
 * result. */
enum { EXP_FAIL = 1, EXP_ANY = 2, EXP_MAYBE = 3 };

typedef struct dexp {
    int st; /* DC_OK, a dc_status, EXP_FAIL or EXP_ANY */
    int64_t n, d, h, w, c;
    float *x;
} dexp;

static void dexp_free(dexp *e) {
    free(e->x);
    e->x = NULL;
}

static void check_dataset_load(const char *path, const dc_load_options *opt, const dexp *e) {
    call_begin();
    static int sentinel;
    dc_dataset *ds = (dc_dataset *)&sentinel;
    dc_status st = dc_dataset_load(&ds, path, opt);
    g_st = st;
    if (st != DC_OK) {
        FCHECK(ds == NULL);
        FCHECK(dc_last_error()[0] != '\0');
        FCHECK(load_code(st));
        FCHECK(e->st != DC_OK);
        if (e->st < 0) FCHECK(st == e->st);
    } else {
        FCHECK(e->st == DC_OK || e->st == EXP_ANY || e->st == EXP_MAYBE);
        const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
        const float *x = dc_dataset_data(ds);
        FCHECK(n >= 1 && d >= 1 && x != NULL);
        int finite = 1;
        for (int64_t i = 0; x && i < n * d; i++) finite &= isfinite(x[i]) != 0;
        FCHECK(finite);
        if (e->st == DC_OK || e->st == EXP_MAYBE) {
            FCHECK(n == e->n && d == e->d);
            if (n == e->n && d == e->d)
                FCHECK(memcmp(x, e->x, sizeof(float) * (size_t)(n * d)) == 0);
            int64_t h, w, c;
            dc_dataset_image_shape(ds, &h, &w, &c);
            FCHECK(h == e->h && w == e->w && c == e->c);
        }
        dc_dataset_free(ds);
    }
    call_end();
}

/* Labels: on failure the set keeps the labels it had (`before`). */
typedef struct lexp {
    int st;
    int64_t n;
    int32_t *y;
} lexp;

static void check_labels_load(dc_dataset *ds, const char *path, dc_format fmt, const lexp *e,
                              const int32_t *before) {
    call_begin();
    const int64_t n = dc_dataset_rows(ds);
    dc_status st = dc_dataset_load_labels(ds, path, fmt);
    g_st = st;
    const int32_t *y = dc_dataset_labels(ds);
    if (st != DC_OK) {
        FCHECK(dc_last_error()[0] != '\0');
        FCHECK(load_code(st));
        FCHECK(e->st != DC_OK);
        if (e->st < 0) FCHECK(st == e->st);
        FCHECK(y && memcmp(y, before, sizeof(int32_t) * (size_t)n) == 0);
    } else {
        FCHECK(e->st == DC_OK || e->st == EXP_ANY);
        if (e->st == DC_OK) FCHECK(y && memcmp(y, e->y, sizeof(int32_t) * (size_t)n) == 0);
        /* Back to the reference labels for the next case. */
        FCHECK(dc_dataset_set_labels(ds, before, n) == DC_OK);
    }
    /* Replacing the labels frees one block and allocates one. */
    call_end();
}

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

/* ---- NPY ---- */

typedef struct ntype {
    const char *descr;
    char kind; /* 'f', 'i', 'u' */
    int width;
} ntype;

static const ntype NT_F4 = {"<f4", 'f', 4}, NT_F8 = {"<f8", 'f', 8}, NT_U1 = {"|u1", 'u', 1},
                   NT_I1 = {"|i1", 'i', 1}, NT_I2 = {"<i2", 'i', 2}, NT_I4 = {"<i4", 'i', 4},
                   NT_I8 = {"<i8", 'i', 8};

/* Element i of little-endian data of a type, as a double (all of these
 * types convert exactly except i8 beyond 2^53, not generated here). */
static double le_value(const unsigned char *p, char kind, int width, int big_endian) {
    unsigned char b[8];
    for (int k = 0; k < width; k++) b[k] = big_endian ? p[width - 1 - k] : p[k];
    uint64_t u = 0;
    for (int k = width - 1; k >= 0; k--) u = (u << 8) | b[k];
    if (kind == 'f') {
        if (width == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, 4);
            return f;
        }
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    if (kind == 'u') return (double)u;
    int64_t s = width == 8 ? (int64_t)u : (int64_t)(u << (64 - 8 * width)) >> (64 - 8 * width);
    return (double)s;
}

/* The float32 features a data set gets from `count` elements: DC_OK or
 * DC_ERR_NONFINITE (NaN/Inf, or float64 beyond the float32 range). */
static int decode_features(const unsigned char *p, int64_t count, char kind, int width,
                           int big_endian, float *out) {
    for (int64_t i = 0; i < count; i++) {
        double v = le_value(p + i * width, kind, width, big_endian);
        if (kind == 'i' && width == 8) {
            /* int64 -> float directly (no double rounding on the way) */
            int64_t s;
            memcpy(&s, p + i * 8, 8);
            out[i] = (float)s;
        } else {
            out[i] = (float)v;
        }
        if (!isfinite(out[i])) return DC_ERR_NONFINITE;
    }
    return DC_OK;
}

static int decode_labels(const unsigned char *p, int64_t count, char kind, int width,
                         int big_endian, int32_t *out) {
    for (int64_t i = 0; i < count; i++) {
        double v = le_value(p + i * width, kind, width, big_endian);
        if (!(v == floor(v) && v >= INT32_MIN && v <= INT32_MAX)) return DC_ERR_FORMAT;
        out[i] = (int32_t)v;
    }
    return DC_OK;
}

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

/* Random elements of a type (integers in their range, floats ~N(0, 100)). */
static void random_elements(unsigned char *p, int64_t count, const ntype *t) {
    for (int64_t i = 0; i < count; i++) {
        unsigned char *q = p + i * t->width;
        if (t->kind == 'f' && t->width == 4) {
            float f = (float)(100.0 * dci_rng_normal(&R));
            memcpy(q, &f, 4);
        } else if (t->kind == 'f') {
            double d = 100.0 * dci_rng_normal(&R);
            memcpy(q, &d, 8);
        } else if (t->width == 8) {
            int64_t v = (int64_t)below(1u << 20) - (1 << 19);
            memcpy(q, &v, 8);
        } else {
            uint64_t u = dci_rng_u64(&R);
            memcpy(q, &u, (size_t)t->width);
        }
    }
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
         DC_ERR_NOMEM}, /* beyond 2^63 bytes: "shape too large" */
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (100000000,), }", 72, DC_ERR_TRUNCATED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 72,
         DC_ERR_NOMEM},
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
    /* A nonzero product over 2^63 bytes is refused as too large; a zero
     * extent after huge ones too (the running product overflows first). */
    long double run = 1;
    for (int i = 0; i < r.ndim; i++) {
        if (r.shape[i] && run * r.shape[i] * 8 > 9.2233720368547758e18L)
            return (idx_ref){DC_ERR_NOMEM, 0, 0, 0, {0}, NULL};
        run *= r.shape[i];
    }
    long double have = (long double)(b->n - 4 - 4 * (size_t)r.ndim);
    if (have < bytes_needed) return (idx_ref){DC_ERR_TRUNCATED, 0, 0, 0, {0}, NULL};
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

/* ---- model files and checkpoints ---- */

/* Records of a container payload, as the format comment in model_io.h
 * describes them. */
typedef struct trec {
    size_t at;    /* offset of the record in the payload */
    size_t name;  /* offset of the name */
    size_t nl;    /* name length */
    size_t meta;  /* offset of the type byte */
    size_t data;  /* offset of the elements */
    int type;
    uint64_t count;
} trec;

static int trec_size(int type) {
    return type == 1 ? 1 : (type == 2 || type == 5) ? 4 : (type >= 3 && type <= 6) ? 8 : 0;
}

static uint64_t ld_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static void st_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void st_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* -1 if the payload is not a well-formed record sequence. */
static int trec_parse(const unsigned char *pay, size_t len, trec *r, int max) {
    size_t off = 0;
    int n = 0;
    while (off < len) {
        if (n == max || len - off < 2) return -1;
        trec t;
        t.at = off;
        t.nl = (size_t)(pay[off] | (pay[off + 1] << 8));
        t.name = off + 2;
        if (t.nl == 0 || len - t.name < t.nl + 10) return -1;
        t.meta = t.name + t.nl;
        t.type = pay[t.meta];
        t.count = ld_u64(pay + t.meta + 2);
        t.data = t.meta + 10;
        int size = trec_size(t.type);
        if (!size || t.count > (len - t.data) / (uint64_t)size) return -1;
        off = t.data + (size_t)t.count * (size_t)size;
        r[n++] = t;
    }
    return n;
}

/* The file with a new payload and both checksums recomputed. */
static bytes reseal(const bytes *file, const unsigned char *pay, size_t len) {
    bytes b = {malloc(32 + len + 1), 32 + len};
    memcpy(b.p, file->p, 16);
    st_u64(b.p + 16, len);
    st_u32(b.p + 24, (uint32_t)crc32(crc32(0L, Z_NULL, 0), pay, (uInt)len));
    st_u32(b.p + 28, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b.p, 28));
    memcpy(b.p + 32, pay, len);
    return b;
}

static const trec *trec_find(const unsigned char *pay, const trec *r, int n, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (r[i].nl == len && memcmp(pay + r[i].name, name, len) == 0) return &r[i];
    return NULL;
}

/* The record `name` holds exactly `bytes` of type `type` equal to `mem`. */
static int rec_is(const unsigned char *pay, const trec *r, int n, const char *name, int type,
                  const void *mem, size_t nbytes) {
    const trec *t = trec_find(pay, r, n, name);
    return t && t->type == type && (size_t)t->count * (size_t)trec_size(type) == nbytes &&
           memcmp(pay + t->data, mem, nbytes) == 0;
}

static int same_f64(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* A loaded model holds what the records say (first record of a name wins,
 * absent optional records mean none). */
static int model_matches(const dc_model *m, const unsigned char *pay, const trec *r, int n) {
    int ok = 1;
    ok &= rec_is(pay, r, n, "dims", 3, m->dims, sizeof(int64_t) * (size_t)m->n_dims);
    ok &= rec_is(pay, r, n, "batch", 3, &m->batch, 8);
    ok &= rec_is(pay, r, n, "neighbors_k", 3, &m->neighbors_k, 8);
    ok &= rec_is(pay, r, n, "method", 1, m->method, strlen(m->method));
    const char *kind = m->kind == DCI_MODEL_AUTOENCODER ? "autoencoder" : "clustering";
    ok &= rec_is(pay, r, n, "kind", 1, kind, strlen(kind));
    ok &= rec_is(pay, r, n, "enc", 5, dci_mlp_params_const(m->enc),
                 sizeof(float) * (size_t)dci_mlp_param_count(m->enc));
    ok &= m->enc_nb ? rec_is(pay, r, n, "enc_nb", 5, dci_mlp_params_const(m->enc_nb),
                             sizeof(float) * (size_t)dci_mlp_param_count(m->enc_nb))
                    : !trec_find(pay, r, n, "enc_nb");
    ok &= m->dec ? rec_is(pay, r, n, "dec", 5, dci_mlp_params_const(m->dec),
                          sizeof(float) * (size_t)dci_mlp_param_count(m->dec))
                 : !trec_find(pay, r, n, "dec");
    const size_t km = sizeof(float) * (size_t)(m->k * dci_model_dim(m));
    if (m->kind == DCI_MODEL_CLUSTERING) {
        ok &= rec_is(pay, r, n, "k", 3, &m->k, 8);
        ok &= rec_is(pay, r, n, "centers", 5, m->centers, km);
        ok &= m->weights ? rec_is(pay, r, n, "weights", 5, m->weights, km)
                         : !trec_find(pay, r, n, "weights");
    }
    const trec *kt = trec_find(pay, r, n, "kernel");
    double kern[3];
    ok &= kt && kt->type == 6 && kt->count == 3;
    if (kt && kt->type == 6 && kt->count == 3) {
        memcpy(kern, pay + kt->data, sizeof kern);
        ok &= same_f64(kern[0], m->kernel.a) && same_f64(kern[1], m->kernel.b) &&
              (kern[2] != 0.0) == (m->kernel.normalise != 0);
    }
    ok &= rec_is(pay, r, n, "pretrain_loss", 6, &m->pretrain_loss, 8);
    const trec *nt = trec_find(pay, r, n, "norm.mode");
    if (nt) {
        const char *mode = dc_normalization_name(m->norm.mode);
        ok &= mode && rec_is(pay, r, n, "norm.mode", 1, mode, strlen(mode));
        ok &= rec_is(pay, r, n, "norm.shift", 6, m->norm.shift, 8 * (size_t)m->dims[0]);
        ok &= rec_is(pay, r, n, "norm.scale", 6, m->norm.scale, 8 * (size_t)m->dims[0]);
    } else {
        ok &= m->norm.mode == DC_NORM_NONE;
    }
    for (int i = 0; i < n; i++) {
        if (r[i].nl <= 6 || r[i].nl - 6 >= 32 || memcmp(pay + r[i].name, "param.", 6) != 0)
            continue;
        char full[48];
        snprintf(full, sizeof full, "%.*s", (int)r[i].nl, (const char *)pay + r[i].name);
        if (trec_find(pay, r, n, full) != &r[i]) continue; /* a later duplicate */
        double v = 0, want;
        ok &= r[i].type == 6 && r[i].count == 1 && dc_model_get(m, full + 6, &v) == DC_OK;
        if (r[i].type == 6 && r[i].count == 1) {
            memcpy(&want, pay + r[i].data, 8);
            ok &= same_f64(v, want);
        }
    }
    return ok;
}

static void fill(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)(dci_rng_uniform(&R) * 2.0 - 1.0);
}

static dc_model *make_model(int full) {
    const int64_t dims[4] = {5, 7, 4, 3};
    dc_model *m = NULL;
    CHECK_OK(dci_model_new(&m, DCI_MODEL_CLUSTERING, full ? "edcwrn" : "dec", dims, full ? 4 : 3,
                           16, full, full, 4, full));
    if (!m) abort();
    fill(dci_mlp_params(m->enc), dci_mlp_param_count(m->enc));
    if (m->enc_nb) fill(dci_mlp_params(m->enc_nb), dci_mlp_param_count(m->enc_nb));
    if (m->dec) fill(dci_mlp_params(m->dec), dci_mlp_param_count(m->dec));
    fill(m->centers, m->k * dci_model_dim(m));
    if (m->weights)
        for (int64_t i = 0; i < m->k * dci_model_dim(m); i++)
            m->weights[i] = (float)(0.1 + dci_rng_uniform(&R));
    m->neighbors_k = full ? 3 : 0;
    m->pretrain_loss = full ? 0.25 : NAN;
    dci_model_set_param(m, "lambda", 0.1);
    dci_model_set_param(m, "seed", 7);
    if (full) {
        CHECK_OK(dci_norm_alloc(&m->norm, DC_NORM_ZSCORE, 5));
        for (int j = 0; j < 5; j++) {
            m->norm.shift[j] = dci_rng_normal(&R);
            m->norm.scale[j] = 1.0 + dci_rng_uniform(&R);
        }
    }
    return m;
}

/* dc_model_load of the bytes: `want` as for data sets; on success the
 * model must hold what the file's records say. */
static void check_model_load(const bytes *file, int want) {
    const char *path = tmp_path("fuzz.dcm");
    write_bytes(path, file->p, file->n);
    call_begin();
    static int sentinel;
    dc_model *m = (dc_model *)&sentinel;
    dc_status st = dc_model_load(&m, path);
    g_st = st;
    if (st != DC_OK) {
        FCHECK(m == NULL);
        FCHECK(dc_last_error()[0] != '\0');
        FCHECK(load_code(st));
        FCHECK(want != DC_OK);
        if (want < 0) FCHECK(st == want);
    } else {
        FCHECK(want == DC_OK || want == EXP_ANY);
        trec r[128];
        int n = file->n >= 32 ? trec_parse(file->p + 32, file->n - 32, r, 128) : -1;
        FCHECK(n > 0 && model_matches(m, file->p + 32, r, n));
        dc_model_free(m);
    }
    /* The same bytes from memory: the same verdict, the same model. */
    dc_model *mb = (dc_model *)&sentinel;
    dc_status stb = dc_model_load_from_buffer(&mb, file->p, file->n);
    FCHECK(stb == st);
    if (stb != DC_OK) {
        FCHECK(mb == NULL);
    } else {
        trec r[128];
        int n = file->n >= 32 ? trec_parse(file->p + 32, file->n - 32, r, 128) : -1;
        FCHECK(n > 0 && model_matches(mb, file->p + 32, r, n));
        dc_model_free(mb);
    }
    call_end();
}

/* dc_model_save_to_buffer writes the file's bytes: the size query, a short
 * capacity refused, then the bytes themselves. */
static void check_save_to_buffer(const dc_model *m, const bytes *file) {
    size_t size = 0;
    CHECK_OK(dc_model_save_to_buffer(m, NULL, 0, &size));
    CHECK(size == file->n);
    unsigned char *buf = malloc(size + 1);
    if (!buf) abort();
    size_t again = 0;
    CHECK_STATUS(dc_model_save_to_buffer(m, buf, size - 1, &again), DC_ERR_SHAPE);
    CHECK(again == size);
    CHECK_STATUS(dc_model_save_to_buffer(m, buf, 10, &again), DC_ERR_SHAPE);
    CHECK_OK(dc_model_save_to_buffer(m, buf, size + 1, &again));
    CHECK(again == size && memcmp(buf, file->p, size) == 0);
    CHECK_STATUS(dc_model_save_to_buffer(m, buf, size, NULL), DC_ERR_NULL);
    dc_model *none = (dc_model *)buf;
    CHECK_STATUS(dc_model_load_from_buffer(&none, NULL, 5), DC_ERR_NULL);
    CHECK(none == NULL);
    free(buf);
}

/* The container checks of a model or checkpoint file with `n` bytes. */
static void container_cases(const bytes *b, const char *name) {
    /* Every truncation. */
    for (size_t len = 0; len < b->n; len++) {
        set_case("%s cut to %zu of %zu", name, len, b->n);
        bytes m = splice(b, len, b->n, NULL, 0);
        check_model_load(&m, DC_ERR_TRUNCATED);
        free(m.p);
    }
    /* Every byte altered: the magic, the version, then the checksums. */
    for (size_t at = 0; at < b->n; at++) {
        unsigned char c = (unsigned char)(b->p[at] ^ (1 + below(255)));
        set_case("%s byte %zu: 0x%02x -> 0x%02x", name, at, b->p[at], c);
        bytes m = splice(b, at, 1, &c, 1);
        int want = DC_ERR_CHECKSUM;
        if (at < 8) want = DC_ERR_FORMAT;
        else if (at < 12) want = (m.p[8] | m.p[9] | m.p[10] | m.p[11]) == 0 ? DC_ERR_FORMAT
                                                                            : DC_ERR_VERSION;
        check_model_load(&m, want);
        free(m.p);
    }
    /* Bytes inserted or deleted in the payload: the length disagrees. */
    for (int t = 0; t < 60; t++) {
        size_t at = 32 + below(b->n - 32 + 1), k = 1 + below(4);
        unsigned char ins[4] = {0, 0xff, (unsigned char)below(256), 1};
        bytes m = t & 1 ? splice(b, at, 0, ins, k) : splice(b, at, k, NULL, 0);
        set_case("%s %zu bytes %s at %zu", name, k, t & 1 ? "inserted" : "deleted", at);
        check_model_load(&m, m.n > b->n ? DC_ERR_FORMAT : DC_ERR_TRUNCATED);
        free(m.p);
    }
}

/* Payload edits with valid checksums: what a buggy writer or a forger could
 * produce. Each must fail with DC_ERR_FORMAT, or (want EXP_ANY) load and
 * hold exactly what the records say. */
static void payload_case(const bytes *file, unsigned char *pay, size_t len, int want,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void payload_case(const bytes *file, unsigned char *pay, size_t len, int want,
                         const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_case, sizeof g_case, fmt, ap);
    va_end(ap);
    bytes m = reseal(file, pay, len);
    check_model_load(&m, want);
    free(m.p);
}

static void model_payload_cases(const bytes *b, const char *name, int checkpoint) {
    const size_t len = b->n - 32;
    unsigned char *orig = b->p + 32;
    trec r[256];
    const int n = trec_parse(orig, len, r, 256);
    CHECK(n > 10);
    unsigned char *pay = malloc(len + 64);

    /* Lying element counts and name lengths, invalid and changed types. */
    static const uint64_t counts[] = {0, 1, 2, 0xffffffffffffffffull, 0x8000000000000000ull,
                                      0x4000000000000000ull, 1ull << 40, 1ull << 32};
    for (int i = 0; i < n; i++) {
        for (size_t c = 0; c < sizeof counts / sizeof counts[0] + 2; c++) {
            uint64_t v = c < 8 ? counts[c] : r[i].count + (c == 8 ? 1 : (uint64_t)-1);
            if (v == r[i].count) continue;
            memcpy(pay, orig, len);
            st_u64(pay + r[i].meta + 2, v);
            payload_case(b, pay, len, EXP_FAIL, "%s record %d ('%.*s') count %llu -> %llu",
                         name, i, (int)r[i].nl, (const char *)orig + r[i].name,
                         (unsigned long long)r[i].count, (unsigned long long)v);
        }
        static const unsigned char types[] = {0, 1, 2, 3, 4, 5, 6, 7, 0xff};
        for (size_t k = 0; k < sizeof types; k++) {
            if (types[k] == r[i].type) continue;
            memcpy(pay, orig, len);
            pay[r[i].meta] = types[k];
            payload_case(b, pay, len, EXP_FAIL, "%s record %d ('%.*s') type %d -> %d", name, i,
                         (int)r[i].nl, (const char *)orig + r[i].name, r[i].type, types[k]);
        }
        static const uint16_t nls[] = {0, 0xffff, 1};
        for (size_t k = 0; k < 3; k++) {
            if (nls[k] == r[i].nl) continue;
            memcpy(pay, orig, len);
            pay[r[i].at] = (unsigned char)nls[k];
            pay[r[i].at + 1] = (unsigned char)(nls[k] >> 8);
            payload_case(b, pay, len, EXP_FAIL, "%s record %d name length -> %u", name, i,
                         (unsigned)nls[k]);
        }
        /* The reserved byte is not interpreted. */
        memcpy(pay, orig, len);
        pay[r[i].meta + 1] = 0x5a;
        payload_case(b, pay, len, checkpoint ? EXP_ANY : DC_OK, "%s record %d reserved byte set",
                     name, i);
        /* Dropped: a required record fails, an optional one loads without it. */
        memcpy(pay, orig, r[i].at);
        size_t end = i + 1 < n ? r[i + 1].at : len;
        memcpy(pay + r[i].at, orig + end, len - end);
        payload_case(b, pay, len - (end - r[i].at), EXP_ANY, "%s record %d ('%.*s') dropped",
                     name, i, (int)r[i].nl, (const char *)orig + r[i].name);
        /* Renamed (one letter changed): as if dropped. */
        memcpy(pay, orig, len);
        pay[r[i].name] ^= 0x20;
        payload_case(b, pay, len, EXP_ANY, "%s record %d renamed", name, i);
    }
    /* A duplicate record: the first one counts. */
    memcpy(pay, orig, len);
    memcpy(pay + len, orig, r[1].at);
    payload_case(b, pay, len + r[1].at, EXP_ANY, "%s first record duplicated at the end", name);

    /* Sizes out of range: layer sizes, batch, k, neighbours. */
    static const int64_t bad_sizes[] = {0, -1, 0x7fffffff, 0x80000000, 1ll << 40,
                                        0x7fffffffffffffffll, (int64_t)0x8000000000000000ull};
    static const char *const size_recs[] = {"dims", "batch", "k", "neighbors_k"};
    for (size_t q = 0; q < 4; q++) {
        const trec *t = trec_find(orig, r, n, size_recs[q]);
        if (!t) continue;
        for (uint64_t e = 0; e < t->count; e++)
            for (size_t k = 0; k < sizeof bad_sizes / sizeof bad_sizes[0]; k++) {
                if (memcmp(orig + t->data + 8 * e, &bad_sizes[k], 8) == 0) continue;
                memcpy(pay, orig, len);
                memcpy(pay + t->data + 8 * e, &bad_sizes[k], 8);
                /* A larger batch or neighbour count is consistent: it loads.
                 * Known gap: the network workspaces are sized for `batch`
                 * rows up front, so a forged batch of 2^31 - 1 asks for a
                 * giant (untouched) block and fails with DC_ERR_NOMEM. */
                int want = (q == 1 || q == 3) && bad_sizes[k] > 0 ? EXP_ANY : DC_ERR_FORMAT;
                g_allow_giant = q == 1;
                payload_case(b, pay, len, want, "%s %s[%llu] = %lld", name, size_recs[q],
                             (unsigned long long)e, (long long)bad_sizes[k]);
                g_allow_giant = 0;
            }
    }
    /* Text records: unknown kind, long method, unknown normalisation. */
    static const char *const texts[] = {"kind", "method", "norm.mode"};
    for (size_t q = 0; q < 3; q++) {
        const trec *t = trec_find(orig, r, n, texts[q]);
        if (!t) continue;
        memcpy(pay, orig, len);
        pay[t->data] ^= 0x01;
        payload_case(b, pay, len, q == 1 ? EXP_ANY : DC_ERR_FORMAT, "%s %s text altered", name,
                     texts[q]);
    }
    /* Non-finite numbers where the model needs finite ones. */
    static const char *const finite_recs[] = {"kernel", "norm.shift", "norm.scale", "enc",
                                              "enc_nb", "dec", "centers", "weights"};
    const float fnan = NAN, finf = INFINITY;
    const double dnan = NAN, dinf = -INFINITY;
    for (size_t q = 0; q < sizeof finite_recs / sizeof finite_recs[0]; q++) {
        const trec *t = trec_find(orig, r, n, finite_recs[q]);
        if (!t) continue;
        for (int k = 0; k < 2; k++) {
            memcpy(pay, orig, len);
            size_t at = t->data + (size_t)trec_size(t->type) * below(t->count);
            if (t->type == 5) memcpy(pay + at, k ? &finf : &fnan, 4);
            else memcpy(pay + at, k ? &dinf : &dnan, 8);
            payload_case(b, pay, len, DC_ERR_FORMAT, "%s %s: an element set to %s", name,
                         finite_recs[q], k ? "Inf" : "NaN");
        }
    }
    /* Random resealed damage: a clean failure, or exactly the records. */
    for (int t = 0; t < 300; t++) {
        memcpy(pay, orig, len);
        size_t at = below(len);
        pay[at] = t & 1 ? (unsigned char)(pay[at] ^ (1u << below(8))) : interesting_byte();
        payload_case(b, pay, len, EXP_ANY, "%s payload byte %zu = 0x%02x (resealed)", name, at,
                     pay[at]);
    }
    free(pay);
}

static void test_model_files(void) {
    for (int full = 1; full >= 0; full--) {
        dc_model *m = make_model(full);
        const char *path = tmp_path("fuzz-orig.dcm");
        CHECK_OK(dc_model_save(m, path));
        bytes b;
        b.p = read_bytes(path, &b.n);
        /* The valid file loads to the same model. */
        set_case("valid model (%s)", full ? "full" : "minimal");
        call_begin();
        dc_model *back = NULL;
        CHECK_OK(dc_model_load(&back, path));
        trec r[64];
        int n = trec_parse(b.p + 32, b.n - 32, r, 64);
        CHECK(n > 10 && back && model_matches(back, b.p + 32, r, n));
        CHECK(back && model_matches(m, b.p + 32, r, n)); /* the writer wrote m */
        double v = 0;
        CHECK(back && dc_model_get(back, "lambda", &v) == DC_OK && v == 0.1);
        dc_model_free(back);
        call_end();
        check_save_to_buffer(m, &b);
        const char *nm = full ? "model" : "minimal model";
        container_cases(&b, nm);
        model_payload_cases(&b, nm, 0);
        dc_model_free(m);
        free(b.p);
    }
}

/* ---- checkpoint resume ---- */

typedef struct ck_fixture {
    dc_dataset *ds;
    int32_t *labels; /* of the uninterrupted fit */
    int64_t n, k;
} ck_fixture;

/* A damaged max_iter record may ask for a long fit: stop it early. */
static int stop_long_fit(void *user, const char *phase, long long done, long long total,
                         double value) {
    (void)user, (void)total, (void)value;
    return strcmp(phase, "cluster") == 0 && done > 40;
}

static dc_solver *ck_solver(void) {
    dc_solver *s = NULL;
    if (dc_solver_create(&s, "edcwrn") != DC_OK) abort();
    if (dc_solver_set_progress(s, stop_long_fit, NULL) != DC_OK) abort();
    return s;
}

/* dc_solver_resume of the bytes: clean failure (the solver keeps its
 * parameters and has no result) or a result with valid labels; `same` also
 * requires the uninterrupted fit's labels. */
static void check_resume(const ck_fixture *fx, const bytes *file, int want, int same) {
    const char *path = tmp_path("fuzz.ckpt");
    write_bytes(path, file->p, file->n);
    call_begin();
    dc_solver *s = ck_solver();
    dc_status st = dc_solver_resume(s, fx->ds, path);
    g_st = st;
    if (st != DC_OK) {
        FCHECK(dc_last_error()[0] != '\0');
        FCHECK(load_code(st) || st == DC_ERR_STATE || st == DC_ERR_INVALID_ARG ||
               st == DC_ERR_NUMERIC || (st == DC_ERR_CANCELLED && want == EXP_ANY));
        FCHECK(want != DC_OK);
        if (want < 0) FCHECK(st == want);
        /* A failure before training leaves the parameters as they were. */
        double v = 0;
        if (st != DC_ERR_CANCELLED && st != DC_ERR_NUMERIC)
            FCHECK(dc_solver_get(s, "max_iter", &v) == DC_OK && v == 8000);
        int64_t cnt = 0;
        FCHECK(dc_solver_labels(s, NULL, 0, &cnt) == DC_ERR_STATE);
    } else {
        FCHECK(want == DC_OK || want == EXP_ANY);
        int32_t *l = calloc((size_t)fx->n, sizeof *l);
        FCHECK(dc_solver_labels(s, l, fx->n, NULL) == DC_OK);
        int inrange = 1;
        for (int64_t i = 0; i < fx->n; i++) inrange &= l[i] >= 0 && l[i] < fx->k;
        FCHECK(inrange);
        if (same) FCHECK(memcmp(l, fx->labels, sizeof(int32_t) * (size_t)fx->n) == 0);
        free(l);
    }
    dc_solver_free(s);
    call_end();
}

static void resume_payload(const ck_fixture *fx, const bytes *file, unsigned char *pay,
                           size_t len, int want, int same) {
    bytes m = reseal(file, pay, len);
    check_resume(fx, &m, want, same);
    free(m.p);
}

static void test_checkpoint(void) {
    /* A tiny EDCWRN fit on three blobs, with checkpoints; the final one
     * resumes to the same labels without training. */
    enum { N = 36, D = 6, K = 3 };
    float x[N * D];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((j * K / D == i % K ? 0.85 : 0.1) + 0.04 * dci_rng_normal(&R));
    ck_fixture fx = {NULL, calloc(N, sizeof(int32_t)), N, K};
    CHECK_OK(dc_dataset_create(&fx.ds, x, N, D, DC_COPY));
    dc_solver *s = ck_solver();
    static const struct {
        const char *name;
        double v;
    } params[] = {{"k", K},           {"seed", 3},          {"hidden1", 8},
                  {"hidden2", 6},     {"hidden3", 0},       {"embed_dim", 2},
                  {"batch", 12},      {"pretrain_epochs", 3}, {"n_init", 1},
                  {"update_interval", 4}, {"max_iter", 8},  {"tol", 0},
                  {"neighbors_k", 2}};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        CHECK_OK(dc_solver_set(s, params[i].name, params[i].v));
    const char *ck = tmp_path("fuzz-orig.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(s, ck, 4));
    CHECK_OK(dc_solver_fit(s, fx.ds));
    CHECK_OK(dc_solver_labels(s, fx.labels, N, NULL));
    dc_solver_free(s);
    bytes b;
    b.p = read_bytes(ck, &b.n);
    set_case("valid checkpoint");
    check_resume(&fx, &b, DC_OK, 1);

    /* The container: a sample of truncations and altered bytes (dc_solver_resume
     * reads it through the same loader as dc_model_load, tested above). */
    for (int t = 0; t < 120; t++) {
        size_t len = t < 40 ? (size_t)t : below(b.n);
        set_case("checkpoint cut to %zu of %zu", len, b.n);
        bytes m = splice(&b, len, b.n, NULL, 0);
        check_resume(&fx, &m, DC_ERR_TRUNCATED, 0);
        free(m.p);
        size_t at = 12 + below(b.n - 12);
        unsigned char c = (unsigned char)(b.p[at] ^ (1 + below(255)));
        set_case("checkpoint byte %zu altered", at);
        m = splice(&b, at, 1, &c, 1);
        check_resume(&fx, &m, DC_ERR_CHECKSUM, 0);
        free(m.p);
    }

    /* Resealed edits of the training state. */
    const size_t len = b.n - 32;
    unsigned char *orig = b.p + 32, *pay = malloc(len + 16);
    trec r[256];
    const int n = trec_parse(orig, len, r, 256);
    CHECK(n > 20);
    static const struct {
        const char *rec;
        int64_t v;
        int want;
    } edits[] = {{"state.iter", -1, DC_ERR_FORMAT},   {"state.iter", 1 << 30, EXP_FAIL},
                 {"state.pos", -1, DC_ERR_FORMAT},    {"state.pos", N + 1, DC_ERR_FORMAT},
                 {"state.order", N, DC_ERR_FORMAT},   {"state.order", -1, DC_ERR_FORMAT},
                 {"state.nbr", N, DC_ERR_FORMAT},     {"state.nbr", -5, DC_ERR_FORMAT},
                 {"data.rows", N + 1, DC_ERR_STATE},  {"data.cols", D - 1, DC_ERR_STATE},
                 {"data.crc", 12345, DC_ERR_STATE},   {"k", K + 1, EXP_FAIL},
                 {"ae.k", 5, EXP_ANY},                 {"state.converged", 1, DC_ERR_FORMAT},
                 {"neighbors_k", 0, DC_ERR_FORMAT},   {"ae.dims", 0, DC_ERR_FORMAT}};
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const trec *t = trec_find(orig, r, n, edits[i].rec);
        CHECK(t != NULL);
        if (!t) continue;
        memcpy(pay, orig, len);
        size_t at = t->data + 8 * below(t->count);
        if (strcmp(edits[i].rec, "state.converged") == 0) {
            /* converged needs a finite label change at an update iteration */
            const trec *lc = trec_find(orig, r, n, "state.last_change");
            const double nan_v = NAN;
            if (lc) memcpy(pay + lc->data, &nan_v, 8);
        }
        memcpy(pay + at, &edits[i].v, 8);
        set_case("checkpoint %s = %lld (resealed)", edits[i].rec, (long long)edits[i].v);
        resume_payload(&fx, &b, pay, len, edits[i].want, 0);
    }
    /* Labels out of range, a history of the wrong length. */
    const trec *lt = trec_find(orig, r, n, "state.labels");
    for (int k = 0; lt && k < 2; k++) {
        memcpy(pay, orig, len);
        int32_t bad = k ? K : -1;
        memcpy(pay + lt->data + 4 * below(lt->count), &bad, 4);
        set_case("checkpoint state.labels entry = %d", (int)bad);
        resume_payload(&fx, &b, pay, len, DC_ERR_FORMAT, 0);
    }
    const trec *ht = trec_find(orig, r, n, "state.loss");
    if (ht) {
        memcpy(pay, orig, len);
        st_u64(pay + ht->meta + 2, ht->count - 1);
        /* the record shrinks by one float: move the rest up */
        memmove(pay + ht->data + 4 * (ht->count - 1), orig + ht->data + 4 * ht->count,
                len - (ht->data + 4 * ht->count));
        set_case("checkpoint state.loss one element short");
        resume_payload(&fx, &b, pay, len - 4, DC_ERR_FORMAT, 0);
    }
    /* Random resealed damage. */
    for (int t = 0; t < 200; t++) {
        memcpy(pay, orig, len);
        size_t at = below(len);
        pay[at] = t & 1 ? (unsigned char)(pay[at] ^ (1u << below(8))) : interesting_byte();
        set_case("checkpoint payload byte %zu = 0x%02x (resealed)", at, pay[at]);
        resume_payload(&fx, &b, pay, len, EXP_ANY, 0);
    }
    free(pay);
    free(b.p);
    dc_dataset_free(fx.ds);
    free(fx.labels);
}

/* ---- images: PNG and binary PGM/PPM ---- */

static int pnm_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* A header number as the netpbm description has it: blanks and '#'
 * comments before, one blank after. -1 if malformed or cut off. */
static long long ref_pnm_number(const bytes *b, size_t *pos) {
    size_t i = *pos;
    for (;;) {
        if (i >= b->n) return -1;
        if (b->p[i] == '#') {
            while (i < b->n && b->p[i] != '\n' && b->p[i] != '\r') i++;
        } else if (pnm_ws(b->p[i])) {
            i++;
        } else {
            break;
        }
    }
    long long v = 0;
    size_t start = i;
    while (i < b->n && b->p[i] >= '0' && b->p[i] <= '9') {
        v = v * 10 + (b->p[i++] - '0');
        if (v > 2147483647LL) return -1;
    }
    if (i == start || i >= b->n || !pnm_ws(b->p[i])) return -1;
    *pos = i + 1;
    return v;
}

/* The image a damaged P5/P6 file holds, or NULL when it must fail. */
static unsigned char *ref_pnm(const bytes *b, long long *w, long long *h, int *ch) {
    if (b->n < 2 || b->p[0] != 'P' || (b->p[1] != '5' && b->p[1] != '6')) return NULL;
    *ch = b->p[1] == '5' ? 1 : 3;
    size_t pos = 2;
    *w = ref_pnm_number(b, &pos);
    *h = ref_pnm_number(b, &pos);
    long long maxval = ref_pnm_number(b, &pos);
    if (*w < 1 || *h < 1 || maxval < 1 || maxval > 255) return NULL;
    unsigned long long n = (unsigned long long)*w * (unsigned long long)*h * (unsigned long long)*ch;
    if (b->n - pos != n) return NULL;
    unsigned char *px = malloc(n);
    for (size_t i = 0; i < n; i++) {
        if (b->p[pos + i] > maxval) {
            free(px);
            return NULL;
        }
        px[i] = (unsigned char)((b->p[pos + i] * 255 + maxval / 2) / maxval);
    }
    return px;
}

/* One image load: a failure has a specific code and no pixels; a success
 * gives exactly `want` (NULL: must fail). */
static void check_image_load(const char *path, const unsigned char *want, long long w, long long h,
                             int ch) {
    dc_image img;
    call_begin();
    g_st = dc_image_read(path, &img);
    if (want) {
        FCHECK(g_st == DC_OK && img.width == w && img.height == h && img.channels == ch &&
               memcmp(img.pixels, want, (size_t)(w * h * ch)) == 0);
    } else {
        FCHECK(g_st != DC_OK && load_code(g_st) && dc_last_error()[0] && img.pixels == NULL);
    }
    dc_image_free(&img);
    call_end();
}

/* Loads damaged bytes b (freed here) as the reference reading says. */
static void pnm_damaged_case(const char *path, bytes b) {
    long long w = 0, h = 0;
    int ch = 0;
    write_bytes(path, b.p, b.n);
    unsigned char *ref = ref_pnm(&b, &w, &h, &ch);
    check_image_load(path, ref, w, h, ch);
    free(ref);
    free(b.p);
}

static void pnm_cases(const bytes *file) {
    const char *path = tmp_path("fuzz.ppm");
    for (size_t cut = 0; cut < file->n; cut++) {
        set_case("PNM cut at %zu", cut);
        pnm_damaged_case(path, splice(file, cut, file->n, NULL, 0));
    }
    for (int t = 0; t < 400; t++) {
        size_t at;
        char what[96];
        bytes b = random_damage(file, 0, &at, what, sizeof what);
        set_case("PNM %s", what);
        pnm_damaged_case(path, b);
    }
    /* Sizes the file cannot hold: refused before the allocation. */
    const char *huge[] = {"P6\n1000000 1000000\n255\n", "P5\n2147483647 2147483647\n255\n",
                          "P6\n99999999999 1\n255\n"};
    for (int i = 0; i < 3; i++) {
        set_case("PNM header '%s'", huge[i]);
        write_bytes(path, huge[i], strlen(huge[i]));
        check_image_load(path, NULL, 0, 0, 0);
    }
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void png_cases(const bytes *file, const unsigned char *px, int w, int h, int ch) {
    const char *path = tmp_path("fuzz.png");
    for (size_t cut = 0; cut < file->n; cut++) {
        set_case("PNG cut at %zu", cut);
        write_bytes(path, file->p, cut);
        check_image_load(path, NULL, 0, 0, 0);
    }
    /* CRCs catch nearly every damage; what passes (bytes after IEND are
     * refused as extra data) must still give the original pixels. */
    for (int t = 0; t < 400; t++) {
        size_t at;
        char what[96];
        bytes b = random_damage(file, 0, &at, what, sizeof what);
        set_case("PNG %s", what);
        write_bytes(path, b.p, b.n);
        dc_image img;
        call_begin();
        g_st = dc_image_read(path, &img);
        FCHECK(g_st == DC_OK ? img.width == w && img.height == h && img.channels == ch &&
                                   memcmp(img.pixels, px, (size_t)(w * h * ch)) == 0
                             : load_code(g_st) && dc_last_error()[0] && img.pixels == NULL);
        dc_image_free(&img);
        call_end();
        free(b.p);
    }
    /* IHDR sizes the file cannot hold, with a valid CRC: refused before
     * the big allocation (IHDR data starts at byte 16). */
    const uint32_t dims[][2] = {{1000000, 1000000}, {0x7fffffff, 1}, {65535, 65535}, {0, 5}};
    for (int i = 0; i < 4; i++) {
        bytes b = splice(file, 0, 0, NULL, 0);
        put_be32(b.p + 16, dims[i][0]);
        put_be32(b.p + 20, dims[i][1]);
        put_be32(b.p + 29, (uint32_t)crc32(0, b.p + 12, 17));
        set_case("PNG IHDR %u x %u", dims[i][0], dims[i][1]);
        write_bytes(path, b.p, b.n);
        check_image_load(path, NULL, 0, 0, 0);
        free(b.p);
    }
}

static void test_images(void) {
    enum { IW = 7, IH = 5 };
    unsigned char px[IW * IH * 3];
    for (int i = 0; i < IW * IH * 3; i++) px[i] = (unsigned char)below(256);
    const char *names[] = {"fuzz-src.ppm", "fuzz-src.pgm", "fuzz-src.png"};
    int chans[] = {3, 1, 3};
    for (int f = 0; f < 3; f++) {
        const char *path = tmp_path(names[f]);
        set_case("valid %s", names[f]);
        call_begin();
        g_st = dc_image_write(path, px, IW, IH, chans[f]);
        FCHECK(g_st == DC_OK);
        call_end();
        size_t n = 0;
        bytes b;
        b.p = read_bytes(path, &n);
        b.n = n;
        check_image_load(path, px, IW, IH, chans[f]);
        if (f < 2) {
            long long w, h;
            int ch;
            unsigned char *ref = ref_pnm(&b, &w, &h, &ch);
            CHECK(ref && w == IW && h == IH && ch == chans[f] && memcmp(ref, px, (size_t)(IW * IH * ch)) == 0);
            free(ref);
            pnm_cases(&b);
        } else {
            png_cases(&b, px, IW, IH, 3);
        }
        free(b.p);
    }
}

int main(void) {
    CHECK_OK(test_alloc_install(GIANT));
    dci_rng_init(&R, 20240607, DCI_STREAM_TEST);
    scratch_make("dc_fuzz");
    test_csv();
    test_npy();
    test_idx();
    test_model_files();
    test_checkpoint();
    test_images();

    scratch_remove();
    CHECK(g_alloc.live == 0);
    DC_TEST_END();
}
