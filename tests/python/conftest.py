"""Shared fixtures of the Python tests.

The cross-check files (test_*_numpy.py, test_*_sklearn.py) call the C API
directly with ctypes, independently of the deepclust package, so that a bug
in the binding cannot hide one in the library. Each declares the prototypes
it uses on its own CDLL instance (module scope: two files may give the same
function different but compatible pointer types):

    @pytest.fixture(scope="module")
    def lib(cdll):
        return declare(cdll, {"dc_knn": (C.c_int, [fp, i64, ...]), ...})
"""
import ctypes
import os

import pytest


@pytest.fixture(scope="module")
def cdll():
    """A fresh ctypes.CDLL of $DEEPCLUST_LIBRARY; skips the module when unset."""
    path = os.environ.get("DEEPCLUST_LIBRARY")
    if not path:
        pytest.skip("DEEPCLUST_LIBRARY is not set")
    lib = ctypes.CDLL(path)
    lib.dc_last_error.argtypes = []
    lib.dc_last_error.restype = ctypes.c_char_p
    return lib


def declare(lib, table):
    """Sets restype and argtypes of lib's functions from `table`
    ({name: (restype, [argtypes...])}); returns lib."""
    for name, (restype, argtypes) in table.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)
    return lib
