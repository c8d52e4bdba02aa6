// Throughput of the autoencoder's GEMM shapes (batch 256, d-500-500-2000-10,
// forward products) in three kernels, in one process: OpenBLAS fp32 sgemm (what
// the library runs), oneDNN fp32 matmul, and oneDNN bf16 x bf16 -> fp32 matmul
// (on CPUs with AVX512_BF16 or AMX its brgemm kernels). Also the bf16 result's
// relative error against fp32 on random data. It answers one question: what
// would mixed-precision GEMMs buy the GEMM-bound training steps (docs/benchmarks.md).
//   bench/bench_gemm_bf16.sh    (needs Debian libdnnl-dev; threads: OMP_NUM_THREADS,
//                                OPENBLAS_NUM_THREADS, both 1 by default)
#include <cblas.h>
#include <dnnl.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Seconds per product C = A B (M x K times K x N) with oneDNN in data type t;
// the product itself in out.
static double dnnl_time(engine &eng, stream &s, dt t, int M, int K, int N,
                        const std::vector<float> &a, const std::vector<float> &b,
                        std::vector<float> &out, int reps) {
    memory::desc ad({M, K}, t, tag::ab), bd({K, N}, t, tag::ab), cd({M, N}, dt::f32, tag::ab);
    matmul::primitive_desc pd(matmul::desc(ad, bd, cd), eng);
    matmul mm(pd);
    memory A(ad, eng), B(bd, eng), C(cd, eng, out.data());
    memory Af({{M, K}, dt::f32, tag::ab}, eng, const_cast<float *>(a.data()));
    memory Bf({{K, N}, dt::f32, tag::ab}, eng, const_cast<float *>(b.data()));
    reorder(Af, A).execute(s, Af, A);
    reorder(Bf, B).execute(s, Bf, B);
    const std::unordered_map<int, memory> args{{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B},
                                               {DNNL_ARG_DST, C}};
    for (int w = 0; w < 3; w++) mm.execute(s, args);
    s.wait();
    const double t0 = now();
    for (int r = 0; r < reps; r++) mm.execute(s, args);
    s.wait();
    return (now() - t0) / reps;
}

int main() {
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const int shapes[][3] = {{256, 784, 500}, {256, 500, 500}, {256, 500, 2000}, {256, 2000, 10},
                             {256, 10, 2000}, {256, 2000, 500}, {256, 500, 784}};
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.f, 1.f);
    double flops = 0, t_ob = 0, t_f32 = 0, t_bf = 0, worst = 0;
    std::printf("   M    K    N   OpenBLAS fp32   oneDNN fp32   oneDNN bf16  (GFLOP/s)  bf16 rel. error\n");
    for (const auto &sh : shapes) {
        const int M = sh[0], K = sh[1], N = sh[2], reps = 60;
        std::vector<float> a(M * K), b(K * N), c(M * N), c32(M * N), c16(M * N);
        for (auto &v : a) v = g(rng);
        for (auto &v : b) v = g(rng) / std::sqrt((float)K);
        for (int w = 0; w < 3; w++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a.data(), K,
                        b.data(), N, 0, c.data(), N);
        double t0 = now();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a.data(), K,
                        b.data(), N, 0, c.data(), N);
        const double ob = (now() - t0) / reps;
        const double f32 = dnnl_time(eng, s, dt::f32, M, K, N, a, b, c32, reps);
        const double bf = dnnl_time(eng, s, dt::bf16, M, K, N, a, b, c16, reps);
        double num = 0, den = 0;
        for (int i = 0; i < M * N; i++) {
            num += (c16[i] - c[i]) * (c16[i] - c[i]);
            den += c[i] * c[i];
        }
        const double err = std::sqrt(num / den), f = 2.0 * M * N * K;
        worst = err > worst ? err : worst;
        flops += f, t_ob += ob, t_f32 += f32, t_bf += bf;
        std::printf("%4d %4d %4d   %13.1f   %11.1f   %11.1f              %.1e\n", M, K, N,
                    f / ob / 1e9, f / f32 / 1e9, f / bf / 1e9, err);
    }
    std::printf("all shapes      %13.1f   %11.1f   %11.1f              %.1e (worst)\n",
                flops / t_ob / 1e9, flops / t_f32 / 1e9, flops / t_bf / 1e9, worst);
    std::printf("bf16 / OpenBLAS fp32: %.2fx\n", t_ob / t_bf);
    return 0;
}
