/* The dense autoencoder of DEC / IDEC / EDCWRN (docs/methods.md "EDCWRN"): an encoder
 * [d, 500, 500, 2000, M] and the mirrored decoder [M, 2000, 500, 500, d],
 * ReLU after every internal layer, embedding and reconstruction linear,
 * reconstruction loss = mean squared error. Parameter layout and workspace
 * rules are those of dci_mlp (nn/dense.h). */
#ifndef DCI_AUTOENCODER_H
#define DCI_AUTOENCODER_H

#include <stdint.h>
#include "nn/dense.h"

typedef struct dci_autoencoder {
    dci_mlp *enc, *dec;
    float *dz; /* max_batch × M: gradient reaching the embedding in backward */
} dci_autoencoder;

#define DCI_AE_DEFAULT_EMBED 10

/* Writes the default encoder dims [d, 500, 500, 2000, embed] and returns
 * their count (5). */
int dci_autoencoder_default_dims(int64_t d, int64_t embed, int64_t dims[5]);

/* Encoder dims [d, h_1, ..., h_k, M] with k >= 1 hidden layers (n_dims >= 3);
 * the decoder mirrors them. Weights uniform ±sqrt(1/fan_in) drawn from
 * stream DCI_STREAM_INIT of `seed`, encoder first, then decoder; biases 0.
 * Workspaces for max_batch rows. On failure *ae is left zeroed. */
dc_status dci_autoencoder_create(dci_autoencoder *ae, const int64_t *enc_dims, int n_dims,
                                 uint64_t seed, int64_t max_batch);
void dci_autoencoder_free(dci_autoencoder *ae); /* frees the members; accepts NULL */

/* Reconstruction of batch rows (batch × d), valid until the next forward.
 * The embedding is dci_mlp_output(ae->enc). x is borrowed until backward. */
const float *dci_autoencoder_forward(dci_autoencoder *ae, const float *x, int64_t batch);

/* Backward through decoder and encoder for the last forward: drecon is
 * d(loss)/d(reconstruction); dz_extra (NULL or batch × M) is added to the
 * gradient at the embedding (e.g. a clustering loss). Accumulates parameter
 * gradients of both networks; dx (NULL or batch × d) gets d(loss)/d(x). */
void dci_autoencoder_backward(dci_autoencoder *ae, const float *drecon, const float *dz_extra,
                              float *dx);

void dci_autoencoder_zero_grad(dci_autoencoder *ae);

/* Reconstruction MSE over n rows of x (any n, in chunks of max_batch).
 * Uses the workspaces: a following backward needs a new forward. */
double dci_autoencoder_mse(dci_autoencoder *ae, const float *x, int64_t n);

/* Mean squared error over all n·d entries, accumulated in double. When grad
 * is not NULL it receives d(mse)/d(a) = 2(a − b)/(n·d) (n × d, may alias
 * neither a nor b). */
double dci_mse(const float *a, const float *b, int64_t n, int64_t d, float *grad);

#endif
