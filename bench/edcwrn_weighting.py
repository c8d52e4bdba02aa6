#!/usr/bin/env python3
"""EDCWRN representation weighting variants on small data sets (the runs
behind the "representation weighting" section of docs/benchmarks.md).

    /usr/bin/python3 bench/edcwrn_weighting.py [--cli build/src/deepclust]
        [--out bench/out/weighting] [--sets tb10,tb50,b20,digits] [--seeds 30]

Sets: tb10 / tb50 = examples/data/three_blobs.csv (min-max scaled) with a
32-32-64 network pre-trained 10 / 50 epochs; b20 = 300 points of three
20-D Gaussian blobs (scikit-learn make_blobs, random_state 0, min-max),
embedding 4, 300 iterations; digits = scikit-learn digits / 16 with a
256-256-512 network, one autoencoder pre-trained 200 epochs per seed and
reused by every variant, 1000 iterations. Prints mean ACC, the number of
seeds with ACC >= 0.95 and the minimum, per variant and set.
"""
import argparse
import json
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
VARIANTS = {
    "sum (old default)": ["--weighting-norm", "sum"],
    "sum + standardized": ["--weighting-norm", "sum", "--weighting-scale", "standardized"],
    "mean (default)": [],
    "mean + standardized": ["--weighting-scale", "standardized"],
    "weighting off": ["--weighting", "false"],
    "k-means start (--max-iter 0)": ["--max-iter", "0"],
}
SMALL = ["--hidden1", "32", "--hidden2", "32", "--hidden3", "64"]


def data_sets(out):
    from sklearn.datasets import load_digits, make_blobs
    x, y = make_blobs(n_samples=300, n_features=20, centers=3, random_state=0)
    b20 = out / "blobs20.csv"
    np.savetxt(b20, np.c_[x, y], delimiter=",", fmt="%.6g")
    d = load_digits()
    dig = out / "digits.csv"
    np.savetxt(dig, np.c_[d.data / 16.0, d.target], delimiter=",", fmt="%.6g")
    tb = ROOT / "examples/data/three_blobs.csv"
    tb_args = ["--data", str(tb), "--label-column", "last", "--normalize", "minmax", "--k", "3"]
    return {
        "tb10": tb_args + SMALL + ["--pretrain-epochs", "10"],
        "tb50": tb_args + SMALL,
        "b20": ["--data", str(b20), "--label-column", "last", "--normalize", "minmax", "--k", "3",
                "--embed-dim", "4", "--pretrain-epochs", "20", "--max-iter", "300",
                "--update-interval", "50"] + SMALL,
        "digits": ["--data", str(dig), "--label-column", "last", "--k", "10", "--hidden1", "256",
                   "--hidden2", "256", "--hidden3", "512", "--max-iter", "1000"],
    }


def run(cli, args):
    p = subprocess.run([cli, "cluster", "--method", "edcwrn", "--json", "--quiet", "--threads", "1",
                        *args], capture_output=True, text=True)
    return json.loads(p.stdout)["acc"] if p.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "build/src/deepclust"))
    ap.add_argument("--out", default=str(ROOT / "bench/out/weighting"))
    ap.add_argument("--sets", default="tb10,tb50,b20,digits")
    ap.add_argument("--seeds", type=int, default=30)
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = data_sets(out)
    print("| set | variant | seeds | mean ACC | ACC >= 0.95 | min ACC |")
    print("|---|---|---|---|---|---|")
    for name in a.sets.split(","):
        seeds = range(min(a.seeds, 3) if name == "digits" else a.seeds)
        if name == "digits":  # one pre-trained autoencoder per seed, shared by the variants
            for s in seeds:
                ae = out / f"digits_ae_s{s}.dcm"
                if not ae.exists():
                    run(a.cli, sets[name] + ["--seed", str(s), "--max-iter", "0",
                                             "--pretrain-epochs", "200", "--save-pretrained",
                                             str(ae)])
        for vname, extra in VARIANTS.items():
            accs, errors = [], 0
            for s in seeds:
                args = sets[name] + ["--seed", str(s)] + extra
                if name == "digits":
                    args += ["--load-pretrained", str(out / f"digits_ae_s{s}.dcm")]
                acc = run(a.cli, args)
                if acc is None:
                    errors += 1  # e.g. pre-training diverging at lr 1 (same for every variant)
                else:
                    accs.append(acc)
            v = np.array(accs)
            note = f" ({errors} failed)" if errors else ""
            print(f"| {name} | {vname} | {len(v)}{note} | {v.mean():.3f} | {(v >= 0.95).sum()} "
                  f"| {v.min():.3f} |", flush=True)


if __name__ == "__main__":
    main()
