#include "cli_experiment.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const PROG = "deepclust";
static const char *const SEED_KEYS[CLI_SEED_N] = {"acc", "nmi", "ari", "f1", "seconds"};
static const char *const SEED_LABELS[CLI_SEED_N] = {"ACC", "NMI", "ARI", "F1", "seconds"};

/* A whole number in [0, CLI_SEED_MAX] spanning [s, end) exactly; -1 if not. */
static long long parse_seed(const char *s, const char *end) {
    if (s == end || *s < '0' || *s > '9') return -1;
    char *stop;
    errno = 0;
    long long v = strtoll(s, &stop, 10);
    if (errno || stop != end || v > CLI_SEED_MAX) return -1;
    return v;
}

int cli_noise_parse(const char *text, const char *seed, cli_noise *nz) {
    memset(nz, 0, sizeof *nz);
    if (!text) {
        if (!seed) return 0;
        fprintf(stderr, "%s: --noise-seed needs --noise KIND:LEVEL\n", PROG);
        return 2;
    }
    if (dc_noise_parse(text, &nz->kind, &nz->level) != DC_OK) {
        fprintf(stderr, "%s: --noise: %s\n(use gaussian:VARIANCE, saltpepper:DENSITY in [0, 1] "
                "or speckle:VARIANCE)\n", PROG, dc_last_error());
        return 2;
    }
    if (seed) {
        long long v = parse_seed(seed, seed + strlen(seed));
        if (v < 0) {
            fprintf(stderr, "%s: --noise-seed takes a whole number in [0, 2^53], got '%s'\n", PROG,
                    seed);
            return 2;
        }
        nz->seed = (unsigned long long)v;
    }
    nz->on = 1;
    return 0;
}

int cli_noise_apply(const cli_noise *nz, dc_dataset *ds) {
    if (!nz->on) return 0;
    dc_status st = dc_dataset_add_noise(ds, nz->kind, nz->level, nz->seed);
    if (!st) return 0;
    fprintf(stderr, "%s: error: --noise: %s: %s\n", PROG, dc_strerror(st), dc_last_error());
    return 1;
}

void cli_noise_json(cli_json *j, const cli_noise *nz) {
    if (!nz->on) return;
    char text[64];
    snprintf(text, sizeof text, "%s:%.10g", dc_noise_name(nz->kind), nz->level);
    json_str(j, "noise", text);
    json_int(j, "noise_seed", (long long)nz->seed);
}

static int seeds_error(const char *why, const char *text) {
    fprintf(stderr, "%s: --seeds '%s': %s (e.g. 0,1,2 or 0-4)\n", PROG, text, why);
    return 2;
}

int cli_parse_seeds(const char *text, long long *seeds, int *n) {
    *n = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *dash = memchr(p, '-', (size_t)(end - p));
        long long first = parse_seed(p, dash ? dash : end);
        long long last = dash ? parse_seed(dash + 1, end) : first;
        if (first < 0 || last < 0) return seeds_error("each item is a seed or a range A-B of "
                                                      "whole numbers in [0, 2^53]", text);
        if (last < first) return seeds_error("a range goes upwards", text);
        if (last - first >= CLI_MAX_SEEDS - *n) return seeds_error("more than 1000 seeds", text);
        for (long long s = first; s <= last; s++) {
            for (int i = 0; i < *n; i++)
                if (seeds[i] == s) return seeds_error("a seed is given twice", text);
            seeds[(*n)++] = s;
        }
        if (!*end) return 0;
        p = end + 1;
    }
}

void cli_seed_mean_sd(const cli_seed_runs *r, int q, double *mean, double *sd) {
    /* Summed as offsets from the first run: equal runs give exactly their
     * value and a standard deviation of exactly 0 (not 1e-16). */
    const double x0 = r->v[0][q];
    double sum = 0;
    for (int i = 0; i < r->n; i++) sum += r->v[i][q] - x0;
    *mean = x0 + sum / r->n;
    double ss = 0;
    for (int i = 0; i < r->n; i++) ss += (r->v[i][q] - *mean) * (r->v[i][q] - *mean);
    *sd = r->n > 1 ? sqrt(ss / (r->n - 1)) : NAN;
}

/* The quantities a run has: seconds always, the metrics with labels. */
static int first_quantity(const cli_seed_runs *r) { return r->scored ? 0 : CLI_SEED_SECONDS; }

void cli_seed_json(cli_json *j, const cli_seed_runs *r) {
    cli_json mean, sd;
    double m[CLI_SEED_N], s[CLI_SEED_N];
    for (int q = first_quantity(r); q < CLI_SEED_N; q++) cli_seed_mean_sd(r, q, &m[q], &s[q]);
    json_begin_object(j, "mean", &mean);
    for (int q = first_quantity(r); q < CLI_SEED_N; q++) json_num(&mean, SEED_KEYS[q], m[q]);
    json_end_object(&mean);
    json_begin_object(j, "sd", &sd);
    for (int q = first_quantity(r); q < CLI_SEED_N; q++) json_num(&sd, SEED_KEYS[q], s[q]);
    json_end_object(&sd);
}

void cli_seed_print(FILE *f, const cli_seed_runs *r) {
    fprintf(f, "mean \u00b1 sd over %d seed%s:", r->n, r->n == 1 ? "" : "s");
    for (int q = first_quantity(r); q < CLI_SEED_N; q++) {
        double m, s;
        cli_seed_mean_sd(r, q, &m, &s);
        const char *fmt = q == CLI_SEED_SECONDS ? "  %s %.3f" : "  %s %.4f";
        fprintf(f, fmt, SEED_LABELS[q], m);
        if (isnan(s)) fputs(" \u00b1 -", f);
        else fprintf(f, q == CLI_SEED_SECONDS ? " \u00b1 %.3f" : " \u00b1 %.4f", s);
    }
    fputc('\n', f);
}
