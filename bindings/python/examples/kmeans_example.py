"""k-means with deepclust: fit, inspect, predict new points, score.

Run from the repository root after building (meson setup build && ninja -C build):
    PYTHONPATH=bindings/python python3 bindings/python/examples/kmeans_example.py
"""
import numpy as np

import deepclust
from deepclust import metrics


def make_blobs(n_per_cluster, centres, spread, seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([c + spread * rng.normal(size=(n_per_cluster, len(c))) for c in centres])
    y = np.repeat(np.arange(len(centres)), n_per_cluster)
    return X.astype(np.float32), y  # float32, C order: passed to the library without a copy


def main():
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0], [9.0, 6.0]])
    X, y = make_blobs(100, centres, spread=1.0, seed=0)

    km = deepclust.KMeans(n_clusters=4, n_init=10, random_state=0).fit(X)
    print("library %s at %s" % (deepclust.library_version(), deepclust.library_path()))
    print("inertia %.3f after %d Lloyd iterations" % (km.inertia_, km.n_iter_))
    print("centres:\n%s" % np.array2string(km.cluster_centers_, precision=2))

    # New points go to the nearest fitted centre.
    new = centres + 0.1
    print("predict(true centres + 0.1) = %s" % km.predict(new))

    m = metrics.all_metrics(y, km.labels_)
    print("ACC %.4f  NMI %.4f  ARI %.4f  F1 %.4f" % (m["acc"], m["nmi"], m["ari"], m["f1"]))

    # Bad input raises a deepclust error with the library's detail message.
    try:
        deepclust.KMeans(n_clusters=1000).fit(X)
    except deepclust.KRangeError as e:
        print("expected error: %s" % e.detail)


if __name__ == "__main__":
    main()
