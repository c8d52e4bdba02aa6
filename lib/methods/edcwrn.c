/* The "edcwrn", "idec" and "dec" methods (SPEC §2): one training loop,
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
#include "methods/edcwrn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cluster/kmeans.h"
#include "cluster/neighbor_max.h"
#include "cluster/weighting.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "deepclust/dataset.h"
#include "deepclust/model.h"
#include "graph/knn.h"
#include "methods/method.h"
#include "nn/autoencoder.h"
#include "nn/pretrain.h"

/* ---- parameters ---- */

#define DEF_LR 0.1
#define DEF_LR_DEC 0.01 /* DEC's own setting: no reconstruction term to hold it back */

#define P_K {"k", DC_PARAM_INT, 0, 0, 1e9, NULL, "number of clusters (required)"}
#define P_SEED {"seed", DC_PARAM_INT, 0, 0, 9007199254740992.0, NULL, \
                "random seed (weights, batch order, augmentation, k-means)"}
#define P_PRESET {"preset", DC_PARAM_CHOICE, DCI_PRESET_DEFAULT, 0, 1, "default|authors", \
                  "the values every parameter not given takes: this library's measured "    \
                  "recipe, or the authors' published code (docs/methods.md lists both)"}
#define P_PRE_STEPS {"pretrain_steps", DC_PARAM_INT, 0, 0, 1e9, NULL, \
                     "pre-training budget in batch steps; 0: 500 epochs, at least 2000 and at " \
                     "most 16000 steps"}
#define P_PRE_EPOCHS {"pretrain_epochs", DC_PARAM_INT, 0, 0, 1e6, NULL, \
                      "> 0: the pre-training budget in epochs instead of pretrain_steps"}
#define P_PRE_WARMUP {"pretrain_warmup", DC_PARAM_INT, 1000, 0, 1e9, NULL, \
                      "pre-training learning-rate warm-up in steps (at most a tenth of the budget)"}
#define P_PRE_LR {"pretrain_lr", DC_PARAM_REAL, 0.0, 0, 1e6, NULL, \
                  "pre-training learning rate; 0: the optimiser's default (SGD 1.0, Adam 0.001)"}
#define P_PRE_MOM {"pretrain_momentum", DC_PARAM_REAL, 0.9, 0, 0.9999, NULL, \
                   "pre-training momentum"}
#define P_PRE_OPT {"pretrain_optimizer", DC_PARAM_CHOICE, 1, 0, 1, "sgd|adam", \
                   "pre-training optimiser: SGD with momentum (SPEC), or Adam (beta1 = " \
                   "pretrain_momentum, beta2 = 0.999)"}
#define P_PRE_SCHED {"pretrain_schedule", DC_PARAM_CHOICE, 1, 0, 1, "constant|cosine", \
                     "pre-training learning rate schedule: constant, or a half cosine from pretrain_lr " \
                     "down to 0 over all the epochs"}
#define P_BATCH {"batch", DC_PARAM_INT, 256, 1, DCI_DEEP_MAX_BATCH, NULL, \
                 "mini-batch size of both phases (clamped to the number of samples)"}
#define P_LR(def) {"lr", DC_PARAM_REAL, def, 0, 1e30, NULL, \
                   "clustering-phase learning rate (SGD with momentum), > 0"}
#define P_MOM {"momentum", DC_PARAM_REAL, 0.9, 0, 0.9999, NULL, "clustering-phase momentum"}
#define P_LAMBDA {"lambda", DC_PARAM_REAL, 0.1, 0, 1e6, NULL, \
                  "weight of the clustering loss: L = L_r + lambda L_c"}
#define P_A {"a", DC_PARAM_REAL, DCI_KERNEL_A_DEFAULT, 0, 1e6, NULL, \
             "kernel q = 1 / (1 + a s^b) (EDCWRN Eq. 11), a > 0"}
#define P_B {"b", DC_PARAM_REAL, DCI_KERNEL_B_DEFAULT, 0, 100, NULL, "kernel exponent b > 0"}
#define P_ALPHA {"alpha", DC_PARAM_REAL, DCI_WEIGHT_ALPHA_DEFAULT, 1, 100, NULL, \
                 "representation weighting fuzzifier, > 1"}
#define P_BETA {"beta", DC_PARAM_REAL, DCI_WEIGHT_BETA_DEFAULT, 1, 100, NULL, \
                "representation weighting exponent, > 1 (2: EDCWRN Eq. 15)"}
#define P_NK {"neighbors_k", DC_PARAM_INT, DCI_NMAX_K_DEFAULT, 1, 1e6, NULL, \
              "neighbours per sample in the max branch, < number of samples"}
#define P_T {"update_interval", DC_PARAM_INT, 140, 1, 1e9, NULL, \
             "T: clustering iterations between target-distribution updates"}
#define P_TOL {"tol", DC_PARAM_REAL, 0.001, 0, 1, NULL, \
               "stop when the fraction of labels changed between two updates is below tol"}
#define P_MAXIT {"max_iter", DC_PARAM_INT, 8000, 0, 1e9, NULL, \
                 "maximum clustering iterations (mini-batches)"}
#define P_NINIT {"n_init", DC_PARAM_INT, 20, 1, 10000, NULL, \
                 "k-means restarts for the initial centres"}
#define P_EMBED {"embed_dim", DC_PARAM_INT, DCI_AE_DEFAULT_EMBED, 1, 1e5, NULL, \
                 "embedding size M"}
#define P_H1 {"hidden1", DC_PARAM_INT, 500, 1, 1e6, NULL, "encoder hidden layer 1 size"}
#define P_H2 {"hidden2", DC_PARAM_INT, 500, 0, 1e6, NULL, "encoder hidden layer 2 size (0: none)"}
#define P_H3 {"hidden3", DC_PARAM_INT, 2000, 0, 1e6, NULL, \
              "encoder hidden layer 3 size (0: none; needs hidden2)"}
#define P_AUG {"augment", DC_PARAM_CHOICE, DCI_AUGMENT_AUTO, 0, 2, "false|true|auto", \
               "random affine augmentation of image batches in both phases (true needs an "  \
               "image shape; auto: on exactly when the data have one)"}
#define P_SCALE {"scale_input", DC_PARAM_BOOL, 1, 0, 1, NULL, \
                 "divide the data by a power of two near their 99th percentile of |x| (1 for " \
                 "pixels in [0, 1]) so that learning rates and lambda act alike on any "       \
                 "scaling; the model records and applies it"}
#define P_CKPT {"checkpoint_every", DC_PARAM_INT, 0, 0, 1e9, NULL, \
                "checkpoint every N clustering iterations (0: off; file: dc_solver_set_checkpoint)"}
#define P_WEIGHTING {"weighting", DC_PARAM_CHOICE, DCI_WEIGHTING_ON, 0, 2, "false|true|after", \
                     "local representation weighting: false: plain squared distance; true: "  \
                     "Eq. 15 weights in the kernel, updated during training; after: uniform " \
                     "weights in training, Eq. 15 computed once at the end (output only)"}
#define P_NEIGHBORS {"neighbors", DC_PARAM_BOOL, 1, 0, 1, NULL, \
                     "neighbour-max encoder branch (off: each sample its own neighbour)"}
#define P_FORMULATION {"formulation", DC_PARAM_CHOICE, 0, 0, 1, "proposed|idec", \
                       "proposed: Eq. 11 kernel + cross-entropy; idec: Student-t + KL"}
#define P_WSCALE {"weighting_scale", DC_PARAM_CHOICE, DCI_WSCALE_RAW, 0, 1, "raw|standardized", \
                  "dispersions of the weighting (Eq. 15) on the raw embedding, or on the "  \
                  "embedding standardised per dimension (relative dispersion)"}
#define P_WNORM {"weighting_norm", DC_PARAM_CHOICE, DCI_WNORM_MEAN, 0, 1, "sum|mean", \
                 "the kernel's weighted distance uses w (rows sum to 1: a mean over "   \
                 "dimensions) or M w (mean weight 1: uniform weights give the plain "   \
                 "squared distance, as weighting=false)"}
#define P_CENORM {"ce_normalized", DC_PARAM_BOOL, 1, 0, 1, NULL, \
                  "cross-entropy against q normalised over clusters (as the authors' code); "    \
                  "off: -sum p log q of the raw kernel"}

#define COMMON_PARAMS P_K, P_SEED, P_PRESET, P_PRE_STEPS, P_PRE_EPOCHS, P_PRE_WARMUP, P_PRE_LR, \
                      P_PRE_MOM, P_PRE_OPT, P_PRE_SCHED, P_BATCH, P_MOM, P_T, P_TOL, P_MAXIT,   \
                      P_NINIT, P_EMBED, P_H1, P_H2, P_H3, P_AUG, P_SCALE, P_CKPT

static const dci_param_def edcwrn_params[] = {
    COMMON_PARAMS, P_LR(DEF_LR), P_LAMBDA, P_A, P_B, P_ALPHA, P_BETA, P_NK,
    P_WEIGHTING,   P_NEIGHBORS,  P_FORMULATION, P_CENORM, P_WSCALE, P_WNORM,
};
static const dci_param_def idec_params[] = {COMMON_PARAMS, P_LR(DEF_LR), P_LAMBDA};
static const dci_param_def dec_params[] = {COMMON_PARAMS, P_LR(DEF_LR_DEC)};

static const char *const method_names[] = {"edcwrn", "idec", "dec"};

dci_deep_cfg dci_deep_cfg_default(dci_deep_method method) {
    dci_deep_cfg c;
    memset(&c, 0, sizeof c);
    c.method = method;
    c.batch = 256;
    c.embed_dim = DCI_AE_DEFAULT_EMBED;
    c.hidden[0] = 500;
    c.hidden[1] = 500;
    c.hidden[2] = 2000;
    c.pretrain_warmup = 1000;
    c.pretrain_adam = 1;
    c.pretrain_cosine = 1;
    c.augment = DCI_AUGMENT_AUTO;
    c.scale_input = 1;
    c.n_init = 20;
    c.neighbors_k = DCI_NMAX_K_DEFAULT;
    c.update_interval = 140;
    c.max_iter = 8000;
    c.pretrain_lr = 0.0;
    c.pretrain_momentum = 0.9;
    c.lr = method == DCI_DEEP_DEC ? DEF_LR_DEC : DEF_LR;
    c.momentum = 0.9;
    c.lambda = 0.1;
    c.a = DCI_KERNEL_A_DEFAULT;
    c.b = DCI_KERNEL_B_DEFAULT;
    c.alpha = DCI_WEIGHT_ALPHA_DEFAULT;
    c.beta = DCI_WEIGHT_BETA_DEFAULT;
    c.tol = 0.001;
    c.weighting = method == DCI_DEEP_EDCWRN ? DCI_WEIGHTING_ON : DCI_WEIGHTING_OFF;
    c.neighbors = method == DCI_DEEP_EDCWRN;
    c.formulation_idec = method != DCI_DEEP_EDCWRN;
    c.ce_normalized = 1;
    c.weighting_scale = DCI_WSCALE_RAW;
    c.weighting_norm = DCI_WNORM_MEAN;
    return c;
}

/* ---- presets ----
 * A preset is the value each parameter takes when the caller did not set
 * it. "default" is the parameter table itself; "authors" replaces the
 * entries below (the EDCWRN authors' published notebook: docs/methods.md).
 * Choice values are their positions in the table's choice lists. */
typedef struct preset_value {
    const char *name;
    double value;
    int edcwrn_only; /* IDEC and DEC keep their own clustering settings */
} preset_value;

static const preset_value authors_preset[] = {
    {"pretrain_steps", 128000, 0},   {"pretrain_optimizer", 0, 0}, /* sgd */
    {"pretrain_lr", 1.0, 0},         {"pretrain_momentum", 0.9, 0},
    {"pretrain_schedule", 0, 0},     /* constant */
    {"pretrain_warmup", 0, 0},       {"scale_input", 0, 0},
    {"n_init", 150, 0},              {"lr", 1.0, 1},
    {"weighting", DCI_WEIGHTING_AFTER, 1}, {"weighting_norm", DCI_WNORM_SUM, 1},
};

static int param_index(const dc_solver *s, const char *name) {
    for (int i = 0; i < s->m->n_params; i++)
        if (strcmp(s->m->params[i].name, name) == 0) return i;
    return -1;
}

/* The values a fit uses: the solver's, with the preset's for every
 * parameter the caller did not set. eff has n_params entries. */
static void effective_params(const dc_solver *s, double *eff) {
    memcpy(eff, s->pv, sizeof *eff * (size_t)s->m->n_params);
    const int ip = param_index(s, "preset");
    if (ip < 0 || llround(s->pv[ip]) != DCI_PRESET_AUTHORS) return;
    const int edcwrn = s->m == &dci_method_edcwrn;
    for (size_t e = 0; e < sizeof authors_preset / sizeof authors_preset[0]; e++) {
        const int i = param_index(s, authors_preset[e].name);
        if (i >= 0 && !s->given[i] && (edcwrn || !authors_preset[e].edcwrn_only))
            eff[i] = authors_preset[e].value;
    }
}

/* Value of a parameter if the method's table has it. */
static int opt_param(const dc_solver *s, const double *eff, const char *name, double *v) {
    const int i = param_index(s, name);
    if (i < 0) return 0;
    *v = eff[i];
    return 1;
}

static dci_deep_cfg read_cfg(const dc_solver *s, const double *eff, dci_deep_method method) {
    dci_deep_cfg c = dci_deep_cfg_default(method);
    double v;
#define RD_I(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = (int64_t)llround(v)
#define RD_C(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = (int)llround(v)
#define RD_R(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = v
#define RD_B(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = v != 0.0
    RD_I("k", k);
    RD_I("batch", batch);
    RD_I("embed_dim", embed_dim);
    RD_I("hidden1", hidden[0]);
    RD_I("hidden2", hidden[1]);
    RD_I("hidden3", hidden[2]);
    RD_C("preset", preset);
    RD_I("pretrain_epochs", pretrain_epochs);
    RD_I("pretrain_steps", pretrain_steps);
    RD_I("pretrain_warmup", pretrain_warmup);
    RD_I("n_init", n_init);
    RD_I("neighbors_k", neighbors_k);
    RD_I("update_interval", update_interval);
    RD_I("max_iter", max_iter);
    RD_I("checkpoint_every", checkpoint_every);
    RD_R("pretrain_lr", pretrain_lr);
    RD_R("pretrain_momentum", pretrain_momentum);
    RD_R("lr", lr);
    RD_R("momentum", momentum);
    RD_R("lambda", lambda);
    RD_R("a", a);
    RD_R("b", b);
    RD_R("alpha", alpha);
    RD_R("beta", beta);
    RD_R("tol", tol);
    RD_C("weighting", weighting);
    RD_B("neighbors", neighbors);
    RD_B("formulation", formulation_idec);
    RD_B("ce_normalized", ce_normalized);
    RD_C("augment", augment);
    RD_B("scale_input", scale_input);
    RD_B("pretrain_schedule", pretrain_cosine);
    RD_B("pretrain_optimizer", pretrain_adam);
    RD_I("weighting_scale", weighting_scale);
    RD_I("weighting_norm", weighting_norm);
    if (opt_param(s, eff, "seed", &v)) c.seed = (uint64_t)llround(v);
#undef RD_I
#undef RD_C
#undef RD_R
#undef RD_B
    return c;
}

/* Encoder dims [d, hidden..., M]; returns their count. */
static int build_dims(const dci_deep_cfg *c, int64_t d, int64_t dims[DCI_DEEP_MAX_DIMS]) {
    int n = 0;
    dims[n++] = d;
    for (int i = 0; i < 3 && c->hidden[i] > 0; i++) dims[n++] = c->hidden[i];
    dims[n++] = c->embed_dim;
    return n;
}

dc_status dci_deep_check(const dci_deep_cfg *c, int64_t n, int64_t d,
                         const dci_image_shape *shape) {
    const char *name = method_names[c->method];
    DCI_TRY(dci_check_k(c->k, n, 1, name));
    if (c->batch < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: batch = %lld must be >= 1", name,
                        (long long)c->batch);
    if (!(c->lr > 0.0))
        return dci_fail(DC_ERR_INVALID_ARG, "%s: learning rate lr = %g must be > 0", name, c->lr);
    if (!(c->pretrain_lr >= 0.0) || !isfinite(c->pretrain_lr))
        return dci_fail(DC_ERR_INVALID_ARG, "%s: pretrain_lr = %g must be > 0 (0: default)", name,
                        c->pretrain_lr);
    if (!(c->lambda >= 0.0))
        return dci_fail(DC_ERR_INVALID_ARG, "%s: lambda = %g must be >= 0", name, c->lambda);
    if (c->hidden[0] < 1 || (c->hidden[2] > 0 && c->hidden[1] < 1))
        return dci_fail(DC_ERR_INVALID_ARG,
                        "%s: hidden layers %lld, %lld, %lld: hidden1 must be >= 1 and hidden3 "
                        "needs hidden2",
                        name, (long long)c->hidden[0], (long long)c->hidden[1],
                        (long long)c->hidden[2]);
    if (c->update_interval < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: update_interval must be >= 1", name);
    if (!c->formulation_idec && dci_kernel_check(dci_kernel_proposed(c->a, c->b)) != DC_OK)
        return dci_context(DC_ERR_INVALID_ARG, "%s", name);
    if (c->weighting != DCI_WEIGHTING_OFF && dci_weighting_check(c->alpha, c->beta) != DC_OK)
        return dci_context(DC_ERR_INVALID_ARG, "%s", name);
    if (c->neighbors && dci_nmax_check_k(c->neighbors_k, n) != DC_OK)
        return dci_context(DC_ERR_INVALID_ARG, "%s: parameter neighbors_k", name);
    if (c->augment == DCI_AUGMENT_ON && dci_augment_check(shape, d) != DC_OK)
        return dci_context(shape ? DC_ERR_SHAPE : DC_ERR_INVALID_ARG, "%s: parameter augment",
                           name);
    return DC_OK;
}

int dci_deep_augment_on(const dci_deep_cfg *c, const dci_image_shape *shape) {
    return c->augment == DCI_AUGMENT_ON || (c->augment == DCI_AUGMENT_AUTO && shape != NULL);
}

int64_t dci_deep_pretrain_steps(const dci_deep_cfg *c, int64_t n) {
    const int64_t b = c->batch < n ? c->batch : n;
    const int64_t per_epoch = b < 1 ? 0 : (n + b - 1) / b;
    if (c->pretrain_epochs > 0) return c->pretrain_epochs * per_epoch;
    if (c->pretrain_steps > 0) return c->pretrain_steps;
    const int64_t steps = 500 * per_epoch;
    return steps < DCI_PRETRAIN_MIN_STEPS ? DCI_PRETRAIN_MIN_STEPS
                                          : (steps > DCI_PRETRAIN_MAX_STEPS ? DCI_PRETRAIN_MAX_STEPS
                                                                            : steps);
}

/* ---- training state ---- */

void dci_deep_train_free(dci_deep_train *t) {
    if (!t) return;
    dc_model_free(t->m);
    dci_sgd_free(t->sgd);
    void *bufs[] = {t->wvar,  t->dr,    t->xb,   t->xb_nb, t->z,     t->dz,  t->drecon, t->qb,    t->pb,
                    t->enb,   t->de,   t->dez,   t->zself, t->arg,  t->lnbr,  t->e,
                    t->e_nb,  t->zall, t->q,     t->p,   t->nbr,    t->labels, t->labels_new,
                    t->order, t->loss, t->trace};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) dci_free(bufs[i]);
    dci_free(t);
}

dc_status dci_deep_train_create(dci_deep_train **out, const dci_deep_cfg *cfg, const dc_model *ae,
                                int64_t n, const dci_image_shape *shape) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(cfg);
    DCI_CHECK_NULL(ae);
    if (ae->kind != DCI_MODEL_AUTOENCODER || !ae->dec)
        return dci_fail(DC_ERR_INVALID_ARG, "clustering network: needs a pre-trained autoencoder");
    dci_deep_train *t = DCI_NEW_ZEROS(dci_deep_train, 1, "training state");
    if (!t) return DC_ERR_NOMEM;
    t->cfg = *cfg;
    t->n = n;
    t->d = ae->dims[0];
    t->K = cfg->k;
    t->M = dci_model_dim(ae);
    t->B = cfg->batch < n ? cfg->batch : n;
    t->kn = cfg->neighbors ? cfg->neighbors_k : 0;
    t->last_change = NAN;
    t->pretrain_loss = ae->pretrain_loss;
    const int64_t B = t->B, M = t->M, K = t->K, d = t->d, kn = t->kn;
    dc_status st = dci_model_new(&t->m, DCI_MODEL_CLUSTERING, method_names[cfg->method], ae->dims,
                                 ae->n_dims, B, kn > 0, cfg->method != DCI_DEEP_DEC, K,
                                 cfg->weighting == DCI_WEIGHTING_ON);
    if (st != DC_OK) goto fail;
    dc_model *m = t->m;
    dci_mlp_copy_params(m->enc, ae->enc);
    if (m->enc_nb) dci_mlp_copy_params(m->enc_nb, ae->enc);
    if (m->dec) dci_mlp_copy_params(m->dec, ae->dec);
    m->kernel = cfg->formulation_idec ? dci_kernel_student() : dci_kernel_proposed(cfg->a, cfg->b);
    /* a (M s)^b = (a M^b) s^b: M w in the distance is a rescaled a; the
     * fixed uniform weights 1/M of weighting = after are a / M^b. */
    if (cfg->weighting == DCI_WEIGHTING_ON && cfg->weighting_norm == DCI_WNORM_MEAN)
        m->kernel.a *= pow((double)M, m->kernel.b);
    if (cfg->weighting == DCI_WEIGHTING_AFTER && cfg->weighting_norm == DCI_WNORM_SUM &&
        !cfg->formulation_idec)
        m->kernel.a *= pow((double)M, -m->kernel.b);
    m->input_scale = ae->input_scale;
    m->neighbors_k = kn;
    m->pretrain_loss = ae->pretrain_loss;
    if (m->weights) dci_weighting_init(m->weights, K, M);
    t->closs = cfg->formulation_idec ? DCI_CLOSS_KL
                                     : (cfg->ce_normalized ? DCI_CLOSS_CE : DCI_CLOSS_CE_UNNORM);
    t->lambda_c = cfg->method == DCI_DEEP_DEC ? 1.0 : cfg->lambda;

#define ALLOC(ptr, type, count) \
    if (!((ptr) = DCI_NEW_ZEROS(type, (count), #ptr))) goto nomem
    ALLOC(t->dr, float, K * M);
    if (cfg->weighting != DCI_WEIGHTING_OFF) ALLOC(t->wvar, double, M);
    ALLOC(t->xb, float, B * d);
    ALLOC(t->z, float, B * M);
    ALLOC(t->dz, float, B * M);
    ALLOC(t->drecon, float, B * d);
    ALLOC(t->qb, float, B * K);
    ALLOC(t->pb, float, B * K);
    ALLOC(t->e, float, n * M);
    ALLOC(t->zall, float, n * M);
    ALLOC(t->q, float, n * K);
    ALLOC(t->p, float, n * K);
    ALLOC(t->labels, int32_t, n);
    ALLOC(t->labels_new, int32_t, n);
    ALLOC(t->order, int64_t, n);
    if (kn > 0) {
        ALLOC(t->enb, float, B * kn * M);
        ALLOC(t->de, float, B * kn * M);
        ALLOC(t->dez, float, B * M);
        ALLOC(t->zself, float, B * M);
        ALLOC(t->arg, int32_t, B * M);
        ALLOC(t->lnbr, int64_t, B * kn);
        if (dci_deep_augment_on(cfg, shape)) ALLOC(t->xb_nb, float, B * d);
        ALLOC(t->e_nb, float, n * M);
        ALLOC(t->nbr, int64_t, n * kn);
        dci_nmax_self(n, kn, t->nbr);
    }
#undef ALLOC

    st = dci_sgd_create(&t->sgd, (float)cfg->lr, (float)cfg->momentum);
    if (st == DC_OK) st = dci_sgd_add_mlp(t->sgd, m->enc);
    if (st == DC_OK && m->enc_nb) st = dci_sgd_add_mlp(t->sgd, m->enc_nb);
    if (st == DC_OK && m->dec) st = dci_sgd_add_mlp(t->sgd, m->dec);
    if (st == DC_OK) st = dci_sgd_add_block(t->sgd, m->centers, t->dr, K * M);
    if (st != DC_OK) goto fail;

    for (int64_t i = 0; i < n; i++) t->order[i] = i;
    t->pos = n; /* the first iteration starts an epoch (and shuffles) */
    dci_rng_init(&t->shuffle, cfg->seed, DCI_STREAM_SHUFFLE);
    dci_rng_init(&t->aug, cfg->seed, DCI_STREAM_AUGMENT);
    t->augment = dci_deep_augment_on(cfg, shape);
    if (shape) t->shape = *shape;
    *out = t;
    return DC_OK;
nomem:
    st = DC_ERR_NOMEM;
fail:
    dci_deep_train_free(t);
    return st;
}

static dc_status append_rows(float **buf, int64_t *n, int64_t *cap, const float *row, int cols) {
    if (*n == *cap) {
        int64_t nc = *cap ? 2 * *cap : 256;
        float *nb = dci_realloc(*buf, (size_t)(nc * cols) * sizeof **buf);
        if (!nb) return dci_fail(DC_ERR_NOMEM, "cannot grow the training history");
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *n * cols, row, (size_t)cols * sizeof *row);
    (*n)++;
    return DC_OK;
}

dc_status dci_deep_init_centers(dci_deep_train *t, const float *x, dc_progress_fn progress,
                                void *user) {
    dci_model_encode(t->m, x, t->n, t->e, t->e_nb);
    dci_model_combine(t->m, t->e, t->e_nb, NULL, t->n, t->zall);
    DCI_TRY(dci_embedding_check(t->zall, t->n, t->M));
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.n_init = t->cfg.n_init;
    o.seed = t->cfg.seed;
    o.progress = progress;
    o.progress_user = user;
    return dci_kmeans(t->zall, t->n, t->M, t->K, &o, NULL, t->m->centers, NULL, NULL);
}

dc_status dci_deep_batch_loss(dci_deep_train *t, const float *xb, const float *xb_nb, int64_t b,
                              const float *pb, const int64_t *nbr, int grad, double parts[3]) {
    dc_model *m = t->m;
    const int64_t M = t->M, K = t->K, kn = t->kn;
    float *z = t->z;
    const float *vx = dci_mlp_forward(m->enc, xb, b);
    if (m->enc_nb) {
        const float *ez = dci_mlp_forward(m->enc_nb, xb_nb ? xb_nb : xb, b);
        if (!nbr) {
            for (int64_t i = 0; i < b * M; i++) t->zself[i] = vx[i] + ez[i];
            DCI_TRY(dci_embedding_check(t->zself, b, M));
            DCI_TRY(dci_nmax_knn_batch(t->zself, b, M, kn, t->lnbr));
            nbr = t->lnbr;
        }
        for (int64_t r = 0; r < b * kn; r++)
            memcpy(t->enb + r * M, ez + nbr[r] * M, (size_t)M * sizeof *z);
        dci_nmax_forward(t->enb, b, kn, M, z, t->arg);
        for (int64_t i = 0; i < b * M; i++) z[i] += vx[i];
    } else {
        for (int64_t i = 0; i < b * M; i++) z[i] = 2.0f * vx[i];
    }
    DCI_TRY(dci_embedding_check(z, b, M));

    double lr_loss = 0.0, lc = 0.0;
    if (m->dec) {
        const float *recon = dci_mlp_forward(m->dec, z, b);
        lr_loss = dci_mse(recon, xb, b, t->d, grad ? t->drecon : NULL);
    }
    if (grad) {
        dci_mlp_zero_grad(m->enc);
        if (m->enc_nb) dci_mlp_zero_grad(m->enc_nb);
        if (m->dec) {
            dci_mlp_zero_grad(m->dec);
            dci_mlp_backward(m->dec, t->drecon, t->dz);
        } else {
            memset(t->dz, 0, (size_t)(b * M) * sizeof *t->dz);
        }
        memset(t->dr, 0, (size_t)(K * M) * sizeof *t->dr);
    }
    DCI_TRY(dci_assign_loss(m->kernel, t->closs, z, b, M, m->centers, m->weights, K, pb,
                            t->lambda_c, grad ? t->dz : NULL, grad ? t->dr : NULL, &lc));
    const double total = lr_loss + t->lambda_c * lc;
    if (!isfinite(total))
        return dci_fail(DC_ERR_NUMERIC, "the reconstruction loss is %s (learning rate too high?)",
                        isnan(lr_loss) ? "NaN" : "Inf");
    if (parts) {
        parts[0] = total;
        parts[1] = lr_loss;
        parts[2] = lc;
    }
    if (!grad) return DC_OK;
    /* z = v_x + v_z: both branches receive dL/dz. Without the neighbour
     * branch z = 2 enc(x) stands for two equal encoders that each receive
     * dL/dz (deep_model.h), so enc gets dL/dz, not 2 dL/dz. */
    dci_mlp_backward(m->enc, t->dz, NULL);
    if (m->enc_nb) {
        /* The max routes each component to its winning neighbour; a batch
         * row can be the neighbour of several rows, so sum per row. */
        dci_nmax_backward(t->dz, t->arg, b, kn, M, t->de);
        memset(t->dez, 0, (size_t)(b * M) * sizeof *t->dez);
        for (int64_t r = 0; r < b * kn; r++) {
            float *dst = t->dez + nbr[r] * M;
            const float *src = t->de + r * M;
            for (int64_t mm = 0; mm < M; mm++) dst[mm] += src[mm];
        }
        dci_mlp_backward(m->enc_nb, t->dez, NULL);
    }
    return DC_OK;
}

/* The representation weights w (K x M) from n rows of q and z (SPEC §1.5). */
static dc_status update_weights(dci_deep_train *t, const float *q, const float *z, int64_t n,
                                float *w) {
    const double *scale = NULL;
    if (t->cfg.weighting_scale == DCI_WSCALE_STANDARDIZED) {
        DCI_TRY(dci_weighting_dim_variance(z, n, t->M, t->wvar));
        scale = t->wvar;
    }
    return dci_weighting_update(q, z, n, t->M, t->m->centers, t->K, t->cfg.alpha, t->cfg.beta,
                                scale, w);
}

dc_status dci_deep_update(dci_deep_train *t, const float *x) {
    dc_model *m = t->m;
    const int64_t n = t->n, M = t->M, K = t->K;
    dci_model_encode(m, x, n, t->e, t->e_nb);
    dci_model_combine(m, t->e, t->e_nb, t->nbr, n, t->zall);
    DCI_TRY(dci_embedding_check(t->zall, n, M));
    if (t->kn > 0) DCI_TRY(dci_knn_self(t->zall, n, M, t->kn, t->nbr, NULL));
    DCI_TRY(dci_assign_q(m->kernel, t->zall, n, M, m->centers, m->weights, K, t->q));
    DCI_TRY(dci_assign_target(t->q, n, K, t->p));
    if (m->weights) DCI_TRY(update_weights(t, t->q, t->zall, n, m->weights));
    dci_assign_labels(t->q, n, K, t->labels_new);
    double change = 1.0; /* the first update: every label is new */
    if (t->have_labels) {
        int64_t diff = 0;
        for (int64_t i = 0; i < n; i++) diff += t->labels_new[i] != t->labels[i];
        change = (double)diff / (double)n;
        t->last_change = change;
    }
    int32_t *tmp = t->labels;
    t->labels = t->labels_new;
    t->labels_new = tmp;
    t->have_labels = 1;
    const float row[2] = {(float)t->iter, (float)change};
    return append_rows(&t->trace, &t->n_trace, &t->cap_trace, row, 2);
}

dc_status dci_deep_iteration(dci_deep_train *t, const float *x) {
    const int64_t n = t->n, K = t->K, M = t->M;
    if (t->pos >= n) {
        dci_rng_shuffle_i64(&t->shuffle, t->order, n);
        t->pos = 0;
    }
    const int64_t b = n - t->pos < t->B ? n - t->pos : t->B;
    const int64_t *idx = t->order + t->pos;
    t->pos += b;
    dci_gather_batch(x, t->d, idx, b, t->xb, t->augment ? &t->shape : NULL, NULL, &t->aug);
    if (t->xb_nb) dci_gather_batch(x, t->d, idx, b, t->xb_nb, &t->shape, NULL, &t->aug);
    for (int64_t i = 0; i < b; i++)
        memcpy(t->pb + i * K, t->p + idx[i] * K, (size_t)K * sizeof *t->pb);
    double parts[3];
    DCI_TRY(dci_deep_batch_loss(t, t->xb, t->xb_nb, b, t->pb, NULL, 1, parts));
    dc_model *m = t->m;
    if (m->weights) {
        /* From the batch's forward quantities, before the step moves r. */
        DCI_TRY(dci_assign_q(m->kernel, t->z, b, M, m->centers, m->weights, K, t->qb));
        DCI_TRY(update_weights(t, t->qb, t->z, b, m->weights));
    }
    dci_sgd_step(t->sgd);
    const float row[3] = {(float)parts[0], (float)parts[1], (float)parts[2]};
    DCI_TRY(append_rows(&t->loss, &t->n_loss, &t->cap_loss, row, 3));
    t->iter++;
    return DC_OK;
}

/* ---- solver glue: state kept across fits ---- */

typedef struct deep_state {
    dc_model *model;      /* last fit's model */
    dc_model *pretrained; /* last fit's pre-trained autoencoder */
    dc_model *use_ae;     /* dc_solver_use_pretrained */
    char *checkpoint_path;
    const char *resume_path; /* during dc_solver_resume only */
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

static void record_params(const dc_solver *s, const double *eff, dc_model *m) {
    for (int i = 0; i < s->m->n_params; i++) dci_model_set_param(m, s->m->params[i].name, eff[i]);
}

static void set_eff(const dc_solver *s, double *eff, const char *name, double v) {
    const int i = param_index(s, name);
    if (i >= 0) eff[i] = v;
}

static double pretrain_lr_of(const dci_deep_cfg *c) {
    return c->pretrain_lr > 0.0 ? c->pretrain_lr : (c->pretrain_adam ? 0.001 : 1.0);
}

/* One pre-training run from a fresh network at learning rate lr. */
static dc_status pretrain_once(dc_solver *s, const dci_deep_cfg *c, const float *x, int64_t n,
                               int64_t d, const dci_image_shape *shape, double lr,
                               dc_model **out) {
    int64_t dims[DCI_DEEP_MAX_DIMS];
    const int n_dims = build_dims(c, d, dims);
    const int64_t B = c->batch < n ? c->batch : n;
    dci_autoencoder ae;
    DCI_TRY(dci_autoencoder_create(&ae, dims, n_dims, c->seed, B));
    const dci_augment_ranges ranges = dci_augment_ranges_pretrain();
    dci_pretrain_opts o = dci_pretrain_opts_default();
    o.steps = dci_deep_pretrain_steps(c, n);
    o.warmup = c->pretrain_warmup < o.steps / 10 ? c->pretrain_warmup : o.steps / 10;
    o.batch = B;
    o.lr = (float)lr;
    o.momentum = (float)c->pretrain_momentum;
    o.cosine = c->pretrain_cosine;
    o.adam = c->pretrain_adam;
    o.seed = c->seed;
    o.augment = dci_deep_augment_on(c, shape) ? shape : NULL;
    o.ranges = &ranges;
    o.embed_limit = DCI_EMBED_LIMIT / 2; /* the clustering phase starts from 2 enc(x) */
    o.progress = s->progress;
    o.progress_user = s->progress_user;
    double loss = NAN;
    dc_status st = dci_pretrain(&ae, x, n, d, &o, &loss);
    if (st == DC_OK)
        st = dci_model_new(out, DCI_MODEL_AUTOENCODER, method_names[c->method], dims, n_dims, B, 0,
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
    DCI_TRY(dci_deep_train_create(out, c, ae, n, shape));
    record_params(s, eff, (*out)->m);
    dc_status st = dci_deep_init_centers(*out, x, s->progress, s->progress_user);
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
 * The rate used is recorded (c, eff: pretrain_lr). */
static dc_status pretrain_and_start(dc_solver *s, dci_deep_cfg *c, double *eff, const float *x,
                                    int64_t n, int64_t d, const dci_image_shape *shape,
                                    dc_model **ae, dci_deep_train **t, int *restarts) {
    const char *name = s->m->name;
    double lr = pretrain_lr_of(c);
    for (int attempt = 0;; attempt++) {
        dc_status st = pretrain_once(s, c, x, n, d, shape, lr, ae);
        if (st == DC_OK) {
            record_params(s, eff, *ae);
            st = start_clustering(s, c, eff, *ae, x, n, shape, t);
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
        set_eff(s, eff, "pretrain_lr", lr);
    }
}

/* ---- checkpoints ----
 * A checkpoint is the container of model_io.h with magic "DCCKPT\0\0": the
 * current model's records (deep_model.h), the pre-trained autoencoder's
 * under "ae.", and
 *   data.rows, data.cols (i64), data.crc (u64: CRC32 of the float data)
 *   state.iter, state.pos (i64), state.order (i64[n]),
 *   state.rng_shuffle, state.rng_augment (u64[4]: xoshiro256** states),
 *   state.p (f32 n*K), state.nbr (i64 n*kn, with neighbours),
 *   state.labels (i32[n]), state.have_labels (i64), state.last_change (f64),
 *   state.converged (i64, 1: the fit stopped by tol after the update of
 *   iteration state.iter, which the state includes; absent in older files: 0),
 *   state.loss (f32 iterations*3), state.trace (f32 updates*2),
 *   state.velocity.<i> (f32: SGD velocity of block i: enc, enc_nb, dec,
 *   centres, those present), stat.seconds_pretrain, stat.seconds_cluster,
 *   stat.pretrain_loss (f64). */

static uint64_t data_crc(const float *x, int64_t n, int64_t d) {
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    const unsigned char *p = (const unsigned char *)x;
    for (size_t left = (size_t)(n * d) * sizeof *x; left > 0;) {
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        left -= chunk;
    }
    return crc;
}

static dc_status write_checkpoint(const dci_deep_train *t, const dc_model *ae, const char *path,
                                  uint64_t crc) {
    dci_rec_writer w;
    DCI_TRY(dci_rec_begin(&w, path, DCI_MAGIC_CHECKPOINT));
    dci_model_write(&w, t->m, "");
    dci_model_write(&w, ae, "ae.");
    dci_rec_put_i64(&w, "data.rows", t->n);
    dci_rec_put_i64(&w, "data.cols", t->d);
    dci_rec_put(&w, "data.crc", DCI_REC_U64, &crc, 1);
    dci_rec_put_i64(&w, "state.iter", t->iter);
    dci_rec_put_i64(&w, "state.pos", t->pos);
    dci_rec_put(&w, "state.order", DCI_REC_I64, t->order, t->n);
    dci_rec_put(&w, "state.rng_shuffle", DCI_REC_U64, t->shuffle.s, 4);
    dci_rec_put(&w, "state.rng_augment", DCI_REC_U64, t->aug.s, 4);
    dci_rec_put(&w, "state.p", DCI_REC_F32, t->p, t->n * t->K);
    if (t->kn > 0) dci_rec_put(&w, "state.nbr", DCI_REC_I64, t->nbr, t->n * t->kn);
    dci_rec_put(&w, "state.labels", DCI_REC_I32, t->labels, t->n);
    dci_rec_put_i64(&w, "state.have_labels", t->have_labels);
    dci_rec_put_f64(&w, "state.last_change", t->last_change);
    dci_rec_put_i64(&w, "state.converged", t->converged);
    dci_rec_put(&w, "state.loss", DCI_REC_F32, t->loss, t->n_loss * 3);
    dci_rec_put(&w, "state.trace", DCI_REC_F32, t->trace, t->n_trace * 2);
    for (int i = 0; i < dci_sgd_block_count(t->sgd); i++) {
        char name[32];
        int64_t count = 0;
        const float *v = dci_sgd_velocity(t->sgd, i, &count);
        snprintf(name, sizeof name, "state.velocity.%d", i);
        dci_rec_put(&w, name, DCI_REC_F32, v, count);
    }
    dci_rec_put_f64(&w, "stat.seconds_pretrain", t->seconds_pretrain);
    dci_rec_put_f64(&w, "stat.seconds_cluster", t->seconds_cluster);
    dci_rec_put_f64(&w, "stat.pretrain_loss", t->pretrain_loss);
    return dci_rec_commit(&w);
}

/* Loads a history array (rows x cols floats) of any length. */
static dc_status read_history(const dci_rec_file *f, const char *name, int cols, float **buf,
                              int64_t *n, int64_t *cap) {
    int64_t count = dci_rec_count(f, name);
    if (count < 0 || count % cols != 0)
        return dci_fail(DC_ERR_FORMAT, "'%s': record '%s' is missing or malformed", f->path, name);
    *n = count / cols;
    *cap = *n > 0 ? *n : 0;
    if (*n == 0) return DC_OK;
    *buf = DCI_NEW_ARRAY(float, count, name);
    if (!*buf) return DC_ERR_NOMEM;
    return dci_rec_get(f, name, DCI_REC_F32, count, *buf);
}

static dc_status index_range(const dci_rec_file *f, const char *name, const int64_t *v,
                             int64_t count, int64_t hi) {
    for (int64_t i = 0; i < count; i++)
        if (v[i] < 0 || v[i] >= hi)
            return dci_fail(DC_ERR_FORMAT, "'%s': record '%s' holds an index out of range",
                            f->path, name);
    return DC_OK;
}

/* A parameter the caller set before dc_solver_resume, against the
 * checkpoint's value ck. max_iter may change (checked against the
 * checkpoint's iteration once that is read). tol may be kept or lowered:
 * every update before the checkpoint changed at least the checkpoint's tol
 * of the labels, so it passes a lower tol as well and the resumed fit is the
 * uninterrupted one with the lower tol; with a higher tol the uninterrupted
 * fit could have stopped at one of those updates. Any other must be the
 * checkpoint's value: the state was trained with it. */
static dc_status check_given(const dc_solver *s, const char *path, const char *name, double ck) {
    const double v = dci_param(s, name);
    const int is_tol = strcmp(name, "tol") == 0;
    if (strcmp(name, "max_iter") == 0 || (is_tol ? v <= ck : v == ck)) return DC_OK;
    char given[64], in_ck[64];
    dci_param_format(s, name, v, given, sizeof given);
    dci_param_format(s, name, ck, in_ck, sizeof in_ck);
    if (is_tol)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "'%s': tol = %s is above the checkpoint's tol = %s; a resumed fit may "
                        "keep or lower tol, not raise it (an uninterrupted fit with a higher tol "
                        "could have stopped at an earlier update)",
                        path, given, in_ck);
    return dci_fail(DC_ERR_INVALID_ARG,
                    "'%s': %s = %s in the checkpoint, %s given; a resumed fit keeps the "
                    "checkpoint's parameters: only max_iter (and tol, lowered) may change",
                    path, name, in_ck, given);
}

/* The max_iter the caller gave, against the checkpoint's iteration. */
static dc_status check_max_iter(const dc_solver *s, const char *path, const dci_deep_train *t) {
    if (!dci_param_given(s, "max_iter")) return DC_OK;
    const int64_t mi = t->cfg.max_iter;
    if (mi < t->iter)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "'%s': max_iter = %lld is below the checkpoint's iteration %lld; a "
                        "resumed fit continues from there (max_iter >= %lld)",
                        path, (long long)mi, (long long)t->iter, (long long)t->iter);
    if (mi == t->iter && t->converged)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "'%s': max_iter = %lld: the checkpoint converged at iteration %lld after "
                        "that iteration's target update, which a fit with max_iter = %lld does "
                        "not make (max_iter > %lld continues it)",
                        path, (long long)mi, (long long)t->iter, (long long)mi, (long long)mi);
    return DC_OK;
}

/* The training state of a checkpoint, the data must be the same. The
 * solver's parameters become the checkpoint's except checkpoint_every and
 * those the caller set (check_given, check_max_iter). */
static dc_status restore(dc_solver *s, dci_deep_method method, const dci_rec_file *f,
                         const float *x, int64_t n, int64_t d, const dci_image_shape *shape,
                         dci_deep_train **out_t, dc_model **out_ae) {
    dc_model *cur = NULL, *ae = NULL;
    dci_deep_train *t = NULL;
    /* The parameters are replaced below; a failed resume puts them back. */
    double *saved = DCI_NEW_ARRAY(double, s->m->n_params, "saved parameters");
    if (!saved) return DC_ERR_NOMEM;
    memcpy(saved, s->pv, sizeof(double) * (size_t)s->m->n_params);
    dc_status st = dci_model_read(f, "", &cur);
    if (st == DC_OK) st = dci_model_read(f, "ae.", &ae);
    if (st != DC_OK) goto done;
    if (strcmp(cur->method, s->m->name) != 0 || cur->kind != DCI_MODEL_CLUSTERING) {
        st = dci_fail(DC_ERR_INVALID_ARG, "'%s' is a checkpoint of method '%s', not '%s'",
                      f->path, cur->method, s->m->name);
        goto done;
    }
    int64_t rows = 0, cols = 0;
    uint64_t crc = 0;
    if ((st = dci_rec_get_i64(f, "data.rows", &rows)) != DC_OK ||
        (st = dci_rec_get_i64(f, "data.cols", &cols)) != DC_OK ||
        (st = dci_rec_get(f, "data.crc", DCI_REC_U64, 1, &crc)) != DC_OK)
        goto done;
    if (rows != n || cols != d || crc != data_crc(x, n, d)) {
        st = dci_fail(DC_ERR_STATE,
                      "'%s' was written for other data (%lld x %lld%s); resume on the same data",
                      f->path, (long long)rows, (long long)cols,
                      rows == n && cols == d ? ", different values" : "");
        goto done;
    }
    for (int i = 0; i < s->m->n_params; i++) {
        const char *name = s->m->params[i].name;
        if (strcmp(name, "checkpoint_every") == 0) continue;
        double v;
        const int given = s->given[i];
        if (dc_model_get(cur, name, &v) != DC_OK ||
            (!given && dci_param_set_internal(s, name, v) != DC_OK)) {
            st = dci_fail(DC_ERR_FORMAT, "'%s': parameter '%s' is missing or invalid", f->path,
                          name);
            goto done;
        }
        if (given && (st = check_given(s, f->path, name, v)) != DC_OK) goto done;
    }
    /* The checkpoint's values already are the preset's (effective_params). */
    const dci_deep_cfg cfg = read_cfg(s, s->pv, method);
    if ((st = dci_deep_check(&cfg, n, d, shape)) != DC_OK) goto done;
    if ((st = dci_deep_train_create(&t, &cfg, ae, n, shape)) != DC_OK) goto done;
    dc_model *m = t->m;
    const int64_t km = t->K * t->M;
    if (!cur->enc_nb != !m->enc_nb || !cur->dec != !m->dec || !cur->weights != !m->weights ||
        cur->k != t->K || dci_mlp_copy_params(m->enc, cur->enc) != DC_OK ||
        (m->enc_nb && dci_mlp_copy_params(m->enc_nb, cur->enc_nb) != DC_OK) ||
        (m->dec && dci_mlp_copy_params(m->dec, cur->dec) != DC_OK)) {
        st = dci_fail(DC_ERR_FORMAT, "'%s': networks do not match the parameters", f->path);
        goto done;
    }
    memcpy(m->centers, cur->centers, (size_t)km * sizeof *m->centers);
    if (m->weights) memcpy(m->weights, cur->weights, (size_t)km * sizeof *m->weights);
    int64_t have = 0;
    if ((st = dci_rec_get_i64(f, "state.iter", &t->iter)) != DC_OK ||
        (st = dci_rec_get_i64(f, "state.pos", &t->pos)) != DC_OK ||
        (st = dci_rec_get(f, "state.order", DCI_REC_I64, n, t->order)) != DC_OK ||
        (st = dci_rec_get(f, "state.rng_shuffle", DCI_REC_U64, 4, t->shuffle.s)) != DC_OK ||
        (st = dci_rec_get(f, "state.rng_augment", DCI_REC_U64, 4, t->aug.s)) != DC_OK ||
        (st = dci_rec_get(f, "state.p", DCI_REC_F32, n * t->K, t->p)) != DC_OK ||
        (t->kn > 0 &&
         (st = dci_rec_get(f, "state.nbr", DCI_REC_I64, n * t->kn, t->nbr)) != DC_OK) ||
        (st = dci_rec_get(f, "state.labels", DCI_REC_I32, n, t->labels)) != DC_OK ||
        (st = dci_rec_get_i64(f, "state.have_labels", &have)) != DC_OK ||
        (st = dci_rec_get_f64(f, "state.last_change", &t->last_change)) != DC_OK ||
        (st = read_history(f, "state.loss", 3, &t->loss, &t->n_loss, &t->cap_loss)) != DC_OK ||
        (st = read_history(f, "state.trace", 2, &t->trace, &t->n_trace, &t->cap_trace)) != DC_OK ||
        (st = dci_rec_get_f64(f, "stat.seconds_pretrain", &t->seconds_pretrain)) != DC_OK ||
        (st = dci_rec_get_f64(f, "stat.seconds_cluster", &t->seconds_cluster)) != DC_OK ||
        (st = dci_rec_get_f64(f, "stat.pretrain_loss", &t->pretrain_loss)) != DC_OK)
        goto done;
    t->have_labels = have != 0;
    int64_t converged = 0; /* absent from checkpoints of earlier versions */
    if (dci_rec_count(f, "state.converged") >= 0 &&
        (st = dci_rec_get_i64(f, "state.converged", &converged)) != DC_OK)
        goto done;
    t->converged = converged != 0;
    if (t->converged &&
        (!t->have_labels || !isfinite(t->last_change) || t->iter % t->cfg.update_interval != 0)) {
        st = dci_fail(DC_ERR_FORMAT, "'%s': converged without a target update", f->path);
        goto done;
    }
    for (int i = 0; i < dci_sgd_block_count(t->sgd); i++) {
        char name[32];
        int64_t count = 0;
        float *v = dci_sgd_velocity(t->sgd, i, &count);
        snprintf(name, sizeof name, "state.velocity.%d", i);
        if ((st = dci_rec_get(f, name, DCI_REC_F32, count, v)) != DC_OK) goto done;
    }
    if ((st = index_range(f, "state.order", t->order, n, n)) != DC_OK ||
        (t->kn > 0 && (st = index_range(f, "state.nbr", t->nbr, n * t->kn, n)) != DC_OK))
        goto done;
    for (int64_t i = 0; i < n; i++)
        if (t->labels[i] < 0 || t->labels[i] >= t->K) {
            st = dci_fail(DC_ERR_FORMAT, "'%s': label out of range", f->path);
            goto done;
        }
    if (t->iter < 0 || t->pos < 0 || t->pos > n || t->n_loss != t->iter) {
        st = dci_fail(DC_ERR_FORMAT, "'%s': inconsistent iteration counters", f->path);
        goto done;
    }
    if ((st = check_max_iter(s, f->path, t)) != DC_OK) goto done;
    record_params(s, s->pv, m);
done:
    dc_model_free(cur);
    if (st != DC_OK) {
        memcpy(s->pv, saved, sizeof(double) * (size_t)s->m->n_params);
        dci_free(saved);
        dci_deep_train_free(t);
        dc_model_free(ae);
        return st;
    }
    dci_free(saved);
    *out_t = t;
    *out_ae = ae;
    return DC_OK;
}

/* ---- fit ---- */

static dc_status params_finite(const dci_deep_train *t) {
    const dc_model *m = t->m;
    const dci_mlp *nets[3] = {m->enc, m->enc_nb, m->dec};
    int bad = 0;
    for (int i = 0; i < 3; i++)
        if (nets[i])
            bad |= dci_check_finite(dci_mlp_params_const(nets[i]), 1, dci_mlp_param_count(nets[i]),
                                    "network") != DC_OK;
    bad |= dci_check_finite(m->centers, t->K, t->M, "centres") != DC_OK;
    if (bad)
        return dci_fail(DC_ERR_NUMERIC, "the network parameters became NaN/Inf (learning rate "
                                        "too high?)");
    return DC_OK;
}

static dc_status train_loop(dc_solver *s, const deep_state *ds, dci_deep_train *t,
                            const dc_model *ae, const float *x, int resumed, uint64_t crc) {
    const dci_deep_cfg *c = &t->cfg;
    const char *name = s->m->name;
    const int64_t every = ds->checkpoint_path ? c->checkpoint_every : 0;
    const int64_t start = t->iter;
    const double t0 = dci_now(), base = t->seconds_cluster;
    int64_t last_ckpt = -1;
    dc_status st = DC_OK;
    while (t->iter < c->max_iter) {
        const int64_t iter = t->iter;
        if (every > 0 && iter % every == 0 && !(resumed && iter == start)) {
            t->seconds_cluster = base + (dci_now() - t0);
            if ((st = params_finite(t)) != DC_OK) break;
            if ((st = write_checkpoint(t, ae, ds->checkpoint_path, crc)) != DC_OK)
                return dci_context(st, "%s: checkpoint at iteration %lld", name, (long long)iter);
            last_ckpt = iter;
        }
        if (iter % c->update_interval == 0) {
            if (t->converged) {
                /* Resumed from the checkpoint written when the fit stopped: it
                 * holds this update; only the (lowered) tol is checked again. */
                t->converged = 0;
            } else {
                if ((st = dci_deep_update(t, x)) != DC_OK) break;
                dci_log(DC_LOG_INFO, "%s: iteration %lld: %.4f%% of the labels changed", name,
                        (long long)iter, 100.0 * t->last_change);
            }
            if (t->last_change < c->tol) {
                t->converged = 1;
                break;
            }
        }
        if ((st = dci_deep_iteration(t, x)) != DC_OK) break;
        st = dci_solver_progress(s, "cluster", (long long)t->iter, (long long)c->max_iter,
                                 (double)t->loss[(t->n_loss - 1) * 3]);
        if (st != DC_OK) return st;
    }
    t->seconds_cluster = base + (dci_now() - t0);
    /* The final state as well (the loop writes before an iteration's work),
     * so that a finished fit can be continued: a larger max_iter or a lower
     * tol. */
    if (st == DC_OK && every > 0 && (st = params_finite(t)) == DC_OK) {
        if ((st = write_checkpoint(t, ae, ds->checkpoint_path, crc)) != DC_OK)
            return dci_context(st, "%s: checkpoint at the end (iteration %lld)", name,
                               (long long)t->iter);
    }
    if (st != DC_OK) {
        char detail[640], kept[96] = "";
        snprintf(detail, sizeof detail, "%s", dc_last_error());
        if (last_ckpt >= 0)
            snprintf(kept, sizeof kept, " (the checkpoint of iteration %lld is kept)",
                     (long long)last_ckpt);
        return dci_fail(st, "%s: clustering iteration %lld: %s%s", name, (long long)t->iter,
                        detail, kept);
    }
    return DC_OK;
}

/* Final labels by the model's inference procedure, and the results. */
static dc_status finish(dc_solver *s, dci_deep_train *t, const float *x) {
    const dc_model *m = t->m;
    const int64_t n = t->n, M = t->M, K = t->K;
    float *z = DCI_NEW_ARRAY(float, n * M, "embedding");
    float *q = DCI_NEW_ARRAY(float, n * K, "soft assignment");
    int32_t *labels = DCI_NEW_ARRAY(int32_t, n, "labels");
    dc_status st = (!z || !q || !labels) ? DC_ERR_NOMEM : DC_OK;
    if (st == DC_OK) st = dci_model_embed(t->m, x, n, z);
    if (st == DC_OK) st = dci_embedding_check(z, n, M);
    if (st == DC_OK) st = dci_model_assign(m, z, n, q, labels);
    if (st != DC_OK) {
        dci_free(z);
        dci_free(q);
        dci_free(labels);
        return st;
    }
    dci_solver_put_labels(s, labels, n);
    DCI_TRY(dci_solver_put_output(s, "embedding", z, n, M));
    DCI_TRY(dci_solver_put_output(s, "q", q, n, K));
    DCI_TRY(dci_solver_put_output_copy(s, "centers", m->centers, K, M));
    float *w = DCI_NEW_ARRAY(float, K * M, "weights");
    if (!w) return DC_ERR_NOMEM;
    /* weighting = after: Eq. 15 once, from the final q and z (all ones
     * without weighting). */
    dc_status wst = t->cfg.weighting == DCI_WEIGHTING_AFTER ? update_weights(t, q, z, n, w)
                                                            : dc_model_weights(m, w, K * M);
    if (wst != DC_OK) {
        dci_free(w);
        return wst;
    }
    DCI_TRY(dci_solver_put_output(s, "weights", w, K, M));
    if (t->n_loss > 0) DCI_TRY(dci_solver_put_output_copy(s, "loss", t->loss, t->n_loss, 3));
    if (t->n_trace > 0) DCI_TRY(dci_solver_put_output_copy(s, "trace", t->trace, t->n_trace, 2));
    DCI_TRY(dci_solver_put_stat(s, "seconds_pretrain", t->seconds_pretrain));
    DCI_TRY(dci_solver_put_stat(s, "seconds_cluster", t->seconds_cluster));
    DCI_TRY(dci_solver_put_stat(s, "iterations", (double)t->iter));
    DCI_TRY(dci_solver_put_stat(s, "updates", (double)t->n_trace));
    DCI_TRY(dci_solver_put_stat(s, "converged", (double)t->converged));
    if (isfinite(t->pretrain_loss)) DCI_TRY(dci_solver_put_stat(s, "pretrain_loss", t->pretrain_loss));
    if (isfinite(t->last_change)) DCI_TRY(dci_solver_put_stat(s, "label_change", t->last_change));
    if (t->n_loss > 0) {
        const float *last = t->loss + (t->n_loss - 1) * 3;
        DCI_TRY(dci_solver_put_stat(s, "loss", last[0]));
        DCI_TRY(dci_solver_put_stat(s, "loss_reconstruction", last[1]));
        DCI_TRY(dci_solver_put_stat(s, "loss_clustering", last[2]));
    }
    return DC_OK;
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

static dc_status deep_fit(dc_solver *s, const dc_dataset *ds, dci_deep_method method) {
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    dc_model_free(state->model);
    dc_model_free(state->pretrained);
    state->model = state->pretrained = NULL;
    const char *name = s->m->name;
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    const float *x_raw = dc_dataset_data(ds);
    dci_image_shape shape_buf;
    const dci_image_shape *shape = has_image_shape(ds, &shape_buf) ? &shape_buf : NULL;

    if (dci_param_i(s, "checkpoint_every") > 0 && !state->checkpoint_path)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: checkpoint_every = %lld but no checkpoint file "
                                            "(dc_solver_set_checkpoint)",
                        name, (long long)dci_param_i(s, "checkpoint_every"));
    double *eff = DCI_NEW_ARRAY(double, s->m->n_params, "effective parameters");
    if (!eff) return DC_ERR_NOMEM;
    dci_deep_train *t = NULL;
    dc_model *ae = NULL;
    float *x_copy = NULL;
    const float *x = x_raw; /* what the networks see: x_raw * input_scale */
    int64_t pretrain_steps = 0;
    int restarts[2] = {0, 0}; /* pre-training, clustering phase */
    dc_status st = DC_OK;
    const int resumed = state->resume_path != NULL;
    if (resumed) {
        dci_rec_file f;
        st = dci_rec_load(&f, state->resume_path);
        if (st == DC_OK) {
            if (!dci_rec_is(&f, DCI_MAGIC_CHECKPOINT))
                st = dci_fail(DC_ERR_INVALID_ARG, "'%s' is a model file, not a checkpoint",
                              state->resume_path);
            else
                st = restore(s, method, &f, x_raw, n, d, shape, &t, &ae);
            dci_rec_close(&f);
        }
        if (st == DC_OK) {
            memcpy(eff, s->pv, sizeof *eff * (size_t)s->m->n_params);
            if (!(x = dci_scaled_input(x_raw, n, d, ae->input_scale, &x_copy))) st = DC_ERR_NOMEM;
        }
    } else {
        effective_params(s, eff);
        dci_deep_cfg cfg = read_cfg(s, eff, method);
        st = dci_deep_check(&cfg, n, d, shape);
        if (st == DC_OK && state->use_ae && state->use_ae->dims[0] != d)
            st = dci_fail(DC_ERR_SHAPE, "%s: the pre-trained autoencoder takes %lld columns, the "
                                        "data have %lld",
                          name, (long long)state->use_ae->dims[0], (long long)d);
        /* A given autoencoder brings the scale it was trained with. */
        const double scale = state->use_ae ? state->use_ae->input_scale
                                           : (cfg.scale_input ? dci_input_scale(x_raw, n * d) : 1.0);
        if (st == DC_OK && !(x = dci_scaled_input(x_raw, n, d, scale, &x_copy))) st = DC_ERR_NOMEM;
        if (st == DC_OK && state->use_ae) {
            st = dci_model_clone(&ae, state->use_ae);
            if (st == DC_OK) st = start_clustering(s, &cfg, eff, ae, x, n, shape, &t);
        } else if (st == DC_OK) {
            const double t0 = dci_now();
            pretrain_steps = dci_deep_pretrain_steps(&cfg, n);
            st = pretrain_and_start(s, &cfg, eff, x, n, d, shape, &ae, &t, &restarts[0]);
            if (st == DC_OK) {
                t->seconds_pretrain = dci_now() - t0;
                ae->input_scale = t->m->input_scale = scale;
                st = dci_norm_copy(&ae->norm, dci_dataset_norm(ds), d);
            }
        }
    }
    /* Before the first checkpoint, which holds the model's records. */
    if (st == DC_OK) st = dci_norm_copy(&t->m->norm, dci_dataset_norm(ds), d);
    if (st == DC_OK) {
        const uint64_t crc = state->checkpoint_path && t->cfg.checkpoint_every > 0
                                 ? data_crc(x_raw, n, d) : 0;
        st = train_loop(s, state, t, ae, x, resumed, crc);
        /* A divergence of the clustering phase: once, the phase starts
         * again from the autoencoder at half the learning rate. */
        if (st == DC_ERR_NUMERIC && !resumed) {
            char detail[640];
            snprintf(detail, sizeof detail, "%s", dc_last_error());
            dci_deep_cfg cfg = t->cfg;
            const double seconds_pretrain = t->seconds_pretrain;
            dci_deep_train_free(t);
            t = NULL;
            dci_log(DC_LOG_WARN, "%s; restarting the clustering phase at learning rate %g",
                    detail, 0.5 * cfg.lr);
            cfg.lr *= 0.5;
            restarts[1] = 1;
            set_eff(s, eff, "lr", cfg.lr);
            st = start_clustering(s, &cfg, eff, ae, x, n, shape, &t);
            if (st == DC_OK) {
                t->seconds_pretrain = seconds_pretrain;
                st = dci_norm_copy(&t->m->norm, dci_dataset_norm(ds), d);
            }
            if (st == DC_OK) st = train_loop(s, state, t, ae, x, resumed, crc);
            if (st == DC_ERR_NUMERIC) {
                snprintf(detail, sizeof detail, "%s", dc_last_error());
                st = dci_fail(st, "%s: the clustering phase diverged twice, at learning rates %g "
                                  "and %g; lower lr",
                              detail, 2.0 * cfg.lr, cfg.lr);
            }
        }
    }
    if (st == DC_OK) st = finish(s, t, x);
    if (st == DC_OK) st = put_setup_stats(s, t, pretrain_steps, restarts);
    if (st == DC_OK) {
        state->model = t->m;
        t->m = NULL;
        state->pretrained = ae;
        ae = NULL;
    }
    dci_deep_train_free(t);
    dc_model_free(ae);
    dci_free(x_copy);
    dci_free(eff);
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
    DCI_TRY(need_deep(s, "dc_solver_use_pretrained"));
    if (ae && ae->kind != DCI_MODEL_AUTOENCODER)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_solver_use_pretrained: the model is a clustering "
                                            "model, not a pre-trained autoencoder");
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    dc_model *copy = NULL;
    if (ae) DCI_TRY(dci_model_clone(&copy, ae));
    dc_model_free(state->use_ae);
    state->use_ae = copy;
    return DC_OK;
}

dc_status dc_solver_set_checkpoint(dc_solver *s, const char *path, int64_t every) {
    DCI_CHECK_NULL(s);
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
    DCI_TRY(need_deep(s, "dc_solver_resume"));
    deep_state *state = ensure_state(s);
    if (!state) return DC_ERR_NOMEM;
    state->resume_path = checkpoint_path;
    dc_status st = dc_solver_fit(s, data);
    state->resume_path = NULL;
    return st;
}
