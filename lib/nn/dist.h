/* Hooks of data-parallel training. The MPI build's glue (lib/mpi/deep_mpi.c)
 * fills them; nn/ and methods/ only call through the pointers, so that the
 * plain library links no MPI, and one process passes NULL everywhere.
 *
 * Every rank holds a block of the rows. Each step every rank draws its own
 * share of the global batch from its own block (its own shuffled order and
 * augmentation streams, rank 0's being the single-process ones), and `step`
 * turns the local gradients into the mean over the global batch before the
 * same update is applied on every rank. */
#ifndef DCI_NN_DIST_H
#define DCI_NN_DIST_H

#include <stdint.h>
#include "deepclust/status.h"

struct dci_sgd;

/* extra[] of a step: the three loss parts (L, L_r, L_c; pre-training: the
 * loss and two zeros), averaged like the gradients, and two failure counts
 * that make one rank's failure every rank's at the same step. */
#define DCI_DIST_EXTRA 5

enum { DCI_DIST_PRETRAIN = 0, DCI_DIST_TRAIN = 1 };

typedef struct dci_dist dci_dist;
struct dci_dist {
    int rank, size;
    int64_t n, nl, row0; /* all rows; this rank's block [row0, row0 + nl) */
    int64_t batch;       /* the global batch B (set by the fit; <= n) */
    int64_t bl;          /* this rank's share of it (set with batch by plan) */
    /* The local batch shares for global batch B; DC_ERR_INVALID_ARG when a
     * rank would get none. Local, the same on every rank. */
    dc_status (*plan)(dci_dist *d, int64_t batch);
    /* The one collective of a training step: the gradients of every block of
     * s (means over this rank's b rows) and extra[0..2] are averaged over the
     * global batch of step `step` (weights b_r / B), then s steps with them.
     * local: this rank's status of the step; any rank's failure fails the
     * step on every rank before the update (DC_ERR_NUMERIC on all when every
     * failure was numeric, else the failing rank's status there and
     * DC_ERR_CANCELLED naming it elsewhere). phase: DCI_DIST_*. */
    dc_status (*step)(dci_dist *d, struct dci_sgd *s, int64_t step, int64_t b, int phase,
                      float extra[DCI_DIST_EXTRA], dc_status local);
    /* Every parameter block of s from rank 0. */
    dc_status (*share)(dci_dist *d, struct dci_sgd *s);
    /* all: n x cols with this rank's rows at row0; every rank's rows in place. */
    dc_status (*gather)(dci_dist *d, float *all, int64_t cols, const char *what);
    /* count 64-bit words of every rank, in rank order, to rank 0's all. */
    dc_status (*gather_u64)(dci_dist *d, const void *local, int64_t count, void *all,
                            const char *what);
    /* all: n x cols words with this rank's rows at row0 -> every rank's in place. */
    dc_status (*gather_u64_all)(dci_dist *d, uint64_t *all, int64_t cols, const char *what);
    /* The global batch of step `step` (every rank's share in rank order):
     * this rank's first row in it and its rows. Local. */
    void (*batch_rows)(const dci_dist *d, int64_t step, int64_t *off, int64_t *total);
    /* all: that global batch, cols floats a row, with this rank's rows in
     * place at its offset -> every rank's in place. */
    dc_status (*batch_gather)(dci_dist *d, int64_t step, float *all, int64_t cols,
                              const char *what);
    /* v summed over the ranks, in place (the clustering phase's). */
    dc_status (*batch_sum)(dci_dist *d, float *v, int64_t count, const char *what);
    /* v: the maximum over the ranks, in place. */
    dc_status (*max_f64)(dci_dist *d, double *v, int64_t count, const char *what);
    /* st of every rank -> the first failure (see dci_mpi_agree). */
    dc_status (*agree)(dci_dist *d, dc_status st, const char *what);
    /* The CRC-32 of the whole data from each rank's CRC of its block. */
    dc_status (*crc)(dci_dist *d, uint32_t local, int64_t bytes, uint64_t *all);
    /* The fit's statistics of the traffic since the handle was made (solver:
     * a dc_solver). Collective. */
    dc_status (*stats)(dci_dist *d, void *solver);
    void (*free)(dci_dist *d);
};

/* Random streams of rank r: rank 0 keeps the single-process stream. */
static inline uint64_t dci_dist_stream(uint64_t stream, const dci_dist *d) {
    return d ? stream | ((uint64_t)d->rank << 32) : stream;
}

/* Rows of one epoch-cycling sampler at step `step`: ⌈n/B⌉ steps per epoch,
 * all B rows but the last, which takes what is left (as the single-process
 * loops). */
static inline int64_t dci_dist_batch_at(int64_t n, int64_t B, int64_t step) {
    const int64_t per_epoch = (n + B - 1) / B, j = step % per_epoch;
    return n - j * B < B ? n - j * B : B;
}

#endif
