/* Small SVG pictures written by the CLI: line charts (fitness traces). */
#ifndef DC_CLI_SVG_H
#define DC_CLI_SVG_H
#include <stdint.h>

typedef struct svg_series {
    const char *label;
    const float *y;   /* NULL: series absent */
    int64_t n;
} svg_series;

/* Line chart of the series against their index. Returns 0, or -1 with errno. */
int svg_line_chart(const char *path, const char *title, const char *xlabel, const char *ylabel,
                   const svg_series *series, int n_series);

/* Heat map of a rows x cols matrix (row-major), one cell per entry, with a
 * colour bar; used for the representation weights (EDCWRN Fig. 7). */
int svg_heatmap(const char *path, const char *title, const char *row_label, const char *col_label,
                const float *v, int64_t rows, int64_t cols);

/* Scatter plot of the first two principal axes of an n x m embedding,
 * coloured by label (at most max_points points drawn, evenly subsampled). */
int svg_embedding(const char *path, const char *title, const float *z, int64_t n, int64_t m,
                  const int32_t *labels, int64_t max_points);

#endif
