/* Clustering solvers behind one handle.
 *
 * A solver is created by method name ("kmeans", "njw", "scdbas", "edcwrn",
 * "idec", "dec" -- dc_solver_method_count/_name list those built in), tuned by
 * named parameters, fitted on a data set, then queried for labels, matrices
 * ("centers", "embedding", "weights", "trace", ...) and scalar statistics
 * ("inertia", "seconds_knn", "p", "iterations", ...).
 *
 * Parameters are name/value pairs so that bindings and the CLI never mirror
 * a C struct: every parameter has a type, a default, bounds and a help text
 * that can be queried. The bounds are exactly what dc_solver_set accepts:
 * a fit never rejects a value inside them for being out of range, and
 * checks only limits that depend on the data or on other settings
 * (k <= n; hidden3 needs hidden2; checkpoint_every needs a checkpoint file,
 * dc_solver_set_checkpoint).
 * Enumerated parameters take one of their
 * choice names through dc_solver_set_str and read back as the choice index.
 *
 * Thread-safety: one thread at a time per handle (except dc_solver_cancel);
 * different handles may be used on different threads concurrently. */
#ifndef DEEPCLUST_SOLVER_H
#define DEEPCLUST_SOLVER_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"
#include "deepclust/core.h"
#include "deepclust/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_solver dc_solver;

typedef enum dc_param_type {
    DC_PARAM_INT = 0,
    DC_PARAM_REAL = 1,
    DC_PARAM_BOOL = 2,
    DC_PARAM_CHOICE = 3
} dc_param_type;

DC_API int dc_solver_method_count(void);
/* Name of built-in method i (static), or NULL if out of range. */
DC_API const char *dc_solver_method_name(int i);

/* Creates a solver with default parameters. Unknown method: DC_ERR_UNKNOWN_NAME. */
DC_API dc_status dc_solver_create(dc_solver **out, const char *method);
/* Accepts NULL. */
DC_API void dc_solver_free(dc_solver *s);
DC_API const char *dc_solver_method(const dc_solver *s);

/* Parameters. Out-of-bounds values: DC_ERR_INVALID_ARG (nothing changed).
 * The solver remembers which parameters were set this way since its
 * creation: dc_solver_resume (deepclust/model.h) keeps those. */
DC_API dc_status dc_solver_set(dc_solver *s, const char *name, double value);
/* Sets from text: a number, "true"/"false", or a choice name. */
DC_API dc_status dc_solver_set_str(dc_solver *s, const char *name, const char *value);
DC_API dc_status dc_solver_get(const dc_solver *s, const char *name, double *value);

/* Parameter introspection: index 0 .. count-1. Strings are static. */
DC_API int dc_solver_param_count(const dc_solver *s);
DC_API const char *dc_solver_param_name(const dc_solver *s, int index);
/* Type, default and the accepted range: dc_solver_set accepts exactly the
 * values with min_value <= v <= max_value (whole numbers for the integer
 * types). Where a bound is excluded (lr > 0), min_value is the smallest
 * double above it (nextafter), so the answer stays exact;
 * dc_solver_param_bounds gives the bound itself for display. The default of
 * "k" is 0, meaning "not set": outside the range, so a fit fails with
 * DC_ERR_K_RANGE until k is set. Any output pointer may be NULL. */
DC_API dc_status dc_solver_param_info(const dc_solver *s, const char *name, dc_param_type *type,
                                      double *default_value, double *min_value,
                                      double *max_value);
/* The bounds as the parameter table states them, with whether each is
 * excluded: lr is (0, 1e30], *min_value = 0 and *min_open = 1, printed
 * "(0, 1e+30]". Any output pointer may be NULL. */
DC_API dc_status dc_solver_param_bounds(const dc_solver *s, const char *name, double *min_value,
                                        int *min_open, double *max_value, int *max_open);
/* Help text, and for DC_PARAM_CHOICE the choices as "a|b|c" ("" otherwise). */
DC_API const char *dc_solver_param_help(const dc_solver *s, const char *name);
DC_API const char *dc_solver_param_choices(const dc_solver *s, const char *name);

/* Progress callback (see dc_progress_fn), NULL to remove. */
DC_API dc_status dc_solver_set_progress(dc_solver *s, dc_progress_fn fn, void *user);

/* Fits on the data set (borrowed for the call only). Parameter "k" (number
 * of clusters) must be set. On failure the handle holds no result. */
DC_API dc_status dc_solver_fit(dc_solver *s, const dc_dataset *data);

/* Asks the dc_solver_fit (or dc_solver_resume) running on s to stop: it
 * checks between the phases of every method, the mini-batches of
 * pre-training, the clustering iterations, the Lloyd iterations of k-means,
 * the beetle search's iterations and the eigensolver's, then fails with
 * DC_ERR_CANCELLED and leaves no result, as when the progress callback
 * cancels (a deep fit with checkpoints first writes its state; see
 * dc_solver_set_checkpoint). Returns 1 if a running call was asked to stop
 * (or already was), 0 if none runs: a request is not kept for a later
 * call, so a caller racing the start of a fit asks again until it returns.
 * Callable from any thread while another uses s, and async-signal-safe
 * (e.g. from a SIGINT handler). */
DC_API int dc_solver_cancel(dc_solver *s);

/* Copies the n labels of the last fit into dst (0..k-1). With dst NULL only
 * writes *n_out (the size query). capacity < n: DC_ERR_SHAPE. */
DC_API dc_status dc_solver_labels(const dc_solver *s, int32_t *dst, int64_t capacity,
                                  int64_t *n_out);

/* Copies a named float matrix of the last fit (row-major) into dst. With dst
 * NULL only writes rows/cols. Unknown name: DC_ERR_UNKNOWN_NAME. */
DC_API dc_status dc_solver_output(const dc_solver *s, const char *name, float *dst,
                                  int64_t capacity, int64_t *rows, int64_t *cols);
DC_API int dc_solver_output_count(const dc_solver *s);
DC_API const char *dc_solver_output_name(const dc_solver *s, int index);

/* 1 if a successful dc_solver_fit with the solver's current parameters
 * registers the named output, 0 if not (also for NULL arguments); usable
 * before any fit, e.g. to refuse a request before a long training. Most
 * outputs come with every fit; a few depend on a parameter, and the answer
 * follows its current value: scdbas "trace_undamped" and
 * "trace_undamped_current" need record_undamped; edcwrn/idec/dec "loss"
 * and "trace" need max_iter > 0. dc_solver_resume (deepclust/model.h) takes
 * the checkpoint's values of the parameters the caller did not set: before
 * it the answer is for the current values, after it for those used. */
DC_API int dc_solver_has_output(const dc_solver *s, const char *name);

/* Named scalar statistics of the last fit (timings in seconds, inertia, ...). */
DC_API dc_status dc_solver_stat(const dc_solver *s, const char *name, double *value);
DC_API int dc_solver_stat_count(const dc_solver *s);
DC_API const char *dc_solver_stat_name(const dc_solver *s, int index);

/* Labels for new data with a fitted solver, for methods that support it
 * (kmeans: nearest centre). Others: DC_ERR_UNSUPPORTED. */
DC_API dc_status dc_solver_predict(dc_solver *s, const dc_dataset *data, int32_t *dst,
                                   int64_t capacity);

/* Labels of the n rows of x (n x d) by their nearest of the k centres
 * (k x d; squared Euclidean distance, the lowest index on ties): what a
 * fitted "kmeans" solver's predict gives, computed from the centres alone
 * (output "centers" kept from an earlier fit). Its labels of the training
 * data are this assignment too. NaN/Inf in x or the centres:
 * DC_ERR_NONFINITE; n, d or k < 1: DC_ERR_SHAPE. */
DC_API dc_status dc_assign_nearest(const float *x, int64_t n, int64_t d, const float *centers,
                                   int64_t k, int32_t *labels);

#ifdef __cplusplus
}
#endif
#endif
