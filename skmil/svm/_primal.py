"""A linear squared-hinge SVM solved in the primal by Newton's method, warm-startable.

The alternating MIL heuristics (mi-SVM, MI-SVM) solve tens of linear SVMs whose
training sets differ in a few labels or rows. A dual solver starts each of them from
scratch and, on large separable problems, runs to its iteration cap (liblinear's
hinge-loss dual took 423 s for three inner SVMs on 100,000 instances). In the primal the
squared hinge is differentiable, its generalised Hessian is ``I + 2C X_A' D X_A`` over the
rows ``A`` inside the margin, and Newton's method with an exact line search ends in a
few steps once the active set settles (Keerthi & DeCoste, JMLR 2005). Between inner fits
the previous solution is the starting point, and the ``(d + 1) x (d + 1)`` matrix
``X_A' D X_A`` is updated by the rows whose active weight changed instead of being
rebuilt, so a warm fit costs a few matrix-vector products over the instances.

Why not scikit-learn's ``LinearSVC(dual=False)`` (liblinear's trust-region Newton for
the same loss): it cannot be warm-started through scikit-learn, penalises the intercept,
and copies the data into its own sparse format. On 1,000,000 x 64 instances one of its
fits took 9.7 s, while a whole mi-SVM alternation of six inner SVMs took 6.0 s here
(``python benchmarks/bench_svm_scale.py --only linear`` measures both in one run).
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

__all__ = ["SquaredHingeSVM"]

#: Rows per block of the Hessian products: a ``4096 x d`` temporary at a time.
_BLOCK = 4096


@njit
def _margins(y, o, weight, rho, a, r):
    """Per row: ``a = c`` inside the margin (else 0), ``r = a (rho - y o) y``; returns
    ``sum(r)`` and the loss ``sum(a (rho - y o)^2)``. One pass instead of five."""
    r_sum = 0.0
    loss = 0.0
    for i in range(y.shape[0]):
        m = rho[i] - y[i] * o[i]
        if m > 0.0 and weight[i] > 0.0:
            a[i] = weight[i]
            r[i] = weight[i] * m * y[i]
            r_sum += r[i]
            loss += weight[i] * m * m
        else:
            a[i] = 0.0
            r[i] = 0.0
    return r_sum, loss


@njit
def _line_slope(y, o, z, weight, rho, t):
    """``sum_i c_i [m_i > 0] m_i y_i z_i`` and ``sum_i c_i [m_i > 0] z_i^2`` at step ``t``,
    ``m_i = rho_i - y_i (o_i + t z_i)``: the data parts of the line's slope and curvature."""
    s1 = 0.0
    s2 = 0.0
    for i in range(y.shape[0]):
        m = rho[i] - y[i] * (o[i] + t * z[i])
        if m > 0.0 and weight[i] > 0.0:
            s1 += weight[i] * m * y[i] * z[i]
            s2 += weight[i] * z[i] * z[i]
    return s1, s2


def _add_weighted_gram(G: np.ndarray, X: np.ndarray, rows: np.ndarray,
                       v: np.ndarray) -> None:
    """``G += [X_r 1]' diag(v) [X_r 1]`` over the rows ``r`` of ``X``, in blocks.

    A block of rows with ``v > 0`` adds ``S' S`` with ``S = sqrt(v) X_r`` (numpy hands
    ``S.T @ S`` to BLAS's SYRK, half the work of a general product); rows with ``v < 0``
    subtract theirs.
    """
    d = X.shape[1]
    col = np.zeros(d)
    for sign in (1.0, -1.0):
        sel = np.flatnonzero(sign * v > 0.0)
        for s in range(0, sel.shape[0], _BLOCK):
            blk = sel[s : s + _BLOCK]
            Xb = X[rows[blk]]  # a copy, scaled in place below
            vb = v[blk]
            col += vb @ Xb
            Xb *= np.sqrt(sign * vb)[:, None]
            if sign > 0:
                G[:d, :d] += Xb.T @ Xb
            else:
                G[:d, :d] -= Xb.T @ Xb
    G[:d, d] += col
    G[d, :d] += col
    G[d, d] += v.sum()


class SquaredHingeSVM:
    """``min 1/2 ||w||^2 + C sum_i c_i max(0, rho_i - y_i (w'x_i + b))^2`` over rows of ``X``.

    The margin ``rho_i`` is 1 unless ``fit`` is given others (sMIL's positive bags have
    ``(2 - |X|) / |X|``).

    The rows are the instance matrix ``X`` (held by reference, never copied) followed by
    the optional ``extra`` rows (MI-SVM's starting bag means). The intercept ``b`` is not
    penalised, as in libsvm. A row with weight ``c_i = 0`` is not in the training set but
    is still scored, so the heuristics read every instance's score from ``scores_``
    without another pass.

    After ``fit``, ``coef_``, ``intercept_``, ``scores_`` (every row's ``w'x + b``),
    ``dual_coef_`` (``y_i alpha_i`` per row, ``alpha_i = 2 C c_i xi_i``, so that
    ``coef_ = sum_i dual_coef_[i] x_i``), ``objective_`` and ``n_iter_`` (Newton steps).

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    C : float
        Penalty of the summed squared slacks, as ``C`` of ``LinearSVC(loss="squared_hinge")``.
    extra : ndarray of shape (m, d) or None
        More rows, after those of ``X``.
    tol : float
        Newton stops when the gradient's norm is at most ``tol`` times its norm at
        ``w = 0, b = 0`` for the same labels and weights (liblinear's rule).
    max_iter : int
        Cap of Newton steps per ``fit``.
    """

    def __init__(self, X: np.ndarray, C: float, *, extra: np.ndarray | None = None,
                 tol: float = 1e-3, max_iter: int = 100) -> None:
        self.X = X
        self.E = np.empty((0, X.shape[1])) if extra is None else extra
        self.C = float(C)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        d = X.shape[1]
        self.coef_ = np.zeros(d)
        self.intercept_ = 0.0
        self.scores_ = np.zeros(X.shape[0] + self.E.shape[0])
        self._G = np.zeros((d + 1, d + 1))  # [X 1]' diag(a) [X 1] of the active rows
        self._a = np.zeros(self.scores_.shape[0])  # the weights the Hessian holds
        # c * y of the last fit and [X; E]' (c * y): the gradient at zero, for the stopping
        # rule, updated by the rows whose label or weight changed
        self._cy = np.zeros(self.scores_.shape[0])
        self._Xcy = np.zeros(d)
        # the residual r of the last gradient and [X; E]' r: the first gradient of a warm
        # fit differs from it only in the rows whose label or weight changed
        self._r = None
        self._Xr = None
        self.n_iter_ = 0
        self.objective_ = 0.0

    def _matvec(self, v: np.ndarray, b: float) -> np.ndarray:
        """``[X; E] v + b``."""
        out = np.empty(self.scores_.shape[0])
        n = self.X.shape[0]
        np.dot(self.X, v, out=out[:n])
        if self.E.shape[0]:
            out[n:] = self.E @ v
        out += b
        return out

    def _rmatvec(self, r: np.ndarray) -> np.ndarray:
        """``[X; E]' r``."""
        n = self.X.shape[0]
        out = self.X.T @ r[:n]
        if self.E.shape[0]:
            out += self.E.T @ r[n:]
        return out

    def _rmatvec_from(self, v: np.ndarray, prev_v: np.ndarray | None,
                      prev_out: np.ndarray | None) -> np.ndarray:
        """``[X; E]' v``, from ``prev_out = [X; E]' prev_v`` by the rows where ``v``
        differs when few do (a gather of those rows instead of a pass over all)."""
        if prev_out is None:
            return self._rmatvec(v)
        changed = np.flatnonzero(v != prev_v)
        if changed.shape[0] * 2 > v.shape[0]:
            return self._rmatvec(v)
        out = prev_out.copy()
        delta = v[changed] - prev_v[changed]
        for M, rows, part in self._parts(changed):
            out += M[rows].T @ delta[part]
        return out

    def _parts(self, idx: np.ndarray):
        """``(matrix, its row indices, slice of idx)`` for the rows ``idx`` (sorted) of
        ``[X; E]``: the instances' part, then the extra rows' part (each if non-empty)."""
        n = self.X.shape[0]
        k = int(np.searchsorted(idx, n))
        if k:
            yield self.X, idx[:k], slice(0, k)
        if k < idx.shape[0]:
            yield self.E, idx[k:] - n, slice(k, None)

    def _accumulate(self, idx: np.ndarray, v: np.ndarray) -> None:
        """``G += [R 1]' diag(v) [R 1]`` for the rows ``idx`` (sorted) of ``[X; E]``."""
        for M, rows, part in self._parts(idx):
            _add_weighted_gram(self._G, M, rows, v[part])

    def _update_hessian(self, a: np.ndarray) -> None:
        """Bring the stored ``X_A' D X_A`` to the weights ``a`` (0 outside the margin)."""
        changed = np.flatnonzero(a != self._a)
        active = np.flatnonzero(a)
        if changed.shape[0] > active.shape[0]:
            # rebuilding from the active rows reads fewer rows than the update would
            self._G[:] = 0.0
            self._accumulate(active, a[active])
        elif changed.shape[0]:
            self._accumulate(changed, a[changed] - self._a[changed])
        self._a = a

    def fit(self, y: np.ndarray, weight: np.ndarray,
            margin: np.ndarray | None = None) -> SquaredHingeSVM:
        """Solve for labels ``y`` (+-1 per row), weights ``weight`` (>= 0 per row) and
        margins ``margin`` (1 for every row if None), starting from the current solution.
        """
        C, d = self.C, self.X.shape[1]
        rho = (np.ones(y.shape[0]) if margin is None
               else np.ascontiguousarray(margin, dtype=np.float64))
        # the gradient at w = 0, b = 0 is -2C [X 1]' (c y max(rho, 0))
        cy = weight * y * np.maximum(rho, 0.0)
        self._Xcy = self._rmatvec_from(cy, self._cy, self._Xcy)
        self._cy = cy
        g0 = 2.0 * C * np.hypot(np.linalg.norm(self._Xcy), cy.sum())
        w, b = self.coef_, self.intercept_
        o = self.scores_
        eye = np.eye(d + 1)
        eye[d, d] = 1e-12  # the intercept is not penalised; a tiny ridge keeps H regular
        n_iter = 0
        y = np.ascontiguousarray(y, dtype=np.float64)
        weight = np.ascontiguousarray(weight, dtype=np.float64)
        t = 0.0
        Xr = None
        while True:
            a, r = np.empty_like(o), np.empty_like(o)
            r_sum, loss = _margins(y, o, weight, rho, a, r)
            if t == 1.0 and np.array_equal(a, self._a):
                # a full Newton step that kept the active rows (and their weights) is
                # exact: the objective is quadratic on them, so this is the minimum
                Xr = None
                break
            # at the start the scores are the last fit's, so r moved only where the
            # labels or weights did; after a step every row's score moved
            Xr = (self._rmatvec_from(r, self._r, self._Xr) if n_iter == 0
                  else self._rmatvec(r))
            g = np.empty(d + 1)
            g[:d] = w - 2.0 * C * Xr
            g[d] = -2.0 * C * r_sum
            if np.linalg.norm(g) <= self.tol * g0 or n_iter >= self.max_iter:
                break
            self._update_hessian(a)
            step = -np.linalg.solve(eye + 2.0 * C * self._G, g)
            dw, db = step[:d], step[d]
            z = self._matvec(dw, db)
            t = _exact_line_search(w, dw, o, z, y, weight, rho, C, float(g @ step))
            w = w + t * dw
            b = b + t * db
            o = o + t * z
            n_iter += 1
        self.coef_, self.intercept_, self.scores_ = w, float(b), o
        self._r, self._Xr = (None, None) if Xr is None else (r, Xr)
        self.n_iter_ = n_iter
        self.objective_ = float(0.5 * w @ w + C * loss)
        # the dual variables of the squared hinge are alpha_i = 2 C c_i xi_i, and
        # w = sum_i y_i alpha_i x_i: libsvm's dual_coef_ convention
        self.dual_coef_ = 2.0 * C * r
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``X @ coef_ + intercept_``."""
        return X @ self.coef_ + self.intercept_

    def release_data(self) -> SquaredHingeSVM:
        """Drop the references to the training rows and the per-row state (a fitted
        model kept on an estimator must not carry its training data into a pickle)."""
        self.X = self.E = self.scores_ = self.dual_coef_ = None
        self._a = self._G = self._cy = self._Xcy = self._r = self._Xr = None
        return self


def _exact_line_search(w, dw, o, z, y, weight, rho, C, slope0,
                       max_steps: int = 30) -> float:
    """The minimiser ``t`` of the objective along ``(dw, db)`` (scores ``o + t z``).

    The objective is a convex piecewise quadratic in ``t``; Newton's method on its
    derivative ends once the active set along the line stops changing. It stops when
    the slope is below ``1e-8`` of ``slope0``, the slope at ``t = 0``.
    """
    wd, dd = float(w @ dw), float(dw @ dw)
    lo, hi = 0.0, np.inf  # the slope is < 0 at lo (a descent direction) and > 0 at hi
    t = 1.0
    for _ in range(max_steps):
        s1, s2 = _line_slope(y, o, z, weight, rho, t)
        slope = wd + t * dd - 2.0 * C * s1
        if abs(slope) <= 1e-8 * abs(slope0):
            return t
        if slope < 0.0:
            lo = t
        else:
            hi = t
        curv = dd + 2.0 * C * s2
        t_new = t - slope / curv if curv > 0.0 else np.inf
        if not lo < t_new < hi:  # a Newton step may leave the bracket where rows switch
            t_new = 2.0 * lo + 1.0 if hi == np.inf else 0.5 * (lo + hi)
        if abs(t_new - t) <= 1e-12 * max(1.0, abs(t)):
            return t_new
        t = t_new
    return t
