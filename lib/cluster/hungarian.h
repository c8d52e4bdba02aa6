/* Maximum-weight assignment on a rectangular matrix (Hungarian / Kuhn-Munkres
 * with shortest augmenting paths and potentials, the Jonker-Volgenant form). */
#ifndef DCI_HUNGARIAN_H
#define DCI_HUNGARIAN_H

#include <stdint.h>
#include "deepclust/status.h"

/* w is rows x cols, row-major, finite. Finds the matching of size
 * min(rows, cols) that maximises the total weight. assign_row_to_col[i] is
 * the column given to row i, or -1 when rows > cols leaves row i unmatched.
 * If total is not NULL it receives the matched weight (summed in row order).
 * Time O(min^2 * max) and memory O(rows + cols): the shorter side is
 * augmented one vertex at a time, so no padding to a square is needed.
 * Errors: DC_ERR_NULL, DC_ERR_SHAPE (rows or cols < 1), DC_ERR_NONFINITE,
 * DC_ERR_NOMEM. */
dc_status dci_hungarian_max(const double *w, int64_t rows, int64_t cols,
                            int64_t *assign_row_to_col, double *total);

#endif
