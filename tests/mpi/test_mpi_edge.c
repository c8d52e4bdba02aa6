/* Edge cases of the distributed layer (run by test_mpi.c's main, group
 * "edge"): blocks that are not dc_mpi_block's split, a cancel on one rank
 * (a progress callback, dc_solver_cancel from a thread) stopping every rank,
 * no memory left behind on those paths, an allocation failing on one rank
 * (at every point of a k-means, NJW and SCDBAS fit) returning on all, gzip data under a plain .npy / .idx
 * name, and crafted NPY / IDX headers whose sizes overflow. A deadlock
 * (one rank left, the others waiting in a collective) ends the run through
 * an alarm instead of the suite's timeout. */
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mpi_common.h"
#include "deepclust.h"
#include "deepclust/mpi.h"

#define DEADLOCK_SECONDS 90

static const char *g_step = "";

static void on_alarm(int sig) {
    (void)sig;
    char msg[256];
    int len = snprintf(msg, sizeof msg, "rank %d: no progress for %d s in '%s' (deadlock?)\n",
                       rank, DEADLOCK_SECONDS, g_step);
    if (write(2, msg, (size_t)len) < 0) _exit(4);
    _exit(3);
}

static void watchdog(const char *step) {
    g_step = step;
    alarm(DEADLOCK_SECONDS);
}

/* ---- a counting allocator: nothing left behind by a failed fit ---- */

static long g_live;           /* allocations not freed yet */
static long g_allocs;         /* allocations made since the last reset */
static long g_fail_at = -1;   /* this allocation fails (g_allocs counts from 1); -1: none */

static int injected_failure(void) {
    return g_fail_at >= 0 && __atomic_add_fetch(&g_allocs, 1, __ATOMIC_RELAXED) == g_fail_at;
}

static void *count_malloc(void *u, size_t n) {
    (void)u;
    if (injected_failure()) return NULL;
    void *p = malloc(n);
    if (p) __atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
    return p;
}

static void *count_realloc(void *u, void *p, size_t n) {
    (void)u;
    if (injected_failure()) return NULL;
    void *q = realloc(p, n);
    if (q && !p) __atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
    return q;
}

static void count_free(void *u, void *p) {
    (void)u;
    if (p) __atomic_sub_fetch(&g_live, 1, __ATOMIC_RELAXED);
    free(p);
}

/* ---- blocks that are not the dc_mpi_block split ---- */

/* Rank r's rows: weights (size - r)^2, so rank 0's block is the largest
 * (larger than ceil(n / size): the ring's buffer must take it) and the
 * others shrink; every rank at least one row. */
static void uneven_block(int64_t n, int64_t *first, int64_t *count) {
    int64_t wsum = 0, before = 0;
    for (int r = 0; r < size; r++) wsum += (int64_t)(size - r) * (size - r);
    for (int r = 0; r < rank; r++) before += (int64_t)(size - r) * (size - r);
    const int64_t w = (int64_t)(size - rank) * (size - rank);
    /* floor(before n / wsum) .. floor((before + w) n / wsum), at least one each */
    int64_t f = before * n / wsum, e = (before + w) * n / wsum;
    if (f < rank) f = rank;
    if (e < rank + 1) e = rank + 1;
    if (rank == size - 1) e = n;
    *first = f;
    *count = e - f;
}

static void test_uneven(void) {
    const int64_t n = 90, d = 3, k = 3;
    float *x = blobs_sep(n, d, 21, 3, 8.0);
    int64_t f, c;
    uneven_block(n, &f, &c);
    int64_t ef, ec;
    dc_mpi_block(n, rank, size, &ef, &ec);
    if (size > 1 && rank == 0) CHECK(c > ec); /* really not the even split */
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x + f * d, c, d, DC_BORROW));
    const char *methods[3] = {"njw", "scdbas", "kmeans"};
    for (int t = 0; t < 3; t++) {
        watchdog(methods[t]);
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, methods[t]));
        dc_solver_set(s, "k", (double)k);
        if (t == 1) {
            dc_solver_set(s, "dbas_beetles", 2);
            dc_solver_set(s, "dbas_iters", 20);
        }
        CHECK_OK(dc_solver_fit(s, ds));
        int64_t nl = 0, rows = 0;
        dc_solver_labels(s, NULL, 0, &nl);
        CHECK_MSG(nl == (rank == 0 ? n : c), "%s: %lld labels on rank %d", methods[t],
                  (long long)nl, rank);
        if (t < 2) {
            CHECK_OK(dc_solver_output(s, "embedding", NULL, 0, &rows, NULL));
            CHECK(rows == nl);
        }
        int32_t *lab = calloc((size_t)n, sizeof(int32_t));
        dc_solver_labels(s, lab, rank == 0 ? n : c, NULL);
        dc_solver_free(s);
        MPI_Barrier(MPI_COMM_WORLD);
        /* the one-process method on all rows: the same partition */
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL)));
        if (rank == 0) {
            dc_dataset *all = NULL;
            dc_solver *p = NULL;
            int32_t *ref = calloc((size_t)n, sizeof(int32_t));
            double ari = -1;
            CHECK_OK(dc_dataset_create(&all, x, n, d, DC_BORROW));
            CHECK_OK(dc_solver_create(&p, methods[t]));
            dc_solver_set(p, "k", (double)k);
            if (t < 2) dc_solver_set_str(p, "affinity", "sparse");
            CHECK_OK(dc_solver_fit(p, all));
            dc_solver_labels(p, ref, n, NULL);
            CHECK_OK(dc_metrics_ari(ref, lab, n, &ari));
            CHECK_MSG(ari == 1.0, "%s on uneven blocks: ARI %g vs one process", methods[t], ari);
            free(ref);
            dc_solver_free(p);
            dc_dataset_free(all);
        }
        CHECK_OK(dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD)));
        free(lab);
    }
    alarm(0);
    dc_dataset_free(ds);
    free(x);
}

/* ---- a cancel on one rank stops every rank ---- */

static const char *g_cancel_phase; /* the last rank's callback cancels here */
static int g_calls;

static int cancel_cb(void *u, const char *phase, long long done, long long total, double v) {
    (void)u, (void)done, (void)total, (void)v;
    g_calls++;
    return rank == size - 1 && g_cancel_phase && !strcmp(phase, g_cancel_phase);
}

typedef struct canceller {
    dc_solver *s;
    const char *phase; /* dc_mpi_bytes_sent(phase) > after: then cancel */
    int64_t after;
} canceller;

static void *cancel_thread(void *arg) {
    canceller *c = arg;
    /* the counter is this rank's own, read while the fit runs: it only grows */
    for (int i = 0; i < 60000 && dc_mpi_bytes_sent(c->phase) <= c->after; i++) usleep(1000);
    dc_solver_cancel(c->s);
    return NULL;
}

/* Every rank: the fit's status (must be DC_ERR_CANCELLED), allocations back
 * to where they were once the solver is freed. */
static void check_all_cancelled(dc_status st, const char *what) {
    CHECK_MSG(st == DC_ERR_CANCELLED, "%s: rank %d returned %d (%s)", what, rank, (int)st,
              dc_last_error());
    int all = st == DC_ERR_CANCELLED, every = 0;
    MPI_Allreduce(&all, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    CHECK_MSG(every == 1, "%s: not every rank was cancelled", what);
}

/* This rank's block of three separated blobs (n x d, seed), copied into a
 * data set after switching to the counting allocator: everything the test
 * allocates next is counted. Free with dc_dataset_free, then restore the
 * allocator. */
static dc_dataset *counted_block(int64_t n, int64_t d, uint64_t seed) {
    float *x = blobs_sep(n, d, seed, 3, 8.0);
    int64_t f, c;
    dc_mpi_block(n, rank, size, &f, &c);
    CHECK_OK(dc_set_allocator(count_malloc, count_realloc, count_free, NULL));
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x + f * d, c, d, DC_COPY));
    free(x);
    return ds;
}

/* cb: the progress callback cases; th: dc_solver_cancel from a thread */
static void test_cancel(int cb, int th) {
    const int64_t n = 90, d = 3;
    dc_dataset *ds = counted_block(n, d, 22);

    /* the last rank's progress callback: in the embedding, between beetles */
    const char *phases[2] = {"embedding", "dbas"};
    for (int t = 0; cb && t < 2; t++) {
        char what[64];
        snprintf(what, sizeof what, "scdbas, callback cancel in '%s'", phases[t]);
        watchdog(what);
        const long live0 = __atomic_load_n(&g_live, __ATOMIC_RELAXED);
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, "scdbas"));
        dc_solver_set(s, "k", 3);
        dc_solver_set(s, "dbas_beetles", 3);
        dc_solver_set(s, "dbas_iters", 10);
        CHECK_OK(dc_solver_set_progress(s, cancel_cb, NULL));
        g_cancel_phase = phases[t];
        g_calls = 0;
        check_all_cancelled(dc_solver_fit(s, ds), what);
        if (rank == size - 1)
            CHECK_MSG(strstr(dc_last_error(), "progress callback") != NULL, "%s: %s", what,
                      dc_last_error());
        dc_solver_free(s);
        const long live = __atomic_load_n(&g_live, __ATOMIC_RELAXED);
        CHECK_MSG(live == live0, "%s: %ld allocations left behind on rank %d", what, live - live0,
                  rank);
    }
    g_cancel_phase = NULL;

    /* dc_solver_cancel from a thread of the last rank while the beetle
     * search runs (its fitness traffic under way; the search would take
     * minutes), and while the k-means restarts run (10^4 of them on 3000
     * rows: seconds) */
    const char *methods[2] = {"scdbas", "kmeans"};
    const int64_t nk = 3000, dk = 8;
    float *xk = blobs(nk, dk, 24);
    int64_t fk, ck;
    dc_mpi_block(nk, rank, size, &fk, &ck);
    dc_dataset *dk_ds = NULL;
    CHECK_OK(dc_dataset_create(&dk_ds, xk + fk * dk, ck, dk, DC_COPY));
    for (int t = 0; th && t < 2; t++) {
        char what[64];
        snprintf(what, sizeof what, "%s, dc_solver_cancel from a thread", methods[t]);
        watchdog(what);
        const long live0 = __atomic_load_n(&g_live, __ATOMIC_RELAXED);
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, methods[t]));
        dc_solver_set(s, "k", 3);
        if (t == 0) {
            dc_solver_set(s, "dbas_beetles", 1);
            CHECK_OK(dc_solver_set(s, "dbas_iters", 1e6));
            CHECK_OK(dc_solver_set(s, "dbas_excursion", 1e6));
        } else CHECK_OK(dc_solver_set(s, "n_init", 1e4));
        canceller cc = {s, t == 0 ? "search" : "lloyd", 4096};
        pthread_t th;
        dc_mpi_reset_counters();
        if (rank == size - 1) CHECK(pthread_create(&th, NULL, cancel_thread, &cc) == 0);
        check_all_cancelled(dc_solver_fit(s, t == 0 ? ds : dk_ds), what);
        if (t == 0 && rank == size - 1)
            CHECK_MSG(strstr(dc_last_error(), "beetle search") != NULL, "%s: %s", what,
                      dc_last_error());
        if (rank == size - 1) pthread_join(th, NULL);
        dc_solver_free(s);
        const long live = __atomic_load_n(&g_live, __ATOMIC_RELAXED);
        CHECK_MSG(live == live0, "%s: %ld allocations left behind on rank %d", what, live - live0,
                  rank);
    }
    alarm(0);
    dc_dataset_free(ds);
    dc_dataset_free(dk_ds);
    CHECK_OK(dc_set_allocator(NULL, NULL, NULL, NULL));
    free(xk);
}

/* ---- a failed allocation on one rank: every rank returns ---- */

/* The last rank's N-th allocation of a fit fails, for every N up to the
 * fit's count (every 9th with more than 2 ranks: oversubscribed, each fit
 * costs more): every rank must return the same status (a local failure is
 * agreed before the next collective: no rank left waiting), and nothing is
 * left allocated. */
static void test_alloc_failures(void) {
    const int64_t n = 60, d = 3;
    dc_dataset *ds = counted_block(n, d, 25);
    const char *methods[3] = {"kmeans", "njw", "scdbas"};
    for (int t = 0; t < 3; t++) {
        long total = 0, bad = 0, leaked = 0, disagree = 0;
        for (long at = 0; at == 0 || at <= total; at += at == 0 || size <= 2 ? 1 : 9) {
            char what[64];
            snprintf(what, sizeof what, "%s, allocation %ld failing on the last rank", methods[t], at);
            watchdog(what);
            const long live0 = __atomic_load_n(&g_live, __ATOMIC_RELAXED);
            dc_solver *s = NULL;
            CHECK_OK(dc_solver_create(&s, methods[t]));
            dc_solver_set(s, "k", 3);
            dc_solver_set(s, "dbas_beetles", 2);
            dc_solver_set(s, "dbas_iters", 10);
            __atomic_store_n(&g_allocs, 0, __ATOMIC_RELAXED);
            /* at 0: no failure, count the fit's allocations */
            g_fail_at = at > 0 && rank == size - 1 ? at : (at == 0 ? 0 : -1);
            int st = (int)dc_solver_fit(s, ds), lo = 0, hi = 0;
            g_fail_at = -1;
            if (at == 0) {
                CHECK_MSG(st == DC_OK, "%s: %d (%s)", methods[t], st, dc_last_error());
                total = __atomic_load_n(&g_allocs, __ATOMIC_RELAXED);
                MPI_Bcast(&total, 1, MPI_LONG, size - 1, MPI_COMM_WORLD);
            }
            MPI_Allreduce(&st, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
            MPI_Allreduce(&st, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            if (lo != hi && !disagree++)
                fprintf(stderr, "rank %d: %s: statuses %d to %d over the ranks\n", rank, what, lo,
                        hi);
            bad += st != DC_OK;
            dc_solver_free(s);
            if (__atomic_load_n(&g_live, __ATOMIC_RELAXED) != live0 && !leaked++)
                fprintf(stderr, "rank %d: %s: %ld allocations left behind\n", rank, what,
                        __atomic_load_n(&g_live, __ATOMIC_RELAXED) - live0);
        }
        CHECK_MSG(total > 10, "%s: %ld allocations", methods[t], total);
        CHECK_MSG(disagree == 0, "%s: the ranks disagreed on %ld injected failures", methods[t],
                  disagree);
        CHECK_MSG(leaked == 0, "%s: memory left behind after %ld injected failures", methods[t],
                  leaked);
        if (rank == size - 1) CHECK_MSG(bad > 0, "%s: no injected failure failed the fit", methods[t]);
    }
    alarm(0);
    dc_dataset_free(ds);
    CHECK_OK(dc_set_allocator(NULL, NULL, NULL, NULL));
}

/* ---- files ---- */

static void write_bytes(const char *path, const void *buf, size_t len) {
    if (rank == 0) {
        FILE *fp = fopen(path, "wb");
        CHECK(fp != NULL);
        if (fp) {
            CHECK(fwrite(buf, 1, len, fp) == len);
            fclose(fp);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void gzip_to(const char *src, const char *dst) {
    if (rank == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", src, dst);
        CHECK(system(cmd) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* The block of path equals rows [f, f + c) of the one-process load. */
static void check_same_block(const char *path) {
    dc_dataset *mine = NULL, *whole = NULL;
    int64_t total = 0, f, c;
    CHECK_OK(dc_mpi_dataset_load(&mine, path, NULL, &total));
    CHECK_OK(dc_dataset_load(&whole, path, NULL));
    if (mine && whole) {
        const int64_t n = dc_dataset_rows(whole), d = dc_dataset_cols(whole);
        dc_mpi_block(n, rank, size, &f, &c);
        CHECK_MSG(total == n && dc_dataset_rows(mine) == c && dc_dataset_cols(mine) == d,
                  "%s: %lld of %lld rows x %lld", path, (long long)dc_dataset_rows(mine),
                  (long long)total, (long long)dc_dataset_cols(mine));
        if (dc_dataset_rows(mine) == c && dc_dataset_cols(mine) == d)
            CHECK_MSG(!memcmp(dc_dataset_data(mine), dc_dataset_data(whole) + f * d,
                              sizeof(float) * (size_t)(c * d)),
                      "%s: rank %d's rows differ", path, rank);
    }
    dc_dataset_free(mine);
    dc_dataset_free(whole);
}

/* A crafted header: the one-process reader's status and message on every
 * rank (the whole data checked against the file size, overflow-free). */
static void check_bad_header(const char *path, const char *want) {
    dc_dataset *ds = NULL;
    dc_status one = dc_dataset_load(&ds, path, NULL);
    char one_msg[512];
    snprintf(one_msg, sizeof one_msg, "%s", dc_last_error());
    CHECK_MSG(one == DC_ERR_TRUNCATED, "%s: one process %d (%s)", path, (int)one, one_msg);
    dc_status st = dc_mpi_dataset_load(&ds, path, NULL, NULL);
    CHECK_MSG(st == one, "%s: distributed %d (%s), one process %d", path, (int)st, dc_last_error(),
              (int)one);
    CHECK_MSG(strstr(dc_last_error(), want) != NULL, "%s: %s", path, dc_last_error());
    CHECK(ds == NULL);
}

static void test_files(const char *dir) {
    watchdog("files");
    char path[512], gz[600];
    /* gzip data named .npy / .idx: read whole and cut, as .gz names are */
    const int64_t n = 37, d = 4;
    float *x = blobs(n, d, 23);
    snprintf(path, sizeof path, "%s/edge_plain.npy", dir);
    if (rank == 0) CHECK_OK(dc_write_matrix(path, x, n, d, DC_FORMAT_NPY));
    MPI_Barrier(MPI_COMM_WORLD);
    snprintf(gz, sizeof gz, "%s/edge_gzip_data.npy", dir);
    gzip_to(path, gz);
    check_same_block(gz);
    unsigned char idx[4 + 8 + 37 * 6];
    memcpy(idx, "\0\0\x08\x02\0\0\0\x25\0\0\0\x06", 12);
    for (int i = 0; i < 37 * 6; i++) idx[12 + i] = (unsigned char)(i * 7);
    snprintf(path, sizeof path, "%s/edge_plain.idx", dir);
    write_bytes(path, idx, sizeof idx);
    check_same_block(path);
    snprintf(gz, sizeof gz, "%s/edge_gzip_data.idx", dir);
    gzip_to(path, gz);
    check_same_block(gz);
    free(x);

    /* shape (2^61, 4) float32: 2^65 bytes, a wrapping product */
    const char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 4), }";
    unsigned char npy[256];
    size_t hl = 118; /* 10 + 118 = 128 */
    memset(npy, ' ', sizeof npy);
    memcpy(npy, "\x93NUMPY\x01\x00", 8);
    npy[8] = (unsigned char)hl;
    npy[9] = 0;
    memcpy(npy + 10, hdr, sizeof hdr - 1);
    npy[10 + hl - 1] = '\n';
    memset(npy + 128, 0, 64); /* 64 bytes of data */
    snprintf(path, sizeof path, "%s/edge_huge.npy", dir);
    write_bytes(path, npy, 192);
    check_bad_header(path, "file ends inside the NPY data");
    /* IDX: 2 x (2^32 - 1)^3 bytes (wraps in 64 bits) */
    unsigned char big[4 + 16 + 16] = {0, 0, 8, 4, 0, 0, 0, 2};
    memset(big + 8, 0xff, 12);
    snprintf(path, sizeof path, "%s/edge_huge.idx", dir);
    write_bytes(path, big, sizeof big);
    check_bad_header(path, "file ends inside the IDX data");
    /* IDX: 2 x 2^48 bytes, no overflow, far more than the file */
    unsigned char wide[4 + 16 + 16] = {0, 0, 8, 4, 0, 0, 0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
    snprintf(path, sizeof path, "%s/edge_wide.idx", dir);
    write_bytes(path, wide, sizeof wide);
    check_bad_header(path, "file ends inside the IDX data");
    alarm(0);
}

void test_edge(const char *dir, int *passed, int *failed) {
    signal(SIGALRM, on_alarm);
    /* DCT_EDGE=uneven|cancel|cancel_cb|cancel_thread|alloc|files runs one part */
    const char *part = getenv("DCT_EDGE");
    if (!part || !strcmp(part, "uneven")) test_uneven();
    if (!part || !strncmp(part, "cancel", 6))
        test_cancel(!part || strcmp(part, "cancel_thread") != 0,
                    !part || strcmp(part, "cancel_cb") != 0);
    if (!part || !strcmp(part, "alloc")) test_alloc_failures();
    if (!part || !strcmp(part, "files")) test_files(dir);
    *passed += dct_pass;
    *failed += dct_fail;
}
