/* EDCWRN clustering phase (docs/methods.md "EDCWRN") and its IDEC / DEC special cases: the
 * training state, one mini-batch loss with gradients, target updates
 * (methods/edcwrn_train.c). methods/edcwrn.c composes them into the
 * "edcwrn", "idec" and "dec" methods; the pieces are declared here for the
 * unit tests. */
#ifndef DCI_EDCWRN_H
#define DCI_EDCWRN_H

#include <stdint.h>

#include "cluster/assign.h"
#include "core/rng.h"
#include "methods/deep_model.h"
#include "nn/augment.h"
#include "nn/dist.h"
#include "nn/sgd.h"

typedef enum dci_deep_method {
    DCI_DEEP_EDCWRN = 0,
    DCI_DEEP_IDEC = 1, /* weighting off, neighbours off, Student-t + KL, with decoder */
    DCI_DEEP_DEC = 2   /* as IDEC without decoder: L = L_c */
} dci_deep_method;

enum { DCI_WSCALE_RAW = 0, DCI_WSCALE_STANDARDIZED = 1 };
enum { DCI_WNORM_SUM = 0, DCI_WNORM_MEAN = 1 };
/* weighting: off; Eq. 15 weights in the kernel, updated during training;
 * uniform weights 1/M in the kernel during training and Eq. 15 computed once
 * after it, for the output only (what the authors' code runs). */
enum { DCI_WEIGHTING_OFF = 0, DCI_WEIGHTING_ON = 1, DCI_WEIGHTING_AFTER = 2 };
enum { DCI_PRESET_DEFAULT = 0, DCI_PRESET_AUTHORS = 1 };
enum { DCI_AUGMENT_OFF = 0, DCI_AUGMENT_ON = 1, DCI_AUGMENT_AUTO = 2 };
/* gemm_precision: auto = fp32 in pre-training (bf16 pre-training cost
 * Fashion-MNIST 1-4 ACC points in 3 of 4 seeds), bf16 in the clustering
 * phase where this build and CPU have bf16 products (dci_gemm_bf16_check;
 * the same autoencoders gave the same ACC within 1 point with either). */
enum { DCI_GEMM_FP32 = 0, DCI_GEMM_BF16 = 1, DCI_GEMM_AUTO = 2 };
/* Initial centres: k-means on z, or means of z over spectral clusters. */
enum { DCI_INIT_KMEANS = 0, DCI_INIT_SPECTRAL = 1 };

/* Everything a fit reads from the solver's parameters (see edcwrn.c). */
typedef struct dci_deep_cfg {
    dci_deep_method method;
    int preset;           /* DCI_PRESET_*: which values the parameters not given take */
    int64_t k, batch, embed_dim, hidden[3];
    int64_t pretrain_epochs; /* > 0: the pre-training budget in epochs */
    int64_t pretrain_steps;  /* else this many steps (0: dci_deep_pretrain_steps' rule) */
    int64_t pretrain_warmup; /* lr warm-up steps (at most a tenth of the budget) */
    int64_t n_init, neighbors_k, update_interval, max_iter, checkpoint_every;
    double pretrain_lr, pretrain_momentum, lr, momentum, lambda, a, b, alpha, beta, tol;
    int weighting;        /* DCI_WEIGHTING_* */
    int neighbors, formulation_idec, ce_normalized;
    int augment;          /* DCI_AUGMENT_*: AUTO = on for data with an image shape */
    double pretrain_zoom; /* zoom range of the pre-training augmentation */
    int augment_fill;     /* dci_fill of both phases' augmentation */
    int init;             /* DCI_INIT_*: the initial centres */
    int scale_input;      /* divide the data by dci_input_scale's power of two */
    int gemm_precision;   /* DCI_GEMM_*: the products' precision (nn/gemm.h) */
    int pretrain_adam, pretrain_cosine; /* pre-training: Adam instead of SGD; cosine lr */
    int weighting_scale;  /* DCI_WSCALE_*: dispersions of Eq. 15 on the raw or standardised z */
    int weighting_norm;   /* DCI_WNORM_*: the kernel uses w (rows sum to 1) or M w (mean 1) */
    uint64_t seed;
} dci_deep_cfg;

/* Clustering-phase learning rates: EDCWRN and IDEC; DEC's own setting (no
 * reconstruction term to hold it back). */
#define DCI_DEEP_LR_DEFAULT 0.1
#define DCI_DEC_LR_DEFAULT 0.01
/* Zoom range of the pre-training augmentation (docs/methods.md "EDCWRN"). */
#define DCI_PRETRAIN_ZOOM_DEFAULT 0.1
/* Fill of both phases' augmentation (DCI_FILL_ZERO: docs/methods.md "EDCWRN"). */
#define DCI_AUGMENT_FILL_DEFAULT DCI_FILL_ZERO

/* The method's fixed settings and the parameter defaults. */
dci_deep_cfg dci_deep_cfg_default(dci_deep_method method);

/* "edcwrn", "idec" or "dec". */
const char *dci_deep_method_name(dci_deep_method method);

/* Encoder dims [d, hidden..., M] of cfg; returns their count. */
int dci_deep_encoder_dims(const dci_deep_cfg *cfg, int64_t d, int64_t dims[DCI_DEEP_MAX_DIMS]);

/* Whether a fit augments: augment = true, or auto with an image shape. */
int dci_deep_augment_on(const dci_deep_cfg *cfg, const dci_image_shape *shape);
/* The augmentation ranges of pre-training (pretrain != 0) or clustering. */
dci_augment_ranges dci_deep_augment_ranges(const dci_deep_cfg *cfg, int pretrain);

/* Pre-training steps of a fit on n samples: pretrain_epochs x batches per
 * epoch when pretrain_epochs > 0, else pretrain_steps, else the automatic
 * budget: 500 epochs (DEC-DA's length), at least DCI_PRETRAIN_MIN_STEPS and
 * at most DCI_PRETRAIN_MAX_STEPS. */
#define DCI_PRETRAIN_MIN_STEPS 2000
#define DCI_PRETRAIN_MAX_STEPS 12000
int64_t dci_deep_pretrain_steps(const dci_deep_cfg *cfg, int64_t n);

typedef struct dci_deep_train {
    dci_deep_cfg cfg;
    dc_model *m;         /* the clustering network being trained */
    dci_closs closs;
    double lambda_c;     /* weight of L_c in the total loss */
    int64_t n, d, K, M, B, kn; /* kn: neighbours (0: branch off) */
    dci_sgd *sgd;        /* blocks: enc, enc_nb, dec, centres (those present) */
    float *dr;           /* K x M centre gradient */
    /* mini-batch workspace (B rows) */
    float *xb, *xb_nb, *z, *dz, *drecon, *qb, *pb, *enb, *de, *dez, *zself;
    double *wvar;        /* M per-dimension variances (standardised weighting) */
    int32_t *arg;
    int64_t *lnbr;       /* batch-local neighbour lists, B x kn */
    /* whole-set state */
    float *e, *e_nb, *zall, *q, *p; /* n x M (e, e_nb, zall), n x K (q, p) */
    int64_t *nbr;        /* global neighbour lists n x kn (self before the first update) */
    int32_t *labels, *labels_new;
    int32_t *init_labels; /* spectral initialisation's clusters: the first update's targets */
    int have_labels;
    int64_t *order, pos; /* batch order of the current epoch and position in it */
    dci_rng shuffle, aug;
    dci_image_shape shape;
    int augment;
    dci_augment_ranges ranges; /* the clustering phase's augmentation */
    int64_t iter;        /* clustering iterations done */
    double last_change;  /* fraction of changed labels at the last update (NaN: none yet) */
    /* The update of iteration `iter` changed fewer than tol of the labels and
     * the fit stopped there; a checkpoint with it set holds that update. */
    int converged;
    float *loss;         /* per iteration: L, L_r, L_c */
    int64_t n_loss, cap_loss;
    float *trace;        /* per update: iteration, label change */
    int64_t n_trace, cap_trace;
    double seconds_pretrain, seconds_cluster, pretrain_loss;
    /* Data-parallel training (nn/dist.h; NULL in one process): x is this
     * rank's block of nl rows from row0, batches are local shares of Bl
     * rows (order, pos, shuffle and aug are this rank's), the whole-set
     * state above is of all n rows and the same on every rank. */
    dci_dist *dist;
    int64_t nl, row0, Bl;
    /* the global batch's rows: [v_x | e_z] for the neighbour branch (B x 2M),
     * z for the weights (B x M) */
    float *bat, *zg;
} dci_deep_train;

/* Makes t (fresh from dci_deep_train_create, with all n rows) train on this
 * rank's block: its share of the batch (dist->plan), its sampler and random
 * streams. Local; the caller shares the parameters (dist->share). */
dc_status dci_deep_train_distribute(dci_deep_train *t, dci_dist *dist);

/* t->e (and t->e_nb) of all n rows: this rank's block encoded, the others'
 * gathered. */
dc_status dci_deep_encode_all(dci_deep_train *t, const float *x);

/* Builds the clustering network from a pre-trained autoencoder (copied):
 * sample and neighbour encoders from its encoder, decoder (not for DEC),
 * centres zero, weights 1/M; optimiser state zero; each sample its own
 * neighbour; batch order and augmentation generators from cfg->seed. shape is
 * needed when cfg->augment. The caller has validated cfg (dci_deep_check). */
dc_status dci_deep_train_create(dci_deep_train **out, const dci_deep_cfg *cfg, const dc_model *ae,
                                int64_t n, const dci_image_shape *shape);
void dci_deep_train_free(dci_deep_train *t);

/* Validates cfg against n x d data with an optional image shape (see the
 * parameter table in edcwrn.c for the messages). */
dc_status dci_deep_check(const dci_deep_cfg *cfg, int64_t n, int64_t d,
                         const dci_image_shape *shape);

/* The initial centres from z = enc(x) + enc_nb(x) (methods/edcwrn_init.c):
 * cfg init = spectral: means of z over spectral clusters (k-means on the
 * spectral embedding, n_init restarts; k-means on z, logged, when the graph
 * or eigensolver fails, k < 2 or n <= k); kmeans: k-means on z. */
dc_status dci_deep_init_centers(dci_deep_train *t, const float *x, dc_progress_fn progress,
                                void *user);

/* Loss of one mini-batch, docs/methods.md "EDCWRN" step 4, with the target rows pb (b x K)
 * and the current weights held fixed:
 *   z_i = enc(x_i) + max_l enc_nb(x'_{nbr(i,l)}),  L = L_r + lambda L_c
 * where x' = xb_nb (the same rows under their own augmentation, so that the
 * two branches see different views as in the authors' code) or xb when
 * xb_nb is NULL; the decoder reconstructs xb.
 * nbr (b x kn, indices into the batch) gives the neighbour lists; NULL
 * computes the batch-local ones (kNN among the batch by enc(x) + enc_nb(x)).
 * parts (may be NULL) gets {L, L_r, L_c}. With grad the parameter gradients
 * of the networks (dci_mlp_grads) and of the centres (t->dr) are written.
 * DC_ERR_NUMERIC if an embedding or the loss is not finite. */
dc_status dci_deep_batch_loss(dci_deep_train *t, const float *xb, const float *xb_nb, int64_t b,
                              const float *pb, const int64_t *nbr, int grad, double parts[3]);

/* Target update (docs/methods.md "EDCWRN" step 4, every T iterations): embeds all n rows of x
 * with the current global neighbour lists, recomputes the lists, Q, P, the
 * weights and the labels; sets t->last_change. */
dc_status dci_deep_update(dci_deep_train *t, const float *x);

/* t->nbr: the kn nearest other rows of every row of t->zall (n x M).
 * Collective when distributed (each rank searches for its block). */
dc_status dci_deep_neighbours(dci_deep_train *t);

/* The representation weights w (K x M) of Eq. 15 from n rows of q and z and
 * the current centres (docs/methods.md "EDCWRN"; per-dimension standardised dispersions
 * with weighting_scale = standardized). */
dc_status dci_deep_weights(dci_deep_train *t, const float *q, const float *z, int64_t n, float *w);

/* One clustering iteration: next batch, forward/backward, SGD step, weights
 * from the batch. */
dc_status dci_deep_iteration(dci_deep_train *t, const float *x);

#endif
