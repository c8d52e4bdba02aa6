/* Autoencoder pre-training (EDCWRN step 1, as DEC / IDEC / DEC-DA do it):
 * shuffled mini-batches each epoch, optional random affine augmentation of
 * image data (the network reconstructs the augmented sample), MSE loss, SGD
 * with momentum (nn/sgd.h). */
#ifndef DCI_PRETRAIN_H
#define DCI_PRETRAIN_H

#include <stdint.h>
#include "deepclust/core.h"
#include "nn/augment.h"
#include "core/rng.h"
#include "nn/autoencoder.h"
#include "nn/sgd.h"

/* A run between two steps: what a checkpoint saves and a resumed run starts
 * from (one process only). */
typedef struct dci_pretrain_state {
    int64_t step;       /* steps made */
    int64_t total;      /* the run's budget (dci_pretrain_total_steps) */
    int64_t epoch;      /* the next step's epoch, 0-based */
    int64_t pos;        /* batches of that epoch made; 0: its shuffle is still to come */
    int64_t *order;     /* n: the batch order, shuffled further at each epoch's start */
    dci_rng shuffle, aug;
    double sum;         /* the epoch's loss so far: sum of batch loss x rows ... */
    int64_t seen;       /* ... over this many rows */
    double epoch_loss;  /* the last finished epoch's mean loss (NaN: none yet) */
    dci_sgd *sgd;       /* the optimiser: moments and Adam's step count */
} dci_pretrain_state;

/* Called between two steps with the run's state: every save_every steps,
 * after the last step, and when the run is cancelled (cancelled = 1: ps is
 * where it stopped; the hook's status is the run's, normally
 * DC_ERR_CANCELLED after a successful save). */
typedef dc_status (*dci_pretrain_save_fn)(void *user, const dci_pretrain_state *ps, int cancelled);

typedef struct dci_pretrain_opts {
    int64_t epochs;       /* >= 0; used when steps = 0 */
    int64_t steps;        /* > 0: this many batch steps (epochs continue past the
                             last full one: the budget is in steps); 0: epochs */
    int64_t warmup;       /* the lr rises linearly over the first `warmup` steps
                             (0: none); keeps the first, largest updates of a
                             fresh network from overshooting */
    int64_t batch;        /* 1 .. the autoencoder's max_batch (clamped to n) */
    float lr;             /* > 0 */
    float momentum;       /* [0, 1) */
    int adam;             /* 1: Adam (beta1 = momentum, beta2 0.999) instead of SGD */
    int cosine;           /* 1: lr follows a half cosine from lr down to 0 over
                             all the batches (0: constant lr) */
    uint64_t seed;        /* shuffling: stream DCI_STREAM_SHUFFLE; augmentation:
                             DCI_STREAM_AUGMENT */
    const dci_image_shape *augment;   /* NULL: no augmentation */
    const dci_augment_ranges *ranges; /* NULL: dci_augment_ranges_default() */
    float embed_limit;                /* > 0: an embedding entry beyond it in magnitude
                                         is divergence (DC_ERR_NUMERIC); 0: no check */
    dc_progress_fn progress;          /* phase "pretrain", done = epochs finished
                                         (the last one may be partial), value =
                                         that epoch's mean loss */
    void *progress_user;
    /* Data-parallel (nn/dist.h; NULL: one process): x is this rank's block,
     * batch its share, steps the same on every rank; the weights start
     * from rank 0's and every step is one dist->step. */
    struct dci_dist *dist;
    /* Checkpoints (one process only: dist NULL). save NULL: none. */
    dci_pretrain_save_fn save;
    void *save_user;
    int64_t save_every;               /* > 0: also every that many steps */
    /* Continue from this state (with ae holding its weights) instead of
     * the start; checked by dci_pretrain_state_check. */
    const dci_pretrain_state *resume;
} dci_pretrain_opts;

/* The learning rate of batch step (0-based) of total under opts' schedule:
 * warm-up, then constant or cosine (the cosine runs over all total steps). */
double dci_pretrain_lr_at(const dci_pretrain_opts *opts, int64_t step, int64_t total);

/* Batch steps a run makes on n samples: steps, or epochs x batches per epoch. */
int64_t dci_pretrain_total_steps(const dci_pretrain_opts *opts, int64_t n);

/* epochs 200, steps 0, no warm-up, batch 256, lr 1.0, momentum 0.9 (docs/methods.md
 * "EDCWRN"), seed 0, no augmentation, no embedding limit, no progress callback. */
dci_pretrain_opts dci_pretrain_opts_default(void);

/* Trains ae in place on x (n × d, borrowed). *final_loss (may be NULL) gets
 * the last epoch's mean training loss (per sample over the epoch's batches),
 * NaN when no step is made. Errors: DC_ERR_SHAPE (d differs from the network's
 * input), DC_ERR_INVALID_ARG (options; augmentation without a matching image
 * shape), DC_ERR_NONFINITE (x), DC_ERR_NUMERIC (divergence: the loss became
 * NaN/Inf, an embedding entry exceeded embed_limit, or the last step left
 * NaN/Inf weights; the detail names epoch and batch), DC_ERR_CANCELLED
 * (progress callback, dc_solver_cancel; with a save hook, the hook's status).
 * A resumed run (opts->resume) makes the rest of the interrupted one: the
 * same weights, optimiser state and final loss. After an error the weights are partly trained:
 * discard them. */
/* DC_ERR_FORMAT unless ps can be a state of a run of opts on n samples
 * (counters, order indices, the optimiser's kind). */
dc_status dci_pretrain_state_check(const dci_pretrain_opts *opts, int64_t n,
                                   const dci_pretrain_state *ps);

dc_status dci_pretrain(dci_autoencoder *ae, const float *x, int64_t n, int64_t d,
                       const dci_pretrain_opts *opts, double *final_loss);

#endif
