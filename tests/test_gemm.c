/* nn/gemm.h: the layers' products in fp32 and with bf16 inputs. The bf16
 * results are checked against a double-precision product of the inputs
 * rounded to bfloat16 here by an independent method (frexp/nearbyint, not
 * the library's bit arithmetic), and whole networks against their fp32
 * forward and backward. Where the build or the CPU has no bf16 products
 * the refusal is checked instead. */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "deepclust.h"
#include "nn/dense.h"
#include "nn/gemm.h"

static dci_rng trng;

static void fill(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(2.0 * dci_rng_uniform(&trng) - 1.0);
}

/* x rounded to the nearest bfloat16 (8 significant bits), ties to even. */
static double bf16_round(float x) {
    if (x == 0.0f || !isfinite(x)) return x;
    int e;
    double m = frexp((double)x, &e); /* x = m 2^e, 0.5 <= |m| < 1 */
    return ldexp(nearbyint(ldexp(m, 8)), e - 8);
}

static int have_bf16(void) { return dci_gemm_bf16_check() == DC_OK; }

static void test_refused_without_bf16(void) {
    if (have_bf16()) return;
    dci_gemm_bf16 *g = (dci_gemm_bf16 *)1;
    CHECK_STATUS(dci_gemm_bf16_create(&g), DC_ERR_UNSUPPORTED);
    CHECK(g == NULL);
    CHECK(strstr(dc_last_error(), "bf16") != NULL);
    int64_t dims[3] = {4, 3, 2};
    dci_mlp *m = NULL;
    CHECK_OK(dci_mlp_create(&m, dims, 3, 8));
    CHECK_STATUS(dci_mlp_set_bf16(m, 1), DC_ERR_UNSUPPORTED);
    CHECK(!dci_mlp_bf16(m));
    dci_mlp_free(m);
}

/* Every transpose combination, beta 0 and 1, odd sizes and padded strides. */
static void test_products(void) {
    dci_gemm_bf16 *g = NULL;
    if (!have_bf16()) return;
    CHECK_OK(dci_gemm_bf16_create(&g));
    CHECK(fegetround() == FE_TONEAREST);
    const int64_t m = 37, n = 29, k = 53, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int acc = 0; acc < 2; acc++) {
                const int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                const int64_t lda = ac + pad, ldb = bc + pad, ldc = n + pad;
                float *a = malloc(sizeof(float) * (size_t)(ar * lda));
                float *b = malloc(sizeof(float) * (size_t)(br * ldb));
                float *c = malloc(sizeof(float) * (size_t)(m * ldc));
                float *c0 = malloc(sizeof(float) * (size_t)(m * ldc));
                fill(a, ar * lda);
                fill(b, br * ldb);
                fill(c, m * ldc);
                memcpy(c0, c, sizeof(float) * (size_t)(m * ldc));
                dci_gemm(g, ta, tb, m, n, k, a, lda, b, ldb, acc ? 1.0f : 0.0f, c, ldc);
                double worst = 0, worst_fp32 = 0;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        double s = 0, s32 = 0;
                        for (int64_t l = 0; l < k; l++) {
                            float av = ta ? a[l * lda + i] : a[i * lda + l];
                            float bv = tb ? b[j * ldb + l] : b[l * ldb + j];
                            s += bf16_round(av) * bf16_round(bv);
                            s32 += (double)av * bv;
                        }
                        if (acc) s += c0[i * ldc + j], s32 += c0[i * ldc + j];
                        worst = fmax(worst, fabs(c[i * ldc + j] - s));
                        worst_fp32 = fmax(worst_fp32, fabs(c[i * ldc + j] - s32));
                    }
                /* fp32 sums of 53 products of size <= 1: a few ulps of ~8 */
                CHECK_MSG(worst < 1e-5, "ta %d tb %d acc %d: %g from the bf16 reference", ta, tb,
                          acc, worst);
                /* and bf16 rounding (2^-9 relative per input) away from fp32 */
                CHECK_MSG(worst_fp32 < 0.05 && worst_fp32 > 1e-5, "ta %d tb %d acc %d: %g from fp32",
                          ta, tb, acc, worst_fp32);
                /* the padding between rows of C is untouched */
                int pad_ok = 1;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = n; j < ldc; j++) pad_ok &= c[i * ldc + j] == c0[i * ldc + j];
                CHECK(pad_ok);
                free(a);
                free(b);
                free(c);
                free(c0);
            }
    dci_gemm_bf16_free(g);
}

/* A network's forward and gradients with bf16 products against the same
 * network in fp32: close (bf16's rounding), not equal. */
/* The networks of the tests below: 64-48-32-10 on a batch of 40, with an
 * input x and an output gradient dout. */
enum { NB = 40 };
static const int64_t ndims[4] = {64, 48, 32, 10};

static dci_mlp *test_net(float **x, float **dout) {
    dci_mlp *m = NULL;
    CHECK_OK(dci_mlp_create(&m, ndims, 4, NB));
    if (m) dci_mlp_init_uniform(m, &trng);
    *x = malloc(sizeof(float) * (size_t)(NB * ndims[0]));
    *dout = malloc(sizeof(float) * (size_t)(NB * ndims[3]));
    fill(*x, NB * ndims[0]);
    fill(*dout, NB * ndims[3]);
    return m;
}

static void test_network(void) {
    if (!have_bf16()) return;
    const int64_t *dims = ndims, B = NB;
    float *x, *dout;
    dci_mlp *m = test_net(&x, &dout);
    float y32[400], y16[400];
    const int64_t np = dci_mlp_param_count(m);
    float *g32 = malloc(sizeof(float) * (size_t)np);
    for (int pass = 0; pass < 2; pass++) {
        CHECK_OK(dci_mlp_set_bf16(m, pass));
        CHECK(dci_mlp_bf16(m) == pass);
        memcpy(pass ? y16 : y32, dci_mlp_forward(m, x, B), sizeof(float) * (size_t)(B * dims[3]));
        dci_mlp_zero_grad(m);
        dci_mlp_backward(m, dout, NULL);
        if (!pass) memcpy(g32, dci_mlp_grads(m), sizeof(float) * (size_t)np);
    }
    double dy = 0, ny = 0, dg = 0, ng = 0;
    for (int64_t i = 0; i < B * dims[3]; i++) dy += pow(y16[i] - y32[i], 2), ny += pow(y32[i], 2);
    const float *g16 = dci_mlp_grads(m);
    for (int64_t i = 0; i < np; i++) dg += pow(g16[i] - g32[i], 2), ng += pow(g32[i], 2);
    const double ry = sqrt(dy / ny), rg = sqrt(dg / ng);
    CHECK_MSG(ry > 1e-5 && ry < 1e-2, "forward: relative difference %g", ry);
    CHECK_MSG(rg > 1e-5 && rg < 2e-2, "gradient: relative difference %g", rg);
    /* back to fp32: the fp32 results again, exactly */
    CHECK_OK(dci_mlp_set_bf16(m, 0));
    const float *y = dci_mlp_forward(m, x, B);
    CHECK(memcmp(y, y32, sizeof(float) * (size_t)(B * dims[3])) == 0);
    free(g32);
    free(x);
    free(dout);
    dci_mlp_free(m);
}

/* dci_gemm_kept: a reused slot really skips the conversion (a changed
 * source at the same address still gives the old product), a different
 * address or reuse 0 converts again. */
static void test_kept_slots(void) {
    if (!have_bf16()) return;
    dci_gemm_bf16 *g = NULL;
    CHECK_OK(dci_gemm_bf16_create(&g));
    enum { M = 9, N = 7, K = 40 };
    float a[M * K], b[K * N], b2[K * N], c0[M * N], c[M * N], ref[M * N];
    fill(a, M * K);
    fill(b, K * N);
    dci_gemm(g, 0, 0, M, N, K, a, K, b, N, 0.0f, ref, N);
    dci_gemm_kept(g, 0, 0, 1, 0, 0, 0, M, N, K, a, K, b, N, 0.0f, c0, N);
    CHECK(memcmp(c0, ref, sizeof c0) == 0);
    for (int i = 0; i < K * N; i++) b2[i] = b[i], b[i] *= 2.0f;
    dci_gemm_kept(g, 0, 1, 1, 1, 0, 0, M, N, K, a, K, b, N, 0.0f, c, N);
    CHECK_MSG(memcmp(c, c0, sizeof c) == 0, "reuse converted the changed B again");
    dci_gemm(g, 0, 0, M, N, K, a, K, b, N, 0.0f, ref, N); /* 2 x the first product */
    dci_gemm_kept(g, 0, 1, 1, 0, 0, 0, M, N, K, a, K, b, N, 0.0f, c, N);
    CHECK(memcmp(c, ref, sizeof c) == 0);
    for (int i = 0; i < K * N; i++) b2[i] *= 2.0f; /* = b, at another address */
    dci_gemm_kept(g, 0, 1, 1, 1, 0, 0, M, N, K, a, K, b2, N, 0.0f, c, N);
    CHECK(memcmp(c, ref, sizeof c) == 0);
    /* the transposed read of the same storage reuses the same copy */
    float ct[K * K];
    float reft[K * K];
    dci_gemm(g, 1, 0, K, K, M, a, K, a, K, 0.0f, reft, K);
    dci_gemm_kept(g, 0, 1, 0, 1, 1, 0, K, K, M, a, K, a, K, 0.0f, ct, K);
    CHECK(memcmp(ct, reft, sizeof ct) == 0);
    dci_gemm_bf16_free(g);
}

/* The network's forward and backward keep the bf16 copies of X, W and dY
 * between a layer's products: the results equal, bit for bit, the same
 * layer products converting every operand afresh -- also after the weights
 * changed between two steps (the forward must not reuse the old W). */
static void test_network_kept_copies(void) {
    if (!have_bf16()) return;
    const int64_t *dims = ndims, B = NB;
    float *x, *dout;
    dci_mlp *m = test_net(&x, &dout);
    CHECK_OK(dci_mlp_set_bf16(m, 1));
    float *h[3], *dh[3];
    for (int l = 0; l < 3; l++) {
        h[l] = malloc(sizeof(float) * (size_t)(B * dims[l + 1]));
        dh[l] = malloc(sizeof(float) * (size_t)(B * dims[l + 1]));
    }
    const int64_t np = dci_mlp_param_count(m);
    float *gref = malloc(sizeof(float) * (size_t)np);
    for (int step = 0; step < 2; step++) {
        /* reference: the layers one by one, every product in scratch copies */
        for (int l = 0; l < 3; l++) {
            dci_dense L = dci_mlp_layer(m, l);
            L.slot = -8;
            dci_dense_forward(&L, l ? h[l - 1] : x, B, h[l], l < 2);
        }
        memcpy(dh[2], dout, sizeof(float) * (size_t)(B * dims[3]));
        for (int l = 2; l >= 0; l--) {
            dci_dense L = dci_mlp_layer(m, l);
            L.slot = -8;
            dci_dense_backward(&L, l ? h[l - 1] : x, dh[l], B, 0, l ? dh[l - 1] : NULL);
            if (l) dci_relu_backward(dh[l - 1], h[l - 1], B * dims[l]);
        }
        memcpy(gref, dci_mlp_grads(m), sizeof(float) * (size_t)np);
        const float *y = dci_mlp_forward(m, x, B);
        CHECK(memcmp(y, h[2], sizeof(float) * (size_t)(B * dims[3])) == 0);
        dci_mlp_zero_grad(m);
        dci_mlp_backward(m, dout, NULL);
        CHECK_MSG(memcmp(dci_mlp_grads(m), gref, sizeof(float) * (size_t)np) == 0,
                  "step %d: gradients with kept copies differ", step);
        float *p = dci_mlp_params(m);
        for (int64_t i = 0; i < np; i++) p[i] *= 0.75f;
    }
    for (int l = 0; l < 3; l++) free(h[l]), free(dh[l]);
    free(gref);
    free(x);
    free(dout);
    dci_mlp_free(m);
}

/* A bf16 phase: OpenBLAS and the element-wise loops single-threaded (the
 * cores are OpenMP's); afterwards both as before. */
static void test_phase_threads(void) {
    CHECK_OK(dc_set_threads(2));
    const int held = dci_gemm_bf16_phase_begin();
    CHECK(held == 2);
    CHECK(dc_get_threads() == 1);
    CHECK(dci_parallel_threads() == 1);
    dci_gemm_bf16_phase_end(held);
    CHECK(dc_get_threads() == 2 && dci_parallel_threads() == 2);
    CHECK_OK(dc_set_threads(1));
    CHECK(dci_parallel_threads() == 1);
}

static const dct_case cases[] = {
    DCT_CASE(phase_threads),
    DCT_CASE(refused_without_bf16),
    DCT_CASE(products),
    DCT_CASE(network),
    DCT_CASE(kept_slots),
    DCT_CASE(network_kept_copies),
};

int main(int argc, char **argv) {
    dci_rng_init(&trng, 77, DCI_STREAM_TEST);
    return dct_run(cases, DCT_COUNT(cases), argc, argv);
}
