/* deepclust -- command-line front end of libdeepclust (public API only).
 *
 * stdout carries machine-readable output only (--json: exactly one object);
 * human messages and the progress bar go to stderr. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <deepclust.h>

#include "cli_experiment.h"
#include "cli_files.h"
#include "cli_json.h"
#include "cli_progress.h"
#include "cli_segment.h"
#include "cli_svg.h"

#define MAX_OPTS 128

/* Exit statuses (the table in print_help and the README). */
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

typedef struct opt {
    const char *key; /* without leading dashes, '-' kept */
    const char *val; /* NULL for a bare flag */
    int used;
} opt;

typedef struct args {
    opt o[MAX_OPTS];
    int n;
    const char *positional[8];
    int n_pos;
} args;

static const char *g_prog = "deepclust";

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", g_prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see '%s --help')\n", g_prog);
    return EXIT_USAGE;
}

static int lib_error(dc_status st, const char *what) {
    const char *detail = dc_last_error();
    fprintf(stderr, "%s: error: %s: %s%s%s\n", g_prog, what, dc_strerror(st),
            detail[0] ? ": " : "", detail);
    return EXIT_RUNTIME;
}

/* A library refusal of what the command line asked (an unknown method or
 * normalisation name, a parameter value out of range): a usage error. */
static int usage_lib_error(dc_status st, const char *what) {
    lib_error(st, what);
    return EXIT_USAGE;
}

/* Flags that never take a value. */
static int is_flag(const char *key) {
    static const char *flags[] = {"json", "quiet", "help", "fast-blas", "progress", NULL};
    for (int i = 0; flags[i]; i++)
        if (!strcmp(key, flags[i])) return 1;
    return 0;
}

static int parse_args(args *a, int argc, char **argv, int first) {
    memset(a, 0, sizeof *a);
    for (int i = first; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] == '-' && s[1] == '-' && s[2]) {
            if (a->n == MAX_OPTS) return usage_error("too many options%s", "");
            opt *o = &a->o[a->n++];
            const char *eq = strchr(s + 2, '=');
            if (eq) {
                char *k = strndup(s + 2, (size_t)(eq - s - 2));
                o->key = k;
                o->val = eq + 1;
            } else {
                o->key = s + 2;
                if (!is_flag(o->key)) {
                    if (i + 1 >= argc) return usage_error("option --%s needs a value", o->key);
                    o->val = argv[++i];
                }
            }
        } else {
            if (a->n_pos == 8) return usage_error("too many arguments (at '%s')", s);
            a->positional[a->n_pos++] = s;
        }
    }
    return 0;
}

static const char *get(args *a, const char *key) {
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->o[i].key, key)) {
            a->o[i].used = 1;
            return a->o[i].val ? a->o[i].val : "";
        }
    return NULL;
}

static int has(args *a, const char *key) { return get(a, key) != NULL; }

/* Parses a non-negative whole number; -1 on error. */
static long long parse_count(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) return -1;
    return v;
}

static int parse_format(const char *s, dc_format *f) {
    if (!s || !strcmp(s, "auto")) *f = DC_FORMAT_AUTO;
    else if (!strcmp(s, "csv")) *f = DC_FORMAT_CSV;
    else if (!strcmp(s, "npy")) *f = DC_FORMAT_NPY;
    else if (!strcmp(s, "idx")) *f = DC_FORMAT_IDX;
    else return usage_error("unknown --format '%s' (use csv, npy, idx or auto)", s);
    return 0;
}

/* "-" as a path: standard input or output. */
static int is_stdio(const char *path) { return path && !strcmp(path, "-"); }

/* --data -: the data come from standard input, in --format (default CSV:
 * a stream has no extension to tell it by). */
static const char *stdin_path(const char *path, dc_format *format) {
    if (!is_stdio(path)) return path;
    if (*format == DC_FORMAT_AUTO) *format = DC_FORMAT_CSV;
    return "/dev/stdin";
}

/* Loads --data with --format/--label-column/--labels/--image-shape, and
 * --normalize when `normalize` is set (predict decides it with the model).
 * On failure *out may hold a partly prepared set: the caller frees it. */
static int load_data(args *a, dc_dataset **out, int normalize) {
    const char *path = get(a, "data");
    if (!path) return usage_error("missing --data PATH%s", "");
    dc_load_options lo;
    dc_load_options_default(&lo);
    if (parse_format(get(a, "format"), &lo.format)) return 2;
    path = stdin_path(path, &lo.format);
    const char *lc = get(a, "label-column");
    if (lc) {
        if (!strcmp(lc, "last")) lo.label_column = DC_LABEL_COLUMN_LAST;
        else {
            long long c = parse_count(lc);
            if (c < 0 || c > 1000000000) return usage_error("--label-column takes an index or 'last', got '%s'", lc);
            lo.label_column = (int)c;
        }
    }
    const char *hdr = get(a, "header");
    if (hdr) {
        if (!strcmp(hdr, "yes")) lo.header = 1;
        else if (!strcmp(hdr, "no")) lo.header = 0;
        else if (!strcmp(hdr, "auto")) lo.header = -1;
        else return usage_error("--header takes yes, no or auto, got '%s'", hdr);
    }
    dc_status st = dc_dataset_load(out, path, &lo);
    if (st) return lib_error(st, "--data"); /* the detail names the file */
    const char *labels = get(a, "labels");
    if (labels) {
        if (lc) {
            return usage_error("give either --labels or --label-column, not both%s", "");
        }
        st = dc_dataset_load_labels(*out, labels, DC_FORMAT_AUTO);
        if (st) return lib_error(st, "--labels");
    }
    const char *shape = get(a, "image-shape");
    if (shape) {
        long long h, w, c = 1;
        int got = sscanf(shape, "%lldx%lldx%lld", &h, &w, &c);
        if (got < 2 || h < 1 || w < 1 || c < 1) {
            return usage_error("--image-shape takes HxW or HxWxC, got '%s'", shape);
        }
        st = dc_dataset_set_image_shape(*out, h, w, c);
        if (st) return lib_error(st, "--image-shape");
    }
    const char *norm = normalize ? get(a, "normalize") : NULL;
    if (norm) {
        dc_normalization nm;
        st = dc_normalization_from_name(norm, &nm);
        if (st) return usage_lib_error(st, "--normalize");
        st = dc_dataset_normalize(*out, nm);
        if (st) return lib_error(st, "--normalize");
    }
    return 0;
}

/* --some-name VALUE for every remaining option that names a solver parameter
 * (dashes map to underscores), plus --param name=value. */
static int apply_params(args *a, dc_solver *s) {
    for (int i = 0; i < a->n; i++) {
        opt *o = &a->o[i];
        if (o->used) continue;
        char name[128];
        const char *val = o->val;
        if (!strcmp(o->key, "param")) {
            const char *eq = val ? strchr(val, '=') : NULL;
            if (!eq || eq == val) return usage_error("--param takes name=value, got '%s'", val ? val : "");
            snprintf(name, sizeof name, "%.*s", (int)(eq - val), val);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", o->key);
        }
        for (char *c = name; *c; c++)
            if (*c == '-') *c = '_';
        double dummy;
        if (dc_solver_get(s, name, &dummy) != DC_OK) {
            fprintf(stderr, "%s: unknown option --%s for method '%s' (see '%s help %s')\n", g_prog,
                    o->key, dc_solver_method(s), g_prog, dc_solver_method(s));
            return 2;
        }
        if (!val) return usage_error("option --%s needs a value", o->key);
        dc_status st = dc_solver_set_str(s, name, val);
        if (st) return usage_lib_error(st, "invalid parameter");
        o->used = 1;
    }
    return 0;
}

typedef struct metrics {
    double acc, nmi, nmi_arith, ari, f1;
} metrics;

static int compute_metrics(const int32_t *truth, const int32_t *pred, int64_t n, metrics *m) {
    dc_status st;
    if ((st = dc_metrics_acc(truth, pred, n, &m->acc)) ||
        (st = dc_metrics_nmi(truth, pred, n, DC_NMI_SQRT, &m->nmi)) ||
        (st = dc_metrics_nmi(truth, pred, n, DC_NMI_ARITHMETIC, &m->nmi_arith)) ||
        (st = dc_metrics_ari(truth, pred, n, &m->ari)) || (st = dc_metrics_f1(truth, pred, n, &m->f1)))
        return lib_error(st, "metrics");
    return 0;
}

/* --out -: one label per line on stdout, as the .csv file would hold them. */
static int write_labels_stdout(const int32_t *pred, int64_t n) {
    for (int64_t i = 0; i < n; i++) printf("%d\n", (int)pred[i]);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: error: --out -: cannot write the labels to stdout: %s\n", g_prog,
                strerror(errno));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Where --json goes: stdout, or stderr when stdout carries the labels. */
static FILE *json_stream(const char *out) { return is_stdio(out) ? stderr : stdout; }

/* Metrics against the true labels (when known), then the labels file (when
  * asked, among the run's outputs; "-" = stdout); the CLI's exit code, 0 on
 * success. */
static int score_and_write(const int32_t *truth, const int32_t *pred, int64_t n,
                           cli_outputs *files, const char *out, metrics *mt) {
    int rc = truth ? compute_metrics(truth, pred, n, mt) : 0;
    if (rc || !out) return rc;
    if (is_stdio(out)) return write_labels_stdout(pred, n);
    const char *tmp = cli_outputs_add(files, "out", out);
    if (!tmp) return 1;
    dc_status st = dc_write_labels(tmp, pred, n, DC_FORMAT_AUTO);
    return st ? lib_error(st, out) : 0;
}

/* The keys every command reports about a run. */
static void json_run_keys(cli_json *j, const char *method, int64_t n, int64_t d, long long k,
                          long long seed, double seconds) {
    json_str(j, "method", method);
    json_int(j, "n", n);
    json_int(j, "d", d);
    json_int(j, "k", k);
    json_int(j, "seed", seed);
    json_num(j, "seconds", seconds);
}

/* Opens the JSON object on `f` with the keys every command reports. */
static void json_run(cli_json *j, FILE *f, const char *method, int64_t n, int64_t d, long long k,
                     long long seed, double seconds) {
    json_begin(j, f);
    json_run_keys(j, method, n, d, k, seed, seconds);
}

/* Solver statistics: "seconds_X" become phases.X, the rest go top level. */
static void json_solver_stats(cli_json *j, const dc_solver *s) {
    cli_json ph;
    json_begin_object(j, "phases", &ph);
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

static void json_metrics(cli_json *j, const metrics *mt) {
    json_num(j, "acc", mt->acc);
    json_num(j, "nmi", mt->nmi);
    json_str(j, "nmi_normalization", "sqrt");
    json_num(j, "nmi_arithmetic", mt->nmi_arith);
    json_num(j, "ari", mt->ari);
    json_num(j, "f1", mt->f1);
}

static void print_metrics(const metrics *mt) {
    fprintf(stderr, "ACC %.4f  NMI %.4f (sqrt; arithmetic %.4f)  ARI %.4f  F1 %.4f\n", mt->acc, mt->nmi,
            mt->nmi_arith, mt->ari, mt->f1);
}

/* The file writers below write `file` (a temporary of the run's outputs)
 * and name `path`, the output it becomes, in their messages. */

/* Writes a named solver output matrix to a .csv/.npy file. */
static int write_output(dc_solver *s, const char *name, const char *file, const char *path) {
    int64_t rows, cols;
    dc_status st = dc_solver_output(s, name, NULL, 0, &rows, &cols);
    if (st) return lib_error(st, path);
    float *buf = malloc(sizeof(float) * (size_t)(rows * cols > 0 ? rows * cols : 1));
    if (!buf) return lib_error(DC_ERR_NOMEM, path);
    st = dc_solver_output(s, name, buf, rows * cols, &rows, &cols);
    if (!st) st = dc_write_matrix(file, buf, rows, cols, DC_FORMAT_AUTO);
    free(buf);
    return st ? lib_error(st, path) : 0;
}

/* The exit code of an SVG writer's result (-1 with errno: a message). */
static int svg_result(int rc, const char *path) {
    if (rc) fprintf(stderr, "%s: cannot write %s: %s\n", g_prog, path, strerror(errno));
    return rc ? 1 : 0;
}

/* Reads a 1 x n output (a trace) into a new array; NULL if absent. */
static float *read_vector(dc_solver *s, const char *name, int64_t *len) {
    int64_t rows, cols;
    if (dc_solver_output(s, name, NULL, 0, &rows, &cols) != DC_OK) return NULL;
    float *v = malloc(sizeof(float) * (size_t)(rows * cols > 0 ? rows * cols : 1));
    if (v && dc_solver_output(s, name, v, rows * cols, &rows, &cols) != DC_OK) {
        free(v);
        return NULL;
    }
    *len = rows * cols;
    return v;
}

/* Whether the method has a deep model (edcwrn, idec, dec). dc_solver_model
 * documents DC_ERR_UNSUPPORTED for the others, whatever the solver's state:
 * a question that works before the fit. */
static int has_deep_model(const dc_solver *s) {
    dc_model *m = NULL;
    dc_status st = dc_solver_model(s, &m);
    dc_model_free(m);
    dc_clear_error();
    return st != DC_ERR_UNSUPPORTED;
}

/* scdbas: the best fitness per search iteration (1 x L, plus the undamped
 * comparison run when recorded); deep methods: the fraction of labels
 * changed at each target update (column 1 of the updates x 2 trace). */
static int write_trace_svg(dc_solver *s, const char *file, const char *path) {
    int64_t n1 = 0, n2 = 0;
    float *t1 = read_vector(s, "trace", &n1);
    if (!t1) return lib_error(DC_ERR_NOMEM, path); /* present: checked before the fit */
    int rc;
    if (has_deep_model(s)) {
        int64_t updates = n1 / 2;
        for (int64_t i = 0; i < updates; i++) t1[i] = t1[2 * i + 1];
        svg_series series = {"labels changed", t1, updates};
        rc = svg_line_chart(file, "Fraction of labels changed at each target update",
                            "target update (every update_interval iterations)",
                            "fraction changed", &series, 1);
    } else {
        float *t2 = read_vector(s, "trace_undamped", &n2);
        svg_series series[2] = {{"damped BAS", t1, n1}, {"undamped BAS", t2, n2}};
        rc = svg_line_chart(file, "Beetle antennae search: best fitness per iteration",
                            "iteration", "within-cluster SSE", series, t2 ? 2 : 1);
        free(t2);
    }
    free(t1);
    return svg_result(rc, path);
}

static int write_weights_svg(dc_solver *s, const char *file, const char *path) {
    int64_t rows, cols;
    dc_status st = dc_solver_output(s, "weights", NULL, 0, &rows, &cols);
    if (st) return lib_error(st, path);
    int64_t len;
    float *w = read_vector(s, "weights", &len);
    if (!w) return lib_error(DC_ERR_NOMEM, path);
    int rc = svg_heatmap(file, "Local representation weights w (rows: clusters)", "cluster",
                         "embedding dimension", w, rows, cols);
    free(w);
    return svg_result(rc, path);
}

static int write_embedding_svg(dc_solver *s, const int32_t *labels, const char *file,
                               const char *path) {
    int64_t rows, cols, len;
    dc_status st = dc_solver_output(s, "embedding", NULL, 0, &rows, &cols);
    if (st) return lib_error(st, path);
    float *z = read_vector(s, "embedding", &len);
    if (!z) return lib_error(DC_ERR_NOMEM, path);
    char title[128];
    snprintf(title, sizeof title, "%s embedding (%lld x %lld)", dc_solver_method(s), (long long)rows,
             (long long)cols);
    int rc = svg_embedding(file, title, z, rows, cols, labels, 5000);
    free(z);
    return svg_result(rc, path);
}

/* Saves the fitted model (pretrained = 0) or its pre-trained autoencoder. */
static int save_solver_model(dc_solver *s, const char *file, const char *path, int pretrained) {
    dc_model *m = NULL;
    dc_status st = pretrained ? dc_solver_pretrained(s, &m) : dc_solver_model(s, &m);
    if (!st) st = dc_model_save(m, file);
    dc_model_free(m);
    return st ? lib_error(st, path) : 0;
}

/* --load-pretrained, --checkpoint and --checkpoint-every (deep methods). */
static int setup_model_options(dc_solver *s, const char *load_pretrained, const char *checkpoint,
                               const char *every) {
    if (load_pretrained) {
        dc_model *ae = NULL;
        dc_status st = dc_model_load(&ae, load_pretrained);
        if (!st) st = dc_solver_use_pretrained(s, ae);
        dc_model_free(ae);
        if (st) return lib_error(st, "--load-pretrained");
    }
    if (every && !checkpoint) return usage_error("--checkpoint-every needs --checkpoint FILE%s", "");
    if (checkpoint) {
        long long n = every ? parse_count(every) : 500;
        if (n < 1) return usage_error("--checkpoint-every takes a number >= 1, got '%s'", every);
        dc_status st = dc_solver_set_checkpoint(s, checkpoint, n);
        if (st) return lib_error(st, "--checkpoint");
    }
    return 0;
}

/* The library's warnings (a regularised graph, fewer distinct clusters than
 * k, an eigensolver fallback): on stderr as they come, unless --quiet, and
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
    if (!g_warnings.quiet) fprintf(stderr, "%s: warning: %s\n", g_prog, message);
    if (g_warnings.n == MAX_WARNINGS) return;
    snprintf(g_warnings.text[g_warnings.n], sizeof g_warnings.text[0], "%s", message);
    g_warnings.list[g_warnings.n] = g_warnings.text[g_warnings.n];
    g_warnings.n++;
}

static void json_warnings(cli_json *j) {
    if (g_warnings.n) json_str_list(j, "warnings", g_warnings.list, g_warnings.n);
}

/* k is required (a resumed fit takes the checkpoint's). */
static int check_k(const dc_solver *s, const char *resume) {
    double k = 0;
    dc_solver_get(s, "k", &k);
    if (k >= 1 || resume) return 0;
    return usage_error("missing --k K (the number of clusters, >= 1)%s", "");
}

/* Ctrl-C during a fit: the handler asks the library to stop the fit
 * (dc_solver_cancel is async-signal-safe) and resets itself, so a second
 * Ctrl-C ends the process at once. */
static dc_solver *volatile g_fitting = NULL;
static volatile sig_atomic_t g_interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
    if (g_fitting) dc_solver_cancel(g_fitting);
}

static void interrupt_begin(dc_solver *s) {
    g_interrupted = 0;
    g_fitting = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* 1 if SIGINT came during the fit. */
static int interrupt_end(void) {
    g_fitting = NULL;
    signal(SIGINT, SIG_DFL);
    return g_interrupted != 0;
}

static int interrupted_exit(dc_status st) {
    fprintf(stderr, "%s: interrupted", g_prog);
    if (st == DC_ERR_CANCELLED) fprintf(stderr, ": %s", dc_last_error());
    fprintf(stderr, "; no output written\n");
    return EXIT_INTERRUPTED;
}

/* The files cluster writes besides the labels, each made from one solver
 * output (NULL: from the deep model). */
typedef struct output_flag {
    const char *flag, *output, *what;
} output_flag;

enum {
    F_EMBEDDING_OUT, F_CENTERS_OUT, F_WEIGHTS_OUT, F_WEIGHTS_SVG, F_TRACE_SVG, F_EMBEDDING_SVG,
    F_SAVE_MODEL, F_SAVE_PRETRAINED, N_OUTPUT_FLAGS
};
static const output_flag output_flags[N_OUTPUT_FLAGS] = {
    [F_EMBEDDING_OUT] = {"embedding-out", "embedding", "embedding"},
    [F_CENTERS_OUT] = {"centers-out", "centers", "centres"},
    [F_WEIGHTS_OUT] = {"weights-out", "weights", "representation weights"},
    [F_WEIGHTS_SVG] = {"weights-svg", "weights", "representation weights"},
    [F_TRACE_SVG] = {"trace-svg", "trace", "trace"},
    [F_EMBEDDING_SVG] = {"embedding-svg", "embedding", "embedding"},
    [F_SAVE_MODEL] = {"save-model", NULL, "deep model"},
    [F_SAVE_PRETRAINED] = {"save-pretrained", NULL, "deep model"},
};

/* Options that need a deep model and write no output of their own. */
enum { D_LOAD_PRETRAINED, D_CHECKPOINT, D_CHECKPOINT_EVERY, D_RESUME, N_DEEP_OPTIONS };
static const char *const deep_options[N_DEEP_OPTIONS] = {
    [D_LOAD_PRETRAINED] = "load-pretrained",
    [D_CHECKPOINT] = "checkpoint",
    [D_CHECKPOINT_EVERY] = "checkpoint-every",
    [D_RESUME] = "resume",
};

static int can_write(const dc_solver *s, const output_flag *f) {
    return f->output ? dc_solver_has_output(s, f->output) : has_deep_model(s);
}

/* "--out, --centers-out, ...": what cluster can write with this solver. */
static void list_writable(const dc_solver *s, char *buf, size_t size) {
    snprintf(buf, size, "--out");
    for (int i = 0; i < N_OUTPUT_FLAGS; i++)
        if (can_write(s, &output_flags[i])) {
            size_t len = strlen(buf);
            snprintf(buf + len, size - len, ", --%s", output_flags[i].flag);
        }
}

/* "edcwrn, idec, dec": the methods with a deep model. */
static void list_deep_methods(char *buf, size_t size) {
    buf[0] = '\0';
    for (int i = 0; i < dc_solver_method_count(); i++) {
        dc_solver *s = NULL;
        if (dc_solver_create(&s, dc_solver_method_name(i)) == DC_OK && has_deep_model(s)) {
            size_t len = strlen(buf);
            snprintf(buf + len, size - len, "%s%s", len ? ", " : "", dc_solver_method_name(i));
        }
        dc_solver_free(s);
    }
}

/* Before any work: every requested output and deep-model option must be one
 * the method serves with the parameters given (paths[i] belongs to
 * output_flags[i], opts[i] to deep_options[i]; NULL: not requested). A
 * missing one is a usage error, so that no training runs for a result that
 * could not be written in full. */
static int check_requests(const dc_solver *s, const char *const *paths, const char *const *opts) {
    const char *method = dc_solver_method(s);
    char have[256], deep[128];
    list_writable(s, have, sizeof have);
    list_deep_methods(deep, sizeof deep);
    for (int i = 0; i < N_DEEP_OPTIONS; i++)
        if (opts[i] && !has_deep_model(s)) {
            fprintf(stderr, "%s: --%s needs a method with a deep model (%s); '%s' has none\n",
                    g_prog, deep_options[i], deep, method);
            return 2;
        }
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) {
        const output_flag *f = &output_flags[i];
        if (!paths[i] || can_write(s, f)) continue;
        /* An output the method has by default is missing because of a
         * parameter (edcwrn's trace with --max-iter 0). */
        dc_solver *def = NULL;
        int by_params = f->output && dc_solver_create(&def, method) == DC_OK &&
                        dc_solver_has_output(def, f->output);
        dc_solver_free(def);
        fprintf(stderr, "%s: method '%s' has no %s for --%s", g_prog, method, f->what, f->flag);
        if (by_params) fprintf(stderr, " with these parameters (see '%s help %s')", g_prog, method);
        fprintf(stderr, "; it can write: %s\n", have);
        return 2;
    }
    return 0;
}

/* After the fit, before the first file: a resumed fit took the checkpoint's
 * parameters, which check_requests could not see. */
static int check_outputs_present(const dc_solver *s, const char *const *paths) {
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) {
        const output_flag *f = &output_flags[i];
        if (!paths[i] || !f->output) continue;
        int64_t rows, cols;
        dc_status st = dc_solver_output(s, f->output, NULL, 0, &rows, &cols);
        if (st) {
            char what[64];
            snprintf(what, sizeof what, "--%s (no file written)", f->flag);
            return lib_error(st, what);
        }
    }
    return 0;
}

/* One of cluster's output files (output_flags[which]) from the fitted
 * solver, among the run's outputs. */
static int write_cluster_output(cli_outputs *files, dc_solver *s, int which, const char *path,
                                const int32_t *pred) {
    const output_flag *f = &output_flags[which];
    const char *tmp = cli_outputs_add(files, f->flag, path);
    if (!tmp) return 1;
    switch (which) {
    case F_TRACE_SVG: return write_trace_svg(s, tmp, path);
    case F_WEIGHTS_SVG: return write_weights_svg(s, tmp, path);
    case F_EMBEDDING_SVG: return write_embedding_svg(s, pred, tmp, path);
    case F_SAVE_MODEL: return save_solver_model(s, tmp, path, 0);
    case F_SAVE_PRETRAINED: return save_solver_model(s, tmp, path, 1);
    default: return write_output(s, f->output, tmp, path);
    }
}

/* Before any work: no output of cluster may name an input or another
 * output. The checkpoint a fit resumes from may also be the one it goes on
 * writing: it is read whole before the first write. */
static int check_cluster_files(args *a, const char *out, const char *const *paths,
                               const char *const *opts) {
    const cli_file inputs[] = {{"data", get(a, "data")},
                               {"labels", get(a, "labels")},
                               {"load-pretrained", opts[D_LOAD_PRETRAINED]},
                               {"resume", opts[D_RESUME]}};
    cli_file outputs[N_OUTPUT_FLAGS + 2];
    int n = 0;
    outputs[n++] = (cli_file){"out", out};
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) outputs[n++] = (cli_file){output_flags[i].flag, paths[i]};
    outputs[n++] = (cli_file){"checkpoint", opts[D_CHECKPOINT]};
    return cli_check_files(inputs, (int)(sizeof inputs / sizeof inputs[0]), outputs, n, "resume",
                           "checkpoint");
}

/* Every output of cluster besides the labels that was asked for. */
static int write_cluster_outputs(cli_outputs *files, dc_solver *s, const char *const *paths,
                                 const int32_t *pred) {
    int rc = 0;
    for (int i = 0; !rc && i < N_OUTPUT_FLAGS; i++)
        if (paths[i]) rc = write_cluster_output(files, s, i, paths[i], pred);
    return rc;
}

/* A fit (or, with a checkpoint to resume, its continuation) under the
 * progress bar, stopped by Ctrl-C (*interrupted then set). */
static dc_status fit_with_progress(dc_solver *s, const dc_dataset *ds, const char *resume,
                                   int show_progress, int *interrupted) {
    progress_state ps;
    progress_init(&ps, show_progress);
    dc_solver_set_progress(s, progress_callback, &ps);
    interrupt_begin(s);
    dc_status st = resume ? dc_solver_resume(s, ds, resume) : dc_solver_fit(s, ds);
    *interrupted = interrupt_end();
    progress_finish(&ps);
    return st;
}

/* cluster --seeds: the seeds, and whether the deep methods pre-train once
 * (shared) or per seed. n = 0: one ordinary run. */
typedef struct seed_plan {
    long long seeds[CLI_MAX_SEEDS];
    int n;
    int shared;
} seed_plan;

/* --seeds and --seeds-pretrain: 0, or 2 after a message. A checkpoint
 * belongs to one fit, so --resume and --checkpoint cannot span seeds. */
static int parse_seed_plan(args *a, const dc_solver *s, const char *const *opts, seed_plan *plan) {
    const char *spec = get(a, "seeds"), *pretrain = get(a, "seeds-pretrain");
    plan->n = 0;
    plan->shared = 0;
    if (!spec) return pretrain ? usage_error("--seeds-pretrain needs --seeds LIST%s", "") : 0;
    if (get(a, "seed")) return usage_error("give either --seed or --seeds, not both%s", "");
    for (int i = D_CHECKPOINT; i <= D_RESUME; i++)
        if (opts[i]) return usage_error("--%s cannot be used with --seeds", deep_options[i]);
    if (pretrain) {
        if (!has_deep_model(s))
            return usage_error("--seeds-pretrain needs a method with a deep model, not '%s'",
                               dc_solver_method(s));
        if (!strcmp(pretrain, "shared")) plan->shared = 1;
        else if (strcmp(pretrain, "per-seed"))
            return usage_error("--seeds-pretrain takes per-seed or shared, got '%s'", pretrain);
    }
    return cli_parse_seeds(spec, plan->seeds, &plan->n);
}

/* Makes the following fits start from the autoencoder the last one
 * pre-trained (--seeds-pretrain shared). */
static int share_pretrained(dc_solver *s) {
    dc_model *ae = NULL;
    dc_status st = dc_solver_pretrained(s, &ae);
    if (!st) st = dc_solver_use_pretrained(s, ae);
    dc_model_free(ae);
    return st ? lib_error(st, "--seeds-pretrain shared") : 0;
}

/* cluster --seeds: one fit per seed, on the same solver and data. The files
 * are the first seed's, written as temporaries after its fit and committed
 * once every seed succeeded; the JSON is assembled in memory and printed
 * last, so that a failing seed leaves neither files nor a partial object. */
static int run_seeds(dc_solver *s, const dc_dataset *ds, const seed_plan *plan, const char *out,
                     const char *const *paths, const cli_noise *nz, int json, int quiet,
                     int show_progress) {
    const char *method = dc_solver_method(s);
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    const int32_t *truth = dc_dataset_labels(ds);
    const int deep = has_deep_model(s);
    double k = 0;
    dc_solver_get(s, "k", &k);
    cli_seed_runs *runs = calloc(1, sizeof *runs);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n);
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    cli_outputs files;
    cli_outputs_init(&files);
    int rc = 0;
    if (!runs || !pred || !mem) {
        rc = lib_error(DC_ERR_NOMEM, "--seeds");
        goto done;
    }
    runs->scored = truth != NULL;
    cli_json j, arr;
    json_begin(&j, mem);
    json_str(&j, "method", method);
    json_int(&j, "n", n);
    json_int(&j, "d", d);
    json_int(&j, "k", (long long)k);
    if (deep) json_str(&j, "seeds_pretrain", plan->shared ? "shared" : "per-seed");
    cli_noise_json(&j, nz);
    json_begin_array(&j, "runs", &arr);
    for (int i = 0; i < plan->n; i++) {
        const long long seed = plan->seeds[i];
        dc_status st = dc_solver_set(s, "seed", (double)seed);
        int interrupted = 0;
        if (!st) st = fit_with_progress(s, ds, NULL, show_progress, &interrupted);
        if (interrupted) {
            rc = interrupted_exit(st);
            goto done;
        }
        if (st) {
            char what[96];
            snprintf(what, sizeof what, "%s (seed %lld)", method, seed);
            rc = lib_error(st, what);
            goto done;
        }
        if (i == 0 && deep && plan->shared && (rc = share_pretrained(s))) goto done;
        dc_solver_labels(s, pred, n, NULL);
        metrics mt = {0};
        if (i == 0) {
            rc = check_outputs_present(s, paths);
            if (!rc) rc = score_and_write(truth, pred, n, &files, out, &mt);
            if (!rc) rc = write_cluster_outputs(&files, s, paths, pred);
        } else if (truth) {
            rc = compute_metrics(truth, pred, n, &mt);
        }
        if (rc) goto done;
        double seconds = 0;
        dc_solver_stat(s, "seconds", &seconds);
        double *v = runs->v[runs->n++];
        v[CLI_SEED_ACC] = mt.acc;
        v[CLI_SEED_NMI] = mt.nmi;
        v[CLI_SEED_ARI] = mt.ari;
        v[CLI_SEED_F1] = mt.f1;
        v[CLI_SEED_SECONDS] = seconds;
        cli_json run;
        json_array_object(&arr, &run);
        json_run_keys(&run, method, n, d, (long long)k, seed, seconds);
        if (truth) json_metrics(&run, &mt);
        json_solver_stats(&run, s);
        json_end_object(&run);
        if (!quiet) {
            fprintf(stderr, "seed %lld: %.3f s%s", seed, seconds, truth ? "  " : "\n");
            if (truth) print_metrics(&mt);
        }
    }
    json_end_array(&arr);
    cli_seed_json(&j, runs);
    if (out) json_str(&j, "out", out);
    json_end(&j);
    if ((rc = cli_outputs_commit(&files))) goto done;
    if (fflush(mem) == 0 && json) {
        fwrite(text, 1, text_len, stdout);
        fflush(stdout);
    }
    if (!quiet) {
        fprintf(stderr, "%s: n=%lld d=%lld k=%lld, ", method, (long long)n, (long long)d,
                (long long)k);
        cli_seed_print(stderr, runs);
        if (out) fprintf(stderr, "labels of seed %lld written to %s\n", plan->seeds[0], out);
    }
done:
    cli_outputs_discard(&files);
    if (mem) fclose(mem);
    free(text);
    free(pred);
    free(runs);
    return rc;
}

static int cmd_cluster(args *a, int json) {
    const char *method = get(a, "method");
    if (!method) return usage_error("missing --method (one of: kmeans%s ...; see 'deepclust methods')", "");
    dc_solver *s = NULL;
    dc_status st = dc_solver_create(&s, method);
    if (st) return usage_lib_error(st, "--method");

    const char *out = get(a, "out");
    const char *paths[N_OUTPUT_FLAGS], *opts[N_DEEP_OPTIONS];
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) paths[i] = get(a, output_flags[i].flag);
    for (int i = 0; i < N_DEEP_OPTIONS; i++) opts[i] = get(a, deep_options[i]);
    int quiet = has(a, "quiet"), progress = has(a, "progress");
    int show_progress = !quiet && (progress || isatty(STDERR_FILENO));
    g_warnings.quiet = quiet;
    dc_set_log(on_log, NULL, DC_LOG_WARN);

    dc_dataset *ds = NULL;
    seed_plan *plan = calloc(1, sizeof *plan);
    if (!plan) {
        dc_solver_free(s);
        return lib_error(DC_ERR_NOMEM, "--seeds");
    }
    cli_noise nz;
    int rc = check_cluster_files(a, out, paths, opts);
    if (!rc) rc = parse_seed_plan(a, s, opts, plan);
    if (!rc) rc = cli_noise_parse(get(a, "noise"), get(a, "noise-seed"), &nz);
    if (!rc) rc = load_data(a, &ds, 1);
    if (!rc) rc = cli_noise_apply(&nz, ds);
    if (rc) goto done;
    if ((rc = apply_params(a, s))) goto done;
    if ((rc = check_k(s, opts[D_RESUME]))) goto done;
    if ((rc = check_requests(s, paths, opts))) goto done;
    if ((rc = setup_model_options(s, opts[D_LOAD_PRETRAINED], opts[D_CHECKPOINT],
                                  opts[D_CHECKPOINT_EVERY])))
        goto done;
    if (plan->n) {
        rc = run_seeds(s, ds, plan, out, paths, &nz, json, quiet, show_progress);
        goto done;
    }

    int interrupted = 0;
    st = fit_with_progress(s, ds, opts[D_RESUME], show_progress, &interrupted);
    if (interrupted) {
        /* Whatever the fit returned: the user asked to stop, so no output. */
        rc = interrupted_exit(st);
        goto done;
    }
    if (st) {
        rc = lib_error(st, method);
        goto done;
    }
    if ((rc = check_outputs_present(s, paths))) goto done;
    double k = 0, seed = 0; /* after the fit: a resumed one has the checkpoint's */
    dc_solver_get(s, "k", &k);
    dc_solver_get(s, "seed", &seed);

    int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n);
    if (!pred) {
        rc = lib_error(DC_ERR_NOMEM, "labels");
        goto done;
    }
    dc_solver_labels(s, pred, n, NULL);

    metrics mt;
    const int32_t *truth = dc_dataset_labels(ds);
    /* Files only after everything succeeded, and all of them or none. */
    cli_outputs files;
    cli_outputs_init(&files);
    rc = score_and_write(truth, pred, n, &files, out, &mt);
    if (!rc) rc = write_cluster_outputs(&files, s, paths, pred);
    if (rc) cli_outputs_discard(&files);
    else rc = cli_outputs_commit(&files);
    if (rc) goto free_pred;

    double seconds = 0;
    dc_solver_stat(s, "seconds", &seconds);
    if (json) {
        cli_json j;
        json_run(&j, json_stream(out), dc_solver_method(s), n, d, (long long)k, (long long)seed,
                 seconds);
        if (truth) json_metrics(&j, &mt);
        cli_noise_json(&j, &nz);
        json_solver_stats(&j, s);
        if (out) json_str(&j, "out", out);
        json_warnings(&j);
        json_end(&j);
    }
    if (!quiet) {
        fprintf(stderr, "%s: n=%lld d=%lld k=%lld in %.3f s\n", dc_solver_method(s), (long long)n,
                (long long)d, (long long)k, seconds);
        if (truth) print_metrics(&mt);
        if (out) fprintf(stderr, "labels written to %s\n", is_stdio(out) ? "stdout" : out);
    }
free_pred:
    free(pred);
done:
    free(plan);
    dc_dataset_free(ds);
    dc_solver_free(s);
    return rc;
}

/* Every option must have been understood by the command. */
static int check_unused(args *a, const char *cmd) {
    for (int i = 0; i < a->n; i++)
        if (!a->o[i].used) {
            fprintf(stderr, "%s: unknown option --%s for '%s' (see '%s --help')\n", g_prog, a->o[i].key,
                    cmd, g_prog);
            return 2;
        }
    return 0;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* predict's --normalize. A model that records how its training data were
 * normalised gets the raw data normalised with the TRAINING statistics
 * (no --normalize, or the model's mode); "none" passes the data as given;
 * another mode would feed the model data unlike its training data. Without
 * a record the option normalises with the data's own statistics, as for
 * cluster. *source: "model", "data" or "none". */
static int normalize_for_model(const dc_model *m, dc_dataset *ds, const char *opt,
                               const char **source) {
    dc_normalization want = DC_NORM_NONE, trained = dc_model_normalization(m);
    dc_status st = opt ? dc_normalization_from_name(opt, &want) : DC_OK;
    if (st) return usage_lib_error(st, "--normalize");
    if (trained == DC_NORM_NONE || (opt && want == DC_NORM_NONE)) {
        *source = want == DC_NORM_NONE ? "none" : "data";
        st = dc_dataset_normalize(ds, want);
        return st ? lib_error(st, "--normalize") : 0;
    }
    if (opt && want != trained) {
        fprintf(stderr, "%s: error: --normalize %s: the model's training data were normalised "
                "with %s; predict applies those statistics without --normalize (or with "
                "--normalize %s), --normalize none uses the data as given\n", g_prog,
                dc_normalization_name(want), dc_normalization_name(trained),
                dc_normalization_name(trained));
        return 1;
    }
    *source = "model";
    st = dc_model_apply_normalization(m, ds);
    return st ? lib_error(st, "--data") : 0;
}

static int cmd_predict(args *a, int json) {
    const char *model_path = get(a, "model");
    if (!model_path) return usage_error("predict needs --model FILE%s", "");
    const char *out = get(a, "out");
    const char *embedding_out = get(a, "embedding-out");
    int quiet = has(a, "quiet");
    dc_model *m = NULL;
    dc_dataset *ds = NULL;
    int32_t *pred = NULL;
    float *z = NULL;
    cli_outputs files;
    cli_outputs_init(&files);
    const cli_file inputs[] = {{"model", model_path}, {"data", get(a, "data")},
                               {"labels", get(a, "labels")}};
    const cli_file outputs[] = {{"out", out}, {"embedding-out", embedding_out}};
    int rc = cli_check_files(inputs, 3, outputs, 2, NULL, NULL);
    cli_noise nz;
    if (!rc) rc = cli_noise_parse(get(a, "noise"), get(a, "noise-seed"), &nz);
    if (!rc) rc = load_data(a, &ds, 0);
    const char *norm = get(a, "normalize"), *norm_source = "none";
    if (rc || (rc = check_unused(a, "predict"))) goto done;
    dc_status st = dc_model_load(&m, model_path);
    if (st) {
        rc = lib_error(st, "--model");
        goto done;
    }
    if ((rc = normalize_for_model(m, ds, norm, &norm_source))) goto done;
    if ((rc = cli_noise_apply(&nz, ds))) goto done;
    int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    pred = malloc(sizeof(int32_t) * (size_t)n);
    if (!pred) {
        rc = lib_error(DC_ERR_NOMEM, "labels");
        goto done;
    }
    double t0 = wall_seconds();
    st = dc_model_predict(m, ds, pred, n);
    double seconds = wall_seconds() - t0;
    if (st) {
        rc = lib_error(st, "predict");
        goto done;
    }
    metrics mt;
    const int32_t *truth = dc_dataset_labels(ds);
    if ((rc = score_and_write(truth, pred, n, &files, out, &mt))) goto done;
    if (embedding_out) {
        int64_t md = dc_model_embed_dim(m);
        z = malloc(sizeof(float) * (size_t)(n * md));
        const char *tmp = z ? cli_outputs_add(&files, "embedding-out", embedding_out) : NULL;
        if (!tmp) {
            rc = z ? 1 : lib_error(DC_ERR_NOMEM, embedding_out);
            goto done;
        }
        if ((st = dc_model_embed(m, ds, z, n * md)) || (st = dc_write_matrix(tmp, z, n, md, DC_FORMAT_AUTO))) {
            rc = lib_error(st, embedding_out);
            goto done;
        }
    }
    if ((rc = cli_outputs_commit(&files))) goto done;
    double seed = 0;
    dc_model_get(m, "seed", &seed);
    if (json) {
        cli_json j;
        json_run(&j, json_stream(out), dc_model_method(m), n, d, dc_model_k(m), (long long)seed,
                 seconds);
        if (truth) json_metrics(&j, &mt);
        json_str(&j, "model", model_path);
        json_str(&j, "normalization", dc_normalization_name(dc_dataset_normalization(ds)));
        json_str(&j, "normalization_source", norm_source);
        cli_noise_json(&j, &nz);
        if (out) json_str(&j, "out", out);
        json_end(&j);
    }
    if (!quiet) {
        fprintf(stderr, "predict (%s model): n=%lld d=%lld k=%lld in %.3f s\n", dc_model_method(m),
                (long long)n, (long long)d, (long long)dc_model_k(m), seconds);
        if (truth) print_metrics(&mt);
    }
done:
    cli_outputs_discard(&files);
    free(z);
    free(pred);
    dc_model_free(m);
    dc_dataset_free(ds);
    return rc;
}

/* The container kind from a file's first bytes (docs/formats.md):
 * "model", "checkpoint", or NULL for anything else (a data file). */
static const char *model_file_kind(const char *path) {
    /* Reading a pipe would consume what the data reader needs. */
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return NULL;
    unsigned char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got == sizeof magic && !memcmp(magic, "DCMODEL\0", 8)) return "model";
    if (got == sizeof magic && !memcmp(magic, "DCCKPT\0\0", 8)) return "checkpoint";
    return NULL;
}

/* info on a model or checkpoint file: what predict and resume will find. */
static int info_model(const char *path, const char *kind, int json) {
    dc_model *m = NULL;
    dc_status st = dc_model_load(&m, path);
    if (st) return lib_error(st, path);
    const char *what = dc_model_is_autoencoder(m) ? "autoencoder" : "clustering";
    const char *norm = dc_normalization_name(dc_model_normalization(m));
    double hidden[3] = {0, 0, 0}, seed = 0;
    static const char *const names[3] = {"hidden1", "hidden2", "hidden3"};
    for (int i = 0; i < 3; i++) dc_model_get(m, names[i], &hidden[i]);
    dc_model_get(m, "seed", &seed);
    const int64_t rows = dc_model_train_rows(m), d = dc_model_input_dim(m);
    if (json) {
        cli_json j;
        json_begin(&j, stdout);
        json_str(&j, "path", path);
        json_str(&j, "file", kind);
        json_str(&j, "method", dc_model_method(m));
        json_str(&j, "model", what);
        json_int(&j, "input_dim", d);
        for (int i = 0; i < 3; i++) json_int(&j, names[i], (long long)hidden[i]);
        json_int(&j, "embed_dim", dc_model_embed_dim(m));
        json_int(&j, "k", dc_model_k(m));
        json_str(&j, "normalization", norm);
        if (rows > 0) json_int(&j, "train_rows", rows);
        json_int(&j, "train_cols", d);
        json_int(&j, "seed", (long long)seed);
        json_end(&j);
    } else {
        printf("%s: %s %s (%s)\n", path, dc_model_method(m), what, kind);
        printf("layers: %lld", (long long)d);
        for (int i = 0; i < 3; i++)
            if (hidden[i] > 0) printf(" -> %.0f", hidden[i]);
        printf(" -> %lld (embedding)\n", (long long)dc_model_embed_dim(m));
        if (!dc_model_is_autoencoder(m)) printf("clusters: k = %lld\n", (long long)dc_model_k(m));
        printf("normalisation of the training data: %s\n", norm);
        if (rows > 0) printf("training data: %lld rows x %lld columns\n", (long long)rows, (long long)d);
        else printf("training data: %lld columns (rows not recorded)\n", (long long)d);
        printf("seed: %.0f\n", seed);
    }
    dc_model_free(m);
    return 0;
}

static int cmd_info(args *a, int json) {
    if (a->n_pos != 1) return usage_error("info takes exactly one PATH%s", "");
    const char *path = a->positional[0];
    dc_load_options lo;
    dc_load_options_default(&lo);
    if (parse_format(get(a, "format"), &lo.format)) return 2;
    int rc = check_unused(a, "info");
    if (rc) return rc;
    const char *kind = is_stdio(path) ? NULL : model_file_kind(path);
    if (kind) return info_model(path, kind, json);
    path = stdin_path(path, &lo.format);
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, path, &lo);
    if (st) return lib_error(st, path);
    int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds), h, w, c;
    int img = dc_dataset_image_shape(ds, &h, &w, &c);
    const float *x = dc_dataset_data(ds);
    double lo_v = INFINITY, hi_v = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n * d; i++) {
        double v = x[i];
        lo_v = v < lo_v ? v : lo_v;
        hi_v = v > hi_v ? v : hi_v;
        sum += v;
    }
    if (json) {
        cli_json j;
        json_begin(&j, stdout);
        json_str(&j, "path", path);
        json_int(&j, "n", n);
        json_int(&j, "d", d);
        if (img) {
            json_int(&j, "height", h);
            json_int(&j, "width", w);
            json_int(&j, "channels", c);
        }
        json_num(&j, "min", lo_v);
        json_num(&j, "max", hi_v);
        json_num(&j, "mean", sum / (double)(n * d));
        json_end(&j);
    } else {
        printf("%s: %lld rows x %lld columns (float32)\n", path, (long long)n, (long long)d);
        if (img) printf("image shape: %lld x %lld x %lld\n", (long long)h, (long long)w, (long long)c);
        printf("values: min %g, max %g, mean %g\n", lo_v, hi_v, sum / (double)(n * d));
    }
    dc_dataset_free(ds);
    return 0;
}

static void print_method_params(const char *method) {
    dc_solver *s;
    if (dc_solver_create(&s, method)) return;
    printf("%s parameters (--name value, or --param name=value):\n", method);
    for (int i = 0; i < dc_solver_param_count(s); i++) {
        const char *name = dc_solver_param_name(s, i);
        dc_param_type t;
        double def, lo, hi;
        dc_solver_param_info(s, name, &t, &def, &lo, &hi);
        char flag[128];
        snprintf(flag, sizeof flag, "%s", name);
        for (char *c = flag; *c; c++)
            if (*c == '_') *c = '-';
        const char *choices = dc_solver_param_choices(s, name);
        if (t == DC_PARAM_CHOICE) {
            /* The default is an index into the choices. */
            char buf[256];
            snprintf(buf, sizeof buf, "%s", choices);
            char *tok = strtok(buf, "|");
            for (int j = 0; tok && j < (int)def; j++) tok = strtok(NULL, "|");
            printf("  --%-18s %s (default %s; one of %s)\n", flag, dc_solver_param_help(s, name),
                   tok ? tok : "?", choices);
        } else if (t == DC_PARAM_BOOL) {
            printf("  --%-18s %s (default %s)\n", flag, dc_solver_param_help(s, name), def ? "true" : "false");
        } else {
            int lo_open = 0, hi_open = 0;
            dc_solver_param_bounds(s, name, &lo, &lo_open, &hi, &hi_open);
            printf("  --%-18s %s (default %g, range %c%g, %g%c)\n", flag,
                   dc_solver_param_help(s, name), def, lo_open ? '(' : '[', lo, hi,
                   hi_open ? ')' : ']');
        }
    }
    dc_solver_free(s);
}

static void print_help(void) {
    printf("deepclust %s -- deep and spectral clustering (libdeepclust)\n\n", dc_version_string());
    printf("usage:\n"
           "  deepclust cluster --method M --data PATH --k K [options]\n"
           "  deepclust predict --model FILE --data PATH [--labels PATH] [--normalize MODE]\n"
           "                    [--out FILE] [--json]\n"
           "  deepclust info PATH [--format F] [--json]   a data, model or checkpoint file\n"
           "  deepclust segment --image IN.png --k K [options]  (see below)\n"
           "  deepclust methods                 list the methods\n"
           "  deepclust help METHOD             list a method's parameters\n"
           "  deepclust --version\n\n"
           "cluster options:\n"
           "  --data PATH           .csv/.tsv/.txt, .npy, IDX (-ubyte, .idx), optionally .gz;\n"
           "                        - = standard input, in --format (default csv)\n"
           "  --format F            csv|npy|idx|auto (default auto: by extension)\n"
           "  --labels PATH         true labels (IDX, .npy, or one integer per line)\n"
           "  --label-column N|last CSV column holding the true labels\n"
           "  --header yes|no|auto  CSV header line (default auto)\n"
           "  --image-shape HxW[xC] image shape for non-IDX data\n"
           "  --normalize MODE      none|scale255|minmax|zscore (default none)\n"
           "  --k K                 number of clusters\n"
           "  --seed S              random seed (default 0)\n"
           "  --out FILE            write labels (.csv or .npy); only on success; - = stdout\n"
           "                        (one label per line; --json then goes to stderr)\n"
           "  --embedding-out FILE  write the method's embedding (.csv or .npy)\n"
           "  --centers-out FILE    write the centres (.csv or .npy)\n"
           "  --trace-svg FILE      SVG chart of the trace: scdbas best fitness per search\n"
           "                        iteration; deep methods fraction of labels changed per\n"
           "                        target update\n"
           "  --embedding-svg FILE  SVG scatter of the embedding's two principal axes, by cluster\n"
           "  --weights-out FILE    representation weights k x embed_dim (deep methods; all\n"
           "                        ones for idec and dec; .csv or .npy)\n"
           "  --weights-svg FILE    SVG heat map of the representation weights (edcwrn)\n"
           "  --json                one JSON object on stdout (method, n, d, k, seed, seconds,\n"
           "                        acc, nmi, ari, f1 when labels are known, phases, stats)\n"
           "  --threads N           BLAS threads (default: OpenBLAS's choice)\n"
           "  --fast-blas           run with OPENBLAS_CORETYPE=SkylakeX (re-executes itself;\n"
           "                        ignored with a warning on CPUs without AVX-512)\n"
           "  --noise KIND:LEVEL    add noise after --normalize (EDCWRN 5.6), clipped to the\n"
           "                        data's range: gaussian:VARIANCE, saltpepper:DENSITY (in\n"
           "                        [0, 1]) or speckle:VARIANCE; also for predict\n"
           "  --noise-seed S        seed of the noise (default 0; independent of --seed)\n"
           "  --seeds LIST          one run per seed (0,1,2 or 0-4 or 0-2,7); the JSON has\n"
           "                        runs (one object per seed) and mean and sd (sample) of\n"
           "                        acc, nmi, ari, f1, seconds. The files (--out, ...) are\n"
           "                        the first seed's. Not with --seed, --checkpoint, --resume\n"
           "  --seeds-pretrain per-seed|shared  deep methods with --seeds: pre-train for\n"
           "                        every seed (default: each run equals --seed S alone), or\n"
           "                        once with the first seed and reuse that autoencoder\n"
           "  --progress            progress on stderr even when it is not a terminal\n"
           "  --quiet               no human output on stderr\n"
           "  --NAME VALUE          any method parameter (see 'deepclust help METHOD')\n"
           "  An output the method does not give (kmeans: --embedding-out), or a path\n"
           "  that names an input or another output (same file, links resolved), is\n"
           "  refused before the clustering starts (exit 2, nothing written). Outputs\n"
           "  appear together once all are written, or none (a failed run changes no\n"
           "  file; --checkpoint, written during the fit, stays for --resume).\n\n"
           "deep methods (edcwrn, idec, dec; other methods: exit 2):\n"
           "  --save-model FILE     save the trained model (for 'deepclust predict')\n"
           "  --save-pretrained FILE  save the pre-trained autoencoder\n"
           "  --load-pretrained FILE  start from a saved autoencoder instead of pre-training\n"
           "  --checkpoint FILE     write the training state there (atomically) ...\n"
           "  --checkpoint-every N  ... every N clustering iterations (default 500)\n"
           "  --resume FILE         continue the fit saved in a checkpoint (same data) with\n"
           "                        the checkpoint's parameters; the result equals that of an\n"
           "                        uninterrupted run. A fit that finished writes a final\n"
           "                        checkpoint: --max-iter N continues it to N iterations,\n"
           "                        --tol may be lowered; other method options must match\n"
           "                        the checkpoint's values (else exit 1)\n\n"

           "predict options: --model FILE (a --save-model file or a checkpoint), --data,\n"
           "  --labels/--label-column as for cluster, --out, --embedding-out, --json,\n"
           "  --noise/--noise-seed as for cluster (after the model's normalisation).\n"
           "  --normalize MODE: a model trained on normalised data (cluster --normalize)\n"
           "  records the training statistics and applies them to the raw --data by\n"
           "  default (minmax/zscore of new data use the TRAINING min/max or mean/std);\n"
           "  --normalize with the model's mode does the same, none uses the data as\n"
           "  given, another mode is an error. Models without a record (older files,\n"
           "  raw training data): --normalize normalises with the data's own statistics.\n"
           "  The JSON adds normalization (the mode applied) and normalization_source\n"
           "  (model, data or none).\n\n"
           );
    cli_segment_help(stdout);
    printf("\n"
           "NMI is printed with sqrt normalisation (EDCWRN paper Eq. 17); the JSON also has\n"
           "nmi_arithmetic (scikit-learn's default).\n\n"
           "Ctrl-C stops a fit at its next check (a deep fit with --checkpoint first writes\n"
           "its state there, for --resume) and writes no output file.\n\n"
           "exit status:\n"
           "  0    success\n"
           "  1    runtime error: unreadable or invalid data or model file, a fit that\n"
           "       failed (k larger than n, diverged, ...), an output that cannot be written\n"
           "  2    usage error: unknown command, method or option, a missing or invalid\n"
           "       value (--k included), an output the method does not give\n"
           "  130  interrupted (Ctrl-C) during the fit\n");
}

/* OpenBLAS reads OPENBLAS_CORETYPE when it is loaded, so the only honest way
 * to apply it is to re-execute with it set (never behind the user's back). */
static void maybe_reexec_fast_blas(int argc, char **argv) {
    int want = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--fast-blas")) want = 1;
    if (!want || getenv("OPENBLAS_CORETYPE")) return;
    /* SkylakeX kernels are AVX-512: on a CPU without it they die with SIGILL. */
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "%s: --fast-blas: this CPU has no AVX-512; keeping OpenBLAS's default kernels\n", g_prog);
        return;
    }
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    execv("/proc/self/exe", argv);
    /* Not fatal: continue with OpenBLAS's default kernels. */
    fprintf(stderr, "%s: --fast-blas: cannot re-execute (%s); continuing\n", g_prog, strerror(errno));
}

int main(int argc, char **argv) {
    maybe_reexec_fast_blas(argc, argv);
    if (argc < 2) {
        print_help();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help();
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("deepclust %s\n", dc_version_string());
        return 0;
    }
    if (!strcmp(cmd, "methods")) {
        for (int i = 0; i < dc_solver_method_count(); i++) printf("%s\n", dc_solver_method_name(i));
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            print_help();
            return 0;
        }
        dc_solver *s;
        if (dc_solver_create(&s, argv[2])) return usage_lib_error(DC_ERR_UNKNOWN_NAME, argv[2]);
        dc_solver_free(s);
        print_method_params(argv[2]);
        return 0;
    }
    if (!strcmp(cmd, "segment")) return cli_segment(argc - 2, argv + 2);
    args a;
    if (parse_args(&a, argc, argv, 2)) return 2;
    if (has(&a, "help")) {
        print_help();
        return 0;
    }
    int json = has(&a, "json");
    has(&a, "fast-blas");
    const char *threads = get(&a, "threads");
    if (threads) {
        long long t = parse_count(threads);
        if (t < 1 || t > 4096) return usage_error("--threads takes a number >= 1, got '%s'", threads);
        dc_set_threads((int)t);
    }
    if (!strcmp(cmd, "cluster")) {
        if (a.n_pos) return usage_error("unexpected argument '%s'", a.positional[0]);
        return cmd_cluster(&a, json);
    }
    if (!strcmp(cmd, "predict")) {
        if (a.n_pos) return usage_error("unexpected argument '%s'", a.positional[0]);
        return cmd_predict(&a, json);
    }
    if (!strcmp(cmd, "info")) return cmd_info(&a, json);
    return usage_error("unknown command '%s' (cluster, predict, info, segment, methods, help)", cmd);
}
