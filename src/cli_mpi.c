/* The CLI under mpirun (docs/scaling.md). Only `cluster` is distributed:
 * every rank reads its block of rows (dc_mpi_dataset_load), the fit is
 * collective, rank 0 gathers the labels, computes the metrics against the
 * whole label file (read on rank 0 only: n int32), writes the files and
 * prints; the other ranks print nothing but their errors. Options: --method
 * (kmeans, njw, scdbas), --data, --format, --labels, --normalize (minmax and
 * zscore with the statistics of all rows: dc_mpi_dataset_normalize), --k,
 * --seed, --json,
 * --out, --centers-out, --quiet, --threads, and every method parameter as
 * --name value. */
#include "cli_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <deepclust.h>
#include <deepclust/mpi.h>

#include "cli_json.h"

static int g_rank = 0;

int cli_mpi_launched(void);
int cli_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* Every rank's rc -> the largest (1 beats 0, 2 beats 1). */
static int agree_rc(int rc) {
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return rc;
}

static int lib_error(dc_status st, const char *what) {
    fprintf(stderr, "deepclust: rank %d: error: %s: %s (%s)\n", g_rank, what, dc_last_error(),
            dc_strerror(st));
    return 1;
}

static int usage(const char *msg, const char *arg) {
    if (g_rank == 0) fprintf(stderr, "deepclust: error: %s%s (under mpirun)\n", msg, arg ? arg : "");
    return 2;
}

typedef struct kv {
    const char *key, *value;
} kv;

static const char *opt_get(const kv *o, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (!strcmp(o[i].key, key)) return o[i].value;
    return NULL;
}

static const char *const own_keys[] = {"method", "data", "format", "labels", "normalize", "json",
                                       "out", "centers-out", "quiet", "threads"};

static int is_own(const char *key) {
    for (size_t i = 0; i < sizeof own_keys / sizeof *own_keys; i++)
        if (!strcmp(key, own_keys[i])) return 1;
    return 0;
}

static int cluster(int argc, char **argv) {
    kv o[64];
    int n_opt = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) return usage("unexpected argument ", a);
        if (n_opt == 64) return usage("too many options", NULL);
        o[n_opt].key = a + 2;
        int flag = !strcmp(a + 2, "json") || !strcmp(a + 2, "quiet");
        if (flag) o[n_opt].value = "true";
        else if (i + 1 < argc) o[n_opt].value = argv[++i];
        else return usage("missing value for ", a);
        n_opt++;
    }
    const char *method = opt_get(o, n_opt, "method"), *data = opt_get(o, n_opt, "data");
    const char *labels_path = opt_get(o, n_opt, "labels"), *out = opt_get(o, n_opt, "out");
    const char *centers_out = opt_get(o, n_opt, "centers-out"), *fmt = opt_get(o, n_opt, "format");
    const char *norm = opt_get(o, n_opt, "normalize"), *threads = opt_get(o, n_opt, "threads");
    const int json = opt_get(o, n_opt, "json") != NULL, quiet = opt_get(o, n_opt, "quiet") != NULL;
    if (!method) return usage("missing --method", NULL);
    if (!data) return usage("missing --data PATH", NULL);
    if (!strcmp(data, "-")) return usage("--data - (standard input) cannot be split between ranks", NULL);
    if ((out && !strcmp(out, "-")) || (centers_out && !strcmp(centers_out, "-")))
        return usage("output '-': write the labels to a file", NULL);
    dc_normalization nm = DC_NORM_NONE;
    if (norm && dc_normalization_from_name(norm, &nm)) return usage("unknown --normalize ", norm);
    if (threads) dc_set_threads(atoi(threads) > 0 ? atoi(threads) : 1);
    dc_load_options lo;
    dc_load_options_default(&lo);
    if (fmt && !strcmp(fmt, "csv")) lo.format = DC_FORMAT_CSV;
    else if (fmt && !strcmp(fmt, "npy")) lo.format = DC_FORMAT_NPY;
    else if (fmt && !strcmp(fmt, "idx")) lo.format = DC_FORMAT_IDX;
    else if (fmt) return usage("--format takes csv, npy or idx, not ", fmt);

    dc_solver *s = NULL;
    dc_status st = dc_solver_create(&s, method);
    if (st) {
        if (g_rank == 0) lib_error(st, "--method");
        return 2;
    }
    for (int i = 0; i < n_opt; i++) {
        if (is_own(o[i].key)) continue;
        char name[128];
        snprintf(name, sizeof name, "%s", o[i].key);
        for (char *c = name; *c; c++)
            if (*c == '-') *c = '_';
        if ((st = dc_solver_set_str(s, name, o[i].value))) {
            if (g_rank == 0) lib_error(st, o[i].key);
            dc_solver_free(s);
            return 2;
        }
    }
    double k = 0, seed = 0;
    dc_solver_get(s, "k", &k);
    dc_solver_get(s, "seed", &seed);
    if (k < 1) {
        dc_solver_free(s);
        return usage("missing --k K", NULL);
    }

    dc_dataset *ds = NULL;
    int64_t n = 0;
    int rc = 0;
    double t0 = MPI_Wtime();
    st = dc_mpi_dataset_load(&ds, data, &lo, &n);
    if (st) rc = lib_error(st, data);
    rc = agree_rc(rc); /* the normalisation is collective */
    if (!rc && nm != DC_NORM_NONE && (st = dc_mpi_dataset_normalize(ds, nm)))
        rc = lib_error(st, "--normalize");
    /* the truth on rank 0 (n labels), checked against n */
    int32_t *truth = NULL;
    if (!rc && g_rank == 0 && labels_path) {
        dc_dataset *lab = NULL;
        float one = 0.0f;
        int32_t *tmp = calloc((size_t)n, sizeof *tmp);
        st = tmp ? DC_OK : DC_ERR_NOMEM;
        /* a 1-column stand-in data set with n rows to hold the labels */
        float *col = st == DC_OK ? calloc((size_t)n, sizeof *col) : NULL;
        (void)one;
        if (st == DC_OK && !col) st = DC_ERR_NOMEM;
        if (st == DC_OK) st = dc_dataset_create(&lab, col, n, 1, DC_BORROW);
        if (st == DC_OK) st = dc_dataset_load_labels(lab, labels_path, DC_FORMAT_AUTO);
        if (st == DC_OK) memcpy(tmp, dc_dataset_labels(lab), sizeof *tmp * (size_t)n);
        dc_dataset_free(lab);
        free(col);
        if (st) {
            rc = lib_error(st, labels_path);
            free(tmp);
        } else truth = tmp;
    }
    rc = agree_rc(rc);
    double t_load = MPI_Wtime() - t0;
    if (!rc && (st = dc_solver_fit(s, ds))) rc = lib_error(st, method);
    rc = agree_rc(rc);

    int32_t *pred = NULL;
    double acc = 0, nmi = 0, ari = 0;
    if (!rc && g_rank == 0) {
        pred = malloc(sizeof *pred * (size_t)n);
        if (!pred) rc = lib_error(DC_ERR_NOMEM, "labels");
        else if ((st = dc_solver_labels(s, pred, n, NULL))) rc = lib_error(st, "labels");
        if (!rc && truth) {
            dc_metrics_acc(truth, pred, n, &acc);
            dc_metrics_nmi(truth, pred, n, DC_NMI_SQRT, &nmi);
            dc_metrics_ari(truth, pred, n, &ari);
        }
        if (!rc && out && (st = dc_write_labels(out, pred, n, DC_FORMAT_AUTO))) rc = lib_error(st, out);
        if (!rc && centers_out) {
            int64_t rows = 0, cols = 0;
            float *c = NULL;
            st = dc_solver_output(s, "centers", NULL, 0, &rows, &cols);
            if (!st && !(c = malloc(sizeof *c * (size_t)(rows * cols)))) st = DC_ERR_NOMEM;
            if (!st) st = dc_solver_output(s, "centers", c, rows * cols, &rows, &cols);
            if (!st) st = dc_write_matrix(centers_out, c, rows, cols, DC_FORMAT_AUTO);
            if (st) rc = lib_error(st, centers_out);
            free(c);
        }
    }
    rc = agree_rc(rc);
    if (!rc && g_rank == 0) {
        double seconds = 0;
        dc_solver_stat(s, "seconds", &seconds);
        int64_t d = dc_dataset_cols(ds);
        if (json) {
            cli_json j;
            json_begin(&j, stdout);
            json_str(&j, "method", method);
            json_int(&j, "n", n);
            json_int(&j, "d", d);
            json_int(&j, "k", (long long)k);
            json_int(&j, "seed", (long long)seed);
            json_num(&j, "seconds", seconds);
            json_int(&j, "ranks", dc_mpi_size());
            json_num(&j, "seconds_load", t_load);
            json_int(&j, "mpi_bytes_load", dc_mpi_bytes_sent("load"));
            if (truth) {
                json_num(&j, "acc", acc);
                json_num(&j, "nmi", nmi);
                json_num(&j, "ari", ari);
            }
            for (int i = 0; i < dc_solver_stat_count(s); i++) {
                const char *name = dc_solver_stat_name(s, i);
                double v;
                if (!strcmp(name, "seconds") || !strcmp(name, "ranks")) continue;
                dc_solver_stat(s, name, &v);
                json_num(&j, name, v);
            }
            if (out) json_str(&j, "out", out);
            json_end(&j);
        }
        if (!quiet) {
            fprintf(stderr, "%s: n=%lld d=%lld k=%lld on %d ranks in %.3f s\n", method,
                    (long long)n, (long long)d, (long long)k, dc_mpi_size(), seconds);
            if (truth) fprintf(stderr, "ACC %.4f  NMI %.4f  ARI %.4f\n", acc, nmi, ari);
            if (out) fprintf(stderr, "labels written to %s\n", out);
        }
    }
    free(pred);
    free(truth);
    dc_dataset_free(ds);
    dc_solver_free(s);
    return rc;
}

int cli_mpi_intercept(int argc, char **argv, int *rc) {
    if (!cli_mpi_launched()) return 0;
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fprintf(stderr, "deepclust: error: MPI_Init failed\n");
        *rc = 1;
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    if (argc < 2 || strcmp(argv[1], "cluster") != 0) {
        *rc = usage("only 'cluster' runs under mpirun; run other commands without it", NULL);
    } else {
        dc_status st = dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD));
        *rc = st ? lib_error(st, "MPI") : cluster(argc, argv);
        dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL));
    }
    MPI_Finalize();
    return 1;
}
