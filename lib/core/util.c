#include "core/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "core/alloc.h"
#include "core/error.h"
#include "deepclust/version.h"
#include "nn/gemm.h" /* the bf16 products' threads follow dc_set_threads */

double dci_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct row_hash {
    uint64_t h;
    int64_t row;
} row_hash;

static int by_hash(const void *a, const void *b) {
    const row_hash *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h ? 1 : (x->row > y->row) - (x->row < y->row);
}

int64_t dci_count_distinct_rows(const float *x, int64_t n, int64_t d) {
    row_hash *r = DCI_NEW_ARRAY(row_hash, n, "row hashes");
    if (!r) return -1;
    const size_t bytes = (size_t)d * sizeof *x;
    for (int64_t i = 0; i < n; i++) {
        /* FNV-1a over the floats' bit patterns, a word at a time (every
         * spectral fit hashes its data: a byte loop cost 4x as much) */
        uint64_t h = 1469598103934665603ull;
        for (int64_t j = 0; j < d; j++) {
            uint32_t w;
            memcpy(&w, x + i * d + j, sizeof w);
            h = (h ^ w) * 1099511628211ull;
        }
        r[i] = (row_hash){h, i};
    }
    qsort(r, (size_t)n, sizeof *r, by_hash);
    int64_t distinct = 0;
    for (int64_t g = 0; g < n;) {
        int64_t end = g;
        while (end < n && r[end].h == r[g].h) end++;
        /* a run of equal hashes: count the rows unlike every earlier one in
         * the run (almost always one distinct row; collisions are rare) */
        for (int64_t i = g; i < end; i++) {
            int64_t j = g;
            while (j < i && memcmp(x + r[j].row * d, x + r[i].row * d, bytes) != 0) j++;
            distinct += j == i;
        }
        g = end;
    }
    dci_free(r);
    return distinct;
}

dc_status dci_check_finite(const float *x, int64_t n, int64_t d, const char *what) {
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * d;
        float acc = 0.0f;
        /* x*0 is 0 for finite x and NaN otherwise: one cheap pass, then locate. */
        for (int64_t j = 0; j < d; j++) acc += row[j] * 0.0f;
        if (acc != 0.0f) {
            for (int64_t j = 0; j < d; j++)
                if (!isfinite(row[j]))
                    return dci_fail(DC_ERR_NONFINITE, "%s: row %lld, column %lld is %s", what,
                                    (long long)i, (long long)j, isnan(row[j]) ? "NaN" : "Inf");
        }
    }
    return DC_OK;
}

dc_status dci_check_shape(int64_t n, int64_t d, const char *what) {
    if (n < 1) return dci_fail(DC_ERR_SHAPE, "%s: no rows (rows = %lld)", what, (long long)n);
    if (d < 1) return dci_fail(DC_ERR_SHAPE, "%s: no columns (cols = %lld)", what, (long long)d);
    int64_t count;
    return dci_size_product(n, d, sizeof(float), &count, what);
}

dc_status dci_check_matrix(const float *x, int64_t n, int64_t d, const char *what) {
    if (!x) return dci_fail(DC_ERR_NULL, "%s: the matrix is NULL", what);
    DCI_TRY(dci_check_shape(n, d, what));
    return dci_check_finite(x, n, d, what);
}

double dci_float_scale(double max_abs, int64_t d) {
    const double norm2 = max_abs * max_abs * (double)d; /* finite: max_abs < 2^129, d < 2^63 */
    int e = 0;
    frexp(norm2, &e); /* 2^(e-1) <= norm2 < 2^e */
    if (norm2 == 0.0 || (e >= DCI_FLOAT_NORM2_MIN_EXP && e <= DCI_FLOAT_NORM2_MAX_EXP)) return 1.0;
    const int half = e > DCI_FLOAT_NORM2_MAX_EXP ? -((e - DCI_FLOAT_NORM2_MAX_EXP + 1) / 2)
                                                : (DCI_FLOAT_NORM2_MAX_EXP - e) / 2;
    return ldexp(1.0, half);
}

static dc_log_fn g_log = NULL;
static void *g_log_user = NULL;
static dc_log_level g_log_max = DC_LOG_INFO;

void dc_set_log(dc_log_fn fn, void *user, dc_log_level max_level) {
    g_log = fn;
    g_log_user = user;
    g_log_max = max_level;
}

void dci_log(dc_log_level level, const char *fmt, ...) {
    if (!g_log || level > g_log_max) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_log(g_log_user, level, buf);
}

static _Thread_local const volatile int *g_run_state = NULL;

const volatile int *dci_cancel_bind(const volatile int *state) {
    const volatile int *old = g_run_state;
    g_run_state = state;
    return old;
}

int dci_cancel_requested(void) {
    return g_run_state && __atomic_load_n(g_run_state, __ATOMIC_RELAXED) == DCI_RUN_CANCELLED;
}

dc_status dci_cancel_check(const char *phase) {
    if (dci_cancel_requested())
        return dci_fail(DC_ERR_CANCELLED, "%s: cancelled (dc_solver_cancel)", phase);
    return DC_OK;
}

dc_status dci_progress(dc_progress_fn fn, void *user, const char *phase, long long done,
                       long long total, double value) {
    DCI_TRY(dci_cancel_check(phase));
    if (fn && fn(user, phase, done, total, value))
        return dci_fail(DC_ERR_CANCELLED, "%s: cancelled by the progress callback", phase);
    return DC_OK;
}

#define DCI_STR2(x) #x
#define DCI_STR(x) DCI_STR2(x)
const char *dc_version_string(void) {
    return DCI_STR(DC_VERSION_MAJOR) "." DCI_STR(DC_VERSION_MINOR) "." DCI_STR(DC_VERSION_PATCH);
}
int dc_version_number(void) { return DC_VERSION_NUMBER; }

dc_status dc_set_threads(int n) {
    if (n < 1) return dci_fail(DC_ERR_INVALID_ARG, "dc_set_threads: n = %d, need n >= 1", n);
    openblas_set_num_threads(n);
    dci_gemm_set_threads(n);
    return DC_OK;
}

int dc_get_threads(void) { return openblas_get_num_threads(); }
