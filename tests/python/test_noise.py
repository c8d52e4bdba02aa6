"""Noise on the data (EDCWRN 5.6) through the Python binding and the CLI's
--noise: the statistics of the added noise, clipping, determinism per seed,
and refused kinds and levels."""
import json
import os
import subprocess

import pytest

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
