/* Image segmentation by clustering superpixels (the application of the
 * SCDBAS paper, section 4.4): SLIC superpixels, one feature vector per
 * superpixel, any clustering method of the library on those vectors, and
 * every pixel painted with its superpixel's cluster.
 *
 * Features of superpixel s: its mean CIELAB colour (L*, a*, b*) and its
 * centroid (x, y) in pixels. Each block is divided by its own spread (the
 * root mean squared distance of the block's vectors to their mean; 1 if
 * that is 0), so both are unitless with comparable ranges, then the
 * position block is multiplied by position_weight: 0 clusters by colour
 * alone, 1 gives position as much say as colour.
 *
 * What the output means: label l marks the pixels of the superpixels put in
 * cluster l. A cluster may cover several separate pieces of the image
 * (e.g. two patches of sky left and right of a tower) and they keep the
 * same label: pieces are not split or merged afterwards, as in the paper. */
#ifndef DEEPCLUST_SEGMENT_H
#define DEEPCLUST_SEGMENT_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"
#include "deepclust/slic.h"
#include "deepclust/solver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest position_weight: beyond it the colour block is noise to float32
 * features (and 1e300 overflows them). */
#define DC_SEGMENT_POSITION_WEIGHT_MAX 1e6
/* Default of position_weight in the CLI and the bindings. */
#define DC_SEGMENT_POSITION_WEIGHT 0.5

/* Clusters the given superpixels of an image (pixels as in
 * deepclust/image.h; superpixels holds width * height indices 0 ..
 * n_superpixels - 1, each used, as dc_slic gives) with the solver, which
 * is set up by the caller (method, "k", "seed", other parameters) and
 * holds the fit afterwards (its labels are per superpixel). labels
 * receives width * height cluster indices 0 .. k - 1.
 * Errors: DC_ERR_NULL, DC_ERR_SHAPE (sizes, channels, a superpixel index
 * out of range or unused), DC_ERR_INVALID_ARG (position_weight outside
 * [0, DC_SEGMENT_POSITION_WEIGHT_MAX]), DC_ERR_K_RANGE (k > n_superpixels, detail names both), and what
 * the solver's fit returns. */
DC_API dc_status dc_segment_superpixels(dc_solver *solver, const uint8_t *pixels, int64_t width,
                                        int64_t height, int channels, const int32_t *superpixels,
                                        int32_t n_superpixels, double position_weight,
                                        int32_t *labels);

/* dc_slic (slic may be NULL: defaults) then dc_segment_superpixels.
 * superpixels may be NULL; otherwise it receives the superpixel image and
 * *n_superpixels (may be NULL) their number. Errors: those of both. */
DC_API dc_status dc_segment(dc_solver *solver, const uint8_t *pixels, int64_t width,
                            int64_t height, int channels, const dc_slic_options *slic,
                            double position_weight, int32_t *labels, int32_t *superpixels,
                            int32_t *n_superpixels);

/* Boundary recall of a segmentation: the fraction of the truth's boundary
 * pixels that have a boundary pixel of pred within `tolerance` pixels
 * (Chebyshev distance; 2 is the usual choice). A pixel is on a boundary
 * when its right or lower neighbour has another label. Both images are
 * width x height labels (any int32 values). A truth without boundaries
 * gives 1. Errors: DC_ERR_NULL, DC_ERR_SHAPE (width or height < 1),
 * DC_ERR_INVALID_ARG (tolerance < 0 or > 1000), DC_ERR_NOMEM. */
DC_API dc_status dc_boundary_recall(const int32_t *truth, const int32_t *pred, int64_t width,
                                    int64_t height, int tolerance, double *out);

#ifdef __cplusplus
}
#endif
#endif
