/* The corrupt-file tests (test_file_fuzz_*.c), one program per reader,
 * from a fixed seed: small valid files are truncated at every length, have
 * bytes flipped, inserted and deleted, and header fields set to implausible
 * values. Each load must either fail with a specific status, a detail and no
 * result, or succeed with exactly what an independent reference reading of
 * the damaged bytes gives (the readers there are written plainly from the
 * format descriptions, not copied from the library). A counting allocator
 * (dc_set_allocator) checks after every call that nothing leaked and that no
 * header value made the library ask for a giant block. Little-endian host
 * assumed (model records are compared as raw bytes). */
#ifndef DC_TEST_FILE_FUZZ_COMMON_H
#define DC_TEST_FILE_FUZZ_COMMON_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "test_alloc.h"
#include "test_files.h"
#include "core/rng.h"
#include "deepclust.h"

static dci_rng R;
static char g_case[256]; /* the load under test, for failure messages */
static dc_status g_st;

static inline void set_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void set_case(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_case, sizeof g_case, fmt, ap);
    va_end(ap);
}

#define FCHECK(cond)                                                                     \
    CHECK_MSG(cond, "[%s] status %d (%s), detail '%s'", g_case, (int)g_st,              \
              dc_strerror(g_st), dc_last_error())

static inline uint64_t below(uint64_t n) { return dci_rng_below(&R, n); }

/* The allocator (test_alloc.h) refuses requests above this and records
 * them: no header value may make the library ask for a giant block. */
#define GIANT ((size_t)64 << 20)

/* Every call under test is bracketed by these: fresh error state before,
 * no leak and no giant request after. */
static long long g_live_before;
static int g_allow_giant; /* a case where a refused giant request is the known outcome */
static inline void call_begin(void) {
    dc_clear_error();
    g_alloc.giant_seen = 0;
    g_live_before = g_alloc.live;
}
static inline void call_end(void) {
    FCHECK(g_alloc.live == g_live_before);
    CHECK_MSG(g_alloc.giant_seen == 0 || g_allow_giant, "[%s] asked for a block of %zu bytes",
              g_case, g_alloc.giant_seen);
}

/* A failed load: a specific code, a detail, no result. */
static inline int load_code(dc_status st) {
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
static inline bytes splice(const bytes *src, size_t at, size_t del, const void *ins,
                           size_t nins) {
    if (at > src->n) at = src->n;
    if (del > src->n - at) del = src->n - at;
    bytes b = {malloc(src->n - del + nins + 1), src->n - del + nins};
    memcpy(b.p, src->p, at);
    if (nins) memcpy(b.p + at, ins, nins);
    memcpy(b.p + at + nins, src->p + at + del, src->n - at - del);
    return b;
}

static inline void put_text(bytes *b, size_t *cap, const char *s, size_t n) {
    if (b->n + n + 1 > *cap) {
        *cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, *cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

/* Bytes that mean something to one of the formats. */
static inline unsigned char interesting_byte(void) {
    static const char set[] = ",;\t \n\r#\"'.eE-+0123456789nNaAiIfF(){}:LTu<>|";
    switch (below(4)) {
    case 0: return (unsigned char)below(256);
    case 1: return (unsigned char)(below(2) ? 0x00 : 0xff);
    default: return (unsigned char)set[below(sizeof set - 1)];
    }
}

/* One random damage of b at a random place; *at is where it starts. */
static inline bytes random_damage(const bytes *b, size_t lo, size_t *at, char *what,
                                  size_t wsize) {
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
        /* lo at the end (an empty payload): delete the last bytes, or the
         * "damage" would change nothing and the file would still load. */
        if (*at + k > b->n) *at = b->n > k ? b->n - k : 0;
        snprintf(what, wsize, "%zu bytes deleted at %zu", k, *at);
        return splice(b, *at, k, NULL, 0);
    }
    }
}

/* gzip in memory (the same stream gzwrite makes). */
static inline bytes gzip_bytes(const bytes *src) {
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
static inline int gunzip_like_gzread(const bytes *src, bytes *out) {
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

static inline void dexp_free(dexp *e) {
    free(e->x);
    e->x = NULL;
}

static inline void check_dataset_load(const char *path, const dc_load_options *opt,
                                      const dexp *e) {
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

static inline void check_labels_load(dc_dataset *ds, const char *path, dc_format fmt,
                                     const lexp *e, const int32_t *before) {
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

/* ---- elements of NPY and IDX arrays ---- */

typedef struct ntype {
    const char *descr;
    char kind; /* 'f', 'i', 'u' */
    int width;
} ntype;

/* Element i of little-endian data of a type, as a double (all of these
 * types convert exactly except i8 beyond 2^53, not generated here). */
static inline double le_value(const unsigned char *p, char kind, int width, int big_endian) {
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
static inline int decode_features(const unsigned char *p, int64_t count, char kind, int width,
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

static inline int decode_labels(const unsigned char *p, int64_t count, char kind, int width,
                                int big_endian, int32_t *out) {
    for (int64_t i = 0; i < count; i++) {
        double v = le_value(p + i * width, kind, width, big_endian);
        if (!(v == floor(v) && v >= INT32_MIN && v <= INT32_MAX)) return DC_ERR_FORMAT;
        out[i] = (int32_t)v;
    }
    return DC_OK;
}

/* Random elements of a type (integers in their range, floats ~N(0, 100)). */
static inline void random_elements(unsigned char *p, int64_t count, const ntype *t) {
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

/* ---- one program per reader ---- */

enum { FUZZ_CSV, FUZZ_NPY, FUZZ_IDX, FUZZ_MODEL, FUZZ_CHECKPOINT, FUZZ_IMAGES };

/* Each program draws from its own stream (seed 20240607 + subject), so a
 * program's damaged files do not depend on what the others draw. */
static inline int fuzz_main(int subject, void (*cases)(void)) {
    CHECK_OK(test_alloc_install(GIANT));
    dci_rng_init(&R, 20240607 + (uint64_t)subject, DCI_STREAM_TEST);
    scratch_make("dc_fuzz");
    cases();
    scratch_remove();
    CHECK(g_alloc.live == 0);
    DC_TEST_END();
}

#endif
