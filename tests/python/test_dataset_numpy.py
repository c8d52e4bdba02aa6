"""Cross-check the data set readers and writers against numpy.

Files written by numpy (np.save for every supported dtype and shape,
np.savetxt in its default and CSV styles) must load to exactly
numpy's float32 values; files written by dc_write_matrix / dc_write_labels
must load in numpy to the same arrays.
"""
import ctypes
import gzip

import pytest
from conftest import declare

np = pytest.importorskip("numpy")

DC_OK, DC_ERR_NONFINITE, DC_ERR_FORMAT, DC_ERR_UNSUPPORTED = 0, -4, -7, -9
DC_FORMAT_AUTO = 0


@pytest.fixture(scope="module")
def lib(cdll):
    vp, i64, i32, f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_float
    return declare(cdll, {
        "dc_dataset_load": (ctypes.c_int, [ctypes.POINTER(vp), ctypes.c_char_p, vp]),
        "dc_dataset_load_labels": (ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int]),
        "dc_dataset_rows": (i64, [vp]),
        "dc_dataset_cols": (i64, [vp]),
        "dc_dataset_data": (ctypes.POINTER(f32), [vp]),
        "dc_dataset_labels": (ctypes.POINTER(i32), [vp]),
        "dc_dataset_image_shape": (ctypes.c_int, [vp] + [ctypes.POINTER(i64)] * 3),
        "dc_dataset_free": (None, [vp]),
        "dc_write_matrix": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(f32), i64, i64,
                                           ctypes.c_int]),
        "dc_write_labels": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(i32), i64,
                                           ctypes.c_int]),
    })


class Loaded:
    def __init__(self, lib, path):
        self.lib = lib
        self.h = ctypes.c_void_p()
        self.status = lib.dc_dataset_load(ctypes.byref(self.h), str(path).encode(), None)
        self.error = lib.dc_last_error().decode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.lib.dc_dataset_free(self.h)

    def array(self):
        assert self.status == DC_OK, self.error
        n, d = self.lib.dc_dataset_rows(self.h), self.lib.dc_dataset_cols(self.h)
        return np.ctypeslib.as_array(self.lib.dc_dataset_data(self.h), shape=(n, d)).copy()

    def image_shape(self):
        h, w, c = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        has = self.lib.dc_dataset_image_shape(self.h, ctypes.byref(h), ctypes.byref(w),
                                              ctypes.byref(c))
        return (h.value, w.value, c.value) if has else None

    def labels(self):
        n = self.lib.dc_dataset_rows(self.h)
        return np.ctypeslib.as_array(self.lib.dc_dataset_labels(self.h), shape=(n,)).copy()


@pytest.mark.parametrize("dtype", ["<f4", "<f8", "|u1", "|i1", "<i2", "<i4", "<i8"])
@pytest.mark.parametrize("shape", [(7,), (7, 5), (7, 4, 3), (7, 2, 3, 2)])
def test_np_save_loads(lib, tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    path = tmp_path / "x.npy"
    np.save(path, x)
    with Loaded(lib, path) as ds:
        got = ds.array()
        assert got.shape == (shape[0], int(np.prod(shape[1:])))
        assert np.array_equal(got, x.reshape(shape[0], -1).astype(np.float32))
        if len(shape) >= 3:
            assert ds.image_shape() == (shape[1], shape[2], shape[3] if len(shape) == 4 else 1)
        else:
            assert ds.image_shape() is None


def test_np_save_rejects(lib, tmp_path):
    cases = {
        "fortran.npy": (np.asfortranarray(np.ones((3, 4), np.float32)), DC_ERR_UNSUPPORTED, "Fortran"),
        "u2.npy": (np.ones((3, 4), np.uint16), DC_ERR_UNSUPPORTED, "<u2"),
        "f2.npy": (np.ones((3, 4), np.float16), DC_ERR_UNSUPPORTED, "<f2"),
        "be.npy": (np.ones((3, 4), ">f4"), DC_ERR_UNSUPPORTED, "big-endian"),
        "nan.npy": (np.array([[1, 2], [3, np.nan]], np.float32), DC_ERR_NONFINITE, "row 1, column 1"),
    }
    for name, (arr, code, fragment) in cases.items():
        np.save(tmp_path / name, arr)
        with Loaded(lib, tmp_path / name) as ds:
            assert ds.status == code, (name, ds.error)
            assert fragment in ds.error, (name, ds.error)
    # Structured dtypes carry a list as 'descr'.
    np.save(tmp_path / "rec.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    with Loaded(lib, tmp_path / "rec.npy") as ds:
        assert ds.status == DC_ERR_UNSUPPORTED and "structured" in ds.error


def test_savetxt_styles(lib, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 6)) * 10.0 ** rng.integers(-5, 5, size=(40, 6))
    for name, kw in (("default.txt", {}), ("comma.csv", {"delimiter": ",", "fmt": "%.17g"}),
                     ("semi.csv", {"delimiter": ";", "fmt": "%.6f", "header": "a;b;c;d;e;f",
                                   "comments": ""}),
                     ("tab.tsv", {"delimiter": "\t", "fmt": "%.9e"})):
        np.savetxt(tmp_path / name, x, **kw)
        ref = np.loadtxt(tmp_path / name, delimiter=kw.get("delimiter"),
                         skiprows=1 if "header" in kw else 0).astype(np.float32)
        with Loaded(lib, tmp_path / name) as ds:
            assert np.array_equal(ds.array(), ref), name
    # gzip-compressed text loads the same.
    with gzip.open(tmp_path / "comma.csv.gz", "wb") as f:
        f.write((tmp_path / "comma.csv").read_bytes())
    with Loaded(lib, tmp_path / "comma.csv.gz") as ds:
        assert np.array_equal(ds.array(), x.astype(np.float32))


def test_writers_load_in_numpy(lib, tmp_path):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((30, 7)) * 10.0 ** rng.integers(-8, 8, size=(30, 7))).astype(np.float32)
    y = rng.integers(-5, 1000, size=30).astype(np.int32)
    xp = x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    yp = y.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    for ext in ("npy", "csv"):
        mpath, lpath = tmp_path / f"m.{ext}", tmp_path / f"y.{ext}"
        assert lib.dc_write_matrix(str(mpath).encode(), xp, 30, 7, DC_FORMAT_AUTO) == DC_OK
        assert lib.dc_write_labels(str(lpath).encode(), yp, 30, DC_FORMAT_AUTO) == DC_OK
        if ext == "npy":
            m, lab = np.load(mpath), np.load(lpath)
            assert m.dtype == np.float32 and lab.dtype == np.int32 and lab.shape == (30,)
        else:
            m = np.loadtxt(mpath, delimiter=",", dtype=np.float32)
            lab = np.loadtxt(lpath, dtype=np.int32)
        assert np.array_equal(m, x) and np.array_equal(lab, y)
        with Loaded(lib, mpath) as ds:
            assert np.array_equal(ds.array(), x)
            assert lib.dc_dataset_load_labels(ds.h, str(lpath).encode(), DC_FORMAT_AUTO) == DC_OK
            assert np.array_equal(ds.labels(), y)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "m.npy", "y.csv", "y.npy"]
