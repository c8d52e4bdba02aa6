/* Uniform random test data from one generator per test program, seeded by
 * its main (dci_rng_init(&rng, seed, DCI_STREAM_TEST)). */
#ifndef DC_TEST_RANDOM_H
#define DC_TEST_RANDOM_H

#include <stdint.h>

#include "core/rng.h"

static dci_rng rng;

static inline double unif(double lo, double hi) { return lo + (hi - lo) * dci_rng_uniform(&rng); }

static inline void fill(float *x, int64_t n, double lo, double hi) {
    for (int64_t t = 0; t < n; t++) x[t] = (float)unif(lo, hi);
}

#endif
