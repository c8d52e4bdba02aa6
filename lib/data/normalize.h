/* A recorded feature normalisation: the per-feature affine map
 *   x' = (x - shift_j) * scale_j,  j < d
 * that turned raw data into the data at hand (several normalisations of the
 * same data compose into one map). Data sets carry one, and models copy
 * their training data's, so that new data can be normalised with the
 * training statistics rather than their own. */
#ifndef DCI_NORMALIZE_H
#define DCI_NORMALIZE_H

#include <stdint.h>

#include "deepclust/dataset.h"

typedef struct dci_norm {
    dc_normalization mode; /* the last mode applied; DC_NORM_NONE: no map */
    double *shift;         /* d values (one allocation with scale), NULL for none */
    double *scale;         /* shift + d; 0 maps a constant feature to 0 */
} dci_norm;

/* The one place a map is applied (in double, rounded to float once), so the
 * same map on the same raw data always gives the same floats. */
void dci_norm_apply(const dci_norm *nm, float *x, int64_t n, int64_t d);

/* Room for d shifts and scales (uninitialised) under `mode`; the previous
 * map is freed. */
dc_status dci_norm_alloc(dci_norm *nm, dc_normalization mode, int64_t d);
/* dst becomes a copy of src (d features; none copies as none). */
dc_status dci_norm_copy(dci_norm *dst, const dci_norm *src, int64_t d);
/* Back to none. */
void dci_norm_free(dci_norm *nm);
/* Same mode and the same shift and scale values (none equals none). */
int dci_norm_equal(const dci_norm *a, const dci_norm *b, int64_t d);

#endif
