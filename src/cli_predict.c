/* deepclust predict: labels (and embeddings) of new data from a saved deep
 * model or checkpoint, the data normalised as the model's training data. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <deepclust.h>

#include "cli_common.h"
#include "cli_experiment.h"
#include "cli_files.h"
#include "cli_json.h"

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
 * cluster. *source: "model", "data" or "none". normalize: how the data's
 * own statistics are applied (dc_dataset_normalize; under mpirun the
 * statistics of all ranks' rows). */
int cli_normalize_for_model(const dc_model *m, dc_dataset *ds, const char *opt,
                            const char **source,
                            dc_status (*normalize)(dc_dataset *, dc_normalization)) {
    dc_normalization want = DC_NORM_NONE, trained = dc_model_normalization(m);
    dc_status st = opt ? dc_normalization_from_name(opt, &want) : DC_OK;
    if (st) return cli_usage_lib_error(st, "--normalize");
    if (trained == DC_NORM_NONE || (opt && want == DC_NORM_NONE)) {
        *source = want == DC_NORM_NONE ? "none" : "data";
        st = want == DC_NORM_NONE ? DC_OK : normalize(ds, want);
        return st ? cli_lib_error(st, "--normalize") : 0;
    }
    if (opt && want != trained) {
        fprintf(stderr, "%s: error: --normalize %s: the model's training data were normalised "
                "with %s; predict applies those statistics without --normalize (or with "
                "--normalize %s), --normalize none uses the data as given\n", CLI_PROG,
                dc_normalization_name(want), dc_normalization_name(trained),
                dc_normalization_name(trained));
        return 1;
    }
    *source = "model";
    st = dc_model_apply_normalization(m, ds);
    return st ? cli_lib_error(st, "--data") : 0;
}

int cli_predict(cli_args *a, int json) {
    const char *model_path = cli_get(a, "model");
    if (!model_path) return cli_usage_error("predict needs --model FILE%s", "");
    const char *out = cli_get(a, "out");
    const char *embedding_out = cli_get(a, "embedding-out");
    int quiet = cli_has(a, "quiet");
    dc_model *m = NULL;
    dc_dataset *ds = NULL;
    int32_t *pred = NULL;
    float *z = NULL;
    cli_outputs files;
    cli_outputs_init(&files);
    const cli_file inputs[] = {{"model", model_path, 0}, {"data", cli_get(a, "data"), 0},
                               {"labels", cli_get(a, "labels"), 0}};
    const cli_file outputs[] = {{"out", out, 0}, {"embedding-out", embedding_out, 0}};
    int rc = cli_check_files(inputs, 3, outputs, 2, NULL, NULL);
    cli_noise nz;
    if (!rc) rc = cli_noise_parse(cli_get(a, "noise"), cli_get(a, "noise-seed"), &nz);
    if (!rc) rc = cli_load_data(a, &ds, 0);
    const char *norm = cli_get(a, "normalize"), *norm_source = "none";
    if (rc || (rc = cli_check_unused(a, "predict"))) goto done;
    dc_status st = dc_model_load(&m, model_path);
    if (st) {
        rc = cli_lib_error(st, "--model");
        goto done;
    }
    if ((rc = cli_normalize_for_model(m, ds, norm, &norm_source, dc_dataset_normalize))) goto done;
    if ((rc = cli_noise_apply(&nz, ds))) goto done;
    int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    pred = malloc(sizeof(int32_t) * (size_t)n);
    if (!pred) {
        rc = cli_lib_error(DC_ERR_NOMEM, "labels");
        goto done;
    }
    double t0 = wall_seconds();
    st = dc_model_predict(m, ds, pred, n);
    double seconds = wall_seconds() - t0;
    if (st) {
        rc = cli_lib_error(st, "predict");
        goto done;
    }
    cli_metrics mt;
    const int32_t *truth = dc_dataset_labels(ds);
    if ((rc = cli_score_and_write(truth, pred, n, &files, out, &mt))) goto done;
    if (embedding_out) {
        int64_t md = dc_model_embed_dim(m);
        z = malloc(sizeof(float) * (size_t)(n * md));
        const char *tmp = z ? cli_outputs_add(&files, "embedding-out", embedding_out) : NULL;
        if (!tmp) {
            rc = z ? 1 : cli_lib_error(DC_ERR_NOMEM, embedding_out);
            goto done;
        }
        if ((st = dc_model_embed(m, ds, z, n * md)) || (st = dc_write_matrix(tmp, z, n, md, DC_FORMAT_AUTO))) {
            rc = cli_lib_error(st, embedding_out);
            goto done;
        }
    }
    if ((rc = cli_outputs_commit(&files))) goto done;
    double seed = 0;
    dc_model_get(m, "seed", &seed);
    if (json) {
        cli_json j;
        cli_json_run(&j, cli_json_stream(out), dc_model_method(m), n, d, dc_model_k(m),
                     (long long)seed, seconds);
        if (truth) cli_json_metrics(&j, &mt);
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
        if (truth) cli_print_metrics(&mt);
    }
done:
    cli_outputs_discard(&files);
    free(z);
    free(pred);
    dc_model_free(m);
    dc_dataset_free(ds);
    return rc;
}
