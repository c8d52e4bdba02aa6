/* Progress bar on stderr, fed by the library's progress callback; each line
 * fits the terminal's width. */
#ifndef DC_CLI_PROGRESS_H
#define DC_CLI_PROGRESS_H

typedef struct progress_state {
    int enabled;
    double start;       /* wall time of the current phase's start */
    double last_draw;   /* wall time of the last redraw (throttling) */
    char phase[32];
    int drawn;          /* a line is on screen and needs a newline */
    int drawn_len;      /* its length, to blank what a shorter line leaves */
} progress_state;

void progress_init(progress_state *p, int enabled);
/* dc_progress_fn: never cancels. */
int progress_callback(void *user, const char *phase, long long done, long long total, double value);
void progress_finish(progress_state *p);

#endif
