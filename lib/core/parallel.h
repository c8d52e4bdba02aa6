/* Element-wise work on both (all) cores between BLAS calls.
 *
 * The heavy steps of training are GEMMs, which OpenBLAS already spreads over
 * its threads. What runs between them (optimiser updates over millions of
 * parameters, image augmentation of a batch) is memory-bound and would
 * otherwise use one core while the others wait. dci_parallel_for splits such
 * a loop over the same number of threads OpenBLAS uses (so --threads /
 * OPENBLAS_NUM_THREADS bound both), never while a GEMM runs: one threading
 * level at a time.
 *
 * Workers are started on first use and sleep on a condition variable between
 * calls (no spinning that would steal cycles from OpenBLAS). Results never
 * depend on the thread count: each index is handled by exactly one call of
 * fn, and callers only use it for loops whose iterations are independent.
 * If a worker cannot be started the loop simply runs on fewer threads. */
#ifndef DCI_PARALLEL_H
#define DCI_PARALLEL_H

#include <stdint.h>

/* fn(ctx, lo, hi) handles indices [lo, hi). */
typedef void (*dci_range_fn)(void *ctx, int64_t lo, int64_t hi);

/* Runs fn over [0, n) in at most dci_parallel_threads() contiguous parts of
 * at least min_chunk indices each (n < 2 min_chunk: one call on the caller's
 * thread). Returns when every part is done. Not reentrant: fn must not call
 * dci_parallel_for (nested calls run serially). */
void dci_parallel_for(int64_t n, int64_t min_chunk, dci_range_fn fn, void *ctx);

/* Threads the next dci_parallel_for would use: OpenBLAS's current thread
 * count, at least 1, at most DCI_PARALLEL_MAX. */
#define DCI_PARALLEL_MAX 64
int dci_parallel_threads(void);

#endif
