"""scikit-learn style estimators over the generic solver.

Each estimator is a table: the C method name, its ``__init__`` arguments
mapped to solver parameters, and the solver outputs/statistics it exposes as
fitted attributes. Parameters are checked by the library when ``fit`` runs
(scikit-learn convention: ``__init__`` only stores them); an argument left
at None keeps the library's default. ``random_state`` is an int seed; None
means seed 0, so results are reproducible by default.

Adding a method is a subclass with an explicit ``__init__`` (scikit-learn
reads the signature) and its tables -- see KMeans, NJW, SCDBAS.
"""
import numpy as np

from ._arrays import as_matrix
from ._status import DeepClustError, StateError, Status
from .solver import Solver

try:  # scikit-learn is optional: same behaviour with the small local base
    from sklearn.base import BaseEstimator, ClusterMixin
    from sklearn.exceptions import NotFittedError as _NotFittedBase

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    import inspect

    HAVE_SKLEARN = False

    class _NotFittedBase(ValueError, AttributeError):
        pass

    class BaseEstimator:
        """get_params/set_params from the __init__ signature, as scikit-learn."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            out = {}
            for name in self._get_param_names():
                value = getattr(self, name)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    out.update((name + "__" + k, v) for k, v in value.get_params().items())
                out[name] = value
            return out

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                name, _, sub = key.partition("__")
                if name not in valid:
                    raise ValueError("invalid parameter %r for estimator %s; valid parameters "
                                     "are %s" % (name, type(self).__name__, valid))
                if sub:
                    getattr(self, name).set_params(**{sub: value})
                else:
                    setattr(self, name, value)
            return self

        def __repr__(self):
            args = ", ".join("%s=%r" % kv for kv in self.get_params(deep=False).items())
            return "%s(%s)" % (type(self).__name__, args)

    class ClusterMixin:
        _estimator_type = "clusterer"


class NotFittedError(_NotFittedBase):
    """The estimator is used before fit (scikit-learn's NotFittedError when
    scikit-learn is installed)."""


def _seed(random_state):
    if random_state is None:
        return 0
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state,
                                                                    (int, np.integer)):
        raise TypeError("random_state must be an int seed or None (deepclust draws from its "
                        "own seeded generator), got %r" % (random_state,))
    return int(random_state)


class _SolverEstimator(ClusterMixin, BaseEstimator):
    _method = None  # C method name
    # __init__ argument -> solver parameter
    _params = {"n_clusters": "k", "random_state": "seed"}
    # fitted attribute -> solver output ("trace"-like 1 x len outputs become vectors)
    _outputs = {}
    _vector_outputs = {}
    # fitted attribute -> (solver statistic, type)
    _stats = {}
    # keep the C solver after fit (methods whose solver predicts new data)
    _keep_solver = False

    def _make_solver(self):
        solver = Solver(self._method)
        try:
            for arg, cname in self._params.items():
                value = getattr(self, arg)
                if arg == "random_state":
                    value = _seed(value)
                elif value is None:
                    continue
                try:
                    solver.set(cname, value)
                except DeepClustError as e:
                    raise type(e)(e.code, e.function,
                                  "%s (estimator parameter %s=%r)" % (e.detail, arg, value)) from None
        except BaseException:
            solver.close()
            raise
        return solver

    def _reset(self):
        self.close()
        for name in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("_")]:
            del self.__dict__[name]

    def fit(self, X, y=None, progress=None):
        """Clusters X (n_samples, n_features); y is ignored. `progress`, if
        given, is called as progress(phase, done, total, value) during the
        fit; returning True cancels it (CancelledError). Returns self."""
        X = as_matrix(X)
        self._reset()
        solver = self._make_solver()
        try:
            solver.fit(X, progress=progress)
            self._store(solver, X)
        except BaseException:
            solver.close()
            self._reset()
            raise
        if self._keep_solver:
            self._solver = solver
        else:
            solver.close()
        return self

    def _store(self, solver, X):
        self.labels_ = solver.labels()
        self.n_features_in_ = X.shape[1]
        names = set(solver.output_names())
        for attr, name in self._outputs.items():
            if name in names:
                setattr(self, attr, solver.output(name))
        for attr, name in self._vector_outputs.items():
            if name in names:
                setattr(self, attr, solver.output(name).reshape(-1))
        self.stats_ = solver.stats()
        for attr, (name, kind) in self._stats.items():
            if name in self.stats_:
                setattr(self, attr, kind(self.stats_[name]))

    def fit_predict(self, X, y=None, progress=None):
        """fit(X) and return labels_."""
        return self.fit(X, progress=progress).labels_

    def _check_fitted(self):
        if not hasattr(self, "labels_"):
            raise NotFittedError("this %s instance is not fitted yet: call fit first"
                                 % type(self).__name__)

    def close(self):
        """Frees the C solver kept for predict (fitted attributes stay)."""
        old = self.__dict__.pop("_solver", None)
        if old is not None:
            old.close()

    def __getstate__(self):
        # The C solver is not picklable; fitted numpy attributes are.
        base = super()
        state = dict(base.__getstate__()) if hasattr(base, "__getstate__") else dict(self.__dict__)
        state.pop("_solver", None)
        return state


class KMeans(_SolverEstimator):
    """k-means (greedy k-means++ seeding, Lloyd, restarts) on the raw features.

    Fitted attributes: labels_, cluster_centers_ (n_clusters, n_features),
    inertia_, n_iter_, n_features_in_, stats_ (all solver statistics).
    predict(X) assigns new rows to the nearest centre (the fitted C solver
    is kept for it: close() frees it; a pickled KMeans must be refitted
    before predict).
    """

    _method = "kmeans"
    _params = dict(_SolverEstimator._params, n_init="n_init", max_iter="max_iter", tol="tol")
    _outputs = {"cluster_centers_": "centers"}
    _stats = {"inertia_": ("inertia", float), "n_iter_": ("iterations", int)}
    _keep_solver = True

    def __init__(self, n_clusters=8, *, n_init=10, max_iter=300, tol=1e-4, random_state=None):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def predict(self, X):
        """Index of the nearest fitted centre for each row of X."""
        self._check_fitted()
        solver = self.__dict__.get("_solver")
        if solver is None:
            raise StateError(Status.ERR_STATE, "KMeans.predict",
                             "the C solver of this estimator was closed or not pickled: "
                             "call fit again")
        return solver.predict(as_matrix(X))


_SPECTRAL_PARAMS = dict(_SolverEstimator._params, affinity="affinity", n_neighbors="m",
                        eigensolver="eigensolver", n_init="n_init")
_SPECTRAL_DOC = """
    affinity: "sparse" (default: Gaussian affinity on the symmetrised
    n_neighbors-nearest-neighbour graph), "dense" (all pairs) or "auto"
    (dense up to 4000 points). n_neighbors: neighbours per point of the
    sparse graph; None = max(p, 10) capped at 50 with p = round(n / k^2).
    eigensolver: "auto" | "lapack" | "arpack"."""


class NJW(_SolverEstimator):
    __doc__ = """Spectral clustering of Ng, Jordan & Weiss: spectral embedding
    with the adaptive-sigma affinity, then k-means (n_init restarts) on it.
    """ + _SPECTRAL_DOC + """

    Fitted attributes: labels_, embedding_ (n_samples, n_clusters),
    cluster_centers_ (in the embedding), inertia_ (in the embedding),
    n_iter_, n_features_in_, stats_.
    """

    _method = "njw"
    _params = _SPECTRAL_PARAMS
    _outputs = {"embedding_": "embedding", "cluster_centers_": "centers"}
    _stats = {"inertia_": ("inertia", float), "n_iter_": ("iterations", int)}

    def __init__(self, n_clusters=8, *, affinity="sparse", n_neighbors=None, eigensolver="auto",
                 n_init=10, random_state=None):
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.eigensolver = eigensolver
        self.n_init = n_init
        self.random_state = random_state


class SCDBAS(_SolverEstimator):
    __doc__ = """Spectral clustering with the damped beetle antennae search
    (Zhang, Liu & Wang 2020): spectral embedding, then the cluster centres
    are searched by DBAS on the k-means fitness.
    """ + _SPECTRAL_DOC + """
    dbas_mode: "improved" (beetles start from k-means++ and Lloyd, then hop
    between local minima with damped search excursions, each polished by
    Lloyd) or "paper" (as published). dbas_step (None = the mode's default),
    dbas_eta, dbas_c, dbas_damp: the search's initial step, decay,
    step/antenna ratio and damping. dbas_iters (None = 100), dbas_excursion
    (improved mode: iterations per excursion) and dbas_beetles (None = 1 in
    paper mode, n_init in improved mode). record_undamped: also run the
    undamped search and keep its trace. `deepclust help scdbas` (the CLI) or
    Solver("scdbas").params() list the ranges.

    Fitted attributes: labels_, embedding_, cluster_centers_ (in the
    embedding), fitness_ (final k-means fitness), fitness_trace_ (best
    fitness at the start and after each iteration), fitness_trace_current_
    (fitness of the current positions), fitness_trace_undamped_ and
    fitness_trace_undamped_current_ (with record_undamped), n_iter_ (search
    iterations), n_features_in_, stats_.
    """

    _method = "scdbas"
    _params = dict(_SPECTRAL_PARAMS, dbas_mode="dbas_mode", dbas_step="dbas_step",
                   dbas_eta="dbas_eta", dbas_c="dbas_c", dbas_iters="dbas_iters",
                   dbas_excursion="dbas_excursion", dbas_damp="dbas_damp",
                   dbas_beetles="dbas_beetles",
                   record_undamped="record_undamped")
    _outputs = {"embedding_": "embedding", "cluster_centers_": "centers"}
    _vector_outputs = {"fitness_trace_": "trace", "fitness_trace_current_": "trace_current",
                       "fitness_trace_undamped_": "trace_undamped",
                       "fitness_trace_undamped_current_": "trace_undamped_current"}
    _stats = {"fitness_": ("fitness", float), "n_iter_": ("dbas_iters", int)}

    def __init__(self, n_clusters=8, *, affinity="sparse", n_neighbors=None, eigensolver="auto",
                 n_init=10, dbas_mode="improved", dbas_step=None, dbas_eta=0.95, dbas_c=5.0,
                 dbas_iters=None, dbas_excursion=20, dbas_damp=0.5, dbas_beetles=None,
                 record_undamped=False, random_state=None):
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.eigensolver = eigensolver
        self.n_init = n_init
        self.dbas_mode = dbas_mode
        self.dbas_step = dbas_step
        self.dbas_eta = dbas_eta
        self.dbas_c = dbas_c
        self.dbas_iters = dbas_iters
        self.dbas_excursion = dbas_excursion
        self.dbas_damp = dbas_damp
        self.dbas_beetles = dbas_beetles
        self.record_undamped = record_undamped
        self.random_state = random_state
