/* k-means: hand-computed cases, a naive double-precision Lloyd as reference,
 * blob recovery, empty clusters, degenerate sizes, errors, and the "kmeans"
 * solver method end to end. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster/kmeans.h"
#include "core/rng.h"
#include "deepclust.h"

/* n points around `nc` centres spaced `sep` apart on the diagonal, plus offset. */
static float *blobs(int64_t n, int64_t d, int64_t nc, double sep, double sd, double offset,
                    uint64_t seed, int32_t *truth) {
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = i % nc;
        if (truth) truth[i] = (int32_t)c;
        for (int64_t j = 0; j < d; j++)
            x[i * d + j] = (float)(offset + ((j % nc) == c ? sep : 0.0) + sd * dci_rng_normal(&r));
    }
    return x;
}

/* Same partition up to renaming the clusters. */
static int same_partition(const int32_t *a, const int32_t *b, int64_t n, int64_t k) {
    int32_t *ab = malloc(sizeof(int32_t) * (size_t)k), *ba = malloc(sizeof(int32_t) * (size_t)k);
    for (int64_t j = 0; j < k; j++) ab[j] = ba[j] = -1;
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        if (a[i] < 0 || a[i] >= k || b[i] < 0 || b[i] >= k) ok = 0;
        else if (ab[a[i]] < 0 && ba[b[i]] < 0) {
            ab[a[i]] = b[i];
            ba[b[i]] = a[i];
        } else if (ab[a[i]] != b[i] || ba[b[i]] != a[i]) ok = 0;
    }
    free(ab);
    free(ba);
    return ok;
}

static double inertia_of(const float *x, int64_t n, int64_t d, const float *c, const int32_t *l) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double t = (double)x[i * d + j] - c[(int64_t)l[i] * d + j];
            s += t * t;
        }
    return s;
}

/* Textbook Lloyd in double from given centres, to a fixed point. */
static void naive_lloyd(const float *x, int64_t n, int64_t d, int64_t k, double *c, int32_t *l) {
    double *sum = malloc(sizeof(double) * (size_t)(k * d));
    int64_t *cnt = malloc(sizeof(int64_t) * (size_t)k);
    for (int it = 0; it < 1000; it++) {
        int changed = 0;
        for (int64_t i = 0; i < n; i++) {
            int32_t best = 0;
            double bv = INFINITY;
            for (int64_t j = 0; j < k; j++) {
                double s = 0.0;
                for (int64_t t = 0; t < d; t++) {
                    double u = x[i * d + t] - c[j * d + t];
                    s += u * u;
                }
                if (s < bv) {
                    bv = s;
                    best = (int32_t)j;
                }
            }
            changed |= it == 0 || l[i] != best;
            l[i] = best;
        }
        if (!changed) break;
        memset(sum, 0, sizeof(double) * (size_t)(k * d));
        memset(cnt, 0, sizeof(int64_t) * (size_t)k);
        for (int64_t i = 0; i < n; i++) {
            cnt[l[i]]++;
            for (int64_t t = 0; t < d; t++) sum[l[i] * d + t] += x[i * d + t];
        }
        for (int64_t j = 0; j < k; j++)
            if (cnt[j])
                for (int64_t t = 0; t < d; t++) c[j * d + t] = sum[j * d + t] / (double)cnt[j];
    }
    free(sum);
    free(cnt);
}

static int all_finite(const float *v, int64_t m) {
    for (int64_t i = 0; i < m; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static int all_nonempty(const int32_t *l, int64_t n, int64_t k) {
    int64_t *cnt = calloc((size_t)k, sizeof(int64_t));
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        if (l[i] < 0 || l[i] >= k) ok = 0;
        else cnt[l[i]]++;
    }
    for (int64_t j = 0; j < k; j++) ok &= cnt[j] > 0;
    free(cnt);
    return ok;
}

static int cancel_cb(void *u, const char *phase, long long done, long long total, double v) {
    (void)phase; (void)total; (void)v;
    *(long long *)u = done;
    return done >= 2;
}

static void test_hand(void) {
    /* 1-D: {0, 1, 10, 11}, k = 2 -> centres 0.5 and 10.5, inertia 4 * 0.25. */
    const float x[] = {0, 1, 10, 11};
    int32_t l[4];
    float c[2];
    double in = -1;
    int64_t its = 0;
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    CHECK(o.n_init == 10 && o.max_iter == 300 && o.tol == 1e-4);
    CHECK_OK(dci_kmeans(x, 4, 1, 2, &o, l, c, &in, &its));
    CHECK_NEAR(in, 1.0, 1e-12);
    CHECK(l[0] == l[1] && l[2] == l[3] && l[0] != l[2]);
    CHECK_NEAR(c[l[0]], 0.5, 1e-6);
    CHECK_NEAR(c[l[2]], 10.5, 1e-6);
    CHECK(its >= 1);

    /* Assignment against given centres: nearest by hand, inertia by hand. */
    const float p[] = {0, 0, 3, 4, 10, 0, 6, 1};
    const float cc[] = {0, 1, 9, 0, 4, 4};
    int32_t pl[4];
    CHECK_OK(dci_kmeans_assign(p, 4, 2, cc, 3, pl, &in));
    CHECK(pl[0] == 0 && pl[1] == 2 && pl[2] == 1 && pl[3] == 1);
    /* 1 + 1 + 1 + (9 + 1) */
    CHECK_NEAR(in, 13.0, 1e-9);
}

static void test_blobs(void) {
    const int64_t n = 600, d = 6, k = 4;
    int32_t truth[600], l[600];
    float c[4 * 6];
    float *x = blobs(n, d, k, 10.0, 0.5, 0.0, 1, truth);
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    double in = 0;
    int64_t its = 0;
    CHECK_OK(dci_kmeans(x, n, d, k, &o, l, c, &in, &its));
    CHECK(same_partition(truth, l, n, k));
    CHECK_NEAR(in, inertia_of(x, n, d, c, l), 1e-6 * in);
    /* Lloyd fixed point: every point sits with its nearest centre, every
     * centre is the mean of its points. */
    double *mc = calloc((size_t)(k * d), sizeof(double));
    int64_t cnt[4] = {0};
    int nearest = 1;
    for (int64_t i = 0; i < n; i++) {
        double own = 0, bestd = INFINITY;
        for (int64_t j = 0; j < k; j++) {
            double s = 0;
            for (int64_t t = 0; t < d; t++) s += pow((double)x[i * d + t] - c[j * d + t], 2);
            if (j == l[i]) own = s;
            if (s < bestd) bestd = s;
        }
        nearest &= own <= bestd * (1 + 1e-5) + 1e-6;
        cnt[l[i]]++;
        for (int64_t t = 0; t < d; t++) mc[l[i] * d + t] += x[i * d + t];
    }
    CHECK(nearest);
    double maxdiff = 0;
    for (int64_t j = 0; j < k; j++)
        for (int64_t t = 0; t < d; t++) maxdiff = fmax(maxdiff, fabs(mc[j * d + t] / cnt[j] - c[j * d + t]));
    CHECK_MSG(maxdiff < 1e-4, "centre vs mean %g", maxdiff);
    free(mc);

    /* Far from the origin (the shifted-distance path): same partition. */
    float *xf = blobs(n, d, k, 1.0, 0.05, 3.0e4, 1, truth);
    CHECK_OK(dci_kmeans(xf, n, d, k, &o, l, c, &in, NULL));
    CHECK(same_partition(truth, l, n, k));
    CHECK_NEAR(in, inertia_of(xf, n, d, c, l), 1e-5 * in);
    CHECK(in < n * d * 0.05 * 0.05 * 1.5);
    free(xf);

    /* Progress: restarts are reported and a non-zero return cancels. */
    long long seen = 0;
    o.progress = cancel_cb;
    o.progress_user = &seen;
    CHECK_STATUS(dci_kmeans(x, n, d, k, &o, l, c, &in, NULL), DC_ERR_CANCELLED);
    CHECK(seen == 2);
    free(x);
}

/* Finite data far from the usual scale: float squares overflow from |x| ~
 * 1.8e19 (k-means once returned a third of the points right at 1e30) and
 * underflow below ~1e-19. Every entry point finds the blobs at any
 * magnitude; power-of-two scalings give the unscaled labels, with centres
 * and inertia scaled exactly. */
static void test_magnitude(void) {
    const int64_t n = 300, d = 5, k = 3;
    int32_t truth[300], l0[300], l[300];
    float c0[3 * 5], c[3 * 5];
    float *base = blobs(n, d, k, 10.0, 0.5, 0.0, 7, truth), *x = malloc(sizeof(float) * n * d);
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    double in0 = 0, in = 0;
    CHECK_OK(dci_kmeans(base, n, d, k, &o, l0, c0, &in0, NULL));
    CHECK(same_partition(truth, l0, n, k));
    static const double scales[] = {1e18, 1e20, 1e30, 1e36, 0x1p80, 0x1p120, 1e-20, 1e-30, 0x1p-100};
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        const double s = scales[si];
        for (int64_t i = 0; i < n * d; i++) x[i] = (float)(base[i] * s);
        CHECK_OK(dci_kmeans(x, n, d, k, &o, l, c, &in, NULL));
        CHECK_MSG(same_partition(truth, l, n, k), "scale %g: blobs not found", s);
        CHECK_MSG(all_finite(c, k * d) && isfinite(in) && in > 0, "scale %g: inertia %g", s, in);
        CHECK_NEAR(in / (s * s), in0, 1e-3 * in0);
        int exp2;
        if (frexp(s, &exp2) == 0.5) { /* a power of two: exactly the unscaled result */
            int same = memcmp(l, l0, sizeof l) == 0;
            for (int64_t i = 0; i < k * d; i++) same &= c[i] == (float)(c0[i] * s);
            CHECK_MSG(same, "scale 2^%d: not the unscaled result scaled", exp2 - 1);
        }
        /* Refinement and assignment from the found centres, which are the
         * fixed point: nothing changes. */
        int32_t la[300];
        double ia = 0;
        CHECK_OK(dci_kmeans_assign(x, n, d, c, k, la, &ia));
        CHECK_MSG(memcmp(la, l, sizeof l) == 0, "scale %g: assignment differs", s);
        CHECK_NEAR(ia, in, 1e-5 * in);
        float cr[3 * 5];
        memcpy(cr, c, sizeof c);
        CHECK_OK(dci_kmeans_refine(x, n, d, k, cr, 100, 0.0, la, &ia, NULL));
        CHECK_MSG(memcmp(la, l, sizeof l) == 0, "scale %g: refinement moved points", s);
    }
    free(base);
    free(x);
}

static void test_reference_lloyd(void) {
    /* Overlapping clusters: from the same start, every bounding variant
     * reaches the same fixed point as a textbook double-precision Lloyd.
     * tol = 0 so only repeated labels stop it. d = 13 exercises the vector
     * tails; the offset data exercise the mean shift. */
    const int64_t n = 500, d = 13, k = 5;
    for (int far = 0; far < 2; far++) {
        float *x = blobs(n, d, 3, 1.0, 1.0, far ? 500.0 : 2.0, 7, NULL);
        double cd[5 * 13];
        int32_t lr[500];
        for (int64_t j = 0; j < k * d; j++) cd[j] = x[(j / d) * 37 * d + j % d];
        naive_lloyd(x, n, d, k, cd, lr);
        for (int algo = DCI_KMEANS_AUTO; algo <= DCI_KMEANS_ELKAN; algo++) {
            dci_kmeans_opts o;
            dci_kmeans_opts_default(&o);
            o.tol = 0.0;
            o.max_iter = 1000;
            o.algorithm = (dci_kmeans_algo)algo;
            float c[5 * 13];
            for (int64_t j = 0; j < k * d; j++) c[j] = x[(j / d) * 37 * d + j % d];
            int32_t l[500];
            double in = 0;
            int64_t its = 0;
            CHECK_OK(dci_kmeans_refine_opts(x, n, d, k, c, &o, l, &in, &its));
            int same = 1;
            for (int64_t i = 0; i < n; i++) same &= l[i] == lr[i];
            CHECK_MSG(same, "algorithm %d, offset %d", algo, far);
            double md = 0;
            for (int64_t j = 0; j < k * d; j++) md = fmax(md, fabs(c[j] - cd[j]));
            CHECK_MSG(md < (far ? 1e-3 : 1e-5), "algorithm %d: centre difference %g", algo, md);
            CHECK(its > 1 && its < 1000);
            CHECK_NEAR(in, inertia_of(x, n, d, c, l), 1e-6 * in);
        }
        free(x);
    }
    /* Whole runs with either bound agree exactly on well-separated data. */
    float *x = blobs(400, 9, 6, 3.0, 1.0, 0.0, 9, NULL);
    int32_t lh[400], le[400];
    float ch[54], ce[54];
    double ih, ie;
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.algorithm = DCI_KMEANS_HAMERLY;
    CHECK_OK(dci_kmeans(x, 400, 9, 6, &o, lh, ch, &ih, NULL));
    o.algorithm = DCI_KMEANS_ELKAN;
    CHECK_OK(dci_kmeans(x, 400, 9, 6, &o, le, ce, &ie, NULL));
    CHECK(!memcmp(lh, le, sizeof lh));
    CHECK_NEAR(ih, ie, 1e-9 * ih);
    o.algorithm = (dci_kmeans_algo)7;
    CHECK_STATUS(dci_kmeans(x, 400, 9, 6, &o, lh, ch, &ih, NULL), DC_ERR_INVALID_ARG);
    free(x);
}

static void test_determinism(void) {
    /* Uniform square: many local optima, so seeds matter. */
    const int64_t n = 400, d = 2, k = 9;
    float *x = malloc(sizeof(float) * n * d);
    dci_rng r;
    dci_rng_init(&r, 3, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)dci_rng_uniform(&r);
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    o.n_init = 1;
    o.seed = 5;
    int32_t l1[400], l2[400];
    float c1[18], c2[18];
    double i1, i2;
    CHECK_OK(dci_kmeans(x, n, d, k, &o, l1, c1, &i1, NULL));
    CHECK_OK(dci_kmeans(x, n, d, k, &o, l2, c2, &i2, NULL));
    CHECK(!memcmp(l1, l2, sizeof l1) && !memcmp(c1, c2, sizeof c1) && i1 == i2);
    int differ = 0;
    for (uint64_t s = 6; s < 12; s++) {
        o.seed = s;
        CHECK_OK(dci_kmeans(x, n, d, k, &o, l2, c2, &i2, NULL));
        differ += i2 != i1;
    }
    CHECK_MSG(differ > 0, "6 other seeds all gave inertia %g", i1);
    /* More restarts never do worse than the first of them. */
    o.seed = 5;
    o.n_init = 8;
    CHECK_OK(dci_kmeans(x, n, d, k, &o, l2, c2, &i2, NULL));
    CHECK(i2 <= i1);
    free(x);
}

static void test_empty_and_degenerate(void) {
    const int64_t n = 200, d = 2, k = 4;
    float *x = blobs(n, d, 2, 5.0, 1.0, 0.0, 11, NULL);
    int32_t l[200];
    double in;
    /* One start centre far from everything, two identical: both clusters
     * would be empty; they must be re-seeded, never NaN. */
    for (int algo = DCI_KMEANS_HAMERLY; algo <= DCI_KMEANS_ELKAN; algo++) {
        float c[] = {0, 0, 5, 5, 1e4f, 1e4f, 0, 0};
        dci_kmeans_opts ro;
        dci_kmeans_opts_default(&ro);
        ro.algorithm = (dci_kmeans_algo)algo;
        CHECK_OK(dci_kmeans_refine_opts(x, n, d, k, c, &ro, l, &in, NULL));
        CHECK(all_finite(c, k * d));
        CHECK(all_nonempty(l, n, k));
        CHECK(isfinite(in) && fabs(c[4]) < 100);
        CHECK_NEAR(in, inertia_of(x, n, d, c, l), 1e-6 * in);
    }
    free(x);

    /* k == n: every point its own centre. */
    const float sq[] = {0, 0, 1, 0, 0, 1, 1, 1, 5, 5};
    int32_t ls[5];
    float cs[10];
    dci_kmeans_opts o;
    dci_kmeans_opts_default(&o);
    CHECK_OK(dci_kmeans(sq, 5, 2, 5, &o, ls, cs, &in, NULL));
    CHECK(in == 0.0);
    CHECK(all_nonempty(ls, 5, 5));

    /* Duplicates: 3 distinct points x 10 copies. */
    float dup[60];
    for (int i = 0; i < 30; i++) {
        dup[2 * i] = (float)(i % 3) * 4.0f;
        dup[2 * i + 1] = (float)(i % 3 == 2);
    }
    int32_t ld[30];
    float cdp[8];
    CHECK_OK(dci_kmeans(dup, 30, 2, 3, &o, ld, cdp, &in, NULL));
    CHECK(in == 0.0);
    int grouped = 1;
    for (int i = 3; i < 30; i++) grouped &= ld[i] == ld[i % 3];
    CHECK(grouped && ld[0] != ld[1] && ld[1] != ld[2] && ld[0] != ld[2]);
    /* More clusters than distinct points: still finite, still exact. */
    CHECK_OK(dci_kmeans(dup, 30, 2, 4, &o, ld, cdp, &in, NULL));
    CHECK(all_finite(cdp, 8) && in == 0.0);
    /* All points identical. */
    float same[20] = {0};
    for (int i = 0; i < 20; i++) same[i] = 2.5f;
    CHECK_OK(dci_kmeans(same, 10, 2, 3, &o, ld, cdp, &in, NULL));
    CHECK(all_finite(cdp, 6) && in == 0.0);
    /* k == 1: the mean. */
    CHECK_OK(dci_kmeans(sq, 5, 2, 1, &o, ls, cs, &in, NULL));
    CHECK_NEAR(cs[0], 7.0 / 5, 1e-6);
    CHECK_NEAR(cs[1], 7.0 / 5, 1e-6);
    CHECK(ls[0] == 0 && ls[4] == 0);

    /* Errors. */
    CHECK_STATUS(dci_kmeans(sq, 5, 2, 6, &o, ls, cs, &in, NULL), DC_ERR_K_RANGE);
    CHECK_STATUS(dci_kmeans(sq, 5, 2, 0, &o, ls, cs, &in, NULL), DC_ERR_K_RANGE);
    CHECK_STATUS(dci_kmeans_refine(sq, 5, 2, 6, cs, 10, 0, ls, &in, NULL), DC_ERR_K_RANGE);
    float bad[10];
    memcpy(bad, sq, sizeof bad);
    bad[7] = NAN;
    CHECK_STATUS(dci_kmeans(bad, 5, 2, 2, &o, ls, cs, &in, NULL), DC_ERR_NONFINITE);
    CHECK(strstr(dc_last_error(), "row 3") != NULL);
    CHECK_STATUS(dci_kmeans_assign(bad, 5, 2, sq, 2, ls, NULL), DC_ERR_NONFINITE);
    CHECK_STATUS(dci_kmeans(NULL, 5, 2, 2, &o, ls, cs, &in, NULL), DC_ERR_NULL);
    o.n_init = 0;
    CHECK_STATUS(dci_kmeans(sq, 5, 2, 2, &o, ls, cs, &in, NULL), DC_ERR_INVALID_ARG);
}

static void test_solver(void) {
    const int64_t n = 300, d = 4, k = 3;
    int32_t truth[300], l[300], p[300];
    float *x = blobs(n, d, k, 8.0, 0.5, 1.0, 21, truth);
    dc_dataset *ds = NULL, *narrow = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, n, d, DC_BORROW));
    CHECK_OK(dc_dataset_create(&narrow, x, n, d - 1, DC_COPY));
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "kmeans"));
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE);
    CHECK_OK(dc_solver_set(s, "k", (double)k));
    CHECK_OK(dc_solver_set(s, "seed", 3));
    CHECK_STATUS(dc_solver_set(s, "n_init", 0), DC_ERR_INVALID_ARG);
    CHECK_OK(dc_solver_fit(s, ds));
    int64_t got = 0, rows = 0, cols = 0;
    CHECK_OK(dc_solver_labels(s, l, n, &got));
    CHECK(got == n && same_partition(truth, l, n, k));
    float c[12];
    CHECK_OK(dc_solver_output(s, "centers", c, 12, &rows, &cols));
    CHECK(rows == k && cols == d);
    double in = 0, its = 0, ni = 0;
    CHECK_OK(dc_solver_stat(s, "inertia", &in));
    CHECK_OK(dc_solver_stat(s, "iterations", &its));
    CHECK_OK(dc_solver_stat(s, "n_init", &ni));
    CHECK_NEAR(in, inertia_of(x, n, d, c, l), 1e-6 * in);
    CHECK(its >= 1 && ni == 10);
    CHECK_OK(dc_solver_predict(s, ds, p, n));
    CHECK(!memcmp(p, l, sizeof l));
    memset(p, 0xff, sizeof p);
    CHECK_OK(dc_assign_nearest(x, n, d, c, k, p)); /* from the centres alone */
    CHECK(!memcmp(p, l, sizeof l));
    double distinct = 0;
    CHECK_OK(dc_solver_stat(s, "distinct_clusters", &distinct));
    CHECK(distinct == k);
    CHECK_STATUS(dc_solver_predict(s, narrow, p, n), DC_ERR_SHAPE);
    CHECK_OK(dc_solver_set(s, "k", (double)(n + 1)));
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE);
    dc_solver_free(s);
    dc_dataset_free(ds);
    dc_dataset_free(narrow);
    free(x);
}

/* Brute-force nearest centre in double: squared Euclidean distance, the
 * lowest index on ties (strict <, scanning up), as include/deepclust/solver.h
 * documents for dc_assign_nearest. dist gets the k distances of the row. */
static int32_t brute_nearest(const float *xr, int64_t d, const float *c, int64_t k,
                             double *dist) {
    int32_t best = 0;
    for (int64_t j = 0; j < k; j++) {
        double s = 0.0;
        for (int64_t t = 0; t < d; t++) {
            double u = (double)xr[t] - (double)c[j * d + t];
            s += u * u;
        }
        dist[j] = s;
        if (s < dist[best]) best = (int32_t)j;
    }
    return best;
}

/* dc_assign_nearest with centres that no fit produced (so its labels are not
 * a fixed point of anything), against the brute-force argmin above. */
static void test_assign_nearest_random(void) {
    enum { N = 200, D = 7, K = 5 };
    static float x[N * D], c[K * D];
    int32_t lab[N];
    double dist[K];
    dci_rng r;

    /* (a) Continuous data and centres, N(0, 2^2). The library computes
     * ||c||^2 - 2 x.c in float, so a row whose two best distances lie within
     * float rounding (tol, relative to the norms) may go either way: there the
     * label must be one of the near-minimal centres; elsewhere it must be the
     * argmin exactly. Such near-ties must be rare, or the check says little. */
    dci_rng_init(&r, 77, DCI_STREAM_TEST);
    for (int i = 0; i < N * D; i++) x[i] = (float)(2.0 * dci_rng_normal(&r));
    for (int i = 0; i < K * D; i++) c[i] = (float)(2.0 * dci_rng_normal(&r));
    memset(lab, 0xff, sizeof lab);
    CHECK_OK(dc_assign_nearest(x, N, D, c, K, lab));
    int exact = 1, near_ok = 1, ambiguous = 0, used[K] = {0};
    for (int i = 0; i < N; i++) {
        int32_t b = brute_nearest(x + i * D, D, c, K, dist);
        double second = INFINITY, norms = 0.0, cmax = 0.0;
        for (int j = 0; j < K; j++)
            if (j != b && dist[j] < second) second = dist[j];
        for (int t = 0; t < D; t++) norms += (double)x[i * D + t] * x[i * D + t];
        for (int j = 0; j < K; j++) {
            double cn = 0.0;
            for (int t = 0; t < D; t++) cn += (double)c[j * D + t] * c[j * D + t];
            if (cn > cmax) cmax = cn;
        }
        const double tol = 1e-5 * (norms + cmax);
        if (lab[i] < 0 || lab[i] >= K) {
            near_ok = exact = 0;
            continue;
        }
        used[lab[i]]++;
        if (second - dist[b] > tol) exact &= lab[i] == b;
        else ambiguous++;
        near_ok &= dist[lab[i]] <= dist[b] + tol;
    }
    CHECK_MSG(exact, "labels differ from the brute-force argmin");
    CHECK(near_ok);
    CHECK_MSG(ambiguous <= 2, "%d near-ties", ambiguous);
    /* Not a degenerate draw: every centre is someone's nearest. */
    for (int j = 0; j < K; j++) CHECK_MSG(used[j] > 0, "centre %d unused", j);

    /* (b) Exact ties. Integer coordinates in [-2, 2]: every squared distance,
     * norm and dot product is a small integer, exact in float, so the
     * library's distances are exact and ties are real. Centre 4 duplicates
     * centre 1 (rows nearest to it tie between 1 and 4: label 1, never 4), and
     * rows 0..9 are set to midpoints of centres 0 and 2 / 2 and 3 (that these
     * are the nearest pair is confirmed by the brute force: same seed). */
    dci_rng_init(&r, 78, DCI_STREAM_TEST);
    for (int i = 0; i < N * D; i++) x[i] = (float)((int)dci_rng_below(&r, 5) - 2);
    for (int i = 0; i < K * D; i++) c[i] = (float)((int)dci_rng_below(&r, 5) - 2);
    for (int t = 0; t < D; t++) {
        c[4 * D + t] = c[1 * D + t];
        /* centres 0 and 2 differ by 2 in coordinate 0 only, 2 and 3 by 2 in
         * coordinate 1 only: integer midpoints */
        c[2 * D + t] = c[0 * D + t];
        c[3 * D + t] = c[0 * D + t];
    }
    c[0 * D + 0] = -1.0f;
    c[2 * D + 0] = 1.0f;
    c[0 * D + 1] = c[2 * D + 1] = -1.0f;
    c[3 * D + 0] = 1.0f;
    c[3 * D + 1] = 1.0f;
    for (int i = 0; i < 10; i++)
        for (int t = 0; t < D; t++) {
            /* i even: midpoint of 0 and 2, i odd: midpoint of 2 and 3 */
            float mid = i % 2 == 0 ? 0.5f * (c[0 * D + t] + c[2 * D + t])
                                   : 0.5f * (c[2 * D + t] + c[3 * D + t]);
            x[i * D + t] = mid;
        }
    memset(lab, 0xff, sizeof lab);
    CHECK_OK(dc_assign_nearest(x, N, D, c, K, lab));
    int same = 1, ties = 0, dup_ties = 0, first_bad = -1;
    for (int i = 0; i < N; i++) {
        int32_t b = brute_nearest(x + i * D, D, c, K, dist);
        int at_min = 0;
        for (int j = 0; j < K; j++) at_min += dist[j] == dist[b];
        /* ties between distinct centres (the duplicate pair counts once) */
        int distinct_min = at_min - (dist[1] == dist[b] && dist[4] == dist[b]);
        ties += distinct_min > 1;
        dup_ties += dist[1] == dist[b];
        if (lab[i] != b && first_bad < 0) first_bad = i;
        same &= lab[i] == b;
    }
    CHECK_MSG(same, "row %d: label %d, brute-force (lowest index) %d", first_bad,
              first_bad >= 0 ? lab[first_bad] : -1,
              first_bad >= 0 ? brute_nearest(x + first_bad * D, D, c, K, dist) : -1);
    /* The rows 0..9 are ties by construction (0/2 and 2/3 equidistant and
     * nearest): label 0 for the even, 2 for the odd ones. */
    int mids = 1;
    for (int i = 0; i < 10; i++) mids &= lab[i] == (i % 2 == 0 ? 0 : 2);
    CHECK(mids);
    CHECK_MSG(ties >= 10, "only %d ties between distinct centres", ties);
    CHECK_MSG(dup_ties >= 1, "no row nearest to the duplicated centre");
}

/* 50 copies of one point and k = 3: the centres coincide, so the labels are
 * all the lowest index -- as predict gives them -- and 1 distinct cluster
 * is reported. */
static void test_fewer_distinct_points_than_k(void) {
    enum { N = 50, D = 2, K = 3 };
    float x[N * D];
    for (int i = 0; i < N * D; i++) x[i] = i % 2 ? 2.5f : -1.0f;
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, N, D, DC_BORROW));
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "kmeans"));
    CHECK_OK(dc_solver_set(s, "k", K));
    CHECK_OK(dc_solver_fit(s, ds));
    int32_t l[N], p[N];
    CHECK_OK(dc_solver_labels(s, l, N, NULL));
    CHECK_OK(dc_solver_predict(s, ds, p, N));
    CHECK(!memcmp(l, p, sizeof l));
    int zeros = 0;
    for (int i = 0; i < N; i++) zeros += l[i] == 0;
    CHECK(zeros == N);
    double distinct = 0, in = -1;
    CHECK_OK(dc_solver_stat(s, "distinct_clusters", &distinct));
    CHECK_OK(dc_solver_stat(s, "inertia", &in));
    CHECK(distinct == 1 && in == 0.0);
    float c[K * D];
    CHECK_STATUS(dc_assign_nearest(x, N, 0, c, K, p), DC_ERR_SHAPE);
    CHECK_STATUS(dc_assign_nearest(NULL, N, D, c, K, p), DC_ERR_NULL);
    dc_solver_free(s);
    dc_dataset_free(ds);
}

static const dct_case cases[] = {
    DCT_CASE(hand), DCT_CASE(blobs), DCT_CASE(magnitude), DCT_CASE(reference_lloyd),
    DCT_CASE(determinism), DCT_CASE(empty_and_degenerate), DCT_CASE(solver),
    DCT_CASE(fewer_distinct_points_than_k), DCT_CASE(assign_nearest_random),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
