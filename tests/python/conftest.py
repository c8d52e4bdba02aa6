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

# ---- DEEPCLUST_REQUIRE_REFERENCES=1: a missing reference is a failure -------
#
# The cross-checks skip (pytest.importorskip) when scikit-learn, scipy,
# scikit-image, ... are missing, which is right on a developer's machine but
# would let a CI machine without them show green. meson's pytest test sets
# DEEPCLUST_REQUIRE_REFERENCES=1 (scripts/install-deps.sh installs them all):
# then a skip whose reason says a module could not be imported or a tool "is
# not installed" turns into a failure, at collection (module-level skips) or
# in the test. Skips for other reasons (an unset DEEPCLUST_CLI, ...) stay.

_MISSING_MARKERS = ("could not import", "is not installed")


def _require_references():
    return os.environ.get("DEEPCLUST_REQUIRE_REFERENCES", "") not in ("", "0")


def _missing_reference(report):
    """The skip reason of `report` if it is a missing module or tool, else None."""
    if not report.skipped:
        return None
    lr = report.longrepr
    reason = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return reason if any(m in reason for m in _MISSING_MARKERS) else None


def _fail_missing(report):
    reason = _missing_reference(report)
    if reason is not None and _require_references():
        report.outcome = "failed"
        report.longrepr = ("DEEPCLUST_REQUIRE_REFERENCES is set, so a missing reference is a "
                           "failure, not a skip (scripts/install-deps.sh installs them): "
                           + reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_missing(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_missing(outcome.get_result())


# Tiny deep networks and short phases (estimator arguments) for the tests of
# the estimators' Python behaviour, where the clustering quality is not the
# point.
SMALL_DEEP = dict(hidden1=16, hidden2=8, hidden3=0, embed_dim=3, batch_size=32,
                  pretrain_epochs=10, pretrain_lr=0.1, pretrain_optimizer="sgd",
                  pretrain_schedule="constant", pretrain_warmup=0, scale_input=False, n_init=3,
                  update_interval=10, max_iter=30)


def unit_blobs(n_per=40, k=3, d=6, seed=0):
    """(x float32, y): k tight blobs (noise 0.03) at random centres in
    [0.1, 0.9]^d, rows shuffled."""
    import numpy as np
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1, 0.9, size=(k, d))
    y = np.repeat(np.arange(k), n_per)
    x = centres[y] + 0.03 * rng.normal(size=(len(y), d))
    perm = rng.permutation(len(y))
    return np.ascontiguousarray(x[perm], dtype=np.float32), y[perm]


def spread_blobs(n_per=40, k=3, d=4, seed=0, spread=0.5):
    """(x float32, y): k Gaussian blobs of standard deviation `spread` around
    centres drawn with standard deviation 6, rows shuffled. The default
    spread keeps the blobs far apart: every method should find them."""
    import numpy as np
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(k, d))
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    perm = rng.permutation(len(y))
    return np.ascontiguousarray(x[perm], dtype=np.float32), y[perm]


def rings(n=240, seed=0):
    """Two concentric rings: k-means cannot separate them, spectral methods can."""
    import numpy as np
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.where(np.arange(n) < n // 2, 1.0, 4.0) + 0.1 * rng.normal(size=n)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1).astype(np.float32)
    return x, (np.arange(n) >= n // 2).astype(int)


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


def label_boundaries(lab):
    """Pixels whose right or lower neighbour has another label (the
    library's definition of a segment boundary)."""
    import numpy as np
    b = np.zeros(lab.shape, bool)
    b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    b[:-1, :] |= lab[:-1, :] != lab[1:, :]
    return b


def shapes_scene(h, w, noise, stripes, seed=0):
    """A synthetic photo with known regions: a disc (1) and a square (2) on
    a background (0) with vertical stripes of +`stripes` in every other
    5-pixel column, plus Gaussian noise. (uint8 (h, w, 3), uint8 truth)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    truth = np.zeros((h, w), np.uint8)
    truth[(xx - 0.31 * w) ** 2 + (yy - 0.5 * h) ** 2 < (0.19 * w) ** 2] = 1
    truth[int(0.17 * h):int(0.83 * h), int(0.62 * w):int(0.92 * w)] = 2
    colours = np.array([[65, 115, 80], [215, 85, 55], [55, 75, 195]], float)
    img = colours[truth] + stripes * ((xx // 5) % 2)[..., None] * (truth == 0)[..., None]
    img += rng.normal(scale=noise, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), truth


def run_cli(*args, check=None):
    """Runs $DEEPCLUST_CLI with the arguments (str() of each); with `check`,
    asserts that exit status, showing stdout and stderr when it differs."""
    import subprocess
    p = subprocess.run([os.environ["DEEPCLUST_CLI"], *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p
