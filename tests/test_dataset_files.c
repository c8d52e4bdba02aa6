/* Choosing a reader by file name, I/O errors and text label files
 * (data/fileio.c); and the writers (data/writer.c): what they write, byte for
 * byte, and that a failed write leaves the old file as it was. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "data/fileio.h"
#include "deepclust.h"
#include "dataset_common.h"

/* ------------------------------------------------- names, labels, writers */

static void test_paths_and_labels(void) {
    dc_format f = DC_FORMAT_AUTO;
    CHECK(dci_format_from_path("a/train-images-idx3-ubyte.gz", &f) == DC_OK && f == DC_FORMAT_IDX);
    CHECK(dci_format_from_path("train-images.idx3-ubyte", &f) == DC_OK && f == DC_FORMAT_IDX);
    CHECK(dci_format_from_path("x.idx1", &f) == DC_OK && f == DC_FORMAT_IDX);
    CHECK(dci_format_from_path("X.NPY", &f) == DC_OK && f == DC_FORMAT_NPY);
    CHECK(dci_format_from_path("x.npy.gz", &f) == DC_OK && f == DC_FORMAT_NPY);
    CHECK(dci_format_from_path("x.tsv", &f) == DC_OK && f == DC_FORMAT_CSV);
    CHECK(dci_format_from_path("x.txt.gz", &f) == DC_OK && f == DC_FORMAT_CSV);
    CHECK_STATUS(dci_format_from_path("x.gz", &f), DC_ERR_UNSUPPORTED);
    CHECK_STATUS(dci_format_from_path("x.csv.bz2", &f), DC_ERR_UNSUPPORTED);

    dc_dataset *ds = (dc_dataset *)&ds;
    write_text(tmp("data.dat"), "1,2\n3,4\n5,6\n");
    CHECK_ERR(dc_dataset_load(&ds, tmp("data.dat"), NULL), DC_ERR_UNSUPPORTED, "--format");
    CHECK_MSG(strstr(dc_last_error(), ".csv") && strstr(dc_last_error(), "-ubyte"), "%s", dc_last_error());
    CHECK(ds == NULL);
    CHECK_ERR(dc_dataset_load(&ds, tmp("missing.csv"), NULL), DC_ERR_IO, "No such file or directory");
    CHECK_MSG(strstr(dc_last_error(), "missing.csv") != NULL, "%s", dc_last_error());
    mkdir(tmp("dir.csv"), 0700);
    CHECK_ERR(dc_dataset_load(&ds, tmp("dir.csv"), NULL), DC_ERR_IO, "Is a directory");
    CHECK_STATUS(dc_dataset_load(&ds, NULL, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_dataset_load(NULL, tmp("data.dat"), NULL), DC_ERR_NULL);
    dc_load_options o;
    dc_load_options_default(&o);
    o.format = DC_FORMAT_CSV; /* an explicit format overrides the name */
    CHECK_OK(dc_dataset_load(&ds, tmp("data.dat"), &o));
    CHECK(dc_dataset_rows(ds) == 3 && dc_dataset_cols(ds) == 2);
    /* A label column only exists in text: asked of NPY it is an error, not ignored. */
    CHECK_OK(dc_write_matrix(tmp("data.npy"), dc_dataset_data(ds), 3, 2, DC_FORMAT_AUTO));
    dc_dataset *nd = NULL;
    o.format = DC_FORMAT_AUTO;
    o.label_column = DC_LABEL_COLUMN_LAST;
    CHECK_ERR(dc_dataset_load(&nd, tmp("data.npy"), &o), DC_ERR_INVALID_ARG, "label column");
    CHECK(nd == NULL);

    /* Text label files: first column, optional header, "3.0" accepted. */
    write_text(tmp("y.csv"), "label,name\n1,cat\n2.0,dog\r\n-3,cow\n\n");
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.csv"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){1, 2, -3}));
    write_text(tmp("y.txt"), "4\n5\n6\n");
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.txt"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){4, 5, 6}));
    write_text(tmp("y2.txt"), "4\n5\n");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y2.txt"), DC_FORMAT_AUTO), DC_ERR_SHAPE,
              "labels file has 2 entries, data has 3 rows");
    write_text(tmp("y3.txt"), "4\nfive\n6\n");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y3.txt"), DC_FORMAT_AUTO), DC_ERR_FORMAT, "line 2");
    write_text(tmp("y4.txt"), "4\n5.5\n6\n");
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y4.txt"), DC_FORMAT_AUTO), DC_ERR_FORMAT,
              "'5.5' is not an integer label");
    /* A name without a known extension: the first bytes tell NPY and IDX,
     * anything else is text (a missing one: the open fails). */
    write_text(tmp("y.labels"), "7\n8\n9\n");
    CHECK_STATUS(dc_dataset_load_labels(ds, tmp("gone.txt"), DC_FORMAT_AUTO), DC_ERR_IO);
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.labels"), DC_FORMAT_AUTO));
    /* the name's unknown extension is not a failure: the last one stays */
    CHECK_MSG(strstr(dc_last_error(), "gone.txt") != NULL, "%s", dc_last_error());
    CHECK(labels_equal(ds, 3, (const int32_t[]){7, 8, 9}));
    CHECK_OK(dc_write_labels(tmp("yn.npy"), (const int32_t[]){2, 1, 0}, 3, DC_FORMAT_AUTO));
    CHECK(rename(tmp("yn.npy"), tmp("yn.labels")) == 0);
    CHECK_OK(dc_dataset_load_labels(ds, tmp("yn.labels"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){2, 1, 0}));
    FILE *fi = fopen(tmp("yi.lab"), "wb");
    CHECK(fi && fwrite("\0\0\x08\x01\0\0\0\x03\x05\x04\x03", 1, 11, fi) == 11);
    if (fi) fclose(fi);
    CHECK_OK(dc_dataset_load_labels(ds, tmp("yi.lab"), DC_FORMAT_AUTO));
    CHECK(labels_equal(ds, 3, (const int32_t[]){5, 4, 3}));
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("y.bin"), DC_FORMAT_AUTO), DC_ERR_IO, "y.bin");
    CHECK_OK(dc_dataset_load_labels(ds, tmp("y.txt"), DC_FORMAT_AUTO));
    CHECK_ERR(dc_dataset_load_labels(ds, tmp("none.txt"), DC_FORMAT_AUTO), DC_ERR_IO, "none.txt");
    CHECK_STATUS(dc_dataset_load_labels(NULL, tmp("y.txt"), DC_FORMAT_AUTO), DC_ERR_NULL);
    CHECK(labels_equal(ds, 3, (const int32_t[]){4, 5, 6}));
    dc_dataset_free(ds);
}

static void test_writers(void) {
    const float m[6] = {1, 0.5f, -2, 3, 1e10f, 0.1f};
    CHECK_OK(dc_write_matrix(tmp("w.csv"), m, 2, 3, DC_FORMAT_AUTO));
    size_t n;
    unsigned char *raw = read_file(tmp("w.csv"), &n);
    CHECK_MSG(raw && !strcmp((char *)raw, "1,0.5,-2\n3,1e+10,0.100000001\n"), "got '%s'", raw);
    free(raw);
    const int32_t y[3] = {3, -1, 2147483647};
    CHECK_OK(dc_write_labels(tmp("w.txt"), y, 3, DC_FORMAT_AUTO));
    raw = read_file(tmp("w.txt"), &n);
    CHECK_MSG(raw && !strcmp((char *)raw, "3\n-1\n2147483647\n"), "got '%s'", raw);
    free(raw);
    CHECK_OK(dc_write_matrix(tmp("w.tsv"), m, 3, 2, DC_FORMAT_AUTO));
    raw = read_file(tmp("w.tsv"), &n);
    CHECK_MSG(raw && !strncmp((char *)raw, "1\t0.5\n", 6), "got '%s'", raw);
    free(raw);

    /* %.9g reads back to the same float for every value. */
    float r[1000];
    srand(3);
    for (int i = 0; i < 1000; i++)
        r[i] = (float)((rand() - RAND_MAX / 2) * pow(10.0, rand() % 40 - 20) / RAND_MAX);
    r[0] = -0.0f;
    r[1] = 123456789.0f;
    r[2] = 1e-38f;
    CHECK_OK(dc_write_matrix(tmp("rt.csv"), r, 100, 10, DC_FORMAT_AUTO));
    dc_dataset *ds = load(tmp("rt.csv"));
    CHECK(data_equals(ds, 100, 10, r));
    dc_dataset_free(ds);

    /* Permissions as for a plain fopen (mkstemp alone would give 0600). */
    umask(027);
    CHECK_OK(dc_write_labels(tmp("perm.csv"), y, 3, DC_FORMAT_AUTO));
    struct stat st;
    CHECK(stat(tmp("perm.csv"), &st) == 0 && (st.st_mode & 0777) == 0640);
    umask(022);

    /* Failures leave nothing behind and `path` untouched. */
    CHECK_ERR(dc_write_matrix(tmp("nodir/m.csv"), m, 2, 3, DC_FORMAT_AUTO), DC_ERR_IO, "nodir/m.csv");
    CHECK(!file_exists(tmp("nodir/m.csv")) && !file_exists(tmp("nodir")));
    write_text(tmp("keep.npy"), "old");
    CHECK_ERR(dc_write_matrix(tmp("keep.npy"), m, 2, 3, DC_FORMAT_IDX), DC_ERR_UNSUPPORTED, "IDX");
    CHECK_ERR(dc_write_matrix(tmp("keep.bin"), m, 2, 3, DC_FORMAT_AUTO), DC_ERR_UNSUPPORTED, ".npy");
    CHECK_ERR(dc_write_labels(tmp("keep.npy"), y, 0, DC_FORMAT_AUTO), DC_ERR_SHAPE, "no labels");
    CHECK_STATUS(dc_write_labels(tmp("keep.npy"), NULL, 3, DC_FORMAT_AUTO), DC_ERR_NULL);
    CHECK_STATUS(dc_write_matrix(NULL, m, 2, 3, DC_FORMAT_AUTO), DC_ERR_NULL);
    /* rows x cols beyond int64: refused before a byte is written (no signed
     * overflow in the NPY header's count, no CSV loop past the array). */
    CHECK_ERR(dc_write_matrix(tmp("overflow.npy"), m, INT64_MAX / 2, 4, DC_FORMAT_AUTO),
              DC_ERR_NOMEM, "do not fit in memory");
    CHECK_ERR(dc_write_matrix(tmp("overflow.csv"), m, 3, INT64_MAX / 2, DC_FORMAT_AUTO),
              DC_ERR_NOMEM, "do not fit in memory");
    CHECK(!file_exists(tmp("overflow.npy")) && !file_exists(tmp("overflow.csv")));
    CHECK(count_prefixed("overflow.") == 0);
    /* A write that fails midway (file size limit): the old file survives. */
    static float big[100000];
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        CHECK_ERR(dc_write_matrix(tmp("keep.npy"), big, 1000, 100, DC_FORMAT_AUTO), DC_ERR_IO,
                  "keep.npy");
        CHECK_ERR(dc_write_matrix(tmp("keep.npy"), big, 1000, 100, DC_FORMAT_CSV), DC_ERR_IO,
                  "keep.npy");
        setrlimit(RLIMIT_FSIZE, &old);
    }
    raw = read_file(tmp("keep.npy"), &n);
    CHECK(raw && n == 3 && !memcmp(raw, "old", 3));
    free(raw);
    CHECK(count_prefixed("keep.npy.tmp.") == 0);
    CHECK(count_prefixed("w.csv.tmp.") == 0);
}

/* Outputs that are not plain files: a symbolic link keeps pointing at the
 * file it names (now holding the new content), and a FIFO (as /dev/null or
 * a shell's process substitution) stays a FIFO and receives the bytes: a
 * rename over either would have replaced it with a plain file. */
static void test_write_through_links_and_fifos(void) {
    const int32_t y[3] = {4, 5, 6};
    write_text(tmp("linked.csv"), "old\n");
    CHECK(symlink("linked.csv", tmp("link.csv")) == 0);
    CHECK_OK(dc_write_labels(tmp("link.csv"), y, 3, DC_FORMAT_AUTO));
    struct stat st;
    CHECK(lstat(tmp("link.csv"), &st) == 0 && S_ISLNK(st.st_mode));
    size_t n;
    unsigned char *raw = read_file(tmp("linked.csv"), &n);
    CHECK_MSG(raw && !strcmp((char *)raw, "4\n5\n6\n"), "linked file holds '%s'", raw);
    free(raw);
    CHECK(count_prefixed("link.csv.tmp.") == 0 && count_prefixed("linked.csv.tmp.") == 0);

    CHECK(mkfifo(tmp("pipe.csv"), 0600) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0);
    const pid_t child = fork();
    if (child == 0) { /* the reader: the FIFO's bytes back through the pipe */
        close(fds[0]);
        alarm(20); /* a writer that replaced the FIFO never opens it: give up */
        FILE *f = fopen(tmp("pipe.csv"), "rb");
        char buf[256];
        size_t got = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (write(fds[1], buf, got) != (ssize_t)got) _exit(2);
        _exit(f ? 0 : 1);
    }
    close(fds[1]);
    CHECK_OK(dc_write_labels(tmp("pipe.csv"), y, 3, DC_FORMAT_AUTO));
    char got[256] = {0};
    ssize_t len = read(fds[0], got, sizeof got - 1);
    int status = 0;
    waitpid(child, &status, 0);
    close(fds[0]);
    CHECK_MSG(len == 6 && !memcmp(got, "4\n5\n6\n", 6), "the reader got %zd bytes '%s'", len, got);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(stat(tmp("pipe.csv"), &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(count_prefixed("pipe.csv.tmp.") == 0);
}

int main(void) {
    make_dir();
    test_paths_and_labels();
    test_writers();
    test_write_through_links_and_fifos();
    remove_dir();
    DC_TEST_END();
}
