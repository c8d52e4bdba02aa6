#!/usr/bin/env bash
# The main job: installs missing Debian packages, builds, and clusters the
# Fashion-MNIST test split (10,000 images) with each available method,
# printing ACC / NMI / ARI / F1. Quick and idempotent on a prepared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build

data=/usr/share/datasets/fashion-mnist
cli=build/src/deepclust
# OpenBLAS 0.3.21 does not recognise this CPU family and picks AVX2 kernels;
# the AVX-512 ones are ~1.7x faster for sgemm where the CPU has AVX-512.
if grep -q avx512f /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}; fi

common=(--data "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz"
        --normalize scale255 --k 10 --seed 0)
methods=$($cli methods)

echo "== k-means (k-means++, 10 restarts) on Fashion-MNIST test split"
$cli cluster --method kmeans "${common[@]}" --n-init 10

if grep -qx scdbas <<<"$methods"; then
  echo "== SCDBAS (adaptive-sigma spectral embedding + damped beetle antennae search)"
  mkdir -p build/demo
  $cli cluster --method scdbas "${common[@]}" --record-undamped true \
    --trace-svg build/demo/scdbas_trace.svg --out build/demo/scdbas_labels.csv
  echo "   fitness trace: build/demo/scdbas_trace.svg"
fi

if grep -qx edcwrn <<<"$methods"; then
  echo "== EDCWRN (short schedule: a few minutes; the reference schedule is far longer)"
  # The default recipe with a tenth of its pre-training budget and clustering
  # iterations (docs/methods.md): the full defaults take about a quarter of
  # an hour on 2 cores.
  mkdir -p build/demo
  $cli cluster --method edcwrn "${common[@]}" --pretrain-steps 1600 --max-iter 1400 \
    --save-model build/demo/edcwrn.model --weights-svg build/demo/edcwrn_weights.svg \
    --embedding-svg build/demo/edcwrn_embedding.svg
  echo "== the saved model labels the same images again (deepclust predict)"
  $cli predict --model build/demo/edcwrn.model --data "$data/t10k-images-idx3-ubyte.gz" \
    --labels "$data/t10k-labels-idx1-ubyte.gz" --normalize scale255
  echo "   pictures: build/demo/edcwrn_weights.svg, build/demo/edcwrn_embedding.svg"
fi
