#!/usr/bin/env python3
"""SLIC speed: libdeepclust (deepclust.slic) against scikit-image's slic on
the same 481 x 321 photo in one run (n_segments=200, compactness=10,
sigma=1), best of --repeat calls each, after one warm-up call.

The photo is scikit-learn's china.jpg (CC BY 2.0, danielbuechele on
Flickr; shipped with Debian's python3-sklearn), its top-left 481 x 321
crop: the size of a BSDS500 image. --image takes any PNG/JPEG instead.

    DEEPCLUST_BUILD_DIR=build PYTHONPATH=bindings/python \\
        /usr/bin/python3 bench/bench_slic.py [--repeat 10] [--threads N]
"""
import argparse
import time

import numpy as np
from PIL import Image
from skimage.segmentation import slic as sk_slic

import deepclust


def photo(path):
    if path:
        return np.asarray(Image.open(path).convert("RGB"))
    from sklearn.datasets import load_sample_image
    return np.ascontiguousarray(load_sample_image("china.jpg")[:321, :481])


def best_time(fn, repeat):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, help="library threads (default: OpenBLAS's)")
    a = ap.parse_args()
    if a.threads:
        deepclust.set_threads(a.threads)
    img = photo(a.image)
    params = dict(n_segments=200, compactness=10, sigma=1)
    t_sk, sk = best_time(lambda: sk_slic(img, start_label=0, **params), a.repeat)
    t_dc, dc = best_time(lambda: deepclust.slic(img, **params), a.repeat)
    print("image %d x %d, n_segments=200 compactness=10 sigma=1, best of %d"
          % (img.shape[1], img.shape[0], a.repeat, ))
    print("scikit-image slic: %8.1f ms  %d superpixels" % (1e3 * t_sk, sk.max() + 1))
    print("libdeepclust slic: %8.1f ms  %d superpixels  (%d threads)"
          % (1e3 * t_dc, dc.max() + 1, deepclust.get_threads()))
    print("speed-up: %.1fx" % (t_sk / t_dc))


if __name__ == "__main__":
    main()
