/* Helpers of the deep-method tests (test_edcwrn.c, test_edcwrn_recipe.c):
 * separated blobs, small solvers, their outputs. */
#ifndef DC_TEST_EDCWRN_COMMON_H
#define DC_TEST_EDCWRN_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"

static dci_rng trng;


static inline void fill_uniform(float *x, int64_t n, double lo, double hi) {
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

static inline blobs make_blobs(int64_t n, int64_t d, int64_t k, uint64_t seed) {
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

static inline void free_blobs(blobs *b) {
    dc_dataset_free(b->ds);
    free(b->truth);
}

/* Small networks and short phases for every solver in this file, with
 * plain SGD pre-training on the data as given (the recipe these tests were
 * written for; tests of the default recipe set their own parameters). */
static inline void set_small(dc_solver *s, int64_t k, int64_t seed) {
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

static inline dc_solver *small_solver(const char *method, int64_t k, int64_t seed) {
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, method));
    if (!s) abort();
    set_small(s, k, seed);
    return s;
}

static inline int32_t *labels_of(const dc_solver *s, int64_t n) {
    int32_t *l = calloc((size_t)n, sizeof *l);
    CHECK_OK(dc_solver_labels(s, l, n, NULL));
    return l;
}

static inline float *output_of(const dc_solver *s, const char *name, int64_t *rows, int64_t *cols) {
    int64_t r = 0, c = 0;
    CHECK_OK(dc_solver_output(s, name, NULL, 0, &r, &c));
    float *o = calloc((size_t)(r * c > 0 ? r * c : 1), sizeof *o);
    CHECK_OK(dc_solver_output(s, name, o, r * c, NULL, NULL));
    if (rows) *rows = r;
    if (cols) *cols = c;
    return o;
}

static inline double param_of(const dc_solver *s, const char *name) {
    double v = NAN;
    CHECK_OK(dc_solver_get(s, name, &v));
    return v;
}

static inline double stat_of(const dc_solver *s, const char *name) {
    double v = NAN;
    CHECK_OK(dc_solver_stat(s, name, &v));
    return v;
}

#endif
