/* The clustering phase's loop of the deep methods (methods/edcwrn_fit.h):
 * methods/edcwrn.c prepares the training state and finishes the fit; the
 * step itself is methods/edcwrn_train.c. */
#include "methods/edcwrn_fit.h"

#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "core/util.h"
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
