/* Label files: the first byte picks the format (text, NPY, IDX) and the
 * number of rows of the data set they are attached to (1..85, so that the
 * fuzzer can find counts that match); the rest is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const dc_format formats[] = {DC_FORMAT_CSV, DC_FORMAT_NPY, DC_FORMAT_IDX};
    const int64_t rows = 1 + data[0] / 3;
    static float zeros[256];
    dc_dataset *ds = NULL;
    fuzz_require(dc_dataset_create(&ds, zeros, rows, 1, DC_BORROW) == DC_OK, "the data set");
    dc_clear_error();
    dc_status st = dc_dataset_load_labels(ds, fuzz_file(data + 1, size - 1), formats[data[0] % 3]);
    if (st != DC_OK) {
        fuzz_check_failure(st);
        fuzz_require(dc_dataset_labels(ds) == NULL, "a failed load keeps the previous labels");
    } else {
        fuzz_require(dc_dataset_labels(ds) != NULL, "a load gives labels");
        fuzz_n_loaded++;
    }
    dc_dataset_free(ds);
    return 0;
}
