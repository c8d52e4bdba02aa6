/* The distributed NJW and SCDBAS fits (spectral_mpi.h): the distributed
 * embedding, then k-means (NJW) or the improved-mode beetle search (SCDBAS)
 * on the embedded row blocks. The search runs identically on every rank:
 * its random numbers come from the same seeds, and every fitness it sees is
 * the allreduced sum of the ranks' local sums of squared distances; the
 * Lloyd polish is the distributed one (kmeans_mpi.h). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust/dataset.h"
#include "methods/method.h"
#include "methods/scdbas.h"
#include "methods/spectral_common.h"
#include "mpi/comm.h"
#include "mpi/kmeans_mpi.h"
#include "mpi/spectral_mpi.h"
#include "opt/dbas.h"

#define POLISH_MAX_ITER 300 /* as the single-process polish */
#define POLISH_TOL 1e-4

dc_status dci_spectral_fit_embedding_mpi(dc_solver *s, const dc_dataset *ds, const char *method,
                                         float **Y, int64_t *n_out, int64_t *row0_out,
                                         int64_t *k_out) {
    const int64_t nl = dc_dataset_rows(ds), d = dc_dataset_cols(ds), k = dci_param_i(s, "k");
    int64_t n = 0, row0 = 0;
    DCI_TRY(dci_mpi_rows(ds, method, &n, &row0));
    DCI_TRY(dci_check_k(k, n, 1, method));
    int64_t m = dci_param_i(s, "m");
    if (m == 0) m = n - 1 < DCI_SPECTRAL_DEFAULT_M ? n - 1 : DCI_SPECTRAL_DEFAULT_M;
    else if (m >= n)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: m = %lld neighbours, need m < n = %lld", method,
                        (long long)m, (long long)n);
    const int64_t pca = dci_param_i(s, "pca");
    if (pca > d)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: pca = %lld components, need at most d = %lld",
                        method, (long long)pca, (long long)d);
    const int64_t p = dci_affinity_p(n, k), sample = dci_param_i(s, "sigma_sample");
    if (k > 1 && (sample > 0 || (sample == 0 && p > DCI_SPECTRAL_SIGMA_EXACT_MAX_P)))
        return dci_fail(DC_ERR_UNSUPPORTED,
                        "%s (distributed): sampled sigmas are not distributed yet (p = n / k^2 "
                        "= %lld > %d neighbours per point would be needed for exact ones; "
                        "sigma_sample = -1 forces them)",
                        method, (long long)p, DCI_SPECTRAL_SIGMA_EXACT_MAX_P);
    float *emb = DCI_NEW_ARRAY(float, nl * k, "spectral embedding");
    dc_status st = dci_mpi_agree(emb ? DC_OK : DC_ERR_NOMEM, method);
    if (st != DC_OK) { /* another rank's failure: this one may hold emb */
        dci_free(emb);
        return st;
    }
    dci_spectral_stats stt = {0};
    if (k == 1) {
        for (int64_t i = 0; i < nl; i++) emb[i] = 1.0f;
    } else {
        dci_spectral_opts o = {
            .mode = (int)dci_param_i(s, "affinity") == DCI_SPECTRAL_DENSE ? DCI_SPECTRAL_DENSE
                                                                          : DCI_SPECTRAL_SPARSE,
            .m = m,
            .eigensolver = (int)dci_param_i(s, "eigensolver"),
            .seed = (uint64_t)dci_param_i(s, "seed"),
            .pca_dims = pca,
            .sigma_sample = -1,
            .disconnected = (int)dci_param_i(s, "disconnected"),
        };
        /* a cancel from the callback (or dc_solver_cancel) of any rank: all stop */
        st = dci_mpi_progress(s, "embedding", 0, 1, NAN);
        if (st == DC_OK)
            st = dci_spectral_embedding_mpi(&(dci_block){dc_dataset_data(ds), nl, d, n, row0}, k,
                                            &o, emb, &stt);
    }
    if (st == DC_OK) st = dci_mpi_put_rows(s, "embedding", emb, nl, n, k);
    /* the statistics are local (memory): agreed before the caller's next collective */
    if (st == DC_OK && k > 1) st = dci_spectral_put_stats(s, &stt);
    int64_t mv = 0, hs = 0;
    dci_spectral_mpi_counts(&mv, &hs);
    if (st == DC_OK) st = dci_solver_put_stat(s, "rows_local", (double)nl);
    if (st == DC_OK) st = dci_solver_put_stat(s, "matvecs", (double)mv);
    if (st == DC_OK) st = dci_solver_put_stat(s, "halo_sent", (double)hs);
    st = dci_mpi_agree(st, method);
    if (st != DC_OK) {
        dci_free(emb);
        return dci_context(st, "%s", method);
    }
    *Y = emb;
    *n_out = n;
    *row0_out = row0;
    *k_out = k;
    return DC_OK;
}

dc_status dci_njw_fit_mpi(dc_solver *s, const dc_dataset *ds) {
    int64_t base[DCI_PH_COUNT];
    dci_mpi_snapshot(base);
    float *Y = NULL;
    int64_t n, row0, k;
    const int64_t nl = dc_dataset_rows(ds);
    DCI_TRY(dci_spectral_fit_embedding_mpi(s, ds, "njw", &Y, &n, &row0, &k));
    dci_kmeans_mpi_opts o = {dci_param_i(s, "n_init"), 300, 1e-4, (uint64_t)dci_param_i(s, "seed")};
    const double t0 = dci_now();
    dc_status st = dci_kmeans_mpi_stage(s, &(dci_block){Y, nl, k, n, row0}, k, &o, "njw");
    dci_free(Y);
    DCI_TRY(st);
    DCI_TRY(dci_mpi_agree(dci_solver_put_stat(s, "seconds_assign", dci_now() - t0), "njw"));
    return dci_mpi_put_stats(s, base);
}

/* ---- SCDBAS: the beetle search on the row blocks --------------------------- */

typedef struct dstage {
    const float *Y;  /* nl x K */
    int64_t nl, n, row0, K, D;
    dci_sse_ctx fit; /* on this rank's rows, centred at the mean of all n */
    float *yc;       /* owns fit's buffers */
    float *yn;
    double *mu;
    dc_status err;   /* an MPI failure inside the fitness */
    dci_error_saved err_msg; /* its detail */
    int cancelled;   /* the fitness saw a cancel (of any rank) */
    dci_dbas_work dw; /* the search's work space */
    /* the beetle's search: options and work space */
    const dci_scdbas_opts *o;
    const dc_dbas_config *cfg;
    float *cur, *cand;      /* D each: the beetle's centres, a polished candidate */
    int32_t *lab, *cand_lab; /* nl each */
    double *xs;              /* 3 D: start, best and final point of an excursion */
    double *tr, *trc, *btr, *btrc; /* iterations + 1 each: excursion and beetle traces */
} dstage;

/* The allreduced SSE of the centres x (K x K, row-major). An MPI failure
 * makes it NaN (every rank sees its own failure) and is kept in err. A
 * cancel (dc_solver_cancel) rides in the same sum: a rank asked to stop
 * adds -Inf instead of its sum of squares, so every rank sees -Inf (NaN if
 * another rank's sum overflowed to +Inf), which no sum of squares is, at the
 * same call: the fitness is then NaN on every rank, the search ends there
 * everywhere (DC_ERR_NUMERIC, which dbeetle turns back into the cancel). */
static double dsse(const double *x, int64_t D, void *user) {
    dstage *w = user;
    (void)D;
    double total = dci_cancel_requested() ? -INFINITY : dci_scdbas_sse(&w->fit, x);
    dc_status st = dci_mpi_allreduce(&total, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_SEARCH, "fitness");
    if (st != DC_OK) {
        if (w->err == DC_OK) {
            w->err = st;
            dci_error_save(&w->err_msg);
        }
        return NAN;
    }
    if (isnan(total) || total == -INFINITY) {
        w->cancelled = 1;
        return NAN;
    }
    return total;
}

/* One improved beetle (methods/scdbas.c, improved_beetle) on the blocks:
 * k-means++ and Lloyd, then excursions, each end point and better best
 * point polished by Lloyd, into w->cur / w->lab (the beetle's centres and
 * labels) and its traces w->btr / w->btrc. */
static dc_status dbeetle(dstage *w, double damp, uint64_t seed, double *sse, double *start,
                         int64_t *impr) {
    const dci_scdbas_opts *o = w->o;
    const dc_dbas_config *cfg = w->cfg;
    float *cur = w->cur, *cand = w->cand;
    int32_t *lab = w->lab, *cand_lab = w->cand_lab;
    double *xs = w->xs, *tr = w->tr, *trc = w->trc, *btr = w->btr, *btrc = w->btrc;
    const int64_t iters = cfg->iterations, K = w->K, D = w->D;
    dci_kmeans_mpi_opts ko = {1, POLISH_MAX_ITER, POLISH_TOL, seed};
    const dci_block yb = {w->Y, w->nl, K, w->n, w->row0};
    DCI_TRY(dci_kmeans_mpi(&yb, K, &ko, lab, cur, sse, NULL));
    *start = *sse;
    btr[0] = btrc[0] = *sse;
    double best_seen = *sse;
    double *x = xs, *xb = xs + D, *xf = xs + 2 * D;
    dci_rng rng;
    dci_rng_init(&rng, seed, DCI_STREAM_DBAS);
    for (int64_t t0 = 0; t0 < iters; t0 += o->excursion) {
        const int64_t len = iters - t0 < o->excursion ? iters - t0 : o->excursion;
        dc_dbas_config bc = *cfg;
        double rms = sqrt(*sse / (double)w->n);
        bc.step = cfg->step * sqrt((double)K) * (rms > 0.0 ? rms : 1.0);
        bc.iterations = len;
        bc.beetles = 1;
        bc.damp = damp;
        bc.seed = dci_rng_u64(&rng);
        bc.progress = NULL;
        for (int64_t i = 0; i < D; i++) x[i] = cur[i];
        double fb;
        /* no local cancel check or allocation inside: every rank leaves at the same call */
        dc_status st = dci_dbas_run_collective(dsse, w, D, x, 1, &bc, &w->dw, xb, &fb, xf, tr, trc);
        if (w->err != DC_OK) {
            dci_error_restore(&w->err_msg);
            return w->err;
        }
        if (w->cancelled)
            return dci_fail(DC_ERR_CANCELLED, "scdbas (distributed): beetle search cancelled (on "
                            "some rank) in the excursion from iteration %lld", (long long)t0);
        DCI_TRY(st);
        for (int64_t t = 1; t <= len; t++) {
            if (tr[t] < best_seen) best_seen = tr[t];
            btr[t0 + t] = best_seen;
            btrc[t0 + t] = trc[t];
        }
        const double *pts[2] = {xf, fb < tr[0] ? xb : NULL};
        for (int q = 0; q < 2; q++) {
            if (!pts[q]) continue;
            for (int64_t i = 0; i < D; i++) cand[i] = (float)pts[q][i];
            double s;
            DCI_TRY(dci_kmeans_mpi_refine(&yb, K, cand, &ko, cand_lab, &s));
            if (s < *sse) {
                memcpy(cur, cand, sizeof(float) * (size_t)D);
                memcpy(lab, cand_lab, sizeof(int32_t) * (size_t)w->nl);
                *sse = s;
                (*impr)++;
            }
        }
        if (*sse < best_seen) best_seen = *sse;
        btr[t0 + len] = best_seen;
        DCI_TRY(dci_mpi_cancel_agree("scdbas (distributed)"));
    }
    return DC_OK;
}

static void merge_min(double *dst, const double *src, int64_t len) {
    for (int64_t t = 0; t < len; t++)
        if (src[t] < dst[t]) dst[t] = src[t];
}

dc_status dci_scdbas_fit_mpi(dc_solver *s, const dc_dataset *ds) {
    int64_t base[DCI_PH_COUNT];
    dci_mpi_snapshot(base);
    dci_scdbas_opts o;
    DCI_TRY(dci_scdbas_opts_from_solver(s, &o));
    if (o.mode == DCI_SCDBAS_PAPER)
        return dci_fail(DC_ERR_UNSUPPORTED, "scdbas (distributed): dbas_mode = paper is not "
                        "distributed yet (improved is)");
    dc_dbas_config cfg;
    DCI_TRY(dci_dbas_resolve(&o.dbas, &cfg));
    float *Y = NULL;
    int64_t n, row0, K;
    const int64_t nl = dc_dataset_rows(ds);
    DCI_TRY(dci_spectral_fit_embedding_mpi(s, ds, "scdbas", &Y, &n, &row0, &K));
    const int64_t D = K * K, iters = cfg.iterations, len = iters + 1, B = cfg.beetles;
    const int runs = o.record_undamped ? 2 : 1;
    dstage w = {.Y = Y, .nl = nl, .n = n, .row0 = row0, .K = K, .D = D};
    w.yc = DCI_NEW_ARRAY(float, nl * K, "scdbas centred data");
    w.yn = DCI_NEW_ARRAY(float, nl + D + K + DCI_SSE_TILE * K, "scdbas fitness buffers");
    w.mu = DCI_NEW_ZEROS(double, K, "scdbas mean");
    float *cbuf = DCI_NEW_ARRAY(float, 3 * D, "scdbas centres");
    int32_t *lbuf = DCI_NEW_ARRAY(int32_t, 3 * nl, "scdbas labels");
    double *xs = DCI_NEW_ARRAY(double, 3 * D + 4 * len, "scdbas individuals");
    double *traces = DCI_NEW_ARRAY(double, 4 * len, "scdbas traces");
    dc_status st = w.yc && w.yn && w.mu && cbuf && lbuf && xs && traces ? DC_OK : DC_ERR_NOMEM;
    /* the search's work space here, agreed: dci_dbas_run_collective allocates nothing */
    if (st == DC_OK) st = dci_dbas_work_alloc(&w.dw, 1, D);
    st = dci_mpi_agree(st, "scdbas");
    const double t0 = dci_now();
    dci_scdbas_result r = {INFINITY, INFINITY, 0};
    if (st != DC_OK) goto done;
    /* the fitness works on Y centred at the mean of all n rows */
    for (int64_t i = 0; i < nl; i++)
        for (int64_t m = 0; m < K; m++) w.mu[m] += Y[i * K + m];
    if ((st = dci_mpi_allreduce(w.mu, K, MPI_DOUBLE, MPI_SUM, DCI_PH_SEARCH, "mean"))) goto done;
    for (int64_t m = 0; m < K; m++) w.mu[m] /= (double)n;
    for (int64_t i = 0; i < nl; i++) {
        double q = 0.0;
        for (int64_t m = 0; m < K; m++) {
            double v = Y[i * K + m] - w.mu[m];
            w.yc[i * K + m] = (float)v;
            q += v * v;
        }
        w.yn[i] = (float)q;
    }
    w.fit = (dci_sse_ctx){.Y = w.yc, .n = nl, .d = K, .K = K, .mu = w.mu, .yn = w.yn,
                          .c = w.yn + nl, .cn = w.yn + nl + D, .dist = w.yn + nl + D + K};
    float *best_c = cbuf + 2 * D;
    int32_t *best_l = lbuf + 2 * nl;
    w.o = &o;
    w.cfg = &cfg;
    w.cur = cbuf;
    w.cand = cbuf + D;
    w.lab = lbuf;
    w.cand_lab = lbuf + nl;
    w.xs = xs;
    w.tr = xs + 3 * D;
    w.trc = w.tr + len;
    w.btr = w.trc + len;
    w.btrc = w.btr + len;
    for (int64_t t = 0; t < 4 * len; t++) traces[t] = INFINITY;
    dci_rng master;
    dci_rng_init(&master, cfg.seed, DCI_STREAM_SCDBAS);
    for (int64_t b = 0; b < B; b++) {
        const uint64_t seed = dci_rng_u64(&master);
        for (int run = 0; run < runs; run++) {
            const double damp = run == 0 ? cfg.damp : 0.0;
            double sse, start;
            int64_t impr = 0;
            st = dbeetle(&w, damp, seed, &sse, &start, &impr);
            if (st != DC_OK) goto done;
            merge_min(traces + 2 * run * len, w.btr, len);
            merge_min(traces + (2 * run + 1) * len, w.btrc, len);
            if (run == 1) continue;
            r.improvements += impr;
            if (start < r.fitness_start) r.fitness_start = start;
            if (sse < r.fitness) {
                r.fitness = sse;
                memcpy(best_l, w.lab, sizeof(int32_t) * (size_t)nl);
                memcpy(best_c, w.cur, sizeof(float) * (size_t)D);
            }
            /* a cancel from the callback (or dc_solver_cancel) of any rank: all stop */
            st = dci_mpi_progress(s, "dbas", (long long)((b + 1) * iters),
                                  (long long)(B * iters), r.fitness);
            if (st != DC_OK) goto done;
        }
    }
    const double t_assign = dci_now() - t0;
    int32_t *labels = DCI_NEW_ARRAY(int32_t, nl, "scdbas labels");
    st = dci_mpi_agree(labels ? DC_OK : DC_ERR_NOMEM, "scdbas");
    if (st != DC_OK) {
        dci_free(labels);
        goto done;
    }
    memcpy(labels, best_l, sizeof(int32_t) * (size_t)nl);
    if ((st = dci_mpi_put_labels(s, labels, nl, n))) goto done;
    /* local (memory) failures below: agreed before the byte counters' allreduce */
    st = dci_solver_put_output_copy(s, "centers", best_c, K, K);
    if (st == DC_OK) st = dci_scdbas_put_traces(s, traces, len, o.record_undamped);
    if (st == DC_OK) st = dci_solver_put_stat(s, "seconds_assign", t_assign);
    if (st == DC_OK) st = dci_solver_put_stat(s, "fitness", r.fitness);
    if (st == DC_OK) st = dci_solver_put_stat(s, "fitness_start", r.fitness_start);
    if (st == DC_OK) st = dci_solver_put_stat(s, "improvements", (double)r.improvements);
    if (st == DC_OK) st = dci_solver_put_stat(s, "beetles", (double)B);
    if (st == DC_OK) st = dci_solver_put_stat(s, "dbas_iters", (double)iters);
    st = dci_mpi_agree(st, "scdbas");
    if (st == DC_OK) st = dci_mpi_put_stats(s, base);
done:
    dci_dbas_work_free(&w.dw);
    dci_free(Y);
    dci_free(w.yc);
    dci_free(w.yn);
    dci_free(w.mu);
    dci_free(cbuf);
    dci_free(lbuf);
    dci_free(xs);
    dci_free(traces);
    return st;
}
