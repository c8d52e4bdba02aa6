"""The binding against the headers (version, status codes, prototypes) and library lookup."""
import os
import pathlib
import re

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from deepclust import _lib  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = ROOT / "include" / "deepclust"


# --------------------------------------------------------------------------
# Headers: version, status codes, prototypes


def header_defines(path):
    return dict(re.findall(r"#define\s+(\w+)\s+(-?\d+)\b", path.read_text()))


def test_version_equals_header_and_library():
    v = header_defines(INCLUDE / "version.h")
    header = "%s.%s.%s" % (v["DC_VERSION_MAJOR"], v["DC_VERSION_MINOR"], v["DC_VERSION_PATCH"])
    assert dc.__version__ == header
    assert dc.library_version() == header
    assert pathlib.Path(dc.library_path()).resolve() == \
        pathlib.Path(os.environ["DEEPCLUST_LIBRARY"]).resolve()


def test_status_codes_match_header():
    text = (INCLUDE / "status.h").read_text()
    header = {name: int(value) for name, value in re.findall(r"\b(DC_\w+)\s*=\s*(-?\d+)", text)}
    assert len(header) == 20
    assert {"DC_" + s.name: int(s) for s in dc.Status} == header
    for status in dc.Status:
        if status != dc.Status.OK:
            cls = _lib.error_class(status)
            assert cls is not dc.DeepClustError and cls.code == status
    assert dc.KRangeError.code == header["DC_ERR_K_RANGE"]


def parse_prototypes():
    """{name: number of parameters} of every DC_API function in the headers."""
    protos = {}
    for h in INCLUDE.glob("*.h"):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        for ret_name, params in re.findall(r"DC_API\s+([^;(]+?)\s*\(([^;]*?)\)\s*;", text):
            name = re.findall(r"\w+", ret_name)[-1]
            params = params.strip()
            protos[name] = 0 if params in ("", "void") else params.count(",") + 1
    return protos


def test_every_prototype_matches_a_header_declaration():
    headers = parse_prototypes()
    assert "dc_solver_fit" in headers and headers["dc_solver_output"] == 6
    lib = _lib.lib()
    for name, (restype, argtypes) in _lib._PROTOTYPES.items():
        assert name in headers, name
        assert len(argtypes) == headers[name], name
        if name in _lib._OPTIONAL and not lib.dc_mpi_enabled():
            assert not hasattr(lib, name), name  # deepclust/mpi.h: MPI builds only
            continue
        fn = getattr(lib, name)
        assert fn.argtypes is not None and len(fn.argtypes) == headers[name]


# Public functions the binding deliberately leaves out, with the reason.
UNBOUND = {"dc_set_allocator": "allocator hooks must be C functions installed before any "
                               "allocation, not Python callables"}


def test_every_header_function_is_bound_or_excused():
    headers = parse_prototypes()
    assert {"dc_model_predict", "dc_solver_resume", "dc_load_options_set",
            "dc_dbas_minimize"} <= set(headers)
    assert set(headers) - set(_lib._PROTOTYPES) == set(UNBOUND)


def callback_typedefs():
    """{typedef name: number of parameters} of the function-pointer typedefs."""
    out = {}
    for h in INCLUDE.glob("*.h"):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        for name, params in re.findall(r"typedef\s+[^;(]+\(\s*\*\s*(\w+)\s*\)\s*\(([^;]*?)\)\s*;",
                                       text):
            out[name] = params.count(",") + 1
    return out


def test_callback_types_match_the_header_typedefs():
    typedefs = callback_typedefs()
    ours = {"dc_log_fn": _lib.LOG_FN, "dc_progress_fn": _lib.PROGRESS_FN,
            "dc_fitness_fn": _lib.FITNESS_FN}
    assert set(ours) <= set(typedefs), typedefs
    for name, proto in ours.items():
        assert len(proto._argtypes_) == typedefs[name], name


def test_package_calls_only_declared_functions():
    used = set()
    for py in (ROOT / "bindings" / "python" / "deepclust").glob("*.py"):
        used |= set(re.findall(r"\.(dc_\w+)\(", py.read_text()))
    assert used and used <= set(_lib._PROTOTYPES), used - set(_lib._PROTOTYPES)
    with pytest.raises(AttributeError):  # undeclared symbols are not reachable
        _lib.lib().dc_set_allocator


# --------------------------------------------------------------------------
# Library lookup and version check


def test_version_mismatch_is_refused(monkeypatch):
    path = os.environ["DEEPCLUST_LIBRARY"]
    monkeypatch.setattr(_lib, "__version__", "9.8.7")
    with pytest.raises(dc.LibraryError) as e:
        _lib.open_library(path)
    assert "9.8.7" in str(e.value) and dc.__version__ in str(e.value) and path in str(e.value)
    # the lazy loader refuses it too, and an explicit path has no fallback
    monkeypatch.setattr(_lib, "_loaded", None)
    with pytest.raises(dc.LibraryError, match="9.8.7"):
        dc.Solver("kmeans")


def test_version_number_is_checked_too(monkeypatch):
    lib = _lib.lib()

    class Fake:
        dc_version_string = lib.dc_version_string

        @staticmethod
        def dc_version_number():
            return 999

    with pytest.raises(dc.LibraryError, match="999"):
        _lib.check_version(Fake, "fake.so")


def test_lookup_order(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPCLUST_LIBRARY")
    monkeypatch.setenv("DEEPCLUST_BUILD_DIR", str(tmp_path))
    cands = [c for c, _ in _lib.candidates()]
    assert cands[0] == str(tmp_path / "lib" / "libdeepclust.so")
    assert cands[-1] == str(ROOT / "build" / "lib" / "libdeepclust.so")
    # an explicit library path is the only candidate, and its failure is final
    monkeypatch.setenv("DEEPCLUST_LIBRARY", str(tmp_path / "nope.so"))
    assert _lib.candidates() == [(str(tmp_path / "nope.so"), True)]
    monkeypatch.setattr(_lib, "_loaded", None)
    with pytest.raises(dc.LibraryError, match="nope.so"):
        _lib.lib()


def test_build_dir_lookup_finds_the_library(monkeypatch):
    build = os.environ.get("DEEPCLUST_BUILD_DIR")
    if not build:
        pytest.skip("DEEPCLUST_BUILD_DIR is not set")
    expected = pathlib.Path(os.environ["DEEPCLUST_LIBRARY"]).resolve()
    monkeypatch.delenv("DEEPCLUST_LIBRARY")
    monkeypatch.setattr(_lib, "_loaded", None)
    assert pathlib.Path(_lib.lib().path).resolve() == expected


def test_load_library_explicit_path():
    path = os.environ["DEEPCLUST_LIBRARY"]
    assert dc.load_library(path) == path
    assert _lib.lib().path == path and dc.methods()[0] == "kmeans"
