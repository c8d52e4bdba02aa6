#include "cli_progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress_state *p, int enabled) {
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
}

int progress_callback(void *user, const char *phase, long long done, long long total, double value) {
    progress_state *p = user;
    if (!p->enabled) return 0;
    if (strncmp(p->phase, phase, sizeof p->phase - 1)) {
        if (p->drawn) fputc('\n', stderr);
        snprintf(p->phase, sizeof p->phase, "%s", phase);
        p->start = now();
        p->last_draw = 0;
    }
    double t = now(), el = t - p->start;
    /* Redraw at most ten times a second (and always at the end of a phase):
     * a fast phase would otherwise spend its time writing to the terminal. */
    if (t - p->last_draw < 0.1 && !(total > 0 && done >= total)) return 0;
    p->last_draw = t;
    fprintf(stderr, "\r%-10s", phase);
    if (total > 0) {
        int width = 24, fill = (int)(width * (double)done / (double)total);
        if (fill > width) fill = width;
        fprintf(stderr, " [%.*s%*s] %lld/%lld", fill, "########################", width - fill, "",
                done, total);
        if (done > 0 && done < total)
            fprintf(stderr, " ETA %.0fs", el * (double)(total - done) / (double)done);
    } else {
        fprintf(stderr, " %lld", done);
    }
    if (!isnan(value)) fprintf(stderr, " value %.6g", value);
    fprintf(stderr, " (%.1fs)   ", el);
    fflush(stderr);
    p->drawn = 1;
    return 0;
}

void progress_finish(progress_state *p) {
    if (p->enabled && p->drawn) fputc('\n', stderr);
    p->drawn = 0;
}
