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

from .._numba import njit
from .fast_exp import rbf_tile_sums

__all__ = [
    "blocked_set_kernel",
    "mirror_upper",
    "blocked_set_kernel_diag",
    "instance_blocks",
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


def instance_blocks(offsets: np.ndarray, block_size: int) -> list[tuple]:
    """Split the instances of bags ``0..B-1`` into consecutive ranges of at most ``block_size``.

    Ranges end at bag boundaries, as in :func:`row_blocks`, except that a bag larger
    than ``block_size`` is cut into pieces of ``block_size`` instances, one range each:
    no range, and so no block computed from it, grows with the largest bag. Returns
    ``(r0, r1, b0, b1, seg)`` per range: the instances ``r0:r1``, the bags ``b0..b1-1``
    they belong to, and ``seg`` (``b1 - b0 + 1`` ints) such that the range's rows of bag
    ``b0 + k`` are ``seg[k]:seg[k + 1]`` relative to ``r0``. Reductions over a range are
    partial for a cut bag, so the callers combine them with an associative operation
    (a sum, a minimum) across the ranges.
    """
    out = []
    for b0, b1 in row_blocks(offsets, block_size):
        r0, r1 = int(offsets[b0]), int(offsets[b1])
        if r1 - r0 <= block_size:
            out.append((r0, r1, b0, b1, offsets[b0:b1 + 1] - r0))
            continue
        # row_blocks gives an oversized range only for a single bag: cut it
        for s in range(r0, r1, block_size):
            e = min(s + block_size, r1)
            out.append((s, e, b0, b1, np.array([0, e - s], dtype=offsets.dtype)))
    return out


def _shifted_blocks(offsets: np.ndarray, b0: int, block_size: int) -> list[tuple]:
    """:func:`instance_blocks` of bags ``b0..B-1``, numbered as bags of ``offsets``."""
    return [(r0, r1, b0 + c0, b0 + c1, seg)
            for r0, r1, c0, c1, seg in instance_blocks(offsets[b0:], block_size)]


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
    # tiles are added in: a bag cut into pieces (instance_blocks) gets one partial sum
    # per tile it meets; a whole bag meets each tile once, so 0 + its sum is exact
    K = np.zeros((bx, by))
    col_blocks = instance_blocks(offsets_y, col_size)
    # the symmetric case computes about half of each diagonal tile twice, so it takes
    # smaller row blocks, which shrink that duplicated half
    rows = instance_blocks(offsets, max(64, block_size // 4) if symmetric else block_size)
    cut_bags = []
    for r0, r1, b0, b1, seg in rows:
        L = left[r0:r1]
        if symmetric:
            # upper triangle only (mirrored below): the tiles start at the block's first
            # bag, so no tile straddles the diagonal and little below it is computed. A
            # piece of a cut bag starts at the next bag; the bag's own cell is summed
            # over the upper triangle of its pieces below
            cut = r1 - r0 < offsets[b1] - offsets[b0]
            if cut and r0 == offsets[b0]:
                cut_bags.append(b0)
            col_blocks = _shifted_blocks(offsets_y, b1 if cut else b0, col_size)
        for c0, c1, cb0, cb1, cseg in col_blocks:
            if kernel == "rbf":
                # exp and both segment sums in one numba pass over the GEMM output
                K[b0:b1, cb0:cb1] += rbf_tile_sums(L @ right[c0:c1].T, seg, cseg, clip)
                continue
            E = _block_values(L, right[c0:c1], kernel, gamma, degree, coef0, p)
            S = np.add.reduceat(E, seg[:-1], axis=0)
            K[b0:b1, cb0:cb1] += np.add.reduceat(S, cseg[:-1], axis=1)
    for b in cut_bags:
        K[b, b] = _cut_bag_self_sum(left, right, int(offsets[b]), int(offsets[b + 1]),
                                    block_size, col_size, kernel, gamma, degree, coef0, p,
                                    clip)
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
    col_size: int = 2048,
) -> np.ndarray:
    """Diagonal of :func:`blocked_set_kernel` (each bag with itself), bag-diagonal blocks only.

    A bag larger than ``block_size`` is summed over the upper triangle of its pieces
    (:func:`_cut_bag_self_sum`), so memory stays ``O(block_size * col_size)`` whatever
    the bag's size.
    """
    left, right, clip = _prepare(X, None, kernel, gamma, p, weights, None, True)
    out = np.zeros(offsets.shape[0] - 1)
    for r0, r1, b0, b1, seg in instance_blocks(offsets, block_size):
        if r1 - r0 < offsets[b1] - offsets[b0]:
            if r0 == offsets[b0]:
                out[b0] = _cut_bag_self_sum(left, right, r0, int(offsets[b1]), block_size,
                                            col_size, kernel, gamma, degree, coef0, p, clip)
            continue
        if kernel == "rbf":
            T = rbf_tile_sums(left[r0:r1] @ right[r0:r1].T, seg, seg, clip)
            out[b0:b1] = np.diagonal(T)
            continue
        E = _block_values(left[r0:r1], right[r0:r1], kernel, gamma, degree, coef0, p)
        loc = seg[:-1]
        out[b0:b1] = np.diagonal(np.add.reduceat(np.add.reduceat(E, loc, axis=0), loc, axis=1))
    return out


def _cut_bag_self_sum(left, right, start, stop, piece, col_size, kernel, gamma, degree,
                      coef0, p, clip) -> float:
    """``sum_a sum_b k(x_a, x_b)**p`` over one bag's instances ``start:stop``, in pieces.

    Each piece of ``piece`` rows meets itself once and the bag's later instances, in
    column blocks of ``col_size``, counted twice (the kernel is symmetric): half the
    products of the whole square, in blocks of ``piece x col_size``.
    """
    total = 0.0
    for r0 in range(start, stop, piece):
        r1 = min(r0 + piece, stop)
        L = left[r0:r1]
        total += _tile_sums(L, right[r0:r1], kernel, gamma, degree, coef0, p, clip)
        for c0 in range(r1, stop, col_size):
            c1 = min(c0 + col_size, stop)
            total += 2.0 * _tile_sums(L, right[c0:c1], kernel, gamma, degree, coef0, p, clip)
    return total


def _tile_sums(L, R, kernel, gamma, degree, coef0, p, clip) -> float:
    """The sum of ``k(l, r)**p`` over all rows of two operand blocks."""
    if kernel == "rbf":
        one = np.array([0, L.shape[0]])
        return float(rbf_tile_sums(L @ R.T, one, np.array([0, R.shape[0]]), clip)[0, 0])
    return float(_block_values(L, R, kernel, gamma, degree, coef0, p).sum())


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
    col_size: int = 4096,
) -> np.ndarray:
    """``D[i, j] = min_a min_b ||x_ia - y_jb||^2`` for all bag pairs (BLAS blocks + segment-min).

    Rows and columns go in ranges of at most ``block_size`` and ``col_size`` instances
    (:func:`instance_blocks`, bags larger than that in pieces), so memory is
    ``O(block_size * col_size + B_x * B_y)`` whatever the bags' sizes.
    """
    sym = Y is None
    if sym:
        Y, offsets_y = X, offsets
    sx, sy = sq_norms(X), sq_norms(Y)
    bx, by = offsets.shape[0] - 1, offsets_y.shape[0] - 1
    D = np.full((bx, by), np.inf)
    col_blocks = instance_blocks(offsets_y, col_size)
    for r0, r1, b0, b1, seg in instance_blocks(offsets, block_size):
        if sym:
            # a piece of a cut bag skips the bag's own columns: its diagonal cell is 0
            cut = r1 - r0 < offsets[b1] - offsets[b0]
            col_blocks = _shifted_blocks(offsets_y, b1 if cut else b0, col_size)
        for c0, c1, cb0, cb1, cseg in col_blocks:
            _segment_min_sqdist(X[r0:r1] @ Y[c0:c1].T, sx[r0:r1], sy[c0:c1], seg, cseg,
                                D[b0:b1, cb0:cb1])
    np.maximum(D, 0.0, out=D)  # rounding can make a distance slightly negative
    if sym:
        mirror_upper(D)
        np.fill_diagonal(D, 0.0)
    return D


@njit
def _segment_min_sqdist(G, sx, sy, seg, cseg, out):
    """``out[a, b] = min(out[a, b], min_{i in a, j in b} sx_i + sy_j - 2 G_ij)``.

    One pass over the tile of inner products ``G``, instead of forming the distance
    tile (four passes) and reducing it twice: the passes over a tile larger than the
    cache, not the GEMM, took most of the time.
    """
    for a in range(seg.shape[0] - 1):
        for i in range(seg[a], seg[a + 1]):
            si = sx[i]
            for b in range(cseg.shape[0] - 1):
                m = out[a, b]
                for j in range(cseg[b], cseg[b + 1]):
                    v = si + sy[j] - 2.0 * G[i, j]
                    if v < m:
                        m = v
                out[a, b] = m


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
