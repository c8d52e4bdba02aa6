#!/bin/sh
# EDCWRN ablation grid (paper Table 3) on the Fashion-MNIST test split, all
# runs starting from one pre-trained autoencoder so that only the switches
# differ. Writes one JSON per run into OUT_DIR and prints a table. Every
# other parameter is the library's default (PRETRAIN_STEPS 0: the default
# budget; MAX_ITER 8000 is the default schedule).
#   bench/edcwrn_ablation.sh [BUILD_DIR] [OUT_DIR] [PRETRAIN_STEPS] [MAX_ITER] [SEED]
set -eu
build=${1:-build} out=${2:-bench/out/ablation} steps=${3:-0} iters=${4:-8000} seed=${5:-0}
cli=$build/src/deepclust
D=/usr/share/datasets/fashion-mnist
common="--data $D/t10k-images-idx3-ubyte.gz --labels $D/t10k-labels-idx1-ubyte.gz \
  --normalize scale255 --k 10 --seed $seed --json --quiet"
mkdir -p "$out"
ae=$out/ae_s$seed.dcm
if [ ! -f "$ae" ]; then
  # max-iter 0: pre-training and the k-means start only (the baseline row).
  $cli cluster --method edcwrn $common --pretrain-steps "$steps" --max-iter 0 \
    --save-pretrained "$ae" > "$out/kmeans_on_ae.json"
fi
for f in proposed idec; do for w in true false; do for nb in true false; do
  $cli cluster --method edcwrn $common --load-pretrained "$ae" --max-iter "$iters" \
    --formulation $f --weighting $w --neighbors $nb > "$out/${f}_w${w}_n${nb}.json"
done; done; done
/usr/bin/python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| formulation | weighting | neighbours | ACC | NMI | cluster s |")
print("|---|---|---|---|---|---|")
for p in sorted(out.glob("*_w*_n*.json")):
    f, w, n = p.stem.split("_")
    j = json.loads(p.read_text())
    print(f"| {f} | {w[1:]} | {n[1:]} | {j['acc']:.3f} | {j['nmi']:.3f} | {j['phases']['cluster']:.0f} |")
k = out / "kmeans_on_ae.json"
if k.exists():
    j = json.loads(k.read_text())
    print(f"| k-means on the pre-trained embedding | | | {j['acc']:.3f} | {j['nmi']:.3f} | |")
PY
