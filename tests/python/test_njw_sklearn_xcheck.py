"""NJW (deepclust.NJW) against scikit-learn's SpectralClustering on the same
affinity matrix, built here in numpy from docs/methods.md (SCDBAS and NJW,
step 1): p = max(1, round(n/K^2)), sigma_i = mean distance to the p nearest
other points, W_ij = exp(-|x_i - x_j|^2 / (sigma_i sigma_j)), W_ii = 0; in
sparse mode W restricted to the symmetrised m-nearest-neighbour graph.
scikit-learn (affinity="precomputed", assign_labels="kmeans") embeds with
the normalised Laplacian and runs k-means: on data whose spectral partition
is well defined, both give the same partition (ARI >= 0.99)."""
import os
import warnings

import pytest

np = pytest.importorskip("numpy")
sk_cluster = pytest.importorskip("sklearn.cluster")
sk_datasets = pytest.importorskip("sklearn.datasets")
sk_metrics = pytest.importorskip("sklearn.metrics")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from references import njw_affinity  # noqa: E402

N = 200


def dataset(name, noise):
    if name == "moons":
        x, y = sk_datasets.make_moons(N, noise=noise, random_state=0)
    elif name == "circles":
        x, y = sk_datasets.make_circles(N, noise=noise, factor=0.4, random_state=0)
    else:
        x, y = sk_datasets.make_blobs(N, centers=3, cluster_std=noise, random_state=0)
    return x.astype(np.float32), y


def sklearn_labels(w, k, seed=0):
    sc = sk_cluster.SpectralClustering(n_clusters=k, affinity="precomputed",
                                       assign_labels="kmeans", random_state=seed)
    with warnings.catch_warnings():
        # a sparse graph of k components (one per cluster) is fine for both
        warnings.filterwarnings("ignore", "Graph is not fully connected")
        return sc.fit(w).labels_


ari = sk_metrics.adjusted_rand_score


@pytest.mark.parametrize("name,noise", [("moons", 0.1), ("circles", 0.05), ("blobs", 1.0)])
def test_dense_njw_matches_sklearn_spectral_clustering(name, noise):
    """affinity="dense" (the paper's graph on all pairs). Its wide sigmas
    (p = 50 neighbours here) make moons and circles split across the shapes,
    and the blobs overlap: the partition is not the ground truth, so the
    agreement is not just two methods both finding the obvious answer."""
    x, y = dataset(name, noise)
    k = len(np.unique(y))
    w = njw_affinity(x, k)
    # the binding's affinity is this one (the comparison is apples to apples)
    wb = dc.graph.affinity_dense(x, dc.graph.affinity_p(x.shape[0], k))
    np.testing.assert_allclose(wb, w, rtol=1e-4, atol=1e-6)
    ref = sklearn_labels(w, k)
    # a well-defined partition: another scikit-learn seed finds it too
    assert ari(ref, sklearn_labels(w, k, seed=1)) >= 0.99
    assert ari(y, ref) < 0.95  # not the ground truth
    labels = dc.NJW(k, affinity="dense", random_state=0).fit(x).labels_
    assert ari(ref, labels) >= 0.99, (name, ari(ref, labels))


@pytest.mark.parametrize("name,noise", [("moons", 0.05), ("circles", 0.05), ("blobs", 0.6)])
def test_sparse_njw_matches_sklearn_spectral_clustering(name, noise):
    """The default affinity="sparse" with n_neighbors = 10: the Gaussian
    affinity on the symmetrised 10-NN graph separates moons and circles."""
    x, y = dataset(name, noise)
    k, m = len(np.unique(y)), 10
    ref = sklearn_labels(njw_affinity(x, k, m), k)
    assert ari(y, ref) >= 0.99  # the partition is well defined: the ground truth
    est = dc.NJW(k, affinity="sparse", n_neighbors=m, random_state=0).fit(x)
    assert est.stats_["tau"] == 0  # a connected graph: no regularisation added
    assert ari(ref, est.labels_) >= 0.99, (name, ari(ref, est.labels_))
