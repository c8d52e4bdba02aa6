/* What the distributed tests share (test_mpi.c: main, loading, k-means,
 * spectral; test_mpi_deep.c: the deep methods). */
#ifndef DCT_MPI_COMMON_H
#define DCT_MPI_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "core/rng.h"

extern int rank, size; /* this process's rank and the communicator's size */

/* Gaussian blobs: row i in blob i % groups, whose centre is `sep` along
 * the axes m with m % groups == i % groups. */
static inline float *blobs_sep(int64_t n, int64_t d, uint64_t seed, int groups, double sep) {
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n; i++)
        for (int64_t m = 0; m < d; m++)
            x[i * d + m] = (float)(dci_rng_normal(&r) + sep * ((i % groups) == m % groups));
    return x;
}

/* Four well separated blobs. */
static inline float *blobs(int64_t n, int64_t d, uint64_t seed) { return blobs_sep(n, d, seed, 4, 6.0); }

/* The deep methods' tests (test_mpi_deep.c), adding their check counts to
 * *passed and *failed. */
void test_deep(const char *dir, int *passed, int *failed);

/* Edge cases (test_mpi_edge.c): uneven blocks, a cancel on one rank, crafted
 * and gzip files under plain names; counts as test_deep. */
void test_edge(const char *dir, int *passed, int *failed);

#endif
