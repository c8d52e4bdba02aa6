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
