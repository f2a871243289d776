"""Bag-pair reductions over instance-pair blocks computed by BLAS.

Every bag-pair quantity here (the set kernels of MI-Kernel and mi-Graph, the minimal
Hausdorff distance, the ground-cost matrix of the EMD) is a reduction over the
instance-pair matrix of two bags. Calling BLAS per bag pair is slow (tiny GEMMs), and
materialising the full N x N matrix costs O(N^2) memory, so rows are processed in
blocks of whole bags (about ``block_size`` instances): one GEMM per block against the
column instances (for the set kernels in cache-sized tiles of whole bags), an
elementwise map, then segmented reductions over rows and columns: the GEMMs stay large
enough for BLAS to run near its peak while the memory stays ``O(block x tile)``. For the
RBF kernels the map and the reductions are one numba pass with a vectorised ``exp``
(:mod:`skmil._kernels.fast_exp`), because NumPy's float64 ``exp`` has no SIMD path on
AVX2 CPUs (``python benchmarks/bench_rbf_kernels.py`` prints the ratio between the two).

For the RBF set kernels the GEMM is *augmented* so that it yields the needed quantity
directly: appending the columns ``[-gamma*||x||^2 + log w_x, 1]`` to ``2*gamma*X`` and
``[1, -gamma*||y||^2 + log w_y]`` to ``Y`` makes ``Xa @ Ya.T`` equal to
``-gamma*||x - y||^2 + log w_x + log w_y``, so a single ``exp`` yields the weighted
RBF terms with the instance weights folded in at no extra cost. MI-Kernel's set kernel
(no weights) and mi-Graph's (clique weights) share that one loop,
:func:`blocked_set_kernel`.
"""

from __future__ import annotations

import numpy as np

from .fast_exp import rbf_tile_sums

__all__ = [
    "blocked_set_kernel",
    "mirror_upper",
    "blocked_set_kernel_diag",
    "row_blocks",
    "sq_norms",
    "weighted_set_kernel",
    "min_sqdist_matrix",
    "sqdist_block",
    "weighted_set_kernel_diag",
]


def mirror_upper(K: np.ndarray, tile: int = 256) -> None:
    """Copy the strict upper triangle of square ``K`` onto the lower one, in place.

    One strip of ``tile`` columns at a time: the strip's diagonal block by a masked
    copy, the block below it as the transpose of the row strip. These strided NumPy
    copies need no compilation (which a first fit would pay) and, unlike the
    fancy-indexed ``K[iu[::-1]] = K[iu]``, stream through memory without index arrays.
    """
    n = K.shape[0]
    for i0 in range(0, n, tile):
        i1 = min(i0 + tile, n)
        d = K[i0:i1, i0:i1]
        np.copyto(d, d.T, where=np.tri(i1 - i0, k=-1, dtype=bool))
        K[i1:, i0:i1] = K[i0:i1, i1:].T


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


def _operand(X, kernel, gamma, logw, left):
    """One side of the block GEMM, prepared once for all blocks.

    For the RBF kernel two columns are appended, ``[2*gamma*x, -gamma*|x|^2 + log w, 1]``
    on the left and ``[x', 1, -gamma*|x'|^2 + log w']`` on the right, so that one GEMM
    gives ``-gamma*||x - x'||^2 + log w + log w'``. Other kernels use ``X`` as it is.
    """
    if kernel != "rbf":
        return X
    n, d = X.shape
    out = np.empty((n, d + 2))
    extra = -gamma * sq_norms(X)
    if logw is not None:
        extra += logw
    if left:
        np.multiply(X, 2.0 * gamma, out=out[:, :d])
        out[:, d] = extra
        out[:, d + 1] = 1.0
    else:
        out[:, :d] = X
        out[:, d] = 1.0
        out[:, d + 1] = extra
    return out


def _log_weights(weights, kernel):
    if weights is None:
        return None
    if kernel != "rbf":
        # they ride in the GEMM as logarithms, which only the RBF kernel's exp undoes
        raise ValueError(f"instance weights need kernel='rbf', got {kernel!r}.")
    return np.log(weights)


def _block_values(L, R, kernel, gamma, degree, coef0, p):
    """``k(x, x')**p`` for a left block ``L`` and right block ``R``, non-RBF kernels.

    (The RBF kernel goes through :func:`~skmil._kernels.fast_exp.rbf_tile_sums`, which
    never writes the block back.)
    """
    G = L @ R.T
    if kernel == "poly":
        G *= gamma
        G += coef0
        np.power(G, degree, out=G)
    elif kernel == "sigmoid":
        G *= gamma
        G += coef0
        np.tanh(G, out=G)
    if p != 1:
        np.power(G, p, out=G)
    return G


def _prepare(X, Y, kernel, gamma, p, weights, weights_y, symmetric):
    g = gamma * p if kernel == "rbf" else gamma
    logw = _log_weights(weights, kernel)
    logw_y = logw if symmetric else _log_weights(weights_y, kernel)
    left = _operand(X, kernel, g, logw, True)
    if symmetric and kernel != "rbf":
        right = left
    else:
        right = _operand(X if symmetric else Y, kernel, g, logw_y, False)
    # with weights the exponent may legitimately be positive, so it is only clipped
    # (at -gamma*||x - x'||^2 <= 0) when there are none
    clip = logw is None and logw_y is None
    return left, right, clip


def blocked_set_kernel(
    X: np.ndarray,
    offsets: np.ndarray,
    Y: np.ndarray | None = None,
    offsets_y: np.ndarray | None = None,
    *,
    kernel: str = "rbf",
    gamma: float = 1.0,
    degree: int = 3,
    coef0: float = 0.0,
    p: float = 1.0,
    weights: np.ndarray | None = None,
    weights_y: np.ndarray | None = None,
    block_size: int = 512,
    col_size: int = 2048,
) -> np.ndarray:
    """Unnormalised (weighted) set kernel ``K[i, j] = sum_a sum_b w_a w_b k(x_ia, y_jb)**p``.

    The one implementation behind MI-Kernel's set kernel and mi-Graph's weighted set
    kernel. Rows go in blocks of whole bags (about ``block_size`` instances), columns in
    tiles of whole bags (about ``col_size`` instances, so that a block stays near the
    cache and the GEMM output, ``exp`` and segment sums do not stream through DRAM);
    each tile is one GEMM followed, for the RBF kernel, by one numba pass that takes
    ``exp`` and sums rows then columns per bag (:func:`~skmil._kernels.fast_exp.rbf_tile_sums`),
    for the other kernels by an elementwise map in place and ``np.add.reduceat``. With
    ``Y=None`` the Gram matrix of X with itself is computed, upper-triangle tiles only
    (row blocks of a quarter of ``block_size``, at least 64 instances), and mirrored.

    ``kernel`` is ``"rbf"``, ``"linear"``, ``"poly"`` or ``"sigmoid"`` (libsvm's
    definitions). ``weights`` (positive, one per instance of X; ``weights_y`` for Y,
    default ``weights`` when ``Y`` is None) need the RBF kernel: they are folded into
    the augmented GEMM as logarithms, so ``None`` (all 1) and weights cost the same.
    """
    symmetric = Y is None
    if symmetric:
        offsets_y = offsets
    left, right, clip = _prepare(X, Y, kernel, gamma, p, weights, weights_y, symmetric)
    bx, by = offsets.shape[0] - 1, offsets_y.shape[0] - 1
    K = np.empty((bx, by))
    starts_y = offsets_y[:-1]
    col_blocks = row_blocks(offsets_y, col_size)
    # the symmetric case computes about half of each diagonal tile twice, so it takes
    # smaller row blocks, which shrink that duplicated half
    rows = row_blocks(offsets, max(64, block_size // 4) if symmetric else block_size)
    for b0, b1 in rows:
        r0, r1 = offsets[b0], offsets[b1]
        L = left[r0:r1]
        loc = offsets[b0:b1] - r0
        if symmetric:
            # upper triangle only (mirrored below): the tiles start at the block's first
            # bag, so no tile straddles the diagonal and little below it is computed
            col_blocks = [(b0 + c0, b0 + c1) for c0, c1 in row_blocks(offsets_y[b0:], col_size)]
        for cb0, cb1 in col_blocks:
            c0, c1 = offsets_y[cb0], offsets_y[cb1]
            if kernel == "rbf":
                # exp and both segment sums in one numba pass over the GEMM output
                rbf_tile_sums(L @ right[c0:c1].T, offsets[b0:b1 + 1] - r0,
                              offsets_y[cb0:cb1 + 1] - c0, clip, K[b0:b1, cb0:cb1])
                continue
            E = _block_values(L, right[c0:c1], kernel, gamma, degree, coef0, p)
            S = np.add.reduceat(E, loc, axis=0)
            K[b0:b1, cb0:cb1] = np.add.reduceat(S, starts_y[cb0:cb1] - c0, axis=1)
    if symmetric:
        # the diagonal blocks filled some lower cells; the upper ones are exact
        mirror_upper(K)
    return K


def blocked_set_kernel_diag(
    X: np.ndarray,
    offsets: np.ndarray,
    *,
    kernel: str = "rbf",
    gamma: float = 1.0,
    degree: int = 3,
    coef0: float = 0.0,
    p: float = 1.0,
    weights: np.ndarray | None = None,
    block_size: int = 512,
) -> np.ndarray:
    """Diagonal of :func:`blocked_set_kernel` (each bag with itself), bag-diagonal blocks only."""
    left, right, clip = _prepare(X, None, kernel, gamma, p, weights, None, True)
    out = np.empty(offsets.shape[0] - 1)
    for b0, b1 in row_blocks(offsets, block_size):
        r0, r1 = offsets[b0], offsets[b1]
        if kernel == "rbf":
            loc = offsets[b0:b1 + 1] - r0
            T = np.empty((b1 - b0, b1 - b0))
            rbf_tile_sums(left[r0:r1] @ right[r0:r1].T, loc, loc, clip, T)
            out[b0:b1] = np.diagonal(T)
            continue
        E = _block_values(left[r0:r1], right[r0:r1], kernel, gamma, degree, coef0, p)
        loc = offsets[b0:b1] - r0
        out[b0:b1] = np.diagonal(np.add.reduceat(np.add.reduceat(E, loc, axis=0), loc, axis=1))
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
    and mirrored. Weights must be positive (they enter as logarithms). The RBF case of
    :func:`blocked_set_kernel`.

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
    return blocked_set_kernel(X, offsets, Y, offsets_y, gamma=gamma, weights=weights,
                              weights_y=weights_y, block_size=block_size)


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
        mirror_upper(D)
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
    return blocked_set_kernel_diag(X, offsets, gamma=gamma, weights=weights,
                                   block_size=block_size)
