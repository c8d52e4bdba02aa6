/* Between the parts of the deep methods' fit: methods/edcwrn.c (parameter
 * tables, the fit and the public entry points), methods/edcwrn_config.c
 * (defaults, presets, the typed configuration) and
 * methods/edcwrn_checkpoint.c (the training state on disk) and
 * methods/edcwrn_loop.c (the clustering phase's loop). */
#ifndef DCI_EDCWRN_FIT_H
#define DCI_EDCWRN_FIT_H

#include <stdint.h>

#include "methods/edcwrn.h"
#include "methods/model_io.h"

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

/* The clustering phase's loop (methods/edcwrn_loop.c): target updates every
 * T iterations, the tol test, progress and cancel, checkpoints every
 * checkpoint_every iterations to checkpoint_path (NULL: none) and at the
 * end; a cancelled fit with a checkpoint path saves its state first.
 * resumed: t comes from a checkpoint (its first iteration's checkpoint is
 * not written again). crc: the data's (dci_deep_data_crc_all). */
dc_status dci_deep_train_loop(dc_solver *s, const char *checkpoint_path, dci_deep_train *t,
                              const dc_model *ae, const float *x, int resumed, uint64_t crc);

#endif
