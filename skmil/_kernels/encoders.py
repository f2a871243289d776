"""Codebook encoders over the flat bag layout (BoW histograms, VLAD, Fisher vectors).

Every encoder walks the instances in *chunks of whole bags* (about ``chunk_size``
instances each; a single bag larger than that forms its own chunk). Inside a chunk the
instance-to-centre work is one BLAS product (distances or Gaussian log-densities, an
``(n_chunk, K)`` block) and the per-bag accumulation is a numba loop over the chunk's
instances. Extra memory is therefore ``O(chunk_size * K)`` plus the output, whatever
the number of instances.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._numba import njit

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
    "DEFAULT_CHUNK",
]

#: Instances per chunk: 65536 x K=64 float64 distances is 32 MiB.
DEFAULT_CHUNK = 65536


def bag_chunks(offsets: np.ndarray, chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[int, int]]:
    """Yield ``(b0, b1)`` bag ranges spanning about ``chunk_size`` instances each."""
    n_bags = offsets.shape[0] - 1
    b0 = 0
    while b0 < n_bags:
        # first bag end beyond the budget; always advance at least one bag
        b1 = int(np.searchsorted(offsets, offsets[b0] + chunk_size, side="right")) - 1
        b1 = min(max(b1, b0 + 1), n_bags)
        yield b0, b1
        b0 = b1


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


def nearest_centres(
    X: np.ndarray, C: np.ndarray, chunk_size: int = DEFAULT_CHUNK
) -> np.ndarray:
    """Index of the nearest centre for every row of ``X`` (ties: lowest index)."""
    c_sq = np.einsum("ij,ij->i", C, C)
    out = np.empty(X.shape[0], dtype=np.int64)
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
    L -= L.max(axis=1, keepdims=True)
    np.exp(L, out=L)
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


@njit
def _vlad_accumulate(X, labels, offsets, C, out):
    n_bags = offsets.shape[0] - 1
    d = X.shape[1]
    for b in range(n_bags):
        for j in range(offsets[b], offsets[b + 1]):
            k = labels[j]
            base = k * d
            for f in range(d):
                out[b, base + f] += X[j, f] - C[k, f]


def vlad_encode(
    X: np.ndarray, offsets: np.ndarray, C: np.ndarray, chunk_size: int = DEFAULT_CHUNK
) -> np.ndarray:
    """Raw VLAD: per bag and centre, the sum of residuals ``x - c_k`` of its instances.

    Returns ``(n_bags, K * d)``; block ``k`` holds the residual sum of centre ``k``.
    """
    labels = nearest_centres(X, C, chunk_size)
    out = np.zeros((offsets.shape[0] - 1, C.shape[0] * C.shape[1]), dtype=np.float64)
    _vlad_accumulate(X, labels, offsets, np.ascontiguousarray(C, dtype=np.float64), out)
    return out


def gmm_posteriors(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> np.ndarray:
    """Responsibilities ``p(k | x)`` of a diagonal GMM for the rows of ``X``, ``(n, K)``.

    The quadratic form is expanded into two GEMMs, ``x^2 @ (1/s^2)`` and
    ``x @ (mu/s^2)``, so the cost is BLAS-bound and no ``(n, K, d)`` array is formed.
    """
    prec = 1.0 / variances  # (K, d)
    const = (
        np.log(weights)
        - 0.5 * np.sum(np.log(variances), axis=1)
        - 0.5 * np.einsum("kd,kd->k", means * means, prec)
    )
    L = (X * X) @ prec.T
    L *= -0.5
    L += X @ (means * prec).T
    L += const
    return _softmax_rows(L)


@njit(fastmath=True)
def _fisher_accumulate(X, gamma, local_offsets, b0, means, inv_std, out, col_mu, col_var):
    # col_var < 0: mean gradients only. Two branch-free inner loops so both vectorise.
    n_local = local_offsets.shape[0] - 1
    K, d = means.shape
    z = np.empty(d)
    for b in range(n_local):
        row = b0 + b
        for j in range(local_offsets[b], local_offsets[b + 1]):
            for k in range(K):
                g = gamma[j, k]
                if g == 0.0:  # underflowed responsibility: contributes exactly nothing
                    continue
                base_mu = col_mu + k * d
                for f in range(d):
                    z[f] = (X[j, f] - means[k, f]) * inv_std[k, f]
                    out[row, base_mu + f] += g * z[f]
                if col_var >= 0:
                    base_var = col_var + k * d
                    for f in range(d):
                        out[row, base_var + f] += g * (z[f] * z[f] - 1.0)


def fisher_encode(
    X: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    variances: np.ndarray,
    include_weights: bool = True,
    include_means: bool = True,
    include_variances: bool = True,
    chunk_size: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Raw (unnormalised) Fisher vector of every bag under a diagonal GMM.

    For bag ``i`` with ``n_i`` instances and responsibilities ``g_jk``::

        G_w[k]   = sum_j (g_jk - w_k) / (n_i sqrt(w_k))
        G_mu[k]  = sum_j g_jk (x_j - mu_k) / s_k / (n_i sqrt(w_k))
        G_var[k] = sum_j g_jk ((x_j - mu_k)^2 / s_k^2 - 1) / (n_i sqrt(2 w_k))

    Output blocks in that order (each only if requested): ``K``, ``K*d``, ``K*d``
    columns, written in place into one array (no concatenation copy).
    """
    if include_variances and not include_means:
        raise ValueError("the variance gradients are computed with the mean gradients")
    n_bags = offsets.shape[0] - 1
    K, d = means.shape
    inv_std = 1.0 / np.sqrt(variances)
    means = np.ascontiguousarray(means, dtype=np.float64)
    col = 0
    col_w = col_mu = col_var = -1
    if include_weights:
        col_w, col = col, col + K
    if include_means:
        col_mu, col = col, col + K * d
    if include_variances:
        col_var, col = col, col + K * d
    out = np.zeros((n_bags, col), dtype=np.float64)
    S0 = np.zeros((n_bags, K)) if include_weights else None
    for b0, b1 in bag_chunks(offsets, chunk_size):
        s, e = offsets[b0], offsets[b1]
        gamma = gmm_posteriors(X[s:e], weights, means, variances)
        local = offsets[b0 : b1 + 1] - s
        if include_weights:
            _accumulate_rows(S0, gamma, local, b0)
        if include_means:
            _fisher_accumulate(X[s:e], gamma, local, b0, means, inv_std, out, col_mu, col_var)
    sizes = np.diff(offsets).astype(np.float64)[:, None]
    sqrt_w = np.sqrt(weights)
    if include_weights:
        out[:, col_w : col_w + K] = (S0 - sizes * weights) / (sizes * sqrt_w)
    scale = np.repeat(1.0 / sqrt_w, d)  # per column of a K*d block
    if include_means:
        blk = out[:, col_mu : col_mu + K * d]
        blk *= scale
        blk /= sizes
    if include_variances:
        blk = out[:, col_var : col_var + K * d]
        blk *= scale / np.sqrt(2.0)
        blk /= sizes
    return out
