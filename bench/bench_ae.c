/* Pre-training throughput of the dense autoencoder (samples/s): one step =
 * batch gather (with random affine augmentation of 28x28 images when asked),
 * forward, MSE, backward, optimiser update, on random data: the loop of
 * dci_pretrain without shuffling. Also times the step's GEMMs alone (same
 * shapes, same flags) to show how close the step is to the GEMM limit.
 * Built and run by bench/bench_pretrain.sh against a build directory.
 *   bench_ae [d=784] [batch=256] [steps=40] [embed=10] [sgd|adam] [aug|noaug] */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"
#include "core/util.h"
#include "nn/gemm.h"
#include "nn/augment.h"
#include "nn/autoencoder.h"
#include "nn/sgd.h"

static double gemm_only(const int64_t *dims, int n_dims, int64_t batch, int steps) {
    /* Largest buffers suffice for every layer shape. */
    int64_t big = 0;
    for (int i = 0; i < n_dims; i++) big = dims[i] > big ? dims[i] : big;
    float *a = calloc((size_t)(batch * big), 4), *b = calloc((size_t)(big * big), 4),
          *c = calloc((size_t)(big * big > batch * big ? big * big : batch * big), 4);
    double t0 = dci_now();
    for (int s = 0; s < steps; s++) {
        for (int pass = 0; pass < 2; pass++) /* encoder, then mirrored decoder */
            for (int l = 0; l + 1 < n_dims; l++) {
                int in = (int)(pass ? dims[n_dims - 1 - l] : dims[l]);
                int out = (int)(pass ? dims[n_dims - 2 - l] : dims[l + 1]);
                int bt = (int)batch;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bt, out, in, 1, a, in, b,
                            out, 0, c, out);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, bt, 1, a, in, c,
                            out, 0, b, out);
                if (!(pass == 0 && l == 0)) /* no input gradient for the data */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bt, in, out, 1, c, out,
                                b, out, 0, a, in);
            }
    }
    double t = dci_now() - t0;
    free(a), free(b), free(c);
    return t;
}

int main(int argc, char **argv) {
    int64_t d = argc > 1 ? atoll(argv[1]) : 784;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 256;
    int steps = argc > 3 ? atoi(argv[3]) : 40;
    int64_t embed = argc > 4 ? atoll(argv[4]) : 10;
    const int adam = argc > 5 && strcmp(argv[5], "adam") == 0;
    const int aug = argc > 6 && strcmp(argv[6], "aug") == 0;
    const int bf16 = argc > 7 && strcmp(argv[7], "bf16") == 0; /* gemm_precision */
    const int64_t side = (int64_t)(sqrt((double)d) + 0.5);
    if (aug && side * side != d) {
        fprintf(stderr, "aug needs square images (d = %lld)\n", (long long)d);
        return 2;
    }
    const dci_image_shape shape = {side, side, 1};
    int64_t dims[5];
    int nd = dci_autoencoder_default_dims(d, embed, dims);

    dci_autoencoder ae;
    dci_sgd *sgd;
    if (dci_autoencoder_create(&ae, dims, nd, 1, batch) || (adam ? dci_sgd_create_adam(&sgd, 1e-3f, 0.9f, 0.999f)
                                                      : dci_sgd_create(&sgd, 1.0f, 0.9f)) ||
        dci_sgd_add_mlp(sgd, ae.enc) || dci_sgd_add_mlp(sgd, ae.dec) ||
        (bf16 && (dci_mlp_set_bf16(ae.enc, 1) || dci_mlp_set_bf16(ae.dec, 1)))) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    float *data = malloc((size_t)(batch * d) * 4), *x = malloc((size_t)(batch * d) * 4),
          *g = malloc((size_t)(batch * d) * 4);
    int64_t *idx = malloc((size_t)batch * sizeof *idx);
    dci_rng r, ra;
    dci_rng_init(&r, 1, DCI_STREAM_TEST);
    dci_rng_init(&ra, 1, DCI_STREAM_AUGMENT);
    for (int64_t i = 0; i < batch * d; i++) data[i] = (float)dci_rng_uniform(&r);
    for (int64_t i = 0; i < batch; i++) idx[i] = batch - 1 - i;

    double ta = 0, tf = 0, tb = 0, ts = 0, loss = 0;
    const int held = bf16 ? dci_gemm_bf16_phase_begin() : 0; /* as the fit's bf16 phases */
    for (int s = -3; s < steps; s++) { /* 3 warm-up steps */
        double tg0 = dci_now();
        dci_gather_batch(data, d, idx, batch, x, aug ? &shape : NULL, NULL, &ra);
        double t0 = dci_now();
        const float *y = dci_autoencoder_forward(&ae, x, batch);
        loss = dci_mse(y, x, batch, d, g);
        double t1 = dci_now();
        dci_autoencoder_zero_grad(&ae);
        dci_autoencoder_backward(&ae, g, NULL, NULL);
        double t2 = dci_now();
        dci_sgd_step(sgd);
        double t3 = dci_now();
        if (s >= 0) ta += t0 - tg0, tf += t1 - t0, tb += t2 - t1, ts += t3 - t2;
    }
    dci_gemm_bf16_phase_end(held);
    double total = ta + tf + tb + ts;
    double tg = gemm_only(dims, nd, batch, steps);
    double flops = 0;
    for (int l = 0; l + 1 < nd; l++) flops += 2.0 * 2 * dims[l] * dims[l + 1] * 3;
    flops -= 2.0 * dims[0] * dims[1]; /* no input gradient */
    printf("dims %lld-500-500-2000-%lld, batch %lld, %d steps, final loss %.5f\n", (long long)d,
           (long long)embed, (long long)batch, steps, loss);
    printf("step: %.2f ms (gather%s %.2f, forward+mse %.2f, backward %.2f, %s %.2f)\n",
           1e3 * total / steps, aug ? "+augment" : "", 1e3 * ta / steps, 1e3 * tf / steps,
           1e3 * tb / steps, adam ? "adam" : "sgd", 1e3 * ts / steps);
    printf("pretrain throughput: %.0f samples/s (%.1f GFLOP/s)\n", steps * batch / total,
           flops * batch * steps / total * 1e-9);
    printf("GEMMs alone:         %.0f samples/s (%.1f GFLOP/s)\n", steps * batch / tg,
           flops * batch * steps / tg * 1e-9);
    dci_sgd_free(sgd);
    dci_autoencoder_free(&ae);
    free(data), free(x), free(g), free(idx);
    return 0;
}
