"""The deep estimators: _DeepEstimator (model, pre-training, checkpoints), EDCWRN, IDEC, DEC."""
import numpy as np

from ._arrays import as_matrix
from ._estimators_base import (_COMMON_DOC, NotFittedError, _result_dtype, _SolverEstimator,
                               _threads)
from ._status import InvalidArgumentError, Status
from .dataset import Dataset
from .model import Model


def _store_args(est, args):
    """__init__ body of the deep estimators: every argument becomes the
    attribute of the same name (scikit-learn: no checks, no changes)."""
    for name, value in args.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _a(name):
    """name with its indefinite article, as it is read out: "an IDEC", "a DEC"."""
    return ("an " if name[:1].lower() in "aeio" else "a ") + name


def _autoencoder(pretrained):
    """The Model a fit starts from: None, a Model, or a fitted deep
    estimator (its pretrained_)."""
    if pretrained is None or isinstance(pretrained, Model):
        return pretrained
    if isinstance(pretrained, _DeepEstimator):
        if not hasattr(pretrained, "pretrained_"):
            raise NotFittedError("pretrained=%s has no pre-trained autoencoder (pretrained_): "
                                 "fit it first" % type(pretrained).__name__)
        return pretrained.pretrained_
    raise TypeError("pretrained must be a deepclust.Model (an autoencoder), a fitted deep "
                    "estimator or None, got %r" % (pretrained,))


# __init__ argument -> solver parameter, shared by EDCWRN, IDEC and DEC.
_DEEP_PARAMS = dict(_SolverEstimator._params, preset="preset", pretrain_steps="pretrain_steps",
                    pretrain_epochs="pretrain_epochs", pretrain_warmup="pretrain_warmup",
                    scale_input="scale_input",
                    pretrain_lr="pretrain_lr", pretrain_momentum="pretrain_momentum",
                    pretrain_optimizer="pretrain_optimizer",
                    pretrain_schedule="pretrain_schedule", batch_size="batch", lr="lr", momentum="momentum",
                    update_interval="update_interval", tol="tol", max_iter="max_iter",
                    n_init="n_init", embed_dim="embed_dim", hidden1="hidden1",
                    hidden2="hidden2", hidden3="hidden3", augment="augment",
                    pretrain_zoom="pretrain_zoom", augment_fill="augment_fill", init="init",
                    gemm_precision="gemm_precision", checkpoint_every="checkpoint_every")

_DEEP_DOC = """
    Network and training. preset: "default" (the library's measured recipe)
    or "authors" (the EDCWRN authors' published code; docs/methods.md
    compares them). The arguments a preset chooses default to None, which
    means the preset's value; any value you give is kept under either
    preset:

        argument                 preset="default"   preset="authors"
        pretrain_steps           0 (see below)      128000
        pretrain_optimizer       "adam"             "sgd"
        pretrain_lr              0 (Adam: 0.001)    1.0
        pretrain_momentum        0.9                0.9
        pretrain_schedule        "cosine"           "constant"
        pretrain_warmup          1000               0
        scale_input              True               False
        pretrain_zoom            0.1                0
        augment_fill             "zero"             "nearest"
        n_init                   20                 150
        init                     "spectral"         "kmeans"
        lr (EDCWRN)              0.1                1.0
        weighting (EDCWRN)       True               "after"
        weighting_norm (EDCWRN)  "mean"             "sum"

    The other defaults are the library's under both presets (IDEC and DEC
    keep their own lr); the values a fit used are in model_.params().
    hidden1, hidden2, hidden3 (encoder hidden layers; 0
    drops layer 2 or 3; the decoder mirrors them), embed_dim (embedding
    size M). pretrain_steps (0: 500 epochs, at least 2000 and at most 12000
    steps), pretrain_epochs (> 0: the budget in epochs instead),
    pretrain_warmup (learning-rate warm-up steps), pretrain_lr,
    pretrain_momentum, pretrain_optimizer ("adam": Adam, beta1 =
    pretrain_momentum; "sgd": SGD with momentum), pretrain_schedule
    ("cosine" or "constant"): autoencoder pre-training; pretrain_lr 0 = the
    optimiser's default (Adam 0.001, SGD 1.0). scale_input: divide the data
    by a power of two near their 99th percentile of |x| (recorded in the
    model), so that the learning rates act alike on any scaling.
    batch_size: mini-batch of both phases. lr, momentum: clustering phase.
    update_interval: T, clustering iterations between target-distribution
    updates; tol: stop when fewer than this fraction of labels changed
    between two updates; max_iter: clustering iterations (mini-batches).
    n_init: k-means restarts for the initial centres. init: "spectral"
    (the means of the pre-trained embedding over the clusters of spectral
    clustering on it, which are also the first targets) or "kmeans"
    (k-means on the embedding, as DEC, IDEC and the authors). augment: random
    affine augmentation of image batches ("auto": when image_shape = (H, W)
    or (H, W, C) is given; True needs it); pretrain_zoom: zoom range z of
    the pre-training augmentation (scales in [1 - z, 1 + z]); augment_fill:
    what augmented images show outside the image ("nearest" edge pixel or
    "zero"). gemm_precision: "fp32", "bf16" (the networks' matrix
    products with bfloat16 inputs and fp32 sums in both phases, about twice
    as fast; needs a library built with oneDNN and a CPU with AVX512_BF16 or
    AMX, else the fit raises) or "auto" (fp32 in pre-training, bf16 in the
    clustering phase where available). random_state: None (a fresh seed per fit), an int, a
    RandomState or a Generator.

    pretrained: a pre-trained autoencoder (deepclust.Model, e.g. another
    estimator's pretrained_, or that fitted estimator itself) to start from
    instead of pre-training; its layer sizes replace hidden1..3 and
    embed_dim. fit(X, pretrained=...) overrides it for one fit. get_params
    reports a fitted estimator given here by its pretrained_, so clone and
    GridSearchCV keep the autoencoder (a clone of the estimator would be
    unfitted).

    checkpoint: a file to which the fit writes its whole training state
    every checkpoint_every clustering iterations (0 = at every target
    update; a fit that finishes also writes its final state), and during
    pre-training every checkpoint_every steps and at its end (not under
    MPI); an interrupted fit writes its state where it stopped;
    resume(X, checkpoint) continues an interrupted fit and gives the result
    of the uninterrupted one, or continues a finished fit when max_iter is
    set higher (tol may be lowered).

    Fitted attributes: labels_, embedding_ (n_samples, embed_dim),
    cluster_centers_ (n_clusters, embed_dim, in the embedding), q_ (soft
    assignment, n_samples x n_clusters), loss_history_ (one row per
    clustering iteration: total, reconstruction and clustering loss),
    label_change_history_ (one row per target update: iteration, fraction
    of labels changed), n_iter_, converged_, pretrain_loss_, stats_ (all
    statistics, timings included), model_ (deepclust.Model: predict, embed,
    save), pretrained_ (the autoencoder the clustering started from),
    seed_, n_features_in_.

    predict(X) labels new rows with the model: EDCWRN's neighbour branch
    takes each row's neighbours among the training rows, which the model
    keeps, so a row gets the same label alone or in a batch; on the
    training data predict reproduces labels_ exactly. transform(X) is the
    embedding the labels come from (fit_transform(X) = embedding_), so the
    estimator is a Pipeline step.
    score(X) is minus the within-cluster sum of squares of the partition
    predict makes of X, in X's space (rows to the mean of their predicted
    cluster): higher is better, as for KMeans, and comparable between
    models, so GridSearchCV works without a scorer. save(path) writes model_; the class method
    load(path) returns an estimator that predicts (its parameters are
    those recorded in the file; it has no labels_). Pickling keeps the
    model.""" + _COMMON_DOC


class _DeepEstimator(_SolverEstimator):
    _outputs = {"embedding_": "embedding", "cluster_centers_": "centers", "q_": "q",
                "loss_history_": "loss", "label_change_history_": "trace"}
    _stats = {"n_iter_": ("iterations", int), "converged_": ("converged", bool),
              "pretrain_loss_": ("pretrain_loss", float)}

    def _make_solver(self, resume=False):
        solver = super()._make_solver(resume)
        try:
            every = self.checkpoint_every or 0
            if self.checkpoint is not None:
                solver.set_checkpoint(self.checkpoint, every or solver.get("update_interval"))
            elif every:
                raise InvalidArgumentError(
                    Status.ERR_INVALID_ARG, "%s.fit" % type(self).__name__,
                    "checkpoint_every=%r needs a checkpoint file (checkpoint=path)" % (every,))
        except BaseException:
            solver.close()
            raise
        return solver

    def _dataset(self, X):
        ds = Dataset(X)
        if self.image_shape is not None:
            try:
                ds.set_image_shape(*self.image_shape)
            except BaseException:
                ds.close()
                raise
        return ds

    def fit(self, X, y=None, pretrained=None, progress=None):
        """Pre-trains the autoencoder (unless a pre-trained one is given:
        `pretrained` here or in __init__), then clusters X (n_samples,
        n_features); y is ignored. `progress(phase, done, total, value)`
        is called during the fit; returning True cancels it. Returns self."""
        ae = _autoencoder(self.pretrained if pretrained is None else pretrained)

        def run(solver, ds, report):
            if ae is not None:
                solver.use_pretrained(ae)
            solver.fit(ds, progress=report)

        return self._fit(X, run, progress)

    def resume(self, X, path, progress=None, *, max_iter=None, tol=None):
        """Continues the fit saved in the checkpoint file `path` on the same
        X (StateError if X differs) with the checkpoint's hyper-parameters
        (see model_.params()); the result equals that of the uninterrupted
        fit. max_iter: where the fit now stops, at least the checkpoint's
        iteration; a fit that finished wrote a checkpoint of its end, which
        a larger max_iter continues. tol may be kept or lowered. Estimator
        arguments left at their defaults (random_state None included) take
        the checkpoint's values; max_iter and tol set here or in __init__
        apply as above; any other argument set to another value than the
        checkpoint's raises InvalidArgumentError. Returns self."""
        def run(solver, ds, report):
            for name, value in (("max_iter", max_iter), ("tol", tol)):
                if value is not None:
                    solver.set(name, value)
            solver.resume(ds, path, progress=report)

        return self._fit(X, run, progress, resume=True)

    def _store(self, solver, X, dtype):
        super()._store(solver, X, dtype)
        # Histories are absent when no iteration / update ran (max_iter = 0).
        if not hasattr(self, "loss_history_"):
            self.loss_history_ = np.empty((0, 3), dtype=np.float32)
        if not hasattr(self, "label_change_history_"):
            self.label_change_history_ = np.empty((0, 2), dtype=np.float32)
        self.model_ = solver.model()
        self.pretrained_ = solver.pretrained()

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("this %s instance is not fitted yet: call fit (or load)"
                                 % type(self).__name__)

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        ae = params.get("pretrained")
        if isinstance(ae, _DeepEstimator) and hasattr(ae, "pretrained_"):
            # clone() rebuilds estimator-valued parameters unfitted; the
            # autoencoder is what a fit uses, and a Model clones by value.
            params = {k: v for k, v in params.items() if not k.startswith("pretrained__")}
            params["pretrained"] = ae.pretrained_
        return params

    def predict(self, X):
        """Cluster labels of the rows of X by the fitted model."""
        self._check_fitted()
        X = self._check_features(X, "predict")
        with _threads(self.n_jobs):
            return self.model_.predict(X)

    def embed(self, X):
        """Embeddings (n, embed_dim) float32 of the rows of X by the fitted
        model (see transform for the input's dtype)."""
        self._check_fitted()
        X = self._check_features(X, "embed")
        with _threads(self.n_jobs):
            return self.model_.embed(X)

    def transform(self, X):
        """The embedding (n, embed_dim) of the rows of X that predict labels
        them by, in X's float dtype (float32 for float32 input, else
        float64)."""
        return self.embed(X).astype(_result_dtype(X), copy=False)

    def fit_transform(self, X, y=None, **fit_params):
        """fit(X, **fit_params) and return embedding_."""
        return self.fit(X, **fit_params).embedding_

    def score(self, X, y=None):
        """Minus the within-cluster sum of squares of the partition predict
        makes of X, in X's own space (squared distances of the rows to the
        mean of their predicted cluster): higher is better. Unlike a loss or
        distances in the embedding, which each model scales its own way,
        it compares models fitted with different parameters. y is ignored."""
        labels = self.predict(X)
        x = as_matrix(X).astype(np.float64)
        sums = np.zeros((int(labels.max()) + 1, x.shape[1]))
        np.add.at(sums, labels, x)
        means = sums / np.bincount(labels)[:, None].clip(min=1)
        return -float(((x - means[labels]) ** 2).sum())

    def _more_tags(self):
        return {"preserves_dtype": [np.float64, np.float32]}

    def save(self, path):
        """Writes the fitted model (model_) to `path`; see load."""
        self._check_fitted()
        self.model_.save(path)

    @classmethod
    def load(cls, path):
        """An estimator holding the model saved in `path` (by save, the CLI
        or the C API): predict and embed work, the parameters are those of
        the fit that made the model, labels_ and the other fit results are
        not stored in the file."""
        model = Model.load(path)
        if model.is_autoencoder or model.method != cls._method:
            what = ("a pre-trained %s autoencoder (use it as pretrained=)" % model.method
                    if model.is_autoencoder else "%s model" % _a(model.method))
            model.close()
            raise ValueError("%s holds %s, not %s model" % (path, what, _a(cls.__name__)))
        recorded = model.params()
        args = {arg: recorded[cname] for arg, cname in cls._params.items()
                if cname in recorded and cname != "checkpoint_every"}
        est = cls(**args)
        est.model_ = model
        est.n_features_in_ = model.input_dim
        return est


class EDCWRN(_DeepEstimator):
    __doc__ = """Deep clustering with local representation weighting and a
    neighbour-max encoder branch (EDCWRN): an autoencoder trained jointly
    with a clustering layer whose kernel q = 1 / (1 + a s^b) uses the
    per-cluster weighted distance s = sum_m w_jm (z_m - r_jm)^2.

    lam: weight of the clustering loss, L = L_r + lam L_c (the paper's
    lambda). a, b: kernel. alpha, beta: representation weighting (Eq.
    15). weighting: True (the weights in the kernel, updated during
    training), False (plain squared distance) or "after" (uniform weights in
    training, Eq. 15 computed once at the end: weights_ only; the authors'
    code). neighbors_k: neighbours per
    sample of the max branch (neighbors=False: no branch). formulation:
    "proposed" (the kernel above with cross-entropy) or "idec" (Student-t
    with KL). ce_normalized: cross-entropy against q normalised over the
    clusters (as the authors' code). weighting_scale: "raw" (Eq. 15 on the
    embedding) or "standardized" (on the embedding divided per dimension by
    its standard deviation). weighting_norm: "mean" (the kernel's distance is
    M sum_m w_jm (z_m - r_jm)^2, so uniform weights give the plain squared
    distance) or "sum" (sum_m w_jm (...)^2 with rows of w summing to 1).
    """ + _DEEP_DOC + """
    weights_ (n_clusters, embed_dim): the representation weights.
    """

    _method = "edcwrn"
    _params = dict(_DEEP_PARAMS, lam="lambda", a="a", b="b", alpha="alpha", beta="beta",
                   neighbors_k="neighbors_k", weighting="weighting", neighbors="neighbors",
                   formulation="formulation", ce_normalized="ce_normalized",
                   weighting_scale="weighting_scale", weighting_norm="weighting_norm")
    _outputs = dict(_DeepEstimator._outputs, weights_="weights")

    def __init__(self, n_clusters=8, *, lam=0.1, a=1.93, b=0.79, alpha=2.0, beta=2.0,
                 neighbors_k=2, weighting=None, neighbors=True, formulation="proposed",
                 ce_normalized=True, weighting_scale="raw", weighting_norm=None,
                 hidden1=500, hidden2=500, hidden3=2000, embed_dim=10,
                 preset="default", pretrain_steps=None, pretrain_epochs=0,
                 pretrain_warmup=None, pretrain_lr=None, pretrain_momentum=None,
                 pretrain_optimizer=None, pretrain_schedule=None, batch_size=256,
                 lr=None, momentum=0.9, update_interval=140, tol=0.001, max_iter=8000,
                 n_init=None, init=None, augment="auto", pretrain_zoom=None,
                 augment_fill=None, gemm_precision="auto", scale_input=None, image_shape=None,
                 pretrained=None, checkpoint=None, checkpoint_every=0, random_state=None,
                 n_jobs=None, verbose=0):
        _store_args(self, locals())


class IDEC(_DeepEstimator):
    __doc__ = """Improved deep embedded clustering (Guo et al. 2017): an
    autoencoder trained jointly with a Student-t clustering layer, L = L_r +
    lam KL(P || Q) (lam: the paper's gamma; the solver parameter "lambda").
    """ + _DEEP_DOC

    _method = "idec"
    _params = dict(_DEEP_PARAMS, lam="lambda")

    def __init__(self, n_clusters=8, *, lam=0.1, hidden1=500, hidden2=500, hidden3=2000,
                 embed_dim=10, preset="default", pretrain_steps=None, pretrain_epochs=0,
                 pretrain_warmup=None, pretrain_lr=None, pretrain_momentum=None,
                 pretrain_optimizer=None, pretrain_schedule=None, batch_size=256, lr=0.1,
                 momentum=0.9, update_interval=140, tol=0.001, max_iter=8000, n_init=None,
                 init=None, augment="auto", pretrain_zoom=None, augment_fill=None,
                 gemm_precision="auto", scale_input=None, image_shape=None, pretrained=None,
                 checkpoint=None, checkpoint_every=0, random_state=None, n_jobs=None,
                 verbose=0):
        _store_args(self, locals())


class DEC(_DeepEstimator):
    __doc__ = """Deep embedded clustering (Xie et al. 2016): a pre-trained
    encoder fine-tuned with the Student-t clustering layer and KL(P || Q)
    only (the decoder is dropped after pre-training).
    """ + _DEEP_DOC

    _method = "dec"
    _params = _DEEP_PARAMS

    def __init__(self, n_clusters=8, *, hidden1=500, hidden2=500, hidden3=2000, embed_dim=10,
                 preset="default", pretrain_steps=None, pretrain_epochs=0,
                 pretrain_warmup=None, pretrain_lr=None, pretrain_momentum=None,
                 pretrain_optimizer=None, pretrain_schedule=None, batch_size=256,
                 lr=0.01, momentum=0.9, update_interval=140, tol=0.001, max_iter=8000,
                 n_init=None, init=None, augment="auto", pretrain_zoom=None,
                 augment_fill=None, gemm_precision="auto", scale_input=None, image_shape=None,
                 pretrained=None, checkpoint=None, checkpoint_every=0, random_state=None,
                 n_jobs=None, verbose=0):
        _store_args(self, locals())
