/* The CLI under mpirun (docs/scaling.md). `cluster` and `predict` are
 * distributed: every rank reads its block of rows (dc_mpi_dataset_load),
 * the fit is collective (predict: each rank its rows with the whole model),
 * rank 0 gathers the labels, computes the metrics against the whole label
 * file (read on rank 0 only: n int32), writes the files and prints; the
 * other ranks print nothing but their errors. Rank 0 checks the paths
 * first (no output may name an input: cli_files.h) and writes the outputs
 * as a group, each through a temporary file. cluster: --method (every
 * method), --data, --format, --labels, --normalize (minmax and zscore with
 * the statistics of all rows: dc_mpi_dataset_normalize), --k, --seed,
 * --json, --out, --centers-out, --quiet, --threads, and every method
 * parameter as --name value. predict: --model, --data, --format, --labels,
 * --normalize (as predict's), --out, --embedding-out, --json, --quiet,
 * --threads. */
#include "cli_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <deepclust.h>
#include <deepclust/mpi.h>

#include "cli_common.h"

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

/* What the command line asks for. */
typedef struct mreq {
    kv o[64];
    int n_opt;
    const char *method, *data, *labels, *out, *centers_out, *model, *embedding_out;
    int json, quiet;
    dc_normalization nm;
    dc_load_options lo;
} mreq;

/* The result a run reports (rank 0). */
typedef struct mres {
    int64_t n;
    double t_load;
    cli_metrics mt;
    const int32_t *truth;
} mres;

/* The options common to both commands; `own`: the command's option names,
 * NULL to pass the others to the solver. */
static int parse_request(int argc, char **argv, mreq *q, const char *const *own, int n_own) {
    memset(q, 0, sizeof *q);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) return usage("unexpected argument ", a);
        if (q->n_opt == 64) return usage("too many options", NULL);
        q->o[q->n_opt].key = a + 2;
        int flag = !strcmp(a + 2, "json") || !strcmp(a + 2, "quiet");
        if (flag) q->o[q->n_opt].value = "true";
        else if (i + 1 < argc) q->o[q->n_opt].value = argv[++i];
        else return usage("missing value for ", a);
        if (own) {
            int known = 0;
            for (int j = 0; j < n_own; j++) known |= !strcmp(a + 2, own[j]);
            if (!known) return usage("unknown option ", a);
        }
        q->n_opt++;
    }
    const kv *o = q->o;
    const int n_opt = q->n_opt;
    q->method = opt_get(o, n_opt, "method");
    q->data = opt_get(o, n_opt, "data");
    q->labels = opt_get(o, n_opt, "labels");
    q->out = opt_get(o, n_opt, "out");
    q->centers_out = opt_get(o, n_opt, "centers-out");
    q->model = opt_get(o, n_opt, "model");
    q->embedding_out = opt_get(o, n_opt, "embedding-out");
    q->json = opt_get(o, n_opt, "json") != NULL;
    q->quiet = opt_get(o, n_opt, "quiet") != NULL;
    /* Rank 0 speaks for all (the ranks' warnings are the same). */
    if (g_rank == 0) cli_collect_warnings(q->quiet);
    const char *fmt = opt_get(o, n_opt, "format"), *norm = opt_get(o, n_opt, "normalize");
    const char *threads = opt_get(o, n_opt, "threads");
    if (!q->data) return usage("missing --data PATH", NULL);
    if (!strcmp(q->data, "-"))
        return usage("--data - (standard input) cannot be split between ranks", NULL);
    if ((q->out && !strcmp(q->out, "-")) || (q->centers_out && !strcmp(q->centers_out, "-")) ||
        (q->embedding_out && !strcmp(q->embedding_out, "-")))
        return usage("output '-': write the labels to a file", NULL);
    q->nm = DC_NORM_NONE;
    if (norm && dc_normalization_from_name(norm, &q->nm)) return usage("unknown --normalize ", norm);
    if (threads) dc_set_threads(atoi(threads) > 0 ? atoi(threads) : 1);
    dc_load_options_default(&q->lo);
    if (fmt && !strcmp(fmt, "csv")) q->lo.format = DC_FORMAT_CSV;
    else if (fmt && !strcmp(fmt, "npy")) q->lo.format = DC_FORMAT_NPY;
    else if (fmt && !strcmp(fmt, "idx")) q->lo.format = DC_FORMAT_IDX;
    else if (fmt) return usage("--format takes csv, npy or idx, not ", fmt);
    return 0;
}

/* The solver with every option that is not the command's own as a parameter. */
static int make_solver(const mreq *q, dc_solver **out) {
    dc_solver *s = NULL;
    dc_status st = dc_solver_create(&s, q->method);
    if (st) {
        if (g_rank == 0) lib_error(st, "--method");
        return 2;
    }
    for (int i = 0; i < q->n_opt; i++) {
        if (is_own(q->o[i].key)) continue;
        char name[128];
        snprintf(name, sizeof name, "%s", q->o[i].key);
        for (char *c = name; *c; c++)
            if (*c == '-') *c = '_';
        if ((st = dc_solver_set_str(s, name, q->o[i].value))) {
            if (g_rank == 0) lib_error(st, q->o[i].key);
            dc_solver_free(s);
            return 2;
        }
    }
    double k = 0;
    dc_solver_get(s, "k", &k);
    if (k < 1) {
        dc_solver_free(s);
        return usage("missing --k K", NULL);
    }
    *out = s;
    return 0;
}

/* The n labels of a label file (rank 0 only: n int32), through a 1-column
 * stand-in data set that checks their count. */
static int load_truth(const char *path, int64_t n, int32_t **out) {
    dc_dataset *lab = NULL;
    int32_t *tmp = calloc((size_t)n, sizeof *tmp);
    float *col = calloc((size_t)n, sizeof *col);
    dc_status st = tmp && col ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) st = dc_dataset_create(&lab, col, n, 1, DC_BORROW);
    if (st == DC_OK) st = dc_dataset_load_labels(lab, path, DC_FORMAT_AUTO);
    if (st == DC_OK) memcpy(tmp, dc_dataset_labels(lab), sizeof *tmp * (size_t)n);
    dc_dataset_free(lab);
    free(col);
    if (st) {
        free(tmp);
        return lib_error(st, path);
    }
    *out = tmp;
    return 0;
}

/* Rank 0: no output may name an input or another output (then every
 * rank's exit code 2). */
static int check_paths(const mreq *q) {
    int rc = 0;
    if (g_rank == 0) {
        const cli_file in[] = {{"model", q->model, 0}, {"data", q->data, 0}, {"labels", q->labels, 0}};
        const cli_file outf[] = {{"out", q->out, 0},
                                 {"centers-out", q->centers_out, 0},
                                 {"embedding-out", q->embedding_out, 0}};
        rc = cli_check_files(in, 3, outf, 3, NULL, NULL);
    }
    return agree_rc(rc);
}

/* Rank 0: rows x cols floats to `path` among the run's outputs. */
static int put_matrix(cli_outputs *files, const char *flag, const char *path, const float *v,
                      int64_t rows, int64_t cols) {
    const char *tmp = cli_outputs_add(files, flag, path);
    if (!tmp) return 1;
    dc_status st = dc_write_matrix(tmp, v, rows, cols, DC_FORMAT_AUTO);
    return st ? lib_error(st, path) : 0;
}

/* Rank 0: the labels, the metrics and the output files (all or none). */
static int write_outputs(const mreq *q, const dc_solver *s, mres *r) {
    cli_outputs files;
    cli_outputs_init(&files);
    int32_t *pred = malloc(sizeof *pred * (size_t)r->n);
    float *c = NULL;
    dc_status st = pred ? dc_solver_labels(s, pred, r->n, NULL) : DC_ERR_NOMEM;
    int rc = st ? lib_error(st, "labels")
                : cli_score_and_write(r->truth, pred, r->n, &files, q->out, &r->mt);
    if (!rc && q->centers_out) {
        int64_t rows = 0, cols = 0;
        st = dc_solver_output(s, "centers", NULL, 0, &rows, &cols);
        if (!st && !(c = malloc(sizeof *c * (size_t)(rows * cols)))) st = DC_ERR_NOMEM;
        if (!st) st = dc_solver_output(s, "centers", c, rows * cols, &rows, &cols);
        rc = st ? lib_error(st, q->centers_out)
                : put_matrix(&files, "centers-out", q->centers_out, c, rows, cols);
    }
    if (!rc) rc = cli_outputs_commit(&files);
    cli_outputs_discard(&files);
    free(c);
    free(pred);
    return rc;
}

/* Rank 0: the JSON object (the one-process keys, plus ranks and the
 * distributed statistics; phases.load: the data's reading) and the summary
 * on stderr. */
static void report(const mreq *q, const dc_solver *s, const dc_dataset *ds, const mres *r) {
    double seconds = 0, k = 0, seed = 0;
    dc_solver_stat(s, "seconds", &seconds);
    dc_solver_get(s, "k", &k);
    dc_solver_get(s, "seed", &seed);
    const int64_t d = dc_dataset_cols(ds);
    if (q->json) {
        cli_json j;
        cli_json_run(&j, cli_json_stream(q->out), q->method, r->n, d, (long long)k,
                     (long long)seed, seconds);
        if (r->truth) cli_json_metrics(&j, &r->mt);
        json_int(&j, "mpi_bytes_load", dc_mpi_bytes_sent("load"));
        cli_json_solver_stats(&j, s, "load", r->t_load);
        if (q->out) json_str(&j, "out", q->out);
        cli_json_warnings(&j);
        json_end(&j);
    }
    if (!q->quiet) {
        fprintf(stderr, "%s: n=%lld d=%lld k=%lld on %d ranks in %.3f s\n", q->method,
                (long long)r->n, (long long)d, (long long)k, dc_mpi_size(), seconds);
        if (r->truth) cli_print_metrics(&r->mt);
        if (q->out)
            fprintf(stderr, "labels written to %s\n", cli_is_stdio(q->out) ? "stdout" : q->out);
    }
}

static int cluster(int argc, char **argv) {
    mreq q;
    dc_solver *s = NULL;
    int rc = parse_request(argc, argv, &q, NULL, 0);
    if (!rc && !q.method) rc = usage("missing --method", NULL);
    if (!rc) rc = make_solver(&q, &s);
    if (!rc && (rc = check_paths(&q))) dc_solver_free(s);
    if (rc) return rc;
    dc_dataset *ds = NULL;
    int32_t *truth = NULL;
    mres r = {0};
    double t0 = MPI_Wtime();
    dc_status st = dc_mpi_dataset_load(&ds, q.data, &q.lo, &r.n);
    if (st) rc = lib_error(st, q.data);
    rc = agree_rc(rc); /* the normalisation is collective */
    if (!rc && q.nm != DC_NORM_NONE && (st = dc_mpi_dataset_normalize(ds, q.nm)))
        rc = lib_error(st, "--normalize");
    if (!rc && g_rank == 0 && q.labels) rc = load_truth(q.labels, r.n, &truth);
    rc = agree_rc(rc);
    r.t_load = MPI_Wtime() - t0;
    r.truth = truth;
    if (!rc && (st = dc_solver_fit(s, ds))) rc = lib_error(st, q.method);
    rc = agree_rc(rc);
    if (!rc && g_rank == 0) rc = write_outputs(&q, s, &r);
    rc = agree_rc(rc);
    if (!rc && g_rank == 0) report(&q, s, ds, &r);
    free(truth);
    dc_dataset_free(ds);
    dc_solver_free(s);
    return rc;
}

/* v (this rank's nl rows of cols values) -> all n rows on rank 0, in rank
 * order (the blocks of dc_mpi_block). */
static int gather_rows(const void *v, int64_t nl, int64_t n, int64_t cols, MPI_Datatype t,
                       void *all, const char *what) {
    const int size = dc_mpi_size();
    int *cnt = malloc(sizeof *cnt * (size_t)size), *dsp = malloc(sizeof *dsp * (size_t)size);
    int rc = cnt && dsp ? 0 : lib_error(DC_ERR_NOMEM, what);
    if (!rc && n * cols > INT32_MAX) {
        if (g_rank == 0)
            fprintf(stderr, "deepclust: error: %s: %lld values are more than one MPI gather "
                    "carries (2^31 - 1); split the data\n", what, (long long)(n * cols));
        rc = 1;
    }
    for (int r = 0; !rc && r < size; r++) {
        int64_t f = 0, c = 0;
        dc_mpi_block(n, r, size, &f, &c);
        cnt[r] = (int)(c * cols);
        dsp[r] = (int)(f * cols);
    }
    rc = agree_rc(rc);
    if (!rc && MPI_Gatherv(v, (int)(nl * cols), t, all, cnt, dsp, t, 0, MPI_COMM_WORLD) !=
                   MPI_SUCCESS)
        rc = lib_error(DC_ERR_IO, what);
    free(cnt);
    free(dsp);
    return agree_rc(rc);
}

static const char *const predict_keys[] = {"model", "data",  "format",        "labels",
                                           "normalize", "json", "out", "embedding-out",
                                           "quiet", "threads"};

/* predict: every rank loads the model and its block, predicts its rows
 * (rows are independent: EDCWRN's neighbours come from the model's
 * reference set), rank 0 gathers labels and embedding rows. */
static int predict(int argc, char **argv) {
    mreq q;
    int rc = parse_request(argc, argv, &q, predict_keys,
                           (int)(sizeof predict_keys / sizeof *predict_keys));
    if (!rc && !q.model) rc = usage("predict needs --model FILE", NULL);
    if (!rc) rc = check_paths(&q);
    if (rc) return rc;
    dc_model *m = NULL;
    dc_dataset *ds = NULL;
    int32_t *pred = NULL, *all = NULL, *truth = NULL;
    float *z = NULL, *zall = NULL;
    mres r = {0};
    const char *norm = opt_get(q.o, q.n_opt, "normalize"), *source = "none";
    dc_status st = dc_model_load(&m, q.model);
    if (st) rc = lib_error(st, q.model);
    rc = agree_rc(rc);
    if (!rc && (st = dc_mpi_dataset_load(&ds, q.data, &q.lo, &r.n))) rc = lib_error(st, q.data);
    rc = agree_rc(rc); /* the data's own statistics are collective */
    if (!rc) rc = cli_normalize_for_model(m, ds, norm, &source, dc_mpi_dataset_normalize);
    if (!rc && g_rank == 0 && q.labels) rc = load_truth(q.labels, r.n, &truth);
    rc = agree_rc(rc);
    const int64_t nl = rc ? 0 : dc_dataset_rows(ds), M = m ? dc_model_embed_dim(m) : 0;
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    if (!rc && !(pred = malloc(sizeof *pred * (size_t)(nl ? nl : 1))))
        rc = lib_error(DC_ERR_NOMEM, "labels");
    if (!rc && (st = dc_model_predict(m, ds, pred, nl))) rc = lib_error(st, "predict");
    rc = agree_rc(rc);
    if (!rc && g_rank == 0 && !(all = malloc(sizeof *all * (size_t)r.n)))
        rc = lib_error(DC_ERR_NOMEM, "labels");
    rc = agree_rc(rc);
    if (!rc) rc = gather_rows(pred, nl, r.n, 1, MPI_INT32_T, all, "labels");
    if (!rc && q.embedding_out) {
        if (!(z = malloc(sizeof *z * (size_t)(nl * M > 0 ? nl * M : 1))) ||
            (g_rank == 0 && !(zall = malloc(sizeof *zall * (size_t)(r.n * M)))))
            rc = lib_error(DC_ERR_NOMEM, q.embedding_out);
        else if ((st = dc_model_embed(m, ds, z, nl * M)))
            rc = lib_error(st, q.embedding_out);
        rc = agree_rc(rc);
        if (!rc) rc = gather_rows(z, nl, r.n, M, MPI_FLOAT, zall, "embedding");
    }
    const double seconds = MPI_Wtime() - t0;
    r.truth = truth;
    if (!rc && g_rank == 0) {
        cli_outputs files;
        cli_outputs_init(&files);
        rc = cli_score_and_write(truth, all, r.n, &files, q.out, &r.mt);
        if (!rc && zall) rc = put_matrix(&files, "embedding-out", q.embedding_out, zall, r.n, M);
        if (!rc) rc = cli_outputs_commit(&files);
        cli_outputs_discard(&files);
    }
    rc = agree_rc(rc);
    if (!rc && g_rank == 0) {
        double seed = 0;
        dc_model_get(m, "seed", &seed);
        if (q.json) {
            cli_json j;
            cli_json_run(&j, cli_json_stream(q.out), dc_model_method(m), r.n,
                         dc_dataset_cols(ds), dc_model_k(m), (long long)seed, seconds);
            json_int(&j, "ranks", dc_mpi_size());
            if (truth) cli_json_metrics(&j, &r.mt);
            json_str(&j, "model", q.model);
            json_str(&j, "normalization", dc_normalization_name(dc_dataset_normalization(ds)));
            json_str(&j, "normalization_source", source);
            if (q.out) json_str(&j, "out", q.out);
            json_end(&j);
        }
        if (!q.quiet) {
            fprintf(stderr, "predict (%s model): n=%lld on %d ranks in %.3f s\n",
                    dc_model_method(m), (long long)r.n, dc_mpi_size(), seconds);
            if (truth) cli_print_metrics(&r.mt);
            if (q.out)
                fprintf(stderr, "labels written to %s\n", cli_is_stdio(q.out) ? "stdout" : q.out);
        }
    }
    free(truth);
    free(pred);
    free(all);
    free(z);
    free(zall);
    dc_dataset_free(ds);
    dc_model_free(m);
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
    const int is_cluster = argc >= 2 && !strcmp(argv[1], "cluster");
    if (!is_cluster && (argc < 2 || strcmp(argv[1], "predict") != 0)) {
        *rc = usage("only 'cluster' and 'predict' run under mpirun; run other commands "
                    "without it", NULL);
    } else {
        dc_status st = dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_WORLD));
        *rc = st ? lib_error(st, "MPI") : is_cluster ? cluster(argc, argv) : predict(argc, argv);
        dc_mpi_set_comm(MPI_Comm_c2f(MPI_COMM_NULL));
    }
    MPI_Finalize();
    return 1;
}
