/* cluster's output files and deep-model options (cli_cluster_outputs.h). */
#include "cli_cluster_outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_svg.h"

/* The file writers below write `file` (a temporary of the run's outputs)
 * and name `path`, the output it becomes, in their messages. */

/* Writes a named solver output matrix to a .csv/.npy file. */
static int write_output(dc_solver *s, const char *name, const char *file, const char *path) {
    int64_t rows, cols;
    dc_status st = dc_solver_output(s, name, NULL, 0, &rows, &cols);
    if (st) return cli_lib_error(st, path);
    float *buf = malloc(sizeof(float) * (size_t)(rows * cols > 0 ? rows * cols : 1));
    if (!buf) return cli_lib_error(DC_ERR_NOMEM, path);
    st = dc_solver_output(s, name, buf, rows * cols, &rows, &cols);
    if (!st) st = dc_write_matrix(file, buf, rows, cols, DC_FORMAT_AUTO);
    free(buf);
    return st ? cli_lib_error(st, path) : 0;
}

/* The exit code of an SVG writer's result (-1 with errno: a message). */
static int svg_result(int rc, const char *path) {
    if (rc) fprintf(stderr, "%s: cannot write %s: %s\n", CLI_PROG, path, strerror(errno));
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

int cli_has_deep_model(const dc_solver *s) {
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
    if (!t1) return cli_lib_error(DC_ERR_NOMEM, path); /* present: checked before the fit */
    int rc;
    if (cli_has_deep_model(s)) {
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
    if (st) return cli_lib_error(st, path);
    int64_t len;
    float *w = read_vector(s, "weights", &len);
    if (!w) return cli_lib_error(DC_ERR_NOMEM, path);
    int rc = svg_heatmap(file, "Local representation weights w (rows: clusters)", "cluster",
                         "embedding dimension", w, rows, cols);
    free(w);
    return svg_result(rc, path);
}

static int write_embedding_svg(dc_solver *s, const int32_t *labels, const char *file,
                               const char *path) {
    int64_t rows, cols, len;
    dc_status st = dc_solver_output(s, "embedding", NULL, 0, &rows, &cols);
    if (st) return cli_lib_error(st, path);
    float *z = read_vector(s, "embedding", &len);
    if (!z) return cli_lib_error(DC_ERR_NOMEM, path);
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
    return st ? cli_lib_error(st, path) : 0;
}

const cli_output_flag cli_output_flags[N_OUTPUT_FLAGS] = {
    [F_EMBEDDING_OUT] = {"embedding-out", "embedding", "embedding"},
    [F_CENTERS_OUT] = {"centers-out", "centers", "centres"},
    [F_WEIGHTS_OUT] = {"weights-out", "weights", "representation weights"},
    [F_WEIGHTS_SVG] = {"weights-svg", "weights", "representation weights"},
    [F_TRACE_SVG] = {"trace-svg", "trace", "trace"},
    [F_EMBEDDING_SVG] = {"embedding-svg", "embedding", "embedding"},
    [F_SAVE_MODEL] = {"save-model", NULL, "deep model"},
    [F_SAVE_PRETRAINED] = {"save-pretrained", NULL, "deep model"},
};

const char *const cli_deep_options[N_DEEP_OPTIONS] = {
    [D_LOAD_PRETRAINED] = "load-pretrained",
    [D_CHECKPOINT] = "checkpoint",
    [D_CHECKPOINT_EVERY] = "checkpoint-every",
    [D_RESUME] = "resume",
};

static int can_write(const dc_solver *s, const cli_output_flag *f) {
    return f->output ? dc_solver_has_output(s, f->output) : cli_has_deep_model(s);
}

/* "--out, --centers-out, ...": what cluster can write with this solver. */
static void list_writable(const dc_solver *s, char *buf, size_t size) {
    snprintf(buf, size, "--out");
    for (int i = 0; i < N_OUTPUT_FLAGS; i++)
        if (can_write(s, &cli_output_flags[i])) {
            size_t len = strlen(buf);
            snprintf(buf + len, size - len, ", --%s", cli_output_flags[i].flag);
        }
}

/* "edcwrn, idec, dec": the methods with a deep model. */
static void list_deep_methods(char *buf, size_t size) {
    buf[0] = '\0';
    for (int i = 0; i < dc_solver_method_count(); i++) {
        dc_solver *s = NULL;
        if (dc_solver_create(&s, dc_solver_method_name(i)) == DC_OK && cli_has_deep_model(s)) {
            size_t len = strlen(buf);
            snprintf(buf + len, size - len, "%s%s", len ? ", " : "", dc_solver_method_name(i));
        }
        dc_solver_free(s);
    }
}

int cli_check_requests(const dc_solver *s, const char *const *paths, const char *const *opts) {
    const char *method = dc_solver_method(s);
    char have[256], deep[128];
    list_writable(s, have, sizeof have);
    list_deep_methods(deep, sizeof deep);
    for (int i = 0; i < N_DEEP_OPTIONS; i++)
        if (opts[i] && !cli_has_deep_model(s)) {
            fprintf(stderr, "%s: --%s needs a method with a deep model (%s); '%s' has none\n",
                    CLI_PROG, cli_deep_options[i], deep, method);
            return 2;
        }
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) {
        const cli_output_flag *f = &cli_output_flags[i];
        if (!paths[i] || can_write(s, f)) continue;
        /* An output the method has by default is missing because of a
         * parameter (edcwrn's trace with --max-iter 0). */
        dc_solver *def = NULL;
        int by_params = f->output && dc_solver_create(&def, method) == DC_OK &&
                        dc_solver_has_output(def, f->output);
        dc_solver_free(def);
        fprintf(stderr, "%s: method '%s' has no %s for --%s", CLI_PROG, method, f->what, f->flag);
        if (by_params) fprintf(stderr, " with these parameters (see '%s help %s')", CLI_PROG, method);
        fprintf(stderr, "; it can write: %s\n", have);
        return 2;
    }
    return 0;
}

int cli_check_outputs_present(const dc_solver *s, const char *const *paths) {
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) {
        const cli_output_flag *f = &cli_output_flags[i];
        if (!paths[i] || !f->output) continue;
        int64_t rows, cols;
        dc_status st = dc_solver_output(s, f->output, NULL, 0, &rows, &cols);
        if (st) {
            char what[64];
            snprintf(what, sizeof what, "--%s (no file written)", f->flag);
            return cli_lib_error(st, what);
        }
    }
    return 0;
}

/* One of cluster's output files (cli_output_flags[which]) from the fitted
 * solver, among the run's outputs. */
static int write_cluster_output(cli_outputs *files, dc_solver *s, int which, const char *path,
                                const int32_t *pred) {
    const cli_output_flag *f = &cli_output_flags[which];
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

int cli_check_cluster_files(cli_args *a, const char *out, const char *const *paths,
                            const char *const *opts) {
    const cli_file inputs[] = {{"data", cli_get(a, "data"), 0},
                               {"labels", cli_get(a, "labels"), 0},
                               {"load-pretrained", opts[D_LOAD_PRETRAINED], 0},
                               {"resume", opts[D_RESUME], 0}};
    cli_file outputs[N_OUTPUT_FLAGS + 2];
    int n = 0;
    outputs[n++] = (cli_file){"out", out, 0};
    for (int i = 0; i < N_OUTPUT_FLAGS; i++)
        outputs[n++] = (cli_file){cli_output_flags[i].flag, paths[i], 0};
    outputs[n++] = (cli_file){"checkpoint", opts[D_CHECKPOINT], 0};
    return cli_check_files(inputs, (int)(sizeof inputs / sizeof inputs[0]), outputs, n, "resume",
                           "checkpoint");
}

int cli_write_cluster_outputs(cli_outputs *files, dc_solver *s, const char *const *paths,
                              const int32_t *pred) {
    int rc = 0;
    for (int i = 0; !rc && i < N_OUTPUT_FLAGS; i++)
        if (paths[i]) rc = write_cluster_output(files, s, i, paths[i], pred);
    return rc;
}
