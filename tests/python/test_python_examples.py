"""The Python examples in bindings/python/examples run and reach their
documented results (with the library under test: DEEPCLUST_LIBRARY)."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("numpy")
if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python" / "examples"


def run(name):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(EXAMPLES.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    p = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def scores(out, method):
    m = re.search(r"^%s\s+ACC ([\d.]+)\s+NMI ([\d.]+)" % method, out, re.M)
    assert m, out
    return float(m.group(1)), float(m.group(2))


def test_kmeans_example():
    out = run("kmeans_example.py")
    acc = float(re.search(r"ACC ([\d.]+)", out).group(1))
    assert acc > 0.98  # four blobs, one unit of spread, centres >= 5 apart
    assert "expected error: kmeans: n_clusters = 1000 is larger than" in out


def test_spectral_example():
    out = run("spectral_example.py")
    assert scores(out, "kmeans")[0] < 0.8  # rings: k-means fails...
    for method in ("njw", "scdbas", "paper"):  # ...the spectral methods do not
        assert scores(out, method)[0] == 1.0, method


def test_deep_example():
    pytest.importorskip("sklearn.datasets")  # the example's data: scikit-learn's digits
    out = run("deep_example.py")
    kmeans_acc = scores(out, "kmeans")[0]
    for method in ("edcwrn", "idec"):  # small networks: about k-means' level, not far below
        assert scores(out, method)[0] > min(0.7, kmeans_acc - 0.05), method
    assert "predictions identical to the fit: True" in out
    assert "pre-training 0.00 s: reused" in out
    assert "expected error: edcwrn: parameter augment" in out
