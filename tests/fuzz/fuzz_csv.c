/* CSV reader with every option: the first byte picks the delimiter (detect,
 * ',' ';' tab space), the header rule (detect, no, yes) and the label column
 * (none, last, 0, 1); the rest is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char delims[] = {0, ',', ';', '\t', ' '};
    static const int headers[] = {-1, 0, 1};
    static const int labels[] = {DC_LABEL_COLUMN_NONE, DC_LABEL_COLUMN_LAST, 0, 1};
    dc_load_options o;
    dc_load_options_default(&o);
    o.format = DC_FORMAT_CSV;
    o.delimiter = delims[data[0] % 5];
    o.header = headers[data[0] / 5 % 3];
    o.label_column = labels[data[0] / 15 % 4];
    fuzz_load_dataset(data + 1, size - 1, &o);
    return 0;
}
