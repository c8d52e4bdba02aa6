"""The estimators as scikit-learn users use them (issue 12 items 3-6):
transform / fit_transform / score, predict where it can be defined,
pre-trained autoencoders through clone and GridSearchCV, result dtypes.
Deep networks are tiny."""
import os

import pytest

np = pytest.importorskip("numpy")
sklearn = pytest.importorskip("sklearn")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

from sklearn.base import clone  # noqa: E402
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

import deepclust as dc  # noqa: E402
from conftest import SMALL_DEEP as SMALL  # noqa: E402
from conftest import unit_blobs as blobs  # noqa: E402


@pytest.fixture(scope="module")
def idec():
    x, _ = blobs()
    return dc.IDEC(3, random_state=1, **SMALL).fit(x)


# -- item 3: transform, fit_transform, score, predict


@pytest.mark.parametrize("cls", [dc.EDCWRN, dc.IDEC, dc.DEC])
def test_deep_transform_is_the_embedding(cls):
    x, _ = blobs()
    est = cls(3, random_state=2, **SMALL)
    z = est.fit_transform(x)
    np.testing.assert_array_equal(z, est.embedding_)
    np.testing.assert_array_equal(est.transform(x), est.embedding_)
    assert z.shape == (len(x), 3) and z.dtype == np.float32


def test_deep_estimator_is_a_pipeline_step(idec):
    x, y = blobs()
    pipe = Pipeline([("embed", clone(idec)), ("cluster", dc.KMeans(3, random_state=0))])
    labels = pipe.fit_predict(x)
    z = pipe.named_steps["embed"].embedding_
    np.testing.assert_array_equal(labels, dc.KMeans(3, random_state=0).fit_predict(z))
    assert dc.metrics.acc(y, labels) == 1.0


def test_kmeans_score_is_sklearns_objective():
    x, _ = blobs()
    new, _ = blobs(n_per=9, seed=4)
    km = dc.KMeans(3, random_state=0).fit(x)
    assert km.score(x) == pytest.approx(-km.inertia_, rel=1e-6)
    sk = SkKMeans(3, n_init=1, init=km.cluster_centers_.astype(np.float64), max_iter=1)
    sk.fit(x.astype(np.float64))
    sk.cluster_centers_ = km.cluster_centers_.astype(np.float64)  # the same centres
    assert km.score(new) == pytest.approx(sk.score(new.astype(np.float64)), rel=1e-6)


def test_deep_score_is_minus_the_partitions_within_cluster_ss(idec):
    x, y = blobs()
    labels = idec.predict(x)
    x64 = x.astype(np.float64)
    want = -sum(((x64[labels == j] - x64[labels == j].mean(0)) ** 2).sum() for j in range(3))
    assert idec.score(x) == pytest.approx(want, rel=1e-9)
    # the true partition is the best one: a model merging two blobs scores lower
    merged = dc.IDEC(2, random_state=1, **SMALL).fit(x)
    assert merged.score(x) < idec.score(x)


def test_grid_search_without_a_scorer():
    x, _ = blobs()
    gs = GridSearchCV(dc.KMeans(random_state=0), {"n_clusters": [1, 3]}, cv=3).fit(x)
    assert gs.best_params_ == {"n_clusters": 3}  # -SSE prefers the real clusters over one


@pytest.mark.parametrize("cls", [dc.NJW, dc.SCDBAS])
def test_spectral_estimators_explain_why_they_cannot_predict(cls):
    x, _ = blobs()
    est = cls(3, random_state=0).fit(x)
    assert not hasattr(est, "predict")  # scikit-learn tools see no predict
    with pytest.raises(AttributeError, match="use fit_predict"):
        est.predict(x)
    np.testing.assert_array_equal(cls(3, random_state=0).fit_predict(x), est.labels_)


# -- item 5: a pre-trained autoencoder through clone and GridSearchCV


def test_pretrained_estimator_survives_clone_and_grid_search(idec):
    x, _ = blobs()
    est = dc.IDEC(3, random_state=1, pretrained=idec, **SMALL)
    c = clone(est)
    assert isinstance(c.pretrained, dc.Model) and c.pretrained.is_autoencoder
    c.fit(x)
    assert c.stats_["seconds_pretrain"] == 0  # it started from the autoencoder
    np.testing.assert_array_equal(c.labels_, idec.labels_)  # same seed, same autoencoder
    gs = GridSearchCV(est, {"n_clusters": [2, 3], "lam": [0.1]}, cv=2).fit(x)
    assert gs.best_estimator_.stats_["seconds_pretrain"] == 0
    assert gs.best_params_["n_clusters"] == 3
    unfitted = dc.IDEC(3, pretrained=dc.IDEC(3))
    assert isinstance(clone(unfitted).pretrained, dc.IDEC)  # nothing to keep yet


# -- item 6: results in the input's float dtype


@pytest.mark.parametrize("make", [lambda: dc.KMeans(3, random_state=0),
                                  lambda: dc.NJW(3, random_state=0),
                                  lambda: dc.IDEC(3, random_state=0, **SMALL)],
                         ids=["KMeans", "NJW", "IDEC"])
def test_results_follow_the_input_dtype(make):
    x, _ = blobs()
    e32, e64, elist = make().fit(x), make().fit(x.astype(np.float64)), make().fit(x.tolist())
    assert e32.cluster_centers_.dtype == np.float32
    assert e64.cluster_centers_.dtype == np.float64 == elist.cluster_centers_.dtype
    np.testing.assert_array_equal(e64.cluster_centers_, e32.cluster_centers_)  # float32 maths
    if hasattr(e32, "embedding_"):
        assert e32.embedding_.dtype == np.float32 and e64.embedding_.dtype == np.float64
    if hasattr(e32, "transform"):
        assert e32.transform(x.astype(np.float64)).dtype == np.float64
        assert e64.transform(x).dtype == np.float32


# -- item 10: verbose and n_jobs


def test_n_jobs_applies_to_the_estimators_calls_only():
    x, _ = blobs()
    dc.set_threads(1)
    seen = []
    km = dc.KMeans(3, random_state=0, n_jobs=2)
    km.fit(x, progress=lambda *a: seen.append(dc.get_threads()))
    assert seen and set(seen) == {2}  # during the fit
    assert dc.get_threads() == 1  # restored after it
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    assert dc.get_threads() == 1
    seen.clear()
    dc.KMeans(3, random_state=0).fit(x, progress=lambda *a: seen.append(dc.get_threads()))
    assert set(seen) == {1}  # another estimator does not inherit it
    import os as _os
    seen.clear()
    dc.KMeans(3, n_jobs=-1).fit(x, progress=lambda *a: seen.append(dc.get_threads()))
    assert set(seen) == {_os.cpu_count()}
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs"):
            dc.KMeans(3, n_jobs=bad).fit(x)
    assert dc.get_threads() == 1


def test_verbose_reports_progress_on_stderr(capfd, idec):
    x, _ = blobs()
    calls = []
    est = clone(idec).set_params(verbose=2)
    est.fit(x, progress=lambda *a: calls.append(a))
    err = capfd.readouterr().err.splitlines()
    assert err and all(line.startswith("[IDEC] ") for line in err)
    assert any(line.startswith("[IDEC] cluster 30/30 value ") for line in err)
    assert len(err) == len(calls)  # verbose=2: every report, and the caller's callable too
    clone(idec).set_params(verbose=1).fit(x)
    some = capfd.readouterr().err.splitlines()
    assert 0 < len(some) < len(err)  # verbose=1: throttled, phase ends kept
    assert any(line.startswith("[IDEC] pretrain 10/10 ") for line in some)
    clone(idec).fit(x)
    assert capfd.readouterr().err == ""


# -- items 16, 17: more components than clusters, fewer distinct points than clusters


def far_blobs(k=4, per=30, d=3, seed=2):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), per)
    x = 100.0 * np.arange(k)[y][:, None] + rng.normal(size=(k * per, d))
    return np.ascontiguousarray(x, dtype=np.float32), y


@pytest.mark.parametrize("cls", [dc.NJW, dc.SCDBAS])
def test_more_components_than_clusters_regularises_with_a_warning(cls):
    x, y = far_blobs()  # 4 components of the 10-neighbour graph
    for k in (2, 3):
        with pytest.warns(UserWarning, match="4 connected components, more than n_clusters = %d"
                          % k) as w:
            est = cls(k, random_state=0, affinity="sparse").fit(x)
        assert "n_neighbors" in str(w[0].message) and est.stats_["tau"] > 0
        assert len(np.unique(est.labels_)) == k
        for blob in range(4):  # a component is never split
            assert len(np.unique(est.labels_[y == blob])) == 1
    with pytest.raises(dc.DegenerateDataError) as e:
        cls(3, disconnected="error").fit(x)
    msg = str(e.value)
    assert "4 connected components" in msg and "'n_neighbors'" in msg and "'affinity'" in msg
    assert "'m'" not in msg
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = cls(4, random_state=0).fit(x)  # as many clusters as components: no warning
    assert est.stats_["tau"] == 0 and dc.metrics.acc(y, est.labels_) == 1.0


def test_kmeans_with_fewer_distinct_points_than_clusters():
    x = np.tile(np.array([[1.0, 2.0]], np.float32), (50, 1))
    with pytest.warns(dc.estimators.ConvergenceWarning,
                      match=r"Number of distinct clusters \(1\) found smaller than n_clusters \(3\)"):
        km = dc.KMeans(3, random_state=0).fit(x)
    np.testing.assert_array_equal(km.labels_, np.zeros(50))
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    assert km.inertia_ == 0.0
    two = np.concatenate([x, x + 1.0])
    with pytest.warns(dc.estimators.ConvergenceWarning, match=r"\(2\) found smaller"):
        km = dc.KMeans(3, random_state=0).fit(two)
    np.testing.assert_array_equal(km.predict(two), km.labels_)
    assert len(np.unique(km.labels_)) == 2
