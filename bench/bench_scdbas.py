#!/usr/bin/python3
"""Clustering quality of SCDBAS (improved and paper mode), NJW and k-means from
libdeepclust, and scikit-learn's SpectralClustering(affinity="nearest_neighbors",
n_neighbors=10), on iris, wine (z-scored), breast cancer (z-scored), digits
(8x8), two moons, two circles and Fashion-MNIST test (10k, pixels / 255).
Mean ACC (Hungarian) and ARI over seeds, mean seconds per fit. Metrics come
from scipy / scikit-learn, not from the library.

  DEEPCLUST_LIBRARY=build/lib/libdeepclust.so OPENBLAS_NUM_THREADS=2 \\
      bench/bench_scdbas.py [--seeds 5] [--no-sklearn] [--datasets iris moons ...]
      [--set m=10 ...]  # extra parameters for the spectral methods
      [--ablation]      # also SCDBAS without the beetle search (1 tiny step) and undamped
"""
import argparse
import ctypes as C
import gzip
import os
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import datasets
from sklearn.metrics import adjusted_rand_score

FMNIST = "/usr/share/datasets/fashion-mnist"


def zscore(x):
    s = x.std(0)
    s[s == 0] = 1.0
    return (x - x.mean(0)) / s


def fashion_test():
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784) / 255.0
    with gzip.open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return x, y


def load(name):
    """(x, y, k); the synthetic sets are fixed (random_state 0): seeds vary the methods only."""
    if name == "iris":
        d = datasets.load_iris()
        return d.data, d.target, 3
    if name == "wine":
        d = datasets.load_wine()
        return zscore(d.data), d.target, 3
    if name == "breast_cancer":
        d = datasets.load_breast_cancer()
        return zscore(d.data), d.target, 2
    if name == "digits":
        d = datasets.load_digits()
        return d.data, d.target, 10
    if name == "moons":
        x, y = datasets.make_moons(500, noise=0.05, random_state=0)
        return x, y, 2
    if name == "circles":
        x, y = datasets.make_circles(500, noise=0.05, factor=0.5, random_state=0)
        return x, y, 2
    if name == "fashion10k":
        x, y = fashion_test()
        return x, y, 10
    raise ValueError(name)


def acc(y, p):
    k = int(max(y.max(), p.max())) + 1
    c = np.zeros((k, k))
    np.add.at(c, (p, y), 1)
    r, s = linear_sum_assignment(-c)
    return c[r, s].sum() / len(y)


class Lib:
    def __init__(self, path):
        self.l = C.CDLL(path)
        self.l.dc_last_error.restype = C.c_char_p
        self.l.dc_solver_set_str.argtypes = [C.c_void_p, C.c_char_p, C.c_char_p]
        self.l.dc_solver_stat.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(C.c_double)]

    def check(self, st, what):
        if st != 0:
            raise RuntimeError(f"{what}: status {st}: {self.l.dc_last_error().decode()}")

    def fit(self, method, x, params):
        x = np.ascontiguousarray(x, dtype=np.float32)
        ds, s = C.c_void_p(), C.c_void_p()
        self.check(self.l.dc_dataset_create(C.byref(ds), x.ctypes.data_as(C.c_void_p),
                                            C.c_int64(x.shape[0]), C.c_int64(x.shape[1]), 0),
                   "dataset")
        try:
            self.check(self.l.dc_solver_create(C.byref(s), method.encode()), method)
            for k, v in params.items():
                self.check(self.l.dc_solver_set_str(s, k.encode(), str(v).encode()), f"{k}={v}")
            t = time.perf_counter()
            self.check(self.l.dc_solver_fit(s, ds), f"{method} fit")
            el = time.perf_counter() - t
            lab = np.empty(x.shape[0], np.int32)
            self.check(self.l.dc_solver_labels(s, lab.ctypes.data_as(C.c_void_p),
                                               C.c_int64(len(lab)), None), "labels")
            return lab, el
        finally:
            self.l.dc_solver_free(s)
            self.l.dc_dataset_free(ds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--datasets", nargs="*",
                    default=["iris", "wine", "breast_cancer", "digits", "moons", "circles",
                             "fashion10k"])
    ap.add_argument("--no-sklearn", action="store_true", help="skip SpectralClustering (slow)")
    ap.add_argument("--ablation", action="store_true",
                    help="also SCDBAS improved without the search (dbas_iters=1, tiny step) "
                         "and with damp = 0")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="extra parameters for njw and scdbas (e.g. m=0 affinity=dense)")
    a = ap.parse_args()
    lib = Lib(os.environ.get("DEEPCLUST_LIBRARY", "build/lib/libdeepclust.so"))
    extra = dict(kv.split("=", 1) for kv in a.set)

    methods = [("scdbas", "scdbas", {**extra}),
               ("scdbas-paper", "scdbas", {**extra, "dbas_mode": "paper"})]
    if a.ablation:
        methods.append(("scdbas-nosearch", "scdbas",
                        {**extra, "dbas_iters": 1, "dbas_step": 1e-12}))
        methods.append(("scdbas-undamped", "scdbas", {**extra, "dbas_damp": 0}))
    methods += [("njw", "njw", {**extra}), ("kmeans", "kmeans", {})]
    if not a.no_sklearn:
        methods.append(("sklearn-sc", None, {}))

    print(f"seeds 0..{a.seeds - 1}; extra spectral parameters: {extra or 'none'}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}")
    print(f"{'data set':<14}{'n':>6}{'k':>4}  " +
          "".join(f"{m[0]:>24}" for m in methods))
    print(" " * 26 + "".join(f"{'ACC   ARI    sec':>24}" for _ in methods))
    for name in a.datasets:
        x, y, k = load(name)
        cells = []
        for label, method, params in methods:
            accs, aris, secs = [], [], []
            for seed in range(a.seeds):
                if method is None:
                    from sklearn.cluster import SpectralClustering
                    t = time.perf_counter()
                    lab = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=10,
                                             random_state=seed).fit_predict(x)
                    el = time.perf_counter() - t
                else:
                    lab, el = lib.fit(method, x, {"k": k, "seed": seed, **params})
                accs.append(acc(y, lab))
                aris.append(adjusted_rand_score(y, lab))
                secs.append(el)
            cells.append(f"{np.mean(accs):.3f} {np.mean(aris):6.3f} {np.mean(secs):6.2f}")
        print(f"{name:<14}{len(x):>6}{k:>4}  " + "".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
