/* Damped beetle antennae search (docs/scdbas.md "DBAS"): the public minimiser
 * dc_dbas_minimize (include/deepclust/dbas.h) plus the pieces unit tests and
 * methods reach directly. */
#ifndef DCI_DBAS_H
#define DCI_DBAS_H

#include <stdint.h>
#include "core/rng.h"
#include "deepclust/dbas.h"

/* Copies a caller's config over the defaults, honouring its struct_size
 * (older, shorter structs keep defaults for the fields they lack); NULL
 * gives the defaults. Then checks every field: DC_ERR_INVALID_ARG naming the
 * parameter and its range. */
dc_status dci_dbas_resolve(const dc_dbas_config *in, dc_dbas_config *out);

/* Draws a uniformly distributed unit vector (normalised Gaussian) into b. */
void dci_dbas_direction(dci_rng *r, double *b, int64_t dim);

/* One beetle move from x along the unit direction b (docs/scdbas.md "DBAS"): smells
 * x +- (step / c) b, goes to the candidate x - step * b * sign(f_l - f_r) and
 * damps: x_new = damp * x + (1 - damp) * candidate. x_new may not alias x.
 * work holds dim doubles. The antenna values go to *f_left / *f_right (may
 * be NULL). DC_ERR_NUMERIC if f returns NaN or -Inf. */
dc_status dci_dbas_step(dc_fitness_fn f, void *user, int64_t dim, const double *x,
                        const double *b, double step, double c, double damp, double *x_new,
                        double *work, double *f_left, double *f_right);

/* dc_dbas_minimize, plus the final positions of the beetles (beetles x dim,
 * may be NULL): where the search ended, which need not be its best point. */
dc_status dci_dbas_run(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                       int64_t x0_rows, const dc_dbas_config *cfg, double *x_best,
                       double *f_best, double *x_final, double *trace, double *trace_current);

/* Work space of a search of up to `beetles` beetles in dimension dim
 * ((beetles + 4) dim doubles and beetles random streams). */
typedef struct dci_dbas_work {
    double *mem;
    dci_rng *rng;
    int64_t beetles, dim;
} dci_dbas_work;

dc_status dci_dbas_work_alloc(dci_dbas_work *w, int64_t beetles, int64_t dim);
void dci_dbas_work_free(dci_dbas_work *w);

/* dci_dbas_run for a fitness that is collective over MPI ranks, run in
 * lockstep by every rank (lib/mpi/scdbas_mpi.c): it allocates nothing (ws,
 * allocated and agreed on beforehand) and neither checks the cancel flag nor
 * calls cfg->progress, which are local to a rank: a rank leaving on its own
 * would leave the others waiting in the next fitness. Every other way out
 * depends only on its arguments and the fitness values, the same on every
 * rank; the fitness carries a cancel itself (returning NaN everywhere at the
 * same call, which ends the search with DC_ERR_NUMERIC on every rank). */
dc_status dci_dbas_run_collective(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                                  int64_t x0_rows, const dc_dbas_config *cfg, dci_dbas_work *ws,
                                  double *x_best, double *f_best, double *x_final, double *trace,
                                  double *trace_current);

#endif
