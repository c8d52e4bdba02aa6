#include "cli_svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>

/* The document element, a white background and the centred title. */
static void svg_open(FILE *f, double W, double H, const char *title) {
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", W / 2, title);
}

/* Closes the picture; -1 (errno set) if any write failed, not only the last
 * flush: a picture cut short by a full disk is an error. */
static int svg_close(FILE *f) {
    const int bad = ferror(f);
    if (fclose(f) != 0) return -1;
    if (bad) errno = EIO;
    return bad ? -1 : 0;
}

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
    svg_open(f, W, H, title);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
    /* Enough significant digits that the five ticks differ even when the
     * range is small next to the values (a nearly flat trace). */
    double mag = fmax(fabs(ymin), fabs(ymax));
    int prec = 3 + (int)ceil(log10(fmax(mag / (ymax - ymin), 1.0)));
    if (prec > 12) prec = 12;
    for (int t = 0; t <= 4; t++) {
        double v = ymin + (ymax - ymin) * t / 4.0, y = H - B - (H - T - B) * t / 4.0;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.*g</text>\n", L - 6, y + 4, prec, v);
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
    return svg_close(f);
}

/* Viridis-like ramp: dark blue (0) through teal to yellow (1). */
static void ramp(double t, int *r, int *g, int *b) {
    static const double stops[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double x = t * 4;
    int i = x >= 4 ? 3 : (int)x;
    double f = x - i;
    *r = (int)(stops[i][0] + f * (stops[i + 1][0] - stops[i][0]));
    *g = (int)(stops[i][1] + f * (stops[i + 1][1] - stops[i][1]));
    *b = (int)(stops[i][2] + f * (stops[i + 1][2] - stops[i][2]));
}

int svg_heatmap(const char *path, const char *title, const char *row_label, const char *col_label,
                const float *v, int64_t rows, int64_t cols) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < rows * cols; i++) {
        if (!isfinite(v[i])) continue;
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) hi = lo + 1e-12;
    const double cell = rows > 40 || cols > 40 ? 12 : 36, L = 90, T = 50;
    double W = L + cols * cell + 110, H = T + rows * cell + 60;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    svg_open(f, W, H, title);
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t j = 0; j < cols; j++) {
            int r, g, b;
            ramp((v[i * cols + j] - lo) / (hi - lo), &r, &g, &b);
            fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                       "fill=\"rgb(%d,%d,%d)\"><title>%s %lld, %s %lld: %.4g</title></rect>\n",
                    L + j * cell, T + i * cell, cell, cell, r, g, b, row_label, (long long)i,
                    col_label, (long long)j, v[i * cols + j]);
        }
        if (cell >= 20 || i % 5 == 0)
            fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%lld</text>\n", L - 6,
                    T + i * cell + cell / 2 + 4, (long long)i);
    }
    for (int64_t j = 0; j < cols; j++)
        if (cell >= 20 || j % 5 == 0)
            fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%lld</text>\n",
                    L + j * cell + cell / 2, T + rows * cell + 16, (long long)j);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
            L + cols * cell / 2, T + rows * cell + 40, col_label);
    fprintf(f, "<text x=\"20\" y=\"%.0f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.0f)\">%s</text>\n",
            T + rows * cell / 2, T + rows * cell / 2, row_label);
    double bx = L + cols * cell + 30, bh = rows * cell;
    for (int s = 0; s < 50; s++) {
        int r, g, b;
        ramp(1.0 - s / 49.0, &r, &g, &b);
        fprintf(f, "<rect x=\"%.0f\" y=\"%.2f\" width=\"16\" height=\"%.2f\" fill=\"rgb(%d,%d,%d)\"/>\n",
                bx, T + bh * s / 50.0, bh / 50.0 + 0.5, r, g, b);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%.3g</text>\n", bx + 22, T + 10, hi);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%.3g</text>\n", bx + 22, T + bh, lo);
    fprintf(f, "</svg>\n");
    return svg_close(f);
}

/* Top-two principal axes of a small covariance (m x m) by power iteration
 * with deflation; m is the embedding width (tens), so this is cheap. */
static void principal_axes(const double *cov, int64_t m, double *a1, double *a2) {
    double *tmp = malloc(sizeof(double) * (size_t)m), *c = malloc(sizeof(double) * (size_t)(m * m));
    if (!tmp || !c) {
        for (int64_t i = 0; i < m; i++) a1[i] = i == 0, a2[i] = i == 1;
        free(tmp), free(c);
        return;
    }
    for (int64_t i = 0; i < m * m; i++) c[i] = cov[i];
    double *axes[2] = {a1, a2};
    for (int k = 0; k < 2; k++) {
        double *a = axes[k];
        for (int64_t i = 0; i < m; i++) a[i] = 1.0 / sqrt((double)m) + 1e-3 * (double)i;
        for (int it = 0; it < 300; it++) {
            double norm = 0;
            for (int64_t i = 0; i < m; i++) {
                tmp[i] = 0;
                for (int64_t j = 0; j < m; j++) tmp[i] += c[i * m + j] * a[j];
                norm += tmp[i] * tmp[i];
            }
            norm = sqrt(norm);
            if (norm < 1e-300) break;
            for (int64_t i = 0; i < m; i++) a[i] = tmp[i] / norm;
        }
        double lambda = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) lambda += a[i] * c[i * m + j] * a[j];
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) c[i * m + j] -= lambda * a[i] * a[j];
    }
    free(tmp);
    free(c);
}

int svg_embedding(const char *path, const char *title, const float *z, int64_t n, int64_t m,
                  const int32_t *labels, int64_t max_points) {
    static const char *const palette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    double *mean = calloc((size_t)m, sizeof(double)), *cov = calloc((size_t)(m * m), sizeof(double));
    double *a1 = malloc(sizeof(double) * (size_t)m), *a2 = malloc(sizeof(double) * (size_t)m);
    float *px = malloc(sizeof(float) * (size_t)n), *py = malloc(sizeof(float) * (size_t)n);
    int rc = -1;
    if (!mean || !cov || !a1 || !a2 || !px || !py) goto out;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) mean[j] += z[i * m + j] / (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++)
            for (int64_t l = 0; l < m; l++)
                cov[j * m + l] += (z[i * m + j] - mean[j]) * (z[i * m + l] - mean[l]);
    if (m >= 2) principal_axes(cov, m, a1, a2);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double x = 0, y = 0;
        if (m >= 2) {
            for (int64_t j = 0; j < m; j++) {
                x += (z[i * m + j] - mean[j]) * a1[j];
                y += (z[i * m + j] - mean[j]) * a2[j];
            }
        } else {
            x = z[i] - mean[0];
        }
        px[i] = (float)x, py[i] = (float)y;
        xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
    }
    if (xhi - xlo < 1e-12) xhi = xlo + 1;
    if (yhi - ylo < 1e-12) yhi = ylo + 1;
    const double W = 640, H = 640, P = 40;
    FILE *f = fopen(path, "w");
    if (!f) goto out;
    svg_open(f, W, H, title);
    int64_t stride = max_points > 0 && n > max_points ? (n + max_points - 1) / max_points : 1;
    for (int64_t i = 0; i < n; i += stride) {
        double x = P + (W - 2 * P) * (px[i] - xlo) / (xhi - xlo);
        double y = H - P - (H - 2 * P) * (py[i] - ylo) / (yhi - ylo);
        int32_t c = labels ? labels[i] : 0;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\" fill-opacity=\"0.7\"/>\n", x, y,
                palette[((c % 10) + 10) % 10]);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">first two principal axes of the "
               "embedding; colour = cluster</text>\n", W / 2, H - 10);
    fprintf(f, "</svg>\n");
    rc = svg_close(f);
out:
    free(mean), free(cov), free(a1), free(a2), free(px), free(py);
    return rc;
}
