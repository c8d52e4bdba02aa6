#include "methods/spectral_common.h"

#include <math.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "graph/spectral.h"

/* k = 1 needs no graph: the top eigenvector of S has the sign of its
 * degrees on each component, so its normalised rows are all 1 (isolated
 * points too, by the convention of graph/spectral.h), and every point is in
 * the one cluster whichever graph the parameters would build. */
static dc_status one_cluster(dc_solver *s, int64_t n, const float **Y, int64_t *n_out,
                             int64_t *k_out) {
    float *emb = DCI_NEW_ARRAY(float, n, "spectral embedding");
    if (!emb) return DC_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) emb[i] = 1.0f;
    DCI_TRY(dci_solver_put_output(s, "embedding", emb, n, 1));
    dci_log(DC_LOG_INFO, "spectral embedding: k = 1, one cluster: no graph is built");
    *Y = emb;
    *n_out = n;
    *k_out = 1;
    return DC_OK;
}

dc_status dci_spectral_put_stats(dc_solver *s, const dci_spectral_stats *st) {
    DCI_TRY(dci_solver_put_stat(s, "seconds_pca", st->t_pca));
    DCI_TRY(dci_solver_put_stat(s, "seconds_knn", st->t_knn));
    DCI_TRY(dci_solver_put_stat(s, "seconds_affinity", st->t_affinity));
    DCI_TRY(dci_solver_put_stat(s, "seconds_eigen", st->t_eigen));
    DCI_TRY(dci_solver_put_stat(s, "p", (double)st->p));
    DCI_TRY(dci_solver_put_stat(s, "m", (double)st->m));
    DCI_TRY(dci_solver_put_stat(s, "p_sigma", (double)st->p_sigma));
    DCI_TRY(dci_solver_put_stat(s, "pca_dims", (double)st->pca_dims));
    DCI_TRY(dci_solver_put_stat(s, "components", (double)st->components));
    DCI_TRY(dci_solver_put_stat(s, "dense", (double)st->dense));
    return dci_solver_put_stat(s, "tau", st->tau);
}

dc_status dci_spectral_fit_embedding(dc_solver *s, const dc_dataset *ds, const char *method,
                                     const dci_spectral_cfg *c, const float **Y, int64_t *n_out,
                                     int64_t *k_out) {
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds), k = c->k;
    const float *x = dc_dataset_data(ds);
    DCI_TRY(dci_check_k(k, n, 1, method));
    int64_t m = c->m;
    if (m == 0) m = n - 1 < DCI_SPECTRAL_DEFAULT_M ? n - 1 : DCI_SPECTRAL_DEFAULT_M;
    else if (m >= n)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "%s: m = %lld neighbours, need m < n = %lld (0 = min(10, n - 1))", method,
                        (long long)m, (long long)n);
    DCI_TRY(dci_check_finite(x, n, d, method));
    const int64_t pca = c->pca;
    if (pca > d)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "%s: pca = %lld components, need at most d = %lld (0 = auto, -1 = off)",
                        method, (long long)pca, (long long)d);

    if (k == 1) return one_cluster(s, n, Y, n_out, k_out);
    /* k clusters of fewer distinct points must split identical points,
     * which the labels would not show (k-means and the deep methods warn
     * of the empty clusters they get instead). */
    const int64_t distinct = dci_count_distinct_rows(x, n, d);
    if (distinct < 0) return DC_ERR_NOMEM;
    if (distinct < k)
        dci_log(DC_LOG_WARN, "%s: the data have %lld distinct points, fewer than k = %lld: "
                "identical points fall into different clusters", method, (long long)distinct,
                (long long)k);

    dci_spectral_opts o = {
        .mode = c->affinity,
        .m = m,
        .eigensolver = c->eigensolver,
        .seed = (uint64_t)c->seed,
        .pca_dims = pca,
        .sigma_sample = c->sigma_sample,
        .disconnected = c->disconnected,
    };
    dci_spectral_stats st = {0};
    DCI_TRY(dci_solver_progress(s, "embedding", 0, 1, NAN));
    float *emb = DCI_NEW_ARRAY(float, n * k, "spectral embedding");
    if (!emb) return DC_ERR_NOMEM;
    dc_status rc = dci_spectral_embedding(x, n, d, k, &o, emb, &st);
    if (rc != DC_OK) {
        dci_free(emb);
        return dci_context(rc, "%s", method);
    }
    DCI_TRY(dci_solver_put_output(s, "embedding", emb, n, k));
    DCI_TRY(dci_spectral_put_stats(s, &st));
    DCI_TRY(dci_solver_progress(s, "embedding", 1, 1, NAN));
    *Y = emb;
    *n_out = n;
    *k_out = k;
    return DC_OK;
}
