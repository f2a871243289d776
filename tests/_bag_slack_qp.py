"""Test oracle: the soft-margin SVM dual with one slack shared by each group of points, as a QP.

MI-SVM's bag-margin constraint for a negative bag ``J`` is ``f(x) <= -1 + xi_J`` for
every ``x`` in ``J``: one slack per bag, not per instance. Its dual is the usual SVM
dual plus one constraint per group, ``sum_{i in J} alpha_i <= C_J``, which libsvm's SMO
(box constraints and one equality only) cannot express. :class:`skmil.svm.MISVM`
solves it with the group-capped SMO of :mod:`skmil.svm._group_smo`; this module states
the same dual as a generic convex QP for cvxpy and an open-source conic solver, an
independent formulation that the tests and ``benchmarks/bench_misvm_bag_slack.py``
check the SMO against. It needs cvxpy (the ``test`` extra); no estimator uses it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["GroupSlackDual", "solve_group_slack_dual"]

#: Open-source solvers tried in order; the first that returns an optimal solution wins.
SOLVERS = ("CLARABEL", "OSQP", "SCS")


class GroupSlackDual:
    """Result of :func:`solve_group_slack_dual`.

    Attributes
    ----------
    alpha : ndarray of shape (n,)
        Dual variables (values below the support threshold set to exactly 0).
    intercept : float
        ``b`` recovered from the KKT conditions.
    support : ndarray of int
        Indices with ``alpha > 0``.
    objective : float
        Dual objective ``sum(alpha) - 1/2 (y alpha)' K (y alpha)`` at ``alpha``.
    solver : str
        The cvxpy solver that produced the solution.
    """

    def __init__(self, alpha, intercept, support, objective, solver):
        self.alpha = alpha
        self.intercept = intercept
        self.support = support
        self.objective = objective
        self.solver = solver


def solve_group_slack_dual(
    y: np.ndarray,
    C: np.ndarray,
    groups: np.ndarray,
    *,
    K: np.ndarray | None = None,
    X: np.ndarray | None = None,
    solver: str | None = None,
) -> GroupSlackDual:
    """Solve ``max sum(a) - 1/2 (y a)' K (y a)`` with shared per-group slack.

    Constraints: ``0 <= a_i <= C_i``, ``y' a = 0`` and ``sum_{i in g} a_i <= C_g`` for
    every group ``g``. It is the dual of the primal
    ``min 1/2 ||w||^2 + sum_{singletons} C_i xi_i + sum_g C_g xi_g`` subject to
    ``y_i (w.phi(x_i) + b) >= 1 - xi_{group(i)}``, ``xi >= 0``.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Labels in {-1, +1}.
    C : ndarray of shape (n,)
        Per-point penalty; every member of a group must carry the group's ``C_g``.
    groups : ndarray of shape (n,) of int
        Group id (``>= 0``) of points that share a slack, ``-1`` for points with their
        own slack.
    K : ndarray of shape (n, n), optional
        Kernel matrix (positive semi-definite up to rounding).
    X : ndarray of shape (n, d), optional
        For a linear kernel, the data instead of ``K`` (``K = X @ X.T``).
    solver : str, optional
        A cvxpy solver name; by default Clarabel, then OSQP, then SCS.

    Returns
    -------
    GroupSlackDual
    """
    import cvxpy as cp

    y = np.asarray(y, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    n = y.shape[0]
    if K is None:
        K = X @ X.T
    # Q = (y y') * K, symmetrised, plus a jitter far below the solver's tolerance so
    # that rounding can never make it indefinite; psd_wrap then skips cvxpy's
    # eigenvalue check. Passing Q as the QP's P matrix is much faster in Clarabel than
    # sum_squares(L' (y*a)) with a dense factor L (measured 1.3 s vs 32 s at n = 1,200).
    Q = (K + K.T) * (0.5 * np.outer(y, y))
    Q[np.diag_indices(n)] += 1e-12 * max(float(np.abs(np.diag(K)).max()), 1.0)
    a = cp.Variable(n, nonneg=True)
    obj = cp.Maximize(cp.sum(a) - 0.5 * cp.quad_form(a, cp.psd_wrap(Q)))
    cons = [a <= C, y @ a == 0]
    gmask = groups >= 0
    if gmask.any():
        gid, ginv = np.unique(groups[gmask], return_inverse=True)
        cols = np.flatnonzero(gmask)
        S = sp.csr_matrix((np.ones(cols.shape[0]), (ginv, cols)), shape=(gid.shape[0], n))
        Cg = np.zeros(gid.shape[0])
        Cg[ginv] = C[cols]
        cons.append(S @ a <= Cg)
    prob = cp.Problem(obj, cons)
    tried = (solver,) if solver is not None else SOLVERS
    used, errors = None, []
    for name in tried:
        try:
            prob.solve(solver=name)
        except (cp.error.SolverError, ValueError) as exc:
            errors.append(f"{name}: {exc}")
            continue
        if prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and a.value is not None:
            used = name
            break
        errors.append(f"{name}: status {prob.status}")
    if used is None:
        raise RuntimeError("The shared-slack SVM dual could not be solved: "
                           + "; ".join(errors))

    alpha = np.clip(np.asarray(a.value, dtype=np.float64), 0.0, C)
    thr = 1e-6 * float(C.max())  # interior-point solutions are never exactly at a bound
    alpha[alpha < thr] = 0.0
    ya = y * alpha
    g = K @ ya
    b = _intercept(y, alpha, C, groups, g, thr)
    support = np.flatnonzero(alpha > 0)
    objective = float(alpha.sum() - 0.5 * ya @ g)
    return GroupSlackDual(alpha, b, support, objective, used)


def _intercept(y, alpha, C, groups, g, thr) -> float:
    """``b`` from the KKT conditions, libsvm's way.

    A point whose margin constraint is active with a zero slack pins ``b`` exactly:
    ``y_i (g_i + b) = 1``. For a singleton that is ``0 < alpha_i < C_i``; for a member of
    a group, ``alpha_i > 0`` in a group whose cap is not reached (a reached cap is the
    group's "upper bound": its slack may be positive). Their mean is ``b``. Without such
    points, ``b`` is the midpoint of the interval the bound points allow.
    """
    n = y.shape[0]
    ones = groups < 0
    at_cap = np.zeros(n, dtype=bool)
    if (~ones).any():
        gid, ginv = np.unique(groups[~ones], return_inverse=True)
        gsum = np.zeros(gid.shape[0])
        np.add.at(gsum, ginv, alpha[~ones])
        at_cap[~ones] = gsum[ginv] >= C[~ones] - thr
    pos = alpha > 0
    upper = np.where(ones, alpha >= C - thr, at_cap)  # at the (group's) upper bound
    free = pos & ~upper
    target = y - g  # b that makes y_i f(x_i) = 1
    if free.any():
        return float(target[free].mean())
    # y=+1: alpha=0 -> b >= t; upper -> b <= t.  y=-1: alpha=0 -> b <= t; upper -> b >= t.
    # A zero alpha inside a capped group bounds nothing (its slack is the group's).
    zero = ~pos & ~(at_cap & ~ones)
    upb = pos & upper
    lo = np.concatenate([target[zero & (y > 0)], target[upb & (y < 0)]])
    hi = np.concatenate([target[zero & (y < 0)], target[upb & (y > 0)]])
    lo_v = lo.max() if lo.size else -np.inf
    hi_v = hi.min() if hi.size else np.inf
    if np.isfinite(lo_v) and np.isfinite(hi_v):
        return float(0.5 * (lo_v + hi_v))
    if np.isfinite(lo_v):
        return float(lo_v)
    if np.isfinite(hi_v):
        return float(hi_v)
    return 0.0
