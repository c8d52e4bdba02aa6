/* Corrupt checkpoints for dc_solver_resume: a damaged file must fail before
 * training, leaving the solver as it was, or resume to valid labels; resealed
 * edits of the training state reach the checks a checksum cannot make. */
#include "file_fuzz_common.h"
#include "file_fuzz_records.h"

/* ---- checkpoint resume ---- */

typedef struct ck_fixture {
    dc_dataset *ds;
    int32_t *labels; /* of the uninterrupted fit */
    int64_t n, k;
} ck_fixture;

/* Cancels at the end of the second pre-training epoch: a pre-training
 * checkpoint. */
static int stop_in_pretrain(void *user, const char *phase, long long done, long long total,
                            double value) {
    (void)user, (void)total, (void)value;
    return strcmp(phase, "pretrain") == 0 && done >= 2;
}

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

static void test_pretrain_checkpoint(const ck_fixture *fx, const bytes *b);

/* 200 random byte changes of the payload `orig` (len bytes), each resealed
 * (valid checksum) so that the reader's own checks must catch it: any
 * status but never a crash. `pay` is len bytes of scratch. */
static void resealed_damage(const ck_fixture *fx, const bytes *file, const unsigned char *orig,
                            unsigned char *pay, size_t len, const char *what) {
    for (int t = 0; t < 200; t++) {
        memcpy(pay, orig, len);
        size_t at = below(len);
        pay[at] = t & 1 ? (unsigned char)(pay[at] ^ (1u << below(8))) : interesting_byte();
        set_case("%s payload byte %zu = 0x%02x (resealed)", what, at, pay[at]);
        resume_payload(fx, file, pay, len, EXP_ANY, 0);
    }
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
    /* Pre-training: 3 steps an epoch, cancelled after step 6 of 9. */
    CHECK_OK(dc_solver_set_progress(s, stop_in_pretrain, NULL));
    CHECK_STATUS(dc_solver_fit(s, fx.ds), DC_ERR_CANCELLED);
    bytes pre;
    pre.p = read_bytes(ck, &pre.n);
    CHECK_OK(dc_solver_set_progress(s, stop_long_fit, NULL));
    CHECK_OK(dc_solver_fit(s, fx.ds));
    CHECK_OK(dc_solver_labels(s, fx.labels, N, NULL));
    dc_solver_free(s);
    bytes b;
    b.p = read_bytes(ck, &b.n); /* before tmp_path's buffer is reused */
    test_pretrain_checkpoint(&fx, &pre);
    free(pre.p);
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
    resealed_damage(&fx, &b, orig, pay, len, "checkpoint");
    free(pay);
    free(b.p);
    dc_dataset_free(fx.ds);
    free(fx.labels);
}

/* The same for a pre-training checkpoint (methods/edcwrn_pretrain_ckpt.c):
 * intact, it resumes to the uninterrupted fit's labels. */
static void test_pretrain_checkpoint(const ck_fixture *fx, const bytes *b) {
    set_case("valid pre-training checkpoint");
    check_resume(fx, b, DC_OK, 1);
    for (int t = 0; t < 60; t++) {
        size_t len = t < 20 ? (size_t)t : below(b->n);
        set_case("pre-training checkpoint cut to %zu of %zu", len, b->n);
        bytes m = splice(b, len, b->n, NULL, 0);
        check_resume(fx, &m, DC_ERR_TRUNCATED, 0);
        free(m.p);
        size_t at = 12 + below(b->n - 12);
        unsigned char c = (unsigned char)(b->p[at] ^ (1 + below(255)));
        set_case("pre-training checkpoint byte %zu altered", at);
        m = splice(b, at, 1, &c, 1);
        check_resume(fx, &m, DC_ERR_CHECKSUM, 0);
        free(m.p);
    }
    const size_t len = b->n - 32;
    unsigned char *orig = b->p + 32, *pay = malloc(len + 16);
    trec r[256];
    const int n = trec_parse(orig, len, r, 256);
    CHECK(n > 20);
    static const struct {
        const char *rec;
        int64_t v;
        int want;
    } edits[] = {{"pretrain.step", -1, DC_ERR_FORMAT},  {"pretrain.step", 1 << 30, DC_ERR_FORMAT},
                 {"pretrain.total", 1 << 30, DC_ERR_FORMAT}, {"pretrain.pos", -1, DC_ERR_FORMAT},
                 {"pretrain.pos", 2, DC_ERR_FORMAT},    {"pretrain.epoch", 1, DC_ERR_FORMAT},
                 {"pretrain.order", 36, DC_ERR_FORMAT}, {"pretrain.order", -1, DC_ERR_FORMAT},
                 {"pretrain.attempt", 2, DC_ERR_FORMAT}, {"pretrain.adam", 0, DC_ERR_FORMAT},
                 {"pretrain.adam_t", -1, DC_ERR_FORMAT}, {"pretrain.lr", -1, DC_ERR_FORMAT},
                 {"input_scale", 0, EXP_ANY},           {"param.pretrain_epochs", 1 << 20, EXP_FAIL},
                 {"data.rows", 37, DC_ERR_STATE},       {"data.crc", 12345, DC_ERR_STATE},
                 {"dims", 0, DC_ERR_FORMAT},            {"param.hidden1", 0, EXP_FAIL}};
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const trec *t = trec_find(orig, r, n, edits[i].rec);
        if (!t && strcmp(edits[i].rec, "input_scale") == 0) continue; /* absent when 1 */
        CHECK_MSG(t != NULL, "no record %s", edits[i].rec);
        if (!t) continue;
        memcpy(pay, orig, len);
        memcpy(pay + t->data + 8 * below(t->count), &edits[i].v, 8);
        set_case("pre-training checkpoint %s = %lld (resealed)", edits[i].rec,
                 (long long)edits[i].v);
        resume_payload(fx, b, pay, len, edits[i].want, 0);
    }
    resealed_damage(fx, b, orig, pay, len, "pre-training checkpoint");
    free(pay);
}

int main(void) { return fuzz_main(FUZZ_CHECKPOINT, test_checkpoint); }
