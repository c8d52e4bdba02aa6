/* SCDBAS clustering stage (docs/methods.md "SCDBAS and NJW"): K centres found by the damped beetle
 * antennae search minimising the within-cluster sum of squares (SSE) of the
 * rows of Y. Separate from the solver method so that other compositions
 * (image segmentation) and the unit tests can call it on any n x d matrix. */
#ifndef DCI_METHODS_SCDBAS_H
#define DCI_METHODS_SCDBAS_H

#include <stdint.h>
#include "deepclust/dbas.h"

typedef enum dci_scdbas_mode {
    /* Default: the beetle search as a basin-hopping optimiser. Each beetle
     * starts from a k-means++ seeding refined by Lloyd iterations (a local
     * minimum of the SSE), then repeats excursions: a damped search of
     * `excursion` iterations from its current centres, with the step
     * relative to the data scale (step_0 = step * sqrt(K) * RMS distance of
     * a row to its centre), whose end point (and best point, if better than
     * the start) is polished by Lloyd iterations and kept if its SSE is
     * lower. The lowest SSE over the beetles wins. */
    DCI_SCDBAS_IMPROVED = 0,
    /* The paper as published: one beetle (unless asked for more) started at
     * K random rows of Y, absolute step, labels = nearest centre of the best
     * individual, no polish. */
    DCI_SCDBAS_PAPER = 1
} dci_scdbas_mode;

#define DCI_SCDBAS_DEFAULT_ITERS 100
#define DCI_SCDBAS_DEFAULT_EXCURSION 20
#define DCI_SCDBAS_PAPER_STEP 0.1
#define DCI_SCDBAS_IMPROVED_STEP 2.0

typedef struct dci_scdbas_opts {
    dci_scdbas_mode mode;
    dc_dbas_config dbas;  /* step, eta, c, iterations (per beetle), damp, beetles, seed,
                             progress */
    int64_t excursion;    /* improved mode: search iterations per excursion, >= 1 */
    int record_undamped;  /* also run the same search with damp = 0 (traces only) */
} dci_scdbas_opts;

typedef struct dci_scdbas_result {
    double fitness;        /* SSE of the returned labels and centres */
    double fitness_start;  /* lowest SSE among the beetles' start points */
    int64_t improvements;  /* improved mode: polished excursions that lowered an SSE */
} dci_scdbas_result;

/* Where dci_scdbas_cluster writes: labels (n) and centers (K x d), and when
 * not NULL iterations + 1 values each of trace / trace_current (the best SSE
 * found so far -- including polished excursions -- and the SSE of the
 * beetle's current position, lowest over the beetles, after each search
 * iteration), the same for the undamped search if record_undamped, and res. */
typedef struct dci_scdbas_out {
    int32_t *labels;
    float *centers;
    double *trace, *trace_current, *trace_undamped, *trace_undamped_current;
    dci_scdbas_result *res;
} dci_scdbas_out;

/* Y: n x d (finite), 1 <= K <= n. Deterministic for a given dbas.seed. */
dc_status dci_scdbas_cluster(const float *Y, int64_t n, int64_t d, int64_t K,
                             const dci_scdbas_opts *o, const dci_scdbas_out *out);

/* The fitness: the SSE of the rows Y against K centres. Distances come from
 * ||y||^2 + ||c||^2 - 2 y.c with one sgemm per tile of DCI_SSE_TILE rows, on
 * a copy of Y centred at its mean mu: the float expansion then loses nothing
 * that matters next to the differences the beetle compares, wherever the
 * data sit. Per-row minima are summed in double. */
#define DCI_SSE_TILE 1024
typedef struct dci_sse_ctx {
    const float *Y; /* n x d, centred */
    int64_t n, d, K;
    const double *mu; /* d: the mean subtracted from Y */
    float *yn;   /* n squared row norms */
    float *c;    /* K x d centres of the individual, centred, float */
    float *cn;   /* K squared centre norms */
    float *dist; /* DCI_SSE_TILE x K */
} dci_sse_ctx;
/* The SSE of the centres x (K x d, not centred). */
double dci_scdbas_sse(dci_sse_ctx *c, const double *x);

/* The search options of a "scdbas" solver's parameters (checked); and its
 * trace outputs from the four traces of len values each (the undamped two
 * only with record_undamped). Also used by the distributed fit. */
struct dc_solver;
dc_status dci_scdbas_opts_from_solver(const struct dc_solver *s, dci_scdbas_opts *o);
dc_status dci_scdbas_put_traces(struct dc_solver *s, const double *traces, int64_t len,
                                int record_undamped);

#endif
