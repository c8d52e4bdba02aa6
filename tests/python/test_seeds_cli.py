"""cluster --seeds: one run per seed in one JSON object, with mean and
sample standard deviation recomputed here from the runs; each run is the
single-seed command's result; bad lists are usage errors."""
import json
import os
import statistics

import pytest
from conftest import run_cli as run

np = pytest.importorskip("numpy")

CLI = os.environ.get("DEEPCLUST_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")
TINY = ["--hidden1", 32, "--hidden2", 16, "--hidden3", 0, "--embed-dim", 3,
        "--pretrain-steps", 100, "--max-iter", 40]
METRICS = ("acc", "nmi", "ari", "f1")


@pytest.fixture()
def data(tmp_path):
    """Overlapping blobs, so that seeds give different results."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=1.5, size=(4, 5))
    x = np.concatenate([c + rng.normal(size=(50, 5)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(4), 50)
    xp, yp = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(xp, x)
    np.save(yp, y.astype(np.int32))
    return xp, yp


def test_runs_mean_sd_and_first_seed_output(data, tmp_path):
    xp, yp = data
    out = tmp_path / "l.npy"
    p = run("cluster", "--method", "kmeans", "--data", xp, "--labels", yp, "--k", 4,
            "--n-init", 1, "--seeds", "0-2,9", "--json", "--out", out, check=0)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    j = json.loads(lines[0])
    runs = j["runs"]
    assert [r["seed"] for r in runs] == [0, 1, 2, 9]
    for key in METRICS + ("seconds",):
        values = [r[key] for r in runs]
        assert j["mean"][key] == pytest.approx(statistics.mean(values), abs=1e-9)
        assert j["sd"][key] == pytest.approx(statistics.stdev(values), abs=1e-9)
    assert len({r["acc"] for r in runs}) > 1, "the seeds should differ on overlapping blobs"
    assert j["out"] == str(out)
    assert "mean \u00b1 sd over 4 seeds" in p.stderr and "\u00b1" in p.stderr.split("ACC")[-1]
    # Each run is the single-seed command's result; --out holds the first seed's labels.
    for r in (runs[0], runs[3]):
        single_out = tmp_path / f"s{r['seed']}.npy"
        s = json.loads(run("cluster", "--method", "kmeans", "--data", xp, "--labels", yp, "--k", 4,
                           "--n-init", 1, "--seed", r["seed"], "--json", "--out", single_out,
                           check=0).stdout)
        for key in METRICS + ("inertia", "iterations"):
            assert s[key] == r[key], key
    assert np.array_equal(np.load(out), np.load(tmp_path / "s0.npy"))


def test_labels_to_stdout_json_to_stderr_equal_runs_sd_zero(data):
    """--out - with --seeds: stdout holds only the first seed's labels, the
    JSON goes to stderr (as for one seed); runs that agree have sd exactly
    0; the library's warnings reach the JSON."""
    xp, yp = data
    p = run("cluster", "--method", "kmeans", "--data", xp, "--labels", yp, "--k", 4,
            "--seeds", "0-2", "--json", "--quiet", "--out", "-", check=0)
    labels = [int(x) for x in p.stdout.split()]
    assert len(labels) == 200
    j = json.loads(p.stderr.strip().splitlines()[-1])
    assert [r["seed"] for r in j["runs"]] == [0, 1, 2]
    # The default 10 restarts find the same partition for every seed: equal
    # ACCs (matched counts / n, the same double whatever the label order)
    # give sd exactly 0. (NMI may differ in the last bit between label orders.)
    assert len({r["acc"] for r in j["runs"]}) == 1
    assert j["sd"]["acc"] == 0.0 and j["mean"]["acc"] == j["runs"][0]["acc"]
    x = np.repeat(np.load(xp)[:3], 20, axis=0)  # 3 distinct points, k = 4: a warning
    np.save(xp, x)
    j = json.loads(run("cluster", "--method", "kmeans", "--data", xp, "--k", 4, "--seeds", "0,1",
                       "--json", "--quiet", check=0).stdout)
    assert any("fewer than k" in w for w in j["warnings"]), j.get("warnings")


def test_without_labels_and_single_seed(data):
    xp, _ = data
    j = json.loads(run("cluster", "--method", "kmeans", "--data", xp, "--k", 4, "--seeds", "5",
                       "--json", "--quiet", check=0).stdout)
    assert [r["seed"] for r in j["runs"]] == [5]
    assert set(j["mean"]) == {"seconds"} and j["sd"] == {"seconds": None}
    assert "acc" not in j["runs"][0]


def test_deep_per_seed_default_and_shared_pretraining(data):
    xp, yp = data
    common = ("cluster", "--method", "idec", "--data", xp, "--labels", yp, "--k", 4,
              "--normalize", "minmax", *TINY, "--json", "--quiet")
    per = json.loads(run(*common, "--seeds", "0,1", check=0).stdout)
    shared = json.loads(run(*common, "--seeds", "0,1", "--seeds-pretrain", "shared",
                            check=0).stdout)
    single = json.loads(run(*common, "--seed", 1, check=0).stdout)
    assert per["seeds_pretrain"] == "per-seed" and shared["seeds_pretrain"] == "shared"
    for key in METRICS:  # per seed (the default): run i is `--seed i` alone
        assert per["runs"][1][key] == single[key]
        assert shared["runs"][0][key] == per["runs"][0][key]
    assert per["runs"][1]["phases"]["pretrain"] > 0
    assert shared["runs"][1]["phases"]["pretrain"] == 0  # reused the first seed's autoencoder


@pytest.mark.parametrize("opts,needle", [
    (["--seeds", "2-1"], "a range goes upwards"),
    (["--seeds", "1,1"], "a seed is given twice"),
    (["--seeds", "0,,1"], "each item is a seed"),
    (["--seeds", "-1"], "each item is a seed"),
    (["--seeds", "x"], "each item is a seed"),
    (["--seeds", "0-1000"], "more than 1000 seeds"),
    (["--seeds", "9007199254740993"], "each item is a seed"),
    (["--seeds", "0,1", "--seed", "3"], "either --seed or --seeds"),
    (["--seeds-pretrain", "shared"], "--seeds-pretrain needs --seeds"),
    (["--seeds", "0,1", "--seeds-pretrain", "shared"], "needs a method with a deep model"),
    (["--method", "idec", "--seeds", "0,1", "--seeds-pretrain", "once"],
     "takes per-seed or shared"),
    (["--method", "idec", "--seeds", "0,1", "--checkpoint", "c.dcc"], "--checkpoint cannot"),
    (["--method", "idec", "--seeds", "0,1", "--resume", "c.dcc"], "--resume cannot"),
])
def test_bad_seed_options_exit_2_without_output(data, tmp_path, opts, needle):
    xp, _ = data
    out = tmp_path / "never.npy"
    method = [] if "--method" in opts else ["--method", "kmeans"]
    p = run("cluster", *method, "--data", xp, "--k", 4, *opts, "--out", out, "--json")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert needle in p.stderr and p.stdout == "" and not out.exists()


def test_failing_fit_writes_nothing(data, tmp_path):
    xp, _ = data
    out = tmp_path / "never.npy"
    p = run("cluster", "--method", "kmeans", "--data", xp, "--k", 500, "--seeds", "0,1",
            "--out", out, "--json")
    assert p.returncode == 1 and "seed 0" in p.stderr
    assert p.stdout == "" and not out.exists()
