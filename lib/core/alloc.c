#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "deepclust/core.h"

static void *default_malloc(void *u, size_t n) { (void)u; return malloc(n); }
static void *default_realloc(void *u, void *p, size_t n) { (void)u; return realloc(p, n); }
static void default_free(void *u, void *p) { (void)u; free(p); }

static dc_malloc_fn g_malloc = default_malloc;
static dc_realloc_fn g_realloc = default_realloc;
static dc_free_fn g_free = default_free;
static void *g_user = NULL;

dc_status dc_set_allocator(dc_malloc_fn m, dc_realloc_fn r, dc_free_fn f, void *user) {
    if (!m && !r && !f) {
        g_malloc = default_malloc, g_realloc = default_realloc, g_free = default_free;
        g_user = NULL;
        return DC_OK;
    }
    if (!m || !r || !f)
        return dci_fail(DC_ERR_NULL, "dc_set_allocator: give all three functions or none");
    g_malloc = m, g_realloc = r, g_free = f, g_user = user;
    return DC_OK;
}

/* size 0 still returns a unique pointer so callers need no special case. */
void *dci_malloc(size_t size) { return g_malloc(g_user, size ? size : 1); }
void *dci_realloc(void *ptr, size_t size) { return g_realloc(g_user, ptr, size ? size : 1); }
void dci_free(void *ptr) {
    if (ptr) g_free(g_user, ptr);
}
void *dci_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = dci_malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *dci_alloc_array(int64_t count, size_t size, const char *what) {
    if (count < 0 || (size && (uint64_t)count > SIZE_MAX / size)) {
        dci_fail(DC_ERR_NOMEM, "%s: size overflow (%lld x %zu bytes)", what, (long long)count, size);
        return NULL;
    }
    void *p = dci_malloc((size_t)count * size);
    if (!p)
        dci_fail(DC_ERR_NOMEM, "%s: cannot allocate %.1f MiB", what,
                 (double)count * (double)size / 1048576.0);
    return p;
}

void *dci_calloc_array(int64_t count, size_t size, const char *what) {
    void *p = dci_alloc_array(count, size, what);
    if (p) memset(p, 0, (size_t)count * size);
    return p;
}

dc_status dci_size_product(int64_t a, int64_t b, size_t elem, int64_t *count, const char *what) {
    int64_t c = 0;
    if (a < 0 || b < 0 || !dci_mul_i64(a, b, &c) || (elem && (uint64_t)c > SIZE_MAX / elem) ||
        (elem && (uint64_t)c > (uint64_t)INT64_MAX / elem))
        return dci_fail(DC_ERR_NOMEM, "%s: %lld x %lld entries of %zu bytes do not fit in memory",
                        what, (long long)a, (long long)b, elem);
    *count = c;
    return DC_OK;
}
