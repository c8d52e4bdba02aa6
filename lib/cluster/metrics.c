#include "cluster/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "cluster/hungarian.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"

/* sqrt(INT64_MAX): beyond this n the ordered pair count n^2 overflows. */
#define DCI_METRICS_MAX_N INT64_C(3037000499)

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

dc_status dci_labels_remap(const int32_t *labels, int64_t n, int64_t *ids, int64_t *count) {
    DCI_CHECK_NULL(labels);
    DCI_CHECK_NULL(ids);
    DCI_CHECK_NULL(count);
    int32_t *values = DCI_NEW_ARRAY(int32_t, n, "label values");
    if (!values) return DC_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) values[i] = labels[i];
    qsort(values, (size_t)n, sizeof *values, compare_int32);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (k == 0 || values[i] != values[k - 1]) values[k++] = values[i];
    for (int64_t i = 0; i < n; i++) {
        const int32_t *hit = bsearch(&labels[i], values, (size_t)k, sizeof *values, compare_int32);
        ids[i] = hit - values;
    }
    dci_free(values);
    *count = k;
    return DC_OK;
}

void dci_contingency_free(dci_contingency *ct) {
    if (!ct) return;
    dci_free(ct->row_sum);
    dci_free(ct->col_sum);
    dci_free(ct->cell_row);
    dci_free(ct->cell_col);
    dci_free(ct->cell_count);
    *ct = (dci_contingency){0};
}

/* Cells are gathered row by row through a per-column slot map, so the cost is
 * O(n + rows + cols) and the (possibly huge) dense table never exists. */
static dc_status fill_cells(const int64_t *row_id, const int64_t *col_id, dci_contingency *ct) {
    int64_t n = ct->n;
    int64_t *row_start = DCI_NEW_ZEROS(int64_t, ct->rows + 1, "contingency rows");
    int64_t *by_row = DCI_NEW_ARRAY(int64_t, n, "contingency order");
    int64_t *slot = DCI_NEW_ARRAY(int64_t, ct->cols, "contingency slots");
    dc_status st = DC_OK;
    if (!row_start || !by_row || !slot) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    for (int64_t r = 0; r < ct->rows; r++) row_start[r + 1] = row_start[r] + ct->row_sum[r];
    for (int64_t i = 0; i < n; i++) by_row[row_start[row_id[i]]++] = i;
    /* row_start[r] now holds the end of row r, i.e. the start of row r + 1. */
    for (int64_t c = 0; c < ct->cols; c++) slot[c] = -1;
    int64_t begin = 0;
    for (int64_t r = 0; r < ct->rows; r++) {
        int64_t row_first_cell = ct->nnz;
        for (int64_t k = begin; k < row_start[r]; k++) {
            int64_t c = col_id[by_row[k]];
            if (slot[c] < row_first_cell) {
                slot[c] = ct->nnz++;
                ct->cell_row[slot[c]] = r;
                ct->cell_col[slot[c]] = c;
                ct->cell_count[slot[c]] = 0;
            }
            ct->cell_count[slot[c]]++;
        }
        begin = row_start[r];
    }
done:
    dci_free(row_start);
    dci_free(by_row);
    dci_free(slot);
    return st;
}

dc_status dci_contingency_build(const int32_t *truth, const int32_t *pred, int64_t n,
                                dci_contingency *ct) {
    DCI_CHECK_NULL(ct);
    *ct = (dci_contingency){0};
    DCI_CHECK_NULL(truth);
    DCI_CHECK_NULL(pred);
    if (n < 1) return dci_fail(DC_ERR_SHAPE, "metrics: n = %lld, need at least 1", (long long)n);
    if (n > DCI_METRICS_MAX_N)
        return dci_fail(DC_ERR_SHAPE, "metrics: n = %lld exceeds %lld (pair counts overflow)",
                        (long long)n, (long long)DCI_METRICS_MAX_N);
    ct->n = n;
    int64_t *row_id = DCI_NEW_ARRAY(int64_t, n, "truth ids");
    int64_t *col_id = DCI_NEW_ARRAY(int64_t, n, "pred ids");
    dc_status st = DC_OK;
    if (!row_id || !col_id) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    if ((st = dci_labels_remap(truth, n, row_id, &ct->rows)) != DC_OK) goto done;
    if ((st = dci_labels_remap(pred, n, col_id, &ct->cols)) != DC_OK) goto done;
    ct->row_sum = DCI_NEW_ZEROS(int64_t, ct->rows, "class sizes");
    ct->col_sum = DCI_NEW_ZEROS(int64_t, ct->cols, "cluster sizes");
    ct->cell_row = DCI_NEW_ARRAY(int64_t, n, "contingency cells");
    ct->cell_col = DCI_NEW_ARRAY(int64_t, n, "contingency cells");
    ct->cell_count = DCI_NEW_ARRAY(int64_t, n, "contingency cells");
    if (!ct->row_sum || !ct->col_sum || !ct->cell_row || !ct->cell_col || !ct->cell_count) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        ct->row_sum[row_id[i]]++;
        ct->col_sum[col_id[i]]++;
    }
    st = fill_cells(row_id, col_id, ct);
done:
    dci_free(row_id);
    dci_free(col_id);
    if (st != DC_OK) dci_contingency_free(ct);
    return st;
}

static int64_t sum_of_squares(const int64_t *v, int64_t len) {
    int64_t s = 0;
    for (int64_t i = 0; i < len; i++) s += v[i] * v[i];
    return s;
}

dci_pair_counts dci_contingency_pairs(const dci_contingency *ct) {
    /* Same formulas as sklearn.metrics.cluster.pair_confusion_matrix. */
    int64_t cells = sum_of_squares(ct->cell_count, ct->nnz);
    int64_t rows = sum_of_squares(ct->row_sum, ct->rows);
    int64_t cols = sum_of_squares(ct->col_sum, ct->cols);
    dci_pair_counts p;
    p.both = cells - ct->n;
    p.pred_only = cols - cells;
    p.truth_only = rows - cells;
    p.neither = ct->n * ct->n - p.pred_only - p.truth_only - cells;
    return p;
}

/* Union-find root with path halving. */
static int64_t find_root(int64_t *parent, int64_t x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* A max-weight matching never gains from a zero cell, so it decomposes over
 * the connected blocks of the bipartite graph of non-zero cells. Solving each
 * block densely keeps e.g. all-singleton labelings (n blocks of 1 x 1) linear
 * instead of an n x n assignment problem. */
dc_status dci_contingency_acc(const dci_contingency *ct, double *out) {
    DCI_CHECK_NULL(ct);
    DCI_CHECK_NULL(out);
    int64_t R = ct->rows, C = ct->cols, nodes = R + C;
    int64_t *parent = DCI_NEW_ARRAY(int64_t, nodes, "acc blocks");
    int64_t *block = DCI_NEW_ARRAY(int64_t, nodes, "acc blocks");   /* node -> block */
    int64_t *local = DCI_NEW_ARRAY(int64_t, nodes, "acc blocks");   /* index inside block */
    int64_t *brows = DCI_NEW_ZEROS(int64_t, nodes, "acc blocks");   /* rows per block */
    int64_t *bcols = DCI_NEW_ZEROS(int64_t, nodes, "acc blocks");   /* cols per block */
    int64_t *cell_start = DCI_NEW_ZEROS(int64_t, nodes + 1, "acc blocks");
    int64_t *cell_order = DCI_NEW_ARRAY(int64_t, ct->nnz, "acc blocks");
    double *dense = NULL;
    int64_t *assign = NULL;
    dc_status st = DC_OK;
    if (!parent || !block || !local || !brows || !bcols || !cell_start || !cell_order) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    for (int64_t v = 0; v < nodes; v++) parent[v] = v;
    for (int64_t e = 0; e < ct->nnz; e++) {
        int64_t a = find_root(parent, ct->cell_row[e]), b = find_root(parent, R + ct->cell_col[e]);
        if (a != b) parent[a] = b;
    }
    /* Roots are numbered first (block[root]), then every node copies its
     * root's number; roots never change once all unions are done. */
    int64_t nblocks = 0;
    for (int64_t v = 0; v < nodes; v++) block[v] = parent[v] == v ? nblocks++ : -1;
    for (int64_t v = 0; v < nodes; v++) block[v] = block[find_root(parent, v)];
    int64_t largest = 0, tallest = 0;
    for (int64_t v = 0; v < nodes; v++) local[v] = v < R ? brows[block[v]]++ : bcols[block[v]]++;
    for (int64_t b = 0; b < nblocks; b++) {
        if (brows[b] > INT64_MAX / bcols[b]) {
            st = dci_fail(DC_ERR_NOMEM, "acc: %lld x %lld block is too large",
                          (long long)brows[b], (long long)bcols[b]);
            goto done;
        }
        if (brows[b] * bcols[b] > largest) largest = brows[b] * bcols[b];
        if (brows[b] > tallest) tallest = brows[b];
    }
    for (int64_t e = 0; e < ct->nnz; e++) cell_start[block[ct->cell_row[e]] + 1]++;
    for (int64_t b = 0; b < nblocks; b++) cell_start[b + 1] += cell_start[b];
    for (int64_t e = 0; e < ct->nnz; e++) cell_order[cell_start[block[ct->cell_row[e]]]++] = e;
    /* cell_start[b] now holds the end of block b. */

    dense = DCI_NEW_ARRAY(double, largest, "acc block table");
    assign = DCI_NEW_ARRAY(int64_t, tallest, "acc assignment");
    if (!dense || !assign) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    double matched = 0.0;
    int64_t begin = 0;
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t r = brows[b], c = bcols[b];
        if (r * c == 1) {
            matched += (double)ct->cell_count[cell_order[begin]];
        } else {
            for (int64_t k = 0; k < r * c; k++) dense[k] = 0.0;
            for (int64_t k = begin; k < cell_start[b]; k++) {
                int64_t e = cell_order[k];
                dense[local[ct->cell_row[e]] * c + local[R + ct->cell_col[e]]] =
                    (double)ct->cell_count[e];
            }
            double total;
            if ((st = dci_hungarian_max(dense, r, c, assign, &total)) != DC_OK) goto done;
            matched += total;
        }
        begin = cell_start[b];
    }
    /* Counts are integers below 2^53, so matched is exact. */
    *out = matched / (double)ct->n;
done:
    dci_free(parent);
    dci_free(block);
    dci_free(local);
    dci_free(brows);
    dci_free(bcols);
    dci_free(cell_start);
    dci_free(cell_order);
    dci_free(dense);
    dci_free(assign);
    return st;
}

/* -sum p log p of a size vector, written as sklearn's entropy() writes it. */
static double entropy_of_sizes(const int64_t *size, int64_t len, int64_t n) {
    if (len == 1) return 0.0;
    double log_n = log((double)n), h = 0.0;
    for (int64_t i = 0; i < len; i++) h -= ((double)size[i] / (double)n) * (log((double)size[i]) - log_n);
    return h;
}

double dci_contingency_nmi(const dci_contingency *ct, dc_nmi_norm norm) {
    /* Special cases and term-by-term arithmetic follow sklearn 1.2's
     * normalized_mutual_info_score / mutual_info_score so that results agree
     * to rounding: both labelings constant is a perfect match; otherwise a
     * constant labeling carries no information. */
    if (ct->rows == 1 && ct->cols == 1) return 1.0;
    if (ct->rows == 1 || ct->cols == 1) return 0.0;
    double n = (double)ct->n, log_n = log(n), mi = 0.0;
    for (int64_t e = 0; e < ct->nnz; e++) {
        double c = (double)ct->cell_count[e], p = c / n;
        int64_t outer = ct->row_sum[ct->cell_row[e]] * ct->col_sum[ct->cell_col[e]];
        double term = p * (log(c) - log_n) + p * (-log((double)outer) + log_n + log_n);
        if (fabs(term) >= DBL_EPSILON) mi += term;
    }
    if (mi <= 0.0) return 0.0;
    double ht = entropy_of_sizes(ct->row_sum, ct->rows, ct->n);
    double hp = entropy_of_sizes(ct->col_sum, ct->cols, ct->n);
    double denom = norm == DC_NMI_ARITHMETIC ? (ht + hp) / 2.0 : sqrt(ht * hp);
    return mi / denom;
}

double dci_contingency_ari(const dci_contingency *ct) {
    dci_pair_counts p = dci_contingency_pairs(ct);
    /* Identical partitions (including n = 1 and all-constant): sklearn's 1. */
    if (p.pred_only == 0 && p.truth_only == 0) return 1.0;
    /* The products reach n^4; sklearn evaluates them in exact integers and
     * rounds once, which 128-bit integers reproduce bit for bit. */
#ifdef __SIZEOF_INT128__
    __int128 tp = p.both, tn = p.neither, fp = p.pred_only, fn = p.truth_only;
    __int128 num = tp * tn - fn * fp;
    __int128 den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
    return 2.0 * (double)num / (double)den;
#else
    long double tp = p.both, tn = p.neither, fp = p.pred_only, fn = p.truth_only;
    long double num = tp * tn - fn * fp;
    long double den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
    return (double)(2.0L * num / den);
#endif
}

double dci_contingency_f1(const dci_contingency *ct) {
    dci_pair_counts p = dci_contingency_pairs(ct);
    int64_t together_pred = p.both + p.pred_only, together_truth = p.both + p.truth_only;
    /* All singletons in both labelings: they agree perfectly. */
    if (together_pred == 0 && together_truth == 0) return 1.0;
    /* Precision or recall undefined (0/0) while the other side has pairs:
     * none of those pairs is recovered, so score 0. */
    if (together_pred == 0 || together_truth == 0) return 0.0;
    /* 2PR/(P+R) with P = SS/(SS+SD), R = SS/(SS+DS) simplifies to this, and
     * stays defined (0) when SS = 0. Counts are exact in double below 2^53. */
    return 2.0 * (double)p.both / (2.0 * (double)p.both + (double)p.pred_only + (double)p.truth_only);
}

dc_status dci_label_metrics_all(const int32_t *truth, const int32_t *pred, int64_t n,
                                dci_label_metrics *out) {
    DCI_CHECK_NULL(out);
    dci_contingency ct;
    DCI_TRY(dci_contingency_build(truth, pred, n, &ct));
    dc_status st = dci_contingency_acc(&ct, &out->acc);
    out->nmi_sqrt = dci_contingency_nmi(&ct, DC_NMI_SQRT);
    out->nmi_arithmetic = dci_contingency_nmi(&ct, DC_NMI_ARITHMETIC);
    out->ari = dci_contingency_ari(&ct);
    out->f1 = dci_contingency_f1(&ct);
    dci_contingency_free(&ct);
    return st;
}

/* ---- public API ---- */

typedef enum label_metric { METRIC_ACC, METRIC_NMI, METRIC_ARI, METRIC_F1 } label_metric;

static dc_status label_metric_of(label_metric which, dc_nmi_norm norm, const int32_t *truth,
                                 const int32_t *pred, int64_t n, double *out) {
    DCI_CHECK_NULL(out);
    dci_contingency ct;
    DCI_TRY(dci_contingency_build(truth, pred, n, &ct));
    dc_status st = DC_OK;
    switch (which) {
    case METRIC_ACC: st = dci_contingency_acc(&ct, out); break;
    case METRIC_NMI: *out = dci_contingency_nmi(&ct, norm); break;
    case METRIC_ARI: *out = dci_contingency_ari(&ct); break;
    case METRIC_F1: *out = dci_contingency_f1(&ct); break;
    }
    dci_contingency_free(&ct);
    return st;
}

dc_status dc_metrics_acc(const int32_t *truth, const int32_t *pred, int64_t n, double *out) {
    return label_metric_of(METRIC_ACC, DC_NMI_SQRT, truth, pred, n, out);
}

dc_status dc_metrics_nmi(const int32_t *truth, const int32_t *pred, int64_t n,
                            dc_nmi_norm norm, double *out) {
    if (norm != DC_NMI_SQRT && norm != DC_NMI_ARITHMETIC)
        return dci_fail(DC_ERR_INVALID_ARG, "dc_metrics_nmi: unknown normalisation %d", (int)norm);
    return label_metric_of(METRIC_NMI, norm, truth, pred, n, out);
}

dc_status dc_metrics_ari(const int32_t *truth, const int32_t *pred, int64_t n, double *out) {
    return label_metric_of(METRIC_ARI, DC_NMI_SQRT, truth, pred, n, out);
}

dc_status dc_metrics_f1(const int32_t *truth, const int32_t *pred, int64_t n, double *out) {
    return label_metric_of(METRIC_F1, DC_NMI_SQRT, truth, pred, n, out);
}

dc_status dc_metrics_inter_cluster_variance(const float *z, int64_t n, int64_t m,
                                           const int32_t *labels, double *out) {
    DCI_CHECK_NULL(z);
    DCI_CHECK_NULL(labels);
    DCI_CHECK_NULL(out);
    DCI_TRY(dci_check_matrix(z, n, m, "dc_metrics_inter_cluster_variance: z"));
    int64_t *id = DCI_NEW_ARRAY(int64_t, n, "cluster ids");
    int64_t k = 0, *size = NULL;
    double *sums = NULL, *mean = DCI_NEW_ZEROS(double, m, "global mean");
    dc_status st = DC_OK;
    if (!id || !mean) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    if ((st = dci_labels_remap(labels, n, id, &k)) != DC_OK) goto done;
    size = DCI_NEW_ZEROS(int64_t, k, "cluster sizes");
    sums = DCI_NEW_ZEROS(double, k * m, "cluster sums"); /* k <= n, so k*m cannot overflow */
    if (!size || !sums) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *row = z + i * m;
        double *acc = sums + id[i] * m;
        size[id[i]]++;
        for (int64_t j = 0; j < m; j++) acc[j] += row[j];
    }
    for (int64_t c = 0; c < k; c++)
        for (int64_t j = 0; j < m; j++) mean[j] += sums[c * m + j];
    for (int64_t j = 0; j < m; j++) mean[j] /= (double)n;
    /* Unweighted over clusters, as in EDCWRN Table 4: a small cluster far
     * from the centre counts as much as a large one. */
    double total = 0.0;
    for (int64_t c = 0; c < k; c++) {
        for (int64_t j = 0; j < m; j++) {
            double diff = sums[c * m + j] / (double)size[c] - mean[j];
            total += diff * diff;
        }
    }
    *out = total / (double)k;
done:
    dci_free(id);
    dci_free(size);
    dci_free(sums);
    dci_free(mean);
    return st;
}
