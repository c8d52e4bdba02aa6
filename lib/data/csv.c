#include "data/csv.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/fileio.h"

/* How much of a bad cell to quote in a message. */
#define SHOW 40

typedef struct csv_text {
    const char *path;
    char *buf;
    const char *p, *end;
    long line;      /* 1-based number of the line last returned */
    char delim;     /* ',', ';', '\t', or ' ' for runs of blanks */
    locale_t c_loc; /* numbers are parsed in the C locale whatever the process uses */
} csv_text;

/* A text over buf[0, len): the whole file, or (dci_csv_parse_block) a block
 * of its lines whose first is line first_line of the file. Does not own buf. */
static dc_status text_init(csv_text *t, const char *path, char *buf, size_t len, long first_line) {
    memset(t, 0, sizeof *t);
    t->path = path;
    t->p = buf;
    t->end = buf + len;
    t->line = first_line - 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) t->p += 3;
    t->c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!t->c_loc) return dci_fail(DC_ERR_NOMEM, "%s: cannot create the C locale", path);
    return DC_OK;
}

static dc_status text_open(csv_text *t, const char *path) {
    dci_reader r;
    DCI_TRY(dci_reader_open(&r, path));
    char *buf = NULL;
    size_t len = 0;
    dc_status st = dci_reader_read_all(&r, &buf, &len);
    dci_reader_close(&r);
    DCI_TRY(st);
    st = text_init(t, path, buf, len, 1);
    if (st != DC_OK) {
        dci_free(buf);
        return st;
    }
    t->buf = buf; /* owned from here: text_close frees it */
    return DC_OK;
}

static void text_close(csv_text *t) {
    dci_free(t->buf);
    if (t->c_loc) freelocale(t->c_loc);
    t->buf = NULL;
    t->c_loc = (locale_t)0;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int dci_csv_content_line(const char *b, const char *e) {
    if (e > b && e[-1] == '\r') e--;
    while (b < e && is_blank(*b)) b++;
    return b < e && *b != '#';
}

/* Next line with content (blank and '#' lines skipped), without its line end. */
static int next_line(csv_text *t, const char **ls, const char **le) {
    while (t->p < t->end) {
        const char *b = t->p;
        const char *nl = memchr(b, '\n', (size_t)(t->end - b));
        const char *e = nl ? nl : t->end;
        t->p = nl ? nl + 1 : t->end;
        t->line++;
        if (!dci_csv_content_line(b, e)) continue;
        if (e > b && e[-1] == '\r') e--;
        *ls = b;
        *le = e;
        return 1;
    }
    return 0;
}

typedef struct field_iter {
    const char *p, *end;
    char delim;
    int done;
} field_iter;

static void fields_init(field_iter *it, const char *ls, const char *le, char delim) {
    it->p = ls;
    it->end = le;
    it->delim = delim;
    it->done = 0;
}

static int ends_field(const field_iter *it, const char *p) {
    return p == it->end || *p == it->delim || (it->delim == ' ' && is_blank(*p));
}

/* Next field, trimmed of blanks and surrounding double quotes. */
static int next_field(field_iter *it, const char **fs, const char **fe) {
    if (it->done) return 0;
    const char *p = it->p, *end = it->end;
    while (p < end && is_blank(*p) && (*p != it->delim || it->delim == ' ')) p++;
    if (it->delim == ' ' && p == end) {
        it->done = 1;
        return 0;
    }
    const char *s = p, *e = NULL;
    if (p < end && *p == '"') {
        const char *q = p + 1;
        while (q < end && !(*q == '"' && !(q + 1 < end && q[1] == '"'))) q += *q == '"' ? 2 : 1;
        const char *after = q < end ? q + 1 : q;
        while (after < end && is_blank(*after) && !ends_field(it, after)) after++;
        if (q < end && ends_field(it, after)) {
            s = p + 1;
            e = q;
            p = after;
        }
    }
    if (!e) {
        /* Unquoted, or a quote left open or followed by more text: the
         * whole cell, which then fails to parse and is shown as it is. */
        while (p < end && !ends_field(it, p)) p++;
        e = p;
        while (e > s && is_blank(e[-1])) e--;
    }
    *fs = s;
    *fe = e;
    if (p < end) {
        it->p = p + 1;
    } else {
        it->p = end;
        it->done = 1;
    }
    return 1;
}

static int count_fields(const char *ls, const char *le, char delim) {
    field_iter it;
    const char *s, *e;
    int n = 0;
    fields_init(&it, ls, le, delim);
    while (next_field(&it, &s, &e)) n++;
    return n;
}

/* The delimiter occurring most often in the header/first line: , then tab
 * then ; on ties; blanks only when none of them occurs. */
static char detect_delim(const char *ls, const char *le) {
    int comma = 0, semi = 0, tab = 0, inner_blank = 0;
    for (const char *p = ls; p < le; p++) {
        comma += *p == ',';
        semi += *p == ';';
        tab += *p == '\t';
    }
    const char *s = ls, *e = le;
    while (s < e && is_blank(*s)) s++;
    while (e > s && is_blank(e[-1])) e--;
    for (const char *p = s; p < e; p++) inner_blank |= *p == ' ';
    if (comma && comma >= tab && comma >= semi) return ',';
    if (tab && tab >= semi) return '\t';
    if (semi) return ';';
    return inner_blank ? ' ' : ',';
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses [s, e) as a float, rounded exactly as strtof would. Fast path
 * (Clinger): a decimal m * 10^k with m <= 2^53 and |k| <= 22 has both
 * factors exact in double, so one multiply or divide gives the correctly
 * rounded double. Rounding that double to float can only differ from direct
 * rounding when it lands exactly on a float midpoint; those, and everything
 * else (long mantissas, big exponents, subnormals, inf/nan, hex), go to
 * strtof. This makes typical CSV cells ~5x faster to read. */
static int parse_float(const char *s, const char *e, locale_t loc, float *out) {
    const char *p = s;
    int neg = 0, any = 0, sig = 0, dot = 0, scale = 0;
    uint64_t m = 0;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    for (; p < e; p++) {
        unsigned dg = (unsigned)(*p - '0');
        if (dg <= 9) {
            any = 1;
            if (sig == 19) goto slow;
            m = m * 10 + dg;
            sig += m != 0; /* leading zeros are not significant */
            scale -= dot;
        } else if (*p == '.' && !dot)
            dot = 1;
        else
            break;
    }
    if (!any) goto slow;
    if (p < e && (*p == 'e' || *p == 'E')) {
        int eneg = 0, ex = 0, ed = 0;
        if (++p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
        for (; p < e && *p >= '0' && *p <= '9' && ex < 10000; p++, ed++) ex = ex * 10 + (*p - '0');
        if (!ed) goto slow;
        scale += eneg ? -ex : ex;
    }
    if (p != e || m > (1ull << 53) || scale < -22 || scale > 22) goto slow;
    double d = scale < 0 ? (double)m / pow10_exact[-scale] : (double)m * pow10_exact[scale];
    if (d > FLT_MAX || (d != 0.0 && d < FLT_MIN)) goto slow;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if ((bits & ((1ull << 29) - 1)) == (1ull << 28)) goto slow; /* float midpoint */
    *out = (float)(neg ? -d : d);
    return 1;
slow:
    if (s == e) return 0;
    char *stop;
    *out = strtof_l(s, &stop, loc);
    return stop == e;
}

/* 1: integer label; 0: not a number; -1: a number but not an int32 value. */
static int parse_label(const char *s, const char *e, locale_t loc, int32_t *out) {
    if (s == e) return 0;
    char *stop;
    double v = strtod_l(s, &stop, loc);
    if (stop != e) return 0;
    if (!(v == floor(v) && v >= (double)INT32_MIN && v <= (double)INT32_MAX)) return -1;
    *out = (int32_t)v;
    return 1;
}

static int line_all_numeric(const csv_text *t, const char *ls, const char *le, int first_only) {
    field_iter it;
    const char *s, *e;
    float v;
    fields_init(&it, ls, le, t->delim);
    while (next_field(&it, &s, &e)) {
        /* An empty field says nothing (a header's blank index name, or a
         * data row's missing value, which the row's parse then reports). */
        if (s != e && !parse_float(s, e, t->c_loc, &v)) return 0;
        if (first_only) break;
    }
    return 1;
}

/* A detected header with numbers in it may be a data row with a typo (or a
 * trailing delimiter): it is dropped, so say so. */
static void warn_numeric_header(const csv_text *t, const char *ls, const char *le) {
    field_iter it;
    const char *s, *e, *bad = NULL, *bad_end = NULL;
    float v;
    int fields = 0, numbers = 0, bad_col = 0;
    fields_init(&it, ls, le, t->delim);
    while (next_field(&it, &s, &e)) {
        fields++;
        if (parse_float(s, e, t->c_loc, &v)) numbers++;
        else if (!bad && s != e) {
            bad = s;
            bad_end = e;
            bad_col = fields;
        }
    }
    if (numbers == 0 || !bad) return;
    int len = (int)(bad_end - bad) > SHOW ? SHOW : (int)(bad_end - bad);
    dci_log(DC_LOG_WARN, "%s: line 1 taken as a header line (column %d: '%.*s' is not a "
            "number), though %d of its %d fields are numbers; if it is data, fix it or read the "
            "file with header = no",
            t->path, bad_col, len, bad, numbers, fields);
}

static int64_t count_newlines(const char *p, const char *end) {
    int64_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

static dc_status bad_label(const csv_text *t, int col, const char *s, const char *e, int kind) {
    int len = (int)(e - s) > SHOW ? SHOW : (int)(e - s);
    return dci_fail(DC_ERR_FORMAT, "%s: line %ld, column %d: '%.*s' is %s", t->path, t->line,
                    col + 1, len, s, kind == 0 ? "not a number" : "not an integer label");
}

/* Reads the first content line and decides delimiter and header. On return
 * (ls, le) hold the first data line. */
static dc_status read_first_line(csv_text *t, char delim, int header, int first_only,
                                 const char **ls, const char **le, int *header_out) {
    if (!next_line(t, ls, le)) return dci_fail(DC_ERR_FORMAT, "%s: empty file", t->path);
    t->delim = delim ? delim : dci_path_is_tsv(t->path) ? '\t' : detect_delim(*ls, *le);
    if (header < 0) {
        header = !line_all_numeric(t, *ls, *le, first_only);
        if (header && !first_only) warn_numeric_header(t, *ls, *le);
    }
    if (header_out) *header_out = header;
    if (header && !next_line(t, ls, le))
        return dci_fail(DC_ERR_FORMAT, "%s: no data rows after the header line", t->path);
    return DC_OK;
}

/* nfields > 0: every row must have that many fields (a block of a file whose
 * first row has them); 0: as many as the first row. */
static dc_status parse_table(csv_text *t, const dc_load_options *opt, int nfields, float **xo,
                             int64_t *no, int64_t *dout, int32_t **yo) {
    const char *ls, *le;
    DCI_TRY(read_first_line(t, opt->delimiter, opt->header, 0, &ls, &le, NULL));
    if (nfields < 1) nfields = count_fields(ls, le, t->delim);
    int label_col = opt->label_column == DC_LABEL_COLUMN_LAST ? nfields - 1 : opt->label_column;
    if (label_col >= nfields)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: label column %d does not exist (line %ld has "
                        "%d fields)", t->path, label_col, t->line, nfields);
    int64_t d = nfields - (label_col >= 0);
    if (d < 1) return dci_fail(DC_ERR_SHAPE, "%s: no feature columns besides the labels", t->path);

    int64_t cap = count_newlines(ls, t->end) + 1;
    float *x = DCI_NEW_ARRAY(float, cap * d, "CSV data");
    int32_t *y = label_col >= 0 ? DCI_NEW_ARRAY(int32_t, cap, "CSV labels") : NULL;
    if (!x || (label_col >= 0 && !y)) {
        dci_free(x);
        dci_free(y);
        return DC_ERR_NOMEM;
    }
    dc_status st = DC_OK;
    int64_t n = 0;
    do {
        field_iter it;
        const char *s, *e;
        float *row = x + n * d;
        int j = 0;
        fields_init(&it, ls, le, t->delim);
        while (st == DC_OK && j <= nfields && next_field(&it, &s, &e)) {
            if (j == nfields) {
                j++; /* too many: counted in the message below */
                break;
            }
            if (j == label_col) {
                int ok = parse_label(s, e, t->c_loc, &y[n]);
                if (ok != 1) st = bad_label(t, j, s, e, ok);
            } else if (!parse_float(s, e, t->c_loc, row)) {
                st = bad_label(t, j, s, e, 0);
            } else if (!isfinite(*row)) {
                /* An Inf from a finite number (1e39) is a range problem, not an Inf. */
                int spelled = memchr(s, 'i', (size_t)(e - s)) || memchr(s, 'I', (size_t)(e - s));
                st = dci_fail(DC_ERR_NONFINITE, "%s: line %ld, column %d is %s", t->path, t->line,
                              j + 1, isnan(*row)  ? "NaN"
                                     : spelled    ? "Inf"
                                                  : "beyond the float32 range (|x| > 3.4e38)");
            } else
                row++;
            j++;
        }
        if (st == DC_OK && j != nfields)
            st = dci_fail(DC_ERR_FORMAT, "%s: line %ld: expected %d fields, got %d", t->path,
                          t->line, nfields, count_fields(ls, le, t->delim));
        n++;
    } while (st == DC_OK && next_line(t, &ls, &le));
    if (st != DC_OK) {
        dci_free(x);
        dci_free(y);
        return st;
    }
    /* Give back the slack of the line-count estimate (blank or comment lines). */
    if (n < cap) {
        float *shrunk = dci_realloc(x, (size_t)(n * d) * sizeof(float));
        if (shrunk) x = shrunk;
    }
    *xo = x;
    *no = n;
    *dout = d;
    *yo = y;
    return DC_OK;
}

dc_status dci_csv_read(const char *path, const dc_load_options *opt, float **x, int64_t *n,
                       int64_t *d, int32_t **labels) {
    *x = NULL;
    *labels = NULL;
    *n = *d = 0;
    csv_text t;
    DCI_TRY(text_open(&t, path));
    dc_status st = parse_table(&t, opt, 0, x, n, d, labels);
    text_close(&t);
    return st;
}

dc_status dci_csv_sniff(const char *path, char *head, size_t len, const dc_load_options *opt,
                        char *delim, int *header, int *nfields) {
    csv_text t;
    DCI_TRY(text_init(&t, path, head, len, 1));
    const char *ls, *le;
    dc_status st = read_first_line(&t, opt->delimiter, opt->header, 0, &ls, &le, header);
    *delim = t.delim;
    if (st == DC_OK) *nfields = count_fields(ls, le, t.delim);
    text_close(&t);
    return st;
}

dc_status dci_csv_parse_block(const char *path, const dci_csv_block *b, const dc_load_options *opt,
                              float **x, int64_t *n, int64_t *d, int32_t **labels) {
    *x = NULL;
    *labels = NULL;
    *n = *d = 0;
    csv_text t;
    DCI_TRY(text_init(&t, path, b->buf, b->len, b->first_line));
    dc_status st = parse_table(&t, opt, b->nfields, x, n, d, labels);
    text_close(&t);
    return st;
}

static dc_status parse_labels(csv_text *t, int32_t **yo, int64_t *no) {
    const char *ls, *le;
    DCI_TRY(read_first_line(t, 0, -1, 1, &ls, &le, NULL));
    int64_t cap = count_newlines(ls, t->end) + 1;
    int32_t *y = DCI_NEW_ARRAY(int32_t, cap, "labels");
    if (!y) return DC_ERR_NOMEM;
    int64_t n = 0;
    dc_status st = DC_OK;
    do {
        field_iter it;
        const char *s = ls, *e = ls;
        fields_init(&it, ls, le, t->delim);
        next_field(&it, &s, &e);
        int ok = parse_label(s, e, t->c_loc, &y[n]);
        if (ok != 1) st = bad_label(t, 0, s, e, ok);
        n++;
    } while (st == DC_OK && next_line(t, &ls, &le));
    if (st != DC_OK) {
        dci_free(y);
        return st;
    }
    *yo = y;
    *no = n;
    return DC_OK;
}

dc_status dci_csv_read_labels(const char *path, int32_t **labels, int64_t *n) {
    *labels = NULL;
    *n = 0;
    csv_text t;
    DCI_TRY(text_open(&t, path));
    dc_status st = parse_labels(&t, labels, n);
    text_close(&t);
    return st;
}
