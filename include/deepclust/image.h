/* 8-bit images: PNG (through libpng) and binary PGM/PPM (P5/P6) files, and
 * the sRGB -> CIELAB conversion the superpixel code uses.
 *
 * Pixels are row-major and interleaved: row y starts at
 * pixels[y * width * channels]; channels is 1 (grey), 2 (grey + alpha),
 * 3 (RGB) or 4 (RGBA). */
#ifndef DEEPCLUST_IMAGE_H
#define DEEPCLUST_IMAGE_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_image {
    int64_t width;
    int64_t height;
    int channels;    /* 1, 2, 3 or 4 */
    uint8_t *pixels; /* height * width * channels bytes, owned: dc_image_free */
} dc_image;

/* Reads a PNG, PGM (P5) or PPM (P6) file; the format is told by the first
 * bytes, not by the name. PNG: palette images are expanded to RGB (RGBA
 * when they have transparency), grey below 8 bits to 8 bits, interlaced
 * images are de-interlaced; 16-bit PNGs are refused (DC_ERR_UNSUPPORTED:
 * convert them to 8 bits first). PGM/PPM: maxval 1-255, values scaled to
 * 0-255; maxval above 255 (16-bit) is DC_ERR_UNSUPPORTED, as are the text
 * forms P1-P3 and P4. On failure *out is zeroed.
 * Errors: DC_ERR_IO (cannot open/read; the detail names the path and the
 * reason), DC_ERR_FORMAT (not an image, bad header, CRC mismatch, corrupt
 * compressed data, data after the image), DC_ERR_TRUNCATED (the file ends
 * before the image does, or is too short to hold the size its header
 * states), DC_ERR_UNSUPPORTED, DC_ERR_SHAPE (a 0 x 0 PGM/PPM; PNG forbids
 * one: DC_ERR_FORMAT), DC_ERR_NOMEM. */
DC_API dc_status dc_image_read(const char *path, dc_image *out);

/* Writes pixels as .png (any channel count), .pgm (1 channel) or .ppm (3);
 * the format comes from the name (DC_ERR_UNSUPPORTED for other names and
 * for a channel count the format cannot hold). Written to a temporary file
 * in the same folder and renamed, so `path` appears only on success.
 * Errors: DC_ERR_NULL, DC_ERR_SHAPE (width or height < 1, channels not
 * 1-4, more than 2^31 - 1 pixels per side), DC_ERR_UNSUPPORTED, DC_ERR_IO. */
DC_API dc_status dc_image_write(const char *path, const uint8_t *pixels, int64_t width,
                                int64_t height, int channels);

/* Frees the pixels and zeroes the struct. Accepts NULL. */
DC_API void dc_image_free(dc_image *img);

/* CIELAB (D65 white, 2 degree observer) of n 8-bit sRGB pixels with the
 * standard formulas (IEC 61966-2-1 transfer curve, the sRGB -> XYZ matrix,
 * white (0.95047, 1, 1.08883), CIE f(t) with the 216/24389 threshold), the
 * same as scikit-image's rgb2lab. Grey pixels (channels 1 or 2) are R = G =
 * B; alpha is ignored. lab receives 3 n floats: L* in [0, 100], a*, b*.
 * Errors: DC_ERR_NULL, DC_ERR_SHAPE (n < 1, channels not 1-4). */
DC_API dc_status dc_srgb_to_lab(const uint8_t *pixels, int64_t n, int channels, float *lab);

#ifdef __cplusplus
}
#endif
#endif
