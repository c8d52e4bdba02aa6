/* Spectral embedding (docs/methods.md "SCDBAS and NJW"): kNN -> adaptive-sigma affinity W ->
 * S = D^-1/2 W D^-1/2 -> top-K eigenvectors U of S -> rows of U normalised.
 *
 * Connected components: the eigenvalue 1 of S has one eigenvector per
 * component c, known in closed form: v_c(i) = sqrt(D_i / vol(c)) on c, 0
 * elsewhere. Those c columns are put into U directly, and the eigensolver only
 * looks for the remaining K - c eigenvectors of S - 3 V V^T (which moves the
 * known ones to eigenvalue -2, out of the way). That sidesteps the
 * multiplicity trap (ARPACK may return fewer copies of a repeated eigenvalue)
 * and makes well-separated groups come out exactly: with c == K the rows of Y
 * are K orthogonal unit vectors, one per component. More components than K:
 * by default the graph is regularised -- tau / n added to every W_ij, tau
 * the mean degree (Amini et al. 2013; Qin & Rohe 2013), which connects it
 * and is applied as a rank-one term, never as an n x n matrix -- with a
 * warning in the log; DCI_DISCONNECTED_ERROR refuses with
 * DC_ERR_DEGENERATE instead. An isolated point (degree 0) is its own component with
 * S_ii = 1 (the usual convention L_sym_ii = 0), so it gets an indicator
 * vector and never a NaN.
 *
 * Columns of U are ordered by decreasing eigenvalue (components first, in the
 * order of their lowest index); each eigenvector's sign makes positive its
 * first entry of at least half the largest magnitude. ARPACK keeps global state: its use is serialised
 * by a process-wide mutex. */
#ifndef DCI_GRAPH_SPECTRAL_H
#define DCI_GRAPH_SPECTRAL_H

#include <arpack/arpackdef.h>
#include <stdint.h>
#include "deepclust/status.h"
#include "graph/affinity.h"

enum { DCI_SPECTRAL_AUTO = 0, DCI_SPECTRAL_DENSE = 1, DCI_SPECTRAL_SPARSE = 2 };
enum { DCI_EIGEN_AUTO = 0, DCI_EIGEN_LAPACK = 1, DCI_EIGEN_ARPACK = 2 };
/* More connected components than K (the solver parameter "disconnected"). */
enum { DCI_DISCONNECTED_REGULARIZE = 0, DCI_DISCONNECTED_ERROR = 1 };

/* Auto mode is dense for n <= DCI_SPECTRAL_DENSE_MAX, sparse above. */
#define DCI_SPECTRAL_DENSE_MAX 4000

/* Sparse mode, speed options (0 = auto, as every other option; auto is off in
 * dense mode, which stays the exact all-pairs computation of docs/methods.md "SCDBAS and NJW"):
 *
 * pca_dims: the kNN graph and the affinity are computed on the projection of
 * the data onto its leading principal components (graph/pca.h). Auto: for
 * d > DCI_SPECTRAL_PCA_MIN_D, the fewest components keeping 95 % of the
 * variance, at most 50 (the usual choice before neighbour graphs, e.g. t-SNE
 * and scanpy). The search costs 2 n^2 q flops instead of 2 n^2 d. Measured on
 * Fashion-MNIST (d = 784 -> 50 components, 86 % of the variance), NJW labels
 * (k-means on Y) over five 9000-point subsets of the test split: NMI 0.603
 * vs 0.593 on the raw pixels, ACC 0.538 vs 0.527 (0.55 on three subsets,
 * 0.52 on two, where the raw pixels give 0.523-0.532; 32 and 64 components:
 * NMI 0.605 and 0.599). The full 10k test split, SCDBAS: ACC 0.550 / NMI
 * 0.610 vs 0.527 / 0.594, kNN 0.28 s vs 1.49 s.
 *
 * sigma_sample: the sigmas come from dci_affinity_sigma_sampled with about
 * sigma_sample sampled neighbours instead of all p. Auto: exact while
 * p <= DCI_SPECTRAL_SIGMA_EXACT_MAX_P (n <= 1000 K^2), else sampled with
 * DCI_SPECTRAL_SIGMA_SAMPLE_P. With p = n / K^2 the exact sigmas need a
 * p-nearest search (p = 10^4 at n = 10^6, K = 10), which the graph's m
 * neighbours would not. Measured error of the estimate with 128: mean
 * |relative error| 1.1 % (max 9.5 %) on Fashion-MNIST 35k (p = 350), 0.4 %
 * (max 2.3 %) on 10 Gaussian blobs, 100k x 50 (p = 1000). */
#define DCI_SPECTRAL_PCA_MIN_D 128
#define DCI_SPECTRAL_PCA_AUTO_MAX 50
#define DCI_SPECTRAL_PCA_AUTO_VARIANCE 0.95
#define DCI_SPECTRAL_SIGMA_EXACT_MAX_P 1000
#define DCI_SPECTRAL_SIGMA_SAMPLE_P 128

typedef struct dci_spectral_opts {
    int mode;        /* DCI_SPECTRAL_*: 0 auto, 1 dense, 2 sparse */
    int64_t m;       /* neighbours of the sparse graph; 0 = default (affinity.h) */
    int eigensolver; /* DCI_EIGEN_*: 0 auto = ARPACK (LAPACK for n <= 64 or K > n/4,
                        and as fallback when ARPACK fails and n^2 doubles are affordable) */
    uint64_t seed;   /* ARPACK start vector, randomized PCA, sigma sample */
    int64_t pca_dims;     /* 0 = auto (above), -1 = off, q in 1..d: q components */
    int64_t sigma_sample; /* 0 = auto (above), -1 = exact sigmas, > 0: sampled */
    int disconnected;     /* DCI_DISCONNECTED_*: more components than K */
} dci_spectral_opts;

typedef struct dci_spectral_stats {
    double t_pca, t_knn, t_affinity, t_eigen; /* seconds */
    int64_t p, m;                      /* m = 0 in dense mode */
    int64_t p_sigma;                   /* neighbours behind each sigma: p, or p' if sampled */
    int64_t pca_dims;                  /* components used, 0 = none */
    int64_t components; /* of the affinity graph */
    double tau;         /* regularisation (see the top of this file), 0 = none */
    int dense; /* 1 if the dense affinity was used */
} dci_spectral_stats;

/* The whole pipeline. x is n x d float32 (finite), 2 <= K <= n (else
 * DC_ERR_K_RANGE); m >= n: DC_ERR_INVALID_ARG. Y is caller-allocated n x K
 * float32, unit rows. o == NULL means all defaults; st may be NULL. */
dc_status dci_spectral_embedding(const float *x, int64_t n, int64_t d, int64_t K,
                                 const dci_spectral_opts *o, float *Y, dci_spectral_stats *st);

/* How the top-K eigenvectors of S are found, and what is reported besides
 * them (each report may be NULL). */
typedef struct dci_spectral_top {
    int eigensolver;     /* DCI_EIGEN_* */
    uint64_t seed;       /* ARPACK's start vector */
    int regularize;      /* more components than K: regularise (1) or fail (0) */
    double *lambda;      /* K eigenvalues */
    int64_t *components; /* connected components of W */
    double *tau;         /* the regularisation applied (0: none) */
} dci_spectral_top;

/* Top-K eigenvectors of S for a given affinity (the steps after W), as n x K
 * float64 row-major in U. */
dc_status dci_spectral_top_csr(const dci_csr *w, int64_t K, const dci_spectral_top *t, double *U);
dc_status dci_spectral_top_dense(const double *w, int64_t n, int64_t K, const dci_spectral_top *t,
                                 double *U);

/* (P)ARPACK's work space for the nev largest eigenpairs of a symmetric
 * operator of n rows, nloc of them on this process (nloc = n without MPI):
 * ncv = max(2 nev + 1, 20), at most n, Lanczos vectors. */
typedef struct dci_arpack_ws {
    a_int ncv, lworkl;
    double *resid, *v, *workd, *workl, *d, *zz;
    a_int *select;
} dci_arpack_ws;
dc_status dci_arpack_ws_alloc(dci_arpack_ws *w, int64_t nloc, int64_t n, int64_t nev);
void dci_arpack_ws_free(dci_arpack_ws *w);

/* The nev eigenpairs (d, eigenvector t at zz + t n) as (P)ARPACK's dseupd
 * returns them, into lam / z (eigenvector l at z + l n) by decreasing
 * eigenvalue. */
dc_status dci_eigen_sort_desc(const double *d, const double *zz, int64_t nev, int64_t n,
                              double *lam, double *z);

/* Y_i = U_i / ||U_i|| in float32; a zero row (cannot happen for U from the
 * functions above) becomes e_1 so that Y has unit rows. */
void dci_spectral_normalize_rows(const double *U, int64_t n, int64_t K, float *Y);

#endif
