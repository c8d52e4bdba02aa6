/* The options of the papers' experiments (docs/reproduction.md): noise on
 * the data (--noise KIND:LEVEL, --noise-seed S) for cluster and predict, and
 * several seeds in one cluster command (--seeds LIST) with the mean and
 * sample standard deviation of the results. */
#ifndef DC_CLI_EXPERIMENT_H
#define DC_CLI_EXPERIMENT_H

#include <stdio.h>

#include <deepclust.h>

#include "cli_json.h"

typedef struct cli_noise {
    int on; /* --noise given */
    dc_noise_kind kind;
    double level;
    unsigned long long seed;
} cli_noise;

/* --noise and --noise-seed (NULL: not given): 0, or 2 after a message. */
int cli_noise_parse(const char *text, const char *seed, cli_noise *nz);
/* Adds the noise (nothing when off): 0, or 1 after a message. */
int cli_noise_apply(const cli_noise *nz, dc_dataset *ds);
/* "noise" ("gaussian:0.1", the option's spelling) and "noise_seed", when on. */
void cli_noise_json(cli_json *j, const cli_noise *nz);

#define CLI_MAX_SEEDS 1000
/* The largest seed: the solvers' seed parameter is a double holding whole
 * numbers exactly up to 2^53. */
#define CLI_SEED_MAX 9007199254740992LL

/* Parses "0,1,2", ranges "0-4" and mixtures "0-2,7" into seeds[] (room for
 * CLI_MAX_SEEDS) in the order given: 0, or 2 after a message (an empty
 * item, not a whole number in [0, 2^53], a descending range, a seed given
 * twice, more than CLI_MAX_SEEDS seeds). */
int cli_parse_seeds(const char *text, long long *seeds, int *n);

/* What --seeds summarises, in the order of the JSON keys. */
enum { CLI_SEED_ACC, CLI_SEED_NMI, CLI_SEED_ARI, CLI_SEED_F1, CLI_SEED_SECONDS, CLI_SEED_N };

typedef struct cli_seed_runs {
    int n;      /* runs recorded */
    int scored; /* the data have labels: acc .. f1 are set */
    double v[CLI_MAX_SEEDS][CLI_SEED_N];
} cli_seed_runs;

/* Mean and sample standard deviation (n - 1 in the denominator; NaN, which
 * the JSON writes as null, for a single run) of quantity q. */
void cli_seed_mean_sd(const cli_seed_runs *r, int q, double *mean, double *sd);
/* "mean": {...}, "sd": {...} over acc, nmi, ari, f1 (when scored), seconds. */
void cli_seed_json(cli_json *j, const cli_seed_runs *r);
/* "mean ± sd over N seeds: ACC 0.9000 ± 0.0100  ...  seconds 1.20 ± 0.05". */
void cli_seed_print(FILE *f, const cli_seed_runs *r);

#endif
