#include "graph/spectral.h"

#include <arpack/arpack.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "graph/eigen.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust/graph.h"
#include "graph/knn.h"
#include "graph/pca.h"

/* Sparse graphs this small or smaller are densified for LAPACK on request;
 * above, n^2 doubles would be the memory problem sparse mode exists to avoid. */
#define DENSIFY_MAX 10000
/* Below this size ARPACK buys nothing over LAPACK; auto uses LAPACK. */
#define ARPACK_MIN_N 64
/* The known eigenvectors are moved from eigenvalue 1 to 1 - DEFLATE_SHIFT = -2,
 * below the spectrum of S (which lies in [-1, 1]). */
#define DEFLATE_SHIFT 3.0

static pthread_mutex_t arpack_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- graph structure: degrees, components, known eigenvectors ------------ */

typedef struct graph_info {
    int64_t n, c;    /* points, connected components of the operator's graph */
    int64_t c_graph; /* connected components of the affinity graph itself */
    double tau;      /* regularisation: tau / n added to every W_ij; 0 = none */
    double *dinv;    /* D_i^-1/2, 0 for isolated points */
    int64_t *comp;   /* component of each point, numbered by lowest member */
    double *v;       /* v_i = sqrt(D_i / vol(comp_i)), 1 for isolated points */
    int64_t *parent; /* union-find scratch */
} graph_info;

static void graph_info_free(graph_info *g) {
    dci_free(g->dinv);
    dci_free(g->comp);
    dci_free(g->v);
    dci_free(g->parent);
}

static dc_status graph_info_alloc(graph_info *g, int64_t n) {
    memset(g, 0, sizeof *g);
    g->n = n;
    g->dinv = DCI_NEW_ARRAY(double, n, "degrees");
    g->comp = DCI_NEW_ARRAY(int64_t, n, "components");
    g->v = DCI_NEW_ARRAY(double, n, "component vectors");
    g->parent = DCI_NEW_ARRAY(int64_t, n, "union-find");
    if (!g->dinv || !g->comp || !g->v || !g->parent) {
        graph_info_free(g);
        return DC_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) g->parent[i] = i;
    return DC_OK;
}

/* More components than K, regularised: W + (tau / n) 1 1^T with tau the
 * mean degree (the regularised spectral clustering of Amini et al. 2013 and
 * Qin & Rohe 2013) is connected, and its operator is S's sparse part plus a
 * rank-one term, so nothing of size n^2 is made. An edgeless graph (mean
 * degree 0) becomes the complete one with tau = 1. */
static void regularise(graph_info *g, int64_t K) {
    const int64_t n = g->n;
    double vol = 0.0;
    for (int64_t i = 0; i < n; i++) vol += g->dinv[i];
    g->tau = vol > 0.0 ? vol / (double)n : 1.0;
    for (int64_t i = 0; i < n; i++) {
        g->dinv[i] += g->tau;
        g->comp[i] = 0;
    }
    g->c = 1;
    dci_log(DC_LOG_WARN,
            "spectral embedding: the affinity graph has %lld connected components, more than "
            "k = %lld; embedded the regularised graph instead (tau / n = %g added to every "
            "affinity, tau = %g, the mean degree; parameter 'disconnected' = error refuses)",
            (long long)g->c_graph, (long long)K, g->tau / (double)n, g->tau);
}

/* From the degrees in g->dinv and the components in g->comp: the unit
 * eigenvectors of S for eigenvalue 1, then turns degrees into D^-1/2. */
static dc_status graph_info_finish(graph_info *g, int64_t K, int regularize) {
    const int64_t n = g->n;
    g->c_graph = g->c;
    if (g->c > K && !regularize)
        return dci_fail(DC_ERR_DEGENERATE,
                        "spectral embedding: the affinity graph has %lld connected components, "
                        "more than k = %lld; raise the graph's neighbours (parameter 'm'), use "
                        "the dense affinity (parameter 'affinity'), lower k, or let the graph "
                        "be regularised (parameter 'disconnected' = regularize)",
                        (long long)g->c, (long long)K);
    if (g->c > K) regularise(g, K);
    double *vol = DCI_NEW_ZEROS(double, g->c, "component volumes");
    if (!vol) return DC_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) vol[g->comp[i]] += g->dinv[i];
    for (int64_t i = 0; i < n; i++) {
        double deg = g->dinv[i];
        g->v[i] = deg > 0.0 ? sqrt(deg / vol[g->comp[i]]) : 1.0;
        g->dinv[i] = deg > 0.0 ? 1.0 / sqrt(deg) : 0.0;
    }
    dci_free(vol);
    return DC_OK;
}

/* Union-find whose root is always the lowest index of its set, so that the
 * components come out numbered by their lowest member. */
static int64_t uf_find(int64_t *parent, int64_t i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void uf_union(int64_t *parent, int64_t a, int64_t b) {
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

static void uf_label(graph_info *g) {
    g->c = 0;
    for (int64_t i = 0; i < g->n; i++) {
        int64_t r = uf_find(g->parent, i);
        g->comp[i] = r == i ? g->c++ : g->comp[r];
    }
}

static dc_status graph_info_csr(const dci_csr *w, int64_t K, int regularize, graph_info *g) {
    DCI_TRY(graph_info_alloc(g, w->n));
    for (int64_t i = 0; i < w->n; i++) {
        double s = 0.0;
        for (int64_t e = w->rowptr[i]; e < w->rowptr[i + 1]; e++) {
            s += w->val[e];
            if (w->val[e] > 0.0) uf_union(g->parent, i, w->col[e]);
        }
        g->dinv[i] = s;
    }
    uf_label(g);
    dc_status st = graph_info_finish(g, K, regularize);
    if (st != DC_OK) graph_info_free(g);
    return st;
}

static dc_status graph_info_dense(const double *w, int64_t n, int64_t K, int regularize,
                                  graph_info *g) {
    DCI_TRY(graph_info_alloc(g, n));
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < n; j++) {
            s += w[i * n + j];
            if (j > i && w[i * n + j] > 0.0) uf_union(g->parent, i, j);
        }
        g->dinv[i] = s;
    }
    uf_label(g);
    dc_status st = graph_info_finish(g, K, regularize);
    if (st != DC_OK) graph_info_free(g);
    return st;
}

/* ---- the operator A = S + diag(isolated) - 3 V V^T ---------------------- */

typedef struct op_ctx {
    const graph_info *g;
    const dci_csr *w;     /* sparse W (its pattern), with */
    double *sval;         /* S_ij = D_i^-1/2 W_ij D_j^-1/2 on that pattern; or */
    const double *dense;  /* dense A (already including the corrections) */
    double *csum;         /* per-component scratch */
} op_ctx;

/* y = A x for the sparse form; the dense form is a plain dsymv. */
static void op_apply(const op_ctx *o, const double *x, double *y) {
    const graph_info *g = o->g;
    const int64_t n = g->n;
    if (o->dense) {
        cblas_dsymv(CblasRowMajor, CblasUpper, (int)n, 1.0, o->dense, (int)n, x, 1, 0.0, y, 1);
        return;
    }
    const dci_csr *w = o->w;
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t e = w->rowptr[i]; e < w->rowptr[i + 1]; e++) s += o->sval[e] * x[w->col[e]];
        y[i] = g->dinv[i] > 0.0 ? s : x[i];
    }
    if (g->tau > 0.0) { /* + D^-1/2 (tau / n) 1 1^T D^-1/2 x */
        double a = 0.0;
        for (int64_t i = 0; i < n; i++) a += g->dinv[i] * x[i];
        a *= g->tau / (double)n;
        for (int64_t i = 0; i < n; i++) y[i] += g->dinv[i] * a;
    }
    memset(o->csum, 0, (size_t)g->c * sizeof *o->csum);
    for (int64_t i = 0; i < n; i++) o->csum[g->comp[i]] += g->v[i] * x[i];
    for (int64_t i = 0; i < n; i++) y[i] -= DEFLATE_SHIFT * g->v[i] * o->csum[g->comp[i]];
}

/* Dense A (n x n, both triangles) from dense W or sparse W, into a (which
 * may be wd itself: every entry is read before it is overwritten). */
static void op_densify(const graph_info *g, const double *wd, const dci_csr *ws, double *a) {
    const int64_t n = g->n;
    const double t = g->tau / (double)n;
    if (wd) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                a[i * n + j] = g->dinv[i] * (wd[i * n + j] + t) * g->dinv[j];
    } else {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) a[i * n + j] = g->dinv[i] * t * g->dinv[j];
        for (int64_t i = 0; i < n; i++)
            for (int64_t e = ws->rowptr[i]; e < ws->rowptr[i + 1]; e++)
                a[i * n + ws->col[e]] += g->dinv[i] * ws->val[e] * g->dinv[ws->col[e]];
    }
    for (int64_t i = 0; i < n; i++) {
        if (g->dinv[i] == 0.0) a[i * n + i] = 1.0;
        for (int64_t j = 0; j < n; j++)
            if (g->comp[i] == g->comp[j]) a[i * n + j] -= DEFLATE_SHIFT * g->v[i] * g->v[j];
    }
}

/* ---- eigensolvers: r largest eigenpairs of A, descending ----------------- */

dc_status dci_arpack_ws_alloc(dci_arpack_ws *w, int64_t nloc, int64_t n, int64_t nev) {
    memset(w, 0, sizeof *w);
    w->ncv = (a_int)(2 * nev + 1 > 20 ? 2 * nev + 1 : 20);
    if (w->ncv > n) w->ncv = (a_int)n;
    w->lworkl = w->ncv * (w->ncv + 8);
    w->resid = DCI_NEW_ARRAY(double, nloc, "ARPACK residual");
    w->v = DCI_NEW_ARRAY(double, nloc * w->ncv, "ARPACK basis");
    w->workd = DCI_NEW_ARRAY(double, 3 * nloc, "ARPACK work");
    w->workl = DCI_NEW_ARRAY(double, w->lworkl, "ARPACK work");
    w->d = DCI_NEW_ARRAY(double, nev, "ARPACK eigenvalues");
    w->zz = DCI_NEW_ARRAY(double, nloc * nev, "ARPACK eigenvectors");
    w->select = DCI_NEW_ZEROS(a_int, w->ncv, "ARPACK select");
    if (w->resid && w->v && w->workd && w->workl && w->d && w->zz && w->select) return DC_OK;
    dci_arpack_ws_free(w);
    return DC_ERR_NOMEM;
}

void dci_arpack_ws_free(dci_arpack_ws *w) {
    dci_free(w->resid);
    dci_free(w->v);
    dci_free(w->workd);
    dci_free(w->workl);
    dci_free(w->d);
    dci_free(w->zz);
    dci_free(w->select);
    memset(w, 0, sizeof *w);
}

dc_status dci_eigen_sort_desc(const double *d, const double *zz, int64_t nev, int64_t n,
                              double *lam, double *z) {
    /* (dseupd returns the eigenvalues ascending; this is robust to any order) */
    unsigned char *used = DCI_NEW_ZEROS(unsigned char, nev, "eigenvalue order");
    if (!used) return DC_ERR_NOMEM;
    for (int64_t l = 0; l < nev; l++) {
        int64_t best = -1;
        for (int64_t t = 0; t < nev; t++)
            if (!used[t] && (best < 0 || d[t] > d[best])) best = t;
        used[best] = 1;
        lam[l] = d[best];
        memcpy(z + l * n, zz + best * n, (size_t)n * sizeof *z);
    }
    dci_free(used);
    return DC_OK;
}

static dc_status eig_arpack(const op_ctx *o, int64_t n, int64_t r, uint64_t seed, double *lam,
                            double *z) {
    if (n > INT32_MAX / 64)
        return dci_fail(DC_ERR_UNSUPPORTED, "spectral embedding: n = %lld too large for ARPACK",
                        (long long)n);
    const a_int nn = (a_int)n, nev = (a_int)r;
    const double tol = 1e-10; /* relative residual |A u - l u| <= tol |l| */
    dci_arpack_ws w;
    dc_status st = dci_arpack_ws_alloc(&w, n, n, r);
    if (st != DC_OK) goto done;
    const a_int ncv = w.ncv, lworkl = w.lworkl;
    double *resid = w.resid, *v = w.v, *workd = w.workd, *workl = w.workl, *d = w.d, *zz = w.zz;
    a_int *select = w.select;
    /* A fixed start vector (info = 1) makes the result reproducible. */
    dci_rng rng;
    dci_rng_init(&rng, seed, DCI_STREAM_SPECTRAL);
    for (int64_t i = 0; i < n; i++) resid[i] = dci_rng_uniform(&rng) - 0.5;

    a_int iparam[11] = {0}, ipntr[14] = {0};
    iparam[0] = 1;                                      /* exact shifts */
    iparam[2] = (a_int)(n < 30000 ? 30000 : n);         /* restarts allowed */
    iparam[6] = 1;                                      /* mode 1: A x = l x */
    a_int ido = 0, info = 1;
    pthread_mutex_lock(&arpack_lock);
    int cancelled = 0;
    for (;;) {
        dsaupd_c(&ido, "I", nn, "LA", nev, tol, resid, ncv, v, nn, iparam, ipntr, workd, workl,
                 lworkl, &info);
        if (ido != 1 && ido != -1) break;
        /* Abandoning the reverse communication is safe: the next call
         * starts over (ido = 0). */
        if ((cancelled = dci_cancel_requested())) break;
        op_apply(o, workd + ipntr[0] - 1, workd + ipntr[1] - 1);
    }
    if (info == 0 && !cancelled) {
        a_int ierr = 0;
        dseupd_c(1, "A", select, d, zz, nn, 0.0, "I", nn, "LA", nev, tol, resid, ncv, v, nn,
                 iparam, ipntr, workd, workl, lworkl, &ierr);
        info = ierr;
    }
    pthread_mutex_unlock(&arpack_lock);
    if (cancelled) {
        st = dci_cancel_check("spectral embedding (ARPACK)");
        goto done;
    }
    if (info != 0 || iparam[4] < nev) {
        st = dci_fail(DC_ERR_NOT_CONVERGED,
                      "spectral embedding: ARPACK did not converge (info %d, %d of %d eigenpairs "
                      "after %d restarts); try dense mode or a larger m",
                      (int)info, (int)iparam[4], (int)nev, (int)iparam[2]);
        goto done;
    }
    st = dci_eigen_sort_desc(d, zz, nev, n, lam, z);
done:
    dci_arpack_ws_free(&w);
    return st;
}

/* ---- assembly ------------------------------------------------------------ */

/* U = [component vectors | r computed eigenvectors], signs fixed. */
static void assemble(const graph_info *g, int64_t K, const double *lam_r, const double *z,
                     double *U, double *lambda) {
    const int64_t n = g->n, c = g->c, r = K - c;
    memset(U, 0, (size_t)(n * K) * sizeof *U);
    for (int64_t i = 0; i < n; i++) U[i * K + g->comp[i]] = g->v[i];
    for (int64_t l = 0; l < r; l++) {
        const double *col = z + l * n;
        /* Sign: the first entry at least half the largest magnitude is
         * positive. "The largest entry" alone is ambiguous for the symmetric
         * and antisymmetric vectors of symmetric graphs (equal magnitudes). */
        double big = 0.0;
        for (int64_t i = 0; i < n; i++) big = fmax(big, fabs(col[i]));
        int64_t arg = 0;
        while (arg < n - 1 && fabs(col[arg]) < 0.5 * big) arg++;
        double sign = col[arg] < 0.0 ? -1.0 : 1.0;
        for (int64_t i = 0; i < n; i++) U[i * K + c + l] = sign * col[i];
    }
    if (lambda) {
        for (int64_t l = 0; l < c; l++) lambda[l] = 1.0;
        for (int64_t l = 0; l < r; l++) lambda[c + l] = lam_r[l];
    }
}

static dc_status check_solver_args(int64_t n, int64_t K, int eigensolver, double *U) {
    DCI_CHECK_NULL(U);
    if (K < 1 || K > n)
        return dci_fail(DC_ERR_K_RANGE, "spectral embedding: k = %lld for n = %lld points",
                        (long long)K, (long long)n);
    if (eigensolver < DCI_EIGEN_AUTO || eigensolver > DCI_EIGEN_ARPACK)
        return dci_fail(DC_ERR_INVALID_ARG, "spectral embedding: unknown eigensolver %d",
                        eigensolver);
    return DC_OK;
}

/* The common tail of the dense and sparse forms once g is known. scratch: NULL,
 * or an n x n buffer for the dense operator (may be wd, which is then lost).
 *
 * Auto solver: ARPACK, which needs only mat-vecs (measured 20x faster than
 * dsyevr on a dense n = 4000 operator), unless the problem is small or asks
 * for a large share of the spectrum; if ARPACK fails and the operator fits in
 * memory densely, LAPACK takes over. */
static dc_status top_common(const graph_info *g, const double *wd, const dci_csr *ws,
                            double *scratch, int64_t K, int eigensolver, uint64_t seed, double *U,
                            double *lambda) {
    const int64_t n = g->n, r = K - g->c;
    const int dense_ok = wd != NULL || n <= DENSIFY_MAX;
    int arpack = eigensolver == DCI_EIGEN_ARPACK ||
                 (eigensolver == DCI_EIGEN_AUTO && ((n > ARPACK_MIN_N && 4 * r <= n) || !dense_ok));
    if (r > 0 && !arpack && !dense_ok)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "spectral embedding: LAPACK needs the dense matrix, n = %lld > %d; "
                        "use ARPACK for sparse graphs this large",
                        (long long)n, DENSIFY_MAX);
    double *lam = DCI_NEW_ARRAY(double, r > 0 ? r : 1, "eigenvalues");
    double *z = DCI_NEW_ARRAY(double, r > 0 ? n * r : 1, "eigenvectors");
    double *a = NULL, *a_owned = NULL;
    op_ctx o = {g, ws, NULL, NULL, NULL};
    dc_status st = (lam && z) ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK && r > 0 && (wd || !arpack)) {
        a = scratch ? scratch : (a_owned = DCI_NEW_ARRAY(double, n * n, "dense operator"));
        if (a) op_densify(g, wd, ws, a);
        else st = DC_ERR_NOMEM;
    }
    if (st == DC_OK && r > 0 && arpack) {
        o.dense = a;
        o.csum = DCI_NEW_ARRAY(double, g->c, "component sums");
        if (!a) {
            /* S once: the mat-vec then reads one value per entry, not W and
             * two scales (measured ~1.5x faster at n = 35k, m = 10). */
            o.sval = DCI_NEW_ARRAY(double, ws->rowptr[n], "normalised affinity");
            if (o.sval)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t e = ws->rowptr[i]; e < ws->rowptr[i + 1]; e++)
                        o.sval[e] = g->dinv[i] * ws->val[e] * g->dinv[ws->col[e]];
        }
        st = o.csum && (a || o.sval) ? eig_arpack(&o, n, r, seed, lam, z) : DC_ERR_NOMEM;
        if (st == DC_ERR_NOT_CONVERGED && eigensolver == DCI_EIGEN_AUTO && dense_ok) {
            dci_log(DC_LOG_WARN, "%s; falling back to LAPACK", dc_last_error());
            arpack = 0;
            st = DC_OK;
            if (!a) {
                a = scratch ? scratch : (a_owned = DCI_NEW_ARRAY(double, n * n, "dense operator"));
                if (a) op_densify(g, wd, ws, a);
                else st = DC_ERR_NOMEM;
            }
        }
    }
    if (st == DC_OK && r > 0 && !arpack) st = dci_sym_top_eigen(a, n, r, lam, z, "spectral embedding");
    if (st == DC_OK) assemble(g, K, lam, z, U, lambda);
    dci_free(lam);
    dci_free(z);
    dci_free(a_owned);
    dci_free(o.csum);
    dci_free(o.sval);
    return st;
}

/* The reports of t from the graph's information. */
static void report_graph(const dci_spectral_top *t, const graph_info *g) {
    if (t->components) *t->components = g->c_graph;
    if (t->tau) *t->tau = g->tau;
}

dc_status dci_spectral_top_csr(const dci_csr *w, int64_t K, const dci_spectral_top *t, double *U) {
    DCI_CHECK_NULL(w);
    DCI_CHECK_NULL(t);
    DCI_TRY(check_solver_args(w->n, K, t->eigensolver, U));
    graph_info g;
    DCI_TRY(graph_info_csr(w, K, t->regularize, &g));
    report_graph(t, &g);
    dc_status st = top_common(&g, NULL, w, NULL, K, t->eigensolver, t->seed, U, t->lambda);
    graph_info_free(&g);
    return st;
}

/* scratch as in top_common. */
static dc_status top_dense(const double *w, double *scratch, int64_t n, int64_t K,
                           const dci_spectral_top *t, double *U) {
    DCI_CHECK_NULL(w);
    DCI_CHECK_NULL(t);
    DCI_TRY(check_solver_args(n, K, t->eigensolver, U));
    graph_info g;
    DCI_TRY(graph_info_dense(w, n, K, t->regularize, &g));
    report_graph(t, &g);
    dc_status st = top_common(&g, w, NULL, scratch, K, t->eigensolver, t->seed, U, t->lambda);
    graph_info_free(&g);
    return st;
}

dc_status dci_spectral_top_dense(const double *w, int64_t n, int64_t K, const dci_spectral_top *t,
                                 double *U) {
    return top_dense(w, NULL, n, K, t, U);
}

void dci_spectral_normalize_rows(const double *U, int64_t n, int64_t K, float *Y) {
    for (int64_t i = 0; i < n; i++) {
        const double *u = U + i * K;
        double s = 0.0;
        for (int64_t l = 0; l < K; l++) s += u[l] * u[l];
        for (int64_t l = 0; l < K; l++)
            Y[i * K + l] = s > 0.0 ? (float)(u[l] / sqrt(s)) : (l == 0 ? 1.0f : 0.0f);
    }
}

/* ---- the pipeline -------------------------------------------------------- */

/* The sigmas for the options: exact, or sampled (sets s->p_sigma). */
static dc_status pipeline_sigma(const float *x, int64_t n, int64_t d, int64_t p_sample,
                                uint64_t seed, dci_spectral_stats *s, double *sigma) {
    s->p_sigma = s->p;
    if (p_sample == 0) return dci_affinity_sigma(x, n, d, s->p, sigma);
    return dci_affinity_sigma_sampled(x, n, d, s->p, p_sample, seed, &s->p_sigma, sigma);
}

/* The options against the data: DC_OK, or the status and detail of the
 * first that does not fit. */
static dc_status check_embedding_args(const float *x, int64_t n, int64_t d, int64_t K,
                                      const dci_spectral_opts *o, const float *Y) {
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(Y);
    DCI_TRY(dci_check_shape(n, d, "spectral embedding data"));
    if (K < 2 || K > n)
        return dci_fail(DC_ERR_K_RANGE, "spectral embedding: k = %lld, need 2 <= k <= n = %lld",
                        (long long)K, (long long)n);
    int64_t cells;
    DCI_TRY(dci_size_product(n, d, sizeof *x, &cells, "spectral embedding data"));
    DCI_TRY(dci_size_product(n, K, sizeof *Y, &cells, "spectral embedding"));
    if (o->mode < DCI_SPECTRAL_AUTO || o->mode > DCI_SPECTRAL_SPARSE)
        return dci_fail(DC_ERR_INVALID_ARG, "spectral embedding: unknown mode %d", o->mode);
    if (o->m < 0 || o->m >= n)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "spectral embedding: m = %lld graph neighbours, need 1..%lld (0 = default)",
                        (long long)o->m, (long long)(n - 1));
    if (o->eigensolver < DCI_EIGEN_AUTO || o->eigensolver > DCI_EIGEN_ARPACK)
        return dci_fail(DC_ERR_INVALID_ARG, "spectral embedding: unknown eigensolver %d",
                        o->eigensolver);
    if (o->pca_dims < -1 || o->pca_dims > d)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "spectral embedding: pca = %lld components, need 0 (auto), -1 (off) or "
                        "1..%lld",
                        (long long)o->pca_dims, (long long)d);
    if (o->disconnected != DCI_DISCONNECTED_REGULARIZE && o->disconnected != DCI_DISCONNECTED_ERROR)
        return dci_fail(DC_ERR_INVALID_ARG, "spectral embedding: unknown disconnected mode %d",
                        o->disconnected);
    if (o->sigma_sample < -1)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "spectral embedding: sigma_sample = %lld, need 0 (auto), -1 (exact) or > 0",
                        (long long)o->sigma_sample);
    return dci_check_finite(x, n, d, "spectral embedding data");
}

/* One embedding: plan -> (projection) -> graph and top-K -> rows normalised.
 * The graph is built from (xs, ds): the data or their projection z. */
typedef struct embed_work {
    const dci_spectral_opts *o;
    int64_t n, K;
    dci_spectral_top top; /* the eigensolver's options; reports into s */
    int pca_auto;     /* project onto the components keeping most variance */
    int64_t p_sample; /* sampled sigmas over this many neighbours; 0: exact */
    const float *xs;
    int64_t ds;
    float *z;
    double *sigma, *U; /* n sigmas; n x K eigenvectors */
    double t0;         /* start of the current phase */
    dci_spectral_stats s;
} embed_work;

/* Seconds since the current phase began; the next one begins now. */
static double next_phase(embed_work *w) {
    const double t = dci_now(), dt = t - w->t0;
    w->t0 = t;
    return dt;
}

/* Dense or sparse, p, m and the automatic speed options (spectral.h). */
static void embedding_plan(embed_work *w, int64_t d) {
    const dci_spectral_opts *o = w->o;
    const int64_t n = w->n;
    dci_spectral_stats *s = &w->s;
    w->top = (dci_spectral_top){.eigensolver = o->eigensolver,
                                .seed = o->seed,
                                .regularize = o->disconnected == DCI_DISCONNECTED_REGULARIZE,
                                .components = &s->components,
                                .tau = &s->tau};
    s->dense = o->mode == DCI_SPECTRAL_DENSE ||
               (o->mode == DCI_SPECTRAL_AUTO && n <= DCI_SPECTRAL_DENSE_MAX);
    s->p = dci_affinity_p(n, w->K);
    s->m = s->dense ? 0 : (o->m ? o->m : dci_affinity_default_m(n, s->p));
    w->pca_auto = o->pca_dims == 0 && !s->dense && d > DCI_SPECTRAL_PCA_MIN_D && n >= 2;
    w->p_sample = o->sigma_sample > 0 ? o->sigma_sample : 0;
    if (o->sigma_sample == 0 && !s->dense && s->p > DCI_SPECTRAL_SIGMA_EXACT_MAX_P)
        w->p_sample = DCI_SPECTRAL_SIGMA_SAMPLE_P;
}

/* The data projected onto their principal components, when asked or auto. */
static dc_status embedding_project(embed_work *w, const float *x, int64_t d) {
    const dci_spectral_opts *o = w->o;
    const int64_t n = w->n;
    if (!(w->pca_auto || (o->pca_dims > 0 && n >= 2))) return DC_OK;
    dci_pca pca;
    int64_t qmax = w->pca_auto ? DCI_SPECTRAL_PCA_AUTO_MAX : o->pca_dims;
    if (qmax > d) qmax = d;
    if (w->pca_auto && qmax > n) qmax = n; /* n points span at most n - 1 directions */
    dc_status rc = dci_pca_fit(x, n, d, qmax, w->pca_auto ? DCI_SPECTRAL_PCA_AUTO_VARIANCE : 1.0,
                               DCI_PCA_AUTO, o->seed, &pca);
    if (rc == DC_OK) {
        rc = (w->z = DCI_NEW_ARRAY(float, n * pca.q, "PCA projection")) ? DC_OK : DC_ERR_NOMEM;
        if (rc == DC_OK) rc = dci_pca_transform(&pca, x, n, w->z);
        w->xs = w->z;
        w->ds = pca.q;
        w->s.pca_dims = pca.q;
        dci_pca_free(&pca);
    }
    w->s.t_pca = next_phase(w);
    return rc;
}

/* All pairs: the sigmas, the dense affinity, its top-K eigenvectors. */
static dc_status embedding_dense(embed_work *w) {
    const int64_t n = w->n;
    dci_spectral_stats *s = &w->s;
    double *wd = NULL;
    dc_status rc = pipeline_sigma(w->xs, n, w->ds, w->p_sample, w->o->seed, s, w->sigma);
    s->t_knn = next_phase(w);
    if (rc == DC_OK) rc = (wd = DCI_NEW_ARRAY(double, n * n, "dense affinity")) ? DC_OK
                                                                              : DC_ERR_NOMEM;
    if (rc == DC_OK) rc = dci_affinity_dense_w(w->xs, n, w->ds, w->sigma, wd);
    s->t_affinity = next_phase(w);
    if (rc == DC_OK) rc = dci_cancel_check("spectral embedding");
    if (rc == DC_OK)
        rc = top_dense(wd, wd, n, w->K, &w->top, w->U);
    dci_free(wd);
    return rc;
}

/* The m-nearest-neighbour graph (and the sigmas with it), its sparse
 * affinity, its top-K eigenvectors. */
static dc_status embedding_sparse(embed_work *w) {
    const int64_t n = w->n;
    dci_spectral_stats *s = &w->s;
    int64_t *idx = DCI_NEW_ARRAY(int64_t, n * s->m, "kNN indices");
    float *dist = DCI_NEW_ARRAY(float, n * s->m, "kNN distances");
    dci_csr ws = {0};
    dc_status rc = (idx && dist) ? DC_OK : DC_ERR_NOMEM;
    if (rc == DC_OK && w->p_sample) {
        /* The sampled sigmas need no p-nearest search: the graph takes m. */
        rc = pipeline_sigma(w->xs, n, w->ds, w->p_sample, w->o->seed, s, w->sigma);
        if (rc == DC_OK)
            rc = dci_knn_select(w->xs, n, NULL, n, w->ds, s->m, s->m, idx, dist, 0, NULL);
    } else if (rc == DC_OK) {
        int64_t k = s->p > s->m ? s->p : s->m;
        s->p_sigma = s->p;
        rc = dci_knn_select(w->xs, n, NULL, n, w->ds, k, s->m, idx, dist, s->p, w->sigma);
        if (rc == DC_OK) rc = dci_affinity_finish_sigma(w->xs, n, w->ds, s->p, w->sigma);
    }
    s->t_knn = next_phase(w);
    if (rc == DC_OK) rc = dci_cancel_check("spectral embedding");
    if (rc == DC_OK) rc = dci_affinity_csr_from_knn(n, s->m, idx, dist, w->sigma, &ws);
    s->t_affinity = next_phase(w);
    if (rc == DC_OK) rc = dci_cancel_check("spectral embedding");
    if (rc == DC_OK)
        rc = dci_spectral_top_csr(&ws, w->K, &w->top, w->U);
    dci_free(idx);
    dci_free(dist);
    dci_csr_free(&ws);
    return rc;
}

static void embedding_log(const embed_work *w) {
    const dci_spectral_stats *s = &w->s;
    dci_log(DC_LOG_INFO,
            "spectral embedding: n %lld, k %lld, %s, p %lld (sigma over %lld%s), m %lld, "
            "PCA %lld, %lld component(s); PCA %.2f s, kNN %.2f s, affinity %.2f s, "
            "eigen %.2f s",
            (long long)w->n, (long long)w->K, s->dense ? "dense" : "sparse", (long long)s->p,
            (long long)s->p_sigma, w->p_sample && s->p_sigma != s->p ? ", sampled" : "",
            (long long)s->m, (long long)s->pca_dims, (long long)s->components, s->t_pca, s->t_knn,
            s->t_affinity, s->t_eigen);
}

dc_status dci_spectral_embedding(const float *x, int64_t n, int64_t d, int64_t K,
                                 const dci_spectral_opts *o, float *Y, dci_spectral_stats *st) {
    static const dci_spectral_opts defaults = {DCI_SPECTRAL_AUTO, 0, DCI_EIGEN_AUTO, 0, 0, 0,
                                               DCI_DISCONNECTED_REGULARIZE};
    /* (all fields 0 = auto) */
    if (!o) o = &defaults;
    DCI_TRY(check_embedding_args(x, n, d, K, o, Y));
    embed_work w = {.o = o, .n = n, .K = K, .xs = x, .ds = d};
    embedding_plan(&w, d);
    w.sigma = DCI_NEW_ARRAY(double, n, "sigmas");
    w.U = DCI_NEW_ARRAY(double, n * K, "eigenvectors");
    dc_status rc = (w.sigma && w.U) ? DC_OK : DC_ERR_NOMEM;
    w.t0 = dci_now();
    if (rc == DC_OK) rc = embedding_project(&w, x, d);
    if (rc == DC_OK) rc = w.s.dense ? embedding_dense(&w) : embedding_sparse(&w);
    w.s.t_eigen = dci_now() - w.t0;
    if (rc == DC_OK) {
        dci_spectral_normalize_rows(w.U, n, K, Y);
        embedding_log(&w);
    }
    if (st) *st = w.s;
    dci_free(w.sigma);
    dci_free(w.U);
    dci_free(w.z);
    return rc;
}

/* ---- public API ---------------------------------------------------------- */

dc_status dc_spectral_embedding(const float *x, int64_t n, int64_t d, int64_t k, int mode,
                                int64_t m, float *Y) {
    /* The public call documents the exact computation: no projection, exact
     * sigmas, and a graph with more components than k refused. */
    dci_spectral_opts o = {mode, m, DCI_EIGEN_AUTO, 0, -1, -1, DCI_DISCONNECTED_ERROR};
    return dci_spectral_embedding(x, n, d, k, &o, Y, NULL);
}
