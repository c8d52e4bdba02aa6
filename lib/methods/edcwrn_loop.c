/* The clustering phase's loop of the deep methods (methods/edcwrn_fit.h)
 * and the fit's results at its end: methods/edcwrn.c prepares the training
 * state; the step itself is methods/edcwrn_train.c. */
#include "methods/edcwrn_fit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cluster/assign.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "deepclust/metrics.h"
#include "methods/deep_model.h"
#include "methods/method.h"
#include "nn/dense.h"

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

/* A fit cancelled between two iterations is at a checkpoint's state (the
 * loop writes its checkpoints at the same point), so it saves it: resuming
 * then loses no work. Returns DC_ERR_CANCELLED, or the write's error. */
static dc_status save_cancelled(dci_deep_train *t, const dc_model *ae, const char *path,
                                uint64_t crc, double seconds_cluster, const char *name) {
    char why[256];
    snprintf(why, sizeof why, "%s", dc_last_error());
    t->seconds_cluster = seconds_cluster;
    dc_status st = params_finite(t);
    if (st == DC_OK) st = dci_deep_checkpoint_write(t, ae, path, crc);
    if (st != DC_OK)
        return dci_context(st, "%s: %s; the checkpoint at iteration %lld", name, why,
                           (long long)t->iter);
    return dci_fail(DC_ERR_CANCELLED, "%s: %s at clustering iteration %lld; its state is in "
                                      "the checkpoint '%s' (resume continues it)",
                    name, why, (long long)t->iter, path);
}

dc_status dci_deep_train_loop(dc_solver *s, const char *checkpoint_path, dci_deep_train *t,
                              const dc_model *ae, const float *x, int resumed, uint64_t crc) {
    const dci_deep_cfg *c = &t->cfg;
    const char *name = s->m->name;
    const int64_t every = checkpoint_path ? c->checkpoint_every : 0;
    const int64_t start = t->iter;
    const double t0 = dci_now(), base = t->seconds_cluster;
    int64_t last_ckpt = -1;
    dc_status st = DC_OK;
    while (t->iter < c->max_iter) {
        const int64_t iter = t->iter;
        if (every > 0 && iter % every == 0 && !(resumed && iter == start)) {
            t->seconds_cluster = base + (dci_now() - t0);
            if ((st = params_finite(t)) != DC_OK) break;
            if ((st = dci_deep_checkpoint_write(t, ae, checkpoint_path, crc)) != DC_OK)
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
                if (isnan(t->last_change)) /* the first update: nothing to compare with */
                    dci_log(DC_LOG_INFO, "%s: iteration %lld: first target update", name,
                            (long long)iter);
                else
                    dci_log(DC_LOG_INFO, "%s: iteration %lld: %.4f%% of the labels changed",
                            name, (long long)iter, 100.0 * t->last_change);
            }
            if (t->last_change < c->tol) {
                t->converged = 1;
                break;
            }
        }
        if ((st = dci_deep_iteration(t, x)) != DC_OK) break;
        st = dci_solver_progress(s, "cluster", (long long)t->iter, (long long)c->max_iter,
                                 (double)t->loss[(t->n_loss - 1) * 3]);
        /* Distributed, a cancel (usually of one rank) stops every rank here,
         * between two iterations as in one process: the state a checkpoint
         * holds, so the cancelled fit saves it. One small allreduce an
         * iteration beside the step's gradient allreduce. */
        if (t->dist) st = t->dist->agree(t->dist, st, "clustering phase");
        if (st == DC_ERR_CANCELLED && every > 0)
            return save_cancelled(t, ae, checkpoint_path, crc, base + (dci_now() - t0), name);
        if (st != DC_OK) return st;
    }
    t->seconds_cluster = base + (dci_now() - t0);
    /* The final state as well (the loop writes before an iteration's work),
     * so that a finished fit can be continued: a larger max_iter or a lower
     * tol. */
    if (st == DC_OK && every > 0 && (st = params_finite(t)) == DC_OK) {
        if ((st = dci_deep_checkpoint_write(t, ae, checkpoint_path, crc)) != DC_OK)
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

/* ---- the results ---- */

/* The model's reference set and inference embedding z of all rows, on
 * every rank, from the gathered encodings of the blocks: what one process
 * computes from all rows. */
static dc_status finish_distributed(dci_deep_train *t, const float *x, float *z) {
    DCI_TRY(dci_deep_encode_all(t, x));
    if (!t->m->enc_nb) {
        dci_model_combine(t->m, t->e, NULL, NULL, t->n, z);
        return DC_OK;
    }
    uint64_t *h = DCI_NEW_ARRAY(uint64_t, t->n, "row hashes");
    dc_status st = t->dist->agree(t->dist, h ? DC_OK : DC_ERR_NOMEM, "row hashes");
    if (st == DC_OK) {
        dci_model_row_hashes(t->m, x, t->nl, h + t->row0);
        st = t->dist->gather_u64_all(t->dist, h, 1, "row hashes");
    }
    if (st == DC_OK) st = dci_model_set_reference_parts(t->m, t->e, t->e_nb, h, t->n);
    /* Each rank embeds its own rows against the whole reference set, then
     * the rows are gathered: the search is the costly part, O(n_l n M). */
    const int64_t off = t->row0 * t->M;
    if (st == DC_OK)
        st = dci_model_embed_encoded(t->m, t->e + off, t->e_nb + off, h + t->row0, t->nl, z + off);
    st = t->dist->agree(t->dist, st, "final embedding");
    if (st == DC_OK) st = t->dist->gather(t->dist, z, t->M, "final embedding");
    dci_free(h);
    return st;
}

/* The statistic distinct_clusters, and a warning (once, `say`) when the
 * final labels leave clusters empty, as k-means warns. */
static dc_status report_distinct(dc_solver *s, const int32_t *labels, int64_t n, int64_t K,
                                 int say) {
    const int64_t distinct = dci_count_labels(labels, n, K);
    if (distinct < 0) return DC_ERR_NOMEM;
    if (distinct < K && say)
        dci_log(DC_LOG_WARN, "%s: %lld distinct clusters found, fewer than k = %lld (empty "
                "clusters: k too large for the data, or a collapsed embedding)",
                s->m->name, (long long)distinct, (long long)K);
    return dci_solver_put_stat(s, "distinct_clusters", (double)distinct);
}

/* Final labels by the model's inference procedure, and the results. */
dc_status dci_deep_finish(dc_solver *s, dci_deep_train *t, const float *x) {
    const dc_model *m = t->m;
    const int64_t n = t->n, M = t->M, K = t->K;
    float *z = DCI_NEW_ARRAY(float, n * M, "embedding");
    float *q = DCI_NEW_ARRAY(float, n * K, "soft assignment");
    int32_t *labels = DCI_NEW_ARRAY(int32_t, n, "labels");
    dc_status st = (!z || !q || !labels) ? DC_ERR_NOMEM : DC_OK;
    /* The fit's results are what the model predicts, and a model predicts
     * with fp32 products (a bf16 clustering phase trained it). */
    if (st == DC_OK) st = dci_solver_put_stat(s, "bf16_cluster", dci_mlp_bf16(t->m->enc));
    dci_mlp *nets[3] = {t->m->enc, t->m->enc_nb, t->m->dec};
    for (int i = 0; i < 3; i++)
        if (nets[i]) dci_mlp_set_bf16(nets[i], 0);
    /* The training rows become the neighbour branch's reference set, so
     * that predict finds a row's neighbours among them (deep_model.h). */
    if (st == DC_OK && t->m->enc_nb && !t->dist) st = dci_model_set_reference(t->m, x, n);
    if (st == DC_OK && !t->dist) st = dci_model_embed(t->m, x, n, z);
    if (st == DC_OK && t->dist) st = finish_distributed(t, x, z);
    if (st == DC_OK) st = dci_embedding_check(z, n, M);
    if (st == DC_OK) st = dci_model_assign(m, z, n, q, labels);
    /* EDCWRN Table 4: how far apart the clusters lie in the embedding. */
    double icv = 0.0;
    if (st == DC_OK) st = dc_metrics_inter_cluster_variance(z, n, M, labels, &icv);
    if (st == DC_OK) st = dci_solver_put_stat(s, "inter_cluster_variance", icv);
    if (st == DC_OK) st = report_distinct(s, labels, n, K, !t->dist || t->dist->rank == 0);
    float *w = st == DC_OK ? DCI_NEW_ARRAY(float, K * M, "weights") : NULL;
    if (st == DC_OK && !w) st = DC_ERR_NOMEM;
    /* weighting = after: Eq. 15 once, from the final q and z (all ones
     * without weighting). */
    if (st == DC_OK)
        st = t->cfg.weighting == DCI_WEIGHTING_AFTER ? dci_deep_weights(t, q, z, n, w)
                                                     : dc_model_weights(m, w, K * M);
    if (st != DC_OK) {
        dci_free(w);
        dci_free(z);
        dci_free(q);
        dci_free(labels);
        return st;
    }
    if (t->dist && t->dist->rank != 0) {
        /* as the other distributed fits: rank 0 all rows, the others their own */
        const int64_t r0 = t->row0, nl = t->nl;
        memmove(labels, labels + r0, (size_t)nl * sizeof *labels);
        dci_solver_put_labels(s, labels, nl);
        st = dci_solver_put_output_copy(s, "embedding", z + r0 * M, nl, M);
        if (st == DC_OK) st = dci_solver_put_output_copy(s, "q", q + r0 * K, nl, K);
        dci_free(z);
        dci_free(q);
    } else {
        dci_solver_put_labels(s, labels, n);
        st = dci_solver_put_output(s, "embedding", z, n, M);
        if (st == DC_OK) st = dci_solver_put_output(s, "q", q, n, K);
        else dci_free(q);
    }
    if (st == DC_OK) st = dci_solver_put_output_copy(s, "centers", m->centers, K, M);
    if (st != DC_OK) {
        dci_free(w);
        return st;
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
