/* Pre-training checkpoints of the deep methods (the records: the top of
 * methods/edcwrn_checkpoint.c). Pre-training is the longest part of a fit
 * on large data, and a cancelled or killed fit must lose none of it: the
 * file holds the exact state between two steps, so that the resumed fit is
 * bit-identical to the uninterrupted one. One process only: a distributed
 * fit would have to gather every rank's generators and batch order, and
 * writes none (the clustering phase's checkpoints come as before). */
#include "methods/edcwrn_fit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "deepclust/model.h"
#include "methods/method.h"

#define PHASE_RECORD "state.phase"
#define PHASE_PRETRAIN "pretrain"

int dci_deep_is_pretrain_checkpoint(const dci_rec_file *f) {
    char phase[16];
    return dci_rec_count(f, PHASE_RECORD) >= 0 &&
           dci_rec_get_str(f, PHASE_RECORD, phase, sizeof phase) == DC_OK &&
           strcmp(phase, PHASE_PRETRAIN) == 0;
}

/* The optimiser's moments: per block as the clustering checkpoints'
 * velocities, and Adam's second moments. */
static void put_sgd(dci_rec_writer *w, dci_sgd *sgd) {
    dci_rec_put_i64(w, "pretrain.adam", dci_sgd_is_adam(sgd));
    dci_rec_put_i64(w, "pretrain.adam_t", dci_sgd_steps(sgd));
    for (int i = 0; i < dci_sgd_block_count(sgd); i++) {
        char name[40];
        int64_t count = 0;
        const float *v = dci_sgd_velocity(sgd, i, &count);
        snprintf(name, sizeof name, "pretrain.velocity.%d", i);
        dci_rec_put(w, name, DCI_REC_F32, v, count);
        const float *sq = dci_sgd_moments2(sgd, i, &count);
        snprintf(name, sizeof name, "pretrain.moment2.%d", i);
        if (sq) dci_rec_put(w, name, DCI_REC_F32, sq, count);
    }
}

/* The autoencoder at this step as a model, with the fit's parameters:
 * what dc_model_load (and deepclust info) find in the file. */
static dc_status current_model(const dci_pretrain_ckpt *ck, dc_model **out) {
    DCI_TRY(dci_model_new(out, DCI_MODEL_AUTOENCODER, ck->s->m->name, ck->dims, ck->n_dims,
                          ck->batch, 0, 1, 0, 0));
    dc_model *m = *out;
    dc_status st = dci_mlp_copy_params(m->enc, ck->ae->enc);
    if (st == DC_OK) st = dci_mlp_copy_params(m->dec, ck->ae->dec);
    if (st == DC_OK && ck->norm) st = dci_norm_copy(&m->norm, ck->norm, ck->d);
    m->input_scale = ck->input_scale;
    m->train_rows = ck->n;
    dci_deep_record_params(ck->s, ck->eff, m);
    return st;
}

static dc_status write_pretrain(const dci_pretrain_ckpt *ck, const dci_pretrain_state *ps) {
    dc_model *m = NULL;
    dc_status st = current_model(ck, &m);
    dci_rec_writer w;
    if (st == DC_OK) st = dci_rec_begin(&w, ck->path, DCI_MAGIC_CHECKPOINT);
    if (st != DC_OK) {
        dc_model_free(m);
        return st;
    }
    /* No "ae." model: a reader that predates these files fails on it. */
    dci_model_write(&w, m, "");
    dc_model_free(m);
    dci_rec_put_str(&w, PHASE_RECORD, PHASE_PRETRAIN);
    dci_rec_put_i64(&w, "data.rows", ck->n);
    dci_rec_put_i64(&w, "data.cols", ck->d);
    dci_rec_put(&w, "data.crc", DCI_REC_U64, &ck->crc, 1);
    dci_rec_put_i64(&w, "state.ranks", 1);
    dci_rec_put_i64(&w, "pretrain.step", ps->step);
    dci_rec_put_i64(&w, "pretrain.total", ps->total);
    dci_rec_put_i64(&w, "pretrain.epoch", ps->epoch);
    dci_rec_put_i64(&w, "pretrain.pos", ps->pos);
    dci_rec_put(&w, "pretrain.order", DCI_REC_I64, ps->order, ck->n);
    dci_rec_put(&w, "pretrain.rng_shuffle", DCI_REC_U64, ps->shuffle.s, 4);
    dci_rec_put(&w, "pretrain.rng_augment", DCI_REC_U64, ps->aug.s, 4);
    dci_rec_put_f64(&w, "pretrain.sum", ps->sum);
    dci_rec_put_i64(&w, "pretrain.seen", ps->seen);
    dci_rec_put_f64(&w, "pretrain.epoch_loss", ps->epoch_loss);
    dci_rec_put_i64(&w, "pretrain.attempt", ck->attempt);
    dci_rec_put_f64(&w, "pretrain.lr", ck->lr);
    put_sgd(&w, ps->sgd);
    dci_rec_put_f64(&w, "stat.seconds_pretrain", ck->seconds_base + (dci_now() - ck->t0));
    return dci_rec_commit(&w);
}

dc_status dci_deep_pretrain_save(void *user, const dci_pretrain_state *ps, int cancelled) {
    const dci_pretrain_ckpt *ck = user;
    const char *name = ck->s->m->name;
    char why[256];
    snprintf(why, sizeof why, "%s", cancelled ? dc_last_error() : "");
    const dc_status st = write_pretrain(ck, ps);
    if (st != DC_OK)
        return cancelled ? dci_context(st, "%s: %s; the pre-training checkpoint at step %lld",
                                       name, why, (long long)ps->step)
                         : dci_context(st, "%s: pre-training checkpoint at step %lld", name,
                                       (long long)ps->step);
    if (!cancelled) return DC_OK;
    return dci_fail(DC_ERR_CANCELLED,
                    "%s: %s at pre-training step %lld of %lld; its state is in the checkpoint "
                    "'%s' (resume continues it)",
                    name, why, (long long)ps->step, (long long)ps->total, ck->path);
}

void dci_pretrain_resume_free(dci_pretrain_resume *r) {
    if (!r) return;
    dci_free(r->ps.order);
    dci_sgd_free(r->ps.sgd);
    dc_model_free(r->ae);
    dci_free(r);
}

/* The optimiser of the saved run, on the saved networks, with its moments. */
static dc_status read_sgd(const dci_rec_file *f, const dci_deep_cfg *c, dci_pretrain_resume *r) {
    int64_t adam = 0, t = 0;
    DCI_TRY(dci_rec_get_i64(f, "pretrain.adam", &adam));
    DCI_TRY(dci_rec_get_i64(f, "pretrain.adam_t", &t));
    if (adam != (c->pretrain_adam != 0) || t < 0)
        return dci_fail(DC_ERR_FORMAT, "'%s': the optimiser state does not match "
                                       "pretrain_optimizer",
                        f->path);
    /* the rate is set at every step; any valid one will do here */
    DCI_TRY(adam ? dci_sgd_create_adam(&r->ps.sgd, 1.0f, (float)c->pretrain_momentum, 0.999f)
                 : dci_sgd_create(&r->ps.sgd, 1.0f, (float)c->pretrain_momentum));
    DCI_TRY(dci_sgd_add_mlp(r->ps.sgd, r->ae->enc));
    DCI_TRY(dci_sgd_add_mlp(r->ps.sgd, r->ae->dec));
    dci_sgd_set_steps(r->ps.sgd, t);
    for (int i = 0; i < dci_sgd_block_count(r->ps.sgd); i++) {
        char name[40];
        int64_t count = 0;
        float *v = dci_sgd_velocity(r->ps.sgd, i, &count);
        snprintf(name, sizeof name, "pretrain.velocity.%d", i);
        DCI_TRY(dci_rec_get(f, name, DCI_REC_F32, count, v));
        float *sq = dci_sgd_moments2(r->ps.sgd, i, &count);
        snprintf(name, sizeof name, "pretrain.moment2.%d", i);
        if (sq) DCI_TRY(dci_rec_get(f, name, DCI_REC_F32, count, sq));
    }
    return DC_OK;
}

/* The pretrain.* records into r (the model is already read). */
static dc_status read_state(const dci_rec_file *f, const dci_deep_cfg *c, int64_t n,
                            dci_pretrain_resume *r) {
    dci_pretrain_state *ps = &r->ps;
    int64_t attempt = 0;
    if (!(ps->order = DCI_NEW_ARRAY(int64_t, n, "checkpoint: pre-training order")))
        return DC_ERR_NOMEM;
    dc_status st;
    if ((st = dci_rec_get_i64(f, "pretrain.step", &ps->step)) != DC_OK ||
        (st = dci_rec_get_i64(f, "pretrain.total", &ps->total)) != DC_OK ||
        (st = dci_rec_get_i64(f, "pretrain.epoch", &ps->epoch)) != DC_OK ||
        (st = dci_rec_get_i64(f, "pretrain.pos", &ps->pos)) != DC_OK ||
        (st = dci_rec_get(f, "pretrain.order", DCI_REC_I64, n, ps->order)) != DC_OK ||
        (st = dci_rec_get(f, "pretrain.rng_shuffle", DCI_REC_U64, 4, ps->shuffle.s)) != DC_OK ||
        (st = dci_rec_get(f, "pretrain.rng_augment", DCI_REC_U64, 4, ps->aug.s)) != DC_OK ||
        (st = dci_rec_get_f64(f, "pretrain.sum", &ps->sum)) != DC_OK ||
        (st = dci_rec_get_i64(f, "pretrain.seen", &ps->seen)) != DC_OK ||
        (st = dci_rec_get_f64(f, "pretrain.epoch_loss", &ps->epoch_loss)) != DC_OK ||
        (st = dci_rec_get_i64(f, "pretrain.attempt", &attempt)) != DC_OK ||
        (st = dci_rec_get_f64(f, "pretrain.lr", &r->lr)) != DC_OK ||
        (st = dci_rec_get_f64(f, "stat.seconds_pretrain", &r->seconds)) != DC_OK ||
        (st = read_sgd(f, c, r)) != DC_OK)
        return st;
    /* pretrain_and_start's two attempts: the second runs at half the rate
     * (which the parameters then record). */
    if (attempt < 0 || attempt > 1 || !(r->lr > 0.0) || !isfinite(r->lr) ||
        !(r->seconds >= 0.0) || !isfinite(r->seconds))
        return dci_fail(DC_ERR_FORMAT, "'%s': the pre-training attempt is inconsistent", f->path);
    r->attempt = (int)attempt;
    return DC_OK;
}

/* The saved autoencoder must be the one the parameters build on d columns. */
static dc_status check_model(const dci_rec_file *f, const dc_solver *s, const dc_model *m,
                             const dci_deep_cfg *c, int64_t n, int64_t d) {
    int64_t dims[DCI_DEEP_MAX_DIMS];
    const int n_dims = dci_deep_encoder_dims(c, d, dims);
    int same = m->n_dims == n_dims && m->dec && m->batch == (c->batch < n ? c->batch : n);
    for (int i = 0; same && i < n_dims; i++) same = m->dims[i] == dims[i];
    if (!same)
        return dci_fail(DC_ERR_FORMAT, "'%s': the autoencoder does not match the parameters of "
                                       "%s",
                        f->path, s->m->name);
    return DC_OK;
}

/* The input scale is a function of the data (the fit computed it before
 * pre-training): any other value is damage, and one that overflows the
 * data would fail only after the parameters are replaced. */
static dc_status check_scale(const dci_rec_file *f, const dc_model *m, const dci_deep_cfg *c,
                             const dc_dataset *ds) {
    const int64_t count = dc_dataset_rows(ds) * dc_dataset_cols(ds);
    const double want =
        c->scale_input ? dci_input_scale_of(dci_input_top(dc_dataset_data(ds), count)) : 1.0;
    if (m->input_scale != want)
        return dci_fail(DC_ERR_FORMAT, "'%s': input_scale %g is not the data's (%g)", f->path,
                        m->input_scale, want);
    return DC_OK;
}

/* The records the clustering checkpoints check first, in their order. */
static dc_status check_kind(const dci_rec_file *f, const dc_solver *s, const dc_model *m,
                            int64_t n, int64_t d, uint64_t data_crc) {
    if (strcmp(m->method, s->m->name) != 0 || m->kind != DCI_MODEL_AUTOENCODER)
        return dci_fail(DC_ERR_INVALID_ARG, "'%s' is a checkpoint of method '%s', not '%s'",
                        f->path, m->method, s->m->name);
    int64_t rows = 0, cols = 0;
    uint64_t crc = 0;
    DCI_TRY(dci_rec_get_i64(f, "data.rows", &rows));
    DCI_TRY(dci_rec_get_i64(f, "data.cols", &cols));
    DCI_TRY(dci_rec_get(f, "data.crc", DCI_REC_U64, 1, &crc));
    if (rows != n || cols != d || crc != data_crc)
        return dci_fail(DC_ERR_STATE,
                        "'%s' was written for other data (%lld x %lld%s); resume on the same data",
                        f->path, (long long)rows, (long long)cols,
                        rows == n && cols == d ? ", different values" : "");
    return DC_OK;
}

static dci_pretrain_opts opts_of(const dci_deep_cfg *c, int64_t n) {
    dci_pretrain_opts o = dci_pretrain_opts_default();
    o.steps = dci_deep_pretrain_steps(c, n);
    o.batch = c->batch < n ? c->batch : n;
    o.adam = c->pretrain_adam;
    return o;
}

dc_status dci_deep_pretrain_restore(dc_solver *s, dci_deep_method method, const dci_rec_file *f,
                                    const dc_dataset *ds, uint64_t data_crc,
                                    dci_pretrain_resume **out) {
    *out = NULL;
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    dci_image_shape shape_buf;
    const dci_image_shape *shape =
        dc_dataset_image_shape(ds, &shape_buf.h, &shape_buf.w, &shape_buf.c) ? &shape_buf : NULL;
    double *saved = DCI_NEW_ARRAY(double, s->m->n_params, "saved parameters");
    dci_pretrain_resume *r = DCI_NEW_ZEROS(dci_pretrain_resume, 1, "pre-training resume");
    dc_status st = saved && r ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) memcpy(saved, s->pv, sizeof(double) * (size_t)s->m->n_params);
    if (st == DC_OK) st = dci_model_read(f, "", &r->ae);
    if (st == DC_OK) st = check_kind(f, s, r->ae, n, d, data_crc);
    if (st == DC_OK) st = dci_deep_restore_params(s, f, r->ae);
    /* The checkpoint's values already are the preset's (effective_params). */
    const dci_deep_cfg cfg = dci_deep_read_cfg(s, s->pv, method);
    /* They passed on these data (the CRC matched) when the file was written. */
    if (st == DC_OK && dci_deep_check(&cfg, n, d, shape) != DC_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", dc_last_error());
        st = dci_fail(DC_ERR_FORMAT, "'%s': the parameters are damaged (%s)", f->path, detail);
    }
    if (st == DC_OK) st = check_model(f, s, r->ae, &cfg, n, d);
    if (st == DC_OK) st = check_scale(f, r->ae, &cfg, ds);
    if (st == DC_OK) st = read_state(f, &cfg, n, r);
    const dci_pretrain_opts o = opts_of(&cfg, n);
    if (st == DC_OK && (st = dci_pretrain_state_check(&o, n, &r->ps)) != DC_OK)
        st = dci_context(DC_ERR_FORMAT, "'%s'", f->path);
    if (st != DC_OK) {
        if (saved) memcpy(s->pv, saved, sizeof(double) * (size_t)s->m->n_params);
        dci_pretrain_resume_free(r);
        r = NULL;
    }
    dci_free(saved);
    *out = r;
    return st;
}

/* ---- public: where a checkpoint stands (deepclust/model.h) ---- */

dc_status dc_checkpoint_progress(const char *path, const char **phase, int64_t *done,
                                 int64_t *total) {
    DCI_CHECK_NULL(path);
    dci_rec_file f;
    DCI_TRY(dci_rec_load(&f, path));
    dc_status st = DC_OK;
    int64_t a = 0, b = 0;
    double max_iter = 0;
    const int pre = dci_deep_is_pretrain_checkpoint(&f);
    if (!dci_rec_is(&f, DCI_MAGIC_CHECKPOINT))
        st = dci_fail(DC_ERR_INVALID_ARG, "'%s' is a model file, not a checkpoint", path);
    else if (pre && (st = dci_rec_get_i64(&f, "pretrain.step", &a)) == DC_OK)
        st = dci_rec_get_i64(&f, "pretrain.total", &b);
    else if (!pre && (st = dci_rec_get_i64(&f, "state.iter", &a)) == DC_OK &&
             (st = dci_rec_get_f64(&f, "param.max_iter", &max_iter)) == DC_OK)
        b = (int64_t)max_iter;
    dci_rec_close(&f);
    if (st != DC_OK) return st;
    if (phase) *phase = pre ? "pretrain" : "cluster";
    if (done) *done = a;
    if (total) *total = b;
    return DC_OK;
}
