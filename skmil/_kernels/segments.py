"""Segment reductions over the flat bag layout.

``values[offsets[i]:offsets[i + 1]]`` is bag ``i``. Bags are never empty (validated by
``check_bags``), so ``np.*.reduceat`` on the bag starts is exact for 1-D scores; the
per-feature statistics of :class:`~skmil.embedding.BagStatistics` come from one numba
pass over the instances.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

__all__ = [
    "segment_max",
    "segment_min",
    "segment_sum",
    "segment_mean",
    "segment_argmax",
    "segment_logsumexp",
    "bag_statistics",
    "segment_median",
]


def segment_max(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-bag maximum of per-instance ``values`` (first axis = instances)."""
    return np.maximum.reduceat(values, offsets[:-1], axis=0)


def segment_min(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-bag minimum of per-instance ``values``."""
    return np.minimum.reduceat(values, offsets[:-1], axis=0)


def segment_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-bag sum of per-instance ``values``."""
    return np.add.reduceat(values, offsets[:-1], axis=0)


def segment_mean(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-bag mean of per-instance ``values``."""
    sums = segment_sum(np.asarray(values, dtype=np.float64), offsets)
    sizes = np.diff(offsets).astype(np.float64)
    if sums.ndim == 1:
        return sums / sizes
    return sums / sizes[:, None]


def segment_logsumexp(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-bag ``log(mean(exp(values)))`` of 1-D values, computed stably."""
    values = np.asarray(values, dtype=np.float64)
    m = segment_max(values, offsets)
    shifted = np.exp(values - np.repeat(m, np.diff(offsets)))
    return m + np.log(segment_mean(shifted, offsets))


@njit
def _segment_argmax(values, offsets):
    n_bags = offsets.shape[0] - 1
    out = np.empty(n_bags, dtype=np.int64)
    for b in range(n_bags):
        best = offsets[b]
        for j in range(offsets[b] + 1, offsets[b + 1]):
            if values[j] > values[best]:
                best = j
        out[b] = best
    return out


def segment_argmax(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Global row index of the first maximum of 1-D ``values`` within each bag."""
    return _segment_argmax(np.ascontiguousarray(values, dtype=np.float64), offsets)


@njit
def _bag_statistics(X, offsets, want_mean, want_min, want_max, want_std):
    n_bags = offsets.shape[0] - 1
    d = X.shape[1]
    n_out = (want_mean + want_min + want_max + want_std) * d
    out = np.empty((n_bags, n_out), dtype=np.float64)
    s = np.empty(d)
    s2 = np.empty(d)
    lo = np.empty(d)
    hi = np.empty(d)
    for b in range(n_bags):
        start = offsets[b]
        stop = offsets[b + 1]
        for k in range(d):
            v = X[start, k]
            s[k] = 0.0
            lo[k] = v
            hi[k] = v
        for j in range(start, stop):
            for k in range(d):
                v = X[j, k]
                s[k] += v
                if v < lo[k]:
                    lo[k] = v
                if v > hi[k]:
                    hi[k] = v
        n = stop - start
        col = 0
        if want_mean:
            for k in range(d):
                out[b, col + k] = s[k] / n
            col += d
        if want_min:
            for k in range(d):
                out[b, col + k] = lo[k]
            col += d
        if want_max:
            for k in range(d):
                out[b, col + k] = hi[k]
            col += d
        if want_std:
            # two-pass variance: exact for bags whose values share a large offset
            for k in range(d):
                s2[k] = 0.0
            for j in range(start, stop):
                for k in range(d):
                    diff = X[j, k] - s[k] / n
                    s2[k] += diff * diff
            for k in range(d):
                out[b, col + k] = np.sqrt(s2[k] / n)
    return out


def bag_statistics(
    X: np.ndarray, offsets: np.ndarray, statistics: tuple[str, ...]
) -> np.ndarray:
    """Per-bag feature statistics, blocks concatenated in the order mean, min, max, std.

    Only the requested blocks are computed, in one pass over the instances (plus one
    more for ``std``). Returns ``(n_bags, len(statistics) * n_features)``.
    """
    return _bag_statistics(
        X,
        offsets,
        "mean" in statistics,
        "min" in statistics,
        "max" in statistics,
        "std" in statistics,
    )


@njit
def _segment_median(X, offsets):
    n_bags = offsets.shape[0] - 1
    d = X.shape[1]
    out = np.empty((n_bags, d), dtype=np.float64)
    for b in range(n_bags):
        start = offsets[b]
        stop = offsets[b + 1]
        for k in range(d):
            out[b, k] = np.median(X[start:stop, k])
    return out


def segment_median(X: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-bag, per-feature median of the rows of 2-D ``X`` (mean of the two middle values
    for an even count, as :func:`numpy.median`). Returns ``(n_bags, n_features)``.
    """
    return _segment_median(np.ascontiguousarray(X, dtype=np.float64), offsets)
