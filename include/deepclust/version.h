/* libdeepclust version. meson reads the three numbers below (soversion = major). */
#ifndef DEEPCLUST_VERSION_H
#define DEEPCLUST_VERSION_H

#include "deepclust/export.h"

#define DC_VERSION_MAJOR 0
#define DC_VERSION_MINOR 1
#define DC_VERSION_PATCH 0

#define DC_VERSION_NUMBER (DC_VERSION_MAJOR * 10000 + DC_VERSION_MINOR * 100 + DC_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH" of the library actually loaded (static storage). */
DC_API const char *dc_version_string(void);
/* DC_VERSION_NUMBER of the library actually loaded; compare with the header's. */
DC_API int dc_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
