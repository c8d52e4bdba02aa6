"""scikit-learn style estimators over the generic solver.

Each estimator is a table: the C method name, its ``__init__`` arguments
mapped to solver parameters, and the solver outputs/statistics it exposes as
fitted attributes. Parameters are checked by the library when ``fit`` runs
(scikit-learn convention: ``__init__`` only stores them); an argument left
at None keeps the library's default. ``random_state`` follows scikit-learn:
None draws a fresh seed from the operating system's entropy at each fit, an
int is a seed, a ``np.random.RandomState`` or ``np.random.Generator`` gives
one (advancing its state); the seed a fit used is ``seed_``.

The library computes in float32; fitted arrays and ``transform`` results
come back as float32 for float32 input and as float64 otherwise (float64,
integers, lists), as scikit-learn's KMeans does.

Adding a method is a subclass with an explicit ``__init__`` (scikit-learn
reads the signature) and its tables -- see KMeans, NJW, SCDBAS. The deep
methods (EDCWRN, IDEC, DEC) share _DeepEstimator: the fitted model
(model_, predict, transform, save/load), a pre-trained autoencoder to start
from, and checkpoints.

The code lives in _estimators_base (_SolverEstimator and helpers),
_estimators_kmeans_spectral and _estimators_deep; this module is where the
names have always been imported from, and stays so.
"""
# Every name this module held before the split (private helpers and the
# imported classes included) stays importable from here: subclasses of
# _SolverEstimator and older code may reach for any of them.
from . import _estimators_base, _estimators_deep, _estimators_kmeans_spectral
from ._arrays import as_matrix  # noqa: F401
from ._estimators_base import (_COMMON_DOC, _DATA_ARRAYS, _SEED_END,  # noqa: F401
                               HAVE_SKLEARN, BaseEstimator, ClusterMixin, ConvergenceWarning,
                               NotFittedError, _init_defaults, _n_threads, _NotFittedBase,
                               _renamed, _result_dtype, _same_value, _seed, _SolverEstimator,
                               _threads, _Verbose)
from ._estimators_deep import (_DEEP_DOC, _DEEP_PARAMS, DEC, EDCWRN, IDEC,  # noqa: F401
                               _autoencoder, _DeepEstimator, _store_args)
from ._estimators_kmeans_spectral import (_SPECTRAL_DOC, _SPECTRAL_PARAMS, NJW,  # noqa: F401
                                          SCDBAS, KMeans, _no_predict, _SpectralEstimator)
from ._status import DeepClustError, InvalidArgumentError, ShapeError, Status  # noqa: F401
from .dataset import Dataset  # noqa: F401
from .model import Model  # noqa: F401
from .solver import Solver  # noqa: F401

# Pickles record a class by __module__ and name: the classes keep the module
# they were defined in before the split, so pickles made by either layout
# load with both, and reprs and tracebacks read as before. Only our own
# classes: without scikit-learn the fallback bases are ours too, with it
# they are scikit-learn's.
for _mod in (_estimators_base, _estimators_kmeans_spectral, _estimators_deep):
    for _cls in list(vars(_mod).values()):
        if isinstance(_cls, type) and _cls.__module__ == _mod.__name__:
            _cls.__module__ = __name__
del _mod, _cls
