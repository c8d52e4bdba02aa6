/* The data set handle's layout, common to the files of lib/data. */
#ifndef DCI_DATASET_H
#define DCI_DATASET_H

#include <stdint.h>

#include "data/normalize.h"
#include "deepclust/dataset.h"

struct dc_dataset {
    float *owned;    /* our copy of the data, or NULL while borrowing */
    const float *x;  /* the data: `owned` or the caller's array (DC_BORROW) */
    int64_t n, d;
    int32_t *labels; /* NULL if none */
    int64_t h, w, c; /* image shape, all 0 if none */
    dci_norm norm;   /* how the raw data were normalised (none: as given) */
};

/* Wraps an n x d dci_malloc'd array, taking ownership of it (it is freed if
 * the call fails). The caller has checked shape and finiteness. */
dc_status dci_dataset_adopt(dc_dataset **out, float *data, int64_t n, int64_t d);

/* The data made writable: a borrowed array is copied first. */
dc_status dci_dataset_mutable(dc_dataset *ds, float **out);

static inline const dci_norm *dci_dataset_norm(const dc_dataset *ds) { return &ds->norm; }
/* Applies a recorded map (d = the set's columns) to raw data and records it;
 * the caller has checked that the set is not normalised yet. */
dc_status dci_dataset_apply_norm(dc_dataset *ds, const dci_norm *nm);

#endif
