/* Distributed spectral embedding (MPI builds): the sparse pipeline of
 * graph/spectral.h on row blocks -- PCA from an allreduced covariance, exact
 * kNN by passing row blocks around a ring, sigmas and the symmetrised CSR
 * affinity rows local (reverse edges sent to their owners), connected
 * components by label propagation, the top eigenvectors by PARPACK with a
 * halo-exchange mat-vec, rows normalised. */
#ifndef DCI_MPI_SPECTRAL_H
#define DCI_MPI_SPECTRAL_H

#include <stdint.h>
#include "deepclust/status.h"
#include "graph/spectral.h"
#include "mpi/comm.h"

struct dc_solver;
struct dc_dataset;

/* b: this rank's block of the n rows. Y: b->nl x K.
 * o as dci_spectral_embedding (mode must be sparse; the eigensolver is
 * PARPACK whatever o->eigensolver says; o->sigma_sample: exact sigmas only). */
dc_status dci_spectral_embedding_mpi(const dci_block *b, int64_t K, const dci_spectral_opts *o,
                                     float *Y, dci_spectral_stats *st);

/* The first half of the distributed NJW / SCDBAS fit (spectral_common.h's
 * dci_spectral_fit_embedding on blocks): checks, n and row0 from the blocks,
 * the embedding of this rank's rows into *Y (owned by the caller: dci_free),
 * the "embedding" output gathered on rank 0 (the local block elsewhere) and
 * the graph statistics. Collective. */
dc_status dci_spectral_fit_embedding_mpi(struct dc_solver *s, const struct dc_dataset *ds,
                                         const char *method, float **Y, int64_t *n,
                                         int64_t *row0, int64_t *k);

/* Of the last dci_spectral_embedding_mpi on this rank: PARPACK's mat-vecs
 * and the vector entries this rank sends per halo exchange. */
void dci_spectral_mpi_counts(int64_t *matvecs, int64_t *halo_sent);

/* The distributed NJW fit (k-means on the embedding) and SCDBAS fit. */
dc_status dci_njw_fit_mpi(struct dc_solver *s, const struct dc_dataset *ds);
dc_status dci_scdbas_fit_mpi(struct dc_solver *s, const struct dc_dataset *ds);

#endif
