"""A trained deep model records how its training data were normalised: the
CLI's predict applies the training statistics (not the new data's own), and
the binding exposes the record (Model.normalization,
Model.apply_normalization, Dataset.normalization). Expected values come from
numpy (mean/std of the training data), not from our own output."""
import json
import os
import subprocess

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402

CLI = os.environ.get("DEEPCLUST_CLI")

# Without the neighbour branch a row's label depends on that row alone, so
# predicting on part of the data must give that part's fitted labels.
DEEP = ["--neighbors", "false", "--hidden1", 16, "--hidden2", 16, "--hidden3", 0, "--embed-dim", 3,
        "--pretrain-epochs", 10, "--pretrain-lr", 0.1, "--pretrain-optimizer", "sgd",
        "--max-iter", 60, "--update-interval", 20,
        "--k", 3, "--seed", 1, "--batch", 32]


def blobs(n_per=40, k=3, d=5, seed=0):
    """Blobs far from the origin with features on different scales, so that
    any part of the data has other min/max and mean/std than the whole."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(k, d))
    x = np.concatenate([c + 0.5 * rng.normal(size=(n_per, d)) for c in centres])
    x = 40.0 + x * np.array([1.0, 3.0, 10.0, 0.5, 2.0])[:d]
    return np.ascontiguousarray(x, dtype=np.float32)


def run(*args, check=None):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


@pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")
def test_cli_predict_uses_the_training_statistics(tmp_path):
    x = blobs()
    data, half = tmp_path / "x.csv", tmp_path / "half.csv"
    np.savetxt(data, x, delimiter=",", fmt="%.6f")
    np.savetxt(half, x[:60], delimiter=",", fmt="%.6f")
    model, fitted, again = tmp_path / "m.dcm", tmp_path / "fit.csv", tmp_path / "pred.csv"
    run("cluster", "--method", "edcwrn", "--data", data, "--normalize", "zscore", *DEEP,
        "--quiet", "--save-model", model, "--out", fitted, check=0)
    labels = np.loadtxt(fitted, dtype=np.int64)

    # No --normalize: the model's zscore statistics, so the fitted labels.
    p = run("predict", "--model", model, "--data", data, "--json", "--out", again, check=0)
    j = json.loads(p.stdout)
    assert (j["normalization"], j["normalization_source"]) == ("zscore", "model")
    assert np.array_equal(np.loadtxt(again, dtype=np.int64), labels)

    # The same mode named explicitly: the same (training) statistics. On the
    # first 60 rows (one blob and a half) the labels must be those rows'
    # fitted labels, so the mean/std are the whole set's, not the 60 rows'
    # own (which differ by several standard deviations).
    p = run("predict", "--model", model, "--data", half, "--normalize", "zscore", "--json",
            "--out", again, check=0)
    assert json.loads(p.stdout)["normalization_source"] == "model"
    sub = np.loadtxt(again, dtype=np.int64)
    assert np.array_equal(sub, labels[:60])

    # Another mode: exit 1 naming both; nothing written.
    again.unlink()
    p = run("predict", "--model", model, "--data", data, "--normalize", "minmax", "--out", again)
    assert p.returncode == 1 and "minmax" in p.stderr and "zscore" in p.stderr, p.stderr
    assert not again.exists()

    # none: the data as given.
    p = run("predict", "--model", model, "--data", data, "--normalize", "none", "--json",
            check=0)
    j = json.loads(p.stdout)
    assert (j["normalization"], j["normalization_source"]) == ("none", "none")


@pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")
def test_cli_model_without_record_normalises_with_the_data(tmp_path):
    x = blobs(seed=3)
    data, model = tmp_path / "x.csv", tmp_path / "raw.dcm"
    np.savetxt(data, (x - x.mean(0)) / x.std(0), delimiter=",", fmt="%.6f")
    run("cluster", "--method", "edcwrn", "--data", data, *DEEP, "--quiet", "--save-model", model,
        check=0)
    p = run("predict", "--model", model, "--data", data, "--json", check=0)
    j = json.loads(p.stdout)
    assert (j["normalization"], j["normalization_source"]) == ("none", "none")
    p = run("predict", "--model", model, "--data", data, "--normalize", "minmax", "--json",
            check=0)
    j = json.loads(p.stdout)
    assert (j["normalization"], j["normalization_source"]) == ("minmax", "data")


def small_solver():
    return dc.Solver("edcwrn", k=3, seed=2, hidden1=16, hidden2=16, hidden3=0, embed_dim=3,
                     batch=32, pretrain_epochs=10, pretrain_lr=0.1, pretrain_optimizer="sgd",
                     max_iter=60, update_interval=20)


def test_binding_model_normalization_round_trip(tmp_path):
    x = blobs(seed=5)
    with dc.Dataset(x, copy=True) as train, small_solver() as s:
        assert train.normalization == "none"
        train.normalize("zscore")
        assert train.normalization == "zscore"
        # numpy's population mean/std give the same normalised data.
        expect = (x.astype(np.float64) - x.mean(0, dtype=np.float64)) / x.std(0, dtype=np.float64)
        np.testing.assert_allclose(train.to_numpy(), expect, atol=2e-6)
        s.fit(train)
        fitted = s.labels()
        m = s.model()
    path = tmp_path / "m.dcm"
    m.save(path)
    m.close()
    with dc.Model.load(path) as back:
        assert back.normalization == "zscore"
        with dc.Dataset(x) as fresh:
            assert back.apply_normalization(fresh) is fresh
            assert fresh.normalization == "zscore"
            np.testing.assert_allclose(fresh.to_numpy(), expect, atol=2e-6)
            assert np.array_equal(back.predict(fresh), fitted)
            with pytest.raises(dc.StateError):
                back.apply_normalization(fresh)
        # Normalised with their own statistics: refused.
        with dc.Dataset(x[:50]) as own:
            own.normalize("zscore")
            with pytest.raises(dc.InvalidArgumentError, match="other statistics"):
                back.predict(own)
        with dc.Dataset(x[:, :4]) as narrow, pytest.raises(dc.ShapeError):
            back.apply_normalization(narrow)
        with pytest.raises(TypeError):
            back.apply_normalization(x)
    # A model from data without a record: "none", and apply changes nothing.
    with dc.Dataset(np.ascontiguousarray(expect, dtype=np.float32)) as plain, \
            small_solver() as s:
        s.fit(plain)
        with s.model() as m2, dc.Dataset(x) as raw:
            assert m2.normalization == "none"
            m2.apply_normalization(raw)
            assert raw.normalization == "none" and np.array_equal(raw.to_numpy(), x)
