/* EDCWRN / IDEC / DEC (methods/edcwrn.c): a pre-training that diverges is
 * restarted once at half the rate, then fails with DC_ERR_NUMERIC naming
 * pretrain_lr; "diverges" includes a loss that explodes but stays finite.
 * The recipe's other tests: test_edcwrn_recipe.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "edcwrn_common.h"

/* The divergence warnings (others, such as empty clusters after a barely
 * trained network, are not what these tests count). */
typedef struct log_capture {
    int warnings;
    char last[512];
} log_capture;

static void capture_log(void *user, dc_log_level level, const char *message) {
    log_capture *c = user;
    if (level != DC_LOG_WARN) return;
    if (!strstr(message, "diverged")) return;
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

/* A rate far too large with the default input scale and Adam: the loss
 * explodes yet stays finite (1e14), and DEC, whose clustering phase never
 * looks at reconstructions, returned garbage labels without an error. Now
 * the epoch loss against an all-zero output's is a divergence: restarted,
 * then DC_ERR_NUMERIC naming pretrain_lr. The same data at an ordinary
 * rate stay below the limit. */
static void test_pretrain_finite_divergence(const blobs *bl) {
    for (int huge = 1; huge >= 0; huge--) {
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, "dec"));
        const char *names[] = {"k", "hidden1", "hidden2", "hidden3", "embed_dim",
                               "pretrain_steps", "max_iter", "update_interval", "pretrain_lr",
                               "seed"};
        const double vals[] = {(double)bl->k, 16, 0, 0, 2, 100, 20, 10, huge ? 1e3 : 1e-3, 0};
        for (int i = 0; i < 10; i++) CHECK_OK(dc_solver_set(s, names[i], vals[i]));
        log_capture cap = {0, ""};
        dc_set_log(capture_log, &cap, DC_LOG_WARN);
        const dc_status st = dc_solver_fit(s, bl->ds);
        dc_set_log(NULL, NULL, DC_LOG_ERROR);
        if (huge) {
            CHECK_STATUS(st, DC_ERR_NUMERIC);
            CHECK_MSG(strstr(dc_last_error(), "reconstruction loss diverged") &&
                          strstr(dc_last_error(), "lower pretrain_lr"), "%s", dc_last_error());
            CHECK(cap.warnings == 1);
        } else {
            CHECK_OK(st);
        }
        dc_solver_free(s);
    }
}

int main(void) {
    dci_rng_init(&trng, 2024, DCI_STREAM_TEST);
    blobs bl = make_blobs(300, 12, 3, 7);
    test_pretrain_recovery(&bl);
    test_pretrain_finite_divergence(&bl);
    free_blobs(&bl);
    DC_TEST_END();
}
