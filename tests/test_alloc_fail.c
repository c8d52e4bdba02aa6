/* Allocation-failure sweep: a small fit of every method and every reader
 * runs once per allocation it makes, with exactly that allocation refused
 * (dc_set_allocator), until a run makes no refused request. Each refused
 * run must fail with DC_ERR_NOMEM and a detail, leave no result behind
 * (no data set, model, labels or outputs) and free every block it took.
 * A run may also absorb the failure and succeed (a fallback), which is
 * fine as long as it leaks nothing. Under the ASan build this is also the
 * double-free and use-after-free check of every error path. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "test_alloc.h"
#include "test_files.h"
#include "deepclust.h"

/* ---- the sweep ---- */

/* One operation under test. run() makes the call (with the allocator armed)
 * and returns its status; on failure gone() says the handle it would have
 * filled holds no result; release() frees what a successful run made. */
typedef struct op {
    const char *name;
    void *ctx;
    void (*setup)(void *ctx);   /* before each run, allocator not armed (may be NULL) */
    dc_status (*run)(void *ctx);
    int (*gone)(void *ctx);
    void (*release)(void *ctx); /* after each run, allocator not armed */
} op;

/* Refusing allocation i for i = 1, 2, ... until a run completes without a
 * refusal. Returns the number of allocations of the complete run. */
static long long sweep(const op *o) {
    long long refusals = 0, nomem = 0;
    for (long long at = 1;; at++) {
        const long long live0 = g_alloc.live;
        if (o->setup) o->setup(o->ctx);
        test_alloc_arm(at);
        dc_clear_error();
        dc_status st = o->run(o->ctx);
        const int refused = g_alloc.refused;
        test_alloc_arm(0);
        if (!refused) {
            CHECK_MSG(st == DC_OK, "%s: the run without refusal returned %d (%s)", o->name,
                      (int)st, dc_last_error());
        } else if (st != DC_OK) {
            nomem++;
            CHECK_MSG(st == DC_ERR_NOMEM, "%s: allocation %lld refused: status %d (%s), want "
                      "DC_ERR_NOMEM", o->name, at, (int)st, dc_last_error());
            CHECK_MSG(dc_last_error()[0] != '\0', "%s: allocation %lld refused: no detail",
                      o->name, at);
            CHECK_MSG(o->gone(o->ctx), "%s: allocation %lld refused: a result is left",
                      o->name, at);
        }
        o->release(o->ctx);
        CHECK_MSG(g_alloc.live == live0, "%s: allocation %lld refused: %lld blocks leaked",
                  o->name, at, g_alloc.live - live0);
        if (!refused) {
            printf("%-28s %4lld allocations, %4lld failed with DC_ERR_NOMEM\n", o->name,
                   at - 1, nomem);
            CHECK_MSG(nomem > 0, "%s: no refusal made the call fail", o->name);
            return at - 1;
        }
        refusals++;
        if (refusals > 20000) {
            CHECK_MSG(0, "%s: more than 20000 allocations: sweep stopped", o->name);
            return at;
        }
    }
}

/* ---- fits ---- */

enum { N = 36, D = 6, K = 3 };
static float g_x[N * D];
static dc_dataset *g_ds;

/* Three separated blobs, deterministic. */
static void make_blobs(void) {
    unsigned s = 12345;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) {
            s = s * 1103515245u + 12345u;
            double noise = ((s >> 8) & 0xffff) / 65536.0 - 0.5;
            g_x[i * D + j] = (float)((j * K / D == i % K ? 1.0 : 0.0) + 0.1 * noise);
        }
    CHECK_OK(dc_dataset_create(&g_ds, g_x, N, D, DC_COPY));
}

typedef struct param {
    const char *name;
    double v;
} param;

/* A tiny network and short phases: what matters is every code path, once. */
static const param deep_params[] = {
    {"k", K},          {"seed", 3},         {"hidden1", 8},      {"hidden2", 6},
    {"hidden3", 0},    {"embed_dim", 2},    {"batch", 12},       {"pretrain_epochs", 2},
    {"n_init", 2},     {"update_interval", 3}, {"max_iter", 6},  {"tol", 0},
    {NULL, 0}};
static const param kmeans_params[] = {{"k", K}, {"n_init", 2}, {NULL, 0}};
static const param spectral_params[] = {{"k", K}, {"n_init", 2}, {"m", 5}, {NULL, 0}};
static const param scdbas_params[] = {{"k", K}, {"n_init", 2}, {"m", 5}, {"dbas_iters", 20},
                                      {"dbas_excursion", 10}, {NULL, 0}};

typedef struct fit_ctx {
    const char *method;
    const param *params;
    const char *resume; /* dc_solver_resume from this checkpoint instead of a fit */
    dc_solver *s;
    const char *checkpoint; /* written every step / iteration (NULL: none) */
} fit_ctx;

static void fit_setup(void *p) {
    fit_ctx *c = p;
    CHECK_OK(dc_solver_create(&c->s, c->method));
    for (const param *q = c->params; q->name; q++)
        if (dc_solver_set(c->s, q->name, q->v) != DC_OK) {
            /* idec/dec lack some edcwrn parameters: only an unknown name is fine */
            CHECK(dc_solver_param_help(c->s, q->name)[0] == '\0');
        }
    if (c->checkpoint) CHECK_OK(dc_solver_set_checkpoint(c->s, c->checkpoint, 1));
}

/* Cancels after the first pre-training epoch: a pre-training checkpoint. */
static int stop_in_pretrain(void *user, const char *phase, long long done, long long total,
                            double value) {
    (void)user, (void)total, (void)value;
    return strcmp(phase, "pretrain") == 0 && done >= 1;
}

static dc_status fit_run(void *p) {
    fit_ctx *c = p;
    return c->resume ? dc_solver_resume(c->s, g_ds, c->resume) : dc_solver_fit(c->s, g_ds);
}

static int fit_gone(void *p) {
    fit_ctx *c = p;
    int64_t n = -1;
    dc_model *m = NULL;
    int ok = dc_solver_labels(c->s, NULL, 0, &n) == DC_ERR_STATE &&
             dc_solver_output_count(c->s) == 0 && dc_solver_stat_count(c->s) == 0;
    dc_status ms = dc_solver_model(c->s, &m);
    ok = ok && (ms == DC_ERR_UNSUPPORTED || ms == DC_ERR_STATE) && m == NULL;
    dc_model_free(m);
    dc_clear_error();
    return ok;
}

static void fit_release(void *p) {
    fit_ctx *c = p;
    dc_solver_free(c->s);
    c->s = NULL;
}

static void test_fits(void) {
    static const struct {
        const char *method;
        const param *params;
    } fits[] = {{"kmeans", kmeans_params}, {"njw", spectral_params}, {"scdbas", scdbas_params},
                {"edcwrn", deep_params},   {"idec", deep_params},    {"dec", deep_params}};
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        fit_ctx c = {fits[i].method, fits[i].params, NULL, NULL, NULL};
        char name[64];
        snprintf(name, sizeof name, "fit %s", fits[i].method);
        op o = {name, &c, fit_setup, fit_run, fit_gone, fit_release};
        CHECK(sweep(&o) > 0);
    }
}

/* ---- readers ---- */

typedef struct load_ctx {
    const char *path;
    dc_load_options opt;
    dc_dataset *ds;
} load_ctx;

static dc_status load_run(void *p) {
    load_ctx *c = p;
    c->ds = (dc_dataset *)c; /* a failed load must set it to NULL */
    return dc_dataset_load(&c->ds, c->path, &c->opt);
}

static int load_gone(void *p) { return ((load_ctx *)p)->ds == NULL; }

static void load_release(void *p) {
    load_ctx *c = p;
    if (c->ds != (dc_dataset *)c) dc_dataset_free(c->ds);
    c->ds = NULL;
}

/* Labels attach to g_ds: a failed load keeps the labels it had (none). */
typedef struct labels_ctx {
    const char *path;
} labels_ctx;

static dc_status labels_run(void *p) {
    return dc_dataset_load_labels(g_ds, ((labels_ctx *)p)->path, DC_FORMAT_AUTO);
}

static int labels_gone(void *p) {
    (void)p;
    return dc_dataset_labels(g_ds) == NULL;
}

static void labels_release(void *p) {
    (void)p;
    /* Back to no labels: a fresh copy of the set. */
    dc_dataset *fresh = NULL;
    CHECK_OK(dc_dataset_create(&fresh, g_x, N, D, DC_COPY));
    dc_dataset_free(g_ds);
    g_ds = fresh;
}

typedef struct model_ctx {
    const char *path;
    dc_model *m;
} model_ctx;

static dc_status model_run(void *p) {
    model_ctx *c = p;
    c->m = (dc_model *)c;
    return dc_model_load(&c->m, c->path);
}

static int model_gone(void *p) { return ((model_ctx *)p)->m == NULL; }

static void model_release(void *p) {
    model_ctx *c = p;
    if (c->m != (dc_model *)c) dc_model_free(c->m);
    c->m = NULL;
}

static void write_gzip(const char *path, const void *data, size_t n) {
    gzFile gz = gzopen(path, "wb");
    if (!gz || gzwrite(gz, data, (unsigned)n) != (int)n || gzclose(gz) != Z_OK) {
        perror(path);
        exit(2);
    }
}

static void sweep_load(const char *name, const char *path, const dc_load_options *opt) {
    load_ctx c = {path, {0}, NULL};
    if (opt) c.opt = *opt;
    else dc_load_options_default(&c.opt);
    op o = {name, &c, NULL, load_run, load_gone, load_release};
    sweep(&o);
}

static void sweep_labels(const char *name, const char *path) {
    labels_ctx c = {path};
    op o = {name, &c, NULL, labels_run, labels_gone, labels_release};
    sweep(&o);
}

static void sweep_model(const char *name, const char *path) {
    model_ctx c = {path, NULL};
    op o = {name, &c, NULL, model_run, model_gone, model_release};
    sweep(&o);
}

static void test_readers(void) {
    /* Data: CSV (detected and fixed options, a label column), NPY, IDX raw and .gz. */
    FILE *f = fopen(tmp_path("x.csv"), "w");
    fprintf(f, "a,b,c,d,e,f,label\n");
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) fprintf(f, "%.9g,", (double)g_x[i * D + j]);
        fprintf(f, "%d\n", i % K);
    }
    fclose(f);
    dc_load_options opt;
    dc_load_options_default(&opt);
    opt.label_column = DC_LABEL_COLUMN_LAST;
    sweep_load("CSV, detected header", tmp_path("x.csv"), &opt);
    opt.delimiter = ',';
    opt.header = 1;
    sweep_load("CSV, fixed options", tmp_path("x.csv"), &opt);

    CHECK_OK(dc_write_matrix(tmp_path("x.npy"), g_x, N, D, DC_FORMAT_AUTO));
    sweep_load("NPY", tmp_path("x.npy"), NULL);

    unsigned char img[N * 2 * 3], buf[sizeof img + 64];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (unsigned char)(i * 37);
    size_t len = idx_bytes(buf, 0x08, 3, (const int[]){N, 2, 3}, img, sizeof img);
    write_bytes(tmp_path("x-idx3-ubyte"), buf, len);
    sweep_load("IDX", tmp_path("x-idx3-ubyte"), NULL);
    write_gzip(tmp_path("x-idx3-ubyte.gz"), buf, len);
    sweep_load("IDX.gz", tmp_path("x-idx3-ubyte.gz"), NULL);

    /* Labels: text, NPY, IDX. */
    int32_t y[N];
    unsigned char yb[N];
    for (int i = 0; i < N; i++) y[i] = yb[i] = (unsigned char)(i % K);
    CHECK_OK(dc_write_labels(tmp_path("y.csv"), y, N, DC_FORMAT_AUTO));
    sweep_labels("labels CSV", tmp_path("y.csv"));
    CHECK_OK(dc_write_labels(tmp_path("y.npy"), y, N, DC_FORMAT_AUTO));
    sweep_labels("labels NPY", tmp_path("y.npy"));
    len = idx_bytes(buf, 0x08, 1, (const int[]){N}, yb, N);
    write_bytes(tmp_path("y-idx1-ubyte"), buf, len);
    sweep_labels("labels IDX", tmp_path("y-idx1-ubyte"));

    /* A model, its pre-trained autoencoder and a checkpoint, by a tiny fit. */
    fit_ctx c = {"edcwrn", deep_params, NULL, NULL, NULL};
    fit_setup(&c);
    CHECK_OK(dc_solver_set_checkpoint(c.s, tmp_path("fit.ckpt"), 3));
    CHECK_OK(dc_solver_fit(c.s, g_ds));
    dc_model *m = NULL;
    CHECK_OK(dc_solver_model(c.s, &m));
    CHECK_OK(dc_model_save(m, tmp_path("fit.dcm")));
    dc_model_free(m);
    m = NULL;
    CHECK_OK(dc_solver_pretrained(c.s, &m));
    CHECK_OK(dc_model_save(m, tmp_path("ae.dcm")));
    dc_model_free(m);
    fit_release(&c);
    sweep_model("model file", tmp_path("fit.dcm"));
    sweep_model("autoencoder file", tmp_path("ae.dcm"));
    sweep_model("checkpoint as a model", tmp_path("fit.ckpt"));
    fit_ctx r = {"edcwrn", deep_params, tmp_path("fit.ckpt"), NULL, NULL};
    op o = {"resume from a checkpoint", &r, fit_setup, fit_run, fit_gone, fit_release};
    sweep(&o);

    /* Writing pre-training (and clustering) checkpoints at every step, and
     * resuming a pre-training checkpoint. */
    fit_ctx w = {"idec", deep_params, NULL, NULL, tmp_path("fit-every.ckpt")};
    op ow = {"fit with checkpoints", &w, fit_setup, fit_run, fit_gone, fit_release};
    sweep(&ow);
    fit_ctx pc = {"idec", deep_params, NULL, NULL, tmp_path("pre.ckpt")};
    fit_setup(&pc);
    CHECK_OK(dc_solver_set_progress(pc.s, stop_in_pretrain, NULL));
    CHECK_STATUS(dc_solver_fit(pc.s, g_ds), DC_ERR_CANCELLED);
    fit_release(&pc);
    fit_ctx rp = {"idec", deep_params, tmp_path("pre.ckpt"), NULL, NULL};
    op orp = {"resume from a pre-training checkpoint", &rp, fit_setup, fit_run, fit_gone,
              fit_release};
    sweep(&orp);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK_OK(dc_set_threads(1));
    CHECK_OK(test_alloc_install(SIZE_MAX));
    scratch_make("dc_allocfail");
    make_blobs();
    test_fits();
    test_readers();
    dc_dataset_free(g_ds);
    scratch_remove();
    CHECK_MSG(g_alloc.live == 0, "%lld blocks live at the end", g_alloc.live);
    DC_TEST_END();
}
