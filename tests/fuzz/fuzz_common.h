/* What the fuzz harnesses share: the input as a file the readers open by
 * path, the contract every load must keep, and the container fix-up that
 * lets mutated model files past their checksums.
 *
 * A harness is LLVMFuzzerTestOneInput(data, size). Built with -Dfuzz=enabled
 * (clang, libFuzzer, ASan + UBSan) it is driven by libFuzzer; otherwise
 * replay.c runs it over the committed corpus as a regression test. A
 * broken contract aborts, which libFuzzer reports as a finding. */
#ifndef DC_FUZZ_COMMON_H
#define DC_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "deepclust.h"

/* Inputs a harness loaded successfully: replay.c --refused N asks that all
 * but the N documented refusals of a corpus load (the seeds are valid
 * files), so a reader that starts refusing valid files fails the replay. Weak: one definition per
 * executable, whether replay.c is linked or libFuzzer's main. */
__attribute__((weak)) int fuzz_n_loaded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_require(int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "fuzz contract broken: %s (status detail: '%s')\n", what, dc_last_error());
    abort();
}

/* The bytes as a file: an in-memory file (memfd) reopened through /proc, so
 * the readers take their ordinary path without touching the disk. The name
 * carries no extension: harnesses give the format. */
static inline const char *fuzz_file(const void *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("dc_fuzz_input", MFD_CLOEXEC);
        fuzz_require(fd >= 0, "memfd_create");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        /* One BLAS thread: the harnesses run many tiny calls. */
        dc_set_threads(1);
    }
    fuzz_require(ftruncate(fd, 0) == 0, "truncating the input file");
    fuzz_require(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size, "writing the input file");
    return path;
}

/* A failed call: a documented negative status with a detail. */
static inline void fuzz_check_failure(dc_status st) {
    fuzz_require(st < 0 && st > DC_ERR_INTERNAL && st != DC_ERR_NULL,
                 "a failure with a specific status");
    fuzz_require(dc_last_error()[0] != '\0', "a failure with a detail");
}

/* A loaded data set: at least one row and column, finite values, labels
 * only where asked for. */
static inline void fuzz_check_dataset(const dc_dataset *ds) {
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    const float *x = dc_dataset_data(ds);
    fuzz_require(n >= 1 && d >= 1 && x != NULL, "a loaded set has rows and columns");
    for (int64_t i = 0; i < n * d; i++) fuzz_require(isfinite(x[i]), "loaded values are finite");
    int64_t h, w, c;
    if (dc_dataset_image_shape(ds, &h, &w, &c))
        fuzz_require(h >= 1 && w >= 1 && c >= 1 && h * w * c == d, "image shape matches columns");
}

/* Loads the bytes as a data set with the given options and checks the
 * contract either way. */
static inline void fuzz_load_dataset(const uint8_t *data, size_t size, const dc_load_options *o) {
    dc_dataset *ds = (dc_dataset *)&ds;
    dc_clear_error();
    dc_status st = dc_dataset_load(&ds, fuzz_file(data, size), o);
    if (st != DC_OK) {
        fuzz_check_failure(st);
        fuzz_require(ds == NULL, "a failed load leaves no data set");
        return;
    }
    fuzz_check_dataset(ds);
    fuzz_n_loaded++;
    if (o && o->label_column != DC_LABEL_COLUMN_NONE)
        fuzz_require(dc_dataset_labels(ds) != NULL, "a label column gives labels");
    dc_dataset_free(ds);
}

/* The bytes as a file of one format, default options. */
static inline void fuzz_load_format(const uint8_t *data, size_t size, dc_format format) {
    dc_load_options o;
    dc_load_options_default(&o);
    o.format = format;
    fuzz_load_dataset(data, size, &o);
}

static inline void fuzz_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Model and checkpoint files (docs/formats.md): a 32-byte header with the
 * payload length and two CRC32s. Random mutations would almost never keep
 * them right, so the harness rewrites length and checksums to match the
 * bytes (the checks themselves are covered by tests/test_file_fuzz_model.c
 * and test_file_fuzz_checkpoint.c) and the fuzzer reaches the records.
 * Returns a malloc'd copy. */
static inline uint8_t *fuzz_sealed_container(const uint8_t *data, size_t size) {
    uint8_t *b = malloc(size ? size : 1);
    fuzz_require(b != NULL, "memory for the container copy");
    memcpy(b, data, size);
    if (size >= 32) {
        const uint64_t len = size - 32;
        for (int i = 0; i < 8; i++) b[16 + i] = (uint8_t)(len >> (8 * i));
        fuzz_put_u32(b + 24, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + 32, (uInt)len));
        fuzz_put_u32(b + 28, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, 28));
    }
    return b;
}

/* The data the checkpoint seeds were written for (tests/fuzz/make_seeds.c):
 * 24 rows x 4 columns, three groups, the same bytes on every call. */
enum { FUZZ_CK_ROWS = 24, FUZZ_CK_COLS = 4, FUZZ_CK_K = 3 };
static inline dc_dataset *fuzz_checkpoint_data(void) {
    static float x[FUZZ_CK_ROWS * FUZZ_CK_COLS];
    for (int i = 0; i < FUZZ_CK_ROWS; i++)
        for (int j = 0; j < FUZZ_CK_COLS; j++)
            x[i * FUZZ_CK_COLS + j] =
                (float)((i % FUZZ_CK_K == j % FUZZ_CK_K ? 1.0 : 0.0) + 0.01 * ((i * 7 + j * 3) % 5));
    dc_dataset *ds = NULL;
    fuzz_require(dc_dataset_create(&ds, x, FUZZ_CK_ROWS, FUZZ_CK_COLS, DC_COPY) == DC_OK,
                 "the checkpoint data set");
    return ds;
}

/* The checkpoint seeds' settings: a tiny network and a short clustering
 * phase, so that a resumed fit costs milliseconds. */
static inline void fuzz_checkpoint_params(dc_solver *s) {
    static const struct {
        const char *name;
        double v;
    } p[] = {{"k", FUZZ_CK_K},     {"seed", 1},          {"hidden1", 6},
             {"hidden2", 4},       {"hidden3", 0},       {"embed_dim", 2},
             {"batch", 8},         {"pretrain_epochs", 2}, {"n_init", 1},
             {"update_interval", 2}, {"max_iter", 4},    {"tol", 0}};
    double v;
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (dc_solver_get(s, p[i].name, &v) == DC_OK)
            fuzz_require(dc_solver_set(s, p[i].name, p[i].v) == DC_OK, "a seed parameter");
}

#endif
