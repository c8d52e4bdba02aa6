/* What the subcommands of the deepclust CLI share: the parsed command line,
 * the error messages and exit statuses, loading --data, and the metrics and
 * JSON keys every command reports. Each subcommand lives in its own file
 * (cli_cluster.c, cli_predict.c, cli_info.c, cli_segment.c); deepclust.c
 * dispatches to them and prints the help. */
#ifndef DC_CLI_COMMON_H
#define DC_CLI_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include <deepclust.h>

#include "cli_files.h"
#include "cli_json.h"

#define CLI_PROG "deepclust"

/* Exit statuses (the table in the help and the README). */
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* ---- the command line ---- */

#define CLI_MAX_OPTS 128
#define CLI_MAX_POSITIONAL 8

typedef struct cli_opt {
    const char *key; /* without leading dashes, '-' kept */
    const char *val; /* NULL for a bare flag */
    int used;        /* read by the command (cli_check_unused refuses the rest) */
} cli_opt;

typedef struct cli_args {
    cli_opt o[CLI_MAX_OPTS];
    int n;
    const char *positional[CLI_MAX_POSITIONAL];
    int n_pos;
} cli_args;

/* --key value, --key=value and bare flags from argv[first]: 0, or 2 after a
 * message. */
int cli_parse_args(cli_args *a, int argc, char **argv, int first);
/* The value of --key ("" for a flag; the last one when repeated), marking
 * it used; NULL when absent. */
const char *cli_get(cli_args *a, const char *key);
int cli_has(cli_args *a, const char *key);
/* Marks the options cli_load_data reads as used, so that a command can
 * check its other options before reading the data. */
void cli_claim_data_options(cli_args *a);
/* Every option must have been understood by the command: 0, or 2 after a
 * message naming the first one that was not. */
int cli_check_unused(cli_args *a, const char *cmd);

/* A non-negative whole number; -1 on error. */
long long cli_parse_count(const char *s);
/* --format (NULL: auto): 0, or 2 after a message. */
int cli_parse_format(const char *s, dc_format *f);
/* "-" as a path: standard input or output. */
int cli_is_stdio(const char *path);
/* --data -: the data come from standard input, in --format (default CSV:
 * a stream has no extension to tell it by). */
const char *cli_stdin_path(const char *path, dc_format *format);

/* ---- messages: each prints to stderr and returns the exit status ---- */

/* A usage error: fmt with one %s argument, then a pointer to --help (2). */
int cli_usage_error(const char *fmt, const char *arg);
/* A runtime error of the library with its detail (1). */
int cli_lib_error(dc_status st, const char *what);
/* A library refusal of what the command line asked (an unknown method or
 * normalisation name, a parameter value out of range): a usage error. */
int cli_usage_lib_error(dc_status st, const char *what);

/* ---- data and results ---- */

/* Loads --data with --format/--label-column/--labels/--image-shape, and
 * --normalize when `normalize` is set (predict decides it with the model).
 * On failure *out may hold a partly prepared set: the caller frees it. */
int cli_load_data(cli_args *a, dc_dataset **out, int normalize);

/* predict's --normalize (opt, may be NULL) for model m: the training
 * statistics the model records, the data as given ("none"), or the data's
 * own statistics through `normalize`; *source says which ("model", "none",
 * "data"). 0, or the exit code after a message. */
int cli_normalize_for_model(const dc_model *m, dc_dataset *ds, const char *opt,
                            const char **source,
                            dc_status (*normalize)(dc_dataset *, dc_normalization));

typedef struct cli_metrics {
    double acc, nmi, nmi_arith, ari, f1;
} cli_metrics;

int cli_compute_metrics(const int32_t *truth, const int32_t *pred, int64_t n, cli_metrics *m);
/* Metrics against the true labels (when known), then the labels file (when
 * asked, among the run's outputs; "-" = stdout); the CLI's exit code, 0 on
 * success. */
int cli_score_and_write(const int32_t *truth, const int32_t *pred, int64_t n, cli_outputs *files,
                        const char *out, cli_metrics *mt);
void cli_print_metrics(const cli_metrics *mt);

/* Where --json goes: stdout, or stderr when stdout carries the labels. */
FILE *cli_json_stream(const char *out);
/* The keys every command reports about a run. */
void cli_json_run_keys(cli_json *j, const char *method, int64_t n, int64_t d, long long k,
                       long long seed, double seconds);
/* Opens the JSON object on `f` with the keys every command reports. */
void cli_json_run(cli_json *j, FILE *f, const char *method, int64_t n, int64_t d, long long k,
                  long long seed, double seconds);
void cli_json_metrics(cli_json *j, const cli_metrics *mt);
/* Solver statistics: "seconds_X" become phases.X (after `extra_phase` =
 * extra_seconds, when not NULL), the rest go top level. */
void cli_json_solver_stats(cli_json *j, const dc_solver *s, const char *extra_phase,
                           double extra_seconds);
/* From now on the library's warnings go to stderr (unless quiet) and are kept
 * for cli_json_warnings ("warnings": a list, absent when there were none). */
void cli_collect_warnings(int quiet);
void cli_json_warnings(cli_json *j);

/* ---- the subcommands: each returns the exit status ---- */

int cli_cluster(cli_args *a, int json);
int cli_predict(cli_args *a, int json);
/* info PATH: what a data, model or checkpoint file holds. */
int cli_info(cli_args *a, int json);

#endif
