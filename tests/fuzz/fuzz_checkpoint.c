/* Checkpoints resumed by dc_solver_resume on the data they were written for
 * (fuzz_checkpoint_data), with length and checksums made to match. The
 * first byte picks the method resuming (edcwrn, idec, dec); the rest is the
 * file. max_iter is set by the caller (8), so a resumed fit trains at most a
 * few batches; a failure must leave the solver without a result. */
#include "fuzz_common.h"

/* A mutated update interval or batch count could ask for a long fit. */
static int stop_long(void *user, const char *phase, long long done, long long total, double v) {
    (void)user, (void)total, (void)v;
    return strcmp(phase, "cluster") == 0 && done > 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const methods[] = {"edcwrn", "idec", "dec"};
    static dc_dataset *ds;
    if (!ds) ds = fuzz_checkpoint_data();
    uint8_t *b = fuzz_sealed_container(data + 1, size - 1);
    const char *path = fuzz_file(b, size - 1);
    free(b);
    dc_solver *s = NULL;
    fuzz_require(dc_solver_create(&s, methods[data[0] % 3]) == DC_OK, "the solver");
    fuzz_require(dc_solver_set(s, "max_iter", 8) == DC_OK, "max_iter");
    fuzz_require(dc_solver_set_progress(s, stop_long, NULL) == DC_OK, "the progress callback");
    dc_clear_error();
    dc_status st = dc_solver_resume(s, ds, path);
    int64_t n = 0;
    if (st != DC_OK) {
        fuzz_check_failure(st);
        fuzz_require(dc_solver_labels(s, NULL, 0, &n) == DC_ERR_STATE, "a failed resume leaves no result");
    } else {
        int32_t labels[FUZZ_CK_ROWS];
        double k = 0;
        fuzz_require(dc_solver_labels(s, labels, FUZZ_CK_ROWS, &n) == DC_OK && n == FUZZ_CK_ROWS,
                     "a resumed fit has labels");
        fuzz_require(dc_solver_get(s, "k", &k) == DC_OK, "k");
        for (int i = 0; i < FUZZ_CK_ROWS; i++)
            fuzz_require(labels[i] >= 0 && labels[i] < k, "labels in 0..k-1");
        fuzz_n_loaded++;
    }
    dc_solver_free(s);
    return 0;
}
