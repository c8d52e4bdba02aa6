#!/bin/sh
# Clustering-phase iteration throughput (samples/s) of EDCWRN or IDEC in
# libdeepclust, and of the same computation in PyTorch when python3-torch is
# installed (1 and 2 threads). Target updates are timed apart (see
# bench/bench_cluster.c).
#   bench/bench_cluster.sh [BUILD_DIR] [method n steps batch [fp32|bf16]]
# (bf16: gemm_precision bf16 on our side; PyTorch runs fp32)
# Set OPENBLAS_CORETYPE=SkylakeX yourself on CPUs with AVX-512 (it crashes on
# others); OPENBLAS_NUM_THREADS to pin the thread count.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
shift $(( $# > 0 ? 1 : 0 ))
# a build with oneDNN (gemm_precision = bf16) needs it at link time too
dnnl=$(nm "$build/lib/libdeepclust_internal.a" 2>/dev/null | grep -q " U dnnl_" && echo -ldnnl || true)
exe=$(mktemp /tmp/bench_cluster.XXXXXX)
trap 'rm -f "$exe"' EXIT
# edcwrn.o needs zlib (checkpoint checksums) and pulls in the solver, whose
# method table links every method (ARPACK, LAPACKE for the spectral ones).
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$here/../lib" -I"$here/../include" \
    "$here/bench_cluster.c" "$build/lib/libdeepclust_internal.a" \
    $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -llapacke -larpack -lz -lm \
    $dnnl -lpthread -o "$exe"
echo "== libdeepclust"
"$exe" "$@"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    for th in 1 2; do
        echo "== PyTorch, $th thread(s)"
        TORCH_THREADS=$th /usr/bin/python3 "$here/bench_cluster_torch.py" $(echo "$@" | sed 's/ *\(fp32\|bf16\)$//')
    done
else
    echo "== PyTorch: not installed (Debian package python3-torch), skipped"
fi
