/* nn building blocks: dense layers, autoencoder, MSE, SGD and Adam. Gradients
 * are checked against central differences of a double-precision reference
 * forward written here from the documented parameter layout (per layer: W
 * row-major in × out, then b), not from the library's code. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "deepclust.h"
#include "nn/augment.h"
#include "nn/autoencoder.h"
#include "nn/dense.h"
#include "nn/sgd.h"
#include "nn_common.h"

/* ---- double reference ---- */

/* Forward of a ReLU stack (linear last layer) in double; params in the
 * library's layout. Records the smallest |pre-activation| of ReLU units so a
 * test can make sure finite differences do not straddle a kink. */
static void ref_forward(const int64_t *dims, int n_dims, const double *p, const double *x,
                        int64_t batch, double *out, double *min_pre) {
    double cur[64 * 64], nxt[64 * 64];
    memcpy(cur, x, (size_t)(batch * dims[0]) * sizeof(double));
    const double *q = p;
    for (int l = 0; l + 1 < n_dims; l++) {
        int64_t in = dims[l], o = dims[l + 1];
        const double *W = q, *b = q + in * o;
        for (int64_t i = 0; i < batch; i++)
            for (int64_t j = 0; j < o; j++) {
                double s = b[j];
                for (int64_t k = 0; k < in; k++) s += cur[i * in + k] * W[k * o + j];
                if (l + 2 < n_dims) {
                    if (min_pre && fabs(s) < *min_pre) *min_pre = fabs(s);
                    s = s > 0 ? s : 0;
                }
                nxt[i * o + j] = s;
            }
        memcpy(cur, nxt, (size_t)(batch * o) * sizeof(double));
        q += in * o + o;
    }
    memcpy(out, cur, (size_t)(batch * dims[n_dims - 1]) * sizeof(double));
}

static void to_double(const float *a, double *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) b[i] = a[i];
}

/* Whole-AE loss in double: mse(dec(enc(x)), t) + Σ e·z. */
typedef struct ae_ref {
    int64_t enc_dims[8], dec_dims[8];
    int n_dims;
    int64_t batch;
    double pe[4096], pd[4096], x[256], t[256], e[64];
} ae_ref;

static double ae_ref_loss(const ae_ref *r, double *min_pre) {
    double z[64], y[256];
    ref_forward(r->enc_dims, r->n_dims, r->pe, r->x, r->batch, z, min_pre);
    ref_forward(r->dec_dims, r->n_dims, r->pd, z, r->batch, y, min_pre);
    int64_t d = r->enc_dims[0], m = r->enc_dims[r->n_dims - 1];
    double s = 0, c = 0;
    for (int64_t i = 0; i < r->batch * d; i++) s += (y[i] - r->t[i]) * (y[i] - r->t[i]);
    for (int64_t i = 0; i < r->batch * m; i++) c += r->e[i] * z[i];
    return s / (double)(r->batch * d) + c;
}

/* Central difference of ae_ref_loss w.r.t. *v, compared with analytic g. */
static int fd_matches(ae_ref *r, double *v, float g, double *worst) {
    const double eps = 1e-6, keep = *v;
    *v = keep + eps;
    double lp = ae_ref_loss(r, NULL);
    *v = keep - eps;
    double lm = ae_ref_loss(r, NULL);
    *v = keep;
    double fd = (lp - lm) / (2 * eps);
    double err = fabs(fd - (double)g) / (1e-3 + fabs(fd));
    if (err > *worst) *worst = err;
    return err < 1e-3;
}

static void test_ae_gradients(void) {
    const int64_t dims[4] = {5, 4, 3, 2};
    const int64_t B = 3, d = 5, M = 2;
    dci_autoencoder ae;
    CHECK_OK(dci_autoencoder_create(&ae, dims, 4, 7, 4));
    /* Non-zero biases so their effect on the gradient is exercised. */
    for (int which = 0; which < 2; which++) {
        dci_mlp *m = which ? ae.dec : ae.enc;
        for (int l = 0; l < dci_mlp_n_layers(m); l++) {
            dci_dense L = dci_mlp_layer(m, l);
            fill_uniform(L.b, L.out, -0.3, 0.3);
        }
    }
    ae_ref r;
    memset(&r, 0, sizeof r);
    r.n_dims = 4;
    r.batch = B;
    for (int i = 0; i < 4; i++) r.enc_dims[i] = dims[i], r.dec_dims[i] = dims[3 - i];
    float x[15], t[15], e[6], dx[15];
    fill_uniform(x, B * d, -1, 1);
    fill_uniform(t, B * d, -1, 1);
    fill_uniform(e, B * M, -0.5, 0.5);
    to_double(x, r.x, B * d);
    to_double(t, r.t, B * d);
    to_double(e, r.e, B * M);
    to_double(dci_mlp_params(ae.enc), r.pe, dci_mlp_param_count(ae.enc));
    to_double(dci_mlp_params(ae.dec), r.pd, dci_mlp_param_count(ae.dec));
    double min_pre = INFINITY;
    double ref = ae_ref_loss(&r, &min_pre);
    CHECK_MSG(min_pre > 1e-4, "a ReLU input is %g from the kink", min_pre);

    /* Forward agrees with the reference, and dci_mse gives the loss. */
    const float *recon = dci_autoencoder_forward(&ae, x, B);
    float grad[15];
    double mse = dci_mse(recon, t, B, d, grad);
    const float *z = dci_mlp_output(ae.enc);
    double c = 0;
    for (int i = 0; i < B * M; i++) c += (double)e[i] * z[i];
    CHECK_NEAR(mse + c, ref, 1e-5);

    dci_autoencoder_zero_grad(&ae);
    dci_autoencoder_backward(&ae, grad, e, dx);
    double worst = 0;
    int bad = 0;
    const float *ge = dci_mlp_grads(ae.enc), *gd = dci_mlp_grads(ae.dec);
    for (int64_t i = 0; i < dci_mlp_param_count(ae.enc); i++) bad += !fd_matches(&r, &r.pe[i], ge[i], &worst);
    for (int64_t i = 0; i < dci_mlp_param_count(ae.dec); i++) bad += !fd_matches(&r, &r.pd[i], gd[i], &worst);
    for (int64_t i = 0; i < B * d; i++) bad += !fd_matches(&r, &r.x[i], dx[i], &worst);
    CHECK_MSG(bad == 0, "%d gradient entries differ from finite differences (worst rel %g)", bad,
              worst);

    /* Backward accumulates: a second identical pass doubles the gradients,
     * until zero_grad, after which it overwrites. */
    float g1 = dci_mlp_grads(ae.enc)[3];
    dci_autoencoder_forward(&ae, x, B);
    dci_autoencoder_backward(&ae, grad, e, NULL);
    CHECK_NEAR(dci_mlp_grads(ae.enc)[3], 2 * g1, 1e-6 * (1 + fabs(g1)));
    dci_autoencoder_zero_grad(&ae);
    int all_zero = 1;
    const float *gz = dci_mlp_grads(ae.enc);
    for (int64_t i = 0; i < dci_mlp_param_count(ae.enc); i++) all_zero &= gz[i] == 0.0f;
    CHECK(all_zero);
    dci_autoencoder_free(&ae);
}

/* A single dense layer, linear and ReLU, against the reference: loss Σ c·y. */
static void test_dense_layer(int relu) {
    const int64_t in = 5, out = 4, B = 3;
    float w[20], b[4], dw[20], db[4], x[15], y[12], c[12], dx[15];
    fill_uniform(w, in * out, -1, 1);
    fill_uniform(b, out, -0.5, 0.5);
    fill_uniform(x, B * in, -1, 1);
    fill_uniform(c, B * out, -1, 1);
    dci_dense L = {in, out, w, b, dw, db, NULL, 0};
    dci_dense_forward(&L, x, B, y, relu);
    /* Reference: the linear layer in double, ReLU applied here. */
    double p[24], xd[15], yd[12], min_pre = INFINITY;
    to_double(w, p, 20);
    to_double(b, p + 20, 4);
    to_double(x, xd, 15);
    int64_t dims2[2] = {in, out};
    ref_forward(dims2, 2, p, xd, B, yd, NULL);
    int ok = 1;
    for (int i = 0; i < B * out; i++) {
        double want = relu ? (yd[i] > 0 ? yd[i] : 0) : yd[i];
        ok &= fabs(y[i] - want) < 1e-5;
        if (fabs(yd[i]) < min_pre) min_pre = fabs(yd[i]);
    }
    CHECK_MSG(ok, "dense forward (relu=%d) differs from the reference", relu);
    CHECK(min_pre > 1e-4);
    float dy[12];
    memcpy(dy, c, sizeof dy);
    if (relu) dci_relu_backward(dy, y, B * out);
    dci_dense_backward(&L, x, dy, B, 0, dx);
    /* Finite differences of Σ c·act(xW + b) in double. */
    int bad = 0;
    double eps = 1e-6;
    for (int which = 0; which < 3; which++) {
        double *v = which == 0 ? p : which == 1 ? p + 20 : xd;
        const float *g = which == 0 ? dw : which == 1 ? db : dx;
        int cnt = which == 0 ? 20 : which == 1 ? 4 : 15;
        for (int i = 0; i < cnt; i++) {
            double keep = v[i], l[2];
            for (int s = 0; s < 2; s++) {
                v[i] = keep + (s ? -eps : eps);
                ref_forward(dims2, 2, p, xd, B, yd, NULL);
                l[s] = 0;
                for (int k = 0; k < B * out; k++) l[s] += c[k] * (relu && yd[k] < 0 ? 0 : yd[k]);
            }
            v[i] = keep;
            double fd = (l[0] - l[1]) / (2 * eps);
            bad += fabs(fd - g[i]) > 1e-4 * (1 + fabs(fd));
        }
    }
    CHECK_MSG(bad == 0, "dense backward (relu=%d): %d entries off", relu, bad);
    /* accumulate = 1 adds to what is there. */
    float dw0 = dw[7], db0 = db[2];
    dci_dense_backward(&L, x, dy, B, 1, NULL);
    CHECK_NEAR(dw[7], 2 * dw0, 1e-6);
    CHECK_NEAR(db[2], 2 * db0, 1e-6);
}

/* The ReLU derivative at exactly 0 is 0 (PyTorch / Keras convention). */
static void test_relu_at_zero(void) {
    float y[4] = {0.0f, 1.0f, 0.0f, 2.5f}, dy[4] = {3.0f, 3.0f, -1.0f, -1.0f};
    dci_relu_backward(dy, y, 4);
    CHECK(dy[0] == 0.0f && dy[1] == 3.0f && dy[2] == 0.0f && dy[3] == -1.0f);
    /* In a network: first layer all zero => hidden units sit exactly at 0 and
     * pass no gradient to the first layer. */
    const int64_t dims[3] = {2, 3, 1};
    dci_mlp *m;
    CHECK_OK(dci_mlp_create(&m, dims, 3, 2));
    float *p = dci_mlp_params(m);
    for (int64_t i = 6 + 3; i < dci_mlp_param_count(m); i++) p[i] = 1.0f; /* second layer */
    float x[4] = {1, 2, -3, 4}, dout[2] = {1, 1}, dx[4];
    const float *o = dci_mlp_forward(m, x, 2);
    CHECK(o[0] == 1.0f && o[1] == 1.0f); /* bias only */
    dci_mlp_backward(m, dout, dx);
    const float *g = dci_mlp_grads(m);
    int zero_first = 1;
    for (int i = 0; i < 9; i++) zero_first &= g[i] == 0.0f;
    CHECK(zero_first);
    CHECK(g[9 + 3] == 2.0f); /* output bias: sum of dout */
    CHECK(dx[0] == 0.0f && dx[3] == 0.0f);
    dci_mlp_free(m);
}

/* Stacked batch = two separate passes accumulated; apply = forward; clone. */
static void test_mlp_batching(void) {
    const int64_t dims[4] = {6, 5, 4, 3};
    dci_mlp *m, *c;
    CHECK_OK(dci_mlp_create(&m, dims, 4, 8));
    dci_rng r;
    dci_rng_init(&r, 3, DCI_STREAM_INIT);
    dci_mlp_init_uniform(m, &r);
    CHECK_OK(dci_mlp_clone(&c, m, 4));
    CHECK(dci_mlp_max_batch(c) == 4);
    float x[48], dout[24], out[24];
    fill_uniform(x, 48, -1, 1);
    fill_uniform(dout, 24, -1, 1);
    memcpy(out, dci_mlp_forward(m, x, 8), sizeof out);
    dci_mlp_zero_grad(m);
    dci_mlp_backward(m, dout, NULL);
    /* c: rows 0-3 then 4-7 in two passes with shared weights. */
    dci_mlp_zero_grad(c);
    const float *o1 = dci_mlp_forward(c, x, 4);
    int same = !memcmp(o1, out, 12 * sizeof(float));
    dci_mlp_backward(c, dout, NULL);
    const float *o2 = dci_mlp_forward(c, x + 24, 4);
    same &= !memcmp(o2, out + 12, 12 * sizeof(float));
    dci_mlp_backward(c, dout + 12, NULL);
    CHECK(same);
    double maxd = 0;
    const float *gm = dci_mlp_grads(m), *gc = dci_mlp_grads(c);
    for (int64_t i = 0; i < dci_mlp_param_count(m); i++)
        if (fabs(gm[i] - gc[i]) > maxd) maxd = fabs(gm[i] - gc[i]);
    CHECK(maxd < 1e-5);
    /* apply over more rows than the workspace holds (chunked). */
    float out2[24];
    out2[21] = -99.0f;
    dci_mlp_apply(c, x, 7, out2); /* a full chunk and a partial one */
    int close = out2[21] == -99.0f;
    for (int i = 0; i < 21; i++) close &= fabs(out2[i] - out[i]) < 1e-6;
    CHECK(close);
    CHECK(dci_mlp_batch(c) == 0 && dci_mlp_output(c) == NULL);
    /* Parameters are independent copies. */
    dci_mlp_params(c)[0] += 1.0f;
    CHECK(dci_mlp_params(m)[0] != dci_mlp_params(c)[0]);
    CHECK_OK(dci_mlp_copy_params(c, m));
    CHECK(dci_mlp_params(m)[0] == dci_mlp_params(c)[0]);
    const int64_t other[3] = {6, 5, 3};
    dci_mlp *o;
    CHECK_OK(dci_mlp_create(&o, other, 3, 1));
    CHECK_STATUS(dci_mlp_copy_params(o, m), DC_ERR_SHAPE);
    dci_mlp_free(o);
    dci_mlp_free(m);
    dci_mlp_free(c);
}

static void test_create_errors(void) {
    dci_mlp *m = (dci_mlp *)1;
    const int64_t bad[3] = {4, 0, 2};
    CHECK_STATUS(dci_mlp_create(&m, bad, 3, 4), DC_ERR_INVALID_ARG);
    CHECK(m == NULL);
    const int64_t ok[2] = {4, 2};
    CHECK_STATUS(dci_mlp_create(&m, ok, 1, 4), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_mlp_create(&m, ok, 2, 0), DC_ERR_INVALID_ARG);
    dci_autoencoder ae;
    CHECK_STATUS(dci_autoencoder_create(&ae, ok, 2, 1, 4), DC_ERR_INVALID_ARG); /* no hidden */
    CHECK(ae.enc == NULL && ae.dec == NULL);
    CHECK_STATUS(dci_autoencoder_create(NULL, ok, 2, 1, 4), DC_ERR_NULL);
}

static void test_init(void) {
    int64_t dims[5];
    CHECK(dci_autoencoder_default_dims(30, 10, dims) == 5);
    CHECK(dims[0] == 30 && dims[1] == 500 && dims[2] == 500 && dims[3] == 2000 && dims[4] == 10);
    const int64_t small[4] = {40, 60, 30, 5};
    dci_autoencoder a, b, c;
    CHECK_OK(dci_autoencoder_create(&a, small, 4, 11, 8));
    CHECK_OK(dci_autoencoder_create(&b, small, 4, 11, 16));
    CHECK_OK(dci_autoencoder_create(&c, small, 4, 12, 8));
    /* Decoder mirrors the encoder. */
    const int64_t *dd = dci_mlp_dims(a.dec);
    CHECK(dci_mlp_n_layers(a.dec) == 3 && dd[0] == 5 && dd[1] == 30 && dd[2] == 60 && dd[3] == 40);
    int bounds_ok = 1, biases_zero = 1;
    for (int which = 0; which < 2; which++) {
        dci_mlp *m = which ? a.dec : a.enc;
        for (int l = 0; l < dci_mlp_n_layers(m); l++) {
            dci_dense L = dci_mlp_layer(m, l);
            double bound = sqrt(1.0 / (double)L.in), mx = 0, s = 0, s2 = 0;
            int64_t cnt = L.in * L.out;
            for (int64_t i = 0; i < cnt; i++) {
                mx = fmax(mx, fabs(L.w[i]));
                s += L.w[i];
                s2 += (double)L.w[i] * L.w[i];
            }
            /* Uniform(±bound): max near bound, mean ~0, variance bound²/3. */
            bounds_ok &= mx <= bound && mx > 0.95 * bound;
            bounds_ok &= fabs(s / cnt) < 0.1 * bound;
            bounds_ok &= fabs(s2 / cnt / (bound * bound / 3) - 1) < 0.15;
            for (int64_t j = 0; j < L.out; j++) biases_zero &= L.b[j] == 0.0f;
        }
    }
    CHECK(bounds_ok);
    CHECK(biases_zero);
    /* Same seed: same weights (workspace size does not matter); other seed: different. */
    CHECK(!memcmp(dci_mlp_params(a.enc), dci_mlp_params(b.enc),
                  (size_t)dci_mlp_param_count(a.enc) * sizeof(float)));
    CHECK(!memcmp(dci_mlp_params(a.dec), dci_mlp_params(b.dec),
                  (size_t)dci_mlp_param_count(a.dec) * sizeof(float)));
    CHECK(memcmp(dci_mlp_params(a.enc), dci_mlp_params(c.enc),
                 (size_t)dci_mlp_param_count(a.enc) * sizeof(float)));
    dci_autoencoder_free(&a);
    dci_autoencoder_free(&b);
    dci_autoencoder_free(&c);
    dci_autoencoder_free(NULL);
}

static void test_mse(void) {
    float a[4] = {1, 2, 3, 4}, b[4] = {0, 2, 5, 4}, g[4];
    CHECK_NEAR(dci_mse(a, b, 2, 2, g), 1.25, 1e-12);
    CHECK(g[0] == 0.5f && g[1] == 0.0f && g[2] == -1.0f && g[3] == 0.0f);
    CHECK_NEAR(dci_mse(a, b, 2, 2, NULL), 1.25, 1e-12);
}

static void test_sgd(void) {
    /* Two steps by hand: v = μv − lr·g, w += v (lr 0.1, μ 0.9).
     * w = 1, g = 0.5: v = −0.05, w = 0.95; g = 0.2: v = −0.065, w = 0.885. */
    float w[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.0f};
    dci_sgd *s;
    CHECK_STATUS(dci_sgd_create(&s, 0.0f, 0.9f), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_sgd_create(&s, 0.1f, 1.0f), DC_ERR_INVALID_ARG);
    CHECK_OK(dci_sgd_create(&s, 0.1f, 0.9f));
    CHECK_OK(dci_sgd_add_block(s, w, g, 2));
    dci_sgd_step(s);
    CHECK_NEAR(w[0], 0.95, 1e-7);
    CHECK(w[1] == -2.0f);
    g[0] = 0.2f;
    dci_sgd_step(s);
    CHECK_NEAR(w[0], 0.885, 1e-7);
    /* Zero gradient: the velocity alone moves w (−0.0585). */
    g[0] = 0.0f;
    dci_sgd_step(s);
    CHECK_NEAR(w[0], 0.8265, 1e-6);
    dci_sgd_reset(s);
    dci_sgd_step(s);
    CHECK_NEAR(w[0], 0.8265, 1e-6);

    /* An mlp's block, with a pending zero_grad honoured. */
    const int64_t dims[2] = {1, 1};
    dci_mlp *m;
    CHECK_OK(dci_mlp_create(&m, dims, 2, 1));
    dci_mlp_params(m)[0] = 2.0f; /* w */
    CHECK_OK(dci_sgd_add_mlp(s, m));
    float x = 3.0f, dout = 1.0f;
    dci_mlp_forward(m, &x, 1);
    dci_mlp_backward(m, &dout, NULL); /* dw = 3, db = 1 */
    dci_sgd_step(s);
    CHECK_NEAR(dci_mlp_params(m)[0], 2.0 - 0.3, 1e-6);
    CHECK_NEAR(dci_mlp_params(m)[1], -0.1, 1e-7);
    dci_mlp_zero_grad(m);
    dci_sgd_step(s); /* momentum only: v = 0.9·(−0.3) */
    CHECK_NEAR(dci_mlp_params(m)[0], 1.7 - 0.27, 1e-6);
    dci_sgd_free(s);
    dci_mlp_free(m);
}

/* Adam against the textbook form with explicit bias corrections, in double. */
static void test_adam(void) {
    const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    float w[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.0f};
    double rw = 1.0, rm = 0.0, rv = 0.0;
    dci_sgd *s;
    CHECK_STATUS(dci_sgd_create_adam(&s, 0.1f, 0.9f, 1.0f), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_sgd_create_adam(&s, 0.1f, 1.0f, 0.999f), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dci_sgd_create_adam(&s, -1.0f, 0.9f, 0.999f), DC_ERR_INVALID_ARG);
    CHECK_OK(dci_sgd_create_adam(&s, 0.1f, 0.9f, 0.999f));
    CHECK_OK(dci_sgd_add_block(s, w, g, 2));
    const float grads[4] = {0.5f, 0.2f, -1.0f, 0.0f};
    for (int t = 1; t <= 4; t++) {
        g[0] = grads[t - 1];
        dci_sgd_step(s);
        rm = b1 * rm + (1 - b1) * g[0];
        rv = b2 * rv + (1 - b2) * (double)g[0] * g[0];
        const double mhat = rm / (1 - pow(b1, t)), vhat = rv / (1 - pow(b2, t));
        rw -= lr * mhat / (sqrt(vhat) + eps);
        CHECK_MSG(fabs(w[0] - rw) < 1e-5, "step %d: %g vs %g", t, (double)w[0], rw);
    }
    /* The first step moves by lr whatever the gradient's size; a zero
     * gradient never moves a weight. */
    CHECK(w[1] == -2.0f);
    dci_sgd_reset(s);
    const float before = w[0];
    g[0] = 1e-3f;
    dci_sgd_step(s);
    CHECK_NEAR(before - w[0], 0.1, 1e-4);
    dci_sgd_free(s);
}

/* The element-wise work split over the BLAS threads (augmented gather,
 * SGD and Adam updates) gives the same bits on 1 and 2 threads. */
static void test_thread_invariance(void) {
    const dci_image_shape mn = {28, 28, 1};
    enum { B = 300, P = 200000 }; /* more rows than one gather chunk */
    float *x = malloc(B * 784 * sizeof(float)), *out[2];
    int64_t idx[B];
    fill_uniform(x, B * 784, 0, 1);
    for (int i = 0; i < B; i++) idx[i] = (i * 7) % B;
    float *w[2][2], *g = malloc(P * sizeof(float));
    fill_uniform(g, P, -1, 1);
    for (int t = 0; t < 2; t++) {
        CHECK_OK(dc_set_threads(t + 1));
        out[t] = malloc(B * 784 * sizeof(float));
        dci_rng r;
        dci_rng_init(&r, 9, DCI_STREAM_AUGMENT);
        dci_gather_batch(x, 784, idx, B, out[t], &mn, NULL, &r);
        for (int adam = 0; adam < 2; adam++) {
            dci_sgd *opt = NULL;
            w[t][adam] = calloc(P, sizeof(float));
            CHECK_OK(adam ? dci_sgd_create_adam(&opt, 1e-3f, 0.9f, 0.999f)
                          : dci_sgd_create(&opt, 0.5f, 0.9f));
            CHECK_OK(dci_sgd_add_block(opt, w[t][adam], g, P));
            for (int step = 0; step < 3; step++) dci_sgd_step(opt);
            dci_sgd_free(opt);
        }
    }
    CHECK(!memcmp(out[0], out[1], B * 784 * sizeof(float)));
    CHECK(!memcmp(w[0][0], w[1][0], P * sizeof(float)) && !memcmp(w[0][1], w[1][1], P * sizeof(float)));
    CHECK(w[0][0][0] != 0.0f && w[0][1][0] != 0.0f);
    for (int t = 0; t < 2; t++) free(out[t]), free(w[t][0]), free(w[t][1]);
    free(x);
    free(g);
    CHECK_OK(dc_set_threads(1));
}

static void test_dense_linear(void) { test_dense_layer(0); }
static void test_dense_relu(void) { test_dense_layer(1); }

static const dct_case cases[] = {
    DCT_CASE(thread_invariance), DCT_CASE(dense_linear), DCT_CASE(dense_relu),
    DCT_CASE(relu_at_zero), DCT_CASE(ae_gradients), DCT_CASE(mlp_batching), DCT_CASE(create_errors),
    DCT_CASE(init), DCT_CASE(mse), DCT_CASE(sgd), DCT_CASE(adam),
};

int main(int argc, char **argv) { return nn_main(cases, DCT_COUNT(cases), argc, argv); }
