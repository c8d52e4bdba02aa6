/* deepclust cluster: load the data, fit a method (once, or once per seed of
 * --seeds) under the progress bar and Ctrl-C, then score the labels and
 * write every output asked for, all together or none. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <deepclust.h>

#include "cli_cluster_outputs.h"
#include "cli_common.h"
#include "cli_experiment.h"
#include "cli_files.h"
#include "cli_json.h"
#include "cli_progress.h"

/* The parameter an option sets: --some-name VALUE names some_name (dashes
 * map to underscores), --param name=value names name. *name gets it and the
 * value is returned (NULL for a bare flag); 0 and *name empty for a --param
 * without name=value. */
static int option_param(const cli_opt *o, char *name, size_t size, const char **val) {
    *val = o->val;
    name[0] = '\0';
    if (!strcmp(o->key, "param")) {
        const char *eq = o->val ? strchr(o->val, '=') : NULL;
        if (!eq || eq == o->val) return 0;
        snprintf(name, size, "%.*s", (int)(eq - o->val), o->val);
        *val = eq + 1;
    } else {
        snprintf(name, size, "%s", o->key);
    }
    for (char *c = name; *c; c++)
        if (*c == '-') *c = '_';
    return 1;
}

/* --some-name VALUE for every remaining option that names a solver parameter,
 * plus --param name=value. */
static int apply_params(cli_args *a, dc_solver *s) {
    for (int i = 0; i < a->n; i++) {
        cli_opt *o = &a->o[i];
        if (o->used) continue;
        char name[128];
        const char *val;
        if (!option_param(o, name, sizeof name, &val))
            return cli_usage_error("--param takes name=value, got '%s'", o->val ? o->val : "");
        double dummy;
        if (dc_solver_get(s, name, &dummy) != DC_OK) {
            if (strcmp(o->key, "param"))
                fprintf(stderr, "%s: unknown option --%s for method '%s' (see '%s help %s')\n",
                        CLI_PROG, o->key, dc_solver_method(s), CLI_PROG, dc_solver_method(s));
            else
                fprintf(stderr, "%s: --param %s: method '%s' has no parameter '%s' (see '%s help "
                        "%s')\n", CLI_PROG, o->val, dc_solver_method(s), name, CLI_PROG,
                        dc_solver_method(s));
            return 2;
        }
        if (!val) return cli_usage_error("option --%s needs a value", o->key);
        dc_status st = dc_solver_set_str(s, name, val);
        if (st) return cli_usage_lib_error(st, "invalid parameter");
        o->used = 1;
    }
    return 0;
}

/* Whether the command line sets the method parameter `name` (as --name,
 * --na-me or --param name=V). */
static int param_given(const cli_args *a, const char *name) {
    for (int i = 0; i < a->n; i++) {
        char given[128];
        const char *val;
        if (option_param(&a->o[i], given, sizeof given, &val) && !strcmp(given, name)) return 1;
    }
    return 0;
}

/* --load-pretrained: the autoencoder's layers replace the layer parameters;
 * one given on the command line that differs is refused rather than
 * silently ignored. */
static int use_pretrained(const cli_args *a, dc_solver *s, const char *path,
                          dc_normalization *norm) {
    static const char *const layers[] = {"hidden1", "hidden2", "hidden3", "embed_dim"};
    double before[4] = {0}, after[4] = {0};
    for (int i = 0; i < 4; i++) dc_solver_get(s, layers[i], &before[i]);
    dc_model *ae = NULL;
    dc_status st = dc_model_load(&ae, path);
    if (!st) st = dc_solver_use_pretrained(s, ae);
    if (!st) *norm = dc_model_normalization(ae);
    dc_model_free(ae);
    if (st) return cli_lib_error(st, "--load-pretrained");
    for (int i = 0; i < 4; i++) {
        dc_solver_get(s, layers[i], &after[i]);
        if (after[i] != before[i] && param_given(a, layers[i])) {
            fprintf(stderr, "%s: %s = %g given, but the autoencoder in '%s' has %g: its layers fix "
                    "the network (leave the option out; nothing was done)\n", CLI_PROG, layers[i],
                    before[i], path, after[i]);
            return 1; /* contradicts a file, as with --resume */
        }
    }
    return 0;
}

/* --load-pretrained (*ae_norm: its training data's normalisation),
 * --checkpoint and --checkpoint-every (deep methods). */
static int setup_model_options(const cli_args *a, dc_solver *s, const char *load_pretrained,
                               dc_normalization *ae_norm, const char *checkpoint,
                               const char *every) {
    if (load_pretrained) {
        int rc = use_pretrained(a, s, load_pretrained, ae_norm);
        if (rc) return rc;
    }
    if (every && !checkpoint) return cli_usage_error("--checkpoint-every needs --checkpoint FILE%s", "");
    if (checkpoint) {
        long long n = every ? cli_parse_count(every) : 500;
        if (n < 1) return cli_usage_error("--checkpoint-every takes a number >= 1, got '%s'", every);
        dc_status st = dc_solver_set_checkpoint(s, checkpoint, n);
        if (st) return cli_lib_error(st, "--checkpoint");
    }
    return 0;
}

/* k is required (a resumed fit takes the checkpoint's). */
static int check_k(const dc_solver *s, const char *resume) {
    double k = 0;
    dc_solver_get(s, "k", &k);
    if (k >= 1 || resume) return 0;
    return cli_usage_error("missing --k K (the number of clusters, >= 1)%s", "");
}

/* Ctrl-C during a fit: the handler asks the library to stop the fit
 * (dc_solver_cancel is async-signal-safe) and resets itself, so a second
 * Ctrl-C ends the process at once. */
static dc_solver *volatile g_fitting = NULL;
static volatile sig_atomic_t g_interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
    if (g_fitting) dc_solver_cancel(g_fitting);
}

static void interrupt_begin(dc_solver *s) {
    g_interrupted = 0;
    g_fitting = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* 1 if SIGINT came during the fit. */
static int interrupt_end(void) {
    g_fitting = NULL;
    signal(SIGINT, SIG_DFL);
    return g_interrupted != 0;
}

static int interrupted_exit(dc_status st) {
    fprintf(stderr, "%s: interrupted", CLI_PROG);
    if (st == DC_ERR_CANCELLED) fprintf(stderr, ": %s", dc_last_error());
    fprintf(stderr, "; no output written\n");
    return EXIT_INTERRUPTED;
}

/* A fit (or, with a checkpoint to resume, its continuation) under the
 * progress bar, stopped by Ctrl-C (*interrupted then set). */
static dc_status fit_with_progress(dc_solver *s, const dc_dataset *ds, const char *resume,
                                   int show_progress, int *interrupted) {
    progress_state ps;
    progress_init(&ps, show_progress);
    dc_solver_set_progress(s, progress_callback, &ps);
    interrupt_begin(s);
    dc_status st = resume ? dc_solver_resume(s, ds, resume) : dc_solver_fit(s, ds);
    *interrupted = interrupt_end();
    progress_finish(&ps);
    return st;
}

/* What a cluster command asked for, read once from its options. */
typedef struct cluster_request {
    const char *out;                   /* --out: NULL none, "-" stdout */
    const char *paths[N_OUTPUT_FLAGS]; /* of cli_output_flags (NULL: not asked) */
    const char *opts[N_DEEP_OPTIONS];  /* values of cli_deep_options (NULL: not given) */
    cli_noise nz;
    int json, quiet, show_progress;
} cluster_request;

/* cluster --seeds: the seeds, and whether the deep methods pre-train once
 * (--seeds-pretrain shared) or per seed. n = 0: one ordinary run. */
typedef struct seed_plan {
    long long seeds[CLI_MAX_SEEDS];
    int n;
    int one_ae; /* one pre-trained autoencoder for every seed */
} seed_plan;

/* --seeds and --seeds-pretrain: 0, or 2 after a message. A checkpoint
 * belongs to one fit, so --resume and --checkpoint cannot span seeds. */
static int parse_seed_plan(cli_args *a, const dc_solver *s, const char *const *opts, seed_plan *plan) {
    const char *text = cli_get(a, "seeds"), *pretrain = cli_get(a, "seeds-pretrain");
    plan->n = 0;
    plan->one_ae = 0;
    if (!text) return pretrain ? cli_usage_error("--seeds-pretrain needs --seeds LIST%s", "") : 0;
    if (cli_get(a, "seed")) return cli_usage_error("give either --seed or --seeds, not both%s", "");
    for (int i = D_CHECKPOINT; i <= D_RESUME; i++)
        if (opts[i]) return cli_usage_error("--%s cannot be used with --seeds", cli_deep_options[i]);
    if (pretrain) {
        if (!cli_has_deep_model(s))
            return cli_usage_error("--seeds-pretrain needs a method with a deep model, not '%s'",
                                   dc_solver_method(s));
        if (!strcmp(pretrain, "shared")) plan->one_ae = 1;
        else if (strcmp(pretrain, "per-seed"))
            return cli_usage_error("--seeds-pretrain takes per-seed or shared, got '%s'", pretrain);
    }
    return cli_parse_seeds(text, plan->seeds, &plan->n);
}

/* Makes the following fits start from the autoencoder the last one
 * pre-trained (--seeds-pretrain shared). */
static int share_pretrained(dc_solver *s) {
    dc_model *ae = NULL;
    dc_status st = dc_solver_pretrained(s, &ae);
    if (!st) st = dc_solver_use_pretrained(s, ae);
    dc_model_free(ae);
    return st ? cli_lib_error(st, "--seeds-pretrain shared") : 0;
}

/* cluster --seeds: one fit per seed, on the same solver and data. The files
 * are the first seed's, written as temporaries after its fit and committed
 * once every seed succeeded; the JSON is assembled in memory and printed
 * last, so that a failing seed leaves neither files nor a partial object. */
static int run_seeds(dc_solver *s, const dc_dataset *ds, const seed_plan *plan,
                     const cluster_request *rq) {
    const char *out = rq->out;
    const char *const *paths = rq->paths;
    const char *method = dc_solver_method(s);
    const int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    const int32_t *truth = dc_dataset_labels(ds);
    const int deep = cli_has_deep_model(s);
    double k = 0;
    dc_solver_get(s, "k", &k);
    cli_seed_runs *runs = calloc(1, sizeof *runs);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n);
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    cli_outputs files;
    cli_outputs_init(&files);
    int rc = 0;
    if (!runs || !pred || !mem) {
        rc = cli_lib_error(DC_ERR_NOMEM, "--seeds");
        goto done;
    }
    runs->scored = truth != NULL;
    cli_json j, arr;
    json_begin(&j, mem);
    json_str(&j, "method", method);
    json_int(&j, "n", n);
    json_int(&j, "d", d);
    json_int(&j, "k", (long long)k);
    if (deep) json_str(&j, "seeds_pretrain", plan->one_ae ? "shared" : "per-seed");
    cli_noise_json(&j, &rq->nz);
    json_begin_array(&j, "runs", &arr);
    for (int i = 0; i < plan->n; i++) {
        const long long seed = plan->seeds[i];
        dc_status st = dc_solver_set(s, "seed", (double)seed);
        int interrupted = 0;
        if (!st) st = fit_with_progress(s, ds, NULL, rq->show_progress, &interrupted);
        if (interrupted) {
            rc = interrupted_exit(st);
            goto done;
        }
        if (st) {
            char what[96];
            snprintf(what, sizeof what, "%s (seed %lld)", method, seed);
            rc = cli_lib_error(st, what);
            goto done;
        }
        if (i == 0 && deep && plan->one_ae && (rc = share_pretrained(s))) goto done;
        dc_solver_labels(s, pred, n, NULL);
        cli_metrics mt = {0};
        if (i == 0) {
            rc = cli_check_outputs_present(s, paths);
            if (!rc) rc = cli_score_and_write(truth, pred, n, &files, out, &mt);
            if (!rc) rc = cli_write_cluster_outputs(&files, s, paths, pred);
        } else if (truth) {
            rc = cli_compute_metrics(truth, pred, n, &mt);
        }
        if (rc) goto done;
        double seconds = 0;
        dc_solver_stat(s, "seconds", &seconds);
        double *v = runs->v[runs->n++];
        v[CLI_SEED_ACC] = mt.acc;
        v[CLI_SEED_NMI] = mt.nmi;
        v[CLI_SEED_ARI] = mt.ari;
        v[CLI_SEED_F1] = mt.f1;
        v[CLI_SEED_SECONDS] = seconds;
        cli_json run;
        json_array_object(&arr, &run);
        cli_json_run_keys(&run, method, n, d, (long long)k, seed, seconds);
        if (truth) cli_json_metrics(&run, &mt);
        cli_json_solver_stats(&run, s, NULL, 0);
        json_end_object(&run);
        if (!rq->quiet) {
            fprintf(stderr, "seed %lld: %.3f s%s", seed, seconds, truth ? "  " : "\n");
            if (truth) cli_print_metrics(&mt);
        }
    }
    json_end_array(&arr);
    cli_seed_json(&j, runs);
    if (out) json_str(&j, "out", out);
    cli_json_warnings(&j);
    json_end(&j);
    if ((rc = cli_outputs_commit(&files))) goto done;
    if (fflush(mem) == 0 && rq->json) {
        FILE *to = cli_json_stream(out); /* stderr when the labels go to stdout */
        fwrite(text, 1, text_len, to);
        fflush(to);
    }
    if (!rq->quiet) {
        fprintf(stderr, "%s: n=%lld d=%lld k=%lld, ", method, (long long)n, (long long)d,
                (long long)k);
        cli_seed_print(stderr, runs);
        if (out)
            fprintf(stderr, "labels of seed %lld written to %s\n", plan->seeds[0],
                    cli_is_stdio(out) ? "stdout" : out);
    }
done:
    cli_outputs_discard(&files);
    if (mem) fclose(mem);
    free(text);
    free(pred);
    free(runs);
    return rc;
}

/* One fit (or the continuation of a checkpoint), then the labels, every file
 * asked for (all or none) and the report. */
static int run_once(dc_solver *s, const dc_dataset *ds, const cluster_request *rq) {
    const char *out = rq->out, *method = dc_solver_method(s);
    int interrupted = 0;
    dc_status st = fit_with_progress(s, ds, rq->opts[D_RESUME], rq->show_progress, &interrupted);
    /* Interrupted, whatever the fit returned: the user asked to stop, so no output. */
    if (interrupted) return interrupted_exit(st);
    if (st) return cli_lib_error(st, method);
    int rc = cli_check_outputs_present(s, rq->paths);
    if (rc) return rc;
    double k = 0, seed = 0; /* after the fit: a resumed one has the checkpoint's */
    dc_solver_get(s, "k", &k);
    dc_solver_get(s, "seed", &seed);

    int64_t n = dc_dataset_rows(ds), d = dc_dataset_cols(ds);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n);
    if (!pred) return cli_lib_error(DC_ERR_NOMEM, "labels");
    dc_solver_labels(s, pred, n, NULL);

    cli_metrics mt;
    const int32_t *truth = dc_dataset_labels(ds);
    /* Files only after everything succeeded, and all of them or none. */
    cli_outputs files;
    cli_outputs_init(&files);
    rc = cli_score_and_write(truth, pred, n, &files, out, &mt);
    if (!rc) rc = cli_write_cluster_outputs(&files, s, rq->paths, pred);
    if (rc) cli_outputs_discard(&files);
    else rc = cli_outputs_commit(&files);
    free(pred);
    if (rc) return rc;

    double seconds = 0;
    dc_solver_stat(s, "seconds", &seconds);
    if (rq->json) {
        cli_json j;
        cli_json_run(&j, cli_json_stream(out), method, n, d, (long long)k, (long long)seed,
                     seconds);
        if (truth) cli_json_metrics(&j, &mt);
        cli_noise_json(&j, &rq->nz);
        cli_json_solver_stats(&j, s, NULL, 0);
        if (out) json_str(&j, "out", out);
        cli_json_warnings(&j);
        json_end(&j);
    }
    if (!rq->quiet) {
        fprintf(stderr, "%s: n=%lld d=%lld k=%lld in %.3f s\n", method, (long long)n,
                (long long)d, (long long)k, seconds);
        if (truth) cli_print_metrics(&mt);
        if (out) fprintf(stderr, "labels written to %s\n", cli_is_stdio(out) ? "stdout" : out);
    }
    return 0;
}

int cli_cluster(cli_args *a, int json) {
    const char *method = cli_get(a, "method");
    if (!method) return cli_usage_error("missing --method (one of: kmeans%s ...; see 'deepclust methods')", "");
    dc_solver *s = NULL;
    dc_status st = dc_solver_create(&s, method);
    if (st) return cli_usage_lib_error(st, "--method");

    cluster_request *rq = calloc(1, sizeof *rq);
    seed_plan *plan = calloc(1, sizeof *plan);
    if (!rq || !plan) {
        free(rq);
        free(plan);
        dc_solver_free(s);
        return cli_lib_error(DC_ERR_NOMEM, "--seeds");
    }
    rq->out = cli_get(a, "out");
    for (int i = 0; i < N_OUTPUT_FLAGS; i++) rq->paths[i] = cli_get(a, cli_output_flags[i].flag);
    for (int i = 0; i < N_DEEP_OPTIONS; i++) rq->opts[i] = cli_get(a, cli_deep_options[i]);
    rq->json = json;
    rq->quiet = cli_has(a, "quiet");
    int progress = cli_has(a, "progress"); /* read even with --quiet: not a method parameter */
    rq->show_progress = !rq->quiet && (progress || isatty(STDERR_FILENO));
    cli_collect_warnings(rq->quiet);

    dc_dataset *ds = NULL;
    dc_normalization ae_norm = DC_NORM_NONE;
    const char *const *opts = rq->opts;
    int rc = cli_check_cluster_files(a, rq->out, rq->paths, opts);
    if (!rc) rc = parse_seed_plan(a, s, opts, plan);
    if (!rc) rc = cli_noise_parse(cli_get(a, "noise"), cli_get(a, "noise-seed"), &rq->nz);
    /* The command line's mistakes before the data's (a large file takes a
     * while to read): the options the loader reads are not parameters. */
    cli_claim_data_options(a);
    if (!rc) rc = apply_params(a, s);
    if (!rc) rc = check_k(s, opts[D_RESUME]);
    if (!rc) rc = cli_check_requests(s, rq->paths, opts);
    if (!rc)
        rc = setup_model_options(a, s, opts[D_LOAD_PRETRAINED], &ae_norm, opts[D_CHECKPOINT],
                                 opts[D_CHECKPOINT_EVERY]);
    if (!rc) rc = cli_load_data(a, &ds, 1);
    if (!rc && opts[D_LOAD_PRETRAINED] && ae_norm != dc_dataset_normalization(ds)) {
        fprintf(stderr, "%s: --load-pretrained '%s' was trained on data normalised with %s, "
                "these with %s: give --normalize %s (nothing was done)\n", CLI_PROG,
                opts[D_LOAD_PRETRAINED], dc_normalization_name(ae_norm),
                dc_normalization_name(dc_dataset_normalization(ds)), dc_normalization_name(ae_norm));
        rc = 1;
    }
    if (!rc) rc = cli_noise_apply(&rq->nz, ds);
    if (!rc) rc = plan->n ? run_seeds(s, ds, plan, rq) : run_once(s, ds, rq);
    free(rq);
    free(plan);
    dc_dataset_free(ds);
    dc_solver_free(s);
    return rc;
}
