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
"""
import contextlib
import inspect
import os
import re
import sys
import time
import warnings

import numpy as np

from . import _lib
from ._arrays import as_matrix
from ._status import DeepClustError, InvalidArgumentError, ShapeError, Status
from .dataset import Dataset
from .model import Model
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


def _renamed(detail, names):
    """The library's detail with C parameter names replaced by the
    estimator's argument names ({c_name: arg}): "k = 1, need k >= 2" reads
    "n_clusters = 1, need n_clusters >= 2" from a Python call."""
    for cname, arg in names.items():
        detail = detail.replace("'%s'" % cname, "'%s'" % arg)
        detail = re.sub(r"(?<![\w'.-])%s(?= (=|>=|<=|<|>) )" % re.escape(cname), arg, detail)
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
        # Arguments left at their __init__ defaults (the library's) are not
        # passed on: the library then treats them as not set, so that a
        # preset chooses their values and a resumed fit keeps the
        # checkpoint's (it refuses other values). random_state=None still
        # draws a fresh seed, except when resuming (the checkpoint's seed).
        defaults = _init_defaults(type(self))
        solver = Solver(self._method)
        try:
            for arg, cname in self._params.items():
                value = getattr(self, arg)
                if (arg in defaults and _same_value(value, defaults[arg])
                        and (resume or arg != "random_state")):
                    continue
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
        dtype = _result_dtype(X)
        X = as_matrix(X)
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


class KMeans(_SolverEstimator):
    __doc__ = """k-means (greedy k-means++ seeding, Lloyd, restarts) on the raw features.

    Fitted attributes: labels_, cluster_centers_ (n_clusters, n_features),
    inertia_, n_iter_, seed_, n_features_in_, stats_ (all solver
    statistics). predict(X) assigns new rows to the nearest centre, from
    cluster_centers_ alone: a pickled, deep-copied or joblib-saved KMeans
    predicts, and labels_ equal predict on the training rows. score(X) is
    minus the k-means objective on X. Fewer distinct points than n_clusters
    give fewer distinct labels and a ConvergenceWarning.
    """ + _COMMON_DOC

    _method = "kmeans"
    _params = dict(_SolverEstimator._params, n_init="n_init", max_iter="max_iter", tol="tol")
    _outputs = {"cluster_centers_": "centers"}
    _stats = {"inertia_": ("inertia", float), "n_iter_": ("iterations", int)}

    def __init__(self, n_clusters=8, *, n_init=10, max_iter=300, tol=1e-4, random_state=None,
                 n_jobs=None, verbose=0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def predict(self, X):
        """Index of the nearest fitted centre for each row of X."""
        self._check_fitted()
        X = self._check_features(X, "predict")
        centres = np.ascontiguousarray(self.cluster_centers_, dtype=np.float32)
        out = np.empty(X.shape[0], dtype=np.int32)
        with _threads(self.n_jobs):
            _lib.lib().dc_assign_nearest(X, X.shape[0], X.shape[1], centres, centres.shape[0],
                                         out)
        return out

    def score(self, X, y=None):
        """Opposite of the k-means objective on X (minus the sum of squared
        distances of its rows to their nearest centre), as scikit-learn's
        KMeans.score: higher is better. y is ignored."""
        labels = self.predict(X)
        X = as_matrix(X).astype(np.float64)
        return -float(((X - self.cluster_centers_[labels].astype(np.float64)) ** 2).sum())

    def _store(self, solver, X, dtype):
        super()._store(solver, X, dtype)
        found = int(self.stats_.get("distinct_clusters", self.n_clusters))
        if found < self.n_clusters:
            warnings.warn("Number of distinct clusters (%d) found smaller than n_clusters (%d). "
                          "Possibly due to duplicate points in X." % (found, self.n_clusters),
                          ConvergenceWarning, stacklevel=4)


def _no_predict(est):
    raise AttributeError(
        "%s has no predict: the spectral embedding exists for the training points only (it is "
        "not extended to new points), so new data cannot be labelled consistently; use "
        "fit_predict(X) on all the data (or labels_ after fit)" % type(est).__name__)


class _SpectralEstimator(_SolverEstimator):
    """NJW and SCDBAS: the warning of a regularised graph, and no predict."""

    predict = property(_no_predict, doc="Not available: see fit_predict.")

    def _store(self, solver, X, dtype):
        super()._store(solver, X, dtype)
        if self.stats_.get("tau", 0) > 0:
            warnings.warn(
                "the affinity graph has %d connected components, more than n_clusters = %d: "
                "the embedding is that of the regularised graph (tau / n = %.3g added to every "
                "affinity); raise n_neighbors or use affinity='dense' for a connected graph, or "
                "disconnected='error' to refuse" % (self.stats_["components"], self.n_clusters,
                                                    self.stats_["tau"] / X.shape[0]),
                UserWarning, stacklevel=4)


_SPECTRAL_PARAMS = dict(_SolverEstimator._params, affinity="affinity", n_neighbors="m",
                        eigensolver="eigensolver", n_init="n_init", pca="pca",
                        sigma_sample="sigma_sample", disconnected="disconnected")
_SPECTRAL_DOC = """
    affinity: "sparse" (default: Gaussian affinity on the symmetrised
    n_neighbors-nearest-neighbour graph), "dense" (all pairs) or "auto"
    (dense up to 4000 points). n_neighbors: neighbours per point of the
    sparse graph; None = max(p, 10) capped at 50 with p = round(n / k^2).
    eigensolver: "auto" | "lapack" | "arpack". pca: components of the
    projection the sparse graph is built on (None = auto: the fewest keeping
    95 % of the variance, at most 50, when there are more than 128 features;
    -1 = raw features). sigma_sample: None = auto (exact sigmas while
    p <= 1000), -1 = exact, s = sampled estimate with about s neighbours.
    disconnected: what a graph with more connected components than
    n_clusters gets -- "regularize" (the default: tau / n added to every
    affinity, tau the mean degree, which connects the graph; a UserWarning
    says so, and stats_["tau"] holds tau) or "error" (DegenerateDataError,
    the strict behaviour).""" + _COMMON_DOC


class NJW(_SpectralEstimator):
    __doc__ = """Spectral clustering of Ng, Jordan & Weiss: spectral embedding
    with the adaptive-sigma affinity, then k-means (n_init restarts) on it.
    """ + _SPECTRAL_DOC + """

    Fitted attributes: labels_, embedding_ (n_samples, n_clusters),
    cluster_centers_ (in the embedding), inertia_ (in the embedding),
    n_iter_, seed_, n_features_in_, stats_. There is no predict: the
    embedding exists for the training points only; use fit_predict.
    """

    _method = "njw"
    _params = _SPECTRAL_PARAMS
    _outputs = {"embedding_": "embedding", "cluster_centers_": "centers"}
    _stats = {"inertia_": ("inertia", float), "n_iter_": ("iterations", int)}

    def __init__(self, n_clusters=8, *, affinity="sparse", n_neighbors=None, eigensolver="auto",
                 n_init=10, pca=None, sigma_sample=None, disconnected="regularize",
                 random_state=None, n_jobs=None, verbose=0):
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.eigensolver = eigensolver
        self.n_init = n_init
        self.pca = pca
        self.sigma_sample = sigma_sample
        self.disconnected = disconnected
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose


class SCDBAS(_SpectralEstimator):
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
    iterations), seed_, n_features_in_, stats_. There is no predict: the
    embedding exists for the training points only; use fit_predict.
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
                 n_init=10, pca=None, sigma_sample=None, disconnected="regularize",
                 dbas_mode="improved", dbas_step=None,
                 dbas_eta=0.95, dbas_c=5.0, dbas_iters=None, dbas_excursion=20, dbas_damp=0.5,
                 dbas_beetles=None, record_undamped=False, random_state=None, n_jobs=None,
                 verbose=0):
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.eigensolver = eigensolver
        self.n_init = n_init
        self.pca = pca
        self.sigma_sample = sigma_sample
        self.disconnected = disconnected
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
        self.n_jobs = n_jobs
        self.verbose = verbose


def _store_args(est, args):
    """__init__ body of the deep estimators: every argument becomes the
    attribute of the same name (scikit-learn: no checks, no changes)."""
    for name, value in args.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _autoencoder(pretrained):
    """The Model a fit starts from: None, a Model, or a fitted deep
    estimator (its pretrained_)."""
    if pretrained is None or isinstance(pretrained, Model):
        return pretrained
    if isinstance(pretrained, _DeepEstimator):
        if not hasattr(pretrained, "pretrained_"):
            raise NotFittedError("pretrained=%s has no pre-trained autoencoder (pretrained_): "
                                 "fit it first" % type(pretrained).__name__)
        return pretrained.pretrained_
    raise TypeError("pretrained must be a deepclust.Model (an autoencoder), a fitted deep "
                    "estimator or None, got %r" % (pretrained,))


# __init__ argument -> solver parameter, shared by EDCWRN, IDEC and DEC.
_DEEP_PARAMS = dict(_SolverEstimator._params, preset="preset", pretrain_steps="pretrain_steps",
                    pretrain_epochs="pretrain_epochs", pretrain_warmup="pretrain_warmup",
                    scale_input="scale_input",
                    pretrain_lr="pretrain_lr", pretrain_momentum="pretrain_momentum",
                    pretrain_optimizer="pretrain_optimizer",
                    pretrain_schedule="pretrain_schedule", batch_size="batch", lr="lr", momentum="momentum",
                    update_interval="update_interval", tol="tol", max_iter="max_iter",
                    n_init="n_init", embed_dim="embed_dim", hidden1="hidden1",
                    hidden2="hidden2", hidden3="hidden3", augment="augment",
                    pretrain_zoom="pretrain_zoom", augment_fill="augment_fill", init="init",
                    gemm_precision="gemm_precision", checkpoint_every="checkpoint_every")

_DEEP_DOC = """
    Network and training (the defaults are the library's; None = the
    library's default for any of them): preset ("default": the library's
    measured recipe; "authors": the EDCWRN authors' published code; either
    gives the values of every argument left at its default, see
    docs/methods.md). hidden1, hidden2, hidden3 (encoder hidden layers; 0
    drops layer 2 or 3; the decoder mirrors them), embed_dim (embedding
    size M). pretrain_steps (0: 500 epochs, at least 2000 and at most 12000
    steps), pretrain_epochs (> 0: the budget in epochs instead),
    pretrain_warmup (learning-rate warm-up steps), pretrain_lr,
    pretrain_momentum, pretrain_optimizer ("adam": Adam, beta1 =
    pretrain_momentum; "sgd": SGD with momentum), pretrain_schedule
    ("cosine" or "constant"): autoencoder pre-training; pretrain_lr 0 = the
    optimiser's default (Adam 0.001, SGD 1.0). scale_input: divide the data
    by a power of two near their 99th percentile of |x| (recorded in the
    model), so that the learning rates act alike on any scaling.
    batch_size: mini-batch of both phases. lr, momentum: clustering phase.
    update_interval: T, clustering iterations between target-distribution
    updates; tol: stop when fewer than this fraction of labels changed
    between two updates; max_iter: clustering iterations (mini-batches).
    n_init: k-means restarts for the initial centres. init: "spectral"
    (the means of the pre-trained embedding over the clusters of spectral
    clustering on it, which are also the first targets) or "kmeans"
    (k-means on the embedding, as DEC, IDEC and the authors). augment: random
    affine augmentation of image batches ("auto": when image_shape = (H, W)
    or (H, W, C) is given; True needs it); pretrain_zoom: zoom range z of
    the pre-training augmentation (scales in [1 - z, 1 + z]); augment_fill:
    what augmented images show outside the image ("nearest" edge pixel or
    "zero"). gemm_precision: "fp32", "bf16" (the networks' matrix
    products with bfloat16 inputs and fp32 sums in both phases, about twice
    as fast; needs a library built with oneDNN and a CPU with AVX512_BF16 or
    AMX, else the fit raises) or "auto" (fp32 in pre-training, bf16 in the
    clustering phase where available). random_state: None (a fresh seed per fit), an int, a
    RandomState or a Generator.

    pretrained: a pre-trained autoencoder (deepclust.Model, e.g. another
    estimator's pretrained_, or that fitted estimator itself) to start from
    instead of pre-training; its layer sizes replace hidden1..3 and
    embed_dim. fit(X, pretrained=...) overrides it for one fit. get_params
    reports a fitted estimator given here by its pretrained_, so clone and
    GridSearchCV keep the autoencoder (a clone of the estimator would be
    unfitted).

    checkpoint: a file to which the fit writes its whole training state
    every checkpoint_every clustering iterations (0 = at every target
    update; a fit that finishes also writes its final state);
    resume(X, checkpoint) continues an interrupted fit and gives the result
    of the uninterrupted one, or continues a finished fit when max_iter is
    set higher (tol may be lowered).

    Fitted attributes: labels_, embedding_ (n_samples, embed_dim),
    cluster_centers_ (n_clusters, embed_dim, in the embedding), q_ (soft
    assignment, n_samples x n_clusters), loss_history_ (one row per
    clustering iteration: total, reconstruction and clustering loss),
    label_change_history_ (one row per target update: iteration, fraction
    of labels changed), n_iter_, converged_, pretrain_loss_, stats_ (all
    statistics, timings included), model_ (deepclust.Model: predict, embed,
    save), pretrained_ (the autoencoder the clustering started from),
    seed_, n_features_in_.

    predict(X) labels new rows with the model (neighbours for the
    neighbour branch come from the rows passed together: predict whole
    data sets or large batches); on the training data it reproduces
    labels_ exactly. transform(X) is the embedding the labels come from
    (fit_transform(X) = embedding_), so the estimator is a Pipeline step.
    score(X) is minus the within-cluster sum of squares of the partition
    predict makes of X, in X's space (rows to the mean of their predicted
    cluster): higher is better, as for KMeans, and comparable between
    models, so GridSearchCV works without a scorer. save(path) writes model_; the class method
    load(path) returns an estimator that predicts (its parameters are
    those recorded in the file; it has no labels_). Pickling keeps the
    model.""" + _COMMON_DOC


class _DeepEstimator(_SolverEstimator):
    _outputs = {"embedding_": "embedding", "cluster_centers_": "centers", "q_": "q",
                "loss_history_": "loss", "label_change_history_": "trace"}
    _stats = {"n_iter_": ("iterations", int), "converged_": ("converged", bool),
              "pretrain_loss_": ("pretrain_loss", float)}

    def _make_solver(self, resume=False):
        solver = super()._make_solver(resume)
        try:
            every = self.checkpoint_every or 0
            if self.checkpoint is not None:
                solver.set_checkpoint(self.checkpoint, every or solver.get("update_interval"))
            elif every:
                raise InvalidArgumentError(
                    Status.ERR_INVALID_ARG, "%s.fit" % type(self).__name__,
                    "checkpoint_every=%r needs a checkpoint file (checkpoint=path)" % (every,))
        except BaseException:
            solver.close()
            raise
        return solver

    def _dataset(self, X):
        ds = Dataset(X)
        if self.image_shape is not None:
            try:
                ds.set_image_shape(*self.image_shape)
            except BaseException:
                ds.close()
                raise
        return ds

    def fit(self, X, y=None, pretrained=None, progress=None):
        """Pre-trains the autoencoder (unless a pre-trained one is given:
        `pretrained` here or in __init__), then clusters X (n_samples,
        n_features); y is ignored. `progress(phase, done, total, value)`
        is called during the fit; returning True cancels it. Returns self."""
        ae = _autoencoder(self.pretrained if pretrained is None else pretrained)

        def run(solver, ds, report):
            if ae is not None:
                solver.use_pretrained(ae)
            solver.fit(ds, progress=report)

        return self._fit(X, run, progress)

    def resume(self, X, path, progress=None, *, max_iter=None, tol=None):
        """Continues the fit saved in the checkpoint file `path` on the same
        X (StateError if X differs) with the checkpoint's hyper-parameters
        (see model_.params()); the result equals that of the uninterrupted
        fit. max_iter: where the fit now stops, at least the checkpoint's
        iteration; a fit that finished wrote a checkpoint of its end, which
        a larger max_iter continues. tol may be kept or lowered. Estimator
        arguments left at their defaults (random_state None included) take
        the checkpoint's values; max_iter and tol set here or in __init__
        apply as above; any other argument set to another value than the
        checkpoint's raises InvalidArgumentError. Returns self."""
        def run(solver, ds, report):
            for name, value in (("max_iter", max_iter), ("tol", tol)):
                if value is not None:
                    solver.set(name, value)
            solver.resume(ds, path, progress=report)

        return self._fit(X, run, progress, resume=True)

    def _store(self, solver, X, dtype):
        super()._store(solver, X, dtype)
        # Histories are absent when no iteration / update ran (max_iter = 0).
        if not hasattr(self, "loss_history_"):
            self.loss_history_ = np.empty((0, 3), dtype=np.float32)
        if not hasattr(self, "label_change_history_"):
            self.label_change_history_ = np.empty((0, 2), dtype=np.float32)
        self.model_ = solver.model()
        self.pretrained_ = solver.pretrained()

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("this %s instance is not fitted yet: call fit (or load)"
                                 % type(self).__name__)

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        ae = params.get("pretrained")
        if isinstance(ae, _DeepEstimator) and hasattr(ae, "pretrained_"):
            # clone() rebuilds estimator-valued parameters unfitted; the
            # autoencoder is what a fit uses, and a Model clones by value.
            params = {k: v for k, v in params.items() if not k.startswith("pretrained__")}
            params["pretrained"] = ae.pretrained_
        return params

    def predict(self, X):
        """Cluster labels of the rows of X by the fitted model."""
        self._check_fitted()
        X = self._check_features(X, "predict")
        with _threads(self.n_jobs):
            return self.model_.predict(X)

    def embed(self, X):
        """Embeddings (n, embed_dim) float32 of the rows of X by the fitted
        model (see transform for the input's dtype)."""
        self._check_fitted()
        X = self._check_features(X, "embed")
        with _threads(self.n_jobs):
            return self.model_.embed(X)

    def transform(self, X):
        """The embedding (n, embed_dim) of the rows of X that predict labels
        them by, in X's float dtype (float32 for float32 input, else
        float64)."""
        return self.embed(X).astype(_result_dtype(X), copy=False)

    def fit_transform(self, X, y=None, **fit_params):
        """fit(X, **fit_params) and return embedding_."""
        return self.fit(X, **fit_params).embedding_

    def score(self, X, y=None):
        """Minus the within-cluster sum of squares of the partition predict
        makes of X, in X's own space (squared distances of the rows to the
        mean of their predicted cluster): higher is better. Unlike a loss or
        distances in the embedding, which each model scales its own way,
        it compares models fitted with different parameters. y is ignored."""
        labels = self.predict(X)
        x = as_matrix(X).astype(np.float64)
        sums = np.zeros((int(labels.max()) + 1, x.shape[1]))
        np.add.at(sums, labels, x)
        means = sums / np.bincount(labels)[:, None].clip(min=1)
        return -float(((x - means[labels]) ** 2).sum())

    def _more_tags(self):
        return {"preserves_dtype": [np.float64, np.float32]}

    def save(self, path):
        """Writes the fitted model (model_) to `path`; see load."""
        self._check_fitted()
        self.model_.save(path)

    @classmethod
    def load(cls, path):
        """An estimator holding the model saved in `path` (by save, the CLI
        or the C API): predict and embed work, the parameters are those of
        the fit that made the model, labels_ and the other fit results are
        not stored in the file."""
        model = Model.load(path)
        if model.is_autoencoder or model.method != cls._method:
            what = ("a pre-trained %s autoencoder (use it as pretrained=)" % model.method
                    if model.is_autoencoder else "a %s model" % model.method)
            model.close()
            raise ValueError("%s holds %s, not a %s model" % (path, what, cls.__name__))
        recorded = model.params()
        args = {arg: recorded[cname] for arg, cname in cls._params.items()
                if cname in recorded and cname != "checkpoint_every"}
        est = cls(**args)
        est.model_ = model
        est.n_features_in_ = model.input_dim
        return est


class EDCWRN(_DeepEstimator):
    __doc__ = """Deep clustering with local representation weighting and a
    neighbour-max encoder branch (EDCWRN): an autoencoder trained jointly
    with a clustering layer whose kernel q = 1 / (1 + a s^b) uses the
    per-cluster weighted distance s = sum_m w_jm (z_m - r_jm)^2.

    lam: weight of the clustering loss, L = L_r + lam L_c (the paper's
    lambda). a, b: kernel. alpha, beta: representation weighting
    (weighting=False: plain squared distance). neighbors_k: neighbours per
    sample of the max branch (neighbors=False: no branch). formulation:
    "proposed" (the kernel above with cross-entropy) or "idec" (Student-t
    with KL). ce_normalized: cross-entropy against q normalised over the
    clusters (as the authors' code). weighting_scale: "raw" (Eq. 15 on the
    embedding) or "standardized" (on the embedding divided per dimension by
    its standard deviation). weighting_norm: "mean" (the kernel's distance is
    M sum_m w_jm (z_m - r_jm)^2, so uniform weights give the plain squared
    distance) or "sum" (sum_m w_jm (...)^2 with rows of w summing to 1).
    """ + _DEEP_DOC + """
    weights_ (n_clusters, embed_dim): the representation weights.
    """

    _method = "edcwrn"
    _params = dict(_DEEP_PARAMS, lam="lambda", a="a", b="b", alpha="alpha", beta="beta",
                   neighbors_k="neighbors_k", weighting="weighting", neighbors="neighbors",
                   formulation="formulation", ce_normalized="ce_normalized",
                   weighting_scale="weighting_scale", weighting_norm="weighting_norm")
    _outputs = dict(_DeepEstimator._outputs, weights_="weights")

    def __init__(self, n_clusters=8, *, lam=0.1, a=1.93, b=0.79, alpha=2.0, beta=2.0,
                 neighbors_k=2, weighting=True, neighbors=True, formulation="proposed",
                 ce_normalized=True, weighting_scale="raw", weighting_norm="mean",
                 hidden1=500, hidden2=500, hidden3=2000, embed_dim=10,
                 preset="default", pretrain_steps=0, pretrain_epochs=0,
                 pretrain_warmup=1000, pretrain_lr=0.0, pretrain_momentum=0.9,
                 pretrain_optimizer="adam", pretrain_schedule="cosine", batch_size=256,
                 lr=0.1, momentum=0.9, update_interval=140, tol=0.001, max_iter=8000,
                 n_init=20, init="spectral", augment="auto",
                 pretrain_zoom=0.1, augment_fill="zero", gemm_precision="auto", scale_input=True, image_shape=None, pretrained=None,
                 checkpoint=None, checkpoint_every=0, random_state=None, n_jobs=None,
                 verbose=0):
        _store_args(self, locals())


class IDEC(_DeepEstimator):
    __doc__ = """Improved deep embedded clustering (Guo et al. 2017): an
    autoencoder trained jointly with a Student-t clustering layer, L = L_r +
    lam KL(P || Q) (lam: the paper's gamma; the solver parameter "lambda").
    """ + _DEEP_DOC

    _method = "idec"
    _params = dict(_DEEP_PARAMS, lam="lambda")

    def __init__(self, n_clusters=8, *, lam=0.1, hidden1=500, hidden2=500, hidden3=2000,
                 embed_dim=10, preset="default", pretrain_steps=0, pretrain_epochs=0,
                 pretrain_warmup=1000, pretrain_lr=0.0, pretrain_momentum=0.9,
                 pretrain_optimizer="adam", pretrain_schedule="cosine", batch_size=256, lr=0.1, momentum=0.9, update_interval=140, tol=0.001,
                 max_iter=8000, n_init=20, init="spectral", augment="auto",
                 pretrain_zoom=0.1, augment_fill="zero", gemm_precision="auto", scale_input=True, image_shape=None, pretrained=None,
                 checkpoint=None, checkpoint_every=0, random_state=None, n_jobs=None,
                 verbose=0):
        _store_args(self, locals())


class DEC(_DeepEstimator):
    __doc__ = """Deep embedded clustering (Xie et al. 2016): a pre-trained
    encoder fine-tuned with the Student-t clustering layer and KL(P || Q)
    only (the decoder is dropped after pre-training).
    """ + _DEEP_DOC

    _method = "dec"
    _params = _DEEP_PARAMS

    def __init__(self, n_clusters=8, *, hidden1=500, hidden2=500, hidden3=2000, embed_dim=10,
                 preset="default", pretrain_steps=0, pretrain_epochs=0,
                 pretrain_warmup=1000, pretrain_lr=0.0, pretrain_momentum=0.9,
                 pretrain_optimizer="adam", pretrain_schedule="cosine", batch_size=256,
                 lr=0.01, momentum=0.9, update_interval=140, tol=0.001, max_iter=8000,
                 n_init=20, init="spectral", augment="auto",
                 pretrain_zoom=0.1, augment_fill="zero", gemm_precision="auto", scale_input=True, image_shape=None, pretrained=None, checkpoint=None,
                 checkpoint_every=0, random_state=None, n_jobs=None,
                 verbose=0):
        _store_args(self, locals())
