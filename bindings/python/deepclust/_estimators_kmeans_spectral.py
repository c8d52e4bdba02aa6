"""The k-means and spectral estimators: KMeans, NJW, SCDBAS."""
import warnings

import numpy as np

from . import _lib
from ._arrays import as_matrix
from ._estimators_base import _COMMON_DOC, ConvergenceWarning, _SolverEstimator, _threads


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
    sparse graph; None = min(10, n - 1) (10 as scikit-learn's n_neighbors).
    eigensolver: "auto" (ARPACK; LAPACK when n <= 64 or n_clusters > n / 4,
    and as the fallback if ARPACK fails on a matrix that fits densely),
    "lapack" or "arpack". pca: components of the projection the sparse
    graph is built on (None = auto: with the sparse affinity and more than
    128 features, the fewest keeping 95 % of the variance, at most 50; -1 =
    raw features). sigma_sample: None = auto (exact sigmas while p <= 1000
    or with the dense affinity, else sampled with 128), -1 = exact, s =
    each sigma estimated from a uniform sample holding about s of its p
    nearest. disconnected: what a graph with more connected components than
    n_clusters gets -- "regularize" (the default: tau / n added to every
    affinity, tau the mean degree, which connects the graph; a UserWarning
    says so, and stats_["tau"] holds tau) or "error" (DegenerateDataError,
    the strict behaviour).

    Ctrl-C (KeyboardInterrupt) stops a fit at its next check, but two steps
    are single uninterruptible calls, after which it takes effect: a LAPACK
    eigendecomposition (eigensolver="lapack"; "auto" uses LAPACK when n <=
    64 or n_clusters > n / 4, and when ARPACK fails), whose time grows as
    n^3 (seconds to minutes for thousands of points), and the dense
    affinity's n x n matrix (affinity="dense", or "auto" up to 4000
    points). ARPACK (the default) checks between its iterations.""" + _COMMON_DOC


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
