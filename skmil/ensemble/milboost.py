"""MILBoost: gradient boosting of the noisy-OR bag likelihood (Viola, Platt & Zhang 2005)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_expit
from sklearn.base import is_classifier
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import check_random_state

from .._kernels.segments import segment_sum
from .._threshold import THRESHOLD_CONSTRAINT
from ..bags import Bags
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import HasMethods, Interval
from ._common import seeded_clone

__all__ = ["MILBoost"]

# A round moves no instance's log-odds by more than this: beyond -log(eps) ~ 36 the
# float64 probabilities sigmoid(y) no longer change, so a longer step only overshoots
# (and on separable data the likelihood keeps growing along the step without a maximum).
_MAX_STEP = float(-np.log(np.finfo(np.float64).eps))
# log(1 - p_i) is kept below -_TINY so that log p_i stays finite when every instance of
# a bag has a hugely negative score.
_TINY = 1e-300


def noisy_or_terms(scores: np.ndarray, offsets: np.ndarray, y: np.ndarray):
    """Log-likelihood, its gradient and the bag log-odds of the noisy-OR model.

    ``p_ij = sigmoid(scores_ij)``, ``p_i = 1 - prod_j (1 - p_ij)`` and
    ``log L = sum_i y_i log p_i + (1 - y_i) log(1 - p_i)``. The gradient is the paper's
    weight ``w_ij = d log L / d y_ij = (y_i - p_i) / p_i * p_ij``: ``-p_ij`` in a
    negative bag, ``p_ij (1 - p_i) / p_i`` in a positive one.

    Returns ``(log_likelihood, weights, bag_logits)``.
    """
    log_not = log_expit(-scores)  # log(1 - p_ij)
    log_neg = np.minimum(segment_sum(log_not, offsets), -_TINY)  # log(1 - p_i)
    log_pos = np.log(-np.expm1(log_neg))  # log p_i
    loglik = float(np.sum(np.where(y == 1, log_pos, log_neg)))
    # (1 - p_i) / p_i = 1 / expm1(-log(1 - p_i)), exact also when p_i is tiny
    with np.errstate(over="ignore"):
        factor = np.where(y == 1, 1.0 / np.expm1(-log_neg), -1.0)
    weights = np.repeat(factor, np.diff(offsets)) * np.exp(log_expit(scores))
    return loglik, weights, log_pos - log_neg


def _loglik(scores: np.ndarray, offsets: np.ndarray, y: np.ndarray) -> float:
    log_neg = np.minimum(segment_sum(log_expit(-scores), offsets), -_TINY)
    return float(np.sum(np.where(y == 1, np.log(-np.expm1(log_neg)), log_neg)))


class MILBoost(InstancePredictionMixin, BaseMILClassifier):
    """MILBoost: boosting of the noisy-OR bag likelihood (Viola, Platt & Zhang, NIPS 2005).

    Every instance gets a score ``y_ij = intercept + sum_t lambda_t h_t(x_ij)``, its
    probability ``p_ij = sigmoid(y_ij)``, and a bag the noisy-OR probability
    ``p_i = 1 - prod_j (1 - p_ij)``: a bag is positive when at least one of its instances
    is (the standard MI assumption, softened into a probability). Boosting is gradient
    ascent on the bag log-likelihood in function space: each round computes the paper's
    instance weights ``w_ij = d log L / d y_ij = (t_i - p_i) / p_i * p_ij``, fits a weak
    learner to them, and chooses its coefficient ``lambda_t`` by a line search on the
    exact log-likelihood (:func:`scipy.optimize.minimize_scalar`).

    Parameters
    ----------
    estimator : sklearn regressor or classifier, default=None
        The weak learner. A regressor is fitted by least squares to the weights ``w_ij``
        (Friedman's gradient boosting); a classifier is fitted to their signs with
        ``sample_weight=|w_ij|`` and votes ``+1``/``-1``, which maximises
        ``sum_ij w_ij h(x_ij)`` over its class as in the paper. ``None``:
        ``DecisionTreeRegressor(max_depth=1)``, a decision stump (one threshold on one
        feature) with a real value on each side, Friedman's gradient-boosting learner;
        the paper's weak learner votes ``+1``/``-1`` (pass a classifier such as
        ``DecisionTreeClassifier(max_depth=1)`` for that).
    n_estimators : int, default=100
        Maximum number of boosting rounds (scikit-learn's gradient-boosting default,
        and the ``T`` of the MILpy port).
        Boosting stops earlier when a round cannot raise the likelihood by more than
        rounding (the weak learner finds no ascent direction).
    learning_rate : float, default=1.0
        Shrinks every line-search step ``lambda_t``; 1.0 takes the exact step, as in the
        paper.
    threshold : float or "auto", default=0.0
        Offset on the log-odds of the bag probability: 0.0 is ``p_i = 0.5``. ``"auto"``
        chooses it by skmil's inner cross-validation (best held-out bag accuracy).
    random_state : int, RandomState instance or None, default=None
        Seeds every weak learner (trees break ties between equally good splits at
        random) and the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted weak learners, one per round.
    estimator_weights_ : ndarray of shape (n_rounds,)
        Their coefficients: the line-search step times ``learning_rate``, divided by the
        largest absolute training output of the weak learner.
    intercept_ : float
        The constant score that maximises the likelihood before the first round (the
        initial model of gradient boosting).
    n_estimators_ : int
        Rounds actually performed (``n_rounds`` in the shapes above).
    train_log_likelihood_ : ndarray of shape (n_rounds + 1,)
        The training log-likelihood after the intercept and after each round; it never
        decreases.
    threshold_ : float
        Log-odds threshold used.
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Number of features.

    Notes
    -----
    ``decision_function_instances`` is ``y_ij - threshold_`` and ``decision_function``
    the log-odds of ``p_i`` minus ``threshold_``: the bag rule is ``"noisy-or"``
    (:class:`skmil.base.MILTags`), exact. Each round costs one weak-learner fit on the
    N training instances and a line search of a few dozen O(N) likelihood evaluations;
    the weights and the likelihood are segment sums over the flat instance array. A
    line-search step that would lower the likelihood (the noisy-OR likelihood need not
    be concave along a direction) is halved until it does not.

    References
    ----------
    P. Viola, J. C. Platt and C. Zhang, "Multiple instance boosting for object
    detection", NIPS 2005.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.ensemble import MILBoost
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MILBoost(n_estimators=20, random_state=0).fit(bags, y)
    >>> clf.predict_proba(bags[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "threshold": THRESHOLD_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        n_estimators: int = 100,
        learning_rate: float = 1.0,
        threshold: Any = 0.0,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.threshold = threshold
        self.random_state = random_state

    def _bag_rule(self) -> str:
        return "noisy-or"

    def _weak_output(self, est: Any, X: np.ndarray) -> np.ndarray:
        if is_classifier(est):
            return np.where(est.predict(X) == 1, 1.0, -1.0)
        return np.asarray(est.predict(X), dtype=np.float64).ravel()

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X, offsets = bags.instances, bags.offsets
        rng = check_random_state(self.random_state)
        base = DecisionTreeRegressor(max_depth=1) if self.estimator is None else self.estimator

        # the initial constant: the likelihood is one-dimensional in it
        res = minimize_scalar(lambda c: -_loglik(np.full(X.shape[0], c), offsets, y),
                              bounds=(-_MAX_STEP, _MAX_STEP), method="bounded",
                              options={"xatol": 1e-10})
        self.intercept_ = float(res.x)
        scores = np.full(X.shape[0], self.intercept_)
        loglik, weights, _ = noisy_or_terms(scores, offsets, y)
        trace = [loglik]
        estimators, coefs = [], []
        for _ in range(self.n_estimators):
            est = seeded_clone(base, rng)
            if is_classifier(est):
                target = (weights > 0).astype(np.int64)
                if np.unique(target).size < 2:
                    break  # every weight has one sign: no split direction to learn
                est.fit(X, target, sample_weight=np.abs(weights))
            else:
                est.fit(X, weights)
            h = self._weak_output(est, X)
            scale = float(np.max(np.abs(h)))
            # an ascent direction needs sum_ij w_ij h_ij > 0 (the paper's criterion)
            if not scale > 0 or not float(weights @ h) > 0:
                break
            h = h / scale
            res = minimize_scalar(lambda lam, s=scores, h=h: -_loglik(s + lam * h, offsets, y),
                                  bounds=(0.0, _MAX_STEP), method="bounded",
                                  options={"xatol": 1e-8})
            step = float(res.x) * self.learning_rate
            new = _loglik(scores + step * h, offsets, y)
            while new < loglik and step > 1e-12:
                step *= 0.5
                new = _loglik(scores + step * h, offsets, y)
            # a round must raise the likelihood by more than rounding (at a maximum the
            # weights are 0 only up to rounding, and their fit is noise)
            if not new - loglik > 1e-12 * max(1.0, abs(loglik)):
                break
            scores = scores + step * h
            loglik, weights, _ = noisy_or_terms(scores, offsets, y)
            trace.append(loglik)
            estimators.append(est)
            coefs.append(step / scale)
        self.estimators_ = estimators
        self.estimator_weights_ = np.asarray(coefs, dtype=np.float64)
        self.n_estimators_ = len(estimators)
        self.train_log_likelihood_ = np.asarray(trace)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        scores = np.full(bags.n_instances, self.intercept_)
        for est, coef in zip(self.estimators_, self.estimator_weights_):
            scores += coef * self._weak_output(est, bags.instances)
        return scores

    def _bag_logits(self, bags: Bags) -> np.ndarray:
        scores = self._decision_function_instances(bags)
        log_neg = np.minimum(segment_sum(log_expit(-scores), bags.offsets), -_TINY)
        return np.log(-np.expm1(log_neg)) - log_neg

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return self._bag_logits(bags)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Noisy-OR bag probabilities ``(1 - p_i, p_i)``.

        The model's probabilities, not thresholded: ``predict`` compares their log-odds
        with ``threshold_``.

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
        return self._proba_from_positive(np.exp(log_expit(self._bag_logits(bags))))
