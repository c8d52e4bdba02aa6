"""Finding, loading and checking libdeepclust, and the ctypes prototype of
every C function this package calls.

Lookup order (the first library that loads and has this package's version
wins):

1. ``$DEEPCLUST_LIBRARY`` -- a path to the shared library. If set, it is the
   only candidate: a wrong path or version is an error, not a fallback.
2. ``$DEEPCLUST_BUILD_DIR/lib/libdeepclust.so`` -- a meson build directory.
3. ``ctypes.util.find_library("deepclust")`` -- an installed library.
4. ``<repository>/build/lib/libdeepclust.so`` -- the default meson build
   directory of the source tree, only when this package is used in place
   from one (bindings/python/deepclust); an installed copy (site-packages,
   a virtual environment) has no such tree.

When none loads, the LibraryError lists each place tried and why it failed.

The library is loaded on first use, not on import, so ``import deepclust``
works (e.g. for get_params/clone) on a machine without the library.

Only the functions declared in _PROTOTYPES are reachable (``lib().name``);
each has argtypes and restype, and every function returning a dc_status has
an errcheck that raises the matching DeepClustError.
"""
import ctypes
import ctypes.util
import os
import pathlib
import threading
import weakref

import numpy as np

from ._status import LibraryError, Status, error_class
from ._version import __version__

LIBRARY_ENV = "DEEPCLUST_LIBRARY"
BUILD_DIR_ENV = "DEEPCLUST_BUILD_DIR"
_SONAME = "libdeepclust.so"


# Opaque handles: typed pointers, so that a dataset cannot be passed as a solver.
class DatasetStruct(ctypes.Structure):
    pass


class SolverStruct(ctypes.Structure):
    pass


class ModelStruct(ctypes.Structure):
    pass


class ImageStruct(ctypes.Structure):
    """dc_image (deepclust/image.h): a plain struct, mirrored."""
    _fields_ = [("width", ctypes.c_int64), ("height", ctypes.c_int64),
                ("channels", ctypes.c_int), ("pixels", ctypes.POINTER(ctypes.c_uint8))]


DatasetP = ctypes.POINTER(DatasetStruct)
SolverP = ctypes.POINTER(SolverStruct)
ModelP = ctypes.POINTER(ModelStruct)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                               ctypes.c_longlong, ctypes.c_longlong, ctypes.c_double)
FITNESS_FN = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.POINTER(ctypes.c_double), ctypes.c_int64,
                              ctypes.c_void_p)
NO_LOG, NO_PROGRESS = LOG_FN(), PROGRESS_FN()  # NULL function pointers


class _Array:
    """ctypes argument type for a numpy array crossing the boundary: checks
    dtype, C order (and writability for outputs) so a wrong buffer can never
    reach C; passes the data pointer itself (no copy). None passes NULL."""

    def __init__(self, dtype, writable):
        self.dtype = np.dtype(dtype)
        self.writable = writable

    def from_param(self, arr):
        if arr is None:
            return None
        if not isinstance(arr, np.ndarray):
            raise TypeError("expected a numpy array, got %s" % type(arr).__name__)
        if arr.dtype != self.dtype or not arr.flags.c_contiguous:
            raise TypeError("expected a C-contiguous %s array, got %s%s" % (
                self.dtype, arr.dtype, "" if arr.flags.c_contiguous else " (not C-contiguous)"))
        if self.writable and not arr.flags.writeable:
            raise TypeError("output array is read-only")
        return ctypes.c_void_p(arr.ctypes.data)


F32_IN, F32_OUT = _Array(np.float32, False), _Array(np.float32, True)
I32_IN, I32_OUT = _Array(np.int32, False), _Array(np.int32, True)
I64_OUT = _Array(np.int64, True)
F64_IN, F64_OUT = _Array(np.float64, False), _Array(np.float64, True)
U8_IN = _Array(np.uint8, False)

def _free(free_fn, handle, _keepalive):
    # `_keepalive` (e.g. a borrowed numpy array) is referenced here, so it
    # lives exactly as long as the C handle that reads it.
    free_fn(handle)


class Handle:
    """Lifetime of an object that owns a C handle (Dataset, Solver, Model):
    close() frees it now (idempotent), so does a ``with`` block or the
    garbage collector (also safe at interpreter exit); `handle` refuses use
    after close."""

    def _own(self, lib, handle, free_fn, keepalive=None):
        self._lib = lib
        self._handle = handle
        self._finalizer = weakref.finalize(self, _free, free_fn, handle, keepalive)

    def close(self):
        """Frees the C handle now (idempotent)."""
        self._finalizer()

    @property
    def closed(self):
        return not self._finalizer.alive

    def __reduce__(self):
        # Copied, the object would share the handle and its finalizer: the
        # first copy collected frees the handle under the others.
        raise TypeError("a deepclust.%s holds a C handle: it cannot be pickled or copied"
                        % type(self).__name__)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def handle(self):
        """The C pointer (for this package's own calls)."""
        if not self._finalizer.alive:
            raise ValueError("operation on a closed %s" % type(self).__name__)
        return self._handle


_STATUS = "dc_status"  # marker: restype c_int + errcheck raising DeepClustError
c_int, c_i64, c_double, c_char_p, c_void_p, c_size_t = (
    ctypes.c_int, ctypes.c_int64, ctypes.c_double, ctypes.c_char_p, ctypes.c_void_p,
    ctypes.c_size_t)
P_int, P_i64, P_double = (ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int64),
                          ctypes.POINTER(ctypes.c_double))

# name: (restype, argtypes). Enums (dc_format, dc_ownership, ...) are C ints.
_PROTOTYPES = {
    # version.h
    "dc_version_string": (c_char_p, []),
    "dc_version_number": (c_int, []),
    # status.h
    "dc_strerror": (c_char_p, [c_int]),
    "dc_last_error": (c_char_p, []),
    "dc_clear_error": (None, []),
    # core.h
    "dc_set_threads": (_STATUS, [c_int]),
    "dc_get_threads": (c_int, []),
    "dc_mpi_enabled": (c_int, []),
    "dc_set_log": (None, [LOG_FN, c_void_p, c_int]),
    # dataset.h (dc_load_options is a struct: built layout-free, see config_struct)
    "dc_load_options_size": (c_size_t, []),
    "dc_load_options_default": (None, [c_void_p]),
    "dc_load_options_set": (_STATUS, [c_void_p, c_char_p, c_double]),
    "dc_dataset_create": (_STATUS, [ctypes.POINTER(DatasetP), F32_IN, c_i64, c_i64, c_int]),
    "dc_dataset_load": (_STATUS, [ctypes.POINTER(DatasetP), c_char_p, c_void_p]),
    "dc_dataset_load_labels": (_STATUS, [DatasetP, c_char_p, c_int]),
    "dc_dataset_set_labels": (_STATUS, [DatasetP, I32_IN, c_i64]),
    "dc_dataset_set_image_shape": (_STATUS, [DatasetP, c_i64, c_i64, c_i64]),
    "dc_dataset_rows": (c_i64, [DatasetP]),
    "dc_dataset_cols": (c_i64, [DatasetP]),
    "dc_dataset_data": (c_void_p, [DatasetP]),
    "dc_dataset_labels": (c_void_p, [DatasetP]),
    "dc_dataset_image_shape": (c_int, [DatasetP, P_i64, P_i64, P_i64]),
    "dc_dataset_normalize": (_STATUS, [DatasetP, c_int]),
    "dc_normalization_from_name": (_STATUS, [c_char_p, P_int]),
    "dc_normalization_name": (c_char_p, [c_int]),
    "dc_dataset_normalization": (c_int, [DatasetP]),
    "dc_dataset_subset": (_STATUS, [ctypes.POINTER(DatasetP), DatasetP, c_i64, c_i64]),
    "dc_dataset_add_noise": (_STATUS, [DatasetP, c_int, c_double, ctypes.c_uint64]),
    "dc_noise_parse": (_STATUS, [c_char_p, P_int, P_double]),
    "dc_noise_name": (c_char_p, [c_int]),
    "dc_dataset_free": (None, [DatasetP]),
    "dc_write_labels": (_STATUS, [c_char_p, I32_IN, c_i64, c_int]),
    "dc_write_matrix": (_STATUS, [c_char_p, F32_IN, c_i64, c_i64, c_int]),
    # metrics.h
    "dc_metrics_acc": (_STATUS, [I32_IN, I32_IN, c_i64, P_double]),
    "dc_metrics_nmi": (_STATUS, [I32_IN, I32_IN, c_i64, c_int, P_double]),
    "dc_metrics_ari": (_STATUS, [I32_IN, I32_IN, c_i64, P_double]),
    "dc_metrics_f1": (_STATUS, [I32_IN, I32_IN, c_i64, P_double]),
    "dc_metrics_inter_cluster_variance": (_STATUS, [F32_IN, c_i64, c_i64, I32_IN, P_double]),
    # solver.h
    "dc_solver_method_count": (c_int, []),
    "dc_solver_method_name": (c_char_p, [c_int]),
    "dc_solver_create": (_STATUS, [ctypes.POINTER(SolverP), c_char_p]),
    "dc_solver_free": (None, [SolverP]),
    "dc_solver_method": (c_char_p, [SolverP]),
    "dc_solver_set": (_STATUS, [SolverP, c_char_p, c_double]),
    "dc_solver_set_str": (_STATUS, [SolverP, c_char_p, c_char_p]),
    "dc_solver_get": (_STATUS, [SolverP, c_char_p, P_double]),
    "dc_solver_param_count": (c_int, [SolverP]),
    "dc_solver_param_name": (c_char_p, [SolverP, c_int]),
    "dc_solver_param_info": (_STATUS, [SolverP, c_char_p, P_int, P_double, P_double, P_double]),
    "dc_solver_param_bounds": (_STATUS, [SolverP, c_char_p, P_double, P_int, P_double, P_int]),
    "dc_solver_param_help": (c_char_p, [SolverP, c_char_p]),
    "dc_solver_param_choices": (c_char_p, [SolverP, c_char_p]),
    "dc_solver_set_progress": (_STATUS, [SolverP, PROGRESS_FN, c_void_p]),
    "dc_solver_fit": (_STATUS, [SolverP, DatasetP]),
    "dc_solver_cancel": (c_int, [SolverP]),
    "dc_solver_labels": (_STATUS, [SolverP, I32_OUT, c_i64, P_i64]),
    "dc_solver_output": (_STATUS, [SolverP, c_char_p, F32_OUT, c_i64, P_i64, P_i64]),
    "dc_solver_output_count": (c_int, [SolverP]),
    "dc_solver_output_name": (c_char_p, [SolverP, c_int]),
    "dc_solver_has_output": (c_int, [SolverP, c_char_p]),
    "dc_solver_stat": (_STATUS, [SolverP, c_char_p, P_double]),
    "dc_solver_stat_count": (c_int, [SolverP]),
    "dc_solver_stat_name": (c_char_p, [SolverP, c_int]),
    "dc_solver_predict": (_STATUS, [SolverP, DatasetP, I32_OUT, c_i64]),
    "dc_assign_nearest": (_STATUS, [F32_IN, c_i64, c_i64, F32_IN, c_i64, I32_OUT]),
    # model.h
    "dc_solver_model": (_STATUS, [SolverP, ctypes.POINTER(ModelP)]),
    "dc_solver_pretrained": (_STATUS, [SolverP, ctypes.POINTER(ModelP)]),
    "dc_solver_use_pretrained": (_STATUS, [SolverP, ModelP]),
    "dc_solver_set_checkpoint": (_STATUS, [SolverP, c_char_p, c_i64]),
    "dc_solver_resume": (_STATUS, [SolverP, DatasetP, c_char_p]),
    "dc_checkpoint_progress": (_STATUS, [c_char_p, ctypes.POINTER(c_char_p),
                                         ctypes.POINTER(ctypes.c_int64),
                                         ctypes.POINTER(ctypes.c_int64)]),
    "dc_model_save": (_STATUS, [ModelP, c_char_p]),
    "dc_model_load": (_STATUS, [ctypes.POINTER(ModelP), c_char_p]),
    "dc_model_save_to_buffer": (_STATUS, [ModelP, c_void_p, c_size_t, ctypes.POINTER(c_size_t)]),
    "dc_model_load_from_buffer": (_STATUS, [ctypes.POINTER(ModelP), c_char_p, c_size_t]),
    "dc_model_predict": (_STATUS, [ModelP, DatasetP, I32_OUT, c_i64]),
    "dc_model_embed": (_STATUS, [ModelP, DatasetP, F32_OUT, c_i64]),
    "dc_model_apply_normalization": (_STATUS, [ModelP, DatasetP]),
    "dc_model_normalization": (c_int, [ModelP]),
    "dc_model_is_autoencoder": (c_int, [ModelP]),
    "dc_model_method": (c_char_p, [ModelP]),
    "dc_model_input_dim": (c_i64, [ModelP]),
    "dc_model_embed_dim": (c_i64, [ModelP]),
    "dc_model_k": (c_i64, [ModelP]),
    "dc_model_train_rows": (c_i64, [ModelP]),
    "dc_model_centers": (_STATUS, [ModelP, F32_OUT, c_i64]),
    "dc_model_weights": (_STATUS, [ModelP, F32_OUT, c_i64]),
    "dc_model_get": (_STATUS, [ModelP, c_char_p, P_double]),
    "dc_model_free": (None, [ModelP]),
    # dbas.h (dc_dbas_config is a struct: built layout-free, see config_struct)
    "dc_dbas_config_size": (c_size_t, []),
    "dc_dbas_config_default": (None, [c_void_p]),
    "dc_dbas_config_set": (_STATUS, [c_void_p, c_char_p, c_double]),
    "dc_dbas_minimize": (_STATUS, [FITNESS_FN, c_void_p, c_i64, F64_IN, c_i64, c_void_p, F64_OUT,
                                   P_double, F64_OUT, F64_OUT]),
    # graph.h
    "dc_knn": (_STATUS, [F32_IN, c_i64, c_i64, c_i64, I64_OUT, F32_OUT]),
    "dc_knn_query": (_STATUS, [F32_IN, c_i64, F32_IN, c_i64, c_i64, c_i64, I64_OUT, F32_OUT]),
    "dc_affinity_p": (c_i64, [c_i64, c_i64]),
    "dc_affinity_sigma": (_STATUS, [F32_IN, c_i64, c_i64, c_i64, F32_OUT]),
    "dc_affinity_dense": (_STATUS, [F32_IN, c_i64, c_i64, c_i64, F32_OUT]),
    "dc_spectral_embedding": (_STATUS, [F32_IN, c_i64, c_i64, c_i64, c_int, c_i64, F32_OUT]),
    # image.h, slic.h, segment.h (dc_slic_options built layout-free, see config_struct)
    "dc_image_read": (_STATUS, [c_char_p, ctypes.POINTER(ImageStruct)]),
    "dc_image_write": (_STATUS, [c_char_p, U8_IN, c_i64, c_i64, c_int]),
    "dc_image_free": (None, [ctypes.POINTER(ImageStruct)]),
    "dc_segment_superpixels": (_STATUS, [SolverP, U8_IN, c_i64, c_i64, c_int, I32_IN, c_int,
                                         c_double, I32_OUT]),
    "dc_srgb_to_lab": (_STATUS, [U8_IN, c_i64, c_int, F32_OUT]),
    "dc_slic_options_size": (c_size_t, []),
    "dc_slic_options_default": (None, [c_void_p]),
    "dc_slic_options_set": (_STATUS, [c_void_p, c_char_p, c_double]),
    "dc_slic": (_STATUS, [U8_IN, c_i64, c_i64, c_int, c_void_p, I32_OUT, P_int]),
    "dc_segment": (_STATUS, [SolverP, U8_IN, c_i64, c_i64, c_int, c_void_p, c_double, I32_OUT,
                             I32_OUT, P_int]),
    "dc_boundary_recall": (_STATUS, [I32_IN, I32_IN, c_i64, c_i64, c_int, P_double]),
    # mpi.h: only in a library built with -Dmpi=enabled (see _OPTIONAL, deepclust.mpi);
    # MPI_Fint is a C int in Open MPI and MPICH
    "dc_mpi_set_comm": (_STATUS, [c_int]),
    "dc_mpi_rank": (c_int, []),
    "dc_mpi_size": (c_int, []),
    "dc_mpi_block": (None, [c_i64, c_int, c_int, ctypes.POINTER(c_i64), ctypes.POINTER(c_i64)]),
    "dc_mpi_dataset_load": (_STATUS, [ctypes.POINTER(DatasetP), c_char_p, c_void_p,
                                      ctypes.POINTER(c_i64)]),
    "dc_mpi_dataset_normalize": (_STATUS, [DatasetP, c_int]),
    "dc_mpi_bytes_sent": (c_i64, [c_char_p]),
    "dc_mpi_reset_counters": (None, []),
}

# Functions a library may lack: those of deepclust/mpi.h exist only in an MPI build
# (dc_mpi_enabled() says which); calling one there raises AttributeError.
_OPTIONAL = {name for name in _PROTOTYPES if name.startswith("dc_mpi_")} - {"dc_mpi_enabled"}


class Library:
    """The loaded library: one attribute per declared C function, nothing else."""

    def __init__(self, cdll, path):
        self.path = path
        self._cdll = cdll
        missing = []
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                if name not in _OPTIONAL:
                    missing.append(name)
                continue
            fn.argtypes = argtypes
            if restype is _STATUS:
                fn.restype = ctypes.c_int
                fn.errcheck = self._check
            else:
                fn.restype = restype
            setattr(self, name, fn)
        if missing:
            raise LibraryError("%s lacks %s: it is not a libdeepclust %s build" % (
                path, ", ".join(missing), __version__))

    def _check(self, status, fn, args):
        if status == Status.OK:
            return status
        detail = (self.dc_last_error() or b"").decode("utf-8", "replace")
        self.dc_clear_error()  # a later failure without detail must not show this one
        raise error_class(status)(status, fn.__name__, detail)


_lock = threading.Lock()
_loaded = None


def _version_tuple(text):
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("not a MAJOR.MINOR.PATCH version: %r" % text)
    return tuple(int(p) for p in parts)


def check_version(lib, path, expected=None):
    """Raises LibraryError unless the library at `path` reports `expected`
    (default: this package's __version__) both as string and as number."""
    expected = __version__ if expected is None else expected
    major, minor, patch = _version_tuple(expected)
    got = lib.dc_version_string().decode()
    got_number = lib.dc_version_number()
    if got != expected or got_number != major * 10000 + minor * 100 + patch:
        raise LibraryError(
            "%s is libdeepclust %s (version number %d), but this deepclust Python package is "
            "%s: use a matching library (set %s to its path)" % (
                path, got, got_number, expected, LIBRARY_ENV))


def source_tree():
    """The repository this package is used from in place, or None when it
    is installed elsewhere."""
    pkg = pathlib.Path(__file__).resolve().parent
    repo = pkg.parents[2]
    if (pkg.parent.name, pkg.parents[1].name) == ("python", "bindings") and \
            (repo / "meson.build").is_file():
        return repo
    return None


def candidates():
    """Paths to try, in order, as (path, explicit): an explicit path is the
    user's choice, so its failure is final."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return [(env, True)]
    out = []
    build_dir = os.environ.get(BUILD_DIR_ENV)
    if build_dir:
        out.append((os.path.join(build_dir, "lib", _SONAME), False))
    found = ctypes.util.find_library("deepclust")
    if found:
        out.append((found, False))
    repo = source_tree()
    if repo is not None:
        out.append((str(repo / "build" / "lib" / _SONAME), False))
    return out


def open_library(path):
    """Loads and checks one library file (raises LibraryError)."""
    try:
        cdll = ctypes.CDLL(path)
    except OSError as e:
        raise LibraryError("cannot load %s: %s" % (path, e)) from None
    lib = Library(cdll, path)
    check_version(lib, path)
    return lib


def load(path=None):
    """Loads libdeepclust (once). With `path`, loads exactly that file and
    makes it the library used from now on."""
    global _loaded
    with _lock:
        if path is not None:
            _loaded = open_library(os.fspath(path))
            return _loaded
        if _loaded is not None:
            return _loaded
        tried = []
        if not os.environ.get(BUILD_DIR_ENV):
            tried.append("$%s: not set" % BUILD_DIR_ENV)
        if not ctypes.util.find_library("deepclust"):
            tried.append("the system library path (ctypes.util.find_library): no libdeepclust")
        for cand, explicit in candidates():
            if not explicit and os.path.sep in cand and not os.path.exists(cand):
                tried.append("%s: no such file" % cand)
                continue
            try:
                _loaded = open_library(cand)
                return _loaded
            except LibraryError as e:
                if explicit:
                    raise
                tried.append(str(e))
        raise LibraryError(
            "libdeepclust %s not found. Set %s to the path of libdeepclust.so, or %s to a "
            "meson build directory. Tried:\n  %s" % (
                __version__, LIBRARY_ENV, BUILD_DIR_ENV, "\n  ".join(tried)))


def lib():
    """The loaded library (loading it on first use)."""
    return _loaded if _loaded is not None else load()


def loaded():
    """The loaded library, or None: never triggers loading."""
    return _loaded


def strerror(status):
    """dc_strerror text, or None if no library is loaded yet."""
    if _loaded is None:
        return None
    return _loaded.dc_strerror(int(status)).decode("utf-8", "replace")


def cstr(text):
    """A Python str (or path) as a C string."""
    if isinstance(text, bytes):
        return text
    if isinstance(text, os.PathLike):
        return os.fsencode(text)
    return str(text).encode("utf-8")


def pystr(raw):
    return None if raw is None else raw.decode("utf-8", "replace")


def as_c_double(name, value):
    """A parameter value as the C double the setters take: numbers, and
    bools as 0/1; an int that a double cannot hold exactly is refused rather
    than rounded."""
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError("%s takes a number, got %r" % (name, value)) from None
    if isinstance(value, (int, np.integer)) and int(number) != int(value):
        raise ValueError("%s = %d is too large to pass exactly" % (name, value))
    return number


def config_struct(size_fn, default_fn, set_fn, values):
    """A C options struct this package does not mirror (dc_load_options,
    dc_dbas_config): a buffer of the size the library reports, filled by its
    _default() function, then each value of `values` that is not None set
    by name through its _set() function (which checks names and ranges).
    The buffer is 8-byte aligned, as the structs' doubles and pointers need."""
    words = (int(size_fn()) + 7) // 8
    buf = (ctypes.c_uint64 * max(words, 1))()
    default_fn(buf)
    for name, value in values.items():
        if value is not None:
            set_fn(buf, cstr(name), as_c_double(name, value))
    return buf
