"""PEP 517 build backend: setuptools' own, run on a copy of the sources in a
temporary directory. setuptools builds in the source tree (build/,
deepclust.egg-info/); on a copy, `pip install ./bindings/python` leaves
the repository as it was. Editable installs need the real tree and go to
setuptools directly."""
import contextlib
import functools
import os
import shutil
import tempfile

from setuptools import build_meta as _setuptools

_SOURCES = ("pyproject.toml", "README.md", "MANIFEST.in", "_build", "deepclust")


@contextlib.contextmanager
def _in_copy():
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="deepclust-build-") as tmp:
        for name in _SOURCES:
            src, dst = os.path.join(here, name), os.path.join(tmp, name)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, dst)
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(here)


def _on_copy(hook):
    @functools.wraps(hook)
    def run(directory=None, *args, **kwargs):
        # The output directory pip names is resolved before leaving the tree.
        if directory is not None:
            directory = os.path.abspath(directory)
        if kwargs.get("metadata_directory"):
            kwargs["metadata_directory"] = os.path.abspath(kwargs["metadata_directory"])
        with _in_copy():
            return hook(*args, **kwargs) if directory is None else hook(directory, *args,
                                                                        **kwargs)
    return run


build_wheel = _on_copy(_setuptools.build_wheel)
build_sdist = _on_copy(_setuptools.build_sdist)
prepare_metadata_for_build_wheel = _on_copy(_setuptools.prepare_metadata_for_build_wheel)
get_requires_for_build_wheel = _on_copy(_setuptools.get_requires_for_build_wheel)
get_requires_for_build_sdist = _on_copy(_setuptools.get_requires_for_build_sdist)
build_editable = _setuptools.build_editable
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
