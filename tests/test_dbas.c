/* Damped beetle antennae search (lib/opt/dbas.c): hand-computed single
 * steps, convergence on convex quadratics, trace invariants, determinism,
 * population semantics and every parameter error. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "deepclust/dbas.h"
#include "opt/dbas.h"

typedef struct quad {
    const double *a;
    long calls;
} quad;

/* f(x) = sum (x_i - a_i)^2: minimum 0 at a. */
static double quadratic(const double *x, int64_t dim, void *user) {
    quad *q = user;
    q->calls++;
    double s = 0.0;
    for (int64_t i = 0; i < dim; i++) s += (x[i] - q->a[i]) * (x[i] - q->a[i]);
    return s;
}

/* Returns NaN from the nan_at-th call on. */
typedef struct nan_after {
    long calls, nan_at;
} nan_after;
static double nan_fitness(const double *x, int64_t dim, void *user) {
    nan_after *u = user;
    (void)x;
    (void)dim;
    return ++u->calls >= u->nan_at ? NAN : 1.0;
}

static int cancel_at_5(void *user, const char *phase, long long done, long long total,
                       double value) {
    (void)user;
    (void)total;
    (void)value;
    return strcmp(phase, "dbas") == 0 && done >= 5;
}

static void test_single_step_by_hand(void) {
    /* f = (x0 - 1)^2 + x1^2 from (0, 0) along b = (1, 0), step 0.5, c = 5:
     * antennae at (+-0.1, 0) smell 0.81 (left) and 1.21 (right), so the beetle
     * goes left to the candidate (0.5, 0). */
    const double a[2] = {1.0, 0.0}, x[2] = {0.0, 0.0}, b[2] = {1.0, 0.0};
    quad q = {a, 0};
    double xn[2], work[2], fl, fr;
    CHECK_OK(dci_dbas_step(quadratic, &q, 2, x, b, 0.5, 5.0, 0.0, xn, work, &fl, &fr));
    CHECK_NEAR(fl, 0.81, 1e-12);
    CHECK_NEAR(fr, 1.21, 1e-12);
    CHECK_NEAR(xn[0], 0.5, 1e-15); /* damp = 0: the plain BAS update */
    CHECK_NEAR(xn[1], 0.0, 1e-15);
    CHECK(q.calls == 2);
    /* damp = 0.5 goes half-way from x to the candidate. */
    CHECK_OK(dci_dbas_step(quadratic, &q, 2, x, b, 0.5, 5.0, 0.5, xn, work, NULL, NULL));
    CHECK_NEAR(xn[0], 0.25, 1e-15);
    /* Reversed direction: the right antenna (now at +0.1) smells better, same move. */
    const double bneg[2] = {-1.0, 0.0};
    CHECK_OK(dci_dbas_step(quadratic, &q, 2, x, bneg, 0.5, 5.0, 0.0, xn, work, NULL, NULL));
    CHECK_NEAR(xn[0], 0.5, 1e-15);
    /* Equal smells (b orthogonal to the gradient at the minimum line): no move. */
    const double x2[2] = {1.0, 0.0}, b2[2] = {0.0, 1.0};
    CHECK_OK(dci_dbas_step(quadratic, &q, 2, x2, b2, 0.5, 5.0, 0.0, xn, work, NULL, NULL));
    CHECK(xn[0] == 1.0 && xn[1] == 0.0);
}

static void test_direction_is_unit(void) {
    dci_rng r;
    dci_rng_init(&r, 3, DCI_STREAM_TEST);
    double b[25], mean0 = 0.0;
    for (int rep = 0; rep < 2000; rep++) {
        dci_dbas_direction(&r, b, 25);
        double n2 = 0.0;
        for (int i = 0; i < 25; i++) n2 += b[i] * b[i];
        if (fabs(n2 - 1.0) > 1e-12) {
            CHECK_NEAR(n2, 1.0, 1e-12);
            return;
        }
        mean0 += b[0];
    }
    /* E[b_0] = 0, sd of the mean = sqrt(1/25 / 2000) ~ 0.0045. */
    CHECK(fabs(mean0 / 2000) < 0.025);
}

/* The direction is uniform on the unit sphere S^{d-1}: for one coordinate
 * E[b0^2] = 1/d, E[b0^4] = 3/(d(d+2)), E[b0^8] = 105/(d(d+2)(d+4)(d+6))
 * (moments of the uniform sphere, e.g. from b = g/|g| with g ~ N(0, I):
 * E[b0^2m] = (2m-1)!! / (d(d+2)...(d+2m-2))) and E[b0 b1] = 0 with
 * E[b0^2 b1^2] = 1/(d(d+2)). Each sample mean is within 5 standard errors
 * (closed-form variances over M draws) of its expectation. A normalised
 * uniform-cube draw has E[b0^4] ~ 0.0704 at d = 5 (~14 SE below 3/35), an
 * axis-aligned one 1/5; both have E[b0^2] = 1/d by symmetry. */
static void test_direction_is_uniform_on_sphere(void) {
    enum { D = 5, M = 20000 };
    const double d = D;
    const double m2 = 1.0 / d, m4 = 3.0 / (d * (d + 2)),
                 m8 = 105.0 / (d * (d + 2) * (d + 4) * (d + 6)), m22 = 1.0 / (d * (d + 2));
    const double se2 = sqrt((m4 - m2 * m2) / M), se4 = sqrt((m8 - m4 * m4) / M),
                 se01 = sqrt(m22 / M);
    dci_rng r;
    dci_rng_init(&r, 11, DCI_STREAM_TEST);
    double b[D], s2 = 0, s4 = 0, s01 = 0, t2 = 0, t4 = 0;
    for (int rep = 0; rep < M; rep++) {
        dci_dbas_direction(&r, b, D);
        s2 += b[0] * b[0];
        s4 += b[0] * b[0] * b[0] * b[0];
        s01 += b[0] * b[1];
        /* the last coordinate too: no coordinate is special */
        t2 += b[D - 1] * b[D - 1];
        t4 += b[D - 1] * b[D - 1] * b[D - 1] * b[D - 1];
    }
    CHECK_NEAR(s2 / M, m2, 5 * se2);
    CHECK_NEAR(s4 / M, m4, 5 * se4);
    CHECK_NEAR(s01 / M, 0.0, 5 * se01);
    CHECK_NEAR(t2 / M, m2, 5 * se2);
    CHECK_NEAR(t4 / M, m4, 5 * se4);
}

/* The first iteration of dc_dbas_minimize, rebuilt from its documented
 * pieces: beetle 0 draws from a stream seeded by the first number of the
 * master stream. With damp = 0 this is exactly one plain BAS move. */
static void test_first_iteration_matches_bas(void) {
    const double a[3] = {0.3, -0.2, 0.7}, x0[3] = {0, 0, 0};
    quad q = {a, 0};
    dc_dbas_config cfg;
    dc_dbas_config_default(&cfg);
    cfg.damp = 0.0;
    cfg.iterations = 1;
    cfg.step = 0.4;
    cfg.seed = 77;
    double tr[2], cur[2], fb;
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 3, x0, 1, &cfg, NULL, &fb, tr, cur));
    CHECK(q.calls == 4); /* start + two antennae + new position */

    dci_rng master, r;
    dci_rng_init(&master, 77, DCI_STREAM_DBAS);
    dci_rng_init(&r, dci_rng_u64(&master), DCI_STREAM_DBAS);
    double b[3], fl = 0, fr = 0;
    dci_dbas_direction(&r, b, 3);
    for (int i = 0; i < 3; i++) fl += (0.08 * b[i] - a[i]) * (0.08 * b[i] - a[i]);
    for (int i = 0; i < 3; i++) fr += (-0.08 * b[i] - a[i]) * (-0.08 * b[i] - a[i]);
    double sgn = fl < fr ? -1.0 : 1.0, f1 = 0.0;
    for (int i = 0; i < 3; i++) {
        double xi = -0.4 * b[i] * sgn;
        f1 += (xi - a[i]) * (xi - a[i]);
    }
    double f0 = 0.09 + 0.04 + 0.49;
    CHECK_NEAR(tr[0], f0, 1e-15);
    CHECK_NEAR(cur[0], f0, 1e-15);
    CHECK_NEAR(cur[1], f1, 1e-14);
    CHECK_NEAR(tr[1], fmin(f0, f1), 1e-14);
    CHECK_NEAR(fb, fmin(f0, f1), 1e-14);
}

/* Convergence on a convex quadratic with a schedule long enough for the
 * distance to cover: asserts the minimum is reached, and the trace. */
static void check_quadratic(int64_t dim, int64_t iters, double step0, double eta, double tol) {
    double a[64], x0[64], xb[64];
    dci_rng r;
    dci_rng_init(&r, (uint64_t)dim, DCI_STREAM_TEST);
    for (int64_t i = 0; i < dim; i++) {
        a[i] = 2.0 * dci_rng_uniform(&r) - 1.0;
        x0[i] = 0.0;
    }
    quad q = {a, 0};
    dc_dbas_config cfg;
    dc_dbas_config_default(&cfg);
    cfg.iterations = iters;
    cfg.step = step0;
    cfg.eta = eta;
    cfg.seed = 5;
    static double tr[3001], cur[3001];
    double fb = -1;
    CHECK_OK(dc_dbas_minimize(quadratic, &q, dim, x0, 1, &cfg, xb, &fb, tr, cur));
    CHECK_MSG(fb < tol, "dim %lld: f_best = %g", (long long)dim, fb);
    CHECK(q.calls == 1 + 3 * iters);
    /* f_best is f at x_best, equals the last trace entry, and the trace never rises. */
    CHECK_NEAR(quadratic(xb, dim, &q), fb, 1e-15);
    CHECK(tr[iters] == fb);
    int mono = 1, below = 1;
    for (int64_t t = 1; t <= iters; t++) {
        if (tr[t] > tr[t - 1]) mono = 0;
        if (tr[t] > cur[t]) below = 0;
    }
    CHECK(mono);
    CHECK(below);
}

static void test_determinism_and_population(void) {
    const double a[4] = {1, 2, 3, 4}, x0[4] = {0, 0, 0, 0};
    quad q = {a, 0};
    dc_dbas_config cfg;
    dc_dbas_config_default(&cfg);
    cfg.seed = 11;
    double x1[4], x2[4], x3[4], f1, f2, f3;
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 4, x0, 1, &cfg, x1, &f1, NULL, NULL));
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 4, x0, 1, &cfg, x2, &f2, NULL, NULL));
    CHECK(memcmp(x1, x2, sizeof x1) == 0 && f1 == f2);
    cfg.seed = 12;
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 4, x0, 1, &cfg, x3, &f3, NULL, NULL));
    CHECK(memcmp(x1, x3, sizeof x1) != 0);

    /* Beetle 0 of a population runs the same search as a lone beetle, so the
     * population's best can only be better or equal. */
    cfg.seed = 11;
    cfg.beetles = 5;
    q.calls = 0;
    double fp;
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 4, x0, 1, &cfg, NULL, &fp, NULL, NULL));
    CHECK(fp <= f1);
    CHECK(q.calls == 1 + 3 * 5 * 100); /* a shared start is evaluated once */

    /* One start per beetle: a beetle started at the minimum keeps f_best = 0. */
    double starts[3 * 4] = {0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9};
    cfg.beetles = 3;
    double tr[101];
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 4, starts, 3, &cfg, x1, &fp, tr, NULL));
    CHECK(fp == 0.0 && tr[0] == 0.0);
    CHECK(x1[0] == 1 && x1[1] == 2 && x1[2] == 3 && x1[3] == 4);
}

static void test_errors(void) {
    const double a[2] = {0, 0}, x0[2] = {1, 1};
    quad q = {a, 0};
    dc_dbas_config cfg;
    double fb;
#define BAD(field, value, word)                                                         \
    do {                                                                                \
        dc_dbas_config_default(&cfg);                                                   \
        cfg.field = value;                                                              \
        CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 2, x0, 1, &cfg, NULL, &fb, NULL, NULL), \
                     DC_ERR_INVALID_ARG);                                               \
        CHECK_MSG(strstr(dc_last_error(), word) != NULL, "%s", dc_last_error());        \
    } while (0)
    BAD(step, 0.0, "step");
    BAD(step, -1.0, "step");
    BAD(step, NAN, "step");
    BAD(eta, 0.0, "eta");
    BAD(eta, 1.5, "eta");
    BAD(damp, 1.0, "damp");
    BAD(damp, -0.1, "damp");
    BAD(iterations, 0, "iterations");
    BAD(c, 0.0, "c = ");
    BAD(c, -2.0, "c = ");
    BAD(beetles, 0, "beetles");
    BAD(struct_size, 8, "struct_size");
#undef BAD
    /* eta = 1 (constant step) and damp = 0 (plain BAS) are valid edges. */
    dc_dbas_config_default(&cfg);
    cfg.eta = 1.0;
    cfg.damp = 0.0;
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 2, x0, 1, &cfg, NULL, &fb, NULL, NULL));
    CHECK_OK(dc_dbas_minimize(quadratic, &q, 2, x0, 1, NULL, NULL, &fb, NULL, NULL));

    CHECK_STATUS(dc_dbas_minimize(NULL, &q, 2, x0, 1, NULL, NULL, &fb, NULL, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 2, NULL, 1, NULL, NULL, &fb, NULL, NULL),
                 DC_ERR_NULL);
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 0, x0, 1, NULL, NULL, &fb, NULL, NULL),
                 DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "dim") != NULL);
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 2, x0, 2, NULL, NULL, &fb, NULL, NULL),
                 DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "x0_rows") != NULL);
    /* A population whose work space (beetles + 4) x dim overflows int64: a
     * clear refusal, not a signed overflow (UBSan) and a wrapped, too small
     * allocation. */
    dc_dbas_config_default(&cfg);
    cfg.beetles = (int64_t)1 << 61;
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 8, x0, 1, &cfg, NULL, &fb, NULL, NULL),
                 DC_ERR_NOMEM);
    CHECK_MSG(strstr(dc_last_error(), "2305843009213693952 beetles in dimension 8") != NULL, "%s",
              dc_last_error());
    cfg.beetles = INT64_MAX;
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 2, x0, 1, &cfg, NULL, &fb, NULL, NULL),
                 DC_ERR_NOMEM);
    const double xnan[2] = {NAN, 0};
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 2, xnan, 1, NULL, NULL, &fb, NULL, NULL),
                 DC_ERR_INVALID_ARG);

    /* Call 1 = start, 2..4 = iteration 1, 5..7 = iteration 2, 8 = iteration 3's left antenna. */
    nan_after u = {0, 8};
    double x_best[2] = {-5, -5};
    CHECK_STATUS(dc_dbas_minimize(nan_fitness, &u, 2, x0, 1, NULL, x_best, &fb, NULL, NULL),
                 DC_ERR_NUMERIC);
    CHECK_MSG(strstr(dc_last_error(), "iteration 3") != NULL &&
                  strstr(dc_last_error(), "NaN") != NULL,
              "%s", dc_last_error());
    CHECK(x_best[0] == -5); /* no partial result */
    u = (nan_after){0, 1};
    CHECK_STATUS(dc_dbas_minimize(nan_fitness, &u, 2, x0, 1, NULL, NULL, &fb, NULL, NULL),
                 DC_ERR_NUMERIC);
    CHECK(strstr(dc_last_error(), "start point") != NULL);

    dc_dbas_config_default(&cfg);
    cfg.progress = cancel_at_5;
    q.calls = 0;
    CHECK_STATUS(dc_dbas_minimize(quadratic, &q, 2, x0, 1, &cfg, NULL, &fb, NULL, NULL),
                 DC_ERR_CANCELLED);
    CHECK(q.calls == 1 + 3 * 5);
}

static void test_defaults(void) {
    dc_dbas_config cfg;
    dc_dbas_config_default(&cfg);
    CHECK(cfg.struct_size == (int)sizeof cfg);
    CHECK(cfg.step == 0.1 && cfg.eta == 0.95 && cfg.c == 5.0 && cfg.iterations == 100 &&
          cfg.damp == 0.5 && cfg.beetles == 1);

    /* The layout-free path fills the same fields a C caller would. */
    CHECK(dc_dbas_config_size() == sizeof(dc_dbas_config));
    CHECK_OK(dc_dbas_config_set(&cfg, "step", 0.25));
    CHECK_OK(dc_dbas_config_set(&cfg, "iterations", 7));
    CHECK_OK(dc_dbas_config_set(&cfg, "seed", 99));
    CHECK_OK(dc_dbas_config_set(&cfg, "damp", 0.0));
    CHECK(cfg.step == 0.25 && cfg.iterations == 7 && cfg.seed == 99 && cfg.damp == 0.0);
    CHECK_STATUS(dc_dbas_config_set(&cfg, "beetles", 1.5), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_dbas_config_set(&cfg, "eta", NAN), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_dbas_config_set(&cfg, "speed", 1), DC_ERR_UNKNOWN_NAME);
    CHECK(strstr(dc_last_error(), "iterations") != NULL);
    CHECK_STATUS(dc_dbas_config_set(NULL, "step", 1), DC_ERR_NULL);
    CHECK(cfg.beetles == 1);
}

static void test_quadratic_4(void) { check_quadratic(4, 2000, 1.0, 0.995, 1e-6); }
static void test_quadratic_25(void) { check_quadratic(25, 3000, 1.0, 0.997, 1e-5); }

static const dct_case cases[] = {
    DCT_CASE(defaults),     DCT_CASE(single_step_by_hand),       DCT_CASE(direction_is_unit),
    DCT_CASE(direction_is_uniform_on_sphere),
    DCT_CASE(first_iteration_matches_bas), DCT_CASE(quadratic_4), DCT_CASE(quadratic_25),
    DCT_CASE(determinism_and_population),  DCT_CASE(errors),
};

int main(int argc, char **argv) { return dct_run(cases, DCT_COUNT(cases), argc, argv); }
