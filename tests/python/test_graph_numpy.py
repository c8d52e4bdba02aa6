"""Cross-check the graph modules (include/deepclust/graph.h) against an
independent numpy implementation of docs/methods.md "SCDBAS and NJW": exact kNN with ties,
adaptive sigmas, dense affinity, and the whole spectral embedding in dense
and sparse mode. The embedding is compared rotation-free: for Y = N U with
N = diag(1 / |U_i|), Y Y^T = N (U U^T) N depends only on the eigenspace."""
import ctypes as C

import pytest
from conftest import declare

np = pytest.importorskip("numpy")

DC_ERR_INVALID_ARG, DC_ERR_K_RANGE, DC_ERR_DEGENERATE = -2, -10, -11


@pytest.fixture(scope="module")
def lib(cdll):
    fp, i64p, i64, st = C.POINTER(C.c_float), C.POINTER(C.c_int64), C.c_int64, C.c_int
    return declare(cdll, {
        "dc_knn": (st, [fp, i64, i64, i64, i64p, fp]),
        "dc_knn_query": (st, [fp, i64, fp, i64, i64, i64, i64p, fp]),
        "dc_affinity_p": (i64, [i64, i64]),
        "dc_affinity_sigma": (st, [fp, i64, i64, i64, fp]),
        "dc_affinity_dense": (st, [fp, i64, i64, i64, fp]),
        "dc_spectral_embedding": (st, [fp, i64, i64, i64, C.c_int, i64, fp]),
    })


def ptr(a, t=C.c_float):
    return a.ctypes.data_as(C.POINTER(t))


def knn(lib, x, k):
    n, d = x.shape
    idx = np.empty((n, k), np.int64)
    dist = np.empty((n, k), np.float32)
    st = lib.dc_knn(ptr(x), n, d, k, ptr(idx, C.c_int64), ptr(dist))
    assert st == 0, lib.dc_last_error()
    return idx, dist


def d2_exact(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def knn_ref(x, k, rows):
    """Stable sort on (exact d2, index), self excluded, for the given rows."""
    d2 = d2_exact(x[rows], x)
    d2[np.arange(len(rows)), rows] = np.inf
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return order, np.sqrt(np.take_along_axis(d2, order, 1))


def test_knn_ties_beyond_one_tile(lib):
    # 5000 points on a small integer grid: exact float arithmetic, many ties
    # and duplicates, more rows than one 4096-row reference tile.
    rng = np.random.default_rng(1)
    x = rng.integers(0, 12, size=(5000, 3)).astype(np.float32)
    idx, dist = knn(lib, x, 7)
    for r0 in range(0, 5000, 1000):
        rows = np.arange(r0, r0 + 1000)
        ri, rd = knn_ref(x, 7, rows)
        np.testing.assert_array_equal(idx[rows], ri)
        np.testing.assert_allclose(dist[rows], rd, rtol=1e-7)


def test_knn_query_against_numpy(lib):
    rng = np.random.default_rng(2)
    ref = (rng.normal(size=(900, 20)) + 50).astype(np.float32)
    q = (rng.normal(size=(130, 20)) + 50).astype(np.float32)
    q[:10] = ref[100:110]  # exact copies: neighbour at distance 0
    idx = np.empty((130, 5), np.int64)
    dist = np.empty((130, 5), np.float32)
    assert lib.dc_knn_query(ptr(ref), 900, ptr(q), 130, 20, 5, ptr(idx, C.c_int64), ptr(dist)) == 0
    d2 = d2_exact(q, ref)
    order = np.argsort(d2, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_array_equal(idx[:10, 0], np.arange(100, 110))
    assert (dist[:10, 0] == 0).all()
    np.testing.assert_allclose(dist, np.sqrt(np.take_along_axis(d2, order, 1)), rtol=1e-6)


def sigma_ref(x, p):
    d = np.sqrt(d2_exact(x, x))
    np.fill_diagonal(d, np.inf)
    s = np.sort(d, axis=1)[:, :p].mean(1)
    return np.where(s > 0, s, s[s > 0].min())


def affinity_ref(x, sigma):
    w = np.exp(-d2_exact(x, x) / np.outer(sigma, sigma))
    np.fill_diagonal(w, 0.0)
    return w


def blobs(seed, k=4, per=60, d=5, spread=1.0, sep=4.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=sep, size=(k, d))
    return np.concatenate([c + spread * rng.normal(size=(per, d)) for c in centres]).astype(np.float32)


def test_sigma_and_dense_affinity(lib):
    x = blobs(3)
    x[7] = x[3]  # duplicates: sigma floor when p = 1
    n, d = x.shape
    for k in (2, 4, 20):
        p = lib.dc_affinity_p(n, k)
        assert p == min(n - 1, max(1, round(n / k**2)))
        s = np.empty(n, np.float32)
        assert lib.dc_affinity_sigma(ptr(x), n, d, p, ptr(s)) == 0
        sr = sigma_ref(x, p)
        np.testing.assert_allclose(s, sr, rtol=1e-5)
        w = np.empty((n, n), np.float32)
        assert lib.dc_affinity_dense(ptr(x), n, d, p, ptr(w)) == 0
        np.testing.assert_allclose(w, affinity_ref(x, sr), rtol=1e-4, atol=1e-7)
        assert np.isfinite(w).all() and (w == w.T).all()


def embedding_gram_ref(w, K):
    """N (U U^T) N for the top-K eigenvectors U of D^-1/2 W D^-1/2."""
    dinv = 1.0 / np.sqrt(w.sum(1))
    s = dinv[:, None] * w * dinv[None, :]
    vals, vecs = np.linalg.eigh(s)
    u = vecs[:, -K:]
    gap = vals[-K] - vals[-K - 1]
    p = u @ u.T
    nrm = 1.0 / np.sqrt(np.diag(p))
    return nrm[:, None] * p * nrm[None, :], gap


def embedding(lib, x, K, mode, m=0):
    n, d = x.shape
    y = np.empty((n, K), np.float32)
    st = lib.dc_spectral_embedding(ptr(x), n, d, K, mode, m, ptr(y))
    assert st == 0, lib.dc_last_error()
    return y


def test_dense_embedding_against_numpy(lib):
    x = blobs(4)
    n, K = x.shape[0], 4
    p = max(1, round(n / K**2))
    ref, gap = embedding_gram_ref(affinity_ref(x, sigma_ref(x, p)), K)
    assert gap > 0.05
    y = embedding(lib, x, K, 1)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(y.astype(np.float64) @ y.T, ref, atol=1e-5)


def test_sparse_embedding_against_numpy(lib):
    x = blobs(5, sep=2.5)
    n, K, m = x.shape[0], 4, 12
    p = max(1, round(n / K**2))
    sr = sigma_ref(x, p)
    ri, _ = knn_ref(x, m, np.arange(n))
    keep = np.zeros((n, n), bool)
    keep[np.repeat(np.arange(n), m), ri.ravel()] = True
    keep |= keep.T
    w = np.where(keep, affinity_ref(x, sr), 0.0)
    ref, gap = embedding_gram_ref(w, K)
    assert gap > 0.01
    y = embedding(lib, x, K, 2, m)
    np.testing.assert_allclose(y.astype(np.float64) @ y.T, ref, atol=1e-4)


def test_embedding_errors(lib):
    x = blobs(6, k=1, per=40)
    n, d = x.shape
    y = np.empty((n, n), np.float32)
    assert lib.dc_spectral_embedding(ptr(x), n, d, 1, 0, 0, ptr(y)) == DC_ERR_K_RANGE
    assert lib.dc_spectral_embedding(ptr(x), n, d, n + 1, 0, 0, ptr(y)) == DC_ERR_K_RANGE
    assert lib.dc_spectral_embedding(ptr(x), n, d, 2, 2, n, ptr(y)) == DC_ERR_INVALID_ARG
    far = np.concatenate([x, x + 1e4, x + 2e4]).astype(np.float32)
    assert lib.dc_spectral_embedding(ptr(far), 3 * n, d, 2, 2, 5, ptr(y)) == DC_ERR_DEGENERATE
    assert b"3 connected components" in lib.dc_last_error()
    same = np.ones((10, 3), np.float32)
    assert lib.dc_spectral_embedding(ptr(same), 10, 3, 2, 1, 0, ptr(y)) == DC_ERR_DEGENERATE


# ---- the spectral pipeline of the solver with a PCA projection --------------

def solver_lib(cdll):
    vp, i64, f32p = C.c_void_p, C.c_int64, C.POINTER(C.c_float)
    i64p, st = C.POINTER(C.c_int64), C.c_int
    return declare(cdll, {
        "dc_dataset_create": (st, [C.POINTER(vp), f32p, i64, i64, C.c_int]),
        "dc_dataset_free": (None, [vp]),
        "dc_solver_create": (st, [C.POINTER(vp), C.c_char_p]),
        "dc_solver_free": (None, [vp]),
        "dc_solver_set": (st, [vp, C.c_char_p, C.c_double]),
        "dc_solver_fit": (st, [vp, vp]),
        "dc_solver_output": (st, [vp, C.c_char_p, f32p, i64, i64p, i64p]),
        "dc_solver_stat": (st, [vp, C.c_char_p, C.POINTER(C.c_double)]),
    })


def njw_embedding(lib, x, k, **params):
    """(embedding, stats) of the "njw" solver with the given parameters."""
    s, ds = C.c_void_p(), C.c_void_p()
    assert lib.dc_solver_create(C.byref(s), b"njw") == 0
    assert lib.dc_dataset_create(C.byref(ds), ptr(x), x.shape[0], x.shape[1], 1) == 0
    try:
        for name, value in dict(k=k, **params).items():
            assert lib.dc_solver_set(s, name.encode(), value) == 0, lib.dc_last_error()
        assert lib.dc_solver_fit(s, ds) == 0, lib.dc_last_error()
        y = np.empty((x.shape[0], k), np.float32)
        rows, cols = C.c_int64(), C.c_int64()
        assert lib.dc_solver_output(s, b"embedding", ptr(y), y.size, C.byref(rows),
                                    C.byref(cols)) == 0
        stats = {}
        for name in ("pca_dims", "p", "p_sigma"):
            v = C.c_double()
            assert lib.dc_solver_stat(s, name.encode(), C.byref(v)) == 0
            stats[name] = v.value
        return y, stats
    finally:
        lib.dc_dataset_free(ds)
        lib.dc_solver_free(s)


def test_pca_sparse_embedding_against_numpy(cdll):
    # Four groups in a 6-dimensional latent space with distinct spreads, mapped
    # isometrically into 150 dimensions (+ tiny noise, an offset): the top 6
    # principal components are well separated from the rest, so numpy's SVD
    # and the library's covariance eigenvectors span the same subspace.
    lib = solver_lib(cdll)
    rng = np.random.default_rng(7)
    n_per, k, d, q, m = 60, 4, 150, 6, 12
    centres = rng.normal(scale=3.0, size=(k, q)) * np.array([3, 2.5, 2, 1.5, 1, 0.7])
    lat = np.concatenate([c + rng.normal(size=(n_per, q)) * np.linspace(1.5, 0.5, q)
                          for c in centres])
    basis, _ = np.linalg.qr(rng.normal(size=(d, q)))
    x = (lat @ basis.T + 1e-4 * rng.normal(size=(k * n_per, d)) + 2.0).astype(np.float32)
    n = x.shape[0]

    xc = x.astype(np.float64) - x.astype(np.float64).mean(0)
    z = xc @ np.linalg.svd(xc, full_matrices=False)[2][:q].T
    p = max(1, round(n / k**2))
    sr = sigma_ref(z, p)
    ri, _ = knn_ref(z, m, np.arange(n))
    keep = np.zeros((n, n), bool)
    keep[np.repeat(np.arange(n), m), ri.ravel()] = True
    keep |= keep.T
    ref, gap = embedding_gram_ref(np.where(keep, affinity_ref(z, sr), 0.0), k)
    assert gap > 0.01

    y, stats = njw_embedding(lib, x, k, affinity=2, m=m, pca=q, sigma_sample=-1)
    assert stats["pca_dims"] == q and stats["p_sigma"] == p
    np.testing.assert_allclose(y.astype(np.float64) @ y.T, ref, atol=1e-4)

    # Auto (pca = 0) projects 150 > 128 features onto at most the 6 that
    # carry 95 % of the variance; pca = -1 keeps the raw features.
    assert 1 <= njw_embedding(lib, x, k, affinity=2, m=m)[1]["pca_dims"] <= q
    assert njw_embedding(lib, x, k, affinity=2, m=m, pca=-1)[1]["pca_dims"] == 0
