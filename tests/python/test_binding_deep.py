"""The Python binding of the deep methods and the layout-free C setters:
EDCWRN/IDEC/DEC estimators (fitted attributes recomputed with numpy, the
loss composition, save/load/pickle/predict round trips, pre-trained
autoencoder reuse, checkpoint + resume, parity with the CLI, errors), the
Model handle, Dataset.load with CSV options (dc_load_options_set) and
dbas_minimize with a Python fitness (dc_dbas_config_set). Networks are tiny
so that the file runs in a few seconds."""
import os
import pickle
import subprocess

import pytest

np = pytest.importorskip("numpy")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402

CLI = os.environ.get("DEEPCLUST_CLI")
DEEP = [dc.EDCWRN, dc.IDEC, dc.DEC]

# Tiny networks and short phases (estimator arguments).
SMALL = dict(hidden1=32, hidden2=16, hidden3=0, embed_dim=3, batch_size=32, pretrain_epochs=20,
             pretrain_lr=0.1, pretrain_optimizer="sgd", pretrain_schedule="constant",
             pretrain_warmup=0, scale_input=False, n_init=5, update_interval=20, max_iter=100)


def block_blobs(n=240, d=12, k=3, seed=0):
    """k separated blobs in [0, 1]^d: blob j is high (0.85) on its own block
    of d/k features and low (0.1) elsewhere, plus N(0, 0.04^2) noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    high = (np.arange(d)[None, :] * k // d) == y[:, None]
    x = np.where(high, 0.85, 0.1) + 0.04 * rng.normal(size=(n, d))
    return np.ascontiguousarray(x, dtype=np.float32), y


@pytest.fixture(scope="module")
def data():
    return block_blobs()


@pytest.fixture(scope="module")
def fitted(data):
    """One fitted estimator per method (shared by the read-only tests)."""
    x, _ = data
    return {cls: cls(3, random_state=1, **SMALL).fit(x) for cls in DEEP}


def soft_assignment(est):
    """q recomputed with numpy from embedding_, cluster_centers_ (and
    weights_): EDCWRN Eq. 11 kernel 1 / (1 + a s^b) with the weighted
    distance (times M for weighting_norm="mean"), unnormalised; IDEC/DEC
    Student-t (1 + s)^-1 normalised."""
    z = est.embedding_.astype(np.float64)
    r = est.cluster_centers_.astype(np.float64)
    w = est.weights_.astype(np.float64) if hasattr(est, "weights_") else np.ones_like(r)
    s = ((z[:, None, :] - r[None, :, :]) ** 2 * w[None, :, :]).sum(-1)
    if isinstance(est, dc.EDCWRN):
        used = est.model_.params()  # weighting, weighting_norm: None = the preset's
        if used["weighting"] and used["weighting_norm"] == "mean":
            s = s * z.shape[1]
        return 1.0 / (1.0 + est.a * s ** est.b)
    q = 1.0 / (1.0 + s)
    return q / q.sum(1, keepdims=True)


# --------------------------------------------------------------------------
# Fitting


@pytest.mark.parametrize("cls", DEEP)
def test_fit_clusters_and_attributes_agree_with_numpy(cls, data, fitted):
    x, y = data
    est = fitted[cls]
    n = len(y)
    assert dc.metrics.acc(y, est.labels_) == 1.0
    assert est.embedding_.shape == (n, 3) and est.cluster_centers_.shape == (3, 3)
    assert est.q_.shape == (n, 3) and est.n_features_in_ == 12
    assert hasattr(est, "weights_") == (cls is dc.EDCWRN)
    # the soft assignment is the method's kernel on the exposed embedding,
    # and the labels are its argmax
    np.testing.assert_allclose(est.q_, soft_assignment(est), rtol=2e-4, atol=1e-6)
    np.testing.assert_array_equal(est.labels_, np.argmax(est.q_, axis=1))
    # one loss row per clustering iteration: L = L_r + lambda L_c (DEC: L_c only)
    hist = est.loss_history_
    assert hist.shape == (est.n_iter_, 3) and est.n_iter_ == est.stats_["iterations"]
    if cls is dc.DEC:
        np.testing.assert_array_equal(hist[:, 1], 0)
        np.testing.assert_allclose(hist[:, 0], hist[:, 2], rtol=1e-6)
    else:
        np.testing.assert_allclose(hist[:, 0], hist[:, 1] + est.lam * hist[:, 2], rtol=1e-5)
    changes = est.label_change_history_
    assert changes.shape[1] == 2 and np.all(changes[:, 0] % est.update_interval == 0)
    assert np.all((changes[:, 1] >= 0) & (changes[:, 1] <= 1))
    # converged: the last update changed fewer than tol of the labels
    assert est.converged_ == (changes[-1, 1] < est.tol) and est.n_iter_ <= est.max_iter


@pytest.mark.parametrize("cls", DEEP)
def test_model_reproduces_the_fit(cls, data, fitted):
    x, _ = data
    est = fitted[cls]
    m = est.model_
    assert (m.method, m.input_dim, m.embed_dim, m.k, m.is_autoencoder, m.train_rows) == (
        cls._method, 12, 3, 3, False, len(x))
    np.testing.assert_array_equal(m.predict(x), est.labels_)
    np.testing.assert_array_equal(est.predict(x), est.labels_)
    np.testing.assert_array_equal(m.embed(x), est.embedding_)
    np.testing.assert_array_equal(m.centers, est.cluster_centers_)
    if cls is dc.EDCWRN:
        np.testing.assert_array_equal(m.weights, est.weights_)
        np.testing.assert_allclose(m.weights.sum(axis=1), 1.0, rtol=1e-5)
    else:
        np.testing.assert_array_equal(m.weights, np.ones((3, 3), np.float32))
    ae = est.pretrained_
    assert ae.is_autoencoder and ae.k == 0 and ae.embed_dim == 3 and ae.method == cls._method
    assert ae.embed(x).shape == (len(x), 3)
    with pytest.raises(dc.UnsupportedError):
        ae.predict(x)
    with pytest.raises(dc.UnsupportedError):
        ae.centers
    params = m.params()
    assert params["k"] == 3 and params["seed"] == 1 and params["hidden1"] == 32
    assert params["batch"] == 32 and params["augment"] == "auto"
    assert isinstance(params["scale_input"], bool)
    assert m.get("embed_dim") == 3 and isinstance(m.get("embed_dim"), int)
    if cls is dc.EDCWRN:
        assert m.get("formulation") == "proposed" and m.get("lambda") == 0.1
    with pytest.raises(dc.UnknownNameError):
        m.get("bogus")


def test_save_load_predict_and_pickle(data, fitted, tmp_path):
    x, _ = data
    est = fitted[dc.EDCWRN]
    path = tmp_path / "edcwrn.dcm"
    est.save(path)
    loaded = dc.EDCWRN.load(path)
    np.testing.assert_array_equal(loaded.predict(x), est.labels_)
    np.testing.assert_array_equal(loaded.embed(x), est.embedding_)
    # recorded in the file: the arguments given, and the preset's values of
    # those left at None
    used = est.model_.params()
    assert loaded.get_params() == {
        arg: used[dc.EDCWRN._params[arg]] if value is None and arg in dc.EDCWRN._params
        else value for arg, value in est.get_params().items()}
    assert loaded.lr == 0.1 and loaded.init == "spectral" and est.lr is None
    assert loaded.n_features_in_ == 12 and not hasattr(loaded, "labels_")
    with dc.Model.load(path) as m:
        np.testing.assert_array_equal(m.predict(x), est.labels_)
    assert m.closed
    with pytest.raises(ValueError, match="closed"):
        m.predict(x)
    with pytest.raises(TypeError, match="Model.load"):
        dc.Model()
    # wrong class, an autoencoder, damaged files
    with pytest.raises(ValueError, match="holds an edcwrn model, not an IDEC model"):
        dc.IDEC.load(path)
    with pytest.raises(ValueError, match="holds an edcwrn model, not a DEC model"):
        dc.DEC.load(path)
    est.pretrained_.save(tmp_path / "ae.dcm")
    with pytest.raises(ValueError, match="autoencoder"):
        dc.EDCWRN.load(tmp_path / "ae.dcm")
    raw = path.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(dc.TruncatedFileError):
        dc.Model.load(tmp_path / "cut.dcm")
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x10
    (tmp_path / "flip.dcm").write_bytes(bytes(flipped))
    with pytest.raises(dc.ChecksumError):
        dc.Model.load(tmp_path / "flip.dcm")
    with pytest.raises(dc.FileIOError):
        dc.Model.load(tmp_path / "missing.dcm")
    # pickling keeps the model, so the copy predicts too
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(x), est.labels_)
    np.testing.assert_array_equal(again.labels_, est.labels_)
    assert again.model_.handle is not est.model_.handle


def test_pretrained_autoencoder_is_reused(data, fitted):
    x, _ = data
    first = fitted[dc.IDEC]
    # C contract: starting from the autoencoder a fit pre-trained itself, with
    # the same seed and parameters, gives the same result without pre-training
    for est in (dc.IDEC(3, random_state=1, pretrained=first.pretrained_, **SMALL).fit(x),
                dc.IDEC(3, random_state=1, **SMALL).fit(x, pretrained=first)):
        np.testing.assert_array_equal(est.labels_, first.labels_)
        np.testing.assert_array_equal(est.embedding_, first.embedding_)
        assert est.stats_["seconds_pretrain"] == 0 < first.stats_["seconds_pretrain"]
        assert "pretrain_loss" in est.stats_
    # the autoencoder's layer sizes win over the estimator's
    big = dc.IDEC(3, random_state=1, **dict(SMALL, hidden1=64, embed_dim=5))
    big.fit(x, pretrained=first.pretrained_)
    assert big.embedding_.shape == (len(x), 3)
    with pytest.raises(dc.InvalidArgumentError, match="clustering model"):
        dc.IDEC(3, **SMALL).fit(x, pretrained=first.model_)
    with pytest.raises(dc.ShapeError, match="columns"):
        dc.IDEC(3, **SMALL).fit(x[:, :8], pretrained=first.pretrained_)
    with pytest.raises(TypeError, match="pretrained"):
        dc.IDEC(3, **SMALL).fit(x, pretrained="ae.dcm")
    with pytest.raises(dc.NotFittedError):
        dc.IDEC(3, **SMALL).fit(x, pretrained=dc.IDEC(3))


def test_checkpoint_and_resume_equal_the_uninterrupted_fit(data, tmp_path):
    x, _ = data
    ckpt = tmp_path / "run.ckpt"
    params = dict(SMALL, max_iter=60, tol=0.0, update_interval=15)  # tol 0: all 60 iterations
    whole = dc.IDEC(3, random_state=4, **params).fit(x)
    assert whole.n_iter_ == 60 and not whole.converged_

    def stop_at_35(phase, done, total, value):
        return phase == "cluster" and done >= 35

    est = dc.IDEC(3, random_state=4, checkpoint=ckpt, checkpoint_every=10, **params)
    with pytest.raises(dc.CancelledError):
        est.fit(x, progress=stop_at_35)
    assert ckpt.exists() and not hasattr(est, "labels_")
    with dc.Model.load(ckpt) as m:  # a checkpoint holds the current model
        assert (m.method, m.k) == ("idec", 3)
    resumed = dc.IDEC(3, **params).resume(x, ckpt)  # the checkpoint's values may be repeated
    np.testing.assert_array_equal(resumed.labels_, whole.labels_)
    np.testing.assert_array_equal(resumed.embedding_, whole.embedding_)
    np.testing.assert_array_equal(resumed.loss_history_, whole.loss_history_)
    assert resumed.n_iter_ == 60
    with pytest.raises(dc.StateError):
        dc.IDEC(3).resume(x + 1, ckpt)  # other data
    with pytest.raises(dc.InvalidArgumentError):
        dc.EDCWRN(3).resume(x, ckpt)  # another method's checkpoint
    with pytest.raises(dc.InvalidArgumentError, match="checkpoint=path"):
        dc.IDEC(3, checkpoint_every=5, **SMALL).fit(x)
    # without checkpoint_every a checkpoint is written at every target update
    every = tmp_path / "every.ckpt"
    dc.IDEC(3, random_state=4, checkpoint=every, **params).fit(x)
    assert every.exists()


def test_resume_continues_a_finished_fit(data, tmp_path):
    x, _ = data
    ckpt = tmp_path / "end.ckpt"
    params = dict(SMALL, tol=0.0, update_interval=15, lam=0.3)  # lam: not the default
    whole = dc.IDEC(3, random_state=4, **dict(params, max_iter=90)).fit(x)
    first = dc.IDEC(3, random_state=4, checkpoint=ckpt, checkpoint_every=40,
                    **dict(params, max_iter=50)).fit(x)  # last in the loop: 40; the end: 50

    def same(a, b):
        for attr in ("labels_", "embedding_", "cluster_centers_", "loss_history_",
                     "label_change_history_"):
            np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)
        assert a.n_iter_ == b.n_iter_

    steps = []

    def count(phase, done, total, value):
        if phase == "cluster":
            steps.append(done)

    same(dc.IDEC(3).resume(x, ckpt, progress=count), first)  # the finished fit, not re-run
    assert steps == []
    more = dc.IDEC(3).resume(x, ckpt, progress=count, max_iter=90)
    same(more, whole)
    assert steps == list(range(51, 91))
    assert more.model_.params()["max_iter"] == 90 and more.model_.params()["lambda"] == 0.3
    # the estimator's own max_iter, and arguments equal to the checkpoint's
    same(dc.IDEC(3, lam=0.3, tol=0.0, max_iter=90).resume(x, ckpt), whole)
    with pytest.raises(dc.InvalidArgumentError, match="max_iter = 40 is below the checkpoint's "
                                                      "iteration 50"):
        dc.IDEC(3).resume(x, ckpt, max_iter=40)
    with pytest.raises(dc.InvalidArgumentError, match="lam = 0.3 in the checkpoint, 0.5 given"):
        dc.IDEC(3, lam=0.5).resume(x, ckpt, max_iter=90)
    with pytest.raises(dc.InvalidArgumentError, match="n_clusters = 3 in the checkpoint, 4 given"):
        dc.IDEC(4).resume(x, ckpt)
    with pytest.raises(dc.InvalidArgumentError, match="tol = 0.01 is above"):
        dc.IDEC(3).resume(x, ckpt, tol=0.01)
    # the low-level solver: parameters set on it count as given
    with dc.Solver("idec") as s:
        s.set("max_iter", 90).resume(x, ckpt)
        np.testing.assert_array_equal(s.labels(), whole.labels_)
    with dc.Solver("idec") as s:
        s.set("seed", 5)
        with pytest.raises(dc.InvalidArgumentError, match="seed = 4 in the checkpoint, 5 given"):
            s.resume(x, ckpt)
        assert s.get("seed") == 5 and s.get("max_iter") == 8000  # unchanged


# --------------------------------------------------------------------------
# Parameters, errors, scikit-learn conventions


# The arguments the authors' preset chooses (lib/methods/edcwrn_config.c,
# docs/methods.md) and their values there; IDEC and DEC keep their lr,
# weighting and weighting_norm are EDCWRN's.
AUTHORS = dict(pretrain_steps=128000, pretrain_optimizer="sgd", pretrain_lr=1.0,
               pretrain_momentum=0.9, pretrain_schedule="constant", pretrain_warmup=0,
               scale_input=False, pretrain_zoom=0.0, augment_fill="nearest", n_init=150,
               init="kmeans")
AUTHORS_EDCWRN = dict(AUTHORS, lr=1.0, weighting="after", weighting_norm="sum")


@pytest.mark.parametrize("cls", DEEP)
def test_defaults_equal_the_library_defaults(cls):
    """Every default is the library's, except n_clusters (the library has
    none: 0 means not set) and the arguments a preset chooses, which are
    None (not passed: the preset's value)."""
    est = cls()
    by_preset = AUTHORS_EDCWRN if cls is dc.EDCWRN else AUTHORS
    with dc.Solver(cls._method) as s:
        assert set(cls._params.values()) == set(s.param_names())
        for arg, cname in cls._params.items():
            if arg in by_preset:
                assert getattr(est, arg) is None, arg
            elif arg not in ("n_clusters", "random_state"):
                assert s.get(cname) == getattr(est, arg), arg
    assert set(est.get_params()) == set(cls._params) | {"image_shape", "pretrained",
                                                        "checkpoint", "n_jobs", "verbose"}


@pytest.mark.parametrize("cls", DEEP)
def test_default_n_clusters_is_passed(cls):
    """n_clusters=8 is the Python default but not the library's (0, not
    set): it must reach the library whether left default or given."""
    x, _ = block_blobs(n=160, d=16, k=8)
    for est in (cls(random_state=0, **SMALL), cls(n_clusters=8, random_state=0, **SMALL)):
        est.fit(x)
        assert est.model_.k == 8 and est.cluster_centers_.shape == (8, 3)


# The authors' preset with a tiny network (the epochs budget replaces its
# 128000 steps).
TINY_AUTHORS = dict(preset="authors", hidden1=16, hidden2=0, hidden3=0, embed_dim=2,
                    batch_size=32, pretrain_epochs=5, max_iter=20, update_interval=10,
                    random_state=0)


@pytest.mark.parametrize("cls", [dc.EDCWRN, dc.IDEC])
def test_preset_keeps_the_arguments_given(cls, data):
    """preset="authors" chooses the arguments left at None and keeps every
    argument given, also one equal to the default recipe's value; clone
    keeps which is which."""
    sklearn_base = pytest.importorskip("sklearn.base")
    x, _ = data
    by_preset = AUTHORS_EDCWRN if cls is dc.EDCWRN else AUTHORS
    used = cls(3, **TINY_AUTHORS).fit(x).model_.params()
    for arg, value in by_preset.items():
        assert used[arg] == value, arg
    assert used["lr"] == (1.0 if cls is dc.EDCWRN else 0.1)  # IDEC keeps its own
    # the default recipe's values, given: kept (they equal the defaults of
    # the library's parameter table, which the preset replaces)
    given = dict(lr=0.1, n_init=20, init="spectral", pretrain_zoom=0.1, scale_input=True)
    if cls is dc.EDCWRN:
        given.update(weighting=True, weighting_norm="mean")
    est = cls(3, **TINY_AUTHORS, **given)
    copy = sklearn_base.clone(est)
    assert copy.get_params() == est.get_params()
    for fitted in (est.fit(x), copy.fit(x)):
        used = fitted.model_.params()
        for arg, value in given.items():
            assert used[cls._params[arg]] == value, arg
        assert used["pretrain_optimizer"] == "sgd" and used["augment_fill"] == "nearest"
    # and the default preset gives None the library's values
    with dc.Solver(cls._method) as s:
        used = cls(3, **dict(TINY_AUTHORS, preset="default")).fit(x).model_.params()
        for arg in by_preset:
            assert used[arg] == s.get(arg), arg


# The default recipe with only a small network and short phases.
TINY_DEFAULTS = dict(hidden1=32, hidden2=16, hidden3=0, embed_dim=3, pretrain_steps=300,
                     max_iter=200, update_interval=20)


@pytest.mark.parametrize("cls", DEEP)
def test_default_recipe_after_standard_scaler(cls):
    """make_pipeline(StandardScaler(), EDCWRN(5)) on Gaussian blobs: the old
    default (SGD at lr 1) diverged in pre-training on most of these sets;
    the default now fits each and finds the blobs."""
    datasets = pytest.importorskip("sklearn.datasets")
    pipeline = pytest.importorskip("sklearn.pipeline")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    metrics = pytest.importorskip("sklearn.metrics")
    for seed in range(4):
        x, y = datasets.make_blobs(n_samples=300, n_features=10, centers=5, random_state=seed)
        pipe = pipeline.make_pipeline(preprocessing.StandardScaler(),
                                      cls(5, random_state=seed, **TINY_DEFAULTS))
        labels = pipe.fit_predict(x)
        assert metrics.adjusted_rand_score(y, labels) > 0.9, (cls.__name__, seed)


@pytest.mark.parametrize("cls", DEEP)
def test_default_recipe_on_integer_features(cls):
    """scikit-learn's digits as they come (integers 0..16): no divergence,
    the input scale is 1/16 and the clusters carry information."""
    datasets = pytest.importorskip("sklearn.datasets")
    metrics = pytest.importorskip("sklearn.metrics")
    x, y = datasets.load_digits(return_X_y=True)
    x, y = x[:600], y[:600]
    est = cls(10, random_state=0, hidden1=64, hidden2=16, hidden3=0, max_iter=300,
              update_interval=20).fit(x)  # the default budget: 2000 steps
    assert est.model_.params()["scale_input"] is True
    assert metrics.normalized_mutual_info_score(y, est.labels_) > 0.5


def test_parameter_errors(data):
    x, _ = data
    with pytest.raises(dc.InvalidArgumentError, match="lam=-1"):
        dc.IDEC(3, lam=-1, **SMALL).fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="not one of"):
        dc.EDCWRN(3, formulation="bogus", **SMALL).fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="hidden3 needs hidden2"):
        dc.DEC(3, **dict(SMALL, hidden2=0, hidden3=8)).fit(x)
    with pytest.raises(dc.InvalidArgumentError, match="neighbors_k"):
        dc.EDCWRN(3, neighbors_k=len(x), **SMALL).fit(x)
    with pytest.raises(dc.KRangeError):
        dc.IDEC(len(x) + 1, **SMALL).fit(x)
    # augmentation needs an image shape that matches the columns
    with pytest.raises(dc.InvalidArgumentError, match="augment"):
        dc.IDEC(3, augment=True, **SMALL).fit(x)
    with pytest.raises(dc.ShapeError):
        dc.IDEC(3, augment=True, image_shape=(3, 3), **SMALL).fit(x)
    est = dc.IDEC(3, augment=True, image_shape=(3, 4, 1), random_state=1, **SMALL).fit(x)
    assert est.model_.params()["augment"] is True


def test_predict_errors(data, fitted):
    x, _ = data
    for cls in DEEP:
        with pytest.raises(dc.NotFittedError):
            cls(3).predict(x)
        with pytest.raises(dc.NotFittedError):
            cls(3).save("never.dcm")
    est = fitted[dc.EDCWRN]
    with pytest.raises(dc.ShapeError):
        est.predict(x[:, :11])
    with pytest.raises(dc.ShapeError):
        est.model_.embed(np.ones((4, 13), np.float32))
    with pytest.raises(dc.UnsupportedError):
        dc.Solver("kmeans", k=2).model()
    with dc.Solver("idec", k=2) as s:
        with pytest.raises(dc.StateError):
            s.model()
        with pytest.raises(dc.StateError):
            s.pretrained()
    # a single row is its own neighbour: still a valid label
    assert 0 <= est.predict(x[:1])[0] < 3


def test_sklearn_clone_with_a_model_argument(fitted):
    sklearn_base = pytest.importorskip("sklearn.base")
    ae = fitted[dc.IDEC].pretrained_
    est = dc.IDEC(3, pretrained=ae, lam=0.2)
    c = sklearn_base.clone(est)
    assert c.lam == 0.2 and isinstance(c.pretrained, dc.Model)
    assert c.pretrained.is_autoencoder and c.pretrained.input_dim == 12


@pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")
@pytest.mark.parametrize("cls, extra", [(dc.IDEC, {}), (dc.EDCWRN, {"lam": 0.2})])
def test_labels_and_model_equal_the_cli(cls, extra, data, tmp_path):
    x, _ = data
    np.save(tmp_path / "x.npy", x)
    est = cls(3, random_state=7, **SMALL, **extra)
    args = []
    for arg, value in est.get_params().items():
        cname = cls._params.get(arg)
        if cname not in (None, "k", "seed") and value != getattr(cls(), arg):
            args += ["--" + cname.replace("_", "-"), str(value)]
    out, model = tmp_path / "labels.npy", tmp_path / "cli.dcm"
    p = subprocess.run([CLI, "cluster", "--method", cls._method, "--data", str(tmp_path / "x.npy"),
                        "--k", "3", "--seed", "7", "--quiet", "--out", str(out),
                        "--save-model", str(model), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    est.fit(x)
    np.testing.assert_array_equal(est.labels_, np.load(out))
    # the CLI's model file predicts in Python exactly as the Python fit
    np.testing.assert_array_equal(cls.load(model).predict(x), est.labels_)


# --------------------------------------------------------------------------
# Dataset.load options (dc_load_options_set)


def test_dataset_load_csv_options(tmp_path):
    x, y = block_blobs(n=12, d=4, k=3)
    path = tmp_path / "semi.csv"
    with open(path, "w") as f:
        f.write("a;label;b;c;d\n")
        for row, lab in zip(x, y):
            f.write(";".join(["%.6f" % row[0], str(lab)] + ["%.6f" % v for v in row[1:]]) + "\n")
    expect = np.round(x.astype(np.float64), 6).astype(np.float32)
    with dc.Dataset.load(path, delimiter=";", header=True, label_column=1, format="csv") as ds:
        np.testing.assert_array_equal(ds.to_numpy(), expect)
        np.testing.assert_array_equal(ds.labels, y)
    with dc.Dataset.load(path) as ds:  # defaults: detected header and delimiter, no labels
        assert ds.shape == (12, 5) and ds.labels is None
    with pytest.raises(dc.FileFormatError):
        dc.Dataset.load(path, header=False)  # the header line is read as data
    with pytest.raises(dc.FileFormatError):
        dc.Dataset.load(path, delimiter=",")
    # the last column, by name or Python's -1, and numpy.savetxt's blank runs
    last = tmp_path / "last.txt"
    np.savetxt(last, np.column_stack([x, y]), fmt="%.6f")
    for column in ("last", -1):
        with dc.Dataset.load(last, delimiter=" ", label_column=column, header=False) as ds:
            np.testing.assert_array_equal(ds.to_numpy(), expect)
            np.testing.assert_array_equal(ds.labels, y)
    with pytest.raises(ValueError, match="delimiter"):
        dc.Dataset.load(last, delimiter="|")
    with pytest.raises(ValueError, match="label_column"):
        dc.Dataset.load(last, label_column=-2)
    with pytest.raises(ValueError, match="header"):
        dc.Dataset.load(last, header="yes")
    with pytest.raises(dc.FileFormatError):
        dc.Dataset.load(last, format="npy")


def test_layout_free_setters_reject_bad_names_and_values():
    from deepclust import _lib
    lib = _lib.lib()
    opts = (lib.dc_load_options_size, lib.dc_load_options_default, lib.dc_load_options_set)
    with pytest.raises(dc.UnknownNameError, match="bogus"):
        _lib.config_struct(*opts, {"bogus": 1})
    with pytest.raises(dc.InvalidArgumentError, match="header"):
        _lib.config_struct(*opts, {"header": 2})
    with pytest.raises(dc.InvalidArgumentError, match="whole number"):
        _lib.config_struct(*opts, {"label_column": 1.5})
    cfg = (lib.dc_dbas_config_size, lib.dc_dbas_config_default, lib.dc_dbas_config_set)
    with pytest.raises(dc.UnknownNameError):
        _lib.config_struct(*cfg, {"progress": 1})
    with pytest.raises(ValueError, match="too large"):
        _lib.config_struct(*cfg, {"seed": 2 ** 60 + 1})


# --------------------------------------------------------------------------
# dbas_minimize (dc_dbas_config_set, Python fitness)


CENTRE = np.array([1.0, -2.0, 0.5])
WEIGHT = np.array([1.0, 4.0, 0.5])


def bowl(x):
    return float((WEIGHT * (x - CENTRE) ** 2).sum())


def test_dbas_minimize_finds_the_minimum_of_a_quadratic():
    calls = []

    def f(x):
        assert x.dtype == np.float64 and x.shape == (3,) and not x.flags.writeable
        calls.append(x.copy())
        return bowl(x)

    r = dc.dbas_minimize(f, np.zeros(3), step=1.0, eta=0.97, iterations=300, beetles=3, seed=2)
    assert r.fitness < 1e-6 and r.fitness == pytest.approx(bowl(r.x), abs=0)
    np.testing.assert_allclose(r.x, CENTRE, atol=1e-3)
    assert r.trace.shape == r.trace_current.shape == (301,)
    assert r.trace[0] == bowl(np.zeros(3)) and r.trace[-1] == r.fitness
    assert np.all(np.diff(r.trace) <= 0)
    assert np.all(r.trace_current[1:] >= r.trace[1:])
    # three evaluations per beetle and iteration, plus the start point(s)
    assert 3 * 300 * 3 <= r.n_evaluations == len(calls) <= 3 * 300 * 3 + 3
    # the best point is one f was called at (antenna points are smelled, not visited)
    assert any(np.array_equal(c, r.x) for c in calls)
    # the seed decides the search; defaults: the paper's settings
    again = dc.dbas_minimize(bowl, np.zeros(3), step=1.0, eta=0.97, iterations=300, beetles=3,
                             seed=2)
    np.testing.assert_array_equal(again.x, r.x)
    other = dc.dbas_minimize(bowl, np.zeros(3), step=1.0, eta=0.97, iterations=300, beetles=3,
                             seed=3)
    assert not np.array_equal(other.x, r.x)
    plain = dc.dbas_minimize(bowl, [0.0, 0.0, 0.0])
    assert plain.trace.shape == (101,) and plain.fitness < bowl(np.zeros(3))


def test_dbas_minimize_one_start_per_beetle():
    starts = np.array([[5.0, 5.0, 5.0], [1.0, -2.0, 0.5]])  # the second is the minimum
    r = dc.dbas_minimize(bowl, starts, iterations=5)
    assert r.fitness == 0.0 and r.trace[0] == 0.0
    with pytest.raises(dc.InvalidArgumentError):
        dc.dbas_minimize(bowl, starts, iterations=5, beetles=3)


def test_dbas_minimize_exception_in_fitness_propagates():
    class Boom(Exception):
        pass

    seen = []

    def f(x):
        seen.append(1)
        if len(seen) == 10:
            raise Boom("at call 10")
        return bowl(x)

    with pytest.raises(Boom, match="at call 10"):
        dc.dbas_minimize(f, np.zeros(3), iterations=50)
    assert len(seen) == 10  # the search stopped at the failing call
    with pytest.raises(TypeError):
        dc.dbas_minimize(lambda x: None, np.zeros(3))
    with pytest.raises(dc.NumericError, match="NaN"):
        dc.dbas_minimize(lambda x: float("nan"), np.zeros(3))


def test_dbas_minimize_bad_options():
    with pytest.raises(dc.InvalidArgumentError, match="damp"):
        dc.dbas_minimize(bowl, np.zeros(3), damp=1.0)
    with pytest.raises(dc.InvalidArgumentError, match="whole number"):
        dc.dbas_minimize(bowl, np.zeros(3), iterations=2.5)
    with pytest.raises(dc.InvalidArgumentError):
        dc.dbas_minimize(bowl, np.zeros(3), iterations=0)
    with pytest.raises(dc.InvalidArgumentError):
        dc.dbas_minimize(bowl, [0.0, float("inf"), 0.0])
    with pytest.raises(ValueError, match="x0"):
        dc.dbas_minimize(bowl, np.zeros((2, 2, 2)))
