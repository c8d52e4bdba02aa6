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

#endif
