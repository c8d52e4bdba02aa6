"""Process-wide settings (include/deepclust/core.h) and library information."""
import threading

from . import _lib

LOG_LEVELS = ("error", "warn", "info", "debug")  # dc_log_level order

_log_lock = threading.Lock()
_log_callback = None  # the installed ctypes callback, kept alive while C holds it


def library_version():
    """dc_version_string() of the loaded library."""
    return _lib.pystr(_lib.lib().dc_version_string())


def library_path():
    """Path of the loaded library (loading it if needed)."""
    return _lib.lib().path


def load_library(path=None):
    """Loads libdeepclust now: from `path` if given (it then replaces any
    library loaded before), else by the usual lookup. Returns its path.
    Raises LibraryError if the file cannot be loaded or its version differs
    from this package's."""
    return _lib.load(path).path


def set_threads(n):
    """Threads of the dense linear algebra (OpenBLAS), process-wide; n >= 1."""
    _lib.lib().dc_set_threads(int(n))


def get_threads():
    return _lib.lib().dc_get_threads()


def set_log(fn, level="info"):
    """Routes the library's log to ``fn(level_name, message)`` for messages
    at or below `level` ("error" | "warn" | "info" | "debug"); None silences
    it (the default). fn runs on the thread making the library call;
    exceptions in it are printed and ignored."""
    global _log_callback
    try:
        max_level = LOG_LEVELS.index(level)
    except ValueError:
        raise ValueError("level must be one of %s, got %r" % ("|".join(LOG_LEVELS), level)) from None
    lib = _lib.lib()
    with _log_lock:
        if fn is None:
            lib.dc_set_log(_lib.NO_LOG, None, 0)
            _log_callback = None
            return

        def call(_user, lvl, message):
            name = LOG_LEVELS[lvl] if 0 <= lvl < len(LOG_LEVELS) else str(lvl)
            fn(name, _lib.pystr(message))

        cb = _lib.LOG_FN(call)
        lib.dc_set_log(cb, None, max_level)
        _log_callback = cb
