#!/usr/bin/python3
"""Timings of the graph modules on Fashion-MNIST (pixels / 255, d = 784):
exact kNN (dc_knn) and the spectral embedding (dc_spectral_embedding) in
dense and/or sparse mode. Per-step times come from the library's INFO log.

  DEEPCLUST_LIBRARY=build/lib/libdeepclust.so OPENBLAS_CORETYPE=SkylakeX \\
      bench/bench_graph.py --n 10000 --modes sparse dense --knn 10
"""
import argparse
import ctypes as C
import gzip
import os
import time

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"


def load(n):
    name = "t10k-images-idx3-ubyte.gz" if n <= 10000 else "train-images-idx3-ubyte.gz"
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    if n > 10000:  # the 70k set: train + test
        with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), "rb") as f:
            x = np.vstack([x, np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)])
    return np.ascontiguousarray(x[:n], dtype=np.float32) / np.float32(255.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--k", type=int, default=10, help="clusters")
    ap.add_argument("--knn", type=int, default=10, help="neighbours for the kNN timing (0: skip)")
    ap.add_argument("--modes", nargs="*", default=["sparse"], choices=["sparse", "dense"])
    a = ap.parse_args()
    lib = C.CDLL(os.environ.get("DEEPCLUST_LIBRARY", "build/lib/libdeepclust.so"))
    lib.dc_last_error.restype = C.c_char_p
    LOG = C.CFUNCTYPE(None, C.c_void_p, C.c_int, C.c_char_p)
    log = LOG(lambda u, lvl, msg: print("  log:", msg.decode()))
    lib.dc_set_log(log, None, 2)

    x = load(a.n)
    n, d = x.shape
    xp = x.ctypes.data_as(C.POINTER(C.c_float))
    print(f"Fashion-MNIST n={n} d={d} OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}")
    if a.knn:
        idx = np.empty((n, a.knn), np.int64)
        dist = np.empty((n, a.knn), np.float32)
        t = time.perf_counter()
        st = lib.dc_knn(xp, C.c_int64(n), C.c_int64(d), C.c_int64(a.knn),
                        idx.ctypes.data_as(C.c_void_p), dist.ctypes.data_as(C.c_void_p))
        print(f"dc_knn k={a.knn}: {time.perf_counter() - t:.2f} s (status {st})")
    for mode in a.modes:
        y = np.empty((n, a.k), np.float32)
        t = time.perf_counter()
        st = lib.dc_spectral_embedding(xp, C.c_int64(n), C.c_int64(d), C.c_int64(a.k),
                                       1 if mode == "dense" else 2, C.c_int64(0),
                                       y.ctypes.data_as(C.c_void_p))
        el = time.perf_counter() - t
        msg = "" if st == 0 else lib.dc_last_error().decode()
        print(f"dc_spectral_embedding {mode} k={a.k}: {el:.2f} s (status {st}) {msg}")


if __name__ == "__main__":
    main()
