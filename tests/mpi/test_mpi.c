/* The distributed layer (lib/mpi), run under mpirun with 1, 2 and 4 ranks
 * (tests/mpi/meson.build): block split, MPI errors as DC_ERR_IO naming the
 * rank, block loading with the fingerprint check (text tables split by line
 * offsets), distributed k-means equal
 * to a 1-rank run of the same code on the whole data (every rank computes
 * that reference itself on a communicator of its own), methods without a
 * distributed fit refused, counters; the distributed spectral embedding
 * equal to the single-process one up to the eigenvectors' signs, NJW and
 * SCDBAS labels equal to the single-process methods' (ARI >= 0.99); the
 * data-parallel IDEC / DEC: a 1-rank communicator gives the single-process
 * fit bit for bit, N ranks stay within 3 ACC points of one process with the
 * same parameters on every rank, the measured bytes are the model's, a
 * checkpoint resumes on as many ranks and is refused on another count. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "deepclust.h"
#include "deepclust/mpi.h"
#include "mpi/comm.h"
#include "mpi/kmeans_mpi.h"
#include "mpi/spectral_mpi.h"
#include "graph/spectral.h"
#include "methods/deep_model.h"
#include "nn/dense.h"
#include "nn/dist.h"

static int rank, size;

/* Gaussian blobs: row i in blob i % groups, whose centre is `sep` along
 * the axes m with m % groups == i % groups. */
static float *blobs_sep(int64_t n, int64_t d, uint64_t seed, int groups, double sep) {
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_TEST);
    for (int64_t i = 0; i < n; i++)
        for (int64_t m = 0; m < d; m++)
            x[i * d + m] = (float)(dci_rng_normal(&r) + sep * ((i % groups) == m % groups));
    return x;
}

/* Four well separated blobs. */
static float *blobs(int64_t n, int64_t d, uint64_t seed) { return blobs_sep(n, d, seed, 4, 6.0); }

static void test_block(void) {
    int64_t total = 0, prev_end = 0;
    for (int r = 0; r < 7; r++) {
        int64_t f, c;
        dc_mpi_block(100, r, 7, &f, &c);
        CHECK(f == prev_end);
        CHECK(c == 14 || c == 15);
        prev_end = f + c;
        total += c;
    }
    CHECK(total == 100);
    int64_t f, c;
    dc_mpi_block(3, 3, 4, &f, &c);
    CHECK(c == 1 && f == 2);
}

static void test_errors(void) {
    /* an invalid root: Open MPI returns an error (MPI_ERRORS_RETURN) */
    double v = 1.0;
    dc_status st = dci_mpi_bcast(&v, 1, MPI_DOUBLE, size + 3, DCI_PH_SETUP, "test broadcast");
    CHECK_STATUS(st, DC_ERR_IO);
    char want[64];
    snprintf(want, sizeof want, "on rank %d of %d", rank, size);
    CHECK_MSG(strstr(dc_last_error(), want) != NULL, "%s", dc_last_error());
    /* one rank failing: every rank gets an error, the others name it */
    st = dci_mpi_agree(rank == size - 1 ? dci_fail(DC_ERR_FORMAT, "rank-local failure") : DC_OK,
                       "agreement");
    CHECK_STATUS(st, DC_ERR_FORMAT);
    if (rank != size - 1) {
        snprintf(want, sizeof want, "rank %d of %d failed", size - 1, size);
        CHECK_MSG(strstr(dc_last_error(), want) != NULL, "%s", dc_last_error());
    }
}

/* An NPY file of the data, written by rank 0. */
static void write_npy(const char *path, const float *x, int64_t n, int64_t d) {
    if (rank == 0) CHECK_OK(dc_write_matrix(path, x, n, d, DC_FORMAT_NPY));
    MPI_Barrier(MPI_COMM_WORLD);
}

static void test_load(const char *dir) {
    const int64_t n = 203, d = 5;
    float *x = blobs(n, d, 7);
    char path[512], gz[600], other[600];
    snprintf(path, sizeof path, "%s/mpi_load.npy", dir);
    write_npy(path, x, n, d);
    dc_dataset *ds = NULL;
    int64_t total = 0, f, c;
    CHECK_OK(dc_mpi_dataset_load(&ds, path, NULL, &total));
    dc_mpi_block(n, rank, size, &f, &c);
    CHECK(total == n);
    CHECK(ds && dc_dataset_rows(ds) == c && dc_dataset_cols(ds) == d);
    if (ds) CHECK(memcmp(dc_dataset_data(ds), x + f * d, sizeof(float) * (size_t)(c * d)) == 0);
    /* zscore / minmax with the statistics of all rows: the block of the whole
     * set normalised in one process */
    for (int mode = DC_NORM_MINMAX; mode <= DC_NORM_ZSCORE; mode++) {
        dc_dataset *whole = NULL, *blk = NULL;
        CHECK_OK(dc_dataset_create(&whole, x, n, d, DC_COPY));
        CHECK_OK(dc_dataset_normalize(whole, (dc_normalization)mode));
        CHECK_OK(dc_dataset_subset(&blk, ds, 0, c));
        CHECK_OK(dc_mpi_dataset_normalize(blk, (dc_normalization)mode));
        double worst = 0;
        for (int64_t i = 0; i < c * d; i++)
            worst = fmax(worst, fabs(dc_dataset_data(blk)[i] - dc_dataset_data(whole)[f * d + i]));
        CHECK_MSG(worst < 1e-5, "mode %d: differs by %g", mode, worst);
        CHECK(dc_dataset_normalization(blk) == (dc_normalization)mode);
        CHECK_STATUS(dc_mpi_dataset_normalize(blk, (dc_normalization)mode), DC_ERR_STATE);
        dc_dataset_free(whole);
        dc_dataset_free(blk);
    }
    dc_dataset_free(ds);
    /* the same rows from a gzip copy (read whole and cut) */
    snprintf(gz, sizeof gz, "%s.gz", path);
    if (rank == 0) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", path, gz);
        CHECK(system(cmd) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    ds = NULL;
    CHECK_OK(dc_mpi_dataset_load(&ds, gz, NULL, &total));
    if (ds) CHECK(memcmp(dc_dataset_data(ds), x + f * d, sizeof(float) * (size_t)(c * d)) == 0);
    dc_dataset_free(ds);
    /* a file that differs between ranks: each rank its own content */
    snprintf(other, sizeof other, "%s/mpi_differs_%d.npy", dir, rank);
    x[0] = (float)rank;
    CHECK_OK(dc_write_matrix(other, x, n, d, DC_FORMAT_NPY));
    /* each rank reads its own copy (per-rank names; the check is on content:
     * equal sizes, different head CRCs) */
    ds = NULL;
    dc_status st = dc_mpi_dataset_load(&ds, other, NULL, NULL);
    if (size > 1) {
        CHECK_STATUS(st, DC_ERR_IO);
        CHECK_MSG(strstr(dc_last_error(), "differs between ranks") ||
                      strstr(dc_last_error(), "failed"), "%s", dc_last_error());
    } else CHECK_OK(st);
    dc_dataset_free(ds);
    /* more ranks than rows */
    snprintf(path, sizeof path, "%s/mpi_tiny.npy", dir);
    write_npy(path, x, size > 1 ? size - 1 : 1, d);
    ds = NULL;
    st = dc_mpi_dataset_load(&ds, path, NULL, NULL);
    if (size > 1) {
        CHECK_STATUS(st, DC_ERR_SHAPE);
        CHECK_MSG(strstr(dc_last_error(), "every rank needs at least one row"), "%s", dc_last_error());
    }
    dc_dataset_free(ds);
    free(x);
}

/* Text tables split by line offsets (lib/mpi/load_csv_mpi.c): every rank's
 * block equals the same rows of the one-process reader's result, whatever
 * falls on the byte boundaries (comments, blank lines, CRLF, a byte-order
 * mark, long runs of blanks, a header, a label column); errors name the
 * file's own line numbers. */
static void write_text(const char *path, const char *text) {
    if (rank == 0) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            fputs(text, f);
            fclose(f);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* n rows "i,i", row `bad` written with bad_fmt instead. */
static void write_rows(const char *path, int n, int bad, const char *bad_fmt) {
    char text[4096] = "", line[64];
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof line, i == bad ? bad_fmt : "%d,%d\n", i, i);
        strcat(text, line);
    }
    write_text(path, text);
}

static void check_csv_block(const char *path, const dc_load_options *opt) {
    dc_dataset *whole = NULL, *mine = NULL;
    int64_t total = 0, f, c;
    CHECK_OK(dc_dataset_load(&whole, path, opt));
    CHECK_OK(dc_mpi_dataset_load(&mine, path, opt, &total));
    if (!whole || !mine) {
        dc_dataset_free(whole);
        dc_dataset_free(mine);
        return;
    }
    const int64_t n = dc_dataset_rows(whole), d = dc_dataset_cols(whole);
    dc_mpi_block(n, rank, size, &f, &c);
    CHECK_MSG(total == n, "%s: %lld rows, the reader %lld", path, (long long)total, (long long)n);
    CHECK_MSG(dc_dataset_rows(mine) == c && dc_dataset_cols(mine) == d, "%s: block %lld x %lld",
              path, (long long)dc_dataset_rows(mine), (long long)dc_dataset_cols(mine));
    if (dc_dataset_rows(mine) == c && dc_dataset_cols(mine) == d)
        CHECK_MSG(memcmp(dc_dataset_data(mine), dc_dataset_data(whole) + f * d,
                         sizeof(float) * (size_t)(c * d)) == 0, "%s: rank %d's rows differ", path, rank);
    const int32_t *ya = dc_dataset_labels(whole), *yb = dc_dataset_labels(mine);
    CHECK((ya == NULL) == (yb == NULL));
    if (ya && yb && dc_dataset_rows(mine) == c)
        CHECK(memcmp(yb, ya + f, sizeof(int32_t) * (size_t)c) == 0);
    dc_dataset_free(whole);
    dc_dataset_free(mine);
}

/* Blocks followed by digits: a parser that reads past a block's end (strtod
 * on a buffer without its terminator) then sees a longer number and fails
 * every time, not only when the heap happens to hold a digit there. */
static void *digit_tail_malloc(void *u, size_t n) {
    (void)u;
    char *p = malloc(n + 16);
    if (p) memset(p + n, '7', 16);
    return p;
}

static void *digit_tail_realloc(void *u, void *p, size_t n) {
    (void)u;
    char *q = realloc(p, n + 16);
    if (q) memset(q + n, '7', 16);
    return q;
}

static void digit_tail_free(void *u, void *p) {
    (void)u;
    free(p);
}

static void test_load_csv(const char *dir) {
    char path[512];
    CHECK_OK(dc_set_allocator(digit_tail_malloc, digit_tail_realloc, digit_tail_free, NULL));
    snprintf(path, sizeof path, "%s/mpi_table.csv", dir);
    /* 37 rows of 3 values, with everything the reader skips between them */
    char text[16384] = "\xEF\xBB\xBF# a comment first\n\n";
    for (int i = 0; i < 37; i++) {
        char line[256];
        const char *pad = i % 5 == 1 ? "                                                                       "
                                       "                   " : "";
        snprintf(line, sizeof line, "%s%d.5,%d,%g%s%s", pad, i, -i, i * 0.25,
                 i % 3 == 0 ? "\r\n" : "\n", i % 7 == 2 ? "   \n# note\n\r\n" : "");
        strcat(text, line);
    }
    write_text(path, text);
    dc_load_options opt;
    dc_load_options_default(&opt);
    check_csv_block(path, &opt);
    /* a header, semicolons, a label column, no newline at the end */
    snprintf(path, sizeof path, "%s/mpi_table_labels.csv", dir);
    strcpy(text, "a;b;label\n");
    for (int i = 0; i < 23; i++) {
        char line[128];
        snprintf(line, sizeof line, "%d;%d;%d%s", i, i * i, i % 3, i < 22 ? "\n" : "");
        strcat(text, line);
    }
    write_text(path, text);
    opt.label_column = DC_LABEL_COLUMN_LAST;
    check_csv_block(path, &opt);
    /* one row per rank at the most: each rank gets exactly one */
    snprintf(path, sizeof path, "%s/mpi_table_small.csv", dir);
    text[0] = 0;
    for (int i = 0; i < size; i++) {
        char line[64];
        snprintf(line, sizeof line, "%d,%d\n", i, 2 * i);
        strcat(text, line);
    }
    write_text(path, text);
    dc_load_options_default(&opt);
    check_csv_block(path, &opt);
    /* a bad cell, a field too many: the status and line of the one-process reader */
    snprintf(path, sizeof path, "%s/mpi_table_bad.csv", dir);
    dc_dataset *ds = NULL;
    write_rows(path, 40, 31, "%d,x%d\n");
    CHECK_STATUS(dc_mpi_dataset_load(&ds, path, &opt, NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 32") || strstr(dc_last_error(), "failed"), "%s",
              dc_last_error());
    write_rows(path, 40, 20, "%d,%d,1\n");
    CHECK_STATUS(dc_mpi_dataset_load(&ds, path, &opt, NULL), DC_ERR_FORMAT);
    CHECK_MSG(strstr(dc_last_error(), "line 21: expected 2 fields, got 3") ||
                  strstr(dc_last_error(), "failed"), "%s", dc_last_error());
    /* nothing but a comment; more ranks than rows */
    write_text(path, "# only this\n");
    CHECK_STATUS(dc_mpi_dataset_load(&ds, path, &opt, NULL), DC_ERR_FORMAT);
    if (size > 1) {
        write_text(path, "1,2\n");
        CHECK_STATUS(dc_mpi_dataset_load(&ds, path, &opt, NULL), DC_ERR_SHAPE);
        CHECK_MSG(strstr(dc_last_error(), "every rank needs at least one row"), "%s",
                  dc_last_error());
    }
    CHECK(ds == NULL);
    CHECK_OK(dc_set_allocator(NULL, NULL, NULL, NULL));
}

/* The distributed k-means on the blocks against the same code on one rank
 * (MPI_COMM_SELF) with all rows: equal labels and centres. */
static void test_kmeans(void) {
    const int64_t n = 1001, d = 5, k = 4;
    float *x = blobs(n, d, 3);
    int64_t f, c;
    dc_mpi_block(n, rank, size, &f, &c);
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x + f * d, c, d, DC_BORROW));
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "kmeans"));
    dc_solver_set(s, "k", (double)k);
    dc_solver_set(s, "seed", 5);
    dc_solver_set(s, "n_init", 3);
    dc_mpi_reset_counters();
    CHECK_OK(dc_solver_fit(s, ds));
    int64_t nl = 0;
    CHECK_OK(dc_solver_labels(s, NULL, 0, &nl));
    CHECK(nl == (rank == 0 ? n : c));
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
    dc_solver_labels(s, lab, n, NULL);
    double inertia = 0, ranks = 0, lloyd = 0, lloyd_max = 0, iters = 0;
    dc_solver_stat(s, "inertia", &inertia);
    dc_solver_stat(s, "ranks", &ranks);
    dc_solver_stat(s, "iterations", &iters);
    CHECK_OK(dc_solver_stat(s, "mpi_bytes_lloyd", &lloyd));
    CHECK_OK(dc_solver_stat(s, "mpi_bytes_max_lloyd", &lloyd_max));
    CHECK(ranks == size);
    CHECK(lloyd == lloyd_max); /* every rank the same allreduces */
    CHECK((int64_t)lloyd == dc_mpi_bytes_sent("lloyd"));
    CHECK(dc_mpi_bytes_sent("nonsense") == -1);
    float cent[4 * 5];
    CHECK_OK(dc_solver_output(s, "centers", cent, k * d, NULL, NULL));

    /* the reference: the same code, one rank, all rows */
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_SELF)));
    dc_dataset *all = NULL;
    CHECK_OK(dc_dataset_create(&all, x, n, d, DC_BORROW));
    dc_solver *r = NULL;
    CHECK_OK(dc_solver_create(&r, "kmeans"));
    dc_solver_set(r, "k", (double)k);
    dc_solver_set(r, "seed", 5);
    dc_solver_set(r, "n_init", 3);
    CHECK_OK(dc_solver_fit(r, all));
    int32_t *ref = malloc(sizeof(int32_t) * (size_t)n);
    dc_solver_labels(r, ref, n, NULL);
    double ref_inertia = 0;
    dc_solver_stat(r, "inertia", &ref_inertia);
    float rcent[4 * 5];
    dc_solver_output(r, "centers", rcent, k * d, NULL, NULL);
    CHECK_MSG(fabs(inertia - ref_inertia) <= 1e-9 * ref_inertia, "%.17g vs %.17g", inertia,
              ref_inertia);
    int same = 1;
    /* rank 0 holds all n labels, the others their own block */
    for (int64_t i = 0; i < (rank == 0 ? n : c); i++)
        if (lab[i] != ref[(rank == 0 ? 0 : f) + i]) same = 0;
    CHECK_MSG(same, "labels differ from the 1-rank run on rank %d", rank);
    double dmax = 0;
    for (int i = 0; i < k * d; i++) dmax = fmax(dmax, fabs(cent[i] - rcent[i]));
    CHECK_MSG(dmax < 1e-5, "centres differ by %g", dmax);
    /* and the single-process library k-means finds the same partition here */
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
    dc_solver *p = NULL;
    CHECK_OK(dc_solver_create(&p, "kmeans"));
    dc_solver_set(p, "k", (double)k);
    CHECK_OK(dc_solver_fit(p, all));
    int32_t *plain = malloc(sizeof(int32_t) * (size_t)n);
    dc_solver_labels(p, plain, n, NULL);
    double ari = 0;
    dc_metrics_ari(ref, plain, n, &ari);
    CHECK_MSG(ari > 0.99, "ARI vs the single-process k-means %g", ari);
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));

    /* k > n (all ranks agree) */
    dc_solver_set(s, "k", 1e6);
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE);
    free(plain);
    free(ref);
    free(lab);
    dc_solver_free(p);
    dc_solver_free(r);
    dc_solver_free(s);
    dc_dataset_free(all);
    dc_dataset_free(ds);
    free(x);
}

/* Overlapping blobs (a connected graph, so the eigensolver has work). */
static float *soft_blobs(int64_t n, int64_t d, uint64_t seed) { return blobs_sep(n, d, seed, 3, 3.0); }

static double ari_vs_plain(const char *method, const float *x, int64_t n, int64_t d, int64_t k,
                           const int32_t *dist_labels) {
    dc_dataset *all = NULL;
    dc_solver *p = NULL;
    double ari = -1;
    int32_t *plain = malloc(sizeof(int32_t) * (size_t)n);
    if (dc_dataset_create(&all, x, n, d, DC_BORROW) == DC_OK &&
        dc_solver_create(&p, method) == DC_OK) {
        dc_solver_set(p, "k", (double)k);
        dc_solver_set_str(p, "affinity", "sparse");
        if (dc_solver_fit(p, all) == DC_OK) {
            dc_solver_labels(p, plain, n, NULL);
            dc_metrics_ari(plain, dist_labels, n, &ari);
        }
    }
    free(plain);
    dc_solver_free(p);
    dc_dataset_free(all);
    return ari;
}

static void test_spectral(void) {
    const int64_t n = 1200, d = 6, k = 3;
    float *x = soft_blobs(n, d, 11);
    int64_t f, c;
    dc_mpi_block(n, rank, size, &f, &c);
    /* the embedding against the single-process pipeline with the same options */
    dci_spectral_opts o = {DCI_SPECTRAL_SPARSE, 10, DCI_EIGEN_ARPACK, 4, -1, -1,
                           DCI_DISCONNECTED_REGULARIZE};
    float *Y = malloc(sizeof(float) * (size_t)(c * k)), *R = malloc(sizeof(float) * (size_t)(n * k));
    dci_spectral_stats st = {0}, rs = {0};
    CHECK_OK(dci_spectral_embedding_mpi(&(dci_block){x + f * d, c, d, n, f}, k, &o, Y, &st));
    CHECK_OK(dci_spectral_embedding(x, n, d, k, &o, R, &rs));
    CHECK(st.components == 1 && rs.components == 1);
    double worst = 0;
    for (int64_t l = 0; l < k; l++) {
        double dot = 0;
        for (int64_t i = 0; i < c; i++) dot += (double)Y[i * k + l] * R[(f + i) * k + l];
        MPI_Allreduce(MPI_IN_PLACE, &dot, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        double sg = dot < 0 ? -1.0 : 1.0;
        for (int64_t i = 0; i < c; i++) worst = fmax(worst, fabs(Y[i * k + l] - sg * R[(f + i) * k + l]));
    }
    CHECK_MSG(worst < 1e-4, "embedding differs by %g on rank %d", worst, rank);
    free(Y);
    free(R);

    /* NJW and SCDBAS through the solver: labels on rank 0 against one process */
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x + f * d, c, d, DC_BORROW));
    const char *methods[2] = {"njw", "scdbas"};
    for (int t = 0; t < 2; t++) {
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, methods[t]));
        dc_solver_set(s, "k", (double)k);
        if (t == 1) {
            dc_solver_set(s, "dbas_beetles", 3);
            dc_solver_set(s, "dbas_iters", 40);
        }
        CHECK_OK(dc_solver_fit(s, ds));
        int64_t nl = 0, rows = 0, cols = 0;
        dc_solver_labels(s, NULL, 0, &nl);
        CHECK(nl == (rank == 0 ? n : c));
        CHECK_OK(dc_solver_output(s, "embedding", NULL, 0, &rows, &cols));
        CHECK(rows == nl && cols == k);
        double kb = 0, eb = 0;
        if (size > 1) { /* the ring and the halo carried something */
            CHECK_OK(dc_solver_stat(s, "mpi_bytes_max_knn", &kb));
            CHECK_OK(dc_solver_stat(s, "mpi_bytes_max_eigen", &eb));
            CHECK(kb > 0 && eb > 0);
        }
        /* the single-process reference needs no communicator: compare on rank 0 */
        int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
        dc_solver_labels(s, lab, rank == 0 ? n : c, NULL);
        dc_solver_free(s);
        MPI_Barrier(MPI_COMM_WORLD);
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
        if (rank == 0) {
            double ari = ari_vs_plain(methods[t], x, n, d, k, lab);
            CHECK_MSG(ari >= 0.99, "%s: ARI %g vs one process", methods[t], ari);
        }
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
        free(lab);
    }
    /* not distributed (yet): refused on every rank */
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "scdbas"));
    dc_solver_set(s, "k", (double)k);
    dc_solver_set_str(s, "dbas_mode", "paper");
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_UNSUPPORTED);
    dc_solver_set_str(s, "dbas_mode", "improved");
    dc_solver_set_str(s, "affinity", "dense");
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_UNSUPPORTED);
    dc_solver_free(s);
    dc_dataset_free(ds);
    free(x);

    /* Every point with a duplicate and p = round(8 / 9) = 1: the sigmas of
     * the nearest are all 0; the scale comes from the 2 nearest, as in one
     * process (this failed as degenerate), and the three groups come out. */
    const float dup[16] = {0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 20, 20, 20, 20};
    const int32_t groups[8] = {0, 0, 0, 1, 1, 1, 2, 2};
    dc_mpi_block(8, rank, size, &f, &c);
    CHECK_OK(dc_dataset_create(&ds, dup + f * 2, c, 2, DC_BORROW));
    CHECK_OK(dc_solver_create(&s, "njw"));
    dc_solver_set(s, "k", 3);
    dc_solver_set(s, "m", 5);
    CHECK_OK(dc_solver_fit(s, ds));
    int32_t lab8[8] = {0};
    dc_solver_labels(s, lab8, rank == 0 ? 8 : c, NULL);
    double ari8 = 0;
    if (rank == 0) {
        CHECK_OK(dc_metrics_ari(groups, lab8, 8, &ari8));
        CHECK_MSG(ari8 == 1.0, "duplicates: ARI %g", ari8);
    }
    dc_solver_free(s);
    dc_dataset_free(ds);
}

/* ---- the deep methods ---- */

/* A small IDEC / DEC: hidden 32-16, embedding 4, batch 200, no early stop
 * (tol 0: every run makes max_iter iterations). Few steps: under mpirun
 * on a busy machine every collective costs a scheduling round. */
static dc_solver *small_deep(const char *method, int64_t k, int64_t max_iter) {
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, method));
    if (!s) return NULL;
    dc_solver_set(s, "k", (double)k);
    dc_solver_set(s, "hidden1", 32);
    dc_solver_set(s, "hidden2", 16);
    dc_solver_set(s, "hidden3", 0);
    dc_solver_set(s, "embed_dim", 4);
    dc_solver_set(s, "batch", 200);
    dc_solver_set(s, "pretrain_steps", 60);
    dc_solver_set(s, "pretrain_lr", 0.01);
    dc_solver_set(s, "max_iter", (double)max_iter);
    dc_solver_set(s, "update_interval", 10);
    dc_solver_set(s, "n_init", 3);
    dc_solver_set(s, "tol", 0);
    dc_solver_set(s, "seed", 2);
    return s;
}

static double stat_of(const dc_solver *s, const char *name) {
    double v = -1;
    CHECK_MSG(dc_solver_stat(s, name, &v) == DC_OK, "statistic %s missing", name);
    return v;
}

static double param_of(const dc_solver *s, const char *name) {
    double v = -1;
    CHECK_MSG(dc_solver_get(s, name, &v) == DC_OK, "parameter %s missing", name);
    return v;
}

static int32_t *labels_of(const dc_solver *s, int64_t *count) {
    int64_t nl = 0;
    dc_solver_labels(s, NULL, 0, &nl);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)(nl > 0 ? nl : 1));
    dc_solver_labels(s, lab, nl, NULL);
    *count = nl;
    return lab;
}

static float *output_of(const dc_solver *s, const char *name, int64_t *count) {
    int64_t rows = 0, cols = 0;
    dc_solver_output(s, name, NULL, 0, &rows, &cols);
    float *o = malloc(sizeof(float) * (size_t)(rows * cols > 0 ? rows * cols : 1));
    dc_solver_output(s, name, o, rows * cols, NULL, NULL);
    *count = rows * cols;
    return o;
}

/* FNV-1a of every parameter (networks and centres) of the fitted model. */
static uint64_t params_hash(const dc_solver *s, int64_t *count) {
    dc_model *m = NULL;
    uint64_t h = 1469598103934665603ull;
    *count = 0;
    if (dc_solver_model(s, &m) != DC_OK) return 0;
    const dci_mlp *nets[3] = {m->enc, m->enc_nb, m->dec};
    for (int i = 0; i < 4; i++) {
        const float *p = i < 3 ? (nets[i] ? dci_mlp_params_const(nets[i]) : NULL) : m->centers;
        const int64_t c = i < 3 ? (nets[i] ? dci_mlp_param_count(nets[i]) : 0) : m->k * dci_model_dim(m);
        const unsigned char *b = (const unsigned char *)p;
        for (int64_t j = 0; j < c * (int64_t)sizeof(float); j++) h = (h ^ b[j]) * 1099511628211ull;
        *count += c;
    }
    if (m->weights) { /* EDCWRN's representation weights: not trained by SGD, not counted */
        const unsigned char *b = (const unsigned char *)m->weights;
        for (int64_t j = 0; j < m->k * dci_model_dim(m) * (int64_t)sizeof(float); j++)
            h = (h ^ b[j]) * 1099511628211ull;
    }
    dc_model_free(m);
    return h;
}

/* The single-process fit and the same code on a 1-rank communicator
 * (MPI_COMM_SELF, on every rank): the hooks change nothing. */
static void test_deep_one_rank(const float *x, int64_t n, int64_t d) {
    /* EDCWRN with its neighbour branch and weights updated in training
     * (weighting 1 = true), and with weighting = after (2) */
    const char *methods[4] = {"idec", "dec", "edcwrn", "edcwrn"};
    const int weighting[4] = {-1, -1, 1, 2};
    for (int t = 0; t < 4; t++) {
        dc_dataset *all = NULL;
        CHECK_OK(dc_dataset_create(&all, x, n, d, DC_BORROW));
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_SELF)));
        dc_solver *a = small_deep(methods[t], 4, 60);
        if (weighting[t] >= 0) dc_solver_set(a, "weighting", weighting[t]);
        CHECK_OK(dc_solver_fit(a, all));
        CHECK(stat_of(a, "ranks") == 1);
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
        dc_solver *b = small_deep(methods[t], 4, 60);
        if (weighting[t] >= 0) dc_solver_set(b, "weighting", weighting[t]);
        CHECK_OK(dc_solver_fit(b, all));
        CHECK(dc_solver_stat(b, "ranks", &(double){0}) != DC_OK); /* no communicator */
        int64_t na = 0, nb = 0, ea = 0, eb = 0, la = 0, lb = 0;
        int32_t *A = labels_of(a, &na), *B = labels_of(b, &nb);
        float *EA = output_of(a, "embedding", &ea), *EB = output_of(b, "embedding", &eb);
        float *LA = output_of(a, "loss", &la), *LB = output_of(b, "loss", &lb);
        CHECK(na == n && nb == n && memcmp(A, B, sizeof(int32_t) * (size_t)n) == 0);
        CHECK_MSG(ea == eb && ea == n * 4 && memcmp(EA, EB, sizeof(float) * (size_t)ea) == 0,
                  "%s: the 1-rank embedding differs from the single-process one", methods[t]);
        CHECK_MSG(la == lb && la == 60 * 3 && memcmp(LA, LB, sizeof(float) * (size_t)la) == 0,
                  "%s: the 1-rank loss history differs", methods[t]);
        free(A), free(B), free(EA), free(EB), free(LA), free(LB);
        dc_solver_free(a);
        dc_solver_free(b);
        dc_dataset_free(all);
    }
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
}

/* A deep method on the blocks of all ranks: ACC within 3 points of one
 * process, the same parameters on every rank, the bytes of the model
 * (docs/scaling.md). weighting: -1 the method's default (EDCWRN: true,
 * weights from every global batch), else EDCWRN's choice index (2 = after). */
static void deep_ranks(const char *method, int weighting, const float *x, const int32_t *truth,
                       int64_t n, int64_t d, dc_model **ae) {
    int64_t f, c;
    dc_mpi_block(n, rank, size, &f, &c);
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x + f * d, c, d, DC_BORROW));
    dc_solver *s = small_deep(method, 4, 40);
    if (weighting >= 0) dc_solver_set(s, "weighting", weighting);
    CHECK_OK(dc_solver_fit(s, ds));
    if (ae) CHECK_OK(dc_solver_pretrained(s, ae));
    int64_t nl = 0, P = 0;
    int32_t *lab = labels_of(s, &nl);
    CHECK(nl == (rank == 0 ? n : c));
    /* identical weights on every rank */
    const uint64_t h = params_hash(s, &P);
    uint64_t lo = h, hi = h;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    CHECK_MSG(h != 0 && lo == hi, "%s: rank %d: the parameters differ between ranks", method,
              rank);
    /* bytes: (P + 5) x 4 per step in both phases; EDCWRN's neighbour branch
     * adds per step its rows' v_x and e_z (2 M b_r floats, gathered) and the
     * global batch's e_z gradient (B M, summed), its weights in training the
     * rows' z (M b_r); the embedding allgathers 4 c M per use (initial
     * centres, every target update, the result), twice with the branch
     * (e and e_nb), and the reference set's row hashes 8 c; the neighbour
     * lists of the rank's rows 8 c kn per search (the spectral initial
     * centres' and every update's) and its rows of the final embedding
     * 4 c M (each rank searches for its own rows). Batch 200 of
     * 600 rows: every rank's share b_r = 200 / ranks each step. */
    const int nb = !strcmp(method, "edcwrn");
    const int64_t M = 4, K = 4, B = 200, br = B / size, iters = (int64_t)stat_of(s, "iterations");
    const int64_t updates = (int64_t)stat_of(s, "updates");
    /* pre-training: the autoencoder without enc_nb (d-32-16-4) */
    const int64_t enc = d * 32 + 32 + 32 * 16 + 16 + 16 * M + M, P_ae = P - K * M - (nb ? enc : 0);
    const int wtrain = nb && weighting != 2; /* EDCWRN's default: weighting = true */
    const int64_t steps = (int64_t)stat_of(s, "pretrain_steps");
    CHECK(iters == 40 && updates == 4 && steps == 60);
    const int64_t per_iter = (P + DCI_DIST_EXTRA) * 4 +
                             (nb ? 4 * (2 * M * br + B * M + (wtrain ? M * br : 0)) : 0);
    CHECK_MSG((int64_t)stat_of(s, "mpi_bytes_train") == per_iter * iters,
              "%s: train bytes %g, model %lld", method, stat_of(s, "mpi_bytes_train"),
              (long long)(per_iter * iters));
    CHECK(dc_mpi_bytes_sent("train") == per_iter * iters);
    CHECK_MSG((int64_t)stat_of(s, "mpi_bytes_pretrain") == (P_ae + DCI_DIST_EXTRA) * 4 * steps,
              "%s: pretrain bytes %g, model %lld", method, stat_of(s, "mpi_bytes_pretrain"),
              (long long)((P_ae + DCI_DIST_EXTRA) * 4 * steps));
    const int64_t kn = nb ? (int64_t)param_of(s, "neighbors_k") : 0;
    const int64_t embed = 4 * c * M * (updates + 2) * (nb ? 2 : 1) +
                          (nb ? 8 * c + 8 * c * kn * (updates + 1) + 4 * c * M : 0);
    CHECK_MSG((int64_t)stat_of(s, "mpi_bytes_embed") == embed, "%s: embed bytes %g, model %lld",
              method, stat_of(s, "mpi_bytes_embed"), (long long)embed);
    dc_solver_free(s);
    /* ACC against one process with the same parameters (rank 0 alone) */
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
    if (rank == 0) {
        dc_dataset *all = NULL;
        CHECK_OK(dc_dataset_create(&all, x, n, d, DC_BORROW));
        dc_solver *p = small_deep(method, 4, 40);
        if (weighting >= 0) dc_solver_set(p, "weighting", weighting);
        CHECK_OK(dc_solver_fit(p, all));
        int64_t np_ = 0;
        int32_t *plain = labels_of(p, &np_);
        double acc_d = 0, acc_p = 0;
        dc_metrics_acc(truth, lab, n, &acc_d);
        dc_metrics_acc(truth, plain, n, &acc_p);
        printf("%s %lld x %lld: ACC %.4f on %d ranks, %.4f in one process\n", method,
               (long long)n, (long long)d, acc_d, size, acc_p);
        CHECK_MSG(fabs(acc_d - acc_p) <= 0.03, "%s: ACC %.4f on %d ranks, %.4f in one process",
                  method, acc_d, size, acc_p);
        CHECK_MSG(acc_p > 0.9, "one process: ACC %.4f (the set is meant to be easy)", acc_p);
        if (size == 1) CHECK(memcmp(lab, plain, sizeof(int32_t) * (size_t)n) == 0);
        free(plain);
        dc_solver_free(p);
        dc_dataset_free(all);
    }
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
    free(lab);
    dc_dataset_free(ds);
}

/* Cancels the clustering phase at iteration 17 (the progress callback of
 * the last rank only, as a signal would reach one process). */
static int cancel_at_17(void *user, const char *phase, long long done, long long total,
                        double value) {
    (void)user, (void)total, (void)value;
    return rank == size - 1 && !strcmp(phase, "cluster") && done == 17;
}

static int cancel_in_pretrain(void *user, const char *phase, long long done, long long total,
                              double value) {
    (void)user, (void)done, (void)total, (void)value;
    return !strcmp(phase, "pretrain");
}

/* A checkpoint of N ranks: resumed on N it continues the fit exactly;
 * on another count it is refused naming both. A fit cancelled on one rank
 * stops on all at the same iteration and saves it: resuming gives the
 * uninterrupted fit. */
static void test_deep_resume(const char *dir, const float *x, int64_t n, int64_t d,
                             const dc_model *ae) {
    int64_t f, c;
    dc_mpi_block(n, rank, size, &f, &c);
    dc_dataset *ds = NULL, *all = NULL;
    CHECK_OK(dc_dataset_create(&ds, x + f * d, c, d, DC_BORROW));
    CHECK_OK(dc_dataset_create(&all, x, n, d, DC_BORROW));
    char ck[512], want[128];
    snprintf(ck, sizeof ck, "%s/deep_np%d.ckpt", dir, size);
    /* the pre-trained autoencoder of test_deep_ranks: no pre-training here */
    dc_solver *a = small_deep("dec", 4, 10);
    CHECK_OK(dc_solver_use_pretrained(a, ae));
    CHECK_OK(dc_solver_set_checkpoint(a, ck, 10));
    CHECK_OK(dc_solver_fit(a, ds));
    dc_solver_free(a);
    dc_solver *r = NULL;
    CHECK_OK(dc_solver_create(&r, "dec"));
    dc_solver_set(r, "max_iter", 25);
    CHECK_OK(dc_solver_resume(r, ds, ck));
    dc_solver *u = small_deep("dec", 4, 25);
    CHECK_OK(dc_solver_use_pretrained(u, ae));
    CHECK_OK(dc_solver_fit(u, ds));
    int64_t nr = 0, nu = 0;
    int32_t *R = labels_of(r, &nr), *U = labels_of(u, &nu);
    CHECK_MSG(nr == nu && nr == (rank == 0 ? n : c) &&
                  memcmp(R, U, sizeof(int32_t) * (size_t)nr) == 0,
              "rank %d: the resumed fit differs from the uninterrupted one", rank);
    CHECK(stat_of(r, "iterations") == 25);
    free(R);
    dc_solver_free(r);
    /* cancelled on the last rank at iteration 17 (checkpoints every 10) */
    char ckc[512];
    snprintf(ckc, sizeof ckc, "%s/deep_cancel_np%d.ckpt", dir, size);
    dc_solver *cf = small_deep("dec", 4, 25);
    CHECK_OK(dc_solver_use_pretrained(cf, ae));
    CHECK_OK(dc_solver_set_checkpoint(cf, ckc, 10));
    CHECK_OK(dc_solver_set_progress(cf, cancel_at_17, NULL));
    CHECK_STATUS(dc_solver_fit(cf, ds), DC_ERR_CANCELLED);
    CHECK_MSG(strstr(dc_last_error(), "at clustering iteration 17"), "rank %d: %s", rank,
              dc_last_error());
    dc_solver_free(cf);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_OK(dc_solver_create(&r, "dec"));
    dc_solver_set(r, "max_iter", 25);
    CHECK_OK(dc_solver_resume(r, ds, ckc));
    int64_t pr = 0, pu = 0;
    R = labels_of(r, &nr);
    CHECK_MSG(nr == nu && memcmp(R, U, sizeof(int32_t) * (size_t)nr) == 0 &&
                  params_hash(r, &pr) == params_hash(u, &pu) && pr == pu,
              "rank %d: the fit resumed from the cancel differs from the uninterrupted one", rank);
    CHECK(stat_of(r, "iterations") == 25);
    free(R), free(U);
    dc_solver_free(r);
    dc_solver_free(u);
    /* rank count of the checkpoint != this fit's */
    if (size > 1) {
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_SELF)));
        dc_solver *w = NULL;
        CHECK_OK(dc_solver_create(&w, "dec"));
        CHECK_STATUS(dc_solver_resume(w, all, ck), DC_ERR_INVALID_ARG);
        snprintf(want, sizeof want, "a fit on %d MPI ranks, this one runs on 1", size);
        CHECK_MSG(strstr(dc_last_error(), want), "%s", dc_last_error());
        dc_solver_free(w);
        /* and a 1-rank checkpoint (rank 0's, written on MPI_COMM_SELF) on N */
        char ck1[512];
        snprintf(ck1, sizeof ck1, "%s/deep_self.ckpt", dir);
        if (rank == 0) {
            dc_solver *o = small_deep("dec", 4, 5);
            CHECK_OK(dc_solver_use_pretrained(o, ae));
            CHECK_OK(dc_solver_set_checkpoint(o, ck1, 5));
            CHECK_OK(dc_solver_fit(o, all));
            dc_solver_free(o);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
        CHECK_OK(dc_solver_create(&w, "dec"));
        CHECK_STATUS(dc_solver_resume(w, ds, ck1), DC_ERR_INVALID_ARG);
        snprintf(want, sizeof want, "a fit on 1 MPI rank, this one runs on %d", size);
        CHECK_MSG(strstr(dc_last_error(), want), "%s", dc_last_error());
        dc_solver_free(w);
    }
    /* a pre-training checkpoint (one process, no communicator: rank 0
     * alone, cancelled in its first pre-training epoch; a distributed fit
     * writes none) is refused under MPI on any count */
    char ckp[512];
    snprintf(ckp, sizeof ckp, "%s/deep_pretrain_np%d.ckpt", dir, size);
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
    if (rank == 0) {
        dc_solver *o = small_deep("dec", 4, 5);
        CHECK_OK(dc_solver_set_checkpoint(o, ckp, 5));
        CHECK_OK(dc_solver_set_progress(o, cancel_in_pretrain, NULL));
        CHECK_STATUS(dc_solver_fit(o, all), DC_ERR_CANCELLED);
        const char *phase = NULL;
        CHECK_OK(dc_checkpoint_progress(ckp, &phase, NULL, NULL));
        CHECK(phase && !strcmp(phase, "pretrain"));
        dc_solver_free(o);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
    dc_solver *pw = NULL;
    CHECK_OK(dc_solver_create(&pw, "dec"));
    CHECK_STATUS(dc_solver_resume(pw, ds, ckp), DC_ERR_UNSUPPORTED);
    dc_solver_free(pw);
    dc_dataset_free(all);
    dc_dataset_free(ds);
}

static void test_deep(const char *dir) {
    const int64_t n = 600, d = 10;
    float *x = blobs_sep(n, d, 21, 4, 3.0);
    int32_t *truth = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) truth[i] = (int32_t)(i % 4);
    dc_model *ae = NULL;
    test_deep_one_rank(x, n, d);
    deep_ranks("idec", -1, x, truth, n, d, &ae);
    deep_ranks("edcwrn", -1, x, truth, n, d, NULL);
    deep_ranks("edcwrn", 2, x, truth, n, d, NULL);
    if (ae) test_deep_resume(dir, x, n, d, ae);
    dc_model_free(ae);
    free(truth);
    free(x);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *dir = argc > 1 ? argv[1] : ".";
    CHECK(dc_mpi_enabled() == 1);
    CHECK(dc_mpi_rank() == -1 && dc_mpi_size() == 0);
    dc_dataset *none = NULL;
    CHECK_STATUS(dc_mpi_dataset_load(&none, "x.npy", NULL, NULL), DC_ERR_STATE);
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
    CHECK(dc_mpi_rank() == rank && dc_mpi_size() == size);
    /* DCT_ONLY=deep runs one group (while working on it) */
    const char *only = getenv("DCT_ONLY");
    if (!only || !strcmp(only, "basic")) {
        test_block();
        test_errors();
        test_load(dir);
        test_load_csv(dir);
    }
    if (!only || !strcmp(only, "kmeans")) test_kmeans();
    if (!only || !strcmp(only, "spectral")) test_spectral();
    if (!only || !strcmp(only, "deep")) test_deep(dir);
    CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
    /* each rank its own count; the total over ranks decides */
    int res[2] = {dct_pass, dct_fail};
    MPI_Allreduce(MPI_IN_PLACE, res, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank != 0) {
        if (dct_fail) fprintf(stderr, "rank %d: %d failed\n", rank, dct_fail);
    }
    MPI_Finalize();
    if (rank == 0) printf("%d passed, %d failed (over %d ranks)\n", res[0], res[1], size);
    return res[1] ? 1 : 0;
}
