"""deepclust: Python binding of libdeepclust (ctypes, no compiled code).

    import deepclust
    labels = deepclust.SCDBAS(n_clusters=3, random_state=0).fit_predict(X)
    print(deepclust.metrics.acc(y, labels))

Estimators (scikit-learn conventions): KMeans, NJW, SCDBAS and the deep
methods EDCWRN, IDEC, DEC (with Model: save, load, predict, embed; reuse of
a pre-trained autoencoder; checkpoints). Lower level: Solver (any method,
every parameter by name), Dataset, dbas_minimize (the beetle search on a
Python function), deepclust.graph, deepclust.metrics, and for images slic, segment
(superpixels clustered into a label image) and rgb2lab. Every failing library call raises a DeepClustError
subclass carrying the status code and the library's detail message.

The shared library is found on first use: $DEEPCLUST_LIBRARY, then
$DEEPCLUST_BUILD_DIR/lib, the system library path, and the source tree's
build/lib; its version must equal __version__.
"""
from . import estimators, graph, metrics
from ._status import (CancelledError, ChecksumError, DeepClustError, DegenerateDataError,
                      FileFormatError, FileIOError, InternalError, InvalidArgumentError,
                      KRangeError, LibraryError, NonFiniteError, NotConvergedError,
                      NullArgumentError, NumericError, OutOfMemoryError, ShapeError, StateError,
                      Status, TruncatedFileError, UnknownNameError, UnsupportedError,
                      VersionError)
from ._version import __version__
from .core import (get_threads, library_path, library_version, load_library, set_log,
                   set_threads)
from .dataset import Dataset, add_noise, write_labels, write_matrix
from .dbas import DBASResult, dbas_minimize
from .estimators import DEC, EDCWRN, IDEC, NJW, SCDBAS, KMeans, NotFittedError
from .image import (boundary_recall, read_image, rgb2lab, segment, segment_superpixels, slic,
                    write_image)
from .model import Model
from .solver import ParamInfo, Solver, methods

__all__ = [
    "__version__", "estimators", "KMeans", "NJW", "SCDBAS", "EDCWRN", "IDEC", "DEC", "Model",
    "Solver", "ParamInfo", "Dataset", "methods", "dbas_minimize", "DBASResult",
    "metrics", "graph", "write_labels", "write_matrix", "set_threads", "get_threads",
    "set_log", "library_version", "library_path", "load_library", "Status", "DeepClustError",
    "LibraryError", "NotFittedError", "NullArgumentError", "InvalidArgumentError", "ShapeError",
    "NonFiniteError", "OutOfMemoryError", "FileIOError", "FileFormatError",
    "TruncatedFileError", "UnsupportedError", "KRangeError", "DegenerateDataError",
    "NotConvergedError", "NumericError", "StateError", "ChecksumError", "VersionError",
    "CancelledError", "UnknownNameError", "InternalError", "slic", "segment", "rgb2lab",
    "boundary_recall", "read_image", "write_image", "segment_superpixels", "add_noise",
]
