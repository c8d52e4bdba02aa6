/* Minimal test harness: CHECK* macros count results; main() ends with
 * DC_TEST_END(), which prints "N passed, N failed" and sets the exit code,
 * or returns dct_run over a list of named cases. */
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

/* Named cases, as libuv's test list: a program lists its cases once,
 *     static const dct_case cases[] = {DCT_CASE(hand_example), ...};
 * (each a function test_<name>(void)) and main returns
 * dct_run(cases, DCT_COUNT(cases), argc, argv): every case in order, or
 * only those named on the command line, e.g.
 *     build/tests/test_assign hand_example
 *     meson test -C build test_assign --test-args hand_example
 * --list prints the names. */
typedef struct dct_case {
    const char *name;
    void (*fn)(void);
} dct_case;

#define DCT_CASE(name) {#name, test_##name}
#define DCT_COUNT(cases) ((int)(sizeof(cases) / sizeof((cases)[0])))

static inline int dct_named(int argc, char **argv, const char *name) {
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], name) == 0) return 1;
    return 0;
}

static inline int dct_run(const dct_case *cases, int n, int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < n; i++) puts(cases[i].name);
        return 0;
    }
    for (int a = 1; a < argc; a++) {
        int known = 0;
        for (int i = 0; i < n; i++) known |= strcmp(argv[a], cases[i].name) == 0;
        if (!known) {
            fprintf(stderr, "%s: no test case '%s' (--list names them)\n", argv[0], argv[a]);
            return 2;
        }
    }
    for (int i = 0; i < n; i++)
        if (argc < 2 || dct_named(argc, argv, cases[i].name)) cases[i].fn();
    printf("%d passed, %d failed\n", dct_pass, dct_fail);
    return dct_fail ? 1 : 0;
}

#endif
