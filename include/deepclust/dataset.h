/* Data set handle: an n x d float32 matrix (row-major), optional integer
 * labels, optional image shape (H x W x C, H*W*C == d).
 *
 * Thread-safety: a handle may be read by several threads at once; calls that
 * modify it (normalize, set_labels, set_image_shape) need exclusive use. */
#ifndef DEEPCLUST_DATASET_H
#define DEEPCLUST_DATASET_H

#include <stdint.h>
#include "deepclust/export.h"
#include "deepclust/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_dataset dc_dataset;

typedef enum dc_ownership {
    DC_COPY = 0,   /* the library copies the caller's array */
    DC_BORROW = 1  /* the library reads the caller's array in place; it must stay
                      valid and unchanged until dc_dataset_free. A call that
                      would modify the data (normalize) copies it first. */
} dc_ownership;

typedef enum dc_format {
    DC_FORMAT_AUTO = 0, /* by extension: .csv/.tsv .npy, -ubyte/.idx (+ .gz) */
    DC_FORMAT_CSV = 1,
    DC_FORMAT_NPY = 2,
    DC_FORMAT_IDX = 3
} dc_format;

#define DC_LABEL_COLUMN_NONE (-1)
#define DC_LABEL_COLUMN_LAST (-2)

/* Options for dc_dataset_load. Initialise with dc_load_options_default(). */
typedef struct dc_load_options {
    int struct_size;      /* sizeof(dc_load_options), set by _default() */
    dc_format format;     /* DC_FORMAT_AUTO */
    char delimiter;       /* CSV: ',', ';' or '\t'; 0 = detect from first line */
    int header;           /* CSV: 1 = first line is a header, 0 = no, -1 = detect */
    int label_column;     /* CSV: column index, DC_LABEL_COLUMN_LAST or _NONE */
} dc_load_options;

DC_API void dc_load_options_default(dc_load_options *opt);

/* Creates a data set from caller memory. Rejects NULL, rows/cols < 1, and
 * NaN/Inf (DC_ERR_NONFINITE, detail names the first bad row and column). */
DC_API dc_status dc_dataset_create(dc_dataset **out, const float *data, int64_t rows,
                                   int64_t cols, dc_ownership mode);

/* Loads a feature matrix from CSV, NPY (float32/float64/uint8/int32/int64, C
 * order) or IDX (raw or .gz). IDX images of shape n x H x W get image shape
 * H x W x 1 (n x H x W x C: H x W x C). opt may be NULL (defaults). */
DC_API dc_status dc_dataset_load(dc_dataset **out, const char *path, const dc_load_options *opt);

/* Attaches labels read from a file: IDX labels (ubyte, raw/.gz), NPY integer
 * vector, or CSV/text with one integer per line (first column). The count
 * must equal the number of rows (DC_ERR_SHAPE otherwise). */
DC_API dc_status dc_dataset_load_labels(dc_dataset *ds, const char *path, dc_format format);

/* Copies `n` labels; n must equal the number of rows. */
DC_API dc_status dc_dataset_set_labels(dc_dataset *ds, const int32_t *labels, int64_t n);

/* Declares an image shape; h*w*c must equal the number of columns. */
DC_API dc_status dc_dataset_set_image_shape(dc_dataset *ds, int64_t h, int64_t w, int64_t c);

DC_API int64_t dc_dataset_rows(const dc_dataset *ds);
DC_API int64_t dc_dataset_cols(const dc_dataset *ds);
/* Borrowed pointer to the row-major data (valid until the handle changes). */
DC_API const float *dc_dataset_data(const dc_dataset *ds);
/* Borrowed pointer to the labels, or NULL if the set has none. */
DC_API const int32_t *dc_dataset_labels(const dc_dataset *ds);
/* Writes the image shape; returns 0 (and zeros) if none is set, 1 otherwise. */
DC_API int dc_dataset_image_shape(const dc_dataset *ds, int64_t *h, int64_t *w, int64_t *c);

typedef enum dc_normalization {
    DC_NORM_NONE = 0,
    DC_NORM_SCALE255 = 1, /* x / 255 */
    DC_NORM_MINMAX = 2,   /* per feature to [0, 1]; constant features become 0 */
    DC_NORM_ZSCORE = 3    /* per feature (x - mean) / std (population std);
                             constant features become 0 */
} dc_normalization;

/* Normalises in place (a borrowed set is copied first). Statistics are
 * accumulated in double. */
DC_API dc_status dc_dataset_normalize(dc_dataset *ds, dc_normalization mode);

/* Parses "none", "scale255", "minmax", "zscore". */
DC_API dc_status dc_normalization_from_name(const char *name, dc_normalization *out);

/* Copies rows [first, first+count) into a new handle (labels and image shape kept). */
DC_API dc_status dc_dataset_subset(dc_dataset **out, const dc_dataset *ds, int64_t first,
                                   int64_t count);

/* Accepts NULL. */
DC_API void dc_dataset_free(dc_dataset *ds);

/* Writers. Format by extension (.csv or .npy) unless given. Written to a
 * temporary file in the same folder and renamed, so a failed write never
 * leaves a partial file at `path`. */
DC_API dc_status dc_write_labels(const char *path, const int32_t *labels, int64_t n,
                                 dc_format format);
DC_API dc_status dc_write_matrix(const char *path, const float *data, int64_t rows,
                                 int64_t cols, dc_format format);

#ifdef __cplusplus
}
#endif
#endif
