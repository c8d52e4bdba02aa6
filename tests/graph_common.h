/* Helpers of the graph tests (test_graph_*.c): reproducible normal data,
 * and sparse affinities as dense matrices to compare against. */
#ifndef DC_TEST_GRAPH_COMMON_H
#define DC_TEST_GRAPH_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "graph/affinity.h"

static inline float *random_data(int64_t n, int64_t d, uint64_t seed, double offset,
                                 double scale) {
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    float *x = malloc((size_t)(n * d) * sizeof *x);
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)(offset + scale * dci_rng_normal(&r));
    return x;
}

static inline void csr_to_dense(const dci_csr *w, double *out) {
    memset(out, 0, (size_t)(w->n * w->n) * sizeof *out);
    for (int64_t i = 0; i < w->n; i++)
        for (int64_t e = w->rowptr[i]; e < w->rowptr[i + 1]; e++) out[i * w->n + w->col[e]] = w->val[e];
}

#endif
