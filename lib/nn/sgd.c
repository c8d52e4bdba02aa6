#include "nn/sgd.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/parallel.h"

typedef struct sgd_block {
    float *param;
    const float *grad; /* NULL when taken from mlp at each step */
    dci_mlp *mlp;
    float *vel;
    float *sq; /* Adam: second moments */
    int64_t count;
} sgd_block;

struct dci_sgd {
    float lr, momentum;
    int adam;
    float beta2;
    int64_t t; /* Adam: steps taken */
    sgd_block *blocks;
    int n_blocks, cap;
};

dc_status dci_sgd_create(dci_sgd **out, float lr, float momentum) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    if (!(lr > 0.0f) || !isfinite(lr))
        return dci_fail(DC_ERR_INVALID_ARG, "SGD: learning rate %g must be > 0", (double)lr);
    if (!(momentum >= 0.0f && momentum < 1.0f))
        return dci_fail(DC_ERR_INVALID_ARG, "SGD: momentum %g out of [0, 1)", (double)momentum);
    dci_sgd *s = dci_calloc(1, sizeof *s);
    if (!s) return dci_fail(DC_ERR_NOMEM, "SGD: cannot allocate the handle");
    s->lr = lr;
    s->momentum = momentum;
    *out = s;
    return DC_OK;
}

float dci_sgd_rate(double lr) {
    const float f = (float)lr;
    return lr > 0.0 && f == 0.0f ? nextafterf(0.0f, 1.0f) : f;
}

dc_status dci_sgd_create_adam(dci_sgd **out, float lr, float beta1, float beta2) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    if (!(beta2 > 0.0f && beta2 < 1.0f))
        return dci_fail(DC_ERR_INVALID_ARG, "Adam: beta2 %g out of (0, 1)", (double)beta2);
    DCI_TRY(dci_sgd_create(out, lr, beta1));
    (*out)->adam = 1;
    (*out)->beta2 = beta2;
    return DC_OK;
}

void dci_sgd_free(dci_sgd *s) {
    if (!s) return;
    for (int i = 0; i < s->n_blocks; i++) {
        dci_free(s->blocks[i].vel);
        dci_free(s->blocks[i].sq);
    }
    dci_free(s->blocks);
    dci_free(s);
}

static dc_status add(dci_sgd *s, float *param, const float *grad, dci_mlp *mlp, int64_t count) {
    if (count < 1) return dci_fail(DC_ERR_INVALID_ARG, "SGD: empty parameter block");
    if (s->n_blocks == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        sgd_block *nb = dci_realloc(s->blocks, (size_t)cap * sizeof *nb);
        if (!nb) return dci_fail(DC_ERR_NOMEM, "SGD: cannot grow the block list");
        s->blocks = nb;
        s->cap = cap;
    }
    float *vel = DCI_NEW_ZEROS(float, count, "SGD velocity");
    if (!vel) return DC_ERR_NOMEM;
    float *sq = NULL;
    if (s->adam && !(sq = DCI_NEW_ZEROS(float, count, "Adam second moments"))) {
        dci_free(vel);
        return DC_ERR_NOMEM;
    }
    s->blocks[s->n_blocks++] = (sgd_block){param, grad, mlp, vel, sq, count};
    return DC_OK;
}

dc_status dci_sgd_add_mlp(dci_sgd *s, dci_mlp *m) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(m);
    return add(s, dci_mlp_params(m), NULL, m, dci_mlp_param_count(m));
}

dc_status dci_sgd_add_block(dci_sgd *s, float *param, const float *grad, int64_t count) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(param);
    DCI_CHECK_NULL(grad);
    return add(s, param, grad, NULL, count);
}

/* The update loops are memory-bound streams over millions of parameters:
 * compiled for the widest vector unit the CPU has (target_clones picks at
 * load time) and split over the BLAS threads (core/parallel.h). Each element
 * is updated alone, so results do not depend on the thread count. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DCI_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DCI_VECTOR_CLONES
#endif

DCI_VECTOR_CLONES
static void momentum_range(float *restrict w, float *restrict v, const float *restrict g,
                           int64_t n, float lr, float momentum) {
    for (int64_t i = 0; i < n; i++) {
        const float vi = momentum * v[i] - lr * g[i];
        v[i] = vi;
        w[i] += vi;
    }
}

void dci_sgd_update(float *w, float *v, const float *g, int64_t n, float lr, float momentum) {
    momentum_range(w, v, g, n, lr, momentum);
}

DCI_VECTOR_CLONES
static void adam_range(float *restrict w, float *restrict m, float *restrict v,
                       const float *restrict g, int64_t n, float step, float isq, float b1,
                       float b2) {
    for (int64_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= step * mi / (sqrtf(vi) * isq + 1e-7f);
    }
}

/* One block's update as a dci_parallel_for body. */
typedef struct update_job {
    float *w, *v, *sq;
    const float *g;
    float lr, momentum;      /* SGD */
    float step, isq, b1, b2; /* Adam */
} update_job;

static void update_part(void *ctx, int64_t lo, int64_t hi) {
    const update_job *j = ctx;
    if (j->sq)
        adam_range(j->w + lo, j->v + lo, j->sq + lo, j->g + lo, hi - lo, j->step, j->isq, j->b1,
                   j->b2);
    else
        momentum_range(j->w + lo, j->v + lo, j->g + lo, hi - lo, j->lr, j->momentum);
}

/* Below this a second thread costs more than it saves (wake-up ~10 us). */
#define UPDATE_MIN_CHUNK 32768

/* g: the gradients of all blocks one after the other (dci_sgd_grads_get's
 * layout), or NULL for each block's own. */
static void step(dci_sgd *s, const float *g) {
    update_job j = {.lr = s->lr, .momentum = s->momentum};
    if (s->adam) {
        s->t++;
        /* Bias corrections folded into the step size and the denominator. */
        const double c1 = 1.0 - pow(s->momentum, (double)s->t);
        const double c2 = 1.0 - pow(s->beta2, (double)s->t);
        j.step = (float)(s->lr / c1);
        j.isq = (float)(1.0 / sqrt(c2));
        j.b1 = s->momentum;
        j.b2 = s->beta2;
    }
    for (int i = 0; i < s->n_blocks; i++) {
        sgd_block *b = &s->blocks[i];
        j.w = b->param;
        j.v = b->vel;
        j.sq = s->adam ? b->sq : NULL;
        j.g = g ? g : (b->mlp ? dci_mlp_grads(b->mlp) : b->grad);
        dci_parallel_for(b->count, UPDATE_MIN_CHUNK, update_part, &j);
        if (g) g += b->count;
    }
}

void dci_sgd_step(dci_sgd *s) { step(s, NULL); }

void dci_sgd_step_from(dci_sgd *s, const float *grads) { step(s, grads); }

int64_t dci_sgd_param_count(const dci_sgd *s) {
    int64_t total = 0;
    for (int i = 0; i < s->n_blocks; i++) total += s->blocks[i].count;
    return total;
}

void dci_sgd_grads_get(dci_sgd *s, float *buf, float scale) {
    for (int i = 0; i < s->n_blocks; i++) {
        sgd_block *b = &s->blocks[i];
        const float *g = b->mlp ? dci_mlp_grads(b->mlp) : b->grad;
        for (int64_t k = 0; k < b->count; k++) buf[k] = scale * g[k];
        buf += b->count;
    }
}

float *dci_sgd_params(dci_sgd *s, int block, int64_t *count) {
    if (block < 0 || block >= s->n_blocks) return NULL;
    if (count) *count = s->blocks[block].count;
    return s->blocks[block].param;
}

void dci_sgd_set_lr(dci_sgd *s, float lr) { s->lr = lr; }

void dci_sgd_reset(dci_sgd *s) {
    s->t = 0;
    for (int i = 0; i < s->n_blocks; i++) {
        memset(s->blocks[i].vel, 0, (size_t)s->blocks[i].count * sizeof(float));
        if (s->blocks[i].sq) memset(s->blocks[i].sq, 0, (size_t)s->blocks[i].count * sizeof(float));
    }
}

int dci_sgd_block_count(const dci_sgd *s) { return s->n_blocks; }

float *dci_sgd_velocity(dci_sgd *s, int block, int64_t *count) {
    if (block < 0 || block >= s->n_blocks) return NULL;
    if (count) *count = s->blocks[block].count;
    return s->blocks[block].vel;
}

float *dci_sgd_moments2(dci_sgd *s, int block, int64_t *count) {
    if (block < 0 || block >= s->n_blocks) return NULL;
    if (count) *count = s->blocks[block].count;
    return s->blocks[block].sq;
}

int dci_sgd_is_adam(const dci_sgd *s) { return s->adam; }

int64_t dci_sgd_steps(const dci_sgd *s) { return s->t; }

void dci_sgd_set_steps(dci_sgd *s, int64_t t) { s->t = t; }

dc_status dci_sgd_copy_state(dci_sgd *dst, const dci_sgd *src) {
    int same = dst->adam == src->adam && dst->n_blocks == src->n_blocks;
    for (int i = 0; same && i < dst->n_blocks; i++)
        same = dst->blocks[i].count == src->blocks[i].count;
    if (!same)
        return dci_fail(DC_ERR_INVALID_ARG, "SGD: the saved optimiser state does not match "
                                            "(kind or block sizes)");
    dst->t = src->t;
    for (int i = 0; i < dst->n_blocks; i++) {
        const size_t bytes = (size_t)dst->blocks[i].count * sizeof(float);
        memcpy(dst->blocks[i].vel, src->blocks[i].vel, bytes);
        if (dst->adam) memcpy(dst->blocks[i].sq, src->blocks[i].sq, bytes);
    }
    return DC_OK;
}
