"""KMeans, NJW, SCDBAS under scikit-learn conventions, with and without it, and CLI parity."""
import os
import pickle
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from conftest import rings  # noqa: E402
from conftest import spread_blobs as blobs  # noqa: E402

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

CLI = os.environ.get("DEEPCLUST_CLI")
needs_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")


# --------------------------------------------------------------------------
# Estimators


@pytest.mark.parametrize("cls", [dc.KMeans, dc.NJW, dc.SCDBAS])
def test_estimator_defaults_equal_the_library_defaults(cls):
    est = cls()
    with dc.Solver(cls._method) as s:
        for arg, cname in cls._params.items():
            value = getattr(est, arg)
            if arg in ("n_clusters", "random_state"):
                continue
            if value is None:  # "library default": the C default is its auto value 0
                assert s.get(cname) == 0, arg
            else:
                assert s.get(cname) == value, arg
        assert set(cls._params.values()) == set(s.param_names())


@pytest.mark.parametrize("cls", [dc.KMeans, dc.NJW, dc.SCDBAS])
def test_default_n_clusters_is_passed(cls):
    """n_clusters=8 is the Python default but not the library's (0, not
    set): it must reach the library whether left default or given."""
    x, _ = blobs(n_per=15, k=8)
    for est in (cls(random_state=0), cls(n_clusters=8, random_state=0)):
        assert len(np.unique(est.fit(x).labels_)) == 8
        assert est.cluster_centers_.shape[0] == 8


@pytest.mark.parametrize("cls, args, arg, kind", [
    (dc.KMeans, dict(n_clusters="3"), "n_clusters", TypeError),
    (dc.NJW, dict(n_clusters="3"), "n_clusters", TypeError),
    (dc.SCDBAS, dict(n_clusters=np.str_("3")), "n_clusters", TypeError),
    (dc.KMeans, dict(n_clusters=True), "n_clusters", TypeError),
    (dc.NJW, dict(n_clusters=np.bool_(True)), "n_clusters", TypeError),
    (dc.KMeans, dict(n_clusters=3, n_init="5"), "n_init", TypeError),
    (dc.KMeans, dict(n_clusters=3, tol="0.1"), "tol", TypeError),
    (dc.KMeans, dict(n_clusters=3, max_iter=None), None, None),  # None: the library default
    (dc.KMeans, dict(n_clusters=2.5), "n_clusters", ValueError),
    (dc.NJW, dict(n_clusters=3, n_neighbors=5.5), "n_neighbors", ValueError),
    (dc.NJW, dict(n_clusters=3, affinity=1), "affinity", TypeError),
    (dc.SCDBAS, dict(n_clusters=3, record_undamped="yes"), "record_undamped", TypeError),
    (dc.SCDBAS, dict(n_clusters=3, record_undamped=1), "record_undamped", TypeError),
    (dc.SCDBAS, dict(n_clusters=3, dbas_eta=False), "dbas_eta", TypeError),
])
def test_parameter_types_are_checked_before_the_fit(cls, args, arg, kind):
    """A str or bool where a number is expected (which Solver.set would
    parse or read as 0/1), or a fraction for an integer, fails before any
    work with an error naming the estimator's argument."""
    x, _ = blobs(n_per=10)
    calls = []
    est = cls(random_state=0, **args)
    if kind is None:
        est.fit(x, progress=lambda *a: calls.append(a))
        assert calls and hasattr(est, "labels_")
        return
    with pytest.raises(kind) as e:
        est.fit(x, progress=lambda *a: calls.append(a))
    assert arg in str(e.value) and not calls and not hasattr(est, "labels_")
    if kind is TypeError:
        assert str(e.value).startswith("%s: %s takes " % (cls.__name__, arg))


def test_numbers_of_every_kind_are_accepted():
    x, _ = blobs()
    want = dc.KMeans(3, random_state=0).fit(x).labels_
    for k, n_init, tol in ((np.int64(3), np.int32(10), np.float32(1e-4)), (3.0, 10.0, 1e-4)):
        got = dc.KMeans(k, n_init=n_init, tol=tol, random_state=0).fit(x).labels_
        np.testing.assert_array_equal(got, want)
    est = dc.SCDBAS(3, record_undamped=np.bool_(True), random_state=0).fit(x)
    assert hasattr(est, "fitness_trace_undamped_")


@pytest.mark.parametrize("cls", [dc.KMeans, dc.NJW, dc.SCDBAS])
def test_estimators_cluster_blobs(cls):
    x, y = blobs()
    est = cls(n_clusters=3, random_state=2)
    assert est.fit(x) is est
    assert est.labels_.shape == y.shape and est.n_features_in_ == x.shape[1]
    assert dc.metrics.acc(y, est.labels_) == 1.0
    np.testing.assert_array_equal(est.fit_predict(x), est.labels_)
    assert est.cluster_centers_.shape[0] == 3


def test_kmeans_attributes_match_numpy():
    x, y = blobs()
    km = dc.KMeans(3, random_state=1).fit(x)
    centres = np.stack([x[km.labels_ == j].mean(0) for j in range(3)])
    np.testing.assert_allclose(km.cluster_centers_, centres, atol=1e-4)
    inertia = ((x - km.cluster_centers_[km.labels_]) ** 2).sum()
    assert km.inertia_ == pytest.approx(inertia, rel=1e-4)
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    new = km.cluster_centers_ + 0.01
    np.testing.assert_array_equal(km.predict(new), [0, 1, 2])


def test_spectral_estimators_separate_rings_kmeans_does_not():
    x, y = rings()
    assert dc.metrics.acc(y, dc.KMeans(2).fit_predict(x)) < 0.8
    assert dc.metrics.acc(y, dc.NJW(2).fit_predict(x)) == 1.0
    sc = dc.SCDBAS(2, record_undamped=True).fit(x)
    assert dc.metrics.acc(y, sc.labels_) == 1.0
    assert sc.embedding_.shape == (len(y), 2)
    assert sc.fitness_trace_.ndim == 1 and len(sc.fitness_trace_) == sc.n_iter_ + 1 == 101
    assert len(sc.fitness_trace_undamped_) == 101
    assert sc.fitness_ <= sc.fitness_trace_[-1] + 1e-6  # the polish only improves


def test_random_state_as_scikit_learn():
    x, _ = blobs(n_per=30, k=6, spread=3.0)

    def fit(rs):
        est = dc.KMeans(6, n_init=1, random_state=rs).fit(x)
        return est.seed_, est.labels_

    # an int is the seed; seed_ records what a fit used
    seed, a = fit(7)
    assert seed == 7 and np.array_equal(a, fit(7)[1])
    # None: fresh entropy at every fit; seed_ reproduces the fit
    seeds = {fit(None)[0] for _ in range(5)}
    assert len(seeds) == 5
    s, labels = fit(None)
    np.testing.assert_array_equal(fit(s)[1], labels)
    # RandomState and Generator give a seed and advance
    rs = np.random.RandomState(3)
    s1, s2 = fit(rs)[0], fit(rs)[0]
    assert s1 != s2 and s1 == fit(np.random.RandomState(3))[0]
    assert s1 == np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    g1, g2 = fit(np.random.default_rng(5))[0], fit(np.random.default_rng(5))[0]
    assert g1 == g2
    with pytest.raises(TypeError, match="random_state"):
        fit(True)
    with pytest.raises(dc.InvalidArgumentError, match="random_state=-1"):
        fit(-1)


def test_get_params_set_params_clone_and_pickle():
    est = dc.SCDBAS(4, dbas_damp=0.3, random_state=5)
    p = est.get_params()
    assert p["n_clusters"] == 4 and p["dbas_damp"] == 0.3 and p["random_state"] == 5
    assert set(p) == set(dc.SCDBAS._params) | {"n_jobs", "verbose"}  # the Python-only two
    assert est.set_params(n_clusters=2, affinity="dense") is est
    assert est.n_clusters == 2 and est.affinity == "dense"
    with pytest.raises(ValueError):
        est.set_params(bogus=1)
    x, _ = blobs(n_per=20, k=2)
    km = dc.KMeans(2).fit(x)
    km2 = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(km2.labels_, km.labels_)
    km.set_params(n_clusters=3)
    assert len(np.unique(km.fit(x).labels_)) == 3


@needs_sklearn
def test_sklearn_clone_and_pipeline():
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    x, y = blobs()
    x = x * np.array([1, 100, 0.01, 1], np.float32)  # scales that matter
    est = dc.SCDBAS(3, random_state=2, n_neighbors=12)
    est.fit(x)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "labels_")
    pipe = Pipeline([("scale", StandardScaler()), ("cluster", dc.SCDBAS(3, random_state=2))])
    labels = pipe.fit_predict(x)
    direct = dc.SCDBAS(3, random_state=2).fit_predict(StandardScaler().fit_transform(x))
    np.testing.assert_array_equal(labels, direct)
    assert dc.metrics.acc(y, labels) == 1.0
    pipe.set_params(cluster__n_clusters=2, cluster__affinity="dense")
    assert len(np.unique(pipe.fit(x)[-1].labels_)) == 2


def test_estimators_work_without_sklearn():
    code = r"""
import sys
sys.modules["sklearn"] = None  # import sklearn now fails
import numpy as np
import deepclust as dc
assert not dc.estimators.HAVE_SKLEARN
x = np.array([[0, 0], [0, 1], [9, 9], [9, 10]], np.float32)
est = dc.SCDBAS(2, affinity="dense", random_state=3)
assert est.get_params()["random_state"] == 3 and est.set_params(n_clusters=2) is est
assert repr(est).startswith("SCDBAS(") and "random_state=3" in repr(est)
try:
    est.set_params(nope=1)
    raise SystemExit("set_params accepted an unknown parameter")
except ValueError:
    pass
labels = est.fit_predict(x)
assert labels[0] == labels[1] != labels[2] == labels[3]
try:
    dc.KMeans(2).predict(x)
    raise SystemExit("predict before fit did not raise")
except dc.NotFittedError as e:
    assert isinstance(e, ValueError) and isinstance(e, AttributeError)
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


# --------------------------------------------------------------------------
# Parity with the CLI


@pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")
@pytest.mark.parametrize("est, args", [
    (dc.KMeans(4, random_state=11), ["--method", "kmeans", "--seed", "11"]),
    (dc.NJW(4, random_state=3, n_neighbors=12),
     ["--method", "njw", "--seed", "3", "--m", "12"]),
    (dc.SCDBAS(4, random_state=7, dbas_damp=0.3, dbas_iters=40, dbas_mode="paper"),
     ["--method", "scdbas", "--seed", "7", "--dbas-damp", "0.3", "--dbas-iters", "40",
      "--dbas-mode", "paper"]),
])
def test_labels_equal_the_cli_for_the_same_seed(est, args, tmp_path):
    x, _ = blobs(n_per=30, k=5, spread=2.0, seed=3)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "labels.npy"
    p = subprocess.run([CLI, "cluster", "--data", str(tmp_path / "x.npy"), "--k", "4",
                        "--quiet", "--out", str(out), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    np.testing.assert_array_equal(est.fit_predict(x), np.load(out))
