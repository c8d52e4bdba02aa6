/* Seeded random numbers: xoshiro256** (Blackman & Vigna 2018), state filled
 * by splitmix64 from (seed, stream). Each purpose draws from its own stream,
 * so e.g. the k-means seeding does not shift when augmentation draws more
 * numbers: results depend on the seed, not on call order between purposes. */
#ifndef DCI_RNG_H
#define DCI_RNG_H

#include <stdint.h>

typedef struct dci_rng {
    uint64_t s[4];
} dci_rng;

/* Stream identifiers: one per purpose. Append new ones; never renumber. */
enum {
    DCI_STREAM_INIT = 1,      /* network weight initialisation */
    DCI_STREAM_KMEANS = 2,    /* k-means++ seeding and restarts */
    DCI_STREAM_SHUFFLE = 3,   /* mini-batch order */
    DCI_STREAM_AUGMENT = 4,   /* image augmentation */
    DCI_STREAM_DBAS = 5,      /* beetle antennae search */
    DCI_STREAM_SCDBAS = 6,    /* SCDBAS initial individuals */
    DCI_STREAM_NOISE = 7,     /* robustness noise models */
    DCI_STREAM_SPECTRAL = 8,  /* ARPACK start vector of the spectral embedding */
    DCI_STREAM_PCA = 9,       /* randomized PCA test matrix (graph search projection) */
    DCI_STREAM_SIGMA = 10,    /* sample of the sampled adaptive-sigma estimate */
    DCI_STREAM_TEST = 99
};

void dci_rng_init(dci_rng *r, uint64_t seed, uint64_t stream);
uint64_t dci_rng_u64(dci_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double dci_rng_uniform(dci_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t dci_rng_below(dci_rng *r, uint64_t n);
/* Standard normal (Box-Muller; one value per call, for reproducibility). */
double dci_rng_normal(dci_rng *r);
/* Fisher-Yates shuffle of an index array. */
void dci_rng_shuffle_i64(dci_rng *r, int64_t *a, int64_t n);

#endif
