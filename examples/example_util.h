/* Shared by edcwrn_train.c and edcwrn_predict.c: error reporting, data
 * loading and scoring. Both programs read the data the same way; the saved
 * model records how its training data were scaled, so new data get the
 * training statistics. */
#ifndef DEEPCLUST_EXAMPLE_UTIL_H
#define DEEPCLUST_EXAMPLE_UTIL_H

#include <deepclust.h>

#include <stdio.h>
#include <string.h>

/* Every call returns a dc_status; on failure dc_last_error() says why.
 * Returns 1 (and prints) on failure, 0 on success. */
static int example_failed(dc_status st, const char *what) {
    if (st == DC_OK) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, dc_strerror(st), dc_last_error());
    return 1;
}

/* Loads DATA (IDX images such as Fashion-MNIST, NPY or CSV) with the labels
 * from LABELS -- a labels file, or "-" for a CSV whose last column holds
 * them -- keeps the first max_rows rows (0: all) and scales the features to
 * [0, 1]: pixels / 255 for images, per-feature min-max otherwise. Given a
 * model that records its training data's scaling, that is applied instead
 * (min-max with the TRAINING minima and ranges, not those of DATA). On
 * failure prints why and returns the status; DC_ERR_INVALID_ARG when LABELS
 * is "-" but DATA is not a CSV file (IDX and NPY hold no label column): a
 * usage error, found before any training. */
static dc_status example_load(const char *data, const char *labels, int64_t max_rows,
                              const dc_model *model, dc_dataset **out) {
    dc_load_options opt;
    dc_load_options_default(&opt);
    if (strcmp(labels, "-") == 0) opt.label_column = DC_LABEL_COLUMN_LAST;
    dc_dataset *all = NULL, *part = NULL;
    dc_status st = dc_dataset_load(&all, data, &opt);
    /* The library refuses a label column of IDX or NPY data. */
    if (st == DC_ERR_INVALID_ARG && strcmp(labels, "-") == 0) {
        fprintf(stderr, "LABELS '-' means: the labels are the last column of a CSV file; %s is "
                        "not a CSV file, give its labels file as LABELS\n", data);
        return st;
    }
    if (st == DC_OK && strcmp(labels, "-") != 0)
        st = dc_dataset_load_labels(all, labels, DC_FORMAT_AUTO);
    if (st == DC_OK && max_rows > 0 && max_rows < dc_dataset_rows(all)) {
        st = dc_dataset_subset(&part, all, 0, max_rows);
        if (st == DC_OK) {
            dc_dataset_free(all);
            all = part;
        }
    }
    int64_t h, w, c;
    if (st == DC_OK && model && dc_model_normalization(model) != DC_NORM_NONE)
        st = dc_model_apply_normalization(model, all);
    else if (st == DC_OK)
        st = dc_dataset_normalize(all, dc_dataset_image_shape(all, &h, &w, &c) ? DC_NORM_SCALE255
                                                                               : DC_NORM_MINMAX);
    if (example_failed(st, data)) {
        dc_dataset_free(all);
        return st;
    }
    *out = all;
    return DC_OK;
}

/* Prints "ACC a  NMI b  ARI c" of labels against the data set's labels. */
static dc_status example_scores(const dc_dataset *data, const int32_t *labels) {
    const int32_t *truth = dc_dataset_labels(data);
    const int64_t n = dc_dataset_rows(data);
    double acc = 0, nmi = 0, ari = 0;
    dc_status st = dc_metrics_acc(truth, labels, n, &acc);
    if (st == DC_OK) st = dc_metrics_nmi(truth, labels, n, DC_NMI_SQRT, &nmi);
    if (st == DC_OK) st = dc_metrics_ari(truth, labels, n, &ari);
    if (example_failed(st, "scores")) return st;
    printf("ACC %.4f  NMI %.4f  ARI %.4f\n", acc, nmi, ari);
    return DC_OK;
}

#endif
