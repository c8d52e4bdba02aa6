/* A counting allocator for dc_set_allocator, for the tests that check what
 * the library allocates: the number of live blocks, and two ways to refuse
 * a request -- any above `giant` bytes (the largest refused is recorded),
 * or exactly the request numbered `fail_at` since test_alloc_arm. */
#ifndef DC_TEST_ALLOC_H
#define DC_TEST_ALLOC_H

#include <stdint.h>
#include <stdlib.h>

#include "deepclust.h"

typedef struct test_alloc {
    long long live;     /* blocks handed out and not freed */
    long long requests; /* malloc and realloc calls since test_alloc_arm */
    long long fail_at;  /* the request to refuse (0: none) */
    int refused;        /* whether it came */
    size_t giant;       /* larger requests are refused (SIZE_MAX: none) */
    size_t giant_seen;  /* the largest of them since the caller last reset it */
} test_alloc;

static test_alloc g_alloc = {0, 0, 0, 0, SIZE_MAX, 0};

static inline int test_alloc_refuse(size_t n) {
    if (n > g_alloc.giant) {
        if (n > g_alloc.giant_seen) g_alloc.giant_seen = n;
        return 1;
    }
    if (++g_alloc.requests != g_alloc.fail_at) return 0;
    g_alloc.refused = 1;
    return 1;
}

static inline void *test_malloc(void *u, size_t n) {
    (void)u;
    if (test_alloc_refuse(n)) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) g_alloc.live++;
    return p;
}

static inline void *test_realloc(void *u, void *p, size_t n) {
    if (!p) return test_malloc(u, n);
    if (test_alloc_refuse(n)) return NULL;
    return realloc(p, n ? n : 1);
}

static inline void test_free(void *u, void *p) {
    (void)u;
    if (!p) return;
    free(p);
    g_alloc.live--;
}

/* Makes it the library's allocator; requests above `giant` bytes fail. */
static inline dc_status test_alloc_install(size_t giant) {
    g_alloc.giant = giant;
    return dc_set_allocator(test_malloc, test_realloc, test_free, NULL);
}

/* Counts requests from now on and refuses number `at` (0: none). */
static inline void test_alloc_arm(long long at) {
    g_alloc.requests = 0;
    g_alloc.fail_at = at;
    g_alloc.refused = 0;
}

#endif
