/* Train an EDCWRN deep clustering model, score it, and save it for
 * edcwrn_predict.c.
 *
 *   usage: edcwrn_train DATA LABELS|- K MODEL_OUT [ROWS]
 *
 * DATA: IDX images (e.g. /usr/share/datasets/fashion-mnist/
 * t10k-images-idx3-ubyte.gz), NPY or CSV; LABELS: the matching labels file,
 * or "-" when the last CSV column holds them; ROWS: train on the first ROWS
 * samples only. example_util.h scales the features to [0, 1].
 *
 * Build against an installed library:
 *   cc edcwrn_train.c $(pkg-config --cflags --libs deepclust) -o edcwrn_train
 *
 * The settings below make a small, quick model (seconds on a few thousand
 * Fashion-MNIST images); the published setting is hidden layers 500-500-2000,
 * a 10-dimensional embedding and 200+ pre-training epochs -- the library's
 * defaults except for the epochs (see `deepclust help edcwrn`). */
#include <deepclust.h>

#include <stdio.h>
#include <stdlib.h>

#include "example_util.h"

/* Every parameter is set by name; the names are those of `deepclust help edcwrn`. */
static dc_status configure(dc_solver *s, double k) {
    static const struct {
        const char *name;
        double value;
    } small[] = {
        {"hidden1", 128},        /* encoder d-128-64-10, decoder mirrored */
        {"hidden2", 64},
        {"hidden3", 0},          /* no third hidden layer */
        {"embed_dim", 10},
        {"pretrain_epochs", 15}, /* autoencoder pre-training */
        {"batch", 128},
        {"update_interval", 50}, /* clustering iterations between target updates */
        {"max_iter", 400},
        {"seed", 1},
    };
    dc_status st = dc_solver_set(s, "k", k);
    for (size_t i = 0; st == DC_OK && i < sizeof small / sizeof small[0]; i++)
        st = dc_solver_set(s, small[i].name, small[i].value);
    return st;
}

static const char usage[] = "usage: %s DATA LABELS|- K MODEL_OUT [ROWS]\n";

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, usage, argv[0]);
        return 2;
    }
    const double k = strtod(argv[3], NULL);
    const char *model_path = argv[4];
    const int64_t rows = argc > 5 ? strtoll(argv[5], NULL, 10) : 0;

    int rc = 1;
    dc_dataset *data = NULL;
    dc_solver *solver = NULL;
    dc_model *model = NULL;
    int32_t *labels = NULL;

    dc_status st = example_load(argv[1], argv[2], rows, NULL, &data);
    if (st == DC_ERR_INVALID_ARG) { /* LABELS "-" with DATA that is not CSV */
        fprintf(stderr, usage, argv[0]);
        rc = 2;
    }
    if (st != DC_OK) goto done;
    const int64_t n = dc_dataset_rows(data);
    printf("%s: %lld samples, %lld features\n", argv[1], (long long)n,
           (long long)dc_dataset_cols(data));

    if (example_failed(dc_solver_create(&solver, "edcwrn"), "create") ||
        example_failed(configure(solver, k), "parameters") ||
        example_failed(dc_solver_fit(solver, data), "fit"))
        goto done;

    labels = malloc((size_t)n * sizeof *labels);
    if (!labels) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    if (example_failed(dc_solver_labels(solver, labels, n, NULL), "labels")) goto done;

    /* Statistics of the fit, by name (dc_solver_stat_name lists them all). */
    double pre = 0, clu = 0, iters = 0, converged = 0;
    dc_solver_stat(solver, "seconds_pretrain", &pre);
    dc_solver_stat(solver, "seconds_cluster", &clu);
    dc_solver_stat(solver, "iterations", &iters);
    dc_solver_stat(solver, "converged", &converged);
    printf("EDCWRN k=%g: pre-training %.2f s, clustering %.2f s, %g iterations%s\n", k, pre, clu,
           iters, converged ? " (converged)" : "");

    if (example_scores(data, labels) != DC_OK) goto done;

    /* The model (encoders, decoder, centres, weights) outlives the solver. */
    if (example_failed(dc_solver_model(solver, &model), "model") ||
        example_failed(dc_model_save(model, model_path), model_path))
        goto done;
    printf("model saved to %s\n", model_path);
    rc = 0;

done:
    free(labels);
    dc_model_free(model);
    dc_solver_free(solver);
    dc_dataset_free(data);
    return rc;
}
