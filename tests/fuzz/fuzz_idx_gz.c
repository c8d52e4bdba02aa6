/* IDX through gzip. The first byte picks what the rest is: an IDX file the
 * harness compresses (even: the reader's gzip path with any IDX content),
 * or the bytes of a .gz file as they are (odd: damaged gzip streams, member
 * boundaries, trailers). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1) {
        fuzz_load_format(data + 1, size - 1, DC_FORMAT_IDX);
        return 0;
    }
    uLongf zlen = compressBound((uLong)size) + 32;
    uint8_t *z = malloc(zlen);
    fuzz_require(z != NULL, "memory for the compressed copy");
    z_stream s;
    memset(&s, 0, sizeof s);
    fuzz_require(deflateInit2(&s, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    s.next_in = (Bytef *)(data + 1);
    s.avail_in = (uInt)(size - 1);
    s.next_out = z;
    s.avail_out = (uInt)zlen;
    fuzz_require(deflate(&s, Z_FINISH) == Z_STREAM_END, "deflate");
    const size_t n = s.total_out;
    deflateEnd(&s);
    fuzz_load_format(z, n, DC_FORMAT_IDX);
    free(z);
    return 0;
}
