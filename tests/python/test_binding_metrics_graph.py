"""deepclust.metrics and deepclust.graph against numpy, scikit-learn and hand values."""
import os

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from conftest import spread_blobs as blobs  # noqa: E402
from references import njw_affinity, reference_metrics  # noqa: E402

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


@pytest.mark.parametrize("noise", [0.3, 1.0])
def test_metrics_and_all_metrics_against_sklearn(noise):
    """Each metric and each value of all_metrics against scikit-learn, on
    a partial agreement (noise 0.3: a share of the labels redrawn, so every
    metric is distinct and in (0, 1)) and on unrelated labels (noise 1);
    label sets of different sizes, negative values."""
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < noise, rng.integers(-2, 7, 300), t - 1)
    pytest.importorskip("sklearn")
    pytest.importorskip("scipy")
    ref = reference_metrics(t, p)
    if noise < 1:
        vals = sorted(ref.values())
        assert 0 < vals[0] and vals[-1] < 0.95 and np.diff(vals).min() > 1e-3, ref
    assert dc.metrics.acc(t, p) == pytest.approx(ref["acc"], abs=1e-9)
    assert dc.metrics.ari(t, p) == pytest.approx(ref["ari"], abs=1e-9)
    assert dc.metrics.f1(t, p) == pytest.approx(ref["f1"], abs=1e-9)
    assert dc.metrics.nmi(t, p) == pytest.approx(ref["nmi"], abs=1e-9)
    assert dc.metrics.nmi(t, p, normalization="arithmetic") == pytest.approx(
        ref["nmi_arithmetic"], abs=1e-9)
    m = dc.metrics.all_metrics(t, p)
    assert set(m) == set(ref)
    for key in ref:
        assert m[key] == pytest.approx(ref[key], abs=1e-9), (key, m, ref)


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
    with pytest.raises(dc.KRangeError):
        dc.graph.spectral_embedding(x, 1)
    with pytest.raises(dc.InvalidArgumentError):
        dc.graph.knn(x, n)


def embedding_gram_ref(x, k, m=None):
    """Rotation-free numpy reference of the spectral embedding (docs/methods.md
    "SCDBAS and NJW"): for the top-k eigenvectors U of D^-1/2 W D^-1/2 and
    Y = diag(1/|U_i|) U, Y Y^T depends only on the eigenspace. W: adaptive
    sigma Gaussian affinity (p = max(1, round(n/k^2)) neighbours), on all
    pairs or (m given) on the symmetrised m-nearest-neighbour graph.
    Returns (Y Y^T, eigengap)."""
    w = njw_affinity(x, k, m)
    dinv = 1.0 / np.sqrt(w.sum(1))
    vals, vecs = np.linalg.eigh(dinv[:, None] * w * dinv[None, :])
    u = vecs[:, -k:]
    g = u @ u.T
    nrm = 1.0 / np.sqrt(np.diag(g))
    return nrm[:, None] * g * nrm[None, :], vals[-k] - vals[-k - 1]


@pytest.mark.parametrize("mode,m", [("dense", 0), ("sparse", 8), ("auto", 0)])
def test_spectral_embedding_gram_against_numpy(mode, m):
    """dc.graph.spectral_embedding (both modes; auto is dense for 90
    points) spans the numpy reference's eigenspace: Y Y^T agrees, rows
    are unit vectors."""
    x, _ = blobs(n_per=30, k=3, d=3, seed=2, spread=2.0)
    k = 3
    ref, gap = embedding_gram_ref(x, k, m if mode == "sparse" else None)
    assert gap > 0.05  # the top-k eigenspace is well defined
    Y = dc.graph.spectral_embedding(x, k, mode=mode, m=m)
    assert Y.shape == (x.shape[0], k)
    np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(Y.astype(np.float64) @ Y.T, ref, atol=1e-4)
