#!/usr/bin/env bash
# Installs the Debian packages libdeepclust needs to build, test and run its
# demo. Idempotent: does nothing (and needs no network) when all are present.
# Usage: scripts/install-deps.sh [--bench]   (--bench adds python3-torch)
set -euo pipefail

pkgs=(
  build-essential pkg-config meson ninja-build
  libopenblas-dev liblapacke-dev libarpack2-dev zlib1g-dev libpng-dev
  # oneDNN: the deep methods' gemm_precision = bf16 (meson option dnnl, auto)
  libdnnl-dev
  python3 python3-numpy python3-sklearn python3-scipy python3-threadpoolctl python3-pytest python3-skimage python3-pil
  python3-pip python3-setuptools python3-joblib
  dataset-fashion-mnist
  # the fuzz flavour: clang with libFuzzer and the sanitizer runtimes, and
  # llvm-symbolizer for readable reports
  clang-14 libclang-rt-14-dev llvm-14
  # the distributed flavour (-Dmpi=enabled, docs/scaling.md): Open MPI and PARPACK
  libopenmpi-dev openmpi-bin libparpack2-dev python3-mpi4py
)
if [[ "${1:-}" == "--bench" ]]; then pkgs+=(python3-torch time hyperfine); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi

echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
