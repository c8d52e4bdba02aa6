/* Image augmentation (docs/methods.md "EDCWRN") and the noise models of the robustness
 * experiment (EDCWRN paper, Sec. 5.6).
 *
 * Images are rows of x stored H × W × C (row-major, channels last), as the
 * data readers produce them. The random affine transform takes its ranges
 * from Keras' ImageDataGenerator as used by DEC-DA / EDCWRN (the geometry
 * below is ours, docs/methods.md "EDCWRN"): shift up to ±0.1·W and
 * ±0.1·H pixels (continuous), rotation up to ±10°, independent zooms in
 * 1 ± 0.1 per axis, all about the image centre; bilinear sampling; pixels
 * from outside the image repeat the nearest edge pixel (Keras' default
 * fill_mode, which the authors' code keeps) or are 0. */
#ifndef DCI_AUGMENT_H
#define DCI_AUGMENT_H

#include <stdint.h>
#include "core/rng.h"
#include "deepclust/status.h"

typedef struct dci_image_shape {
    int64_t h, w, c;
} dci_image_shape;

/* A transform of the image content, applied as: zoom, rotate, shift, all
 * about the centre ((H−1)/2, (W−1)/2). Output pixels sample the input at the
 * inverse-mapped position. */
typedef struct dci_affine {
    double shift_x;  /* pixels; content moves right for > 0 */
    double shift_y;  /* pixels; content moves down for > 0 */
    double rotation; /* degrees; counter-clockwise as displayed (row 0 on top) */
    double zoom_x;   /* content scale along columns; > 1 enlarges */
    double zoom_y;   /* content scale along rows */
} dci_affine;

/* What a source position outside the image reads. */
typedef enum dci_fill {
    DCI_FILL_NEAREST = 0, /* the nearest edge pixel (Keras' "nearest") */
    DCI_FILL_ZERO = 1     /* 0 */
} dci_fill;

/* Ranges of the random transform: shifts as fractions of W and H, rotation
 * in degrees, zoom z gives scales in [1 − z, 1 + z]; and the fill. */
typedef struct dci_augment_ranges {
    double width_shift, height_shift, rotation, zoom;
    dci_fill fill;
} dci_augment_ranges;

/* 0.1, 0.1, 10°, 0.1, nearest fill: the clustering phase (EDCWRN Table 1). */
dci_augment_ranges dci_augment_ranges_default(void);
/* The same without zoom: pre-training, as DEC-DA and the EDCWRN authors'
 * code run it. */
dci_augment_ranges dci_augment_ranges_pretrain(void);

/* Augmentation needs an image shape matching the data width:
 * NULL shape => DC_ERR_INVALID_ARG; a non-positive dimension =>
 * DC_ERR_INVALID_ARG; h·w·c != d => DC_ERR_SHAPE. */
dc_status dci_augment_check(const dci_image_shape *shape, int64_t d);

dci_affine dci_affine_identity(void);

/* Draws one transform uniformly within the ranges. */
dci_affine dci_affine_draw(dci_rng *r, const dci_image_shape *shape,
                           const dci_augment_ranges *ranges);

/* dst (h·w·c) = src transformed by t; src and dst must not overlap. */
void dci_affine_apply(const float *src, float *dst, const dci_image_shape *shape,
                      const dci_affine *t, dci_fill fill);

/* out[i] = row idx[i] of x (rows of d floats) for i < b: a mini-batch
 * gather, each row under its own random transform when shape is not NULL
 * (shape must then match d; ranges NULL = defaults). The transforms are
 * drawn in row order, then applied on the BLAS threads (core/parallel.h):
 * the result does not depend on the thread count. */
void dci_gather_batch(const float *x, int64_t d, const int64_t *idx, int64_t b, float *out,
                      const dci_image_shape *shape, const dci_augment_ranges *ranges,
                      dci_rng *r);

/* ---- noise models (robustness experiment) ---- */

typedef enum dci_noise_kind {
    DCI_NOISE_GAUSSIAN = 0,    /* x + n, n ~ N(0, level)            (level = variance) */
    DCI_NOISE_SALT_PEPPER = 1, /* each value becomes lo with probability level/2 and
                                  hi with probability level/2      (level = density) */
    DCI_NOISE_SPECKLE = 2      /* x + x·n, n ~ N(0, level)          (level = variance) */
} dci_noise_kind;

/* Adds noise to x (count values) in place, then clips every value to
 * [lo, hi], the data range given by the caller (e.g. [0, 1]). Invalid
 * level (negative variance, density outside [0, 1]), lo >= hi or a
 * non-finite bound => DC_ERR_INVALID_ARG. Draw from stream DCI_STREAM_NOISE. */
dc_status dci_noise_apply(float *x, int64_t count, dci_noise_kind kind, double level, float lo,
                          float hi, dci_rng *r);

#endif
