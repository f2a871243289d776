"""Diverse Density objectives and analytic gradients (numba).

Hypothesis ``h = (t, s)``: instance probability ``p = exp(-D)`` with
``D = sum_k s_k^2 (x_k - t_k)^2``. Logs are taken in the numerically safe forms of
the project notes: ``log(1 - p) = log(-expm1(-D))`` with ``D`` floored at ``D_MIN``
(probabilities capped at 1 - 1e-12), and the noisy-or ``log(1 - prod_j (1 - p_j))
= log(-expm1(S))`` with ``S = sum_j log(1 - p_j)``; when every ``p_j`` underflows
(``min_j D_j > 30``, all p_j < 1e-13) that term becomes ``logsumexp_j(-D_j)``, its
limit (relative error below n e^-30).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import njit

__all__ = [
    "D_MIN",
    "weighted_sqdist",
    "nldd_noisy_or",
    "nldd_mlc_selected",
    "segment_argmin_dist",
]

D_MIN = 1e-12
_LSE_SWITCH = 30.0


@njit
def weighted_sqdist(X, t, s):
    """``D_j = sum_k s_k^2 (x_jk - t_k)^2`` for every row of X."""
    n, d = X.shape
    out = np.empty(n)
    for j in range(n):
        acc = 0.0
        for k in range(d):
            z = s[k] * (X[j, k] - t[k])
            acc += z * z
        out[j] = acc
    return out


@njit(inline="always")
def _accumulate(X, j, t, s, coef, grad):
    # dD/dt_k = -2 s_k^2 (x_k - t_k); dD/ds_k = 2 s_k (x_k - t_k)^2
    d = t.shape[0]
    for k in range(d):
        diff = X[j, k] - t[k]
        grad[k] -= coef * 2.0 * s[k] * s[k] * diff
        grad[d + k] += coef * 2.0 * s[k] * diff * diff


@njit
def nldd_noisy_or(X, offsets, y, t, s, grad):
    """Noisy-or negative log diverse density; writes d/d(t, s) into ``grad`` (2d,)."""
    n_bags = offsets.shape[0] - 1
    grad[:] = 0.0
    f = 0.0
    for i in range(n_bags):
        s0, s1 = offsets[i], offsets[i + 1]
        D = weighted_sqdist(X[s0:s1], t, s)
        if y[i] == 0:
            for j in range(s1 - s0):
                Dc = max(D[j], D_MIN)
                f -= math.log(-math.expm1(-Dc))
                # d(-log(1 - e^-D))/dD = -1 / expm1(D)
                _accumulate(X, s0 + j, t, s, -1.0 / math.expm1(Dc), grad)
        else:
            dmin = D.min()
            if dmin > _LSE_SWITCH:
                acc = 0.0
                for j in range(s1 - s0):
                    acc += math.exp(dmin - D[j])
                f -= -dmin + math.log(acc)
                for j in range(s1 - s0):
                    # d(-logsumexp(-D))/dD_j = softmax(-D)_j
                    _accumulate(X, s0 + j, t, s, math.exp(dmin - D[j]) / acc, grad)
            else:
                S = 0.0
                for j in range(s1 - s0):
                    S += math.log(-math.expm1(-max(D[j], D_MIN)))
                f -= math.log(-math.expm1(S))
                em = math.expm1(-S)
                for j in range(s1 - s0):
                    Dc = max(D[j], D_MIN)
                    if Dc < 700.0:
                        # d(-log(1 - e^S))/dD_j = 1 / (expm1(-S) expm1(D_j))
                        _accumulate(X, s0 + j, t, s, 1.0 / (em * math.expm1(Dc)), grad)
    return f


@njit
def nldd_mlc_selected(Xsel, y, t, s, grad):
    """Most-likely-cause NLDD over one selected instance per bag (EM-DD's M-step)."""
    grad[:] = 0.0
    f = 0.0
    D = weighted_sqdist(Xsel, t, s)
    for i in range(Xsel.shape[0]):
        if y[i] == 1:
            f += D[i]
            _accumulate(Xsel, i, t, s, 1.0, grad)
        else:
            Dc = max(D[i], D_MIN)
            f -= math.log(-math.expm1(-Dc))
            _accumulate(Xsel, i, t, s, -1.0 / math.expm1(Dc), grad)
    return f


@njit
def segment_argmin_dist(X, offsets, t, s):
    """Per bag: index (global row) and value of the smallest weighted distance."""
    n_bags = offsets.shape[0] - 1
    idx = np.empty(n_bags, dtype=np.int64)
    val = np.empty(n_bags)
    D = weighted_sqdist(X, t, s)
    for i in range(n_bags):
        best = offsets[i]
        for j in range(offsets[i] + 1, offsets[i + 1]):
            if D[j] < D[best]:
                best = j
        idx[i] = best
        val[i] = D[best]
    return idx, val
