"""Diverse Density (Maron & Lozano-Pérez 1998) and EM-DD (Zhang & Goldman 2001)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import minimize
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from .._kernels.dd import (
    D_MIN,
    nldd_mlc_selected,
    nldd_noisy_or,
    segment_argmin_dist,
    weighted_sqdist,
)
from .._parallel import n_threads
from .._threshold import THRESHOLD_CONSTRAINT
from .._warnings import warn_not_converged
from ..bags import Bags
from ..base import BaseMILClassifier, InstancePredictionMixin, MILTags
from ..utils._param_validation import Interval, StrOptions

__all__ = ["DiverseDensity", "EMDD"]

_LSE_SWITCH = 30.0


def _log1mexp(D: np.ndarray) -> np.ndarray:
    """``log(1 - exp(-D))`` with D floored at ``D_MIN``."""
    return np.log(-np.expm1(-np.maximum(D, D_MIN)))


def _logit_from_dist(D: np.ndarray) -> np.ndarray:
    """Log-odds of ``p = exp(-D)``: ``-D - log(1 - exp(-D))``."""
    return -D - _log1mexp(D)


def _noisy_or_logit(D: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Log-odds of ``1 - prod_j (1 - exp(-D_j))`` per bag, stable for tiny probabilities."""
    S = np.add.reduceat(_log1mexp(D), offsets[:-1])  # log P(negative)
    dmin = np.minimum.reduceat(D, offsets[:-1])
    with np.errstate(divide="ignore"):
        log_pos = np.log(-np.expm1(S))
    tiny = (dmin > _LSE_SWITCH) | ~np.isfinite(log_pos)
    if np.any(tiny):
        shifted = np.exp(np.repeat(dmin, np.diff(offsets)) - D)
        lse = -dmin + np.log(np.add.reduceat(shifted, offsets[:-1]))
        log_pos = np.where(tiny, lse, log_pos)
    return log_pos - S


_COMMON_CONSTRAINTS: dict = {
    "init_scale": [Interval(Real, 0, None, closed="neither")],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "threshold": THRESHOLD_CONSTRAINT,
    "standardize": ["boolean"],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
}


def _standardize_fit(est: Any, bags: Bags) -> np.ndarray:
    """Set ``est.mean_``/``est.scale_`` from the training instances (identity without
    ``est.standardize``) and return the standardised instances."""
    X = bags.instances
    if est.standardize:
        est.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        est.scale_ = np.where(std > 0, std, 1.0)
    else:
        est.mean_ = np.zeros(X.shape[1])
        est.scale_ = np.ones(X.shape[1])
    return (X - est.mean_) / est.scale_


class _BaseDD(InstancePredictionMixin, BaseMILClassifier):
    """Shared model h = (t, s): instance probability exp(-sum_k s_k^2 (x_k - t_k)^2).

    Raw scores are log-odds: ``_decision_function`` the bag's, ``_decision_function_instances``
    each instance's; the base subtracts ``threshold_`` (0.0 = probability 0.5).
    """

    def _pooling(self) -> str:
        return "max"

    def _bag_rule(self) -> str:
        return self._pooling()

    def __mil_tags__(self) -> MILTags:
        tags = super().__mil_tags__()
        return MILTags(instance_scores=tags.instance_scores, bag_rule=tags.bag_rule,
                       instance_outputs=("predict_proba_instances",), pairwise=tags.pairwise)

    def _standardize_fit(self, bags: Bags) -> np.ndarray:
        return _standardize_fit(self, bags)

    def _distances(self, bags: Bags) -> np.ndarray:
        X = (bags.instances - self.mean_) / self.scale_
        return weighted_sqdist(np.ascontiguousarray(X), self.target_, self.scales_)

    def _bag_logit(self, D: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        if self._pooling() == "noisy-or":
            return _noisy_or_logit(D, offsets)
        return _logit_from_dist(np.minimum.reduceat(D, offsets[:-1]))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return self._bag_logit(self._distances(bags), bags.offsets)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return _logit_from_dist(self._distances(bags))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities ``(1 - P(positive), P(positive))`` under the hypothesis.

        These are the model's probabilities, not thresholded: ``predict`` compares their
        log-odds with ``threshold_``, so with a threshold other than 0.0 (or ``"auto"``)
        the predicted class need not be the one with probability above 0.5.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, 2)
            Probabilities of ``classes_[0]`` and ``classes_[1]``.
        """
        bags = self._validate_bags(X, reset=False)
        logit = self._bag_logit(self._distances(bags), bags.offsets)
        return self._proba_from_positive(1.0 / (1.0 + np.exp(-logit)))

    def predict_proba_instances(self, X: Any) -> list[np.ndarray]:
        """Instance probabilities ``exp(-||x - t||_s^2)``, one array per bag.

        Their log-odds minus ``threshold_`` are ``decision_function_instances``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : list of ndarray of shape (n_instances_i,)
            Each instance's probability of ``classes_[1]``, one array per bag.
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(np.exp(-self._distances(bags)))

    def _finish(self, h: np.ndarray, d: int) -> None:
        self.target_ = np.ascontiguousarray(h[:d])
        self.scales_ = np.ascontiguousarray(np.abs(h[d:]))


def _minimize(fun, h0, max_fun):
    """L-BFGS-B from ``h0``: ``(h, f, capped)``, ``capped`` when it stopped at ``max_fun``."""
    # L-BFGS-B's small dense updates go through BLAS: with several BLAS threads on a
    # loaded machine each iteration was ~10x slower, so the fits pin BLAS to one thread
    res = minimize(fun, h0, jac=True, method="L-BFGS-B",
                   options={"maxfun": max_fun, "maxiter": max_fun})
    # status 1: the evaluation or iteration limit was reached
    return res.x, float(res.fun), res.status == 1


def _dd_start(X, offsets, y, h0, max_fun):
    d = X.shape[1]
    grad = np.empty(2 * d)

    def fun(h):
        f = nldd_noisy_or(X, offsets, y, h[:d], h[d:], grad)
        return f, grad.copy()

    return _minimize(fun, h0, max_fun)


def _train_error(X, offsets, y, h, d, bag_logit):
    D = weighted_sqdist(X, np.ascontiguousarray(h[:d]), np.ascontiguousarray(np.abs(h[d:])))
    pred = bag_logit(D, offsets) > 0  # probability 0.5, as Weka selects
    return float(np.mean(pred != (y == 1)))


def _user_rows(rows: np.ndarray, sizes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Map flat instance rows of the canonically ordered bags to the user's numbering."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    bag = np.searchsorted(offsets, rows, side="right") - 1
    user_sizes = np.empty_like(sizes)
    user_sizes[order] = sizes
    user_offsets = np.concatenate([[0], np.cumsum(user_sizes)])
    return user_offsets[order[bag]] + (rows - offsets[bag])


class DiverseDensity(_BaseDD):
    """Diverse Density with the noisy-or model (Maron & Lozano-Pérez, NIPS 1998).

    Finds a target point ``t`` and per-feature scales ``s`` maximising the diverse
    density: near at least one instance of every positive bag and far from every
    instance of negative bags, with instance probability
    ``P(x) = exp(-sum_k s_k^2 (x_k - t_k)^2)`` and a noisy-or over each bag. The
    negative log-DD is minimised by L-BFGS-B with its analytic gradient (numba) from
    several starts ``t = x`` (a positive instance), ``s = init_scale``; the best NLDD
    wins.

    Parameters
    ----------
    n_init : int or "all", default=30
        Starting points (Maron's "starts"), sampled uniformly without replacement from
        the instances of positive bags. Maron used every positive instance (``"all"``),
        which makes the fit quadratic in N; 30 starts keep it linear with little loss
        (see the docs).
    init_scale : float, default=1.0
        Initial value of every scale ``s_k``.
    max_fun : int, default=200
        Maximum objective evaluations per L-BFGS-B run. A ``ConvergenceWarning`` says
        when the chosen start stopped at this cap.
    threshold : float or "auto", default=0.0
        Offset on the log-odds of the bag (and instance) probability: a bag is positive
        when ``log(P / (1 - P)) > threshold``, so 0.0 is probability 0.5 and ``t`` is
        probability ``1 / (1 + exp(-t))``. ``"auto"`` chooses it by the inner
        cross-validation of :mod:`skmil._inner_cv` (best held-out bag accuracy).
    pooling : {"noisy-or", "max"}, default="noisy-or"
        Bag probability at prediction: the noisy-or the model was trained with, or the
        most likely instance. It is the declared bag rule (``MILTags.bag_rule``).
    standardize : bool, default=True
        Standardise features with the training instances' mean and std before fitting
        (Weka's default); ``target_`` lives in that standardised space.
    n_jobs : int, default=None
        Threads running starts in parallel (the numba objective releases the GIL);
        scikit-learn's meaning.
    random_state : int, RandomState or None, default=None
        Chooses the starts and seeds the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    target_, scales_ : ndarray of shape (n_features,)
        The hypothesis (in standardised units when ``standardize``).
    nldd_ : float
        Negative log diverse density of the chosen hypothesis.
    start_indices_ : ndarray of int
        The starting instances, as rows of the training instances stacked in the order
        the bags were given.
    threshold_ : float
        Log-odds threshold used (chosen by inner CV when ``threshold='auto'``).
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    ``decision_function`` is the log-odds of the bag probability minus ``threshold_``,
    so it is positive exactly when the bag is predicted positive; instance scores are
    the same for ``P(x)``. With ``pooling="noisy-or"`` the bag probability is
    ``1 - prod_j (1 - P(x_j))``, with ``"max"`` it is ``max_j P(x_j)``. Cost: starts x
    evaluations x O(N d).

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.dd import DiverseDensity
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = DiverseDensity(n_init=5, random_state=0).fit(bags, y)
    >>> clf.predict_proba(bags[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "n_init": [Interval(Integral, 1, None, closed="left"), StrOptions({"all"})],
        "pooling": [StrOptions({"noisy-or", "max"})],
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        n_init: Any = 30,
        init_scale: float = 1.0,
        max_fun: int = 200,
        threshold: Any = 0.0,
        pooling: str = "noisy-or",
        standardize: bool = True,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_init = n_init
        self.init_scale = init_scale
        self.max_fun = max_fun
        self.threshold = threshold
        self.pooling = pooling
        self.standardize = standardize
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _pooling(self) -> str:
        return self.pooling

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = self._standardize_fit(bags)
        offsets = bags.offsets
        pos_rows = np.flatnonzero(np.repeat(y == 1, bags.sizes))
        if isinstance(self.n_init, str):  # "all"
            starts = pos_rows
        else:
            rng = check_random_state(self.random_state)
            k = min(int(self.n_init), pos_rows.shape[0])
            starts = np.sort(rng.choice(pos_rows, size=k, replace=False))
        d = X.shape[1]
        h0s = [np.concatenate([X[r], np.full(d, float(self.init_scale))]) for r in starts]
        with threadpool_limits(limits=1, user_api="blas"):
            results = Parallel(n_jobs=n_threads(self.n_jobs), prefer="threads")(
                delayed(_dd_start)(X, offsets, y, h0, self.max_fun) for h0 in h0s
            )
        fs = np.array([f for _, f, _ in results])
        best = int(np.argmin(fs))  # first wins on ties
        self.nldd_ = float(fs[best])
        self.start_indices_ = np.sort(_user_rows(starts, bags.sizes, self._train_order))
        self._finish(results[best][0], d)
        if results[best][2]:
            warn_not_converged(self, "max_fun", "L-BFGS-B of the chosen start")


def _most_likely_cause_em(X, offsets, h0, objective, selected_objective, max_fun,
                          max_iter, tol):
    """EM on the most-likely-cause model from ``h0``: ``(h, objective, capped)``.

    Each round picks every bag's most likely instance under ``h`` (E-step) and
    minimises ``selected_objective(X_selected)`` (a ``theta -> (f, grad)`` function) by
    L-BFGS-B from ``h`` (M-step). A round counts as an improvement when it lowers
    ``objective(h)`` (the bags' whole objective) by more than
    ``tol * max(1, |objective|)``; otherwise EM stops, keeping the better hypothesis.
    ``capped`` is True when all ``max_iter`` rounds improved.
    """
    d = X.shape[1]
    h = h0
    value = objective(h)
    for _ in range(max_iter):
        sel, _ = segment_argmin_dist(X, offsets, np.ascontiguousarray(h[:d]),
                                     np.ascontiguousarray(h[d:]))
        h_new, _, _ = _minimize(selected_objective(np.ascontiguousarray(X[sel])), h,
                                max_fun)
        value_new = objective(h_new)
        if not value_new < value:
            return h, value, False  # converged: the step did not improve, keep the previous
        small = value - value_new <= tol * max(1.0, abs(value))
        h, value = h_new, value_new
        if small:
            return h, value, False
    return h, value, True


def _emdd_start(X, offsets, y, h0, max_fun, max_iter, tol=0.0):
    """EM-DD from ``h0`` on the NLDD: ``(h, nldd, capped)`` (:func:`_most_likely_cause_em`)."""
    d = X.shape[1]
    grad = np.empty(2 * d)
    is_pos = y == 1

    def full_nldd(h):
        _, dmin = segment_argmin_dist(X, offsets, np.ascontiguousarray(h[:d]),
                                      np.ascontiguousarray(h[d:]))
        return float(dmin[is_pos].sum() - _log1mexp(dmin[~is_pos]).sum())

    def selected_nldd(Xsel):
        def fun(hh):
            f = nldd_mlc_selected(Xsel, y, hh[:d], hh[d:], grad)
            return f, grad.copy()

        return fun

    return _most_likely_cause_em(X, offsets, h0, full_nldd, selected_nldd, max_fun,
                                 max_iter, tol)


class EMDD(_BaseDD):
    """EM-DD: Diverse Density with the most-likely-cause model, fitted by EM (Zhang & Goldman 2001).

    The bag probability is that of its most likely instance,
    ``max_j exp(-sum_k s_k^2 (x_jk - t_k)^2)``. From each start, EM alternates an
    E-step (pick every bag's most likely instance) and an M-step (minimise the negative
    log-DD of those instances over ``(t, s)`` by L-BFGS-B with the analytic gradient),
    while the NLDD decreases (at most ``max_iter`` rounds). Starts are all instances
    of ``n_pos_bags_init`` positive bags drawn uniformly; the hypothesis with the lowest
    training bag error at probability 0.5 is kept (as Weka's MIEMDD does; the first
    wins ties), or the lowest NLDD with ``selection='nldd'`` (the paper).

    Parameters
    ----------
    n_pos_bags_init : int, default=3
        Positive bags whose instances are the starting targets (Weka's default).
    init_scale : float, default=1.0
        Initial value of every scale.
    max_iter : int, default=10
        Maximum EM rounds per start (Weka's limit). A ``ConvergenceWarning`` says when
        the chosen start was still improving at this cap.
    tol : float, default=0.0
        EM stops once a round lowers the NLDD by at most ``tol * max(1, |NLDD|)``. The
        default 0.0 is Weka's rule: continue while the NLDD decreases at all.
    max_fun : int, default=200
        Maximum objective evaluations per M-step.
    selection : {"train_error", "nldd"}, default="train_error"
        How the final hypothesis is chosen among the starts.
    threshold : float or "auto", default=0.0
        Offset on the log-odds of the bag (and instance) probability; 0.0 is probability
        0.5. ``"auto"`` chooses it by the inner cross-validation of
        :mod:`skmil._inner_cv` (best held-out bag accuracy).
    standardize : bool, default=True
        Standardise features with the training instances' statistics (Weka's default).
    n_jobs : int, default=None
        Threads running starts in parallel; scikit-learn's meaning.
    random_state : int, RandomState or None, default=None
        Chooses the start bags and seeds the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    target_, scales_ : ndarray of shape (n_features,)
    nldd_ : float
        Most-likely-cause NLDD of the chosen hypothesis.
    train_error_ : float
        Its training bag error at probability 0.5.
    threshold_ : float
        Log-odds threshold used.
    start_bags_ : ndarray
        Indices (in the order the bags were given) of the positive training bags that
        supplied the starts.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    The bag rule is ``"max"``: a bag's score is its largest instance score, so a bag is
    predicted positive exactly when one of its instances is. Unlike Weka, whose sampler
    can never pick the last positive bag, start bags are drawn uniformly from all
    positive bags. Cost per start: at most ``max_iter`` rounds of an O(N d) E-step and
    an M-step of up to ``max_fun`` O(B d) evaluations.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.dd import EMDD
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = EMDD(random_state=0).fit(bags, y)
    >>> [p.shape for p in clf.predict_instances(bags[:2])] == [(b.shape[0],) for b in bags[:2]]
    True
    """

    _parameter_constraints: dict = {
        "n_pos_bags_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "selection": [StrOptions({"train_error", "nldd"})],
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        n_pos_bags_init: int = 3,
        init_scale: float = 1.0,
        max_iter: int = 10,
        tol: float = 0.0,
        max_fun: int = 200,
        selection: str = "train_error",
        threshold: Any = 0.0,
        standardize: bool = True,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_pos_bags_init = n_pos_bags_init
        self.init_scale = init_scale
        self.max_iter = max_iter
        self.tol = tol
        self.max_fun = max_fun
        self.selection = selection
        self.threshold = threshold
        self.standardize = standardize
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = self._standardize_fit(bags)
        offsets = bags.offsets
        rng = check_random_state(self.random_state)
        pos_bags = np.flatnonzero(y == 1)
        k = min(int(self.n_pos_bags_init), pos_bags.shape[0])
        chosen = np.sort(rng.choice(pos_bags, size=k, replace=False))
        self.start_bags_ = np.sort(self._train_order[chosen])
        rows = np.concatenate([np.arange(offsets[b], offsets[b + 1]) for b in chosen])
        d = X.shape[1]
        h0s = [np.concatenate([X[r], np.full(d, float(self.init_scale))]) for r in rows]
        with threadpool_limits(limits=1, user_api="blas"):
            results = Parallel(n_jobs=n_threads(self.n_jobs), prefer="threads")(
                delayed(_emdd_start)(X, offsets, y, h0, self.max_fun, self.max_iter,
                                     float(self.tol))
                for h0 in h0s
            )
        nlls = np.array([f for _, f, _ in results])
        errors = np.array([
            _train_error(X, offsets, y, h, d, self._bag_logit) for h, _, _ in results
        ])
        key = errors if self.selection == "train_error" else nlls
        best = int(np.argmin(key))  # first wins on ties
        self.nldd_ = float(nlls[best])
        self.train_error_ = float(errors[best])
        self._finish(results[best][0], d)
        if results[best][2]:
            warn_not_converged(self, "max_iter", "EM of the chosen start")
