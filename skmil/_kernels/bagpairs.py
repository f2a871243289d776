"""Bag-pair reductions over instance-pair blocks computed by BLAS.

Every bag-pair quantity here (weighted set kernel, minimal Hausdorff distance, the
ground-cost matrix of the EMD) is a reduction over the instance-pair matrix of two
bags. Calling BLAS per bag pair is slow (tiny GEMMs), and materialising the full
N x N matrix costs O(N^2) memory, so rows are processed in blocks of whole bags
(about ``block_size`` instances): one GEMM per block against all column instances,
an elementwise map, then segmented reductions (``np.*.reduceat``) over rows and
columns. This is the strategy measured fastest in the project's PERFORMANCE notes.

The GEMM is *augmented* so that it yields the needed quantity directly: appending
the columns ``[-gamma*||x||^2 + log w_x, 1]`` to ``2*gamma*X`` and ``[1,
-gamma*||y||^2 + log w_y]`` to ``Y`` makes ``Xa @ Ya.T`` equal to
``-gamma*||x - y||^2 + log w_x + log w_y``, so a single ``np.exp`` yields the weighted
RBF terms with the instance weights folded in at no extra cost.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "row_blocks",
    "sq_norms",
    "weighted_set_kernel",
    "min_sqdist_matrix",
    "sqdist_block",
    "weighted_set_kernel_diag",
]


def sq_norms(X: np.ndarray) -> np.ndarray:
    """Row-wise squared Euclidean norms."""
    return np.einsum("ij,ij->i", X, X)


def row_blocks(offsets: np.ndarray, block_size: int) -> list[tuple[int, int]]:
    """Split bags ``0..B-1`` into consecutive runs of about ``block_size`` instances.

    A bag larger than ``block_size`` forms a block on its own.
    """
    n_bags = offsets.shape[0] - 1
    blocks = []
    b0 = 0
    while b0 < n_bags:
        b1 = int(np.searchsorted(offsets, offsets[b0] + block_size, side="right")) - 1
        b1 = min(max(b1, b0 + 1), n_bags)
        blocks.append((b0, b1))
        b0 = b1
    return blocks


def sqdist_block(X: np.ndarray, Y: np.ndarray, sx=None, sy=None) -> np.ndarray:
    """Squared Euclidean distances between rows of X and Y, clipped at 0 (BLAS)."""
    sx = sq_norms(X) if sx is None else sx
    sy = sq_norms(Y) if sy is None else sy
    D = X @ Y.T
    D *= -2.0
    D += sx[:, None]
    D += sy[None, :]
    np.maximum(D, 0.0, out=D)
    return D


def _augment_rbf(X, gamma, logw, left):
    n, d = X.shape
    out = np.empty((n, d + 2))
    extra = -gamma * sq_norms(X) + logw
    if left:
        out[:, :d] = 2.0 * gamma * X
        out[:, d] = extra
        out[:, d + 1] = 1.0
    else:
        out[:, :d] = X
        out[:, d] = 1.0
        out[:, d + 1] = extra
    return out


def weighted_set_kernel(
    X: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray | None,
    gamma: float,
    Y: np.ndarray | None = None,
    offsets_y: np.ndarray | None = None,
    weights_y: np.ndarray | None = None,
    block_size: int = 512,
) -> np.ndarray:
    """``K[i, j] = sum_a sum_b w_a w_b exp(-gamma ||x_ia - y_jb||^2)`` for all bag pairs.

    With ``Y=None`` the Gram matrix of X with itself is computed, upper triangle only,
    and mirrored. Weights must be positive (they enter as logarithms).

    Parameters
    ----------
    X : ndarray of shape (N, d)
    offsets : ndarray of shape (B + 1,)
    weights : ndarray of shape (N,) or None
        Per-instance weights (``None`` means 1).
    gamma : float
    Y, offsets_y, weights_y : optional
        Second set of bags; default X itself.
    block_size : int
        Approximate number of row instances per GEMM block.

    Returns
    -------
    K : ndarray of shape (B_x, B_y)
    """
    sym = Y is None
    logw = np.zeros(X.shape[0]) if weights is None else np.log(weights)
    Xa = _augment_rbf(X, gamma, logw, left=True)
    if sym:
        Ya = _augment_rbf(X, gamma, logw, left=False)
        offsets_y = offsets
    else:
        logw_y = np.zeros(Y.shape[0]) if weights_y is None else np.log(weights_y)
        Ya = _augment_rbf(Y, gamma, logw_y, left=False)
    bx, by = offsets.shape[0] - 1, offsets_y.shape[0] - 1
    K = np.zeros((bx, by))
    for b0, b1 in row_blocks(offsets, block_size):
        r0, r1 = offsets[b0], offsets[b1]
        cb0 = b0 if sym else 0
        c0 = offsets_y[cb0]
        E = Xa[r0:r1] @ Ya[c0:].T
        np.exp(E, out=E)
        rows = np.add.reduceat(E, offsets[b0:b1] - r0, axis=0)
        K[b0:b1, cb0:] = np.add.reduceat(rows, offsets_y[cb0:-1] - c0, axis=1)
    if sym:
        K = np.triu(K) + np.triu(K, 1).T
    return K


def min_sqdist_matrix(
    X: np.ndarray,
    offsets: np.ndarray,
    Y: np.ndarray | None = None,
    offsets_y: np.ndarray | None = None,
    block_size: int = 512,
) -> np.ndarray:
    """``D[i, j] = min_a min_b ||x_ia - y_jb||^2`` for all bag pairs (BLAS blocks + segment-min)."""
    sym = Y is None
    if sym:
        Y, offsets_y = X, offsets
    sx, sy = sq_norms(X), sq_norms(Y)
    bx, by = offsets.shape[0] - 1, offsets_y.shape[0] - 1
    D = np.zeros((bx, by))
    for b0, b1 in row_blocks(offsets, block_size):
        r0, r1 = offsets[b0], offsets[b1]
        cb0 = b0 if sym else 0
        c0 = offsets_y[cb0]
        E = sqdist_block(X[r0:r1], Y[c0:], sx[r0:r1], sy[c0:])
        rows = np.minimum.reduceat(E, offsets[b0:b1] - r0, axis=0)
        D[b0:b1, cb0:] = np.minimum.reduceat(rows, offsets_y[cb0:-1] - c0, axis=1)
    if sym:
        D = np.triu(D) + np.triu(D, 1).T
        np.fill_diagonal(D, 0.0)
    return D


def weighted_set_kernel_diag(
    X: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray | None,
    gamma: float,
    block_size: int = 512,
) -> np.ndarray:
    """Diagonal of :func:`weighted_set_kernel`: each bag's kernel with itself."""
    logw = np.zeros(X.shape[0]) if weights is None else np.log(weights)
    Xa = _augment_rbf(X, gamma, logw, left=True)
    Ya = _augment_rbf(X, gamma, logw, left=False)
    out = np.empty(offsets.shape[0] - 1)
    for b0, b1 in row_blocks(offsets, block_size):
        r0, r1 = offsets[b0], offsets[b1]
        E = Xa[r0:r1] @ Ya[r0:r1].T
        np.exp(E, out=E)
        starts = offsets[b0:b1] - r0
        rows = np.add.reduceat(E, starts, axis=0)
        out[b0:b1] = np.diagonal(np.add.reduceat(rows, starts, axis=1))
    return out
