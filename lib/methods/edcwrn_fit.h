/* Between the parts of the deep methods' fit: methods/edcwrn.c (parameter
 * tables, the fit and the public entry points), methods/edcwrn_config.c
 * (defaults, presets, the typed configuration) and
 * methods/edcwrn_checkpoint.c (the training state on disk),
 * methods/edcwrn_pretrain_ckpt.c (the pre-training state on disk) and
 * methods/edcwrn_loop.c (the clustering phase's loop). */
#ifndef DCI_EDCWRN_FIT_H
#define DCI_EDCWRN_FIT_H

#include <stdint.h>

#include "methods/edcwrn.h"
#include "methods/model_io.h"
#include "nn/pretrain.h"

/* The values a fit uses (n_params, in the method's table order): the
 * solver's, with the preset's for every parameter the caller did not set. */
void dci_deep_effective_params(const dc_solver *s, double *eff);
/* eff's entry for a parameter of the method (none: nothing). */
void dci_deep_set_param(const dc_solver *s, double *eff, const char *name, double v);
/* The configuration from parameter values eff (in the method's table
 * order: the solver's with the preset applied, or a checkpoint's). */
dci_deep_cfg dci_deep_read_cfg(const dc_solver *s, const double *eff, dci_deep_method method);
/* Records eff in the model (dc_model_get, model files). */
void dci_deep_record_params(const dc_solver *s, const double *eff, dc_model *m);

/* CRC32 of n x d floats: a checkpoint's data must be the fit's. */
uint64_t dci_deep_data_crc(const float *x, int64_t n, int64_t d);
/* The same of the whole data when each rank holds a block (x, nl rows;
 * dist NULL: dci_deep_data_crc). Collective. */
dc_status dci_deep_data_crc_all(dci_dist *dist, const float *x, int64_t nl, int64_t d,
                                uint64_t *crc);
/* Writes the whole training state and the pre-trained autoencoder to path
 * (atomically, methods/model_io.h). */
dc_status dci_deep_checkpoint_write(const dci_deep_train *t, const dc_model *ae, const char *path,
                                    uint64_t crc);
/* The training state of checkpoint f for the same data (n x d in all;
 * data_crc: dci_deep_data_crc_all of it as given, before the input scale),
 * the solver's parameters replaced by the checkpoint's except those the
 * caller set (which must agree, see the file). dist: this rank's part of a
 * distributed fit (the checkpoint's rank count must be dist's; NULL: one
 * process, one rank); not collective (the caller agrees). */
dc_status dci_deep_checkpoint_restore(dc_solver *s, dci_deep_method method, const dci_rec_file *f,
                                      int64_t n, int64_t d, const dci_image_shape *shape,
                                      dci_dist *dist, uint64_t data_crc,
                                      dci_deep_train **out_t, dc_model **out_ae);

/* The checkpoint's parameters into the solver, except checkpoint_every and
 * those the caller set (which must agree with the checkpoint's); cur: the
 * checkpoint's model, which records them. */
dc_status dci_deep_restore_params(dc_solver *s, const dci_rec_file *f, const dc_model *cur);

/* ---- pre-training checkpoints (methods/edcwrn_pretrain_ckpt.c) ---- */

/* The save hook's context (nn/pretrain.h), set by the fit: where and what. */
typedef struct dci_pretrain_ckpt {
    dc_solver *s;
    const double *eff;     /* the fit's parameters, recorded in the file */
    const char *path;
    uint64_t crc;          /* the data's, as given (dci_deep_data_crc) */
    int64_t n, d;
    double input_scale;
    const dci_norm *norm;  /* the data's normalisation */
    double seconds_base;   /* pre-training seconds of earlier runs (resumed) */
    double t0;             /* dci_now() at this run's start */
    /* set by each pre-training attempt */
    int attempt;
    double lr;
    const dci_autoencoder *ae;
    const int64_t *dims;
    int n_dims;
    int64_t batch;
} dci_pretrain_ckpt;

/* A pre-training checkpoint, loaded: where to continue. */
typedef struct dci_pretrain_resume {
    dci_pretrain_state ps; /* owns order and sgd */
    dc_model *ae;          /* the autoencoder at ps.step (its parameters record the fit's) */
    int attempt;           /* the divergence restarts before it (0 or 1) */
    double lr;             /* that attempt's learning rate */
    double seconds;        /* pre-training seconds so far */
} dci_pretrain_resume;

/* 1 if f is a pre-training checkpoint (record state.phase = "pretrain"). */
int dci_deep_is_pretrain_checkpoint(const dci_rec_file *f);
/* The hook of nn/pretrain.h, user a dci_pretrain_ckpt: writes the file
 * (atomically); cancelled: then DC_ERR_CANCELLED naming the step and file. */
dc_status dci_deep_pretrain_save(void *user, const dci_pretrain_state *ps, int cancelled);
/* The state of pre-training checkpoint f for the same data ds (data_crc:
 * dci_deep_data_crc of it as given), the solver's parameters replaced by
 * the checkpoint's as dci_deep_checkpoint_restore does (put back on
 * failure). One process only. */
dc_status dci_deep_pretrain_restore(dc_solver *s, dci_deep_method method, const dci_rec_file *f,
                                    const dc_dataset *ds, uint64_t data_crc,
                                    dci_pretrain_resume **out);
void dci_pretrain_resume_free(dci_pretrain_resume *r); /* accepts NULL */

/* The clustering phase's loop (methods/edcwrn_loop.c): target updates every
 * T iterations, the tol test, progress and cancel, checkpoints every
 * checkpoint_every iterations to checkpoint_path (NULL: none) and at the
 * end; a cancelled fit with a checkpoint path saves its state first.
 * resumed: t comes from a checkpoint (its first iteration's checkpoint is
 * not written again). crc: the data's (dci_deep_data_crc_all). */
dc_status dci_deep_train_loop(dc_solver *s, const char *checkpoint_path, dci_deep_train *t,
                              const dc_model *ae, const float *x, int resumed, uint64_t crc);
/* Final labels of all rows by the model's inference procedure, and the
 * fit's outputs and statistics (methods/edcwrn_loop.c). */
dc_status dci_deep_finish(dc_solver *s, dci_deep_train *t, const float *x);

#endif
