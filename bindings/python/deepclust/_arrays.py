"""Conversion of user arrays to what the C API reads.

Features: a C-contiguous float32 2-D array is used as is (no copy). Anything
else numeric (float64, integers, bool, Fortran order, strided views, lists,
DataFrames) is converted ONCE with np.ascontiguousarray(dtype=float32); the
converted array is private, so the C side borrows it too. NaN/Inf are left to
the library, which rejects them with NonFiniteError naming the row and
column (float64 values beyond float32's range become Inf there).
"""
import numpy as np

_INT32 = np.iinfo(np.int32)


def _numeric(x, name):
    if hasattr(x, "toarray") and hasattr(x, "nnz"):
        raise TypeError("%s: sparse matrices are not supported; pass a dense array "
                        "(X.toarray())" % name)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError("%s must hold numbers, got dtype %s" % (name, arr.dtype))
    return arr


def as_matrix(x, name="X"):
    """A C-contiguous float32 (n, d) array; `x` itself when it already is one."""
    arr = _numeric(x, name)
    if arr.ndim != 2:
        hint = " (use x.reshape(-1, 1) for a single feature)" if arr.ndim == 1 else ""
        raise ValueError("%s must be a 2-D array of shape (n_samples, n_features), got shape "
                         "%s%s" % (name, arr.shape, hint))
    with np.errstate(over="ignore"):  # the library names the overflowed (Inf) entry
        return np.ascontiguousarray(arr, dtype=np.float32)


def as_int32_labels(y, name="labels"):
    """A C-contiguous int32 vector holding the same integer values as `y`."""
    arr = _numeric(y, name)
    if arr.ndim != 1:
        raise ValueError("%s must be a 1-D array, got shape %s" % (name, arr.shape))
    if arr.dtype == np.int32:
        return np.ascontiguousarray(arr)
    if arr.size and (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
        raise ValueError("%s: NaN or Inf among the labels" % name)
    if arr.size and (arr.min() < _INT32.min or arr.max() > _INT32.max):
        raise ValueError("%s: values outside the int32 range" % name)
    out = np.ascontiguousarray(arr, dtype=np.int32)
    if arr.dtype.kind == "f" and not np.array_equal(out, arr):
        raise ValueError("%s must be whole numbers" % name)
    return out


def as_partition(y, name):
    """int32 codes of a labeling for the partition metrics, which depend only
    on which samples share a label: any hashable labels (strings, int64
    beyond int32, floats) are renumbered 0..K-1; int32-representable integers
    pass unchanged."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError("%s must be a 1-D array, got shape %s" % (name, arr.shape))
    if arr.dtype.kind in "biu" and (not arr.size or (arr.min() >= _INT32.min
                                                     and arr.max() <= _INT32.max)):
        return np.ascontiguousarray(arr, dtype=np.int32)
    _, codes = np.unique(arr, return_inverse=True)
    return np.ascontiguousarray(codes.reshape(-1), dtype=np.int32)
