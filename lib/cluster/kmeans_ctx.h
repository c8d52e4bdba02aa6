/* Internals of k-means common to its files (cluster/kmeans.c: Lloyd and
 * the entry points; kmeans_ctx.c: the problem context and its row and
 * distance helpers; kmeans_seed.c: k-means++ seeding). Not installed. */
#ifndef DCI_KMEANS_CTX_H
#define DCI_KMEANS_CTX_H

#include <stdint.h>

#include "core/rng.h"
#include "deepclust/status.h"

/* The hot loops over a row benefit from 8-wide vectors; the default build
 * targets baseline x86-64. Without FMA contraction (ISO C mode) both clones
 * round identically, so results do not depend on the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define DCI_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DCI_VECTOR_CLONES
#endif

/* One k-means problem: the data, their squared norms and the work buffers,
 * allocated once and reused by every iteration and restart. */
typedef struct km_ctx {
    const float *x;
    int64_t n, d, k;
    float *shift;     /* NULL, or the data mean subtracted from every row */
    float *xn;        /* n squared norms of the (shifted) rows */
    double xn_total;  /* their sum, in double */
    double tol_scale; /* mean per-feature variance */
    int64_t tile;     /* rows per sgemm call */
    float *tbuf;      /* tile x d gathered / shifted rows */
    float *dist;      /* tile x width sgemm results */
    float *cn;        /* width squared norms of centres / candidates */
    int64_t *todo;    /* tile row indices gathered into tbuf */
} km_ctx;

/* Mean, per-feature variance, the shift if needed, squared row norms, and
 * buffers for up to `width` centres per sgemm. */
dc_status dci_km_ctx_init(km_ctx *c, const float *x, int64_t n, int64_t d, int64_t k, int64_t width);
void dci_km_ctx_free(km_ctx *c);
/* Copies row i of the data, in the centres' coordinates, to out (d floats). */
void dci_km_shifted_row(const km_ctx *c, int64_t i, float *out);
float dci_km_sq_norm(const float *v, int64_t d);
float dci_km_root(float v); /* sqrt of max(v, 0) */
/* Squared distance of a - shift (shift may be NULL) to b, from differences. */
float dci_km_diff_dist2(const float *a, const float *shift, const float *b, int64_t d);
/* Distance from row i to centre cc (shifted coordinates). */
float dci_km_point_dist(const km_ctx *c, int64_t i, const float *cc);
/* Rows [i0, i0+m) in the centres' coordinates (pointer into x or tbuf). */
const float *dci_km_tile_rows(const km_ctx *c, int64_t i0, int64_t m);
/* The m rows listed in c->todo, gathered into tbuf. */
const float *dci_km_gather_rows(const km_ctx *c, int64_t m);
/* dist (m x kc) = -2 rows . P^T; callers add the squared norms. */
void dci_km_tile_dot(const km_ctx *c, const float *rows, int64_t m, const float *p, int64_t kc);
/* c->cn = squared norms of np points. */
void dci_km_point_norms(km_ctx *c, const float *p, int64_t np);

/* Seeding state for k-means++. */
typedef struct dci_km_seed {
    float *closest; /* n: squared distance to the nearest chosen centre */
    int32_t *near;  /* n: that centre */
    double *cum;    /* n */
    float *cand_d;  /* n x trials squared distances (INFINITY: cannot be closer) */
    float *cand;    /* trials x d */
    float *cc2;     /* trials x k: squared candidate-centre distances */
    int64_t trials;
} dci_km_seed;
/* Candidates per greedy k-means++ step (2 + log k, as scikit-learn): the
 * distance tiles are sized for them. */
int64_t dci_km_local_trials(int64_t k);
/* dci_km_seed_free leaves the struct empty: a second call frees nothing. */
void dci_km_seed_free(dci_km_seed *s);
dc_status dci_km_seed_init(dci_km_seed *s, int64_t n, int64_t d, int64_t k);
/* Greedy k-means++ (as scikit-learn): k centres (shifted coordinates). */
void dci_km_kmeanspp(km_ctx *c, dci_km_seed *s, dci_rng *rng, float *cent);

#endif
