"""The mi-SVM and MI-SVM alternations around any scikit-learn classifier."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metaestimators import available_if

from .._kernels.segments import segment_argmax, segment_max, segment_mean
from .._proba import decision_scores, proba_available
from .._threshold import THRESHOLD_CONSTRAINT
from .._warnings import warn_not_converged
from ..bags import Bags, instance_indices
from ..base import BaseMILClassifier, InstancePredictionMixin
from ..svm._common import user_instance_index, user_instance_order, user_positive_bag_order
from ..utils._param_validation import HasMethods, Integral, Interval, StrOptions

__all__ = ["InstanceRelabeling"]


def _digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()


def _repair(labels: np.ndarray, scores: np.ndarray, pos_off: np.ndarray) -> np.ndarray:
    """Make the best-scoring instance positive in positive bags left without a positive."""
    labels = labels.astype(np.int64)
    has_pos = segment_max(labels, pos_off) > 0
    if not has_pos.all():
        best = segment_argmax(scores, pos_off)
        labels[best[~has_pos]] = 1
    return labels


class InstanceRelabeling(InstancePredictionMixin, BaseMILClassifier):
    """The mi-SVM / MI-SVM alternation around any scikit-learn classifier.

    Andrews, Tsochantaridis & Hofmann, "Support vector machines for multiple-instance
    learning", NIPS 2002 (2003 proceedings), with the inner SVM replaced by any
    classifier that has ``decision_function`` or ``predict_proba`` (the idea of
    milwrap). The standard MI assumption: every instance of a negative bag is
    negative, and a positive bag holds at least one positive instance.

    - ``method="mi"`` (mi-SVM): every instance starts with its bag's label; then,
      alternately, the classifier is fitted on all instances with the current labels,
      and every instance of a positive bag is relabelled positive exactly when its
      score is above 0; in a positive bag left without a positive instance, the
      highest-scoring one is made positive. Stops when no label changes.
    - ``method="MI"`` (MI-SVM): each positive bag is first represented by the mean of
      its instances; then, alternately, the classifier is fitted on all negative
      instances (negative) and the positive bags' representatives (positive), and
      each positive bag's representative becomes its highest-scoring instance (its
      witness). Stops when no witness changes.

    Either also stops when a labelling repeats (a cycle: the heuristic does not
    guarantee monotone progress), or after ``max_iter`` fits, with a
    ``ConvergenceWarning``. Bag score = maximum instance score (bag rule ``"max"``).

    Parameters
    ----------
    estimator : sklearn classifier, default=None
        The instance classifier, with ``decision_function`` or ``predict_proba``;
        ``None`` means ``make_pipeline(StandardScaler(), LogisticRegression())``
        (scikit-learn's defaults; the scaler makes its ``C`` independent of the
        features' scale). It is cloned before every fit and trained on labels 0/1
        (1 = ``classes_[1]``).
    method : {"mi", "MI"}, default="mi"
        ``"mi"``: impute the labels of all instances of positive bags (mi-SVM);
        ``"MI"``: select one witness per positive bag (MI-SVM).
    max_iter : int, default=50
        Maximum number of classifier fits (the default of skmil's mi-SVM and MI-SVM).
    threshold : "auto" or float, default="auto"
        Offset on the bag score (the largest instance score): a bag is positive when
        its score exceeds ``threshold_``. ``"auto"`` fits the alternation on the
        training part of each fold of skmil's inner cross-validation and takes the
        threshold with the best held-out bag accuracy (ties go to the one closest to
        0), because the classifier's 0 is calibrated for instances while a bag score
        is a maximum over many of them. A number fixes it (``0.0`` is the papers' rule).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``threshold="auto"`` (None: the canonical folds).
        The wrapped classifier keeps its own ``random_state``.

    Attributes
    ----------
    estimator_ : classifier
        The last fitted instance classifier.
    n_iter_ : int
        Number of classifier fits.
    stop_reason_ : {"converged", "cycle", "max_iter"}
        Why the alternation stopped.
    instance_labels_ : ndarray of shape (n_instances,)
        ``method="mi"`` only: the final 0/1 labels of the training instances (the
        labels ``estimator_`` was fitted on), in the flat order of the training
        instances as given.
    witness_indices_ : ndarray of shape (n_positive_bags,)
        ``method="MI"`` only: flat index (into the training instances as given) of each
        positive bag's witness, in the order the positive bags were given; ``-1`` when
        the alternation stopped while still on the means (``max_iter=1``).
    threshold_ : float
        The threshold used; every returned score has it subtracted.
    classes_ : ndarray of shape (2,)
    n_features_in_ : int

    Notes
    -----
    ``decision_function_instances`` is the classifier's decision value (or the log-odds
    of its ``predict_proba``) minus ``threshold_``: a witness score, positive for
    predicted witnesses, so a bag is predicted positive exactly when one of its
    instances is. Each iteration is one fit of the classifier on ``N`` instances
    (``"mi"``) or on the negative instances plus one point per positive bag (``"MI"``).

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.meta import InstanceRelabeling
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = InstanceRelabeling(method="MI").fit(bags, y)
    >>> clf.score(bags, y) > 0.8
    True
    >>> len(clf.witness_indices_) == int(sum(y == 1))
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "method": [StrOptions({"mi", "MI"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "threshold": THRESHOLD_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        method: str = "mi",
        max_iter: int = 50,
        threshold: Any = "auto",
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.max_iter = max_iter
        self.threshold = threshold
        self.random_state = random_state

    def _resolved_estimator(self) -> Any:
        if self.estimator is not None:
            return self.estimator
        return make_pipeline(StandardScaler(), LogisticRegression())

    def _check_estimator(self) -> None:
        est = self._resolved_estimator()
        if not (hasattr(est, "decision_function") or hasattr(est, "predict_proba")):
            raise TypeError(
                f"{type(self).__name__} needs an estimator with decision_function or "
                f"predict_proba to score instances; {type(est).__name__} has neither. "
                "Pass a classifier such as LogisticRegression or "
                "HistGradientBoostingClassifier."
            )

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        self._check_estimator()
        pos_bags = np.flatnonzero(y == 1)
        pos_idx = instance_indices(bags.offsets, pos_bags)
        pos_off = np.concatenate([[0], np.cumsum(bags.sizes[pos_bags])]).astype(np.int64)
        if self.method == "mi":
            model, state = self._fit_mi(bags, y, pos_idx, pos_off)
        else:
            model, state = self._fit_MI(bags, y, pos_idx, pos_off)
        self.estimator_ = model
        if self.stop_reason_ == "max_iter":
            warn_not_converged(self, "max_iter", "the instance labels still change")
        if self.method == "mi":
            self.instance_labels_ = state[user_instance_order(bags, self._train_order)]
        else:
            wit = user_instance_index(bags, self._train_order, state)
            self.witness_indices_ = wit[user_positive_bag_order(self._train_order, y)]

    def _fit_once(self, X: np.ndarray, labels: np.ndarray) -> Any:
        return clone(self._resolved_estimator()).fit(X, labels)

    def _fit_mi(self, bags: Bags, y: np.ndarray, pos_idx: np.ndarray, pos_off: np.ndarray):
        X = bags.instances
        labels = np.repeat(y, bags.sizes).astype(np.int64)
        seen = {_digest(labels[pos_idx])}
        self.stop_reason_ = "max_iter"
        n_iter = 0
        while True:
            model = self._fit_once(X, labels)
            n_iter += 1
            f = decision_scores(model, X[pos_idx])
            new = _repair((f > 0).astype(np.int64), f, pos_off)
            if np.array_equal(new, labels[pos_idx]):
                self.stop_reason_ = "converged"
                break
            key = _digest(new)
            if key in seen:
                self.stop_reason_ = "cycle"
                break
            if n_iter >= self.max_iter:
                break
            seen.add(key)
            labels[pos_idx] = new
        self.n_iter_ = n_iter
        return model, labels

    def _fit_MI(self, bags: Bags, y: np.ndarray, pos_idx: np.ndarray, pos_off: np.ndarray):
        X = bags.instances
        neg_idx = np.flatnonzero(np.repeat(y == 0, bags.sizes))
        n_pos = pos_off.shape[0] - 1
        labels = np.concatenate([np.zeros(neg_idx.shape[0]), np.ones(n_pos)]).astype(np.int64)
        X_neg = X[neg_idx]
        reps = segment_mean(X[pos_idx], pos_off)  # the paper's start: each bag's mean
        sel = np.full(n_pos, -1, dtype=np.int64)
        seen: set[bytes] = set()
        self.stop_reason_ = "max_iter"
        n_iter = 0
        while True:
            model = self._fit_once(np.vstack([X_neg, reps]), labels)
            n_iter += 1
            f = decision_scores(model, X[pos_idx])
            new = pos_idx[segment_argmax(f, pos_off)]
            if np.array_equal(new, sel):
                self.stop_reason_ = "converged"
                break
            key = _digest(new)
            if key in seen:
                self.stop_reason_ = "cycle"
                break
            if n_iter >= self.max_iter:
                break
            seen.add(key)
            sel = new
            reps = X[sel]
        self.n_iter_ = n_iter
        return model, sel

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        return decision_scores(self.estimator_, bags.instances)

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return segment_max(self._decision_function_instances(bags), bags.offsets)

    _has_proba = proba_available("estimator_", "_resolved_estimator")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities: the largest instance probability of ``classes_[1]``.

        The model's probability, not thresholded: ``predict`` uses ``threshold_`` on the
        decision scale, so it can differ from this 0.5 crossing.

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
        p = self.estimator_.predict_proba(bags.instances)[:, 1]
        return self._proba_from_positive(segment_max(p, bags.offsets))
