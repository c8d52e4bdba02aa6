/* Distributed fits over MPI: only in a library built with -Dmpi=enabled
 * (dc_mpi_enabled() says which build is loaded; docs/scaling.md has the cost
 * model and measurements). Include it after <deepclust.h>, with MPI's own
 * <mpi.h> on the include path (Open MPI: `pkg-config --cflags mpi-c`).
 *
 * Model: every rank holds a contiguous, non-empty block of the rows, in
 * rank order (dc_mpi_block gives the split dc_mpi_dataset_load uses; any
 * other split works too, the fits gather the block sizes). While a
 * communicator is set, dc_solver_fit of "kmeans", "njw", "scdbas", "idec",
 * "dec" and "edcwrn" (and dc_solver_resume of the deep three) is
 * collective over it and treats the data set it is given as this rank's
 * block; every rank gets the same centres, statistics and traces, rank 0
 * the labels (and "embedding" rows) of all n rows, gathered, every other
 * rank those of its own rows. k-means: exact distributed k-means++ and
 * Lloyd. NJW / SCDBAS: the sparse graph only (affinity "dense": not
 * distributed), exact sigmas only (sigma_sample > 0, or the automatic
 * sampling when p = n / k^2 > 1000: DC_ERR_UNSUPPORTED), SCDBAS in its
 * improved mode only (dbas_mode "paper": DC_ERR_UNSUPPORTED); the
 * eigensolver is PARPACK whatever "eigensolver" says. IDEC / DEC / EDCWRN:
 * data-parallel training (each rank its share of every batch, one gradient
 * allreduce per step, every rank the same weights and model); EDCWRN with
 * all its options (the neighbour branch finds neighbours in the global
 * batch; the target updates' global neighbour lists are searched by each
 * rank for its own rows and allgathered); a checkpoint records the rank
 * count and resumes only on as many ranks (else DC_ERR_INVALID_ARG); a
 * cancel on any rank (dc_solver_cancel, a progress callback) stops every
 * rank at the same clustering iteration, which the checkpoint then keeps;
 * for k-means, NJW and SCDBAS such a cancel returns DC_ERR_CANCELLED on
 * every rank, at the same step (docs/scaling.md).
 * Results depend on the seed and the rank count only; between rank counts
 * they differ by the rounding of the sums' order (the same labels in
 * practice: the tests compare 1, 2 and 4 ranks). The distributed k-means
 * seeds differently from the single-process one (same algorithm, other
 * random draws), so its partition may be another local optimum; NJW and
 * SCDBAS give the single-process partition (ARI 1.0 on Fashion-MNIST).
 *
 * MPI failures never abort: the library works on a duplicate of the
 * communicator with MPI_ERRORS_RETURN, and turns a failed call into
 * DC_ERR_IO whose detail names the call and the rank. A local failure of
 * one rank (a bad file, no memory) is agreed on before the next
 * collective step, so every rank returns an error instead of waiting. */
#ifndef DEEPCLUST_MPI_H
#define DEEPCLUST_MPI_H

#include <mpi.h>
#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"
#include "deepclust/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the communicator of the distributed fits for the whole process, as
 * its Fortran handle (MPI_Comm_c2f(comm)), which has the same type in every
 * MPI implementation. Collective over comm; MPI must be initialised
 * (DC_ERR_STATE otherwise). The library keeps a duplicate (MPI_Comm_dup),
 * so the caller may free comm. MPI_Comm_c2f(MPI_COMM_NULL) goes back to
 * single-process fits (collective over the previous communicator). Not
 * thread-safe: set it before fitting. */
DC_API dc_status dc_mpi_set_comm(MPI_Fint comm);

/* Rank and size in the communicator set; -1 and 0 when none is set. */
DC_API int dc_mpi_rank(void);
DC_API int dc_mpi_size(void);

/* The block of rank `rank` among `size` when n rows are split:
 * first = floor(rank n / size), count = floor((rank + 1) n / size) - first.
 * Ranks differ by at most one row. */
DC_API void dc_mpi_block(int64_t n, int rank, int size, int64_t *first, int64_t *count);

/* Loads this rank's block of rows of a data file (collective). NPY
 * (float32/float64/uint8, C order) and uncompressed IDX (unsigned bytes)
 * are read by seeking: a rank reads the header and its own rows only. CSV
 * and gzip-compressed files (known by their first bytes, whatever their
 * name) cannot be seeked into: every rank reads the whole file and keeps
 * its block (memory of the whole set for a moment). A header declaring
 * more data than the file holds: DC_ERR_TRUNCATED, as in one process.
 * Checked first, on every rank against rank 0: the file's size and the
 * CRC-32 of its first 64 KiB must agree (files that differ between
 * machines: DC_ERR_IO naming the rank); more ranks than rows:
 * DC_ERR_SHAPE. *n_total (may be NULL) gets the number of rows of the whole
 * file. opt may be NULL (defaults). Needs a communicator (DC_ERR_STATE). */
DC_API dc_status dc_mpi_dataset_load(dc_dataset **out, const char *path,
                                     const dc_load_options *opt, int64_t *n_total);

/* dc_dataset_normalize with the statistics of all ranks' rows (collective):
 * "minmax" and "zscore" use the per-feature minimum / maximum, mean and
 * population standard deviation of the whole data (allreduced), so each
 * block ends up as that block of the whole set normalised in one process;
 * "scale255" and "none" need nothing from the others. The data set must
 * not be normalised yet for minmax and zscore (DC_ERR_STATE). The record
 * (dc_dataset_normalization) is the global one on every rank. */
DC_API dc_status dc_mpi_dataset_normalize(dc_dataset *ds, dc_normalization mode);

/* Bytes this rank has handed to MPI since the communicator was set (or the
 * last reset), by phase: "setup", "load", "seed", "lloyd", "gather" (k-means
 * and the k-means of NJW), "pca", "knn", "graph", "eigen" (the spectral
 * embedding), "search" (SCDBAS's beetle search and polish), "pretrain",
 * "train" (the deep methods' gradient allreduce per step), "embed" (their
 * embedding allgathers), "checkpoint" (every rank's batch order to rank 0).
 * Each
 * call counts its payload as the application sees it: an allreduce or
 * allgather of c bytes counts c on every rank, a broadcast c on its root,
 * a gather c on every rank but the root; what the MPI library puts on the
 * wire for it depends on its algorithm (a ring allreduce sends about 2c).
 * Unknown phase: -1. A fit also records its own counts as statistics
 * "mpi_bytes_<phase>" (this rank) and "mpi_bytes_max_<phase>" (the largest
 * over the ranks). */
DC_API int64_t dc_mpi_bytes_sent(const char *phase);
DC_API void dc_mpi_reset_counters(void);

#ifdef __cplusplus
}
#endif
#endif
