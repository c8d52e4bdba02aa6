/* Checkpoints of the deep methods: writing the whole training state, and
 * restoring it with every check a damaged or foreign file needs
 * (methods/edcwrn_fit.h). */
#include "methods/edcwrn_fit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "methods/method.h"

/* ---- checkpoints ----
 * A checkpoint is the container of model_io.h with magic "DCCKPT\0\0". One
 * of the clustering phase holds the current model's records (deep_model.h),
 * the pre-trained autoencoder's under "ae.", and
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
 *   stat.pretrain_loss (f64),
 *   state.ranks (i64: the MPI ranks the fit ran on; absent in older files:
 *   1). With more than one, state.order is every rank's order of its own
 *   block in rank order, state.pos and the generators are rank 0's and
 *   state.rank_pos (i64[ranks]), state.rank_rng (u64[8 ranks]: shuffle,
 *   augment) are every rank's: a resume needs the same ranks.
 *
 * A pre-training checkpoint (methods/edcwrn_pretrain_ckpt.c; written from
 * the first pre-training step until the clustering phase writes its first
 * checkpoint over it) holds the autoencoder being trained as the current
 * model (kind "autoencoder", its param.* the fit's, so dc_model_load reads
 * it) and no "ae." model, so that readers of the clustering checkpoints
 * that predate it fail on it with DC_ERR_FORMAT; then
 *   state.phase (text "pretrain": what tells the two kinds apart; absent in
 *   clustering checkpoints), data.rows, data.cols, data.crc, state.ranks (1:
 *   a distributed fit writes none, as each rank's generators would have to
 *   be gathered),
 *   pretrain.step, pretrain.total (i64: steps made, of the budget),
 *   pretrain.epoch, pretrain.pos (i64: the next step's epoch and batch in it;
 *   pos 0: the epoch's shuffle is still to come), pretrain.order (i64[n]),
 *   pretrain.rng_shuffle, pretrain.rng_augment (u64[4]), pretrain.sum (f64),
 *   pretrain.seen (i64: the epoch's loss so far, which the final
 *   pretrain_loss averages), pretrain.epoch_loss (f64: the last finished
 *   epoch's), pretrain.attempt (i64: 1 after a divergence restarted the
 *   pre-training), pretrain.lr (f64: that attempt's rate),
 *   pretrain.adam (i64), pretrain.adam_t (i64: Adam's step count),
 *   pretrain.velocity.<i>, pretrain.moment2.<i> (f32: the optimiser's first
 *   and, with Adam, second moments of block i: encoder, decoder),
 *   stat.seconds_pretrain (f64). */

uint64_t dci_deep_data_crc(const float *x, int64_t n, int64_t d) {
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

dc_status dci_deep_data_crc_all(dci_dist *dist, const float *x, int64_t nl, int64_t d,
                                uint64_t *crc) {
    *crc = dci_deep_data_crc(x, nl, d);
    if (!dist) return DC_OK;
    return dist->crc(dist, (uint32_t)*crc, nl * d * (int64_t)sizeof *x, crc);
}

/* Every rank's sampler state, gathered on rank 0 (order: n, pos: ranks,
 * rng: 8 ranks). */
typedef struct rank_state {
    int64_t *order, *pos;
    uint64_t *rng;
} rank_state;

static dc_status gather_rank_state(const dci_deep_train *t, rank_state *rs) {
    dci_dist *d = t->dist;
    dc_status st = DC_OK;
    if (d->rank == 0) {
        rs->order = DCI_NEW_ARRAY(int64_t, t->n, "checkpoint: orders of all ranks");
        rs->pos = DCI_NEW_ARRAY(int64_t, d->size, "checkpoint: positions of all ranks");
        rs->rng = DCI_NEW_ARRAY(uint64_t, 8 * (int64_t)d->size, "checkpoint: generators");
        if (!rs->order || !rs->pos || !rs->rng) st = DC_ERR_NOMEM;
    }
    DCI_TRY(d->agree(d, st, "checkpoint"));
    uint64_t rng[8];
    memcpy(rng, t->shuffle.s, sizeof t->shuffle.s);
    memcpy(rng + 4, t->aug.s, sizeof t->aug.s);
    DCI_TRY(d->gather_u64(d, t->order, t->nl, rs->order, "checkpoint: batch orders"));
    DCI_TRY(d->gather_u64(d, &t->pos, 1, rs->pos, "checkpoint: batch positions"));
    return d->gather_u64(d, rng, 8, rs->rng, "checkpoint: generators");
}

static dc_status write_file(const dci_deep_train *t, const dc_model *ae, const char *path,
                            uint64_t crc, const rank_state *rs) {
    dci_rec_writer w;
    DCI_TRY(dci_rec_begin(&w, path, DCI_MAGIC_CHECKPOINT));
    dci_model_write(&w, t->m, "");
    dci_model_write(&w, ae, "ae.");
    dci_rec_put_i64(&w, "data.rows", t->n);
    dci_rec_put_i64(&w, "data.cols", t->d);
    dci_rec_put(&w, "data.crc", DCI_REC_U64, &crc, 1);
    dci_rec_put_i64(&w, "state.iter", t->iter);
    dci_rec_put_i64(&w, "state.pos", t->pos);
    const int64_t ranks = t->dist ? t->dist->size : 1;
    dci_rec_put(&w, "state.order", DCI_REC_I64, rs ? rs->order : t->order, t->n);
    dci_rec_put_i64(&w, "state.ranks", ranks);
    if (rs) {
        dci_rec_put(&w, "state.rank_pos", DCI_REC_I64, rs->pos, ranks);
        dci_rec_put(&w, "state.rank_rng", DCI_REC_U64, rs->rng, 8 * ranks);
    }
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

/* Distributed: every rank's sampler to rank 0, which alone writes; every
 * rank returns the write's status. */
dc_status dci_deep_checkpoint_write(const dci_deep_train *t, const dc_model *ae, const char *path,
                                    uint64_t crc) {
    if (!t->dist) return write_file(t, ae, path, crc, NULL);
    rank_state rs = {NULL, NULL, NULL};
    dc_status st = gather_rank_state(t, &rs);
    if (st == DC_OK && t->dist->rank == 0) st = write_file(t, ae, path, crc, &rs);
    dci_free(rs.order);
    dci_free(rs.pos);
    dci_free(rs.rng);
    return t->dist->agree(t->dist, st, "checkpoint");
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
    double v = 0;
    DCI_TRY(dci_param_value(s, name, &v));
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

/* Parameters that checkpoints of earlier versions do not record, with the
 * value that describes how those fits ran (no preset, epochs, no warm-up,
 * data as given); a resumed fit only needs them for the record. */
static int added_later(const char *name, double *v) {
    static const struct {
        const char *name;
        double value;
    } params[] = {{"preset", 0}, {"pretrain_steps", 0}, {"pretrain_warmup", 0}, {"scale_input", 0},
                  {"pretrain_zoom", 0},   {"augment_fill", 0},
                  {"init", DCI_INIT_KMEANS}, {"gemm_precision", 0}};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (strcmp(name, params[i].name) == 0) {
            *v = params[i].value;
            return 1;
        }
    return 0;
}

/* The checkpoint's parameters into the solver, except checkpoint_every and
 * those the caller set (which must agree: check_given). */
dc_status dci_deep_restore_params(dc_solver *s, const dci_rec_file *f, const dc_model *cur) {
    for (int i = 0; i < s->m->n_params; i++) {
        const char *name = s->m->params[i].name;
        if (strcmp(name, "checkpoint_every") == 0) continue;
        double v;
        const int given = s->given[i];
        const int recorded = dc_model_get(cur, name, &v) == DC_OK;
        if ((!recorded && !added_later(name, &v)) ||
            (!given && dci_param_set_internal(s, name, v) != DC_OK))
            return dci_fail(DC_ERR_FORMAT, "'%s': parameter '%s' is missing or invalid", f->path,
                            name);
        if (given) DCI_TRY(check_given(s, f->path, name, v));
    }
    return DC_OK;
}

/* The networks, centres and weights of the checkpoint's model into the
 * model t was created with from the same parameters. */
static dc_status restore_networks(dci_deep_train *t, const dc_model *cur, const char *path) {
    dc_model *m = t->m;
    const int64_t km = t->K * t->M;
    if (!cur->enc_nb != !m->enc_nb || !cur->dec != !m->dec || !cur->weights != !m->weights ||
        cur->k != t->K || dci_mlp_copy_params(m->enc, cur->enc) != DC_OK ||
        (m->enc_nb && dci_mlp_copy_params(m->enc_nb, cur->enc_nb) != DC_OK) ||
        (m->dec && dci_mlp_copy_params(m->dec, cur->dec) != DC_OK))
        return dci_fail(DC_ERR_FORMAT, "'%s': networks do not match the parameters", path);
    memcpy(m->centers, cur->centers, (size_t)km * sizeof *m->centers);
    if (m->weights) memcpy(m->weights, cur->weights, (size_t)km * sizeof *m->weights);
    return DC_OK;
}

/* The state.* and stat.* records into t (a converged state must end on a
 * target update). */
static dc_status restore_state(const dci_rec_file *f, dci_deep_train *t, int64_t n) {
    int64_t have = 0;
    dc_status st;
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
        return st;
    if (t->dist && t->dist->size > 1) {
        /* this rank's slice of the orders and its own sampler */
        const int64_t ranks = t->dist->size, r = t->dist->rank;
        int64_t *pos = DCI_NEW_ARRAY(int64_t, ranks, "checkpoint positions");
        uint64_t *rng = DCI_NEW_ARRAY(uint64_t, 8 * ranks, "checkpoint generators");
        st = pos && rng ? DC_OK : DC_ERR_NOMEM;
        if (st == DC_OK) st = dci_rec_get(f, "state.rank_pos", DCI_REC_I64, ranks, pos);
        if (st == DC_OK) st = dci_rec_get(f, "state.rank_rng", DCI_REC_U64, 8 * ranks, rng);
        if (st == DC_OK) {
            memmove(t->order, t->order + t->row0, (size_t)t->nl * sizeof *t->order);
            t->pos = pos[r];
            memcpy(t->shuffle.s, rng + 8 * r, sizeof t->shuffle.s);
            memcpy(t->aug.s, rng + 8 * r + 4, sizeof t->aug.s);
        }
        dci_free(pos);
        dci_free(rng);
        if (st != DC_OK) return st;
    }
    t->have_labels = have != 0;
    int64_t converged = 0; /* absent from checkpoints of earlier versions */
    if (dci_rec_count(f, "state.converged") >= 0)
        DCI_TRY(dci_rec_get_i64(f, "state.converged", &converged));
    t->converged = converged != 0;
    if (t->converged &&
        (!t->have_labels || !isfinite(t->last_change) || t->iter % t->cfg.update_interval != 0))
        return dci_fail(DC_ERR_FORMAT, "'%s': converged without a target update", f->path);
    for (int i = 0; i < dci_sgd_block_count(t->sgd); i++) {
        char name[32];
        int64_t count = 0;
        float *v = dci_sgd_velocity(t->sgd, i, &count);
        snprintf(name, sizeof name, "state.velocity.%d", i);
        DCI_TRY(dci_rec_get(f, name, DCI_REC_F32, count, v));
    }
    return DC_OK;
}

/* Indices, labels and counters a damaged file could hold that the records'
 * own checks let through. */
static dc_status check_state(const dci_rec_file *f, const dci_deep_train *t, int64_t n) {
    DCI_TRY(index_range(f, "state.order", t->order, t->nl, t->nl));
    if (t->kn > 0) DCI_TRY(index_range(f, "state.nbr", t->nbr, n * t->kn, n));
    for (int64_t i = 0; i < n; i++)
        if (t->labels[i] < 0 || t->labels[i] >= t->K)
            return dci_fail(DC_ERR_FORMAT, "'%s': label out of range", f->path);
    if (t->iter < 0 || t->pos < 0 || t->pos > t->nl || t->n_loss != t->iter)
        return dci_fail(DC_ERR_FORMAT, "'%s': inconsistent iteration counters", f->path);
    return DC_OK;
}

/* The training state of a checkpoint, the data must be the same. The
 * solver's parameters become the checkpoint's except checkpoint_every and
 * those the caller set (check_given, check_max_iter). */
dc_status dci_deep_checkpoint_restore(dc_solver *s, dci_deep_method method, const dci_rec_file *f,
                         int64_t n, int64_t d, const dci_image_shape *shape, dci_dist *dist, uint64_t data_crc, dci_deep_train **out_t,
                         dc_model **out_ae) {
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
    /* The batch order and the random streams are per rank. */
    int64_t ranks = 1; /* absent from checkpoints of earlier versions */
    const int64_t ranks_now = dist ? dist->size : 1;
    if (dci_rec_count(f, "state.ranks") >= 0 &&
        (st = dci_rec_get_i64(f, "state.ranks", &ranks)) != DC_OK)
        goto done;
    if (ranks != ranks_now) {
        st = dci_fail(DC_ERR_INVALID_ARG,
                      "'%s' was written by a fit on %lld MPI rank%s, this one runs on %lld; "
                      "resume on %lld (each rank's batch order is in the checkpoint)",
                      f->path, (long long)ranks, ranks == 1 ? "" : "s", (long long)ranks_now,
                      (long long)ranks);
        goto done;
    }
    int64_t rows = 0, cols = 0;
    uint64_t crc = 0;
    if ((st = dci_rec_get_i64(f, "data.rows", &rows)) != DC_OK ||
        (st = dci_rec_get_i64(f, "data.cols", &cols)) != DC_OK ||
        (st = dci_rec_get(f, "data.crc", DCI_REC_U64, 1, &crc)) != DC_OK)
        goto done;
    if (rows != n || cols != d || crc != data_crc) {
        st = dci_fail(DC_ERR_STATE,
                      "'%s' was written for other data (%lld x %lld%s); resume on the same data",
                      f->path, (long long)rows, (long long)cols,
                      rows == n && cols == d ? ", different values" : "");
        goto done;
    }
    if ((st = dci_deep_restore_params(s, f, cur)) != DC_OK) goto done;
    /* The checkpoint's values already are the preset's (effective_params). */
    const dci_deep_cfg cfg = dci_deep_read_cfg(s, s->pv, method);
    if ((st = dci_deep_check(&cfg, n, d, shape)) != DC_OK ||
        (st = dci_deep_train_create(&t, &cfg, ae, n, shape)) != DC_OK ||
        (st = restore_networks(t, cur, f->path)) != DC_OK ||
        (dist && (st = dci_deep_train_distribute(t, dist)) != DC_OK) ||
        (st = restore_state(f, t, n)) != DC_OK || (st = check_state(f, t, n)) != DC_OK ||
        (st = check_max_iter(s, f->path, t)) != DC_OK)
        goto done;
    dci_deep_record_params(s, s->pv, t->m);
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
