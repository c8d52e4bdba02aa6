#!/usr/bin/env python3
"""Pixel ACC of SCDBAS, NJW and k-means on the same SLIC superpixels of
synthetic photos with known regions: four shapes (disc, rectangle,
triangle, ring) on a textured background (stripes of two close shades),
Gaussian noise of several standard deviations, several seeds each. Prints
a markdown table of mean ACC (Hungarian, scikit-learn's contingency via
scipy) per noise level and method.

    DEEPCLUST_BUILD_DIR=build PYTHONPATH=bindings/python OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 bench/segment_synthetic.py [--seeds 5] [--noise 5 15 30]
"""
import argparse

import numpy as np
from scipy.optimize import linear_sum_assignment

import deepclust

METHODS = ("scdbas", "njw", "kmeans")


def scene(seed, noise, h=241, w=321):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    truth = np.zeros((h, w), np.int32)
    cx, cy = rng.uniform(60, 100), rng.uniform(60, 100)
    truth[(xx - cx) ** 2 + (yy - cy) ** 2 < 45 ** 2] = 1
    truth[30:110, 180:290] = 2
    tri = (yy > 140) & (yy < 225) & (np.abs(xx - 110) < (yy - 140) * 0.8)
    truth[tri] = 3
    ring = np.hypot(xx - 240, yy - 180)
    truth[(ring > 25) & (ring < 45)] = 4
    colours = rng.uniform(30, 225, size=(5, 3))
    img = colours[truth] + 25.0 * ((xx // 6 + yy // 6) % 2)[..., None] * (truth == 0)[..., None]
    img += rng.normal(scale=noise, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), truth


def acc(truth, pred):
    t, p = truth.ravel(), pred.ravel()
    table = np.zeros((p.max() + 1, t.max() + 1))
    np.add.at(table, (p, t), 1)
    r, c = linear_sum_assignment(-table)
    return table[r, c].sum() / t.size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--noise", type=float, nargs="+", default=[5, 15, 30])
    ap.add_argument("--superpixels", type=int, default=200)
    a = ap.parse_args()
    print("| noise sd | " + " | ".join(METHODS) + " |")
    print("|---|" + "---|" * len(METHODS))
    for noise in a.noise:
        scores = {m: [] for m in METHODS}
        for seed in range(a.seeds):
            img, truth = scene(seed, noise)
            for m in METHODS:
                lab = deepclust.segment(img, 5, n_segments=a.superpixels, compactness=10,
                                        sigma=1, method=m, random_state=seed)
                scores[m].append(acc(truth, lab))
        print("| %g | " % noise + " | ".join("%.3f" % np.mean(scores[m]) for m in METHODS) + " |")


if __name__ == "__main__":
    main()
