"""Conversion of user arrays to what the C API reads.

Features: a C-contiguous float32 2-D array is used as is (no copy). Anything
else numeric (float64, integers, bool, numbers held in an object array,
Fortran order, strided views, lists, DataFrames) is converted ONCE with
np.ascontiguousarray(dtype=float32); the converted array is private, so the
C side borrows it too. The library computes in float32: a finite float64
beyond float32's range, or a nonzero one too small for it (it would become
0), is refused here, naming the entry; NaN and Inf raise NonFiniteError
naming the row and column.

Bad input raises ValueError / TypeError worded as scikit-learn words them
(its estimator checks match on "Complex data not supported", "Reshape your
data", "0 sample(s)", "0 feature(s)").
"""
import numpy as np

_INT32 = np.iinfo(np.int32)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT32_TINY = float(np.finfo(np.float32).smallest_subnormal)


def _reject_sparse(x, name):
    if hasattr(x, "toarray") and hasattr(x, "nnz"):
        raise TypeError("%s: sparse matrices are not supported; pass a dense array "
                        "(X.toarray())" % name)


def _numeric(x, name):
    _reject_sparse(x, name)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError("%s must hold numbers, got dtype %s" % (name, arr.dtype))
    return arr


def _numeric_matrix_values(x, name):
    """np.asarray(x) as real numbers: object arrays of numbers converted,
    complex and text refused."""
    _reject_sparse(x, name)
    arr = np.asarray(x)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported: %s has dtype %s; pass real numbers "
                         "(e.g. np.abs(X) or X.real)" % (name, arr.dtype))
    if arr.dtype.kind == "O":
        # numpy's own TypeError names the offending element's type.
        arr = arr.astype(np.float64)
    if arr.dtype.kind in "USV":
        raise ValueError("%s holds %s (dtype %s), not numbers: convert the data to numeric "
                         "values first" % (name, "bytes" if arr.dtype.kind == "S" else "text",
                                           arr.dtype))
    if arr.dtype.kind not in "biuf":
        raise TypeError("%s must hold numbers, got dtype %s" % (name, arr.dtype))
    return arr


def _overflow_error(src, out, name):
    """ValueError naming the first finite entry of src that became Inf in
    out, or None."""
    bad = np.isinf(out) & np.isfinite(src)
    if not bad.any():
        return None
    r, c = np.argwhere(bad)[0]
    return ValueError("%s[%d, %d] = %g overflows float32 (|x| <= %.4g), in which deepclust "
                      "computes: rescale the data" % (name, r, c, src[r, c], _FLOAT32_MAX))


def _underflow_error(src, out, name):
    """ValueError naming the first nonzero entry of src that became 0 in out."""
    r, c = np.argwhere((out == 0) & (src != 0))[0]
    return ValueError("%s[%d, %d] = %g underflows float32 (nonzero |x| >= %.4g), in which "
                      "deepclust computes: it would become 0; rescale the data"
                      % (name, r, c, src[r, c], _FLOAT32_TINY))


def as_matrix(x, name="X"):
    """A C-contiguous float32 (n, d) array with n, d >= 1; `x` itself when
    it already is one."""
    from .dataset import Dataset  # late: dataset imports this module

    if isinstance(x, Dataset):
        raise TypeError("%s is a deepclust.Dataset, but this call takes an array-like: pass "
                        "%s.to_numpy() (Solver.fit and Model.predict / embed take a Dataset)"
                        % (name, name))
    arr = _numeric_matrix_values(x, name)
    if arr.ndim != 2:
        if arr.ndim < 2:
            raise ValueError(
                "Expected a 2D array of shape (n_samples, n_features) for %s, got %s of shape "
                "%s. Reshape your data either using %s.reshape(-1, 1) if your data has a single "
                "feature or %s.reshape(1, -1) if it contains a single sample."
                % (name, "a scalar" if arr.ndim == 0 else "a 1D array", arr.shape, name, name))
        raise ValueError("Found array with dim %d: %s must be a 2D array of shape (n_samples, "
                         "n_features)" % (arr.ndim, name))
    for axis, what in ((0, "sample(s)"), (1, "feature(s)")):
        if arr.shape[axis] == 0:
            raise ValueError("Found array with 0 %s (shape=%s) while a minimum of 1 is "
                             "required." % (what, arr.shape))
    # Overflow, underflow and Inf - Inf are detected below and explained by
    # a ValueError; numpy's warnings (errors under np.seterr or
    # warnings.simplefilter("error")) would come first and say less.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
        # A float64 sum of float32 values cannot overflow: it is finite
        # exactly when every value is, without a temporary the size of the
        # data.
        finite = np.isfinite(out.sum(dtype=np.float64))
    if not finite:
        raise _nonfinite_error(arr, out, name)
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4 and \
            np.count_nonzero(out) != np.count_nonzero(arr):
        raise _underflow_error(arr, out, name)
    return out


def _nonfinite_error(src, out, name):
    """The error for the first NaN/Inf of out (src: the data as given)."""
    if src.dtype.kind == "f" and src.dtype.itemsize > 4:
        err = _overflow_error(src, out, name)
        if err is not None:
            return err
    from ._status import NonFiniteError, Status  # late: _status imports nothing of ours

    r, c = np.argwhere(~np.isfinite(out))[0]
    what = "NaN" if np.isnan(out[r, c]) else "infinity (Inf)"
    return NonFiniteError(Status.ERR_NONFINITE, name,
                          "%s contains %s at row %d, column %d" % (name, what, r, c))


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
