/* NJW spectral clustering (Ng, Jordan & Weiss 2001) on the SCDBAS affinity:
 * the spectral embedding Y (unit rows) followed by k-means on Y. The baseline
 * SCDBAS is compared with (docs/methods.md "SCDBAS and NJW"), sharing every step but the last. */
#include "cluster/kmeans.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "methods/spectral_common.h"
#ifdef DCI_HAVE_MPI
#include "mpi/comm.h"
#include "mpi/spectral_mpi.h"
#endif

typedef struct njw_cfg {
    dci_spectral_cfg spectral;
} njw_cfg;

static const dci_param_def params[] = {DCI_SPECTRAL_PARAMS(DCI_SPECTRAL_ENTRY, njw_cfg)};

static dc_status fit(dc_solver *s, const dc_dataset *ds) {
#ifdef DCI_HAVE_MPI
    if (dci_mpi_active()) return dci_njw_fit_mpi(s, ds); /* lib/mpi/scdbas_mpi.c */
#endif
    const dci_spectral_cfg *c = &((const njw_cfg *)s->cfg)->spectral;
    const float *Y;
    int64_t n, k;
    DCI_TRY(dci_spectral_fit_embedding(s, ds, "njw", c, &Y, &n, &k));

    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.n_init = c->n_init;
    o.seed = (uint64_t)c->seed;
    o.progress = s->progress;
    o.progress_user = s->progress_user;
    int32_t *labels = DCI_NEW_ARRAY(int32_t, n, "njw labels");
    float *centers = DCI_NEW_ARRAY(float, k * k, "njw centres");
    double inertia = 0.0, t0 = dci_now();
    int64_t iterations = 0;
    dc_status rc = labels && centers ? DC_OK : DC_ERR_NOMEM;
    if (rc == DC_OK) rc = dci_kmeans(Y, n, k, k, &o, labels, centers, &inertia, &iterations);
    if (rc == DC_OK) {
        rc = dci_solver_put_output(s, "centers", centers, k, k);
        centers = NULL; /* owned by the solver now, even on failure */
    }
    if (rc != DC_OK) {
        dci_free(labels);
        dci_free(centers);
        return rc;
    }
    dci_solver_put_labels(s, labels, n);
    DCI_TRY(dci_solver_put_stat(s, "seconds_assign", dci_now() - t0));
    DCI_TRY(dci_solver_put_stat(s, "inertia", inertia));
    return dci_solver_put_stat(s, "iterations", (double)iterations);
}

static const dci_output_def outputs[] = {{"embedding", NULL}, {"centers", NULL}, {NULL, NULL}};

const dci_method dci_method_njw = {
    .name = "njw",
    .params = params,
    .n_params = (int)(sizeof params / sizeof params[0]),
    .cfg_size = sizeof(njw_cfg),
    .outputs = outputs,
    .fit = fit,
};
