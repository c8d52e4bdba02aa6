/* SLIC internals, exposed for the white-box tests. */
#ifndef DCI_SLIC_H
#define DCI_SLIC_H

#include <stdint.h>

#include "deepclust/slic.h"

/* CIELAB of an 8-bit image (channels 1-4), smoothed first when sigma > 0;
 * lab receives 3 n floats, interleaved (L a b L a b ...) or, with planar,
 * as three planes (n L*, then n a*, then n b*). DC_ERR_NOMEM only. */
dc_status dci_image_lab(const uint8_t *pixels, int64_t width, int64_t height, int channels,
                        double sigma, int planar, float *lab);

/* Gaussian smoothing of an interleaved float image in place (scipy's
 * gaussian_filter: radius int(4 sigma + 0.5), mode 'reflect'). */
dc_status dci_gaussian_blur(float *img, int64_t width, int64_t height, int channels, double sigma);

/* Renumbers labels into 4-connected pieces, merging pieces of fewer than
 * min_size pixels into a neighbouring piece found before them; labels
 * become 0 .. *n_out - 1 in raster order of first pixels. */
dc_status dci_enforce_connectivity(int32_t *labels, int64_t width, int64_t height,
                                   int64_t min_size, int32_t *n_out);

#endif
