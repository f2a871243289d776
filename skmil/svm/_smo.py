"""SMO for the SVM dual with a general linear term (libsvm's problem form).

    min_a  1/2 a' Q a + p' a   s.t.  y' a = 0,  0 <= a_i <= C_i,   Q_ij = y_i y_j K_ij

libsvm solves exactly this form internally (``p = -1`` for C-SVC), but scikit-learn
exposes no way to pass ``p``. sMIL's positive bags need ``p_X = -(2 - |X|) / |X|``
(a bag-size-dependent margin), so this module implements the same algorithm: working
set selection by second-order information (Fan, Chen & Lin, JMLR 2005), the analytic
two-variable update with box clipping, shrinking of bounded variables that cannot
join a violating pair (with one gradient rebuild near the end and a final check on
the whole problem), and the bias from the free variables. It works on a dense
precomputed ``K`` (``n^2`` doubles), and is written from the published algorithm,
not from libsvm's source.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

_TAU = 1e-12


@njit
def _select(K, G, a, y, C, diag, active, m):
    """Working pair over the active set: (i, j, m(a), -M(a)) of Fan, Chen & Lin."""
    # the I_up / I_low tests are written out here and in _shrink: as njit helpers
    # (even inline="always") they made this loop 6-10x slower
    gmax = -np.inf
    i = -1
    for s in range(m):
        t = active[s]
        if (y[t] > 0 and a[t] < C[t]) or (y[t] < 0 and a[t] > 0):
            v = -y[t] * G[t]
            if v >= gmax:
                gmax = v
                i = t
    gmax2 = -np.inf
    j = -1
    best = np.inf
    for s in range(m):
        t = active[s]
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
    return i, j, gmax, gmax2


@njit
def _reconstruct(K, p, y, a, G, is_active):
    """Exact gradient of the shrunk variables, from the support vectors' rows."""
    n = a.shape[0]
    # the support vectors in ascending order, as np.flatnonzero(a > 0) gives them; a
    # loop compiles much faster than numba's array expression and flatnonzero
    sv = np.empty(n, dtype=np.int64)
    n_sv = 0
    for j in range(n):
        if a[j] > 0:
            sv[n_sv] = j
            n_sv += 1
    for t in range(n):
        if not is_active[t]:
            Kt = K[t]
            s = 0.0
            for q in range(n_sv):
                j = sv[q]
                s += Kt[j] * y[j] * a[j]
            G[t] = p[t] + y[t] * s


@njit
def _unshrink(K, p, y, a, G, active, is_active):
    _reconstruct(K, p, y, a, G, is_active)
    for t in range(a.shape[0]):
        active[t] = t
        is_active[t] = True
    return a.shape[0]


@njit
def _shrink(K, p, y, a, G, C, active, is_active, m, unshrunk, eps):
    """Drop bounded variables that cannot join a violating pair (Joachims; Fan et al.).

    Once the active problem is within ``10 eps`` of optimal the full gradient is
    rebuilt a single time, so that variables shrunk too early can come back.
    """
    g_up = -np.inf
    g_low = -np.inf
    for s in range(m):
        t = active[s]
        if (y[t] > 0 and a[t] < C[t]) or (y[t] < 0 and a[t] > 0):
            g_up = max(g_up, -y[t] * G[t])
        if (y[t] > 0 and a[t] > 0) or (y[t] < 0 and a[t] < C[t]):
            g_low = max(g_low, y[t] * G[t])
    if not unshrunk and g_up + g_low <= 10.0 * eps:
        unshrunk = True
        m = _unshrink(K, p, y, a, G, active, is_active)
    k = 0
    for s in range(m):
        t = active[s]
        yG = y[t] * G[t]
        if a[t] >= C[t]:
            # at the upper bound: only in I_low (y > 0) or only in I_up (y < 0)
            out = yG < -g_up if y[t] > 0 else -yG < -g_low
        elif a[t] <= 0:
            out = -yG < -g_low if y[t] > 0 else yG < -g_up
        else:
            out = False
        if out:
            is_active[t] = False
        else:
            active[k] = t
            k += 1
    return k, unshrunk


@njit
def _smo(K, p, y, C, eps, max_iter, shrinking):
    n = K.shape[0]
    a = np.zeros(n)
    G = p.copy()
    diag = np.empty(n)
    for t in range(n):
        diag[t] = K[t, t]
    active = np.arange(n)
    is_active = np.ones(n, dtype=np.bool_)
    m = n
    # False, but typed as a run-time bool: a literal False would make numba compile
    # _shrink twice (for Literal[bool](False) and for bool)
    unshrunk = m < 0
    period = min(n, 1000)
    counter = period + 1
    it = 0
    while it < max_iter:
        if shrinking:
            counter -= 1
            if counter == 0:
                counter = period
                m, unshrunk = _shrink(K, p, y, a, G, C, active, is_active, m, unshrunk, eps)
        i, j, gmax, gmax2 = _select(K, G, a, y, C, diag, active, m)
        if gmax + gmax2 < eps or i < 0 or j < 0:
            if m == n:
                break
            # optimal on the active set: check the whole problem before stopping
            m = _unshrink(K, p, y, a, G, active, is_active)
            i, j, gmax, gmax2 = _select(K, G, a, y, C, diag, active, m)
            if gmax + gmax2 < eps or i < 0 or j < 0:
                break
            counter = 1
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
        # on a C-ordered n x n matrix cost one cache line per element; shrunk
        # variables' gradients are rebuilt by _unshrink when they are needed
        ci = y[i] * dai
        cj = y[j] * daj
        Ki = K[i]
        Kj = K[j]
        if m == n:  # a plain loop vectorises; the indexed one does not
            for t in range(n):
                G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])
        else:
            for s in range(m):
                t = active[s]
                G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])
    if m < n:
        _unshrink(K, p, y, a, G, active, is_active)
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


def smo_solve(K, p, y, C, *, tol=1e-3, max_iter=None, shrinking=True):
    """Solve the dual; returns ``(alpha, rho, n_iter)`` with ``f(x) = sum y a K - rho``.

    ``K`` must be symmetric (a Gram matrix): the solver reads its rows only.
    ``shrinking`` restricts the iterations to the variables that can still move (the
    answer meets the same stopping rule on the whole problem either way).
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
        bool(shrinking),
    )
