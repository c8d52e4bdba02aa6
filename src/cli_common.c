/* The helpers the subcommands share (cli_common.h). */
#include "cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", CLI_PROG);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see '%s --help')\n", CLI_PROG);
    return EXIT_USAGE;
}

int cli_lib_error(dc_status st, const char *what) {
    const char *detail = dc_last_error();
    fprintf(stderr, "%s: error: %s: %s%s%s\n", CLI_PROG, what, dc_strerror(st),
            detail[0] ? ": " : "", detail);
    return EXIT_RUNTIME;
}

int cli_usage_lib_error(dc_status st, const char *what) {
    cli_lib_error(st, what);
    return EXIT_USAGE;
}

/* Flags that never take a value. */
static int is_flag(const char *key) {
    static const char *flags[] = {"json", "quiet", "help", "fast-blas", "progress", NULL};
    for (int i = 0; flags[i]; i++)
        if (!strcmp(key, flags[i])) return 1;
    return 0;
}

int cli_parse_args(cli_args *a, int argc, char **argv, int first) {
    memset(a, 0, sizeof *a);
    for (int i = first; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] == '-' && s[1] == '-' && s[2]) {
            if (a->n == CLI_MAX_OPTS) return cli_usage_error("too many options%s", "");
            cli_opt *o = &a->o[a->n++];
            const char *eq = strchr(s + 2, '=');
            if (eq) {
                char *k = strndup(s + 2, (size_t)(eq - s - 2));
                o->key = k;
                o->val = eq + 1;
            } else {
                o->key = s + 2;
                if (!is_flag(o->key)) {
                    if (i + 1 >= argc) return cli_usage_error("option --%s needs a value", o->key);
                    o->val = argv[++i];
                }
            }
        } else {
            if (a->n_pos == CLI_MAX_POSITIONAL) return cli_usage_error("too many arguments (at '%s')", s);
            a->positional[a->n_pos++] = s;
        }
    }
    return 0;
}

/* The last of repeated options wins, as for method parameters (a later
 * --out b replaces --out a, rather than being read as a parameter). */
const char *cli_get(cli_args *a, const char *key) {
    const char *found = NULL;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->o[i].key, key)) {
            a->o[i].used = 1;
            found = a->o[i].val ? a->o[i].val : "";
        }
    return found;
}

int cli_has(cli_args *a, const char *key) { return cli_get(a, key) != NULL; }

long long cli_parse_count(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) return -1;
    return v;
}

int cli_parse_format(const char *s, dc_format *f) {
    if (!s || !strcmp(s, "auto")) *f = DC_FORMAT_AUTO;
    else if (!strcmp(s, "csv")) *f = DC_FORMAT_CSV;
    else if (!strcmp(s, "npy")) *f = DC_FORMAT_NPY;
    else if (!strcmp(s, "idx")) *f = DC_FORMAT_IDX;
    else return cli_usage_error("unknown --format '%s' (use csv, npy, idx or auto)", s);
    return 0;
}

int cli_is_stdio(const char *path) { return path && !strcmp(path, "-"); }

const char *cli_stdin_path(const char *path, dc_format *format) {
    if (!cli_is_stdio(path)) return path;
    if (*format == DC_FORMAT_AUTO) *format = DC_FORMAT_CSV;
    return "/dev/stdin";
}

/* The options cli_load_data reads. */
static const char *const DATA_OPTIONS[] = {"data", "format", "label-column", "header", "labels",
                                           "image-shape", "normalize"};

void cli_claim_data_options(cli_args *a) {
    for (size_t i = 0; i < sizeof DATA_OPTIONS / sizeof DATA_OPTIONS[0]; i++)
        cli_get(a, DATA_OPTIONS[i]);
}

int cli_load_data(cli_args *a, dc_dataset **out, int normalize) {
    const char *path = cli_get(a, "data");
    if (!path) return cli_usage_error("missing --data PATH%s", "");
    dc_load_options lo;
    dc_load_options_default(&lo);
    if (cli_parse_format(cli_get(a, "format"), &lo.format)) return 2;
    path = cli_stdin_path(path, &lo.format);
    const char *lc = cli_get(a, "label-column");
    if (lc) {
        if (!strcmp(lc, "last")) lo.label_column = DC_LABEL_COLUMN_LAST;
        else {
            long long c = cli_parse_count(lc);
            if (c < 0 || c > 1000000000) return cli_usage_error("--label-column takes an index or 'last', got '%s'", lc);
            lo.label_column = (int)c;
        }
    }
    const char *hdr = cli_get(a, "header");
    if (hdr) {
        if (!strcmp(hdr, "yes")) lo.header = 1;
        else if (!strcmp(hdr, "no")) lo.header = 0;
        else if (!strcmp(hdr, "auto")) lo.header = -1;
        else return cli_usage_error("--header takes yes, no or auto, got '%s'", hdr);
    }
    if (cli_is_stdio(cli_get(a, "labels")) && cli_is_stdio(cli_get(a, "data")))
        return cli_usage_error("--data and --labels cannot both read standard input%s", "");
    dc_status st = dc_dataset_load(out, path, &lo);
    if (st) return cli_lib_error(st, "--data"); /* the detail names the file */
    const char *labels = cli_get(a, "labels");
    if (labels) {
        if (lc) {
            return cli_usage_error("give either --labels or --label-column, not both%s", "");
        }
        dc_format lf = DC_FORMAT_AUTO;
        st = dc_dataset_load_labels(*out, cli_stdin_path(labels, &lf), lf);
        if (st) return cli_lib_error(st, "--labels");
    }
    const char *shape = cli_get(a, "image-shape");
    if (shape) {
        long long h, w, c = 1;
        int end = 0; /* the whole text must be the shape: "8x8junk" is refused */
        int got = sscanf(shape, "%lldx%lld%n", &h, &w, &end);
        if (got == 2 && shape[end] == 'x') {
            int more = 0;
            if (sscanf(shape + end, "x%lld%n", &c, &more) == 1) end += more;
            else got = 0;
        }
        if (got < 2 || shape[end] || h < 1 || w < 1 || c < 1) {
            return cli_usage_error("--image-shape takes HxW or HxWxC, got '%s'", shape);
        }
        st = dc_dataset_set_image_shape(*out, h, w, c);
        if (st) return cli_lib_error(st, "--image-shape");
    }
    const char *norm = normalize ? cli_get(a, "normalize") : NULL;
    if (norm) {
        dc_normalization nm;
        st = dc_normalization_from_name(norm, &nm);
        if (st) return cli_usage_lib_error(st, "--normalize");
        st = dc_dataset_normalize(*out, nm);
        if (st) return cli_lib_error(st, "--normalize");
    }
    return 0;
}

int cli_compute_metrics(const int32_t *truth, const int32_t *pred, int64_t n, cli_metrics *m) {
    dc_status st;
    if ((st = dc_metrics_acc(truth, pred, n, &m->acc)) ||
        (st = dc_metrics_nmi(truth, pred, n, DC_NMI_SQRT, &m->nmi)) ||
        (st = dc_metrics_nmi(truth, pred, n, DC_NMI_ARITHMETIC, &m->nmi_arith)) ||
        (st = dc_metrics_ari(truth, pred, n, &m->ari)) || (st = dc_metrics_f1(truth, pred, n, &m->f1)))
        return cli_lib_error(st, "metrics");
    return 0;
}

/* --out -: one label per line on stdout, as the .csv file would hold them. */
static int write_labels_stdout(const int32_t *pred, int64_t n) {
    for (int64_t i = 0; i < n; i++) printf("%d\n", (int)pred[i]);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: error: --out -: cannot write the labels to stdout: %s\n", CLI_PROG,
                strerror(errno));
        return EXIT_RUNTIME;
    }
    return 0;
}

FILE *cli_json_stream(const char *out) { return cli_is_stdio(out) ? stderr : stdout; }

int cli_score_and_write(const int32_t *truth, const int32_t *pred, int64_t n,
                        cli_outputs *files, const char *out, cli_metrics *mt) {
    int rc = truth ? cli_compute_metrics(truth, pred, n, mt) : 0;
    if (rc || !out) return rc;
    if (cli_is_stdio(out)) return write_labels_stdout(pred, n);
    const char *tmp = cli_outputs_add(files, "out", out);
    if (!tmp) return 1;
    dc_status st = dc_write_labels(tmp, pred, n, DC_FORMAT_AUTO);
    return st ? cli_lib_error(st, out) : 0;
}

void cli_json_run_keys(cli_json *j, const char *method, int64_t n, int64_t d, long long k,
                       long long seed, double seconds) {
    json_str(j, "method", method);
    json_int(j, "n", n);
    json_int(j, "d", d);
    json_int(j, "k", k);
    json_int(j, "seed", seed);
    json_num(j, "seconds", seconds);
}

void cli_json_run(cli_json *j, FILE *f, const char *method, int64_t n, int64_t d, long long k,
                  long long seed, double seconds) {
    json_begin(j, f);
    cli_json_run_keys(j, method, n, d, k, seed, seconds);
}

void cli_json_metrics(cli_json *j, const cli_metrics *mt) {
    json_num(j, "acc", mt->acc);
    json_num(j, "nmi", mt->nmi);
    json_str(j, "nmi_normalization", "sqrt");
    json_num(j, "nmi_arithmetic", mt->nmi_arith);
    json_num(j, "ari", mt->ari);
    json_num(j, "f1", mt->f1);
}

/* Solver statistics: "seconds_X" become phases.X (after `extra_phase`, when
 * not NULL: a phase the caller timed), the rest go top level. */
void cli_json_solver_stats(cli_json *j, const dc_solver *s, const char *extra_phase,
                           double extra_seconds) {
    cli_json ph;
    json_begin_object(j, "phases", &ph);
    if (extra_phase) json_num(&ph, extra_phase, extra_seconds);
    for (int i = 0; i < dc_solver_stat_count(s); i++) {
        const char *name = dc_solver_stat_name(s, i);
        double v;
        dc_solver_stat(s, name, &v);
        if (!strncmp(name, "seconds_", 8)) json_num(&ph, name + 8, v);
    }
    json_end_object(&ph);
    for (int i = 0; i < dc_solver_stat_count(s); i++) {
        const char *name = dc_solver_stat_name(s, i);
        double v;
        dc_solver_stat(s, name, &v);
        if (strncmp(name, "seconds", 7)) json_num(j, name, v);
    }
}

/* The library's warnings (a regularised graph, fewer distinct clusters than
 * k, an eigensolver fallback): on stderr as they come, unless quiet, and
 * kept for the JSON's "warnings". */
#define MAX_WARNINGS 16
static struct {
    char text[MAX_WARNINGS][512];
    const char *list[MAX_WARNINGS];
    int n, quiet;
} g_warnings;

static void on_log(void *user, dc_log_level level, const char *message) {
    (void)user;
    if (level > DC_LOG_WARN) return;
    if (!g_warnings.quiet) fprintf(stderr, "%s: warning: %s\n", CLI_PROG, message);
    if (g_warnings.n == MAX_WARNINGS) return;
    snprintf(g_warnings.text[g_warnings.n], sizeof g_warnings.text[0], "%s", message);
    g_warnings.list[g_warnings.n] = g_warnings.text[g_warnings.n];
    g_warnings.n++;
}

void cli_collect_warnings(int quiet) {
    g_warnings.quiet = quiet;
    dc_set_log(on_log, NULL, DC_LOG_WARN);
}

void cli_json_warnings(cli_json *j) {
    if (g_warnings.n) json_str_list(j, "warnings", g_warnings.list, g_warnings.n);
}

void cli_print_metrics(const cli_metrics *mt) {
    fprintf(stderr, "ACC %.4f  NMI %.4f (sqrt; arithmetic %.4f)  ARI %.4f  F1 %.4f\n", mt->acc, mt->nmi,
            mt->nmi_arith, mt->ari, mt->f1);
}

int cli_check_unused(cli_args *a, const char *cmd) {
    for (int i = 0; i < a->n; i++)
        if (!a->o[i].used) {
            fprintf(stderr, "%s: unknown option --%s for '%s' (see '%s --help')\n", CLI_PROG, a->o[i].key,
                    cmd, CLI_PROG);
            return 2;
        }
    return 0;
}
