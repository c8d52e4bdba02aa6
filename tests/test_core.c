/* Core: status text, thread-local errors, allocator hooks, RNG, finiteness. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust.h"

static void *thread_fail(void *arg) {
    (void)arg;
    dci_fail(DC_ERR_IO, "other thread's error");
    return (void *)dc_last_error();
}

/* dci_parallel_for body: counts each index it is given and records the
 * calling threads. */
typedef struct cover_job {
    int *hits;
    pthread_t callers[8];
    int n_callers;
    pthread_mutex_t mu;
} cover_job;

static void cover(void *ctx, int64_t lo, int64_t hi) {
    cover_job *j = ctx;
    for (int64_t i = lo; i < hi; i++) j->hits[i]++;
    pthread_mutex_lock(&j->mu);
    if (j->n_callers < 8) j->callers[j->n_callers++] = pthread_self();
    pthread_mutex_unlock(&j->mu);
}

/* Every index exactly once, in as many parts as threads (fewer for small
 * ranges), the caller's thread among them; again after the thread count
 * changes. */
static void test_parallel_for(void) {
    enum { N = 1000 };
    for (int threads = 1; threads <= 3; threads++) {
        CHECK_OK(dc_set_threads(threads));
        CHECK(dci_parallel_threads() == threads);
        const int64_t sizes[3] = {N, 7, 0};
        for (int s = 0; s < 3; s++) {
            cover_job j = {.hits = calloc(N, sizeof(int)), .mu = PTHREAD_MUTEX_INITIALIZER};
            dci_parallel_for(sizes[s], 4, cover, &j);
            int once = 1;
            for (int64_t i = 0; i < N; i++) once &= j.hits[i] == (i < sizes[s]);
            CHECK(once);
            const int want = sizes[s] == N ? threads : (sizes[s] == 7 ? 1 : 0);
            CHECK(j.n_callers == want);
            int self = want == 0;
            for (int c = 0; c < j.n_callers; c++) self |= pthread_equal(j.callers[c], pthread_self());
            CHECK(self);
            free(j.hits);
        }
    }
}

/* Distinct rows: against the O(n^2) count on random rows drawn from a few
 * patterns (many exact duplicates, a sign-only difference), edge sizes. */
static void test_count_distinct_rows(void) {
    const int64_t n = 500, d = 3;
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    dci_rng r;
    dci_rng_init(&r, 5, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)dci_rng_below(&r, 3) - 1.0f;
    for (int64_t j = 0; j < d; j++) x[7 * d + j] = -0.0f; /* -0 and 0 differ bit for bit */
    int64_t want = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = 0;
        while (j < i && memcmp(x + j * d, x + i * d, sizeof(float) * (size_t)d)) j++;
        want += j == i;
    }
    CHECK_MSG(dci_count_distinct_rows(x, n, d) == want, "%lld, want %lld",
              (long long)dci_count_distinct_rows(x, n, d), (long long)want);
    CHECK(want > 20 && want <= 28); /* 27 patterns, one with -0 */
    CHECK(dci_count_distinct_rows(x, 1, d) == 1);
    CHECK(dci_count_distinct_rows(x, 0, d) == 0);
    free(x);
}

static long n_mallocs, n_frees;
static void *count_malloc(void *u, size_t n) { (void)u; n_mallocs++; return malloc(n); }
static void *count_realloc(void *u, void *p, size_t n) { (void)u; return realloc(p, n); }
static void count_free(void *u, void *p) { (void)u; n_frees++; free(p); }

int main(void) {
    test_count_distinct_rows();
    /* Every status has its own non-empty text. */
    for (int a = 0; a >= -19; a--) {
        CHECK(strlen(dc_strerror((dc_status)a)) > 0);
        for (int b = a - 1; b >= -19; b--) CHECK(strcmp(dc_strerror((dc_status)a), dc_strerror((dc_status)b)));
    }
    CHECK(!strcmp(dc_strerror((dc_status)-999), "unknown status code"));

    /* Errors carry detail, context prefixes it, and are per thread. */
    CHECK(dci_fail(DC_ERR_SHAPE, "row %d: expected %d columns", 17, 784) == DC_ERR_SHAPE);
    CHECK(!strcmp(dc_last_error(), "row 17: expected 784 columns"));
    CHECK(dci_context(DC_ERR_SHAPE, "%s", "data.csv") == DC_ERR_SHAPE);
    CHECK(!strcmp(dc_last_error(), "data.csv: row 17: expected 784 columns"));
    pthread_t th;
    void *other = NULL;
    pthread_create(&th, NULL, thread_fail, NULL);
    pthread_join(th, &other);
    CHECK(!strcmp(dc_last_error(), "data.csv: row 17: expected 784 columns"));
    dc_clear_error();
    CHECK(dc_last_error()[0] == '\0');

    /* A NULL argument is named with the public function that was called,
     * never with an internal helper's name. */
    double v = 0;
    CHECK_STATUS(dc_metrics_acc(NULL, (const int32_t[]){0, 1}, 2, &v), DC_ERR_NULL);
    CHECK_MSG(!strcmp(dc_last_error(), "argument 'truth' is NULL"), "%s", dc_last_error());
    CHECK_STATUS(dc_solver_set(NULL, "k", 2), DC_ERR_NULL);
    CHECK_MSG(!strcmp(dc_last_error(), "dc_solver_set: argument 's' is NULL"), "%s",
              dc_last_error());

    /* Overflowing sizes fail cleanly instead of wrapping. */
    CHECK(dci_alloc_array(INT64_MAX / 2, 8, "huge") == NULL);
    CHECK(strstr(dc_last_error(), "huge") != NULL);
    CHECK(dci_alloc_array(-1, 4, "negative") == NULL);

    /* Allocator hooks see the library's allocations. */
    CHECK_STATUS(dc_set_allocator(count_malloc, NULL, NULL, NULL), DC_ERR_NULL);
    CHECK_OK(dc_set_allocator(count_malloc, count_realloc, count_free, NULL));
    float *p = DCI_NEW_ARRAY(float, 100, "test");
    CHECK(p != NULL);
    dci_free(p);
    CHECK(n_mallocs == 1 && n_frees == 1);
    CHECK_OK(dc_set_allocator(NULL, NULL, NULL, NULL));

    /* xoshiro256** reference: state {1,2,3,4} gives 11520 then 0. */
    dci_rng r = {{1, 2, 3, 4}};
    CHECK(dci_rng_u64(&r) == 11520u);
    CHECK(dci_rng_u64(&r) == 0u);

    /* Same seed and stream: same sequence; other stream or seed: different. */
    dci_rng a, b, c, d;
    dci_rng_init(&a, 42, DCI_STREAM_KMEANS);
    dci_rng_init(&b, 42, DCI_STREAM_KMEANS);
    dci_rng_init(&c, 42, DCI_STREAM_SHUFFLE);
    dci_rng_init(&d, 43, DCI_STREAM_KMEANS);
    int same_ab = 1, same_ac = 0, same_ad = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t va = dci_rng_u64(&a), vb = dci_rng_u64(&b), vc = dci_rng_u64(&c), vd = dci_rng_u64(&d);
        same_ab &= va == vb;
        same_ac += va == vc;
        same_ad += va == vd;
    }
    CHECK(same_ab && same_ac == 0 && same_ad == 0);

    /* Distributions: uniform range, below() bounds and balance, normal moments. */
    dci_rng_init(&a, 7, DCI_STREAM_TEST);
    const int N = 200000;
    double s1 = 0, s2 = 0, umin = 1, umax = 0;
    long counts[7] = {0};
    int below_ok = 1;
    for (int i = 0; i < N; i++) {
        double u = dci_rng_uniform(&a);
        umin = fmin(umin, u), umax = fmax(umax, u);
        uint64_t k = dci_rng_below(&a, 7);
        below_ok &= k < 7;
        if (k < 7) counts[k]++;
        double z = dci_rng_normal(&a);
        s1 += z, s2 += z * z;
    }
    CHECK(below_ok);
    CHECK(umin >= 0 && umax < 1 && umin < 1e-3 && umax > 1 - 1e-3);
    double chi2 = 0;
    for (int k = 0; k < 7; k++) chi2 += pow(counts[k] - N / 7.0, 2) / (N / 7.0);
    CHECK_MSG(chi2 < 30, "chi2 = %g (6 dof)", chi2);
    CHECK_NEAR(s1 / N, 0.0, 0.015);
    CHECK_NEAR(s2 / N - (s1 / N) * (s1 / N), 1.0, 0.02);

    /* Shuffle yields a permutation. */
    int64_t perm[50];
    for (int i = 0; i < 50; i++) perm[i] = i;
    dci_rng_shuffle_i64(&a, perm, 50);
    int seen[50] = {0}, moved = 0;
    for (int i = 0; i < 50; i++) {
        if (perm[i] >= 0 && perm[i] < 50) seen[perm[i]]++;
        moved += perm[i] != i;
    }
    int all_once = 1;
    for (int i = 0; i < 50; i++) all_once &= seen[i] == 1;
    CHECK(all_once && moved > 25);

    /* Non-finite values are located precisely. */
    float x[6] = {1, 2, 3, 4, NAN, 6};
    CHECK_STATUS(dci_check_finite(x, 3, 2, "data"), DC_ERR_NONFINITE);
    CHECK(strstr(dc_last_error(), "row 2, column 0 is NaN") != NULL);
    x[4] = INFINITY;
    CHECK_STATUS(dci_check_finite(x, 3, 2, "data"), DC_ERR_NONFINITE);
    x[4] = 5;
    CHECK_OK(dci_check_finite(x, 3, 2, "data"));

    /* Version agrees with the header. */
    CHECK(dc_version_number() == DC_VERSION_NUMBER);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", DC_VERSION_MAJOR, DC_VERSION_MINOR, DC_VERSION_PATCH);
    CHECK(!strcmp(dc_version_string(), expect));
    test_parallel_for();
    CHECK_STATUS(dc_set_threads(0), DC_ERR_INVALID_ARG);
    CHECK_OK(dc_set_threads(1));
    CHECK(dc_get_threads() == 1);
    DC_TEST_END();
}
