"""EM-DD for real-valued bag targets (Dooly, Zhang, Goldman & Amar 2002)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from .._kernels.dd import segment_argmin_dist, weighted_sqdist
from .._parallel import n_threads
from .._warnings import warn_not_converged
from ..bags import Bags
from ..base import BaseMILRegressor, InstanceRegressionMixin
from ..utils._param_validation import Interval
from .diverse_density import _most_likely_cause_em, _standardize_fit

__all__ = ["EMDDRegressor"]


def _selected_loss(Xsel: np.ndarray, labels: np.ndarray, h: np.ndarray, d: int):
    """Squared error of the selected instances' probabilities, and its gradient in h."""
    t, s = h[:d], h[d:]
    diff = Xsel - t
    p = np.exp(-(diff ** 2) @ (s ** 2))
    r = p - labels
    coef = 2.0 * r * p  # d f / d D_i = -coef_i
    grad_t = 2.0 * (s ** 2) * (coef @ diff)
    grad_s = -2.0 * s * (coef @ diff ** 2)
    return float(r @ r), np.concatenate([grad_t, grad_s])


def _bag_error(X, offsets, labels, h, d) -> float:
    """Squared error of the bags' most-likely-cause probabilities."""
    _, dmin = segment_argmin_dist(X, offsets, np.ascontiguousarray(h[:d]),
                                  np.ascontiguousarray(h[d:]))
    r = np.exp(-dmin) - labels
    return float(r @ r)


def _emdd_regression_start(X, offsets, labels, h0, max_fun, max_iter, tol):
    """EM from ``h0`` on the bags' squared error: ``(h, error, capped)``
    (:func:`~skmil.dd.diverse_density._most_likely_cause_em`)."""
    d = X.shape[1]
    return _most_likely_cause_em(
        X, offsets, h0, lambda h: _bag_error(X, offsets, labels, h, d),
        lambda Xsel: (lambda hh: _selected_loss(Xsel, labels, hh, d)), max_fun, max_iter,
        tol)


class EMDDRegressor(InstanceRegressionMixin, BaseMILRegressor):
    """EM-DD regression: the most-likely-cause model fitted to real-valued targets.

    The model of :class:`EMDD` (Zhang & Goldman 2001), an instance's value
    ``exp(-sum_k s_k^2 (x_k - t_k)^2)`` and a bag's the largest of its instances', fitted
    to real-valued targets as Dooly, Zhang, Goldman & Amar (2002) do: the targets are
    mapped to [0, 1] by the training targets' range, and EM alternates an E-step (pick
    every bag's most likely instance) and an M-step (minimise the squared error between
    those instances' values and their bags' targets over ``(t, s)`` by L-BFGS-B with the
    analytic gradient), while the bags' squared error decreases (at most ``max_iter``
    rounds). Starts are the instances of the ``n_starts`` bags with the highest
    targets; the hypothesis with the lowest training error is kept.

    Parameters
    ----------
    n_starts : int, default=3
        Bags (those with the highest targets) whose instances are the starting targets
        ``t``, as EM-DD starts from the instances of positive bags.
    init_scale : float, default=1.0
        Initial value of every scale.
    max_iter : int, default=10
        Maximum EM rounds per start; a ``ConvergenceWarning`` says when the chosen start
        was still improving at this cap.
    tol : float, default=0.0
        EM stops once a round lowers the error by at most ``tol * max(1, error)``; 0.0
        continues while it decreases at all.
    max_fun : int, default=200
        Maximum objective evaluations per M-step.
    standardize : bool, default=True
        Standardise features with the training instances' statistics.
    n_jobs : int, default=None
        Threads running starts in parallel; scikit-learn's meaning.

    Attributes
    ----------
    target_, scales_ : ndarray of shape (n_features,)
        The hypothesis ``(t, s)`` in standardised feature units.
    train_error_ : float
        Mean squared error of the chosen hypothesis on the training bags, in [0, 1]
        target units.
    target_min_, target_range_ : float
        The training targets' minimum and range: ``predict`` is
        ``target_min_ + target_range_ * max_j exp(-D_j)``.
    start_bags_ : ndarray
        Indices (in the order the bags were given) of the bags that supplied the starts.
    n_features_in_ : int

    Notes
    -----
    ``predict_instances`` gives every instance's value on the targets' scale; the bag's
    prediction is the largest (bag rule ``"max"``), the regression form of the standard
    MI assumption. Predictions stay within the training targets' range.

    References
    ----------
    D. R. Dooly, Q. Zhang, S. A. Goldman and R. A. Amar, "Multiple-instance learning of
    real-valued data", JMLR 3, 2002.

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.dd import EMDDRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=40, n_features=4, rule="max",
    ...                                  random_state=0)
    >>> EMDDRegressor().fit(bags, y).predict(bags[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        "n_starts": [Interval(Integral, 1, None, closed="left")],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "standardize": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        n_starts: int = 3,
        init_scale: float = 1.0,
        max_iter: int = 10,
        tol: float = 0.0,
        max_fun: int = 200,
        standardize: bool = True,
        n_jobs: int | None = None,
    ) -> None:
        self.n_starts = n_starts
        self.init_scale = init_scale
        self.max_iter = max_iter
        self.tol = tol
        self.max_fun = max_fun
        self.standardize = standardize
        self.n_jobs = n_jobs

    def _bag_rule(self) -> str:
        return "max"

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = _standardize_fit(self, bags)
        offsets = bags.offsets
        self.target_min_ = float(y.min())
        span = float(y.max() - y.min())
        self.target_range_ = span if span > 0 else 1.0  # constant targets
        labels = (y - self.target_min_) / self.target_range_
        k = min(int(self.n_starts), bags.n_bags)
        # the highest targets; ties by the canonical order (a stable sort)
        chosen = np.sort(np.argsort(-labels, kind="stable")[:k])
        self.start_bags_ = np.sort(self._train_order[chosen])
        rows = np.concatenate([np.arange(offsets[b], offsets[b + 1]) for b in chosen])
        d = X.shape[1]
        h0s = [np.concatenate([X[r], np.full(d, float(self.init_scale))]) for r in rows]
        with threadpool_limits(limits=1, user_api="blas"):
            results = Parallel(n_jobs=n_threads(self.n_jobs), prefer="threads")(
                delayed(_emdd_regression_start)(X, offsets, labels, h0, self.max_fun,
                                                self.max_iter, float(self.tol))
                for h0 in h0s
            )
        errors = np.array([e for _, e, _ in results])
        best = int(np.argmin(errors))  # first wins on ties
        h = results[best][0]
        self.target_ = np.ascontiguousarray(h[:d])
        self.scales_ = np.ascontiguousarray(np.abs(h[d:]))
        self.train_error_ = float(errors[best] / bags.n_bags)
        if results[best][2]:
            warn_not_converged(self, "max_iter", "EM of the chosen start")

    def _predict_instances(self, bags: Bags) -> np.ndarray:
        X = np.ascontiguousarray((bags.instances - self.mean_) / self.scale_)
        value = np.exp(-weighted_sqdist(X, self.target_, self.scales_))
        return self.target_min_ + self.target_range_ * value

    def _predict(self, bags: Bags) -> np.ndarray:
        return np.maximum.reduceat(self._predict_instances(bags), bags.offsets[:-1])
