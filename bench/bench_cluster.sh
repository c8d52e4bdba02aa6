#!/bin/sh
# Clustering-phase iteration throughput (samples/s) of EDCWRN or IDEC in
# libdeepclust, and of the same computation in PyTorch when python3-torch is
# installed (1 and 2 threads). Target updates are timed apart (see
# bench/bench_cluster.c).
#   bench/bench_cluster.sh [BUILD_DIR] [method n steps batch]
# Set OPENBLAS_CORETYPE=SkylakeX yourself on CPUs with AVX-512 (it crashes on
# others); OPENBLAS_NUM_THREADS to pin the thread count.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
shift $(( $# > 0 ? 1 : 0 ))
exe=$(mktemp /tmp/bench_cluster.XXXXXX)
trap 'rm -f "$exe"' EXIT
# edcwrn.o needs zlib (checkpoint checksums) and pulls in the solver, whose
# method table links every method (ARPACK, LAPACKE for the spectral ones).
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$here/../lib" -I"$here/../include" \
    "$here/bench_cluster.c" "$build/lib/libdeepclust_internal.a" \
    $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -llapacke -larpack -lz -lm \
    -lpthread -o "$exe"
echo "== libdeepclust"
"$exe" "$@"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    for th in 1 2; do
        echo "== PyTorch, $th thread(s)"
        TORCH_THREADS=$th /usr/bin/python3 "$here/bench_cluster_torch.py" "$@"
    done
else
    echo "== PyTorch: not installed (Debian package python3-torch), skipped"
fi
