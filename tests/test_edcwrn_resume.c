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
#include "nn/dense.h"
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


/* ---- pre-training checkpoints ---- */

/* The parameters of two models, byte for byte. */
static int same_net(const dci_mlp *a, const dci_mlp *b) {
    if (!a || !b) return !a && !b;
    const int64_t na = dci_mlp_param_count(a);
    return na == dci_mlp_param_count(b) &&
           memcmp(dci_mlp_params_const(a), dci_mlp_params_const(b), sizeof(float) * (size_t)na) == 0;
}

static int same_model(const dc_model *a, const dc_model *b) {
    return a->k == b->k && a->dims[a->n_dims - 1] == b->dims[b->n_dims - 1] &&
           same_net(a->enc, b->enc) && same_net(a->enc_nb, b->enc_nb) &&
           same_net(a->dec, b->dec) &&
           (a->k == 0 || memcmp(a->centers, b->centers,
                                sizeof(float) * (size_t)(a->k * a->dims[a->n_dims - 1])) == 0);
}

/* Labels, both models (bytes) and pretrain_loss of two fits. */
static void check_same_result(const dc_solver *a, const dc_solver *b, int64_t n,
                              const char *what) {
    int32_t *la = labels_of(a, n), *lb = labels_of(b, n);
    CHECK_MSG(memcmp(la, lb, sizeof(int32_t) * (size_t)n) == 0, "%s: labels", what);
    dc_model *ma = NULL, *mb = NULL, *pa = NULL, *pb = NULL;
    CHECK_OK(dc_solver_model(a, &ma));
    CHECK_OK(dc_solver_model(b, &mb));
    CHECK_OK(dc_solver_pretrained(a, &pa));
    CHECK_OK(dc_solver_pretrained(b, &pb));
    CHECK_MSG(ma && mb && same_model(ma, mb), "%s: clustering model", what);
    CHECK_MSG(pa && pb && same_model(pa, pb), "%s: pre-trained autoencoder", what);
    const double ra = stat_of(a, "pretrain_loss"), rb = stat_of(b, "pretrain_loss");
    CHECK_MSG(ra == rb && isfinite(ra), "%s: pretrain_loss %.17g, %.17g", what, ra, rb);
    dc_model_free(ma);
    dc_model_free(mb);
    dc_model_free(pa);
    dc_model_free(pb);
    free(la);
    free(lb);
}

typedef struct pre_cfg {
    const char *method;
    int adam, image;
} pre_cfg;

/* 240 rows, batch 32: 8 steps an epoch (the last of 16 rows), 10 epochs. */
static dc_solver *pre_solver(const pre_cfg *c) {
    dc_solver *s = small_solver(c->method, 3, 5);
    CHECK_OK(dc_solver_set(s, "pretrain_epochs", 10));
    CHECK_OK(dc_solver_set(s, "max_iter", 40));
    CHECK_OK(dc_solver_set(s, "tol", 0));
    if (c->adam) {
        CHECK_OK(dc_solver_set_str(s, "pretrain_optimizer", "adam"));
        CHECK_OK(dc_solver_set_str(s, "pretrain_schedule", "cosine"));
        CHECK_OK(dc_solver_set(s, "pretrain_lr", 0.01));
        CHECK_OK(dc_solver_set(s, "pretrain_warmup", 7));
    }
    CHECK_OK(dc_solver_set(s, "augment", c->image ? 1 : 0));
    return s;
}

typedef struct pre_cancel {
    const char *phase; /* cancel at the first report of this phase ... */
    long long at;      /* ... with done >= at */
    const char *copy_from, *copy_to; /* copied first (NULL: nothing) */
    int calls;
} pre_cancel;

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[4096];
    size_t got;
    int ok = in && out;
    while (ok && (got = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, got, out) == got;
    if (in) fclose(in);
    if (out) fclose(out);
    return ok;
}

static int pre_cancel_cb(void *user, const char *phase, long long done, long long total,
                         double value) {
    (void)total, (void)value;
    pre_cancel *c = user;
    if (strcmp(phase, c->phase) != 0 || done < c->at) return 0;
    c->calls++;
    if (c->copy_from) CHECK(copy_file(c->copy_from, c->copy_to));
    return 1;
}

static void check_phase(const char *path, const char *phase, int64_t done, int64_t total) {
    const char *p = NULL;
    int64_t a = -1, b = -1;
    CHECK_OK(dc_checkpoint_progress(path, &p, &a, &b));
    CHECK_MSG(p && strcmp(p, phase) == 0 && a == done && b == total,
              "%s: %s %lld of %lld, expected %s %lld of %lld", path, p ? p : "?", (long long)a,
              (long long)b, phase, (long long)done, (long long)total);
}

/* A fresh solver resumes path to ref's result. */
static void check_resumes(const pre_cfg *c, const blobs *bl, const char *path,
                          const dc_solver *ref, const char *what) {
    dc_solver *r = NULL;
    CHECK_OK(dc_solver_create(&r, c->method));
    CHECK_OK(dc_solver_resume(r, bl->ds, path));
    check_same_result(ref, r, bl->n, what);
    CHECK(param_of(r, "k") == 3 && param_of(r, "pretrain_optimizer") == c->adam);
    dc_solver_free(r);
}

static void test_pretrain_checkpoint(const pre_cfg *c) {
    blobs bl = make_blobs(240, 16, 3, 21);
    if (c->image) CHECK_OK(dc_dataset_set_image_shape(bl.ds, 4, 4, 1));
    dc_solver *whole = pre_solver(c);
    CHECK_OK(dc_solver_fit(whole, bl.ds));

    /* Cancelled by the progress callback after epoch 3 (step 24): the state
     * is saved, the file says where it stands. */
    const char *ck = tmp_path("pre.ckpt");
    remove(ck);
    dc_solver *a = pre_solver(c);
    CHECK_OK(dc_solver_set_checkpoint(a, ck, 1000));
    pre_cancel pc = {"pretrain", 3, NULL, NULL, 0};
    CHECK_OK(dc_solver_set_progress(a, pre_cancel_cb, &pc));
    CHECK_STATUS(dc_solver_fit(a, bl.ds), DC_ERR_CANCELLED);
    CHECK_MSG(strstr(dc_last_error(), "pre-training step 24 of 80") &&
              strstr(dc_last_error(), ck), "'%s'", dc_last_error());
    CHECK(pc.calls == 1);
    check_phase(ck, "pretrain", 24, 80);
    dc_model *m = NULL; /* the autoencoder being trained */
    CHECK_OK(dc_model_load(&m, ck));
    CHECK(m && dc_model_is_autoencoder(m) && dc_model_train_rows(m) == 240);
    dc_model_free(m);
    check_resumes(c, &bl, ck, whole, "cancelled at step 24");

    /* Periodic checkpoints every 13 steps (mid-epoch: the epoch's shuffled
     * order and loss sums are in the state; in the last epoch the final
     * pretrain_loss depends on the sums); the ones of steps 13 and 78, as a
     * killed fit would leave them, resume exactly. */
    const char *kept = tmp_path("pre-periodic.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(a, ck, 13));
    static const long long at_epoch[2] = {2, 10}, in_file[2] = {13, 78};
    for (int i = 0; i < 2; i++) {
        pre_cancel p2 = {"pretrain", at_epoch[i], ck, kept, 0};
        CHECK_OK(dc_solver_set_progress(a, pre_cancel_cb, &p2));
        CHECK_STATUS(dc_solver_fit(a, bl.ds), DC_ERR_CANCELLED);
        check_phase(kept, "pretrain", in_file[i], 80);
        check_phase(ck, "pretrain", 8 * at_epoch[i], 80);
        check_resumes(c, &bl, kept, whole, i ? "periodic at step 78" : "periodic at step 13");
    }
    /* Cancelled at the end of the last epoch: the finished pre-training. */
    check_resumes(c, &bl, ck, whole, "cancelled at step 80");

    /* Killed after pre-training (in the k-means of the initial centres):
     * the final pre-training state is in the file. */
    pre_cancel p3 = {"kmeans", 1, NULL, NULL, 0};
    CHECK_OK(dc_solver_set_progress(a, pre_cancel_cb, &p3));
    CHECK_STATUS(dc_solver_fit(a, bl.ds), DC_ERR_CANCELLED);
    CHECK_MSG(p3.calls >= 1, "kmeans reports: %d", p3.calls);
    check_phase(ck, "pretrain", 80, 80);
    check_resumes(c, &bl, ck, whole, "after pre-training");

    /* A fit with checkpoints gives the uninterrupted result and leaves a
     * clustering checkpoint. */
    CHECK_OK(dc_solver_set_progress(a, NULL, NULL));
    CHECK_OK(dc_solver_fit(a, bl.ds));
    check_same_result(whole, a, bl.n, "with checkpoints");
    check_phase(ck, "cluster", 40, 40);

    dc_solver_free(a);
    dc_solver_free(whole);
    free_blobs(&bl);
}

/* Rewrites src to dst with record `name` (i64) set to v. */
static void rewrite_i64(const char *src, const char *dst, const char *name, int64_t v) {
    dci_rec_file f;
    CHECK_OK(dci_rec_load(&f, src));
    dci_rec_writer w;
    CHECK_OK(dci_rec_begin(&w, dst, DCI_MAGIC_CHECKPOINT));
    int found = 0;
    for (int64_t i = 0; i < f.n_recs; i++) {
        const dci_rec *rc = &f.recs[i];
        char rn[128];
        snprintf(rn, sizeof rn, "%.*s", (int)rc->name_len, rc->name);
        if (strcmp(rn, name) == 0) {
            dci_rec_put_i64(&w, rn, v);
            found = 1;
        } else {
            dci_rec_put(&w, rn, rc->type, rc->data, rc->count);
        }
    }
    CHECK(found);
    CHECK_OK(dci_rec_commit(&w));
    dci_rec_close(&f);
}

/* Damaged, truncated, inconsistent or foreign pre-training checkpoints are
 * refused, and the solver keeps its parameters. */
static void test_pretrain_checkpoint_refused(void) {
    const pre_cfg c = {"idec", 0, 0};
    blobs bl = make_blobs(240, 16, 3, 21);
    const char *ck = tmp_path("bad.ckpt");
    dc_solver *a = pre_solver(&c);
    CHECK_OK(dc_solver_set_checkpoint(a, ck, 1000));
    pre_cancel pc = {"pretrain", 2, NULL, NULL, 0};
    CHECK_OK(dc_solver_set_progress(a, pre_cancel_cb, &pc));
    CHECK_STATUS(dc_solver_fit(a, bl.ds), DC_ERR_CANCELLED);
    check_phase(ck, "pretrain", 16, 80);

    FILE *f = fopen(ck, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    const char *bad = tmp_path("bad2.ckpt");
    static const struct {
        long keep;       /* bytes kept (truncation) */
        long flip;       /* byte flipped (-1: none) */
        dc_status want;
    } cases[] = {{-2, -1, DC_ERR_TRUNCATED}, {-1, -3, DC_ERR_CHECKSUM}, {20, -1, DC_ERR_TRUNCATED}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const long keep = cases[i].keep == -2 ? size / 2 : cases[i].keep == -1 ? size : cases[i].keep;
        FILE *o = fopen(bad, "wb");
        for (long j = 0; j < keep; j++) {
            unsigned char byte = buf[j];
            if (cases[i].flip == -3 && j == size - 5) byte ^= 0x40;
            fputc(byte, o);
        }
        fclose(o);
        dc_solver *r = NULL;
        CHECK_OK(dc_solver_create(&r, "idec"));
        CHECK_STATUS(dc_solver_resume(r, bl.ds, bad), cases[i].want);
        CHECK(param_of(r, "k") == 0);
        dc_solver_free(r);
    }
    free(buf);

    /* Intact containers with an inconsistent state: DC_ERR_FORMAT. */
    static const struct {
        const char *name;
        int64_t v;
    } wrong[] = {{"pretrain.pos", 3},   {"pretrain.step", 81}, {"pretrain.total", 79},
                 {"pretrain.attempt", 2}, {"pretrain.adam", 1},
                 {"pretrain.epoch", 1}};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        rewrite_i64(ck, bad, wrong[i].name, wrong[i].v);
        dc_solver *r = NULL;
        CHECK_OK(dc_solver_create(&r, "idec"));
        CHECK_MSG(dc_solver_resume(r, bl.ds, bad) == DC_ERR_FORMAT, "%s = %lld: '%s'",
                  wrong[i].name, (long long)wrong[i].v, dc_last_error());
        CHECK(param_of(r, "k") == 0 && param_of(r, "pretrain_epochs") == 0);
        dc_solver_free(r);
    }

    /* A reader of the clustering checkpoints (as older versions are) fails
     * cleanly on the file: it has no "ae." model. */
    {
        dci_rec_file rf;
        CHECK_OK(dci_rec_load(&rf, ck));
        dc_solver *r = NULL;
        CHECK_OK(dc_solver_create(&r, "idec"));
        dci_deep_train *t = NULL;
        dc_model *ae = NULL;
        const uint64_t crc = dci_deep_data_crc(dc_dataset_data(bl.ds), bl.n, bl.d);
        CHECK_STATUS(dci_deep_checkpoint_restore(r, DCI_DEEP_IDEC, &rf, bl.n, bl.d, NULL, NULL,
                                                 crc, &t, &ae),
                     DC_ERR_FORMAT);
        CHECK(t == NULL && ae == NULL);
        dci_rec_close(&rf);
        dc_solver_free(r);
    }

    /* Other data, another method: refused as the clustering checkpoints are. */
    blobs other = make_blobs(240, 16, 3, 22);
    dc_solver *r = NULL;
    CHECK_OK(dc_solver_create(&r, "idec"));
    CHECK_STATUS(dc_solver_resume(r, other.ds, ck), DC_ERR_STATE);
    CHECK_MSG(strstr(dc_last_error(), "other data"), "'%s'", dc_last_error());
    CHECK(param_of(r, "k") == 0);
    dc_solver_free(r);
    CHECK_OK(dc_solver_create(&r, "dec"));
    CHECK_STATUS(dc_solver_resume(r, bl.ds, ck), DC_ERR_INVALID_ARG);
    dc_solver_free(r);
    /* A parameter given with another value. */
    CHECK_OK(dc_solver_create(&r, "idec"));
    CHECK_OK(dc_solver_set(r, "pretrain_epochs", 11));
    CHECK_STATUS(dc_solver_resume(r, bl.ds, ck), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "pretrain_epochs"), "'%s'", dc_last_error());
    dc_solver_free(r);

    free_blobs(&other);
    dc_solver_free(a);
    free_blobs(&bl);
}

int main(void) {
    dci_rng_init(&trng, 2024, DCI_STREAM_TEST);
    scratch_make("dc_edcwrn_resume");
    test_checkpoint_resume();
    test_resume_continue();
    static const pre_cfg pre[] = {{"idec", 0, 0}, {"idec", 1, 0}, {"edcwrn", 0, 1}, {"dec", 1, 1}};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) test_pretrain_checkpoint(&pre[i]);
    test_pretrain_checkpoint_refused();
    scratch_remove();
    DC_TEST_END();
}
