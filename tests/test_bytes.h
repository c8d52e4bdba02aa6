/* Whole files and IDX images as bytes, for the tests and tools that write
 * files byte by byte. A failure here is the environment's, not the
 * library's: exit 2. */
#ifndef DC_TEST_BYTES_H
#define DC_TEST_BYTES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

static inline unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    if (!b || fread(b, 1, *n, f) != *n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    return b;
}

/* An IDX image: 00 00 type ndim, ndim big-endian extents, then nbytes of
 * (big-endian) data; returns its size. */
static inline size_t idx_bytes(unsigned char *out, int type, int ndim, const int *dims,
                               const void *be_data, size_t nbytes) {
    out[0] = out[1] = 0;
    out[2] = (unsigned char)type;
    out[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++)
            out[4 + 4 * i + b] = (unsigned char)((unsigned)dims[i] >> (24 - 8 * b));
    memcpy(out + 4 + 4 * ndim, be_data, nbytes);
    return 4 + 4 * (size_t)ndim + nbytes;
}

#endif
