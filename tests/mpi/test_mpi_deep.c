/* The data-parallel deep methods under mpirun (run by test_mpi.c's main):
 * a 1-rank communicator gives the single-process fit bit for bit, N ranks
 * stay within 3 ACC points of one process with the same parameters on every
 * rank, the measured bytes are the model's, a checkpoint resumes on as many
 * ranks and is refused on another count. */
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
#include "methods/deep_model.h"
#include "nn/dense.h"
#include "nn/dist.h"
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

void test_deep(const char *dir, int *passed, int *failed) {
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
    /* check.h counts per file: hand this file's counts to main */
    *passed += dct_pass;
    *failed += dct_fail;
}
