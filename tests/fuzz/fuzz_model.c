/* Model files (and checkpoints read as models), with length and checksums
 * made to match (fuzz_sealed_container). A model that loads must answer its
 * accessors and, when small, embed and predict a few rows without fault. */
#include "fuzz_common.h"

static void use_model(dc_model *m) {
    const int64_t d = dc_model_input_dim(m), md = dc_model_embed_dim(m), k = dc_model_k(m);
    fuzz_require(d >= 1 && md >= 1 && k >= 0, "a loaded model has its sizes");
    fuzz_require(dc_model_method(m) != NULL, "a loaded model names its method");
    double v;
    (void)dc_model_get(m, "seed", &v);
    (void)dc_model_normalization(m);
    enum { ROWS = 5 };
    if (d > 512 || md > 512 || k > 512) return; /* keep each input cheap */
    float *x = calloc((size_t)(ROWS * d), sizeof *x), *z = calloc((size_t)(ROWS * md), sizeof *z);
    float *c = calloc((size_t)(k * md + 1), sizeof *c);
    fuzz_require(x && z && c, "memory for the rows");
    for (int64_t i = 0; i < ROWS * d; i++) x[i] = (float)((i * 37) % 11) / 11.0f;
    dc_dataset *ds = NULL;
    fuzz_require(dc_dataset_create(&ds, x, ROWS, d, DC_BORROW) == DC_OK, "rows to predict");
    dc_status st = dc_model_embed(m, ds, z, ROWS * md);
    if (st != DC_OK) fuzz_check_failure(st);
    if (!dc_model_is_autoencoder(m)) {
        int32_t labels[ROWS];
        st = dc_model_predict(m, ds, labels, ROWS);
        if (st != DC_OK) fuzz_check_failure(st);
        else
            for (int i = 0; i < ROWS; i++) fuzz_require(labels[i] >= 0 && labels[i] < k, "labels in 0..k-1");
        st = dc_model_centers(m, c, k * md);
        if (st != DC_OK) fuzz_check_failure(st);
        st = dc_model_weights(m, c, k * md);
        if (st != DC_OK) fuzz_check_failure(st);
    }
    dc_dataset_free(ds);
    free(x);
    free(z);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = fuzz_sealed_container(data, size);
    dc_model *m = (dc_model *)&m;
    dc_clear_error();
    dc_status st = dc_model_load(&m, fuzz_file(b, size));
    free(b);
    if (st != DC_OK) {
        fuzz_check_failure(st);
        fuzz_require(m == NULL, "a failed load leaves no model");
        return 0;
    }
    use_model(m);
    fuzz_n_loaded++;
    dc_model_free(m);
    return 0;
}
