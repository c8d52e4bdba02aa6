#!/usr/bin/python3
"""Scaling of the spectral pipeline (SCDBAS / NJW fit end to end) with the
per-phase times the solver reports (PCA, kNN + sigmas, affinity, eigen), the
graph settings it chose (p, sigma neighbours, m, PCA components), ACC/NMI
against the labels, and the peak RSS of the process that ran the fit.

Cases: fashion10k (Fashion-MNIST test, 10 000 x 784, pixels / 255),
fashion70k (train + test, 70 000 x 784) and blobs1m (scikit-learn
make_blobs(1 000 000, 50 features, 10 centres, random_state 0), float32).
Every case runs in its own child process; the peak RSS is that child's
getrusage(RUSAGE_SELF).ru_maxrss (it includes Python, numpy and the data).
The machine's load average is printed with each line: timings on a shared
machine are only comparable at equal load.

  DEEPCLUST_LIBRARY=build/lib/libdeepclust.so OPENBLAS_NUM_THREADS=2 \\
      bench/bench_spectral_scale.py [--cases fashion10k fashion70k blobs1m]
      [--method scdbas|njw] [--set pca=-1 sigma_sample=-1 ...] [--sklearn]

--set passes solver parameters (pca=-1: kNN on the raw features; pca=q;
sigma_sample=-1: exact sigmas). --sklearn also times scikit-learn's
SpectralClustering(affinity="nearest_neighbors", n_neighbors=10) on the
Fashion-MNIST cases (skipped above 10 000 points: it needs minutes).
"""
import argparse
import ctypes as C
import gzip
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"
CASES = ("fashion10k", "fashion70k", "blobs1m")


def idx_file(name, offset):
    with gzip.open(os.path.join(FMNIST, name), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load(case):
    """(x float32, labels, k)."""
    if case.startswith("fashion"):
        x = idx_file("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
        y = idx_file("t10k-labels-idx1-ubyte.gz", 8)
        if case == "fashion70k":
            x = np.vstack([idx_file("train-images-idx3-ubyte.gz", 16).reshape(-1, 784), x])
            y = np.concatenate([idx_file("train-labels-idx1-ubyte.gz", 8), y])
        return np.ascontiguousarray(x, dtype=np.float32) / np.float32(255.0), y.astype(np.int64), 10
    if case == "blobs1m":
        from sklearn.datasets import make_blobs
        x, y = make_blobs(n_samples=1_000_000, n_features=50, centers=10, random_state=0)
        return np.ascontiguousarray(x, dtype=np.float32), y.astype(np.int64), 10
    raise ValueError(case)


def scores(y, pred):
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import normalized_mutual_info_score
    k = int(max(y.max(), pred.max())) + 1
    c = np.zeros((k, k))
    np.add.at(c, (pred, y), 1)
    r, s = linear_sum_assignment(-c)
    return c[r, s].sum() / len(y), normalized_mutual_info_score(y, pred)


def fit_library(x, k, method, params, seed):
    lib = C.CDLL(os.environ.get("DEEPCLUST_LIBRARY", "build/lib/libdeepclust.so"))
    vp = C.c_void_p
    lib.dc_last_error.restype = C.c_char_p
    lib.dc_dataset_create.argtypes = [C.POINTER(vp), C.POINTER(C.c_float), C.c_int64, C.c_int64, C.c_int]
    lib.dc_solver_create.argtypes = [C.POINTER(vp), C.c_char_p]
    lib.dc_solver_set.argtypes = [vp, C.c_char_p, C.c_double]
    lib.dc_solver_fit.argtypes = [vp, vp]
    lib.dc_solver_labels.argtypes = [vp, C.POINTER(C.c_int32), C.c_int64, C.POINTER(C.c_int64)]
    lib.dc_solver_stat.argtypes = [vp, C.c_char_p, C.POINTER(C.c_double)]
    lib.dc_solver_free.argtypes = [vp]
    lib.dc_dataset_free.argtypes = [vp]

    def check(st):
        if st != 0:
            raise RuntimeError(lib.dc_last_error().decode())

    s, ds = vp(), vp()
    check(lib.dc_solver_create(C.byref(s), method.encode()))
    check(lib.dc_dataset_create(C.byref(ds), x.ctypes.data_as(C.POINTER(C.c_float)),
                                x.shape[0], x.shape[1], 1))
    for name, value in dict(k=k, seed=seed, **params).items():
        check(lib.dc_solver_set(s, name.encode(), float(value)))
    t = time.perf_counter()
    check(lib.dc_solver_fit(s, ds))
    seconds = time.perf_counter() - t
    labels = np.empty(x.shape[0], np.int32)
    count = C.c_int64()
    check(lib.dc_solver_labels(s, labels.ctypes.data_as(C.POINTER(C.c_int32)), labels.size,
                               C.byref(count)))
    stats = {}
    for name in ("seconds_pca", "seconds_knn", "seconds_affinity", "seconds_eigen", "p",
                 "p_sigma", "m", "pca_dims", "components"):
        v = C.c_double()
        if lib.dc_solver_stat(s, name.encode(), C.byref(v)) == 0:
            stats[name] = v.value
    lib.dc_dataset_free(ds)
    lib.dc_solver_free(s)
    return labels.astype(np.int64), seconds, stats


def child(args):
    x, y, k = load(args.case)
    if args.sklearn:
        from sklearn.cluster import SpectralClustering
        t = time.perf_counter()
        pred = SpectralClustering(n_clusters=k, affinity="nearest_neighbors", n_neighbors=10,
                                  random_state=args.seed).fit_predict(x)
        seconds, stats = time.perf_counter() - t, {}
    else:
        params = dict(kv.split("=", 1) for kv in args.set)
        pred, seconds, stats = fit_library(x, k, args.method, params, args.seed)
    acc, nmi = scores(y, pred)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB -> MiB
    print(json.dumps(dict(n=x.shape[0], d=x.shape[1], seconds=seconds, acc=acc, nmi=nmi,
                          rss_mib=rss, **stats)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="*", default=["fashion10k"], choices=CASES)
    ap.add_argument("--method", default="scdbas", choices=["scdbas", "njw"])
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sklearn", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        a.case = a.child
        child(a)
        return
    print(f"method {a.method} {' '.join(a.set) or '(defaults)'}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}")
    print(f"{'case':11s} {'who':8s} {'n':>8s} {'d':>4s} {'total':>7s} {'pca':>6s} {'knn':>7s} "
          f"{'affin':>6s} {'eigen':>6s} {'p':>6s} {'p_sig':>5s} {'m':>3s} {'q':>3s} "
          f"{'ACC':>6s} {'NMI':>6s} {'RSS MiB':>8s}  load")
    runs = [(c, False) for c in a.cases]
    if a.sklearn:
        runs += [(c, True) for c in a.cases if c == "fashion10k"]
    for case, sk in runs:
        load_before = os.getloadavg()[0]
        cmd = [sys.executable, __file__, "--child", case, "--method", a.method,
               "--seed", str(a.seed), "--set", *a.set] + (["--sklearn"] if sk else [])
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{case:11s} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        g = lambda key, fmt: format(r[key], fmt) if key in r else "-"
        print(f"{case:11s} {'sklearn' if sk else 'deepclust':8s} {r['n']:8d} {r['d']:4d} "
              f"{r['seconds']:7.2f} {g('seconds_pca', '6.2f'):>6s} {g('seconds_knn', '7.2f'):>7s} "
              f"{g('seconds_affinity', '6.2f'):>6s} {g('seconds_eigen', '6.2f'):>6s} "
              f"{g('p', '6.0f'):>6s} {g('p_sigma', '5.0f'):>5s} {g('m', '3.0f'):>3s} "
              f"{g('pca_dims', '3.0f'):>3s} {r['acc']:6.3f} {r['nmi']:6.3f} {r['rss_mib']:8.0f}  "
              f"{load_before:.1f}/{os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
