"""The Solver handle: typed parameters, outputs and statistics, progress, log and threads."""
import math
import os

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from conftest import rings  # noqa: E402
from conftest import spread_blobs as blobs  # noqa: E402


# --------------------------------------------------------------------------
# Solver


def test_solver_parameters_typed_and_introspected():
    with dc.Solver("scdbas", k=4, seed=3, affinity="dense", record_undamped=True) as s:
        assert s.method == "scdbas"
        assert s.get("k") == 4 and isinstance(s.get("k"), int)
        assert s.get("affinity") == "dense"
        assert s.get("record_undamped") is True
        assert s.get("dbas_damp") == 0.5
        info = s.param_info("affinity")
        assert info.type == "choice" and info.choices == ("auto", "dense", "sparse")
        damp = s.param_info("dbas_damp")
        assert damp.type == "real" and damp.min == 0 and damp.max < 1
        with pytest.raises(dc.InvalidArgumentError):
            s.set("dbas_damp", 1.0)
        assert s.get("dbas_damp") == 0.5  # nothing changed
        assert set(s.params()) == set(s.param_names()) >= {"k", "seed", "dbas_mode"}
    # An excluded bound: param_info gives the nearest accepted value.
    with dc.Solver("edcwrn") as s:
        assert s.param_bounds("lr") == (0.0, True, 1e30, False)
        assert s.param_info("lr").min == math.nextafter(0.0, 1.0)
        with pytest.raises(dc.InvalidArgumentError, match=r"outside \(0, 1e\+30\]"):
            s.set("lr", 0.0)


def test_solver_outputs_and_stats():
    x, y = blobs()
    with dc.Solver("scdbas", k=3, seed=1, record_undamped=True).fit(x) as s:
        assert {"embedding", "centers", "trace", "trace_undamped"} <= set(s.output_names())
        emb = s.output("embedding")
        assert emb.shape == (x.shape[0], 3)
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
        trace = s.output("trace").ravel()
        assert np.all(np.diff(trace) <= 1e-9)  # best-so-far fitness never increases
        stats = s.stats()
        assert stats["dbas_iters"] == len(trace) - 1 and stats["seconds"] >= 0
        with pytest.raises(dc.UnknownNameError):
            s.output("nope")


def test_has_output_answers_before_the_fit():
    x, _ = blobs()
    with dc.Solver("scdbas", k=3, seed=1) as s:
        assert s.has_output("trace") and s.has_output("embedding")
        assert not s.has_output("trace_undamped")  # record_undamped is off
        assert not s.has_output("weights") and not s.has_output("nope")
        s.set("record_undamped", True)
        assert s.has_output("trace_undamped")
        s.fit(x)
        assert set(s.output_names()) == {
            n for n in ("embedding", "centers", "trace", "trace_current", "trace_undamped",
                        "trace_undamped_current", "weights", "q", "loss") if s.has_output(n)}
    with dc.Solver("kmeans", k=3) as s:
        assert s.has_output("centers") and not s.has_output("embedding")


def test_progress_callback_reports_cancels_and_propagates():
    x, _ = rings(120)
    seen = []
    dc.SCDBAS(2).fit(x, progress=lambda *a: seen.append(a))
    assert {"dbas"} <= {p for p, *_ in seen}
    with pytest.raises(dc.CancelledError):
        dc.SCDBAS(2).fit(x, progress=lambda *a: True)

    class Boom(Exception):
        pass

    def boom(*a):
        raise Boom()

    est = dc.SCDBAS(2)
    with pytest.raises(Boom):
        est.fit(x, progress=boom)
    assert not hasattr(est, "labels_")


def test_log_callback_and_threads():
    x, _ = rings(120)
    messages = []
    dc.set_log(lambda level, msg: messages.append((level, msg)), "info")
    try:
        dc.NJW(2).fit(x)
    finally:
        dc.set_log(None)
    assert any(level == "info" and "spectral embedding" in msg for level, msg in messages)
    n = len(messages)
    dc.NJW(2).fit(x)
    assert len(messages) == n  # silenced
    old = dc.get_threads()
    dc.set_threads(1)
    assert dc.get_threads() == 1
    dc.set_threads(old)
    with pytest.raises(dc.InvalidArgumentError):
        dc.set_threads(0)
