"""The estimator contract: base classes every skmil estimator derives from.

:class:`BaseMILClassifier` owns input validation, label encoding and the public
prediction methods; a subclass implements only ``_fit(bags, y)`` and
``_decision_function(bags)`` over the flat :class:`~skmil.bags.Bags` layout, with
``y`` already encoded as 0/1 (1 = ``classes_[1]``, the positive class).
:class:`InstancePredictionMixin` adds ``decision_function_instances`` and
``predict_instances`` for estimators with an instance-level model, so ``hasattr`` tells
the truth. :class:`BaseMILTransformer` does the same for bag transformers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .bags import Bags, check_bag_labels, check_bags

__all__ = [
    "BaseMILClassifier",
    "BaseMILTransformer",
    "InstancePredictionMixin",
    "MILEstimatorMixin",
]


class MILEstimatorMixin:
    """Validation shared by MIL classifiers and transformers."""

    #: NaN/inf are rejected unless a subclass opts in (instance-wise imputers).
    _allow_nan: ClassVar[bool] = False
    #: Fast parameters for the shared contract tests (small iteration counts etc.).
    _contract_test_params: ClassVar[dict[str, Any]] = {}

    def _validate_bags(self, X: Any, *, reset: bool) -> Bags:
        """Check bags; at fit (``reset=True``) record ``n_features_in_``."""
        if reset:
            bags = check_bags(X, allow_nan=self._allow_nan)
            self.n_features_in_ = bags.n_features
            return bags
        check_is_fitted(self)
        return check_bags(
            X,
            allow_nan=self._allow_nan,
            n_features=self.n_features_in_,
            estimator_name=type(self).__name__,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self._allow_nan
        return tags


class BaseMILClassifier(MILEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Base class of every skmil bag classifier.

    Subclasses implement ``_fit(bags, y)`` (``bags`` a :class:`~skmil.bags.Bags`, ``y``
    int64 0/1 with 1 meaning ``classes_[1]``) and ``_decision_function(bags)`` returning
    one float per bag, larger meaning more positive, with 0 as the decision threshold.
    ``predict`` is derived from it, so ``predict`` and ``decision_function`` always agree.

    Labels may be any two values (ints, strings, bools, -1/+1); ``classes_`` is sorted and
    ``classes_[1]`` is the positive class, the one whose bags hold witnesses. More than two
    classes raise an error pointing to :class:`sklearn.multiclass.OneVsRestClassifier`.
    """

    def fit(self, X: Any, y: Any) -> BaseMILClassifier:
        """Fit the model on bags ``X`` with one label per bag ``y``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags (see :func:`skmil.bags.check_bags` for accepted forms).
        y : array-like of shape (n_bags,)
            Bag labels, exactly two distinct values; ``classes_[1]`` is positive.

        Returns
        -------
        self : object
        """
        bags = self._validate_bags(X, reset=True)
        y_enc = self._encode_labels(y, bags.n_bags)
        self._fit(bags, y_enc)
        return self

    def _encode_labels(self, y: Any, n_bags: int) -> np.ndarray:
        y_arr = check_bag_labels(y, n_bags)
        if y_arr.dtype.kind not in "biu":
            # integer and boolean labels are always classes; the generic check costs
            # ~0.6 ms, a tenth of a small alternating fit
            check_classification_targets(y_arr)
        classes, y_enc = np.unique(y_arr, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y has a single class ({classes[0]!r}); MIL classification needs both "
                "positive and negative bags in the training data."
            )
        if classes.shape[0] > 2:
            raise ValueError(
                f"y has {classes.shape[0]} classes {list(classes)[:10]}; "
                f"{type(self).__name__} is a binary MIL classifier. For multi-class bag "
                "labels wrap it: sklearn.multiclass.OneVsRestClassifier("
                f"{type(self).__name__}())."
            )
        self.classes_ = classes
        return y_enc.astype(np.int64).ravel()

    def _fit(self, bags: Bags, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decision_function(self, bags: Bags) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decision_function(self, X: Any) -> np.ndarray:
        """Bag scores: larger means more likely ``classes_[1]``; positive above 0.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)

        Returns
        -------
        scores : ndarray of shape (n_bags,)
        """
        bags = self._validate_bags(X, reset=False)
        return np.asarray(self._decision_function(bags), dtype=np.float64).ravel()

    def predict(self, X: Any) -> np.ndarray:
        """Predicted bag labels (values of ``classes_``).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_bags,)
        """
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(np.intp)]

    def _proba_from_positive(self, p_pos: np.ndarray) -> np.ndarray:
        p_pos = np.clip(np.asarray(p_pos, dtype=np.float64).ravel(), 0.0, 1.0)
        return np.column_stack([1.0 - p_pos, p_pos])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class InstancePredictionMixin:
    """Instance-level predictions for classifiers that have an instance model.

    A subclass implements ``_decision_function_instances(bags)`` returning one score per
    instance (flat, in the order of ``bags.instances``), positive meaning a witness of
    ``classes_[1]``. What the score means (an SVM margin, a probability's log-odds, an
    attention weight) is documented by each estimator.
    """

    def _decision_function_instances(self, bags: Bags) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _predict_instances_mask(self, bags: Bags) -> np.ndarray:
        """Boolean witness mask per instance; default threshold 0 on the instance score."""
        return self._decision_function_instances(bags) > 0

    def decision_function_instances(self, X: Any) -> list[np.ndarray]:
        """Instance scores, one 1-D array per bag, larger meaning more positive.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)

        Returns
        -------
        scores : list of ndarray of shape (n_instances_i,)
        """
        bags = self._validate_bags(X, reset=False)
        scores = np.asarray(self._decision_function_instances(bags), dtype=np.float64)
        return bags.split(scores.ravel())

    def predict_instances(self, X: Any) -> list[np.ndarray]:
        """Instance labels, one array per bag: ``classes_[1]`` for predicted witnesses.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)

        Returns
        -------
        labels : list of ndarray of shape (n_instances_i,)
        """
        bags = self._validate_bags(X, reset=False)
        mask = np.asarray(self._predict_instances_mask(bags), dtype=bool).ravel()
        return bags.split(self.classes_[mask.astype(np.intp)])


class BaseMILTransformer(MILEstimatorMixin, TransformerMixin, BaseEstimator):
    """Base class of skmil's bag transformers.

    Bag embeddings (``BagStatistics``, ``VLADEncoder``, ...) turn bags into a 2-D array
    ``(n_bags, n_output_features)`` for any sklearn classifier; instance-wise
    transformers (``InstanceTransformer``) return new bags. Subclasses implement
    ``_fit(bags, y)`` and ``_transform(bags)``.
    """

    def fit(self, X: Any, y: Any = None) -> BaseMILTransformer:
        """Fit the transformer on training bags.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
        y : array-like of shape (n_bags,), optional
            Bag labels; ignored by unsupervised transformers.

        Returns
        -------
        self : object
        """
        bags = self._validate_bags(X, reset=True)
        if y is not None:
            y = check_bag_labels(y, bags.n_bags)
        self._fit(bags, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params):
        """Fit to ``X`` and transform it, validating the bags once."""
        bags = self._validate_bags(X, reset=True)
        if y is not None:
            y = check_bag_labels(y, bags.n_bags)
        self._fit(bags, y)
        return self._transform(bags)

    def transform(self, X: Any):
        """Transform bags (see the subclass for the output type).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
        """
        bags = self._validate_bags(X, reset=False)
        return self._transform(bags)

    def _fit(self, bags: Bags, y: np.ndarray | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def _transform(self, bags: Bags):  # pragma: no cover - abstract
        raise NotImplementedError
