/* Load a model saved by edcwrn_train.c (or `deepclust cluster --save-model`),
 * label data with it and score the labels.
 *
 *   usage: edcwrn_predict MODEL DATA LABELS|- [ROWS]
 *
 * DATA, LABELS and ROWS as for edcwrn_train; the features are scaled with
 * the statistics the model recorded from its training data
 * (dc_model_apply_normalization, example_util.h). On the training data the
 * labels, and so the scores, equal those of the fit.
 *
 * Build against an installed library:
 *   cc edcwrn_predict.c $(pkg-config --cflags --libs deepclust) -o edcwrn_predict */
#include <deepclust.h>

#include <stdio.h>
#include <stdlib.h>

#include "example_util.h"

static const char usage[] = "usage: %s MODEL DATA LABELS|- [ROWS]\n";

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, usage, argv[0]);
        return 2;
    }
    const char *model_path = argv[1];
    const int64_t rows = argc > 4 ? strtoll(argv[4], NULL, 10) : 0;

    int rc = 1;
    dc_model *model = NULL;
    dc_dataset *data = NULL;
    int32_t *labels = NULL;

    if (example_failed(dc_model_load(&model, model_path), model_path)) goto done;
    double lambda = 0;
    dc_model_get(model, "lambda", &lambda); /* any hyper-parameter of the fit, by name */
    printf("%s model: %lld features -> %lld-dimensional embedding, k = %lld, lambda = %g\n",
           dc_model_method(model), (long long)dc_model_input_dim(model),
           (long long)dc_model_embed_dim(model), (long long)dc_model_k(model), lambda);

    dc_status st = example_load(argv[2], argv[3], rows, model, &data);
    if (st == DC_ERR_INVALID_ARG) { /* LABELS "-" with DATA that is not CSV */
        fprintf(stderr, usage, argv[0]);
        rc = 2;
    }
    if (st != DC_OK) goto done;
    const int64_t n = dc_dataset_rows(data);
    labels = malloc((size_t)n * sizeof *labels);
    if (!labels) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    /* Neighbours for the model's neighbour branch come from the rows passed
     * together: predict a whole data set (or large batches) at once. */
    if (example_failed(dc_model_predict(model, data, labels, n), "predict")) goto done;

    printf("%lld samples predicted\n", (long long)n);
    if (example_scores(data, labels) != DC_OK) goto done;
    rc = 0;

done:
    free(labels);
    dc_dataset_free(data);
    dc_model_free(model);
    return rc;
}
