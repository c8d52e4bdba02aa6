/* Process-wide hooks: allocator and log sink. */
#ifndef DEEPCLUST_CORE_H
#define DEEPCLUST_CORE_H

#include <stddef.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocator hooks. All three must be given, or all NULL to restore malloc,
 * realloc and free. Set before creating any handle: memory must be freed by
 * the allocator that made it. Not thread-safe against concurrent library use. */
typedef void *(*dc_malloc_fn)(void *user, size_t size);
typedef void *(*dc_realloc_fn)(void *user, void *ptr, size_t size);
typedef void (*dc_free_fn)(void *user, void *ptr);
DC_API dc_status dc_set_allocator(dc_malloc_fn m, dc_realloc_fn r, dc_free_fn f, void *user);

/* Number of threads for the dense linear algebra (OpenBLAS) used by every
 * method: process-wide, like OpenBLAS's own setting. n >= 1; the library
 * adds no threads of its own on top, so this is the whole parallelism. */
DC_API dc_status dc_set_threads(int n);
DC_API int dc_get_threads(void);

/* 1 in a library built with MPI (-Dmpi=enabled: deepclust/mpi.h, the
 * distributed fits), 0 in the plain build, which links no MPI. */
DC_API int dc_mpi_enabled(void);

typedef enum dc_log_level {
    DC_LOG_ERROR = 0,
    DC_LOG_WARN = 1,
    DC_LOG_INFO = 2,
    DC_LOG_DEBUG = 3
} dc_log_level;

/* Log sink. Messages at or below `max_level` go to `fn`, called on the thread
 * that runs the library call that logs. NULL fn silences logging (default). */
typedef void (*dc_log_fn)(void *user, dc_log_level level, const char *message);
DC_API void dc_set_log(dc_log_fn fn, void *user, dc_log_level max_level);

/* Progress callback for long calls (fit, pre-training...). Called on the
 * thread that runs the call. `phase` is a short static string ("kmeans",
 * "pretrain", "cluster", "eigen", ...); `done`/`total` count the phase's
 * units (total <= 0 if unknown); `value` is a phase metric (loss, inertia,
 * label change) or NaN. Return non-zero to cancel: the call then fails with
 * DC_ERR_CANCELLED and leaves no partial result in the handle. While its
 * fit runs, the solver refuses what would change it (dc_solver_fit,
 * _resume, _set, _set_str, _set_progress, _set_checkpoint,
 * _use_pretrained: DC_ERR_STATE), from the callback or another thread;
 * dc_solver_cancel works, and the solver must not be freed. */
typedef int (*dc_progress_fn)(void *user, const char *phase, long long done,
                              long long total, double value);

#ifdef __cplusplus
}
#endif
#endif
