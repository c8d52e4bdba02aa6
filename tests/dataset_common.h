/* Helpers of the data set tests (test_dataset_*.c): one scratch directory
 * per program for files written byte by byte (independently of the
 * library's own writers), loading them, and comparing what was loaded. */
#ifndef DC_TEST_DATASET_COMMON_H
#define DC_TEST_DATASET_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "test_bytes.h"
#include "deepclust.h"

/* Status and a fragment the detail must contain. */
#define CHECK_ERR(expr, code, fragment)                                                   \
    do {                                                                                  \
        CHECK_STATUS(expr, code);                                                         \
        CHECK_MSG(strstr(dc_last_error(), (fragment)) != NULL, "detail '%s' lacks '%s'", \
                  dc_last_error(), (fragment));                                           \
    } while (0)

static char g_dir[64];

static inline const char *tmp(const char *name) {
    static char buf[8][512];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static inline void write_text(const char *path, const char *text) {
    write_bytes(path, text, strlen(text));
}

static inline void write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, data, (unsigned)n) != (int)n) {
        fprintf(stderr, "gz write %s failed\n", path);
        exit(2);
    }
    gzclose(g);
}

static inline unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    b[*n] = 0;
    fclose(f);
    return b;
}

static inline int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Files in g_dir whose name starts with `prefix` (left-over temporaries). */
static inline int count_prefixed(const char *prefix) {
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static inline void remove_dir(void) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        const char *p = tmp(e->d_name);
        if (remove(p) != 0) rmdir(p);
    }
    closedir(d);
    rmdir(g_dir);
}

static inline dc_dataset *load(const char *path) {
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, path, NULL);
    CHECK_MSG(st == DC_OK, "loading %s: %s", path, dc_last_error());
    return ds;
}

static inline int data_equals(const dc_dataset *ds, int64_t n, int64_t d,
                              const float *expect) {
    if (!ds || dc_dataset_rows(ds) != n || dc_dataset_cols(ds) != d) return 0;
    return memcmp(dc_dataset_data(ds), expect, (size_t)(n * d) * sizeof(float)) == 0;
}

static inline int labels_equal(const dc_dataset *ds, int64_t n, const int32_t *expect) {
    const int32_t *y = dc_dataset_labels(ds);
    return y && dc_dataset_rows(ds) == n && memcmp(y, expect, (size_t)n * sizeof *y) == 0;
}

static inline dc_status load_status(const char *name) {
    dc_dataset *ds = NULL;
    dc_status st = dc_dataset_load(&ds, tmp(name), NULL);
    dc_dataset_free(ds);
    return st;
}

/* The scratch directory: a failure here is the environment's, exit 2. */
static inline void make_dir(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/dc_test_dataset_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    umask(022);
}

#endif
