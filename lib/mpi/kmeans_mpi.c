/* Distributed k-means (kmeans_mpi.h). Every decision (which row becomes a
 * candidate, which candidate a centre, when to stop, which restart to keep)
 * is taken from allreduced numbers by the same code on every rank, so the
 * ranks stay in lockstep without a leader. Distances: ||x||^2 + ||c||^2 -
 * 2 x.c with sgemm on row tiles for the assignment, exact double sums for
 * the seeding potentials and the reported inertia. */
#include "mpi/kmeans_mpi.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust/dataset.h"
#include "deepclust/mpi.h"
#include "methods/method.h"
#include "mpi/comm.h"

#define TILE 1024

typedef struct kctx {
    const float *x;
    int64_t nl, d, k, n, row0;
    int rank, size;
    float *xn;     /* nl squared row norms */
    float *dot;    /* TILE x k */
    float *cn;     /* k */
    double *sums;  /* k*d sums, k counts, 1 label change count */
    double *mind;  /* nl: D^2 to the nearest chosen centre (seeding), distance (relocation) */
    float *cand;   /* trials x d */
    double *pot;   /* trials */
    double *rpot;  /* size: per-rank potentials */
    int32_t *lab;  /* nl */
    int32_t *prev; /* nl: the labels before an assignment */
} kctx;

static double sqdist(const float *a, const float *b, int64_t d) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t m = 0;
    for (; m + 4 <= d; m += 4) {
        double e0 = (double)a[m] - b[m], e1 = (double)a[m + 1] - b[m + 1];
        double e2 = (double)a[m + 2] - b[m + 2], e3 = (double)a[m + 3] - b[m + 3];
        s0 += e0 * e0;
        s1 += e1 * e1;
        s2 += e2 * e2;
        s3 += e3 * e3;
    }
    for (; m < d; m++) {
        double e = (double)a[m] - b[m];
        s0 += e * e;
    }
    return (s0 + s1) + (s2 + s3);
}

static float norm2(const float *v, int64_t d) {
    double s = 0.0;
    for (int64_t m = 0; m < d; m++) s += (double)v[m] * v[m];
    return (float)s;
}

/* Lloyd iterations of all restarts since the last reset (the byte model of
 * docs/scaling.md needs them; a fit is not reentrant anyway while the
 * process-wide communicator is in use). */
static int64_t g_lloyd_total;

/* Row g of the whole data into out (d floats), from its owner: an allreduce
 * of the row and zeros (exact), so that every rank sends the same bytes. */
static dc_status fetch_row(const kctx *c, int64_t g, float *out, dci_mpi_phase ph) {
    memset(out, 0, sizeof(float) * (size_t)c->d);
    if (g >= c->row0 && g < c->row0 + c->nl)
        memcpy(out, c->x + (g - c->row0) * c->d, sizeof(float) * (size_t)c->d);
    return dci_mpi_allreduce(out, c->d, MPI_FLOAT, MPI_SUM, ph, "k-means row");
}

/* Greedy k-means++: centre j from 2 + ln k candidates. */
static dc_status seed(kctx *c, dci_rng *rng, float *cent) {
    const int64_t nl = c->nl, d = c->d, k = c->k;
    const int64_t trials = 2 + (int64_t)log((double)k);
    DCI_TRY(fetch_row(c, (int64_t)dci_rng_below(rng, (uint64_t)c->n), cent, DCI_PH_SEED));
    for (int64_t i = 0; i < nl; i++) c->mind[i] = sqdist(c->x + i * d, cent, d);
    for (int64_t j = 1; j < k; j++) {
        double local = 0.0;
        for (int64_t i = 0; i < nl; i++) local += c->mind[i];
        DCI_TRY(dci_mpi_allgather(&local, 1, MPI_DOUBLE, c->rpot, DCI_PH_SEED, "k-means++ potential"));
        double total = 0.0;
        for (int r = 0; r < c->size; r++) total += c->rpot[r];
        memset(c->cand, 0, sizeof(float) * (size_t)(trials * d));
        for (int64_t t = 0; t < trials; t++) {
            double u = dci_rng_uniform(rng) * total;
            /* all ranks find the same owner; total = 0 (all rows on centres): rank 0 */
            int r = 0;
            double before = 0.0;
            while (r < c->size - 1 && (c->rpot[r] <= 0.0 || u >= before + c->rpot[r])) {
                before += c->rpot[r];
                r++;
            }
            if (r != c->rank) continue;
            double v = u - before, cum = 0.0;
            int64_t pick = -1;
            for (int64_t i = 0; i < nl; i++) {
                if (c->mind[i] > 0.0) pick = i;
                cum += c->mind[i];
                if (cum > v && c->mind[i] > 0.0) break;
            }
            if (pick < 0) pick = 0; /* every own row on a centre: any will do */
            memcpy(c->cand + t * d, c->x + pick * d, sizeof(float) * (size_t)d);
        }
        /* one owner per candidate row, zeros elsewhere: the sum is exact */
        DCI_TRY(dci_mpi_allreduce(c->cand, trials * d, MPI_FLOAT, MPI_SUM, DCI_PH_SEED,
                                  "k-means++ candidates"));
        for (int64_t t = 0; t < trials; t++) c->pot[t] = 0.0;
        for (int64_t i = 0; i < nl; i++)
            for (int64_t t = 0; t < trials; t++) {
                double e = sqdist(c->x + i * d, c->cand + t * d, d);
                c->pot[t] += e < c->mind[i] ? e : c->mind[i];
            }
        DCI_TRY(dci_mpi_allreduce(c->pot, trials, MPI_DOUBLE, MPI_SUM, DCI_PH_SEED,
                                  "k-means++ candidate potentials"));
        int64_t best = 0;
        for (int64_t t = 1; t < trials; t++)
            if (c->pot[t] < c->pot[best]) best = t;
        memcpy(cent + j * d, c->cand + best * d, sizeof(float) * (size_t)d);
        for (int64_t i = 0; i < nl; i++) {
            double e = sqdist(c->x + i * d, cent + j * d, d);
            if (e < c->mind[i]) c->mind[i] = e;
        }
    }
    return DC_OK;
}

/* Nearest centre of every own row (lowest index on ties); the distance in mind. */
static void assign(kctx *c, const float *cent) {
    const int64_t nl = c->nl, d = c->d, k = c->k;
    for (int64_t j = 0; j < k; j++) c->cn[j] = norm2(cent + j * d, d);
    for (int64_t i0 = 0; i0 < nl; i0 += TILE) {
        const int64_t t = nl - i0 < TILE ? nl - i0 : TILE;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)k, (int)d, -2.0f,
                    c->x + i0 * d, (int)d, cent, (int)d, 0.0f, c->dot, (int)k);
        for (int64_t r = 0; r < t; r++) {
            const float *row = c->dot + r * k;
            int32_t bj = 0;
            float bv = row[0] + c->cn[0];
            for (int64_t j = 1; j < k; j++) {
                float v = row[j] + c->cn[j];
                if (v < bv) {
                    bv = v;
                    bj = (int32_t)j;
                }
            }
            c->lab[i0 + r] = bj;
            bv += c->xn[i0 + r];
            c->mind[i0 + r] = bv > 0.0f ? bv : 0.0f;
        }
    }
}

/* An empty cluster takes the row farthest from its centre (over all ranks;
 * the lowest global row on ties), as in the single-process code. */
static dc_status relocate(kctx *c, int64_t j, float *cent) {
    double mine[2] = {-1.0, -1.0}; /* distance, global row */
    for (int64_t i = 0; i < c->nl; i++)
        if (c->mind[i] > mine[0]) {
            mine[0] = c->mind[i];
            mine[1] = (double)(c->row0 + i);
        }
    double all[2 * 1024], *buf = all;
    if (c->size > 1024) { /* the same test on every rank */
        buf = DCI_NEW_ARRAY(double, 2 * (int64_t)c->size, "relocation");
        /* agreed: a rank without the buffer must not leave the others in the allgather */
        dc_status st = dci_mpi_agree(buf ? DC_OK : DC_ERR_NOMEM, "kmeans (distributed)");
        if (st != DC_OK) {
            dci_free(buf);
            return st;
        }
    }
    dc_status st = dci_mpi_allgather(mine, 2, MPI_DOUBLE, buf, DCI_PH_LLOYD, "empty cluster");
    int best = 0;
    for (int r = 1; r < c->size; r++)
        if (buf[2 * r] > buf[2 * best]) best = r;
    int64_t g = (int64_t)buf[2 * best + 1];
    if (buf != all) dci_free(buf);
    DCI_TRY(st);
    if (g < 0) g = 0;
    if (g >= c->row0 && g < c->row0 + c->nl) c->mind[g - c->row0] = 0.0;
    return fetch_row(c, g, cent + j * c->d, DCI_PH_LLOYD);
}

/* Lloyd from cent: assignment, one allreduce of sums, counts and label
 * changes, update; stops when no label changed or the squared centre shift
 * is at most tol_abs. */
static dc_status lloyd(kctx *c, float *cent, int64_t max_iter, double tol_abs, int64_t *iters) {
    const int64_t nl = c->nl, d = c->d, k = c->k, ns = k * d + k + 2;
    int64_t it = 0;
    for (int64_t i = 0; i < nl; i++) c->lab[i] = -1;
    while (it < max_iter) {
        memcpy(c->prev, c->lab, sizeof(int32_t) * (size_t)nl);
        assign(c, cent);
        memset(c->sums, 0, sizeof(double) * (size_t)ns);
        int64_t changed = 0;
        for (int64_t i = 0; i < nl; i++) {
            const int32_t j = c->lab[i];
            changed += j != c->prev[i];
            double *sj = c->sums + j * d;
            const float *xi = c->x + i * d;
            for (int64_t m = 0; m < d; m++) sj[m] += xi[m];
            c->sums[k * d + j] += 1.0;
        }
        c->sums[k * d + k] = (double)changed;
        /* a cancel on any rank stops every rank at the same iteration */
        c->sums[k * d + k + 1] = dci_cancel_requested() ? 1.0 : 0.0;
        DCI_TRY(dci_mpi_allreduce(c->sums, ns, MPI_DOUBLE, MPI_SUM, DCI_PH_LLOYD, "Lloyd sums"));
        if (c->sums[k * d + k + 1] > 0.0)
            return dci_fail(DC_ERR_CANCELLED, "kmeans (distributed): cancelled on %g rank(s)",
                            c->sums[k * d + k + 1]);
        it++;
        g_lloyd_total++;
        if (c->sums[k * d + k] == 0.0) break; /* converged: the centres are these means */
        double shift = 0.0;
        int relocated = 0;
        for (int64_t j = 0; j < k; j++) {
            const double cnt = c->sums[k * d + j];
            float *cj = cent + j * d;
            if (cnt > 0.0)
                for (int64_t m = 0; m < d; m++) {
                    float v = (float)(c->sums[j * d + m] / cnt);
                    double e = (double)v - cj[m];
                    shift += e * e;
                    cj[m] = v;
                }
            else {
                DCI_TRY(relocate(c, j, cent));
                relocated = 1;
            }
        }
        if (!relocated && shift <= tol_abs) break;
    }
    *iters = it;
    return DC_OK;
}

static double exact_inertia_local(const kctx *c, const float *cent) {
    double s = 0.0;
    for (int64_t i = 0; i < c->nl; i++) s += sqdist(c->x + i * c->d, cent + c->lab[i] * c->d, c->d);
    return s;
}

/* Row norms, and tol made absolute: relative to the mean per-feature
 * variance of all n rows (stat: 2d doubles of work space). */
static dc_status prepare(kctx *c, double *stat, double tol, double *tol_abs) {
    const int64_t nl = c->nl, d = c->d;
    for (int64_t i = 0; i < nl; i++) {
        c->xn[i] = norm2(c->x + i * d, d);
        for (int64_t m = 0; m < d; m++) {
            stat[m] += c->x[i * d + m];
            stat[d + m] += (double)c->x[i * d + m] * c->x[i * d + m];
        }
    }
    DCI_TRY(dci_mpi_allreduce(stat, 2 * d, MPI_DOUBLE, MPI_SUM, DCI_PH_SEED, "feature variance"));
    double var = 0.0;
    for (int64_t m = 0; m < d; m++) {
        double mu = stat[m] / (double)c->n, v = stat[d + m] / (double)c->n - mu * mu;
        var += v > 0.0 ? v : 0.0;
    }
    *tol_abs = tol * var / (double)d;
    return DC_OK;
}

static void kctx_free(kctx *c) {
    dci_free(c->xn);
    dci_free(c->dot);
    dci_free(c->cn);
    dci_free(c->sums);
    dci_free(c->mind);
    dci_free(c->cand);
    dci_free(c->pot);
    dci_free(c->rpot);
    dci_free(c->lab);
    dci_free(c->prev);
}

dc_status dci_kmeans_mpi(const dci_block *b, int64_t k, const dci_kmeans_mpi_opts *o,
                         int32_t *labels, float *centers, double *inertia, int64_t *iterations) {
    const int64_t nl = b->nl, d = b->d;
    kctx c = {.x = b->x, .nl = nl, .d = d, .k = k, .n = b->n, .row0 = b->row0,
              .rank = dci_mpi_rank(), .size = dci_mpi_size()};
    const int64_t trials = 2 + (int64_t)log((double)k), nb = nl > 0 ? nl : 1;
    c.xn = DCI_NEW_ARRAY(float, nb, "k-means norms");
    c.dot = DCI_NEW_ARRAY(float, TILE * k, "k-means tile");
    c.cn = DCI_NEW_ARRAY(float, k, "k-means centre norms");
    c.sums = DCI_NEW_ARRAY(double, k * d + k + 2, "k-means sums");
    c.mind = DCI_NEW_ARRAY(double, nb, "k-means distances");
    c.cand = DCI_NEW_ARRAY(float, trials * d, "k-means++ candidates");
    c.pot = DCI_NEW_ARRAY(double, trials, "k-means++ potentials");
    c.rpot = DCI_NEW_ARRAY(double, c.size, "k-means++ potentials");
    c.lab = DCI_NEW_ARRAY(int32_t, nb, "k-means labels");
    c.prev = DCI_NEW_ARRAY(int32_t, nb, "k-means labels");
    float *cent = DCI_NEW_ARRAY(float, k * d, "k-means centres");
    double *stat = DCI_NEW_ZEROS(double, 2 * d, "k-means variance");
    dc_status st = c.xn && c.dot && c.cn && c.sums && c.mind && c.cand && c.pot && c.rpot &&
                           c.lab && c.prev && cent && stat
                       ? DC_OK
                       : DC_ERR_NOMEM;
    st = dci_mpi_agree(st, "kmeans (distributed)");
    double tol_abs = 0.0;
    if (st == DC_OK) st = prepare(&c, stat, o->tol, &tol_abs);
    if (st != DC_OK) goto done;

    dci_rng rng;
    dci_rng_init(&rng, o->seed, DCI_STREAM_KMEANS);
    double best = INFINITY;
    for (int64_t r = 0; r < o->n_init; r++) {
        int64_t it = 0;
        if ((st = seed(&c, &rng, cent))) goto done;
        if ((st = lloyd(&c, cent, o->max_iter, tol_abs, &it))) goto done;
        /* the labels of the final centres, and their exact inertia */
        assign(&c, cent);
        double in = exact_inertia_local(&c, cent);
        if ((st = dci_mpi_allreduce(&in, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_LLOYD, "inertia")))
            goto done;
        if (in < best) {
            best = in;
            memcpy(labels, c.lab, sizeof(int32_t) * (size_t)nl);
            memcpy(centers, cent, sizeof(float) * (size_t)(k * d));
            if (iterations) *iterations = it;
        }
    }
    if (inertia) *inertia = best;
done:
    kctx_free(&c);
    dci_free(cent);
    dci_free(stat);
    return st;
}

dc_status dci_kmeans_mpi_refine(const dci_block *b, int64_t k, float *centers,
                                const dci_kmeans_mpi_opts *o, int32_t *labels, double *inertia) {
    const int64_t nl = b->nl, d = b->d, max_iter = o->max_iter;
    const double tol = o->tol;
    kctx c = {.x = b->x, .nl = nl, .d = d, .k = k, .n = b->n, .row0 = b->row0,
              .rank = dci_mpi_rank(), .size = dci_mpi_size()};
    const int64_t nb = nl > 0 ? nl : 1;
    c.xn = DCI_NEW_ARRAY(float, nb, "k-means norms");
    c.dot = DCI_NEW_ARRAY(float, TILE * k, "k-means tile");
    c.cn = DCI_NEW_ARRAY(float, k, "k-means centre norms");
    c.sums = DCI_NEW_ARRAY(double, k * d + k + 2, "k-means sums");
    c.mind = DCI_NEW_ARRAY(double, nb, "k-means distances");
    c.lab = DCI_NEW_ARRAY(int32_t, nb, "k-means labels");
    c.prev = DCI_NEW_ARRAY(int32_t, nb, "k-means labels");
    double *stat = DCI_NEW_ZEROS(double, 2 * d, "k-means variance");
    dc_status st = c.xn && c.dot && c.cn && c.sums && c.mind && c.lab && c.prev && stat
                       ? DC_OK
                       : DC_ERR_NOMEM;
    st = dci_mpi_agree(st, "kmeans (distributed)");
    double tol_abs = 0.0;
    if (st == DC_OK) st = prepare(&c, stat, tol, &tol_abs);
    int64_t it = 0;
    if (st == DC_OK) st = lloyd(&c, centers, max_iter, tol_abs, &it);
    if (st == DC_OK) {
        assign(&c, centers);
        double in = exact_inertia_local(&c, centers);
        st = dci_mpi_allreduce(&in, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_LLOYD, "inertia");
        if (st == DC_OK) {
            if (labels) memcpy(labels, c.lab, sizeof(int32_t) * (size_t)nl);
            if (inertia) *inertia = in;
        }
    }
    kctx_free(&c);
    dci_free(stat);
    return st;
}

dc_status dci_mpi_rows(const dc_dataset *ds, const char *method, int64_t *n_out,
                       int64_t *row0_out) {
    const int64_t nl = dc_dataset_rows(ds);
    int64_t d = dc_dataset_cols(ds), dmax = d, dmin = d, n = nl, row0 = 0;
    DCI_TRY(dci_mpi_allreduce(&n, 1, MPI_INT64_T, MPI_SUM, DCI_PH_SETUP, "rows"));
    DCI_TRY(dci_mpi_allreduce(&dmax, 1, MPI_INT64_T, MPI_MAX, DCI_PH_SETUP, "columns"));
    DCI_TRY(dci_mpi_allreduce(&dmin, 1, MPI_INT64_T, MPI_MIN, DCI_PH_SETUP, "columns"));
    if (dmin != dmax)
        return dci_fail(DC_ERR_SHAPE, "%s (distributed): the ranks' blocks have %lld to %lld "
                        "columns", method, (long long)dmin, (long long)dmax);
    /* this rank's first row: the rows of the ranks before it */
    int64_t *rows = DCI_NEW_ARRAY(int64_t, dci_mpi_size(), "rows per rank");
    dc_status st = dci_mpi_agree(rows ? DC_OK : DC_ERR_NOMEM, method);
    if (st == DC_OK) st = dci_mpi_allgather(&nl, 1, MPI_INT64_T, rows, DCI_PH_SETUP, "rows per rank");
    int64_t empty = 0;
    if (st == DC_OK)
        for (int r = 0; r < dci_mpi_size(); r++) {
            if (r < dci_mpi_rank()) row0 += rows[r];
            empty += rows[r] < 1;
        }
    dci_free(rows);
    DCI_TRY(st);
    if (empty)
        return dci_fail(DC_ERR_SHAPE, "%s (distributed): %lld of %d ranks have no rows "
                        "(n = %lld): use at most n ranks", method, (long long)empty,
                        dci_mpi_size(), (long long)n);
    DCI_TRY(dci_mpi_agree(dci_check_finite(dc_dataset_data(ds), nl, d, method), method));
    *n_out = n;
    *row0_out = row0;
    return DC_OK;
}

/* ---- the solver method's distributed fit -------------------------------- */

int64_t dci_kmeans_mpi_lloyd_total(int reset) {
    int64_t v = g_lloyd_total;
    if (reset) g_lloyd_total = 0;
    return v;
}

dc_status dci_kmeans_mpi_stage(dc_solver *s, const dci_block *b, int64_t k,
                               const dci_kmeans_mpi_opts *o, const char *method) {
    dci_kmeans_mpi_lloyd_total(1);
    int32_t *labels = DCI_NEW_ARRAY(int32_t, b->nl, "labels");
    float *centers = DCI_NEW_ARRAY(float, k * b->d, "centres");
    double inertia = 0.0;
    int64_t iterations = 0;
    dc_status st = dci_mpi_agree(labels && centers ? DC_OK : DC_ERR_NOMEM, method);
    if (st == DC_OK) st = dci_kmeans_mpi(b, k, o, labels, centers, &inertia, &iterations);
    /* a local failure (memory) agreed before the gather of the labels */
    if (st == DC_OK) st = dci_solver_put_output_copy(s, "centers", centers, k, b->d);
    st = dci_mpi_agree(st, method);
    dci_free(centers);
    if (st == DC_OK) st = dci_mpi_put_labels(s, labels, b->nl, b->n); /* takes labels */
    else dci_free(labels);
    DCI_TRY(st);
    st = dci_solver_put_stat(s, "inertia", inertia);
    if (st == DC_OK) st = dci_solver_put_stat(s, "iterations", (double)iterations);
    if (st == DC_OK)
        st = dci_solver_put_stat(s, "lloyd_iterations_total",
                                 (double)dci_kmeans_mpi_lloyd_total(0));
    return dci_mpi_agree(st, method);
}

dc_status dci_kmeans_fit_mpi(dc_solver *s, const dc_dataset *ds) {
    int64_t base[DCI_PH_COUNT];
    dci_mpi_snapshot(base);
    const int64_t nl = dc_dataset_rows(ds), d = dc_dataset_cols(ds), k = dci_param_i(s, "k");
    int64_t n = 0, row0 = 0;
    DCI_TRY(dci_mpi_rows(ds, "kmeans", &n, &row0));
    DCI_TRY(dci_check_k(k, n, 1, "kmeans"));
    dci_kmeans_mpi_opts o = {dci_param_i(s, "n_init"), dci_param_i(s, "max_iter"),
                             dci_param(s, "tol"), (uint64_t)dci_param_i(s, "seed")};
    DCI_TRY(dci_kmeans_mpi_stage(s, &(dci_block){dc_dataset_data(ds), nl, d, n, row0}, k, &o,
                                 "kmeans (distributed)"));
    dc_status st = dci_solver_put_stat(s, "n_init", (double)o.n_init);
    if (st == DC_OK) st = dci_solver_put_stat(s, "rows_local", (double)nl);
    DCI_TRY(dci_mpi_agree(st, "kmeans (distributed)"));
    return dci_mpi_put_stats(s, base);
}
