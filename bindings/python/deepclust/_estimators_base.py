"""Estimator base: scikit-learn fallback, seeds, threads, progress and _SolverEstimator."""
import contextlib
import inspect
import numbers
import os
import re
import sys
import time

import numpy as np

from . import _lib
from ._arrays import as_matrix
from ._status import DeepClustError, InvalidArgumentError, ShapeError, Status
from .dataset import Dataset
from .solver import Solver

try:  # scikit-learn is optional: same behaviour with the small local base
    from sklearn.base import BaseEstimator, ClusterMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.exceptions import NotFittedError as _NotFittedBase

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    HAVE_SKLEARN = False

    class _NotFittedBase(ValueError, AttributeError):
        pass

    class ConvergenceWarning(UserWarning):
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


_SEED_END = 2 ** 53  # the C parameter "seed" holds 0 .. 2^53
_EXACT = 2 ** 53  # integers up to this pass through a C double unchanged


def _seed(random_state):
    """The C seed for a random_state (see the module docstring)."""
    if random_state is None:
        return int(np.random.default_rng().integers(_SEED_END))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(_SEED_END))
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state,
                                                                    (int, np.integer)):
        raise TypeError("random_state must be None, an int seed, a numpy RandomState or a "
                        "numpy Generator, got %r" % (random_state,))
    return int(random_state)


def _result_dtype(X):
    """float32 for float32 input, float64 for anything else (scikit-learn's rule)."""
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        dtype = np.asarray(X).dtype
    return np.float32 if dtype == np.float32 else np.float64


def _n_threads(n_jobs):
    """BLAS threads for n_jobs (joblib's convention: -1 = every core, -2 =
    all but one, ...)."""
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or \
            n_jobs == 0:
        raise ValueError("n_jobs must be None, a positive number of threads or a negative "
                         "count from the number of cores (-1 = all), got %r" % (n_jobs,))
    return int(n_jobs) if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))


@contextlib.contextmanager
def _threads(n_jobs):
    """The library's (process-wide) thread count set to n_jobs for the
    block and put back after it, so the setting stays with the estimator."""
    if n_jobs is None:
        yield
        return
    n = _n_threads(n_jobs)
    lib = _lib.lib()
    before = lib.dc_get_threads()
    lib.dc_set_threads(n)
    try:
        yield
    finally:
        lib.dc_set_threads(before)


class _Verbose:
    """A progress callable for verbose estimators: prints the fit's phases
    on stderr (verbose 1: at most once a second per phase and at its end;
    2 and more: every report), then hands the report to the caller's
    progress callable, whose answer decides cancellation."""

    def __init__(self, name, level, then):
        self.name, self.level, self.then = name, level, then
        self.phase, self.last, self.start = None, 0.0, 0.0

    def __call__(self, phase, done, total, value):
        now = time.monotonic()
        if phase != self.phase:
            self.phase, self.start, self.last = phase, now, -1e9
        end = total > 0 and done >= total
        if self.level >= 2 or end or now - self.last >= 1.0:
            self.last = now
            text = "[%s] %s %d%s" % (self.name, phase, done, "/%d" % total if total > 0 else "")
            if value == value:  # not NaN
                text += " value %.6g" % value
            print("%s (%.1f s)" % (text, now - self.start), file=sys.stderr, flush=True)
        return self.then(phase, done, total, value) if self.then is not None else None


# "k" may also count neighbours in a library message (older builds said
# "neighbours: k = 50 must be in [1, n - 1]"): there it is not n_clusters.
_NEIGHBOUR_K = re.compile(r"neighbo", re.IGNORECASE)


def _about_neighbours(detail, start, end):
    """Whether the "k" at detail[start:end] counts neighbours: "neighbo..."
    earlier in its clause (since the last ";"), or right after its value."""
    clause = detail[detail.rfind(";", 0, start) + 1:start]
    return bool(_NEIGHBOUR_K.search(clause) or
                re.match(r" (=|>=|<=|<|>) \S+ neighbo", detail[end:], re.IGNORECASE))


def _renamed(detail, names):
    """The library's detail with C parameter names replaced by the
    estimator's argument names ({c_name: arg}): "k = 1, need k >= 2" reads
    "n_clusters = 1, need n_clusters >= 2" from a Python call."""
    for cname, arg in names.items():
        detail = detail.replace("'%s'" % cname, "'%s'" % arg)
        pattern = re.compile(r"(?<![\w'.-])%s(?= (=|>=|<=|<|>) )" % re.escape(cname))

        def rename(m, text=detail, keep_neighbours=cname == "k", arg=arg):
            if keep_neighbours and _about_neighbours(text, m.start(), m.end()):
                return m.group(0)
            return arg

        detail = pattern.sub(rename, detail)
    return detail


def _init_defaults(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _same_value(value, default):
    if value is default:
        return True
    if value is None or default is None or isinstance(value, bool) != isinstance(default, bool):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _parameter_value(est, solver, arg, cname, value):
    """`value` of the estimator argument `arg` as Solver.set takes it for the
    solver parameter `cname`. Refused here, naming `arg`: what the library
    would read as another type (a string for a number, which Solver.set
    parses; a bool for a count) and integers a double cannot hold exactly.
    The library checks the rest (ranges, whole numbers, choice names)."""
    info = solver.param_info(cname)
    where = "%s: %s" % (type(est).__name__, arg)
    flag = isinstance(value, (bool, np.bool_))
    if info.type in ("int", "real"):
        if flag or not isinstance(value, numbers.Real):
            raise TypeError("%s takes %s, got %r (%s)" % (
                where, "an integer" if info.type == "int" else "a number", value,
                type(value).__name__))
        if not isinstance(value, numbers.Integral):
            return float(value)
        value = int(value)
        if abs(value) <= _EXACT:
            return value
        lo, lo_open, hi, hi_open = solver.param_bounds(cname)
        inside = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else
                                                               value <= hi)
        if inside and info.type == "real":
            return float(value)  # a real parameter: the nearest double is the value
        raise InvalidArgumentError(
            Status.ERR_INVALID_ARG, "%s.fit" % type(est).__name__,
            "parameter '%s' = %d %s" % (arg, value, "cannot pass exactly through a C double"
                                        if inside else "is outside %s%g, %g%s" % (
                                            "(" if lo_open else "[", lo, hi,
                                            ")" if hi_open else "]")))
    if info.type == "bool":
        if not flag:
            raise TypeError("%s takes True or False, got %r (%s)" % (where, value,
                                                                    type(value).__name__))
        return bool(value)
    # a choice: its name, or False / True for the choices that extend a switch
    switch = tuple(info.choices[:2]) == ("false", "true")
    if isinstance(value, str) or (switch and flag):
        return bool(value) if flag else value
    names = [repr(c) for c in info.choices]
    if switch:
        names[:2] = ["False", "True"]
    raise TypeError("%s takes one of %s, got %r (%s)" % (where, ", ".join(names), value,
                                                        type(value).__name__))


_COMMON_DOC = """
    n_jobs: threads of the library's linear algebra for this estimator's
    fit, predict and transform (None: leave the process setting, see
    deepclust.set_threads; -1: every core, -2: all but one, ...); the
    previous setting is restored afterwards. The setting is process-wide
    while the call runs (OpenBLAS has one), so estimators used concurrently
    on several threads should leave it at None. verbose: 0 silent; 1 the
    fit's phases and progress on stderr about once a second; 2 every
    report."""

# Fitted arrays in the data's space, returned in the input's float dtype
# (histories and traces stay float32).
_DATA_ARRAYS = ("cluster_centers_", "embedding_", "q_", "weights_")


class _SolverEstimator(ClusterMixin, BaseEstimator):
    _method = None  # C method name
    # __init__ argument -> solver parameter
    _params = {"n_clusters": "k", "random_state": "seed"}
    # fitted attribute -> solver output ("trace"-like 1 x len outputs become vectors)
    _outputs = {}
    _vector_outputs = {}
    # fitted attribute -> (solver statistic, type)
    _stats = {}

    def _make_solver(self, resume=False):
        # Every argument that is not None is passed on, so that the library
        # treats it as set: a preset then keeps it (and n_clusters, whose
        # library default is 0, is always given). None leaves a parameter
        # unset: the library's default or the preset's value. A resumed fit
        # also leaves unset the arguments equal to their __init__ default,
        # which then take the checkpoint's values (the library refuses a set
        # value that differs from the checkpoint's); random_state=None
        # resumes with the checkpoint's seed instead of drawing a fresh one.
        defaults = _init_defaults(type(self))
        solver = Solver(self._method)
        try:
            for arg, cname in self._params.items():
                value = getattr(self, arg)
                if resume and arg in defaults and _same_value(value, defaults[arg]):
                    continue
                if arg == "random_state":
                    value = _seed(value)
                elif value is None:
                    continue
                self._set_param(solver, arg, cname, value)
        except BaseException:
            solver.close()
            raise
        return solver

    def _set_param(self, solver, arg, cname, value):
        """solver.set(cname, value) with the estimator's argument named in
        every error."""
        try:
            solver.set(cname, _parameter_value(self, solver, arg, cname, value))
        except DeepClustError as e:
            e = self._python_error(e)
            raise type(e)(e.code, e.function, "%s (estimator parameter %s=%r)"
                          % (e.detail, arg, value)) from None

    def _python_error(self, e):
        """e with the C parameter names of its detail replaced by this
        estimator's argument names."""
        names = {cname: arg for arg, cname in self._params.items() if cname != arg}
        detail = _renamed(e.detail, names)
        return e if detail == e.detail else type(e)(e.code, e.function, detail)

    def _reset(self):
        for name in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("_")]:
            del self.__dict__[name]

    def fit(self, X, y=None, progress=None):
        """Clusters X (n_samples, n_features); y is ignored. `progress`, if
        given, is called as progress(phase, done, total, value) during the
        fit; returning True cancels it (CancelledError). Returns self."""
        return self._fit(X, lambda solver, ds, report: solver.fit(ds, progress=report),
                         progress)

    def _dataset(self, X):
        return Dataset(X)

    def _fit(self, X, run, progress, resume=False):
        """Runs run(solver, dataset, progress) on a fresh solver, with the
        estimator's threads and verbosity, and stores the results."""
        X, dtype = as_matrix(X), _result_dtype(X)
        self._reset()
        if self.verbose:
            progress = _Verbose(type(self).__name__, int(self.verbose), progress)
        try:
            with _threads(self.n_jobs), self._make_solver(resume) as solver, \
                    self._dataset(X) as ds:
                try:
                    run(solver, ds, progress)
                except DeepClustError as e:
                    raise self._python_error(e) from None
                self._store(solver, X, dtype)
        except BaseException:
            self._reset()
            raise
        return self

    def _store(self, solver, X, dtype):
        self.labels_ = solver.labels()
        self.n_features_in_ = X.shape[1]
        self.seed_ = solver.get("seed")
        names = set(solver.output_names())
        for attr, name in self._outputs.items():
            if name in names:
                value = solver.output(name)
                if attr in _DATA_ARRAYS:
                    value = value.astype(dtype, copy=False)
                setattr(self, attr, value)
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

    def _check_features(self, X, fn):
        """X as the library reads it, with the column count of the fit."""
        X = as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ShapeError(Status.ERR_SHAPE, "%s.%s" % (type(self).__name__, fn),
                             "X has %d features, but %s is expecting %d features as input"
                             % (X.shape[1], type(self).__name__, self.n_features_in_))
        return X
