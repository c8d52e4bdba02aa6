/* Internal allocation through the user's hooks, with overflow-checked arrays. */
#ifndef DCI_ALLOC_H
#define DCI_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *dci_malloc(size_t size);
void *dci_calloc(size_t count, size_t size);
void *dci_realloc(void *ptr, size_t size);
void dci_free(void *ptr);

/* Allocates count*size bytes (uninitialised); NULL on overflow or failure,
 * with DC_ERR_NOMEM detail set naming `what`. count < 0 counts as overflow. */
void *dci_alloc_array(int64_t count, size_t size, const char *what);
/* Same, zero-filled. */
void *dci_calloc_array(int64_t count, size_t size, const char *what);

#define DCI_NEW_ARRAY(type, count, what) ((type *)dci_alloc_array((count), sizeof(type), (what)))
#define DCI_NEW_ZEROS(type, count, what) ((type *)dci_calloc_array((count), sizeof(type), (what)))

#endif
