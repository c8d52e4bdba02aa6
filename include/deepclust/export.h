/* DC_API marks the exported symbols; everything else is hidden. */
#ifndef DEEPCLUST_EXPORT_H
#define DEEPCLUST_EXPORT_H

#if defined(DC_BUILDING_LIBRARY) && defined(__GNUC__)
#define DC_API __attribute__((visibility("default")))
#else
#define DC_API
#endif

#endif
