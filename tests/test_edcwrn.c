/* EDCWRN / IDEC / DEC (methods/edcwrn.c) and the model lifecycle
 * (deepclust/model.h): gradient of the composed clustering-phase loss by
 * finite differences, quality on separated blobs, save/load/predict
 * round trip, damaged files, checkpoint + resume (and continuing a finished
 * fit with a larger max_iter or a lower tol), pre-trained autoencoder
 * reuse, and every rejected input. Networks are tiny so that the whole
 * file runs in seconds. */
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

static dci_rng trng;


static void fill_uniform(float *x, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * dci_rng_uniform(&trng));
}

/* ---- data ---- */

/* k well separated blobs in [0, 1]^d: blob j is high (0.85) on its own block
 * of d/k features and low (0.1) elsewhere, plus N(0, 0.04^2) noise. */
typedef struct blobs {
    dc_dataset *ds;
    int32_t *truth;
    int64_t n, d, k;
} blobs;

static blobs make_blobs(int64_t n, int64_t d, int64_t k, uint64_t seed) {
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    blobs b = {NULL, malloc(sizeof(int32_t) * (size_t)n), n, d, k};
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n; i++) {
        int32_t c = (int32_t)(i % k);
        b.truth[i] = c;
        for (int64_t j = 0; j < d; j++) {
            double base = (j * k / d) == c ? 0.85 : 0.1;
            x[i * d + j] = (float)(base + 0.04 * dci_rng_normal(&r));
        }
    }
    if (dc_dataset_create(&b.ds, x, n, d, DC_COPY) != DC_OK) abort();
    free(x);
    return b;
}

static void free_blobs(blobs *b) {
    dc_dataset_free(b->ds);
    free(b->truth);
}

/* Small networks and short phases for every solver in this file, with
 * plain SGD pre-training on the data as given (the recipe these tests were
 * written for; tests of the default recipe set their own parameters). */
static void set_small(dc_solver *s, int64_t k, int64_t seed) {
    CHECK_OK(dc_solver_set_str(s, "pretrain_optimizer", "sgd"));
    CHECK_OK(dc_solver_set_str(s, "pretrain_schedule", "constant"));
    CHECK_OK(dc_solver_set(s, "pretrain_warmup", 0));
    CHECK_OK(dc_solver_set(s, "scale_input", 0));
    CHECK_OK(dc_solver_set(s, "k", (double)k));
    CHECK_OK(dc_solver_set(s, "seed", (double)seed));
    CHECK_OK(dc_solver_set(s, "hidden1", 32));
    CHECK_OK(dc_solver_set(s, "hidden2", 16));
    CHECK_OK(dc_solver_set(s, "hidden3", 0));
    CHECK_OK(dc_solver_set(s, "embed_dim", 3));
    CHECK_OK(dc_solver_set(s, "batch", 32));
    CHECK_OK(dc_solver_set(s, "pretrain_epochs", 40));
    CHECK_OK(dc_solver_set(s, "pretrain_lr", 0.1));
    CHECK_OK(dc_solver_set(s, "n_init", 5));
    CHECK_OK(dc_solver_set(s, "update_interval", 20));
    CHECK_OK(dc_solver_set(s, "max_iter", 200));
}

static dc_solver *small_solver(const char *method, int64_t k, int64_t seed) {
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, method));
    if (!s) abort();
    set_small(s, k, seed);
    return s;
}

static int32_t *labels_of(const dc_solver *s, int64_t n) {
    int32_t *l = calloc((size_t)n, sizeof *l);
    CHECK_OK(dc_solver_labels(s, l, n, NULL));
    return l;
}

static float *output_of(const dc_solver *s, const char *name, int64_t *rows, int64_t *cols) {
    int64_t r = 0, c = 0;
    CHECK_OK(dc_solver_output(s, name, NULL, 0, &r, &c));
    float *o = calloc((size_t)(r * c > 0 ? r * c : 1), sizeof *o);
    CHECK_OK(dc_solver_output(s, name, o, r * c, NULL, NULL));
    if (rows) *rows = r;
    if (cols) *cols = c;
    return o;
}

/* ---- gradient of the composed loss ---- */

static double batch_loss(dci_deep_train *t, const float *xb, const float *xn, int64_t b,
                         const float *pb, const int64_t *nbr) {
    double parts[3];
    CHECK_OK(dci_deep_batch_loss(t, xb, xn, b, pb, nbr, 0, parts));
    return parts[0];
}

/* Central differences of the full L = L_r + lambda L_c w.r.t. chosen entries
 * of `param` against the analytic gradient `grad` (scaled by grad_scale).
 * Entries where a ReLU or a max switches inside the step are recognised by
 * disagreeing step sizes and skipped. Returns the number checked. */
static int fd_check(dci_deep_train *t, const float *xb, const float *xn, int64_t b,
                    const float *pb,
                    const int64_t *nbr, float *param, const float *grad, int64_t count,
                    double grad_scale, const char *what, int n_top, int n_rand, int *skipped) {
    /* The n_top largest gradient entries and n_rand random ones. */
    int64_t pick[32];
    int np = 0;
    for (int r = 0; r < n_top; r++) {
        int64_t best = -1;
        for (int64_t i = 0; i < count; i++) {
            int used = 0;
            for (int j = 0; j < np; j++) used |= pick[j] == i;
            if (!used && (best < 0 || fabsf(grad[i]) > fabsf(grad[best]))) best = i;
        }
        pick[np++] = best;
    }
    for (int r = 0; r < n_rand; r++) pick[np++] = (int64_t)dci_rng_below(&trng, (uint64_t)count);
    int checked = 0;
    for (int j = 0; j < np; j++) {
        const int64_t i = pick[j];
        const float keep = param[i];
        double fd[2];
        const double steps[2] = {2e-3, 5e-4};
        for (int h = 0; h < 2; h++) {
            param[i] = keep + (float)steps[h];
            double up = batch_loss(t, xb, xn, b, pb, nbr);
            param[i] = keep - (float)steps[h];
            double down = batch_loss(t, xb, xn, b, pb, nbr);
            param[i] = keep;
            /* The float step actually taken, not the nominal one. */
            double dx = (double)(keep + (float)steps[h]) - (double)(keep - (float)steps[h]);
            fd[h] = (up - down) / dx;
        }
        if (fabs(fd[0] - fd[1]) > 0.05 * fabs(fd[1]) + 2e-4) {
            (*skipped)++;
            continue;
        }
        const double g = grad_scale * grad[i];
        CHECK_MSG(fabs(fd[1] - g) <= 0.03 * fabs(fd[1]) + 3e-4,
                  "%s[%lld]: finite difference %.6g, analytic %.6g", what, (long long)i, fd[1], g);
        checked++;
    }
    return checked;
}

static dc_model *random_autoencoder(const int64_t *dims, int n_dims, int64_t batch) {
    dc_model *ae = NULL;
    CHECK_OK(dci_model_new(&ae, DCI_MODEL_AUTOENCODER, "edcwrn", dims, n_dims, batch, 0, 1, 0, 0));
    dci_mlp_init_uniform(ae->enc, &trng);
    dci_mlp_init_uniform(ae->dec, &trng);
    /* Non-zero biases so that no unit sits exactly at a ReLU kink. */
    for (int net = 0; net < 2; net++) {
        dci_mlp *m = net ? ae->dec : ae->enc;
        for (int l = 0; l < dci_mlp_n_layers(m); l++) {
            dci_dense L = dci_mlp_layer(m, l);
            fill_uniform(L.b, L.out, -0.2, 0.2);
        }
    }
    return ae;
}

static void test_composed_gradient(dci_deep_method method) {
    const int64_t d = 8, K = 3, b = 10, dims[4] = {8, 12, 6, 3};
    dci_deep_cfg cfg = dci_deep_cfg_default(method);
    cfg.k = K;
    cfg.batch = b;
    cfg.embed_dim = 3;
    cfg.lambda = 0.5; /* large enough for L_c to matter in every gradient */
    cfg.neighbors_k = 3;
    cfg.gemm_precision = DCI_GEMM_FP32; /* finite differences need fp32 products */
    dc_model *ae = random_autoencoder(dims, 4, b);
    dci_deep_train *t = NULL;
    CHECK_OK(dci_deep_train_create(&t, &cfg, ae, b, NULL));
    if (!t) return;
    dc_model *m = t->m;
    const int64_t M = t->M, kn = t->kn;
    /* Make the neighbour encoder differ from the sample encoder, so that a
     * gradient sent to the wrong branch would show. */
    if (m->enc_nb) {
        float *p = dci_mlp_params(m->enc_nb);
        for (int64_t i = 0; i < dci_mlp_param_count(m->enc_nb); i++)
            p[i] += (float)(0.1 * (dci_rng_uniform(&trng) - 0.5));
    }
    fill_uniform(m->centers, K * M, -1.0, 1.0);
    if (m->weights) {
        fill_uniform(m->weights, K * M, 0.2, 1.0);
        for (int64_t j = 0; j < K; j++) {
            double s = 0;
            for (int64_t c = 0; c < M; c++) s += m->weights[j * M + c];
            for (int64_t c = 0; c < M; c++) m->weights[j * M + c] /= (float)s;
        }
    }
    /* The neighbour branch sees its own view of the batch (as augmentation
     * gives it): a gradient taken from the wrong input would show. */
    float xb[10 * 8], xn[10 * 8], pb[10 * 3];
    fill_uniform(xb, b * d, 0.0, 1.0);
    fill_uniform(xn, b * d, 0.0, 1.0);
    fill_uniform(pb, b * K, 0.05, 1.0);
    for (int64_t i = 0; i < b; i++) {
        double s = pb[i * K] + pb[i * K + 1] + pb[i * K + 2];
        for (int64_t j = 0; j < K; j++) pb[i * K + j] /= (float)s;
    }
    int64_t nbr[10 * 3];
    for (int64_t i = 0; i < b; i++)
        for (int64_t l = 0; l < kn; l++) {
            int64_t o;
            do o = (int64_t)dci_rng_below(&trng, (uint64_t)b);
            while (o == i);
            nbr[i * kn + l] = o;
        }

    double parts[3];
    CHECK_OK(dci_deep_batch_loss(t, xb, xn, b, pb, kn ? nbr : NULL, 1, parts));
    CHECK_NEAR(parts[0], parts[1] + t->lambda_c * parts[2], 1e-12);
    CHECK(parts[2] > 0.0);
    CHECK((method == DCI_DEEP_DEC) == (parts[1] == 0.0));

    /* The embedding is enc(x) + the element-wise max of the neighbours'
     * enc_nb(x) (or 2 enc(x) without the branch). */
    float e[10 * 3], enb[10 * 3];
    dci_mlp_apply(m->enc, xb, b, e);
    if (m->enc_nb) dci_mlp_apply(m->enc_nb, xn, b, enb);
    CHECK_OK(dci_deep_batch_loss(t, xb, xn, b, pb, kn ? nbr : NULL, 1, parts));
    int same = 1;
    for (int64_t i = 0; i < b; i++)
        for (int64_t c = 0; c < M; c++) {
            float want = 2.0f * e[i * M + c];
            if (kn) {
                float mx = enb[nbr[i * kn] * M + c];
                for (int64_t l = 1; l < kn; l++)
                    if (enb[nbr[i * kn + l] * M + c] > mx) mx = enb[nbr[i * kn + l] * M + c];
                want = e[i * M + c] + mx;
            }
            same &= t->z[i * M + c] == want;
        }
    CHECK(same);

    /* Snapshot the analytic gradients before the finite differences reuse
     * the workspaces. */
    dci_mlp *nets[3] = {m->enc, m->enc_nb, m->dec};
    const char *names[3] = {"enc", "enc_nb", "dec"};
    float *grads[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++)
        if (nets[k]) {
            int64_t c = dci_mlp_param_count(nets[k]);
            grads[k] = malloc(sizeof(float) * (size_t)c);
            memcpy(grads[k], dci_mlp_grads(nets[k]), sizeof(float) * (size_t)c);
        }
    float dr[3 * 3];
    memcpy(dr, t->dr, sizeof dr);
    int skipped = 0, checked = 0, expected = 0;
    for (int k = 0; k < 3; k++) {
        if (!nets[k]) continue;
        /* Without the branch z = 2 enc(x) stands for two equal encoders that
         * each receive dL/dz: the documented gradient is half the total. */
        double scale = (k == 0 && !m->enc_nb) ? 2.0 : 1.0;
        /* The neighbour encoder learns only through the max: check it most. */
        const int top = k == 1 ? 12 : 4, rnd = k == 1 ? 8 : 4;
        checked += fd_check(t, xb, xn, b, pb, kn ? nbr : NULL, dci_mlp_params(nets[k]), grads[k],
                            dci_mlp_param_count(nets[k]), scale, names[k], top, rnd, &skipped);
        expected += top + rnd;
        free(grads[k]);
    }
    checked += fd_check(t, xb, xn, b, pb, kn ? nbr : NULL, m->centers, dr, K * M, 1.0, "centers",
                        4, 4, &skipped);
    expected += 8;
    CHECK_MSG(skipped <= 3, "%d entries skipped at kinks", skipped);
    CHECK(checked == expected - skipped);
    dci_deep_train_free(t);
    dc_model_free(ae);
}

/* ---- methods on blobs ---- */

static void test_blobs(const char *method, const blobs *bl) {
    dc_solver *s = small_solver(method, bl->k, 1);
    CHECK_OK(dc_solver_fit(s, bl->ds));
    int32_t *l = labels_of(s, bl->n);
    double acc = 0;
    CHECK_OK(dc_metrics_acc(bl->truth, l, bl->n, &acc));
    CHECK_MSG(acc >= 0.95, "%s: ACC %.4f", method, acc);
    int64_t r, c;
    float *q = output_of(s, "q", &r, &c);
    CHECK(r == bl->n && c == bl->k);
    int ok = 1;
    for (int64_t i = 0; i < r * c; i++) ok &= q[i] >= 0.0f && q[i] <= 1.0f;
    CHECK(ok);
    /* The inter-cluster variance statistic is the metric of the reported
     * embedding and labels. */
    {
        int64_t zr = 0, zc = 0;
        float *z = output_of(s, "embedding", &zr, &zc);
        int32_t *lab = labels_of(s, bl->n);
        double icv = -1, want = -2;
        CHECK_OK(dc_solver_stat(s, "inter_cluster_variance", &icv));
        CHECK_OK(dc_metrics_inter_cluster_variance(z, zr, zc, lab, &want));
        CHECK(icv == want && icv > 0);
        free(z);
        free(lab);
    }
    /* Labels are the argmax of the reported q. */
    for (int64_t i = 0; i < bl->n; i++)
        for (int64_t j = 0; j < c; j++) ok &= q[i * c + j] <= q[i * c + l[i]];
    CHECK(ok);
    float *w = output_of(s, "weights", &r, &c);
    CHECK(r == bl->k && c == 3);
    for (int64_t j = 0; j < r; j++) {
        double sum = 0;
        for (int64_t m = 0; m < c; m++) sum += w[j * c + m];
        /* EDCWRN: rows of w sum to 1; IDEC/DEC: plain distance, w = 1. */
        CHECK_NEAR(sum, strcmp(method, "edcwrn") == 0 ? 1.0 : 3.0, 1e-5);
    }
    double it = 0, sp = -1, pl = -1;
    CHECK_OK(dc_solver_stat(s, "iterations", &it));
    CHECK(it >= 1 && it <= 200);
    CHECK_OK(dc_solver_stat(s, "seconds_pretrain", &sp));
    CHECK(sp > 0);
    CHECK_OK(dc_solver_stat(s, "pretrain_loss", &pl));
    CHECK(pl > 0 && pl < 0.05);
    float *loss = output_of(s, "loss", &r, &c);
    CHECK(r == (int64_t)it && c == 3);
    if (strcmp(method, "dec") == 0) CHECK(loss[1] == 0.0f);
    else CHECK(loss[1] > 0.0f);
    free(loss);
    free(q);
    free(w);
    free(l);
    dc_solver_free(s);
}

/* ---- save / load / predict ---- */

/* Labels of rows [lo, hi) of ds predicted on their own. */
static void predict_rows(dc_model *m, const blobs *bl, int64_t lo, int64_t hi, int32_t *out) {
    dc_dataset *part = NULL;
    CHECK_OK(dc_dataset_create(&part, dc_dataset_data(bl->ds) + lo * bl->d, hi - lo, bl->d,
                               DC_COPY));
    CHECK_OK(dc_model_predict(m, part, out + lo, hi - lo));
    dc_dataset_free(part);
}

/* A fitted EDCWRN model keeps its training rows as the neighbour branch's
 * reference set: predicting the training rows all at once, one at a time
 * or in batches of 7 gives the fitted labels, also after save and load. A
 * model without the reference records (an earlier version's) finds
 * neighbours among the rows given, as before; damaged reference records are
 * refused. */
static void test_reference_neighbours(const blobs *bl) {
    dc_solver *s = small_solver("edcwrn", bl->k, 5);
    CHECK_OK(dc_solver_fit(s, bl->ds));
    const int64_t n = bl->n;
    int32_t *fit = labels_of(s, n), *pred = calloc((size_t)n, sizeof *pred);
    dc_model *m = NULL, *back = NULL;
    CHECK_OK(dc_solver_model(s, &m));
    CHECK(m && m->n_ref == n && m->ref_z0 && m->ref_hash);
    const char *path = tmp_path("ref.dcm");
    CHECK_OK(dc_model_save(m, path));
    CHECK_OK(dc_model_load(&back, path));
    dc_model *models[2] = {m, back};
    for (int which = 0; which < 2; which++) {
        if (!models[which]) continue;
        CHECK_OK(dc_model_predict(models[which], bl->ds, pred, n));
        CHECK(!memcmp(fit, pred, sizeof *pred * (size_t)n));
        memset(pred, 0xff, sizeof *pred * (size_t)n);
        for (int64_t i = 0; i < n; i++) predict_rows(models[which], bl, i, i + 1, pred);
        CHECK_MSG(!memcmp(fit, pred, sizeof *pred * (size_t)n), "one row at a time (%d)", which);
        memset(pred, 0xff, sizeof *pred * (size_t)n);
        for (int64_t i = 0; i < n; i += 7) predict_rows(models[which], bl, i, i + 7 < n ? i + 7 : n, pred);
        CHECK_MSG(!memcmp(fit, pred, sizeof *pred * (size_t)n), "batches of 7 (%d)", which);
    }
    /* Without the reference records. */
    dci_rec_file f;
    CHECK_OK(dci_rec_load(&f, path));
    const char *old = tmp_path("noref.dcm"), *bad = tmp_path("badref.dcm");
    dci_rec_writer w, wb;
    CHECK_OK(dci_rec_begin(&w, old, DCI_MAGIC_MODEL));
    CHECK_OK(dci_rec_begin(&wb, bad, DCI_MAGIC_MODEL));
    for (int64_t i = 0; i < f.n_recs; i++) {
        const dci_rec *rc = &f.recs[i];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)rc->name_len, rc->name);
        /* bad: one hash short of the embeddings' rows */
        dci_rec_put(&wb, name, rc->type, rc->data,
                    strcmp(name, "ref.hash") == 0 ? rc->count - 1 : rc->count);
        if (strncmp(name, "ref.", 4) != 0) dci_rec_put(&w, name, rc->type, rc->data, rc->count);
    }
    CHECK_OK(dci_rec_commit(&w));
    CHECK_OK(dci_rec_commit(&wb));
    dci_rec_close(&f);
    dc_model *o = NULL, *b = NULL;
    CHECK_OK(dc_model_load(&o, old));
    CHECK(o && o->n_ref == 0);
    memset(pred, 0xff, sizeof *pred * (size_t)n);
    if (o) CHECK_OK(dc_model_predict(o, bl->ds, pred, n));
    CHECK(!memcmp(fit, pred, sizeof *pred * (size_t)n));
    CHECK_STATUS(dc_model_load(&b, bad), DC_ERR_FORMAT);
    CHECK(b == NULL && strstr(dc_last_error(), "reference set"));
    dc_model_free(o);
    dc_model_free(m);
    dc_model_free(back);
    free(fit);
    free(pred);
    dc_solver_free(s);
}

static void test_save_load(const blobs *bl) {
    dc_solver *s = small_solver("edcwrn", bl->k, 2);
    CHECK_OK(dc_solver_fit(s, bl->ds));
    int32_t *fit = labels_of(s, bl->n);
    float *z_fit = output_of(s, "embedding", NULL, NULL);
    dc_model *m = NULL, *back = NULL;
    CHECK_OK(dc_solver_model(s, &m));
    const char *path = tmp_path("model.dcm");
    CHECK_OK(dc_model_save(m, path));
    CHECK_OK(dc_model_load(&back, path));
    CHECK(back != NULL);
    if (!back) return;
    CHECK(!dc_model_is_autoencoder(back));
    CHECK(strcmp(dc_model_method(back), "edcwrn") == 0);
    CHECK(dc_model_input_dim(back) == bl->d && dc_model_embed_dim(back) == 3 &&
          dc_model_k(back) == bl->k);
    double v = 0;
    CHECK_OK(dc_model_get(back, "lambda", &v));
    CHECK(v == 0.1);
    CHECK_OK(dc_model_get(back, "seed", &v));
    CHECK(v == 2);
    CHECK_STATUS(dc_model_get(back, "nope", &v), DC_ERR_UNKNOWN_NAME);

    /* Centres and weights read back from the loaded model are the fit's. */
    int64_t rows = 0, cols = 0;
    float *c_fit = output_of(s, "centers", &rows, &cols);
    float *w_fit = output_of(s, "weights", NULL, NULL);
    float *tab = calloc((size_t)(rows * cols), sizeof *tab);
    CHECK(rows == bl->k && cols == 3);
    CHECK_OK(dc_model_centers(back, tab, rows * cols));
    CHECK(memcmp(tab, c_fit, sizeof(float) * (size_t)(rows * cols)) == 0);
    CHECK_OK(dc_model_weights(back, tab, rows * cols));
    CHECK(memcmp(tab, w_fit, sizeof(float) * (size_t)(rows * cols)) == 0);
    double wsum = 0;
    for (int64_t c = 0; c < cols; c++) wsum += tab[c];
    CHECK_NEAR(wsum, 1.0, 1e-5);
    CHECK_STATUS(dc_model_centers(back, tab, rows * cols - 1), DC_ERR_SHAPE);
    CHECK_STATUS(dc_model_weights(back, NULL, rows * cols), DC_ERR_NULL);
    CHECK_STATUS(dc_model_centers(NULL, tab, rows * cols), DC_ERR_NULL);
    free(c_fit);
    free(w_fit);

    int32_t *pred = calloc((size_t)bl->n, sizeof *pred);
    float *z = calloc((size_t)(bl->n * 3), sizeof *z);
    CHECK_OK(dc_model_predict(back, bl->ds, pred, bl->n));
    CHECK(memcmp(pred, fit, sizeof(int32_t) * (size_t)bl->n) == 0);
    CHECK_OK(dc_model_embed(back, bl->ds, z, bl->n * 3));
    CHECK(memcmp(z, z_fit, sizeof(float) * (size_t)(bl->n * 3)) == 0);
    memset(pred, 0xff, sizeof(int32_t) * (size_t)bl->n);
    CHECK_OK(dc_solver_predict(s, bl->ds, pred, bl->n));
    CHECK(memcmp(pred, fit, sizeof(int32_t) * (size_t)bl->n) == 0);
    CHECK_STATUS(dc_model_predict(back, bl->ds, pred, bl->n - 1), DC_ERR_SHAPE);
    CHECK_STATUS(dc_model_embed(back, bl->ds, z, bl->n * 3 - 1), DC_ERR_SHAPE);

    /* A single row is its own neighbour; several rows find theirs among them. */
    dc_dataset *one = NULL;
    CHECK_OK(dc_dataset_subset(&one, bl->ds, 5, 1));
    int32_t l1 = -1;
    CHECK_OK(dc_model_predict(back, one, &l1, 1));
    CHECK(l1 >= 0 && l1 < bl->k);
    dc_dataset_free(one);

    /* Wrong input dimension. */
    float *wide = calloc((size_t)(bl->n * (bl->d + 1)), sizeof *wide);
    dc_dataset *wds = NULL;
    CHECK_OK(dc_dataset_create(&wds, wide, bl->n, bl->d + 1, DC_BORROW));
    CHECK_STATUS(dc_model_predict(back, wds, pred, bl->n), DC_ERR_SHAPE);
    CHECK_STATUS(dc_model_embed(back, wds, z, bl->n * 3), DC_ERR_SHAPE);
    CHECK_STATUS(dc_solver_predict(s, wds, pred, bl->n), DC_ERR_SHAPE);
    dc_dataset_free(wds);
    free(wide);

    /* Damaged files. */
    size_t len = 0;
    unsigned char *bytes = read_bytes(path, &len);
    const char *bad = tmp_path("bad.dcm");
    write_bytes(bad, bytes, len / 2);
    expect_load(bad, DC_ERR_TRUNCATED);
    write_bytes(bad, bytes, 20);
    expect_load(bad, DC_ERR_TRUNCATED);
    write_bytes(bad, bytes, 0);
    expect_load(bad, DC_ERR_TRUNCATED);
    write_bytes(bad, bytes, len - 1);
    expect_load(bad, DC_ERR_TRUNCATED);
    for (size_t at = 40; at < len; at += len / 7) { /* altered payload bytes */
        bytes[at] ^= 0x10;
        write_bytes(bad, bytes, len);
        expect_load(bad, DC_ERR_CHECKSUM);
        bytes[at] ^= 0x10;
    }
    bytes[18] ^= 0x01; /* payload length in the header */
    write_bytes(bad, bytes, len);
    expect_load(bad, DC_ERR_CHECKSUM);
    bytes[18] ^= 0x01;
    bytes[0] = 'X';
    write_bytes(bad, bytes, len);
    expect_load(bad, DC_ERR_FORMAT);
    bytes[0] = 'D';
    bytes[8] = 2; /* a newer format version */
    write_bytes(bad, bytes, len);
    expect_load(bad, DC_ERR_VERSION);
    bytes[8] = 1;
    unsigned char *longer = malloc(len + 3);
    memcpy(longer, bytes, len);
    memset(longer + len, 0, 3);
    write_bytes(bad, longer, len + 3);
    expect_load(bad, DC_ERR_FORMAT);
    write_bytes(bad, bytes, len); /* the restored bytes load again */
    dc_model *again = NULL;
    CHECK_OK(dc_model_load(&again, bad));
    dc_model_free(again);
    free(longer);
    free(bytes);
    expect_load(tmp_path("does-not-exist.dcm"), DC_ERR_IO);
    CHECK_STATUS(dc_model_save(back, tmp_path("no-such-dir/m.dcm")), DC_ERR_IO);

    /* The pre-trained autoencoder is a model too, but has no clusters. */
    dc_model *ae = NULL;
    CHECK_OK(dc_solver_pretrained(s, &ae));
    CHECK(dc_model_is_autoencoder(ae) && dc_model_k(ae) == 0);
    CHECK_STATUS(dc_model_centers(ae, tab, rows * cols), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dc_model_predict(ae, bl->ds, pred, bl->n), DC_ERR_UNSUPPORTED);
    CHECK_OK(dc_model_embed(ae, bl->ds, z, bl->n * 3));

    dc_model_free(ae);
    dc_model_free(m);
    dc_model_free(back);
    free(pred);
    free(z);
    free(z_fit);
    free(tab);
    free(fit);
    dc_solver_free(s);
}

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

static double param_of(const dc_solver *s, const char *name) {
    double v = NAN;
    CHECK_OK(dc_solver_get(s, name, &v));
    return v;
}

static double stat_of(const dc_solver *s, const char *name) {
    double v = NAN;
    CHECK_OK(dc_solver_stat(s, name, &v));
    return v;
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

/* ---- pre-trained autoencoder ---- */

static void test_pretrained(const blobs *bl) {
    dc_solver *a = small_solver("edcwrn", bl->k, 5);
    CHECK_OK(dc_solver_fit(a, bl->ds));
    int32_t *la = labels_of(a, bl->n);
    float *za = output_of(a, "embedding", NULL, NULL);
    double pla = 0, plb = 0, sp = -1;
    CHECK_OK(dc_solver_stat(a, "pretrain_loss", &pla));
    dc_model *ae = NULL, *back = NULL;
    CHECK_OK(dc_solver_pretrained(a, &ae));
    const char *path = tmp_path("ae.dcm");
    CHECK_OK(dc_model_save(ae, path));
    CHECK_OK(dc_model_load(&back, path));
    CHECK(dc_model_is_autoencoder(back));

    dc_solver *b = small_solver("edcwrn", bl->k, 5);
    CHECK_OK(dc_solver_use_pretrained(b, back));
    CHECK_OK(dc_solver_fit(b, bl->ds));
    int32_t *lb = labels_of(b, bl->n);
    float *zb = output_of(b, "embedding", NULL, NULL);
    CHECK(memcmp(la, lb, sizeof(int32_t) * (size_t)bl->n) == 0);
    CHECK(memcmp(za, zb, sizeof(float) * (size_t)(bl->n * 3)) == 0);
    CHECK_OK(dc_solver_stat(b, "pretrain_loss", &plb));
    CHECK(pla == plb);
    CHECK_OK(dc_solver_stat(b, "seconds_pretrain", &sp));
    CHECK(sp == 0.0);

    /* A clustering model is not an autoencoder; the input width must match. */
    dc_model *cm = NULL;
    CHECK_OK(dc_solver_model(b, &cm));
    CHECK_STATUS(dc_solver_use_pretrained(b, cm), DC_ERR_INVALID_ARG);
    blobs wide = make_blobs(90, bl->d + 2, 3, 9);
    CHECK_STATUS(dc_solver_fit(b, wide.ds), DC_ERR_SHAPE);
    CHECK_OK(dc_solver_use_pretrained(b, NULL));
    CHECK_OK(dc_solver_fit(b, wide.ds)); /* pre-trains again */
    CHECK_OK(dc_solver_stat(b, "seconds_pretrain", &sp));
    CHECK(sp > 0.0);

    free_blobs(&wide);
    dc_model_free(cm);
    dc_model_free(ae);
    dc_model_free(back);
    free(la);
    free(lb);
    free(za);
    free(zb);
    dc_solver_free(a);
    dc_solver_free(b);
}

/* ---- representation weighting options ---- */

/* q recomputed in double from the fit's outputs (embedding, centres,
 * weights): Eq. 11 with the weighted distance times `dist_scale`. */
static double q_error(const dc_solver *s, int64_t n, int64_t K, int64_t M, double a, double b,
                      double dist_scale) {
    float *z = output_of(s, "embedding", NULL, NULL);
    float *r = output_of(s, "centers", NULL, NULL);
    float *w = output_of(s, "weights", NULL, NULL);
    float *q = output_of(s, "q", NULL, NULL);
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < K; j++) {
            double d = 0;
            for (int64_t m = 0; m < M; m++) {
                double t = (double)z[i * M + m] - r[j * M + m];
                d += w[j * M + m] * t * t;
            }
            double ref = 1.0 / (1.0 + a * pow(dist_scale * d, b));
            worst = fmax(worst, fabs(q[i * K + j] - ref) / ref);
        }
    free(z);
    free(r);
    free(w);
    free(q);
    return worst;
}

static void test_weighting_norm(const blobs *bl) {
    /* Default weighting_norm = mean: the kernel's distance is M sum_m w_jm
     * (z_im - r_jm)^2 while the reported w keeps rows summing to 1; sum:
     * Eq. 11 with w as reported. */
    const int64_t M = 3;
    for (int norm = 0; norm < 2; norm++) {
        dc_solver *s = small_solver("edcwrn", bl->k, 3);
        if (norm == 0) CHECK_OK(dc_solver_set_str(s, "weighting_norm", "sum"));
        double v = -1;
        CHECK_OK(dc_solver_get(s, "weighting_norm", &v));
        CHECK(v == (norm == 0 ? 0.0 : 1.0));
        CHECK_OK(dc_solver_set(s, "max_iter", 40));
        CHECK_OK(dc_solver_fit(s, bl->ds));
        const double err = q_error(s, bl->n, bl->k, M, 1.93, 0.79, norm == 0 ? 1.0 : (double)M);
        CHECK_MSG(err < 1e-4, "weighting_norm %s: q differs from Eq. 11 by %g",
                  norm ? "mean" : "sum", err);
        float *w = output_of(s, "weights", NULL, NULL);
        for (int64_t j = 0; j < bl->k; j++)
            CHECK_NEAR(w[j * M] + w[j * M + 1] + w[j * M + 2], 1.0, 1e-5);
        free(w);
        /* The saved model predicts with the same kernel. */
        dc_model *m = NULL;
        CHECK_OK(dc_solver_model(s, &m));
        int32_t *lf = labels_of(s, bl->n), *lp = calloc((size_t)bl->n, sizeof *lp);
        CHECK_OK(dc_model_predict(m, bl->ds, lp, bl->n));
        CHECK(memcmp(lf, lp, sizeof(int32_t) * (size_t)bl->n) == 0);
        free(lf);
        free(lp);
        dc_model_free(m);
        dc_solver_free(s);
    }

    /* With uniform weights 1/M the mean-normalised kernel is the kernel of
     * weighting = false (plain squared distance). */
    dci_deep_cfg on = dci_deep_cfg_default(DCI_DEEP_EDCWRN), off = on;
    on.k = off.k = 3;
    off.weighting = 0;
    dci_deep_train *ton = NULL, *toff = NULL;
    dc_model *ae = NULL;
    {
        dc_solver *s = small_solver("edcwrn", 3, 1);
        CHECK_OK(dc_solver_set(s, "max_iter", 0));
        CHECK_OK(dc_solver_fit(s, bl->ds));
        CHECK_OK(dc_solver_pretrained(s, &ae));
        dc_solver_free(s);
    }
    on.batch = off.batch = 32;
    CHECK_OK(dci_deep_train_create(&ton, &on, ae, bl->n, NULL));
    CHECK_OK(dci_deep_train_create(&toff, &off, ae, bl->n, NULL));
    CHECK(ton->m->weights != NULL && toff->m->weights == NULL);
    enum { NZ = 16 };
    float z[NZ * 3], r[9], qon[NZ * 3], qoff[NZ * 3];
    fill_uniform(z, NZ * 3, -2, 2);
    fill_uniform(r, 9, -1, 1);
    CHECK_OK(
        dci_assign_q(&(dci_assign_batch){ton->m->kernel, z, NZ, 3, r, ton->m->weights, 3}, qon));
    CHECK_OK(dci_assign_q(&(dci_assign_batch){toff->m->kernel, z, NZ, 3, r, NULL, 3}, qoff));
    double worst = 0;
    for (int i = 0; i < NZ * 3; i++) worst = fmax(worst, fabs(qon[i] - qoff[i]));
    CHECK_MSG(worst < 1e-6, "uniform weights vs weighting off: %g", worst);
    dci_deep_train_free(ton);
    dci_deep_train_free(toff);
    dc_model_free(ae);
}

/* weighting_scale = standardized: at a target update the weights are Eq. 15
 * on the embedding divided per dimension by its standard deviation over the
 * whole set (recomputed here independently, in double). */
static void test_weighting_standardized_update(const blobs *bl) {
    dc_solver *s = small_solver("edcwrn", bl->k, 2);
    CHECK_OK(dc_solver_set(s, "max_iter", 0));
    CHECK_OK(dc_solver_fit(s, bl->ds));
    dc_model *ae = NULL;
    CHECK_OK(dc_solver_pretrained(s, &ae));
    dc_solver_free(s);
    dci_deep_cfg c = dci_deep_cfg_default(DCI_DEEP_EDCWRN);
    c.k = bl->k;
    c.batch = 32;
    c.n_init = 3;
    c.weighting_scale = DCI_WSCALE_STANDARDIZED;
    dci_deep_train *t = NULL;
    CHECK_OK(dci_deep_train_create(&t, &c, ae, bl->n, NULL));
    const float *x = dc_dataset_data(bl->ds);
    CHECK_OK(dci_deep_init_centers(t, x, NULL, NULL));
    CHECK_OK(dci_deep_update(t, x));
    for (int it = 0; it < 5; it++) CHECK_OK(dci_deep_iteration(t, x));
    CHECK_OK(dci_deep_update(t, x)); /* q from the batch-updated w, then w from the whole set */
    const int64_t n = t->n, M = t->M, K = t->K;
    const float *z = t->zall, *q = t->q, *r = t->m->centers;
    double worst = 0;
    for (int64_t j = 0; j < K; j++) {
        double inv[16], sum = 0;
        for (int64_t m = 0; m < M; m++) {
            double mu = 0, var = 0, D = 0;
            for (int64_t i = 0; i < n; i++) mu += z[i * M + m];
            mu /= (double)n;
            for (int64_t i = 0; i < n; i++) var += (z[i * M + m] - mu) * (z[i * M + m] - mu);
            var /= (double)n;
            for (int64_t i = 0; i < n; i++) {
                double d = (z[i * M + m] - r[j * M + m]) / sqrt(var);
                D += (double)q[i * K + j] * q[i * K + j] * d * d;
            }
            sum += inv[m] = 1.0 / D;
        }
        for (int64_t m = 0; m < M; m++)
            worst = fmax(worst, fabs(t->m->weights[j * M + m] - inv[m] / sum));
    }
    CHECK_MSG(worst < 1e-5, "standardised weights differ from the reference by %g", worst);
    dci_deep_train_free(t);
    dc_model_free(ae);
}

/* Regression (the weighting collapse): three clearly separated 2-D blobs,
 * default EDCWRN settings on a tiny network with a very short pre-training,
 * so that the pre-trained embedding is small (variance ~1e-3). With the
 * kernel's distance a mean over dimensions (weighting_norm = sum, the old
 * default) the kernel was nearly flat (q in [0.99, 1] for every cluster),
 * the targets nearly uniform, and clusters merged: 2 of these 8 seeds
 * reached ACC 0.95 (6 of 24 seeds); with the default weighting_norm = mean,
 * 8 of 8 (20 of 24). The bound leaves room for one or two seeds that a
 * different BLAS sends another way. */
static void test_separated_blobs(void) {
    enum { N = 90 };
    float x[N * 2];
    int32_t truth[N];
    const double cx[3] = {0, 5, 2}, cy[3] = {0, 1, 5};
    dci_rng r;
    dci_rng_init(&r, 77, DCI_STREAM_TEST);
    for (int i = 0; i < N; i++) {
        truth[i] = i % 3;
        x[i * 2] = (float)((cx[i % 3] + 0.6 * dci_rng_normal(&r)) / 6.0);
        x[i * 2 + 1] = (float)((cy[i % 3] + 0.6 * dci_rng_normal(&r)) / 6.0);
    }
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, N, 2, DC_COPY));
    int good = 0;
    const int seeds = 8;
    for (int seed = 0; seed < seeds; seed++) {
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, "edcwrn"));
        set_small(s, 3, seed);
        CHECK_OK(dc_solver_set(s, "embed_dim", 10));
        CHECK_OK(dc_solver_set(s, "pretrain_epochs", 5));
        CHECK_OK(dc_solver_fit(s, ds));
        int32_t *l = labels_of(s, N);
        double acc = 0;
        CHECK_OK(dc_metrics_acc(truth, l, N, &acc));
        good += acc >= 0.95;
        printf("separated blobs, seed %d: ACC %.3f\n", seed, acc);
        free(l);
        dc_solver_free(s);
    }
    CHECK_MSG(good >= seeds - 2, "ACC >= 0.95 in only %d of %d seeds", good, seeds);
    dc_dataset_free(ds);
}

/* pretrain_lr 0 stands for the optimiser's own default: SGD 1.0, Adam 0.001. */
static double pretrain_loss_with(const blobs *bl, const char *opt, double lr) {
    dc_solver *s = small_solver("edcwrn", bl->k, 3);
    CHECK_OK(dc_solver_set_str(s, "pretrain_optimizer", opt));
    CHECK_OK(dc_solver_set(s, "pretrain_lr", lr));
    CHECK_OK(dc_solver_set(s, "pretrain_epochs", 5));
    CHECK_OK(dc_solver_set(s, "max_iter", 0));
    CHECK_OK(dc_solver_fit(s, bl->ds));
    double loss = NAN;
    CHECK_OK(dc_solver_stat(s, "pretrain_loss", &loss));
    dc_solver_free(s);
    return loss;
}

static void test_pretrain_optimizers(const blobs *bl) {
    const double sgd0 = pretrain_loss_with(bl, "sgd", 0), sgd1 = pretrain_loss_with(bl, "sgd", 1);
    const double adam0 = pretrain_loss_with(bl, "adam", 0);
    const double adam1 = pretrain_loss_with(bl, "adam", 0.001);
    const double adam2 = pretrain_loss_with(bl, "adam", 0.01);
    CHECK(isfinite(sgd0) && sgd0 == sgd1);
    CHECK(isfinite(adam0) && adam0 == adam1 && adam0 != adam2 && adam0 != sgd0);
}

/* ---- the default recipe ---- */

/* dci_input_scale: the power of two nearest to 1 / (99th percentile of |x|). */
static void test_input_scale(void) {
    enum { N = 20000 };
    float *x = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = (float)dci_rng_uniform(&trng); /* [0, 1): p99 ~ 0.99 */
    CHECK(dci_input_scale(x, N) == 1.0);
    for (int i = 0; i < N; i++) x[i] = floorf(x[i] * 256.0f); /* pixels 0..255 */
    CHECK(dci_input_scale(x, N) == 1.0 / 256);
    for (int i = 0; i < N; i++) x[i] = (float)dci_rng_normal(&trng); /* p99 of |z| = 2.58 */
    CHECK(dci_input_scale(x, N) == 0.5);
    for (int i = 0; i < N; i++) x[i] = i % 1000 == 0 ? -8.0f : 0.0f; /* 0.1 % non-zero */
    CHECK(dci_input_scale(x, N) == 0.125);
    memset(x, 0, N * sizeof(float));
    CHECK(dci_input_scale(x, N) == 1.0);
    CHECK(dci_input_scale(x, 0) == 1.0);
    float *copy = NULL;
    const float y[3] = {1, 2, 3};
    CHECK(dci_scaled_input(y, 1, 3, 1.0, &copy) == y && copy == NULL);
    const float *sy = dci_scaled_input(y, 1, 3, 0.25, &copy);
    CHECK(sy == copy && sy[0] == 0.25f && sy[2] == 0.75f);
    free(copy);
    free(x);
}

/* The pre-training budget: epochs when given, else steps, else 500 epochs
 * within [DCI_PRETRAIN_MIN_STEPS, DCI_PRETRAIN_MAX_STEPS]. */
static void test_pretrain_budget(void) {
    dci_deep_cfg c = dci_deep_cfg_default(DCI_DEEP_EDCWRN);
    CHECK(c.batch == 256 && c.pretrain_epochs == 0 && c.pretrain_steps == 0);
    CHECK(dci_deep_pretrain_steps(&c, 10000) == 500 * 40 || 500 * 40 > DCI_PRETRAIN_MAX_STEPS);
    CHECK(dci_deep_pretrain_steps(&c, 10000) ==
          (500 * 40 < DCI_PRETRAIN_MAX_STEPS ? 500 * 40 : DCI_PRETRAIN_MAX_STEPS));
    CHECK(dci_deep_pretrain_steps(&c, 2560) == 500 * 10);
    CHECK(dci_deep_pretrain_steps(&c, 1797) == 500 * 8);
    CHECK(dci_deep_pretrain_steps(&c, 70000) == DCI_PRETRAIN_MAX_STEPS);
    CHECK(dci_deep_pretrain_steps(&c, 50) == DCI_PRETRAIN_MIN_STEPS);
    c.pretrain_steps = 123;
    CHECK(dci_deep_pretrain_steps(&c, 70000) == 123);
    c.pretrain_epochs = 3;
    CHECK(dci_deep_pretrain_steps(&c, 1000) == 12); /* 4 batches per epoch */
}

typedef enum { SC_RAW255, SC_INT16, SC_MINMAX, SC_ZSCORE, SC_UNIT, SC_SMALL, SC_COUNT } scaling;
static const char *const scaling_names[SC_COUNT] = {"pixels 0..255", "integers 0..16", "min-max",
                                                    "z-scores", "unit rows", "50 samples"};

/* The block blobs under one of the scalings users feed (computed here, not by
 * the library's normalisation). */
static dc_dataset *scaled_blobs(const blobs *bl, scaling sc, int64_t *n_out) {
    const int64_t n = sc == SC_SMALL ? 50 : bl->n, d = bl->d;
    const float *x0 = dc_dataset_data(bl->ds);
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n * d; i++) x[i] = x0[i];
    double lo[64], hi[64], mu[64], sd[64];
    for (int64_t j = 0; j < d; j++) {
        lo[j] = INFINITY, hi[j] = -INFINITY, mu[j] = 0, sd[j] = 0;
        for (int64_t i = 0; i < n; i++) {
            const double v = x[i * d + j];
            lo[j] = fmin(lo[j], v), hi[j] = fmax(hi[j], v), mu[j] += v / (double)n;
        }
        for (int64_t i = 0; i < n; i++) sd[j] += pow(x[i * d + j] - mu[j], 2) / (double)n;
        sd[j] = sqrt(sd[j]);
    }
    for (int64_t i = 0; i < n; i++) {
        double norm = 0;
        for (int64_t j = 0; j < d; j++) norm += (double)x[i * d + j] * x[i * d + j];
        for (int64_t j = 0; j < d; j++) {
            float *v = &x[i * d + j];
            const double c = fmin(fmax(*v, 0.0), 1.0);
            switch (sc) {
            case SC_RAW255: *v = (float)round(255.0 * c); break;
            case SC_INT16: *v = (float)round(16.0 * c); break;
            case SC_MINMAX: *v = (float)((*v - lo[j]) / (hi[j] - lo[j])); break;
            case SC_ZSCORE: *v = (float)((*v - mu[j]) / sd[j]); break;
            case SC_UNIT: *v = (float)(*v / sqrt(norm)); break;
            default: break;
            }
        }
    }
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, n, d, DC_COPY));
    free(x);
    *n_out = n;
    return ds;
}

/* The default recipe (Adam with warm-up and cosine decay, the input scale,
 * the default clustering settings) fits every scaling without diverging
 * and finds the blobs, for all three methods. Only the network and the
 * phases are small. Before the recipe, SGD at lr 1 made the z-scored data
 * diverge in pre-training. */
static void test_default_recipe_scalings(const blobs *bl) {
    const char *methods[3] = {"edcwrn", "idec", "dec"};
    for (int sc = 0; sc < SC_COUNT; sc++) {
        int64_t n = 0;
        dc_dataset *ds = scaled_blobs(bl, (scaling)sc, &n);
        for (int mi = 0; mi < 3; mi++) {
            dc_solver *s = NULL;
            CHECK_OK(dc_solver_create(&s, methods[mi]));
            CHECK_OK(dc_solver_set(s, "k", (double)bl->k));
            CHECK_OK(dc_solver_set(s, "seed", 3));
            CHECK_OK(dc_solver_set(s, "hidden1", 32));
            CHECK_OK(dc_solver_set(s, "hidden2", 16));
            CHECK_OK(dc_solver_set(s, "hidden3", 0));
            CHECK_OK(dc_solver_set(s, "embed_dim", 3));
            CHECK_OK(dc_solver_set(s, "pretrain_steps", 300));
            CHECK_OK(dc_solver_set(s, "max_iter", 200));
            CHECK_OK(dc_solver_set(s, "update_interval", 20));
            const dc_status st = dc_solver_fit(s, ds);
            CHECK_MSG(st == DC_OK, "%s on %s: %s", methods[mi], scaling_names[sc], dc_last_error());
            if (st == DC_OK) {
                int32_t *l = labels_of(s, n);
                double acc = 0, scale = 0, aug = -1;
                CHECK_OK(dc_metrics_acc(bl->truth, l, n, &acc));
                CHECK_MSG(acc >= 0.9, "%s on %s: ACC %.3f", methods[mi], scaling_names[sc], acc);
                CHECK_OK(dc_solver_stat(s, "input_scale", &scale));
                CHECK_OK(dc_solver_stat(s, "augment", &aug));
                CHECK(aug == 0.0 && scale == (sc == SC_RAW255 ? 1.0 / 256 : sc == SC_INT16 ? 1.0 / 16
                                                                            : scale));
                free(l);
            }
            dc_solver_free(s);
        }
        dc_dataset_free(ds);
    }
}

/* A model trained on scaled data records the scale and applies it to new
 * data: predicting the raw training rows (also after save and load) gives
 * the fitted labels, and the pre-trained autoencoder carries it into a fit
 * that starts from it. */
static void test_input_scale_model(const blobs *bl) {
    int64_t n = 0;
    dc_dataset *ds = scaled_blobs(bl, SC_RAW255, &n);
    dc_solver *s = small_solver("idec", bl->k, 2);
    CHECK_OK(dc_solver_set(s, "scale_input", 1));
    CHECK_OK(dc_solver_fit(s, ds));
    int32_t *fit = labels_of(s, n), *pred = calloc((size_t)n, sizeof *pred);
    dc_model *m = NULL, *back = NULL, *ae = NULL;
    CHECK_OK(dc_solver_model(s, &m));
    CHECK_OK(dc_solver_pretrained(s, &ae));
    CHECK(m && m->input_scale == 1.0 / 256 && ae && ae->input_scale == 1.0 / 256);
    CHECK_OK(dc_model_predict(m, ds, pred, n));
    CHECK(!memcmp(fit, pred, sizeof *pred * (size_t)n));
    const char *path = tmp_path("scaled.dcm");
    CHECK_OK(dc_model_save(m, path));
    CHECK_OK(dc_model_load(&back, path));
    CHECK(back && back->input_scale == 1.0 / 256);
    memset(pred, 0xff, sizeof *pred * (size_t)n);
    if (back) CHECK_OK(dc_model_predict(back, ds, pred, n));
    CHECK(!memcmp(fit, pred, sizeof *pred * (size_t)n));
    dc_solver *s2 = small_solver("idec", bl->k, 2);
    CHECK_OK(dc_solver_use_pretrained(s2, ae));
    CHECK_OK(dc_solver_set(s2, "scale_input", 0)); /* the autoencoder's scale wins */
    CHECK_OK(dc_solver_fit(s2, ds));
    double scale = 0;
    CHECK_OK(dc_solver_stat(s2, "input_scale", &scale));
    CHECK(scale == 1.0 / 256);
    dc_solver_free(s2);
    dc_model_free(m);
    dc_model_free(back);
    dc_model_free(ae);
    free(fit);
    free(pred);
    dc_solver_free(s);
    dc_dataset_free(ds);
}

/* preset = authors: the parameters not given take the authors' values (the
 * model records them), given ones keep theirs; IDEC keeps its own clustering
 * settings; resuming keeps the recorded values. */
/* init = spectral: the centres are the means of the pre-trained embedding
 * over the clusters that the njw method finds in it (run here through the
 * public API on the embedding output, with the same seed and restarts).
 * IDEC: its
 * embedding output is 2 enc(x), the vectors the centres come from. */
static void test_spectral_init(const blobs *bl) {
    double agree = 0.0;
    for (int64_t run = 0; run < 6; run++) {
        const int64_t seed = run % 3;
        dc_solver *s = small_solver(run < 3 ? "idec" : "edcwrn", bl->k, seed);
        CHECK_OK(dc_solver_set(s, "max_iter", 0));
        /* the output embedding is fp32 (what the model predicts): so must be
         * the one the centres came from */
        CHECK_OK(dc_solver_set_str(s, "gemm_precision", "fp32"));
        CHECK_OK(dc_solver_fit(s, bl->ds));
        int64_t n = 0, M = 0, K = 0, c = 0;
        float *z = output_of(s, "embedding", &n, &M);
        float *centers = output_of(s, "centers", &K, &c);
        CHECK(n == bl->n && K == bl->k && c == M);
        dc_dataset *zs = NULL;
        CHECK_OK(dc_dataset_create(&zs, z, n, M, DC_COPY));
        dc_solver *njw = NULL;
        CHECK_OK(dc_solver_create(&njw, "njw"));
        CHECK_OK(dc_solver_set(njw, "k", (double)K));
        CHECK_OK(dc_solver_set(njw, "seed", (double)seed));
        CHECK_OK(dc_solver_set(njw, "n_init", 5));
        CHECK_OK(dc_solver_fit(njw, zs));
        int32_t *l = labels_of(njw, n);
        double worst = 0.0, scale = 0.0;
        for (int64_t j = 0; j < K; j++) {
            double mean[8] = {0}, cnt = 0;
            for (int64_t i = 0; i < n; i++)
                if (l[i] == j) {
                    cnt++;
                    for (int64_t m = 0; m < M && m < 8; m++) mean[m] += z[i * M + m];
                }
            for (int64_t m = 0; m < M && m < 8; m++) {
                const double v = cnt > 0 ? mean[m] / cnt : NAN;
                worst = fmax(worst, fabs(v - centers[j * M + m]));
                scale = fmax(scale, fabs(v));
            }
        }
        CHECK_MSG(M <= 8 && worst <= 1e-4 * (1.0 + scale), "run %lld: |centre - NJW mean| %g",
                  (long long)run, worst);
        agree += worst <= 1e-4 * (1.0 + scale);
        free(l);
        dc_solver_free(njw);
        dc_dataset_free(zs);
        free(z);
        free(centers);
        dc_solver_free(s);
    }
    CHECK(agree == 6);
}

/* pretrain_zoom reaches the pre-training ranges only; augment_fill both phases. */
static void test_augment_ranges(void) {
    dci_deep_cfg c = dci_deep_cfg_default(DCI_DEEP_EDCWRN);
    c.pretrain_zoom = 0.2;
    c.augment_fill = DCI_FILL_ZERO;
    const dci_augment_ranges p = dci_deep_augment_ranges(&c, 1), k = dci_deep_augment_ranges(&c, 0);
    const dci_augment_ranges d = dci_augment_ranges_default();
    CHECK(p.zoom == 0.2 && p.fill == DCI_FILL_ZERO && p.rotation == d.rotation &&
          p.width_shift == d.width_shift && p.height_shift == d.height_shift);
    CHECK(k.zoom == d.zoom && k.fill == DCI_FILL_ZERO);
    c.augment_fill = DCI_FILL_NEAREST;
    CHECK(dci_deep_augment_ranges(&c, 0).fill == DCI_FILL_NEAREST);
}

static void test_presets(const blobs *bl) {
    dc_solver *s = small_solver("edcwrn", bl->k, 1);
    CHECK_STATUS(dc_solver_set_str(s, "preset", "paper"), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), "default|authors") || strstr(dc_last_error(), "authors"),
              "'%s'", dc_last_error());
    CHECK_OK(dc_solver_set_str(s, "preset", "authors"));
    CHECK_OK(dc_solver_set(s, "pretrain_steps", 200)); /* given: not the authors' 128,000 */
    CHECK_OK(dc_solver_set(s, "max_iter", 60));
    CHECK_OK(dc_solver_fit(s, bl->ds));
    dc_model *m = NULL;
    CHECK_OK(dc_solver_model(s, &m));
    double v[8];
    const char *names[8] = {"pretrain_steps", "pretrain_optimizer", "lr", "n_init", "weighting",
                            "weighting_norm", "scale_input", "pretrain_lr"};
    for (int i = 0; i < 8; i++) CHECK_OK(dc_model_get(m, names[i], &v[i]));
    /* Given by set_small or here: pretrain_steps 200, n_init 5, pretrain_lr 0.1, sgd, no scale. */
    CHECK(v[0] == 200 && v[1] == 0 && v[2] == 1.0 && v[3] == 5 && v[4] == DCI_WEIGHTING_AFTER &&
          v[5] == DCI_WNORM_SUM && v[6] == 0 && v[7] == 0.1);
    /* The authors' augmentation: pre-training without zoom, nearest-edge fill. */
    CHECK_OK(dc_model_get(m, "pretrain_zoom", &v[0]));
    CHECK_OK(dc_model_get(m, "augment_fill", &v[1]));
    CHECK_OK(dc_model_get(m, "init", &v[2]));
    CHECK(v[0] == 0.0 && v[1] == DCI_FILL_NEAREST && v[2] == DCI_INIT_KMEANS);
    /* The authors' kernel: uniform weights 1/M in the sum, a / M^b; the
     * weights output is Eq. 15 (rows sum to 1), not the kernel's. */
    CHECK_NEAR(m->kernel.a, 1.93 * pow(3.0, -0.79), 1e-9);
    CHECK(m->weights == NULL);
    int64_t r = 0, c = 0;
    float *w = output_of(s, "weights", &r, &c);
    int rows_sum_1 = r == bl->k && c == 3;
    for (int64_t j = 0; j < r; j++) rows_sum_1 &= fabs(w[j * c] + w[j * c + 1] + w[j * c + 2] - 1.0) < 1e-5;
    CHECK(rows_sum_1);
    free(w);
    dc_model_free(m);
    dc_solver_free(s);

    dc_solver *i = small_solver("idec", bl->k, 1);
    CHECK_OK(dc_solver_set_str(i, "preset", "authors"));
    CHECK_OK(dc_solver_set(i, "pretrain_steps", 100));
    CHECK_OK(dc_solver_set(i, "max_iter", 20));
    CHECK_OK(dc_solver_fit(i, bl->ds));
    CHECK_OK(dc_solver_model(i, &m));
    CHECK_OK(dc_model_get(m, "lr", &v[0]));
    CHECK(v[0] == 0.1); /* IDEC's own clustering rate */
    dc_model_free(m);
    dc_solver_free(i);
}

/* weighting = after: the kernel's weights stay uniform during training (the
 * fit equals weighting = false with a / M^b), and the weights output is
 * Eq. 15 from the final q, z and centres, recomputed here in double. */
static void test_weighting_after(const blobs *bl) {
    dc_solver *s = small_solver("edcwrn", bl->k, 4);
    CHECK_OK(dc_solver_set_str(s, "weighting", "after"));
    CHECK_OK(dc_solver_set_str(s, "weighting_norm", "sum"));
    CHECK_OK(dc_solver_fit(s, bl->ds));
    dc_solver *o = small_solver("edcwrn", bl->k, 4);
    CHECK_OK(dc_solver_set(o, "weighting", 0));
    CHECK_OK(dc_solver_set(o, "a", 1.93 * pow(3.0, -0.79)));
    CHECK_OK(dc_solver_fit(o, bl->ds));
    int32_t *la = labels_of(s, bl->n), *lo = labels_of(o, bl->n);
    CHECK(!memcmp(la, lo, sizeof *la * (size_t)bl->n));
    int64_t n = 0, M = 0, K = 0, kk = 0;
    float *z = output_of(s, "embedding", &n, &M), *q = output_of(s, "q", &n, &K);
    float *r = output_of(s, "centers", &kk, &M), *w = output_of(s, "weights", &kk, &M);
    double worst = 0;
    for (int64_t j = 0; j < K; j++) {
        double D[16], inv = 0;
        for (int64_t m = 0; m < M; m++) {
            D[m] = 0;
            for (int64_t i = 0; i < n; i++)
                D[m] += pow(q[i * K + j], 2.0) * pow(z[i * M + m] - r[j * M + m], 2.0);
        }
        for (int64_t m = 0; m < M; m++) inv += 1.0 / D[m];
        for (int64_t m = 0; m < M; m++) worst = fmax(worst, fabs(w[j * M + m] - (1.0 / D[m]) / inv));
    }
    CHECK_MSG(worst < 1e-4, "Eq. 15 after training: %g", worst);
    free(z), free(q), free(r), free(w), free(la), free(lo);
    dc_solver_free(s);
    dc_solver_free(o);
}

typedef struct log_capture {
    int warnings;
    char last[512];
} log_capture;

static void capture_log(void *user, dc_log_level level, const char *message) {
    log_capture *c = user;
    if (level != DC_LOG_WARN) return;
    c->warnings++;
    snprintf(c->last, sizeof c->last, "%s", message);
}

/* A pre-training that diverges once restarts at half the learning rate:
 * the fit succeeds, the restart is logged and counted, and the model records
 * the rate that trained it. Data far from unit scale with scale_input off
 * and SGD find such a rate among a few doublings, and the next one diverges
 * twice. */
static void test_pretrain_recovery(const blobs *bl) {
    const int64_t n = bl->n, d = bl->d;
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n * d; i++) x[i] = 100.0f + 150.0f * dc_dataset_data(bl->ds)[i];
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, n, d, DC_COPY));
    free(x);
    int recovered = 0, failed_twice = 0;
    for (double lr = 1e-5; lr < 0.1 && !(recovered && failed_twice); lr *= 2) {
        log_capture cap = {0, ""};
        dc_set_log(capture_log, &cap, DC_LOG_WARN);
        dc_solver *s = small_solver("idec", bl->k, 1);
        CHECK_OK(dc_solver_set(s, "pretrain_lr", lr));
        CHECK_OK(dc_solver_set(s, "max_iter", 20));
        /* k-means centres: a barely trained embedding of these data can be
         * constant, where the spectral initialisation falls back with a
         * warning of its own (test_spectral_init). */
        CHECK_OK(dc_solver_set_str(s, "init", "kmeans"));
        const dc_status st = dc_solver_fit(s, ds);
        dc_set_log(NULL, NULL, DC_LOG_ERROR);
        double restarts = -1, used = 0, recorded = 0;
        if (st == DC_OK) {
            CHECK_OK(dc_solver_stat(s, "pretrain_restarts", &restarts));
            CHECK_OK(dc_solver_stat(s, "pretrain_lr", &used));
            dc_model *m = NULL;
            CHECK_OK(dc_solver_model(s, &m));
            CHECK_OK(dc_model_get(m, "pretrain_lr", &recorded));
            dc_model_free(m);
            CHECK((restarts == 1) == (cap.warnings == 1) && recorded == used);
            if (restarts == 1) {
                recovered = 1;
                CHECK_MSG(strstr(cap.last, "pre-training diverged; restarting it at learning rate") &&
                          fabs(used - lr / 2) < 1e-12 * lr, "'%s', lr %g", cap.last, used);
            } else {
                CHECK(used == lr);
            }
        } else {
            CHECK_STATUS(st, DC_ERR_NUMERIC);
            failed_twice += recovered && cap.warnings == 1 &&
                            strstr(dc_last_error(), "pre-training diverged twice") != NULL;
        }
        dc_solver_free(s);
    }
    CHECK_MSG(recovered && failed_twice, "recovered %d, failed twice %d", recovered, failed_twice);
    dc_dataset_free(ds);
}

/* augment = auto: on with an image shape (the fit's statistic says so),
 * off without; true without a shape is refused. */
static void test_augment_auto(const blobs *bl) {
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, dc_dataset_data(bl->ds), bl->n, bl->d, DC_COPY));
    CHECK_OK(dc_dataset_set_image_shape(ds, 3, 4, 1));
    for (int shaped = 0; shaped <= 1; shaped++) {
        dc_solver *s = small_solver("edcwrn", bl->k, 1);
        CHECK_OK(dc_solver_set(s, "max_iter", 40));
        CHECK_OK(dc_solver_fit(s, shaped ? ds : bl->ds));
        double aug = -1;
        CHECK_OK(dc_solver_stat(s, "augment", &aug));
        CHECK(aug == shaped);
        dc_solver_free(s);
    }
    dc_dataset_free(ds);
}

/* dci_deep_cfg_default (which the unit tests build their configurations
 * from) equals what a fit reads from a fresh solver's parameter table, for
 * every deep method: the two declarations of the defaults cannot drift. */
static void test_cfg_default_is_the_table(void) {
    const dci_deep_method ms[3] = {DCI_DEEP_EDCWRN, DCI_DEEP_IDEC, DCI_DEEP_DEC};
    for (int i = 0; i < 3; i++) {
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, dci_deep_method_name(ms[i])));
        if (!s) continue;
        const dci_deep_cfg a = dci_deep_cfg_default(ms[i]);
        const dci_deep_cfg b = dci_deep_read_cfg(s, s->pv, ms[i]);
#define SAME(f) CHECK_MSG(a.f == b.f, "%s: field " #f " differs", dci_deep_method_name(ms[i]))
        SAME(method);
        SAME(preset);
        SAME(k);
        SAME(batch);
        SAME(embed_dim);
        SAME(hidden[0]);
        SAME(hidden[1]);
        SAME(hidden[2]);
        SAME(pretrain_epochs);
        SAME(pretrain_steps);
        SAME(pretrain_warmup);
        SAME(n_init);
        SAME(neighbors_k);
        SAME(update_interval);
        SAME(max_iter);
        SAME(checkpoint_every);
        SAME(pretrain_lr);
        SAME(pretrain_momentum);
        SAME(lr);
        SAME(momentum);
        SAME(lambda);
        SAME(a);
        SAME(b);
        SAME(alpha);
        SAME(beta);
        SAME(tol);
        SAME(weighting);
        SAME(neighbors);
        SAME(formulation_idec);
        SAME(ce_normalized);
        SAME(augment);
        SAME(scale_input);
        SAME(pretrain_adam);
        SAME(pretrain_cosine);
        SAME(weighting_scale);
        SAME(weighting_norm);
        SAME(seed);
#undef SAME
        dc_solver_free(s);
    }
}

/* ---- rejected inputs ---- */

static void expect_fit_error(const blobs *bl, const char *param, double value, dc_status want,
                             const char *needle) {
    dc_solver *s = small_solver("edcwrn", bl->k, 1);
    CHECK_OK(dc_solver_set(s, param, value));
    CHECK_STATUS(dc_solver_fit(s, bl->ds), want);
    CHECK_MSG(strstr(dc_last_error(), needle) != NULL, "%s = %g: '%s' lacks '%s'", param, value,
              dc_last_error(), needle);
    dc_solver_free(s);
}

static void expect_set_error(const char *param, double value) {
    dc_solver *s = small_solver("edcwrn", 3, 1);
    CHECK_STATUS(dc_solver_set(s, param, value), DC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(dc_last_error(), param) != NULL, "'%s' lacks '%s'", dc_last_error(), param);
    dc_solver_free(s);
}

static void test_bad_inputs(const blobs *bl) {
    expect_fit_error(bl, "augment", 1, DC_ERR_INVALID_ARG, "image shape");
    expect_fit_error(bl, "neighbors_k", (double)bl->n, DC_ERR_INVALID_ARG, "neighbo");
    /* Excluded bounds are refused when set, not first by the fit. */
    expect_set_error("a", 0);
    expect_set_error("b", 0);
    expect_set_error("alpha", 1);
    expect_set_error("beta", 1);
    expect_set_error("lr", 0);
    expect_set_error("pretrain_lr", -1);
    expect_set_error("k", 0);
    expect_fit_error(bl, "k", (double)bl->n + 1, DC_ERR_K_RANGE, "larger");
    expect_fit_error(bl, "checkpoint_every", 5, DC_ERR_INVALID_ARG, "checkpoint");
    dc_solver *h = small_solver("edcwrn", bl->k, 1);
    CHECK_OK(dc_solver_set(h, "hidden2", 0));
    CHECK_OK(dc_solver_set(h, "hidden3", 8));
    CHECK_STATUS(dc_solver_fit(h, bl->ds), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "hidden3 needs hidden2") != NULL);
    dc_solver_free(h);
    expect_set_error("a", -1);
    expect_set_error("b", -0.5);
    expect_set_error("alpha", 0.5);
    expect_set_error("beta", 0.9);
    expect_set_error("lambda", -0.1);
    expect_set_error("lr", -1);
    expect_set_error("batch", 0);
    expect_set_error("neighbors_k", 0);

    /* A mismatching image shape for augmentation is a shape error. */
    dc_solver *s = small_solver("edcwrn", 3, 1);
    CHECK_OK(dc_solver_set(s, "augment", 1));
    dc_solver *k = NULL;
    CHECK_OK(dc_solver_create(&k, "kmeans"));
    dc_model *m = NULL;
    CHECK_STATUS(dc_solver_model(s, &m), DC_ERR_STATE);
    CHECK_STATUS(dc_solver_pretrained(s, &m), DC_ERR_STATE);
    CHECK_STATUS(dc_solver_use_pretrained(k, NULL), DC_ERR_UNSUPPORTED);
    dc_solver_free(k);
    dc_solver_free(s);
    CHECK(dc_model_input_dim(NULL) == 0 && dc_model_method(NULL) == NULL);
    dc_model_free(NULL);
}

/* A diverging fit fails with DC_ERR_NUMERIC naming the iteration and leaves
 * the last checkpoint intact. */
static void test_divergence(const blobs *bl) {
    dc_solver *s = small_solver("edcwrn", bl->k, 1);
    CHECK_OK(dc_solver_set(s, "lr", 1e12));
    const char *ck = tmp_path("diverge.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(s, ck, 50));
    CHECK_STATUS(dc_solver_fit(s, bl->ds), DC_ERR_NUMERIC);
    printf("divergence: %s\n", dc_last_error());
    CHECK_MSG(strstr(dc_last_error(), "iteration") != NULL, "'%s'", dc_last_error());
    CHECK_MSG(strstr(dc_last_error(), "checkpoint of iteration") != NULL, "'%s'", dc_last_error());
    dc_model *m = NULL;
    CHECK_OK(dc_model_load(&m, ck));
    if (m) {
        int32_t *l = calloc((size_t)bl->n, sizeof *l);
        CHECK_OK(dc_model_predict(m, bl->ds, l, bl->n));
        free(l);
    }
    dc_model_free(m);
    dc_solver_free(s);
}

/* Pre-training that diverges is restarted once at half the learning rate;
 * diverging again fails with DC_ERR_NUMERIC naming both rates, epoch and
 * batch and the parameters to change; the solver holds no result and no
 * model. */
static void test_pretrain_divergence(const blobs *bl) {
    for (int adam = 0; adam <= 1; adam++) {
        dc_solver *s = small_solver("edcwrn", bl->k, 1);
        CHECK_OK(dc_solver_set(s, "pretrain_lr", 1e5));
        CHECK_OK(dc_solver_set(s, "pretrain_optimizer", adam));
        CHECK_STATUS(dc_solver_fit(s, bl->ds), DC_ERR_NUMERIC);
        const char *e = dc_last_error();
        CHECK_MSG(strstr(e, "pretrain: ") && strstr(e, " at epoch ") && strstr(e, ", batch "),
                  "'%s'", e);
        CHECK_MSG(strstr(e, "): pre-training diverged twice, at learning rates 100000 and 50000") &&
                      strstr(e, "lower pretrain_lr"), "'%s'", e);
        CHECK_MSG((strstr(e, "pretrain_optimizer=adam") != NULL) == !adam, "'%s'", e);
        int64_t n = 0;
        dc_model *m = NULL;
        CHECK_STATUS(dc_solver_labels(s, NULL, 0, &n), DC_ERR_STATE);
        CHECK_STATUS(dc_solver_model(s, &m), DC_ERR_STATE);
        CHECK_STATUS(dc_solver_pretrained(s, &m), DC_ERR_STATE);
        CHECK(m == NULL);
        dc_solver_free(s);
    }
}

/* gemm_precision = bf16: the same fit with bf16 products reaches the fp32
 * fit's quality on the blobs (not its numbers: the products differ), for
 * each method; where the build or the CPU has none, the fit is refused
 * with DC_ERR_UNSUPPORTED naming the parameter, and auto runs fp32. */
static void test_gemm_bf16(const blobs *bl) {
    const char *methods[] = {"edcwrn", "idec", "dec"};
    for (int i = 0; i < 3; i++) {
        dc_solver *s = small_solver(methods[i], bl->k, 1);
        CHECK_OK(dc_solver_set_str(s, "gemm_precision", "bf16"));
        dc_status st = dc_solver_fit(s, bl->ds);
        if (dci_gemm_bf16_check() != DC_OK) {
            CHECK_STATUS(st, DC_ERR_UNSUPPORTED);
            CHECK_MSG(strstr(dc_last_error(), "gemm_precision"), "%s", dc_last_error());
            dc_solver_free(s);
            /* auto falls back to fp32 */
            s = small_solver(methods[i], bl->k, 1);
            CHECK_OK(dc_solver_set_str(s, "gemm_precision", "auto"));
            CHECK_OK(dc_solver_fit(s, bl->ds));
            double v = -1;
            CHECK_OK(dc_solver_stat(s, "bf16_cluster", &v));
            CHECK(v == 0);
            dc_solver_free(s);
            continue;
        }
        CHECK_OK(st);
        int32_t *l = labels_of(s, bl->n);
        double acc = 0, loss = 0;
        CHECK_OK(dc_metrics_acc(bl->truth, l, bl->n, &acc));
        CHECK_MSG(acc >= 0.95, "%s with bf16 products: ACC %.4f", methods[i], acc);
        CHECK_OK(dc_solver_stat(s, "pretrain_loss", &loss));
        dc_solver *s32 = small_solver(methods[i], bl->k, 1);
        CHECK_OK(dc_solver_set_str(s32, "gemm_precision", "fp32"));
        CHECK_OK(dc_solver_fit(s32, bl->ds));
        double loss32 = 0;
        CHECK_OK(dc_solver_stat(s32, "pretrain_loss", &loss32));
        CHECK_MSG(loss != loss32 && fabs(loss - loss32) < 0.1 * loss32,
                  "%s: pre-training loss %g with bf16, %g with fp32", methods[i], loss, loss32);
        /* auto: the fp32 pre-training (its loss, to the bit), a bf16
         * clustering phase; the statistics say which ran where */
        dc_solver *sa = small_solver(methods[i], bl->k, 1);
        CHECK_OK(dc_solver_set_str(sa, "gemm_precision", "auto"));
        CHECK_OK(dc_solver_fit(sa, bl->ds));
        double lossa = 0, v[6] = {0};
        CHECK_OK(dc_solver_stat(sa, "pretrain_loss", &lossa));
        CHECK_MSG(lossa == loss32, "%s auto: pre-training loss %g, fp32's %g", methods[i], lossa,
                  loss32);
        const dc_solver *ss[3] = {s, s32, sa};
        for (int j = 0; j < 3; j++) {
            CHECK_OK(dc_solver_stat(ss[j], "bf16_pretrain", &v[2 * j]));
            CHECK_OK(dc_solver_stat(ss[j], "bf16_cluster", &v[2 * j + 1]));
        }
        CHECK_MSG(v[0] == 1 && v[1] == 1 && v[2] == 0 && v[3] == 0 && v[4] == 0 && v[5] == 1,
                  "%s: bf16 pre-training / clustering %g %g, fp32 %g %g, auto %g %g", methods[i],
                  v[0], v[1], v[2], v[3], v[4], v[5]);
        free(l);
        dc_solver_free(sa);
        dc_solver_free(s32);
        dc_solver_free(s);
    }
}

int main(void) {
    dci_rng_init(&trng, 2024, DCI_STREAM_TEST);
    scratch_make("dc_edcwrn");

    test_composed_gradient(DCI_DEEP_EDCWRN);
    test_composed_gradient(DCI_DEEP_IDEC);
    test_composed_gradient(DCI_DEEP_DEC);

    blobs bl = make_blobs(300, 12, 3, 7);
    test_blobs("edcwrn", &bl);
    test_blobs("idec", &bl);
    test_blobs("dec", &bl);
    test_save_load(&bl);
    test_reference_neighbours(&bl);
    test_pretrained(&bl);
    test_bad_inputs(&bl);
    test_pretrain_optimizers(&bl);
    test_divergence(&bl);
    test_pretrain_divergence(&bl);
    test_weighting_norm(&bl);
    test_weighting_standardized_update(&bl);
    test_input_scale();
    test_pretrain_budget();
    test_cfg_default_is_the_table();
    test_default_recipe_scalings(&bl);
    test_input_scale_model(&bl);
    test_augment_ranges();
    test_spectral_init(&bl);
    test_presets(&bl);
    test_weighting_after(&bl);
    test_augment_auto(&bl);
    test_pretrain_recovery(&bl);
    test_gemm_bf16(&bl);
    free_blobs(&bl);
    test_separated_blobs();
    test_checkpoint_resume();
    test_resume_continue();

    scratch_remove();
    DC_TEST_END();
}
