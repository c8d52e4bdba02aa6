/* Clustering layer: soft assignment, target distribution, losses and their
 * gradients (finite differences against an independent double-precision
 * reference). The representation weighting and the neighbour-max branch
 * have their own programs (test_weighting.c, test_neighbor_max.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "cluster/assign.h"
#include "cluster/weighting.h"
#include "core/rng.h"
#include "deepclust/status.h"
#include "test_random.h"

/* Random positive weights with rows summing to 1, deliberately uneven. */
static void random_weights(float *w, int64_t K, int64_t M) {
    for (int64_t j = 0; j < K; j++) {
        double sum = 0.0;
        for (int64_t m = 0; m < M; m++) sum += (w[j * M + m] = (float)unif(0.05, 1.0));
        for (int64_t m = 0; m < M; m++) w[j * M + m] = (float)(w[j * M + m] / sum);
    }
}

/* ---- independent double-precision reference of the losses ---------------- */

typedef struct {
    double a, b;
    int normalise;
    dci_closs loss;
} ref_cfg;

static double ref_loss(ref_cfg c, const double *z, const double *r, const float *w,
                       const float *p, int64_t B, int64_t M, int64_t K) {
    double total = 0.0;
    for (int64_t i = 0; i < B; i++) {
        double k[512], ksum = 0.0;
        for (int64_t j = 0; j < K; j++) {
            double s = 0.0;
            for (int64_t m = 0; m < M; m++) {
                double d = z[i * M + m] - r[j * M + m];
                s += (w ? w[j * M + m] : 1.0) * d * d;
            }
            k[j] = 1.0 / (1.0 + c.a * pow(s, c.b));
            ksum += k[j];
        }
        for (int64_t j = 0; j < K; j++) {
            double pij = p[i * K + j];
            double qhat = k[j] / ksum;
            double q = c.normalise ? qhat : k[j];
            if (c.loss == DCI_CLOSS_CE) total -= pij * log(qhat);
            if (c.loss == DCI_CLOSS_CE_UNNORM) total -= pij * log(q);
            if (c.loss == DCI_CLOSS_KL && pij > 0) total += pij * log(pij / qhat);
        }
    }
    return total / (double)B;
}

/* Compares the library's loss and gradients with the reference and central
 * differences (h in double on the float inputs). Returns max relative error. */
static double grad_check(ref_cfg c, const float *z, const float *r, const float *w,
                         const float *p, int64_t B, int64_t M, int64_t K, double h) {
    dci_kernel kern = {c.a, c.b, c.normalise};
    float *dz = calloc((size_t)(B * M), sizeof *dz), *dr = calloc((size_t)(K * M), sizeof *dr);
    double *zd = malloc(sizeof(double) * (size_t)(B * M));
    double *rd = malloc(sizeof(double) * (size_t)(K * M));
    for (int64_t t = 0; t < B * M; t++) zd[t] = z[t];
    for (int64_t t = 0; t < K * M; t++) rd[t] = r[t];
    double value = NAN;
    CHECK_OK(dci_assign_loss(&(dci_assign_batch){kern, z, B, M, r, w, K}, c.loss, p, 1.0, dz, dr,
                             &value));
    double ref = ref_loss(c, zd, rd, w, p, B, M, K);
    CHECK_NEAR(value, ref, 1e-9 * (1.0 + fabs(ref)));

    double gmax = 1e-12, err = 0.0;
    for (int64_t t = 0; t < B * M; t++) gmax = fmax(gmax, fabs(dz[t]));
    for (int64_t t = 0; t < K * M; t++) gmax = fmax(gmax, fabs(dr[t]));
    for (int pass = 0; pass < 2; pass++) {
        double *x = pass ? rd : zd;
        const float *g = pass ? dr : dz;
        int64_t n = pass ? K * M : B * M;
        for (int64_t t = 0; t < n; t++) {
            double x0 = x[t];
            x[t] = x0 + h;
            double lp = ref_loss(c, zd, rd, w, p, B, M, K);
            x[t] = x0 - h;
            double lm = ref_loss(c, zd, rd, w, p, B, M, K);
            x[t] = x0;
            double fd = (lp - lm) / (2 * h);
            CHECK(isfinite(g[t]));
            double e = fabs(fd - g[t]) / (gmax + fabs(fd));
            if (e > err) err = e;
        }
    }
    free(dz);
    free(dr);
    free(zd);
    free(rd);
    return err;
}

/* ---- hand examples ---------------------------------------------------------- */

static void test_hand_example(void) {
    /* 1-D, z = {0, 1}, r = {0, 2}, a = 1, b = 1/2 so a s^b = |z - r|:
     * q = [[1, 1/3], [1/2, 1/2]], f = [3/2, 5/6],
     * p row 0 ∝ [1/(3/2), (1/9)/(5/6)] = [2/3, 2/15] -> [5/6, 1/6],
     * p row 1 ∝ [(1/4)/(3/2), (1/4)/(5/6)] = [1/6, 3/10] -> [5/14, 9/14]. */
    const float z[2] = {0.0f, 1.0f}, r[2] = {0.0f, 2.0f};
    float q[4], p[4];
    CHECK_OK(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(1.0, 0.5), z, 2, 1, r, NULL, 2}, q));
    CHECK_NEAR(q[0], 1.0, 1e-7);
    CHECK_NEAR(q[1], 1.0 / 3, 1e-7);
    CHECK_NEAR(q[2], 0.5, 1e-7);
    CHECK_NEAR(q[3], 0.5, 1e-7);
    CHECK_OK(dci_assign_target(q, 2, 2, p));
    CHECK_NEAR(p[0], 5.0 / 6, 1e-7);
    CHECK_NEAR(p[1], 1.0 / 6, 1e-7);
    CHECK_NEAR(p[2], 5.0 / 14, 1e-7);
    CHECK_NEAR(p[3], 9.0 / 14, 1e-7);

    /* CE through qhat: qhat = [[3/4, 1/4], [1/2, 1/2]],
     * L = -(1/2) [5/6 log 3/4 + 1/6 log 1/4 + log 1/2] = 0.58196565056... */
    double L = 0;
    CHECK_OK(
        dci_assign_loss(&(dci_assign_batch){dci_kernel_proposed(1.0, 0.5), z, 2, 1, r, NULL, 2},
                        DCI_CLOSS_CE, p, 1.0, NULL, NULL, &L));
    CHECK_NEAR(L, 0.5 * 1.1639313011230779, 1e-7); /* p is float */
    /* Unnormalised: -(1/2) [5/6 log 1 + 1/6 log 1/3 + log 1/2] */
    CHECK_OK(
        dci_assign_loss(&(dci_assign_batch){dci_kernel_proposed(1.0, 0.5), z, 2, 1, r, NULL, 2},
                        DCI_CLOSS_CE_UNNORM, p, 1.0, NULL, NULL, &L));
    CHECK_NEAR(L, -0.5 * (log(1.0 / 3) / 6 + log(0.5)), 1e-7);

    /* The published defaults: s = 1 -> 1/2.93; s = 4 -> 1/(1 + 1.93 * 4^0.79),
     * 4^0.79 = exp(0.79 ln 4) = 2.98968... */
    const float z2[2] = {0.0f, 3.0f}, r2[2] = {1.0f, 2.0f};
    CHECK_OK(dci_assign_q(
        &(dci_assign_batch){dci_kernel_proposed(DCI_KERNEL_A_DEFAULT, DCI_KERNEL_B_DEFAULT), z2, 2,
                            1, r2, NULL, 2},
        q));
    CHECK_NEAR(q[0], 1.0 / 2.93, 1e-7);
    CHECK_NEAR(q[1], 1.0 / (1.0 + 1.93 * exp(0.79 * log(4.0))), 1e-7);
    CHECK_NEAR(q[1], 0.147708, 1e-6);
    CHECK_NEAR(q[3], 1.0 / 2.93, 1e-7);

    /* Student-t on the first example: k = [[1, 1/5], [1/2, 1/2]] -> rows normalised. */
    CHECK_OK(dci_assign_q(&(dci_assign_batch){dci_kernel_student(), z, 2, 1, r, NULL, 2}, q));
    CHECK_NEAR(q[0], 5.0 / 6, 1e-7);
    CHECK_NEAR(q[1], 1.0 / 6, 1e-7);
    CHECK_NEAR(q[2], 0.5, 1e-7);

    /* Weighted distance: w scales each dimension's squared difference. */
    const float z3[2] = {1.0f, 2.0f}, r3[2] = {0.0f, 0.0f}, w3[2] = {0.25f, 0.75f};
    CHECK_OK(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(2.0, 1.0), z3, 1, 2, r3, w3, 1}, q));
    CHECK_NEAR(q[0], 1.0 / (1.0 + 2.0 * (0.25 + 3.0)), 1e-7);

    int32_t lab[3];
    const float qq[6] = {0.1f, 0.7f, 0.7f, 0.9f, 0.2f, 0.1f};
    dci_assign_labels(qq, 2, 3, lab);
    CHECK(lab[0] == 1); /* tie between 1 and 2 -> lowest */
    CHECK(lab[1] == 0);
}

static void test_row_sums(void) {
    enum { B = 50, M = 4, K = 6 };
    float z[B * M], r[K * M], w[K * M], q[B * K], p[B * K];
    fill(z, B * M, -3, 3);
    fill(r, K * M, -3, 3);
    random_weights(w, K, M);
    CHECK_OK(dci_assign_q(&(dci_assign_batch){dci_kernel_student(), z, B, M, r, w, K}, q));
    double worst = 0;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int j = 0; j < K; j++) s += q[i * K + j];
        worst = fmax(worst, fabs(s - 1));
    }
    CHECK(worst < 1e-6);
    CHECK_OK(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(1.93, 0.79), z, B, M, r, w, K}, q));
    int in01 = 1;
    for (int t = 0; t < B * K; t++) in01 &= q[t] > 0 && q[t] <= 1;
    CHECK(in01);
    CHECK_OK(dci_assign_target(q, B, K, p));
    worst = 0;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int j = 0; j < K; j++) s += p[i * K + j];
        worst = fmax(worst, fabs(s - 1));
    }
    CHECK(worst < 1e-6);

    /* Degenerate target rows: an all-zero q row gets the uniform row, an
     * all-zero cluster contributes zero, never NaN. */
    const float q0[6] = {0, 0, 0, 0.5f, 0.0f, 0.5f};
    float p0[6];
    CHECK_OK(dci_assign_target(q0, 2, 3, p0));
    CHECK_NEAR(p0[0], 1.0 / 3, 1e-7);
    CHECK_NEAR(p0[2], 1.0 / 3, 1e-7);
    CHECK_NEAR(p0[3], 0.5, 1e-7);
    CHECK(p0[4] == 0.0f);
}

/* ---- gradients --------------------------------------------------------------- */

static void test_gradients(void) {
    enum { B = 7, M = 3, K = 4 };
    float z[B * M], r[K * M], w[K * M], q[B * K], p[B * K];
    fill(r, K * M, -2, 2);
    fill(z, B * M, -2.5, 2.5);
    random_weights(w, K, M);
    /* Row 1 close to centre 2 (s ~ 1e-6), row 2 exactly on centre 0 (s = 0):
     * where s^b with b < 1 is steep or not differentiable. */
    for (int m = 0; m < M; m++) {
        z[1 * M + m] = r[2 * M + m] + (m == 0 ? 1e-3f : -7e-4f);
        z[2 * M + m] = r[0 * M + m];
    }
    CHECK_OK(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(1.93, 0.79), z, B, M, r, w, K}, q));
    CHECK_OK(dci_assign_target(q, B, K, p));

    const ref_cfg cfgs[] = {
        {1.93, 0.79, 0, DCI_CLOSS_CE},        {1.93, 0.79, 0, DCI_CLOSS_CE_UNNORM},
        {1.0, 1.0, 1, DCI_CLOSS_KL},          {1.0, 1.0, 1, DCI_CLOSS_CE},
        {0.7, 1.6, 0, DCI_CLOSS_CE},          {1.93, 0.79, 0, DCI_CLOSS_KL},
    };
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        double e = grad_check(cfgs[c], z, r, w, p, B, M, K, 1e-6);
        CHECK_MSG(e < 1e-5, "config %zu: relative gradient error %g", c, e);
        double e2 = grad_check(cfgs[c], z, r, NULL, p, B, M, K, 1e-6);
        CHECK_MSG(e2 < 1e-5, "config %zu (w = 1): relative gradient error %g", c, e2);
    }

    /* Non-normalised random p rows (the formulas must not assume sum p = 1). */
    fill(p, B * K, 0, 1);
    double e = grad_check(cfgs[0], z, r, w, p, B, M, K, 1e-6);
    CHECK_MSG(e < 1e-5, "unnormalised p: relative gradient error %g", e);

    /* Scale and accumulation: dz = 1 + 0.5 grad, dr = -2 + 0.5 grad. */
    float dz1[B * M] = {0}, dr1[K * M] = {0}, dz2[B * M], dr2[K * M];
    for (int t = 0; t < B * M; t++) dz2[t] = 1.0f;
    for (int t = 0; t < K * M; t++) dr2[t] = -2.0f;
    dci_kernel kp = dci_kernel_proposed(1.93, 0.79);
    CHECK_OK(dci_assign_loss(&(dci_assign_batch){kp, z, B, M, r, w, K}, DCI_CLOSS_CE, p, 1.0, dz1,
                             dr1, NULL));
    CHECK_OK(dci_assign_loss(&(dci_assign_batch){kp, z, B, M, r, w, K}, DCI_CLOSS_CE, p, 0.5, dz2,
                             dr2, NULL));
    double worst = 0;
    for (int t = 0; t < B * M; t++) worst = fmax(worst, fabs(dz2[t] - (1 + 0.5 * dz1[t])));
    for (int t = 0; t < K * M; t++) worst = fmax(worst, fabs(dr2[t] - (-2 + 0.5 * dr1[t])));
    CHECK(worst < 1e-6);
}

/* s below the floor with z != r: for b < 1/2 the true gradient diverges as
 * z -> r; the guard must keep it finite and never larger than the true one. */
static void test_guard(void) {
    const float r[2] = {0.0f, 5.0f};
    const float z[1] = {1e-7f}, zc[1] = {0.0f}; /* s = 1e-14 < DCI_ASSIGN_S_FLOOR; s = 0 */
    const float p[2] = {0.9f, 0.1f};
    const double bs[3] = {0.79, 0.5, 0.2};
    for (int t = 0; t < 3; t++) {
        for (int lf = 0; lf < 3; lf++) {
            dci_kernel kern = dci_kernel_proposed(1.93, bs[t]);
            float dz[1] = {0}, dr[2] = {0, 0}, dz0[1] = {0}, dr0[2] = {0, 0};
            double L, L0;
            CHECK_OK(dci_assign_loss(&(dci_assign_batch){kern, z, 1, 1, r, NULL, 2}, (dci_closs)lf,
                                     p, 1.0, dz, dr, &L));
            CHECK_OK(dci_assign_loss(&(dci_assign_batch){kern, zc, 1, 1, r, NULL, 2}, (dci_closs)lf,
                                     p, 1.0, dz0, dr0, &L0));
            CHECK(isfinite(L) && isfinite(dz[0]) && isfinite(dr[0]) && isfinite(dr[1]));
            CHECK(isfinite(L0) && isfinite(dz0[0]) && dr0[0] == 0.0f && isfinite(dr0[1]));
            /* The centre-0 term's share: at most its true size 2ab s^(b-1) |z| (s = z^2)
             * times |dL/dlog k| <= 1; for b > 1/2 it vanishes at the centre. */
            double d = 1e-7, share = fabs((double)dz[0] - dz0[0]);
            double bound = 2 * 1.93 * bs[t] * pow(d * d, bs[t] - 1) * d;
            CHECK_MSG(share <= bound, "b = %g: centre term %g > %g", bs[t], share, bound);
            if (bs[t] > 0.5) CHECK_MSG(share < 1e-3, "b = %g: centre term %g", bs[t], share);
        }
    }
}

static void test_large_k(void) {
    /* K*M beyond the on-stack scratch: heap path, same results. */
    enum { B = 3, M = 8, K = 150 };
    static float z[B * M], r[K * M], w[K * M], q[B * K], p[B * K];
    fill(z, B * M, -1, 1);
    fill(r, K * M, -1, 1);
    random_weights(w, K, M);
    CHECK_OK(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(1.93, 0.79), z, B, M, r, w, K}, q));
    CHECK_OK(dci_assign_target(q, B, K, p));
    ref_cfg c = {1.93, 0.79, 0, DCI_CLOSS_CE};
    double e = grad_check(c, z, r, w, p, B, M, K, 1e-6);
    CHECK_MSG(e < 1e-5, "large K: relative gradient error %g", e);
}

static void test_loss_errors(void) {
    const float z[2] = {0, 1}, r[2] = {0, 2}, p[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    float q[4];
    CHECK_STATUS(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(0.0, 0.79), z, 2, 1, r, NULL, 2}, q),
        DC_ERR_INVALID_ARG);
    CHECK_STATUS(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(1.93, -1.0), z, 2, 1, r, NULL, 2}, q),
        DC_ERR_INVALID_ARG);
    CHECK_STATUS(
        dci_assign_q(&(dci_assign_batch){dci_kernel_proposed(NAN, 0.79), z, 2, 1, r, NULL, 2}, q),
        DC_ERR_INVALID_ARG);
    CHECK_STATUS(
        dci_assign_loss(&(dci_assign_batch){dci_kernel_proposed(1.93, 0.0), z, 2, 1, r, NULL, 2},
                        DCI_CLOSS_CE, p, 1.0, NULL, NULL, NULL),
        DC_ERR_INVALID_ARG);
    CHECK_STATUS(
        dci_assign_loss(&(dci_assign_batch){dci_kernel_proposed(1.93, 0.79), z, 2, 1, r, NULL, 2},
                        (dci_closs)7, p, 1.0, NULL, NULL, NULL),
        DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_assign_q(&(dci_assign_batch){dci_kernel_student(), z, 2, 1, r, NULL, 0}, q),
                 DC_ERR_K_RANGE);
    CHECK_STATUS(dci_assign_q(&(dci_assign_batch){dci_kernel_student(), z, 0, 1, r, NULL, 2}, q),
                 DC_ERR_SHAPE);
    CHECK_STATUS(dci_assign_q(&(dci_assign_batch){dci_kernel_student(), NULL, 2, 1, r, NULL, 2}, q),
                 DC_ERR_NULL);
    const float zn[2] = {0, NAN};
    CHECK_STATUS(
        dci_assign_loss(&(dci_assign_batch){dci_kernel_proposed(1.93, 0.79), zn, 2, 1, r, NULL, 2},
                        DCI_CLOSS_CE, p, 1.0, NULL, NULL, NULL),
        DC_ERR_NUMERIC);
}

/* A few plain gradient steps on z and r with P fixed must lower each loss. */
static void test_descent(void) {
    enum { B = 40, M = 2, K = 2 };
    float z[B * M], r[K * M], q[B * K], p[B * K], w[K * M];
    const dci_kernel kerns[3] = {dci_kernel_proposed(1.93, 0.79), dci_kernel_proposed(1.93, 0.79),
                                 dci_kernel_student()};
    const dci_closs losses[3] = {DCI_CLOSS_CE, DCI_CLOSS_CE_UNNORM, DCI_CLOSS_KL};
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < B; i++) {
            double cx = i < B / 2 ? -2 : 2;
            z[i * M] = (float)(cx + unif(-1.2, 1.2));
            z[i * M + 1] = (float)unif(-1.2, 1.2);
        }
        const float r0[K * M] = {-0.5f, 0.3f, 0.6f, -0.2f};
        for (int t = 0; t < K * M; t++) r[t] = r0[t];
        dci_weighting_init(w, K, M);
        CHECK_OK(dci_assign_q(&(dci_assign_batch){kerns[c], z, B, M, r, w, K}, q));
        CHECK_OK(dci_assign_target(q, B, K, p));
        /* CE through qhat is H(P) + KL(P||Qhat): only the KL part can go. */
        double floor_ = 0;
        if (losses[c] == DCI_CLOSS_CE)
            for (int t = 0; t < B * K; t++) floor_ -= p[t] > 0 ? p[t] * log(p[t]) / B : 0;
        double first = 0, prev = INFINITY, L = 0;
        int monotone = 1;
        for (int step = 0; step < 30; step++) {
            float dz[B * M] = {0}, dr[K * M] = {0};
            CHECK_OK(dci_assign_loss(&(dci_assign_batch){kerns[c], z, B, M, r, w, K}, losses[c], p,
                                     1.0, dz, dr, &L));
            if (step == 0) first = L;
            monotone &= L <= prev + 1e-12;
            prev = L;
            /* dz is the gradient of a mean: scale by B for per-sample steps. */
            for (int t = 0; t < B * M; t++) z[t] -= 0.2f * (float)B * dz[t];
            for (int t = 0; t < K * M; t++) r[t] -= 0.2f * dr[t];
        }
        CHECK_MSG(monotone && L - floor_ < 0.5 * (first - floor_),
                  "loss %d: %g -> %g (floor %g, monotone %d)", c, first, L, floor_, monotone);
    }
}

static const dct_case cases[] = {
    DCT_CASE(hand_example), DCT_CASE(row_sums),    DCT_CASE(gradients), DCT_CASE(guard),
    DCT_CASE(large_k),      DCT_CASE(loss_errors), DCT_CASE(descent),
};

int main(int argc, char **argv) {
    dci_rng_init(&rng, 12345, DCI_STREAM_TEST);
    return dct_run(cases, DCT_COUNT(cases), argc, argv);
}
