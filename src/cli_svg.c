#include "cli_svg.h"

#include <math.h>
#include <stdio.h>

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

int svg_line_chart(const char *path, const char *title, const char *xlabel, const char *ylabel,
                   const svg_series *series, int n_series) {
    const double W = 720, H = 440, L = 80, R = 20, T = 40, B = 60;
    double ymin = INFINITY, ymax = -INFINITY;
    int64_t nmax = 1;
    for (int s = 0; s < n_series; s++) {
        if (!series[s].y) continue;
        if (series[s].n > nmax) nmax = series[s].n;
        for (int64_t i = 0; i < series[s].n; i++) {
            double v = series[s].y[i];
            if (!isfinite(v)) continue;
            ymin = v < ymin ? v : ymin;
            ymax = v > ymax ? v : ymax;
        }
    }
    if (!(ymin <= ymax)) ymin = 0, ymax = 1;
    if (ymax - ymin < 1e-12 * (fabs(ymax) + 1)) ymax = ymin + 1;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", W / 2, title);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
    for (int t = 0; t <= 4; t++) {
        double v = ymin + (ymax - ymin) * t / 4.0, y = H - B - (H - T - B) * t / 4.0;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", L - 6, y + 4, v);
        double xv = (double)(nmax - 1) * t / 4.0, x = L + (W - L - R) * t / 4.0;
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", x, H - B + 18, xv);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", (L + W - R) / 2, H - 16, xlabel);
    fprintf(f, "<text x=\"18\" y=\"%.0f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.0f)\">%s</text>\n",
            (T + H - B) / 2, (T + H - B) / 2, ylabel);
    int legend = 0;
    for (int s = 0; s < n_series; s++) {
        if (!series[s].y || series[s].n < 1) continue;
        const char *c = colours[s % 4];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
        for (int64_t i = 0; i < series[s].n; i++) {
            double v = series[s].y[i];
            if (!isfinite(v)) continue;
            double x = L + (W - L - R) * (nmax > 1 ? (double)i / (double)(nmax - 1) : 0.0);
            double y = H - B - (H - T - B) * (v - ymin) / (ymax - ymin);
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fprintf(f, "\"/>\n");
        fprintf(f, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
                   "<text x=\"%.0f\" y=\"%d\">%s</text>\n",
                W - R - 170, (int)T + 10 + 18 * legend, W - R - 145, (int)T + 10 + 18 * legend, c,
                W - R - 140, (int)T + 14 + 18 * legend, series[s].label);
        legend++;
    }
    fprintf(f, "</svg>\n");
    return fclose(f) ? -1 : 0;
}
