"""Trained deep clustering models (include/deepclust/model.h).

A Model is either a clustering model (EDCWRN, IDEC or DEC: encoders,
decoder, centres and representation weights) or a pre-trained autoencoder
that a later fit can start from instead of pre-training again. Models come
from a fitted estimator (``est.model_``, ``est.pretrained_``), a Solver
(``solver.model()``, ``solver.pretrained()``) or a file (``Model.load``).

    with deepclust.Model.load("idec.dcm") as m:
        labels = m.predict(X)     # X: (n, m.input_dim)

The neighbour-max branch of EDCWRN takes each row's neighbours among the
training rows, which the model keeps, so a row gets the same label whether
it is predicted alone or in a batch, and predict on the training data
reproduces the fitted labels exactly. (Model files of versions before the
training rows were kept take the neighbours among the rows passed
together: predict whole data sets with those.)

A model fitted on a normalised Dataset (``Dataset.normalize``) records the
training statistics (``m.normalization``); normalise new raw data with them,
not with their own, by ``m.apply_normalization(Dataset(X_new))``. predict
refuses a Dataset normalised with other statistics; a plain array is not
checked (scale it yourself).
"""
import ctypes
import threading

import numpy as np

from . import _lib
from ._status import UnknownNameError
from .dataset import Dataset


def _with_dataset(X, fn):
    """fn(dataset) for an array-like (borrowed for the call) or a Dataset."""
    if isinstance(X, Dataset):
        return fn(X)
    with Dataset(X) as ds:
        return fn(ds)


class Model(_lib.Handle):
    """A dc_model handle; create it with :meth:`load` (or get one from a
    fitted estimator / Solver). Free it with :meth:`close`, a ``with``
    block, or leave it to the garbage collector. Models pickle (and
    deep-copy) by their file contents.

    One model may be shared between threads: calls on it are serialised
    (the C model has one set of network workspaces).
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("use deepclust.Model.load(path), or the model_/pretrained_ attribute "
                        "of a fitted estimator")

    @classmethod
    def _adopt(cls, lib, handle):
        self = cls.__new__(cls)
        self._own(lib, handle, lib.dc_model_free)
        self._lock = threading.Lock()
        return self

    @classmethod
    def _take(cls, lib, fn, *args):
        """The model a C function writes to its last (dc_model **) argument."""
        handle = _lib.ModelP()
        fn(*args, ctypes.byref(handle))
        return cls._adopt(lib, handle)

    @classmethod
    def load(cls, path):
        """Reads a model file (or the current model inside a checkpoint).
        Damaged files raise TruncatedFileError, ChecksumError,
        FileFormatError or VersionError; a missing file FileIOError."""
        lib = _lib.lib()
        handle = _lib.ModelP()
        lib.dc_model_load(ctypes.byref(handle), _lib.cstr(path))
        return cls._adopt(lib, handle)

    def save(self, path):
        """Writes the model to `path` (atomically: temporary file + rename)."""
        with self._lock:
            self._lib.dc_model_save(self.handle, _lib.cstr(path))

    # -- introspection ----------------------------------------------------

    @property
    def method(self):
        """"edcwrn", "idec" or "dec": the method that trained (or pre-trained) it."""
        return _lib.pystr(self._lib.dc_model_method(self.handle))

    @property
    def is_autoencoder(self):
        """True for a pre-trained autoencoder (embeds, cannot predict)."""
        return bool(self._lib.dc_model_is_autoencoder(self.handle))

    @property
    def input_dim(self):
        """Number of features (columns) the model takes."""
        return self._lib.dc_model_input_dim(self.handle)

    @property
    def embed_dim(self):
        """Size of the embedding (columns of embed())."""
        return self._lib.dc_model_embed_dim(self.handle)

    @property
    def normalization(self):
        """How the training data were normalised: "none", "scale255",
        "minmax" or "zscore" (the last one applied)."""
        code = self._lib.dc_model_normalization(self.handle)
        return _lib.pystr(self._lib.dc_normalization_name(code))

    @property
    def k(self):
        """Number of clusters (0 for an autoencoder)."""
        return self._lib.dc_model_k(self.handle)

    @property
    def train_rows(self):
        """Rows of the data the model was fitted on (its columns are
        input_dim); 0 for files that do not record it."""
        return self._lib.dc_model_train_rows(self.handle)

    def _cluster_table(self, fn):
        out = np.empty((self.k, self.embed_dim), dtype=np.float32)
        fn(self.handle, out, out.size)
        return out

    @property
    def centers(self):
        """Cluster centres (k, embed_dim) in the embedding space of embed().
        An autoencoder: UnsupportedError."""
        return self._cluster_table(self._lib.dc_model_centers)

    @property
    def weights(self):
        """Representation weights (k, embed_dim): EDCWRN's w (rows sum to
        1), all ones for a model trained without weighting.
        An autoencoder: UnsupportedError."""
        return self._cluster_table(self._lib.dc_model_weights)

    def get(self, name):
        """A hyper-parameter of the fit that made the model, by its solver
        parameter name ("lambda", "seed", "hidden1", ...), typed as
        Solver.get types it. Unknown: UnknownNameError."""
        from .solver import Solver, typed_value  # late: solver.py imports this module

        v = ctypes.c_double()
        self._lib.dc_model_get(self.handle, _lib.cstr(name), ctypes.byref(v))
        with Solver(self.method) as s:
            return typed_value(s.param_info(name), v.value)

    def params(self):
        """{name: value} of every parameter of the model's method that the
        model records."""
        from .solver import Solver, typed_value

        out = {}
        v = ctypes.c_double()
        with Solver(self.method) as s:
            for name, info in s.params().items():
                try:
                    self._lib.dc_model_get(self.handle, _lib.cstr(name), ctypes.byref(v))
                except UnknownNameError:
                    continue
                out[name] = typed_value(info, v.value)
        return out

    def __repr__(self):
        if self.closed:
            return "<deepclust.Model (closed)>"
        if self.is_autoencoder:
            return "<deepclust.Model %s autoencoder %d -> %d>" % (self.method, self.input_dim,
                                                                  self.embed_dim)
        return "<deepclust.Model %s %d -> %d, k=%d>" % (self.method, self.input_dim,
                                                        self.embed_dim, self.k)

    # -- applying ---------------------------------------------------------

    def predict(self, X):
        """Cluster labels (int32, 0..k-1) of the rows of X (array-like
        (n, input_dim) or a Dataset). Another column count: ShapeError; an
        autoencoder: UnsupportedError."""
        def run(ds):
            out = np.empty(len(ds), dtype=np.int32)
            with self._lock:
                self._lib.dc_model_predict(self.handle, ds.handle, out, out.shape[0])
            return out

        return _with_dataset(X, run)

    def apply_normalization(self, dataset):
        """Normalises a Dataset of raw data in place with the model's
        training statistics (nothing for a model trained on raw data) and
        returns it. Already normalised: StateError; another column count:
        ShapeError."""
        if not isinstance(dataset, Dataset):
            raise TypeError("apply_normalization takes a deepclust.Dataset (it normalises it "
                            "in place), got %s" % type(dataset).__name__)
        self._lib.dc_model_apply_normalization(self.handle, dataset.handle)
        return dataset

    def embed(self, X):
        """Embeddings (n, embed_dim) float32 of the rows of X: for a
        clustering model those its labels are computed from, for an
        autoencoder the encoder output."""
        def run(ds):
            out = np.empty((len(ds), self.embed_dim), dtype=np.float32)
            with self._lock:
                self._lib.dc_model_embed(self.handle, ds.handle, out, out.size)
            return out

        return _with_dataset(X, run)

    # -- pickling (by the file contents) ----------------------------------

    def to_bytes(self):
        """The model file's contents (what save writes), made in memory."""
        size = ctypes.c_size_t()
        with self._lock:
            self._lib.dc_model_save_to_buffer(self.handle, None, 0, ctypes.byref(size))
            buf = ctypes.create_string_buffer(size.value)
            self._lib.dc_model_save_to_buffer(self.handle, buf, size.value, ctypes.byref(size))
        return buf.raw

    @classmethod
    def from_bytes(cls, data):
        """A model from the contents of a model file (see to_bytes); damaged
        bytes raise the errors load raises for a damaged file."""
        data = bytes(data)
        lib = _lib.lib()
        handle = _lib.ModelP()
        lib.dc_model_load_from_buffer(ctypes.byref(handle), data, len(data))
        return cls._adopt(lib, handle)

    def __reduce__(self):
        return (Model.from_bytes, (self.to_bytes(),))
