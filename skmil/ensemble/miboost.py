"""MIBoost: AdaBoost over bags with instance-level weak learners (Xu & Frank 2004)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_expit
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state

from .._kernels.segments import segment_mean
from .._threshold import THRESHOLD_CONSTRAINT
from ..bags import Bags
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..utils._param_validation import HasMethods, Interval
from ._common import seeded_clone

__all__ = ["MIBoost"]


def _coefficient(weights: np.ndarray, margins: np.ndarray) -> float:
    """``argmin_c sum_i W_i exp(-c m_i)`` for margins with both signs (convex, finite)."""
    # the objective is convex (worked on its log, which has the same minimiser and does
    # not overflow); a minimiser above 1 is bracketed by doubling the search interval
    def objective(c: float) -> float:
        z = -c * margins
        top = float(np.max(z))
        return top + float(np.log(np.sum(weights * np.exp(z - top))))

    hi = 1.0
    while objective(2.0 * hi) < objective(hi) and hi < 1e6:
        hi *= 2.0
    res = minimize_scalar(objective, bounds=(-2.0 * hi, 2.0 * hi), method="bounded",
                          options={"xatol": 1e-10})
    return float(res.x)


class MIBoost(InstancePredictionMixin, BaseMILClassifier):
    """MIBoost: AdaBoost over bags with instance-level weak learners (Xu & Frank, PAKDD 2004).

    Every instance carries its bag's label and the weight ``W_i / n_i`` of its bag
    (``n_i`` instances). Each round fits a weak learner ``h_m(x) in {-1, +1}`` on the
    instances; a bag's error ``e_i`` is the fraction of its instances that ``h_m``
    misclassifies, so its weak prediction is the mean vote, with margin
    ``1 - 2 e_i``. The coefficient ``c_m = argmin_c sum_i W_i exp((2 e_i - 1) c)`` (the
    paper's rule, found numerically) reweights the bags,
    ``W_i <- W_i exp((2 e_i - 1) c_m)``, normalised to sum 1. Boosting stops when every
    bag has ``e_i <= 0.5`` (the objective then decreases without bound) or every bag
    has ``e_i >= 0.5`` (``c_m <= 0``); as in Weka's MIBoost, such a round's learner is
    kept with ``c = 1`` when it is the first and discarded otherwise. A bag's score is
    ``F(b) = sum_m c_m mean_j h_m(x_bj)``.

    MIBoost makes the collective assumption, not the standard one: every instance
    contributes equally to its bag's label (the bag score is the mean of the instance
    scores ``sum_m c_m h_m(x)``), which is how Xu & Frank derive it from the
    exponential loss of bags.

    Parameters
    ----------
    estimator : sklearn classifier, default=None
        The instance-level weak learner; it must accept ``sample_weight``. ``None``:
        ``DecisionTreeClassifier(max_depth=1)``, a decision stump, AdaBoost's standard
        weak learner (Weka's MIBoost, by the paper's authors, has no weak learner of
        its own).
    n_estimators : int, default=50
        Maximum number of boosting rounds (scikit-learn's AdaBoost default; Weka's
        MIBoost uses 10); boosting may stop earlier by the rules above.
    threshold : float or "auto", default=0.0
        Offset on ``F(b)``: a bag is positive when ``F(b) > threshold_``. 0.0 is the
        paper's ``sign(F)``. ``"auto"`` chooses it by skmil's inner cross-validation.
    random_state : int, RandomState instance or None, default=None
        Seeds every weak learner and the inner folds of ``threshold="auto"``.

    Attributes
    ----------
    estimators_ : list of classifiers
        The fitted weak learners (fitted on labels 0/1, 1 = ``classes_[1]``).
    estimator_weights_ : ndarray of shape (n_rounds,)
        Their coefficients ``c_m``.
    n_estimators_ : int
        Weak learners kept (``n_rounds`` in the shapes above).
    bag_weights_ : ndarray of shape (n_bags,)
        The bag weights ``W_i`` after the last round, in the order the bags were given.
    threshold_ : float
        Threshold used.
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Number of features.

    Notes
    -----
    ``decision_function_instances`` is ``sum_m c_m h_m(x) - threshold_`` and
    ``decision_function`` its mean over the bag (bag rule ``"mean"``), exact.
    ``predict_proba`` is ``sigmoid(2 F(b))``: the additive model of AdaBoost's
    exponential loss estimates half the log-odds (Friedman, Hastie & Tibshirani, 2000).
    Weka's MIBoost reports ``sigmoid(F(b))``; both give the same predictions.

    The rounds (weights, bag errors, coefficient, stopping rules, reweighting) follow
    Weka's MIBoost (``weka.classifiers.mi.MIBoost``) step for step.

    References
    ----------
    X. Xu and E. Frank, "Logistic regression and boosting for labeled bags of
    instances", PAKDD 2004.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.ensemble import MIBoost
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = MIBoost(random_state=0).fit(bags, y)
    >>> clf.decision_function(bags[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "threshold": THRESHOLD_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        n_estimators: int = 50,
        threshold: Any = 0.0,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.threshold = threshold
        self.random_state = random_state

    def _bag_rule(self) -> str:
        return "mean"

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X, offsets, sizes = bags.instances, bags.offsets, bags.sizes
        rng = check_random_state(self.random_state)
        base = (DecisionTreeClassifier(max_depth=1) if self.estimator is None
                else self.estimator)
        y_inst = np.repeat(y, sizes)
        W = np.full(bags.n_bags, 1.0 / bags.n_bags)
        estimators, coefs = [], []
        for m in range(self.n_estimators):
            est = seeded_clone(base, rng)
            est.fit(X, y_inst, sample_weight=np.repeat(W / sizes, sizes))
            wrong = (np.asarray(est.predict(X)) != y_inst).astype(np.float64)
            err = segment_mean(wrong, offsets)
            margins = 1.0 - 2.0 * err  # the bag's mean vote times its label sign
            if np.all(margins >= 0) or np.all(margins <= 0):
                # no finite positive coefficient exists
                if m == 0:
                    estimators.append(est)
                    coefs.append(1.0)
                break
            c = _coefficient(W, margins)
            if not np.isfinite(c) or c <= 0:
                if m == 0:
                    estimators.append(est)
                    coefs.append(1.0)
                break
            estimators.append(est)
            coefs.append(c)
            W = W * np.exp(-c * margins)
            W = W / W.sum()
        self.estimators_ = estimators
        self.estimator_weights_ = np.asarray(coefs, dtype=np.float64)
        self.n_estimators_ = len(estimators)
        user = np.empty_like(W)
        user[self._train_order] = W
        self.bag_weights_ = user

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        scores = np.zeros(bags.n_instances)
        for est, c in zip(self.estimators_, self.estimator_weights_):
            scores += c * np.where(np.asarray(est.predict(bags.instances)) == 1, 1.0, -1.0)
        return scores

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return segment_mean(self._decision_function_instances(bags), bags.offsets)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities ``sigmoid(2 F(b))`` (AdaBoost's link), not thresholded.

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
        return self._proba_from_positive(np.exp(log_expit(2.0 * self._decision_function(bags))))
