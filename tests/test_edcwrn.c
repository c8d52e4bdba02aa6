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

#include "edcwrn_common.h"

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
        /* distinct_clusters counts the labels' values. */
        int seen[64] = {0}, distinct = 0;
        for (int64_t i = 0; i < bl->n; i++) distinct += !seen[lab[i]]++;
        double dc = -1;
        CHECK_OK(dc_solver_stat(s, "distinct_clusters", &dc));
        CHECK(dc == distinct && distinct == bl->k);
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
    /* The autoencoder's layers become the layer parameters (the model
     * records the network it has); one changed afterwards is refused. */
    static const char *const layer[] = {"hidden1", "hidden2", "hidden3", "embed_dim"};
    CHECK_OK(dc_solver_set(b, "hidden1", 77));
    CHECK_OK(dc_solver_set(b, "embed_dim", 9));
    CHECK_OK(dc_solver_use_pretrained(b, back));
    for (int i = 0; i < 4; i++) {
        double va = -1, vb = -2;
        CHECK_OK(dc_solver_get(a, layer[i], &va));
        CHECK_OK(dc_solver_get(b, layer[i], &vb));
        CHECK(va == vb);
    }
    CHECK_OK(dc_solver_set(b, "hidden2", 3));
    CHECK_STATUS(dc_solver_fit(b, bl->ds), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "hidden2 = 3") != NULL);
    double h2 = 0;
    CHECK_OK(dc_solver_get(a, "hidden2", &h2));
    CHECK_OK(dc_solver_set(b, "hidden2", h2));
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

static int g_warn_count;
static char g_warn[512];

static void keep_warning(void *user, dc_log_level level, const char *message) {
    (void)user;
    if (level > DC_LOG_WARN) return;
    g_warn_count++;
    snprintf(g_warn, sizeof g_warn, "%s", message);
}

/* Three distinct points, k = 6: the final labels cannot fill every cluster;
 * the statistic says how many they fill and a warning says so (k-means
 * warns alike), instead of a silent partition into fewer clusters. */
static void test_fewer_distinct_clusters(const blobs *bl) {
    const int64_t n = 60, d = bl->d;
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int64_t i = 0; i < n; i++)
        memcpy(x + i * d, dc_dataset_data(bl->ds) + (i % 3) * d, sizeof(float) * (size_t)d);
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, n, d, DC_COPY));
    free(x);
    dc_solver *s = small_solver("idec", 6, 1);
    CHECK_OK(dc_solver_set_str(s, "init", "kmeans"));
    CHECK_OK(dc_solver_set(s, "max_iter", 20));
    g_warn_count = 0;
    dc_set_log(keep_warning, NULL, DC_LOG_WARN);
    CHECK_OK(dc_solver_fit(s, ds));
    dc_set_log(NULL, NULL, DC_LOG_ERROR);
    int32_t *lab = labels_of(s, n);
    int seen[6] = {0}, distinct = 0;
    for (int64_t i = 0; i < n; i++) distinct += !seen[lab[i]]++;
    double dcl = -1;
    CHECK_OK(dc_solver_stat(s, "distinct_clusters", &dcl));
    CHECK(distinct <= 3 && dcl == distinct);
    CHECK_MSG(strstr(g_warn, "distinct clusters found, fewer than k = 6") != NULL, "'%s' (%d)",
              g_warn, g_warn_count);
    /* A failure the fit recovers from (spectral centres of identical points
     * have no scale: k-means instead) leaves the caller's last error. */
    dc_dataset *same = NULL;
    float *rows = malloc(sizeof(float) * (size_t)(30 * d));
    for (int64_t i = 0; i < 30; i++) memcpy(rows + i * d, dc_dataset_data(ds), sizeof(float) * (size_t)d);
    CHECK_OK(dc_dataset_create(&same, rows, 30, d, DC_COPY));
    free(rows);
    CHECK_OK(dc_solver_set_str(s, "init", "spectral"));
    CHECK_OK(dc_solver_set(s, "k", 2));
    CHECK_STATUS(dc_solver_set(s, "no_such_parameter", 1), DC_ERR_UNKNOWN_NAME);
    char before[1024];
    snprintf(before, sizeof before, "%s", dc_last_error());
    CHECK_OK(dc_solver_fit(s, same));
    dc_dataset_free(same);
    CHECK_MSG(strcmp(before, dc_last_error()) == 0, "'%s'", dc_last_error());
    free(lab);
    dc_solver_free(s);
    dc_dataset_free(ds);
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
    test_divergence(&bl);
    test_pretrain_divergence(&bl);
    test_fewer_distinct_clusters(&bl);
    free_blobs(&bl);

    scratch_remove();
    DC_TEST_END();
}
