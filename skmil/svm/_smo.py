"""SMO for the SVM dual with a general linear term (libsvm's problem form).

    min_a  1/2 a' Q a + p' a   s.t.  y' a = 0,  0 <= a_i <= C_i,   Q_ij = y_i y_j K_ij

libsvm solves exactly this form internally (``p = -1`` for C-SVC), but scikit-learn
exposes no way to pass ``p``. sMIL's positive bags need ``p_X = -(2 - |X|) / |X|``
(a bag-size-dependent margin), so this module implements the same algorithm: working
set selection by second-order information (Fan, Chen & Lin, JMLR 2005), the analytic
two-variable update with box clipping, and the bias from the free variables. It works
on a dense precomputed ``K`` (``n^2`` doubles), and is written from the published
algorithm, not from libsvm's source.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

_TAU = 1e-12


@njit
def _smo(K, p, y, C, eps, max_iter):
    n = K.shape[0]
    a = np.zeros(n)
    G = p.copy()
    diag = np.empty(n)
    for t in range(n):
        diag[t] = K[t, t]
    it = 0
    while it < max_iter:
        # i: maximal violator in I_up
        gmax = -np.inf
        i = -1
        for t in range(n):
            if (y[t] > 0 and a[t] < C[t]) or (y[t] < 0 and a[t] > 0):
                v = -y[t] * G[t]
                if v >= gmax:
                    gmax = v
                    i = t
        # j: second-order choice in I_low
        gmax2 = -np.inf
        j = -1
        best = np.inf
        for t in range(n):
            if (y[t] > 0 and a[t] > 0) or (y[t] < 0 and a[t] < C[t]):
                v = y[t] * G[t]
                if v >= gmax2:
                    gmax2 = v
                grad_diff = gmax + v
                if grad_diff > 0 and i >= 0:
                    quad = diag[i] + diag[t] - 2.0 * K[i, t]
                    if quad <= 0:
                        quad = _TAU
                    obj = -(grad_diff * grad_diff) / quad
                    if obj <= best:
                        best = obj
                        j = t
        if gmax + gmax2 < eps or i < 0 or j < 0:
            break
        it += 1
        Ci, Cj = C[i], C[j]
        ai, aj = a[i], a[j]
        Qij = y[i] * y[j] * K[i, j]
        if y[i] != y[j]:
            quad = diag[i] + diag[j] + 2.0 * Qij
            if quad <= 0:
                quad = _TAU
            delta = (-G[i] - G[j]) / quad
            diff = ai - aj
            ai += delta
            aj += delta
            if diff > 0:
                if aj < 0:
                    aj = 0.0
                    ai = diff
            elif ai < 0:
                ai = 0.0
                aj = -diff
            if diff > Ci - Cj:
                if ai > Ci:
                    ai = Ci
                    aj = Ci - diff
            elif aj > Cj:
                aj = Cj
                ai = Cj + diff
        else:
            quad = diag[i] + diag[j] - 2.0 * Qij
            if quad <= 0:
                quad = _TAU
            delta = (G[i] - G[j]) / quad
            s = ai + aj
            ai -= delta
            aj += delta
            if s > Ci:
                if ai > Ci:
                    ai = Ci
                    aj = s - Ci
            elif aj < 0:
                aj = 0.0
                ai = s
            if s > Cj:
                if aj > Cj:
                    aj = Cj
                    ai = s - Cj
            elif ai < 0:
                ai = 0.0
                aj = s
        dai = ai - a[i]
        daj = aj - a[j]
        a[i] = ai
        a[j] = aj
        # K is symmetric: read rows i and j (contiguous) instead of columns, which
        # on a C-ordered n x n matrix cost one cache line per element
        ci = y[i] * dai
        cj = y[j] * daj
        Ki = K[i]
        Kj = K[j]
        for t in range(n):
            G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])
    # bias: average of y_t G_t over free variables, else the middle of the feasible range
    nfree = 0
    sfree = 0.0
    ub = np.inf
    lb = -np.inf
    for t in range(n):
        yG = y[t] * G[t]
        if a[t] >= C[t]:
            if y[t] < 0:
                ub = min(ub, yG)
            else:
                lb = max(lb, yG)
        elif a[t] <= 0:
            if y[t] > 0:
                ub = min(ub, yG)
            else:
                lb = max(lb, yG)
        else:
            nfree += 1
            sfree += yG
    rho = sfree / nfree if nfree > 0 else 0.5 * (ub + lb)
    return a, rho, it


def smo_solve(K, p, y, C, *, tol=1e-3, max_iter=None):
    """Solve the dual; returns ``(alpha, rho, n_iter)`` with ``f(x) = sum y a K - rho``.

    ``K`` must be symmetric (a Gram matrix): the solver reads its rows only.
    """
    K = np.ascontiguousarray(K, dtype=np.float64)
    n = K.shape[0]
    if max_iter is None:
        max_iter = max(10_000_000, 100 * n)
    return _smo(
        K,
        np.ascontiguousarray(p, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(C, dtype=np.float64),
        float(tol),
        int(max_iter),
    )
