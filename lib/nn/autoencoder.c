#include "nn/autoencoder.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

int dci_autoencoder_default_dims(int64_t d, int64_t embed, int64_t dims[5]) {
    dims[0] = d;
    dims[1] = 500;
    dims[2] = 500;
    dims[3] = 2000;
    dims[4] = embed;
    return 5;
}

void dci_autoencoder_free(dci_autoencoder *ae) {
    if (!ae) return;
    dci_mlp_free(ae->enc);
    dci_mlp_free(ae->dec);
    dci_free(ae->dz);
    memset(ae, 0, sizeof *ae);
}

dc_status dci_autoencoder_create(dci_autoencoder *ae, const int64_t *enc_dims, int n_dims,
                                 uint64_t seed, int64_t max_batch) {
    DCI_CHECK_NULL(ae);
    memset(ae, 0, sizeof *ae);
    DCI_CHECK_NULL(enc_dims);
    if (n_dims < 3 || n_dims > 64)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "autoencoder: encoder needs 3..64 dims (input, >= 1 hidden, embedding), "
                        "got %d",
                        n_dims);
    int64_t dec_dims[64];
    for (int i = 0; i < n_dims; i++) dec_dims[i] = enc_dims[n_dims - 1 - i];

    dc_status st = dci_mlp_create(&ae->enc, enc_dims, n_dims, max_batch);
    if (st == DC_OK) st = dci_mlp_create(&ae->dec, dec_dims, n_dims, max_batch);
    if (st == DC_OK) {
        int64_t m = enc_dims[n_dims - 1];
        ae->dz = DCI_NEW_ARRAY(float, max_batch * m, "autoencoder embedding gradient");
        if (!ae->dz) st = DC_ERR_NOMEM;
    }
    if (st != DC_OK) {
        dci_autoencoder_free(ae);
        return dci_context(st, "autoencoder");
    }
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_INIT);
    dci_mlp_init_uniform(ae->enc, &r);
    dci_mlp_init_uniform(ae->dec, &r);
    return DC_OK;
}

const float *dci_autoencoder_forward(dci_autoencoder *ae, const float *x, int64_t batch) {
    const float *z = dci_mlp_forward(ae->enc, x, batch);
    return dci_mlp_forward(ae->dec, z, batch);
}

void dci_autoencoder_backward(dci_autoencoder *ae, const float *drecon, const float *dz_extra,
                              float *dx) {
    dci_mlp_backward(ae->dec, drecon, ae->dz);
    if (dz_extra) {
        int64_t n = dci_mlp_batch(ae->enc) * dci_mlp_out_dim(ae->enc);
        for (int64_t i = 0; i < n; i++) ae->dz[i] += dz_extra[i];
    }
    dci_mlp_backward(ae->enc, ae->dz, dx);
}

void dci_autoencoder_zero_grad(dci_autoencoder *ae) {
    dci_mlp_zero_grad(ae->enc);
    dci_mlp_zero_grad(ae->dec);
}

double dci_autoencoder_mse(dci_autoencoder *ae, const float *x, int64_t n) {
    const int64_t d = dci_mlp_in_dim(ae->enc), step = dci_mlp_max_batch(ae->enc);
    if (n <= 0) return 0.0;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += step) {
        int64_t b = n - i < step ? n - i : step;
        const float *recon = dci_autoencoder_forward(ae, x + i * d, b);
        sum += dci_mse(recon, x + i * d, b, d, NULL) * (double)b;
    }
    return sum / (double)n;
}

double dci_mse(const float *a, const float *b, int64_t n, int64_t d, float *grad) {
    const int64_t total = n * d;
    if (total <= 0) return 0.0;
    const double scale = 2.0 / (double)total;
    /* Four double accumulators: exact enough for any n·d and not one long
     * dependency chain (float reductions do not vectorise without -ffast-math). */
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    const float s = (float)scale;
    for (int64_t i = 0; i < total; i++) {
        float e = a[i] - b[i];
        acc[i & 3] += (double)e * (double)e;
        if (grad) grad[i] = s * e;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) / (double)total;
}
