/* Clustering-phase throughput (docs/methods.md "EDCWRN", step 5) of EDCWRN or IDEC: one
 * iteration = next mini-batch, encoders (sample and neighbour), batch-local
 * kNN and neighbour max, decoder, MSE + clustering loss, backward, SGD
 * momentum step on encoders, decoder and centres, and (EDCWRN) the weights
 * from the batch — dci_deep_iteration, on random data with a random
 * "pre-trained" autoencoder, d-500-500-2000-10, K = 10, every other setting
 * the method's default (dci_deep_cfg_default).
 *
 * The target updates are NOT in the timed loop: each embeds the whole set
 * (plus the global kNN, Q, P and the weights) once every T = 140 iterations,
 * so their cost grows with n, not with the batch. One is timed on its own
 * (the one that makes P, the weights and the global neighbour lists real
 * before the loop) and printed as "update (n rows)".
 * Built and run by bench/bench_cluster.sh against a build directory; the
 * PyTorch counterpart is bench/bench_cluster_torch.py.
 *   bench_cluster [method=edcwrn|idec] [n=4096] [steps=40] [batch=256] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust/model.h"
#include "methods/deep_model.h"
#include "methods/edcwrn.h"
#include "nn/gemm.h"
#include "nn/dense.h"

static int failed(dc_status st, const char *what) {
    if (st == DC_OK) return 0;
    fprintf(stderr, "%s failed: %s\n", what, dc_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *method = argc > 1 ? argv[1] : "edcwrn";
    int64_t n = argc > 2 ? atoll(argv[2]) : 4096;
    int steps = argc > 3 ? atoi(argv[3]) : 40;
    int64_t batch = argc > 4 ? atoll(argv[4]) : 256;
    const int bf16 = argc > 5 && strcmp(argv[5], "bf16") == 0; /* gemm_precision */
    dci_deep_method dm;
    if (strcmp(method, "edcwrn") == 0)
        dm = DCI_DEEP_EDCWRN;
    else if (strcmp(method, "idec") == 0)
        dm = DCI_DEEP_IDEC;
    else {
        fprintf(stderr, "method must be edcwrn or idec, not %s\n", method);
        return 2;
    }
    if (n < 2 || steps < 1 || batch < 1) {
        fprintf(stderr, "need n >= 2, steps >= 1, batch >= 1\n");
        return 2;
    }
    const int64_t d = 784, dims[5] = {d, 500, 500, 2000, 10};
    dci_deep_cfg cfg = dci_deep_cfg_default(dm);
    cfg.k = 10;
    cfg.batch = batch;
    cfg.n_init = 1; /* k-means only gives the centres a sensible start here */
    cfg.gemm_precision = bf16 ? DCI_GEMM_BF16 : DCI_GEMM_FP32;

    dci_rng r;
    dci_rng_init(&r, 1, DCI_STREAM_TEST);
    float *x = malloc((size_t)(n * d) * sizeof *x);
    if (!x) return 1;
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)dci_rng_uniform(&r);

    dc_model *ae = NULL;
    dci_deep_train *t = NULL;
    if (failed(dci_model_new(&ae, DCI_MODEL_AUTOENCODER, method, dims, 5, cfg.batch, 0, 1, 0, 0),
               "dci_model_new"))
        return 1;
    dci_mlp_init_uniform(ae->enc, &r);
    dci_mlp_init_uniform(ae->dec, &r);
    if (failed(dci_deep_check(&cfg, n, d, NULL), "dci_deep_check") ||
        failed(dci_deep_train_create(&t, &cfg, ae, n, NULL), "dci_deep_train_create") ||
        failed(dci_deep_init_centers(t, x, NULL, NULL), "dci_deep_init_centers"))
        return 1;
    double t0 = dci_now();
    if (failed(dci_deep_update(t, x), "dci_deep_update")) return 1;
    const double t_update = dci_now() - t0;

    /* as the fit runs its bf16 clustering phase (nn/gemm.h) */
    const int held = bf16 ? dci_gemm_bf16_phase_begin() : 0;
    for (int s = 0; s < 3; s++) /* warm-up */
        if (failed(dci_deep_iteration(t, x), "dci_deep_iteration")) return 1;
    t0 = dci_now();
    for (int s = 0; s < steps; s++)
        if (failed(dci_deep_iteration(t, x), "dci_deep_iteration")) return 1;
    const double total = dci_now() - t0;
    dci_gemm_bf16_phase_end(held);

    const float *last = t->loss + 3 * (t->n_loss - 1); /* L, L_r, L_c */
    printf("%s: n %lld, dims 784-500-500-2000-10, K 10, batch %lld, neighbours %lld, "
           "weighting %s, products %s, %d steps, final loss %.5f (L_r %.5f, L_c %.5g)\n",
           method, (long long)n, (long long)t->B, (long long)t->kn, cfg.weighting ? "on" : "off",
           bf16 ? "bf16" : "fp32", steps, last[0], last[1], last[2]);
    printf("iteration: %.2f ms\n", 1e3 * total / steps);
    printf("cluster throughput: %.0f samples/s\n", (double)t->B * steps / total);
    printf("update (%lld rows): %.3f s\n", (long long)n, t_update);
    const int ok = isfinite(last[0]) && isfinite(last[1]) && isfinite(last[2]);
    dci_deep_train_free(t);
    dc_model_free(ae);
    free(x);
    if (!ok) fprintf(stderr, "loss not finite\n");
    return ok ? 0 : 1;
}
