"""The deepclust CLI contract: one JSON object on stdout, metrics that agree
with scikit-learn on the labels it wrote, clear failures that write nothing."""
import json
import os
import time
import re
import subprocess

import pytest

np = pytest.importorskip("numpy")
sk_metrics = pytest.importorskip("sklearn.metrics")
sk_cluster = pytest.importorskip("sklearn.metrics.cluster")
pytest.importorskip("scipy.optimize")
from references import reference_metrics  # noqa: E402

CLI = os.environ.get("DEEPCLUST_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")


def run(*args, check=None):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def blobs(n_per=60, k=3, d=4, seed=0, spread=0.3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(k, d))
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    perm = rng.permutation(len(y))
    return x[perm].astype(np.float32), y[perm]


@pytest.fixture()
def csv_with_labels(tmp_path):
    x, y = blobs()
    path = tmp_path / "blobs.csv"
    with open(path, "w") as f:
        f.write(",".join(f"f{j}" for j in range(x.shape[1])) + ",label\n")
        for row, lab in zip(x, y):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{lab}\n")
    return path, x, y


def test_json_contract_and_metrics_match_sklearn(csv_with_labels, tmp_path):
    path, x, y = csv_with_labels
    out = tmp_path / "labels.csv"
    p = run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last",
            "--k", 3, "--seed", 5, "--json", "--out", out, check=0)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stdout
    j = json.loads(lines[0])
    for key in ("method", "n", "d", "k", "seed", "seconds", "acc", "nmi", "ari", "f1"):
        assert key in j, key
    assert (j["method"], j["n"], j["d"], j["k"], j["seed"]) == ("kmeans", len(y), x.shape[1], 3, 5)
    assert j["seconds"] >= 0
    for key in ("acc", "nmi", "ari", "f1"):
        assert 0.0 <= j[key] <= 1.0
    pred = np.loadtxt(out, dtype=np.int64)
    assert pred.shape == y.shape and set(pred) <= {0, 1, 2}
    ref = reference_metrics(y, pred)
    for key in METRIC_KEYS:
        assert j[key] == pytest.approx(ref[key], abs=1e-9), key
    assert j["acc"] == 1.0  # well-separated blobs
    assert "ACC" in p.stderr  # human summary goes to stderr


METRIC_KEYS = ("acc", "nmi", "nmi_arithmetic", "ari", "f1")


@pytest.mark.parametrize("k", [2, 4])
def test_json_metrics_match_references_on_an_imperfect_partition(tmp_path, k):
    """Overlapping blobs, k = 2 or 4 on 3 classes: every metric is different
    and below 1, so a key holding another metric's value (or the metric of
    other labels than those written) fails."""
    x, y = blobs(seed=1, spread=4.0)
    path, out = tmp_path / "overlap.csv", tmp_path / "labels.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", fmt="%.6f")
    p = run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last",
            "--header", "no", "--k", k, "--seed", 5, "--json", "--out", out, check=0)
    j = json.loads(p.stdout)
    pred = np.loadtxt(out, dtype=np.int64)
    assert pred.shape == y.shape and len(set(pred)) == k
    ref = reference_metrics(y, pred)
    vals = sorted(ref.values())
    assert vals[-1] < 0.95 and min(b - a for a, b in zip(vals, vals[1:])) > 1e-4, ref
    for key in METRIC_KEYS:
        assert j[key] == pytest.approx(ref[key], abs=1e-9), (key, j[key], ref)


def test_same_seed_same_labels_npy_output(csv_with_labels, tmp_path):
    path, _, _ = csv_with_labels
    outs = []
    for i in range(2):
        out = tmp_path / f"l{i}.npy"
        run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last",
            "--k", 4, "--seed", 11, "--quiet", "--out", out, check=0)
        outs.append(np.load(out))
    assert outs[0].dtype == np.int32
    assert np.array_equal(outs[0], outs[1])


def test_no_labels_means_no_metrics_and_npy_input(tmp_path):
    x, _ = blobs()
    path = tmp_path / "x.npy"
    np.save(path, x.astype(np.float64))
    p = run("cluster", "--method", "kmeans", "--data", path, "--k", 3, "--json", check=0)
    j = json.loads(p.stdout)
    assert j["n"] == x.shape[0] and "acc" not in j and "inertia" in j


def test_info(tmp_path):
    x, _ = blobs()
    path = tmp_path / "x.npy"
    np.save(path, x)
    j = json.loads(run("info", path, "--json", check=0).stdout)
    assert (j["n"], j["d"]) == x.shape
    assert j["min"] == pytest.approx(float(x.min()), rel=1e-6)


@pytest.mark.parametrize("gz", [False, True])
def test_info_reads_a_pipe(tmp_path, gz):
    """A FIFO has no size on disk: the size checks for truncated files must
    not reject it (data piped from another program, <(zcat ...))."""
    import gzip
    import threading
    x, _ = blobs()
    src = tmp_path / "x.npy"
    np.save(src, x)
    payload = src.read_bytes()
    if gz:
        payload = gzip.compress(payload)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as f:
            f.write(payload)

    t = threading.Thread(target=feed)
    t.start()
    p = run("info", fifo, "--format", "npy", "--json")
    t.join(timeout=30)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert (j["n"], j["d"]) == x.shape
    assert j["max"] == pytest.approx(float(x.max()), rel=1e-6)


@pytest.mark.parametrize("extra,code,needle", [
    (["--k", 1000], 1, "larger than the number of samples"),
    (["--k", 0], 2, "outside [1, 1e+09]"),  # refused when set, like any out-of-range value
    (["--k", 3, "--n-init", 0], 2, "n_init"),
    (["--k", 3, "--no-such-option", 1], 2, "no-such-option"),
    (["--k", 3, "--param", "tol=abc"], 2, "not a number"),
    (["--k", 3, "--normalize", "bogus"], 2, "bogus"),
    (["--k", 3, "--param", "foo=2"], 2, "has no parameter 'foo'"),
    (["--k", 3, "--image-shape", "2x2junk"], 2, "--image-shape takes"),
    (["--k", 3, "--image-shape", "2x2x1x1"], 2, "--image-shape takes"),
])
def test_bad_parameters_fail_without_output(csv_with_labels, tmp_path, extra, code, needle):
    path, _, _ = csv_with_labels
    out = tmp_path / "never.csv"
    p = run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last",
            "--out", out, "--json", *extra)
    assert p.returncode == code, (p.returncode, p.stderr)
    assert needle in p.stderr
    assert p.stdout == ""
    assert not out.exists()
    assert not list(tmp_path.glob("never.csv*"))  # no temp file left either


def test_repeated_option_last_wins(csv_with_labels, tmp_path):
    """A repeated option takes its last value, CLI options (--out, --seed)
    as method parameters do (--out twice was refused as an unknown option)."""
    path, _, _ = csv_with_labels
    a, b = tmp_path / "a.csv", tmp_path / "b.npy"
    p = run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last", "--k", 3,
            "--out", a, "--out", b, "--seed", 1, "--seed", 4, "--json", check=0)
    assert json.loads(p.stdout)["seed"] == 4
    assert b.exists() and not a.exists()


@pytest.mark.parametrize("method,extra,flag,needle", [
    ("kmeans", [], "--embedding-out", "it can write: --out, --centers-out"),
    ("kmeans", [], "--weights-svg", "no representation weights"),
    ("kmeans", [], "--save-model", "no deep model"),
    ("njw", [], "--trace-svg", "no trace"),
    ("scdbas", [], "--save-pretrained", "no deep model"),
])
def test_output_the_method_lacks_is_refused_before_the_fit(csv_with_labels, tmp_path, method,
                                                          extra, flag, needle):
    path, _, _ = csv_with_labels
    out, other = tmp_path / "labels.csv", tmp_path / "other.csv"
    p = run("cluster", "--method", method, "--data", path, "--label-column", "last", "--k", 3,
            "--out", out, flag, other, "--json", *extra)
    assert p.returncode == 2, p.stderr
    assert f"method '{method}'" in p.stderr and flag in p.stderr and needle in p.stderr
    assert p.stdout == "" and list(tmp_path.iterdir()) == [path]  # nothing written


@pytest.mark.parametrize("option", ["--load-pretrained", "--checkpoint", "--resume",
                                    "--checkpoint-every"])
def test_deep_options_are_refused_for_other_methods(csv_with_labels, tmp_path, option):
    path, _, _ = csv_with_labels
    out = tmp_path / "labels.csv"
    model = tmp_path / "ae.dcm"  # never read: the method is refused first
    value = 5 if option == "--checkpoint-every" else model
    p = run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last", "--k", 3,
            "--out", out, option, value)
    assert p.returncode == 2, p.stderr
    assert f"{option} needs a method with a deep model (edcwrn, idec, dec)" in p.stderr
    assert not out.exists()


def test_scdbas_trace_svg(csv_with_labels, tmp_path):
    import xml.etree.ElementTree as ET
    path, _, _ = csv_with_labels
    svg, out = tmp_path / "t.svg", tmp_path / "labels.csv"
    run("cluster", "--method", "scdbas", "--data", path, "--label-column", "last", "--k", 3,
        "--dbas-iters", 20, "--record-undamped", "true", "--quiet", "--out", out,
        "--trace-svg", svg, check=0)
    lines = ET.parse(svg).getroot().findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2  # damped and undamped search
    assert all(len(ln.get("points").split()) == 21 for ln in lines)  # iterations 0..20
    assert out.exists()


def test_bad_files(tmp_path):
    bad_row = tmp_path / "bad.csv"
    bad_row.write_text("1,2,3\n4,5,6\n7,8\n")
    nan = tmp_path / "nan.csv"
    nan.write_text("1,2\n3,nan\n5,6\n")
    trunc = tmp_path / "t.npy"
    np.save(trunc, np.ones((50, 4), dtype=np.float32))
    trunc.write_bytes(trunc.read_bytes()[:-40])
    unknown = tmp_path / "x.weird"
    unknown.write_text("1,2\n")
    cases = [(bad_row, "line 3"), (nan, "NaN"), (trunc, "trunc"),
             (unknown, "format"), (tmp_path / "missing.csv", "missing.csv")]
    for path, needle in cases:
        out = tmp_path / "out.csv"
        p = run("cluster", "--method", "kmeans", "--data", path, "--k", 2, "--out", out)
        assert p.returncode == 1, (path, p.stderr)
        assert needle.lower() in p.stderr.lower(), (path, p.stderr)
        assert not out.exists()


def test_labels_count_mismatch(csv_with_labels, tmp_path):
    path, x, _ = csv_with_labels
    lab = tmp_path / "lab.txt"
    lab.write_text("\n".join(["0"] * (len(x) - 1)) + "\n")
    p = run("cluster", "--method", "kmeans", "--data", path, "--header", "yes",
            "--labels", lab, "--k", 3)
    assert p.returncode == 1 and "rows" in p.stderr


def test_unknown_method_and_command():
    p = run("cluster", "--method", "nope", "--data", "x.csv", "--k", 2)
    assert p.returncode == 2 and "kmeans" in p.stderr  # a usage error
    assert run("frobnicate").returncode == 2


def test_help_lists_every_parameter():
    """`deepclust help METHOD` has a line for the flag of every parameter the
    library declares for METHOD (dc.Solver(METHOD).param_names())."""
    dc = pytest.importorskip("deepclust")
    if not os.environ.get("DEEPCLUST_LIBRARY"):
        pytest.skip("DEEPCLUST_LIBRARY is not set")
    methods = run("methods", check=0).stdout.split()
    assert set(methods) == set(dc.methods())
    for method in methods:
        text = run("help", method, check=0).stdout
        flags = set(re.findall(r"^\s+(--[a-z0-9-]+)\s", text, re.M))
        names = dc.Solver(method).param_names()
        assert {"k", "seed"} <= set(names), (method, names)
        missing = ["--" + n.replace("_", "-") for n in names
                   if "--" + n.replace("_", "-") not in flags]
        assert not missing, (method, missing)


# ---- deep methods: model files, predict, checkpoints, pictures ----

DEEP = ["--hidden1", 32, "--hidden2", 32, "--hidden3", 64, "--embed-dim", 4,
        "--pretrain-epochs", 10, "--max-iter", 200, "--update-interval", 40,
        "--normalize", "minmax", "--k", 3, "--seed", 2, "--batch", 64]


@pytest.fixture()
def deep_data(tmp_path):
    x, y = blobs(n_per=80, k=3, d=12, seed=4, spread=0.5)
    xp, yp = tmp_path / "x.npy", tmp_path / "y.txt"
    np.save(xp, x)
    np.savetxt(yp, y, fmt="%d")
    return xp, yp


@pytest.mark.parametrize("method", ["edcwrn", "idec", "dec"])
def test_deep_save_predict_reproduces_labels(deep_data, tmp_path, method):
    xp, yp = deep_data
    model, l1, l2 = tmp_path / "m.dcm", tmp_path / "l1.npy", tmp_path / "l2.npy"
    p = run("cluster", "--method", method, "--data", xp, "--labels", yp, *DEEP, "--json",
            "--save-model", model, "--out", l1, check=0)
    j = json.loads(p.stdout)
    assert set(j["phases"]) >= {"pretrain", "cluster"} and j["iterations"] >= 1
    q = run("predict", "--model", model, "--data", xp, "--labels", yp, "--normalize", "minmax",
            "--json", "--out", l2, check=0)
    jp = json.loads(q.stdout)
    assert np.array_equal(np.load(l1), np.load(l2))
    assert jp["method"] == method and jp["acc"] == pytest.approx(j["acc"], abs=0)


def test_deep_resume_equals_uninterrupted(deep_data, tmp_path):
    xp, yp = deep_data
    ck = tmp_path / "ck.bin"
    l1, l2 = tmp_path / "full.npy", tmp_path / "resumed.npy"
    run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--quiet", "--out", l1,
        "--checkpoint", ck, "--checkpoint-every", 60, check=0)
    assert ck.exists()
    # the checkpoint resumed from may be the one the fit goes on writing
    run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--quiet", "--out", l2,
        "--resume", ck, "--checkpoint", ck, "--checkpoint-every", 60, check=0)
    assert np.array_equal(np.load(l1), np.load(l2))


def test_deep_resume_continues_a_finished_fit(deep_data, tmp_path):
    xp, yp = deep_data
    ck = tmp_path / "ck.bin"
    direct, first, cont = tmp_path / "direct.npy", tmp_path / "first.npy", tmp_path / "cont.npy"
    opts = [o for o in DEEP if o not in ("--max-iter", 200)] + ["--tol", 0]
    assert len(opts) == len(DEEP)
    run("cluster", "--method", "edcwrn", "--data", xp, *opts, "--quiet", "--out", direct,
        "--max-iter", 200, check=0)
    run("cluster", "--method", "edcwrn", "--data", xp, *opts, "--quiet", "--out", first,
        "--max-iter", 90, "--checkpoint", ck, "--checkpoint-every", 60, check=0)
    # only the data options and the new --max-iter: the rest is the checkpoint's
    p = run("cluster", "--method", "edcwrn", "--data", xp, "--normalize", "minmax", "--json",
            "--out", cont, "--resume", ck, "--max-iter", 200, check=0)
    j = json.loads(p.stdout)
    assert (j["iterations"], j["k"], j["seed"]) == (200, 3, 2)
    assert np.array_equal(np.load(cont), np.load(direct))
    # an option that contradicts the checkpoint: the library's error, exit 1
    p = run("cluster", "--method", "edcwrn", "--data", xp, "--normalize", "minmax", "--quiet",
            "--resume", ck, "--max-iter", 200, "--lambda", 0.5, check=1)
    assert "lambda = 0.1 in the checkpoint, 0.5 given" in p.stderr
    p = run("cluster", "--method", "edcwrn", "--data", xp, "--normalize", "minmax", "--quiet",
            "--resume", ck, "--max-iter", 80, check=1)
    assert "max_iter = 80 is below the checkpoint's iteration 90" in p.stderr


def test_deep_pretrained_reuse_and_pictures(deep_data, tmp_path):
    import xml.etree.ElementTree as ET
    xp, yp = deep_data
    ae, l1, l2 = tmp_path / "ae.dcm", tmp_path / "a.npy", tmp_path / "b.npy"
    w_svg, e_svg, w_csv = tmp_path / "w.svg", tmp_path / "e.svg", tmp_path / "w.csv"
    model = tmp_path / "m.dcm"
    run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--quiet", "--out", l1,
        "--save-pretrained", ae, "--weights-svg", w_svg, "--embedding-svg", e_svg,
        "--weights-out", w_csv, "--save-model", model, check=0)
    run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--quiet", "--out", l2,
        "--load-pretrained", ae, check=0)
    assert np.array_equal(np.load(l1), np.load(l2))  # same seed: same as pre-training itself
    w = np.loadtxt(w_csv, delimiter=",")
    assert w.shape == (3, 4) and np.allclose(w.sum(axis=1), 1, atol=1e-5)
    dc = pytest.importorskip("deepclust")
    # the weights the model holds (%.9g round-trips a float), trained away from uniform
    assert np.array_equal(w.astype(np.float32), dc.Model.load(str(model)).weights)
    assert np.abs(w - 0.25).max() > 1e-3
    svg = "{http://www.w3.org/2000/svg}"
    cells = ET.parse(w_svg).getroot().findall(f"{svg}rect")
    assert len(cells) >= 12  # one cell per weight (+ background, colour bar)
    dots = ET.parse(e_svg).getroot().findall(f"{svg}circle")
    assert len(dots) == 240


def test_deep_outputs_checked_before_training(deep_data, tmp_path):
    import xml.etree.ElementTree as ET
    xp, yp = deep_data
    out, svg = tmp_path / "l.npy", tmp_path / "t.svg"
    # no clustering iteration, no trace: refused before pre-training starts
    opts = [o for o in DEEP if o not in ("--max-iter", 200)]
    p = run("cluster", "--method", "idec", "--data", xp, *opts, "--max-iter", 0,
            "--out", out, "--trace-svg", svg, "--json")
    assert p.returncode == 2 and p.stdout == ""
    assert "method 'idec' has no trace for --trace-svg with these parameters" in p.stderr
    assert "--weights-out" in p.stderr and "--save-model" in p.stderr  # what it can write
    assert not out.exists() and not svg.exists()
    # with iterations: one point per target update (iterations 0, 40, ..., 160)
    run("cluster", "--method", "idec", "--data", xp, *DEEP, "--tol", 0, "--quiet",
        "--out", out, "--trace-svg", svg, check=0)
    lines = ET.parse(svg).getroot().findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 5


def test_deep_pretraining_divergence_is_an_error(deep_data, tmp_path):
    xp, yp = deep_data
    out, model = tmp_path / "l.npy", tmp_path / "m.dcm"
    p = run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--pretrain-lr", 1e5,
            "--pretrain-optimizer", "sgd", "--out", out, "--save-model", model, "--json")
    assert p.returncode == 1 and p.stdout == ""
    assert "NaN or Inf appeared during computation: pretrain: " in p.stderr
    assert "at epoch " in p.stderr and ", batch " in p.stderr
    assert "lower pretrain_lr or set pretrain_optimizer=adam" in p.stderr
    assert not out.exists() and not model.exists()


def test_deep_bad_input(deep_data, tmp_path):
    xp, yp = deep_data
    model = tmp_path / "m.dcm"
    run("cluster", "--method", "idec", "--data", xp, *DEEP, "--quiet", "--save-model", model, check=0)
    other = tmp_path / "other.npy"
    np.save(other, np.ones((20, 5), dtype=np.float32))
    p = run("predict", "--model", model, "--data", other)
    assert p.returncode == 1 and "column" in p.stderr.lower()
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(model.read_bytes()[:-100])
    p = run("predict", "--model", broken, "--data", xp)
    assert p.returncode == 1 and "trunc" in p.stderr.lower()
    p = run("cluster", "--method", "idec", "--data", xp, *DEEP, "--checkpoint-every", 5)
    assert p.returncode == 2 and "--checkpoint" in p.stderr
    p = run("cluster", "--method", "idec", "--data", xp, *DEEP, "--load-pretrained", model)
    assert p.returncode == 1  # a clustering model is not an autoencoder
    p = run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--augment", "true")
    assert p.returncode == 1 and "image" in p.stderr.lower()
    p = run("cluster", "--method", "edcwrn", "--data", xp, *DEEP, "--neighbors-k", 240)
    assert p.returncode == 1
    p = run("predict", "--data", xp)
    assert p.returncode == 2 and "--model" in p.stderr


# ---- issue 12: exit codes, stdin/stdout, info on models, progress width, Ctrl-C ----


def test_exit_codes(csv_with_labels, tmp_path):
    path, _, _ = csv_with_labels
    base = ["cluster", "--data", path, "--label-column", "last"]
    usage = [
        [*base, "--method", "kmeans"],                              # --k missing
        [*base, "--method", "kmeans", "--k", 0],
        [*base, "--method", "nope", "--k", 3],                      # unknown method
        [*base, "--method", "kmeans", "--k", 3, "--normalize", "fancy"],
        [*base, "--method", "kmeans", "--k", 3, "--n-init", 0],     # out of range
        [*base, "--method", "kmeans", "--k", 3, "--bogus", 1],
        # the command line is checked before the data are read
        ["cluster", "--method", "kmeans", "--k", 3, "--data", tmp_path / "missing.csv",
         "--bogus", 1],
        ["help", "nope"],
        ["frobnicate"],
    ]
    for args in usage:
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
    assert "missing --k" in run(*usage[0]).stderr
    runtime = [
        ["cluster", "--method", "kmeans", "--k", 3, "--data", tmp_path / "missing.csv"],
        [*base, "--method", "kmeans", "--k", 5000],                 # k > n: the data decide
    ]
    for args in runtime:
        p = run(*args)
        assert p.returncode == 1, (args, p.stderr)
    text = run("--help", check=0).stdout
    assert "exit status:" in text and "130  interrupted" in text


def test_stdin_and_stdout(csv_with_labels, tmp_path):
    path, x, y = csv_with_labels
    ref = tmp_path / "ref.csv"
    run("cluster", "--method", "kmeans", "--data", path, "--label-column", "last", "--k", 3,
        "--seed", 1, "--quiet", "--out", ref, check=0)
    want = np.loadtxt(ref, dtype=np.int64)
    with open(path) as f:
        p = subprocess.run([CLI, "cluster", "--method", "kmeans", "--data", "-", "--label-column",
                            "last", "--k", "3", "--seed", "1", "--out", "-", "--json"],
                           stdin=f, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(np.array(p.stdout.split(), dtype=np.int64), want)
    j = json.loads(next(ln for ln in p.stderr.splitlines() if ln.startswith("{")))
    assert j["out"] == "-" and j["acc"] == 1.0  # the JSON went to stderr
    npy = tmp_path / "x.npy"
    np.save(npy, x)
    with open(npy, "rb") as f:
        p = subprocess.run([CLI, "cluster", "--method", "kmeans", "--data", "-", "--format",
                            "npy", "--k", "3", "--seed", "1", "--json"],
                           stdin=f, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and json.loads(p.stdout)["n"] == len(x)
    # labels from a pipe, and from a file named without a known extension
    lab = tmp_path / "y.labels"
    np.savetxt(lab, y, fmt="%d")
    for source in ("-", lab):
        with open(lab) as f:
            p = subprocess.run([CLI, "cluster", "--method", "kmeans", "--data", npy, "--labels",
                                str(source), "--k", "3", "--seed", "1", "--json"],
                               stdin=f, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and json.loads(p.stdout)["acc"] == 1.0, p.stderr
    p = run("cluster", "--method", "kmeans", "--data", "-", "--labels", "-", "--k", 3)
    assert p.returncode == 2 and "both read standard input" in p.stderr
    p = run("cluster", "--method", "kmeans", "--data", npy, "--label-column", "last", "--k", 3)
    assert p.returncode == 1 and "label column applies to CSV" in p.stderr


def test_load_pretrained_layers_and_normalisation(deep_data, tmp_path):
    """The autoencoder fixes the network: a layer option that differs is
    refused (it used to be ignored while the model recorded it), and data
    normalised otherwise than its training data are refused (they diverged
    with advice to lower the learning rate). Exit 1, as for options that
    contradict a checkpoint: the file decides."""
    xp, _ = deep_data
    ae, model = tmp_path / "ae.dcm", tmp_path / "m.dcm"
    run("cluster", "--method", "idec", "--data", xp, *DEEP, "--quiet", "--save-pretrained", ae,
        check=0)
    base = ["cluster", "--method", "idec", "--data", xp, "--k", 3, "--max-iter", 20,
            "--load-pretrained", ae, "--quiet"]
    p = run(*base, "--normalize", "minmax", "--hidden1", 16, "--save-model", model, check=1)
    assert "hidden1 = 16 given, but the autoencoder" in p.stderr and not model.exists()
    p = run(*base, "--normalize", "minmax", "--param", "embed_dim=7", check=1)
    assert "embed_dim = 7 given" in p.stderr
    for norm in (["--normalize", "zscore"], []):
        p = run(*base, *norm, "--save-model", model, check=1)
        assert "give --normalize minmax" in p.stderr and not model.exists()
    run(*base, "--normalize", "minmax", "--hidden1", 32, "--save-model", model, check=0)
    j = json.loads(run("info", model, "--json", check=0).stdout)
    assert (j["hidden1"], j["hidden2"], j["hidden3"], j["embed_dim"]) == (32, 32, 64, 4)
    # --progress is a CLI option also with --quiet (it was taken for a parameter)
    p = run(*base, "--normalize", "minmax", "--progress", check=0)
    assert p.stderr == ""


def test_info_on_model_and_checkpoint_files(deep_data, tmp_path):
    xp, _ = deep_data
    model, ckpt = tmp_path / "m.dcm", tmp_path / "c.ckpt"
    run("cluster", "--method", "idec", "--data", xp, *DEEP, "--quiet", "--save-model", model,
        "--save-pretrained", tmp_path / "ae.dcm", "--checkpoint", ckpt, check=0)
    j = json.loads(run("info", model, "--json", check=0).stdout)
    assert (j["file"], j["method"], j["model"], j["k"]) == ("model", "idec", "clustering", 3)
    assert (j["train_rows"], j["train_cols"], j["input_dim"]) == (240, 12, 12)
    assert (j["hidden1"], j["hidden2"], j["hidden3"], j["embed_dim"]) == (32, 32, 64, 4)
    assert j["normalization"] == "minmax" and j["seed"] == 2
    assert json.loads(run("info", ckpt, "--json", check=0).stdout)["file"] == "checkpoint"
    ae = json.loads(run("info", tmp_path / "ae.dcm", "--json", check=0).stdout)
    assert ae["model"] == "autoencoder" and ae["train_rows"] == 240
    text = run("info", model, check=0).stdout
    assert "layers: 12 -> 32 -> 32 -> 64 -> 4" in text and "240 rows x 12 columns" in text
    broken = tmp_path / "b.dcm"
    broken.write_bytes(model.read_bytes()[:100])
    assert run("info", broken).returncode == 1


def test_progress_bar_fits_the_terminal_width(csv_with_labels):
    path, _, _ = csv_with_labels
    for width in (30, 200):
        p = subprocess.run([CLI, "cluster", "--method", "scdbas", "--data", str(path),
                            "--label-column", "last", "--k", "3", "--progress"],
                           capture_output=True, timeout=60,  # bytes: text mode eats \r
                           env=dict(os.environ, COLUMNS=str(width)))
        assert p.returncode == 0
        lines = re.findall("\r([^\r\n]*)", p.stderr.decode())  # each redraw of the bar
        assert any(s.startswith("dbas") for s in lines), lines
        assert max(len(s) for s in lines) <= width - 1, lines
        dbas = [s for s in lines if s.startswith("dbas")]
        assert any("[" in s for s in dbas) == (width == 200)  # the bar goes when narrow


def interrupt(args, after=1.5):
    import signal
    import time
    p = subprocess.Popen([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(after)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err, time.monotonic() - t0


def test_sigint_stops_the_fit_writes_the_checkpoint_and_no_output(deep_data, tmp_path):
    xp, yp = deep_data
    out, model, ckpt = tmp_path / "l.csv", tmp_path / "m.dcm", tmp_path / "c.ckpt"
    long_fit = ["cluster", "--method", "idec", "--data", xp, *DEEP, "--pretrain-epochs", 2,
                "--max-iter", 10 ** 8, "--tol", 0, "--checkpoint", ckpt,
                "--checkpoint-every", 10 ** 7]
    rc, stdout, err, took = interrupt([*long_fit, "--out", out, "--save-model", model, "--json"])
    assert rc == 130 and took < 5, (rc, took, err)
    assert stdout == "" and not out.exists() and not model.exists()
    assert "interrupted" in err and "no output written" in err
    stopped = int(re.search(r"clustering iteration (\d+); its state is in the checkpoint", err)[1])
    # the checkpoint holds that iteration: resume continues from it
    p = run("cluster", "--method", "idec", "--data", xp, "--normalize", "minmax", "--resume",
            ckpt, "--max-iter", stopped + 20, "--json", "--out", out, check=0)
    assert json.loads(p.stdout)["iterations"] == stopped + 20 and out.exists()
    rc, stdout, err, took = interrupt(["cluster", "--method", "kmeans", "--data", xp, "--k", 20,
                                       "--n-init", 10 ** 4, "--tol", 0, "--out", out,
                                       "--quiet"], after=0.5)
    assert rc == 130 and took < 5 and "interrupted" in err


def test_sigint_in_pretraining_writes_a_pretraining_checkpoint(deep_data, tmp_path):
    xp, _ = deep_data
    ckpt, full, res = tmp_path / "p.ckpt", tmp_path / "full.txt", tmp_path / "res.txt"
    deep = [a for i, a in enumerate(DEEP) if "--pretrain-epochs" not in (a, DEEP[i - 1])]
    fit = ["cluster", "--method", "idec", "--data", xp, *deep, "--pretrain-steps", 60000]
    rc, stdout, err, took = interrupt([*fit, "--checkpoint", ckpt, "--out", res], after=0.7)
    assert rc == 130 and took < 5 and not res.exists(), (rc, took, err)
    step = int(re.search(r"pre-training step (\d+) of 60000; its state is in the checkpoint",
                         err)[1])
    info = json.loads(run("info", ckpt, "--json", check=0).stdout)
    assert (info["phase"], info["pretrain_step"], info["pretrain_steps"]) == (
        "pretrain", step, 60000)
    assert f"step {step} of 60000" in run("info", ckpt, check=0).stdout
    # resumed: the uninterrupted fit's labels and pre-training loss
    p = run("cluster", "--method", "idec", "--data", xp, "--normalize", "minmax", "--resume",
            ckpt, "--json", "--out", res, check=0)
    a = json.loads(run(*fit, "--json", "--out", full, check=0).stdout)
    assert json.loads(p.stdout)["pretrain_loss"] == a["pretrain_loss"]
    assert res.read_text() == full.read_text()


def test_library_warnings_reach_stderr_and_the_json(tmp_path):
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(4), 30)
    far = tmp_path / "far.npy"
    np.save(far, (100.0 * y[:, None] + rng.normal(size=(120, 3))).astype(np.float32))
    p = run("cluster", "--method", "njw", "--data", far, "--k", 3, "--affinity", "sparse",
            "--json", check=0)
    j = json.loads(p.stdout)
    assert j["components"] == 4 and j["tau"] > 0
    assert len(j["warnings"]) == 1 and "4 connected components" in j["warnings"][0]
    assert "warning: spectral embedding" in p.stderr
    p = run("cluster", "--method", "njw", "--data", far, "--k", 3, "--affinity", "sparse",
            "--disconnected", "error")
    assert p.returncode == 1 and "parameter 'affinity'" in p.stderr
    same = tmp_path / "same.npy"
    np.save(same, np.ones((50, 2), np.float32))
    p = run("cluster", "--method", "kmeans", "--data", same, "--k", 3, "--json", "--quiet",
            check=0)
    j = json.loads(p.stdout)
    assert j["distinct_clusters"] == 1 and "1 distinct clusters" in j["warnings"][0]
    assert p.stderr == ""  # --quiet silences the warning, the JSON keeps it
    # spectral methods split identical points rather than leave clusters
    # empty: said, with the count of distinct points
    two = tmp_path / "two.npy"
    np.save(two, np.repeat(np.array([[0, 0], [5, 5]], np.float32), [5, 1], axis=0))
    for method in ("njw", "scdbas"):
        j = json.loads(run("cluster", "--method", method, "--data", two, "--k", 3, "--json",
                           "--quiet", check=0).stdout)
        assert any("2 distinct points, fewer than k = 3" in w for w in j["warnings"]), j


def test_outputs_never_replace_inputs(deep_data, tmp_path):
    """An output naming an input (by any spelling or link) or another output
    is refused before any work, exit 2, every file as it was."""
    xp, yp = deep_data
    lp = tmp_path / "y.npy"
    np.save(lp, np.loadtxt(yp, dtype=np.int32))
    (tmp_path / "sub").mkdir()
    os.symlink(xp, tmp_path / "link.npy")
    os.link(xp, tmp_path / "hard.npy")
    ae = tmp_path / "ae.dcm"
    ae.write_bytes(b"not read: refused before")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    spelled = tmp_path / "sub" / ".." / "x.npy"
    cases = [
        (["--out", xp], "--out '%s' is the same file as --data" % xp),
        (["--out", spelled], "is the same file as --data"),
        (["--centers-out", tmp_path / "link.npy"], "is the same file as --data"),
        (["--embedding-out", tmp_path / "hard.npy"], "is the same file as --data"),
        (["--out", lp], "is the same file as --labels"),
        (["--save-model", xp], "--save-model"),
        (["--checkpoint", lp], "--checkpoint"),
        (["--save-pretrained", ae, "--load-pretrained", ae], "--load-pretrained"),
        (["--out", tmp_path / "a.csv", "--centers-out", tmp_path / "sub" / ".." / "a.csv"],
         "name the same file"),
        (["--save-model", tmp_path / "m.dcm", "--checkpoint", tmp_path / "m.dcm"],
         "name the same file"),
    ]
    for extra, needle in cases:
        p = run("cluster", "--method", "edcwrn", "--data", xp, "--labels", lp, *DEEP,
                "--json", *extra)
        assert p.returncode == 2, (extra, p.stderr)
        assert needle in p.stderr and p.stdout == "", (extra, p.stderr)
    m = tmp_path / "m.dcm"
    m.write_bytes(b"model")
    for extra, needle in [(["--out", m], "--model"), (["--embedding-out", xp], "--data"),
                          (["--out", lp], "--labels")]:
        p = run("predict", "--model", m, "--data", xp, "--labels", lp, *extra)
        assert p.returncode == 2 and needle in p.stderr, (extra, p.stderr)
    del before["ae.dcm"]
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert {k: after[k] for k in before} == before
    assert set(after) == set(before) | {"ae.dcm", "m.dcm"}  # nothing new, no temporaries


def test_failed_run_leaves_no_outputs(tmp_path):
    """The labels are written before the embedding; when the embedding cannot
    be written (file size limit), neither appears and an old file survives."""
    import resource
    import signal
    x, _ = blobs(n_per=200, d=2)
    xp, out, emb = tmp_path / "x.npy", tmp_path / "labels.csv", tmp_path / "emb.csv"
    np.save(xp, x)
    out.write_text("old\n")

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    args = [CLI, "cluster", "--method", "njw", "--data", str(xp), "--k", "3", "--quiet",
            "--out", str(out), "--embedding-out", str(emb)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120,
                       preexec_fn=small_files)
    assert p.returncode == 1 and "emb.csv" in p.stderr, p.stderr
    assert out.read_text() == "old\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["labels.csv", "x.npy"]
    # without the limit both appear, labels first in the listing of outputs
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert len(out.read_text().split()) == len(x) and emb.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["emb.csv", "labels.csv", "x.npy"]


def test_outputs_checked_before_any_work(deep_data, tmp_path):
    """An output in a missing folder, in a folder that cannot be written, or
    a label/matrix file with an unknown extension is refused at once with
    exit 2 (a deep fit would otherwise train first and fail at the write)."""
    xp, _ = deep_data
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = [(["--out", tmp_path / "nope" / "l.csv"], "does not exist"),
             (["--save-model", tmp_path / "nope" / "m.dcm"], "does not exist"),
             (["--embedding-out", tmp_path / "z.xyz"], "unknown extension")]
    if os.geteuid() != 0:  # root writes anywhere
        cases.append((["--out", locked / "l.csv"], "not writable"))
    for extra, needle in cases:
        t0 = time.time()
        p = run("cluster", "--method", "idec", "--data", xp, *DEEP, "--json", *extra)
        assert p.returncode == 2 and needle in p.stderr and p.stdout == "", (extra, p.stderr)
        assert time.time() - t0 < 5, "refused only after the fit"
    p = run("predict", "--model", tmp_path / "m.dcm", "--data", xp, "--out", tmp_path / "l.bin")
    assert p.returncode == 2 and "unknown extension" in p.stderr
    locked.chmod(0o700)


def test_outputs_through_links_and_into_fifos(deep_data, tmp_path):
    """An output named by a symbolic link replaces the file the link names
    (the link stays); one that is a FIFO (as /dev/null, or a shell's
    `>(...)`) receives the bytes and stays a FIFO: a rename over either used
    to turn it into a plain file (as root, --out /dev/null-like devices)."""
    import threading
    xp, yp = deep_data
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (real_dir / "labels.csv").write_text("old\n")
    (tmp_path / "labels.csv").symlink_to(real_dir / "labels.csv")
    (real_dir / "m.dcm").write_bytes(b"old")
    (tmp_path / "m.dcm").symlink_to(real_dir / "m.dcm")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    run("cluster", "--method", "idec", "--data", xp, *DEEP, "--quiet", "--out",
        tmp_path / "labels.csv", "--embedding-out", fifo, "--save-model", tmp_path / "m.dcm",
        check=0)
    reader.join(timeout=30)
    assert (tmp_path / "labels.csv").is_symlink() and (tmp_path / "m.dcm").is_symlink()
    labels = np.loadtxt(real_dir / "labels.csv", dtype=int)
    assert labels.shape == (240,)
    q = run("predict", "--model", tmp_path / "m.dcm", "--data", xp, "--normalize", "minmax",
            "--out", tmp_path / "l2.npy", check=0)
    assert np.array_equal(np.load(tmp_path / "l2.npy"), labels), q.stderr
    assert stat_is_fifo(fifo) and got and got[0].count("\n") == 240
    emb = np.loadtxt(got[0].splitlines(), delimiter=",")
    assert emb.ndim == 2 and emb.shape[0] == 240 and np.isfinite(emb).all()
    assert not list(tmp_path.glob("*.tmp*")) and not list(real_dir.glob("*.tmp*"))


def stat_is_fifo(path):
    import stat
    return stat.S_ISFIFO(os.stat(path).st_mode)
