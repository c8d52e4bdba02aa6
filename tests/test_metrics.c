/* External metrics through the public API: hand-computed cases, invariances,
 * degenerate labelings and errors. (scikit-learn cross-checks on random
 * labelings are in tests/python/test_metrics_sklearn.py.) */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "deepclust.h"

#define LEN(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

typedef struct scores {
    double acc, nmi_sqrt, nmi_arith, ari, f1;
} scores;

static scores all_scores(const int32_t *truth, const int32_t *pred, int64_t n) {
    scores s = {NAN, NAN, NAN, NAN, NAN};
    CHECK_OK(dc_metrics_acc(truth, pred, n, &s.acc));
    CHECK_OK(dc_metrics_nmi(truth, pred, n, DC_NMI_SQRT, &s.nmi_sqrt));
    CHECK_OK(dc_metrics_nmi(truth, pred, n, DC_NMI_ARITHMETIC, &s.nmi_arith));
    CHECK_OK(dc_metrics_ari(truth, pred, n, &s.ari));
    CHECK_OK(dc_metrics_f1(truth, pred, n, &s.f1));
    return s;
}

static void check_scores_equal(scores a, scores b, double tol) {
    CHECK_NEAR(a.acc, b.acc, tol);
    CHECK_NEAR(a.nmi_sqrt, b.nmi_sqrt, tol);
    CHECK_NEAR(a.nmi_arith, b.nmi_arith, tol);
    CHECK_NEAR(a.ari, b.ari, tol);
    CHECK_NEAR(a.f1, b.f1, tol);
}

/* truth  a a a b b b
 * pred   x x y y z z       table   x y z
 *                                a 2 1 0
 *                                b 0 1 2
 * ACC: a->x, b->z match 4 of 6 = 2/3.
 * Unordered pairs (15): SS = C(2,2) + C(2,2) = 2; together in pred
 * 3 * C(2,2) = 3 -> SD = 1; together in truth 2 * C(3,2) = 6 -> DS = 4.
 * F1: P = 2/3, R = 2/6, F1 = 2PR/(P+R) = 4/9.
 * ARI: index 2, expected 6*3/15 = 1.2, max (6+3)/2 = 4.5 -> 0.8/3.3 = 8/33.
 * MI: cells (a,x), (b,z): 2 * (1/3) log((1/3)/((1/2)(1/3))) = (2/3) log 2;
 * cells (a,y), (b,y): (1/6) log((1/6)/((1/2)(1/3))) = 0. H(T) = log 2,
 * H(P) = log 3: NMI_sqrt = (2/3) sqrt(log 2 / log 3),
 * NMI_arith = (2/3) log 2 / ((log 2 + log 3) / 2). */
static void test_hand_case(void) {
    const int32_t truth[6] = {0, 0, 0, 1, 1, 1};
    const int32_t pred[6] = {0, 0, 1, 1, 2, 2};
    scores s = all_scores(truth, pred, 6);
    CHECK_NEAR(s.acc, 4.0 / 6.0, 1e-15);
    CHECK_NEAR(s.f1, 4.0 / 9.0, 1e-15);
    CHECK_NEAR(s.ari, 8.0 / 33.0, 1e-15);
    CHECK_NEAR(s.nmi_sqrt, (2.0 / 3.0) * sqrt(log(2.0) / log(3.0)), 1e-14);
    CHECK_NEAR(s.nmi_arith, (2.0 / 3.0) * log(2.0) / ((log(2.0) + log(3.0)) / 2.0), 1e-14);

    /* Invariance: arbitrary (negative, extreme) values, relabelled bijectively. */
    const int32_t pred2[6] = {INT32_MAX, INT32_MAX, -7, -7, INT32_MIN, INT32_MIN};
    const int32_t truth2[6] = {100000, 100000, 100000, -1, -1, -1};
    check_scores_equal(s, all_scores(truth2, pred2, 6), 1e-14);
    /* Symmetry: swapping the roles leaves every metric unchanged (F1 swaps P
     * and R, ACC transposes the table). */
    check_scores_equal(s, all_scores(pred, truth, 6), 1e-14);
    /* Sample order does not matter. */
    const int32_t truth3[6] = {1, 0, 1, 0, 1, 0};
    const int32_t pred3[6] = {2, 0, 1, 1, 2, 0};
    check_scores_equal(s, all_scores(truth3, pred3, 6), 1e-14);
}

/* Known values from the scikit-learn documentation of adjusted_rand_score,
 * recomputed by hand. */
static void test_ari_known(void) {
    double v;
    /* [0,0,1,1] vs [0,1,0,1]: SS = 0, SD = DS = 2, total 6; expected
     * 2*2/6 = 2/3, max 2 -> (0 - 2/3) / (2 - 2/3) = -1/2. */
    const int32_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    CHECK_OK(dc_metrics_ari(a, b, 4, &v));
    CHECK_NEAR(v, -0.5, 1e-15);
    /* [0,0,1,2] vs [0,0,1,1]: SS = 1, pred pairs 2, truth pairs 1, total 6;
     * expected 1/3, max 3/2 -> (2/3) / (7/6) = 4/7. */
    const int32_t c[4] = {0, 0, 1, 2}, d[4] = {0, 0, 1, 1};
    CHECK_OK(dc_metrics_ari(c, d, 4, &v));
    CHECK_NEAR(v, 4.0 / 7.0, 1e-15);
    /* Pure F1 check on the same pair: P = 1/2, R = 1 -> 2/3. */
    CHECK_OK(dc_metrics_f1(c, d, 4, &v));
    CHECK_NEAR(v, 2.0 / 3.0, 1e-15);
    /* SS = 0 with pairs on both sides: F1 = 0. */
    CHECK_OK(dc_metrics_f1(a, b, 4, &v));
    CHECK(v == 0.0);
}

static void test_acc_unequal_counts(void) {
    double v;
    /* Greedy fails here:    x y
     *                     a 3 2
     *                     b 2 0   greedy a->x gives 3; optimum a->y, b->x = 4. */
    const int32_t t1[7] = {0, 0, 0, 0, 0, 1, 1}, p1[7] = {0, 0, 0, 1, 1, 0, 0};
    CHECK_OK(dc_metrics_acc(t1, p1, 7, &v));
    CHECK_NEAR(v, 4.0 / 7.0, 1e-15);
    /* More clusters than classes: a: x2 y2, b: z2 w2 -> 2 + 2 of 8. */
    const int32_t t2[8] = {0, 0, 0, 0, 1, 1, 1, 1}, p2[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    CHECK_OK(dc_metrics_acc(t2, p2, 8, &v));
    CHECK_NEAR(v, 0.5, 1e-15);
    /* One class, six clusters: only one cluster can be matched. */
    const int32_t t3[6] = {4, 4, 4, 4, 4, 4}, p3[6] = {0, 1, 2, 3, 4, 5};
    CHECK_OK(dc_metrics_acc(t3, p3, 6, &v));
    CHECK_NEAR(v, 1.0 / 6.0, 1e-15);
    /* Fewer clusters than classes: classes 0: x2 y1, 1: y3, 2: y2; best is
     * 0->x (2) and 1->y (3): 5 of 8; class 2 has no cluster left. */
    const int32_t t4[8] = {0, 0, 0, 1, 1, 1, 2, 2}, p4[8] = {5, 5, 6, 6, 6, 6, 6, 6};
    CHECK_OK(dc_metrics_acc(t4, p4, 8, &v));
    CHECK_NEAR(v, 5.0 / 8.0, 1e-15);
    /* A constant prediction is matched to the largest class. */
    const int32_t t5[6] = {0, 0, 0, 1, 1, 2}, p5[6] = {9, 9, 9, 9, 9, 9};
    CHECK_OK(dc_metrics_acc(t5, p5, 6, &v));
    CHECK_NEAR(v, 0.5, 1e-15);
}

static void test_degenerate(void) {
    /* n = 1: the only labeling pair is a perfect match. */
    const int32_t one_t[1] = {-3}, one_p[1] = {12};
    scores s = all_scores(one_t, one_p, 1);
    scores ones = {1, 1, 1, 1, 1};
    check_scores_equal(s, ones, 0);

    /* Both constant: perfect (sklearn's NMI and ARI special case). */
    const int32_t c1[5] = {7, 7, 7, 7, 7}, c2[5] = {0, 0, 0, 0, 0};
    check_scores_equal(all_scores(c1, c2, 5), ones, 0);

    /* All singletons in both: perfect too; F1 by its documented convention. */
    const int32_t s1[5] = {0, 1, 2, 3, 4}, s2[5] = {9, 8, 7, 6, 5};
    check_scores_equal(all_scores(s1, s2, 5), ones, 1e-15); /* NMI: log 5 / log 5 */

    /* One constant, the other not: no information, no pair agreement. */
    const int32_t split[5] = {0, 0, 1, 1, 1};
    s = all_scores(c1, split, 5);
    CHECK(s.nmi_sqrt == 0.0 && s.nmi_arith == 0.0 && s.ari == 0.0);
    CHECK_NEAR(s.acc, 3.0 / 5.0, 1e-15);
    /* F1: P = 1 (all pred pairs are truth pairs), R = 4/10 -> 2*0.4/1.4. */
    CHECK_NEAR(s.f1, 0.8 / 1.4, 1e-15);
    s = all_scores(split, c1, 5);
    CHECK(s.nmi_sqrt == 0.0 && s.nmi_arith == 0.0 && s.ari == 0.0);

    /* Singletons against a constant: F1 has pairs on one side only -> 0. */
    s = all_scores(s1, c1, 5);
    CHECK(s.f1 == 0.0 && s.nmi_sqrt == 0.0 && s.ari == 0.0);
    CHECK_NEAR(s.acc, 1.0 / 5.0, 1e-15);
    s = all_scores(c1, s1, 5);
    CHECK(s.f1 == 0.0);

    /* Independent labelings: MI is exactly 0 in exact arithmetic. */
    const int32_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    s = all_scores(a, b, 4);
    CHECK(s.nmi_sqrt == 0.0 && s.nmi_arith == 0.0);
    CHECK_NEAR(s.acc, 0.5, 1e-15);
}

/* Large labelings where a dense table would be n x n: must stay fast and exact. */
static void test_large_sparse(void) {
    enum { N = 30000 };
    int32_t *truth = malloc(N * sizeof *truth), *pred = malloc(N * sizeof *pred);
    for (int i = 0; i < N; i++) {
        truth[i] = i % 3;
        pred[i] = N - i;
    }
    double v;
    CHECK_OK(dc_metrics_acc(truth, pred, N, &v));
    CHECK_NEAR(v, 3.0 / N, 1e-15);
    CHECK_OK(dc_metrics_acc(pred, pred, N, &v));
    CHECK(v == 1.0);
    CHECK_OK(dc_metrics_f1(pred, pred, N, &v));
    CHECK(v == 1.0);
    CHECK_OK(dc_metrics_ari(truth, pred, N, &v));
    CHECK(v == 0.0);
    free(truth);
    free(pred);
}

static void test_inter_cluster_variance(void) {
    double v;
    /* 1-D: clusters {0, 2} and {10}; global mean 4, cluster means 1 and 10:
     * (9 + 36) / 2 = 22.5 (weighting by size would give 18). */
    const float z1[3] = {0, 10, 2};
    const int32_t l1[3] = {-1, 5, -1};
    CHECK_OK(dc_metrics_inter_cluster_variance(z1, 3, 1, l1, &v));
    CHECK_NEAR(v, 22.5, 1e-12);
    /* 2-D rectangle: cluster means (1,0), (1,4), global (1,2): 4 each. */
    const float z2[8] = {0, 0, 2, 0, 0, 4, 2, 4};
    const int32_t l2[4] = {1, 1, -3, -3};
    CHECK_OK(dc_metrics_inter_cluster_variance(z2, 4, 2, l2, &v));
    CHECK_NEAR(v, 4.0, 1e-12);
    /* One cluster: its mean is the global mean. */
    const int32_t l3[4] = {2, 2, 2, 2};
    CHECK_OK(dc_metrics_inter_cluster_variance(z2, 4, 2, l3, &v));
    CHECK_NEAR(v, 0.0, 1e-12);

    const float bad[2] = {1, NAN};
    const int32_t l4[2] = {0, 1};
    CHECK_STATUS(dc_metrics_inter_cluster_variance(bad, 2, 1, l4, &v), DC_ERR_NONFINITE);
    CHECK_STATUS(dc_metrics_inter_cluster_variance(NULL, 2, 1, l4, &v), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_inter_cluster_variance(z1, 3, 1, NULL, &v), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_inter_cluster_variance(z1, 3, 1, l1, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_inter_cluster_variance(z1, 0, 1, l1, &v), DC_ERR_SHAPE);
    CHECK_STATUS(dc_metrics_inter_cluster_variance(z1, 3, 0, l1, &v), DC_ERR_SHAPE);
}

static void test_errors(void) {
    const int32_t t[2] = {0, 1};
    double v = 42.0;
    CHECK_STATUS(dc_metrics_acc(NULL, t, 2, &v), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_acc(t, NULL, 2, &v), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_acc(t, t, 2, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_nmi(NULL, t, 2, DC_NMI_SQRT, &v), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_nmi(t, t, 2, DC_NMI_SQRT, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_ari(t, NULL, 2, &v), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_f1(t, t, 2, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_metrics_acc(t, t, 0, &v), DC_ERR_SHAPE);
    CHECK_STATUS(dc_metrics_nmi(t, t, -1, DC_NMI_ARITHMETIC, &v), DC_ERR_SHAPE);
    CHECK_STATUS(dc_metrics_ari(t, t, 0, &v), DC_ERR_SHAPE);
    CHECK_STATUS(dc_metrics_f1(t, t, 0, &v), DC_ERR_SHAPE);
    CHECK_STATUS(dc_metrics_nmi(t, t, 2, (dc_nmi_norm)7, &v), DC_ERR_INVALID_ARG);
    CHECK(v == 42.0); /* failures leave the output alone */
}

/* No hidden shared state: concurrent calls give the serial answers. */
typedef struct job {
    int32_t truth[64], pred[64];
    scores expect, got[20];
} job;

static void *run_job(void *arg) {
    job *j = arg;
    for (int r = 0; r < 20; r++) {
        scores *s = &j->got[r];
        dc_metrics_acc(j->truth, j->pred, 64, &s->acc);
        dc_metrics_nmi(j->truth, j->pred, 64, DC_NMI_SQRT, &s->nmi_sqrt);
        dc_metrics_nmi(j->truth, j->pred, 64, DC_NMI_ARITHMETIC, &s->nmi_arith);
        dc_metrics_ari(j->truth, j->pred, 64, &s->ari);
        dc_metrics_f1(j->truth, j->pred, 64, &s->f1);
    }
    return NULL;
}

static void test_threads(void) {
    job jobs[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 64; i++) {
            jobs[k].truth[i] = (i * (k + 3)) % 5;
            jobs[k].pred[i] = (i * 7 + k) % (k + 2) - 1;
        }
        jobs[k].expect = all_scores(jobs[k].truth, jobs[k].pred, 64);
    }
    for (int k = 0; k < 4; k++) pthread_create(&th[k], NULL, run_job, &jobs[k]);
    for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 4; k++)
        for (int r = 0; r < 20; r++) check_scores_equal(jobs[k].got[r], jobs[k].expect, 0);
}

static const dct_case cases[] = {
    DCT_CASE(hand_case), DCT_CASE(ari_known), DCT_CASE(acc_unequal_counts), DCT_CASE(degenerate),
    DCT_CASE(large_sparse), DCT_CASE(inter_cluster_variance), DCT_CASE(errors), DCT_CASE(threads),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
