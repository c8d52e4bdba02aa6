"""Spectral clustering with deepclust: NJW and SCDBAS (spectral embedding +
damped beetle antennae search) on two concentric rings, which k-means cannot
separate; the generic Solver shows every parameter and output by name.

Run from the repository root after building (meson setup build && ninja -C build):
    PYTHONPATH=bindings/python python3 bindings/python/examples/spectral_example.py
"""
import numpy as np

import deepclust
from deepclust import metrics


def make_rings(n, seed):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 2.0 * np.pi, n)
    y = (np.arange(n) >= n // 2).astype(int)
    r = np.where(y == 0, 1.0, 4.0) + 0.15 * rng.normal(size=n)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1), y  # float64: converted once


def report(name, y, labels):
    print("%-7s ACC %.4f  NMI %.4f  ARI %.4f" % (
        name, metrics.acc(y, labels), metrics.nmi(y, labels), metrics.ari(y, labels)))


def main():
    X, y = make_rings(600, seed=1)

    report("kmeans", y, deepclust.KMeans(n_clusters=2, random_state=0).fit_predict(X))
    report("njw", y, deepclust.NJW(n_clusters=2, random_state=0).fit_predict(X))

    sc = deepclust.SCDBAS(n_clusters=2, dbas_damp=0.5, random_state=0).fit(X)
    report("scdbas", y, sc.labels_)
    print("k-means fitness in the embedding %.5f after %d search iterations" % (
        sc.fitness_, sc.n_iter_))
    print("graph: p = %d, m = %d neighbours, %d component(s); %.3f s" % (
        sc.stats_["p"], sc.stats_["m"], sc.stats_["components"], sc.stats_["seconds"]))

    # The paper's variant through the generic handle: parameters by name, with
    # their help; the search starts from random rows, so the trace shows it work.
    with deepclust.Solver("scdbas", k=2, seed=0, dbas_mode="paper", record_undamped=True) as s:
        info = s.param_info("dbas_damp")
        print("dbas_damp in [%g, %g]: %s" % (info.min, info.max, info.help))
        s.fit(X)
        print("outputs: %s" % ", ".join(s.output_names()))
        damped, undamped = s.output("trace").ravel(), s.output("trace_undamped").ravel()
        print("paper mode: best fitness %.4f -> %.4f (undamped search: %.4f)" % (
            damped[0], damped[-1], undamped[-1]))
        report("paper", y, s.labels())


if __name__ == "__main__":
    main()
