/* Internal allocation through the user's hooks, with overflow-checked arrays. */
#ifndef DCI_ALLOC_H
#define DCI_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "deepclust/status.h"

void *dci_malloc(size_t size);
void *dci_calloc(size_t count, size_t size);
void *dci_realloc(void *ptr, size_t size);
void dci_free(void *ptr);

/* Allocates count*size bytes (uninitialised); NULL on overflow or failure,
 * with DC_ERR_NOMEM detail set naming `what`. count < 0 counts as overflow. */
void *dci_alloc_array(int64_t count, size_t size, const char *what);
/* Same, zero-filled. */
void *dci_calloc_array(int64_t count, size_t size, const char *what);

/* Sizes that come from callers and file headers are multiplied through
 * these before anything relies on the product: signed overflow is undefined
 * behaviour, not a wrapped value to test afterwards. dci_mul_i64: 1 and *out = a * b when the product fits in int64_t,
 * else 0 (*out unspecified). */
static inline int dci_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline int dci_add_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* *count = a * b for an array of that many `elem`-byte entries (a, b >= 0);
 * DC_ERR_NOMEM with a detail naming `what` and both sizes when the count or
 * its byte size does not fit in int64_t / size_t. */
dc_status dci_size_product(int64_t a, int64_t b, size_t elem, int64_t *count, const char *what);

#define DCI_NEW_ARRAY(type, count, what) ((type *)dci_alloc_array((count), sizeof(type), (what)))
#define DCI_NEW_ZEROS(type, count, what) ((type *)dci_calloc_array((count), sizeof(type), (what)))

#endif
