/* The "kmeans" method: plain k-means on the raw features (baseline). */
#include <string.h>

#include "cluster/kmeans.h"
#include "cluster/assign.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "deepclust/dataset.h"
#include "methods/method.h"
#ifdef DCI_HAVE_MPI
#include "mpi/comm.h"
#include "mpi/kmeans_mpi.h"
#endif

#define KMEANS_PARAMS(X, C)                                                                   \
    X(C, k, INT, 0, 1, 1e9, DCI_CLOSED, NULL,                                                 \
      "number of clusters (required: the default 0 means not set)")                           \
    X(C, seed, INT, 0, 0, 9007199254740992.0, DCI_CLOSED, NULL,                               \
      "random seed of the k-means++ seeding")                                                 \
    X(C, n_init, INT, 10, 1, 10000, DCI_CLOSED, NULL,                                         \
      "restarts; the run with the lowest inertia is kept")                                    \
    X(C, max_iter, INT, 300, 1, 1e7, DCI_CLOSED, NULL, "Lloyd iterations per restart")        \
    X(C, tol, REAL, 1e-4, 0, 1, DCI_CLOSED, NULL,                                             \
      "stop when the squared centre shift is at most tol times the mean feature variance")

typedef struct km_cfg {
    KMEANS_PARAMS(DCI_PARAM_MEMBER, ~)
} km_cfg;

static const dci_param_def params[] = {KMEANS_PARAMS(DCI_PARAM_ENTRY, km_cfg)};

/* Kept after fit so that predict can assign new rows. */
typedef struct km_state {
    float *centers;
    int64_t k, d;
} km_state;

static void free_state(void *p) {
    km_state *st = p;
    if (!st) return;
    dci_free(st->centers);
    dci_free(st);
}

static dc_status fit(dc_solver *s, const dc_dataset *ds) {
#ifdef DCI_HAVE_MPI
    if (dci_mpi_active()) return dci_kmeans_fit_mpi(s, ds); /* lib/mpi/kmeans_mpi.c */
#endif
    const km_cfg *c = s->cfg;
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds), k = c->k;
    DCI_TRY(dci_check_k(k, n, 1, "kmeans"));
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.n_init = c->n_init;
    o.max_iter = c->max_iter;
    o.tol = c->tol;
    o.seed = (uint64_t)c->seed;
    o.progress = s->progress;
    o.progress_user = s->progress_user;

    free_state(s->state);
    s->state = NULL;
    km_state *st = DCI_NEW_ZEROS(km_state, 1, "kmeans state");
    int32_t *labels = DCI_NEW_ARRAY(int32_t, n, "kmeans labels");
    float *centers = DCI_NEW_ARRAY(float, k * d, "kmeans centres");
    if (!st || !labels || !centers) {
        dci_free(st);
        dci_free(labels);
        dci_free(centers);
        return DC_ERR_NOMEM;
    }
    double inertia = 0.0;
    int64_t iterations = 0;
    const float *x = dc_dataset_data(ds);
    dc_status rc = dci_kmeans(x, n, d, k, &o, labels, centers, &inertia, &iterations);
    /* The labels are those predict gives the training rows. Lloyd's differ
     * from them only where centres tie: above all when there are fewer
     * distinct points than k, where empty clusters took copies of a point
     * and equal centres remain (predict picks the lowest index). */
    if (rc == DC_OK) rc = dci_kmeans_assign(x, n, d, centers, k, labels, &inertia);
    int64_t distinct = 0;
    if (rc == DC_OK) {
        distinct = dci_count_labels(labels, n, k);
        if (distinct < 0) rc = DC_ERR_NOMEM;
        else if (distinct < k)
            dci_log(DC_LOG_WARN, "kmeans: %lld distinct clusters found, fewer than k = %lld "
                                 "(the data have fewer distinct points than k?)",
                    (long long)distinct, (long long)k);
    }
    if (rc == DC_OK) rc = dci_solver_put_output_copy(s, "centers", centers, k, d);
    if (rc != DC_OK) {
        dci_free(st);
        dci_free(labels);
        dci_free(centers);
        return rc;
    }
    dci_solver_put_labels(s, labels, n);
    *st = (km_state){centers, k, d};
    s->state = st;
    DCI_TRY(dci_solver_put_stat(s, "inertia", inertia));
    DCI_TRY(dci_solver_put_stat(s, "iterations", (double)iterations));
    DCI_TRY(dci_solver_put_stat(s, "distinct_clusters", (double)distinct));
    return dci_solver_put_stat(s, "n_init", (double)o.n_init);
}

static dc_status predict(dc_solver *s, const dc_dataset *ds, int32_t *dst) {
    const km_state *st = s->state;
    if (!st) return dci_fail(DC_ERR_STATE, "kmeans: predict needs a fitted solver");
    const int64_t d = dc_dataset_cols(ds);
    if (d != st->d)
        return dci_fail(DC_ERR_SHAPE, "kmeans predict: data have %lld columns, the model was fitted on %lld",
                        (long long)d, (long long)st->d);
    return dci_kmeans_assign(dc_dataset_data(ds), dc_dataset_rows(ds), d, st->centers, st->k, dst, NULL);
}

dc_status dc_assign_nearest(const float *x, int64_t n, int64_t d, const float *centers,
                            int64_t k, int32_t *labels) {
    return dci_kmeans_assign(x, n, d, centers, k, labels, NULL);
}

static const dci_output_def outputs[] = {{"centers", NULL}, {NULL, NULL}};

const dci_method dci_method_kmeans = {
    .name = "kmeans",
    .params = params,
    .n_params = (int)(sizeof params / sizeof params[0]),
    .cfg_size = sizeof(km_cfg),
    .outputs = outputs,
    .fit = fit,
    .predict = predict,
    .free_state = free_state,
};
