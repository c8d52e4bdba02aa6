/* The library's communicator and its MPI calls (MPI builds only).
 *
 * Every MPI call of the library goes through these wrappers: they count the
 * bytes this rank hands to MPI per phase (deepclust/mpi.h, dc_mpi_bytes_sent;
 * docs/scaling.md checks them against the cost model) and turn an MPI error
 * (the duplicate communicator returns errors) into DC_ERR_IO naming the call,
 * the purpose and the rank. Counts above INT_MAX elements are refused
 * (DC_ERR_UNSUPPORTED) rather than split. */
#ifndef DCI_MPI_COMM_H
#define DCI_MPI_COMM_H

#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include "deepclust/status.h"
#include "methods/method.h"

/* A parameter of the solver's own method by name (the distributed fits
 * read them by name, not through the method's private configuration). */
static inline double dci_param(const dc_solver *s, const char *name) {
    double v = 0.0;
    dci_param_value(s, name, &v);
    return v;
}
static inline int64_t dci_param_i(const dc_solver *s, const char *name) {
    return (int64_t)llround(dci_param(s, name));
}

/* This rank's block of a distributed data matrix: rows [row0, row0 + nl)
 * of n, d columns, row-major. */
typedef struct dci_block {
    const float *x;
    int64_t nl, d, n, row0;
} dci_block;

typedef enum dci_mpi_phase {
    DCI_PH_SETUP = 0,
    DCI_PH_LOAD,
    DCI_PH_SEED,
    DCI_PH_LLOYD,
    DCI_PH_GATHER,
    DCI_PH_PCA,    /* spectral: the covariance allreduce */
    DCI_PH_KNN,    /* spectral: row blocks around the ring */
    DCI_PH_GRAPH,  /* spectral: reverse edges, sigmas, degrees, components */
    DCI_PH_EIGEN,  /* spectral: PARPACK's own reductions are not counted; the mat-vecs' halo */
    DCI_PH_SEARCH, /* SCDBAS: the beetle search's fitness allreduces */
    DCI_PH_PRETRAIN, /* deep methods: pre-training's gradient allreduce per step */
    DCI_PH_TRAIN,    /* deep methods: the clustering phase's gradient allreduce per step */
    DCI_PH_EMBED,    /* deep methods: embedding allgathers (initial centres, target updates, result) */
    DCI_PH_CKPT,     /* deep methods: every rank's batch order to rank 0 per checkpoint */
    DCI_PH_COUNT
} dci_mpi_phase;

extern const char *const dci_mpi_phase_names[DCI_PH_COUNT];

/* 1 while a communicator is set (dc_mpi_set_comm). */
int dci_mpi_active(void);
MPI_Comm dci_mpi_comm(void);
int dci_mpi_rank(void);
int dci_mpi_size(void);
int64_t dci_mpi_counter(dci_mpi_phase ph);

/* Every rank's st -> the first failure in rank order (the lowest rank that
 * failed keeps its own detail; the others get "rank r failed" in theirs), or
 * DC_OK on all. Collective; counted under DCI_PH_SETUP. */
dc_status dci_mpi_agree(dc_status st, const char *what);

dc_status dci_mpi_allreduce(void *buf, int64_t count, MPI_Datatype t, MPI_Op op,
                            dci_mpi_phase ph, const char *what);
dc_status dci_mpi_bcast(void *buf, int64_t count, MPI_Datatype t, int root, dci_mpi_phase ph,
                        const char *what);
dc_status dci_mpi_allgather(const void *send, int64_t count, MPI_Datatype t, void *recv,
                            dci_mpi_phase ph, const char *what);
/* Every rank's n_local[r] elements into recv on every rank, in rank order;
 * recv already holds this rank's at its place (MPI_IN_PLACE). counts: the
 * n_local of every rank. */
dc_status dci_mpi_allgatherv_inplace(void *recv, const int64_t *counts, MPI_Datatype t,
                                     dci_mpi_phase ph, const char *what);
/* Gathers n_local elements of every rank to rank 0 (in rank order). */
dc_status dci_mpi_gatherv(const void *send, int64_t n_local, MPI_Datatype t, void *recv,
                          dci_mpi_phase ph, const char *what);
/* MPI_Alltoall / MPI_Alltoallv (counts and displacements in elements). The
 * bytes counted are those sent to other ranks. */
dc_status dci_mpi_alltoall(const void *send, int count, MPI_Datatype t, void *recv,
                           dci_mpi_phase ph, const char *what);
dc_status dci_mpi_alltoallv(const void *send, const int *scount, const int *sdisp, void *recv,
                            const int *rcount, const int *rdisp, MPI_Datatype t,
                            dci_mpi_phase ph, const char *what);
/* Sends buf (count elements) to rank dest and receives as many from src into it. */
dc_status dci_mpi_sendrecv_replace(void *buf, int64_t count, MPI_Datatype t, int dest, int src,
                                   dci_mpi_phase ph, const char *what);

/* The counters now (DCI_PH_COUNT entries), and the solver statistics
 * mpi_bytes_<phase> and mpi_bytes_max_<phase> of the traffic since such a
 * snapshot, for the phases with traffic, plus "ranks". Collective. */
/* DC_ERR_CANCELLED on every rank when any rank's running fit was asked to
 * stop (dc_solver_cancel), else DC_OK. Collective. */
dc_status dci_mpi_cancel_agree(const char *phase);

/* dci_solver_progress (the cancel flag, then the progress callback) on every
 * rank, its status agreed (dci_mpi_agree): a cancel on any rank, by
 * dc_solver_cancel or its callback, is DC_ERR_CANCELLED on every rank.
 * Collective: for progress points every rank reaches. */
dc_status dci_mpi_progress(const dc_solver *s, const char *phase, long long done,
                           long long total, double value);

/* The labels of a distributed fit to the solver: this rank's nl labels
 * (takes ownership, dci_malloc'd; freed on failure too) gathered on rank 0,
 * which keeps all n; the other ranks keep their own. Collective. */
dc_status dci_mpi_put_labels(dc_solver *s, int32_t *labels, int64_t nl, int64_t n);
/* The same for a float matrix output of nl x cols (copied). */
dc_status dci_mpi_put_rows(dc_solver *s, const char *name, const float *rows, int64_t nl,
                           int64_t n, int64_t cols);
void dci_mpi_snapshot(int64_t *base);
dc_status dci_mpi_put_stats(dc_solver *s, const int64_t *base);

#endif
