/* PNG and PGM/PPM reading and writing (dc_image_read / dc_image_write). */
#ifndef DCI_IMAGEIO_H
#define DCI_IMAGEIO_H

#include "deepclust/image.h"

#endif
