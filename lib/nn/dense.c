#include "nn/dense.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/gemm.h"

/* ---- single layer ---- */

void dci_dense_forward(const dci_dense *L, const float *x, int64_t batch, float *y, int relu) {
    const int64_t in = L->in, out = L->out;
    dci_gemm_kept(L->bf16, L->slot, 0, L->slot + 1, 0, 0, 0, batch, out, in, x, in, L->w, out, 0.0f,
                  y, out);
    const float *b = L->b;
    /* One pass for bias and ReLU while the rows are still in cache. `v < 0 ? 0 : v`
     * rather than fmaxf so that a NaN reaches the loss check instead of becoming 0. */
    for (int64_t i = 0; i < batch; i++) {
        float *row = y + i * out;
        if (relu) {
            for (int64_t j = 0; j < out; j++) {
                float v = row[j] + b[j];
                row[j] = v < 0.0f ? 0.0f : v;
            }
        } else {
            for (int64_t j = 0; j < out; j++) row[j] += b[j];
        }
    }
}

void dci_dense_backward(const dci_dense *L, const float *x, const float *dy, int64_t batch,
                        int accumulate, float *dx) {
    const int64_t in = L->in, out = L->out;
    dci_gemm_kept(L->bf16, L->slot, 1, L->slot + 2, 0, 1, 0, in, out, batch, x, in, dy, out,
                  accumulate ? 1.0f : 0.0f, L->dw, out);
    float *db = L->db;
    if (!accumulate) memset(db, 0, (size_t)out * sizeof *db);
    for (int64_t i = 0; i < batch; i++) {
        const float *row = dy + i * out;
        for (int64_t j = 0; j < out; j++) db[j] += row[j];
    }
    if (dx)
        dci_gemm_kept(L->bf16, L->slot + 2, 1, L->slot + 1, 1, 0, 1, batch, in, out, dy, out, L->w,
                      out, 0.0f, dx, in);
}

void dci_relu_backward(float *dy, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* ---- stacks ---- */

struct dci_mlp {
    int n_layers;
    int64_t *dims;      /* n_layers + 1 */
    int64_t *offset;    /* start of W_l in the parameter block; b_l follows W_l */
    int64_t n_params;
    float *params, *grads;
    int64_t max_batch;
    float **act;        /* act[l]: output of layer l, max_batch × dims[l+1] */
    float *gbuf[2];     /* ping-pong gradient buffers for hidden layers */
    const float *input; /* borrowed from the last forward */
    int64_t batch;      /* rows of the last forward; 0 when backward is not possible */
    int zero_pending;   /* gradients are logically zero (lazy zero_grad) */
    dci_gemm_bf16 *bf16; /* NULL: fp32 products */
};

static dci_dense layer_view(const dci_mlp *m, int l) {
    dci_dense L;
    L.in = m->dims[l];
    L.out = m->dims[l + 1];
    L.w = m->params + m->offset[l];
    L.b = L.w + L.in * L.out;
    L.dw = m->grads + m->offset[l];
    L.db = L.dw + L.in * L.out;
    L.bf16 = m->bf16;
    L.slot = 3 * l;
    return L;
}

dc_status dci_mlp_set_bf16(dci_mlp *m, int on) {
    DCI_CHECK_NULL(m);
    if (!on) {
        dci_gemm_bf16_free(m->bf16);
        m->bf16 = NULL;
        return DC_OK;
    }
    if (m->bf16) return DC_OK;
    return dci_gemm_bf16_create(&m->bf16);
}

int dci_mlp_bf16(const dci_mlp *m) { return m->bf16 != NULL; }

void dci_mlp_free(dci_mlp *m) {
    if (!m) return;
    dci_gemm_bf16_free(m->bf16);
    if (m->act)
        for (int l = 0; l < m->n_layers; l++) dci_free(m->act[l]);
    dci_free(m->act);
    dci_free(m->gbuf[0]);
    dci_free(m->gbuf[1]);
    dci_free(m->params);
    dci_free(m->grads);
    dci_free(m->offset);
    dci_free(m->dims);
    dci_free(m);
}

dc_status dci_mlp_create(dci_mlp **out, const int64_t *dims, int n_dims, int64_t max_batch) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(dims);
    if (n_dims < 2)
        return dci_fail(DC_ERR_INVALID_ARG, "network: needs at least 2 dims (one layer), got %d",
                        n_dims);
    /* GEMM sizes and leading dimensions are `int` in CBLAS. */
    if (max_batch < 1 || max_batch > INT_MAX)
        return dci_fail(DC_ERR_INVALID_ARG, "network: max batch %lld out of [1, %d]",
                        (long long)max_batch, INT_MAX);
    for (int i = 0; i < n_dims; i++)
        if (dims[i] < 1 || dims[i] > INT_MAX)
            return dci_fail(DC_ERR_INVALID_ARG, "network: dims[%d] = %lld out of [1, %d]", i,
                            (long long)dims[i], INT_MAX);

    dci_mlp *m = dci_calloc(1, sizeof *m);
    if (!m) return dci_fail(DC_ERR_NOMEM, "network: cannot allocate the handle");
    m->n_layers = n_dims - 1;
    m->max_batch = max_batch;
    m->zero_pending = 1;
    m->dims = DCI_NEW_ARRAY(int64_t, n_dims, "network dims");
    m->offset = DCI_NEW_ARRAY(int64_t, m->n_layers, "network offsets");
    m->act = DCI_NEW_ZEROS(float *, m->n_layers, "network activations");
    if (!m->dims || !m->offset || !m->act) goto nomem;
    memcpy(m->dims, dims, (size_t)n_dims * sizeof *dims);

    int64_t total = 0, widest_hidden = 0;
    for (int l = 0; l < m->n_layers; l++) {
        m->offset[l] = total;
        int64_t in = dims[l], o = dims[l + 1];
        if (in + 1 > (INT64_MAX - total) / o) {
            dci_mlp_free(m);
            return dci_fail(DC_ERR_NOMEM, "network: parameter count overflows");
        }
        total += in * o + o;
        if (l + 1 < m->n_layers && o > widest_hidden) widest_hidden = o;
        if (o > INT64_MAX / max_batch) {
            dci_mlp_free(m);
            return dci_fail(DC_ERR_NOMEM, "network: activation size overflows");
        }
        if (!(m->act[l] = DCI_NEW_ARRAY(float, max_batch * o, "network activations"))) goto nomem;
    }
    m->n_params = total;
    m->params = DCI_NEW_ZEROS(float, total, "network parameters");
    m->grads = DCI_NEW_ZEROS(float, total, "network gradients");
    if (!m->params || !m->grads) goto nomem;
    if (widest_hidden > 0) {
        for (int k = 0; k < 2; k++)
            if (!(m->gbuf[k] = DCI_NEW_ARRAY(float, max_batch * widest_hidden,
                                             "network gradient workspace")))
                goto nomem;
    }
    *out = m;
    return DC_OK;
nomem:
    dci_mlp_free(m);
    return DC_ERR_NOMEM; /* detail set by DCI_NEW_ARRAY */
}

void dci_mlp_init_uniform(dci_mlp *m, dci_rng *r) {
    for (int l = 0; l < m->n_layers; l++) {
        dci_dense L = layer_view(m, l);
        double bound = sqrt(1.0 / (double)L.in);
        for (int64_t i = 0; i < L.in * L.out; i++)
            L.w[i] = (float)((2.0 * dci_rng_uniform(r) - 1.0) * bound);
        memset(L.b, 0, (size_t)L.out * sizeof *L.b);
    }
    m->batch = 0;
}

dc_status dci_mlp_clone(dci_mlp **out, const dci_mlp *src, int64_t max_batch) {
    DCI_CHECK_NULL(out);
    DCI_CHECK_NULL(src);
    DCI_TRY(dci_mlp_create(out, src->dims, src->n_layers + 1, max_batch));
    memcpy((*out)->params, src->params, (size_t)src->n_params * sizeof *src->params);
    return DC_OK;
}

dc_status dci_mlp_copy_params(dci_mlp *dst, const dci_mlp *src) {
    DCI_CHECK_NULL(dst);
    DCI_CHECK_NULL(src);
    if (dst->n_layers != src->n_layers ||
        memcmp(dst->dims, src->dims, (size_t)(src->n_layers + 1) * sizeof *src->dims) != 0)
        return dci_fail(DC_ERR_SHAPE, "network: copying parameters between different shapes");
    memcpy(dst->params, src->params, (size_t)src->n_params * sizeof *src->params);
    dst->batch = 0;
    return DC_OK;
}

/* Forward writing the last layer to `last` (the workspace or a caller buffer). */
static void forward_into(dci_mlp *m, const float *x, int64_t batch, float *last) {
    const float *h = x;
    for (int l = 0; l < m->n_layers; l++) {
        dci_dense L = layer_view(m, l);
        int is_last = l + 1 == m->n_layers;
        float *y = is_last ? last : m->act[l];
        dci_dense_forward(&L, h, batch, y, !is_last);
        h = y;
    }
}

const float *dci_mlp_forward(dci_mlp *m, const float *x, int64_t batch) {
    float *last = m->act[m->n_layers - 1];
    forward_into(m, x, batch, last);
    m->input = x;
    m->batch = batch;
    return last;
}

void dci_mlp_backward(dci_mlp *m, const float *dout, float *dx) {
    const int64_t batch = m->batch;
    if (batch <= 0) return; /* no forward to differentiate: a caller bug, kept harmless */
    const int accumulate = !m->zero_pending;
    const float *g = dout;
    for (int l = m->n_layers - 1; l >= 0; l--) {
        dci_dense L = layer_view(m, l);
        const float *xin = l ? m->act[l - 1] : m->input;
        /* g lives in gbuf[(l+1)&1] (or is dout), so gbuf[l&1] is free for dx. */
        float *dxl = l ? m->gbuf[l & 1] : dx;
        dci_dense_backward(&L, xin, g, batch, accumulate, dxl);
        if (l) {
            dci_relu_backward(dxl, m->act[l - 1], batch * L.in);
            g = dxl;
        }
    }
    m->zero_pending = 0;
}

int64_t dci_mlp_batch(const dci_mlp *m) { return m->batch; }

const float *dci_mlp_output(const dci_mlp *m) {
    return m->batch > 0 ? m->act[m->n_layers - 1] : NULL;
}

void dci_mlp_apply(dci_mlp *m, const float *x, int64_t n, float *out) {
    const int64_t din = m->dims[0], dout = m->dims[m->n_layers];
    for (int64_t i = 0; i < n; i += m->max_batch) {
        int64_t b = n - i < m->max_batch ? n - i : m->max_batch;
        forward_into(m, x + i * din, b, out + i * dout);
    }
    m->batch = 0;
}

void dci_mlp_zero_grad(dci_mlp *m) { m->zero_pending = 1; }

int dci_mlp_n_layers(const dci_mlp *m) { return m->n_layers; }
const int64_t *dci_mlp_dims(const dci_mlp *m) { return m->dims; }
int64_t dci_mlp_in_dim(const dci_mlp *m) { return m->dims[0]; }
int64_t dci_mlp_out_dim(const dci_mlp *m) { return m->dims[m->n_layers]; }
int64_t dci_mlp_max_batch(const dci_mlp *m) { return m->max_batch; }
int64_t dci_mlp_param_count(const dci_mlp *m) { return m->n_params; }

int64_t dci_mlp_param_count_of(const int64_t *dims, int n_dims) {
    int64_t total = 0;
    for (int l = 0; l + 1 < n_dims; l++) {
        const int64_t in = dims[l], out = dims[l + 1];
        if (in + 1 > (INT64_MAX - total) / out) return -1;
        total += in * out + out;
    }
    return total;
}
float *dci_mlp_params(dci_mlp *m) { return m->params; }
const float *dci_mlp_params_const(const dci_mlp *m) { return m->params; }

float *dci_mlp_grads(dci_mlp *m) {
    if (m->zero_pending) {
        memset(m->grads, 0, (size_t)m->n_params * sizeof *m->grads);
        m->zero_pending = 0;
    }
    return m->grads;
}

dci_dense dci_mlp_layer(dci_mlp *m, int l) {
    dci_mlp_grads(m);
    return layer_view(m, l);
}
