#include "nn/pretrain.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "nn/dist.h"
#include "nn/sgd.h"

dci_pretrain_opts dci_pretrain_opts_default(void) {
    dci_pretrain_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 200;
    o.batch = 256;
    o.lr = 1.0f;
    o.momentum = 0.9f;
    return o;
}

double dci_pretrain_lr_at(const dci_pretrain_opts *o, int64_t step, int64_t total) {
    double lr = o->lr;
    if (o->cosine && total >= 1) lr *= 0.5 * (1.0 + cos(M_PI * (double)step / (double)total));
    if (step < o->warmup) lr *= (double)(step + 1) / (double)(o->warmup + 1);
    return lr;
}

int64_t dci_pretrain_total_steps(const dci_pretrain_opts *o, int64_t n) {
    if (o->steps > 0) return o->steps;
    const int64_t batch = o->batch < n ? o->batch : n;
    return batch < 1 ? 0 : o->epochs * ((n + batch - 1) / batch);
}

static dc_status check_args(dci_autoencoder *ae, const float *x, int64_t n, int64_t d,
                            const dci_pretrain_opts *o) {
    DCI_CHECK_NULL(ae);
    DCI_CHECK_NULL(ae->enc);
    DCI_CHECK_NULL(x);
    DCI_CHECK_NULL(o);
    DCI_TRY(dci_check_shape(n, d, "pretrain data"));
    if (d != dci_mlp_in_dim(ae->enc))
        return dci_fail(DC_ERR_SHAPE, "pretrain: data has %lld columns, the network expects %lld",
                        (long long)d, (long long)dci_mlp_in_dim(ae->enc));
    if (o->epochs < 0 || o->steps < 0 || o->warmup < 0)
        return dci_fail(DC_ERR_INVALID_ARG, "pretrain: epochs %lld, steps %lld, warm-up %lld: "
                        "none may be < 0", (long long)o->epochs, (long long)o->steps,
                        (long long)o->warmup);
    if (o->batch < 1 || o->batch > dci_mlp_max_batch(ae->enc))
        return dci_fail(DC_ERR_INVALID_ARG,
                        "pretrain: batch %lld out of [1, %lld] (the network's workspace)",
                        (long long)o->batch, (long long)dci_mlp_max_batch(ae->enc));
    if (o->augment) DCI_TRY(dci_augment_check(o->augment, d));
    return dci_check_finite(x, n, d, "pretrain data");
}

static dc_status check_embedding(const float *z, int64_t len, float limit, int64_t epoch,
                                 int64_t batch, float lr) {
    for (int64_t i = 0; i < len; i++)
        if (!(fabsf(z[i]) <= limit))
            return dci_fail(DC_ERR_NUMERIC,
                            "pretrain: the embedding %s at epoch %lld, batch %lld (|z| = %g, "
                            "learning rate %g)",
                            isnan(z[i]) ? "became NaN" : "diverged", (long long)epoch + 1,
                            (long long)batch + 1, (double)fabsf(z[i]), (double)lr);
    return DC_OK;
}

dc_status dci_pretrain(dci_autoencoder *ae, const float *x, int64_t n, int64_t d,
                       const dci_pretrain_opts *opts, double *final_loss) {
    if (final_loss) *final_loss = NAN;
    DCI_TRY(check_args(ae, x, n, d, opts));
    const dci_pretrain_opts o = *opts;
    const int64_t batch = o.batch < n ? o.batch : n;
    const dci_augment_ranges ranges = o.ranges ? *o.ranges : dci_augment_ranges_default();

    dci_sgd *sgd = NULL;
    dc_status st = o.adam ? dci_sgd_create_adam(&sgd, o.lr, o.momentum, 0.999f)
                          : dci_sgd_create(&sgd, o.lr, o.momentum);
    if (st == DC_OK) st = dci_sgd_add_mlp(sgd, ae->enc);
    if (st == DC_OK) st = dci_sgd_add_mlp(sgd, ae->dec);
    int64_t *order = DCI_NEW_ARRAY(int64_t, n, "pretrain order");
    float *xb = DCI_NEW_ARRAY(float, batch * d, "pretrain batch");
    float *grad = DCI_NEW_ARRAY(float, batch * d, "pretrain gradient");
    if (st == DC_OK && (!order || !xb || !grad)) st = DC_ERR_NOMEM;
    if (st != DC_OK) goto done;

    for (int64_t i = 0; i < n; i++) order[i] = i;
    dci_rng shuffle, aug;
    dci_rng_init(&shuffle, o.seed, dci_dist_stream(DCI_STREAM_SHUFFLE, o.dist));
    dci_rng_init(&aug, o.seed, dci_dist_stream(DCI_STREAM_AUGMENT, o.dist));
    if (o.dist && (st = o.dist->share(o.dist, sgd)) != DC_OK) goto done;

    double epoch_loss = NAN;
    int64_t last_epoch = 0, last_batch = 0;
    const int64_t per_epoch = (n + batch - 1) / batch;
    const int64_t total_steps = dci_pretrain_total_steps(&o, n);
    const int64_t n_epochs = (total_steps + per_epoch - 1) / per_epoch;
    int64_t step = 0;
    for (int64_t e = 0; step < total_steps; e++) {
        dci_rng_shuffle_i64(&shuffle, order, n);
        double sum = 0.0;
        int64_t seen = 0;
        for (int64_t start = 0, bi = 0; start < n && step < total_steps;
             start += batch, bi++, step++) {
            /* Distributed, a failure waits for the step's collective (which
             * fails it on every rank); a progress failure of the last epoch
             * too. */
            if (st == DC_OK) st = dci_cancel_check("pretrain");
            if (st != DC_OK && !o.dist) goto done;
            const int64_t b = n - start < batch ? n - start : batch;
            const float lr = (float)dci_pretrain_lr_at(&o, step, total_steps);
            double loss = NAN;
            if (st == DC_OK) {
                dci_gather_batch(x, d, order + start, b, xb, o.augment, &ranges, &aug);
                const float *recon = dci_autoencoder_forward(ae, xb, b);
                loss = dci_mse(recon, xb, b, d, grad);
                if (!isfinite(loss))
                    st = dci_fail(DC_ERR_NUMERIC,
                                  "pretrain: the loss is %s at epoch %lld, batch %lld (learning "
                                  "rate %g)",
                                  isnan(loss) ? "NaN" : "Inf", (long long)e + 1, (long long)bi + 1,
                                  (double)lr);
            }
            /* A ReLU network can blow its embedding up while the loss stays
             * finite (the decoder's units die and output a constant). */
            if (st == DC_OK && o.embed_limit > 0)
                st = check_embedding(dci_mlp_output(ae->enc), b * dci_mlp_out_dim(ae->enc),
                                     o.embed_limit, e, bi, lr);
            if (st != DC_OK && !o.dist) goto done;
            last_epoch = e;
            last_batch = bi;
            if (st == DC_OK) {
                dci_autoencoder_zero_grad(ae);
                dci_autoencoder_backward(ae, grad, NULL, NULL);
            }
            dci_sgd_set_lr(sgd, lr);
            if (o.dist) {
                float extra[DCI_DIST_EXTRA] = {(float)loss, 0.0f, 0.0f};
                if ((st = o.dist->step(o.dist, sgd, step, b, DCI_DIST_PRETRAIN, extra, st)) != DC_OK)
                    goto done;
                loss = extra[0]; /* the global batch's */
            } else {
                dci_sgd_step(sgd);
            }
            sum += loss * (double)b;
            seen += b;
        }
        epoch_loss = sum / (double)seen;
        st = dci_progress(o.progress, o.progress_user, "pretrain", (long long)e + 1,
                          (long long)n_epochs, epoch_loss);
        if (st != DC_OK && !o.dist) goto done;
    }
    if (st != DC_OK) goto done; /* distributed: the caller agrees on it */
    /* The loop checks each step's result at the next forward; the last
     * step has none. */
    if (total_steps > 0) {
        const dci_mlp *nets[2] = {ae->enc, ae->dec};
        for (int i = 0; i < 2 && st == DC_OK; i++)
            if (dci_check_finite(dci_mlp_params_const(nets[i]), 1, dci_mlp_param_count(nets[i]),
                                 "weights") != DC_OK)
                st = dci_fail(DC_ERR_NUMERIC,
                              "pretrain: the weights became NaN/Inf at the last step (epoch "
                              "%lld, batch %lld, learning rate %g)",
                              (long long)last_epoch + 1, (long long)last_batch + 1, (double)o.lr);
        if (st != DC_OK) goto done;
    }
    if (final_loss) *final_loss = epoch_loss;
done:
    dci_sgd_free(sgd);
    dci_free(order);
    dci_free(xb);
    dci_free(grad);
    return st;
}
