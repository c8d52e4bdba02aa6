#!/usr/bin/env bash
# Bytes sent per rank and phase, and seconds, of the distributed k-means,
# NJW and SCDBAS on the Fashion-MNIST test split (10,000 x 784) with 1, 2, 4
# and 8 ranks, oversubscribed on this machine (loopback: the seconds measure
# contention, not speed-up), plus the ARI of each distributed partition
# against the single-process run. The table of docs/scaling.md.
# Usage: bench/mpi_scaling.sh [BUILD_DIR (default build-mpi)] [RANKS (default "1 2 4 8")]
#        METHODS="kmeans njw scdbas" to choose.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-mpi}
ranks=${2:-1 2 4 8}
methods=${METHODS:-kmeans njw scdbas}
cli=$build/src/deepclust
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
D=/usr/share/datasets/fashion-mnist
zcat $D/t10k-images-idx3-ubyte.gz > "$work/images-idx3-ubyte"   # raw: each rank seeks to its rows
zcat $D/t10k-labels-idx1-ubyte.gz > "$work/labels-idx1-ubyte"
common=(--data "$work/images-idx3-ubyte" --labels "$work/labels-idx1-ubyte" --normalize scale255
        --k 10 --seed 0 --json --quiet)
printf '%-7s %5s %8s %7s %7s' method ranks seconds ACC ARI1p
for ph in setup seed lloyd gather pca knn graph eigen search; do printf ' %10s' "$ph"; done
echo
for m in $methods; do
  aff=()
  [[ $m != kmeans ]] && aff=(--affinity sparse) # what auto means in a distributed run
  "$cli" cluster --method "$m" "${common[@]}" "${aff[@]}" --out "$work/ref.npy" > /dev/null
  for np in $ranks; do
    mpirun --oversubscribe -np "$np" "$cli" cluster --method "$m" "${common[@]}" \
      --out "$work/out.npy" > "$work/run.json"
    /usr/bin/python3 - "$work" "$m" "$np" <<'PY'
import json, sys
import numpy as np
from sklearn.metrics import adjusted_rand_score
work, m, np_ = sys.argv[1:]
j = json.load(open(f"{work}/run.json"))
ari = adjusted_rand_score(np.load(f"{work}/ref.npy"), np.load(f"{work}/out.npy"))
row = f"{m:7s} {np_:>5s} {j['seconds']:8.1f} {j['acc']:7.4f} {ari:7.4f}"
for ph in "setup seed lloyd gather pca knn graph eigen search".split():
    row += f" {int(j.get('mpi_bytes_max_' + ph, 0)):10d}"
print(row)
PY
  done
done
