/* Trained deep clustering models (EDCWRN, IDEC, DEC): keep, save, reload and
 * apply them; reuse a pre-trained autoencoder; checkpoint and resume a fit.
 *
 * A dc_model is either a clustering model (encoders, decoder, clustering
 * layer: centres and representation weights) taken from a fitted solver, or
 * a pre-trained autoencoder (encoder + decoder) that a later fit can start
 * from instead of pre-training again.
 *
 * Predicting labels for data: embed every row, find each row's neighbours
 * for the neighbour branch among the model's training rows (EDCWRN models
 * keep them; a training row is not its own neighbour), assign to the
 * nearest centre by the model's kernel. A fitted solver's labels are
 * computed by exactly this procedure on the training rows, so loading a
 * saved model and predicting on the training data reproduces the fitted
 * labels exactly (same library build and number of BLAS threads), and a row
 * gets the same label whether it is predicted alone or with others. Models
 * written by earlier versions keep no training rows: their neighbours come
 * from the rows passed in the same call (pass whole data sets there).
 *
 * Normalisation: a model fitted on a normalised data set (dc_dataset_normalize)
 * records the map that was applied, i.e. the TRAINING data's statistics
 * (minmax: min and range, zscore: mean and std), and model files keep it.
 * New data must be normalised with those statistics, not their own: load
 * them raw and call dc_model_apply_normalization. If both the model and the
 * data set record a normalisation, predict and embed refuse a different one
 * (DC_ERR_INVALID_ARG). If only one side records one, nothing is checked: a
 * caller may scale arrays by hand and pass a data set that does not know
 * it, so a model trained on normalised data still accepts unrecorded data.
 *
 * File format (little-endian, versioned, CRC32-protected named records): see
 * docs/formats.md. Loading a damaged file fails cleanly: DC_ERR_TRUNCATED
 * (short file), DC_ERR_CHECKSUM (altered bytes), DC_ERR_FORMAT (not a model
 * file), DC_ERR_VERSION (written by a newer format version).
 *
 * Thread-safety: a dc_model is used by one thread at a time (predict and
 * embed use its network workspaces); different models may be used on
 * different threads. */
#ifndef DEEPCLUST_MODEL_H
#define DEEPCLUST_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"
#include "deepclust/dataset.h"
#include "deepclust/solver.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_model dc_model;

/* ---- models from a solver (methods "edcwrn", "idec", "dec"; others:
 * DC_ERR_UNSUPPORTED; before a successful fit: DC_ERR_STATE) ---- */

/* A copy of the fitted clustering model; free with dc_model_free. */
DC_API dc_status dc_solver_model(const dc_solver *s, dc_model **out);

/* A copy of the pre-trained autoencoder the last fit started its clustering
 * phase from (pre-trained by that fit or given by dc_solver_use_pretrained).
 * An autoencoder pre-trained by the fit records the fit data's normalisation,
 * as the clustering model does; a given one keeps its own record. */
DC_API dc_status dc_solver_pretrained(const dc_solver *s, dc_model **out);

/* Makes the following fits skip pre-training and start from a copy of the
 * autoencoder `ae` (a model for which dc_model_is_autoencoder is true, else
 * DC_ERR_INVALID_ARG); NULL restores pre-training. The autoencoder's layer
 * sizes replace the parameters embed_dim and hidden1..3. A fit on data whose
 * column count differs from the autoencoder's input fails with DC_ERR_SHAPE.
 * With the same seed and parameters the fit gives the same result as one
 * that pre-trained the same autoencoder itself. */
DC_API dc_status dc_solver_use_pretrained(dc_solver *s, const dc_model *ae);

/* Checkpoints: when path is not NULL, following fits write the whole
 * training state to `path` (atomically: temporary file + rename), so that
 * it can be continued (dc_solver_resume). In pre-training `every` counts
 * batch steps: a pre-training checkpoint every `every` steps and after the
 * last one (pre-training is most of a fit's time on large data); in the
 * clustering phase it counts iterations: a checkpoint at iteration 0, which
 * replaces the pre-training one, then every `every` >= 1 iterations, and at
 * the end of a fit that finishes (max_iter reached or stopped by tol). This
 * also sets the parameter checkpoint_every. NULL path turns checkpoints off.
 * The path is copied. If a fit fails (e.g. DC_ERR_NUMERIC when the loss
 * diverges) the last checkpoint written stays valid. A cancelled fit (by
 * dc_solver_cancel or the progress callback) first writes its state at the
 * step or iteration it reached, so that dc_solver_resume loses no work. A
 * distributed fit (deepclust/mpi.h) writes no pre-training checkpoints:
 * each rank's random streams would have to be gathered. */
DC_API dc_status dc_solver_set_checkpoint(dc_solver *s, const char *path, int64_t every);

/* Continues the fit saved in a checkpoint on the same data (rows, columns and
 * content are verified: DC_ERR_STATE if they differ; a checkpoint of another
 * method: DC_ERR_INVALID_ARG). A pre-training checkpoint continues the
 * pre-training from its step, then runs the clustering phase as a fresh fit
 * does (one process only: DC_ERR_UNSUPPORTED under MPI). The solver's parameters are replaced by the
 * checkpoint's, except checkpoint_every and those the caller set on this
 * solver (dc_solver_set, dc_solver_set_str):
 *   - max_iter: the fit continues to it; it must be at least the
 *     checkpoint's iteration, and above it for a checkpoint of a fit that
 *     stopped by tol (that stop includes the target update of its
 *     iteration, which a fit with max_iter = that iteration does not make);
 *     else DC_ERR_INVALID_ARG. With the checkpoint written at the end of a
 *     fit, a larger max_iter continues a finished fit; the same max_iter
 *     returns its result without training;
 *   - tol: may be kept or lowered (DC_ERR_INVALID_ARG if raised: with a
 *     higher tol the uninterrupted fit could have stopped at an earlier
 *     update). A lower tol continues a fit that stopped by tol;
 *   - any other parameter must have the checkpoint's value, else
 *     DC_ERR_INVALID_ARG naming it and both values.
 * On failure the parameters are left as they were. Checkpoints continue to
 * be written if set. The result equals that of the uninterrupted fit with
 * the same parameters and seed (the final max_iter and tol included). */
DC_API dc_status dc_solver_resume(dc_solver *s, const dc_dataset *data,
                                  const char *checkpoint_path);

/* Where the fit saved in a checkpoint file stands: *phase "pretrain" (a
 * pre-training checkpoint: *done steps of *total) or "cluster" (*done
 * clustering iterations of max_iter *total). Any output may be NULL. A
 * model file: DC_ERR_INVALID_ARG; an unreadable or damaged file: the status
 * dc_model_load gives. */
DC_API dc_status dc_checkpoint_progress(const char *path, const char **phase, int64_t *done,
                                        int64_t *total);

/* ---- model files ---- */

/* Writes the model (atomically: temporary file + rename). */
DC_API dc_status dc_model_save(const dc_model *m, const char *path);
/* Reads a model file, or the current model inside a checkpoint file. */
DC_API dc_status dc_model_load(dc_model **out, const char *path);

/* The bytes dc_model_save writes (same format, same checksums), into
 * memory: to pickle a model, keep it in a database or send it. *size
 * receives the byte count; with dst NULL nothing else happens (the size
 * query), else capacity < *size is DC_ERR_SHAPE and dst is left
 * unspecified. */
DC_API dc_status dc_model_save_to_buffer(const dc_model *m, void *dst, size_t capacity,
                                         size_t *size);
/* A model from such bytes (or from a whole checkpoint file's bytes: its
 * current model), checked as dc_model_load checks a file (the same statuses
 * for truncated, altered or foreign bytes). The bytes are not kept. */
DC_API dc_status dc_model_load_from_buffer(dc_model **out, const void *data, size_t size);

/* ---- applying a model ---- */

/* Normalises raw data with the model's training statistics (the map
 * recorded from its training data; see the top of this file); afterwards
 * dc_dataset_normalization(ds) is the model's mode. A model without a
 * record: DC_OK, ds unchanged. ds already normalised: DC_ERR_STATE; a column
 * count other than dc_model_input_dim: DC_ERR_SHAPE. */
DC_API dc_status dc_model_apply_normalization(const dc_model *m, dc_dataset *ds);

/* Labels (0 .. k-1) of the n rows of data (see the top of this file).
 * capacity < n or a column count other than dc_model_input_dim:
 * DC_ERR_SHAPE; an autoencoder: DC_ERR_UNSUPPORTED; data normalised with
 * another map than the model's training data: DC_ERR_INVALID_ARG. */
DC_API dc_status dc_model_predict(dc_model *m, const dc_dataset *data, int32_t *labels,
                                  int64_t capacity);
/* Embeddings, n x dc_model_embed_dim row-major (clustering model: the
 * embedding its labels are computed from; autoencoder: the encoder output).
 * capacity is in floats. Errors as dc_model_predict (an autoencoder embeds). */
DC_API dc_status dc_model_embed(dc_model *m, const dc_dataset *data, float *z, int64_t capacity);

/* ---- introspection (NULL model: 0 / NULL) ---- */

DC_API int dc_model_is_autoencoder(const dc_model *m);
/* "edcwrn", "idec" or "dec": the method that trained (or pre-trained) it. */
DC_API const char *dc_model_method(const dc_model *m);
DC_API int64_t dc_model_input_dim(const dc_model *m);
DC_API int64_t dc_model_embed_dim(const dc_model *m);
/* How the training data were normalised (DC_NORM_NONE: not at all, or not
 * recorded, e.g. a model file written before the record existed). A
 * composition of several normalisations reports the last mode. */
DC_API dc_normalization dc_model_normalization(const dc_model *m);
/* Number of clusters (0 for an autoencoder). */
DC_API int64_t dc_model_k(const dc_model *m);
/* Rows of the data the model was fitted (or pre-trained) on; its columns
 * are dc_model_input_dim. 0 when not recorded (files written before the
 * record existed). */
DC_API int64_t dc_model_train_rows(const dc_model *m);
/* Cluster centres, k x embed_dim row-major, in the embedding space of
 * dc_model_embed (capacity in floats). An autoencoder: DC_ERR_UNSUPPORTED;
 * capacity too small: DC_ERR_SHAPE. */
DC_API dc_status dc_model_centers(const dc_model *m, float *out, int64_t capacity);
/* Representation weights w, k x embed_dim (EDCWRN: rows sum to 1, docs/methods.md
 * "EDCWRN"; a model trained without weighting: all ones, the plain squared
 * distance). Errors as dc_model_centers. */
DC_API dc_status dc_model_weights(const dc_model *m, float *out, int64_t capacity);
/* Value of a hyper-parameter of the fit that made the model (the solver
 * parameter names: "lambda", "seed", ...). Unknown: DC_ERR_UNKNOWN_NAME. */
DC_API dc_status dc_model_get(const dc_model *m, const char *name, double *value);

/* Accepts NULL. */
DC_API void dc_model_free(dc_model *m);

#ifdef __cplusplus
}
#endif
#endif
