"""Installing the Python package (issue 12 item 8): `pip install
--no-build-isolation` from a copy of bindings/python leaves that tree as it
was (no build/, no *.egg-info), and the installed copy, which has no source
tree around it, reports the places it really looked for the library."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(subprocess.run([sys.executable, "-m", "pip", "--version"],
                                               capture_output=True).returncode != 0,
                                reason="pip is not installed")


def test_pip_install_leaves_the_tree_clean_and_lookup_names_real_paths(tmp_path):
    src, site = tmp_path / "src", tmp_path / "site"
    shutil.copytree(ROOT / "bindings" / "python", src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                        "--no-deps", "--no-index", "--target", str(site), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before
    assert (site / "deepclust" / "estimators.py").is_file()

    env = {k: v for k, v in os.environ.items()
           if k not in ("DEEPCLUST_LIBRARY", "DEEPCLUST_BUILD_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    env["LD_LIBRARY_PATH"] = ""
    probe = "import deepclust; deepclust.load_library()"
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert p.returncode != 0 and "LibraryError" in p.stderr
    assert "$DEEPCLUST_BUILD_DIR: not set" in p.stderr
    assert "system library path" in p.stderr
    assert "build/lib" not in p.stderr  # no made-up source-tree path

    lib = os.environ.get("DEEPCLUST_LIBRARY")
    if lib:  # the installed copy works with a library named explicitly
        env["DEEPCLUST_LIBRARY"] = os.path.abspath(lib)  # the child runs in tmp_path
        # two well-separated pairs: the installed copy really clusters
        fit = ("import numpy as np, deepclust as dc; "
               "x = np.array([[0, 0], [0, 0.1], [10, 10], [10.1, 10]]); "
               "print(' '.join(map(str, dc.KMeans(2, random_state=0).fit(x).labels_)))")
        p = subprocess.run([sys.executable, "-c", fit], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=60)
        assert p.returncode == 0, p.stderr
        labels = [int(v) for v in p.stdout.split()]
        assert len(labels) == 4, p.stdout
        assert labels[0] == labels[1] != labels[2] == labels[3], labels
        assert set(labels) == {0, 1}
