/* Data set handle: an n x d float32 matrix (row-major), optional integer
 * labels, optional image shape (H x W x C, H*W*C == d).
 *
 * Thread-safety: a handle may be read by several threads at once; calls that
 * modify it (normalize, set_labels, set_image_shape) need exclusive use. */
#ifndef DEEPCLUST_DATASET_H
#define DEEPCLUST_DATASET_H

#include <stddef.h>
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
    DC_FORMAT_AUTO = 0, /* by extension: .csv/.tsv/.txt, .npy, *-ubyte/.idx (+ .gz);
                           other names fail with DC_ERR_UNSUPPORTED */
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
    char delimiter;       /* CSV: ',', ';', '\t', or ' ' (runs of blanks, as numpy's
                             savetxt writes); 0 = detect from the first line (.tsv: tab) */
    int header;           /* CSV: 1 = first line is a header, 0 = no, -1 = detect (a header
                             has a non-empty, non-numeric field) */
    int label_column;     /* CSV: 0-based index of a column of integer labels ("3.0" is
                             accepted), DC_LABEL_COLUMN_LAST, or _NONE (default) */
} dc_load_options;

DC_API void dc_load_options_default(dc_load_options *opt);

/* Layout-free access for bindings that cannot mirror the struct: allocate
 * dc_load_options_size() bytes, call dc_load_options_default on them, then
 * set fields by name: "format" (a dc_format value), "delimiter" (a character
 * code, 0 = detect), "header" (1, 0 or -1), "label_column" (index,
 * DC_LABEL_COLUMN_LAST or DC_LABEL_COLUMN_NONE). Unknown name:
 * DC_ERR_UNKNOWN_NAME; a value out of range: DC_ERR_INVALID_ARG. */
DC_API size_t dc_load_options_size(void);
DC_API dc_status dc_load_options_set(dc_load_options *opt, const char *name, double value);

/* Creates a data set from caller memory. Rejects NULL, rows/cols < 1, and
 * NaN/Inf (DC_ERR_NONFINITE, detail names the first bad row and column). */
DC_API dc_status dc_dataset_create(dc_dataset **out, const float *data, int64_t rows,
                                   int64_t cols, dc_ownership mode);

/* Loads a feature matrix from CSV, NPY (float32/float64/uint8/int8/int16/
 * int32/int64, little-endian, C order, format 1.0-3.0) or IDX; any of them
 * may be gzip-compressed (.gz). Arrays of shape (n,) load as n x 1, (n, d) as
 * n x d, and n x H x W [x C] images as n x (H*W*C) with image shape
 * H x W x 1 [C]. CSV: blank lines and lines starting with '#' are skipped;
 * CRLF and a UTF-8 BOM are accepted. opt may be NULL (defaults).
 * Errors: DC_ERR_IO (cannot open; detail has the path and reason),
 * DC_ERR_UNSUPPORTED (unknown extension, dtype, Fortran order, big-endian),
 * DC_ERR_FORMAT (malformed: detail names the line and column for CSV),
 * DC_ERR_TRUNCATED (file shorter than its header says, cut .gz stream),
 * DC_ERR_NONFINITE (NaN/Inf), DC_ERR_SHAPE (an NPY/IDX array with no rows
 * or no columns; an empty CSV or one with only a header is DC_ERR_FORMAT). */
DC_API dc_status dc_dataset_load(dc_dataset **out, const char *path, const dc_load_options *opt);

/* Attaches labels read from a file: IDX labels (ubyte, raw/.gz), NPY integer
 * vector (or floats with integral values), or CSV/text with one integer per
 * line (first column; a header line is detected). format may be
 * DC_FORMAT_AUTO: by the name's extension as for dc_dataset_load, and a
 * name without a known one (y.labels, a pipe such as /dev/stdin) by the
 * first bytes (NPY or IDX magic, else text). The count must equal the number of rows (DC_ERR_SHAPE
 * otherwise); on failure the set keeps its previous labels. */
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
 * accumulated in double. The set records what was applied, as the
 * per-feature map x' = (x - shift_j) * scale_j (scale255: shift 0, scale
 * 1/255; minmax: min, 1/range; zscore: mean, 1/std; a constant feature has
 * scale 0), and a deep model fitted on the set keeps that record, so new raw
 * data can get the training statistics (dc_model_apply_normalization).
 * Normalising again composes the maps; DC_NORM_NONE changes nothing. */
DC_API dc_status dc_dataset_normalize(dc_dataset *ds, dc_normalization mode);

/* The last mode applied to the set (dc_dataset_normalize or
 * dc_model_apply_normalization); DC_NORM_NONE for raw data or NULL. */
DC_API dc_normalization dc_dataset_normalization(const dc_dataset *ds);

/* Parses "none", "scale255", "minmax", "zscore". */
DC_API dc_status dc_normalization_from_name(const char *name, dc_normalization *out);
/* The name of a mode ("none", "scale255", "minmax", "zscore"); NULL for a
 * value that is not a dc_normalization. */
DC_API const char *dc_normalization_name(dc_normalization mode);

/* Noise models of the robustness experiment (EDCWRN paper, Sec. 5.6). */
typedef enum dc_noise_kind {
    DC_NOISE_GAUSSIAN = 0,    /* "gaussian": x + n, n ~ N(0, v); level v = variance >= 0 */
    DC_NOISE_SALT_PEPPER = 1, /* "saltpepper": each value becomes the data's minimum with
                                 probability p/2 and its maximum with probability p/2;
                                 level p = density in [0, 1] */
    DC_NOISE_SPECKLE = 2      /* "speckle": x + x*n, n ~ N(0, v); level v = variance >= 0 */
} dc_noise_kind;

/* Adds noise to every value in place (a borrowed set is copied first), then
 * clips each value to [min, max] of the data as they were before the call
 * (over the whole matrix), so e.g. pixels scaled to [0, 1] stay there. The
 * draws come from the seed's own noise stream: the same seed gives the same
 * noise whatever else the program draws, and a fit's results with that seed
 * do not shift. Level 0 changes nothing; a constant set stays as it is.
 * Labels, image shape and normalisation record are kept. An unknown kind, a
 * negative or non-finite variance or a density outside [0, 1]:
 * DC_ERR_INVALID_ARG (the set is unchanged). */
DC_API dc_status dc_dataset_add_noise(dc_dataset *ds, dc_noise_kind kind, double level,
                                      uint64_t seed);

/* Parses "KIND:LEVEL" ("gaussian:0.1", "saltpepper:0.05", "speckle:0.2"),
 * the CLI's --noise spelling, checking the level as dc_dataset_add_noise
 * does. Anything else: DC_ERR_INVALID_ARG with the reason in the detail. */
DC_API dc_status dc_noise_parse(const char *text, dc_noise_kind *kind, double *level);
/* "gaussian", "saltpepper", "speckle"; NULL for a value that is not a
 * dc_noise_kind. */
DC_API const char *dc_noise_name(dc_noise_kind kind);

/* Copies rows [first, first+count) into a new handle (labels, image shape
 * and normalisation record kept). count < 1 is DC_ERR_SHAPE, rows outside
 * the set DC_ERR_INVALID_ARG. */
DC_API dc_status dc_dataset_subset(dc_dataset **out, const dc_dataset *ds, int64_t first,
                                   int64_t count);

/* Accepts NULL. */
DC_API void dc_dataset_free(dc_dataset *ds);

/* Writers. Format by extension unless given: .csv/.txt (comma-separated,
 * floats as "%.9g", which reads back to the same float), .tsv (tab), .npy
 * (labels '<i4' of shape (n,), matrices '<f4' of shape (rows, cols)); other
 * names are DC_ERR_UNSUPPORTED. Written to "<path>.tmp.XXXXXX" in the same
 * folder and renamed, so a failed write (DC_ERR_IO) never leaves a partial
 * file at `path`, nor a temporary file. A symbolic link's target is replaced
 * that way (the link stays); a device, FIFO or socket (/dev/null, a pipe) is
 * written in place, as a stream cannot be replaced. Models and checkpoints
 * are written the same way. */
DC_API dc_status dc_write_labels(const char *path, const int32_t *labels, int64_t n,
                                 dc_format format);
DC_API dc_status dc_write_matrix(const char *path, const float *data, int64_t rows,
                                 int64_t cols, dc_format format);

#ifdef __cplusplus
}
#endif
#endif
