#!/bin/sh
# Autoencoder pre-training throughput (samples/s) of libdeepclust, and of the
# same network / optimiser in PyTorch when python3-torch is installed.
#   bench/bench_pretrain.sh [BUILD_DIR] [d batch steps embed [sgd|adam] [aug|noaug] [fp32|bf16]]
# (PyTorch runs the same optimiser without augmentation, in fp32; bf16 =
# gemm_precision bf16 on our side.)
# Set OPENBLAS_CORETYPE=SkylakeX yourself on CPUs with AVX-512 (it crashes on
# others); OPENBLAS_NUM_THREADS to pin the thread count.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
shift $(( $# > 0 ? 1 : 0 ))
# a build with oneDNN (gemm_precision = bf16) needs it at link time too
dnnl=$(nm "$build/lib/libdeepclust_internal.a" 2>/dev/null | grep -q " U dnnl_" && echo -ldnnl || true)
exe=$(mktemp /tmp/bench_ae.XXXXXX)
trap 'rm -f "$exe"' EXIT
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$here/../lib" -I"$here/../include" \
    "$here/bench_ae.c" "$build/lib/libdeepclust_internal.a" \
    $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) $dnnl -lm -lpthread -o "$exe"
echo "== libdeepclust"
"$exe" "$@"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "== PyTorch"
    /usr/bin/python3 "$here/bench_pretrain_torch.py" $(echo "$@" | sed 's/ *\(no\)\{0,1\}aug//; s/ *\(fp32\|bf16\)$//')
else
    echo "== PyTorch: not installed (Debian package python3-torch), skipped"
fi
