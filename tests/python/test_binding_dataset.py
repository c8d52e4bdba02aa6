"""Array handling (no-copy path, conversions), Dataset, and the lifetime of handles."""
import copy
import gc
import os
import pickle
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from deepclust import _arrays  # noqa: E402
from conftest import spread_blobs as blobs  # noqa: E402


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


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy])
def test_dataset_copies_are_independent_and_whole(how):
    x, _ = blobs(n_per=3)
    ds = dc.Dataset(x, labels=np.arange(len(x)) % 3)
    ds.set_image_shape(2, 2)
    ds.normalize("minmax")
    twin = how(ds)
    assert twin.handle is not ds.handle and twin._data_address() != ds._data_address()
    np.testing.assert_array_equal(twin.to_numpy(), ds.to_numpy())
    np.testing.assert_array_equal(twin.labels, ds.labels)
    assert twin.image_shape == ds.image_shape == (2, 2, 1)
    assert twin.normalization == "minmax"
    # the copy owns its handle: collecting the original does not close it
    del ds
    gc.collect()
    assert not twin.closed and twin.shape == x.shape
    with twin:  # nor does closing the copy close another copy
        other = copy.copy(twin)
    assert twin.closed and not other.closed and len(other) == len(x)


def test_handles_refuse_pickling_and_say_what_to_keep():
    x, _ = blobs(n_per=3)
    with pytest.raises(TypeError, match=r"to_numpy\(\)"):
        pickle.dumps(dc.Dataset(x))
    s = dc.Solver("kmeans", k=2)
    for how in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match=r"Solver\(s.method, \*\*s.get_params\(\)\)"):
            how(s)
    assert dc.Solver(s.method, **s.get_params()).get_params() == s.get_params()


def test_estimators_take_arrays_not_datasets():
    x, _ = blobs()
    ds = dc.Dataset(x)
    km = dc.KMeans(3, random_state=0)
    with pytest.raises(TypeError, match=r"X is a deepclust.Dataset.*X.to_numpy\(\)"):
        km.fit(ds)
    km.fit(ds.to_numpy())
    with pytest.raises(TypeError, match=r"to_numpy\(\)"):
        km.predict(ds)
    with pytest.raises(TypeError, match=r"copy.copy\(ds\)"):
        dc.Dataset(ds)
    np.testing.assert_array_equal(dc.Solver("kmeans", k=3, seed=0).fit(ds).labels(),
                                  km.labels_)


def test_handles_are_freed_by_the_garbage_collector():
    ds = dc.Dataset(np.ones((3, 2), np.float32))
    s = dc.Solver("kmeans")
    fins = [ds._finalizer, s._finalizer]
    del ds, s
    gc.collect()
    assert not any(f.alive for f in fins)


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
