"""Fitted estimators survive pickle, copy.deepcopy and joblib (the
scikit-learn way of serving a model): the copy predicts exactly what the
original predicts, alone or inside a pickled Pipeline. KMeans carries its
centres, the deep estimators their model, through
dc_model_save_to_buffer / dc_model_load_from_buffer."""
import copy
import os
import pickle

import pytest

np = pytest.importorskip("numpy")
joblib = pytest.importorskip("joblib")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

import deepclust as dc  # noqa: E402
from conftest import SMALL_DEEP as SMALL  # noqa: E402
from conftest import unit_blobs  # noqa: E402


def blobs(n_per=40, seed=0):
    return unit_blobs(n_per=n_per, seed=seed)[0]


def copies(est, tmp_path):
    """pickle, deepcopy and joblib round trips of est."""
    path = tmp_path / "est.joblib"
    joblib.dump(est, path)
    return {"pickle": pickle.loads(pickle.dumps(est)), "deepcopy": copy.deepcopy(est),
            "joblib": joblib.load(path)}


@pytest.mark.parametrize("make", [
    lambda: dc.KMeans(3, random_state=0),
    lambda: dc.EDCWRN(3, random_state=0, **SMALL),
    lambda: dc.IDEC(3, random_state=0, **SMALL),
    lambda: dc.DEC(3, random_state=0, **SMALL),
], ids=["KMeans", "EDCWRN", "IDEC", "DEC"])
def test_fitted_estimator_copies_predict(make, tmp_path):
    x = blobs()
    new = blobs(n_per=7, seed=5)
    est = make().fit(x)
    want = est.predict(new)
    np.testing.assert_array_equal(est.predict(x), est.labels_)
    for how, other in copies(est, tmp_path).items():
        np.testing.assert_array_equal(other.predict(new), want, err_msg=how)
        np.testing.assert_array_equal(other.labels_, est.labels_, err_msg=how)
        np.testing.assert_array_equal(other.cluster_centers_, est.cluster_centers_,
                                      err_msg=how)
        assert other.get_params().keys() == est.get_params().keys()
        if hasattr(est, "model_"):
            assert other.model_.handle is not est.model_.handle  # a model of its own
            np.testing.assert_array_equal(other.model_.embed(new), est.model_.embed(new))


def test_kmeans_predicts_from_its_centres_after_unpickling():
    x = blobs()
    km = pickle.loads(pickle.dumps(dc.KMeans(3, random_state=0).fit(x)))
    moved = km.cluster_centers_ + 0.001
    np.testing.assert_array_equal(km.predict(moved), [0, 1, 2])
    d = ((x[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(km.predict(x), d.argmin(1))
    with pytest.raises(ValueError, match="expecting 6 features"):
        km.predict(x[:, :4])


def test_pickled_pipeline_predicts():
    pytest.importorskip("sklearn")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    x = blobs()
    new = blobs(n_per=5, seed=9)
    for step in (dc.KMeans(3, random_state=0), dc.IDEC(3, random_state=0, **SMALL)):
        pipe = make_pipeline(StandardScaler(), step).fit(x)
        again = pickle.loads(pickle.dumps(pipe))
        np.testing.assert_array_equal(again.predict(new), pipe.predict(new))


def test_model_bytes_round_trip_and_damage():
    x = blobs()
    est = dc.DEC(3, random_state=0, **SMALL).fit(x)
    raw = est.model_.to_bytes()
    assert raw[:8] == b"DCMODEL\0"
    with dc.Model.from_bytes(raw) as m:
        np.testing.assert_array_equal(m.predict(x), est.labels_)
        assert m.to_bytes() == raw  # the same file, byte for byte
    with pytest.raises(dc.TruncatedFileError):
        dc.Model.from_bytes(raw[:-1])
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 1
    with pytest.raises(dc.ChecksumError):
        dc.Model.from_bytes(flipped)
    with pytest.raises(dc.FileFormatError):
        dc.Model.from_bytes(b"not a model at all, just some bytes")
