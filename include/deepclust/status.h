/* Status codes and error details.
 *
 * Every fallible call returns a dc_status: 0 on success, a negative code on
 * failure. The values are pinned: they never change between releases, so
 * bindings may hard-code them. After a failure, dc_last_error() gives a
 * human-readable detail ("bad.csv: line 2: expected 3 fields, got 2"). */
#ifndef DEEPCLUST_STATUS_H
#define DEEPCLUST_STATUS_H

#include "deepclust/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dc_status {
    DC_OK = 0,
    DC_ERR_NULL = -1,          /* a required pointer argument was NULL */
    DC_ERR_INVALID_ARG = -2,   /* a parameter is out of its documented range */
    DC_ERR_SHAPE = -3,         /* sizes do not agree (rows, columns, capacity), or a
                                  matrix has no rows or no columns */
    DC_ERR_NONFINITE = -4,     /* NaN or Inf in input data */
    DC_ERR_NOMEM = -5,         /* allocation failed or size overflow */
    DC_ERR_IO = -6,            /* a file could not be opened, read or written */
    DC_ERR_FORMAT = -7,        /* file content is malformed or corrupt */
    DC_ERR_TRUNCATED = -8,     /* file ended before its header said it would */
    DC_ERR_UNSUPPORTED = -9,   /* valid but unsupported (dtype, layout, format) */
    DC_ERR_K_RANGE = -10,      /* number of clusters out of range (k < 1, k > n, ...) */
    DC_ERR_DEGENERATE = -11,   /* data cannot be clustered as asked (all points identical,
                                  more graph components than clusters) */
    DC_ERR_NOT_CONVERGED = -12,/* an iterative solver (eigen) did not converge */
    DC_ERR_NUMERIC = -13,      /* NaN/Inf appeared during computation */
    DC_ERR_STATE = -14,        /* call not valid now (e.g. predict before fit) */
    DC_ERR_CHECKSUM = -15,     /* stored checksum does not match the content */
    DC_ERR_VERSION = -16,      /* file written by an incompatible version */
    DC_ERR_CANCELLED = -17,    /* the progress callback asked to stop */
    DC_ERR_UNKNOWN_NAME = -18, /* unknown method, parameter, output or format name */
    DC_ERR_INTERNAL = -19      /* a bug: please report it */
} dc_status;

/* Static, never-NULL description of a status code. */
DC_API const char *dc_strerror(dc_status status);

/* Detail of the last failure on the calling thread (thread-local; "" if none).
 * Valid until the next failing library call on this thread. */
DC_API const char *dc_last_error(void);

/* Clears the calling thread's last error. */
DC_API void dc_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
