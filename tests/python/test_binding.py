"""The Python binding (bindings/python/deepclust): prototypes against the
headers, library lookup and version check, status codes, array handling
(no-copy path, conversions, errors), the Solver/Dataset handles, the
estimators (scikit-learn conventions, parity with the CLI) and the metrics
and graph functions against numpy / scikit-learn."""
import gc
import math
import os
import pathlib
import pickle
import re
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from deepclust import _arrays, _lib  # noqa: E402

try:
    from sklearn import metrics as skm
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = ROOT / "include" / "deepclust"
CLI = os.environ.get("DEEPCLUST_CLI")
needs_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")


def blobs(n_per=40, k=3, d=4, seed=0, spread=0.5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(k, d))
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    perm = rng.permutation(len(y))
    return np.ascontiguousarray(x[perm], dtype=np.float32), y[perm]


def rings(n=240, seed=0):
    """Two concentric rings: k-means cannot separate them, spectral methods can."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.where(np.arange(n) < n // 2, 1.0, 4.0) + 0.1 * rng.normal(size=n)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1).astype(np.float32)
    return x, (np.arange(n) >= n // 2).astype(int)


# --------------------------------------------------------------------------
# Headers: version, status codes, prototypes


def header_defines(path):
    return dict(re.findall(r"#define\s+(\w+)\s+(-?\d+)\b", path.read_text()))


def test_version_equals_header_and_library():
    v = header_defines(INCLUDE / "version.h")
    header = "%s.%s.%s" % (v["DC_VERSION_MAJOR"], v["DC_VERSION_MINOR"], v["DC_VERSION_PATCH"])
    assert dc.__version__ == header
    assert dc.library_version() == header
    assert pathlib.Path(dc.library_path()).resolve() == \
        pathlib.Path(os.environ["DEEPCLUST_LIBRARY"]).resolve()


def test_status_codes_match_header():
    text = (INCLUDE / "status.h").read_text()
    header = {name: int(value) for name, value in re.findall(r"\b(DC_\w+)\s*=\s*(-?\d+)", text)}
    assert len(header) == 20
    assert {"DC_" + s.name: int(s) for s in dc.Status} == header
    for status in dc.Status:
        if status != dc.Status.OK:
            cls = _lib.error_class(status)
            assert cls is not dc.DeepClustError and cls.code == status
    assert dc.KRangeError.code == header["DC_ERR_K_RANGE"]


def parse_prototypes():
    """{name: number of parameters} of every DC_API function in the headers."""
    protos = {}
    for h in INCLUDE.glob("*.h"):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        for ret_name, params in re.findall(r"DC_API\s+([^;(]+?)\s*\(([^;]*?)\)\s*;", text):
            name = re.findall(r"\w+", ret_name)[-1]
            params = params.strip()
            protos[name] = 0 if params in ("", "void") else params.count(",") + 1
    return protos


def test_every_prototype_matches_a_header_declaration():
    headers = parse_prototypes()
    assert "dc_solver_fit" in headers and headers["dc_solver_output"] == 6
    lib = _lib.lib()
    for name, (restype, argtypes) in _lib._PROTOTYPES.items():
        assert name in headers, name
        assert len(argtypes) == headers[name], name
        if name in _lib._OPTIONAL and not lib.dc_mpi_enabled():
            assert not hasattr(lib, name), name  # deepclust/mpi.h: MPI builds only
            continue
        fn = getattr(lib, name)
        assert fn.argtypes is not None and len(fn.argtypes) == headers[name]


# Public functions the binding deliberately leaves out, with the reason.
UNBOUND = {"dc_set_allocator": "allocator hooks must be C functions installed before any "
                               "allocation, not Python callables"}


def test_every_header_function_is_bound_or_excused():
    headers = parse_prototypes()
    assert {"dc_model_predict", "dc_solver_resume", "dc_load_options_set",
            "dc_dbas_minimize"} <= set(headers)
    assert set(headers) - set(_lib._PROTOTYPES) == set(UNBOUND)


def callback_typedefs():
    """{typedef name: number of parameters} of the function-pointer typedefs."""
    out = {}
    for h in INCLUDE.glob("*.h"):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        for name, params in re.findall(r"typedef\s+[^;(]+\(\s*\*\s*(\w+)\s*\)\s*\(([^;]*?)\)\s*;",
                                       text):
            out[name] = params.count(",") + 1
    return out


def test_callback_types_match_the_header_typedefs():
    typedefs = callback_typedefs()
    ours = {"dc_log_fn": _lib.LOG_FN, "dc_progress_fn": _lib.PROGRESS_FN,
            "dc_fitness_fn": _lib.FITNESS_FN}
    assert set(ours) <= set(typedefs), typedefs
    for name, proto in ours.items():
        assert len(proto._argtypes_) == typedefs[name], name


def test_package_calls_only_declared_functions():
    used = set()
    for py in (ROOT / "bindings" / "python" / "deepclust").glob("*.py"):
        used |= set(re.findall(r"\.(dc_\w+)\(", py.read_text()))
    assert used and used <= set(_lib._PROTOTYPES), used - set(_lib._PROTOTYPES)
    with pytest.raises(AttributeError):  # undeclared symbols are not reachable
        _lib.lib().dc_set_allocator


# --------------------------------------------------------------------------
# Library lookup and version check


def test_version_mismatch_is_refused(monkeypatch):
    path = os.environ["DEEPCLUST_LIBRARY"]
    monkeypatch.setattr(_lib, "__version__", "9.8.7")
    with pytest.raises(dc.LibraryError) as e:
        _lib.open_library(path)
    assert "9.8.7" in str(e.value) and dc.__version__ in str(e.value) and path in str(e.value)
    # the lazy loader refuses it too, and an explicit path has no fallback
    monkeypatch.setattr(_lib, "_loaded", None)
    with pytest.raises(dc.LibraryError, match="9.8.7"):
        dc.Solver("kmeans")


def test_version_number_is_checked_too(monkeypatch):
    lib = _lib.lib()

    class Fake:
        dc_version_string = lib.dc_version_string

        @staticmethod
        def dc_version_number():
            return 999

    with pytest.raises(dc.LibraryError, match="999"):
        _lib.check_version(Fake, "fake.so")


def test_lookup_order(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPCLUST_LIBRARY")
    monkeypatch.setenv("DEEPCLUST_BUILD_DIR", str(tmp_path))
    cands = [c for c, _ in _lib.candidates()]
    assert cands[0] == str(tmp_path / "lib" / "libdeepclust.so")
    assert cands[-1] == str(ROOT / "build" / "lib" / "libdeepclust.so")
    # an explicit library path is the only candidate, and its failure is final
    monkeypatch.setenv("DEEPCLUST_LIBRARY", str(tmp_path / "nope.so"))
    assert _lib.candidates() == [(str(tmp_path / "nope.so"), True)]
    monkeypatch.setattr(_lib, "_loaded", None)
    with pytest.raises(dc.LibraryError, match="nope.so"):
        _lib.lib()


def test_build_dir_lookup_finds_the_library(monkeypatch):
    build = os.environ.get("DEEPCLUST_BUILD_DIR")
    if not build:
        pytest.skip("DEEPCLUST_BUILD_DIR is not set")
    expected = pathlib.Path(os.environ["DEEPCLUST_LIBRARY"]).resolve()
    monkeypatch.delenv("DEEPCLUST_LIBRARY")
    monkeypatch.setattr(_lib, "_loaded", None)
    assert pathlib.Path(_lib.lib().path).resolve() == expected


# --------------------------------------------------------------------------
# Arrays and Dataset


def test_float32_c_contiguous_input_is_borrowed_not_copied():
    x, _ = blobs()
    assert _arrays.as_matrix(x) is x
    with dc.Dataset(x) as ds:
        assert ds._data_address() == x.ctypes.data
    with dc.Dataset(x, copy=True) as ds:
        assert ds._data_address() != x.ctypes.data
        np.testing.assert_array_equal(ds.to_numpy(), x)


@pytest.mark.parametrize("make", [
    lambda x: x.astype(np.float64),
    lambda x: np.asfortranarray(x),
    lambda x: np.repeat(x, 2, axis=1)[:, ::2],
    lambda x: x.astype(">f4"),
    lambda x: x.tolist(),
])
def test_other_layouts_are_converted_once_with_equal_values(make):
    x, _ = blobs()
    other = make(x)
    conv = _arrays.as_matrix(other)
    assert conv.dtype == np.float32 and conv.flags.c_contiguous
    assert not np.shares_memory(conv, x)
    np.testing.assert_array_equal(conv, x)
    a = dc.KMeans(3, random_state=4).fit(x).labels_
    b = dc.KMeans(3, random_state=4).fit(other).labels_
    np.testing.assert_array_equal(a, b)


def test_integer_input_is_accepted():
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.int64)
    labels = dc.KMeans(2).fit_predict(x)
    assert labels[0] == labels[1] != labels[2] == labels[3]


def test_borrowed_array_outlives_its_last_python_reference():
    ds = dc.Dataset(np.arange(12, dtype=np.float64).reshape(4, 3))  # private converted copy
    gc.collect()
    np.testing.assert_array_equal(ds.to_numpy(), np.arange(12).reshape(4, 3))
    ds.close()


def test_dataset_round_trips(tmp_path):
    x, y = blobs(n_per=5)
    ds = dc.Dataset(x, labels=y)
    assert ds.shape == x.shape and len(ds) == x.shape[0]
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.labels.dtype == np.int32
    assert ds.image_shape is None
    ds.set_image_shape(2, 2, 1)
    assert ds.image_shape == (2, 2, 1)
    with pytest.raises(dc.ShapeError):
        ds.set_image_shape(3, 3, 1)
    sub = ds.subset(2, 4)
    np.testing.assert_array_equal(sub.to_numpy(), x[2:6])
    np.testing.assert_array_equal(sub.labels, y[2:6])
    # writers and loader
    dc.write_matrix(tmp_path / "x.npy", x)
    dc.write_labels(tmp_path / "y.npy", y)
    dc.write_labels(tmp_path / "y.csv", y)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), x)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), y)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "y.csv", dtype=int), y)
    with dc.Dataset.load(tmp_path / "x.npy", labels=tmp_path / "y.csv") as loaded:
        np.testing.assert_array_equal(loaded.to_numpy(), x)
        np.testing.assert_array_equal(loaded.labels, y)
    with pytest.raises(dc.FileIOError) as e:
        dc.Dataset.load(tmp_path / "missing.npy")
    assert e.value.code == dc.Status.ERR_IO and "missing.npy" in str(e.value)
    ds.close()
    ds.close()  # idempotent
    assert ds.closed
    with pytest.raises(ValueError, match="closed"):
        ds.shape


def test_normalize_copies_a_borrowed_array_first():
    x, _ = blobs(n_per=5)
    before = x.copy()
    with dc.Dataset(x) as ds:
        ds.normalize("zscore")
        z = ds.to_numpy()
        assert ds._data_address() != x.ctypes.data
    np.testing.assert_array_equal(x, before)
    ref = (before - before.mean(0)) / before.std(0)
    np.testing.assert_allclose(z, ref, atol=1e-5)
    with pytest.raises(dc.UnknownNameError, match="zscore"):
        dc.Dataset(x).normalize("bogus")


def test_handles_are_freed_by_the_garbage_collector():
    ds = dc.Dataset(np.ones((3, 2), np.float32))
    s = dc.Solver("kmeans")
    fins = [ds._finalizer, s._finalizer]
    del ds, s
    gc.collect()
    assert not any(f.alive for f in fins)


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


# --------------------------------------------------------------------------
# Solver


def test_solver_parameters_typed_and_introspected():
    with dc.Solver("scdbas", k=4, seed=3, affinity="dense", record_undamped=True) as s:
        assert s.method == "scdbas"
        assert s.get("k") == 4 and isinstance(s.get("k"), int)
        assert s.get("affinity") == "dense"
        assert s.get("record_undamped") is True
        assert s.get("dbas_damp") == 0.5
        info = s.param_info("affinity")
        assert info.type == "choice" and info.choices == ("auto", "dense", "sparse")
        damp = s.param_info("dbas_damp")
        assert damp.type == "real" and damp.min == 0 and damp.max < 1
        with pytest.raises(dc.InvalidArgumentError):
            s.set("dbas_damp", 1.0)
        assert s.get("dbas_damp") == 0.5  # nothing changed
        assert set(s.params()) == set(s.param_names()) >= {"k", "seed", "dbas_mode"}
    # An excluded bound: param_info gives the nearest accepted value.
    with dc.Solver("edcwrn") as s:
        assert s.param_bounds("lr") == (0.0, True, 1e30, False)
        assert s.param_info("lr").min == math.nextafter(0.0, 1.0)
        with pytest.raises(dc.InvalidArgumentError, match=r"outside \(0, 1e\+30\]"):
            s.set("lr", 0.0)


def test_solver_outputs_and_stats():
    x, y = blobs()
    with dc.Solver("scdbas", k=3, seed=1, record_undamped=True).fit(x) as s:
        assert {"embedding", "centers", "trace", "trace_undamped"} <= set(s.output_names())
        emb = s.output("embedding")
        assert emb.shape == (x.shape[0], 3)
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
        trace = s.output("trace").ravel()
        assert np.all(np.diff(trace) <= 1e-9)  # best-so-far fitness never increases
        stats = s.stats()
        assert stats["dbas_iters"] == len(trace) - 1 and stats["seconds"] >= 0
        with pytest.raises(dc.UnknownNameError):
            s.output("nope")


def test_has_output_answers_before_the_fit():
    x, _ = blobs()
    with dc.Solver("scdbas", k=3, seed=1) as s:
        assert s.has_output("trace") and s.has_output("embedding")
        assert not s.has_output("trace_undamped")  # record_undamped is off
        assert not s.has_output("weights") and not s.has_output("nope")
        s.set("record_undamped", True)
        assert s.has_output("trace_undamped")
        s.fit(x)
        assert set(s.output_names()) == {
            n for n in ("embedding", "centers", "trace", "trace_current", "trace_undamped",
                        "trace_undamped_current", "weights", "q", "loss") if s.has_output(n)}
    with dc.Solver("kmeans", k=3) as s:
        assert s.has_output("centers") and not s.has_output("embedding")


def test_progress_callback_reports_cancels_and_propagates():
    x, _ = rings(120)
    seen = []
    dc.SCDBAS(2).fit(x, progress=lambda *a: seen.append(a))
    assert {"dbas"} <= {p for p, *_ in seen}
    with pytest.raises(dc.CancelledError):
        dc.SCDBAS(2).fit(x, progress=lambda *a: True)

    class Boom(Exception):
        pass

    def boom(*a):
        raise Boom()

    est = dc.SCDBAS(2)
    with pytest.raises(Boom):
        est.fit(x, progress=boom)
    assert not hasattr(est, "labels_")


def test_log_callback_and_threads():
    x, _ = rings(120)
    messages = []
    dc.set_log(lambda level, msg: messages.append((level, msg)), "info")
    try:
        dc.NJW(2).fit(x)
    finally:
        dc.set_log(None)
    assert any(level == "info" and "spectral embedding" in msg for level, msg in messages)
    n = len(messages)
    dc.NJW(2).fit(x)
    assert len(messages) == n  # silenced
    old = dc.get_threads()
    dc.set_threads(1)
    assert dc.get_threads() == 1
    dc.set_threads(old)
    with pytest.raises(dc.InvalidArgumentError):
        dc.set_threads(0)


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


def test_load_library_explicit_path():
    path = os.environ["DEEPCLUST_LIBRARY"]
    assert dc.load_library(path) == path
    assert _lib.lib().path == path and dc.methods()[0] == "kmeans"


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


def test_unclosed_handles_at_interpreter_exit_are_freed_quietly():
    code = r"""
import numpy as np
import deepclust as dc
x = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
ds = dc.Dataset(x)
solver = dc.Solver("kmeans", k=2).fit(ds)
km = dc.KMeans(2).fit(x)
cycle = [dc.Solver("njw")]
cycle.append(cycle)
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "ok" and p.stderr == "", p.stderr


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
