#!/bin/sh
# Builds and runs bench/bench_gemm_bf16.cpp (OpenBLAS fp32 vs oneDNN fp32 and
# bf16 on the autoencoder's GEMM shapes). Needs Debian libdnnl-dev and g++.
# Thread counts: OMP_NUM_THREADS (oneDNN) and OPENBLAS_NUM_THREADS, 1 unless set.
set -e
here=$(cd "$(dirname "$0")" && pwd)
exe=$(mktemp /tmp/bench_gemm_bf16.XXXXXX)
trap 'rm -f "$exe"' EXIT
${CXX:-g++} -O2 -std=c++17 "$here/bench_gemm_bf16.cpp" \
    $(pkg-config --cflags openblas 2>/dev/null) -ldnnl \
    $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -o "$exe"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} "$exe"
