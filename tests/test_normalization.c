/* The normalisation record (data/normalize.h): the statistics a data set
 * records against hand-computed ones, composition of two normalisations,
 * and the record's way through a deep model: fit on zscore data, save,
 * load, apply to a fresh raw copy, predict = fitted labels; the guard in
 * predict/embed; apply's errors; model files and checkpoints with and
 * without the optional records, and damaged ones. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "test_files.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "deepclust.h"
#include "methods/deep_model.h"



static dc_dataset *make(const float *x, int64_t n, int64_t d) {
    dc_dataset *ds = NULL;
    if (dc_dataset_create(&ds, x, n, d, DC_COPY) != DC_OK) abort();
    return ds;
}

static int same_floats(const dc_dataset *a, const dc_dataset *b) {
    return dc_dataset_rows(a) == dc_dataset_rows(b) && dc_dataset_cols(a) == dc_dataset_cols(b) &&
           memcmp(dc_dataset_data(a), dc_dataset_data(b),
                  sizeof(float) * (size_t)(dc_dataset_rows(a) * dc_dataset_cols(a))) == 0;
}

/* ---- the record of one normalisation ---- */

/* Column 0: 2, 4, 4, 10 (min 2, max 10, mean 5, population sd sqrt(9) = 3);
 * column 1: -1, 1, -1, 1 (min -1, max 1, mean 0, sd 1); column 2 constant. */
static const float small[12] = {2, -1, 7, 4, 1, 7, 4, -1, 7, 10, 1, 7};

static void test_recorded_statistics(void) {
    dc_dataset *ds = make(small, 4, 3);
    CHECK(dc_dataset_normalization(ds) == DC_NORM_NONE);
    CHECK(dc_dataset_normalization(NULL) == DC_NORM_NONE);
    CHECK(dci_dataset_norm(ds)->shift == NULL);

    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_MINMAX));
    const dci_norm *r = dci_dataset_norm(ds);
    CHECK(dc_dataset_normalization(ds) == DC_NORM_MINMAX && r->mode == DC_NORM_MINMAX);
    CHECK(r->shift[0] == 2.0 && r->scale[0] == 1.0 / 8.0);
    CHECK(r->shift[1] == -1.0 && r->scale[1] == 0.5);
    CHECK(r->shift[2] == 7.0 && r->scale[2] == 0.0);
    CHECK(dc_dataset_data(ds)[9] == 1.0f && dc_dataset_data(ds)[2] == 0.0f);
    /* DC_NORM_NONE changes neither the data nor the record. */
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_NONE));
    CHECK(dc_dataset_normalization(ds) == DC_NORM_MINMAX && r->shift[0] == 2.0);
    dc_dataset_free(ds);

    ds = make(small, 4, 3);
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_ZSCORE));
    r = dci_dataset_norm(ds);
    CHECK(r->mode == DC_NORM_ZSCORE);
    CHECK_NEAR(r->shift[0], 5.0, 1e-12);
    CHECK_NEAR(r->scale[0], 1.0 / 3.0, 1e-12);
    CHECK_NEAR(r->shift[1], 0.0, 1e-12);
    CHECK_NEAR(r->scale[1], 1.0, 1e-12);
    CHECK(r->shift[2] == 7.0 && r->scale[2] == 0.0);
    CHECK_NEAR(dc_dataset_data(ds)[0], -1.0, 1e-6); /* (2 - 5) / 3 */

    /* A subset carries the record; so does a subset of a subset. */
    dc_dataset *sub = NULL, *sub2 = NULL;
    CHECK_OK(dc_dataset_subset(&sub, ds, 1, 3));
    CHECK_OK(dc_dataset_subset(&sub2, sub, 1, 1));
    CHECK(dc_dataset_normalization(sub2) == DC_NORM_ZSCORE);
    CHECK(dci_norm_equal(dci_dataset_norm(sub2), r, 3));
    CHECK(dci_dataset_norm(sub2)->shift != r->shift); /* a copy, freed with its set */
    dc_dataset_free(sub2);
    dc_dataset_free(sub);
    dc_dataset_free(ds);

    /* scale255 is shift 0, scale 1/255, and its values are x / 255. */
    ds = make(small, 4, 3);
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_SCALE255));
    r = dci_dataset_norm(ds);
    CHECK(r->mode == DC_NORM_SCALE255 && r->shift[1] == 0.0 && r->scale[1] == 1.0 / 255.0);
    CHECK(dc_dataset_data(ds)[9] == 10.0f / 255.0f);
    dc_dataset_free(ds);

    CHECK(strcmp(dc_normalization_name(DC_NORM_ZSCORE), "zscore") == 0);
    CHECK(strcmp(dc_normalization_name(DC_NORM_NONE), "none") == 0);
    CHECK(dc_normalization_name((dc_normalization)7) == NULL);
}

/* ---- composition ---- */

static void check_composition(dc_normalization first, dc_normalization second) {
    /* Features on different scales, one constant (scale 0 after the first). */
    enum { N = 50, D = 4 };
    float x[N * D];
    dci_rng r;
    dci_rng_init(&r, 7, DCI_STREAM_TEST);
    for (int i = 0; i < N; i++) {
        x[i * D + 0] = (float)(100.0 + 30.0 * dci_rng_normal(&r));
        x[i * D + 1] = (float)(255.0 * dci_rng_uniform(&r));
        x[i * D + 2] = 3.5f;
        x[i * D + 3] = (float)(-0.01 + 0.002 * dci_rng_normal(&r));
    }
    dc_dataset *twice = make(x, N, D), *raw = make(x, N, D);
    CHECK_OK(dc_dataset_normalize(twice, first));
    CHECK_OK(dc_dataset_normalize(twice, second));
    CHECK(dc_dataset_normalization(twice) == second);
    /* One application of the composed record to the raw data. */
    CHECK_OK(dci_dataset_apply_norm(raw, dci_dataset_norm(twice)));
    CHECK(dc_dataset_normalization(raw) == second);
    const float *a = dc_dataset_data(twice), *b = dc_dataset_data(raw);
    double worst = 0;
    for (int t = 0; t < N * D; t++) worst = fmax(worst, fabs((double)a[t] - (double)b[t]));
    CHECK_MSG(worst <= 1e-6, "%s then %s: composed map differs by %g",
              dc_normalization_name(first), dc_normalization_name(second), worst);
    for (int i = 0; i < N; i++) CHECK(b[i * D + 2] == 0.0f || first == DC_NORM_SCALE255);
    dc_dataset_free(twice);
    dc_dataset_free(raw);
}

static void test_composition(void) {
    const dc_normalization modes[3] = {DC_NORM_SCALE255, DC_NORM_MINMAX, DC_NORM_ZSCORE};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) check_composition(modes[i], modes[j]);
}

/* ---- through a deep model ---- */

/* Three blobs far from the origin, features on different scales, so zscore
 * statistics of any subset differ from those of the whole set. */
enum { BN = 90, BD = 4, BK = 3 };
static float braw[BN * BD];

static void make_blob_data(void) {
    dci_rng r;
    dci_rng_init(&r, 11, DCI_STREAM_TEST);
    const double scale[BD] = {1, 10, 100, 0.5};
    for (int i = 0; i < BN; i++)
        for (int j = 0; j < BD; j++) {
            double c = (j % BK) == (i % BK) ? 3.0 : 0.0;
            braw[i * BD + j] = (float)(50.0 + scale[j] * (c + 0.3 * dci_rng_normal(&r)));
        }
}

static dc_solver *small_edcwrn(void) {
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "edcwrn"));
    if (!s) abort();
    CHECK_OK(dc_solver_set(s, "k", BK));
    CHECK_OK(dc_solver_set(s, "seed", 3));
    CHECK_OK(dc_solver_set(s, "hidden1", 16));
    CHECK_OK(dc_solver_set(s, "hidden2", 8));
    CHECK_OK(dc_solver_set(s, "hidden3", 0));
    CHECK_OK(dc_solver_set(s, "embed_dim", 3));
    CHECK_OK(dc_solver_set(s, "batch", 32));
    CHECK_OK(dc_solver_set(s, "pretrain_epochs", 10));
    CHECK_OK(dc_solver_set(s, "pretrain_lr", 0.1));
    CHECK_OK(dc_solver_set_str(s, "pretrain_optimizer", "sgd"));
    CHECK_OK(dc_solver_set(s, "n_init", 2));
    CHECK_OK(dc_solver_set(s, "update_interval", 10));
    CHECK_OK(dc_solver_set(s, "max_iter", 30));
    return s;
}

static int has_record(const char *path, const char *name) {
    dci_rec_file f;
    if (dci_rec_load(&f, path) != DC_OK) return -1;
    int has = dci_rec_count(&f, name) >= 0;
    dci_rec_close(&f);
    return has;
}

static void test_model_round_trip(void) {
    dc_dataset *train = make(braw, BN, BD);
    CHECK_OK(dc_dataset_normalize(train, DC_NORM_ZSCORE));
    dc_solver *s = small_edcwrn();
    const char *ckpt = tmp_path("fit.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(s, ckpt, 10));
    CHECK_OK(dc_solver_fit(s, train));
    int32_t fit[BN], pred[BN];
    CHECK_OK(dc_solver_labels(s, fit, BN, NULL));

    dc_model *m = NULL, *back = NULL, *ae = NULL;
    CHECK_OK(dc_solver_model(s, &m));
    CHECK(dc_model_normalization(m) == DC_NORM_ZSCORE);
    CHECK(dci_norm_equal(&m->norm, dci_dataset_norm(train), BD));
    CHECK_OK(dc_solver_pretrained(s, &ae)); /* pre-trained by this fit: same record */
    CHECK(dc_model_normalization(ae) == DC_NORM_ZSCORE && dci_norm_equal(&ae->norm, &m->norm, BD));
    const char *path = tmp_path("zscore.dcm");
    CHECK_OK(dc_model_save(m, path));
    CHECK(has_record(path, "norm.mode") == 1 && has_record(path, "norm.scale") == 1);
    CHECK_OK(dc_model_load(&back, path));
    if (!back) abort();
    CHECK(dc_model_normalization(back) == DC_NORM_ZSCORE);
    CHECK(dci_norm_equal(&back->norm, &m->norm, BD));

    /* Fresh raw copy + the model's record = the training floats, bit for
     * bit, hence the fitted labels. */
    dc_dataset *fresh = make(braw, BN, BD);
    CHECK_OK(dc_model_apply_normalization(back, fresh));
    CHECK(dc_dataset_normalization(fresh) == DC_NORM_ZSCORE);
    CHECK(same_floats(fresh, train));
    CHECK_OK(dc_model_predict(back, fresh, pred, BN));
    CHECK(memcmp(pred, fit, sizeof pred) == 0);
    float z[BN * 3];
    CHECK_OK(dc_model_embed(back, fresh, z, BN * 3));
    CHECK_OK(dc_solver_predict(s, fresh, pred, BN));
    CHECK(memcmp(pred, fit, sizeof pred) == 0);

    /* Applying twice, or to data normalised on their own: DC_ERR_STATE. */
    CHECK_STATUS(dc_model_apply_normalization(back, fresh), DC_ERR_STATE);
    CHECK(same_floats(fresh, train));
    dc_dataset *own = make(braw, BN / 2, BD); /* the first half: other statistics */
    CHECK_OK(dc_dataset_normalize(own, DC_NORM_ZSCORE));
    CHECK(!dci_norm_equal(dci_dataset_norm(own), &back->norm, BD));
    CHECK_STATUS(dc_model_apply_normalization(back, own), DC_ERR_STATE);
    CHECK(strstr(dc_last_error(), "already normalised") != NULL);

    /* The guard: both record a normalisation and they differ. */
    CHECK_STATUS(dc_model_predict(back, own, pred, BN), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "other statistics") != NULL &&
          strstr(dc_last_error(), "zscore") != NULL);
    CHECK_STATUS(dc_model_embed(back, own, z, BN * 3), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_predict(s, own, pred, BN), DC_ERR_INVALID_ARG);
    dc_dataset *mm = make(braw, BN, BD);
    CHECK_OK(dc_dataset_normalize(mm, DC_NORM_MINMAX));
    CHECK_STATUS(dc_model_predict(back, mm, pred, BN), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "minmax") != NULL && strstr(dc_last_error(), "zscore") != NULL);
    /* A subset of the training set keeps its record and passes. */
    dc_dataset *part = NULL;
    CHECK_OK(dc_dataset_subset(&part, train, 0, BN / 2));
    CHECK_OK(dc_model_predict(back, part, pred, BN));
    /* Only one side records: no check (the caller may have scaled by hand). */
    dc_dataset *raw = make(dc_dataset_data(train), BN, BD);
    CHECK(dc_dataset_normalization(raw) == DC_NORM_NONE);
    CHECK_OK(dc_model_predict(back, raw, pred, BN));
    CHECK(memcmp(pred, fit, sizeof pred) == 0);

    /* Wrong column count, NULLs. */
    dc_dataset *wide = make(braw, BN / 5, 5);
    CHECK_STATUS(dc_model_apply_normalization(back, wide), DC_ERR_SHAPE);
    CHECK(dc_dataset_normalization(wide) == DC_NORM_NONE);
    CHECK_STATUS(dc_model_apply_normalization(NULL, fresh), DC_ERR_NULL);
    CHECK_STATUS(dc_model_apply_normalization(back, NULL), DC_ERR_NULL);
    CHECK(dc_model_normalization(NULL) == DC_NORM_NONE);

    /* The checkpoint holds the record for the model and, under "ae.", for
     * the autoencoder; a resume on the same data keeps it. */
    dc_model *ck = NULL;
    CHECK_OK(dc_model_load(&ck, ckpt));
    CHECK(ck && dci_norm_equal(&ck->norm, &m->norm, BD));
    dc_model_free(ck);
    CHECK(has_record(ckpt, "ae.norm.shift") == 1);
    dci_rec_file f;
    CHECK_OK(dci_rec_load(&f, ckpt));
    dc_model *ck_ae = NULL;
    CHECK_OK(dci_model_read(&f, "ae.", &ck_ae));
    CHECK(ck_ae && dci_norm_equal(&ck_ae->norm, &m->norm, BD));
    dc_model_free(ck_ae);
    dci_rec_close(&f);
    dc_solver *rs = small_edcwrn();
    CHECK_OK(dc_solver_resume(rs, train, ckpt));
    dc_model *rm = NULL;
    CHECK_OK(dc_solver_model(rs, &rm));
    CHECK(rm && dci_norm_equal(&rm->norm, &m->norm, BD));
    dc_model_free(rm);
    dc_solver_free(rs);

    /* A given autoencoder keeps its own record; the model gets the data's
     * (here: the training floats in a set that records none). */
    dc_solver *s2 = small_edcwrn();
    CHECK_OK(dc_solver_use_pretrained(s2, ae));
    CHECK_OK(dc_solver_fit(s2, raw));
    dc_model *m2 = NULL, *ae2 = NULL;
    CHECK_OK(dc_solver_model(s2, &m2));
    CHECK_OK(dc_solver_pretrained(s2, &ae2));
    CHECK(dc_model_normalization(m2) == DC_NORM_NONE);
    CHECK(dc_model_normalization(ae2) == DC_NORM_ZSCORE);

    /* A model from raw data: no record in its file, loads as none, and
     * apply leaves data alone. */
    const char *plain = tmp_path("raw.dcm");
    CHECK_OK(dc_model_save(m2, plain));
    CHECK(has_record(plain, "norm.mode") == 0 && has_record(plain, "norm.shift") == 0);
    dc_model *p2 = NULL;
    CHECK_OK(dc_model_load(&p2, plain));
    CHECK(p2 && dc_model_normalization(p2) == DC_NORM_NONE);
    dc_dataset *untouched = make(braw, BN, BD), *ref = make(braw, BN, BD);
    CHECK_OK(dc_model_apply_normalization(p2, untouched));
    CHECK(dc_dataset_normalization(untouched) == DC_NORM_NONE && same_floats(untouched, ref));
    CHECK_OK(dc_model_predict(p2, mm, pred, BN)); /* no record on the model: no check */

    dc_dataset_free(untouched);
    dc_dataset_free(ref);
    dc_model_free(p2);
    dc_model_free(m2);
    dc_model_free(ae2);
    dc_solver_free(s2);
    dc_dataset_free(wide);
    dc_dataset_free(raw);
    dc_dataset_free(part);
    dc_dataset_free(mm);
    dc_dataset_free(own);
    dc_dataset_free(fresh);
    dc_model_free(ae);
    dc_model_free(back);
    dc_model_free(m);
    dc_solver_free(s);
    dc_dataset_free(train);
}

/* ---- files: damaged, and malformed records ---- */

/* A model file of `base` (written without its own record) plus the given
 * norm records (NULL: left out). */
static void write_with_norm(const char *path, const dc_model *base, const char *mode,
                            const double *shift, int64_t n_shift, const double *scale,
                            int64_t n_scale) {
    dci_rec_writer w;
    CHECK_OK(dci_rec_begin(&w, path, DCI_MAGIC_MODEL));
    dci_model_write(&w, base, "");
    if (mode) dci_rec_put_str(&w, "norm.mode", mode);
    if (shift) dci_rec_put(&w, "norm.shift", DCI_REC_F64, shift, n_shift);
    if (scale) dci_rec_put(&w, "norm.scale", DCI_REC_F64, scale, n_scale);
    CHECK_OK(dci_rec_commit(&w));
}

static void test_files(void) {
    dc_model *m = NULL;
    CHECK_OK(dc_model_load(&m, tmp_path("raw.dcm")));
    if (!m) return;
    const double shift[BD] = {1, 2, 3, 4}, scale[BD] = {0.5, 0, 2, 1};
    const char *p = tmp_path("norm.dcm");
    write_with_norm(p, m, "minmax", shift, BD, scale, BD);
    dc_model *back = NULL;
    CHECK_OK(dc_model_load(&back, p));
    CHECK(back && dc_model_normalization(back) == DC_NORM_MINMAX);
    if (back) CHECK(back->norm.shift[3] == 4.0 && back->norm.scale[1] == 0.0 &&
                    back->norm.scale[2] == 2.0);
    /* A hand-made record maps x to (x - shift) * scale. */
    const float row[BD] = {3, 9, 4, 5};
    dc_dataset *ds = make(row, 1, BD);
    CHECK_OK(dc_model_apply_normalization(back, ds));
    const float *y = dc_dataset_data(ds);
    CHECK(y[0] == 1.0f && y[1] == 0.0f && y[2] == 2.0f && y[3] == 1.0f);
    dc_dataset_free(ds);
    dc_model_free(back);

    /* Truncated and altered files still fail as before. */
    size_t len = 0;
    unsigned char *bytes = read_bytes(p, &len);
    const char *bad = tmp_path("bad.dcm");
    for (size_t cut = 0; cut < len; cut += len / 5 + 1) {
        write_bytes(bad, bytes, cut);
        expect_load(bad, DC_ERR_TRUNCATED);
    }
    write_bytes(bad, bytes, len - 8); /* cuts into norm.scale, the last record */
    expect_load(bad, DC_ERR_TRUNCATED);
    bytes[len - 3] ^= 0x40; /* inside norm.scale */
    write_bytes(bad, bytes, len);
    expect_load(bad, DC_ERR_CHECKSUM);
    free(bytes);

    /* Malformed norm records: DC_ERR_FORMAT. */
    write_with_norm(bad, m, "l2", shift, BD, scale, BD);
    expect_load(bad, DC_ERR_FORMAT);
    write_with_norm(bad, m, "none", shift, BD, scale, BD);
    expect_load(bad, DC_ERR_FORMAT);
    write_with_norm(bad, m, "zscore", shift, BD, NULL, 0);
    expect_load(bad, DC_ERR_FORMAT);
    write_with_norm(bad, m, "zscore", shift, BD - 1, scale, BD);
    expect_load(bad, DC_ERR_FORMAT);
    const double inf_scale[BD] = {1, INFINITY, 1, 1};
    write_with_norm(bad, m, "zscore", shift, BD, inf_scale, BD);
    expect_load(bad, DC_ERR_FORMAT);
    /* Without norm.mode the other two are ignored (as any unknown record). */
    write_with_norm(bad, m, NULL, shift, BD, NULL, 0);
    dc_model *ok = NULL;
    CHECK_OK(dc_model_load(&ok, bad));
    CHECK(ok && dc_model_normalization(ok) == DC_NORM_NONE);
    dc_model_free(ok);
    dc_model_free(m);
}

int main(void) {
    scratch_make("dc_test_norm");
    dc_set_threads(1);
    test_recorded_statistics();
    test_composition();
    make_blob_data();
    test_model_round_trip();
    test_files();
    scratch_remove();
    DC_TEST_END();
}
