/* Internal error helpers: set the thread-local detail and return the code. */
#ifndef DCI_ERROR_H
#define DCI_ERROR_H

#include <stddef.h>
#include <string.h>

#include "deepclust/status.h"

/* Formats the detail (printf-style), stores it thread-locally, returns code.
 * Usage: return dci_fail(DC_ERR_SHAPE, "row %lld: expected %lld columns", r, d); */
dc_status dci_fail(dc_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current detail with "context: " and returns code unchanged,
 * e.g. return dci_context(st, "%s", path); */
dc_status dci_context(dc_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's detail, saved before work the library may recover
 * from (a fallback, a restart) and restored when the call succeeds: the
 * detail stays the caller's last failure's, as dc_last_error promises. */
typedef struct dci_error_saved {
    char text[1024];
} dci_error_saved;
void dci_error_save(dci_error_saved *e);
void dci_error_restore(const dci_error_saved *e);

/* The message names the public function (dc_*) that checks; a helper's
 * own name would mean nothing to the caller. */
#define DCI_CHECK_NULL(p)                                                               \
    do {                                                                                \
        if ((p) == NULL)                                                                \
            return dci_fail(DC_ERR_NULL, "%s%sargument '%s' is NULL",                   \
                            strncmp(__func__, "dc_", 3) == 0 ? __func__ : "",           \
                            strncmp(__func__, "dc_", 3) == 0 ? ": " : "", #p);          \
    } while (0)

#define DCI_TRY(expr)                    \
    do {                                 \
        dc_status dci_st_ = (expr);      \
        if (dci_st_ != DC_OK) return dci_st_; \
    } while (0)

#endif
