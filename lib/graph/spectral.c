/* Placeholder so callers link while the implementation lands. */
#include "graph/spectral.h"

#include "core/error.h"

dc_status dci_spectral_embedding(const float *x, int64_t n, int64_t d, int64_t K,
                                 const dci_spectral_opts *o, float *Y, dci_spectral_stats *st) {
    (void)x; (void)n; (void)d; (void)K; (void)o; (void)Y; (void)st;
    return dci_fail(DC_ERR_UNSUPPORTED, "spectral embedding: not implemented yet");
}
