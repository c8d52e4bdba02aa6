"""Graph building blocks of the spectral methods (include/deepclust/graph.h):
exact kNN, the adaptive-sigma Gaussian affinity and the spectral embedding.
Inputs follow deepclust's array rules (float32 C-contiguous used in place,
others converted once); outputs are new numpy arrays the C side writes
directly."""
import numpy as np

from . import _lib
from ._arrays import as_matrix

_MODES = {"auto": 0, "dense": 1, "sparse": 2}


def knn(X, k, return_distance=True):
    """The k nearest other rows of every row of X (exact, Euclidean, sorted by
    distance, ties by lower index): idx (n, k) int64 [and dist (n, k) float32]."""
    x = as_matrix(X)
    n = x.shape[0]
    idx = np.empty((n, int(k)), dtype=np.int64)
    dist = np.empty((n, int(k)), dtype=np.float32) if return_distance else None
    _lib.lib().dc_knn(x, n, x.shape[1], k, idx, dist)
    return (idx, dist) if return_distance else idx


def knn_query(ref, query, k, return_distance=True):
    """The k nearest rows of `ref` for every row of `query` (indices into ref)."""
    r, q = as_matrix(ref, "ref"), as_matrix(query, "query")
    if r.shape[1] != q.shape[1]:
        raise ValueError("ref has %d features but query has %d" % (r.shape[1], q.shape[1]))
    idx = np.empty((q.shape[0], int(k)), dtype=np.int64)
    dist = np.empty((q.shape[0], int(k)), dtype=np.float32) if return_distance else None
    _lib.lib().dc_knn_query(r, r.shape[0], q, q.shape[0], r.shape[1], k, idx, dist)
    return (idx, dist) if return_distance else idx


def affinity_p(n, k):
    """Neighbours used for the adaptive sigma: max(1, round(n / k^2)), at most n - 1."""
    return _lib.lib().dc_affinity_p(n, k)


def affinity_sigma(X, p):
    """sigma_i = mean distance of row i to its p nearest other rows (n,)."""
    x = as_matrix(X)
    sigma = np.empty(x.shape[0], dtype=np.float32)
    _lib.lib().dc_affinity_sigma(x, x.shape[0], x.shape[1], p, sigma)
    return sigma


def affinity_dense(X, p):
    """Dense affinity W (n, n): exp(-|x_i - x_j|^2 / (sigma_i sigma_j)), W_ii = 0."""
    x = as_matrix(X)
    W = np.empty((x.shape[0], x.shape[0]), dtype=np.float32)
    _lib.lib().dc_affinity_dense(x, x.shape[0], x.shape[1], p, W)
    return W


def spectral_embedding(X, k, mode="auto", m=0):
    """Top-k eigenvectors of D^-1/2 W D^-1/2, rows normalised (n, k).
    mode: "auto" | "dense" | "sparse"; m: neighbours of the sparse graph
    (0 = default)."""
    try:
        code = _MODES[mode]
    except (KeyError, TypeError):
        raise ValueError("mode must be 'auto', 'dense' or 'sparse', got %r" % (mode,)) from None
    x = as_matrix(X)
    Y = np.empty((x.shape[0], int(k)), dtype=np.float32)
    _lib.lib().dc_spectral_embedding(x, x.shape[0], x.shape[1], k, code, m, Y)
    return Y
