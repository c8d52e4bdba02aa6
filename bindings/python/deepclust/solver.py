"""The generic dc_solver handle (include/deepclust/solver.h): every method,
every parameter by name, every output and statistic. The estimators in
deepclust.estimators are built on it."""
import collections
import ctypes
import threading

import numpy as np

from . import _lib
from ._status import CancelledError
from .dataset import Dataset
from .model import Model

PARAM_TYPES = ("int", "real", "bool", "choice")  # dc_param_type order

ParamInfo = collections.namedtuple("ParamInfo",
                                   "name type default min max help choices")
ParamInfo.__doc__ = """One solver parameter: type is "int", "real", "bool" or
"choice"; default/min/max are the C values (a choice's are indices);
choices is a tuple of names for "choice" parameters, () otherwise."""


def typed_value(info, raw):
    """A parameter's C double as its Python type (ParamInfo `info`): int,
    bool, the choice name, or float. Choices that extend a switch
    ("false|true|auto": augment, weighting) give False and True for their
    first two values, as the switch they were."""
    if info.type == "int":
        return int(raw)
    if info.type == "bool":
        return raw != 0
    if info.type == "choice":
        name = info.choices[int(raw)]
        if tuple(info.choices[:2]) == ("false", "true") and name in ("false", "true"):
            return name == "true"
        return name
    return raw


def methods():
    """Names of the methods built into the loaded library."""
    lib = _lib.lib()
    return [_lib.pystr(lib.dc_solver_method_name(i)) for i in range(lib.dc_solver_method_count())]


class _Progress:
    """Adapts a Python callable ``fn(phase, done, total, value) -> bool|None``
    (True cancels) to dc_progress_fn. An exception in ``fn`` cancels the C
    call and is re-raised from the Python call that ran it."""

    def __init__(self, fn):
        self.fn = fn
        self.error = None
        self.c_fn = _lib.PROGRESS_FN(self._call)  # kept alive by self

    def _call(self, _user, phase, done, total, value):
        try:
            return 1 if self.fn(_lib.pystr(phase), done, total, value) else 0
        except BaseException as e:  # noqa: B902 - re-raised by the caller
            self.error = e
            return 1


class Solver(_lib.Handle):
    """A clustering solver: ``Solver("scdbas", k=3, seed=1).fit(X).labels()``.

    Parameters are set by name (``set``/keyword arguments) and checked by the
    library (out of bounds: InvalidArgumentError; unknown: UnknownNameError).
    Strings set choice parameters by name and booleans take True/False.
    Free the handle with :meth:`close` or a ``with`` block (or leave it to
    the garbage collector).
    """

    def __init__(self, method, **params):
        lib = _lib.lib()
        handle = _lib.SolverP()
        lib.dc_solver_create(ctypes.byref(handle), _lib.cstr(method))
        self._own(lib, handle, lib.dc_solver_free)
        for name, value in params.items():
            self.set(name, value)

    @property
    def method(self):
        return _lib.pystr(self._lib.dc_solver_method(self.handle))

    def __reduce__(self):
        raise TypeError(
            "a deepclust.Solver holds a C solver handle: it cannot be pickled or copied. "
            "Another solver with the same parameters: Solver(s.method, **s.get_params()); "
            "keep the results instead (s.labels(), s.outputs(), s.stats(), s.model(): a Model "
            "pickles), or use an estimator (deepclust.KMeans, ..., EDCWRN), which pickles")

    def __repr__(self):
        if self.closed:
            return "<deepclust.Solver (closed)>"
        return "<deepclust.Solver %r>" % self.method

    # -- parameters -------------------------------------------------------

    def param_names(self):
        h = self.handle
        return [_lib.pystr(self._lib.dc_solver_param_name(h, i))
                for i in range(self._lib.dc_solver_param_count(h))]

    def param_info(self, name):
        t = ctypes.c_int()
        d, lo, hi = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        h, cname = self.handle, _lib.cstr(name)
        self._lib.dc_solver_param_info(h, cname, ctypes.byref(t), ctypes.byref(d),
                                       ctypes.byref(lo), ctypes.byref(hi))
        choices = _lib.pystr(self._lib.dc_solver_param_choices(h, cname))
        return ParamInfo(name, PARAM_TYPES[t.value], d.value, lo.value, hi.value,
                         _lib.pystr(self._lib.dc_solver_param_help(h, cname)),
                         tuple(choices.split("|")) if choices else ())

    def param_bounds(self, name):
        """(min, min_open, max, max_open): the bounds as the table states them,
        with whether each is excluded (lr: (0.0, True, 1e30, False)).
        param_info's min/max are the accepted values nearest to them."""
        lo, hi = ctypes.c_double(), ctypes.c_double()
        lo_open, hi_open = ctypes.c_int(), ctypes.c_int()
        self._lib.dc_solver_param_bounds(self.handle, _lib.cstr(name), ctypes.byref(lo),
                                         ctypes.byref(lo_open), ctypes.byref(hi),
                                         ctypes.byref(hi_open))
        return lo.value, bool(lo_open.value), hi.value, bool(hi_open.value)

    def params(self):
        """{name: ParamInfo} of every parameter of the method."""
        return {name: self.param_info(name) for name in self.param_names()}

    def set(self, name, value):
        """Sets one parameter: a number, a bool, or a choice name (str)."""
        h, cname = self.handle, _lib.cstr(name)
        if isinstance(value, str):
            self._lib.dc_solver_set_str(h, cname, _lib.cstr(value))
        else:
            self._lib.dc_solver_set(h, cname, _lib.as_c_double(
                "parameter %r (a number, a bool or a choice name)" % name, value))
        return self

    def get(self, name):
        """The current value, typed: int, float, bool, or the choice name."""
        v = ctypes.c_double()
        self._lib.dc_solver_get(self.handle, _lib.cstr(name), ctypes.byref(v))
        return typed_value(self.param_info(name), v.value)

    def get_params(self):
        return {name: self.get(name) for name in self.param_names()}

    # -- fitting ----------------------------------------------------------

    def _run(self, fn, progress, *args):
        """Runs a fitting C call (Ctrl-C stops it: see _interruptible) with
        an optional progress callable installed."""
        if progress is None:
            return self._interruptible(fn, *args)
        cb = _Progress(progress)
        self._lib.dc_solver_set_progress(self.handle, cb.c_fn, None)
        try:
            return self._interruptible(fn, *args)
        except CancelledError:
            if cb.error is not None:
                raise cb.error
            raise
        finally:
            self._lib.dc_solver_set_progress(self.handle, _lib.NO_PROGRESS, None)

    def _interruptible(self, fn, *args):
        """fn(*args) on a worker thread while this one waits. Python runs
        its signal handlers on the main thread between bytecodes, never
        during a C call: waiting in Event.wait instead, the main thread gets
        KeyboardInterrupt (or whatever a handler raises: a SIGALRM timeout,
        SystemExit from a SIGTERM handler) at once. It then asks the library
        to stop (dc_solver_cancel, repeated until the call returns: a
        request that comes before the fit starts is not kept) and raises
        only when the worker has returned, since the caller frees the
        solver and the data the C call is reading as soon as it raises.
        Ctrl-C becomes KeyboardInterrupt("deepclust: the fit was
        cancelled"); any other exception is re-raised as it was. Elsewhere
        than the main thread signals never arrive, and the call runs
        directly."""
        if threading.current_thread() is not threading.main_thread():
            return fn(*args)
        outcome = {}
        # The worker's own end signal: after a KeyboardInterrupt inside
        # Thread.join, is_alive() may already say False (CPython 3.11).
        finished = threading.Event()

        def work():
            try:
                outcome["value"] = fn(*args)
            except BaseException as e:  # noqa: B902 - re-raised on the caller's thread
                outcome["error"] = e
            finally:
                finished.set()

        worker = threading.Thread(target=work, name="deepclust-fit", daemon=True)
        worker.start()
        stop = None  # the exception that interrupted the wait: raised once the worker ends
        while not finished.is_set():
            try:
                if stop is not None:
                    self._lib.dc_solver_cancel(self.handle)
                    finished.wait(0.05)
                else:
                    finished.wait()
            except BaseException as e:  # noqa: B902 - re-raised below, after the worker
                if stop is None:
                    stop = e  # a later one (another Ctrl-C) while stopping: keep waiting
        worker.join()
        if isinstance(stop, KeyboardInterrupt):
            raise KeyboardInterrupt("deepclust: the fit was cancelled")
        if stop is not None:
            raise stop
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def fit(self, X, progress=None):
        """Fits on X (array-like (n, d) or a Dataset). A C-contiguous float32
        array is borrowed for the call, not copied. `progress(phase, done,
        total, value)` is called during the fit; returning True cancels
        (CancelledError). Returns self."""
        if isinstance(X, Dataset):
            self._run(self._lib.dc_solver_fit, progress, self.handle, X.handle)
        else:
            with Dataset(X) as ds:
                self._run(self._lib.dc_solver_fit, progress, self.handle, ds.handle)
        return self

    def labels(self):
        """Labels of the last fit (int32, values 0..k-1)."""
        n = ctypes.c_int64()
        self._lib.dc_solver_labels(self.handle, None, 0, ctypes.byref(n))
        out = np.empty(n.value, dtype=np.int32)
        self._lib.dc_solver_labels(self.handle, out, out.shape[0], ctypes.byref(n))
        return out

    def has_output(self, name):
        """Whether a successful fit with the current parameters gives the
        named output (answered before any fit): "centers" for every method,
        "embedding" for all but kmeans, ... Outputs that depend on a
        parameter follow its current value (scdbas "trace_undamped" needs
        record_undamped; the deep methods' "loss" and "trace" max_iter > 0)."""
        return bool(self._lib.dc_solver_has_output(self.handle, _lib.cstr(name)))

    def output_names(self):
        h = self.handle
        return [_lib.pystr(self._lib.dc_solver_output_name(h, i))
                for i in range(self._lib.dc_solver_output_count(h))]

    def output(self, name):
        """A named float32 matrix of the last fit ("centers", "embedding",
        "trace", ...), as a new (rows, cols) array."""
        rows, cols = ctypes.c_int64(), ctypes.c_int64()
        h, cname = self.handle, _lib.cstr(name)
        self._lib.dc_solver_output(h, cname, None, 0, ctypes.byref(rows), ctypes.byref(cols))
        out = np.empty((rows.value, cols.value), dtype=np.float32)
        self._lib.dc_solver_output(h, cname, out, out.size, ctypes.byref(rows),
                                   ctypes.byref(cols))
        return out

    def outputs(self):
        return {name: self.output(name) for name in self.output_names()}

    def stat_names(self):
        h = self.handle
        return [_lib.pystr(self._lib.dc_solver_stat_name(h, i))
                for i in range(self._lib.dc_solver_stat_count(h))]

    def stat(self, name):
        v = ctypes.c_double()
        self._lib.dc_solver_stat(self.handle, _lib.cstr(name), ctypes.byref(v))
        return v.value

    def stats(self):
        """{name: value} of every statistic of the last fit (timings, inertia...)."""
        return {name: self.stat(name) for name in self.stat_names()}

    def predict(self, X):
        """Labels for new rows, for methods that support it (kmeans);
        others raise UnsupportedError."""
        if isinstance(X, Dataset):
            return self._predict(X)
        with Dataset(X) as ds:
            return self._predict(ds)

    def _predict(self, ds):
        out = np.empty(len(ds), dtype=np.int32)
        self._lib.dc_solver_predict(self.handle, ds.handle, out, out.shape[0])
        return out

    # -- deep methods (edcwrn, idec, dec): models and checkpoints ---------

    def model(self):
        """A copy of the fitted clustering model (deepclust.Model); other
        methods raise UnsupportedError, an unfitted solver StateError."""
        return Model._take(self._lib, self._lib.dc_solver_model, self.handle)

    def pretrained(self):
        """A copy of the autoencoder the last fit started clustering from
        (pre-trained by it, or the one given to use_pretrained)."""
        return Model._take(self._lib, self._lib.dc_solver_pretrained, self.handle)

    def use_pretrained(self, model):
        """Following fits skip pre-training and start from a copy of the
        autoencoder `model` (a Model with is_autoencoder True); None
        restores pre-training. Its layer sizes replace embed_dim and
        hidden1..3."""
        self._lib.dc_solver_use_pretrained(self.handle, None if model is None else model.handle)
        return self

    def set_checkpoint(self, path, every):
        """Following fits write their whole training state to `path`
        (atomically): in pre-training every `every` steps and after the
        last one, then at clustering iteration 0 and every `every`
        iterations; path None turns checkpoints off."""
        self._lib.dc_solver_set_checkpoint(self.handle, None if path is None else
                                           _lib.cstr(path), 0 if path is None else int(every))
        return self

    def resume(self, X, path, progress=None):
        """Continues the fit saved in the checkpoint `path` on the same data
        X (verified: StateError if it differs). The checkpoint's parameters
        replace the solver's, except checkpoint_every and those set with
        set() on this solver: max_iter continues the fit to that many
        iterations (at least the checkpoint's iteration; a fit that finished
        wrote a checkpoint of its end), tol may be kept or lowered, any
        other must equal the checkpoint's value (InvalidArgumentError
        otherwise, and the parameters stay as they were). The result equals
        the uninterrupted fit's. Returns self."""
        cpath = _lib.cstr(path)
        if isinstance(X, Dataset):
            self._run(self._lib.dc_solver_resume, progress, self.handle, X.handle, cpath)
        else:
            with Dataset(X) as ds:
                self._run(self._lib.dc_solver_resume, progress, self.handle, ds.handle, cpath)
        return self
