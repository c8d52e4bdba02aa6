/* Dense (fully connected) layers as GEMMs, and stacks of them (dci_mlp).
 *
 * Layout. Activations are row-major `batch × features`. A layer's weight is
 * row-major `in × out` (Keras' Dense kernel layout, so weights of the
 * authors' Keras models map one-to-one), followed by its bias `out`:
 *   forward   Y  = X·W + b              sgemm(N, N)
 *   backward  dW = Xᵀ·dY                sgemm(T, N)
 *             db = column sums of dY
 *             dX = dY·Wᵀ                sgemm(N, T)
 * All three use sgemm's transpose flags; nothing is transposed in memory.
 * Bias add and ReLU share one pass after the GEMM.
 *
 * A dci_mlp is a stack of dense layers with ReLU after every layer but the
 * last (which is linear). Its parameters live in one contiguous block
 * (W_0, b_0, W_1, b_1, ...), its gradients in a second block of the same
 * layout, so an optimiser or a serialiser sees one array per network. The
 * activation workspace is sized once for `max_batch` rows.
 *
 * Applying one network to several inputs in one step (the EDCWRN neighbour
 * encoder on k·B rows with the same weights): either stack the inputs into one
 * forward call (one larger GEMM, fastest; size max_batch for it), or run
 * forward/backward pairs one after another — backward accumulates parameter
 * gradients until dci_mlp_zero_grad.
 *
 * A dci_mlp is used by one thread at a time. */
#ifndef DCI_DENSE_H
#define DCI_DENSE_H

#include <stdint.h>
#include "core/rng.h"
#include "deepclust/status.h"

/* ---- single layer (views into an mlp's blocks) ---- */

typedef struct dci_gemm_bf16 dci_gemm_bf16;

typedef struct dci_dense {
    int64_t in, out;
    float *w, *b;   /* in×out weight, out bias */
    float *dw, *db; /* their gradients, same shapes */
    dci_gemm_bf16 *bf16; /* NULL: fp32 products (nn/gemm.h) */
    int slot;            /* first of the layer's three bf16 copies (X, W, dY) in bf16 */
} dci_dense;

/* y (batch×out) = x (batch×in) · W + b, then max(·, 0) when relu. */
void dci_dense_forward(const dci_dense *L, const float *x, int64_t batch, float *y, int relu);

/* dy is the gradient w.r.t. the layer's pre-activation (batch×out) of the
 * layer's last forward, whose x and W are unchanged (in bf16 the backward
 * products reuse their bf16 copies from that forward). Adds
 * (accumulate != 0) or writes (accumulate == 0) dW = xᵀ·dy and db = Σ_rows dy;
 * writes dx = dy·Wᵀ when dx is not NULL. */
void dci_dense_backward(const dci_dense *L, const float *x, const float *dy, int64_t batch,
                        int accumulate, float *dx);

/* dy[i] = 0 where the ReLU output y[i] is not positive (the derivative at 0
 * is taken as 0, as PyTorch and Keras do). */
void dci_relu_backward(float *dy, const float *y, int64_t n);

/* ---- stacks of layers ---- */

typedef struct dci_mlp dci_mlp;

/* A stack dims[0] → dims[1] → … → dims[n_dims-1] (n_dims >= 2) with all
 * parameters zero; call dci_mlp_init_uniform (or fill dci_mlp_params). The
 * workspace holds forward activations and backward buffers for max_batch rows. */
dc_status dci_mlp_create(dci_mlp **out, const int64_t *dims, int n_dims, int64_t max_batch);

/* Weights uniform in ±sqrt(1/fan_in) (variance scaling 1/3, fan-in, uniform),
 * biases zero; draws layer by layer, row-major, from r. */
void dci_mlp_init_uniform(dci_mlp *m, dci_rng *r);

/* A copy of src's parameters (gradients zero) with its own workspace for
 * max_batch rows (e.g. k·B for the neighbour encoder). */
dc_status dci_mlp_clone(dci_mlp **out, const dci_mlp *src, int64_t max_batch);

/* Copies parameters between networks of the same dims (DC_ERR_SHAPE if not). */
dc_status dci_mlp_copy_params(dci_mlp *dst, const dci_mlp *src);

void dci_mlp_free(dci_mlp *m); /* accepts NULL */

/* The precision of the network's products from now on: bf16 inputs with
 * fp32 sums (on != 0: DC_ERR_UNSUPPORTED where the build or the CPU cannot,
 * nn/gemm.h) or fp32 (on == 0, the default). */
dc_status dci_mlp_set_bf16(dci_mlp *m, int on);
int dci_mlp_bf16(const dci_mlp *m);

/* Forward on batch (1..max_batch) rows of x. Returns the output (batch ×
 * out_dim), valid until the next forward. Keeps the activations and borrows
 * x (which must stay unchanged) for dci_mlp_backward. */
const float *dci_mlp_forward(dci_mlp *m, const float *x, int64_t batch);

/* Backward for the last forward: dout is d(loss)/d(output), batch × out_dim.
 * Accumulates parameter gradients; writes d(loss)/d(input) to dx when not
 * NULL. dout may alias neither the workspace nor dx. */
void dci_mlp_backward(dci_mlp *m, const float *dout, float *dx);

/* Rows of the last forward (0 before any, or after dci_mlp_apply). */
int64_t dci_mlp_batch(const dci_mlp *m);

/* Output of the last forward (NULL before any). */
const float *dci_mlp_output(const dci_mlp *m);

/* Inference on n rows (any n), in chunks of max_batch, into out (n × out_dim).
 * Uses the workspace: a following backward needs a new forward. */
void dci_mlp_apply(dci_mlp *m, const float *x, int64_t n, float *out);

/* Sets all gradients to zero. O(1): the next backward overwrites instead of
 * adding; dci_mlp_grads materialises the zeros if asked before that. */
void dci_mlp_zero_grad(dci_mlp *m);

/* ---- shape and parameter access (save/load, optimisers) ---- */

int dci_mlp_n_layers(const dci_mlp *m);
const int64_t *dci_mlp_dims(const dci_mlp *m); /* n_layers + 1 entries */
int64_t dci_mlp_in_dim(const dci_mlp *m);
int64_t dci_mlp_out_dim(const dci_mlp *m);
int64_t dci_mlp_max_batch(const dci_mlp *m);
int64_t dci_mlp_param_count(const dci_mlp *m);
/* The parameter count a network with these layer sizes has (the same layout),
 * without building it; -1 if it overflows int64. */
int64_t dci_mlp_param_count_of(const int64_t *dims, int n_dims);
float *dci_mlp_params(dci_mlp *m);                  /* W_0, b_0, W_1, b_1, ... */
const float *dci_mlp_params_const(const dci_mlp *m);
float *dci_mlp_grads(dci_mlp *m);                   /* same layout as params */
/* Views of layer l (0 <= l < n_layers) into the parameter and gradient blocks. */
dci_dense dci_mlp_layer(dci_mlp *m, int l);

#endif
