/* deepclust info PATH: the shape and value range of a data file, or the
 * method, layers, k and normalisation of a model or checkpoint. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <deepclust.h>

#include "cli_common.h"
#include "cli_json.h"

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
    if (st) return cli_lib_error(st, path);
    const char *what = dc_model_is_autoencoder(m) ? "autoencoder" : "clustering";
    const char *norm = dc_normalization_name(dc_model_normalization(m));
    double hidden[3] = {0, 0, 0}, seed = 0;
    static const char *const names[3] = {"hidden1", "hidden2", "hidden3"};
    for (int i = 0; i < 3; i++) dc_model_get(m, names[i], &hidden[i]);
    dc_model_get(m, "seed", &seed);
    const int64_t rows = dc_model_train_rows(m), d = dc_model_input_dim(m);
    /* A checkpoint: the phase it was written in and how far that got. */
    const char *phase = NULL;
    int64_t done = 0, total = 0;
    if (!strcmp(kind, "checkpoint") && (st = dc_checkpoint_progress(path, &phase, &done, &total)))
        return cli_lib_error(st, path);
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
        if (phase) {
            json_str(&j, "phase", phase);
            json_int(&j, strcmp(phase, "pretrain") ? "iteration" : "pretrain_step", done);
            json_int(&j, strcmp(phase, "pretrain") ? "max_iter" : "pretrain_steps", total);
        }
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
        if (phase && !strcmp(phase, "pretrain"))
            printf("phase: pre-training, step %lld of %lld (resume continues it, then the "
                   "clustering phase)\n", (long long)done, (long long)total);
        else if (phase)
            printf("phase: clustering, iteration %lld of max_iter %lld\n", (long long)done,
                   (long long)total);
    }
    dc_model_free(m);
    return 0;
}

int cli_info(cli_args *a, int json) {
    if (a->n_pos != 1) return cli_usage_error("info takes exactly one PATH%s", "");
    const char *path = a->positional[0];
    dc_load_options lo;
    dc_load_options_default(&lo);
    if (cli_parse_format(cli_get(a, "format"), &lo.format)) return 2;
    int rc = cli_check_unused(a, "info");
    if (rc) return rc;
    const char *kind = cli_is_stdio(path) ? NULL : model_file_kind(path);
    if (kind) return info_model(path, kind, json);
    path = cli_stdin_path(path, &lo.format);
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, path, &lo);
    if (st) return cli_lib_error(st, path);
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
