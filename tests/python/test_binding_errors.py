"""Errors: exception classes, details in Python terms, per-thread error details."""
import os
import pickle

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from conftest import spread_blobs as blobs  # noqa: E402


# --------------------------------------------------------------------------
# Errors


def test_nan_raises_nonfinite_with_row_and_column():
    x, _ = blobs()
    x[7, 2] = np.nan
    with pytest.raises(dc.NonFiniteError) as e:
        dc.SCDBAS(3).fit(x)
    assert isinstance(e.value, ValueError) and isinstance(e.value, dc.DeepClustError)
    assert e.value.code == dc.Status.ERR_NONFINITE == -4
    assert "row 7" in e.value.detail and "column 2" in e.value.detail
    assert e.value.status_name == "DC_ERR_NONFINITE"
    # the message is the detail alone, in Python terms
    assert str(e.value) == e.value.detail == "X contains NaN at row 7, column 2"


def test_overflowing_float64_is_rejected_not_clipped():
    x, _ = blobs()
    x64 = x.astype(np.float64)
    x64[1, 0] = 1e300
    with pytest.raises(ValueError, match=r"X\[1, 0\] = 1e\+300 overflows float32") as e:
        dc.KMeans(3).fit(x64)
    assert "Inf" not in str(e.value)
    x64[1, 0] = np.inf  # a real Inf is the library's NonFiniteError
    with pytest.raises(dc.NonFiniteError, match="row 1"):
        dc.KMeans(3).fit(x64)


def test_object_arrays_of_numbers_are_numbers():
    x, _ = blobs()
    a = dc.KMeans(3, random_state=0).fit(x.astype(object)).labels_
    np.testing.assert_array_equal(a, dc.KMeans(3, random_state=0).fit(x).labels_)


@pytest.mark.parametrize("bad, exc, text", [
    (np.zeros(10, np.float32), ValueError, "got a 1D array of shape .10,.. Reshape your data"),
    (np.zeros((2, 3, 4), np.float32), ValueError, "dim 3"),
    (np.array([["a", "b"]]), ValueError, "text .dtype <U1., not numbers"),
    (np.array([[1 + 2j, 3]]), ValueError, "Complex data not supported"),
    (np.array([[1.0, {"a": 1}]], dtype=object), TypeError, "dict"),
    (np.zeros((0, 3), np.float32), ValueError, r"0 sample\(s\) \(shape=\(0, 3\)\)"),
    (np.zeros((4, 0), np.float32), ValueError, r"0 feature\(s\) \(shape=\(4, 0\)\)"),
])
def test_bad_shapes_and_dtypes(bad, exc, text):
    with pytest.raises(exc, match=text):
        dc.KMeans(2).fit(bad)


@pytest.mark.parametrize("cls", [dc.NJW, dc.SCDBAS])
def test_spectral_methods_with_one_cluster(cls):
    x, _ = blobs()
    est = cls(1).fit(x)
    np.testing.assert_array_equal(est.labels_, np.zeros(len(x)))
    np.testing.assert_array_equal(est.embedding_, np.ones((len(x), 1)))
    assert "components" not in est.stats_  # no graph was built
    np.testing.assert_array_equal(cls(1).fit(x[:1]).labels_, [0])  # a single sample too


def test_k_larger_than_n():
    x, _ = blobs(n_per=2)
    for est in (dc.KMeans(7), dc.NJW(7), dc.SCDBAS(7)):
        with pytest.raises(dc.KRangeError) as e:
            est.fit(x)
        assert e.value.code == dc.Status.ERR_K_RANGE
        assert "larger than the number of samples n = 6" in str(e.value)
        assert not hasattr(est, "labels_")


def test_bad_parameter_values_name_the_estimator_argument():
    x, _ = blobs()
    with pytest.raises(dc.InvalidArgumentError, match="dbas_damp=1.5"):
        dc.SCDBAS(3, dbas_damp=1.5).fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="not one of"):
        dc.NJW(3, affinity="fancy").fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="whole number"):
        dc.KMeans(2.5).fit(x)
    with pytest.raises(TypeError, match="random_state"):
        dc.KMeans(3, random_state="0").fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="n_clusters=0"):
        dc.KMeans(0).fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="n_neighbors = 500 neighbours") as e:
        dc.NJW(3, n_neighbors=500).fit(x)
    assert str(e.value).startswith("njw: n_neighbors = 500")  # one prefix: the method
    with pytest.raises(dc.UnknownNameError, match="has no parameter 'bogus'"):
        dc.Solver("kmeans", bogus=1)
    with pytest.raises(dc.UnknownNameError, match="unknown method"):
        dc.Solver("nope")


def test_predict_errors():
    x, _ = blobs()
    with pytest.raises(dc.NotFittedError):
        dc.KMeans(3).predict(x)
    km = dc.KMeans(3).fit(x)
    with pytest.raises(dc.ShapeError, match="X has 2 features, but KMeans is expecting 4"):
        km.predict(x[:, :2])
    assert not hasattr(dc.NJW(), "predict") and not hasattr(dc.SCDBAS(), "predict")
    with dc.Solver("njw", k=3).fit(x) as s:
        with pytest.raises(dc.UnsupportedError):
            s.predict(x)
    with dc.Solver("kmeans", k=3) as s:
        with pytest.raises(dc.StateError):
            s.labels()


def test_errors_pickle():
    e = dc.KRangeError(-10, "dc_solver_fit", "k too large")
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is dc.KRangeError and e2.detail == "k too large" and e2.code == -10


def test_threads_run_concurrently_with_thread_local_error_details():
    import threading
    x, _ = blobs()
    bad = x.copy()
    bad[5, 1] = np.inf
    expected = [dc.SCDBAS(3, random_state=s).fit(x).labels_ for s in range(4)]
    results, errors = {}, []

    def good(seed):
        try:
            for _ in range(3):
                results[seed] = dc.SCDBAS(3, random_state=seed).fit(x).labels_
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def failing():
        for _ in range(20):
            try:
                dc.KMeans(3).fit(bad)
            except dc.NonFiniteError as e:
                if "row 5, column 1" not in e.detail:
                    errors.append(e)
            try:
                dc.KMeans(500).fit(x)
            except dc.KRangeError as e:
                if "n_clusters = 500" not in e.detail:
                    errors.append(e)

    threads = [threading.Thread(target=good, args=(s,)) for s in range(4)]
    threads += [threading.Thread(target=failing) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for s in range(4):
        np.testing.assert_array_equal(results[s], expected[s])
