"""Noise on the data (EDCWRN 5.6) through the Python binding and the CLI's
--noise: the statistics of the added noise, clipping, determinism per seed,
and refused kinds and levels."""
import json
import os

import pytest
from conftest import run_cli as run

np = pytest.importorskip("numpy")
import deepclust  # noqa: E402

CLI = os.environ.get("DEEPCLUST_CLI")


def wide(fill, n=400_000):
    """fill everywhere except two values setting the range to [-100, 100],
    so that small noise is never clipped."""
    x = np.full((n // 100, 100), fill, np.float32)
    x[0, 0], x[0, 1] = -100, 100
    return x


def test_gaussian_and_speckle_moments():
    x = wide(0.3)
    e = (deepclust.add_noise(x, "gaussian:0.05", seed=2) - x).ravel()[2:]
    assert abs(e.mean()) < 2e-3 and e.var() == pytest.approx(0.05, rel=0.02)
    x = wide(4.0)
    e = ((deepclust.add_noise(x, "speckle", 0.02, seed=2) - x) / 4.0).ravel()[2:]
    assert abs(e.mean()) < 2e-3 and e.var() == pytest.approx(0.02, rel=0.02)


def lag1_corr(e):
    e = e.astype(np.float64) - e.mean()
    return float((e[:-1] * e[1:]).sum() / (e * e).sum())


@pytest.mark.parametrize("kind,fill,level,seed", [("gaussian", 0.3, 0.05, 2),
                                                  ("gaussian", -7.0, 1.5, 11),
                                                  ("speckle", 4.0, 0.02, 2),
                                                  ("speckle", -3.0, 0.3, 7)])
def test_gaussian_and_speckle_distribution_ks(kind, fill, level, seed):
    """The whole distribution, not just two moments: Gaussian residuals
    y - x, and speckle residuals (y - x) / x, are N(0, V) by a
    Kolmogorov-Smirnov test (scipy), and consecutive draws are uncorrelated.
    The data sit far inside [-100, 100]: nothing is clipped."""
    stats = pytest.importorskip("scipy.stats")
    x = wide(fill)
    y = deepclust.add_noise(x, "%s:%g" % (kind, level), seed=seed)
    e = (y.astype(np.float64) - x).ravel()[2:]
    if kind == "speckle":
        e /= fill
    assert np.abs(y.ravel()[2:]).max() < 90  # away from the clipping bounds
    sd = np.sqrt(level)
    res = stats.kstest(e, stats.norm(0.0, sd).cdf)
    assert res.pvalue > 1e-3, (kind, level, res)
    assert abs(lag1_corr(e)) < 5 / np.sqrt(e.size)


def test_ks_detects_a_wrong_variance():
    """The KS test above has the power to see a 2 % error in the standard
    deviation (so a variance/standard-deviation mix-up cannot pass)."""
    stats = pytest.importorskip("scipy.stats")
    x = wide(0.3)
    e = (deepclust.add_noise(x, "gaussian:0.05", seed=2).astype(np.float64) - x).ravel()[2:]
    assert stats.kstest(e, stats.norm(0.0, 1.02 * np.sqrt(0.05)).cdf).pvalue < 1e-3
    assert stats.kstest(e, stats.norm(0.0, 0.05).cdf).pvalue < 1e-3


@pytest.mark.parametrize("density,seed", [(0.3, 5), (0.02, 8), (0.9, 1)])
def test_salt_pepper_binomial_counts_and_uniform_positions(density, seed):
    """saltpepper:P sets each value to the minimum with probability P/2 and
    to the maximum with probability P/2 (docs/api.md): each count is within
    5 binomial standard deviations of n P/2, the rest is untouched, and the
    corrupted positions are uniform over the matrix (KS test, scipy)."""
    stats = pytest.importorskip("scipy.stats")
    x = wide(0.5)
    y = deepclust.add_noise(x, "saltpepper:%g" % density, seed=seed).ravel()[2:]
    n, half = y.size, density / 2
    tol = 5 * np.sqrt(n * half * (1 - half))
    lo, hi = int(np.sum(y == -100)), int(np.sum(y == 100))
    assert abs(lo - n * half) < tol and abs(hi - n * half) < tol, (lo, hi, n * half, tol)
    assert lo + hi + int(np.sum(y == 0.5)) == n
    for pos in (np.flatnonzero(y == -100), np.flatnonzero(y == 100)):
        assert stats.kstest(pos / n, "uniform").pvalue > 1e-3


def test_salt_pepper_density_and_clipping():
    x = wide(0.5)
    y = deepclust.add_noise(x, "saltpepper:0.3", seed=5).ravel()[2:]
    assert np.mean(y == -100) == pytest.approx(0.15, abs=0.005)
    assert np.mean(y == 100) == pytest.approx(0.15, abs=0.005)
    assert np.all((y == -100) | (y == 100) | (y == 0.5))
    rng = np.random.default_rng(0)
    z = rng.uniform(0.2, 0.7, size=(300, 5)).astype(np.float32)
    y = deepclust.add_noise(z, "gaussian:4", seed=1)
    assert y.min() == z.min() and y.max() == z.max()  # clipped to the data's range
    assert np.mean(y == z.min()) > 0.3


def test_dataset_add_noise_in_place_deterministic_and_borrow_safe():
    x = np.random.default_rng(3).uniform(size=(200, 8)).astype(np.float32)
    keep = x.copy()
    with deepclust.Dataset(x, labels=np.arange(200) % 2) as ds:
        assert ds.add_noise("speckle:0.1", seed=9) is ds
        a = ds.to_numpy()
        assert list(ds.labels[:4]) == [0, 1, 0, 1]
    assert np.array_equal(x, keep)  # borrowed: the library copied before writing
    assert np.array_equal(a, deepclust.add_noise(x, "speckle", 0.1, seed=9))
    assert not np.array_equal(a, deepclust.add_noise(x, "speckle", 0.1, seed=10))
    assert not np.array_equal(a, x)


@pytest.mark.parametrize("args,needle", [
    (("blur:0.1",), "unknown kind 'blur'"),
    (("gaussian",), "KIND:LEVEL"),
    (("gaussian", -0.5), "variance"),
    (("speckle", float("nan")), "variance"),
    (("saltpepper", 1.5), "density"),
    (("saltpepper:x",), "not a number"),
])
def test_bad_noise_is_invalid_argument(args, needle):
    x = np.ones((4, 2), np.float32)
    with pytest.raises(deepclust.InvalidArgumentError, match=needle):
        deepclust.add_noise(x, *args)


def test_bad_seed_and_type():
    x = np.ones((4, 2), np.float32)
    with pytest.raises(ValueError, match="seed"):
        deepclust.add_noise(x, "gaussian:0.1", seed=-1)
    with pytest.raises(ValueError, match="noise must be a string"):
        deepclust.add_noise(x, 0.1)


# ---- the CLI's --noise ------------------------------------------------------

cli = pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")


def pixels(seed=0):
    """Two groups of 'images' with values 0..255 (scale255 maps them to [0, 1])."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.integers(0, 120, size=(50, 16)), rng.integers(135, 256, size=(50, 16))])
    x[0, 0], x[-1, -1] = 0, 255
    return x.astype(np.float32)


@cli
@pytest.mark.parametrize("spec,canonical", [("gaussian:0.05", "gaussian:0.05"),
                                            ("saltpepper:0.3", "saltpepper:0.3"),
                                            ("Speckle:2e-1", "speckle:0.2")])
def test_cli_noise_is_the_library_noise_after_normalisation(tmp_path, spec, canonical):
    """cluster --normalize scale255 --noise S --noise-seed 4 on raw pixels
    clusters exactly the data Python gets by normalising, then adding the
    same noise: kmeans centres (means of the points) agree."""
    x = pixels()
    raw, pre = tmp_path / "raw.npy", tmp_path / "pre.npy"
    np.save(raw, x)
    with deepclust.Dataset(x) as ds:
        noisy = ds.normalize("scale255").add_noise(spec, seed=4).to_numpy()
    np.save(pre, noisy)
    c1, c2, c0 = (tmp_path / f"c{i}.npy" for i in range(3))
    common = ("cluster", "--method", "kmeans", "--k", 2, "--seed", 1, "--quiet")
    p = run(*common, "--data", raw, "--normalize", "scale255", "--noise", spec, "--noise-seed", 4,
            "--centers-out", c1, "--json", check=0)
    j = json.loads(p.stdout)
    assert (j["noise"], j["noise_seed"]) == (canonical, 4)
    run(*common, "--data", pre, "--centers-out", c2, check=0)
    run(*common, "--data", raw, "--normalize", "scale255", "--centers-out", c0, check=0)
    assert np.allclose(np.load(c1), np.load(c2), atol=1e-5)
    assert not np.allclose(np.load(c1), np.load(c0), atol=1e-3)  # the noise did something


@cli
def test_cli_predict_with_noise(tmp_path):
    x = pixels(1) / 255.0
    data, noisy_path, model = tmp_path / "x.npy", tmp_path / "n.npy", tmp_path / "m.dcm"
    np.save(data, x.astype(np.float32))
    np.save(noisy_path, deepclust.add_noise(x, "saltpepper:0.2", seed=0))
    run("cluster", "--method", "idec", "--data", data, "--k", 2, "--hidden1", 32, "--hidden2", 16,
        "--hidden3", 0, "--embed-dim", 3, "--pretrain-steps", 100, "--max-iter", 40, "--quiet",
        "--save-model", model, check=0)
    l1, l2 = tmp_path / "l1.npy", tmp_path / "l2.npy"
    p = run("predict", "--model", model, "--data", data, "--noise", "saltpepper:0.2", "--json",
            "--quiet", "--out", l1, check=0)
    assert json.loads(p.stdout)["noise"] == "saltpepper:0.2"
    run("predict", "--model", model, "--data", noisy_path, "--quiet", "--out", l2, check=0)
    assert np.array_equal(np.load(l1), np.load(l2))


@cli
@pytest.mark.parametrize("cmd,opts,needle", [
    ("cluster", ["--noise", "blur:0.1"], "unknown kind 'blur'"),
    ("cluster", ["--noise", "gaussian:-1"], "variance -1 must be a number >= 0"),
    ("cluster", ["--noise", "saltpepper:1.5"], "density 1.5 is outside [0, 1]"),
    ("cluster", ["--noise", "speckle"], "KIND:LEVEL"),
    ("cluster", ["--noise", "speckle:0.1", "--noise-seed", "-2"], "--noise-seed takes"),
    ("cluster", ["--noise-seed", "1"], "--noise-seed needs --noise"),
    ("predict", ["--model", "m.dcm", "--noise", "saltpepper:2"], "density 2 is outside"),
])
def test_cli_bad_noise_exits_2_and_writes_nothing(tmp_path, cmd, opts, needle):
    x = pixels()
    data, out = tmp_path / "x.npy", tmp_path / "never.csv"
    np.save(data, x)
    extra = ["--method", "kmeans", "--k", 2] if cmd == "cluster" else []
    p = run(cmd, "--data", data, *extra, *opts, "--out", out, "--json")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert needle in p.stderr and p.stdout == "" and not out.exists()
