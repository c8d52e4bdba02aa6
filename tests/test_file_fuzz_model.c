/* Corrupt model files for dc_model_load and dc_model_load_from_buffer: damaged
 * containers fail on their lengths and checksums, and resealed payload edits
 * (what a buggy writer or a forger could produce) fail cleanly or load exactly
 * what the records say. */
#include "file_fuzz_common.h"
#include "file_fuzz_records.h"
#include "methods/deep_model.h"
#include "methods/model_io.h"

/* ---- model files ---- */

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

int main(void) { return fuzz_main(FUZZ_MODEL, test_model_files); }
