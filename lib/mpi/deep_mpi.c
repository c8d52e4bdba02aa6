/* The nn/dist.h hooks on MPI (see deep_mpi.h and docs/scaling.md). */
#include "mpi/deep_mpi.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "deepclust/mpi.h"
#include "mpi/comm.h"
#include "mpi/kmeans_mpi.h"
#include "nn/sgd.h"

typedef struct deep_mpi {
    dci_dist pub;           /* first: the handle the hooks get */
    int64_t *rows, *share, *counts; /* per rank: block rows, batch share, gather counts */
    float *buf;             /* a step's gradients and extras */
    int64_t cap;
    int64_t base[DCI_PH_COUNT];
} deep_mpi;

/* Rank r's rows in the global batch of step it. */
static int64_t share_at(const deep_mpi *g, int r, int64_t it) {
    return dci_dist_batch_at(g->rows[r], g->share[r], it);
}

static dc_status plan(dci_dist *d, int64_t batch) {
    deep_mpi *g = (deep_mpi *)d;
    for (int r = 0; r < d->size; r++) {
        int64_t c = 0;
        dc_mpi_block(batch, r, d->size, NULL, &c);
        g->share[r] = c < g->rows[r] ? c : g->rows[r];
        if (g->share[r] < 1)
            return dci_fail(DC_ERR_INVALID_ARG,
                            "batch = %lld on %d MPI ranks: every rank needs at least one row of "
                            "each batch (batch >= ranks)",
                            (long long)batch, d->size);
    }
    d->batch = batch;
    d->bl = g->share[d->rank];
    return DC_OK;
}

/* Weights b_r / B with B the sum of every rank's rows this step (known
 * locally: each rank's sampler cycles through its block in fixed-size
 * batches), so the sum is the mean over the global batch; with one rank the
 * weight is exactly 1 and the step the single-process one. The two failure
 * counts ride in the same allreduce. */
static dc_status step(dci_dist *d, dci_sgd *s, int64_t it, int64_t b, int phase,
                      float extra[DCI_DIST_EXTRA], dc_status local) {
    deep_mpi *g = (deep_mpi *)d;
    const int64_t P = dci_sgd_param_count(s), len = P + DCI_DIST_EXTRA;
    if (len > g->cap) { /* the same on every rank: once per optimiser */
        float *nb = dci_realloc(g->buf, (size_t)len * sizeof *nb);
        if (nb) {
            g->buf = nb;
            g->cap = len;
        }
        DCI_TRY(dci_mpi_agree(nb ? DC_OK : dci_fail(DC_ERR_NOMEM, "gradient buffer"),
                              "gradient buffer"));
    }
    int64_t total = 0;
    for (int r = 0; r < d->size; r++) total += share_at(g, r, it);
    float *buf = g->buf;
    const int64_t count = len;
    memset(buf, 0, (size_t)count * sizeof *buf);
    if (local == DC_OK) {
        const float w = (float)((double)b / (double)total);
        dci_sgd_grads_get(s, buf, w);
        for (int i = 0; i < 3; i++) buf[P + i] = w * extra[i];
    }
    float *flags = buf + count - 2;
    flags[0] = local == DC_ERR_NUMERIC;
    flags[1] = local != DC_OK && local != DC_ERR_NUMERIC;
    DCI_TRY(dci_mpi_allreduce(buf, count, MPI_FLOAT, MPI_SUM,
                              phase == DCI_DIST_TRAIN ? DCI_PH_TRAIN : DCI_PH_PRETRAIN,
                              phase == DCI_DIST_TRAIN ? "clustering gradients" : "pre-training gradients"));
    const char *what = phase == DCI_DIST_TRAIN ? "clustering" : "pre-training";
    if (flags[1] > 0.0f)
        return local != DC_OK && local != DC_ERR_NUMERIC
                   ? local
                   : dci_fail(DC_ERR_CANCELLED,
                              "%s step %lld: stopped on rank %d of %d because another rank "
                              "failed or was cancelled (see its message)",
                              what, (long long)it, d->rank, d->size);
    if (flags[0] > 0.0f)
        return local == DC_ERR_NUMERIC
                   ? local
                   : dci_fail(DC_ERR_NUMERIC,
                              "%s step %lld: the batch of another rank diverged (%g of %d "
                              "ranks; see its message)",
                              what, (long long)it, (double)flags[0], d->size);
    for (int i = 0; i < 3; i++) extra[i] = buf[P + i];
    dci_sgd_step_from(s, buf);
    return DC_OK;
}

static dc_status share(dci_dist *d, dci_sgd *s) {
    (void)d;
    for (int i = 0; i < dci_sgd_block_count(s); i++) {
        int64_t count = 0;
        float *p = dci_sgd_params(s, i, &count);
        DCI_TRY(dci_mpi_bcast(p, count, MPI_FLOAT, 0, DCI_PH_SETUP, "initial weights"));
    }
    return DC_OK;
}

static dc_status gather(dci_dist *d, float *all, int64_t cols, const char *what) {
    deep_mpi *g = (deep_mpi *)d;
    for (int r = 0; r < d->size; r++) g->counts[r] = g->rows[r] * cols;
    return dci_mpi_allgatherv_inplace(all, g->counts, MPI_FLOAT, DCI_PH_EMBED, what);
}

static dc_status gather_u64(dci_dist *d, const void *local, int64_t count, void *all,
                            const char *what) {
    (void)d;
    return dci_mpi_gatherv(local, count, MPI_UINT64_T, all, DCI_PH_CKPT, what);
}

static dc_status gather_u64_all(dci_dist *d, uint64_t *all, int64_t cols, const char *what) {
    deep_mpi *g = (deep_mpi *)d;
    for (int r = 0; r < d->size; r++) g->counts[r] = g->rows[r] * cols;
    return dci_mpi_allgatherv_inplace(all, g->counts, MPI_UINT64_T, DCI_PH_EMBED, what);
}

static void batch_rows(const dci_dist *d, int64_t it, int64_t *off, int64_t *total) {
    const deep_mpi *g = (const deep_mpi *)d;
    *off = *total = 0;
    for (int r = 0; r < d->size; r++) {
        const int64_t b = share_at(g, r, it);
        if (r < d->rank) *off += b;
        *total += b;
    }
}

static dc_status batch_gather(dci_dist *d, int64_t it, float *all, int64_t cols,
                              const char *what) {
    deep_mpi *g = (deep_mpi *)d;
    for (int r = 0; r < d->size; r++)
        g->counts[r] = share_at(g, r, it) * cols;
    return dci_mpi_allgatherv_inplace(all, g->counts, MPI_FLOAT, DCI_PH_TRAIN, what);
}

static dc_status batch_sum(dci_dist *d, float *v, int64_t count, const char *what) {
    (void)d;
    return dci_mpi_allreduce(v, count, MPI_FLOAT, MPI_SUM, DCI_PH_TRAIN, what);
}

static dc_status max_f64(dci_dist *d, double *v, int64_t count, const char *what) {
    (void)d;
    return dci_mpi_allreduce(v, count, MPI_DOUBLE, MPI_MAX, DCI_PH_SETUP, what);
}

static dc_status agree(dci_dist *d, dc_status st, const char *what) {
    (void)d;
    return dci_mpi_agree(st, what);
}

/* crc32_combine in rank order: the CRC of the blocks one after the other,
 * which is the whole data's (checkpoints record that). */
static dc_status crc(dci_dist *d, uint32_t local, int64_t bytes, uint64_t *out) {
    uint64_t mine[2] = {local, (uint64_t)bytes};
    uint64_t *all = DCI_NEW_ARRAY(uint64_t, 2 * (int64_t)d->size, "data CRC");
    DCI_TRY(dci_mpi_agree(all ? DC_OK : DC_ERR_NOMEM, "data CRC"));
    dc_status st = dci_mpi_allgather(mine, 2, MPI_UINT64_T, all, DCI_PH_SETUP, "data CRC");
    if (st == DC_OK) {
        uLong c = (uLong)all[0];
        for (int r = 1; r < d->size; r++)
            c = crc32_combine(c, (uLong)all[2 * r], (z_off_t)all[2 * r + 1]);
        *out = (uint32_t)c;
    }
    dci_free(all);
    return st;
}

static dc_status stats(dci_dist *d, void *solver) {
    DCI_TRY(dci_solver_put_stat((dc_solver *)solver, "rows_local", (double)d->nl));
    return dci_mpi_put_stats((dc_solver *)solver, ((deep_mpi *)d)->base);
}

static void dist_free(dci_dist *d) {
    deep_mpi *g = (deep_mpi *)d;
    if (!g) return;
    dci_free(g->rows);
    dci_free(g->buf);
    dci_free(g);
}

dc_status dci_deep_dist_create(dci_dist **out, const struct dc_dataset *ds, const char *method) {
    *out = NULL;
    deep_mpi *g = DCI_NEW_ZEROS(deep_mpi, 1, "distributed training");
    const int size = dci_mpi_size();
    if (g) dci_mpi_snapshot(g->base);
    if (g && !(g->rows = DCI_NEW_ARRAY(int64_t, 3 * (int64_t)size, "distributed training"))) {
        dci_free(g);
        g = NULL;
    }
    dc_status st = dci_mpi_agree(g ? DC_OK : DC_ERR_NOMEM, method);
    int64_t n = 0, row0 = 0;
    if (st == DC_OK) st = dci_mpi_rows(ds, method, &n, &row0);
    int64_t nl = dc_dataset_rows(ds);
    if (st == DC_OK)
        st = dci_mpi_allgather(&nl, 1, MPI_INT64_T, g->rows, DCI_PH_SETUP, "rows per rank");
    if (st != DC_OK) {
        dist_free(&g->pub);
        return st;
    }
    g->share = g->rows + size;
    g->counts = g->share + size;
    dci_dist *d = &g->pub;
    d->rank = dci_mpi_rank();
    d->size = size;
    d->n = n;
    d->nl = nl;
    d->row0 = row0;
    d->plan = plan;
    d->step = step;
    d->share = share;
    d->gather = gather;
    d->gather_u64 = gather_u64;
    d->gather_u64_all = gather_u64_all;
    d->batch_rows = batch_rows;
    d->batch_gather = batch_gather;
    d->batch_sum = batch_sum;
    d->max_f64 = max_f64;
    d->agree = agree;
    d->crc = crc;
    d->stats = stats;
    d->free = dist_free;
    *out = d;
    return DC_OK;
}
