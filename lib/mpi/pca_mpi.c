/* Distributed PCA (pca_mpi.h): the per-feature sums and the covariance of
 * every rank's rows, allreduced; then the same eigenproblem on every rank. */
#include "mpi/pca_mpi.h"

#include <cblas.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/eigen.h"
#include "mpi/comm.h"

#define PCA_TILE 1024 /* rows per covariance block */

dc_status dci_pca_mpi(const float *x, int64_t nl, int64_t d, int64_t n, int64_t q_max,
                      double var_keep, dci_pca *p) {
    memset(p, 0, sizeof *p);
    double *acc = DCI_NEW_ZEROS(double, d * d + d + 1, "PCA covariance");
    float *t = DCI_NEW_ARRAY(float, PCA_TILE * d, "PCA block");
    float *cf = DCI_NEW_ARRAY(float, d * d, "PCA block covariance");
    double *val = DCI_NEW_ARRAY(double, q_max, "PCA eigenvalues");
    double *v = DCI_NEW_ARRAY(double, q_max * d, "PCA components");
    p->mean = DCI_NEW_ARRAY(float, d, "PCA mean");
    dc_status st = acc && t && cf && val && v && p->mean ? DC_OK : DC_ERR_NOMEM;
    st = dci_mpi_agree(st, "PCA");
    double *msum = acc + d * d;
    if (st == DC_OK) {
        for (int64_t i = 0; i < nl; i++)
            for (int64_t m = 0; m < d; m++) msum[m] += x[i * d + m];
        st = dci_mpi_allreduce(msum, d, MPI_DOUBLE, MPI_SUM, DCI_PH_PCA, "PCA mean");
    }
    if (st == DC_OK) {
        for (int64_t m = 0; m < d; m++) p->mean[m] = (float)(msum[m] / (double)n);
        memset(acc, 0, sizeof(double) * (size_t)(d * d + d + 1));
        double total = 0.0;
        for (int64_t r0 = 0; r0 < nl; r0 += PCA_TILE) {
            const int64_t m = nl - r0 < PCA_TILE ? nl - r0 : PCA_TILE;
            for (int64_t i = 0; i < m; i++)
                for (int64_t c = 0; c < d; c++) {
                    float e = x[(r0 + i) * d + c] - p->mean[c];
                    t[i * d + c] = e;
                    total += (double)e * e;
                }
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0f, t, (int)d,
                        0.0f, cf, (int)d);
            for (int64_t a = 0; a < d; a++)
                for (int64_t b = a; b < d; b++) acc[a * d + b] += cf[a * d + b];
        }
        acc[d * d + d] = total;
        st = dci_mpi_allreduce(acc, d * d + d + 1, MPI_DOUBLE, MPI_SUM, DCI_PH_PCA,
                               "PCA covariance");
        p->total = acc[d * d + d] / (double)(n - 1);
    }
    /* the same eigenproblem on every rank: the same components */
    if (st == DC_OK) st = dci_sym_top_eigen(acc, d, q_max, val, v, "PCA (distributed)");
    if (st == DC_OK) st = dci_pca_select(p, val, v, n, d, q_max, var_keep);
    dci_free(acc);
    dci_free(t);
    dci_free(cf);
    dci_free(val);
    dci_free(v);
    st = dci_mpi_agree(st, "PCA");
    if (st != DC_OK) dci_pca_free(p);
    return st;
}
