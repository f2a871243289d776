"""SMO for the SVM dual with one slack shared by each group of points (private).

    min_a  1/2 a' Q a - sum(a)   s.t.  y' a = 0,  0 <= a_i <= U_i,
                                       sum_{i in g} a_i <= C_g  for every group g,

with ``Q_ij = y_i y_j K_ij``. It is MI-SVM's inner SVM when a negative bag shares one
slack (``MISVM(negative_slack="bag")``): the group caps are constraints libsvm cannot
express. Every feasible direction of this polytope that moves two variables keeps
``y' a`` by moving ``a_i`` by ``y_i t`` and ``a_j`` by ``-y_j t`` (``t >= 0``); a group's
cap only limits a step that raises one of its members without lowering another, so a
pair is the same two-variable update as in libsvm with one more bound on ``t``: the
free room ``C_g - sum_g a`` of the group whose member goes up. Optimality is the
absence of a violating pair, and a member of a full group can still rise when a
member of the same group falls, so the selection looks at two kinds of pair:

* the maximal violating pair of Keerthi et al., with the second index chosen by
  second-order information (Fan, Chen & Lin, JMLR 2005), where a member of a full
  group may be raised only together with a member of its own group;
* inside each full group, its largest ``G`` among members above 0 against its
  smallest among members below their bound.

The larger violation is worked on; both below ``tol`` stops. Written from the
algorithm's description, with a dense precomputed ``K``; a warm start (a feasible
``a``) continues from a previous solution.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

__all__ = ["GroupLayout", "group_smo_solve"]

_TAU = 1e-12


@njit(inline="always")
def _pair_gain(diff, dii, dtt, kit):
    """Minus the objective decrease of the pair's unclipped step (smaller is better)."""
    quad = dii + dtt - 2.0 * kit
    if quad <= 0:
        quad = _TAU
    return -(diff * diff) / quad


@njit
def _group_smo(K, y, U, grp, gstart, gmem, cap, a, eps, max_iter):
    n = K.shape[0]
    n_g = cap.shape[0]
    diag = np.empty(n)
    for t in range(n):
        diag[t] = K[t, t]
    # G = Q a - 1 from the warm start
    G = -np.ones(n)
    for s in range(n):
        if a[s] > 0:
            Ks = K[s]
            c = y[s] * a[s]
            for t in range(n):
                G[t] += y[t] * c * Ks[t]
    room = cap.copy()
    for t in range(n):
        if grp[t] >= 0:
            room[grp[t]] -= a[t]
    full_tol = np.empty(n_g)
    for g in range(n_g):
        full_tol[g] = 1e-12 * cap[g]
        if room[g] < full_tol[g]:
            room[g] = 0.0
    gtop = np.empty(n_g)
    gbot = np.empty(n_g)
    gtop_arg = np.empty(n_g, dtype=np.int64)
    it = 0
    while it < max_iter:
        # i: the largest -y G among the variables that can move along +y
        gmax = -np.inf
        i = -1
        for g in range(n_g):
            gtop[g] = -np.inf
            gbot[g] = np.inf
        for t in range(n):
            yt = y[t]
            if (yt > 0 and a[t] < U[t]) or (yt < 0 and a[t] > 0):
                v = -yt * G[t]
                if v >= gmax:
                    gmax = v
                    i = t
            g = grp[t]
            if g >= 0 and room[g] <= full_tol[g]:
                if a[t] > 0 and G[t] > gtop[g]:
                    gtop[g] = G[t]
                    gtop_arg[g] = t
                if a[t] < U[t] and G[t] < gbot[g]:
                    gbot[g] = G[t]
        vgrp = -np.inf
        gbest = -1
        for g in range(n_g):
            if room[g] <= full_tol[g] and gtop[g] - gbot[g] > vgrp:
                vgrp = gtop[g] - gbot[g]
                gbest = g
        # j for that i: largest y G over the variables that can move along -y
        gi = grp[i] if (i >= 0 and y[i] < 0) else -1
        gmax2 = -np.inf
        j = -1
        best = np.inf
        if i >= 0:
            Ki = K[i]
            for t in range(n):
                yt = y[t]
                if yt > 0:
                    ok = a[t] > 0
                else:
                    g = grp[t]
                    ok = a[t] < U[t] and (g < 0 or room[g] > full_tol[g] or g == gi)
                if ok:
                    v = yt * G[t]
                    if v >= gmax2:
                        gmax2 = v
                    diff = gmax + v
                    if diff > 0:
                        obj = _pair_gain(diff, diag[i], diag[t], Ki[t])
                        if obj <= best:
                            best = obj
                            j = t
        vstd = gmax + gmax2
        if vstd < eps and vgrp < eps:
            break
        if vgrp > vstd:
            # the worst full group: its largest G goes down, a member below its
            # bound (second-order choice) goes up
            i = gtop_arg[gbest]
            Ki = K[i]
            j = -1
            best = np.inf
            for s in range(gstart[gbest], gstart[gbest + 1]):
                t = gmem[s]
                if a[t] < U[t]:
                    diff = G[i] - G[t]
                    if diff > 0:
                        obj = _pair_gain(diff, diag[i], diag[t], Ki[t])
                        if obj <= best:
                            best = obj
                            j = t
        if i < 0 or j < 0:
            break
        it += 1
        # step t >= 0 along a_i += y_i t, a_j -= y_j t
        viol = -y[i] * G[i] + y[j] * G[j]
        quad = diag[i] + diag[j] - 2.0 * K[i, j]
        if quad <= 0:
            quad = _TAU
        step = viol / quad
        bound = 0  # which limit binds: 1 a_i, 2 a_j, 3 the room of j's group
        lim = U[i] - a[i] if y[i] > 0 else a[i]
        if lim <= step:
            step = lim
            bound = 1
        lim = a[j] if y[j] > 0 else U[j] - a[j]
        if lim <= step:
            step = lim
            bound = 2
        gj = grp[j] if y[j] < 0 else -1
        gi = grp[i] if y[i] < 0 else -1
        if gj >= 0 and gj != gi and room[gj] <= step:
            step = room[gj]
            bound = 3
        if step <= 0:
            # a degenerate pair (no room): nothing can move; avoid spinning on it
            break
        a[i] += y[i] * step
        a[j] -= y[j] * step
        if bound == 1:
            a[i] = U[i] if y[i] > 0 else 0.0
        elif bound == 2:
            a[j] = 0.0 if y[j] > 0 else U[j]
        # a step bounded by a group's room can overshoot a box by rounding
        a[i] = min(max(a[i], 0.0), U[i])
        a[j] = min(max(a[j], 0.0), U[j])
        if gi != gj:
            if gi >= 0:
                room[gi] += step
            if gj >= 0:
                room[gj] -= step
                if bound == 3 or room[gj] < full_tol[gj]:
                    room[gj] = 0.0
        Ki = K[i]
        Kj = K[j]
        for t in range(n):
            G[t] += y[t] * step * (Ki[t] - Kj[t])
    # intercept b of f = K (y a) + b from the KKT conditions: a point with 0 < a < U
    # (a group member: a > 0 in a group with room) has y f = 1 exactly, i.e.
    # b = -y G; the others only bound b (a zero in a full group bounds nothing)
    nfree = 0
    sfree = 0.0
    lo = -np.inf
    hi = np.inf
    for t in range(n):
        target = -y[t] * G[t]
        g = grp[t] if y[t] < 0 else -1
        full = g >= 0 and room[g] <= full_tol[g]
        if a[t] > 0:
            upper = full if g >= 0 else a[t] >= U[t]
            if not upper:
                nfree += 1
                sfree += target
            elif y[t] < 0:
                lo = max(lo, target)
            else:
                hi = min(hi, target)
        elif not full:
            if y[t] > 0:
                lo = max(lo, target)
            else:
                hi = min(hi, target)
    if nfree > 0:
        b = sfree / nfree
    elif np.isfinite(lo) and np.isfinite(hi):
        b = 0.5 * (lo + hi)
    elif np.isfinite(lo):
        b = lo
    elif np.isfinite(hi):
        b = hi
    else:
        b = 0.0
    return a, G, b, it


class GroupLayout:
    """The groups of a shared-slack problem in the solver's form, built once.

    ``groups``: group id ``>= 0`` of points sharing a slack, ``-1`` for points with
    their own; ``U``: per-point bounds (a group's cap is its members' common bound).
    Successive problems over the same groups (MI-SVM's iterations) reuse it.
    """

    def __init__(self, groups: np.ndarray, U: np.ndarray) -> None:
        groups = np.asarray(groups, dtype=np.int64)
        self.U = np.ascontiguousarray(U, dtype=np.float64)
        n = groups.shape[0]
        member = groups >= 0
        gid, ginv = np.unique(groups[member], return_inverse=True)
        self.grp = np.full(n, -1, dtype=np.int64)
        self.grp[member] = ginv
        self.cap = np.zeros(gid.shape[0])
        self.cap[ginv] = self.U[member]
        order = np.argsort(ginv, kind="stable")
        self.gmem = np.flatnonzero(member)[order].astype(np.int64)
        self.gstart = np.zeros(gid.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(ginv, minlength=gid.shape[0]), out=self.gstart[1:])


def group_smo_solve(K, y, U=None, groups=None, *, layout=None, tol=1e-3, max_iter=None,
                    alpha0=None):
    """Solve the shared-slack SVM dual; returns ``(alpha, b, G, n_iter)``.

    Parameters
    ----------
    K : ndarray of shape (n, n)
        Symmetric kernel matrix (only rows are read).
    y : ndarray of shape (n,)
        Labels in {-1, +1}.
    U : ndarray of shape (n,)
        Per-point upper bound; a group's cap ``C_g`` is its members' common ``U``.
    groups : ndarray of shape (n,) of int
        Group id ``>= 0`` of points that share a slack, ``-1`` for points with their own.
        Group members must have ``y = -1`` (MI-SVM's negative bags): the step rules
        move a group's room only through its negative members.
    layout : GroupLayout, optional
        ``GroupLayout(groups, U)`` built beforehand, instead of ``U`` and ``groups``.
    tol : float
        Stop when no pair violates the optimality conditions by more than ``tol``
        (libsvm's ``eps``).
    alpha0 : ndarray of shape (n,), optional
        A feasible starting point (``y' a = 0``, within the boxes and the caps).

    Returns
    -------
    alpha, b, G, n_iter
        The decision function is ``f(x) = sum_i y_i alpha_i k(x_i, x) + b``;
        ``G = Q alpha - 1`` is the final gradient.
    """
    if layout is None:
        layout = GroupLayout(groups, U)
    K = np.ascontiguousarray(K, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n = K.shape[0]
    a = np.zeros(n) if alpha0 is None else np.array(alpha0, dtype=np.float64)
    if max_iter is None:
        max_iter = max(10_000_000, 100 * n)
    a, G, b, it = _group_smo(K, y, layout.U, layout.grp, layout.gstart, layout.gmem,
                             layout.cap, a, float(tol), int(max_iter))
    return a, b, G, it
