/* The records of a model or checkpoint payload, as the format comment in
 * methods/model_io.h describes them, for the tests that edit a payload and
 * reseal it (test_file_fuzz_model.c, test_file_fuzz_checkpoint.c). */
#ifndef DC_TEST_FILE_FUZZ_RECORDS_H
#define DC_TEST_FILE_FUZZ_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "file_fuzz_common.h"

typedef struct trec {
    size_t at;    /* offset of the record in the payload */
    size_t name;  /* offset of the name */
    size_t nl;    /* name length */
    size_t meta;  /* offset of the type byte */
    size_t data;  /* offset of the elements */
    int type;
    uint64_t count;
} trec;

static inline int trec_size(int type) {
    return type == 1 ? 1 : (type == 2 || type == 5) ? 4 : (type >= 3 && type <= 6) ? 8 : 0;
}

static inline uint64_t ld_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline void st_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void st_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* -1 if the payload is not a well-formed record sequence. */
static inline int trec_parse(const unsigned char *pay, size_t len, trec *r, int max) {
    size_t off = 0;
    int n = 0;
    while (off < len) {
        if (n == max || len - off < 2) return -1;
        trec t;
        t.at = off;
        t.nl = (size_t)(pay[off] | (pay[off + 1] << 8));
        t.name = off + 2;
        if (t.nl == 0 || len - t.name < t.nl + 10) return -1;
        t.meta = t.name + t.nl;
        t.type = pay[t.meta];
        t.count = ld_u64(pay + t.meta + 2);
        t.data = t.meta + 10;
        int size = trec_size(t.type);
        if (!size || t.count > (len - t.data) / (uint64_t)size) return -1;
        off = t.data + (size_t)t.count * (size_t)size;
        r[n++] = t;
    }
    return n;
}

/* The file with a new payload and both checksums recomputed. */
static inline bytes reseal(const bytes *file, const unsigned char *pay, size_t len) {
    bytes b = {malloc(32 + len + 1), 32 + len};
    memcpy(b.p, file->p, 16);
    st_u64(b.p + 16, len);
    st_u32(b.p + 24, (uint32_t)crc32(crc32(0L, Z_NULL, 0), pay, (uInt)len));
    st_u32(b.p + 28, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b.p, 28));
    memcpy(b.p + 32, pay, len);
    return b;
}

static inline const trec *trec_find(const unsigned char *pay, const trec *r, int n,
                                    const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (r[i].nl == len && memcmp(pay + r[i].name, name, len) == 0) return &r[i];
    return NULL;
}

#endif
