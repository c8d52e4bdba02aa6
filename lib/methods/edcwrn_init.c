/* The clustering phase's initial centres (docs/methods.md "EDCWRN"): k-means on
 * the pre-trained embedding z = 2 enc(x), as DEC, IDEC and the EDCWRN
 * authors, or (the default) the means of z over the clusters that spectral
 * clustering finds in z -- the kNN-graph embedding of docs/methods.md "SCDBAS and NJW" followed by
 * k-means, i.e. the NJW method run on the embedding. k-means on z splits and
 * merges classes whose embedded shape is not a ball; the graph follows the
 * manifold the autoencoder learned (the idea of N2D, McConville et al. 2020,
 * with NJW in place of UMAP + GMM). The spectral clusters need not be
 * convex in z, so the nearest of their means can put a point in another
 * cluster (10k digits: 0.80 ACC by the means against 0.97 by the clusters);
 * the first targets P are therefore the clusters themselves (one-hot), and
 * the first T iterations pull each point towards its cluster's centre
 * before the usual P from Q takes over. */
#include "methods/edcwrn.h"

#include <string.h>

#include "cluster/kmeans.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "graph/knn.h"
#include "graph/spectral.h"

static dci_kmeans_opts kmeans_opts(const dci_deep_train *t, dc_progress_fn progress, void *user) {
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.n_init = t->cfg.n_init;
    o.seed = t->cfg.seed;
    o.progress = progress;
    o.progress_user = user;
    return o;
}

/* Centres = means of z over spectral-clustering labels, kept in
 * t->init_labels for the first targets (dci_deep_update). DC_ERR_NOMEM as
 * such; any other failure of the graph or eigensolver is returned for the
 * caller to fall back on k-means. */
static dc_status spectral_centers(dci_deep_train *t, dc_progress_fn progress, void *user) {
    const int64_t n = t->n, M = t->M, K = t->K;
    dci_spectral_opts so;
    memset(&so, 0, sizeof so);
    so.mode = DCI_SPECTRAL_SPARSE;
    so.eigensolver = DCI_EIGEN_AUTO;
    so.seed = t->cfg.seed;
    so.pca_dims = -1;
    so.disconnected = DCI_DISCONNECTED_REGULARIZE;
    float *Y = DCI_NEW_ARRAY(float, n * K, "spectral initialisation");
    int32_t *labels = DCI_NEW_ARRAY(int32_t, n, "spectral initialisation");
    double *sum = DCI_NEW_ZEROS(double, K * M, "spectral initialisation");
    int64_t *count = DCI_NEW_ZEROS(int64_t, K, "spectral initialisation");
    float *yc = DCI_NEW_ARRAY(float, K * K, "spectral initialisation");
    dc_status st = Y && labels && sum && count && yc ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) st = dci_spectral_embedding(t->zall, n, M, K, &so, Y, NULL);
    const dci_kmeans_opts o = kmeans_opts(t, progress, user);
    if (st == DC_OK) st = dci_kmeans(Y, n, K, K, &o, labels, yc, NULL, NULL);
    if (st == DC_OK) {
        for (int64_t i = 0; i < n; i++) {
            count[labels[i]]++;
            for (int64_t m = 0; m < M; m++) sum[labels[i] * M + m] += t->zall[i * M + m];
        }
        for (int64_t j = 0; j < K && st == DC_OK; j++)
            if (count[j] == 0) st = dci_fail(DC_ERR_DEGENERATE, "spectral cluster %lld is empty",
                                             (long long)j);
        for (int64_t j = 0; j < K * M && st == DC_OK; j++)
            t->m->centers[j] = (float)(sum[j] / (double)count[j / M]);
    }
    dci_free(Y);
    if (st == DC_OK) {
        dci_free(t->init_labels);
        t->init_labels = labels;
    } else {
        dci_free(labels);
    }
    dci_free(sum);
    dci_free(count);
    dci_free(yc);
    return st;
}

dc_status dci_deep_init_centers(dci_deep_train *t, const float *x, dc_progress_fn progress,
                                void *user) {
    DCI_TRY(dci_deep_encode_all(t, x));
    dci_model_combine(t->m, t->e, t->e_nb, NULL, t->n, t->zall);
    DCI_TRY(dci_embedding_check(t->zall, t->n, t->M));
    /* The graph needs two clusters and a neighbour per point. */
    if (t->cfg.init == DCI_INIT_SPECTRAL && t->K >= 2 && t->n > t->K) {
        if (t->kn > 0) {
            /* The embedding the first target update assigns: with the
             * neighbour branch over the global neighbours of z, not 2 enc(x)
             * (10k digits: spectral clusters 0.97 ACC on it, 0.83 on 2 enc(x),
             * whose centres the neighbour-max embedding is offset from). */
            DCI_TRY(dci_deep_neighbours(t));
            dci_model_combine(t->m, t->e, t->e_nb, t->nbr, t->n, t->zall);
            DCI_TRY(dci_embedding_check(t->zall, t->n, t->M));
        }
        const dc_status st = spectral_centers(t, progress, user);
        if (st == DC_OK || st == DC_ERR_NOMEM) return st;
        dci_log(DC_LOG_WARN, "spectral initialisation failed (%s); the centres come from k-means",
                dc_last_error());
    }
    const dci_kmeans_opts o = kmeans_opts(t, progress, user);
    return dci_kmeans(t->zall, t->n, t->M, t->K, &o, NULL, t->m->centers, NULL, NULL);
}
