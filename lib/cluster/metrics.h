/* Internal side of the external metrics: one contingency table per pair of
 * labelings, from which every pair-based metric is computed. */
#ifndef DCI_METRICS_H
#define DCI_METRICS_H

#include <stdint.h>
#include "deepclust/metrics.h"
#include "deepclust/status.h"

/* Maps arbitrary int32 labels to dense ids 0..count-1 in increasing order of
 * value (the order numpy.unique uses). ids has n entries. */
dc_status dci_labels_remap(const int32_t *labels, int64_t n, int64_t *ids, int64_t *count);

/* Sparse contingency table: rows are truth classes, columns pred clusters
 * (both remapped), only the nnz non-zero cells are stored, grouped by row. */
typedef struct dci_contingency {
    int64_t n, rows, cols, nnz;
    int64_t *row_sum;   /* rows: class sizes */
    int64_t *col_sum;   /* cols: cluster sizes */
    int64_t *cell_row;  /* nnz */
    int64_t *cell_col;  /* nnz */
    int64_t *cell_count;/* nnz, all > 0 */
} dci_contingency;

/* Ordered pair counts as in sklearn's pair_confusion_matrix (each unordered
 * pair counted twice; ratios are unaffected). */
typedef struct dci_pair_counts {
    int64_t both;       /* same class and same cluster (SS) */
    int64_t pred_only;  /* same cluster, different class (SD) */
    int64_t truth_only; /* same class, different cluster (DS) */
    int64_t neither;
} dci_pair_counts;

/* Errors: DC_ERR_NULL, DC_ERR_SHAPE (n < 1, or n above 3.0e9 where ordered
 * pair counts would overflow int64), DC_ERR_NOMEM. On failure ct is empty
 * and safe to free. */
dc_status dci_contingency_build(const int32_t *truth, const int32_t *pred, int64_t n,
                                dci_contingency *ct);
void dci_contingency_free(dci_contingency *ct);

dci_pair_counts dci_contingency_pairs(const dci_contingency *ct);
/* Max-weight one-to-one matching of classes to clusters / n. Can fail with
 * DC_ERR_NOMEM when a connected block of the table is too large to hold
 * densely. */
dc_status dci_contingency_acc(const dci_contingency *ct, double *out);
double dci_contingency_nmi(const dci_contingency *ct, dc_nmi_norm norm);
double dci_contingency_ari(const dci_contingency *ct);
double dci_contingency_f1(const dci_contingency *ct);

/* Every label metric from one table (for training histories and reports). */
typedef struct dci_label_metrics {
    double acc, nmi_sqrt, nmi_arithmetic, ari, f1;
} dci_label_metrics;
dc_status dci_label_metrics_all(const int32_t *truth, const int32_t *pred, int64_t n,
                                dci_label_metrics *out);

#endif
