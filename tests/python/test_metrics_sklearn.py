"""Cross-check the external metrics against scikit-learn / scipy / numpy.

ACC has no scikit-learn function: the reference is scipy's
linear_sum_assignment (maximising) on sklearn's contingency matrix. Pair F1 is
built from sklearn's pair_confusion_matrix with the conventions documented in
include/deepclust/metrics.h.
"""
import ctypes

import pytest
from conftest import declare

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")
pytest.importorskip("scipy")
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from sklearn.metrics.cluster import contingency_matrix  # noqa: E402
from references import pair_f1  # noqa: E402

DC_OK, DC_ERR_NULL, DC_ERR_SHAPE = 0, -1, -3
DC_NMI_SQRT, DC_NMI_ARITHMETIC = 0, 1
TOL = 1e-9


@pytest.fixture(scope="module")
def lib(cdll):
    i32p, i64 = ctypes.POINTER(ctypes.c_int32), ctypes.c_int64
    dp = ctypes.POINTER(ctypes.c_double)
    pair = (ctypes.c_int, [i32p, i32p, i64, dp])
    return declare(cdll, {
        "dc_metrics_acc": pair,
        "dc_metrics_ari": pair,
        "dc_metrics_f1": pair,
        "dc_metrics_nmi": (ctypes.c_int, [i32p, i32p, i64, ctypes.c_int, dp]),
        "dc_metrics_inter_cluster_variance": (
            ctypes.c_int, [ctypes.POINTER(ctypes.c_float), i64, i64, i32p, dp]),
    })


def _i32(a):
    a = np.ascontiguousarray(a, dtype=np.int32)
    return a, a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))


def ours(lib, truth, pred):
    t, tp = _i32(truth)
    p, pp = _i32(pred)
    n = len(t)
    out = {}
    v = ctypes.c_double()
    for key, call in (
        ("acc", lambda: lib.dc_metrics_acc(tp, pp, n, ctypes.byref(v))),
        ("nmi_sqrt", lambda: lib.dc_metrics_nmi(tp, pp, n, DC_NMI_SQRT, ctypes.byref(v))),
        ("nmi_arith", lambda: lib.dc_metrics_nmi(tp, pp, n, DC_NMI_ARITHMETIC, ctypes.byref(v))),
        ("ari", lambda: lib.dc_metrics_ari(tp, pp, n, ctypes.byref(v))),
        ("f1", lambda: lib.dc_metrics_f1(tp, pp, n, ctypes.byref(v))),
    ):
        st = call()
        assert st == DC_OK, (key, st, lib.dc_last_error())
        out[key] = v.value
    return out


def reference(truth, pred):
    cm = contingency_matrix(truth, pred)
    rows, cols = linear_sum_assignment(cm, maximize=True)
    return {
        "acc": cm[rows, cols].sum() / len(truth),
        "nmi_sqrt": normalized_mutual_info_score(truth, pred, average_method="geometric"),
        "nmi_arith": normalized_mutual_info_score(truth, pred, average_method="arithmetic"),
        "ari": adjusted_rand_score(truth, pred),
        "f1": pair_f1(truth, pred),
    }


def random_values(rng, k):
    """k distinct int32 label values: small, negative or extreme."""
    kind = rng.integers(3)
    if kind == 0:
        return np.arange(k, dtype=np.int64)
    if kind == 1:
        return np.arange(k, dtype=np.int64) * -3 - 1
    pool = rng.choice(np.arange(-2**31, 2**31 - 1, 7919, dtype=np.int64), size=k, replace=False)
    pool[0] = -2**31 if k > 1 else pool[0]
    return pool


def random_labels(rng, n, k):
    """n labels over at most k classes with unequal class frequencies."""
    probs = rng.dirichlet(np.full(k, 0.7))
    ids = rng.choice(k, size=n, p=probs)
    return random_values(rng, k)[ids]


def relabel(rng, labels):
    """The same partition under a random bijection of label values."""
    uniq, inv = np.unique(labels, return_inverse=True)
    return random_values(rng, len(uniq))[rng.permutation(len(uniq))][inv]


def cases():
    rng = np.random.default_rng(20240607)
    out = []
    for i in range(200):
        n = int(np.exp(rng.uniform(0, np.log(5000))))
        kind = i % 8
        kt = int(rng.integers(1, 40)) if i % 5 else 1
        kp = int(rng.integers(1, 40)) if i % 7 else 1
        truth = random_labels(rng, n, kt)
        if kind == 0:  # identical partition, other values
            pred = relabel(rng, truth)
        elif kind == 1:  # good clustering: a copy with some noise
            pred = relabel(rng, truth)
            flip = rng.random(n) < rng.uniform(0, 0.4)
            pred[flip] = random_labels(rng, int(flip.sum()), kp)
        elif kind == 2:  # all singletons against something
            n = min(n, 1500)
            truth = truth[:n]
            pred = relabel(rng, np.arange(n))
            if i % 3 == 0:
                truth = relabel(rng, np.arange(n))
        elif kind == 3:  # many more clusters than classes
            pred = random_labels(rng, n, int(rng.integers(50, 300)))
        else:
            pred = random_labels(rng, n, kp)
        out.append((truth.astype(np.int32), pred.astype(np.int32)))
    # tiny fixed cases
    out += [(np.array([5], np.int32), np.array([-5], np.int32)),
            (np.array([0, 0], np.int32), np.array([0, 1], np.int32)),
            (np.array([0, 1], np.int32), np.array([0, 0], np.int32)),
            (np.array([0, 1], np.int32), np.array([1, 0], np.int32))]
    return out


def test_label_metrics_match_sklearn(lib):
    worst = {}
    for truth, pred in cases():
        got, ref = ours(lib, truth, pred), reference(truth, pred)
        for key in ref:
            err = abs(got[key] - ref[key])
            assert err <= TOL, (key, len(truth), got[key], ref[key])
            worst[key] = max(worst.get(key, 0.0), err)
    # symmetric metrics, checked on a subset with roles swapped
    for truth, pred in cases()[:40]:
        got, ref = ours(lib, pred, truth), reference(pred, truth)
        for key in ref:
            assert abs(got[key] - ref[key]) <= TOL, (key, "swapped", got[key], ref[key])


def test_errors(lib):
    t, tp = _i32([0, 1, 1])
    v = ctypes.c_double(7.0)
    assert lib.dc_metrics_acc(tp, tp, 0, ctypes.byref(v)) == DC_ERR_SHAPE
    assert lib.dc_metrics_ari(None, tp, 3, ctypes.byref(v)) == DC_ERR_NULL
    assert lib.dc_metrics_nmi(tp, tp, 3, DC_NMI_SQRT, None) == DC_ERR_NULL
    assert v.value == 7.0


def icv_reference(z, labels):
    z = z.astype(np.float64)
    mu = z.mean(axis=0)
    means = np.array([z[labels == c].mean(axis=0) for c in np.unique(labels)])
    return float(((means - mu) ** 2).sum(axis=1).mean())


def test_inter_cluster_variance_matches_numpy(lib):
    rng = np.random.default_rng(7)
    for n, m, k in [(1, 1, 1), (5, 3, 5), (300, 10, 4), (2000, 10, 12), (1000, 32, 300)]:
        centres = rng.normal(scale=5.0, size=(k, m))
        labels = random_labels(rng, n, k).astype(np.int32)
        _, inv = np.unique(labels, return_inverse=True)
        z = (centres[inv % k] + rng.normal(size=(n, m)) + 100.0).astype(np.float32)
        z = np.ascontiguousarray(z)
        lab, lp = _i32(labels)
        v = ctypes.c_double()
        st = lib.dc_metrics_inter_cluster_variance(
            z.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n, m, lp, ctypes.byref(v))
        assert st == DC_OK, lib.dc_last_error()
        ref = icv_reference(z, labels)
        assert abs(v.value - ref) <= 1e-6 * max(abs(ref), 1e-12), (n, m, k, v.value, ref)
