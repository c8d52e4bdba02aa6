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

dc_status dci_pretrain_state_check(const dci_pretrain_opts *o, int64_t n,
                                   const dci_pretrain_state *ps) {
    const int64_t batch = o->batch < n ? o->batch : n;
    const int64_t per_epoch = batch < 1 ? 0 : (n + batch - 1) / batch;
    const int64_t total = dci_pretrain_total_steps(o, n);
    int ok = ps->total == total && ps->step >= 0 && ps->step <= total && ps->pos >= 0 &&
             ps->pos < per_epoch && ps->epoch >= 0 && ps->epoch <= total &&
             ps->epoch * per_epoch + ps->pos == ps->step &&
             (ps->pos == 0 || ps->seen == ps->pos * batch) && ps->sgd &&
             dci_sgd_is_adam(ps->sgd) == (o->adam != 0) && dci_sgd_steps(ps->sgd) >= 0;
    for (int64_t i = 0; ok && i < n; i++) ok = ps->order[i] >= 0 && ps->order[i] < n;
    if (!ok)
        return dci_fail(DC_ERR_FORMAT, "pretrain: the saved state (step %lld of %lld, epoch "
                                       "%lld, batch %lld) is inconsistent",
                        (long long)ps->step, (long long)ps->total, (long long)ps->epoch + 1,
                        (long long)ps->pos);
    return DC_OK;
}

/* The working set of a run. */
typedef struct pretrain_run {
    dci_autoencoder *ae;
    const float *x;
    int64_t n, d, batch;
    const dci_pretrain_opts *o;
    dci_augment_ranges ranges;
    float *xb, *grad;
    int64_t last_epoch, last_batch;
    double loss_limit; /* an epoch's mean loss above it is a divergence (0: none) */
} pretrain_run;

/* A network that outputs zeros has the data's mean square as its loss; one
 * whose epoch loss ends a thousand times above that has diverged even when
 * the numbers stay finite (a too large rate on large values: its labels
 * would be garbage without an error). */
#define LOSS_LIMIT_FACTOR 1000.0

static double loss_limit_of(const float *x, int64_t n, int64_t d) {
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (int64_t i = 0; i < n * d; i++) acc[i & 3] += (double)x[i] * (double)x[i];
    const double mean_sq = ((acc[0] + acc[1]) + (acc[2] + acc[3])) / (double)(n * d);
    return mean_sq > 0.0 ? LOSS_LIMIT_FACTOR * mean_sq : 0.0;
}

/* One batch step at ps's position (st: the status so far; distributed, a
 * failure still joins the step's collective, which fails it everywhere). */
static dc_status one_step(pretrain_run *r, dci_pretrain_state *ps, dc_status st) {
    const dci_pretrain_opts *o = r->o;
    const int64_t start = ps->pos * r->batch, e = ps->epoch, bi = ps->pos, d = r->d;
    const int64_t b = r->n - start < r->batch ? r->n - start : r->batch;
    const float lr = (float)dci_pretrain_lr_at(o, ps->step, ps->total);
    double loss = NAN;
    if (st == DC_OK) {
        dci_gather_batch(r->x, d, ps->order + start, b, r->xb, o->augment, &r->ranges, &ps->aug);
        const float *recon = dci_autoencoder_forward(r->ae, r->xb, b);
        loss = dci_mse(recon, r->xb, b, d, r->grad);
        if (!isfinite(loss))
            st = dci_fail(DC_ERR_NUMERIC,
                          "pretrain: the loss is %s at epoch %lld, batch %lld (learning rate %g)",
                          isnan(loss) ? "NaN" : "Inf", (long long)e + 1, (long long)bi + 1,
                          (double)lr);
    }
    /* A ReLU network can blow its embedding up while the loss stays
     * finite (the decoder's units die and output a constant). */
    if (st == DC_OK && o->embed_limit > 0)
        st = check_embedding(dci_mlp_output(r->ae->enc), b * dci_mlp_out_dim(r->ae->enc),
                             o->embed_limit, e, bi, lr);
    if (st != DC_OK && !o->dist) return st;
    r->last_epoch = e;
    r->last_batch = bi;
    if (st == DC_OK) {
        dci_autoencoder_zero_grad(r->ae);
        dci_autoencoder_backward(r->ae, r->grad, NULL, NULL);
    }
    dci_sgd_set_lr(ps->sgd, lr);
    if (o->dist) {
        float extra[DCI_DIST_EXTRA] = {(float)loss, 0.0f, 0.0f};
        DCI_TRY(o->dist->step(o->dist, ps->sgd, ps->step, b, DCI_DIST_PRETRAIN, extra, st));
        loss = extra[0]; /* the global batch's */
    } else {
        dci_sgd_step(ps->sgd);
    }
    ps->sum += loss * (double)b;
    ps->seen += b;
    return st;
}

/* The steps from ps to the budget. A save hook is called at the points
 * where ps is exactly the state an uninterrupted run passes through: before
 * a step (before an epoch's shuffle when it starts one). */
static dc_status run_steps(pretrain_run *r, dci_pretrain_state *ps) {
    const dci_pretrain_opts *o = r->o;
    const int64_t first = ps->step;
    const int64_t per_epoch = (r->n + r->batch - 1) / r->batch;
    const int64_t n_epochs = (ps->total + per_epoch - 1) / per_epoch;
    dc_status st = DC_OK;
    while (ps->step < ps->total) {
        if (st == DC_OK) st = dci_cancel_check("pretrain");
        if (st == DC_ERR_CANCELLED && o->save) return o->save(o->save_user, ps, 1);
        if (st != DC_OK && !o->dist) return st;
        if (st == DC_OK && o->save && o->save_every > 0 && ps->step != first &&
            ps->step % o->save_every == 0 && (st = o->save(o->save_user, ps, 0)) != DC_OK)
            return st;
        if (ps->pos == 0) {
            dci_rng_shuffle_i64(&ps->shuffle, ps->order, r->n);
            ps->sum = 0.0;
            ps->seen = 0;
        }
        st = one_step(r, ps, st);
        if (st != DC_OK && !o->dist) return st;
        ps->step++;
        if (++ps->pos < per_epoch && ps->step < ps->total) continue;
        ps->epoch_loss = ps->sum / (double)ps->seen;
        if (st == DC_OK && r->loss_limit > 0.0 && ps->epoch_loss > r->loss_limit)
            st = dci_fail(DC_ERR_NUMERIC, "pretrain: the reconstruction loss diverged: %g at "
                          "epoch %lld, over %g times that of an all-zero output (%g; learning "
                          "rate %g)", ps->epoch_loss, (long long)ps->epoch + 1, LOSS_LIMIT_FACTOR,
                          r->loss_limit / LOSS_LIMIT_FACTOR,
                          dci_pretrain_lr_at(o, ps->step - 1, ps->total));
        ps->pos = 0;
        ps->epoch++;
        /* Distributed, a failure waits for the next step's collective
         * (which fails it on every rank); one of the last epoch the
         * caller's agreement. */
        if (st == DC_OK)
            st = dci_progress(o->progress, o->progress_user, "pretrain", (long long)ps->epoch,
                              (long long)n_epochs, ps->epoch_loss);
        if (st == DC_ERR_CANCELLED && o->save) return o->save(o->save_user, ps, 1);
        if (st != DC_OK && !o->dist) return st;
    }
    return st;
}

/* The loop checks each step's result at the next forward; the last step
 * has none. */
static dc_status check_last_step(const pretrain_run *r) {
    const dci_mlp *nets[2] = {r->ae->enc, r->ae->dec};
    for (int i = 0; i < 2; i++)
        if (dci_check_finite(dci_mlp_params_const(nets[i]), 1, dci_mlp_param_count(nets[i]),
                             "weights") != DC_OK)
            return dci_fail(DC_ERR_NUMERIC,
                            "pretrain: the weights became NaN/Inf at the last step (epoch "
                            "%lld, batch %lld, learning rate %g)",
                            (long long)r->last_epoch + 1, (long long)r->last_batch + 1,
                            (double)r->o->lr);
    return DC_OK;
}

/* ps at the run's start, or at the state to resume. */
static dc_status start_state(const dci_pretrain_opts *o, int64_t n, dci_pretrain_state *ps) {
    ps->step = ps->epoch = ps->pos = ps->seen = 0;
    ps->sum = 0.0;
    ps->epoch_loss = NAN;
    ps->total = dci_pretrain_total_steps(o, n);
    if (!o->resume) {
        for (int64_t i = 0; i < n; i++) ps->order[i] = i;
        dci_rng_init(&ps->shuffle, o->seed, dci_dist_stream(DCI_STREAM_SHUFFLE, o->dist));
        dci_rng_init(&ps->aug, o->seed, dci_dist_stream(DCI_STREAM_AUGMENT, o->dist));
        return DC_OK;
    }
    const dci_pretrain_state *rs = o->resume;
    DCI_TRY(dci_pretrain_state_check(o, n, rs));
    DCI_TRY(dci_sgd_copy_state(ps->sgd, rs->sgd));
    memcpy(ps->order, rs->order, (size_t)n * sizeof *ps->order);
    ps->shuffle = rs->shuffle;
    ps->aug = rs->aug;
    ps->step = rs->step;
    ps->epoch = rs->epoch;
    ps->pos = rs->pos;
    ps->sum = rs->sum;
    ps->seen = rs->seen;
    ps->epoch_loss = rs->epoch_loss;
    return DC_OK;
}

dc_status dci_pretrain(dci_autoencoder *ae, const float *x, int64_t n, int64_t d,
                       const dci_pretrain_opts *opts, double *final_loss) {
    if (final_loss) *final_loss = NAN;
    DCI_TRY(check_args(ae, x, n, d, opts));
    const dci_pretrain_opts o = *opts;
    if (o.dist && (o.save || o.resume))
        return dci_fail(DC_ERR_INVALID_ARG, "pretrain: checkpoints are for one process only");
    pretrain_run r = {.ae = ae, .x = x, .n = n, .d = d, .o = &o,
                      .loss_limit = loss_limit_of(x, n, d)};
    r.batch = o.batch < n ? o.batch : n;
    r.ranges = o.ranges ? *o.ranges : dci_augment_ranges_default();
    dci_pretrain_state ps = {0};
    dc_status st = o.adam ? dci_sgd_create_adam(&ps.sgd, o.lr, o.momentum, 0.999f)
                          : dci_sgd_create(&ps.sgd, o.lr, o.momentum);
    if (st == DC_OK) st = dci_sgd_add_mlp(ps.sgd, ae->enc);
    if (st == DC_OK) st = dci_sgd_add_mlp(ps.sgd, ae->dec);
    ps.order = DCI_NEW_ARRAY(int64_t, n, "pretrain order");
    r.xb = DCI_NEW_ARRAY(float, r.batch * d, "pretrain batch");
    r.grad = DCI_NEW_ARRAY(float, r.batch * d, "pretrain gradient");
    if (st == DC_OK && (!ps.order || !r.xb || !r.grad)) st = DC_ERR_NOMEM;
    if (st == DC_OK) st = start_state(&o, n, &ps);
    const int64_t first = ps.step;
    if (st == DC_OK && o.dist) st = o.dist->share(o.dist, ps.sgd);
    if (st == DC_OK) st = run_steps(&r, &ps);
    /* distributed: a failure here is agreed on by the caller */
    if (st == DC_OK && ps.total > 0) st = check_last_step(&r);
    /* The finished state too: the clustering phase's start (k-means) is not
     * free, and its first checkpoint replaces this one. */
    if (st == DC_OK && o.save && ps.step != first) st = o.save(o.save_user, &ps, 0);
    if (st == DC_OK && final_loss) *final_loss = ps.epoch_loss;
    dci_sgd_free(ps.sgd);
    dci_free(ps.order);
    dci_free(r.xb);
    dci_free(r.grad);
    return st;
}
