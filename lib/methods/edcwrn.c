/* The "edcwrn", "idec" and "dec" methods (docs/methods.md "EDCWRN"): one training loop,
 * three parameter tables.
 *
 *   1. pre-train the autoencoder (or start from a given pre-trained one)
 *   2. sample encoder + neighbour encoder (copies of the pre-trained encoder),
 *      decoder, clustering layer
 *   3. centres <- k-means on z = enc(x) + enc_nb(x) = 2 enc(x)
 *   4. for iter = 0 .. max_iter-1:
 *        every T iterations: embed all samples with the global neighbour
 *          lists, recompute the lists, Q, P, w, labels; stop when fewer than
 *          tol of the labels changed (not at the first update)
 *        next batch, batch-local neighbours, L = L_r + lambda L_c, SGD step on
 *          encoders, decoder and centres, w from the batch
 *   5. labels of all samples by the model's inference procedure
 *      (methods/deep_model.h), so that a saved model predicts them again.
 *
 * IDEC is this loop with weighting off, no neighbour branch and the
 * Student-t kernel with KL(P||Q); DEC is IDEC without decoder (L = L_c). */
#include "methods/edcwrn_fit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cluster/neighbor_max.h"
#include "cluster/weighting.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "deepclust/dataset.h"
#include "deepclust/model.h"
#include "methods/method.h"
#include "nn/gemm.h"
#include "nn/pretrain.h"
#ifdef DCI_HAVE_MPI
#include "mpi/comm.h"
#include "mpi/deep_mpi.h"
#endif

/* ---- parameters ----
 * Every entry names the dci_deep_cfg member its value fills
 * (dci_deep_read_cfg), so that the defaults of the configuration are the
 * table's (dci_deep_cfg_default). */
#define DEEP_FIELD(member) DCI_PARAM_FIELD(dci_deep_cfg, member)

#define P_K {"k", DC_PARAM_INT, 0, 1, 1e9, DCI_CLOSED, NULL, \
             "number of clusters (required: the default 0 means not set)", DEEP_FIELD(k)}
#define P_SEED {"seed", DC_PARAM_INT, 0, 0, 9007199254740992.0, DCI_CLOSED, NULL, \
                "random seed (weights, batch order, augmentation, k-means)", DEEP_FIELD(seed)}
#define P_PRESET {"preset", DC_PARAM_CHOICE, DCI_PRESET_DEFAULT, 0, 1, DCI_CLOSED, "default|authors", \
                  "the values every parameter not given takes: this library's measured "    \
                  "recipe, or the authors' published code (docs/methods.md lists both)", DEEP_FIELD(preset)}
#define P_PRE_STEPS {"pretrain_steps", DC_PARAM_INT, 0, 0, 1e9, DCI_CLOSED, NULL, \
                     "pre-training budget in batch steps; 0: 500 epochs, at least 2000 and at " \
                     "most 12000 steps", DEEP_FIELD(pretrain_steps)}
#define P_PRE_EPOCHS {"pretrain_epochs", DC_PARAM_INT, 0, 0, 1e6, DCI_CLOSED, NULL, \
                      "> 0: the pre-training budget in epochs instead of pretrain_steps", DEEP_FIELD(pretrain_epochs)}
#define P_PRE_WARMUP {"pretrain_warmup", DC_PARAM_INT, 1000, 0, 1e9, DCI_CLOSED, NULL, \
                      "pre-training learning-rate warm-up in steps (at most a tenth of the budget)", DEEP_FIELD(pretrain_warmup)}
#define P_PRE_LR {"pretrain_lr", DC_PARAM_REAL, 0.0, 0, 1e6, DCI_CLOSED, NULL, \
                  "pre-training learning rate; 0: the optimiser's default (SGD 1.0, Adam 0.001)", DEEP_FIELD(pretrain_lr)}
#define P_PRE_MOM {"pretrain_momentum", DC_PARAM_REAL, 0.9, 0, 0.9999, DCI_CLOSED, NULL, \
                   "pre-training momentum", DEEP_FIELD(pretrain_momentum)}
#define P_PRE_OPT {"pretrain_optimizer", DC_PARAM_CHOICE, 1, 0, 1, DCI_CLOSED, "sgd|adam", \
                   "pre-training optimiser: SGD with momentum (the authors' and DEC-DA's), or Adam (beta1 = " \
                   "pretrain_momentum, beta2 = 0.999)", DEEP_FIELD(pretrain_adam)}
#define P_PRE_SCHED {"pretrain_schedule", DC_PARAM_CHOICE, 1, 0, 1, DCI_CLOSED, "constant|cosine", \
                     "pre-training learning rate schedule: constant, or a half cosine from pretrain_lr " \
                     "down to 0 over all the epochs", DEEP_FIELD(pretrain_cosine)}
#define P_BATCH {"batch", DC_PARAM_INT, 256, 1, DCI_DEEP_MAX_BATCH, DCI_CLOSED, NULL, \
                 "mini-batch size of both phases (clamped to the number of samples)", DEEP_FIELD(batch)}
#define P_LR(def) {"lr", DC_PARAM_REAL, def, 0, 1e30, DCI_OPEN_LO, NULL, \
                   "clustering-phase learning rate (SGD with momentum)", DEEP_FIELD(lr)}
#define P_MOM {"momentum", DC_PARAM_REAL, 0.9, 0, 0.9999, DCI_CLOSED, NULL, "clustering-phase momentum", DEEP_FIELD(momentum)}
#define P_LAMBDA {"lambda", DC_PARAM_REAL, 0.1, 0, 1e6, DCI_CLOSED, NULL, \
                  "weight of the clustering loss: L = L_r + lambda L_c", DEEP_FIELD(lambda)}
#define P_A {"a", DC_PARAM_REAL, DCI_KERNEL_A_DEFAULT, 0, 1e6, DCI_OPEN_LO, NULL, \
             "kernel q = 1 / (1 + a s^b) (EDCWRN Eq. 11)", DEEP_FIELD(a)}
#define P_B {"b", DC_PARAM_REAL, DCI_KERNEL_B_DEFAULT, 0, 100, DCI_OPEN_LO, NULL, "kernel exponent", DEEP_FIELD(b)}
#define P_ALPHA {"alpha", DC_PARAM_REAL, DCI_WEIGHT_ALPHA_DEFAULT, 1, 100, DCI_OPEN_LO, NULL, \
                 "representation weighting fuzzifier", DEEP_FIELD(alpha)}
#define P_BETA {"beta", DC_PARAM_REAL, DCI_WEIGHT_BETA_DEFAULT, 1, 100, DCI_OPEN_LO, NULL, \
                "representation weighting exponent (2: EDCWRN Eq. 15)", DEEP_FIELD(beta)}
#define P_NK {"neighbors_k", DC_PARAM_INT, DCI_NMAX_K_DEFAULT, 1, 1e6, DCI_CLOSED, NULL, \
              "neighbours per sample in the max branch, < number of samples", DEEP_FIELD(neighbors_k)}
#define P_T {"update_interval", DC_PARAM_INT, 140, 1, 1e9, DCI_CLOSED, NULL, \
             "T: clustering iterations between target-distribution updates", DEEP_FIELD(update_interval)}
#define P_TOL {"tol", DC_PARAM_REAL, 0.001, 0, 1, DCI_CLOSED, NULL, \
               "stop when the fraction of labels changed between two updates is below tol", DEEP_FIELD(tol)}
#define P_MAXIT {"max_iter", DC_PARAM_INT, 8000, 0, 1e9, DCI_CLOSED, NULL, \
                 "maximum clustering iterations (mini-batches)", DEEP_FIELD(max_iter)}
#define P_NINIT {"n_init", DC_PARAM_INT, 20, 1, 10000, DCI_CLOSED, NULL, \
                 "k-means restarts for the initial centres", DEEP_FIELD(n_init)}
#define P_EMBED {"embed_dim", DC_PARAM_INT, DCI_AE_DEFAULT_EMBED, 1, 1e5, DCI_CLOSED, NULL, \
                 "embedding size M", DEEP_FIELD(embed_dim)}
#define P_H1 {"hidden1", DC_PARAM_INT, 500, 1, 1e6, DCI_CLOSED, NULL, "encoder hidden layer 1 size", DEEP_FIELD(hidden[0])}
#define P_H2 {"hidden2", DC_PARAM_INT, 500, 0, 1e6, DCI_CLOSED, NULL, "encoder hidden layer 2 size (0: none)", DEEP_FIELD(hidden[1])}
#define P_H3 {"hidden3", DC_PARAM_INT, 2000, 0, 1e6, DCI_CLOSED, NULL, \
              "encoder hidden layer 3 size (0: none; needs hidden2)", DEEP_FIELD(hidden[2])}
#define P_AUG {"augment", DC_PARAM_CHOICE, DCI_AUGMENT_AUTO, 0, 2, DCI_CLOSED, "false|true|auto", \
               "random affine augmentation of image batches in both phases (true needs an "  \
               "image shape; auto: on exactly when the data have one)", DEEP_FIELD(augment)}
#define P_PRE_ZOOM {"pretrain_zoom", DC_PARAM_REAL, DCI_PRETRAIN_ZOOM_DEFAULT, 0, 0.5, DCI_CLOSED, NULL, \
                    "zoom range z of the pre-training augmentation (scales in [1 - z, 1 + z]; " \
                    "the clustering phase uses 0.1)", DEEP_FIELD(pretrain_zoom)}
#define P_FILL {"augment_fill", DC_PARAM_CHOICE, DCI_AUGMENT_FILL_DEFAULT, 0, 1, DCI_CLOSED, "nearest|zero", \
                "what augmented images show where the transform leaves the image: the "   \
                "nearest edge pixel, or 0", DEEP_FIELD(augment_fill)}
#define P_INIT {"init", DC_PARAM_CHOICE, DCI_INIT_SPECTRAL, 0, 1, DCI_CLOSED, "kmeans|spectral", \
                "initial centres: k-means on the pre-trained embedding z (n_init restarts; "  \
                "DEC, IDEC and the authors), or the means of z over the clusters of "       \
                "spectral clustering on z (its kNN graph, as the njw method)", DEEP_FIELD(init)}
#define P_GEMM {"gemm_precision", DC_PARAM_CHOICE, DCI_GEMM_AUTO, 0, 2, DCI_CLOSED,            \
               "fp32|bf16|auto",                                                              \
               "precision of the networks' matrix products: fp32; bf16 inputs with fp32 sums " \
               "in both phases (about twice as fast; needs a build with oneDNN and a CPU "    \
               "with AVX512_BF16 or AMX); auto: fp32 in pre-training, bf16 in the "          \
               "clustering phase where available. Weights and updates stay fp32",             \
               DEEP_FIELD(gemm_precision)}
#define P_SCALE {"scale_input", DC_PARAM_BOOL, 1, 0, 1, DCI_CLOSED, NULL, \
                 "divide the data by a power of two near their 99th percentile of |x| (1 for " \
                 "pixels in [0, 1]) so that learning rates and lambda act alike on any "       \
                 "scaling; the model records and applies it", DEEP_FIELD(scale_input)}
#define P_CKPT {"checkpoint_every", DC_PARAM_INT, 0, 0, 1e9, DCI_CLOSED, NULL, \
                "checkpoint every N clustering iterations, and every N steps in pre-training (0: off; set with the file by dc_solver_set_checkpoint; the CLI's --checkpoint: 500 unless --checkpoint-every N)", DEEP_FIELD(checkpoint_every)}
#define P_WEIGHTING {"weighting", DC_PARAM_CHOICE, DCI_WEIGHTING_ON, 0, 2, DCI_CLOSED, "false|true|after", \
                     "local representation weighting: false: plain squared distance; true: "  \
                     "Eq. 15 weights in the kernel, updated during training; after: uniform " \
                     "weights in training, Eq. 15 computed once at the end (output only)", DEEP_FIELD(weighting)}
#define P_NEIGHBORS {"neighbors", DC_PARAM_BOOL, 1, 0, 1, DCI_CLOSED, NULL, \
                     "neighbour-max encoder branch (off: each sample its own neighbour)", DEEP_FIELD(neighbors)}
#define P_FORMULATION {"formulation", DC_PARAM_CHOICE, 0, 0, 1, DCI_CLOSED, "proposed|idec", \
                       "proposed: Eq. 11 kernel + cross-entropy; idec: Student-t + KL", DEEP_FIELD(formulation_idec)}
#define P_WSCALE {"weighting_scale", DC_PARAM_CHOICE, DCI_WSCALE_RAW, 0, 1, DCI_CLOSED, "raw|standardized", \
                  "dispersions of the weighting (Eq. 15) on the raw embedding, or on the "  \
                  "embedding standardised per dimension (relative dispersion)", DEEP_FIELD(weighting_scale)}
#define P_WNORM {"weighting_norm", DC_PARAM_CHOICE, DCI_WNORM_MEAN, 0, 1, DCI_CLOSED, "sum|mean", \
                 "the kernel's weighted distance uses w (rows sum to 1: a mean over "   \
                 "dimensions) or M w (mean weight 1: uniform weights give the plain "   \
                 "squared distance, as weighting=false)", DEEP_FIELD(weighting_norm)}
#define P_CENORM {"ce_normalized", DC_PARAM_BOOL, 1, 0, 1, DCI_CLOSED, NULL, \
                  "cross-entropy against q normalised over clusters (as the authors' code); "    \
                  "off: -sum p log q of the raw kernel", DEEP_FIELD(ce_normalized)}

#define COMMON_PARAMS P_K, P_SEED, P_PRESET, P_PRE_STEPS, P_PRE_EPOCHS, P_PRE_WARMUP, P_PRE_LR, \
                      P_PRE_MOM, P_PRE_OPT, P_PRE_SCHED, P_BATCH, P_MOM, P_T, P_TOL, P_MAXIT,   \
                      P_NINIT, P_INIT, P_EMBED, P_H1, P_H2, P_H3, P_AUG, P_PRE_ZOOM, P_FILL, P_SCALE, \
                      P_GEMM, P_CKPT

static const dci_param_def edcwrn_params[] = {
    COMMON_PARAMS, P_LR(DCI_DEEP_LR_DEFAULT), P_LAMBDA, P_A, P_B, P_ALPHA, P_BETA, P_NK,
    P_WEIGHTING,   P_NEIGHBORS,  P_FORMULATION, P_CENORM, P_WSCALE, P_WNORM,
};
static const dci_param_def idec_params[] = {COMMON_PARAMS, P_LR(DCI_DEEP_LR_DEFAULT), P_LAMBDA};
static const dci_param_def dec_params[] = {COMMON_PARAMS, P_LR(DCI_DEC_LR_DEFAULT)};


/* ---- solver glue: state kept across fits ---- */

typedef struct deep_state {
    dc_model *model;      /* last fit's model */
    dc_model *pretrained; /* last fit's pre-trained autoencoder */
    dc_model *use_ae;     /* dc_solver_use_pretrained */
    char *checkpoint_path;
    const char *resume_path; /* during dc_solver_resume only */
    dci_dist *dist;          /* during a distributed fit only (nn/dist.h) */
} deep_state;

static void free_state(void *p) {
    deep_state *st = p;
    if (!st) return;
    dc_model_free(st->model);
    dc_model_free(st->pretrained);
    dc_model_free(st->use_ae);
    dci_free(st->checkpoint_path);
    dci_free(st);
}

static int is_deep(const dc_solver *s) {
    return s->m == &dci_method_edcwrn || s->m == &dci_method_idec || s->m == &dci_method_dec;
}

static dc_status need_deep(const dc_solver *s, const char *fn) {
    if (!is_deep(s))
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: method '%s' has no deep model (edcwrn, idec, "
                                            "dec have)",
                        fn, s->m->name);
    return DC_OK;
}

static deep_state *ensure_state(dc_solver *s) {
    if (!s->state) s->state = DCI_NEW_ZEROS(deep_state, 1, "deep solver state");
    return s->state;
}

static dci_dist *dist_of(const dc_solver *s) { return ((const deep_state *)s->state)->dist; }

static double pretrain_lr_of(const dci_deep_cfg *c) {
    return c->pretrain_lr > 0.0 ? c->pretrain_lr : (c->pretrain_adam ? 0.001 : 1.0);
}

/* The pre-training's data and checkpoints. */
typedef struct pretrain_job {
    const float *x; /* as the networks see it */
    int64_t n, d;
    const dci_image_shape *shape;
    dci_pretrain_ckpt ck;               /* ck.path NULL: no checkpoints */
    const dci_pretrain_resume *resume;  /* the first attempt continues it */
} pretrain_job;

/* The saved state and checkpoint hook of one attempt. */
static dc_status plan_checkpoints(const dci_deep_cfg *c, pretrain_job *job, dci_autoencoder *ae,
                                  dci_pretrain_opts *o) {
    if (job->resume) {
        DCI_TRY(dci_mlp_copy_params(ae->enc, job->resume->ae->enc));
        DCI_TRY(dci_mlp_copy_params(ae->dec, job->resume->ae->dec));
        o->resume = &job->resume->ps;
        job->resume = NULL;
    }
    if (job->ck.path) {
        job->ck.ae = ae;
        o->save = dci_deep_pretrain_save;
        o->save_user = &job->ck;
        o->save_every = c->checkpoint_every;
    }
    return DC_OK;
}

/* One pre-training run at learning rate lr (attempt: its number), from a
 * fresh network or the state job->resume holds. */
static dc_status pretrain_once(dc_solver *s, const dci_deep_cfg *c, pretrain_job *job, double lr,
                               int attempt, dc_model **out) {
    dci_dist *dist = dist_of(s);
    const float *x = job->x;
    const int64_t n = job->n, d = job->d;
    const dci_image_shape *shape = job->shape;
    int64_t dims[DCI_DEEP_MAX_DIMS];
    const int n_dims = dci_deep_encoder_dims(c, d, dims);
    const int64_t B = c->batch < n ? c->batch : n;
    dci_autoencoder ae;
    DCI_TRY(dci_autoencoder_create(&ae, dims, n_dims, c->seed, B));
    job->ck.attempt = attempt;
    job->ck.lr = lr;
    job->ck.dims = dims;
    job->ck.n_dims = n_dims;
    job->ck.batch = B;
    dc_status st = DC_OK;
    if (c->gemm_precision == DCI_GEMM_BF16 &&
        ((st = dci_mlp_set_bf16(ae.enc, 1)) != DC_OK || (st = dci_mlp_set_bf16(ae.dec, 1)) != DC_OK))
        st = dci_context(st, "%s: gemm_precision = bf16", dci_deep_method_name(c->method));
    if (dist) st = dist->agree(dist, st, "gemm_precision"); /* every rank, or none, goes on */
    if (st == DC_OK) st = dci_solver_put_stat(s, "bf16_pretrain", dci_mlp_bf16(ae.enc));
    const dci_augment_ranges ranges = dci_deep_augment_ranges(c, 1);
    dci_pretrain_opts o = dci_pretrain_opts_default();
    o.steps = dci_deep_pretrain_steps(c, n);
    o.warmup = c->pretrain_warmup < o.steps / 10 ? c->pretrain_warmup : o.steps / 10;
    o.batch = B;
    o.lr = dci_sgd_rate(lr);
    o.momentum = (float)c->pretrain_momentum;
    o.cosine = c->pretrain_cosine;
    o.adam = c->pretrain_adam;
    o.seed = c->seed;
    o.augment = dci_deep_augment_on(c, shape) ? shape : NULL;
    o.ranges = &ranges;
    o.embed_limit = DCI_EMBED_LIMIT / 2; /* the clustering phase starts from 2 enc(x) */
    o.progress = s->progress;
    o.progress_user = s->progress_user;
    /* Distributed, none: each rank's generators and batch order would have
     * to be gathered (fit_on gives no path). */
    if (st == DC_OK && !dist) st = plan_checkpoints(c, job, &ae, &o);
    double loss = NAN;
    if (st == DC_OK && dist) { /* this rank's block and batch share */
        st = dist->plan(dist, B);
        o.batch = dist->bl;
        o.dist = dist;
    }
    if (st == DC_OK) {
        const int held = dci_mlp_bf16(ae.enc) ? dci_gemm_bf16_phase_begin() : 0;
        st = dci_pretrain(&ae, x, dist ? dist->nl : n, d, &o, &loss);
        dci_gemm_bf16_phase_end(held);
    }
    if (dist) st = dist->agree(dist, st, "pre-training");
    if (st == DC_OK)
        st = dci_model_new(out, DCI_MODEL_AUTOENCODER, dci_deep_method_name(c->method), dims, n_dims, B, 0,
                           1, 0, 0);
    if (st == DC_OK) {
        dci_mlp_copy_params((*out)->enc, ae.enc);
        dci_mlp_copy_params((*out)->dec, ae.dec);
        (*out)->pretrain_loss = loss;
    }
    dci_autoencoder_free(&ae);
    return st;
}

/* The clustering network from an autoencoder, its centres by k-means on the
 * first embedding of all the data (DC_ERR_NUMERIC when that embedding is
 * beyond float range: the network diverged). */
static dc_status start_clustering(dc_solver *s, const dci_deep_cfg *c, const double *eff,
                                  const dc_model *ae, const float *x, int64_t n,
                                  const dci_image_shape *shape, dci_deep_train **out) {
    dci_dist *dist = dist_of(s);
    DCI_TRY(dci_deep_train_create(out, c, ae, n, shape));
    dci_deep_record_params(s, eff, (*out)->m);
    dc_status st = DC_OK;
    if (dist && (st = dci_deep_train_distribute(*out, dist)) == DC_OK)
        st = dist->share(dist, (*out)->sgd);
    /* every rank the same centres from the gathered embedding */
    if (st == DC_OK) st = dci_deep_init_centers(*out, x, s->progress, s->progress_user);
    if (dist) st = dist->agree(dist, st, "initial centres");
    if (st != DC_OK) {
        dci_deep_train_free(*out);
        *out = NULL;
    }
    return st;
}

/* Pre-training and the start of the clustering phase. A divergence (the
 * loss, the embedding or the weights leave float range) restarts the
 * pre-training once from a fresh network at half the learning rate, logged;
 * a second one fails with DC_ERR_NUMERIC naming the phase and both rates.
 * The rate used is recorded (c, eff: pretrain_lr). A resumed job continues
 * the attempt it saved, at that attempt's rate. */
static dc_status pretrain_and_start(dc_solver *s, dci_deep_cfg *c, double *eff, pretrain_job *job,
                                    dc_model **ae, dci_deep_train **t, int *restarts) {
    const char *name = s->m->name;
    double lr = job->resume ? job->resume->lr : pretrain_lr_of(c);
    *restarts = job->resume ? job->resume->attempt : 0;
    for (int attempt = *restarts;; attempt++) {
        dc_status st = pretrain_once(s, c, job, lr, attempt, ae);
        if (st == DC_OK) {
            dci_deep_record_params(s, eff, *ae);
            st = start_clustering(s, c, eff, *ae, job->x, job->n, job->shape, t);
        }
        if (st == DC_OK) return DC_OK;
        dc_model_free(*ae);
        *ae = NULL;
        if (st != DC_ERR_NUMERIC) return st;
        char detail[640];
        snprintf(detail, sizeof detail, "%s", dc_last_error());
        if (attempt == 1)
            return dci_fail(st, "%s: pre-training diverged twice, at learning rates %g and %g; "
                                "lower pretrain_lr%s",
                            detail, 2.0 * lr, lr,
                            c->pretrain_adam ? "" : " or set pretrain_optimizer=adam");
        dci_log(DC_LOG_WARN, "%s: %s: pre-training diverged; restarting it at learning rate %g",
                name, detail, 0.5 * lr);
        lr *= 0.5;
        ++*restarts;
        c->pretrain_lr = lr;
        dci_deep_set_param(s, eff, "pretrain_lr", lr);
    }
}

/* ---- fit ---- */

/* The clustering loop, with OpenBLAS single-threaded when its networks run
 * bf16 products (nn/gemm.h). */
static dc_status train_loop(dc_solver *s, const char *path, dci_deep_train *t, const dc_model *ae,
                            const float *x, int resumed, uint64_t crc) {
    const int held = dci_mlp_bf16(t->m->enc) ? dci_gemm_bf16_phase_begin() : 0;
    const dc_status st = dci_deep_train_loop(s, path, t, ae, x, resumed, crc);
    dci_gemm_bf16_phase_end(held);
    return st;
}

static int has_image_shape(const dc_dataset *ds, dci_image_shape *shape) {
    return dc_dataset_image_shape(ds, &shape->h, &shape->w, &shape->c);
}

/* The fit's statistics that say how it was set up (read by the CLI's JSON). */
static dc_status put_setup_stats(dc_solver *s, const dci_deep_train *t, int64_t pretrain_steps,
                                 const int restarts[2]) {
    DCI_TRY(dci_solver_put_stat(s, "augment", (double)t->augment));
    DCI_TRY(dci_solver_put_stat(s, "pretrain_restarts", restarts[0]));
    DCI_TRY(dci_solver_put_stat(s, "cluster_restarts", restarts[1]));
    DCI_TRY(dci_solver_put_stat(s, "input_scale", t->m->input_scale));
    DCI_TRY(dci_solver_put_stat(s, "lr", t->cfg.lr));
    if (pretrain_steps > 0) {
        DCI_TRY(dci_solver_put_stat(s, "pretrain_steps", (double)pretrain_steps));
        DCI_TRY(dci_solver_put_stat(s, "pretrain_lr", pretrain_lr_of(&t->cfg)));
    }
    return DC_OK;
}

/* The training state of the checkpoint being resumed, on every rank; a
 * pre-training checkpoint gives *pr instead (one process only: none is
 * written distributed, and each rank would need its own generators). */
static dc_status resume_state(dc_solver *s, const deep_state *state, dci_deep_method method,
                              const dc_dataset *ds, dci_deep_train **t, dc_model **ae,
                              dci_pretrain_resume **pr) {
    dci_dist *dist = state->dist;
    const int64_t nl = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    dci_image_shape shape_buf;
    const dci_image_shape *shape = has_image_shape(ds, &shape_buf) ? &shape_buf : NULL;
    uint64_t crc = 0;
    dc_status st = dci_deep_data_crc_all(dist, dc_dataset_data(ds), nl, d, &crc);
    dci_rec_file f;
    if (st == DC_OK && (st = dci_rec_load(&f, state->resume_path)) == DC_OK) {
        if (!dci_rec_is(&f, DCI_MAGIC_CHECKPOINT))
            st = dci_fail(DC_ERR_INVALID_ARG, "'%s' is a model file, not a checkpoint",
                          state->resume_path);
        else if (dci_deep_is_pretrain_checkpoint(&f) && dist)
            st = dci_fail(DC_ERR_UNSUPPORTED, "'%s' is a pre-training checkpoint, which one "
                                              "process continues (resume it without MPI)",
                          state->resume_path);
        else if (dci_deep_is_pretrain_checkpoint(&f))
            st = dci_deep_pretrain_restore(s, method, &f, ds, crc, pr);
        else
            st = dci_deep_checkpoint_restore(s, method, &f, dist ? dist->n : nl, d, shape, dist,
                                             crc, t, ae);
        dci_rec_close(&f);
    }
    if (!dist) return st;
    st = dist->agree(dist, st, "resume");
    return st == DC_OK ? dist->share(dist, (*t)->sgd) : st;
}

/* A fit's working set (fit_on). */
typedef struct fit_run {
    double *eff;             /* the parameters used */
    const float *x;          /* what the networks see: x_raw * input_scale */
    float *x_copy;
    dci_deep_train *t;
    dc_model *ae;
    dci_pretrain_resume *pr; /* resuming a pre-training checkpoint */
    int64_t pretrain_steps;
    int restarts[2];         /* pre-training, clustering phase */
    int resumed;             /* the clustering phase continues a checkpoint */
    uint64_t crc;            /* the data's, when checkpoints are written */
} fit_run;

/* Pre-training (fresh, or continuing fr->pr) and the clustering phase's
 * start. */
static dc_status pretrain_fit(dc_solver *s, const dc_dataset *ds, dci_deep_cfg *cfg,
                              const deep_state *state, double scale, fit_run *fr) {
    const int64_t d = dc_dataset_cols(ds);
    const int64_t n = state->dist ? state->dist->n : dc_dataset_rows(ds);
    dci_image_shape shape_buf;
    const double t0 = dci_now();
    pretrain_job job = {.x = fr->x, .n = n, .d = d, .resume = fr->pr};
    job.shape = has_image_shape(ds, &shape_buf) ? &shape_buf : NULL;
    /* Distributed: no pre-training checkpoints (see pretrain_once). */
    if (state->checkpoint_path && cfg->checkpoint_every > 0 && !state->dist)
        job.ck.path = state->checkpoint_path;
    job.ck.s = s;
    job.ck.eff = fr->eff;
    job.ck.crc = fr->crc;
    job.ck.n = n;
    job.ck.d = d;
    job.ck.input_scale = scale;
    job.ck.norm = dci_dataset_norm(ds);
    job.ck.seconds_base = fr->pr ? fr->pr->seconds : 0.0;
    job.ck.t0 = t0;
    fr->pretrain_steps = dci_deep_pretrain_steps(cfg, n);
    DCI_TRY(pretrain_and_start(s, cfg, fr->eff, &job, &fr->ae, &fr->t, &fr->restarts[0]));
    fr->t->seconds_pretrain = job.ck.seconds_base + (dci_now() - t0);
    fr->ae->input_scale = fr->t->m->input_scale = scale;
    fr->ae->train_rows = n;
    return dci_norm_copy(&fr->ae->norm, dci_dataset_norm(ds), d);
}

static const char *const LAYER_PARAMS[4] = {"hidden1", "hidden2", "hidden3", "embed_dim"};

/* The parameters hidden1..3 and embed_dim an autoencoder's layers amount to
 * (a missing hidden layer is 0). */
static void layer_sizes(const dc_model *ae, double v[4]) {
    for (int i = 0; i < 3; i++) v[i] = i < ae->n_dims - 2 ? (double)ae->dims[i + 1] : 0.0;
    v[3] = (double)dci_model_dim(ae);
}

/* A layer parameter set after dc_solver_use_pretrained would be recorded in
 * the model while the network has the autoencoder's sizes. */
static dc_status check_layer_sizes(const dc_solver *s, const dc_model *ae) {
    double want[4];
    layer_sizes(ae, want);
    for (int i = 0; i < 4; i++) {
        double v = 0.0;
        DCI_TRY(dc_solver_get(s, LAYER_PARAMS[i], &v));
        if (v != want[i])
            return dci_fail(DC_ERR_INVALID_ARG, "%s: %s = %g, but the pre-trained autoencoder's "
                                                "is %g (its layers fix the network)",
                            s->m->name, LAYER_PARAMS[i], v, want[i]);
    }
    return DC_OK;
}

/* A fit that does not continue a clustering checkpoint: its parameters,
 * the input scale, then pre-training (or the given autoencoder). */
static dc_status start_fit(dc_solver *s, const dc_dataset *ds, dci_deep_method method,
                           const deep_state *state, fit_run *fr) {
    dci_dist *dist = state->dist;
    const char *name = s->m->name;
    const int64_t nl = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    const int64_t n = dist ? dist->n : nl;
    const float *x_raw = dc_dataset_data(ds);
    dci_image_shape shape_buf;
    const dci_image_shape *shape = has_image_shape(ds, &shape_buf) ? &shape_buf : NULL;
    /* A pre-training checkpoint's values already are the preset's. */
    if (fr->pr) memcpy(fr->eff, s->pv, sizeof *fr->eff * (size_t)s->m->n_params);
    else dci_deep_effective_params(s, fr->eff);
    const dc_model *use_ae = fr->pr ? NULL : state->use_ae;
    dci_deep_cfg cfg = dci_deep_read_cfg(s, fr->eff, method);
    dc_status st = dci_deep_check(&cfg, n, d, shape);
    if (st == DC_OK && use_ae && use_ae->dims[0] != d)
        st = dci_fail(DC_ERR_SHAPE, "%s: the pre-trained autoencoder takes %lld columns, the "
                                    "data have %lld",
                      name, (long long)use_ae->dims[0], (long long)d);
    /* An autoencoder should meet data scaled as its own were, else it sees
     * inputs it never saw (a divergence at best). Only a warning: data
     * normalised outside the library record none and may be right. */
    if (st == DC_OK && use_ae && use_ae->norm.mode != dci_dataset_norm(ds)->mode)
        dci_log(DC_LOG_WARN, "%s: the pre-trained autoencoder's training data were normalised "
                             "with '%s', these data with '%s'; unless they were normalised the "
                             "same way outside the library, normalise them so",
                name, dc_normalization_name(use_ae->norm.mode),
                dc_normalization_name(dci_dataset_norm(ds)->mode));
    if (st == DC_OK && use_ae) st = check_layer_sizes(s, use_ae);
    /* A given autoencoder brings the scale it was trained with; the
     * distributed fit takes the largest of the blocks' percentiles (a
     * block of large values must not meet a scale made for small ones:
     * the rows need not be shuffled across the ranks). */
    const int own_scale = cfg.scale_input && !use_ae && !fr->pr;
    double top = own_scale ? dci_input_top(x_raw, nl * d) : 0.0;
    if (st == DC_OK && dist && own_scale) st = dist->max_f64(dist, &top, 1, "input scale");
    const double scale = fr->pr       ? fr->pr->ae->input_scale
                         : use_ae     ? use_ae->input_scale
                         : own_scale  ? dci_input_scale_of(top)
                                      : 1.0;
    if (st == DC_OK && !(fr->x = dci_scaled_input(x_raw, nl, d, scale, &fr->x_copy)))
        st = DC_ERR_NOMEM;
    if (st != DC_OK) return st;
    if (!use_ae) return pretrain_fit(s, ds, &cfg, state, scale, fr);
    DCI_TRY(dci_model_clone(&fr->ae, use_ae));
    return start_clustering(s, &cfg, fr->eff, fr->ae, fr->x, n, shape, &fr->t);
}

/* The clustering phase. A divergence of a fit that did not resume it:
 * once, the phase starts again from the autoencoder at half the learning
 * rate. */
static dc_status cluster_fit(dc_solver *s, const dc_dataset *ds, const deep_state *state,
                             fit_run *fr) {
    const int64_t d = dc_dataset_cols(ds);
    const int64_t n = state->dist ? state->dist->n : dc_dataset_rows(ds);
    dci_image_shape shape_buf;
    const dci_image_shape *shape = has_image_shape(ds, &shape_buf) ? &shape_buf : NULL;
    const char *path = state->checkpoint_path;
    dc_status st = train_loop(s, path, fr->t, fr->ae, fr->x, fr->resumed, fr->crc);
    if (st != DC_ERR_NUMERIC || fr->resumed) return st;
    char detail[640];
    snprintf(detail, sizeof detail, "%s", dc_last_error());
    dci_deep_cfg cfg = fr->t->cfg;
    const double seconds_pretrain = fr->t->seconds_pretrain;
    dci_deep_train_free(fr->t);
    fr->t = NULL;
    dci_log(DC_LOG_WARN, "%s; restarting the clustering phase at learning rate %g", detail,
            0.5 * cfg.lr);
    cfg.lr *= 0.5;
    fr->restarts[1] = 1;
    dci_deep_set_param(s, fr->eff, "lr", cfg.lr);
    st = start_clustering(s, &cfg, fr->eff, fr->ae, fr->x, n, shape, &fr->t);
    if (st == DC_OK) {
        fr->t->seconds_pretrain = seconds_pretrain;
        st = dci_norm_copy(&fr->t->m->norm, dci_dataset_norm(ds), d);
    }
    if (st == DC_OK) st = train_loop(s, path, fr->t, fr->ae, fr->x, 0, fr->crc);
    if (st == DC_ERR_NUMERIC) {
        snprintf(detail, sizeof detail, "%s", dc_last_error());
        st = dci_fail(st, "%s: the clustering phase diverged twice, at learning rates %g "
                          "and %g; lower lr",
                      detail, 2.0 * cfg.lr, cfg.lr);
    }
    return st;
}

/* dist: NULL in one process; else this rank's part of a data-parallel fit
 * (nn/dist.h): ds is this rank's block, every whole-set array is of all rows. */
static dc_status fit_on(dc_solver *s, const dc_dataset *ds, dci_deep_method method,
                        deep_state *state) {
    dci_dist *dist = state->dist;
    const char *name = s->m->name;
    const int64_t nl = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    const int64_t n = dist ? dist->n : nl;
    const float *x_raw = dc_dataset_data(ds);
    double every = 0;
    DCI_TRY(dci_param_value(s, "checkpoint_every", &every));
    if (every > 0 && !state->checkpoint_path)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: checkpoint_every = %lld but no checkpoint file "
                                            "(dc_solver_set_checkpoint)",
                        name, (long long)llround(every));
    fit_run fr = {.x = x_raw};
    if (!(fr.eff = DCI_NEW_ARRAY(double, s->m->n_params, "effective parameters")))
        return DC_ERR_NOMEM;
    dc_status st = DC_OK;
    if (state->checkpoint_path && every > 0)
        st = dci_deep_data_crc_all(dist, x_raw, nl, d, &fr.crc);
    if (st == DC_OK && state->resume_path)
        st = resume_state(s, state, method, ds, &fr.t, &fr.ae, &fr.pr);
    if (st == DC_OK && fr.t) {
        fr.resumed = 1;
        memcpy(fr.eff, s->pv, sizeof *fr.eff * (size_t)s->m->n_params);
        if (!(fr.x = dci_scaled_input(x_raw, nl, d, fr.ae->input_scale, &fr.x_copy)))
            st = DC_ERR_NOMEM;
    } else if (st == DC_OK) {
        st = start_fit(s, ds, method, state, &fr);
    }
    /* Before the first checkpoint, which holds the model's records. */
    if (st == DC_OK) st = dci_norm_copy(&fr.t->m->norm, dci_dataset_norm(ds), d);
    if (st == DC_OK) fr.t->m->train_rows = n;
    if (st == DC_OK) st = cluster_fit(s, ds, state, &fr);
    if (st == DC_OK) st = dci_deep_finish(s, fr.t, fr.x);
    if (st == DC_OK) st = put_setup_stats(s, fr.t, fr.pretrain_steps, fr.restarts);
    if (st == DC_OK) {
        state->model = fr.t->m;
        fr.t->m = NULL;
        state->pretrained = fr.ae;
        fr.ae = NULL;
    }
    dci_deep_train_free(fr.t);
    dc_model_free(fr.ae);
    dci_pretrain_resume_free(fr.pr);
    dci_free(fr.x_copy);
    dci_free(fr.eff);
    return st;
}

static dc_status deep_fit(dc_solver *s, const dc_dataset *ds, dci_deep_method method) {
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    dc_model_free(state->model);
    dc_model_free(state->pretrained);
    state->model = state->pretrained = NULL;
    dci_dist *dist = NULL;
#ifdef DCI_HAVE_MPI
    if (dci_mpi_active()) DCI_TRY(dci_deep_dist_create(&dist, ds, s->m->name)); /* lib/mpi/deep_mpi.c */
#endif
    state->dist = dist;
    dc_status st = fit_on(s, ds, method, state);
    if (dist) {
        if (st == DC_OK) st = dist->stats(dist, s);
        dist->free(dist);
    }
    state->dist = NULL;
    return st;
}

static dc_status fit_edcwrn(dc_solver *s, const dc_dataset *ds) {
    return deep_fit(s, ds, DCI_DEEP_EDCWRN);
}
static dc_status fit_idec(dc_solver *s, const dc_dataset *ds) {
    return deep_fit(s, ds, DCI_DEEP_IDEC);
}
static dc_status fit_dec(dc_solver *s, const dc_dataset *ds) {
    return deep_fit(s, ds, DCI_DEEP_DEC);
}

static dc_status predict(dc_solver *s, const dc_dataset *ds, int32_t *dst) {
    const deep_state *state = s->state;
    if (!state || !state->model)
        return dci_fail(DC_ERR_STATE, "%s: predict needs a fitted solver", s->m->name);
    return dc_model_predict(state->model, ds, dst, dc_dataset_rows(ds));
}

/* finish() registers these; "loss" and "trace" hold one row per clustering
 * iteration and per target update, and a fit that ends with at least one
 * iteration made both (the first update comes before the first iteration),
 * which is every fit with max_iter > 0. The weights of IDEC and DEC are all
 * ones (dc_model_weights). */
static const dci_output_def deep_outputs[] = {
    {"embedding", NULL}, {"q", NULL},           {"centers", NULL},
    {"weights", NULL},   {"loss", "max_iter"}, {"trace", "max_iter"},
    {NULL, NULL},
};

const dci_method dci_method_edcwrn = {
    .name = "edcwrn",
    .params = edcwrn_params,
    .n_params = (int)(sizeof edcwrn_params / sizeof edcwrn_params[0]),
    .outputs = deep_outputs,
    .fit = fit_edcwrn,
    .predict = predict,
    .free_state = free_state,
};
const dci_method dci_method_idec = {
    .name = "idec",
    .params = idec_params,
    .n_params = (int)(sizeof idec_params / sizeof idec_params[0]),
    .outputs = deep_outputs,
    .fit = fit_idec,
    .predict = predict,
    .free_state = free_state,
};
const dci_method dci_method_dec = {
    .name = "dec",
    .params = dec_params,
    .n_params = (int)(sizeof dec_params / sizeof dec_params[0]),
    .outputs = deep_outputs,
    .fit = fit_dec,
    .predict = predict,
    .free_state = free_state,
};

/* ---- public model API on solvers (deepclust/model.h) ---- */

dc_status dc_solver_model(const dc_solver *s, dc_model **out) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(s);
    DCI_TRY(need_deep(s, "dc_solver_model"));
    const deep_state *state = s->state;
    if (!state || !state->model)
        return dci_fail(DC_ERR_STATE, "dc_solver_model: no fitted model (call dc_solver_fit)");
    return dci_model_clone(out, state->model);
}

dc_status dc_solver_pretrained(const dc_solver *s, dc_model **out) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(s);
    DCI_TRY(need_deep(s, "dc_solver_pretrained"));
    const deep_state *state = s->state;
    if (!state || !state->pretrained)
        return dci_fail(DC_ERR_STATE, "dc_solver_pretrained: no fitted model (call dc_solver_fit)");
    return dci_model_clone(out, state->pretrained);
}

dc_status dc_solver_use_pretrained(dc_solver *s, const dc_model *ae) {
    DCI_CHECK_NULL(s);
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_use_pretrained"));
    DCI_TRY(need_deep(s, "dc_solver_use_pretrained"));
    if (ae && ae->kind != DCI_MODEL_AUTOENCODER)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_solver_use_pretrained: the model is a clustering "
                                            "model, not a pre-trained autoencoder");
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    dc_model *copy = NULL;
    if (ae) {
        double v[4];
        layer_sizes(ae, v);
        for (int i = 0; i < 4; i++)
            if (dc_solver_set(s, LAYER_PARAMS[i], v[i]) != DC_OK)
                return dci_fail(DC_ERR_INVALID_ARG, "dc_solver_use_pretrained: the autoencoder's "
                                                    "%s (%g) is not a valid %s", LAYER_PARAMS[i],
                                v[i], LAYER_PARAMS[i]);
        DCI_TRY(dci_model_clone(&copy, ae));
    }
    dc_model_free(state->use_ae);
    state->use_ae = copy;
    return DC_OK;
}

dc_status dc_solver_set_checkpoint(dc_solver *s, const char *path, int64_t every) {
    DCI_CHECK_NULL(s);
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_set_checkpoint"));
    DCI_TRY(need_deep(s, "dc_solver_set_checkpoint"));
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    if (!path) {
        dci_free(state->checkpoint_path);
        state->checkpoint_path = NULL;
        return dc_solver_set(s, "checkpoint_every", 0);
    }
    if (every < 1 || *path == '\0')
        return dci_fail(DC_ERR_INVALID_ARG, "dc_solver_set_checkpoint: %s",
                        *path ? "every must be >= 1" : "empty path");
    DCI_TRY(dc_solver_set(s, "checkpoint_every", (double)every));
    size_t len = strlen(path);
    char *copy = DCI_NEW_ARRAY(char, (int64_t)len + 1, "checkpoint path");
    if (!copy) return DC_ERR_NOMEM;
    memcpy(copy, path, len + 1);
    dci_free(state->checkpoint_path);
    state->checkpoint_path = copy;
    return DC_OK;
}

dc_status dc_solver_resume(dc_solver *s, const dc_dataset *data, const char *checkpoint_path) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(data);
    DCI_CHECK_NULL(checkpoint_path);
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_resume"));
    DCI_TRY(need_deep(s, "dc_solver_resume"));
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    state->resume_path = checkpoint_path;
    dc_status st = dc_solver_fit(s, data);
    state->resume_path = NULL;
    return st;
}
