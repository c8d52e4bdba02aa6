#include "cli_progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* The widest bar; narrower terminals get a shorter one, then none. */
#define BAR_MAX 24
#define BAR_MIN 5

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Columns of the terminal on stderr, asked at each redraw so that a resized
 * window is followed; $COLUMNS when stderr is no terminal; else 80. */
static int terminal_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *env = getenv("COLUMNS");
    int cols = env ? atoi(env) : 0;
    return cols > 0 ? cols : 80;
}

void progress_init(progress_state *p, int enabled) {
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
}

/* The line for one report, at most `width` characters: the bar shrinks
 * (and goes) first, then the end of the text is cut. */
static void compose(char *line, size_t size, int width, const char *phase, long long done,
                    long long total, double value, double elapsed) {
    char count[64] = "", tail[96] = "";
    if (total > 0) {
        snprintf(count, sizeof count, " %lld/%lld", done, total);
        if (done > 0 && done < total)
            snprintf(count + strlen(count), sizeof count - strlen(count), " ETA %.0fs",
                     elapsed * (double)(total - done) / (double)done);
    } else {
        snprintf(count, sizeof count, " %lld", done);
    }
    if (!isnan(value)) snprintf(tail, sizeof tail, " value %.6g", value);
    snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " (%.1fs)", elapsed);
    char head[32];
    snprintf(head, sizeof head, "%-10s", phase);
    int room = width - (int)(strlen(head) + strlen(count) + strlen(tail)) - 3; /* " [" "]" */
    int bar = total > 0 ? (room > BAR_MAX ? BAR_MAX : room) : 0;
    char bar_text[64] = "";
    if (bar >= BAR_MIN) {
        int fill = (int)(bar * (double)done / (double)total);
        if (fill > bar) fill = bar;
        snprintf(bar_text, sizeof bar_text, " [%.*s%*s]", fill, "########################",
                 bar - fill, "");
    }
    snprintf(line, size, "%s%s%s%s", head, bar_text, count, tail);
    if ((int)strlen(line) > width) line[width > 0 ? width : 0] = '\0';
}

int progress_callback(void *user, const char *phase, long long done, long long total, double value) {
    progress_state *p = user;
    if (!p->enabled) return 0;
    if (strncmp(p->phase, phase, sizeof p->phase - 1)) {
        if (p->drawn) fputc('\n', stderr);
        snprintf(p->phase, sizeof p->phase, "%s", phase);
        p->start = now();
        p->last_draw = 0;
        p->drawn_len = 0;
    }
    double t = now();
    /* Redraw at most ten times a second (and always at the end of a phase):
     * a fast phase would otherwise spend its time writing to the terminal. */
    if (t - p->last_draw < 0.1 && !(total > 0 && done >= total)) return 0;
    p->last_draw = t;
    /* One column short of the width: a full line would wrap on some terminals. */
    const int width = terminal_width() - 1;
    char line[512];
    compose(line, sizeof line, width, phase, done, total, value, t - p->start);
    int len = (int)strlen(line);
    /* Blanks over what a longer previous line left, within the width. */
    int pad = p->drawn_len > len ? p->drawn_len - len : 0;
    if (len + pad > width) pad = width > len ? width - len : 0;
    fprintf(stderr, "\r%s%*s", line, pad, "");
    fflush(stderr);
    p->drawn = 1;
    p->drawn_len = len;
    return 0;
}

void progress_finish(progress_state *p) {
    if (p->enabled && p->drawn) fputc('\n', stderr);
    p->drawn = 0;
}
