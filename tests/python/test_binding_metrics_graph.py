"""deepclust.metrics and deepclust.graph against numpy, scikit-learn and hand values."""
import os

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from conftest import spread_blobs as blobs  # noqa: E402

try:
    from sklearn import metrics as skm
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False


# --------------------------------------------------------------------------
# Metrics and graph


def test_metrics_against_sklearn_and_hand_values():
    t = [0, 0, 1, 1, 2, 2]
    p = [1, 1, 0, 0, 0, 2]
    assert dc.metrics.acc(t, p) == pytest.approx(5 / 6)
    assert dc.metrics.acc(["a", "a", "b"], [7, 7, 9]) == 1.0
    big = np.array([2 ** 40, 2 ** 40, 5], dtype=np.int64)
    assert dc.metrics.ari(big, [0, 0, 1]) == 1.0
    with pytest.raises(ValueError, match="length"):
        dc.metrics.nmi([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="normalization"):
        dc.metrics.nmi(t, p, normalization="max")
    if not HAVE_SKLEARN:
        return
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 5, 300), rng.integers(-2, 4, 300)
    assert dc.metrics.ari(t, p) == pytest.approx(skm.adjusted_rand_score(t, p), abs=1e-9)
    assert dc.metrics.nmi(t, p) == pytest.approx(
        skm.normalized_mutual_info_score(t, p, average_method="geometric"), abs=1e-9)
    assert dc.metrics.nmi(t, p, normalization="arithmetic") == pytest.approx(
        skm.normalized_mutual_info_score(t, p), abs=1e-9)
    m = dc.metrics.all_metrics(t, p)
    assert set(m) == {"acc", "nmi", "nmi_arithmetic", "ari", "f1"}


def test_inter_cluster_variance_matches_numpy():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 3)).astype(np.float32)
    lab = rng.integers(0, 4, 50)
    g = z.astype(np.float64).mean(0)
    ref = np.mean([((z[lab == c].astype(np.float64).mean(0) - g) ** 2).sum()
                   for c in np.unique(lab)])
    assert dc.metrics.inter_cluster_variance(z, lab) == pytest.approx(ref, rel=1e-6)


def test_graph_functions_against_numpy():
    x, _ = blobs(n_per=10)
    n = x.shape[0]
    d2 = ((x[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    idx, dist = dc.graph.knn(x, 3)
    assert idx.dtype == np.int64 and idx.shape == (n, 3)
    np.testing.assert_array_equal(idx, np.argsort(d2, axis=1, kind="stable")[:, :3])
    np.testing.assert_allclose(dist, np.sqrt(np.sort(d2, axis=1)[:, :3]), rtol=1e-4, atol=1e-4)
    qi = dc.graph.knn_query(x, x[:5] + 1e-3, 1, return_distance=False)
    np.testing.assert_array_equal(qi[:, 0], np.arange(5))
    p = dc.graph.affinity_p(n, 3)
    assert p == max(1, round(n / 9))
    sigma = dc.graph.affinity_sigma(x, p)
    np.testing.assert_allclose(sigma, np.sort(np.sqrt(d2), axis=1)[:, :p].mean(1), rtol=1e-4)
    W = dc.graph.affinity_dense(x, p)
    d2f = d2.copy()
    np.fill_diagonal(d2f, 0)
    ref = np.exp(-d2f / np.outer(sigma, sigma))
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(W, ref, atol=1e-5)
    Y = dc.graph.spectral_embedding(x, 3, mode="dense")
    np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1.0, atol=1e-4)
    with pytest.raises(dc.KRangeError):
        dc.graph.spectral_embedding(x, 1)
    with pytest.raises(dc.InvalidArgumentError):
        dc.graph.knn(x, n)
