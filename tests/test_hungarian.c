/* White-box tests of the max-weight assignment and of the contingency table
 * behind the metrics. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "cluster/hungarian.h"
#include "cluster/metrics.h"
#include "core/rng.h"
#include "deepclust.h"

/* Exhaustive maximum over all injective maps from the shorter side. */
static double brute_best(const double *w, int rows, int cols, int row, unsigned used) {
    if (row == rows) return 0.0;
    double best = -INFINITY;
    for (int c = 0; c < cols; c++) {
        if (used & (1u << c)) continue;
        double v = w[row * cols + c] + brute_best(w, rows, cols, row + 1, used | (1u << c));
        if (v > best) best = v;
    }
    return best;
}

static double brute_max(const double *w, int rows, int cols) {
    if (rows <= cols) return brute_best(w, rows, cols, 0, 0);
    double t[64];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
    return brute_best(t, cols, rows, 0, 0);
}

/* assign must be injective, cover min(rows, cols) rows, and sum to total. */
static void check_assignment(const double *w, int64_t rows, int64_t cols, const int64_t *assign,
                             double total) {
    int taken[16] = {0}, matched = 0;
    double sum = 0.0;
    for (int64_t i = 0; i < rows; i++) {
        if (assign[i] < 0) continue;
        CHECK(assign[i] < cols);
        CHECK(!taken[assign[i]]);
        taken[assign[i]] = 1;
        matched++;
        sum += w[i * cols + assign[i]];
    }
    CHECK(matched == (rows < cols ? rows : cols));
    CHECK_NEAR(sum, total, 1e-12);
}

static void test_known_tables(void) {
    /* 3x3: the six permutations give 6, 11, 5, 9, 7, 6; the best (11) is
     * rows -> cols (0, 2, 1). */
    const double w3[9] = {4, 1, 3, 2, 0, 5, 3, 2, 2};
    int64_t a3[3];
    double total;
    CHECK_OK(dci_hungarian_max(w3, 3, 3, a3, &total));
    CHECK(a3[0] == 0 && a3[1] == 2 && a3[2] == 1);
    CHECK_NEAR(total, 11.0, 0);

    /* 2x4: greedy row by row takes 9 then 4 (13); the optimum is 8 + 10. */
    const double w24[8] = {1, 9, 2, 8, 3, 10, 4, 1};
    int64_t a24[2];
    CHECK_OK(dci_hungarian_max(w24, 2, 4, a24, &total));
    CHECK(a24[0] == 3 && a24[1] == 1);
    CHECK_NEAR(total, 18.0, 0);

    /* Its transpose (4x2): rows 1 and 3 are matched, rows 0 and 2 left out. */
    const double w42[8] = {1, 3, 9, 10, 2, 4, 8, 1};
    int64_t a42[4];
    CHECK_OK(dci_hungarian_max(w42, 4, 2, a42, &total));
    CHECK(a42[0] == -1 && a42[1] == 1 && a42[2] == -1 && a42[3] == 0);
    CHECK_NEAR(total, 18.0, 0);

    /* 1x1 and a single row. */
    const double one = -2.5;
    int64_t a1;
    CHECK_OK(dci_hungarian_max(&one, 1, 1, &a1, &total));
    CHECK(a1 == 0 && total == -2.5);
    const double row[5] = {3, -1, 7, 7.5, 0};
    CHECK_OK(dci_hungarian_max(row, 1, 5, &a1, NULL));
    CHECK(a1 == 3);
}

static void test_against_brute_force(void) {
    dci_rng r;
    dci_rng_init(&r, 2024, DCI_STREAM_TEST);
    double w[64];
    int64_t assign[8];
    int agree = 0, trials = 300;
    for (int t = 0; t < trials; t++) {
        int rows = 1 + (int)dci_rng_below(&r, 7), cols = 1 + (int)dci_rng_below(&r, 7);
        /* Small integer weights (with ties and negatives) half of the time. */
        int integer = t % 2;
        for (int k = 0; k < rows * cols; k++)
            w[k] = integer ? (double)dci_rng_below(&r, 5) - 1.0 : dci_rng_uniform(&r) * 10.0;
        double total;
        CHECK_OK(dci_hungarian_max(w, rows, cols, assign, &total));
        check_assignment(w, rows, cols, assign, total);
        agree += fabs(total - brute_max(w, rows, cols)) <= 1e-9;
    }
    CHECK_MSG(agree == trials, "%d of %d random tables optimal", agree, trials);
}

static void test_hungarian_errors(void) {
    const double w[4] = {1, 2, 3, NAN};
    int64_t a[2];
    CHECK_STATUS(dci_hungarian_max(NULL, 2, 2, a, NULL), DC_ERR_NULL);
    CHECK_STATUS(dci_hungarian_max(w, 2, 2, NULL, NULL), DC_ERR_NULL);
    CHECK_STATUS(dci_hungarian_max(w, 0, 2, a, NULL), DC_ERR_SHAPE);
    CHECK_STATUS(dci_hungarian_max(w, 2, -1, a, NULL), DC_ERR_SHAPE);
    CHECK_STATUS(dci_hungarian_max(w, 2, 2, a, NULL), DC_ERR_NONFINITE);
}

static void test_contingency(void) {
    /* Labels -5, 7, 7, -5, 2 map to ids in value order: -5 -> 0, 2 -> 1, 7 -> 2. */
    const int32_t labels[5] = {-5, 7, 7, -5, 2};
    int64_t ids[5], k;
    CHECK_OK(dci_labels_remap(labels, 5, ids, &k));
    CHECK(k == 3);
    CHECK(ids[0] == 0 && ids[1] == 2 && ids[2] == 2 && ids[3] == 0 && ids[4] == 1);

    /* truth:  a a a b b b   pred: x x y y z z
     * table:  a: x2 y1      b: y1 z2         (4 non-zero cells)
     * ordered pairs: SS = 2*(1+1) = 4, together in pred 2*3 = 6 -> SD = 2,
     * together in truth 2*6 = 12 -> DS = 8; of the 6*5 = 30 ordered pairs
     * that leaves 16 apart in both. */
    const int32_t truth[6] = {10, 10, 10, 20, 20, 20};
    const int32_t pred[6] = {1, 1, 2, 2, 3, 3};
    dci_contingency ct;
    CHECK_OK(dci_contingency_build(truth, pred, 6, &ct));
    CHECK(ct.rows == 2 && ct.cols == 3 && ct.nnz == 4);
    int64_t dense[2][3] = {{0}};
    for (int64_t e = 0; e < ct.nnz; e++) dense[ct.cell_row[e]][ct.cell_col[e]] += ct.cell_count[e];
    CHECK(dense[0][0] == 2 && dense[0][1] == 1 && dense[0][2] == 0);
    CHECK(dense[1][0] == 0 && dense[1][1] == 1 && dense[1][2] == 2);
    dci_pair_counts p = dci_contingency_pairs(&ct);
    CHECK(p.both == 4 && p.pred_only == 2 && p.truth_only == 8 && p.neither == 16);
    CHECK(p.both + p.pred_only + p.truth_only + p.neither == 6 * 5);
    dci_contingency_free(&ct);

    /* The all-in-one entry point agrees with the public functions. */
    dci_label_metrics all;
    double v;
    CHECK_OK(dci_label_metrics_all(truth, pred, 6, &all));
    CHECK_OK(dc_metrics_acc(truth, pred, 6, &v));
    CHECK(v == all.acc);
    CHECK_OK(dc_metrics_nmi(truth, pred, 6, DC_NMI_SQRT, &v));
    CHECK(v == all.nmi_sqrt);
    CHECK_OK(dc_metrics_nmi(truth, pred, 6, DC_NMI_ARITHMETIC, &v));
    CHECK(v == all.nmi_arithmetic);
    CHECK_OK(dc_metrics_ari(truth, pred, 6, &v));
    CHECK(v == all.ari);
    CHECK_OK(dc_metrics_f1(truth, pred, 6, &v));
    CHECK(v == all.f1);
    CHECK_STATUS(dci_label_metrics_all(truth, pred, 0, &all), DC_ERR_SHAPE);
}

static const dct_case cases[] = {
    DCT_CASE(known_tables), DCT_CASE(against_brute_force), DCT_CASE(hungarian_errors),
    DCT_CASE(contingency),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
