/* Small internal helpers common to all modules. */
#ifndef DCI_UTIL_H
#define DCI_UTIL_H

#include <stdint.h>
#include "deepclust/core.h"
#include "deepclust/status.h"

/* Monotonic wall clock in seconds. */
double dci_now(void);

/* DC_ERR_NONFINITE naming the first bad (row, col) of an n x d matrix. */
dc_status dci_check_finite(const float *x, int64_t n, int64_t d, const char *what);

/* Number of distinct rows of x (n × d, compared bit for bit); -1 when out
 * of memory. O(n d + n log n): rows hashed, sorted by hash, equal hashes
 * compared. */
int64_t dci_count_distinct_rows(const float *x, int64_t n, int64_t d);

/* The checks of a matrix argument (n rows of d floats), so that the same bad
 * matrix gets the same status from every entry point: x NULL is
 * DC_ERR_NULL, no rows or no columns DC_ERR_SHAPE ("what: no rows"), a size
 * whose bytes do not fit DC_ERR_NOMEM, a NaN or Inf DC_ERR_NONFINITE
 * (dci_check_finite). What depends on the caller (at least two points, k
 * against n) is checked by the caller, with its own status. `what` names
 * the matrix in the detail. */
dc_status dci_check_matrix(const float *x, int64_t n, int64_t d, const char *what);
/* The shape part alone, for callers that look at the values later. */
dc_status dci_check_shape(int64_t n, int64_t d, const char *what);

/* Float kernels (GEMM distance screens, bounds) square coordinates: from
 * |x| ~ 1.8e19 the squares overflow, below ~1e-19 they sink into the
 * subnormals and lose their relative precision. Such data are worked on
 * multiplied by a power of two, which is exact. The scale that brings d
 * coordinates of magnitude up to max_abs to a squared norm just below
 * 2^DCI_FLOAT_NORM2_MAX_EXP when it lies outside [2^DCI_FLOAT_NORM2_MIN_EXP,
 * 2^DCI_FLOAT_NORM2_MAX_EXP]; 1 when inside, or when max_abs is 0. */
#define DCI_FLOAT_NORM2_MIN_EXP (-60)
#define DCI_FLOAT_NORM2_MAX_EXP 100
double dci_float_scale(double max_abs, int64_t d);

/* Logs through the user's sink (no-op when none is set). */
void dci_log(dc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* DC_ERR_CANCELLED when the running solver call was asked to stop
 * (dc_solver_cancel), else calls the progress callback if set;
 * DC_ERR_CANCELLED when it asks to stop. */
dc_status dci_progress(dc_progress_fn fn, void *user, const char *phase, long long done,
                       long long total, double value);

/* Cancellation of the solver call running on this thread. dc_solver_fit
 * binds the calling thread to its solver's run state for the duration of
 * the fit, so that loops deep inside the modules (pre-training batches,
 * Lloyd iterations, ARPACK) can stop without a solver argument. States: */
enum { DCI_RUN_IDLE = 0, DCI_RUN_ACTIVE = 1, DCI_RUN_CANCELLED = 2 };
/* Binds `state` (NULL: none) to this thread; returns the previous binding. */
const volatile int *dci_cancel_bind(const volatile int *state);
/* 1 if the bound call was asked to stop (cheap: a load). */
int dci_cancel_requested(void);
/* DC_ERR_CANCELLED naming `phase` if it was, else DC_OK. */
dc_status dci_cancel_check(const char *phase);

#endif
