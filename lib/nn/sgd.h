/* Stochastic gradient descent with momentum over several parameter blocks
 * (the networks' blocks plus extras such as cluster centres).
 *
 * Convention (Keras / Sutskever et al. 2013, without Nesterov):
 *     v ← μ·v − lr·g;   w ← w + v          (v starts at 0)
 * PyTorch's form b ← μ·b + g; w ← w − lr·b is the same sequence of weights
 * while lr is constant (v = −lr·b); they differ only right after an lr change,
 * where this form keeps the old step in the velocity. */
#ifndef DCI_SGD_H
#define DCI_SGD_H

#include <stdint.h>
#include "nn/dense.h"

typedef struct dci_sgd dci_sgd;

/* lr > 0, momentum in [0, 1) (DC_ERR_INVALID_ARG otherwise). */
dc_status dci_sgd_create(dci_sgd **out, float lr, float momentum);
/* A learning rate set in double (a solver parameter) as the float the
 * updates use. A positive rate below the smallest positive float becomes
 * that float, not 0: every rate the parameter tables accept stays valid. */
float dci_sgd_rate(double lr);
/* The same handle running Adam (Kingma & Ba 2015, bias-corrected, epsilon
 * 1e-7 as Keras): m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * w ← w − lr m̂ / (√v̂ + ε). beta1 in [0, 1), beta2 in (0, 1). Used for
 * pre-training, where it reaches a lower reconstruction loss per epoch than
 * SGD; dci_sgd_velocity then returns m (v is not exposed: Adam handles are
 * not checkpointed). */
dc_status dci_sgd_create_adam(dci_sgd **out, float lr, float beta1, float beta2);
void dci_sgd_free(dci_sgd *s); /* accepts NULL */

/* Registers all parameters of m (their gradients are read at each step
 * through dci_mlp_grads, which honours a pending zero_grad). */
dc_status dci_sgd_add_mlp(dci_sgd *s, dci_mlp *m);
/* Registers a raw block: param and grad of count floats, borrowed. */
dc_status dci_sgd_add_block(dci_sgd *s, float *param, const float *grad, int64_t count);

/* One update of every registered block. */
void dci_sgd_step(dci_sgd *s);

/* Data-parallel training (nn/dist.h): the gradients of all blocks in
 * registration order, times scale, into buf (dci_sgd_param_count floats);
 * a step with such a buffer instead of the blocks' own gradients; the
 * parameters of block i. */
int64_t dci_sgd_param_count(const dci_sgd *s);
void dci_sgd_grads_get(dci_sgd *s, float *buf, float scale);
void dci_sgd_step_from(dci_sgd *s, const float *grads);
float *dci_sgd_params(dci_sgd *s, int block, int64_t *count);

void dci_sgd_set_lr(dci_sgd *s, float lr);
/* Zeroes all velocities (e.g. when a new training phase starts). */
void dci_sgd_reset(dci_sgd *s);

/* Registered blocks (in registration order) and the velocity of block i with
 * its length: lets a checkpoint save and restore the optimiser state. */
int dci_sgd_block_count(const dci_sgd *s);
float *dci_sgd_velocity(dci_sgd *s, int block, int64_t *count);
/* What a checkpoint needs to continue a run exactly: Adam's second moments
 * of a block (NULL for SGD) and its step count (0 for SGD). */
float *dci_sgd_moments2(dci_sgd *s, int block, int64_t *count);
int dci_sgd_is_adam(const dci_sgd *s);
int64_t dci_sgd_steps(const dci_sgd *s);
void dci_sgd_set_steps(dci_sgd *s, int64_t t);
/* dst's moments and step count become src's; the two must have the same kind
 * and block sizes (else DC_ERR_INVALID_ARG). */
dc_status dci_sgd_copy_state(dci_sgd *dst, const dci_sgd *src);

/* The update rule on one block, common to dci_sgd_step and usable alone. */
void dci_sgd_update(float *w, float *v, const float *g, int64_t n, float lr, float momentum);

#endif
