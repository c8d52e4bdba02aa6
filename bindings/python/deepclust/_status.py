"""Status codes of include/deepclust/status.h and the exceptions raised for them.

The C library pins its status values (they never change between releases), so
they are written out here; tests/python/test_binding_library.py checks them
against the header. Every failing C call raises the DeepClustError subclass of
its code. Subclasses for bad input also derive from ValueError, as scikit-learn
users expect.
"""
import enum


class Status(enum.IntEnum):
    """dc_status values (include/deepclust/status.h)."""

    OK = 0
    ERR_NULL = -1
    ERR_INVALID_ARG = -2
    ERR_SHAPE = -3
    ERR_NONFINITE = -4
    ERR_NOMEM = -5
    ERR_IO = -6
    ERR_FORMAT = -7
    ERR_TRUNCATED = -8
    ERR_UNSUPPORTED = -9
    ERR_K_RANGE = -10
    ERR_DEGENERATE = -11
    ERR_NOT_CONVERGED = -12
    ERR_NUMERIC = -13
    ERR_STATE = -14
    ERR_CHECKSUM = -15
    ERR_VERSION = -16
    ERR_CANCELLED = -17
    ERR_UNKNOWN_NAME = -18
    ERR_INTERNAL = -19


def _describe(status):
    """dc_strerror(status) if the library is loaded, else a generic text."""
    from . import _lib  # late: _lib imports this module

    text = _lib.strerror(status)
    return text if text is not None else "status %d" % status


class DeepClustError(Exception):
    """A libdeepclust call failed.

    Attributes: ``code`` (a :class:`Status`, or the raw int for a code this
    package does not know), ``status_name`` ("DC_ERR_K_RANGE"),
    ``function`` (the C function that failed), ``detail``
    (``dc_last_error()`` right after the failure) and ``reason``
    (``dc_strerror(code)``). The message (``str``) is the detail alone,
    which already says where ("scdbas: n_clusters = 1, ..."); the generic
    reason when the library gave no detail.
    """

    code = None  # set on each subclass; instances set their own

    def __init__(self, status, name, detail=""):
        super().__init__(status, name, detail)
        try:
            self.code = Status(status)
        except ValueError:
            self.code = status
        self.function = name
        self.detail = detail
        self.reason = _describe(status)

    @property
    def status_name(self):
        """"DC_ERR_K_RANGE" etc. (the C enum constant)."""
        return "DC_" + self.code.name if isinstance(self.code, Status) else str(self.code)

    def __str__(self):
        return self.detail or "%s (%s)" % (self.reason, self.function)


class NullArgumentError(DeepClustError, ValueError):
    code = Status.ERR_NULL


class InvalidArgumentError(DeepClustError, ValueError):
    code = Status.ERR_INVALID_ARG


class ShapeError(DeepClustError, ValueError):
    code = Status.ERR_SHAPE


class NonFiniteError(DeepClustError, ValueError):
    code = Status.ERR_NONFINITE


class OutOfMemoryError(DeepClustError, MemoryError):
    code = Status.ERR_NOMEM


class FileIOError(DeepClustError, OSError):
    """A file could not be opened, read or written: also an OSError, as
    Python's own file errors are. The library's detail names the file and
    the system's reason; errno and filename are not known separately
    (None)."""

    code = Status.ERR_IO

    def __init__(self, status, name, detail=""):
        super().__init__(status, name, detail)
        # OSError.__init__ read the arguments as (errno, strerror, filename)
        # and kept two of them as args.
        self.args = (status, name, detail)
        self.errno, self.strerror, self.filename = None, detail or None, None


class FileFormatError(DeepClustError, ValueError):
    code = Status.ERR_FORMAT


class TruncatedFileError(DeepClustError, ValueError):
    code = Status.ERR_TRUNCATED


class UnsupportedError(DeepClustError):
    code = Status.ERR_UNSUPPORTED


class KRangeError(DeepClustError, ValueError):
    code = Status.ERR_K_RANGE


class DegenerateDataError(DeepClustError, ValueError):
    code = Status.ERR_DEGENERATE


class NotConvergedError(DeepClustError):
    code = Status.ERR_NOT_CONVERGED


class NumericError(DeepClustError, ArithmeticError):
    code = Status.ERR_NUMERIC


class StateError(DeepClustError):
    code = Status.ERR_STATE


class ChecksumError(DeepClustError):
    code = Status.ERR_CHECKSUM


class VersionError(DeepClustError):
    code = Status.ERR_VERSION


class CancelledError(DeepClustError):
    code = Status.ERR_CANCELLED


class UnknownNameError(DeepClustError, ValueError):
    code = Status.ERR_UNKNOWN_NAME


class InternalError(DeepClustError):
    code = Status.ERR_INTERNAL


_BY_CODE = {cls.code: cls for cls in DeepClustError.__subclasses__()}


def error_class(status):
    """The exception class raised for a status code."""
    return _BY_CODE.get(status, DeepClustError)


class LibraryError(ImportError):
    """No usable libdeepclust was found, or its version differs from this package's."""


# Shown as deepclust.KRangeError etc. in tracebacks (and pickled by that name).
for _cls in [DeepClustError, LibraryError, *_BY_CODE.values()]:
    _cls.__module__ = "deepclust"
del _cls
