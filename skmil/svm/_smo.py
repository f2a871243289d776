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

Compilation is what a process's first solve pays, so what every solve compiles is
kept small: :func:`_iterate_all` (iterations over every variable) and
:func:`_pair_step` (the two-variable update). Shrinking's kernels (:func:`_iterate`
over an active set, :func:`_select`, :func:`_shrink`, :func:`_unshrink`) are compiled
only when a problem is large enough to shrink (:data:`SHRINKING_MIN_N`); Python drives
them between blocks of iterations, and allocates the arrays and computes the bias in
numpy.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

_TAU = 1e-12

#: Smallest number of variables for which ``smo_solve(..., shrinking="auto")`` shrinks.
#: Below it, iterating over every variable with contiguous loops was as fast as
#: iterating over the shrunk set through an index array: shrinking was 0.87-0.94x on
#: sMIL's QPs of 1,000-3,000 variables (1.06x at 4,000, 1.16x at 5,000) and 0.93-1.05x
#: on C-SVC duals of 1,000-4,000; its kernels add about 1.2 s to the compilation of a
#: first solve on a cold numba cache (0.7 s without them). Measured with
#: ``python benchmarks/bench_smo_shrinking.py``.
SHRINKING_MIN_N = 4000


# inlined into both iteration kernels by numba: as a separate kernel it added a third
# to the compilation of a first solve
@njit(inline="always")
def _pair_step(K, y, C, diag, a, G, i, j):
    """Analytic update of ``(a_i, a_j)`` with box clipping; returns ``y_i da_i, y_j da_j``."""
    Ci = C[i]
    Cj = C[j]
    ai = a[i]
    aj = a[j]
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
        total = ai + aj
        ai -= delta
        aj += delta
        if total > Ci:
            if ai > Ci:
                ai = Ci
                aj = total - Ci
        elif aj < 0:
            aj = 0.0
            ai = total
        if total > Cj:
            if aj > Cj:
                aj = Cj
                ai = total - Cj
        elif ai < 0:
            ai = 0.0
            aj = total
    ci = y[i] * (ai - a[i])
    cj = y[j] * (aj - a[j])
    a[i] = ai
    a[j] = aj
    return ci, cj


@njit
def _iterate_all(K, y, C, diag, a, G, eps, max_iter):
    """Up to ``max_iter`` SMO iterations over every variable; updates ``a`` and ``G``.

    Returns the number of iterations done: fewer than ``max_iter`` when the problem
    meets the stopping rule (maximal violation below ``eps``).
    """
    n = a.shape[0]
    it = 0
    while it < max_iter:
        # working pair (i, j) and m(a), -M(a) of Fan, Chen & Lin, as in _select but
        # over contiguous indices: 1.5x faster than through an index array. The
        # I_up / I_low tests are written out: as njit helpers (even inline="always")
        # they made these loops 6-10x slower
        gmax = -np.inf
        i = -1
        for t in range(n):
            if (y[t] > 0 and a[t] < C[t]) or (y[t] < 0 and a[t] > 0):
                v = -y[t] * G[t]
                if v >= gmax:
                    gmax = v
                    i = t
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
        ci, cj = _pair_step(K, y, C, diag, a, G, i, j)
        # K is symmetric: read rows i and j (contiguous) instead of columns, which
        # on a C-ordered n x n matrix cost one cache line per element
        Ki = K[i]
        Kj = K[j]
        for t in range(n):
            G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])
    return it


@njit
def _select(K, G, a, y, C, diag, active, m):
    """Working pair over the active set: (i, j, m(a), -M(a)) of Fan, Chen & Lin."""
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
def _iterate(K, y, C, diag, a, G, active, m, eps, max_iter):
    """:func:`_iterate_all` over the variables ``active[:m]`` only.

    The gradients of the other variables go stale; :func:`_unshrink` rebuilds them.
    """
    it = 0
    while it < max_iter:
        i, j, gmax, gmax2 = _select(K, G, a, y, C, diag, active, m)
        if gmax + gmax2 < eps or i < 0 or j < 0:
            break
        it += 1
        ci, cj = _pair_step(K, y, C, diag, a, G, i, j)
        Ki = K[i]
        Kj = K[j]
        for s in range(m):
            t = active[s]
            G[t] += y[t] * (ci * Ki[t] + cj * Kj[t])
    return it


@njit
def _unshrink(K, p, y, a, G, active, is_active):
    """Make every variable active again, with the exact gradient of the shrunk ones.

    The shrunk gradients are rebuilt from the support vectors' rows (K symmetric).
    Returns the new size of the active set, ``n``.
    """
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
        active[t] = t
        is_active[t] = True
    return n


@njit
def _shrink(K, p, y, a, G, C, active, is_active, m, unshrunk, eps):
    """Drop bounded variables that cannot join a violating pair (Joachims; Fan et al.).

    Once the active problem is within ``10 eps`` of optimal the full gradient is
    rebuilt a single time, so that variables shrunk too early can come back.
    Returns the new size of the active set and whether that rebuild has been done.
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


def _solve_shrinking(K, p, y, C, diag, a, G, eps, max_iter):
    """SMO with shrinking: blocks of ``min(n, 1000)`` iterations, shrinking between.

    A block on the whole problem runs :func:`_iterate_all`, one on a shrunk set
    :func:`_iterate`. When the active set meets the stopping rule, the whole problem
    is checked (gradients rebuilt); if it does not meet it, one iteration follows on
    every variable and shrinking resumes. Returns the number of iterations.
    """
    n = a.shape[0]
    active = np.arange(n, dtype=np.int64)
    is_active = np.ones(n, dtype=np.bool_)
    m = n
    unshrunk = False
    period = min(n, 1000)
    it = 0
    block = period
    while it < max_iter:
        todo = min(block, max_iter - it)
        if m == n:
            done = _iterate_all(K, y, C, diag, a, G, eps, todo)
        else:
            done = _iterate(K, y, C, diag, a, G, active, m, eps, todo)
        it += done
        if done < todo:  # optimal on the active set
            if m == n:
                break
            m = _unshrink(K, p, y, a, G, active, is_active)
            block = 1  # one iteration on the whole problem, if it is not optimal
            continue
        if it >= max_iter:
            break
        m, unshrunk = _shrink(K, p, y, a, G, C, active, is_active, m, unshrunk, eps)
        block = period
    if m < n:
        _unshrink(K, p, y, a, G, active, is_active)
    return it


def _bias(a, G, y, C):
    """``rho``: the mean of ``y_t G_t`` over the free variables, else the middle of the
    range that the bounded ones allow."""
    yG = y * G
    upper = a >= C
    lower = a <= 0
    free = ~(upper | lower)
    if free.any():
        return float(yG[free].mean())
    ub_set = (upper & (y < 0)) | (lower & (y > 0))
    lb_set = (upper & (y > 0)) | (lower & (y < 0))
    ub = yG[ub_set].min() if ub_set.any() else np.inf
    lb = yG[lb_set].max() if lb_set.any() else -np.inf
    return float(0.5 * (ub + lb))


def smo_solve(K, p, y, C, *, tol=1e-3, max_iter=None, shrinking="auto"):
    """Solve the dual; returns ``(alpha, rho, n_iter)`` with ``f(x) = sum y a K - rho``.

    ``K`` must be symmetric (a Gram matrix): the solver reads its rows only.
    ``shrinking`` restricts the iterations to the variables that can still move (the
    answer meets the same stopping rule on the whole problem either way): ``True``,
    ``False``, or ``"auto"``: for problems of at least :data:`SHRINKING_MIN_N`
    variables.
    """
    K = np.ascontiguousarray(K, dtype=np.float64)
    n = K.shape[0]
    if max_iter is None:
        max_iter = max(10_000_000, 100 * n)
    p = np.ascontiguousarray(p, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    C = np.ascontiguousarray(C, dtype=np.float64)
    if shrinking == "auto":
        shrinking = n >= SHRINKING_MIN_N
    a = np.zeros(n)
    G = p.copy()
    diag = np.ascontiguousarray(np.diagonal(K))
    eps, max_iter = float(tol), int(max_iter)
    if shrinking:
        it = _solve_shrinking(K, p, y, C, diag, a, G, eps, max_iter)
    else:
        it = _iterate_all(K, y, C, diag, a, G, eps, max_iter)
    return a, _bias(a, G, y, C), it
