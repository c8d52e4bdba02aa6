#include "graph/eigen.h"

#include <lapacke.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

dc_status dci_sym_top_eigen(double *a, int64_t n, int64_t r, double *lam, double *z,
                            const char *what) {
    double *wv = DCI_NEW_ARRAY(double, n, "eigenvalues");
    double *zz = DCI_NEW_ARRAY(double, n * r, "eigenvectors");
    lapack_int *isuppz = DCI_NEW_ARRAY(lapack_int, 2 * r, "eigenvector supports");
    dc_status st = DC_OK;
    if (!wv || !zz || !isuppz) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    lapack_int found = 0;
    /* Column-major 'L' reads exactly the row-major upper triangle, and needs
     * no transposed copy of a (row-major LAPACKE would make one). */
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)n, a,
                                     (lapack_int)n, 0.0, 0.0, (lapack_int)(n - r + 1),
                                     (lapack_int)n, 0.0, &found, wv, zz, (lapack_int)n, isuppz);
    if (info != 0 || found != r) {
        st = dci_fail(info > 0 ? DC_ERR_NOT_CONVERGED : DC_ERR_INTERNAL,
                      "%s: LAPACK dsyevr failed (info %d, %d of %lld eigenpairs)", what, (int)info,
                      (int)found, (long long)r);
        goto done;
    }
    for (int64_t l = 0; l < r; l++) { /* ascending -> descending */
        lam[l] = wv[r - 1 - l];
        memcpy(z + l * n, zz + (r - 1 - l) * n, (size_t)n * sizeof *z);
    }
done:
    dci_free(wv);
    dci_free(zz);
    dci_free(isuppz);
    return st;
}
