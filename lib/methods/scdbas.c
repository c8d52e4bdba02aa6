/* SCDBAS (Zhang, Liu & Wang 2020): spectral embedding with the adaptive-sigma
 * Gaussian affinity, then K centres found by the damped beetle antennae
 * search (docs/methods.md "SCDBAS and NJW"). Paper mode follows the publication; the default
 * (improved) mode uses the search to hop between the local minima that Lloyd
 * iterations find -- see dci_scdbas_mode in scdbas.h, and docs/scdbas.md for
 * the measurements behind it. */
#include "methods/scdbas.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cluster/kmeans.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "methods/spectral_common.h"
#include "opt/dbas.h"
#ifdef DCI_HAVE_MPI
#include "mpi/comm.h"
#include "mpi/spectral_mpi.h"
#endif

/* Lloyd refinement of the improved mode: the k-means defaults. */
#define POLISH_MAX_ITER 300
#define POLISH_TOL 1e-4

/* The fitness, evaluated three times per beetle and iteration: see
 * dci_scdbas_sse in scdbas.h. */

double dci_scdbas_sse(dci_sse_ctx *c, const double *x) {
    const int64_t n = c->n, d = c->d, K = c->K;
    for (int64_t j = 0; j < K; j++) {
        double s = 0.0;
        for (int64_t m = 0; m < d; m++) {
            double v = x[j * d + m] - c->mu[m];
            c->c[j * d + m] = (float)v;
            s += v * v;
        }
        c->cn[j] = (float)s;
    }
    double total = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += DCI_SSE_TILE) {
        const int64_t t = n - i0 < DCI_SSE_TILE ? n - i0 : DCI_SSE_TILE;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)K, (int)d, -2.0f,
                    c->Y + i0 * d, (int)d, c->c, (int)d, 0.0f, c->dist, (int)K);
        for (int64_t r = 0; r < t; r++) {
            const float *row = c->dist + r * K;
            float best = row[0] + c->cn[0];
            for (int64_t j = 1; j < K; j++) {
                float v = row[j] + c->cn[j];
                best = v < best ? v : best;
            }
            best += c->yn[i0 + r];
            total += best > 0.0f ? best : 0.0f;
        }
    }
    return total;
}

static double sse_fitness(const double *x, int64_t D, void *user) {
    (void)D;
    return dci_scdbas_sse(user, x);
}

/* Maps the per-beetle "dbas" progress onto one count over all searches. */
typedef struct progress_map {
    dc_progress_fn fn;
    void *user;
    long long offset, total;
} progress_map;

static int progress_adapter(void *user, const char *phase, long long done, long long total,
                            double value) {
    const progress_map *p = user;
    (void)total;
    return p->fn(p->user, phase, p->offset + done, p->total, value);
}

/* Work space of one clustering stage, used by its beetles in turn. */
typedef struct stage {
    const float *Y;
    int64_t n, d, K, D;
    dci_sse_ctx fit;
    dc_dbas_config cfg;  /* resolved */
    int64_t excursion;
    progress_map pm;
    double *x, *xb, *xf; /* D each: start, best and final point of a search */
    double *tr, *trc;    /* search traces, iterations + 1 each */
    float *cur, *cand;   /* D each: the beetle's centres, a polished candidate */
    int32_t *lab, *cand_lab;
    float *cbuf;         /* owns cur and cand (which swap) */
    int32_t *lbuf;       /* owns lab and cand_lab */
    int64_t *idx;        /* n start-row indices (paper mode) */
    float *yc;           /* n x d centred copy of Y for the fitness */
    double *mu;          /* d column means */
} stage;

/* Paper start: K distinct random rows of Y. */
static void start_random_rows(stage *w, dci_rng *rng) {
    const int64_t n = w->n, d = w->d;
    for (int64_t i = 0; i < n; i++) w->idx[i] = i;
    for (int64_t j = 0; j < w->K; j++) {
        int64_t r = j + (int64_t)dci_rng_below(rng, (uint64_t)(n - j));
        int64_t t = w->idx[j];
        w->idx[j] = w->idx[r];
        w->idx[r] = t;
        for (int64_t m = 0; m < d; m++) w->x[j * d + m] = w->Y[w->idx[j] * d + m];
    }
}

/* One paper beetle: a single search, labels from the nearest centre of its best point. */
static dc_status paper_beetle(stage *w, double damp, uint64_t seed, long long offset,
                              double *btr, double *btrc, double *sse, double *start) {
    dci_rng rng;
    dci_rng_init(&rng, seed, DCI_STREAM_SCDBAS);
    start_random_rows(w, &rng);
    dc_dbas_config bc = w->cfg;
    bc.beetles = 1;
    bc.seed = seed;
    bc.damp = damp;
    w->pm.offset = offset;
    DCI_TRY(dci_dbas_run(sse_fitness, &w->fit, w->D, w->x, 1, &bc, w->xb, NULL, NULL, btr, btrc));
    *start = btr[0];
    for (int64_t i = 0; i < w->D; i++) w->cur[i] = (float)w->xb[i];
    return dci_kmeans_assign(w->Y, w->n, w->d, w->cur, w->K, w->lab, sse);
}

/* Lloyd from the point x; replaces the beetle's centres if the SSE drops. */
static dc_status polish(stage *w, const double *x, double *sse, int64_t *improvements) {
    for (int64_t i = 0; i < w->D; i++) w->cand[i] = (float)x[i];
    double s;
    DCI_TRY(dci_kmeans_refine(w->Y, w->n, w->d, w->K, w->cand, POLISH_MAX_ITER, POLISH_TOL,
                              w->cand_lab, &s, NULL));
    if (s < *sse) {
        float *tc = w->cur;
        w->cur = w->cand;
        w->cand = tc;
        int32_t *tl = w->lab;
        w->lab = w->cand_lab;
        w->cand_lab = tl;
        *sse = s;
        (*improvements)++;
    }
    return DC_OK;
}

/* One improved beetle: k-means++ and Lloyd, then excursions (see dci_scdbas_mode). */
static dc_status improved_beetle(stage *w, double damp, uint64_t seed, long long offset,
                                 double *btr, double *btrc, double *sse, double *start,
                                 int64_t *improvements) {
    const int64_t iters = w->cfg.iterations, K = w->K;
    dci_kmeans_opts ko;
    dci_kmeans_opts_default(&ko);
    ko.n_init = 1;
    ko.seed = seed;
    DCI_TRY(dci_kmeans(w->Y, w->n, w->d, K, &ko, w->lab, w->cur, sse, NULL));
    *start = *sse;
    btr[0] = btrc[0] = *sse;
    double best_seen = *sse;
    dci_rng rng; /* one search seed per excursion */
    dci_rng_init(&rng, seed, DCI_STREAM_DBAS);
    for (int64_t t0 = 0; t0 < iters; t0 += w->excursion) {
        const int64_t len = iters - t0 < w->excursion ? iters - t0 : w->excursion;
        dc_dbas_config bc = w->cfg;
        double rms = sqrt(*sse / (double)w->n);
        /* rms = 0: every row sits on a centre; nothing to gain, any step will do. */
        bc.step = w->cfg.step * sqrt((double)K) * (rms > 0.0 ? rms : 1.0);
        bc.iterations = len;
        bc.beetles = 1;
        bc.damp = damp;
        bc.seed = dci_rng_u64(&rng);
        for (int64_t i = 0; i < w->D; i++) w->x[i] = w->cur[i];
        w->pm.offset = offset + t0;
        double fb;
        DCI_TRY(dci_dbas_run(sse_fitness, &w->fit, w->D, w->x, 1, &bc, w->xb, &fb, w->xf,
                             w->tr, w->trc));
        for (int64_t t = 1; t <= len; t++) {
            if (w->tr[t] < best_seen) best_seen = w->tr[t];
            btr[t0 + t] = best_seen;
            btrc[t0 + t] = w->trc[t];
        }
        /* The end point is the hop to another basin; the best point, when the
         * search found one below its start, is a descent worth keeping too. */
        DCI_TRY(polish(w, w->xf, sse, improvements));
        if (fb < w->tr[0]) DCI_TRY(polish(w, w->xb, sse, improvements));
        if (*sse < best_seen) best_seen = *sse;
        btr[t0 + len] = best_seen;
    }
    return DC_OK;
}

static void merge_min(double *dst, const double *src, int64_t len) {
    for (int64_t t = 0; t < len; t++)
        if (src[t] < dst[t]) dst[t] = src[t];
}

static void stage_free(stage *w) {
    dci_free(w->fit.yn);
    dci_free(w->yc);
    dci_free(w->mu);
    dci_free(w->x);
    dci_free(w->cbuf);
    dci_free(w->lbuf);
    dci_free(w->idx);
}

static dc_status stage_init(stage *w, const float *Y, int64_t n, int64_t d, int64_t K,
                            const dci_scdbas_opts *o) {
    dc_dbas_config cfg;
    DCI_TRY(dci_dbas_resolve(&o->dbas, &cfg));
    if (o->mode == DCI_SCDBAS_IMPROVED && o->excursion < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "scdbas: excursion = %lld, need >= 1",
                        (long long)o->excursion);
    if (d > INT_MAX || K > INT_MAX)
        return dci_fail(DC_ERR_SHAPE, "scdbas: d = %lld or K = %lld too large", (long long)d,
                        (long long)K);
    const int64_t D = K * d, len = cfg.iterations + 1, tile = n < DCI_SSE_TILE ? n : DCI_SSE_TILE;
    *w = (stage){.Y = Y, .n = n, .d = d, .K = K, .D = D, .cfg = cfg, .excursion = o->excursion};
    w->fit.yn = DCI_NEW_ARRAY(float, n + D + K + tile * K, "scdbas fitness buffers");
    w->yc = DCI_NEW_ARRAY(float, n * d, "scdbas centred data");
    w->mu = DCI_NEW_ZEROS(double, d, "scdbas data mean");
    w->x = DCI_NEW_ARRAY(double, 3 * D + 2 * len, "scdbas individuals");
    w->cur = w->cbuf = DCI_NEW_ARRAY(float, 2 * D, "scdbas centres");
    w->lab = w->lbuf = DCI_NEW_ARRAY(int32_t, 2 * n, "scdbas labels");
    if (o->mode == DCI_SCDBAS_PAPER) w->idx = DCI_NEW_ARRAY(int64_t, n, "scdbas start rows");
    if (!w->fit.yn || !w->yc || !w->mu || !w->x || !w->cur || !w->lab || (o->mode == DCI_SCDBAS_PAPER && !w->idx)) {
        stage_free(w);
        return DC_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t m = 0; m < d; m++) w->mu[m] += Y[i * d + m];
    for (int64_t m = 0; m < d; m++) w->mu[m] /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t m = 0; m < d; m++) {
            double v = Y[i * d + m] - w->mu[m];
            w->yc[i * d + m] = (float)v;
            s += v * v;
        }
        w->fit.yn[i] = (float)s;
    }
    w->fit.Y = w->yc;
    w->fit.n = n;
    w->fit.d = d;
    w->fit.K = K;
    w->fit.mu = w->mu;
    w->fit.c = w->fit.yn + n;
    w->fit.cn = w->fit.c + D;
    w->fit.dist = w->fit.cn + K;
    w->xb = w->x + D;
    w->xf = w->xb + D;
    w->tr = w->xf + D;
    w->trc = w->tr + len;
    w->cand = w->cur + D;
    w->cand_lab = w->lab + n;
    return DC_OK;
}

dc_status dci_scdbas_cluster(const float *Y, int64_t n, int64_t d, int64_t K,
                             const dci_scdbas_opts *o, const dci_scdbas_out *out) {
    DCI_CHECK_NULL(Y);
    DCI_CHECK_NULL(o);
    DCI_CHECK_NULL(out);
    int32_t *labels = out->labels;
    float *centers = out->centers;
    DCI_CHECK_NULL(labels);
    DCI_CHECK_NULL(centers);
    DCI_TRY(dci_check_shape(n, d, "scdbas embedding"));
    if (K < 1 || K > n)
        return dci_fail(DC_ERR_K_RANGE, "scdbas: K = %lld, need 1 <= K <= n = %lld", (long long)K,
                        (long long)n);
    stage w;
    DCI_TRY(stage_init(&w, Y, n, d, K, o));
    const int improved = o->mode != DCI_SCDBAS_PAPER;
    const int64_t B = w.cfg.beetles, iters = w.cfg.iterations, len = iters + 1;
    const int runs = o->record_undamped ? 2 : 1;
    double *btr = NULL;
    dc_status st = DC_OK;
    if (!(btr = DCI_NEW_ARRAY(double, 2 * len, "scdbas beetle traces"))) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    double *btrc = btr + len;
    double *out_tr[4] = {out->trace, out->trace_current, out->trace_undamped,
                         out->trace_undamped_current};
    for (int q = 0; q < 4; q++)
        if (out_tr[q])
            for (int64_t t = 0; t < len; t++) out_tr[q][t] = INFINITY;
    w.pm = (progress_map){w.cfg.progress, w.cfg.progress_user, 0, (long long)(B * iters * runs)};
    if (w.cfg.progress) {
        w.cfg.progress = progress_adapter;
        w.cfg.progress_user = &w.pm;
    }

    dci_rng master;
    dci_rng_init(&master, w.cfg.seed, DCI_STREAM_SCDBAS);
    dci_scdbas_result r = {INFINITY, INFINITY, 0};
    for (int64_t b = 0; b < B; b++) {
        const uint64_t seed = dci_rng_u64(&master);
        /* run 0: the configured damping; run 1: the same beetle undamped (traces only). */
        for (int run = 0; run < runs; run++) {
            const double damp = run == 0 ? w.cfg.damp : 0.0;
            const long long offset = (long long)((b * runs + run) * iters);
            double sse, start;
            int64_t impr = 0;
            st = improved ? improved_beetle(&w, damp, seed, offset, btr, btrc, &sse, &start, &impr)
                          : paper_beetle(&w, damp, seed, offset, btr, btrc, &sse, &start);
            if (st != DC_OK) goto done;
            if (out_tr[2 * run]) merge_min(out_tr[2 * run], btr, len);
            if (out_tr[2 * run + 1]) merge_min(out_tr[2 * run + 1], btrc, len);
            if (run == 1) continue;
            r.improvements += impr;
            if (start < r.fitness_start) r.fitness_start = start;
            if (sse < r.fitness) {
                r.fitness = sse;
                memcpy(labels, w.lab, sizeof(int32_t) * (size_t)n);
                memcpy(centers, w.cur, sizeof(float) * (size_t)w.D);
            }
        }
    }
    if (out->res) *out->res = r;
done:
    dci_free(btr);
    stage_free(&w);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The solver method. */

#define SCDBAS_PARAMS(X, C) \
    X(C, dbas_mode, CHOICE, 0, 0, 1, DCI_CLOSED, "improved|paper",                                  \
      "improved: beetles start from k-means++ and Lloyd, then hop between local minima with "       \
      "damped search excursions, each polished by Lloyd; paper: one beetle from k random rows "     \
      "of the embedding, absolute step, no polish (as published)")                                  \
    X(C, dbas_step, REAL, 0, 0, 1e6, DCI_CLOSED, NULL,                                              \
      "initial step; 0 = mode default (paper: 0.1, absolute; improved: 2.0, relative to the "       \
      "RMS distance of a point to its centre)")                                                     \
    X(C, dbas_eta, REAL, 0.95, 1e-6, 1, DCI_CLOSED, NULL,                                           \
      "step decay per iteration, in (0, 1]")                                                        \
    X(C, dbas_c, REAL, 5, 1e-6, 1e6, DCI_CLOSED, NULL,                                              \
      "ratio of the step to the antenna length")                                                    \
    X(C, dbas_iters, INT, 0, 0, 1e7, DCI_CLOSED, NULL,                                              \
      "search iterations per beetle; 0 = 100 (improved mode: split into excursions)")               \
    X(C, dbas_excursion, INT, DCI_SCDBAS_DEFAULT_EXCURSION, 1, 1e7, DCI_CLOSED, NULL,               \
      "improved mode: search iterations per excursion (each ends with a Lloyd polish)")             \
    X(C, dbas_damp, REAL, 0.5, 0, 0.999999, DCI_CLOSED, NULL,                                       \
      "damping factor in [0, 1): x_t = damp x_(t-1) + (1 - damp) x~; 0 = undamped BAS")             \
    X(C, dbas_beetles, INT, 0, 0, 10000, DCI_CLOSED, NULL,                                          \
      "independent beetles; 0 = 1 in paper mode, n_init in improved mode")                          \
    X(C, record_undamped, BOOL, 0, 0, 1, DCI_CLOSED, NULL,                                          \
      "also run each beetle with damp = 0 and output its traces (trace_undamped, "                  \
      "trace_undamped_current) for comparison")

typedef struct scdbas_cfg {
    dci_spectral_cfg spectral;
    SCDBAS_PARAMS(DCI_PARAM_MEMBER, ~)
} scdbas_cfg;

static const dci_param_def params[] = {
    DCI_SPECTRAL_PARAMS(DCI_SPECTRAL_ENTRY, scdbas_cfg) SCDBAS_PARAMS(DCI_PARAM_ENTRY, scdbas_cfg)};

static dc_status put_trace(dc_solver *s, const char *name, const double *t, int64_t len) {
    float *f = DCI_NEW_ARRAY(float, len, name);
    if (!f) return DC_ERR_NOMEM;
    for (int64_t i = 0; i < len; i++) f[i] = (float)t[i];
    return dci_solver_put_output(s, name, f, 1, len);
}

dc_status dci_scdbas_opts_from_solver(const dc_solver *s, dci_scdbas_opts *out) {
    const scdbas_cfg *c = s->cfg;
    dci_scdbas_opts o = {0};
    o.mode = c->dbas_mode == 1 ? DCI_SCDBAS_PAPER : DCI_SCDBAS_IMPROVED;
    dc_dbas_config_default(&o.dbas);
    o.dbas.step = c->dbas_step;
    if (o.dbas.step == 0.0)
        o.dbas.step = o.mode == DCI_SCDBAS_PAPER ? DCI_SCDBAS_PAPER_STEP : DCI_SCDBAS_IMPROVED_STEP;
    o.excursion = c->dbas_excursion;
    o.dbas.eta = c->dbas_eta;
    o.dbas.c = c->dbas_c;
    o.dbas.damp = c->dbas_damp;
    o.dbas.iterations = c->dbas_iters;
    if (o.dbas.iterations == 0) o.dbas.iterations = DCI_SCDBAS_DEFAULT_ITERS;
    o.dbas.beetles = c->dbas_beetles;
    if (o.dbas.beetles == 0)
        o.dbas.beetles = o.mode == DCI_SCDBAS_PAPER ? 1 : c->spectral.n_init;
    o.dbas.seed = (uint64_t)c->spectral.seed;
    o.dbas.progress = s->progress;
    o.dbas.progress_user = s->progress_user;
    o.record_undamped = c->record_undamped != 0;
    dc_dbas_config check;
    DCI_TRY(dci_dbas_resolve(&o.dbas, &check));
    *out = o;
    return DC_OK;
}

dc_status dci_scdbas_put_traces(dc_solver *s, const double *traces, int64_t len,
                                int record_undamped) {
    DCI_TRY(put_trace(s, "trace", traces, len));
    DCI_TRY(put_trace(s, "trace_current", traces + len, len));
    if (record_undamped) {
        DCI_TRY(put_trace(s, "trace_undamped", traces + 2 * len, len));
        DCI_TRY(put_trace(s, "trace_undamped_current", traces + 3 * len, len));
    }
    return DC_OK;
}

static dc_status fit(dc_solver *s, const dc_dataset *ds) {
#ifdef DCI_HAVE_MPI
    if (dci_mpi_active()) return dci_scdbas_fit_mpi(s, ds); /* lib/mpi/scdbas_mpi.c */
#endif
    /* Search options first: bad ones fail before the costly embedding. */
    const scdbas_cfg *c = s->cfg;
    dci_scdbas_opts o;
    DCI_TRY(dci_scdbas_opts_from_solver(s, &o));

    const float *Y;
    int64_t n, k;
    DCI_TRY(dci_spectral_fit_embedding(s, ds, "scdbas", &c->spectral, &Y, &n, &k));

    const int64_t len = o.dbas.iterations + 1;
    int32_t *labels = DCI_NEW_ARRAY(int32_t, n, "scdbas labels");
    float *centers = DCI_NEW_ARRAY(float, k * k, "scdbas centres");
    double *traces = DCI_NEW_ARRAY(double, 4 * len, "scdbas traces");
    dci_scdbas_result r = {0};
    double t0 = dci_now();
    dc_status rc = labels && centers && traces ? DC_OK : DC_ERR_NOMEM;
    if (rc == DC_OK)
        rc = dci_scdbas_cluster(Y, n, k, k, &o,
                                &(dci_scdbas_out){labels, centers, traces, traces + len,
                                                  traces + 2 * len, traces + 3 * len, &r});
    double t_assign = dci_now() - t0;
    if (rc == DC_OK) {
        dci_solver_put_labels(s, labels, n);
        labels = NULL;
        rc = dci_solver_put_output(s, "centers", centers, k, k);
        centers = NULL;
    }
    if (rc == DC_OK) rc = dci_scdbas_put_traces(s, traces, len, o.record_undamped);
    dci_free(labels);
    dci_free(centers);
    dci_free(traces);
    DCI_TRY(rc);
    DCI_TRY(dci_solver_put_stat(s, "seconds_assign", t_assign));
    DCI_TRY(dci_solver_put_stat(s, "fitness", r.fitness));
    DCI_TRY(dci_solver_put_stat(s, "fitness_start", r.fitness_start));
    DCI_TRY(dci_solver_put_stat(s, "improvements", (double)r.improvements));
    DCI_TRY(dci_solver_put_stat(s, "beetles", (double)o.dbas.beetles));
    DCI_TRY(dci_solver_put_stat(s, "dbas_iters", (double)o.dbas.iterations));
    return DC_OK;
}

static const dci_output_def outputs[] = {
    {"embedding", NULL},
    {"centers", NULL},
    {"trace", NULL},
    {"trace_current", NULL},
    {"trace_undamped", "record_undamped"},
    {"trace_undamped_current", "record_undamped"},
    {NULL, NULL},
};

const dci_method dci_method_scdbas = {
    .name = "scdbas",
    .params = params,
    .n_params = (int)(sizeof params / sizeof params[0]),
    .cfg_size = sizeof(scdbas_cfg),
    .outputs = outputs,
    .fit = fit,
};
