"""The estimator contract: base classes every skmil estimator derives from.

:class:`BaseMILClassifier` owns parameter validation, input validation, label encoding,
the decision threshold and the public prediction methods; a subclass implements only
``_fit(bags, y)`` and ``_decision_function(bags)`` over the flat :class:`~skmil.bags.Bags`
layout, with ``y`` already encoded as 0/1 (1 = ``classes_[1]``, the positive class).
:class:`InstancePredictionMixin` adds ``decision_function_instances`` and
``predict_instances`` for estimators whose instance scores are witness scores, so
``hasattr`` tells the truth. :class:`BaseMILRegressor` does the same for real-valued bag
targets (``_fit(bags, y)`` with ``y`` float64, ``_predict(bags)``), and
:class:`InstanceRegressionMixin` adds ``predict_instances`` to the regressors that
predict instance targets. :class:`BaseMILTransformer` does the same for bag
transformers.

The instance-prediction contract
--------------------------------
``decision_function_instances(X)`` returns, for every instance, a *witness score* of
``classes_[1]``: positive means the model takes the instance for a witness (an instance
that makes its bag positive), on the same scale and with the same threshold as the bag
scores of ``decision_function``. ``predict_instances(X)`` is that score thresholded at 0:
``classes_[1]`` where the score is positive, ``classes_[0]`` elsewhere. How a bag's score
follows from its instances' scores is declared by the estimator's
:class:`MILTags` ``bag_rule``: ``"max"`` is the standard MI assumption (the bag score is
the largest instance score, so a bag is predicted positive exactly when one of its
instances is), ``"noisy-or"``, ``"mean"``, ``"sum"`` and ``"convex"`` (a weighted mean, as
in attention pooling) are the others. Per-instance outputs that are not witness scores
(attention weights, kernel contributions) are offered under their own names, listed in
``MILTags.instance_outputs``; :func:`skmil.utils.estimator_checks.check_instance_contract`
enforces all of this.

A regressor's ``predict_instances(X)`` returns a predicted *target* for every instance,
on the scale of ``predict``, and its ``bag_rule`` says how the bag's prediction follows
from them (``"max"``: the bag target is its largest instance target, the regression form
of the standard assumption; ``"mean"``: their mean);
:func:`skmil.utils.estimator_checks.check_instance_regression_contract` enforces it.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .bags import Bags, check_bag_labels, check_bags, instance_indices

__all__ = [
    "BaseMILClassifier",
    "BaseMILRegressor",
    "BaseMILTransformer",
    "InstancePredictionMixin",
    "InstanceRegressionMixin",
    "MILEstimatorMixin",
    "MILTags",
    "get_mil_tags",
]

#: Bag rules an estimator can declare (see :class:`MILTags`).
BAG_RULES = ("max", "noisy-or", "mean", "sum", "convex")

# Squared norms above this overflow once a few of them are added (squared distances,
# kernel sums); values whose squares underflow to 0 make every distance 0.
_MAX_SQUARED_NORM = np.finfo(np.float64).max / 16
_MIN_ABS_SCALE = 1e-150


@dataclass(frozen=True)
class MILTags:
    """skmil's estimator tags, beside scikit-learn's ``__sklearn_tags__``.

    Parameters
    ----------
    instance_scores : bool
        ``decision_function_instances`` returns witness scores of ``classes_[1]`` and
        ``predict_instances`` thresholds them at 0 (see the module docstring); for a
        regressor, ``predict_instances`` returns predicted instance targets.
    bag_rule : {"max", "noisy-or", "mean", "sum", "convex"} or None
        How a bag's decision value (a regressor's prediction) follows from its instances'
        witness scores (predicted targets) ``s``:
        ``"max"`` the largest ``s`` (the standard MI assumption), ``"noisy-or"``
        ``logit(1 - prod(1 - sigmoid(s + t))) - t`` with ``t = threshold_``, ``"mean"`` and
        ``"sum"`` their mean and sum, ``"convex"`` a weighted mean (between the smallest
        and the largest ``s``). None when no such relation holds.
    instance_outputs : tuple of str
        Names of methods that return other per-instance outputs (one array per bag) that
        are *not* witness scores, e.g. ``"attention_weights"``.
    pairwise : bool
        The estimator takes bags of precomputed instance-kernel rows
        (``kernel="precomputed"``); scikit-learn's ``pairwise`` tag is set to match.

    Examples
    --------
    >>> from skmil.base import get_mil_tags
    >>> from skmil.svm import SIL
    >>> get_mil_tags(SIL()).bag_rule
    'max'
    """

    instance_scores: bool = False
    bag_rule: str | None = None
    instance_outputs: tuple[str, ...] = ()
    pairwise: bool = False


def get_mil_tags(estimator: Any) -> MILTags:
    """The :class:`MILTags` of an estimator (defaults for a non-skmil estimator).

    Parameters
    ----------
    estimator : estimator instance
        Any estimator, fitted or not.

    Returns
    -------
    MILTags
        Its declared MIL tags.

    Examples
    --------
    >>> from skmil.base import get_mil_tags
    >>> from skmil.embedding import SimpleMI
    >>> get_mil_tags(SimpleMI()).instance_scores
    False
    """
    method = getattr(estimator, "__mil_tags__", None)
    return method() if method is not None else MILTags()


def _bag_feature_names(X: Any) -> np.ndarray | None:
    """Column names when the bags are pandas/polars DataFrames with string columns."""
    if isinstance(X, Bags) or not isinstance(X, (list, tuple)) or not X:
        return None
    first = X[0]
    columns = getattr(first, "columns", None)
    if columns is None or not hasattr(first, "shape"):
        return None
    names = np.asarray([str(c) for c in columns], dtype=object)
    if not all(isinstance(c, str) for c in columns):
        return None
    for i, bag in enumerate(X[1:], start=1):
        other = getattr(bag, "columns", None)
        if other is None or list(map(str, other)) != list(names):
            raise ValueError(
                f"Bag {i} has columns {list(other) if other is not None else None}, but bag 0 "
                f"has {list(names)}; every bag must have the same feature columns."
            )
    return names


def _check_scale(bags: Bags, name: str) -> None:
    """Refuse instances whose scale overflows or underflows squared distances."""
    X = bags.instances
    if X.size == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        sq = np.einsum("ij,ij->i", X, X)
    bad = np.flatnonzero(sq > _MAX_SQUARED_NORM)
    if bad.size:
        bag = int(np.searchsorted(bags.offsets, bad[0], side="right") - 1)
        top = float(np.nanmax(np.abs(bags[bag])))
        raise ValueError(
            f"Bag {bag} has values up to {top:.3g}: squared distances and kernel sums of "
            f"such instances overflow float64, so {name} would return NaN or infinite "
            "scores. Standardise the features first, e.g. make_pipeline("
            f"skmil.preprocessing.InstanceTransformer(), {name}())."
        )
    # fmax/fmin skip NaN (allowed where the estimator accepts missing values) and need no
    # |X| temporary, which would double the memory of a large training set
    top = float(max(np.fmax.reduce(X, axis=None), -np.fmin.reduce(X, axis=None)))
    if 0.0 < top < _MIN_ABS_SCALE:
        raise ValueError(
            f"Every value of the bags is below {top:.3g} in magnitude: their squares "
            f"underflow float64 to 0, so {name} would see identical instances. Standardise "
            "the features first, e.g. make_pipeline(skmil.preprocessing.InstanceTransformer(), "
            f"{name}())."
        )


def _check_finite_output(values: np.ndarray, offsets: np.ndarray | None, name: str,
                         what: str) -> None:
    """Raise ``ValueError`` naming the bags whose outputs are NaN or infinite."""
    finite = np.isfinite(values)
    if finite.all():
        return
    rows = np.flatnonzero(~finite.reshape(finite.shape[0], -1).all(axis=1))
    bags = rows if offsets is None else np.unique(
        np.searchsorted(offsets, rows, side="right") - 1)
    shown = ", ".join(str(int(b)) for b in bags[:5]) + (" ..." if bags.size > 5 else "")
    raise ValueError(
        f"{name} produced non-finite {what} for {bags.size} bag(s) ({shown}). The "
        "computation overflowed or underflowed: standardise the features (e.g. "
        "skmil.preprocessing.InstanceTransformer) or check the fitted model's parameters."
    )


def _partial_label_estimators() -> list[str]:
    """Names of the registered estimators whose ``fit`` takes ``instance_labels``."""
    from .utils import all_estimators

    return [name for name, cls in all_estimators("classifier")
            if getattr(cls, "_partial_instance_labels", False)]


def _check_instance_labels(estimator: Any, instance_labels: Any, bags: Bags,
                           y: np.ndarray) -> np.ndarray:
    """Validate known instance labels; return them flat (float64, NaN = unknown).

    ``instance_labels`` holds one 1-D array per bag with 1 (a witness of
    ``classes_[1]``), 0 (a negative instance) or NaN (unknown); ``y`` are the bag labels
    encoded 0/1. Under the standard MI assumption a negative bag has no witness and a
    positive bag at least one, so a 1 in a negative bag, or a positive bag whose every
    instance is 0, is refused.
    """
    name = type(estimator).__name__
    if not getattr(estimator, "_partial_instance_labels", False):
        raise TypeError(
            f"{name} does not learn from known instance labels; fit it without "
            "instance_labels, or use one of the estimators that accept them: "
            f"{', '.join(_partial_label_estimators())}."
        )
    if isinstance(instance_labels, (str, bytes)) or not hasattr(instance_labels, "__len__"):
        raise TypeError(
            f"instance_labels must be a sequence with one 1-D array per bag, got "
            f"{type(instance_labels).__name__}."
        )
    if len(instance_labels) != bags.n_bags:
        raise ValueError(
            f"instance_labels has {len(instance_labels)} entries but there are "
            f"{bags.n_bags} bags; pass one 1-D array per bag (NaN for unknown labels)."
        )
    out = np.empty(bags.n_instances, dtype=np.float64)
    for i, lab in enumerate(instance_labels):
        try:
            arr = np.asarray(lab, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"instance_labels[{i}] (bag {i}) is not numeric: use 1 (witness of the "
                "positive class), 0 (negative instance) or NaN (unknown)."
            ) from exc
        if arr.ndim != 1 or arr.shape[0] != bags.sizes[i]:
            raise ValueError(
                f"instance_labels[{i}] has shape {arr.shape}, but bag {i} has "
                f"{int(bags.sizes[i])} instances; pass one label per instance (NaN for "
                "unknown)."
            )
        bad = np.flatnonzero(~np.isnan(arr) & (arr != 0) & (arr != 1))
        if bad.size:
            row = int(bad[0])
            raise ValueError(
                f"instance_labels[{i}][{row}] (bag {i}, row {row}) is {float(arr[row])!r}; "
                "known instance labels are 1 (witness of classes_[1]), 0 (negative) or "
                "NaN (unknown)."
            )
        if y[i] == 0 and (arr == 1).any():
            row = int(np.flatnonzero(arr == 1)[0])
            raise ValueError(
                f"instance_labels[{i}][{row}] (bag {i}, row {row}) marks a witness of the "
                "positive class in a negative bag, which contradicts the standard MI "
                "assumption (a negative bag has no witness); fix the bag label or the "
                "instance label."
            )
        if y[i] == 1 and arr.size and (arr == 0).all():
            raise ValueError(
                f"instance_labels[{i}] labels every instance of positive bag {i} negative, "
                "which contradicts the standard MI assumption (a positive bag has a "
                "witness); fix the bag label or leave some instance labels NaN."
            )
        out[bags.offsets[i]:bags.offsets[i + 1]] = arr
    return out


def _take_instance_values(values: np.ndarray, bags: Bags, order: np.ndarray) -> np.ndarray:
    """Per-instance ``values`` of ``bags`` rearranged as those of ``bags.take(order)``."""
    return values[instance_indices(bags.offsets, np.asarray(order, dtype=np.int64))]


class MILEstimatorMixin:
    """Validation shared by MIL classifiers and transformers."""

    #: NaN/inf are rejected unless a subclass opts in (instance-wise imputers).
    _allow_nan: ClassVar[bool] = False
    #: Refuse instances whose scale overflows squared distances (see ``_check_scale``);
    #: off for instance-wise transformers, which are how such data gets standardised.
    _check_input_scale: ClassVar[bool] = True
    #: Optional packages the estimator needs (the registry skips it when one is missing).
    _required_dependencies: ClassVar[tuple[str, ...]] = ()
    #: Parameter constraints, checked once at the start of ``fit`` (scikit-learn's format).
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    def _validate_bags(self, X: Any, *, reset: bool) -> Bags:
        """Check bags; at fit (``reset=True``) record ``n_features_in_`` and feature names."""
        names = _bag_feature_names(X)
        if reset:
            bags = check_bags(X, allow_nan=self._allow_nan)
            self.n_features_in_ = bags.n_features
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            check_is_fitted(self)
            self._check_feature_names(names)
            bags = check_bags(
                X,
                allow_nan=self._allow_nan,
                n_features=self.n_features_in_,
                estimator_name=type(self).__name__,
            )
        if self._check_input_scale and not getattr(bags, "_validated", False):
            _check_scale(bags, type(self).__name__)
        return bags

    def _check_feature_names(self, names: np.ndarray | None) -> None:
        fitted = getattr(self, "feature_names_in_", None)
        label = type(self).__name__
        if fitted is None:
            if names is not None:
                warnings.warn(
                    f"The bags have feature names, but {label} was fitted without them.",
                    UserWarning, stacklevel=4,
                )
            return
        if names is None:
            warnings.warn(
                f"The bags have no feature names, but {label} was fitted with feature "
                "names.", UserWarning, stacklevel=4,
            )
            return
        if list(names) != list(fitted):
            missing = [n for n in fitted if n not in set(names)]
            unexpected = [n for n in names if n not in set(fitted)]
            detail = []
            if unexpected:
                detail.append(f"unseen at fit: {unexpected[:5]}")
            if missing:
                detail.append(f"seen at fit but missing: {missing[:5]}")
            if not detail:
                detail.append("same names in another order")
            raise ValueError(
                f"The bags' feature names differ from those {label} was fitted with ("
                + "; ".join(detail) + "). Pass the columns of the training bags, in order."
            )

    def _canonical_training_set(self, bags: Bags, y: np.ndarray | None):
        """The training bags in canonical order, so the model ignores their given order.

        The permutation (:func:`skmil._inner_cv.canonical_order`) is kept in
        ``_train_order``: training bag ``i`` seen by ``_fit`` is the user's bag
        ``_train_order[i]``, which is how fitted attributes that index training bags
        (``support_``, ...) are mapped back to the user's numbering.
        """
        from ._inner_cv import bag_hash_keys, canonical_order

        pairwise = bool(getattr(self, "_pairwise_bags", False)) and (
            bags.n_features == bags.n_instances)
        keys = bag_hash_keys(bags, pairwise)
        order = canonical_order(bags, np.zeros(bags.n_bags) if y is None else y, pairwise,
                                keys=keys)
        self._train_order = order
        if np.array_equal(order, np.arange(bags.n_bags)):
            return bags, y
        if pairwise:
            bags = bags.take_pairwise(order, order)
        else:
            bags = bags.take(order)
            # a private copy: its folds (Bags.take) inherit the keys instead of rehashing,
            # and skip the input checks when they all ran on it
            bags._hash_keys = keys[order]
            bags._validated = not self._allow_nan and self._check_input_scale
        return bags, (None if y is None else y[order])

    def _validate_params(self) -> None:
        """Check ``_parameter_constraints`` (before any work; raises ``InvalidParameterError``)."""
        from sklearn import get_config

        if get_config().get("skip_parameter_validation", False):
            return
        from .utils._param_validation import validate_parameter_constraints

        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def __mil_tags__(self) -> MILTags:
        return MILTags(pairwise=bool(getattr(self, "_pairwise_bags", False)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self._allow_nan
        tags.input_tags.pairwise = bool(getattr(self, "_pairwise_bags", False))
        return tags


class BaseMILClassifier(MILEstimatorMixin, ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of every skmil bag classifier.

    Subclasses implement ``_fit(bags, y)`` (``bags`` a :class:`~skmil.bags.Bags`, ``y``
    int64 0/1 with 1 meaning ``classes_[1]``) and ``_decision_function(bags)`` returning
    one float per bag, larger meaning more positive, with 0 as the model's own decision
    threshold. ``predict`` is derived from ``decision_function``, so the two always agree.

    Estimators with a ``threshold`` parameter get it applied here, once, the same way
    for all: ``threshold`` is an offset on the scale of ``_decision_function`` (an SVM
    margin, or the log-odds of a probability model), ``threshold_`` is the value used, and
    ``decision_function`` and ``decision_function_instances`` return the raw scores minus
    ``threshold_``. ``threshold="auto"`` chooses it by inner cross-validation
    (:func:`skmil._threshold.cv_threshold`). ``_fit`` may set ``threshold_`` itself when
    it chooses it jointly with other parameters on the same inner folds.

    Labels may be any two values (ints, strings, bools, -1/+1); ``classes_`` is sorted and
    ``classes_[1]`` is the positive class, the one whose bags hold witnesses. More than two
    classes raise an error pointing to :class:`sklearn.multiclass.OneVsRestClassifier`,
    except in an estimator that declares ``_multi_class``: there ``y`` is encoded as
    ``0 .. K-1`` (the index in ``classes_``), ``_decision_function`` returns one score per
    bag and class ``(n_bags, K)``, ``predict`` is the class of the largest score, and
    ``threshold`` (a binary offset) must be 0. scikit-learn's ``multi_class`` tag says
    which.
    """

    #: ``fit`` accepts ``instance_labels`` (known labels of some instances); such an
    #: estimator's ``_fit`` takes them as ``_fit(bags, y, instance_labels=known)``.
    _partial_instance_labels: ClassVar[bool] = False
    #: The estimator learns K >= 3 classes natively (see the class docstring).
    _multi_class: ClassVar[bool] = False

    def fit(self, X: Any, y: Any, *, instance_labels: Any = None) -> BaseMILClassifier:
        """Fit the model on bags ``X`` with one label per bag ``y``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags (see :func:`skmil.bags.check_bags` for accepted forms).
        y : array-like of shape (n_bags,)
            Bag labels, exactly two distinct values; ``classes_[1]`` is positive.
        instance_labels : sequence of array-like of shape (n_instances_i,), default=None
            Known labels of some training instances, one 1-D array per bag: ``1`` for
            a known witness (an instance of class ``classes_[1]``), ``0`` for a known
            negative instance, NaN for unknown. Only estimators that learn from them
            accept it (others raise ``TypeError``); None fits on the bag labels alone.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        bags = self._validate_bags(X, reset=True)
        y_enc = self._encode_labels(y, bags.n_bags)
        known = None
        if instance_labels is not None and self.classes_.shape[0] > 2:
            raise ValueError(
                f"{type(self).__name__}: instance_labels mark witnesses of the positive "
                f"class of a binary problem, but y has {self.classes_.shape[0]} classes."
            )
        if instance_labels is not None:
            known = _check_instance_labels(self, instance_labels, bags, y_enc)
        bags_given = bags
        bags, y_enc = self._canonical_training_set(bags, y_enc)
        if known is not None:
            # the known labels follow their bags into the canonical order
            known = _take_instance_values(known, bags_given, self._train_order)
        del bags_given  # the reordered copy is the training set: one copy in memory, not two
        if "threshold_" in vars(self):
            del self.threshold_
        if known is None:
            self._fit(bags, y_enc)
        else:
            self._fit(bags, y_enc, instance_labels=known)
        if "threshold" in self.get_params(deep=False) and "threshold_" not in vars(self):
            if self.classes_.shape[0] > 2:
                self.threshold_ = 0.0  # checked in _encode_labels: no offset for K > 2
            else:
                from ._threshold import cv_threshold

                self.threshold_ = cv_threshold(self, bags, y_enc, instance_labels=known)
        self._check_training_scores(bags)
        return self

    def _encode_labels(self, y: Any, n_bags: int) -> np.ndarray:
        y_arr = check_bag_labels(y, n_bags)
        if y_arr.dtype.kind == "f" and np.any(y_arr != np.round(y_arr)):
            bad = int(np.flatnonzero(y_arr != np.round(y_arr))[0])
            raise ValueError(
                f"y holds continuous values (bag {bad} has {y_arr[bad]!r}); "
                f"{type(self).__name__} is a MIL classifier. For real-valued bag targets "
                "use a MIL regressor (skmil.utils.all_estimators('regressor'))."
            )
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
        if classes.shape[0] > 2 and not self._multi_class:
            raise ValueError(
                f"y has {classes.shape[0]} classes {list(classes)[:10]}; "
                f"{type(self).__name__} is a binary MIL classifier. For multi-class bag "
                "labels wrap it: sklearn.multiclass.OneVsRestClassifier("
                f"{type(self).__name__}())."
            )
        if classes.shape[0] > 2:
            threshold = self.get_params(deep=False).get("threshold", 0.0)
            if not (isinstance(threshold, (int, float)) and threshold == 0.0):
                raise ValueError(
                    f"{type(self).__name__}: threshold={threshold!r} is an offset of a "
                    f"binary decision, but y has {classes.shape[0]} classes; leave "
                    "threshold at 0.0 (predict takes the class of the largest score)."
                )
        self.classes_ = classes
        return y_enc.astype(np.int64).ravel()

    @abstractmethod
    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        """Fit on validated bags and 0/1 labels."""

    @abstractmethod
    def _decision_function(self, bags: Bags) -> np.ndarray:
        """Raw bag scores (before ``threshold_``), one per bag, positive above 0."""

    def _threshold_offset(self) -> float:
        return float(getattr(self, "threshold_", 0.0))

    def _check_training_scores(self, bags: Bags) -> None:
        """Refuse non-finite training scores; warn when every training bag scores the same.

        A ``_fit`` that has the training bags' raw scores at hand may leave them in
        ``_training_scores`` (one per training bag, in ``bags``' order) to spare a second
        pass over the training data.
        """
        scores = self.__dict__.pop("_training_scores", None)
        if scores is None:
            scores = self._decision_function(bags)
        scores = np.asarray(scores, dtype=np.float64).ravel()
        name = type(self).__name__
        _check_finite_output(scores, None, name, "scores on its training bags")
        if scores.size > 1 and np.ptp(scores) <= 1e-12 * max(1.0, float(np.abs(scores).max())):
            warnings.warn(
                f"{name} scores every training bag the same ({scores[0]:.6g}), so it predicts "
                "one class for every bag. The features' scale may be extreme or the features "
                "constant: standardise them (skmil.preprocessing.InstanceTransformer) or "
                "check the parameters.",
                UserWarning,
                stacklevel=3,
            )

    def decision_function(self, X: Any) -> np.ndarray:
        """Bag scores: larger means more likely ``classes_[1]``; positive above 0.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags to score.

        Returns
        -------
        scores : ndarray of shape (n_bags,) or (n_bags, n_classes)
            One score per bag; with more than two classes (estimators that learn them
            natively), one per bag and class, in the order of ``classes_``.
        """
        bags = self._validate_bags(X, reset=False)
        scores = np.asarray(self._decision_function(bags), dtype=np.float64)
        if self.classes_.shape[0] > 2:  # (n_bags, K), no offset
            scores = scores.reshape(bags.n_bags, self.classes_.shape[0])
        else:
            scores = scores.ravel() - self._threshold_offset()
        _check_finite_output(scores, None, type(self).__name__, "scores")
        return scores

    def predict(self, X: Any) -> np.ndarray:
        """Predicted bag labels (values of ``classes_``).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_bags,)
            One label per bag.
        """
        scores = self.decision_function(X)
        if scores.ndim == 2:  # K > 2 classes: the largest score, ties to the earlier class
            return self.classes_[np.argmax(scores, axis=1)]
        return self.classes_[(scores > 0).astype(np.intp)]

    def _proba_from_positive(self, p_pos: np.ndarray) -> np.ndarray:
        p_pos = np.asarray(p_pos, dtype=np.float64).ravel()
        _check_finite_output(p_pos, None, type(self).__name__, "probabilities")
        p_pos = np.clip(p_pos, 0.0, 1.0)
        return np.column_stack([1.0 - p_pos, p_pos])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self._multi_class
        return tags


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _check_targets(y: Any, n_bags: int, name: str) -> np.ndarray:
    """Real-valued bag targets as finite float64, or a clear error naming the bag."""
    y_arr = check_bag_labels(y, n_bags)
    if y_arr.dtype.kind not in "biuf":
        try:
            y_arr = y_arr.astype(np.float64)
        except (TypeError, ValueError):
            bad = next(i for i, v in enumerate(y_arr) if not _is_number(v))
            raise ValueError(
                f"{name} is a MIL regressor: y must hold one real number per bag, but bag "
                f"{bad} has {y_arr[bad]!r}. For class labels use a MIL classifier."
            ) from None
    y_arr = y_arr.astype(np.float64)
    if not np.isfinite(y_arr).all():
        bad = int(np.flatnonzero(~np.isfinite(y_arr))[0])
        raise ValueError(f"y contains NaN or infinity (bag {bad}); every bag needs a "
                         "finite target.")
    return y_arr


def _target_location_scale(y: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of targets ``y``, the scale 1.0 for constant targets.

    The regressors that fit standardised targets, ``(y - mean) / scale``, take both from
    here, so that ``epsilon`` and the other target-scale defaults mean the same in each.
    """
    mean, scale = float(np.mean(y)), float(np.std(y))
    return mean, (scale if scale > 0 else 1.0)


class BaseMILRegressor(MILEstimatorMixin, RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of every skmil bag regressor.

    Subclasses implement ``_fit(bags, y)`` (``bags`` a :class:`~skmil.bags.Bags`, ``y``
    the finite float64 bag targets) and ``_predict(bags)`` returning one float per bag.
    ``score`` is scikit-learn's: the coefficient of determination R^2 of ``predict``.
    Targets may be any real numbers (ints and bools are read as numbers); the fit sees
    the bags in skmil's canonical order, so the model does not depend on the order in
    which they were given.
    """

    def fit(self, X: Any, y: Any) -> BaseMILRegressor:
        """Fit the model on bags ``X`` with one real-valued target per bag ``y``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags (see :func:`skmil.bags.check_bags` for accepted forms).
        y : array-like of shape (n_bags,)
            Bag targets, finite real numbers.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        bags = self._validate_bags(X, reset=True)
        y_arr = _check_targets(y, bags.n_bags, type(self).__name__)
        bags, y_arr = self._canonical_training_set(bags, y_arr)
        self._fit(bags, y_arr)
        pred = np.asarray(self._predict(bags), dtype=np.float64).ravel()
        _check_finite_output(pred, None, type(self).__name__, "predictions on its training bags")
        return self

    @abstractmethod
    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        """Fit on validated bags and float64 targets."""

    @abstractmethod
    def _predict(self, bags: Bags) -> np.ndarray:
        """Predicted targets, one per bag."""

    def predict(self, X: Any) -> np.ndarray:
        """Predicted bag targets.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_bags,)
            One predicted target per bag.
        """
        bags = self._validate_bags(X, reset=False)
        pred = np.asarray(self._predict(bags), dtype=np.float64).ravel()
        _check_finite_output(pred, None, type(self).__name__, "predictions")
        return pred


class InstanceRegressionMixin:
    """Instance targets for regressors whose bag prediction follows from them.

    A subclass implements ``_predict_instances(bags)`` returning one predicted target per
    instance (flat, in the order of ``bags.instances``, on the scale of ``predict``) and
    declares in ``_bag_rule`` how the bag's prediction follows from its instances'
    (``"max"`` or ``"mean"``; see :class:`MILTags`). A subclass whose instance targets
    exist only in some configurations says which in ``_has_instance_targets``; in the
    others ``predict_instances`` is absent (``hasattr`` is False) and
    ``MILTags.instance_scores`` is False.
    """

    @abstractmethod
    def _predict_instances(self, bags: Bags) -> np.ndarray:
        """Predicted targets, one per instance of ``bags``."""

    def _bag_rule(self) -> str | None:
        """The bag rule of the fitted configuration (see :class:`MILTags`)."""
        return "max"

    def _has_instance_targets(self) -> bool:
        """Whether this configuration has instance targets (default: always)."""
        return True

    def __mil_tags__(self) -> MILTags:
        base = super().__mil_tags__()
        if not self._has_instance_targets():
            return MILTags(instance_outputs=base.instance_outputs, pairwise=base.pairwise)
        return MILTags(instance_scores=True, bag_rule=self._bag_rule(),
                       instance_outputs=base.instance_outputs, pairwise=base.pairwise)

    @available_if(lambda self: self._has_instance_targets())
    def predict_instances(self, X: Any) -> list[np.ndarray]:
        """Predicted instance targets, one 1-D array per bag.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags whose instances to predict.

        Returns
        -------
        targets : list of ndarray of shape (n_instances_i,)
            On the scale of ``predict``; the bag rule (``get_mil_tags(est).bag_rule``)
            maps each bag's array to its prediction.
        """
        bags = self._validate_bags(X, reset=False)
        pred = np.asarray(self._predict_instances(bags), dtype=np.float64).ravel()
        _check_finite_output(pred, bags.offsets, type(self).__name__, "instance predictions")
        return bags.split(pred)


class InstancePredictionMixin:
    """Witness scores and labels for classifiers whose instance scores are witness scores.

    A subclass implements ``_decision_function_instances(bags)`` returning one raw score
    per instance (flat, in the order of ``bags.instances``, on the scale of
    ``_decision_function`` and before ``threshold_``), positive meaning a witness of
    ``classes_[1]``, and declares its bag rule in ``__mil_tags__`` (see :class:`MILTags`).
    ``predict_instances`` is always ``decision_function_instances > 0``.
    """

    @abstractmethod
    def _decision_function_instances(self, bags: Bags) -> np.ndarray:
        """Raw witness scores, one per instance of ``bags``."""

    def _bag_rule(self) -> str | None:
        """The bag rule of the fitted configuration (see :class:`MILTags`)."""
        return "max"

    def __mil_tags__(self) -> MILTags:
        base = super().__mil_tags__()
        return MILTags(
            instance_scores=True,
            bag_rule=self._bag_rule(),
            instance_outputs=base.instance_outputs,
            pairwise=base.pairwise,
        )

    def _instance_scores(self, bags: Bags) -> np.ndarray:
        if self.classes_.shape[0] > 2:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.classes_.shape[0]} classes; "
                "witness scores belong to the positive class of a binary problem. For "
                "instance scores per class fit one binary model per class, e.g. "
                f"sklearn.multiclass.OneVsRestClassifier({type(self).__name__}())."
            )
        scores = np.asarray(self._decision_function_instances(bags), dtype=np.float64).ravel()
        offset = self._threshold_offset()
        if self._bag_rule() == "sum":
            # the bag score is its instances' sum minus threshold_, so each instance
            # takes an even share of the threshold
            offset = offset / np.repeat(bags.sizes, bags.sizes)
        scores = scores - offset
        _check_finite_output(scores, bags.offsets, type(self).__name__, "instance scores")
        return scores

    def decision_function_instances(self, X: Any) -> list[np.ndarray]:
        """Witness scores of ``classes_[1]``, one 1-D array per bag; positive = witness.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags whose instances to score.

        Returns
        -------
        scores : list of ndarray of shape (n_instances_i,)
            On the scale of ``decision_function`` and with the same threshold.
        """
        bags = self._validate_bags(X, reset=False)
        return bags.split(self._instance_scores(bags))

    def predict_instances(self, X: Any) -> list[np.ndarray]:
        """Instance labels, one array per bag: ``classes_[1]`` for predicted witnesses.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags whose instances to label.

        Returns
        -------
        labels : list of ndarray of shape (n_instances_i,)
            ``classes_[1]`` where ``decision_function_instances`` is positive.
        """
        bags = self._validate_bags(X, reset=False)
        mask = self._instance_scores(bags) > 0
        return bags.split(self.classes_[mask.astype(np.intp)])


class BaseMILTransformer(MILEstimatorMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of skmil's bag transformers.

    Bag embeddings (``BagStatistics``, ``VLADEncoder``, ...) turn bags into a 2-D array
    ``(n_bags, n_output_features)`` for any sklearn classifier; instance-wise
    transformers (``InstanceTransformer``) return new bags. Subclasses implement
    ``_fit(bags, y)`` and ``_transform(bags)``; bag embeddings also give their output
    width as ``_n_features_out`` (or override ``get_feature_names_out``), which makes
    ``get_feature_names_out`` and ``set_output(transform="pandas")`` work.
    """

    def fit(self, X: Any, y: Any = None) -> BaseMILTransformer:
        """Fit the transformer on training bags.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags.
        y : array-like of shape (n_bags,), optional
            Bag labels; ignored by unsupervised transformers.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit_validated(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params):
        """Fit to ``X`` and transform it, validating the bags once.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Training bags.
        y : array-like of shape (n_bags,), optional
            Bag labels; ignored by unsupervised transformers.
        **fit_params : dict
            Unused; accepted for scikit-learn compatibility.

        Returns
        -------
        Xt : ndarray of shape (n_bags, n_output_features) or Bags
            The transformed training bags.
        """
        return self._checked_transform(self._fit_validated(X, y))

    def _fit_validated(self, X: Any, y: Any) -> Bags:
        """Validate parameters, bags and labels, fit, and return the validated bags."""
        self._validate_params()
        bags = self._validate_bags(X, reset=True)
        if y is not None:
            y = check_bag_labels(y, bags.n_bags)
        self._fit(*self._canonical_training_set(bags, y))
        return bags

    def transform(self, X: Any):
        """Transform bags (see the subclass for the output type).

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            Bags to transform.

        Returns
        -------
        Xt : ndarray of shape (n_bags, n_output_features) or Bags
            The transformed bags.
        """
        bags = self._validate_bags(X, reset=False)
        return self._checked_transform(bags)

    def _checked_transform(self, bags: Bags):
        out = self._transform(bags)
        values = out.instances if isinstance(out, Bags) else out
        if isinstance(values, np.ndarray) and values.dtype.kind == "f" and not self._allow_nan:
            offsets = out.offsets if isinstance(out, Bags) else None
            _check_finite_output(values, offsets, type(self).__name__, "features")
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, optional
            Unused except for validation; the output names come from the fitted model.

        Returns
        -------
        names : ndarray of str
            ``<classname><i>`` for each output column, unless the transformer names them.
        """
        check_is_fitted(self)
        n_out = self._n_features_out
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(n_out)], dtype=object)

    @abstractmethod
    def _fit(self, bags: Bags, y: np.ndarray | None) -> None:
        """Fit on validated bags (labels as given, or None)."""

    @abstractmethod
    def _transform(self, bags: Bags):
        """Transform validated bags."""
