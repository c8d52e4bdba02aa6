"""The damped beetle antennae search as a general minimiser
(include/deepclust/dbas.h), with a Python fitness function."""
import collections
import ctypes
import math

import numpy as np

from . import _lib
from ._status import NumericError

DBASResult = collections.namedtuple("DBASResult",
                                    "x fitness trace trace_current n_evaluations")
DBASResult.__doc__ = """Result of dbas_minimize: x, the best point seen
(float64 (dim,)); fitness, f(x); trace, the best fitness so far at the start
and after each iteration (iterations + 1 values, non-increasing);
trace_current, the lowest fitness of the beetles' current positions after
each iteration (shows the oscillation damping reduces); n_evaluations, the
number of calls of f."""


class _Fitness:
    """Adapts f(x) -> float to dc_fitness_fn. An exception in f makes the
    callback return NaN, which stops the search with DC_ERR_NUMERIC; the
    caller then re-raises the stored exception instead."""

    def __init__(self, f):
        self.f = f
        self.error = None
        self.calls = 0
        self.c_fn = _lib.FITNESS_FN(self._call)  # kept alive by self

    def _call(self, x, dim, _user):
        if self.error is not None:  # the search stops at this NaN; never call f again
            return math.nan
        self.calls += 1
        try:
            # A copy: the C buffer is only valid during this call.
            point = np.ctypeslib.as_array(x, shape=(dim,)).copy()
            point.flags.writeable = False
            return float(self.f(point))
        except BaseException as e:  # noqa: B902 - re-raised by dbas_minimize
            self.error = e
            return math.nan


def dbas_minimize(f, x0, *, step=None, eta=None, c=None, iterations=100, damp=None,
                  beetles=None, seed=None):
    """Minimises f: R^dim -> R with the damped beetle antennae search.

    f(x) takes a read-only float64 array (dim,) and returns a number (+inf
    marks an infeasible point; NaN is an error). x0: the start point (dim,)
    for every beetle, or one row per beetle (beetles, dim) -- then beetles
    defaults to its row count. iterations: >= 1 (100 as in the paper and
    the library). Other options (None = the library default: the paper's
    step 0.1, eta 0.95, c 5, damp 0.5; one beetle; seed 0): step, the
    initial step length; eta, its decay per iteration; c, the step /
    antenna-length ratio; damp in [0, 1), 0 = the plain beetle antennae
    search; beetles, independent searches sharing the best point; seed of
    the random directions (same seed, same result).

    Each beetle calls f three times per iteration, in a fixed order on the
    calling thread. An exception raised by f stops the search and is
    re-raised here. Returns a DBASResult.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim not in (1, 2) or x0.size == 0:
        raise ValueError("x0 must be a point (dim,) or one point per beetle (beetles, dim), got "
                         "shape %s" % (x0.shape,))
    start = np.ascontiguousarray(np.atleast_2d(x0))
    rows, dim = start.shape
    if x0.ndim == 2 and beetles is None:
        beetles = rows
    lib = _lib.lib()
    cfg = _lib.config_struct(lib.dc_dbas_config_size, lib.dc_dbas_config_default,
                             lib.dc_dbas_config_set,
                             {"step": step, "eta": eta, "c": c, "iterations": iterations,
                              "damp": damp, "beetles": beetles, "seed": seed})
    n_iter = max(int(iterations), 0)  # sizes the traces; the library checks the range
    best = np.empty(dim, dtype=np.float64)
    f_best = ctypes.c_double()
    trace = np.empty(n_iter + 1, dtype=np.float64)
    trace_current = np.empty(n_iter + 1, dtype=np.float64)
    fitness = _Fitness(f)
    try:
        lib.dc_dbas_minimize(fitness.c_fn, None, dim, start, rows, cfg, best,
                             ctypes.byref(f_best), trace, trace_current)
    except NumericError:
        if fitness.error is not None:
            raise fitness.error from None
        raise
    return DBASResult(best, f_best.value, trace, trace_current, fitness.calls)

