/* Distributed k-means (MPI builds): each rank its block of rows. */
#ifndef DCI_MPI_KMEANS_H
#define DCI_MPI_KMEANS_H

#include <stdint.h>
#include "deepclust/status.h"
#include "mpi/comm.h"

struct dc_solver;
struct dc_dataset;

/* Exact distributed greedy k-means++ seeding (the single-process algorithm:
 * 2 + ln k candidates per centre drawn in proportion to D^2, the one that
 * lowers the potential most kept), then Lloyd iterations with one allreduce
 * of the k x d sums, k counts and the label changes per iteration, n_init
 * restarts, the lowest inertia kept. b: this rank's block. Writes this rank's labels (nl), the centres
 * (k x d, the same on every rank), the exact inertia and the iterations of
 * the kept restart. Collective. */
typedef struct dci_kmeans_mpi_opts {
    int64_t n_init, max_iter;
    double tol;
    uint64_t seed;
} dci_kmeans_mpi_opts;

dc_status dci_kmeans_mpi(const dci_block *b, int64_t k, const dci_kmeans_mpi_opts *o,
                         int32_t *labels, float *centers, double *inertia, int64_t *iterations);

/* Lloyd from the given centres (refined in place; o->max_iter and o->tol),
 * then the labels of the final centres and their exact inertia (labels,
 * inertia may be NULL). */
dc_status dci_kmeans_mpi_refine(const dci_block *b, int64_t k, float *centers,
                                const dci_kmeans_mpi_opts *o, int32_t *labels, double *inertia);

/* The global row count n and this rank's first row from the blocks of all
 * ranks, checking equal widths, no empty rank and finite data (on every
 * rank). Collective. */
dc_status dci_mpi_rows(const struct dc_dataset *ds, const char *method, int64_t *n,
                       int64_t *row0);

/* Lloyd iterations run by dci_kmeans_mpi / _refine (all restarts) since the
 * last reset (reset != 0 resets after reading): the byte model's count. */
int64_t dci_kmeans_mpi_lloyd_total(int reset);

/* The last stage of a distributed fit that ends in k-means (kmeans on the
 * data, njw on the embedding): dci_kmeans_mpi on b, then the solver's
 * "centers" (k x b->d), the labels gathered on rank 0 and the statistics
 * inertia, iterations, lloyd_iterations_total; every local failure (memory)
 * agreed before the next collective. Collective. */
dc_status dci_kmeans_mpi_stage(struct dc_solver *s, const dci_block *b, int64_t k,
                               const dci_kmeans_mpi_opts *o, const char *method);

/* The "kmeans" method's fit while a communicator is set. */
dc_status dci_kmeans_fit_mpi(struct dc_solver *s, const struct dc_dataset *ds);

#endif
