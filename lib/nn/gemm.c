/* nn/gemm.h: sgemm, or oneDNN matmul on bf16 copies of the inputs. */
#include "nn/gemm.h"

#include <cblas.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"

int dci_gemm_bf16_phase_begin(void) {
    /* dci_parallel_for follows OpenBLAS's count: single-threaded too */
    const int n = openblas_get_num_threads();
    dci_gemm_set_threads(n);
    openblas_set_num_threads(1);
    return n;
}

void dci_gemm_bf16_phase_end(int saved) {
    if (saved < 1) return;
    openblas_set_num_threads(saved);
}

static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

#ifndef DC_HAVE_DNNL

struct dci_gemm_bf16 {
    int unused;
};

dc_status dci_gemm_bf16_check(void) {
    return dci_fail(DC_ERR_UNSUPPORTED, "bf16 products need a build with oneDNN (meson option "
                    "dnnl, Debian libdnnl-dev); this one has none");
}
dc_status dci_gemm_bf16_create(dci_gemm_bf16 **out) {
    *out = NULL;
    return dci_gemm_bf16_check();
}
void dci_gemm_bf16_free(dci_gemm_bf16 *g) { (void)g; }
void dci_gemm_set_threads(int n) { (void)n; }
void dci_gemm_kept(dci_gemm_bf16 *g, int a_slot, int a_reuse, int b_slot, int b_reuse, int ta,
                   int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    (void)g, (void)a_slot, (void)a_reuse, (void)b_slot, (void)b_reuse;
    sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

#else

#include <dlfcn.h>
#include <pthread.h>

#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>

/* One engine and stream for the process (oneDNN's CPU engine is stateless
 * beyond its thread pool; streams are not passed between threads, so each
 * network holds its own). */
static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) { engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0); }

dc_status dci_gemm_bf16_check(void) {
    pthread_once(&engine_once, engine_init);
    if (engine_status != dnnl_success)
        return dci_fail(DC_ERR_UNSUPPORTED, "bf16 products: oneDNN's CPU engine failed (%d)",
                        (int)engine_status);
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    /* Without native bf16 arithmetic oneDNN emulates it, slower than sgemm. */
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) !=
        (unsigned)dnnl_cpu_isa_avx512_core_bf16)
        return dci_fail(DC_ERR_UNSUPPORTED, "bf16 products need a CPU with AVX512_BF16 or AMX "
                        "(oneDNN reports ISA 0x%x here)", (unsigned)isa);
    return DC_OK;
}

/* oneDNN runs on OpenMP's threads; its runtime is loaded with oneDNN, so
 * the setter is looked up rather than linked (no OpenMP flags in this build). */
void dci_gemm_set_threads(int n) {
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set) set(n);
}

/* A product set up once: its shape, transposes and beta. */
typedef struct product {
    int64_t m, n, k, lda, ldb, ldc;
    int ta, tb, accumulate, used;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
} product;

#define PRODUCTS 48

/* A bf16 copy of an operand as stored, and what it was made from. */
typedef struct copy {
    uint16_t *buf;
    int64_t cap, n;
    const float *src;
} copy;

struct dci_gemm_bf16 {
    dnnl_stream_t stream;
    copy scratch[2]; /* A and B of products that keep nothing */
    copy *kept;      /* dci_gemm_kept's slots */
    int n_kept;
    product p[PRODUCTS];
    int next; /* the product to replace when all are taken */
};

static void product_clear(product *p) {
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->a) dnnl_memory_destroy(p->a);
    if (p->b) dnnl_memory_destroy(p->b);
    if (p->c) dnnl_memory_destroy(p->c);
    memset(p, 0, sizeof *p);
}

dc_status dci_gemm_bf16_create(dci_gemm_bf16 **out) {
    *out = NULL;
    DCI_TRY(dci_gemm_bf16_check());
    dci_gemm_bf16 *g = dci_calloc(1, sizeof *g);
    if (!g) return dci_fail(DC_ERR_NOMEM, "bf16 products: no memory");
    if (dnnl_stream_create(&g->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        dci_free(g);
        return dci_fail(DC_ERR_NOMEM, "bf16 products: cannot create a oneDNN stream");
    }
    *out = g;
    return DC_OK;
}

void dci_gemm_bf16_free(dci_gemm_bf16 *g) {
    if (!g) return;
    for (int i = 0; i < PRODUCTS; i++) product_clear(&g->p[i]);
    dnnl_stream_destroy(g->stream);
    for (int i = 0; i < 2; i++) dci_free(g->scratch[i].buf);
    for (int i = 0; i < g->n_kept; i++) dci_free(g->kept[i].buf);
    dci_free(g->kept);
    dci_free(g);
}

/* Round to nearest even; NaN stays NaN. */
static void to_bf16_scalar(const float *x, int64_t n, uint16_t *y) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        const uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u;
        const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        y[i] = (uint16_t)(nan ? (u >> 16) | 0x40u : r);
    }
}

/* The bf16 path runs only where dci_gemm_bf16_check found AVX512_BF16, so
 * the conversion may use its instruction (16 rounds per instruction instead
 * of a dozen scalar operations each) without compiling the library for it.
 * Same rounding as the scalar loop except that subnormal inputs become zero,
 * as the instruction does; the products use no subnormal weights anyway. */
__attribute__((target("avx512f,avx512bf16"))) static void to_bf16(const float *x, int64_t n,
                                                                 uint16_t *y) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512((void *)(y + i), (__m512i)v);
    }
    to_bf16_scalar(x + i, n - i, y + i);
}

/* The bf16 copy of x (n floats as stored) in slot (< 0: scratch[which]),
 * made unless reuse and the slot holds a copy of the same x; NULL when out
 * of memory. */
static const uint16_t *converted(dci_gemm_bf16 *g, int slot, int reuse, int which, const float *x,
                                 int64_t n) {
    copy *cp = &g->scratch[which];
    if (slot >= 0) {
        if (slot >= g->n_kept) {
            copy *nk = dci_realloc(g->kept, (size_t)(slot + 1) * sizeof *nk);
            if (!nk) return NULL;
            memset(nk + g->n_kept, 0, (size_t)(slot + 1 - g->n_kept) * sizeof *nk);
            g->kept = nk;
            g->n_kept = slot + 1;
        }
        cp = &g->kept[slot];
        if (reuse && cp->src == x && cp->n == n) return cp->buf;
    }
    if (n > cp->cap) {
        uint16_t *nb = dci_realloc(cp->buf, (size_t)n * sizeof *nb);
        if (!nb) return NULL;
        cp->buf = nb;
        cp->cap = n;
    }
    to_bf16(x, n, cp->buf);
    cp->src = x;
    cp->n = n;
    return cp->buf;
}

/* A 2-D descriptor of a rows x cols operand stored row-major with stride ld,
 * read transposed when t. */
static dnnl_status_t operand(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int64_t ld,
                             int t, dnnl_data_type_t type) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {t ? 1 : ld, t ? ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

static int setup(product *p) {
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_matmul_desc_t mmd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = operand(&ad, p->m, p->k, p->lda, p->ta, dnnl_bf16) == dnnl_success &&
             operand(&bd, p->k, p->n, p->ldb, p->tb, dnnl_bf16) == dnnl_success &&
             operand(&cd, p->m, p->n, p->ldc, 0, dnnl_f32) == dnnl_success &&
             dnnl_matmul_desc_init(&mmd, &ad, &bd, NULL, &cd) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && p->accumulate)
        ok = dnnl_post_ops_create(&ops) == dnnl_success &&
             dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&pd, &mmd, attr, engine, NULL) == dnnl_success &&
         dnnl_primitive_create(&p->prim, pd) == dnnl_success &&
         dnnl_memory_create(&p->a, &ad, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&p->b, &bd, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&p->c, &cd, engine, DNNL_MEMORY_NONE) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ok;
}

static product *find(dci_gemm_bf16 *g, const product *key) {
    for (int i = 0; i < PRODUCTS; i++) {
        product *p = &g->p[i];
        if (p->used && p->m == key->m && p->n == key->n && p->k == key->k && p->lda == key->lda &&
            p->ldb == key->ldb && p->ldc == key->ldc && p->ta == key->ta && p->tb == key->tb &&
            p->accumulate == key->accumulate)
            return p;
    }
    product *p = &g->p[g->next];
    g->next = (g->next + 1) % PRODUCTS;
    product_clear(p);
    *p = *key;
    if (!setup(p)) {
        product_clear(p);
        return NULL;
    }
    p->used = 1;
    return p;
}

void dci_gemm_kept(dci_gemm_bf16 *g, int a_slot, int a_reuse, int b_slot, int b_reuse, int ta,
                   int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    /* beta 0 or 1 only (what the layers use); anything else: sgemm. */
    if (!g || (beta != 0.0f && beta != 1.0f)) {
        sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    const product key = {m, n, k, lda, ldb, ldc, ta, tb, beta != 0.0f, 0, NULL, NULL, NULL, NULL};
    product *p = find(g, &key);
    /* the operands as stored: rows x ld elements */
    const uint16_t *ab = p ? converted(g, a_slot, a_reuse, 0, a, (ta ? k : m) * lda) : NULL;
    const uint16_t *bb = ab ? converted(g, b_slot, b_reuse, 1, b, (tb ? n : k) * ldb) : NULL;
    if (!bb) {
        dci_log(DC_LOG_WARN, "bf16 product %lld x %lld x %lld could not be set up: sgemm",
                (long long)m, (long long)n, (long long)k);
        sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    dnnl_memory_set_data_handle(p->a, (void *)ab);
    dnnl_memory_set_data_handle(p->b, (void *)bb);
    dnnl_memory_set_data_handle(p->c, c);
    const dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c}};
    if (dnnl_primitive_execute(p->prim, g->stream, 3, args) != dnnl_success ||
        dnnl_stream_wait(g->stream) != dnnl_success) {
        dci_log(DC_LOG_WARN, "bf16 product failed: sgemm");
        sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    }
}

#endif

void dci_gemm(dci_gemm_bf16 *g, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    dci_gemm_kept(g, -1, 0, -1, 0, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
