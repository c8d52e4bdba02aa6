/* IDX reader, uncompressed: the input is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_load_format(data, size, DC_FORMAT_IDX);
    return 0;
}
