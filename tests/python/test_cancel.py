"""Ctrl-C stops a fit (issue 12 item 9): a long fit in a child Python gets
SIGINT and ends within a second or two with a clean KeyboardInterrupt --
with or without a progress callback, no "Exception ignored" message, no
fitted attributes -- and the estimator works afterwards."""
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("numpy")
if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

CHILD = r'''
import sys, time
import numpy as np
import deepclust as dc

what = sys.argv[1]
x = np.random.default_rng(0).uniform(size=(3000, 40)).astype(np.float32)
if what == "kmeans":
    est = dc.KMeans(20, n_init=10000, tol=0)
else:  # a clustering phase of 10^8 iterations: hours without Ctrl-C
    est = dc.IDEC(3, hidden1=32, hidden2=0, hidden3=0, embed_dim=3, batch_size=64,
                  pretrain_epochs=1, n_init=1, tol=0, max_iter=10 ** 8)
progress = (lambda *a: None) if what == "progress" else None
print("fitting", flush=True)
t0 = time.monotonic()
try:
    est.fit(x, progress=progress) if progress else est.fit(x)
except KeyboardInterrupt:
    print("stopped %.3f fitted %s" % (time.monotonic(), hasattr(est, "labels_")), flush=True)
    est.set_params(max_iter=5) if what != "kmeans" else est.set_params(n_init=1)
    est.fit(x[:200])  # usable afterwards
    print("refit %d" % len(est.labels_), flush=True)
    raise
'''


@pytest.mark.parametrize("what", ["deep", "progress", "kmeans"])
def test_sigint_stops_a_long_fit(what):
    p = subprocess.Popen([sys.executable, "-c", CHILD, what], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "fitting"
        time.sleep(1.5)  # well inside the fit
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    lines = out.split()
    assert lines[0] == "stopped", (out, err)
    assert float(lines[1]) - sent < 2.0, "took %.1f s to stop" % (float(lines[1]) - sent)
    assert lines[2:] == ["fitted", "False", "refit", "200"]
    assert p.returncode == -signal.SIGINT  # Python's exit on an uncaught KeyboardInterrupt
    assert "KeyboardInterrupt" in err and "Exception ignored" not in err, err


# An exception a signal handler raises while the fit runs (a timeout from
# SIGALRM, SystemExit from a SIGTERM handler) reaches the caller, which then
# frees the solver and the data: the fit must have stopped before that, or
# the worker reads freed memory (a crash, here within the sleep).
EXCEPTION_CHILD = r'''
import os, signal, sys, threading, time
import numpy as np
import deepclust as dc


class Deadline(Exception):
    pass


def deadline(*_):
    raise Deadline("the fit took too long")


how = sys.argv[1]
x = np.random.default_rng(0).uniform(size=(2000, 20)).astype(np.float32)
est = dc.IDEC(3, hidden1=32, hidden2=0, hidden3=0, embed_dim=3, batch_size=64,
              pretrain_epochs=1, n_init=1, tol=0, max_iter=10 ** 8)
if how == "sigterm":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    expected = SystemExit
else:
    signal.signal(signal.SIGALRM, deadline)
    signal.setitimer(signal.ITIMER_REAL, 1.5)
    expected = Deadline
progress = (lambda *a: None) if how == "alarm-progress" else None
try:
    est.fit(x, progress=progress)
    print("not interrupted", flush=True)
except expected as e:
    workers = [t for t in threading.enumerate() if t.name == "deepclust-fit"]
    print("raised %s %r workers %d fitted %s" % (type(e).__name__, str(e), len(workers),
                                                 hasattr(est, "labels_")), flush=True)
time.sleep(1.0)
est.set_params(max_iter=5)
est.fit(x[:200])
print("refit %d" % len(est.labels_), flush=True)
'''


@pytest.mark.parametrize("how, raised", [
    ("alarm", "raised Deadline 'the fit took too long'"),
    ("alarm-progress", "raised Deadline 'the fit took too long'"),
    ("sigterm", "raised SystemExit '3'"),
])
def test_any_exception_while_waiting_stops_the_fit_first(how, raised):
    p = subprocess.run([sys.executable, "-c", EXCEPTION_CHILD, how], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert p.stdout.splitlines() == [raised + " workers 0 fitted False", "refit 200"], p.stderr
