"""The dc_dataset handle (include/deepclust/dataset.h) and the file writers."""
import ctypes

import numpy as np

from . import _lib
from ._arrays import as_int32_labels, as_matrix

_FORMATS = {"auto": 0, "csv": 1, "npy": 2, "idx": 3}
_COPY, _BORROW = 0, 1


def _format_code(fmt):
    try:
        return _FORMATS[str(fmt).lower()]
    except KeyError:
        raise ValueError("format must be one of %s, got %r" % ("|".join(_FORMATS), fmt)) from None


_DELIMITERS = (",", ";", "\t", " ")
_HEADER = {None: -1, True: 1, False: 0}
_LABEL_COLUMN_NONE, _LABEL_COLUMN_LAST = -1, -2  # DC_LABEL_COLUMN_*


def _header_code(header):
    if header is None or isinstance(header, (bool, np.bool_)):
        return _HEADER[None if header is None else bool(header)]
    raise ValueError("header must be True, False or None (detect), got %r" % (header,))


def _delimiter_code(delimiter):
    if delimiter is None:
        return 0
    if delimiter not in _DELIMITERS:
        raise ValueError("delimiter must be one of %r or None (detect), got %r"
                         % (_DELIMITERS, delimiter))
    return ord(delimiter)


def _label_column_code(column):
    if column is None:
        return _LABEL_COLUMN_NONE
    if isinstance(column, str) and column == "last":
        return _LABEL_COLUMN_LAST
    if isinstance(column, (int, np.integer)) and not isinstance(column, (bool, np.bool_)) \
            and column >= -1:
        return _LABEL_COLUMN_LAST if column == -1 else int(column)
    raise ValueError("label_column must be a column index >= 0, 'last' (or -1) or None, got %r"
                     % (column,))


class Dataset(_lib.Handle):
    """An n x d float32 matrix owned or borrowed by the library, with optional
    integer labels and image shape.

    ``Dataset(X)`` borrows a C-contiguous float32 ``X`` (no copy; keep it
    unchanged while the dataset lives -- the Dataset holds a reference so it
    cannot be freed). Other dtypes/layouts are converted once into a private
    array, which is borrowed. ``copy=True`` makes the library copy the data
    instead (then ``X`` may change freely).

    The handle is freed by :meth:`close`, by ``with Dataset(X) as ds:``, or
    when the object is garbage-collected (also safe at interpreter exit).

    ``copy.copy(ds)`` and ``copy.deepcopy(ds)`` are independent datasets
    holding a copy of the data, labels, image shape and normalisation
    record. A Dataset does not pickle: pickle ``ds.to_numpy()``,
    ``ds.labels`` and ``ds.image_shape`` instead.
    """

    def __init__(self, X, labels=None, *, copy=False):
        if isinstance(X, Dataset):
            raise TypeError("Dataset(X) takes an array-like, got a Dataset: copy.copy(ds) "
                            "copies one")
        arr = as_matrix(X)
        lib = _lib.lib()
        handle = _lib.DatasetP()
        lib.dc_dataset_create(ctypes.byref(handle), arr, arr.shape[0], arr.shape[1],
                              _COPY if copy else _BORROW)
        self._adopt(lib, handle, None if copy else arr)
        if labels is not None:
            self.set_labels(labels)

    def __copy__(self):
        # By value: copied, the object itself would share the handle and its
        # finalizer. dc_dataset_subset copies labels, image shape and the
        # normalisation record along with the rows.
        return self.subset(0, len(self))

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        # The normalisation record (the statistics normalize() applied,
        # which a model fitted on the dataset keeps) has no public setter,
        # so a pickle could not restore what the dataset holds.
        raise TypeError(
            "a deepclust.Dataset holds a C handle and does not pickle: pickle its contents "
            "(ds.to_numpy(), ds.labels, ds.image_shape) and rebuild it with Dataset(X, labels) "
            "and set_image_shape(); for normalised data pickle the raw data and normalise "
            "again, or pickle the fitted model, whose apply_normalization() applies the "
            "training statistics")

    def _adopt(self, lib, handle, keepalive):
        self._own(lib, handle, lib.dc_dataset_free, keepalive)

    @classmethod
    def _from_handle(cls, lib, handle):
        self = cls.__new__(cls)
        self._adopt(lib, handle, None)
        return self

    @classmethod
    def load(cls, path, labels=None, *, format="auto", delimiter=None, header=None,
             label_column=None):
        """Reads CSV, NPY or IDX(.gz) data. `labels` is an optional labels
        file (IDX, NPY or one integer per line).

        format: "auto" (by the file name), "csv", "npy" or "idx".
        CSV only -- delimiter: one of "," ";" "\\t" " " (blank runs, as
        numpy.savetxt writes), None = detect; header: True, False, or None
        = detect (a header line has a non-numeric field); label_column: the
        0-based column holding integer labels (then not a feature), "last"
        or -1 for the last one, None for no label column.
        """
        lib = _lib.lib()
        opt = _lib.config_struct(lib.dc_load_options_size, lib.dc_load_options_default,
                                 lib.dc_load_options_set, {
                                     "format": _format_code(format),
                                     "delimiter": _delimiter_code(delimiter),
                                     "header": _header_code(header),
                                     "label_column": _label_column_code(label_column)})
        handle = _lib.DatasetP()
        lib.dc_dataset_load(ctypes.byref(handle), _lib.cstr(path), opt)
        self = cls._from_handle(lib, handle)
        if labels is not None:
            try:
                self.load_labels(labels)
            except BaseException:
                self.close()
                raise
        return self

    # -- contents ---------------------------------------------------------

    @property
    def shape(self):
        h = self.handle
        return (self._lib.dc_dataset_rows(h), self._lib.dc_dataset_cols(h))

    def __len__(self):
        return self.shape[0]

    def to_numpy(self):
        """A copy of the data as an (n, d) float32 array."""
        n, d = self.shape
        ptr = self._lib.dc_dataset_data(self.handle)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                                     shape=(n, d)).copy()

    def _data_address(self):
        """Address of the matrix the library reads (tests check no-copy)."""
        return self._lib.dc_dataset_data(self.handle)

    @property
    def labels(self):
        """A copy of the labels (int32), or None."""
        ptr = self._lib.dc_dataset_labels(self.handle)
        if not ptr:
            return None
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_int32)),
                                     shape=(len(self),)).copy()

    def set_labels(self, labels):
        """Copies integer labels (one per row) into the dataset."""
        lab = as_int32_labels(labels)
        self._lib.dc_dataset_set_labels(self.handle, lab, lab.shape[0])

    def load_labels(self, path, format="auto"):
        self._lib.dc_dataset_load_labels(self.handle, _lib.cstr(path), _format_code(format))

    @property
    def image_shape(self):
        """(H, W, C), or None if no image shape is set."""
        h, w, c = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        if not self._lib.dc_dataset_image_shape(self.handle, ctypes.byref(h), ctypes.byref(w),
                                                ctypes.byref(c)):
            return None
        return (h.value, w.value, c.value)

    def set_image_shape(self, h, w, c=1):
        self._lib.dc_dataset_set_image_shape(self.handle, h, w, c)

    def normalize(self, mode):
        """In place: "none", "scale255", "minmax" or "zscore". A borrowed
        dataset is copied first by the library; the caller's array is never
        written. The dataset records the statistics it applied, and a model
        fitted on it keeps them (see Model.apply_normalization)."""
        code = ctypes.c_int()
        self._lib.dc_normalization_from_name(_lib.cstr(mode), ctypes.byref(code))
        self._lib.dc_dataset_normalize(self.handle, code.value)
        return self

    @property
    def normalization(self):
        """The last normalisation applied ("none" for the data as given):
        by normalize() or Model.apply_normalization()."""
        code = self._lib.dc_dataset_normalization(self.handle)
        return _lib.pystr(self._lib.dc_normalization_name(code))

    def add_noise(self, noise, level=None, *, seed=0):
        """In place: noise of the robustness experiment (EDCWRN 5.6), clipped
        to the data's range [min, max]. `noise` is "gaussian", "saltpepper"
        or "speckle" with `level` (variance, density or variance), or the
        CLI's spelling "gaussian:0.1" with level None. The same seed gives
        the same noise. A borrowed array is copied first, never written."""
        kind, level = _noise_code(noise, level)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
                or not 0 <= seed < 2 ** 64:
            raise ValueError("seed must be an integer in [0, 2**64), got %r" % (seed,))
        self._lib.dc_dataset_add_noise(self.handle, kind, level, int(seed))
        return self

    def subset(self, first, count):
        """Rows [first, first + count) as a new (copied) Dataset."""
        handle = _lib.DatasetP()
        self._lib.dc_dataset_subset(ctypes.byref(handle), self.handle, first, count)
        return Dataset._from_handle(self._lib, handle)

    def __repr__(self):
        if self.closed:
            return "<deepclust.Dataset (closed)>"
        n, d = self.shape
        return "<deepclust.Dataset %d x %d%s>" % (n, d, " with labels" if self.labels is not None
                                                  else "")


def _noise_code(noise, level):
    """(dc_noise_kind, level) from "kind:level" or ("kind", level), checked
    by the library so that Python and the CLI accept the same values."""
    if not isinstance(noise, str):
        raise ValueError("noise must be a string such as 'gaussian:0.1', got %r" % (noise,))
    if level is not None:
        noise = "%s:%r" % (noise, float(level))
    kind, value = ctypes.c_int(), ctypes.c_double()
    _lib.lib().dc_noise_parse(_lib.cstr(noise), ctypes.byref(kind), ctypes.byref(value))
    return kind.value, value.value


def add_noise(X, noise, level=None, *, seed=0):
    """A noisy float32 copy of the (n, d) array X (see Dataset.add_noise):
    add_noise(X, "saltpepper:0.1", seed=1)."""
    with Dataset(X, copy=True) as ds:
        return ds.add_noise(noise, level, seed=seed).to_numpy()


def write_labels(path, labels, format="auto"):
    """Writes integer labels to .csv (one per line) or .npy (int32), atomically."""
    lab = as_int32_labels(labels)
    _lib.lib().dc_write_labels(_lib.cstr(path), lab, lab.shape[0], _format_code(format))


def write_matrix(path, X, format="auto"):
    """Writes an (n, d) matrix to .csv or .npy (float32), atomically."""
    arr = as_matrix(X)
    _lib.lib().dc_write_matrix(_lib.cstr(path), arr, arr.shape[0], arr.shape[1],
                               _format_code(format))
