/* EDCWRN / IDEC / DEC (methods/edcwrn.c): checkpoints, resuming a cancelled
 * fit exactly, and continuing a finished one (a larger max_iter or a lower
 * tol). The rest of the deep methods' tests: test_edcwrn.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "test_files.h"
#include "core/rng.h"
#include "deepclust.h"
#include "methods/deep_model.h"
#include "methods/edcwrn.h"
#include "methods/edcwrn_fit.h"
#include "methods/method.h"
#include "nn/gemm.h"
#include "edcwrn_common.h"

/* ---- checkpoint and resume ---- */

typedef struct cancel_at {
    long long at;
    int seen_cluster;
} cancel_at;

static int cancel_cb(void *user, const char *phase, long long done, long long total,
                     double value) {
    (void)total, (void)value;
    cancel_at *c = user;
    if (strcmp(phase, "cluster") == 0) {
        c->seen_cluster = 1;
        if (done >= c->at) return 1;
    }
    return 0;
}

static void resume_params(dc_solver *s) {
    set_small(s, 3, 4);
    CHECK_OK(dc_solver_set(s, "max_iter", 100));
    CHECK_OK(dc_solver_set(s, "tol", 0)); /* run all iterations */
    CHECK_OK(dc_solver_set(s, "augment", 1));
}

static void test_checkpoint_resume(void) {
    /* 4 x 4 images, so that the augmentation generator is part of the state. */
    blobs bl = make_blobs(240, 16, 3, 11);
    CHECK_OK(dc_dataset_set_image_shape(bl.ds, 4, 4, 1));
    const int64_t n = bl.n;

    dc_solver *a = NULL;
    CHECK_OK(dc_solver_create(&a, "edcwrn"));
    resume_params(a);
    CHECK_OK(dc_solver_fit(a, bl.ds));
    int32_t *la = labels_of(a, n);
    int64_t rz, cz, rl, cl;
    float *za = output_of(a, "embedding", &rz, &cz);
    float *lossa = output_of(a, "loss", &rl, &cl);
    CHECK(rl == 100);

    /* The same fit writing checkpoints gives the same result. */
    dc_solver *b = NULL;
    CHECK_OK(dc_solver_create(&b, "edcwrn"));
    resume_params(b);
    const char *ck = tmp_path("run.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(b, ck, 10));
    CHECK_OK(dc_solver_fit(b, bl.ds));
    int32_t *lb = labels_of(b, n);
    float *zb = output_of(b, "embedding", NULL, NULL);
    CHECK(memcmp(la, lb, sizeof(int32_t) * (size_t)n) == 0);
    CHECK(memcmp(za, zb, sizeof(float) * (size_t)(rz * cz)) == 0);

    /* Interrupted at iteration 35 (it saves its state as it stops)... */
    cancel_at c = {35, 0};
    CHECK_OK(dc_solver_set_progress(b, cancel_cb, &c));
    CHECK_STATUS(dc_solver_fit(b, bl.ds), DC_ERR_CANCELLED);
    CHECK(c.seen_cluster);
    int64_t none = 0;
    CHECK_STATUS(dc_solver_labels(b, NULL, 0, &none), DC_ERR_STATE);
    dc_model *cm = NULL;
    CHECK_STATUS(dc_solver_model(b, &cm), DC_ERR_STATE);
    /* ...a checkpoint loads as a model ... */
    CHECK_OK(dc_model_load(&cm, ck));
    CHECK(cm && dc_model_k(cm) == 3);
    dc_model_free(cm);

    /* ... and a fresh solver with default parameters resumes it exactly. */
    dc_solver *r = NULL;
    CHECK_OK(dc_solver_create(&r, "edcwrn"));
    CHECK_OK(dc_solver_resume(r, bl.ds, ck));
    int32_t *lr = labels_of(r, n);
    float *zr = output_of(r, "embedding", NULL, NULL);
    float *lossr = output_of(r, "loss", &rl, &cl);
    CHECK(memcmp(la, lr, sizeof(int32_t) * (size_t)n) == 0);
    CHECK(memcmp(za, zr, sizeof(float) * (size_t)(rz * cz)) == 0);
    CHECK(rl == 100 && memcmp(lossa, lossr, sizeof(float) * 300) == 0);
    double v = 0;
    CHECK_OK(dc_solver_get(r, "max_iter", &v));
    CHECK(v == 100);
    CHECK_OK(dc_solver_get(r, "augment", &v));
    CHECK(v == 1);

    /* A checkpoint of an earlier version, without the records of the
     * parameters added since (preset, pretrain_steps, pretrain_warmup,
     * scale_input), still resumes, to the same result. */
    {
        dci_rec_file f;
        CHECK_OK(dci_rec_load(&f, ck));
        const char *old = tmp_path("old.ckpt");
        dci_rec_writer w;
        CHECK_OK(dci_rec_begin(&w, old, DCI_MAGIC_CHECKPOINT));
        int dropped = 0;
        for (int64_t i = 0; i < f.n_recs; i++) {
            const dci_rec *rc = &f.recs[i];
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)rc->name_len, rc->name);
            const char *p = strstr(name, "param.");
            if (p && (!strcmp(p, "param.preset") || !strcmp(p, "param.pretrain_steps") ||
                      !strcmp(p, "param.pretrain_warmup") || !strcmp(p, "param.scale_input"))) {
                dropped++;
                continue;
            }
            dci_rec_put(&w, name, rc->type, rc->data, rc->count);
        }
        CHECK_OK(dci_rec_commit(&w));
        dci_rec_close(&f);
        CHECK(dropped == 8); /* the model's and the autoencoder's */
        dc_solver *o = NULL;
        CHECK_OK(dc_solver_create(&o, "edcwrn"));
        CHECK_OK(dc_solver_resume(o, bl.ds, old));
        int32_t *lo = labels_of(o, n);
        CHECK(memcmp(la, lo, sizeof(int32_t) * (size_t)n) == 0);
        free(lo);
        dc_solver_free(o);
    }

    /* Wrong uses of resume. */
    dc_model *mm = NULL;
    CHECK_OK(dc_solver_model(r, &mm));
    const char *mf = tmp_path("resume-model.dcm");
    CHECK_OK(dc_model_save(mm, mf));
    dc_model_free(mm);
    CHECK_STATUS(dc_solver_resume(r, bl.ds, mf), DC_ERR_INVALID_ARG);
    blobs other = make_blobs(240, 16, 3, 12);
    dc_solver *fresh = NULL;
    CHECK_OK(dc_solver_create(&fresh, "edcwrn"));
    CHECK_STATUS(dc_solver_resume(fresh, other.ds, ck), DC_ERR_STATE);
    CHECK_OK(dc_solver_get(fresh, "max_iter", &v)); /* a failed resume changes nothing */
    CHECK(v == 8000);
    dc_solver_free(fresh);
    dc_solver *idec = NULL;
    CHECK_OK(dc_solver_create(&idec, "idec"));
    CHECK_STATUS(dc_solver_resume(idec, bl.ds, ck), DC_ERR_INVALID_ARG);
    dc_solver *km = NULL;
    CHECK_OK(dc_solver_create(&km, "kmeans"));
    CHECK_STATUS(dc_solver_resume(km, bl.ds, ck), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dc_solver_set_checkpoint(km, ck, 5), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dc_solver_set_checkpoint(r, ck, 0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_model(km, &mm), DC_ERR_UNSUPPORTED);

    dc_solver_free(km);
    dc_solver_free(idec);
    free_blobs(&other);
    free(la);
    free(lb);
    free(lr);
    free(za);
    free(zb);
    free(zr);
    free(lossa);
    free(lossr);
    dc_solver_free(a);
    dc_solver_free(b);
    dc_solver_free(r);
    free_blobs(&bl);
}

/* ---- continuing a finished fit ---- */

typedef struct cluster_steps {
    long long calls, first;
} cluster_steps;

/* Counts the clustering iterations run (and the first one's number). */
static int count_cb(void *user, const char *phase, long long done, long long total,
                    double value) {
    (void)total, (void)value;
    cluster_steps *c = user;
    if (strcmp(phase, "cluster") == 0 && c->calls++ == 0) c->first = done;
    return 0;
}

/* The parameters of every fit below: lambda and update_interval differ from
 * the defaults, so that a resume that did not take them from the checkpoint
 * would show. */
static dc_solver *continue_solver(int64_t max_iter, double tol) {
    dc_solver *s = small_solver("edcwrn", 3, 6);
    CHECK_OK(dc_solver_set(s, "lambda", 0.3));
    CHECK_OK(dc_solver_set(s, "update_interval", 20));
    CHECK_OK(dc_solver_set(s, "max_iter", (double)max_iter));
    CHECK_OK(dc_solver_set(s, "tol", tol));
    return s;
}

/* Everything a fit returns that training changes, compared bit for bit. */
static void check_same_fit(const dc_solver *a, const dc_solver *b, int64_t n) {
    int32_t *la = labels_of(a, n), *lb = labels_of(b, n);
    CHECK(memcmp(la, lb, sizeof(int32_t) * (size_t)n) == 0);
    free(la);
    free(lb);
    const char *outs[] = {"centers", "weights", "embedding", "loss", "trace"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        int64_t ra, ca, rb, cb;
        float *oa = output_of(a, outs[i], &ra, &ca), *ob = output_of(b, outs[i], &rb, &cb);
        CHECK_MSG(ra == rb && ca == cb && memcmp(oa, ob, sizeof(float) * (size_t)(ra * ca)) == 0,
                  "output '%s' differs (%lld x %lld vs %lld x %lld)", outs[i], (long long)ra,
                  (long long)ca, (long long)rb, (long long)cb);
        free(oa);
        free(ob);
    }
    const char *stats[] = {"iterations", "updates", "converged"};
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        double va = -1, vb = -2;
        CHECK_OK(dc_solver_stat(a, stats[i], &va));
        CHECK_OK(dc_solver_stat(b, stats[i], &vb));
        CHECK_MSG(va == vb, "stat '%s': %g vs %g", stats[i], va, vb);
    }
}

/* A fresh solver (defaults), with the progress counter. */
static dc_solver *fresh_solver(cluster_steps *steps) {
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "edcwrn"));
    if (!s) abort();
    *steps = (cluster_steps){0, -1};
    CHECK_OK(dc_solver_set_progress(s, count_cb, steps));
    return s;
}

static void test_resume_continue(void) {
    blobs bl = make_blobs(240, 16, 3, 11);
    const int64_t n = bl.n;
    cluster_steps steps;

    /* The reference: 100 iterations uninterrupted, tol 0 (no stop). */
    dc_solver *whole = continue_solver(100, 0.0);
    CHECK_OK(dc_solver_fit(whole, bl.ds));
    CHECK(stat_of(whole, "iterations") == 100 && stat_of(whole, "converged") == 0);

    /* A fit of 60 iterations with checkpoints every 25: the last one of the
     * loop is iteration 50, the end writes iteration 60. */
    dc_solver *first = continue_solver(60, 0.0);
    const char *ck = tmp_path("continue.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(first, ck, 25));
    CHECK_OK(dc_solver_fit(first, bl.ds));

    /* Resumed with nothing set: the checkpoint's parameters, the finished
     * result again, no clustering iteration run. */
    dc_solver *same = fresh_solver(&steps);
    CHECK_OK(dc_solver_resume(same, bl.ds, ck));
    check_same_fit(same, first, n);
    CHECK_MSG(steps.calls == 0, "%lld clustering iterations run", steps.calls);
    CHECK(param_of(same, "max_iter") == 60 && param_of(same, "lambda") == 0.3 &&
          param_of(same, "update_interval") == 20 && param_of(same, "seed") == 6 &&
          param_of(same, "k") == 3);

    /* max_iter given: the fit continues from iteration 60 to 100 and is the
     * uninterrupted one. Parameters given with the checkpoint's values are
     * accepted. */
    dc_solver *more = fresh_solver(&steps);
    CHECK_OK(dc_solver_set(more, "max_iter", 100));
    CHECK_OK(dc_solver_set(more, "lambda", 0.3));
    CHECK_OK(dc_solver_set_str(more, "formulation", "proposed"));
    CHECK_OK(dc_solver_set(more, "tol", 0));
    CHECK_OK(dc_solver_resume(more, bl.ds, ck));
    check_same_fit(more, whole, n);
    CHECK_MSG(steps.calls == 40 && steps.first == 61, "%lld iterations from %lld", steps.calls,
              steps.first);
    CHECK(param_of(more, "max_iter") == 100 && param_of(more, "update_interval") == 20);
    /* ... and the model records the new max_iter, as the uninterrupted one. */
    dc_model *mm = NULL;
    double rec = 0;
    CHECK_OK(dc_solver_model(more, &mm));
    CHECK_OK(dc_model_get(mm, "max_iter", &rec));
    CHECK(rec == 100);
    dc_model_free(mm);

    /* max_iter below the checkpoint's iteration: refused, nothing changed. */
    dc_solver *less = fresh_solver(&steps);
    CHECK_OK(dc_solver_set(less, "max_iter", 59));
    CHECK_STATUS(dc_solver_resume(less, bl.ds, ck), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "max_iter = 59") && strstr(dc_last_error(), "iteration 60"),
              "'%s'", dc_last_error());
    CHECK(param_of(less, "max_iter") == 59 && param_of(less, "lambda") == 0.1 &&
          param_of(less, "k") == 0 && param_of(less, "update_interval") == 140);
    int64_t none = 0;
    CHECK_STATUS(dc_solver_labels(less, NULL, 0, &none), DC_ERR_STATE);
    /* Exactly the checkpoint's iteration: the finished result. */
    CHECK_OK(dc_solver_set(less, "max_iter", 60));
    CHECK_OK(dc_solver_resume(less, bl.ds, ck));
    check_same_fit(less, first, n);

    /* Another parameter given with another value: refused, naming it and both
     * values; the solver keeps the caller's values. */
    dc_solver *other = fresh_solver(&steps);
    CHECK_OK(dc_solver_set(other, "max_iter", 100));
    CHECK_OK(dc_solver_set(other, "lambda", 0.5));
    CHECK_STATUS(dc_solver_resume(other, bl.ds, ck), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "lambda = 0.3 in the checkpoint, 0.5 given"), "'%s'",
              dc_last_error());
    CHECK(param_of(other, "lambda") == 0.5 && param_of(other, "max_iter") == 100 &&
          param_of(other, "k") == 0);
    CHECK(steps.calls == 0);
    CHECK_OK(dc_solver_set(other, "lambda", 0.1)); /* the default, still not the checkpoint's */
    CHECK_STATUS(dc_solver_resume(other, bl.ds, ck), DC_ERR_INVALID_ARG);
    CHECK_OK(dc_solver_set(other, "lambda", 0.3));
    CHECK_OK(dc_solver_set_str(other, "formulation", "idec"));
    CHECK_STATUS(dc_solver_resume(other, bl.ds, ck), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "formulation = proposed in the checkpoint, idec given"),
              "'%s'", dc_last_error());
    CHECK_OK(dc_solver_set_str(other, "formulation", "proposed"));
    CHECK_OK(dc_solver_set(other, "tol", 0.01)); /* above the checkpoint's 0 */
    CHECK_STATUS(dc_solver_resume(other, bl.ds, ck), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "tol = 0.01 is above"), "'%s'", dc_last_error());
    CHECK_OK(dc_solver_set(other, "tol", 0));
    CHECK_OK(dc_solver_resume(other, bl.ds, ck));
    check_same_fit(other, whole, n);

    /* A fit that stopped by tol writes its final state, the update that
     * stopped it included. Resumed as it is: the same stop, no iteration. */
    dc_solver *stop = continue_solver(100, 0.5);
    const char *ck_stop = tmp_path("converged.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(stop, ck_stop, 25));
    CHECK_OK(dc_solver_fit(stop, bl.ds));
    const double at = stat_of(stop, "iterations");
    CHECK_MSG(stat_of(stop, "converged") == 1 && at > 0 && at < 100, "stopped at %g", at);
    dc_solver *again = fresh_solver(&steps);
    CHECK_OK(dc_solver_set(again, "max_iter", 1000)); /* it stops at the same update */
    CHECK_OK(dc_solver_resume(again, bl.ds, ck_stop));
    check_same_fit(again, stop, n);
    CHECK(steps.calls == 0);
    /* max_iter = that iteration would not have made the update: refused. */
    CHECK_OK(dc_solver_set(again, "max_iter", at));
    CHECK_STATUS(dc_solver_resume(again, bl.ds, ck_stop), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "converged"), "'%s'", dc_last_error());
    /* A lower tol continues it: exactly the fit that never stopped (the
     * update is not made twice). */
    dc_solver *lower = fresh_solver(&steps);
    CHECK_OK(dc_solver_set(lower, "tol", 0));
    CHECK_OK(dc_solver_resume(lower, bl.ds, ck_stop));
    check_same_fit(lower, whole, n);
    CHECK(steps.calls == 100 - (long long)at);

    dc_solver_free(lower);
    dc_solver_free(again);
    dc_solver_free(stop);
    dc_solver_free(other);
    dc_solver_free(less);
    dc_solver_free(more);
    dc_solver_free(same);
    dc_solver_free(first);
    dc_solver_free(whole);
    free_blobs(&bl);
}

int main(void) {
    dci_rng_init(&trng, 2024, DCI_STREAM_TEST);
    scratch_make("dc_edcwrn_resume");
    test_checkpoint_resume();
    test_resume_continue();
    scratch_remove();
    DC_TEST_END();
}
