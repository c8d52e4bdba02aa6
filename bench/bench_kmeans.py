#!/usr/bin/python3
"""k-means speed and inertia: libdeepclust "kmeans" vs scikit-learn KMeans on
full Fashion-MNIST (train + t10k = 70,000 x 784, pixels / 255, float32),
k = 10, n_init = 10, in the same run. Prints wall time, inertia, iterations
and the ratios. Target: ours at least as fast, inertia within 1 %.

  /usr/bin/python3 bench/bench_kmeans.py [--threads 2] [--subset N]
      [--n-init 10] [--seed 0] [--no-sklearn]

The library is DEEPCLUST_LIBRARY, else build/lib/libdeepclust.so next to
this script's repository, else /work/main/build/lib/libdeepclust.so.
--threads sets both OpenBLAS (ours) and OpenMP/BLAS (scikit-learn) threads.
Run on a quiet machine: both sides are sensitive to other load.
"""
import argparse
import ctypes as C
import gzip
import os
import time

FMNIST = "/usr/share/datasets/fashion-mnist"


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=None, help="BLAS / OpenMP threads (default: library default)")
    p.add_argument("--subset", type=int, default=0, help="use the first N rows only")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-sklearn", action="store_true")
    return p.parse_args()


args = parse()
if args.threads:
    # Before numpy / OpenBLAS are loaded.
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[v] = str(args.threads)

import numpy as np  # noqa: E402


def library_path():
    env = os.environ.get("DEEPCLUST_LIBRARY")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "lib", "libdeepclust.so")
    return here if os.path.exists(here) else "/work/main/build/lib/libdeepclust.so"


def load_fashion(subset):
    parts = []
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        with gzip.open(os.path.join(FMNIST, name), "rb") as f:
            parts.append(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784))
    x = np.vstack(parts)
    if subset:
        x = x[:subset]
    return np.ascontiguousarray(x, dtype=np.float32) / np.float32(255.0)


def ours(path, x, k, n_init, seed):
    lib = C.CDLL(path)
    vp = C.c_void_p
    lib.dc_last_error.restype = C.c_char_p
    lib.dc_dataset_create.argtypes = [C.POINTER(vp), C.POINTER(C.c_float), C.c_int64, C.c_int64, C.c_int]
    lib.dc_solver_create.argtypes = [C.POINTER(vp), C.c_char_p]
    lib.dc_solver_set.argtypes = [vp, C.c_char_p, C.c_double]
    lib.dc_solver_fit.argtypes = [vp, vp]
    lib.dc_solver_stat.argtypes = [vp, C.c_char_p, C.POINTER(C.c_double)]
    lib.dc_solver_labels.argtypes = [vp, C.POINTER(C.c_int32), C.c_int64, C.POINTER(C.c_int64)]
    lib.dc_solver_free.argtypes = lib.dc_dataset_free.argtypes = [vp]

    def ok(st):
        if st != 0:
            raise RuntimeError(lib.dc_last_error().decode())

    ds, s = vp(), vp()
    ok(lib.dc_dataset_create(C.byref(ds), x.ctypes.data_as(C.POINTER(C.c_float)), x.shape[0], x.shape[1], 1))
    ok(lib.dc_solver_create(C.byref(s), b"kmeans"))
    for name, v in ((b"k", k), (b"n_init", n_init), (b"seed", seed)):
        ok(lib.dc_solver_set(s, name, v))
    t = time.perf_counter()
    ok(lib.dc_solver_fit(s, ds))
    secs = time.perf_counter() - t
    stats = {}
    for name in ("inertia", "iterations"):
        v = C.c_double()
        ok(lib.dc_solver_stat(s, name.encode(), C.byref(v)))
        stats[name] = v.value
    labels = np.empty(x.shape[0], np.int32)
    ok(lib.dc_solver_labels(s, labels.ctypes.data_as(C.POINTER(C.c_int32)), labels.size, None))
    lib.dc_solver_free(s)
    lib.dc_dataset_free(ds)
    return secs, stats["inertia"], int(stats["iterations"]), labels


def sklearn_kmeans(x, k, n_init, seed):
    from sklearn.cluster import KMeans
    t = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
    return time.perf_counter() - t, float(km.inertia_), int(km.n_iter_), km.labels_


def main():
    x = load_fashion(args.subset)
    path = library_path()
    print(f"data {x.shape[0]} x {x.shape[1]}, k={args.k}, n_init={args.n_init}, seed={args.seed}, "
          f"threads={args.threads or 'default'}, library {path}")
    t, inertia, its, _ = ours(path, x, args.k, args.n_init, args.seed)
    print(f"libdeepclust  {t:8.2f} s  inertia {inertia:.6e}  iterations {its}")
    if args.no_sklearn:
        return
    ts, inertia_s, its_s, _ = sklearn_kmeans(x, args.k, args.n_init, args.seed)
    print(f"scikit-learn  {ts:8.2f} s  inertia {inertia_s:.6e}  iterations {its_s}")
    print(f"speed-up {ts / t:.2f}x, inertia ours/sklearn {inertia / inertia_s:.5f}")


if __name__ == "__main__":
    main()
