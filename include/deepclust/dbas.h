/* Damped beetle antennae search (DBAS): a derivative-free minimiser of a
 * user fitness f: R^dim -> R (Zhang, Liu & Wang 2020, Sec. 3.2; the plain
 * beetle antennae search of Jiang & Li 2017 is the special case damp = 0).
 *
 * Each iteration t, every beetle at x draws a random unit direction b, smells
 * the two antennae x + d_t b and x - d_t b (d_t = step_t / c), takes the
 * candidate x~ = x - step_t * b * sign(f(x + d_t b) - f(x - d_t b)) and moves
 * to damp * x + (1 - damp) * x~; then step_{t+1} = eta * step_t. The best
 * point ever visited (over all beetles) is returned. Each beetle costs three
 * fitness evaluations per iteration.
 *
 * Thread-safety: re-entrant; no global state. The fitness (and progress)
 * callback runs on the caller's thread, in a deterministic order, so results
 * depend only on the inputs and the seed. */
#ifndef DEEPCLUST_DBAS_H
#define DEEPCLUST_DBAS_H

#include <stddef.h>
#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"
#include "deepclust/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The function to minimise. It must not return NaN (DC_ERR_NUMERIC); +Inf
 * is allowed (e.g. an infeasible point) and never chosen over a finite value. */
typedef double (*dc_fitness_fn)(const double *x, int64_t dim, void *user);

/* Options for dc_dbas_minimize. Initialise with dc_dbas_config_default(),
 * then change fields: struct_size lets later versions append fields. */
typedef struct dc_dbas_config {
    int struct_size;      /* sizeof(dc_dbas_config), set by _default() */
    double step;          /* initial step length step_0 > 0 (paper: 0.1) */
    double eta;           /* step decay per iteration, in (0, 1] (paper: 0.95) */
    double c;             /* ratio step / antenna length, > 0 (paper: 5) */
    int64_t iterations;   /* >= 1 (paper: 100) */
    double damp;          /* damping factor in [0, 1) (paper: 0.5); 0 = plain BAS */
    int64_t beetles;      /* population size >= 1 (default 1); beetles search
                             independently and share the best point */
    uint64_t seed;        /* random directions; same seed => same result */
    dc_progress_fn progress; /* optional, phase "dbas", once per iteration with
                                the best fitness; non-zero return cancels */
    void *progress_user;
} dc_dbas_config;

DC_API void dc_dbas_config_default(dc_dbas_config *cfg);

/* Layout-free access for bindings that cannot mirror the struct: allocate
 * dc_dbas_config_size() bytes, call dc_dbas_config_default on them, then set
 * fields by name: "step", "eta", "c", "iterations", "damp", "beetles",
 * "seed" (whole numbers for the last three). Ranges are checked by
 * dc_dbas_minimize. Unknown name: DC_ERR_UNKNOWN_NAME; a fraction for a
 * whole-number field or a non-finite value: DC_ERR_INVALID_ARG. */
DC_API size_t dc_dbas_config_size(void);
DC_API dc_status dc_dbas_config_set(dc_dbas_config *cfg, const char *name, double value);

/* Minimises f from the start point(s) x0: x0 holds either one row of `dim`
 * values (every beetle starts there) or cfg->beetles rows (one per beetle),
 * as said by x0_rows. cfg may be NULL (defaults). Writes the best point seen
 * to x_best (dim values) and its fitness to *f_best (either may be NULL).
 * trace, if not NULL, receives iterations + 1 values: the best fitness so far
 * at the start and after each iteration (non-increasing). trace_current, if
 * not NULL, receives iterations + 1 values: the fitness of the current
 * position after each iteration (lowest over the beetles), which shows the
 * oscillation that damping reduces. All arrays are caller-owned; nothing is
 * kept after the call.
 *
 * Errors: DC_ERR_NULL (f or x0), DC_ERR_INVALID_ARG (a parameter out of its
 * range, named in dc_last_error(); x0_rows not 1 or beetles; non-finite x0),
 * DC_ERR_NUMERIC (f returned NaN or -Inf; the detail names the iteration),
 * DC_ERR_CANCELLED, DC_ERR_NOMEM. */
DC_API dc_status dc_dbas_minimize(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                                  int64_t x0_rows, const dc_dbas_config *cfg, double *x_best,
                                  double *f_best, double *trace, double *trace_current);

#ifdef __cplusplus
}
#endif
#endif
