"""Errors: exception classes, details in Python terms, per-thread error details."""
import os
import pickle
import warnings

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


def test_overflow_is_a_value_error_even_when_warnings_are_errors():
    """The overflow check must not leak numpy's RuntimeWarning (Inf - Inf
    in the sum): with warnings as errors (pytest -W error) or
    np.seterr(all="raise") the caller would get that instead."""
    x = np.array([[1e39], [-1e39], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"X\[0, 0\] = 1e\+39 overflows float32"):
            dc.KMeans(2).fit(x)
        with np.errstate(all="raise"):
            with pytest.raises(ValueError, match="overflows float32"):
                dc.KMeans(2).fit(x)


def test_values_that_float32_makes_zero_are_rejected():
    x = np.array([[1e-50], [1.1e-50], [1e-49], [1.1e-49]])  # two clusters in float64
    for make in (lambda a: a, lambda a: a.astype(object), np.asfortranarray):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=r"X\[0, 0\] = 1e-50 underflows float32"):
                dc.KMeans(2).fit(make(x))
    with pytest.raises(ValueError, match=r"X\[1, 2\] = -3e-46 underflows"):
        dc.Dataset(np.array([[0.0, 1.0, 2.0], [0.0, 1.0, -3e-46]]))
    # zeros stay zeros; tiny values float32 keeps (subnormal) are accepted
    got = dc.Dataset(np.array([[0.0, 1e-40], [-0.0, 1.0]])).to_numpy()
    assert got[0, 0] == 0 and got[0, 1] > 0 and got[1, 1] == 1


def test_file_errors_are_os_errors(tmp_path):
    missing = str(tmp_path / "missing")
    for load in (dc.Dataset.load, dc.Model.load):
        try:
            load(missing + ".csv")
        except OSError as e:
            assert isinstance(e, dc.FileIOError) and isinstance(e, dc.DeepClustError)
            assert "missing.csv" in str(e) and e.detail == str(e)
            assert e.errno is None and e.code == dc.Status.ERR_IO
            again = pickle.loads(pickle.dumps(e))
            assert type(again) is dc.FileIOError and again.detail == e.detail
            assert again.function == e.function and again.errno is None
        else:
            pytest.fail("%s of a missing file did not raise" % load.__qualname__)


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


@pytest.mark.parametrize("est, message", [
    (dc.KMeans(2 ** 31), "parameter 'n_clusters' = 2.14748e+09 is outside [1, 1e+09]"),
    (dc.KMeans(10 ** 30), "parameter 'n_clusters' = %d is outside [1, 1e+09]" % 10 ** 30),
    (dc.KMeans(3, random_state=2 ** 53 + 1), "parameter 'random_state' = %d is outside"
     % (2 ** 53 + 1)),
    (dc.KMeans(3, random_state=-1), "parameter 'random_state' = -1 is outside"),
    (dc.NJW(3, n_neighbors=-1), "parameter 'n_neighbors' = -1 is outside"),
    (dc.IDEC(3, batch_size=0), "parameter 'batch_size' = 0 is outside"),
    (dc.IDEC(3, lam=-1), "parameter 'lam' = -1 is outside"),
])
def test_parameter_range_errors_name_the_estimator_argument(est, message):
    x, _ = blobs()
    with pytest.raises(dc.InvalidArgumentError) as e:
        est.fit(x)
    assert str(e.value).startswith(message), str(e.value)
    for cname in ("'k'", "'seed'", "'m'", "'batch'", "'lambda'"):
        assert cname not in str(e.value)


def test_neighbour_counts_are_not_renamed_n_clusters():
    """The library calls a neighbour count k too: only the cluster count
    becomes n_clusters."""
    from deepclust._estimators_base import _renamed
    names = {"k": "n_clusters", "m": "n_neighbors"}
    for same in ("edcwrn: parameter neighbors_k: neighbours: k = 50 must be in [1, n - 1] "
                 "with n = 30 samples",
                 "kNN: k = 500 neighbours asked, need 1 <= k <= 29 (number of other points)",
                 "neighbours: k = 50 neighbours asked, need 1 <= k <= 29",
                 "batch neighbours: k = 0 must be >= 1",
                 "edcwrn: parameter neighbors_k: neighbours: 50 asked, need 1 to n - 1"):
        assert _renamed(same, names) == same
    assert _renamed("kmeans: k = 1, need k >= 2", names) == \
        "kmeans: n_clusters = 1, need n_clusters >= 2"
    assert _renamed("spectral embedding: the affinity graph has 4 connected components, more "
                    "than k = 3; raise the graph's neighbours (parameter 'm')", names) == (
        "spectral embedding: the affinity graph has 4 connected components, more than "
        "n_clusters = 3; raise the graph's neighbours (parameter 'n_neighbors')")
    assert _renamed("njw: m = 500 neighbours, need m < n = 30", names) == \
        "njw: n_neighbors = 500 neighbours, need n_neighbors < n = 30"
    x = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(dc.InvalidArgumentError) as e:
        dc.EDCWRN(3, neighbors_k=50, hidden1=8, hidden2=0, hidden3=0, embed_dim=2,
                  pretrain_steps=10, max_iter=10).fit(x)
    assert "neighbors_k" in str(e.value) and "50" in str(e.value)
    assert "n_clusters" not in str(e.value)


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
