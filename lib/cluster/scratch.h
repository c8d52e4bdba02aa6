/* Double-precision scratch for the clustering layer's per-call accumulators.
 * They are called once per mini-batch with tiny sizes (K, M ~ 10), so the
 * buffer lives on the stack in the common case and only falls back to the
 * allocator for unusually large K x M. */
#ifndef DCI_CLUSTER_SCRATCH_H
#define DCI_CLUSTER_SCRATCH_H

#include <stdint.h>

#include "core/alloc.h"

#define DCI_SCRATCH_LOCAL 1024

typedef struct dci_scratch {
    double *p;
    double local[DCI_SCRATCH_LOCAL];
} dci_scratch;

/* n doubles (uninitialised); NULL with DC_ERR_NOMEM detail on failure. */
static inline double *dci_scratch_get(dci_scratch *s, int64_t n, const char *what) {
    s->p = n <= DCI_SCRATCH_LOCAL ? s->local : DCI_NEW_ARRAY(double, n, what);
    return s->p;
}

static inline void dci_scratch_release(dci_scratch *s) {
    if (s->p != s->local) dci_free(s->p);
    s->p = NULL;
}

#endif
