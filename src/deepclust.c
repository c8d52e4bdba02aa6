/* deepclust -- command-line front end of libdeepclust (public API only).
 *
 * stdout carries machine-readable output only (--json: exactly one object);
 * human messages and the progress bar go to stderr. This file dispatches to
 * the subcommands (cli_cluster.c, cli_predict.c, cli_info.c, cli_segment.c)
 * and prints the help. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <deepclust.h>

#include "cli_common.h"
#include "cli_segment.h"
#ifdef DC_CLI_MPI
#include "cli_mpi.h"
#endif

static void print_method_params(const char *method) {
    dc_solver *s;
    if (dc_solver_create(&s, method)) return;
    printf("%s parameters (--name value, or --param name=value):\n", method);
    for (int i = 0; i < dc_solver_param_count(s); i++) {
        const char *name = dc_solver_param_name(s, i);
        dc_param_type t;
        double def, lo, hi;
        dc_solver_param_info(s, name, &t, &def, &lo, &hi);
        char flag[128];
        snprintf(flag, sizeof flag, "%s", name);
        for (char *c = flag; *c; c++)
            if (*c == '_') *c = '-';
        const char *choices = dc_solver_param_choices(s, name);
        if (t == DC_PARAM_CHOICE) {
            /* The default is an index into the choices. */
            char buf[256];
            snprintf(buf, sizeof buf, "%s", choices);
            char *tok = strtok(buf, "|");
            for (int j = 0; tok && j < (int)def; j++) tok = strtok(NULL, "|");
            printf("  --%-18s %s (default %s; one of %s)\n", flag, dc_solver_param_help(s, name),
                   tok ? tok : "?", choices);
        } else if (t == DC_PARAM_BOOL) {
            printf("  --%-18s %s (default %s)\n", flag, dc_solver_param_help(s, name), def ? "true" : "false");
        } else {
            int lo_open = 0, hi_open = 0;
            dc_solver_param_bounds(s, name, &lo, &lo_open, &hi, &hi_open);
            printf("  --%-18s %s (default %g, range %c%g, %g%c)\n", flag,
                   dc_solver_param_help(s, name), def, lo_open ? '(' : '[', lo, hi,
                   hi_open ? ')' : ']');
        }
    }
    dc_solver_free(s);
}

static void print_help(void) {
    printf("deepclust %s -- deep and spectral clustering (libdeepclust)\n\n", dc_version_string());
    printf("usage:\n"
           "  deepclust cluster --method M --data PATH --k K [options]\n"
           "  deepclust predict --model FILE --data PATH [--labels PATH] [--normalize MODE]\n"
           "                    [--out FILE] [--json]\n"
           "  deepclust info PATH [--format F] [--json]   a data, model or checkpoint file\n"
           "  deepclust segment --image IN.png --k K [options]  (see below)\n"
           "  deepclust methods                 list the methods\n"
           "  deepclust help METHOD             list a method's parameters\n"
           "  deepclust --version\n\n"
           "cluster options:\n"
           "  --data PATH           .csv/.tsv/.txt, .npy, IDX (-ubyte, .idx), optionally .gz;\n"
           "                        - = standard input, in --format (default csv)\n"
           "  --format F            csv|npy|idx|auto (default auto: by extension)\n"
           "  --labels PATH         true labels (IDX, .npy, or one integer per line; - = stdin)\n"
           "  --label-column N|last CSV column holding the true labels\n"
           "  --header yes|no|auto  CSV header line (default auto)\n"
           "  --image-shape HxW[xC] image shape for non-IDX data\n"
           "  --normalize MODE      none|scale255|minmax|zscore (default none)\n"
           "  --k K                 number of clusters\n"
           "  --seed S              random seed (default 0)\n"
           "  --out FILE            write labels (.csv .tsv .txt .npy), only on success; - = stdout\n"
           "                        (one label per line; --json then goes to stderr)\n"
           "  --embedding-out FILE  write the method's embedding (.csv .tsv .txt .npy)\n"
           "  --centers-out FILE    write the centres (.csv .tsv .txt .npy)\n"
           "  --trace-svg FILE      SVG chart of the trace: scdbas best fitness per search\n"
           "                        iteration; deep methods fraction of labels changed per\n"
           "                        target update\n"
           "  --embedding-svg FILE  SVG scatter of the embedding's two principal axes, by cluster\n"
           "  --weights-out FILE    representation weights k x embed_dim (deep methods; all\n"
           "                        ones for idec and dec; .csv .tsv .txt .npy)\n"
           "  --weights-svg FILE    SVG heat map of the representation weights (deep methods)\n"
           "  --json                one JSON object on stdout (method, n, d, k, seed, seconds,\n"
           "                        acc, nmi, ari, f1 when labels are known, phases, stats;\n"
           "                        warnings: the library's warnings, when there were any)\n"
           "  --threads N           BLAS threads (default: OpenBLAS's choice)\n"
           "  --fast-blas           run with OPENBLAS_CORETYPE=SkylakeX (re-executes itself;\n"
           "                        ignored with a warning on CPUs without AVX-512)\n"
           "  --noise KIND:LEVEL    add noise after --normalize (EDCWRN 5.6), clipped to the\n"
           "                        data's range: gaussian:VARIANCE, saltpepper:DENSITY (in\n"
           "                        [0, 1]) or speckle:VARIANCE; also for predict\n"
           "  --noise-seed S        seed of the noise (default 0; independent of --seed)\n"
           "  --seeds LIST          one run per seed (0,1,2 or 0-4 or 0-2,7); the JSON has\n"
           "                        runs (one object per seed) and mean and sd (sample) of\n"
           "                        acc, nmi, ari, f1, seconds. The files (--out, ...) are\n"
           "                        the first seed's. Not with --seed, --checkpoint, --resume\n"
           "  --seeds-pretrain per-seed|shared  deep methods with --seeds: pre-train for\n"
           "                        every seed (default: each run equals --seed S alone), or\n"
           "                        once with the first seed and reuse that autoencoder\n"
           "  --progress            progress on stderr even when it is not a terminal\n"
           "  --quiet               no human output on stderr\n"
           "  --NAME VALUE          any method parameter (see 'deepclust help METHOD')\n"
           "  An output the method does not give (kmeans: --embedding-out), or a path\n"
           "  that names an input or another output (same file, links resolved), is\n"
           "  refused before the clustering starts (exit 2, nothing written). Outputs\n"
           "  appear together once all are written, or none (a failed run changes no\n"
           "  file; --checkpoint, written during the fit, stays for --resume).\n\n"
           "deep methods (edcwrn, idec, dec; other methods: exit 2):\n"
           "  --save-model FILE     save the trained model (for 'deepclust predict')\n"
           "  --save-pretrained FILE  save the pre-trained autoencoder\n"
           "  --load-pretrained FILE  start from a saved autoencoder instead of pre-training\n"
           "  --checkpoint FILE     write the training state there (atomically) ...\n"
           "  --checkpoint-every N  ... every N clustering iterations (default 500), and\n"
           "                        every N steps of pre-training (one process only)\n"
           "  --resume FILE         continue the fit saved in a checkpoint (same data) with\n"
           "                        the checkpoint's parameters; the result equals that of an\n"
           "                        uninterrupted run. A fit that finished writes a final\n"
           "                        checkpoint: --max-iter N continues it to N iterations,\n"
           "                        --tol may be lowered; other method options must match\n"
           "                        the checkpoint's values (else exit 1)\n\n"

           "predict options: --model FILE (a --save-model file or a checkpoint), --data,\n"
           "  --format, --header, --image-shape, --labels/--label-column as for cluster,\n"
           "  --out, --embedding-out, --json, --threads, --quiet, --noise/--noise-seed as\n"
           "  for cluster (the noise after the model's normalisation).\n"
           "  --normalize MODE: a model trained on normalised data (cluster --normalize)\n"
           "  records the training statistics and applies them to the raw --data by\n"
           "  default (minmax/zscore of new data use the TRAINING min/max or mean/std);\n"
           "  --normalize with the model's mode does the same, none uses the data as\n"
           "  given, another mode is an error. Models without a record (older files,\n"
           "  raw training data): --normalize normalises with the data's own statistics.\n"
           "  The JSON adds normalization (the mode applied) and normalization_source\n"
           "  (model, data or none).\n\n"
           );
    cli_segment_help(stdout);
    printf("\n"
           "NMI is printed with sqrt normalisation (EDCWRN paper Eq. 17); the JSON also has\n"
           "nmi_arithmetic (scikit-learn's default).\n\n"
           "Ctrl-C stops a fit at its next check (a deep fit with --checkpoint first writes\n"
           "its state there, for --resume) and writes no output file.\n\n"
           "exit status:\n"
           "  0    success\n"
           "  1    runtime error: unreadable or invalid data or model file, a fit that\n"
           "       failed (k larger than n, diverged, ...), an output that cannot be written\n"
           "  2    usage error: unknown command, method or option, a missing or invalid\n"
           "       value (--k included), an output the method does not give\n"
           "  130  interrupted (Ctrl-C) during the fit\n");
}

/* OpenBLAS reads OPENBLAS_CORETYPE when it is loaded, so the only honest way
 * to apply it is to re-execute with it set (never behind the user's back). */
static void maybe_reexec_fast_blas(int argc, char **argv) {
    int want = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--fast-blas")) want = 1;
    if (!want || getenv("OPENBLAS_CORETYPE")) return;
    /* SkylakeX kernels are AVX-512: on a CPU without it they die with SIGILL. */
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "%s: --fast-blas: this CPU has no AVX-512; keeping OpenBLAS's default kernels\n", CLI_PROG);
        return;
    }
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    execv("/proc/self/exe", argv);
    /* Not fatal: continue with OpenBLAS's default kernels. */
    fprintf(stderr, "%s: --fast-blas: cannot re-execute (%s); continuing\n", CLI_PROG, strerror(errno));
}

int main(int argc, char **argv) {
#ifdef DC_CLI_MPI
    int mpi_rc; /* under mpirun: the distributed run (cli_mpi.c) */
    if (cli_mpi_intercept(argc, argv, &mpi_rc)) return mpi_rc;
#endif
    maybe_reexec_fast_blas(argc, argv);
    if (argc < 2) {
        print_help();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help();
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("deepclust %s\n", dc_version_string());
        return 0;
    }
    if (!strcmp(cmd, "methods")) {
        for (int i = 0; i < dc_solver_method_count(); i++) printf("%s\n", dc_solver_method_name(i));
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            print_help();
            return 0;
        }
        dc_solver *s;
        if (dc_solver_create(&s, argv[2])) return cli_usage_lib_error(DC_ERR_UNKNOWN_NAME, argv[2]);
        dc_solver_free(s);
        print_method_params(argv[2]);
        return 0;
    }
    if (!strcmp(cmd, "segment")) return cli_segment(argc - 2, argv + 2);
    cli_args a;
    if (cli_parse_args(&a, argc, argv, 2)) return 2;
    if (cli_has(&a, "help")) {
        print_help();
        return 0;
    }
    int json = cli_has(&a, "json");
    cli_has(&a, "fast-blas");
    const char *threads = cli_get(&a, "threads");
    if (threads) {
        long long t = cli_parse_count(threads);
        if (t < 1 || t > 4096) return cli_usage_error("--threads takes a whole number in [1, 4096], got '%s'", threads);
        dc_set_threads((int)t);
    }
    if (!strcmp(cmd, "cluster")) {
        if (a.n_pos) return cli_usage_error("unexpected argument '%s'", a.positional[0]);
        return cli_cluster(&a, json);
    }
    if (!strcmp(cmd, "predict")) {
        if (a.n_pos) return cli_usage_error("unexpected argument '%s'", a.positional[0]);
        return cli_predict(&a, json);
    }
    if (!strcmp(cmd, "info")) return cli_info(&a, json);
    return cli_usage_error("unknown command '%s' (cluster, predict, info, segment, methods, help)", cmd);
}
