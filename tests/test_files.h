/* Scratch files for the tests that truncate or alter files on purpose.
 * A failure here is the test environment's, not the library's: exit 2. */
#ifndef DC_TEST_FILES_H
#define DC_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "test_bytes.h"
#include "deepclust.h"

/* One scratch directory per test program, under $TMPDIR (else /tmp). */
static inline char *scratch_dir(void) {
    static char dir[256];
    return dir;
}

static inline void scratch_make(const char *prefix) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(scratch_dir(), 256, "%s/%s_XXXXXX", base, prefix);
    if (!mkdtemp(scratch_dir())) {
        perror("mkdtemp");
        exit(2);
    }
}

/* A path inside the scratch directory; eight stay valid at a time. */
static inline const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int slot = 0;
    char *p = buf[slot++ & 7];
    snprintf(p, 512, "%s/%s", scratch_dir(), name);
    return p;
}

static inline void scratch_remove(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir());
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch_dir());
}

/* A damaged model file fails with `want` and leaves no model behind. */
static inline void expect_load(const char *path, dc_status want) {
    dc_model *m = NULL;
    CHECK_STATUS(dc_model_load(&m, path), want);
    CHECK(m == NULL);
}

#endif
