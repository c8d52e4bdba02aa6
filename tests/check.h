/* Minimal test harness: CHECK* macros count results; main() ends with
 * DC_TEST_END(), which prints "N passed, N failed" and sets the exit code. */
#ifndef DC_TEST_CHECK_H
#define DC_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int dct_pass = 0, dct_fail = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) dct_pass++;                                                    \
        else {                                                                   \
            dct_fail++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                     \
    do {                                                                         \
        if (cond) dct_pass++;                                                    \
        else {                                                                   \
            dct_fail++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
        }                                                                        \
    } while (0)

/* Status check that prints dc_last_error() on mismatch. */
#define CHECK_STATUS(expr, expected)                                             \
    do {                                                                         \
        int dct_st_ = (int)(expr);                                               \
        CHECK_MSG(dct_st_ == (int)(expected), "%s returned %d, expected %d (%s)", \
                  #expr, dct_st_, (int)(expected), dc_last_error());             \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, 0)

#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double dct_a_ = (double)(a), dct_b_ = (double)(b);                       \
        CHECK_MSG(fabs(dct_a_ - dct_b_) <= (tol), "%s = %.12g, %s = %.12g, tol %g", \
                  #a, dct_a_, #b, dct_b_, (double)(tol));                        \
    } while (0)

#define DC_TEST_END()                                                            \
    do {                                                                         \
        printf("%d passed, %d failed\n", dct_pass, dct_fail);                    \
        return dct_fail ? 1 : 0;                                                 \
    } while (0)

#endif
