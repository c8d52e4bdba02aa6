/* libdeepclust -- deep (EDCWRN, IDEC, DEC) and spectral (SCDBAS, NJW)
 * clustering behind a C ABI. This umbrella header is the only one users need. */
#ifndef DEEPCLUST_H
#define DEEPCLUST_H

#include "deepclust/export.h"
#include "deepclust/version.h"
#include "deepclust/status.h"
#include "deepclust/core.h"
#include "deepclust/dataset.h"
#include "deepclust/metrics.h"
#include "deepclust/solver.h"
#include "deepclust/model.h"
#include "deepclust/dbas.h"
#include "deepclust/graph.h"
#include "deepclust/image.h"
#include "deepclust/slic.h"
#include "deepclust/segment.h"

#endif
