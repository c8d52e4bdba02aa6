"""External clustering metrics (include/deepclust/metrics.h); they agree
with scikit-learn to 1e-9.

Labels may be any 1-D array-like of hashable values: the metrics depend only
on which samples share a label, so labels that are not int32 integers
(strings, large int64, floats) are renumbered before the call.
"""
import ctypes

from . import _lib
from ._arrays import as_int32_labels, as_matrix, as_partition

_NMI_NORM = {"sqrt": 0, "geometric": 0, "arithmetic": 1}


def _pair(y_true, y_pred):
    t = as_partition(y_true, "y_true")
    p = as_partition(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError("y_true and y_pred differ in length: %d vs %d"
                         % (t.shape[0], p.shape[0]))
    return t, p


def _call(fn, *args):
    out = ctypes.c_double()
    fn(*args, ctypes.byref(out))
    return out.value


def acc(y_true, y_pred):
    """Clustering accuracy: the best one-to-one map of clusters to classes
    (Hungarian algorithm), as a fraction of the samples."""
    t, p = _pair(y_true, y_pred)
    return _call(_lib.lib().dc_metrics_acc, t, p, t.shape[0])


def nmi(y_true, y_pred, normalization="sqrt"):
    """Normalised mutual information. "sqrt" (alias "geometric"): MI /
    sqrt(H(T) H(P)), the EDCWRN paper's Eq. 17; "arithmetic": MI / mean
    entropy, scikit-learn's default."""
    try:
        norm = _NMI_NORM[normalization]
    except (KeyError, TypeError):
        raise ValueError("normalization must be 'sqrt' or 'arithmetic', got %r"
                         % (normalization,)) from None
    t, p = _pair(y_true, y_pred)
    return _call(_lib.lib().dc_metrics_nmi, t, p, t.shape[0], norm)


def ari(y_true, y_pred):
    """Adjusted Rand index (Hubert-Arabie)."""
    t, p = _pair(y_true, y_pred)
    return _call(_lib.lib().dc_metrics_ari, t, p, t.shape[0])


def f1(y_true, y_pred):
    """Pair-counting F1 score (see include/deepclust/metrics.h)."""
    t, p = _pair(y_true, y_pred)
    return _call(_lib.lib().dc_metrics_f1, t, p, t.shape[0])


def inter_cluster_variance(Z, labels):
    """Mean squared distance of the cluster means of the embedding Z (n, m)
    to its global mean, averaged over the non-empty clusters (EDCWRN
    Table 4)."""
    z = as_matrix(Z, "Z")
    lab = as_int32_labels(labels)
    if lab.shape[0] != z.shape[0]:
        raise ValueError("Z has %d rows but labels has %d entries" % (z.shape[0], lab.shape[0]))
    return _call(_lib.lib().dc_metrics_inter_cluster_variance, z, z.shape[0], z.shape[1], lab)


def all_metrics(y_true, y_pred):
    """{"acc", "nmi", "nmi_arithmetic", "ari", "f1"} in one call."""
    return {"acc": acc(y_true, y_pred), "nmi": nmi(y_true, y_pred),
            "nmi_arithmetic": nmi(y_true, y_pred, "arithmetic"),
            "ari": ari(y_true, y_pred), "f1": f1(y_true, y_pred)}


__all__ = ["acc", "nmi", "ari", "f1", "inter_cluster_variance", "all_metrics"]
