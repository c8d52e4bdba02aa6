/* Helpers of the nn tests (test_nn_*.c): random inputs from one stream per
 * program, and the one main they share. */
#ifndef DC_TEST_NN_COMMON_H
#define DC_TEST_NN_COMMON_H

#include <stdint.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"

static dci_rng trng;

static inline void fill_uniform(float *x, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * dci_rng_uniform(&trng));
}

/* One BLAS thread, so that the results do not depend on the machine's
 * cores (thread_invariance sets 1 and 2 threads itself). */
static inline int nn_main(const dct_case *cases, int n, int argc, char **argv) {
    dci_rng_init(&trng, 2024, DCI_STREAM_TEST);
    dc_set_threads(1);
    return dct_run(cases, n, argc, argv);
}

#endif
