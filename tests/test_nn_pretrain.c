/* Autoencoder pre-training (nn/pretrain.c): the learning-rate schedule, that
 * the loss falls, progress and cancellation, determinism for a seed, and the
 * divergence checks, the phase every deep method starts with. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "nn/autoencoder.h"
#include "nn/pretrain.h"
#include "nn_common.h"

static void test_lr_schedule(void) {
    dci_pretrain_opts o = dci_pretrain_opts_default();
    o.lr = 2.0f;
    CHECK(dci_pretrain_lr_at(&o, 7, 10) == 2.0);
    o.cosine = 1;
    CHECK_NEAR(dci_pretrain_lr_at(&o, 0, 10), 2.0, 1e-12);
    CHECK_NEAR(dci_pretrain_lr_at(&o, 5, 10), 1.0, 1e-12);
    CHECK_NEAR(dci_pretrain_lr_at(&o, 10, 10), 0.0, 1e-12);
    CHECK(dci_pretrain_lr_at(&o, 9, 10) > 0.0 && dci_pretrain_lr_at(&o, 9, 10) < 0.1);
    /* Warm-up: a linear ramp to the schedule's value, then the schedule. */
    o.cosine = 0;
    o.warmup = 4;
    CHECK_NEAR(dci_pretrain_lr_at(&o, 0, 10), 2.0 / 5, 1e-12);
    CHECK_NEAR(dci_pretrain_lr_at(&o, 3, 10), 2.0 * 4 / 5, 1e-12);
    CHECK(dci_pretrain_lr_at(&o, 4, 10) == 2.0);
    o.cosine = 1;
    CHECK_NEAR(dci_pretrain_lr_at(&o, 2, 10), 0.5 * 2.0 * (1 + cos(M_PI * 0.2)) * 3 / 5, 1e-12);
    /* The budget: steps when given, else epochs x batches per epoch. */
    o.batch = 4;
    o.epochs = 3;
    CHECK(dci_pretrain_total_steps(&o, 10) == 9);
    CHECK(dci_pretrain_total_steps(&o, 2) == 3);
    o.steps = 5;
    CHECK(dci_pretrain_total_steps(&o, 10) == 5);
}

/* ---- pre-training ---- */

typedef struct prog_log {
    int calls, cancel_at;
    long long last_done;
    double first, last;
    int ok;
} prog_log;

static int on_progress(void *user, const char *phase, long long done, long long total, double v) {
    prog_log *p = user;
    p->ok &= !strcmp(phase, "pretrain") && done == p->calls + 1 && total > 0 && isfinite(v);
    if (!p->calls) p->first = v;
    p->calls++;
    p->last = v;
    p->last_done = done;
    return p->cancel_at && done >= p->cancel_at;
}

/* n points on a 2-D subspace of R^16 (plus a little noise), values in ~[0, 1]. */
static float *synthetic(int64_t n, int64_t d) {
    float *x = malloc((size_t)(n * d) * sizeof(float));
    float basis[2][64];
    fill_uniform(basis[0], d, 0, 0.5);
    fill_uniform(basis[1], d, 0, 0.5);
    for (int64_t i = 0; i < n; i++) {
        double a = dci_rng_uniform(&trng), b = dci_rng_uniform(&trng);
        for (int64_t j = 0; j < d; j++)
            x[i * d + j] = (float)(a * basis[0][j] + b * basis[1][j] + 0.01 * dci_rng_normal(&trng));
    }
    return x;
}

static void test_pretrain(void) {
    const int64_t n = 300, d = 16;
    float *x = synthetic(n, d);
    const int64_t dims[4] = {d, 32, 16, 4};
    dci_autoencoder ae, ae2;
    CHECK_OK(dci_autoencoder_create(&ae, dims, 4, 1, 32));
    CHECK_OK(dci_autoencoder_create(&ae2, dims, 4, 1, 32));
    double initial = dci_autoencoder_mse(&ae, x, n), final = 0, final2 = 0;
    dci_pretrain_opts o = dci_pretrain_opts_default();
    CHECK(o.epochs == 200 && o.batch == 256 && o.lr == 1.0f && o.momentum == 0.9f);
    o.epochs = 40;
    o.batch = 32;
    o.lr = 0.1f;
    o.seed = 5;
    prog_log pl = {0, 0, 0, 0, 0, 1};
    o.progress = on_progress;
    o.progress_user = &pl;
    CHECK_OK(dci_pretrain(&ae, x, n, d, &o, &final));
    double after = dci_autoencoder_mse(&ae, x, n);
    CHECK_MSG(final < 0.5 * initial && after < 0.5 * initial,
              "loss %g -> %g (epoch mean %g)", initial, after, final);
    CHECK(pl.ok && pl.calls == 40 && pl.last == final && pl.first > final);
    /* A budget in steps that ends inside an epoch (10 batches per epoch):
     * 25 steps = 2 full epochs and a half one, each reported. */
    dci_autoencoder ae_s;
    CHECK_OK(dci_autoencoder_create(&ae_s, dims, 4, 1, 32));
    prog_log ps = {0, 0, 0, 0, 0, 1};
    o.progress_user = &ps;
    o.steps = 25;
    CHECK_OK(dci_pretrain(&ae_s, x, n, d, &o, &final2));
    CHECK(ps.ok && ps.calls == 3 && ps.last == final2 && isfinite(final2));
    o.steps = 0;
    o.progress_user = &pl;
    dci_autoencoder_free(&ae_s);
    /* Deterministic for a seed. */
    o.progress = NULL;
    CHECK_OK(dci_pretrain(&ae2, x, n, d, &o, &final2));
    CHECK(final == final2);
    CHECK(!memcmp(dci_mlp_params(ae.enc), dci_mlp_params(ae2.enc),
                  (size_t)dci_mlp_param_count(ae.enc) * sizeof(float)));

    /* Argument errors. */
    CHECK_STATUS(dci_pretrain(&ae, x, n, d - 1, &o, NULL), DC_ERR_SHAPE);
    o.batch = 33;
    CHECK_STATUS(dci_pretrain(&ae, x, n, d, &o, NULL), DC_ERR_INVALID_ARG);
    o.batch = 32;
    dci_image_shape wrong = {4, 3, 1};
    o.augment = &wrong;
    CHECK_STATUS(dci_pretrain(&ae, x, n, d, &o, NULL), DC_ERR_SHAPE);
    o.augment = NULL;
    x[17] = NAN;
    CHECK_STATUS(dci_pretrain(&ae, x, n, d, &o, NULL), DC_ERR_NONFINITE);
    x[17] = 0.1f;

    /* Cancel from the callback after 3 epochs. */
    prog_log cancel = {0, 3, 0, 0, 0, 1};
    o.progress = on_progress;
    o.progress_user = &cancel;
    CHECK_STATUS(dci_pretrain(&ae, x, n, d, &o, &final), DC_ERR_CANCELLED);
    CHECK(cancel.calls == 3 && isnan(final));

    /* A learning rate far too high: NaN/Inf reported with epoch and batch. */
    o.progress = NULL;
    o.lr = 1e6f;
    o.momentum = 0.0f;
    CHECK_STATUS(dci_pretrain(&ae2, x, n, d, &o, &final), DC_ERR_NUMERIC);
    CHECK(strstr(dc_last_error(), "epoch") && strstr(dc_last_error(), "batch"));

    /* With augmentation of 4×4 images: still learns. */
    dci_autoencoder ae3;
    CHECK_OK(dci_autoencoder_create(&ae3, dims, 4, 2, 32));
    double init3 = dci_autoencoder_mse(&ae3, x, n);
    dci_image_shape img = {4, 4, 1};
    o = dci_pretrain_opts_default();
    o.epochs = 40;
    o.batch = 32;
    o.lr = 0.1f;
    o.augment = &img;
    CHECK_OK(dci_pretrain(&ae3, x, n, d, &o, &final));
    CHECK_MSG(final < 0.5 * init3, "augmented: %g -> %g", init3, final);

    /* Adam with a cosine schedule learns too, and better than SGD at the
     * same number of epochs on this problem. */
    dci_autoencoder ae4;
    CHECK_OK(dci_autoencoder_create(&ae4, dims, 4, 1, 32));
    o = dci_pretrain_opts_default();
    o.epochs = 40;
    o.batch = 32;
    o.lr = 0.01f;
    o.adam = 1;
    o.cosine = 1;
    o.seed = 5;
    double final4 = 0;
    CHECK_OK(dci_pretrain(&ae4, x, n, d, &o, &final4));
    CHECK_MSG(final4 < 0.5 * initial && final4 < final2, "adam: %g -> %g (sgd %g)", initial,
              final4, final2);
    dci_autoencoder_free(&ae4);

    dci_autoencoder_free(&ae);
    dci_autoencoder_free(&ae2);
    dci_autoencoder_free(&ae3);
    free(x);
}

/* The divergence checks of pre-training beyond a non-finite loss: an
 * embedding entry above embed_limit, and NaN/Inf weights left by the last
 * step (which no later forward would see). */
static void test_pretrain_divergence(void) {
    const int64_t n = 64, d = 16;
    float *x = synthetic(n, d);
    const int64_t dims[4] = {d, 32, 16, 4};
    dci_autoencoder a, b;
    CHECK_OK(dci_autoencoder_create(&a, dims, 4, 3, 32));
    CHECK_OK(dci_autoencoder_create(&b, dims, 4, 3, 32));
    dci_pretrain_opts o = dci_pretrain_opts_default();
    o.epochs = 3;
    o.batch = 32;
    o.lr = 0.05f;
    /* A benign run: the limit only looks, the weights equal those without it. */
    CHECK_OK(dci_pretrain(&a, x, n, d, &o, NULL));
    o.embed_limit = 1e15f;
    CHECK_OK(dci_pretrain(&b, x, n, d, &o, NULL));
    CHECK(!memcmp(dci_mlp_params(a.enc), dci_mlp_params(b.enc),
                  (size_t)dci_mlp_param_count(a.enc) * sizeof(float)));
    /* The initial embedding has entries of order 0.1: a limit of 1e-6 is
     * exceeded by the first batch. */
    o.embed_limit = 1e-6f;
    CHECK_STATUS(dci_pretrain(&a, x, n, d, &o, NULL), DC_ERR_NUMERIC);
    CHECK_MSG(strstr(dc_last_error(), "embedding diverged at epoch 1, batch 1") != NULL, "'%s'",
              dc_last_error());
    /* One epoch of one batch of data around 1e10 with lr 1e30: the loss of
     * that batch was finite (about 1e19), the step overflows the weights. */
    for (int64_t i = 0; i < 32 * d; i++) x[i] *= 1e10f;
    o = dci_pretrain_opts_default();
    o.epochs = 1;
    o.batch = 32;
    o.lr = 1e30f;
    o.momentum = 0.0f;
    CHECK_STATUS(dci_pretrain(&b, x, 32, d, &o, NULL), DC_ERR_NUMERIC);
    CHECK_MSG(strstr(dc_last_error(), "last step (epoch 1, batch 1") != NULL, "'%s'",
              dc_last_error());
    dci_autoencoder_free(&a);
    dci_autoencoder_free(&b);
    free(x);
}

static const dct_case cases[] = {
    DCT_CASE(lr_schedule), DCT_CASE(pretrain), DCT_CASE(pretrain_divergence),
};

int main(int argc, char **argv) { return nn_main(cases, DCT_COUNT(cases), argc, argv); }
