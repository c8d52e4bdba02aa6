/* The EDCWRN / IDEC / DEC training step (methods/edcwrn.h): configuration
 * checks, the training state, one mini-batch loss with gradients, target
 * updates and one clustering iteration. methods/edcwrn.c composes them into
 * fits; methods/edcwrn_checkpoint.c saves and restores the state. */
#include "methods/edcwrn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cluster/kmeans.h"
#include "cluster/neighbor_max.h"
#include "cluster/weighting.h"
#include "core/alloc.h"
#include "core/error.h"
#include "graph/knn.h"
#include "methods/method.h"
#include "nn/autoencoder.h"
#include "nn/gemm.h"

const char *dci_deep_method_name(dci_deep_method method) {
    static const char *const names[] = {"edcwrn", "idec", "dec"};
    return names[method];
}

/* Encoder dims [d, hidden..., M]; returns their count. */
int dci_deep_encoder_dims(const dci_deep_cfg *c, int64_t d, int64_t dims[DCI_DEEP_MAX_DIMS]) {
    int n = 0;
    dims[n++] = d;
    for (int i = 0; i < 3 && c->hidden[i] > 0; i++) dims[n++] = c->hidden[i];
    dims[n++] = c->embed_dim;
    return n;
}

dc_status dci_deep_check(const dci_deep_cfg *c, int64_t n, int64_t d,
                         const dci_image_shape *shape) {
    const char *name = dci_deep_method_name(c->method);
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

dci_augment_ranges dci_deep_augment_ranges(const dci_deep_cfg *c, int pretrain) {
    dci_augment_ranges r = dci_augment_ranges_default();
    if (pretrain) r.zoom = c->pretrain_zoom;
    r.fill = c->augment_fill == DCI_FILL_ZERO ? DCI_FILL_ZERO : DCI_FILL_NEAREST;
    return r;
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
                    t->order, t->loss, t->trace, t->init_labels, t->bat, t->zg};
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
    dc_status st = dci_model_new(&t->m, DCI_MODEL_CLUSTERING, dci_deep_method_name(cfg->method), ae->dims,
                                 ae->n_dims, B, kn > 0, cfg->method != DCI_DEEP_DEC, K,
                                 cfg->weighting == DCI_WEIGHTING_ON);
    if (st != DC_OK) goto fail;
    dc_model *m = t->m;
    dci_mlp_copy_params(m->enc, ae->enc);
    if (m->enc_nb) dci_mlp_copy_params(m->enc_nb, ae->enc);
    if (m->dec) dci_mlp_copy_params(m->dec, ae->dec);
    /* auto: bf16 where available, else fp32 (each rank alone decides: the
     * allreduced update keeps the weights equal whatever the products) */
    const int auto_bf16 = cfg->gemm_precision == DCI_GEMM_AUTO && dci_gemm_bf16_check() == DC_OK;
    if (cfg->gemm_precision == DCI_GEMM_BF16 || auto_bf16) {
        dci_mlp *nets[3] = {m->enc, m->enc_nb, m->dec};
        for (int i = 0; i < 3 && st == DC_OK; i++)
            if (nets[i]) st = dci_mlp_set_bf16(nets[i], 1);
        if (st != DC_OK && auto_bf16) {
            for (int i = 0; i < 3; i++)
                if (nets[i]) dci_mlp_set_bf16(nets[i], 0);
            st = DC_OK;
        }
        if (st != DC_OK) {
            st = dci_context(st, "%s: gemm_precision = bf16", dci_deep_method_name(cfg->method));
            goto fail;
        }
    }
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

    st = dci_sgd_create(&t->sgd, dci_sgd_rate(cfg->lr), (float)cfg->momentum);
    if (st == DC_OK) st = dci_sgd_add_mlp(t->sgd, m->enc);
    if (st == DC_OK && m->enc_nb) st = dci_sgd_add_mlp(t->sgd, m->enc_nb);
    if (st == DC_OK && m->dec) st = dci_sgd_add_mlp(t->sgd, m->dec);
    if (st == DC_OK) st = dci_sgd_add_block(t->sgd, m->centers, t->dr, K * M);
    if (st != DC_OK) goto fail;

    for (int64_t i = 0; i < n; i++) t->order[i] = i;
    t->pos = n; /* the first iteration starts an epoch (and shuffles) */
    t->nl = n;
    t->Bl = B;
    dci_rng_init(&t->shuffle, cfg->seed, DCI_STREAM_SHUFFLE);
    dci_rng_init(&t->aug, cfg->seed, DCI_STREAM_AUGMENT);
    t->augment = dci_deep_augment_on(cfg, shape);
    t->ranges = dci_deep_augment_ranges(cfg, 0);
    if (shape) t->shape = *shape;
    *out = t;
    return DC_OK;
nomem:
    st = DC_ERR_NOMEM;
fail:
    dci_deep_train_free(t);
    return st;
}

dc_status dci_deep_train_distribute(dci_deep_train *t, dci_dist *dist) {
    DCI_TRY(dist->plan(dist, t->B));
    t->dist = dist;
    t->nl = dist->nl;
    t->row0 = dist->row0;
    t->Bl = dist->bl;
    if (t->kn > 0 && !(t->bat = DCI_NEW_ZEROS(float, t->B * 2 * t->M, "batch rows")))
        return DC_ERR_NOMEM;
    if (t->m->weights && !(t->zg = DCI_NEW_ZEROS(float, t->B * t->M, "batch embedding")))
        return DC_ERR_NOMEM;
    for (int64_t i = 0; i < t->nl; i++) t->order[i] = i;
    t->pos = t->nl;
    dci_rng_init(&t->shuffle, t->cfg.seed, dci_dist_stream(DCI_STREAM_SHUFFLE, dist));
    dci_rng_init(&t->aug, t->cfg.seed, dci_dist_stream(DCI_STREAM_AUGMENT, dist));
    return DC_OK;
}

dc_status dci_deep_encode_all(dci_deep_train *t, const float *x) {
    const int64_t off = t->row0 * t->M;
    dci_model_encode(t->m, x, t->nl, t->e + off, t->e_nb ? t->e_nb + off : NULL);
    if (!t->dist) return DC_OK;
    DCI_TRY(t->dist->gather(t->dist, t->e, t->M, "embeddings"));
    if (t->e_nb) DCI_TRY(t->dist->gather(t->dist, t->e_nb, t->M, "neighbour embeddings"));
    return DC_OK;
}

dc_status dci_deep_neighbours(dci_deep_train *t) {
    const int64_t n = t->n, M = t->M, kn = t->kn;
    if (!t->dist) return dci_knn_self(t->zall, n, M, kn, t->nbr, NULL);
    /* Distributed, each rank searches for its own rows against all n (the
     * search is exact, so these are the single-process lists) and the lists
     * are allgathered: O(n_l n M) a rank, not O(n^2 M) on every rank. */
    int64_t *rows = DCI_NEW_ARRAY(int64_t, t->nl, "neighbour search");
    dc_status st = rows ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        for (int64_t i = 0; i < t->nl; i++) rows[i] = t->row0 + i;
        const dci_knn_args a = {.x = t->zall, .nref = n, .q_rows = rows, .nq = t->nl, .d = M,
                                .k = kn, .k_out = kn, .idx = t->nbr + t->row0 * kn};
        st = dci_knn_search(&a);
    }
    dci_free(rows);
    DCI_TRY(t->dist->agree(t->dist, st, "neighbour search"));
    return t->dist->gather_u64_all(t->dist, (uint64_t *)t->nbr, kn, "neighbours");
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

/* The rows among which the neighbour branch looks for a row's neighbours:
 * one process, the batch's own; distributed, the global batch's (every
 * rank's v_x and e_z rows gathered into t->bat), so that the neighbours are
 * those of the single-process batch, not of a rank's share. */
typedef struct nb_rows {
    const float *ez; /* e_z of row j at ez + j * stride */
    int64_t stride, off, total; /* this rank's first row; rows in all */
} nb_rows;

/* The batch's neighbour lists (t->lnbr, into nr's rows) from
 * z_self = v_x + e_z of all nr rows; collective when distributed, and its
 * failures are the same on every rank. */
static dc_status batch_neighbours(dci_deep_train *t, const float *vx, const float *ez, int64_t b,
                                  nb_rows *nr) {
    const int64_t M = t->M;
    *nr = (nb_rows){ez, M, 0, b};
    if (!t->dist) {
        for (int64_t i = 0; i < b * M; i++) t->zself[i] = vx[i] + ez[i];
    } else {
        t->dist->batch_rows(t->dist, t->iter, &nr->off, &nr->total);
        float *all = t->bat;
        for (int64_t r = 0; r < b; r++) {
            memcpy(all + (nr->off + r) * 2 * M, vx + r * M, (size_t)M * sizeof *all);
            memcpy(all + (nr->off + r) * 2 * M + M, ez + r * M, (size_t)M * sizeof *all);
        }
        DCI_TRY(t->dist->batch_gather(t->dist, t->iter, all, 2 * M, "neighbour branch rows"));
        for (int64_t j = 0; j < nr->total; j++)
            for (int64_t c = 0; c < M; c++) t->zself[j * M + c] = all[j * 2 * M + c] + all[j * 2 * M + M + c];
        *nr = (nb_rows){all + M, 2 * M, nr->off, nr->total};
    }
    DCI_TRY(dci_embedding_check(t->zself, nr->total, M));
    return dci_nmax_knn_batch(t->zself, nr->total, M, t->kn, t->lnbr);
}

/* dL/de_z of this rank's rows from dL/dz of the max branch: a row can be
 * the neighbour of several rows (of any rank), so the contributions are
 * summed per row; distributed, over all ranks (each weighted as its
 * gradients are in the step, b_r / B, and the owner's share undone, since
 * the step weights its gradients again). `local`: this rank's status so
 * far; a failed rank still joins the sum (with zeros). */
static dc_status neighbour_grad(dci_deep_train *t, const int64_t *nbr, const nb_rows *nr,
                                int64_t b, dc_status local) {
    const int64_t M = t->M, kn = t->kn, rows = nr->total;
    float *acc = t->dist ? t->bat : t->dez; /* rows x M */
    memset(acc, 0, (size_t)(rows * M) * sizeof *acc);
    if (local == DC_OK) {
        dci_nmax_backward(t->dz, t->arg, b, kn, M, t->de);
        const float w = t->dist ? (float)((double)b / (double)rows) : 1.0f;
        for (int64_t r = 0; r < b * kn; r++) {
            float *dst = acc + nbr[r] * M;
            const float *src = t->de + r * M;
            for (int64_t mm = 0; mm < M; mm++) dst[mm] += w * src[mm];
        }
    }
    if (!t->dist) return local;
    DCI_TRY(t->dist->batch_sum(t->dist, acc, rows * M, "neighbour branch gradients"));
    const float unw = (float)((double)rows / (double)b);
    for (int64_t i = 0; i < b * M; i++) t->dez[i] = unw * acc[nr->off * M + i];
    return local;
}

static dc_status batch_objective(dci_deep_train *t, const float *xb, int64_t b, const float *pb,
                                 int grad, double parts[3]) {
    dc_model *m = t->m;
    const int64_t M = t->M, K = t->K;
    float *z = t->z;
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
    const dci_assign_batch batch = {m->kernel, z, b, M, m->centers, m->weights, K};
    DCI_TRY(dci_assign_loss(&batch, t->closs, pb, t->lambda_c, grad ? t->dz : NULL,
                            grad ? t->dr : NULL, &lc));
    const double total = lr_loss + t->lambda_c * lc;
    if (!isfinite(total))
        return dci_fail(DC_ERR_NUMERIC, "the reconstruction loss is %s (learning rate too high?)",
                        isnan(lr_loss) ? "NaN" : "Inf");
    if (parts) {
        parts[0] = total;
        parts[1] = lr_loss;
        parts[2] = lc;
    }
    return DC_OK;
}

dc_status dci_deep_batch_loss(dci_deep_train *t, const float *xb, const float *xb_nb, int64_t b,
                              const float *pb, const int64_t *nbr, int grad, double parts[3]) {
    dc_model *m = t->m;
    const int64_t M = t->M, kn = t->kn;
    float *z = t->z;
    const float *vx = dci_mlp_forward(m->enc, xb, b);
    nb_rows nr = {NULL, M, 0, b};
    if (m->enc_nb) {
        const float *ez = dci_mlp_forward(m->enc_nb, xb_nb ? xb_nb : xb, b);
        nr.ez = ez;
        if (!nbr) {
            DCI_TRY(batch_neighbours(t, vx, ez, b, &nr));
            nbr = t->lnbr + nr.off * kn;
        }
        for (int64_t r = 0; r < b * kn; r++)
            memcpy(t->enb + r * M, nr.ez + nbr[r] * nr.stride, (size_t)M * sizeof *z);
        dci_nmax_forward(t->enb, b, kn, M, z, t->arg);
        for (int64_t i = 0; i < b * M; i++) z[i] += vx[i];
    } else {
        for (int64_t i = 0; i < b * M; i++) z[i] = 2.0f * vx[i];
    }
    dc_status st = batch_objective(t, xb, b, pb, grad, parts);
    if (!grad) return st;
    /* z = v_x + v_z: both branches receive dL/dz. Without the neighbour
     * branch z = 2 enc(x) stands for two equal encoders that each receive
     * dL/dz (deep_model.h), so enc gets dL/dz, not 2 dL/dz. */
    if (st == DC_OK) dci_mlp_backward(m->enc, t->dz, NULL);
    if (m->enc_nb) {
        st = neighbour_grad(t, nbr, &nr, b, st);
        if (st == DC_OK) dci_mlp_backward(m->enc_nb, t->dez, NULL);
    }
    return st;
}

/* The representation weights w (K x M) from n rows of q and z (docs/methods.md "EDCWRN"). */
dc_status dci_deep_weights(dci_deep_train *t, const float *q, const float *z, int64_t n,
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
    DCI_TRY(dci_deep_encode_all(t, x));
    dci_model_combine(m, t->e, t->e_nb, t->nbr, n, t->zall);
    DCI_TRY(dci_embedding_check(t->zall, n, M));
    if (t->kn > 0) DCI_TRY(dci_deep_neighbours(t));
    const dci_assign_batch all = {m->kernel, t->zall, n, M, m->centers, m->weights, K};
    DCI_TRY(dci_assign_q(&all, t->q));
    DCI_TRY(dci_assign_target(t->q, n, K, t->p));
    if (m->weights) DCI_TRY(dci_deep_weights(t, t->q, t->zall, n, m->weights));
    dci_assign_labels(t->q, n, K, t->labels_new);
    if (t->init_labels) { /* edcwrn_init.c: the spectral clusters are the first targets */
        memset(t->p, 0, (size_t)(n * K) * sizeof *t->p);
        for (int64_t i = 0; i < n; i++) t->p[i * K + t->init_labels[i]] = 1.0f;
        memcpy(t->labels_new, t->init_labels, (size_t)n * sizeof *t->labels_new);
        dci_free(t->init_labels);
        t->init_labels = NULL;
    }
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
    const int64_t nl = t->nl, K = t->K, M = t->M;
    if (t->pos >= nl) {
        dci_rng_shuffle_i64(&t->shuffle, t->order, nl);
        t->pos = 0;
    }
    const int64_t b = nl - t->pos < t->Bl ? nl - t->pos : t->Bl;
    const int64_t *idx = t->order + t->pos;
    t->pos += b;
    dci_gather_batch(x, t->d, idx, b, t->xb, t->augment ? &t->shape : NULL, &t->ranges, &t->aug);
    if (t->xb_nb) dci_gather_batch(x, t->d, idx, b, t->xb_nb, &t->shape, &t->ranges, &t->aug);
    const float *p = t->p + t->row0 * K;
    for (int64_t i = 0; i < b; i++)
        memcpy(t->pb + i * K, p + idx[i] * K, (size_t)K * sizeof *t->pb);
    double parts[3] = {NAN, NAN, NAN};
    /* Distributed, a rank whose batch failed still runs the rest of the
     * step: its collectives must match on all ranks. */
    dc_status st = dci_deep_batch_loss(t, t->xb, t->xb_nb, b, t->pb, NULL, 1, parts);
    if (!t->dist) DCI_TRY(st);
    dc_model *m = t->m;
    if (m->weights && (st == DC_OK || t->dist)) {
        /* From the batch's forward quantities, before the step moves r;
         * distributed, from the global batch's z (the same on every rank). */
        const float *zb = t->z;
        int64_t rows = b;
        if (t->dist) {
            int64_t off = 0;
            t->dist->batch_rows(t->dist, t->iter, &off, &rows);
            memcpy(t->zg + off * M, t->z, (size_t)(b * M) * sizeof *t->zg);
            DCI_TRY(t->dist->batch_gather(t->dist, t->iter, t->zg, M, "batch embedding"));
            zb = t->zg;
        }
        const dci_assign_batch batch = {m->kernel, zb, rows, M, m->centers, m->weights, K};
        dc_status sw = st == DC_OK ? dci_assign_q(&batch, t->qb) : DC_OK;
        if (st == DC_OK && sw == DC_OK) sw = dci_deep_weights(t, t->qb, zb, rows, m->weights);
        if (st == DC_OK) st = sw;
        if (!t->dist) DCI_TRY(st);
    }
    if (t->dist) {
        float extra[DCI_DIST_EXTRA] = {(float)parts[0], (float)parts[1], (float)parts[2]};
        DCI_TRY(t->dist->step(t->dist, t->sgd, t->iter, b, DCI_DIST_TRAIN, extra, st));
        for (int i = 0; i < 3; i++) parts[i] = extra[i]; /* the global batch's */
    } else {
        dci_sgd_step(t->sgd);
    }
    const float row[3] = {(float)parts[0], (float)parts[1], (float)parts[2]};
    DCI_TRY(append_rows(&t->loss, &t->n_loss, &t->cap_loss, row, 3));
    t->iter++;
    return DC_OK;
}
