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
from ..bags import Bags
from ..base import BaseMILClassifier, InstancePredictionMixin

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


def _check_threshold(threshold: Any) -> None:
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be a float in (0, 1) or 'auto', got {threshold!r}.")
    elif not (isinstance(threshold, Real) and 0 < threshold < 1):
        raise ValueError(f"threshold must be a float in (0, 1) or 'auto', got {threshold!r}.")


def _auto_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """Midpoint between sorted training scores maximising balanced accuracy."""
    u = np.unique(scores)
    cands = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    pos, neg = y == 1, y == 0
    pred = scores[None, :] > cands[:, None]
    bacc = 0.5 * (pred[:, pos].mean(axis=1) + (~pred[:, neg]).mean(axis=1))
    best = np.flatnonzero(bacc == bacc.max())
    # among equally good thresholds take the one closest to p = 0.5 (log-odds 0)
    return float(cands[best[np.argmin(np.abs(cands[best]))]])


class _BaseDD(InstancePredictionMixin, BaseMILClassifier):
    """Shared model h = (t, s): instance probability exp(-sum_k s_k^2 (x_k - t_k)^2)."""

    _bag_rule = "max"

    def _standardize_fit(self, bags: Bags) -> np.ndarray:
        X = bags.instances
        if self.standardize:
            self.mean_ = X.mean(axis=0)
            std = X.std(axis=0)
            self.scale_ = np.where(std > 0, std, 1.0)
        else:
            self.mean_ = np.zeros(X.shape[1])
            self.scale_ = np.ones(X.shape[1])
        return (X - self.mean_) / self.scale_

    def _distances(self, bags: Bags) -> np.ndarray:
        X = (bags.instances - self.mean_) / self.scale_
        return weighted_sqdist(np.ascontiguousarray(X), self.target_, self.scales_)

    def _bag_logit(self, D: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        if self._resolved_bag_rule() == "noisy-or":
            return _noisy_or_logit(D, offsets)
        return _logit_from_dist(np.minimum.reduceat(D, offsets[:-1]))

    def _resolved_bag_rule(self) -> str:
        return self._bag_rule

    def _set_threshold(self, D_train: np.ndarray, offsets: np.ndarray, y: np.ndarray) -> None:
        if self.threshold == "auto":
            self.threshold_logit_ = _auto_threshold(self._bag_logit(D_train, offsets), y)
        else:
            p = float(self.threshold)
            self.threshold_logit_ = float(np.log(p) - np.log1p(-p))
        self.threshold_ = float(1.0 / (1.0 + np.exp(-self.threshold_logit_)))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return self._bag_logit(self._distances(bags), bags.offsets) - self.threshold_logit_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities ``(1 - P(positive), P(positive))`` under the hypothesis.

        Note that with ``threshold='auto'`` the predicted class follows the fitted
        threshold, not ``P > 0.5``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)

        Returns
        -------
        proba : ndarray of shape (n_bags, 2)
        """
        bags = self._validate_bags(X, reset=False)
        logit = self._bag_logit(self._distances(bags), bags.offsets)
        return self._proba_from_positive(1.0 / (1.0 + np.exp(-logit)))

    def predict_proba_instances(self, X: Any) -> list[np.ndarray]:
        """Instance probabilities ``exp(-||x - t||_s^2)``, one array per bag.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)

        Returns
        -------
        proba : list of ndarray of shape (n_instances_i,)
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(np.exp(-self._distances(bags)))

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return _logit_from_dist(self._distances(bags)) - self.threshold_logit_

    def _check_common(self) -> None:
        _check_threshold(self.threshold)
        if not (isinstance(self.init_scale, Real) and self.init_scale > 0):
            raise ValueError(f"init_scale must be a positive float, got {self.init_scale!r}.")
        if not (isinstance(self.max_fun, Integral) and self.max_fun > 0):
            raise ValueError(f"max_fun must be a positive int, got {self.max_fun!r}.")

    def _finish(self, h: np.ndarray, X: np.ndarray, offsets: np.ndarray, y: np.ndarray):
        d = X.shape[1]
        self.target_ = np.ascontiguousarray(h[:d])
        self.scales_ = np.ascontiguousarray(np.abs(h[d:]))
        D = weighted_sqdist(X, self.target_, self.scales_)
        self._set_threshold(D, offsets, y)


def _minimize(fun, h0, max_fun):
    # L-BFGS-B's small dense updates go through BLAS: with several BLAS threads on a
    # loaded machine each iteration was ~10x slower, so the fits pin BLAS to one thread
    res = minimize(fun, h0, jac=True, method="L-BFGS-B",
                   options={"maxfun": max_fun, "maxiter": max_fun})
    return res.x, float(res.fun)


def _dd_start(X, offsets, y, h0, max_fun):
    d = X.shape[1]
    grad = np.empty(2 * d)

    def fun(h):
        f = nldd_noisy_or(X, offsets, y, h[:d], h[d:], grad)
        return f, grad.copy()

    return _minimize(fun, h0, max_fun)


def _train_error(X, offsets, y, h, d, bag_logit):
    D = weighted_sqdist(X, np.ascontiguousarray(h[:d]), np.ascontiguousarray(np.abs(h[d:])))
    pred = bag_logit(D, offsets) > 0  # threshold 0.5, as Weka selects
    return float(np.mean(pred != (y == 1)))


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
    n_starts : int or "all", default=30
        Starting points, sampled uniformly without replacement from the instances of
        positive bags. Maron used every positive instance (``"all"``), which makes the
        fit quadratic in N; 30 starts keep it linear with little loss (see the docs).
    init_scale : float, default=1.0
        Initial value of every scale ``s_k``.
    max_fun : int, default=200
        Maximum objective evaluations per L-BFGS-B run.
    threshold : float or "auto", default=0.5
        Probability above which a bag (or instance) is positive; ``"auto"`` picks the
        midpoint between training bag scores that maximises balanced training accuracy.
    bag_rule : {"noisy-or", "max"}, default="noisy-or"
        Bag probability at prediction: the noisy-or the model was trained with, or the
        most likely instance.
    standardize : bool, default=True
        Standardise features with the training instances' mean and std before fitting
        (Weka's default); ``target_`` lives in that standardised space.
    n_jobs : int, default=None
        Threads running starts in parallel (the numba objective releases the GIL).
    random_state : int, RandomState or None, default=None
        Chooses the starts.

    Attributes
    ----------
    target_, scales_ : ndarray of shape (n_features,)
        The hypothesis (in standardised units when ``standardize``).
    nldd_ : float
        Negative log diverse density of the chosen hypothesis.
    threshold_ : float
        Probability threshold used (fitted when ``threshold='auto'``).
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    ``decision_function`` is the log-odds of the bag probability minus the log-odds of
    the threshold, so it is positive exactly when the bag is predicted positive;
    instance scores are the same for ``P(x)``. Cost: starts x evaluations x O(N d).

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.dd import DiverseDensity
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = DiverseDensity(n_starts=5, random_state=0).fit(bags, y)
    >>> clf.predict_proba(bags[:2]).shape
    (2, 2)
    """

    _contract_test_params = {"n_starts": 5, "max_fun": 50}

    def __init__(
        self,
        n_starts: Any = 30,
        *,
        init_scale: float = 1.0,
        max_fun: int = 200,
        threshold: Any = 0.5,
        bag_rule: str = "noisy-or",
        standardize: bool = True,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_starts = n_starts
        self.init_scale = init_scale
        self.max_fun = max_fun
        self.threshold = threshold
        self.bag_rule = bag_rule
        self.standardize = standardize
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _resolved_bag_rule(self) -> str:
        return self.bag_rule

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        self._check_common()
        if self.bag_rule not in ("noisy-or", "max"):
            raise ValueError(f"bag_rule must be 'noisy-or' or 'max', got {self.bag_rule!r}.")
        X = self._standardize_fit(bags)
        offsets = bags.offsets
        pos_rows = np.flatnonzero(np.repeat(y == 1, bags.sizes))
        if isinstance(self.n_starts, str) and self.n_starts == "all":
            starts = pos_rows
        elif isinstance(self.n_starts, Integral) and self.n_starts > 0:
            rng = check_random_state(self.random_state)
            k = min(int(self.n_starts), pos_rows.shape[0])
            starts = np.sort(rng.choice(pos_rows, size=k, replace=False))
        else:
            raise ValueError(f"n_starts must be a positive int or 'all', got {self.n_starts!r}.")
        d = X.shape[1]
        h0s = [np.concatenate([X[r], np.full(d, float(self.init_scale))]) for r in starts]
        with threadpool_limits(limits=1, user_api="blas"):
            results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(_dd_start)(X, offsets, y, h0, self.max_fun) for h0 in h0s
            )
        fs = np.array([f for _, f in results])
        best = int(np.argmin(fs))  # first wins on ties
        self.nldd_ = float(fs[best])
        self.start_indices_ = starts
        self._finish(results[best][0], X, offsets, y)


def _emdd_start(X, offsets, y, h0, max_fun, max_em_iter):
    d = X.shape[1]
    grad = np.empty(2 * d)
    is_pos = y == 1

    def full_nldd(h):
        _, dmin = segment_argmin_dist(X, offsets, np.ascontiguousarray(h[:d]),
                                      np.ascontiguousarray(h[d:]))
        return float(dmin[is_pos].sum() - _log1mexp(dmin[~is_pos]).sum())

    h = h0
    nll = full_nldd(h)
    for _ in range(max_em_iter):
        sel, _ = segment_argmin_dist(X, offsets, np.ascontiguousarray(h[:d]),
                                     np.ascontiguousarray(h[d:]))
        Xsel = np.ascontiguousarray(X[sel])

        def fun(hh, Xsel=Xsel):
            f = nldd_mlc_selected(Xsel, y, hh[:d], hh[d:], grad)
            return f, grad.copy()

        h_new, _ = _minimize(fun, h, max_fun)
        nll_new = full_nldd(h_new)
        if not nll_new < nll:
            break  # keep the previous hypothesis when the step did not improve
        h, nll = h_new, nll_new
    return h, nll


class EMDD(_BaseDD):
    """EM-DD: Diverse Density with the most-likely-cause model, fitted by EM (Zhang & Goldman 2001).

    The bag probability is that of its most likely instance,
    ``max_j exp(-sum_k s_k^2 (x_jk - t_k)^2)``. From each start, EM alternates an
    E-step (pick every bag's most likely instance) and an M-step (minimise the negative
    log-DD of those instances over ``(t, s)`` by L-BFGS-B with the analytic gradient),
    while the NLDD decreases (at most ``max_em_iter`` rounds). Starts are all instances
    of ``n_pos_bags_init`` positive bags drawn uniformly; the hypothesis with the lowest
    training bag error at probability 0.5 is kept (as Weka's MIEMDD does; the first
    wins ties), or the lowest NLDD with ``selection='nldd'`` (the paper).

    Parameters
    ----------
    n_pos_bags_init : int, default=3
        Positive bags whose instances are the starting targets (Weka's default).
    init_scale : float, default=1.0
        Initial value of every scale.
    max_em_iter : int, default=10
        Maximum EM rounds per start (Weka's limit).
    max_fun : int, default=200
        Maximum objective evaluations per M-step.
    selection : {"train_error", "nldd"}, default="train_error"
        How the final hypothesis is chosen among the starts.
    threshold : float or "auto", default=0.5
        Probability above which a bag or instance is positive; ``"auto"`` fits the
        midpoint between training bag scores that maximises balanced training accuracy.
    standardize : bool, default=True
        Standardise features with the training instances' statistics (Weka's default).
    n_jobs : int, default=None
        Threads running starts in parallel.
    random_state : int, RandomState or None, default=None
        Chooses the start bags.

    Attributes
    ----------
    target_, scales_ : ndarray of shape (n_features,)
    nldd_ : float
        Most-likely-cause NLDD of the chosen hypothesis.
    train_error_ : float
        Its training bag error at probability 0.5.
    threshold_ : float
    start_bags_ : ndarray
        Indices of the positive training bags that supplied the starts.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    Unlike Weka, whose sampler can never pick the last positive bag, start bags are drawn
    uniformly from all positive bags. ``decision_function`` is the log-odds of the bag
    probability minus that of the threshold. Cost per start: at most ``max_em_iter``
    rounds of an O(N d) E-step and an M-step of up to ``max_fun`` O(B d) evaluations.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.dd import EMDD
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = EMDD(random_state=0).fit(bags, y)
    >>> [p.shape for p in clf.predict_instances(bags[:2])] == [(b.shape[0],) for b in bags[:2]]
    True
    """

    _contract_test_params = {"n_pos_bags_init": 1, "max_fun": 50, "max_em_iter": 3}

    def __init__(
        self,
        n_pos_bags_init: int = 3,
        *,
        init_scale: float = 1.0,
        max_em_iter: int = 10,
        max_fun: int = 200,
        selection: str = "train_error",
        threshold: Any = 0.5,
        standardize: bool = True,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_pos_bags_init = n_pos_bags_init
        self.init_scale = init_scale
        self.max_em_iter = max_em_iter
        self.max_fun = max_fun
        self.selection = selection
        self.threshold = threshold
        self.standardize = standardize
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        self._check_common()
        if self.selection not in ("train_error", "nldd"):
            raise ValueError(
                f"selection must be 'train_error' or 'nldd', got {self.selection!r}."
            )
        if not (isinstance(self.n_pos_bags_init, Integral) and self.n_pos_bags_init > 0):
            raise ValueError(
                f"n_pos_bags_init must be a positive int, got {self.n_pos_bags_init!r}."
            )
        if not (isinstance(self.max_em_iter, Integral) and self.max_em_iter > 0):
            raise ValueError(f"max_em_iter must be a positive int, got {self.max_em_iter!r}.")
        X = self._standardize_fit(bags)
        offsets = bags.offsets
        rng = check_random_state(self.random_state)
        pos_bags = np.flatnonzero(y == 1)
        k = min(int(self.n_pos_bags_init), pos_bags.shape[0])
        chosen = np.sort(rng.choice(pos_bags, size=k, replace=False))
        self.start_bags_ = chosen
        rows = np.concatenate([np.arange(offsets[b], offsets[b + 1]) for b in chosen])
        d = X.shape[1]
        h0s = [np.concatenate([X[r], np.full(d, float(self.init_scale))]) for r in rows]
        with threadpool_limits(limits=1, user_api="blas"):
            results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(_emdd_start)(X, offsets, y, h0, self.max_fun, self.max_em_iter)
                for h0 in h0s
            )
        nlls = np.array([f for _, f in results])
        errors = np.array([
            _train_error(X, offsets, y, h, d, self._bag_logit) for h, _ in results
        ])
        key = errors if self.selection == "train_error" else nlls
        best = int(np.argmin(key))  # first wins on ties
        self.nldd_ = float(nlls[best])
        self.train_error_ = float(errors[best])
        self._finish(results[best][0], X, offsets, y)
