"""Independent references the cross-checks share: the clustering metrics
from scikit-learn and scipy, and the spectral methods' affinity in numpy
(docs/methods.md), so a test compares the library with code it does not
run. Imported by the test files (tests/python is on sys.path under pytest)."""
import numpy as np


def pair_f1(truth, pred):
    """Pair-counting F1 of include/deepclust/metrics.h (precision SS/(SS+SD),
    recall SS/(SS+DS)) from scikit-learn's pair confusion matrix, with the
    header's conventions for empty sets of pairs."""
    from sklearn.metrics.cluster import pair_confusion_matrix
    c = pair_confusion_matrix(truth, pred)  # ordered pairs: ratios unaffected
    ss, sd, ds = int(c[1, 1]), int(c[0, 1]), int(c[1, 0])
    if ss + sd == 0 and ss + ds == 0:
        return 1.0
    if ss + sd == 0 or ss + ds == 0 or ss == 0:
        return 0.0
    prec, rec = ss / (ss + sd), ss / (ss + ds)
    return 2 * prec * rec / (prec + rec)


def reference_metrics(truth, pred):
    """acc, nmi (geometric = sqrt), nmi_arithmetic, ari, f1 (the keys of the
    CLI's JSON and of deepclust.metrics.all_metrics): ACC by scipy's Hungarian
    solver on scikit-learn's contingency matrix, NMI and ARI by
    scikit-learn, F1 by pair counting."""
    from scipy.optimize import linear_sum_assignment
    from sklearn import metrics
    cm = metrics.cluster.contingency_matrix(truth, pred)
    rows, cols = linear_sum_assignment(cm, maximize=True)
    return {"acc": cm[rows, cols].sum() / len(truth),
            "nmi": metrics.normalized_mutual_info_score(truth, pred, average_method="geometric"),
            "nmi_arithmetic": metrics.normalized_mutual_info_score(
                truth, pred, average_method="arithmetic"),
            "ari": metrics.adjusted_rand_score(truth, pred),
            "f1": pair_f1(truth, pred)}


def njw_affinity(x, k, m=None):
    """The NJW / SCDBAS affinity of docs/methods.md in float64:
    p = max(1, round(n/k^2)) (at most n - 1), sigma_i = mean distance to the
    p nearest other points, W_ij = exp(-|x_i - x_j|^2 / (sigma_i sigma_j)),
    W_ii = 0; with m, W kept on the m-nearest-neighbour graph symmetrised by
    union."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    off = d2 + np.diag(np.full(n, np.inf))
    p = min(n - 1, max(1, round(n / k ** 2)))
    sigma = np.sqrt(np.sort(off, axis=1)[:, :p]).mean(1)
    w = np.exp(-d2 / np.outer(sigma, sigma))
    np.fill_diagonal(w, 0.0)
    if m is not None:
        keep = np.zeros((n, n), bool)
        keep[np.repeat(np.arange(n), m), np.argsort(off, axis=1, kind="stable")[:, :m].ravel()] = 1
        w = np.where(keep | keep.T, w, 0.0)
    return w
