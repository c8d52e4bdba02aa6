/* SLIC superpixels (Achanta et al., "SLIC superpixels compared to
 * state-of-the-art superpixel methods", TPAMI 2012).
 *
 * Seeds on a regular grid of step S = sqrt(pixels / n_segments), each moved
 * to the lowest CIELAB gradient in its 3 x 3 neighbourhood (inside its grid
 * cell); then max_iter rounds of local k-means: every pixel joins the
 * nearest seed whose 2S x 2S window holds it (S: the grid spacing), with
 * the distance
 *     D^2 = d_lab^2 + (d_xy / S)^2 m^2     (m = compactness),
 * and every seed moves to the mean colour and position of its pixels.
 * Optional Gaussian pre-smoothing of the sRGB image (sigma in pixels, as
 * scikit-image's slic: truncated at 4 sigma, mirrored borders). Finally the
 * connectivity is enforced: each 4-connected piece of a superpixel becomes
 * its own superpixel, and pieces smaller than min_size_factor * pixels /
 * seeds are merged into a neighbour. Grey input is converted as R = G = B;
 * alpha is ignored. The work per round is one pass over the pixels, split
 * over the library's threads (dc_set_threads); the result does not depend
 * on the thread count. */
#ifndef DEEPCLUST_SLIC_H
#define DEEPCLUST_SLIC_H

#include <stddef.h>
#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options for dc_slic. Initialise with dc_slic_options_default(). */
typedef struct dc_slic_options {
    int struct_size;          /* sizeof(dc_slic_options), set by _default() */
    int n_segments;           /* approximate number of superpixels: 200 */
    double compactness;       /* m in (0, 1e6]: 10 (larger: more square superpixels) */
    double sigma;             /* Gaussian pre-smoothing in pixels, 0 = none: 0 */
    int max_iter;             /* k-means rounds, >= 1: 10 */
    int enforce_connectivity; /* 1 (default) or 0 */
    double min_size_factor;   /* pieces below this fraction of the mean superpixel
                                 size are merged: 0.25 (Achanta et al.), in [0, 1] */
} dc_slic_options;

DC_API void dc_slic_options_default(dc_slic_options *opt);
/* Layout-free access for bindings (as dc_load_options): size, then set by
 * name ("n_segments", "compactness", "sigma", "max_iter",
 * "enforce_connectivity", "min_size_factor"). Unknown name:
 * DC_ERR_UNKNOWN_NAME; out of range (compactness not in (0, 1e6], n_segments < 1,
 * sigma < 0 or > 100, max_iter < 1, a fraction outside [0, 1]):
 * DC_ERR_INVALID_ARG, nothing changed. */
DC_API size_t dc_slic_options_size(void);
DC_API dc_status dc_slic_options_set(dc_slic_options *opt, const char *name, double value);

/* Superpixels of a width x height image with 8-bit channels (1-4, see
 * deepclust/image.h); opt may be NULL (defaults). labels receives width *
 * height superpixel indices 0 .. *n_superpixels - 1, numbered in the order
 * of their first pixel in raster order.
 * Errors: DC_ERR_NULL, DC_ERR_SHAPE (channels not 1-4, width or height < 2,
 * more than 2^31 - 1 pixels), DC_ERR_INVALID_ARG (an option out of range,
 * n_segments > width * height), DC_ERR_NOMEM. */
DC_API dc_status dc_slic(const uint8_t *pixels, int64_t width, int64_t height, int channels,
                         const dc_slic_options *opt, int32_t *labels, int32_t *n_superpixels);

#ifdef __cplusplus
}
#endif
#endif
