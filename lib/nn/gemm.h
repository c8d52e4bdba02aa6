/* The dense layers' matrix products in one of two precisions:
 *
 *   fp32  OpenBLAS sgemm (the default everywhere);
 *   bf16  the two inputs rounded to bfloat16 (8-bit mantissa), the products
 *         summed in fp32 by oneDNN's bf16 kernels (AVX512_BF16 or AMX);
 *         weights, gradients, optimiser state and everything else stay fp32.
 *
 * The bf16 path exists only in builds with oneDNN (meson option dnnl) and
 * runs only on CPUs with native bf16 arithmetic (dci_gemm_bf16_check): on
 * the network's shapes it runs about twice as fast as sgemm
 * (docs/benchmarks.md, bench/bench_gemm_bf16.sh). */
#ifndef DCI_GEMM_H
#define DCI_GEMM_H

#include <stdint.h>

#include "deepclust/status.h"

/* Per-network state of the bf16 path: the inputs' bf16 copies and the
 * products set up so far. NULL = fp32. */
typedef struct dci_gemm_bf16 dci_gemm_bf16;

/* DC_OK when this build and this CPU run bf16 products; else
 * DC_ERR_UNSUPPORTED with the reason in the detail. */
dc_status dci_gemm_bf16_check(void);

dc_status dci_gemm_bf16_create(dci_gemm_bf16 **out);
void dci_gemm_bf16_free(dci_gemm_bf16 *g); /* accepts NULL */

/* C (m x n, row stride ldc) = op(A) op(B) + beta C, row-major, op = transpose
 * when ta / tb; A is m x k after op, B k x n. With g == NULL (or if the bf16
 * product cannot be set up, e.g. out of memory) OpenBLAS's sgemm computes it. */
void dci_gemm(dci_gemm_bf16 *g, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* The same product where the bf16 copies of A and B may be kept for a later
 * product: a_slot / b_slot >= 0 name a per-network buffer that receives the
 * operand's copy; with a_reuse / b_reuse the copy already in that slot is
 * used instead, provided it was made from the same address and size (else
 * it is made again). The caller promises that a reused operand has not
 * changed since its copy was made: a dense layer's backward products reuse
 * the input X and weight W its forward converted, and convert dY once for
 * both (half the conversions of a training step). Slot < 0: no keeping.
 * In fp32 the slots are ignored. */
void dci_gemm_kept(dci_gemm_bf16 *g, int a_slot, int a_reuse, int b_slot, int b_reuse, int ta,
                   int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* The thread count of the bf16 kernels (OpenMP), as dc_set_threads sets
 * OpenBLAS's; no effect without oneDNN. */
void dci_gemm_set_threads(int n);

/* Around a phase whose networks run bf16 products: their GEMMs run on
 * OpenMP's threads, and OpenBLAS's own threads (still used for the small
 * products elsewhere) and dci_parallel_for's would compete with them for
 * the cores -- an EDCWRN iteration took 40.4 ms with all at 2 threads,
 * 28.9 ms with OpenBLAS at 1, 25.6-30.5 ms with the element-wise loops at
 * 1 too (docs/benchmarks.md). So for the phase OpenMP takes the thread
 * count and OpenBLAS runs single-threaded (dci_parallel_for follows its
 * count: core/parallel.h). begin returns what end restores. */
int dci_gemm_bf16_phase_begin(void);
void dci_gemm_bf16_phase_end(int saved);

#endif
