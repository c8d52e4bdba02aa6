/* Cluster a CSV file with SCDBAS and score the result against the labels in
 * its last column.
 *
 *   usage: cluster_csv FILE.csv K [SEED]
 *
 * Build against an installed library:
 *   cc cluster_csv.c $(pkg-config --cflags --libs deepclust) -o cluster_csv
 *
 * The file holds one sample per line: the features, then an integer label
 * (a header line is detected and skipped). Example data: examples/data/
 * three_blobs.csv (k = 3). */
#include <deepclust.h>

#include <stdio.h>
#include <stdlib.h>

/* Every call returns a dc_status; on failure dc_last_error() says why. */
static int failed(dc_status st, const char *what) {
    if (st == DC_OK) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, dc_strerror(st), dc_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s FILE.csv K [SEED]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    const double k = strtod(argv[2], NULL);
    const double seed = argc > 3 ? strtod(argv[3], NULL) : 0;

    int rc = 1;
    dc_dataset *data = NULL;
    dc_solver *solver = NULL;
    int32_t *labels = NULL;

    /* Load: the last CSV column holds the true labels, not a feature. */
    dc_load_options opt;
    dc_load_options_default(&opt);
    opt.label_column = DC_LABEL_COLUMN_LAST;
    if (failed(dc_dataset_load(&data, path, &opt), path)) goto done;
    const int64_t n = dc_dataset_rows(data);
    const int32_t *truth = dc_dataset_labels(data);
    printf("%s: %lld samples, %lld features\n", path, (long long)n,
           (long long)dc_dataset_cols(data));

    /* SCDBAS with default parameters; only k (and the seed) must be set.
     * Any parameter listed by `deepclust help scdbas` is set the same way. */
    if (failed(dc_solver_create(&solver, "scdbas"), "create")) goto done;
    if (failed(dc_solver_set(solver, "k", k), "k")) goto done;
    if (failed(dc_solver_set(solver, "seed", seed), "seed")) goto done;
    if (failed(dc_solver_fit(solver, data), "fit")) goto done;

    labels = malloc((size_t)n * sizeof *labels);
    if (!labels) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    if (failed(dc_solver_labels(solver, labels, n, NULL), "labels")) goto done;

    double seconds = 0, fitness = 0;
    dc_solver_stat(solver, "seconds", &seconds);
    dc_solver_stat(solver, "fitness", &fitness);
    printf("SCDBAS k=%g seed=%g: fitness %.6g, %.3f s\n", k, seed, fitness, seconds);

    double acc, nmi, ari, f1;
    if (failed(dc_metrics_acc(truth, labels, n, &acc), "acc") ||
        failed(dc_metrics_nmi(truth, labels, n, DC_NMI_SQRT, &nmi), "nmi") ||
        failed(dc_metrics_ari(truth, labels, n, &ari), "ari") ||
        failed(dc_metrics_f1(truth, labels, n, &f1), "f1"))
        goto done;
    printf("ACC %.4f  NMI %.4f  ARI %.4f  F1 %.4f\n", acc, nmi, ari, f1);
    rc = 0;

done:
    free(labels);
    dc_solver_free(solver);
    dc_dataset_free(data);
    return rc;
}
