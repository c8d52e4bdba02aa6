/* IDX reader, uncompressed: the input is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_load_options o;
    dc_load_options_default(&o);
    o.format = DC_FORMAT_IDX;
    fuzz_load_dataset(data, size, &o);
    return 0;
}
