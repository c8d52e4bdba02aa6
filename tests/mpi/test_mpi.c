/* The distributed layer (lib/mpi), run under mpirun with 1, 2 and 4 ranks
 * (tests/mpi/meson.build): block split, MPI errors as DC_ERR_IO naming the
 * rank, block loading with the fingerprint check (text tables split by line
 * offsets), distributed k-means equal
 * to a 1-rank run of the same code on the whole data (every rank computes
 * that reference itself on a communicator of its own), methods without a
 * distributed fit refused, counters; the distributed spectral embedding
 * equal to the single-process one up to the eigenvectors' signs, NJW and
 * SCDBAS labels equal to the single-process methods' (ARI >= 0.99); the
 * data-parallel deep methods: test_mpi_deep.c; uneven blocks, a cancel on
 * one rank, crafted and misnamed files: test_mpi_edge.c (group "edge"). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mpi_common.h"
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

int rank, size;

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
    /* right after the reset: nothing counted, so the counts below are this
     * fit's (the check that the reset clears nonzero counts follows the fit) */
    CHECK(dc_mpi_bytes_sent("lloyd") == 0);
    CHECK(dc_mpi_bytes_sent("seed") == 0);
    CHECK(dc_mpi_bytes_sent("setup") == 0);
    CHECK_OK(dc_solver_fit(s, ds));
    /* every rank takes part in the Lloyd and seeding allreduces, which count
     * on every rank (even alone: MPI is still called) */
    CHECK_MSG(dc_mpi_bytes_sent("lloyd") > 0, "lloyd %lld",
              (long long)dc_mpi_bytes_sent("lloyd"));
    CHECK_MSG(dc_mpi_bytes_sent("seed") > 0, "seed %lld", (long long)dc_mpi_bytes_sent("seed"));
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
    /* The reset clears the counts the fit just made, every phase (the
     * phase names of include/deepclust/mpi.h). */
    dc_mpi_reset_counters();
    static const char *const phases[] = {"setup", "load",   "seed",  "lloyd",    "gather",
                                         "pca",   "knn",    "graph", "eigen",    "search",
                                         "pretrain", "train", "embed", "checkpoint"};
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
        CHECK_MSG(dc_mpi_bytes_sent(phases[i]) == 0, "after reset: %s = %lld", phases[i],
                  (long long)dc_mpi_bytes_sent(phases[i]));

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
    if (!only || !strcmp(only, "edge")) test_edge(dir, &dct_pass, &dct_fail);
    if (!only || !strcmp(only, "deep")) test_deep(dir, &dct_pass, &dct_fail);
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
