"""Codebook encoders over the flat bag layout (BoW histograms, VLAD, Fisher vectors).

Two strategies, chosen by the work per instance ``K * d``:

- Small codebooks (``K * d <= FUSED_MAX_WORK``, e.g. K=10 centres in d=64): one numba
  pass over the instances computes each instance's distances (or Gaussian
  log-densities) to the ``K`` centres in registers and adds its contribution to its
  bag's output row at once. The instance array is read once and there are no
  ``(n, K)`` temporaries; for such narrow shapes a BLAS product is 1.5-3x slower than
  this loop (OpenBLAS is far from peak at ``K = 10`` columns) and the separate
  argmin/accumulate passes cost as much again.
- Larger codebooks: instances are walked in *chunks of whole bags* (about
  ``chunk_size`` instances each; a single bag larger than that forms its own chunk).
  Inside a chunk the instance-to-centre work is one BLAS product (an ``(n_chunk, K)``
  block) and the per-bag accumulation is a numba loop over the chunk's instances.

Fisher vectors always use the fused pass: their gradients cost ``O(K d)`` per instance
anyway, and forming the centred, whitened residuals once serves both the
responsibilities and the gradients (the numerically safe centred form, no expansion of
the quadratic). Extra memory is ``O(chunk_size * K)`` or ``O(K * d)`` plus the output,
whatever the number of instances.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._numba import njit
from .bagpairs import row_blocks
from .fast_exp import exp_inplace

__all__ = [
    "bag_chunks",
    "nearest_centres",
    "squared_distances",
    "hard_histograms",
    "soft_histograms",
    "presence_vectors",
    "vlad_encode",
    "gmm_posteriors", "kernel_posterior",
    "fisher_encode",
    "fisher_width",
    "power_l2_rows",
    "DEFAULT_CHUNK",
    "FUSED_MAX_WORK",
]

#: Instances per chunk: 65536 x K=64 float64 distances is 32 MiB.
DEFAULT_CHUNK = 65536

#: Largest ``K * d`` handled by the fused numba pass instead of BLAS blocks. A narrow
#: ``(n, d) x (d, K)`` product runs far from BLAS' peak and needs separate argmin and
#: accumulation passes, so the fused loop wins for small ``K * d``; BLAS wins once the
#: product is wide enough, and for nearest-centre assignment on one thread the two
#: break even near 2048.
FUSED_MAX_WORK = 2048


def _use_fused(C: np.ndarray) -> bool:
    return C.shape[0] * C.shape[1] <= FUSED_MAX_WORK


def bag_chunks(offsets: np.ndarray, chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[int, int]]:
    """Yield ``(b0, b1)`` bag ranges spanning about ``chunk_size`` instances each
    (:func:`~skmil._kernels.bagpairs.row_blocks`; a larger bag is a range of its own)."""
    yield from row_blocks(offsets, chunk_size)


def squared_distances(X: np.ndarray, C: np.ndarray, c_sq: np.ndarray | None = None) -> np.ndarray:
    """``||x - c||^2`` for every row pair by one GEMM (clipped at 0 against round-off)."""
    if c_sq is None:
        c_sq = np.einsum("ij,ij->i", C, C)
    D = X @ C.T
    D *= -2.0
    D += c_sq
    D += np.einsum("ij,ij->i", X, X)[:, None]
    np.maximum(D, 0.0, out=D)
    return D


@njit(fastmath=True, inline="always")
def _nearest_row(x, C, c_sq):
    # argmin_k ||x - c_k||^2 = argmin_k (||c_k||^2 - 2 x.c_k); ties: lowest index
    K, d = C.shape
    best = np.inf
    arg = 0
    for k in range(K):
        c = C[k]
        s = 0.0
        for f in range(d):
            s += x[f] * c[f]
        v = c_sq[k] - 2.0 * s
        if v < best:
            best = v
            arg = k
    return arg


@njit(fastmath=True)
def _nearest_fused(X, C, c_sq, out):
    for j in range(X.shape[0]):
        out[j] = _nearest_row(X[j], C, c_sq)


def nearest_centres(
    X: np.ndarray, C: np.ndarray, chunk_size: int = DEFAULT_CHUNK
) -> np.ndarray:
    """Index of the nearest centre for every row of ``X`` (ties: lowest index)."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", C, C)
    out = np.empty(X.shape[0], dtype=np.int64)
    if _use_fused(C):
        _nearest_fused(np.ascontiguousarray(X, dtype=np.float64), C, c_sq, out)
        return out
    for s in range(0, X.shape[0], chunk_size):
        # ||x||^2 is constant per row, so it does not change the argmin
        D = X[s : s + chunk_size] @ C.T
        D *= -2.0
        D += c_sq
        out[s : s + chunk_size] = np.argmin(D, axis=1)
    return out


@njit
def _hard_counts(labels, offsets, n_words):
    n_bags = offsets.shape[0] - 1
    out = np.zeros((n_bags, n_words), dtype=np.float64)
    for b in range(n_bags):
        for j in range(offsets[b], offsets[b + 1]):
            out[b, labels[j]] += 1.0
    return out


def hard_histograms(
    X: np.ndarray, offsets: np.ndarray, C: np.ndarray, chunk_size: int = DEFAULT_CHUNK
) -> np.ndarray:
    """Counts of instances per nearest centre, shape ``(n_bags, K)``."""
    labels = nearest_centres(X, C, chunk_size)
    return _hard_counts(labels, offsets, C.shape[0])


def presence_vectors(
    X: np.ndarray, offsets: np.ndarray, C: np.ndarray, chunk_size: int = DEFAULT_CHUNK
) -> np.ndarray:
    """1 where a bag has at least one instance nearest to centre ``k`` (CCE occupancy)."""
    return (hard_histograms(X, offsets, C, chunk_size) > 0).astype(np.float64)


@njit
def _accumulate_rows(out, Q, local_offsets, b0):
    # out[b0 + b] += sum of Q rows of local bag b
    n_local = local_offsets.shape[0] - 1
    K = Q.shape[1]
    for b in range(n_local):
        for j in range(local_offsets[b], local_offsets[b + 1]):
            for k in range(K):
                out[b0 + b, k] += Q[j, k]


def _softmax_rows(L: np.ndarray) -> np.ndarray:
    # an overflowed score (-inf) becomes the most negative float, so a row whose scores
    # all overflowed gives a finite (uniform) posterior instead of NaN
    np.maximum(L, np.finfo(np.float64).min, out=L)
    L -= L.max(axis=1, keepdims=True)
    exp_inplace(L)
    L /= L.sum(axis=1, keepdims=True)
    return L


def soft_histograms(
    X: np.ndarray,
    offsets: np.ndarray,
    posterior,
    n_words: int,
    chunk_size: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Per-bag sums of soft assignments ``posterior(X_chunk)`` (rows summing to 1)."""
    out = np.zeros((offsets.shape[0] - 1, n_words), dtype=np.float64)
    for b0, b1 in bag_chunks(offsets, chunk_size):
        s, e = offsets[b0], offsets[b1]
        Q = posterior(X[s:e])
        _accumulate_rows(out, Q, offsets[b0 : b1 + 1] - s, b0)
    return out


def kernel_posterior(C: np.ndarray, sigma2: float):
    """Soft assignment ``q_k(x) ∝ exp(-||x - c_k||^2 / (2 sigma2))`` (kernel codebook)."""
    c_sq = np.einsum("ij,ij->i", C, C)

    def posterior(Xc: np.ndarray) -> np.ndarray:
        D = squared_distances(Xc, C, c_sq)
        D *= -0.5 / sigma2
        return _softmax_rows(D)

    return posterior


@njit(fastmath=True)
def _vlad_fused(X, offsets, C, c_sq, out, power, l2):
    # one pass: nearest centre of each instance, residual added to its bag's row; the
    # finished row is normalised while it is still in cache (a separate pass over the
    # output cost half as much as the encoding)
    n_bags = offsets.shape[0] - 1
    d = C.shape[1]
    for b in range(n_bags):
        row = out[b]
        for j in range(offsets[b], offsets[b + 1]):
            x = X[j]
            k = _nearest_row(x, C, c_sq)
            c = C[k]
            # a 1-D view of the block: the loop then vectorises (2-D indexing did not)
            blk = row[k * d : (k + 1) * d]
            for f in range(d):
                blk[f] += x[f] - c[f]
        _power_l2_row(row, power, l2)


@njit(fastmath=True)
def _vlad_from_dots(X, dots, local_offsets, b0, C, c_sq, out):
    # dots = X_chunk @ C.T from BLAS; argmin and residual sums in one pass
    n_local = local_offsets.shape[0] - 1
    K, d = C.shape
    for b in range(n_local):
        row = out[b0 + b]
        for j in range(local_offsets[b], local_offsets[b + 1]):
            best = np.inf
            k = 0
            for kk in range(K):
                v = c_sq[kk] - 2.0 * dots[j, kk]
                if v < best:
                    best = v
                    k = kk
            x = X[j]
            c = C[k]
            blk = row[k * d : (k + 1) * d]
            for f in range(d):
                blk[f] += x[f] - c[f]


def vlad_encode(
    X: np.ndarray,
    offsets: np.ndarray,
    C: np.ndarray,
    chunk_size: int = DEFAULT_CHUNK,
    power: float | None = None,
    l2: bool = False,
) -> np.ndarray:
    """VLAD: per bag and centre, the sum of residuals ``x - c_k`` of its instances.

    Returns ``(n_bags, K * d)``; block ``k`` holds the residual sum of centre ``k``.
    ``power`` and ``l2`` apply :func:`power_l2_rows` to each bag's row as soon as it is
    complete (the defaults return the raw sums).
    """
    power, l2 = _power_args(power, l2)
    C = np.ascontiguousarray(C, dtype=np.float64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", C, C)
    out = np.zeros((offsets.shape[0] - 1, C.shape[0] * C.shape[1]), dtype=np.float64)
    if _use_fused(C):
        _vlad_fused(X, offsets, C, c_sq, out, power, l2)
        return out
    for b0, b1 in bag_chunks(offsets, chunk_size):
        s, e = offsets[b0], offsets[b1]
        _vlad_from_dots(X[s:e], X[s:e] @ C.T, offsets[b0 : b1 + 1] - s, b0, C, c_sq, out)
        _power_l2_kernel(out[b0:b1], power, l2)
    return out


#: Whitened residuals are clipped to this many standard deviations, so that their
#: squares, summed over features and instances, stay finite: an instance 1e100
#: standard deviations from every component is as far as one at 1e150 for the
#: posteriors (one-hot either way), and unclipped squares overflow to inf from about
#: 1e154, which made every log-density -inf and the posteriors NaN.
Z_CLIP = 1e100


@njit(fastmath=True, inline="always")
def _gmm_log_densities(x, log_norm, means, inv_std, Z, lp):
    # lp[k] = log w_k - sum log s_k - |z_k|^2 / 2 with z_k = (x - mu_k) / s_k kept in Z
    # (the common -d/2 log 2 pi cancels in the posteriors); returns max_k lp[k].
    # z is clipped to +-Z_CLIP (see there), so every lp[k] is finite; the maximum starts
    # from lp[0], not -inf, because fastmath may assume no infinities.
    K, d = means.shape
    m = 0.0
    for k in range(K):
        mk = means[k]
        ik = inv_std[k]
        zk = Z[k]
        s = 0.0
        for f in range(d):
            z = min(max((x[f] - mk[f]) * ik[f], -Z_CLIP), Z_CLIP)
            zk[f] = z
            s += z * z
        v = log_norm[k] - 0.5 * s
        lp[k] = v
        if k == 0 or v > m:
            m = v
    return m


@njit(fastmath=True, inline="always")
def _softmax_inplace(lp, m):
    tot = 0.0
    for k in range(lp.shape[0]):
        e = np.exp(lp[k] - m)
        lp[k] = e
        tot += e
    inv = 1.0 / tot
    for k in range(lp.shape[0]):
        lp[k] *= inv


@njit(fastmath=True)
def _gmm_posteriors_fused(X, log_norm, means, inv_std, out):
    K, d = means.shape
    Z = np.empty((K, d))
    for j in range(X.shape[0]):
        lp = out[j]
        m = _gmm_log_densities(X[j], log_norm, means, inv_std, Z, lp)
        _softmax_inplace(lp, m)


def _gmm_log_norm(weights: np.ndarray, variances: np.ndarray) -> np.ndarray:
    return np.log(weights) - 0.5 * np.sum(np.log(variances), axis=1)


def gmm_posteriors(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> np.ndarray:
    """Responsibilities ``p(k | x)`` of a diagonal GMM for the rows of ``X``, ``(n, K)``.

    Small mixtures (``K * d <= FUSED_MAX_WORK``) use a numba loop over the centred,
    whitened residuals. Larger ones expand the quadratic form into two GEMMs,
    ``x^2 @ (1/s^2)`` and ``x @ (mu/s^2)``, so the cost is BLAS-bound and no
    ``(n, K, d)`` array is formed.
    """
    means = np.ascontiguousarray(means, dtype=np.float64)
    if _use_fused(means):
        out = np.empty((X.shape[0], means.shape[0]), dtype=np.float64)
        _gmm_posteriors_fused(
            np.ascontiguousarray(X, dtype=np.float64),
            _gmm_log_norm(weights, variances),
            means,
            np.ascontiguousarray(1.0 / np.sqrt(variances)),
            out,
        )
        return out
    prec = 1.0 / variances  # (K, d)
    const = _gmm_log_norm(weights, variances) - 0.5 * np.einsum("kd,kd->k", means * means, prec)
    with np.errstate(over="ignore", invalid="ignore"):  # overflowed rows are redone below
        L = (X * X) @ prec.T
        L *= -0.5
        L += X @ (means * prec).T
        L += const
    bad = ~np.isfinite(L).all(axis=1)
    if bad.any():  # the expanded quadratic overflowed: the clipped centred form instead
        with np.errstate(divide="ignore"):  # log(0) = -inf, clipped to a float next
            L[bad] = np.log(gmm_posteriors_fused_rows(X[bad], weights, means, variances))
        np.maximum(L, np.finfo(np.float64).min, out=L)
    return _softmax_rows(L)


def gmm_posteriors_fused_rows(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> np.ndarray:
    """Responsibilities by the numba loop over clipped, whitened residuals (any ``K d``)."""
    out = np.empty((X.shape[0], means.shape[0]), dtype=np.float64)
    _gmm_posteriors_fused(
        np.ascontiguousarray(X, dtype=np.float64),
        _gmm_log_norm(weights, variances),
        np.ascontiguousarray(means, dtype=np.float64),
        np.ascontiguousarray(1.0 / np.sqrt(variances)),
        out,
    )
    return out


@njit(fastmath=True)
def _fisher_fused(X, offsets, log_norm, means, inv_std, weights, out, col_w, col_mu, col_var,
                  power, l2):
    # One pass per instance: whitened residuals z_k, responsibilities g_k, then the
    # bag's sums of g_k, g_k z_k and g_k (z_k^2 - 1) in small per-bag accumulators
    # (1-D views, so the inner loops vectorise). Each bag's row is written once, already
    # scaled: the output is larger than the input (2Kd + K columns per bag), so separate
    # scaling passes over it cost more than the accumulation. col_w/col_var < 0: block
    # not requested.
    n_bags = offsets.shape[0] - 1
    K, d = means.shape
    Z = np.empty((K, d))
    lp = np.empty(K)
    s0 = np.empty(K)
    acc_mu = np.empty((K, d))
    acc_var = np.empty((K, d))
    inv_sqrt_w = np.empty(K)
    for k in range(K):
        inv_sqrt_w[k] = 1.0 / np.sqrt(weights[k])
    inv_sqrt2 = 1.0 / np.sqrt(2.0)
    for b in range(n_bags):
        s0[:] = 0.0
        acc_mu[:] = 0.0
        acc_var[:] = 0.0
        for j in range(offsets[b], offsets[b + 1]):
            m = _gmm_log_densities(X[j], log_norm, means, inv_std, Z, lp)
            _softmax_inplace(lp, m)
            for k in range(K):
                g = lp[k]
                s0[k] += g
                if g == 0.0:  # underflowed responsibility: contributes exactly nothing
                    continue
                zk = Z[k]
                am = acc_mu[k]
                for f in range(d):
                    am[f] += g * zk[f]
                if col_var >= 0:
                    av = acc_var[k]
                    for f in range(d):
                        z = zk[f]
                        av[f] += g * (z * z - 1.0)
        n = float(offsets[b + 1] - offsets[b])
        row = out[b]
        for k in range(K):
            if col_w >= 0:
                row[col_w + k] = (s0[k] - n * weights[k]) / (n * np.sqrt(weights[k]))
            blk = row[col_mu + k * d : col_mu + (k + 1) * d]
            am = acc_mu[k]
            c = inv_sqrt_w[k] / n
            for f in range(d):
                blk[f] = am[f] * c
            if col_var >= 0:
                blk = row[col_var + k * d : col_var + (k + 1) * d]
                av = acc_var[k]
                c = inv_sqrt_w[k] * inv_sqrt2 / n
                for f in range(d):
                    blk[f] = av[f] * c
        _power_l2_row(row, power, l2)


def _fisher_layout(K: int, d: int, include_weights: bool, include_variances: bool):
    """First columns of the weight, mean and variance blocks (-1: absent) and the width."""
    col = 0
    col_w = col_var = -1
    if include_weights:
        col_w, col = col, col + K
    col_mu, col = col, col + K * d  # always computed (the pass needs the block)
    if include_variances:
        col_var, col = col, col + K * d
    return col_w, col_mu, col_var, col


def fisher_width(K: int, d: int, include_weights: bool = True,
                 include_variances: bool = True) -> int:
    """Columns of :func:`fisher_encode`'s output (with ``include_means=True``)."""
    return _fisher_layout(K, d, include_weights, include_variances)[3]


def fisher_encode(
    X: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    variances: np.ndarray,
    include_weights: bool = True,
    include_means: bool = True,
    include_variances: bool = True,
    out: np.ndarray | None = None,
    dtype: Any = np.float64,
    power: float | None = None,
    l2: bool = False,
) -> np.ndarray:
    """Fisher vector of every bag under a diagonal GMM (raw unless ``power``/``l2``).

    For bag ``i`` with ``n_i`` instances and responsibilities ``g_jk``::

        G_w[k]   = sum_j (g_jk - w_k) / (n_i sqrt(w_k))
        G_mu[k]  = sum_j g_jk (x_j - mu_k) / s_k / (n_i sqrt(w_k))
        G_var[k] = sum_j g_jk ((x_j - mu_k)^2 / s_k^2 - 1) / (n_i sqrt(2 w_k))

    Output blocks in that order (each only if requested): ``K``, ``K*d``, ``K*d``
    columns. One numba pass computes responsibilities and gradients together and writes
    each bag's row once (extra memory ``O(K d)``), so no chunking is needed. ``out``, a
    C-contiguous float64 or float32 array of the output's shape, receives the rows in
    place (not with ``include_means=False``); otherwise the output is a new array of
    ``dtype``. The sums are accumulated in float64 either way; only the stored rows are
    rounded to the output's precision. ``power`` and ``l2`` apply :func:`power_l2_rows`
    to each bag's row as soon as it is written (not with ``include_means=False``).
    """
    if include_variances and not include_means:
        raise ValueError("the variance gradients are computed with the mean gradients")
    if not include_means and (power is not None or l2):
        raise ValueError("power and l2 are applied with include_means=True only")
    n_bags = offsets.shape[0] - 1
    K, d = means.shape
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    means = np.ascontiguousarray(means, dtype=np.float64)
    inv_std = np.ascontiguousarray(1.0 / np.sqrt(variances), dtype=np.float64)
    col_w, col_mu, col_var, col = _fisher_layout(K, d, include_weights, include_variances)
    if out is None:
        out = np.empty((n_bags, col), dtype=dtype)  # every entry is written
    elif (out.shape != (n_bags, col) or out.dtype not in (np.float64, np.float32)
          or not out.flags.c_contiguous or not include_means):
        raise ValueError(f"out must be a C-contiguous float64 or float32 array of shape "
                         f"{(n_bags, col)} and include_means must be True.")
    _fisher_fused(
        np.ascontiguousarray(X, dtype=np.float64), offsets, _gmm_log_norm(weights, variances),
        means, inv_std, weights, out, col_w, col_mu, col_var,
        *_power_args(power, l2),
    )
    if not include_means:  # weights only: drop the mean block
        out = out[:, :K].copy()
    return out


def _power_args(power: float | None, l2: bool) -> tuple[float, bool]:
    """``(power, l2)`` as the numba kernels take them: no power step is exponent 1."""
    return (1.0 if power is None else float(power)), bool(l2)


@njit(inline="always")
def _power_l2_row(row, power, l2):
    # signed power, then L2 (squared norm summed in float64); power=1, l2=False: no-op
    # branch-free loops (one per case) so that each vectorises inside the fused encoders
    m = row.shape[0]
    if power == 0.5:
        for j in range(m):
            v = row[j]
            row[j] = math.copysign(math.sqrt(abs(v)), v)
    elif power != 1.0:
        for j in range(m):
            v = row[j]
            row[j] = math.copysign(abs(v) ** power, v)
    if l2:
        s = 0.0
        for j in range(m):
            s += row[j] * row[j]
        inv = 1.0 / max(np.sqrt(s), 1e-12)
        for j in range(m):
            row[j] *= inv


@njit
def _power_l2_kernel(Z, power, l2):
    for i in range(Z.shape[0]):
        _power_l2_row(Z[i], power, l2)


def power_l2_rows(Z: np.ndarray, power: float | None, l2: bool) -> np.ndarray:
    """In place: signed power ``sign(z)|z|^power`` then row-wise L2 (epsilon-guarded).

    One numba pass per row for C-contiguous float64 or float32 ``Z`` (no temporaries;
    the squared norm is summed in float64).
    """
    _power_l2_kernel(Z, *_power_args(power, l2))
    return Z
