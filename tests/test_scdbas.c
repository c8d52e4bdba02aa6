/* SCDBAS and NJW (lib/methods/scdbas.c, njw.c): two interleaved moons and two
 * concentric circles are separated exactly by both spectral methods while
 * k-means fails on them; the outputs obey their definitions (labels = nearest
 * centre, fitness = SSE of the embedding, traces non-increasing); the search
 * stage is deterministic and never ends above its start; every bad input or
 * parameter gives its specific error. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "methods/scdbas.h"

#define PI 3.14159265358979323846

/* scikit-learn's make_moons / make_circles (factor 0.5), n/2 points each,
 * Gaussian noise sd. */
static float *two_moons(int64_t n, double sd, uint64_t seed, int32_t *truth) {
    float *x = malloc(sizeof(float) * (size_t)(2 * n));
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % 2);
        double t = PI * (double)(i / 2) / (double)(n / 2 - 1);
        double a = c == 0 ? cos(t) : 1.0 - cos(t), b = c == 0 ? sin(t) : 0.5 - sin(t);
        x[2 * i] = (float)(a + sd * dci_rng_normal(&r));
        x[2 * i + 1] = (float)(b + sd * dci_rng_normal(&r));
        truth[i] = c;
    }
    return x;
}

static float *two_circles(int64_t n, double sd, uint64_t seed, int32_t *truth) {
    float *x = malloc(sizeof(float) * (size_t)(2 * n));
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % 2);
        double t = 2.0 * PI * (double)(i / 2) / (double)(n / 2), rad = c == 0 ? 1.0 : 0.5;
        x[2 * i] = (float)(rad * cos(t) + sd * dci_rng_normal(&r));
        x[2 * i + 1] = (float)(rad * sin(t) + sd * dci_rng_normal(&r));
        truth[i] = c;
    }
    return x;
}

typedef struct fitted {
    int32_t *labels;
    float *emb, *centers, *trace, *trace_u;
    int64_t n, k, len, len_u;
    double fitness, acc;
} fitted;

static void fitted_free(fitted *f) {
    free(f->labels);
    free(f->emb);
    free(f->centers);
    free(f->trace);
    free(f->trace_u);
    memset(f, 0, sizeof *f);
}

static float *get_output(dc_solver *s, const char *name, int64_t *rows, int64_t *cols) {
    if (dc_solver_output(s, name, NULL, 0, rows, cols) != DC_OK) return NULL;
    float *v = malloc(sizeof(float) * (size_t)(*rows * *cols));
    CHECK_OK(dc_solver_output(s, name, v, *rows * *cols, rows, cols));
    return v;
}

/* Fits `method` with the given "name=value" settings (NULL-terminated). */
static dc_status fit(const char *method, const float *x, int64_t n, int64_t d, int64_t k,
                     uint64_t seed, const int32_t *truth, const char *const *settings,
                     fitted *out) {
    memset(out, 0, sizeof *out);
    dc_dataset *ds = NULL;
    dc_solver *s = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, n, d, DC_COPY));
    CHECK_OK(dc_solver_create(&s, method));
    CHECK_OK(dc_solver_set(s, "k", (double)k));
    CHECK_OK(dc_solver_set(s, "seed", (double)seed));
    for (const char *const *p = settings; p && *p; p += 2) CHECK_OK(dc_solver_set_str(s, p[0], p[1]));
    dc_status st = dc_solver_fit(s, ds);
    if (st == DC_OK) {
        out->n = n;
        out->k = k;
        out->labels = malloc(sizeof(int32_t) * (size_t)n);
        CHECK_OK(dc_solver_labels(s, out->labels, n, NULL));
        CHECK_OK(dc_metrics_acc(truth, out->labels, n, &out->acc));
        int64_t r, c;
        /* docs/scdbas.md: scdbas and njw output "embedding" (n x k) and
         * "centers" (k x k); kmeans has no embedding. */
        int spectral = strcmp(method, "kmeans") != 0;
        out->emb = get_output(s, "embedding", &r, &c);
        if (spectral)
            CHECK_MSG(out->emb && r == n && c == k, "%s: embedding missing or wrong shape",
                      method);
        out->centers = get_output(s, "centers", &r, &c);
        if (spectral)
            CHECK_MSG(out->centers && r == k && c == k, "%s: centers missing or wrong shape",
                      method);
        out->trace = get_output(s, "trace", &r, &out->len);
        out->trace_u = get_output(s, "trace_undamped", &r, &out->len_u);
        if (dc_solver_stat(s, "fitness", &out->fitness) != DC_OK)
            dc_solver_stat(s, "inertia", &out->fitness);
        if (strcmp(method, "kmeans") != 0) {
            const char *stats[] = {"seconds_knn", "seconds_affinity", "seconds_eigen",
                                   "seconds_assign", "p", "m", "components"};
            for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
                double v = -1;
                CHECK_OK(dc_solver_stat(s, stats[i], &v));
                CHECK_MSG(v >= 0, "%s = %g", stats[i], v);
            }
        }
    }
    dc_solver_free(s);
    dc_dataset_free(ds);
    return st;
}

/* labels are the nearest centres of the embedding rows, and the fitness is
 * their SSE (recomputed here in double). */
static void check_nearest_and_fitness(const fitted *f) {
    /* Both outputs are documented for scdbas and njw: a missing one fails
     * here instead of skipping the checks below. */
    CHECK_MSG(f->emb != NULL && f->centers != NULL && f->labels != NULL,
              "embedding %p, centers %p, labels %p", (void *)f->emb, (void *)f->centers,
              (void *)f->labels);
    if (!f->emb || !f->centers || !f->labels) return;
    int nearest = 1;
    double sse = 0.0;
    for (int64_t i = 0; i < f->n; i++) {
        double best = INFINITY, mine = 0;
        for (int64_t j = 0; j < f->k; j++) {
            double s = 0;
            for (int64_t m = 0; m < f->k; m++) {
                double t = (double)f->emb[i * f->k + m] - f->centers[j * f->k + m];
                s += t * t;
            }
            if (s < best) best = s;
            if (j == f->labels[i]) mine = s;
        }
        if (mine > best + 1e-5) nearest = 0;
        sse += mine;
    }
    CHECK(nearest);
    CHECK_NEAR(f->fitness, sse, 1e-6 * (1.0 + sse));
}

static void check_trace(const float *t, int64_t len, int64_t expect_len, double fitness) {
    CHECK(t != NULL && len == expect_len);
    if (!t) return;
    int mono = 1;
    for (int64_t i = 1; i < len; i++)
        if (t[i] > t[i - 1]) mono = 0;
    CHECK(mono);
    /* The returned solution is at least as good as anything the search saw
     * (float trace vs double fitness: relative tolerance). */
    CHECK_MSG(fitness <= t[len - 1] * (1 + 1e-5) + 1e-6, "fitness %g, trace end %g", fitness,
              (double)t[len - 1]);
}

static void test_shapes(const char *name, float *(*gen)(int64_t, double, uint64_t, int32_t *)) {
    const int64_t n = 400;
    int32_t truth[400];
    float *x = gen(n, 0.05, 1, truth);
    fitted f;
    for (uint64_t seed = 0; seed < 2; seed++) {
        CHECK_OK(fit("scdbas", x, n, 2, 2, seed, truth, NULL, &f));
        CHECK_MSG(f.acc == 1.0, "%s scdbas seed %llu: ACC %g", name, (unsigned long long)seed, f.acc);
        check_nearest_and_fitness(&f);
        check_trace(f.trace, f.len, 101, f.fitness);
        fitted_free(&f);
        CHECK_OK(fit("njw", x, n, 2, 2, seed, truth, NULL, &f));
        CHECK_MSG(f.acc == 1.0, "%s njw seed %llu: ACC %g", name, (unsigned long long)seed, f.acc);
        check_nearest_and_fitness(&f);
        fitted_free(&f);
    }
    /* The sets are not trivial: k-means on the raw points fails. */
    CHECK_OK(fit("kmeans", x, n, 2, 2, 0, truth, NULL, &f));
    CHECK_MSG(f.acc < 0.9, "%s kmeans ACC %g", name, f.acc);
    fitted_free(&f);
    free(x);
}

/* Three blobs in 5-D at magnitudes whose float squares overflow or
 * underflow: the blobs exactly, and the labels of unit scale. (The kNN
 * search once read uninitialised candidates there: DC_OK with ACC 0.39
 * from 2e19 on, or "all points identical?". The scaled fits come first, so
 * that no earlier fit's memory can make such reads look right.) */
static void test_magnitude(void) {
    enum { N = 180, D = 5, K = 3 };
    int32_t truth[N];
    float base[N * D], x[N * D];
    dci_rng r;
    dci_rng_init(&r, 5, DCI_STREAM_TEST);
    for (int i = 0; i < N; i++) {
        truth[i] = i / (N / K); /* stored by class, as files often are */
        for (int j = 0; j < D; j++)
            base[i * D + j] = (float)((j == truth[i] ? 5.0 : 0.0) + 0.5 * dci_rng_normal(&r));
    }
    static const double scales[] = {2e19, 1e30, 1e-30, 1e18};
    const char *methods[] = {"scdbas", "njw"};
    for (int mi = 0; mi < 2; mi++) {
        fitted f[4], f0;
        for (size_t si = 0; si < 4; si++) {
            for (int i = 0; i < N * D; i++) x[i] = (float)(base[i] * scales[si]);
            CHECK_OK(fit(methods[mi], x, N, D, K, 0, truth, NULL, &f[si]));
            CHECK_MSG(f[si].acc == 1.0, "%s at scale %g: ACC %g", methods[mi], scales[si],
                      f[si].acc);
        }
        CHECK_OK(fit(methods[mi], base, N, D, K, 0, truth, NULL, &f0));
        for (size_t si = 0; si < 4; si++) {
            CHECK_MSG(f[si].labels && f0.labels &&
                          memcmp(f[si].labels, f0.labels, sizeof truth) == 0,
                      "%s at scale %g: labels differ from unit scale", methods[mi], scales[si]);
            fitted_free(&f[si]);
        }
        fitted_free(&f0);
    }
}

static void test_paper_mode_and_traces(void) {
    const int64_t n = 400;
    int32_t truth[400];
    float *x = two_moons(n, 0.05, 2, truth);
    fitted f, g;
    const char *const paper[] = {"dbas_mode", "paper", "record_undamped", "true", "dbas_iters",
                                 "60", NULL};
    CHECK_OK(fit("scdbas", x, n, 2, 2, 3, truth, paper, &f));
    check_nearest_and_fitness(&f);
    check_trace(f.trace, f.len, 61, f.fitness);
    check_trace(f.trace_u, f.len_u, 61, -INFINITY);
    /* Same start for the damped and the undamped search. */
    if (f.trace && f.trace_u) CHECK(f.trace[0] == f.trace_u[0]);
    /* Same seed, same result. */
    CHECK_OK(fit("scdbas", x, n, 2, 2, 3, truth, paper, &g));
    CHECK(f.labels && g.labels && memcmp(f.labels, g.labels, sizeof(int32_t) * (size_t)n) == 0);
    CHECK(f.fitness == g.fitness);
    fitted_free(&f);
    fitted_free(&g);
    free(x);
}

/* The clustering stage on a given matrix: three tight blobs in R^3. */
static void test_stage(void) {
    enum { N = 90, D = 3, K = 3 };
    float y[N * D];
    int32_t truth[N], lab[N], lab2[N];
    float cen[K * D];
    dci_rng r;
    dci_rng_init(&r, 4, DCI_STREAM_TEST);
    for (int i = 0; i < N; i++) {
        truth[i] = i / (N / K); /* stored by class, as files often are */
        for (int m = 0; m < D; m++)
            y[i * D + m] = (float)((m == truth[i] ? 5.0 : 0.0) + 0.1 * dci_rng_normal(&r));
    }
    /* The optimal SSE: every point to its blob mean. */
    double mean[K][D] = {{0}}, sse_opt = 0;
    for (int i = 0; i < N; i++)
        for (int m = 0; m < D; m++) mean[truth[i]][m] += y[i * D + m] / (N / K);
    for (int i = 0; i < N; i++)
        for (int m = 0; m < D; m++) sse_opt += pow(y[i * D + m] - mean[truth[i]][m], 2);

    dci_scdbas_opts o = {0};
    dc_dbas_config_default(&o.dbas);
    o.dbas.step = DCI_SCDBAS_IMPROVED_STEP;
    o.dbas.beetles = 3;
    o.excursion = DCI_SCDBAS_DEFAULT_EXCURSION;
    dci_scdbas_result res;
    double tr[101], trc[101];
    CHECK_OK(
        dci_scdbas_cluster(y, N, D, K, &o, &(dci_scdbas_out){lab, cen, tr, trc, NULL, NULL, &res}));
    double acc;
    CHECK_OK(dc_metrics_acc(truth, lab, N, &acc));
    CHECK(acc == 1.0);
    CHECK_NEAR(res.fitness, sse_opt, 1e-4);
    CHECK(res.fitness <= res.fitness_start);
    CHECK_NEAR(tr[100], sse_opt, 1e-3);
    CHECK_OK(dci_scdbas_cluster(y, N, D, K, &o, &(dci_scdbas_out){.labels = lab2, .centers = cen}));
    CHECK(memcmp(lab, lab2, sizeof lab) == 0);

    /* Paper mode: the search never ends above its random start. */
    o.mode = DCI_SCDBAS_PAPER;
    o.dbas.step = DCI_SCDBAS_PAPER_STEP;
    o.dbas.beetles = 1;
    CHECK_OK(
        dci_scdbas_cluster(y, N, D, K, &o, &(dci_scdbas_out){lab, cen, tr, trc, NULL, NULL, &res}));
    CHECK(res.fitness <= res.fitness_start * (1 + 1e-6));
    CHECK_NEAR(tr[0], res.fitness_start, 1e-9);

    /* Errors of the stage. */
    CHECK_STATUS(
        dci_scdbas_cluster(y, N, D, 0, &o, &(dci_scdbas_out){.labels = lab, .centers = cen}),
        DC_ERR_K_RANGE);
    CHECK_STATUS(
        dci_scdbas_cluster(y, N, D, N + 1, &o, &(dci_scdbas_out){.labels = lab, .centers = cen}),
        DC_ERR_K_RANGE);
    CHECK_STATUS(
        dci_scdbas_cluster(NULL, N, D, K, &o, &(dci_scdbas_out){.labels = lab, .centers = cen}),
        DC_ERR_NULL);
    o.dbas.damp = 1.0;
    CHECK_STATUS(
        dci_scdbas_cluster(y, N, D, K, &o, &(dci_scdbas_out){.labels = lab, .centers = cen}),
        DC_ERR_INVALID_ARG);
    o.dbas.damp = 0.5;
    o.mode = DCI_SCDBAS_IMPROVED;
    o.excursion = 0;
    CHECK_STATUS(
        dci_scdbas_cluster(y, N, D, K, &o, &(dci_scdbas_out){.labels = lab, .centers = cen}),
        DC_ERR_INVALID_ARG);
}

static void test_errors(void) {
    const int64_t n = 40;
    int32_t truth[40];
    float *x = two_moons(n, 0.05, 5, truth);
    const char *methods[] = {"scdbas", "njw"};
    for (int mi = 0; mi < 2; mi++) {
        const char *me = methods[mi];
        dc_dataset *ds = NULL;
        dc_solver *s = NULL;
        CHECK_OK(dc_dataset_create(&ds, x, n, 2, DC_BORROW));
        CHECK_OK(dc_solver_create(&s, me));
        CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE); /* k not set */
        /* One cluster: no graph, every label 0, an embedding of ones. */
        CHECK_OK(dc_solver_set(s, "k", 1));
        CHECK_OK(dc_solver_fit(s, ds));
        int32_t one[40];
        float ones[40];
        int64_t rows = 0, cols = 0;
        CHECK_OK(dc_solver_labels(s, one, n, NULL));
        CHECK_OK(dc_solver_output(s, "embedding", ones, n, &rows, &cols));
        int all = rows == n && cols == 1;
        for (int64_t i = 0; i < n; i++) all &= one[i] == 0 && ones[i] == 1.0f;
        CHECK(all);
        CHECK_OK(dc_solver_set(s, "k", (double)n + 1));
        CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE);
        CHECK_OK(dc_solver_set(s, "k", 2));
        CHECK_OK(dc_solver_set(s, "m", (double)n));
        CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_INVALID_ARG);
        CHECK_MSG(strstr(dc_last_error(), "m = 40") != NULL, "%s", dc_last_error());
        CHECK_OK(dc_solver_set(s, "m", 0));
        CHECK_STATUS(dc_solver_set_str(s, "affinity", "fuzzy"), DC_ERR_INVALID_ARG);
        CHECK_STATUS(dc_solver_set(s, "n_init", 0), DC_ERR_INVALID_ARG);
        /* A borrowed buffer changed after creation: NaN reaches the method. */
        x[7] = NAN;
        CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_NONFINITE);
        x[7] = 0.5f;
        CHECK_OK(dc_solver_fit(s, ds));
        dc_solver_free(s);
        dc_dataset_free(ds);

        /* All points identical: no scale to build an affinity from. */
        float same[20 * 2];
        for (int i = 0; i < 40; i++) same[i] = 3.0f;
        CHECK_OK(dc_dataset_create(&ds, same, 20, 2, DC_COPY));
        CHECK_OK(dc_solver_create(&s, me));
        CHECK_OK(dc_solver_set(s, "k", 2));
        CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_DEGENERATE);
        dc_solver_free(s);
        dc_dataset_free(ds);
    }

    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "scdbas"));
    CHECK_STATUS(dc_solver_set(s, "dbas_damp", 1.0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_damp", -0.1), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_eta", 0.0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_eta", 1.5), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_step", -1.0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_c", 0.0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_iters", -1), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_iters", 2.5), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_beetles", -1), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "dbas_excursion", 0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set_str(s, "dbas_mode", "bogus"), DC_ERR_INVALID_ARG);
    CHECK_OK(dc_solver_set_str(s, "dbas_mode", "paper"));
    double v = -1;
    CHECK_OK(dc_solver_get(s, "dbas_mode", &v));
    CHECK(v == 1);
    /* Defaults: the paper's search constants. */
    CHECK_OK(dc_solver_get(s, "dbas_eta", &v));
    CHECK(v == 0.95);
    CHECK_OK(dc_solver_get(s, "dbas_c", &v));
    CHECK(v == 5);
    CHECK_OK(dc_solver_get(s, "dbas_damp", &v));
    CHECK(v == 0.5);
    dc_solver_free(s);
    free(x);
}

int main(void) {
    test_magnitude();
    test_shapes("moons", two_moons);
    test_shapes("circles", two_circles);
    test_paper_mode_and_traces();
    test_stage();
    test_errors();
    DC_TEST_END();
}
