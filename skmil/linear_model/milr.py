"""Multiple-instance logistic regression (MILR): a linear instance model, bag likelihood."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.preprocessing import StandardScaler

from .._warnings import warn_not_converged
from ..bags import Bags
from ..base import BaseMILClassifier, InstancePredictionMixin, MILTags
from ..svm._common import CLASS_WEIGHT_CONSTRAINT, bag_class_weights
from ..utils._param_validation import Interval, StrOptions

__all__ = ["MILogisticRegression"]

_POOLINGS = ("noisy-or", "mean")

# Below this largest instance logit the noisy-or's P(negative bag) = exp(-r) has
# r = sum softplus(z) at the edge of float64's normal range (exp(-600) ~ 1e-261), so the
# bag's positive log-probability switches from log(1 - exp(-r)) to log(sum exp(z)); the
# two differ by a relative ~n * exp(-600), far below rounding.
_TINY_LOGIT = -600.0


def _bag_starts(offsets: np.ndarray) -> np.ndarray:
    return offsets[:-1]


def _segment_logsumexp(z: np.ndarray, offsets: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per-bag ``log(sum(exp(z)))``, computed stably."""
    zmax = np.maximum.reduceat(z, _bag_starts(offsets))
    return zmax + np.log(np.add.reduceat(np.exp(z - np.repeat(zmax, sizes)),
                                         _bag_starts(offsets)))


def _noisy_or_parts(z: np.ndarray, offsets: np.ndarray, sizes: np.ndarray):
    """``(r, log_pos, tiny, lse)`` of the noisy-or per bag.

    ``r = sum_j softplus(z_j) = -log P(negative)``, ``log_pos = log P(positive) =
    log(1 - exp(-r))``; in ``tiny`` bags (every logit below ``_TINY_LOGIT``) ``log_pos``
    is ``lse = log(sum_j exp(z_j))``, its limit, because ``r`` would underflow there.
    """
    starts = _bag_starts(offsets)
    r = np.add.reduceat(-log_expit(-z), starts)
    tiny = np.maximum.reduceat(z, starts) < _TINY_LOGIT
    lse = _segment_logsumexp(z, offsets, sizes) if tiny.any() else None
    with np.errstate(divide="ignore"):
        log_pos = np.log(-np.expm1(-r))
    if lse is not None:
        log_pos = np.where(tiny, lse, log_pos)
    return r, log_pos, tiny, lse


def _bag_logits(z: np.ndarray, offsets: np.ndarray, sizes: np.ndarray,
               pooling: str) -> np.ndarray:
    """Log-odds of each bag's probability from its instances' logits ``z``."""
    if pooling == "mean":
        return np.add.reduceat(z, _bag_starts(offsets)) / sizes
    r, log_pos, _, _ = _noisy_or_parts(z, offsets, sizes)
    return log_pos + r  # log P(pos) - log P(neg)


def _bag_loss_and_grad(z: np.ndarray, offsets: np.ndarray, sizes: np.ndarray,
                      y: np.ndarray, weight: np.ndarray, pooling: str):
    """Weighted sum of the bags' negative log-likelihoods and its gradient in ``z``.

    ``y`` are the 0/1 bag labels, ``weight`` one weight per bag. Vectorised over the flat
    instance array; finite for saturated bags (logits of any magnitude).
    """
    if pooling == "mean":
        L = np.add.reduceat(z, _bag_starts(offsets)) / sizes
        # -log sigmoid(L) for positive bags, -log sigmoid(-L) for negative ones
        signed = np.where(y == 1, L, -L)
        loss = float(np.dot(weight, -log_expit(signed)))
        g_bag = weight * (expit(L) - y) / sizes
        return loss, np.repeat(g_bag, sizes)
    r, log_pos, tiny, lse = _noisy_or_parts(z, offsets, sizes)
    pos = y == 1
    loss = float(np.dot(weight, np.where(pos, -log_pos, r)))
    # d(-log P(neg))/dz_j = sigmoid(z_j); d(-log P(pos))/dz_j = -sigmoid(z_j) * P(neg) /
    # P(pos) = -sigmoid(z_j) * exp(-r - log_pos), which is 0 for saturated bags, not NaN
    # (tiny bags are replaced below; their exponent would overflow)
    ratio = np.where(pos, -np.exp(np.where(pos & ~tiny, -r - log_pos, 0.0)), 1.0)
    g = expit(z) * np.repeat(weight * ratio, sizes)
    if lse is not None and np.any(tiny & pos):
        # in tiny positive bags P(pos) ~ sum exp(z) and the gradient is -softmax(z)
        soft = -np.exp(z - np.repeat(lse, sizes)) * np.repeat(weight, sizes)
        g = np.where(np.repeat(tiny & pos, sizes), soft, g)
    return loss, g


class MILogisticRegression(InstancePredictionMixin, BaseMILClassifier):
    """Multiple-instance logistic regression: a linear instance model fitted on bag labels.

    Every instance gets a probability ``p_ij = sigmoid(w . x_ij + b)`` and a bag's
    probability combines them by ``pooling``; ``w`` and ``b`` maximise the bag
    log-likelihood (minus a penalty on ``w``) by L-BFGS-B with the analytic gradient,
    vectorised over the flat instance array. ``pooling="noisy-or"`` (default) is
    ``1 - prod_j (1 - p_ij)``, the standard MI assumption (a bag is positive when one of
    its instances is) of Ray & Craven (ICML 2005), Weka's MILR and R's ``milr`` (Chen et
    al. 2016); ``pooling="mean"`` is the geometric-mean model of Xu & Frank (PAKDD 2004),
    a collective assumption: the bag's log-odds is the mean of its instances' log-odds.

    Parameters
    ----------
    pooling : {"noisy-or", "mean"}, default="noisy-or"
        How instance probabilities make the bag's: the noisy-or (bag rule
        ``"noisy-or"``) or Xu & Frank's geometric mean of the instance odds, i.e. the
        mean of the instance logits (bag rule ``"mean"``; the same model as a logistic
        regression on each bag's mean instance).
    penalty : {"l2", "l1"} or None, default="l2"
        Penalty on ``w`` (never on ``b``): the loss is the sum of the bags' negative
        log-likelihoods plus ``||w||_2^2 / (2 C)`` (``"l2"``) or ``||w||_1 / C``
        (``"l1"``, the lasso of R's ``milr``, which sets weights of irrelevant features
        to exactly 0). ``None``: no penalty (the weights diverge on separable bags).
    C : float, default=1.0
        Inverse regularisation strength, scikit-learn's meaning
        (:class:`sklearn.linear_model.LogisticRegression`): larger is less penalised.
    standardize : bool, default=True
        Standardise the features with the training instances' mean and std before
        fitting (the penalty depends on the features' scales); ``coef_`` and
        ``intercept_`` are given back in the input's units.
    class_weight : dict, "balanced" or None, default=None
        Weights of the bags' log-likelihoods by class, scikit-learn's meaning; a dict is
        keyed by the bag labels, ``"balanced"`` is ``n_bags / (2 n_bags_of_class)``.
    max_iter : int, default=1000
        Cap of the L-BFGS-B iterations; stopping there emits a ``ConvergenceWarning``.
    tol : float, default=1e-4
        L-BFGS-B stops when the largest projected gradient component of the loss
        divided by the total bag weight (the mean loss per bag, as scikit-learn's lbfgs
        logistic regression) falls below ``tol``.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features)
        ``w`` in the units of the input features.
    intercept_ : ndarray of shape (1,)
        ``b`` in the units of the input features.
    n_iter_ : ndarray of shape (1,)
        L-BFGS-B iterations run.
    scaler_ : StandardScaler or None
        The standardisation fitted on the training instances (``standardize=True``).
    classes_ : ndarray of shape (2,)
        Bag labels; ``classes_[1]`` is positive.
    n_features_in_ : int
        Number of features.

    Notes
    -----
    ``predict_proba`` is the model's bag probability and ``decision_function`` its
    log-odds, so a bag is predicted positive when its probability exceeds 0.5.
    ``decision_function_instances`` is each instance's logit ``w . x + b``, a witness
    score: with ``"noisy-or"`` the bag's log-odds is
    ``logit(1 - prod_j (1 - sigmoid(s_j)))``, at least the largest instance logit, and
    with ``"mean"`` the mean of the instance logits, exactly the declared bag rules
    (``MILTags.bag_rule``). ``predict_proba_instances`` gives ``sigmoid(w . x + b)``.
    The noisy-or likelihood is not convex: the fit starts from ``w = 0, b = 0`` (no
    randomness) and finds a local optimum. The L1 penalty is fitted on ``w = u - v``
    with ``u, v >= 0`` (bounds of L-BFGS-B), where the penalty is linear, so weights
    that the penalty switches off stop exactly at 0. Cost: O(N d) per iteration.

    References
    ----------
    Ray, S. & Craven, M. (2005). Supervised versus multiple instance learning: an
    empirical comparison. ICML. Xu, X. & Frank, E. (2004). Logistic regression and
    boosting for labeled bags of instances. PAKDD. Chen, R.-B. et al. (2016).
    Multiple-instance logistic regression with LASSO penalty.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.linear_model import MILogisticRegression
    >>> bags, y, _ = make_mil_classification(n_bags=60, random_state=0)
    >>> clf = MILogisticRegression().fit(bags, y)
    >>> clf.predict_proba(bags[:2]).shape
    (2, 2)
    >>> clf.coef_.shape == (1, bags[0].shape[1])
    True
    """

    _parameter_constraints: dict = {
        "pooling": [StrOptions(set(_POOLINGS))],
        "penalty": [StrOptions({"l2", "l1"}), None],
        "C": [Interval(Real, 0, None, closed="neither")],
        "standardize": ["boolean"],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        pooling: str = "noisy-or",
        penalty: str | None = "l2",
        C: float = 1.0,
        standardize: bool = True,
        class_weight: Any = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
    ) -> None:
        self.pooling = pooling
        self.penalty = penalty
        self.C = C
        self.standardize = standardize
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol

    def _bag_rule(self) -> str:
        return self.pooling

    def __mil_tags__(self) -> MILTags:
        tags = super().__mil_tags__()
        return MILTags(instance_scores=tags.instance_scores, bag_rule=tags.bag_rule,
                       instance_outputs=("predict_proba_instances",), pairwise=tags.pairwise)

    def _objective(self, bags: Bags, X: np.ndarray, y: np.ndarray, weight: np.ndarray):
        """``theta -> (loss, grad)`` of the mean penalised loss over ``theta``.

        ``theta`` is ``(w, b)``, or ``(u, v, b)`` with ``w = u - v`` for the L1 penalty.
        """
        d = X.shape[1]
        l1 = self.penalty == "l1"
        inv_c = 0.0 if self.penalty is None else 1.0 / float(self.C)
        total = float(weight.sum())
        offsets, sizes, pooling = bags.offsets, bags.sizes, self.pooling

        def fun(theta: np.ndarray):
            w = theta[:d] - theta[d:2 * d] if l1 else theta[:d]
            b = theta[-1]
            z = X @ w + b
            loss, g = _bag_loss_and_grad(z, offsets, sizes, y, weight, pooling)
            gw = X.T @ g
            grad = np.empty_like(theta)
            if l1:
                loss += inv_c * float(theta[:2 * d].sum())
                grad[:d] = gw + inv_c
                grad[d:2 * d] = inv_c - gw
            else:
                loss += 0.5 * inv_c * float(w @ w)
                grad[:d] = gw + inv_c * w
            grad[-1] = g.sum()
            return loss / total, grad / total

        return fun

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        X = bags.instances
        if self.standardize:
            self.scaler_ = StandardScaler().fit(X)
            X = self.scaler_.transform(X)
        else:
            self.scaler_ = None
        d = X.shape[1]
        cw = bag_class_weights(self.class_weight, self.classes_, y)
        weight = cw[y]
        fun = self._objective(bags, X, y.astype(np.float64), weight)
        if self.penalty == "l1":
            theta0 = np.zeros(2 * d + 1)
            bounds = [(0.0, None)] * (2 * d) + [(None, None)]
        else:
            theta0 = np.zeros(d + 1)
            bounds = None
        res = minimize(
            fun, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": int(self.max_iter), "gtol": float(self.tol),
                     "ftol": 64 * np.finfo(np.float64).eps, "maxls": 50},
        )
        theta = res.x
        w = theta[:d] - theta[d:2 * d] if self.penalty == "l1" else theta[:d]
        self._w_fit = w  # in the fitted (standardised) space
        self._b_fit = float(theta[-1])
        if self.scaler_ is not None:
            coef = w / self.scaler_.scale_
            intercept = self._b_fit - float(coef @ self.scaler_.mean_)
        else:
            coef, intercept = w, self._b_fit
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([intercept])
        self.n_iter_ = np.array([res.nit], dtype=np.int32)
        if res.nit >= self.max_iter:
            warn_not_converged(self, "max_iter", "L-BFGS-B")

    def _instance_logits(self, bags: Bags) -> np.ndarray:
        X = bags.instances
        if self.scaler_ is None:
            return X @ self._w_fit + self._b_fit
        # centre before the product, so features with a large mean lose no precision
        return (X - self.scaler_.mean_) @ (self._w_fit / self.scaler_.scale_) + self._b_fit

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return _bag_logits(self._instance_logits(bags), bags.offsets, bags.sizes,
                          self.pooling)

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return self._instance_logits(bags)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities ``(1 - P(positive), P(positive))`` under the fitted model.

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
        return self._proba_from_positive(expit(self._decision_function(bags)))

    def predict_proba_instances(self, X: Any) -> list[np.ndarray]:
        """Instance probabilities ``sigmoid(w . x + b)``, one array per bag.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags whose instances to score.

        Returns
        -------
        proba : list of ndarray of shape (n_instances_i,)
            The probability that each instance is a witness of ``classes_[1]``.
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(expit(self._instance_logits(bags)))
