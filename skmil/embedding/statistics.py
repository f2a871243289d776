"""Bag statistics (SimpleMI): per-bag mean/min/max/std/... of every feature, then a
classifier or a regressor."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.utils.metaestimators import available_if

from .._inner_cv import C_GRID, best_index, cv_results, inner_cv_splits
from .._kernels.segments import bag_statistics, segment_mean, segment_median
from .._kernels.set_kernel import instance_kernel
from ..bags import Bags
from ..base import BaseMILTransformer
from ..svm._common import EPSILON_CONSTRAINT
from ..utils._param_validation import Subset
from ._codebook import EmbeddingClassifier, EmbeddingRegressor
from ._streaming import PartialFitMixin

__all__ = ["BagStatistics", "SimpleMI", "SimpleMIRegressor"]

#: The statistics in output order (the first four are those of the one-pass kernel).
_STATISTICS = ("mean", "min", "max", "std", "median", "geomean", "midrange", "range")
#: Names that stand for several statistics: Weka SimpleMI's "minimax" is the min block
#: followed by the max block, which is what ("min", "max") gives in output order.
_SHORTHANDS = {"minmax": ("min", "max")}
_KERNEL_STATISTICS = ("mean", "min", "max", "std")


def _ordered_statistics(statistics: Any) -> tuple[str, ...]:
    stats = (statistics,) if isinstance(statistics, str) else tuple(statistics)
    expanded = {name for s in stats for name in _SHORTHANDS.get(s, (s,))}
    # the blocks come in one fixed order, whatever order ``statistics`` lists them in
    return tuple(s for s in _STATISTICS if s in expanded)


def _check_positive(bags: Bags) -> None:
    """Refuse values <= 0, whose logarithm the geometric mean needs."""
    X = bags.instances
    bad = np.argwhere(~(X > 0))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        bag = int(np.searchsorted(bags.offsets, row, side="right") - 1)
        raise ValueError(
            f"Bag {bag}, row {row - int(bags.offsets[bag])}, feature {col} is "
            f"{float(X[row, col]):.6g}: "
            "the geometric mean ('geomean') is defined for positive values only, and "
            f"{bad.shape[0]} value(s) are <= 0. Shift the features to positive values "
            "first (subtract a lower bound of each feature and add 1, before any "
            "standardisation) or drop 'geomean'."
        )


class BagStatistics(PartialFitMixin, BaseMILTransformer):
    """Embed each bag as per-feature statistics of its instances.

    The output has one block of ``n_features`` columns per statistic, in the order
    mean, min, max, std, median, geomean, midrange, range (whatever order
    ``statistics`` lists them in). With ``"mean"`` alone this is the SimpleMI embedding
    (Weka's "arithmetic average"); mean + min + max is the usual strong baseline. Mean,
    min, max and std come from one numba pass over the flat instance array (linear in
    N), the median from a per-bag sort. Nothing is learned from the bags, so
    :meth:`partial_fit` on any batch fits what ``fit`` does.

    Parameters
    ----------
    statistics : str or tuple of str, default=("mean", "min", "max")
        Any of ``"mean"``, ``"min"``, ``"max"``, ``"std"`` (population std, 0 for a
        one-instance bag), ``"median"`` (the mean of the two middle values for an even
        count, as :func:`numpy.median`), ``"geomean"`` (geometric mean
        ``exp(mean(log x))``; every value must be positive, else a ``ValueError``
        names the first bag, row and feature that is not), ``"midrange"``
        (``(min + max) / 2``, the centre of the bag's bounding box: what Weka's
        SimpleMI calls its "geometric average"), ``"range"`` (``max - min``) and the
        shorthand ``"minmax"`` for ``"min"`` and ``"max"`` (Weka SimpleMI's "minimax":
        the min block, then the max block).

    Attributes
    ----------
    n_features_in_ : int
    statistics_ : tuple of str
        The statistics in output order (shorthands expanded).

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding import BagStatistics
    >>> bags = [np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[4.0, 5.0]])]
    >>> BagStatistics(statistics=("mean", "max")).fit_transform(bags)
    array([[1., 2., 2., 3.],
           [4., 5., 4., 5.]])
    """

    _parameter_constraints: dict = {"statistics": [Subset(_STATISTICS + tuple(_SHORTHANDS))]}

    def __init__(self, *, statistics: Any = ("mean", "min", "max")) -> None:
        self.statistics = statistics

    def _fit(self, bags: Bags, y) -> None:
        self._stream = None
        self.statistics_ = _ordered_statistics(self.statistics)

    def _partial_fit(self, bags: Bags, first: bool) -> None:
        if first:
            self._fit(bags, None)
            self._stream = True

    def _transform(self, bags: Bags) -> np.ndarray:
        stats = self.statistics_
        if all(s in _KERNEL_STATISTICS for s in stats):
            return bag_statistics(bags.instances, bags.offsets, stats)
        X, offsets = bags.instances, bags.offsets
        d = X.shape[1]
        # the one-pass kernel computes what it can (min and max for midrange and range)
        need = set(stats) & set(_KERNEL_STATISTICS)
        if {"midrange", "range"} & set(stats):
            need |= {"min", "max"}
        base_order = tuple(s for s in _KERNEL_STATISTICS if s in need)
        blocks: dict[str, np.ndarray] = {}
        if base_order:
            base = bag_statistics(X, offsets, base_order)
            for i, s in enumerate(base_order):
                blocks[s] = base[:, i * d:(i + 1) * d]
        if "median" in stats:
            blocks["median"] = segment_median(X, offsets)
        if "geomean" in stats:
            _check_positive(bags)
            blocks["geomean"] = np.exp(segment_mean(np.log(X), offsets))
        if "midrange" in stats:
            # min + (max - min) / 2 cannot overflow where (min + max) / 2 could
            blocks["midrange"] = blocks["min"] + (blocks["max"] - blocks["min"]) / 2
        if "range" in stats:
            blocks["range"] = blocks["max"] - blocks["min"]
        return np.hstack([blocks[s] for s in stats])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Output names such as ``mean_f0`` or ``max_<input name>``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Names of the input features; default ``f0 .. f{n_features_in_ - 1}``.

        Returns
        -------
        names : ndarray of str
            One name per output column: each statistic of each input feature.
        """
        if input_features is None:
            input_features = [f"f{k}" for k in range(self.n_features_in_)]
        return np.asarray(
            [f"{s}_{f}" for s in self.statistics_ for f in input_features], dtype=object
        )


class SimpleMI(EmbeddingClassifier):
    """Bag statistics followed by a standard classifier (the SimpleMI baseline).

    Equivalent to ``make_pipeline(BagStatistics(statistics), StandardScaler(), estimator)``
    as one registered MIL classifier. With the defaults (mean/min/max and an RBF SVC
    whose ``C`` is chosen by inner cross-validation) it is the trivial baseline every
    MIL method should beat.

    Parameters
    ----------
    statistics : str or tuple of str, default=("mean", "min", "max")
        See :class:`BagStatistics`.
    C : float or "cv", default="cv"
        ``C`` of the default RBF ``SVC``; ``"cv"`` chooses it from
        ``(0.1, 1, 10, 100, 1000)`` by skmil's inner cross-validation (5 stratified
        folds of the training bags, bag accuracy, ties to the smaller ``C``): the
        embedding is computed once and only the standardiser and the SVC are refitted
        per fold. Ignored when ``estimator`` is given.
    estimator : sklearn classifier, default=None
        ``None`` means ``SVC(kernel="rbf", C=C, gamma="scale")``. Cloned, never
        modified.
    standardize : bool, default=True
        Standardise the embedding before the classifier (fitted on training bags).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``C="cv"``; None keeps skmil's canonical folds
        (deterministic whatever the order of the training bags).

    Attributes
    ----------
    encoder_ : BagStatistics
    scaler_ : StandardScaler or None
    estimator_ : classifier
    C_ : float or None
        The ``C`` of the default SVC (None with a given ``estimator``).
    cv_results_ : dict
        Only with ``C="cv"``: the inner CV in ``GridSearchCV``'s format.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.embedding import SimpleMI
    >>> bags, y, _ = make_mil_classification(n_bags=60, random_state=0)
    >>> SimpleMI().fit(bags, y).score(bags, y) > 0.5
    True
    """

    # the encoder's parameters (statistics) come from BagStatistics
    _encoder = BagStatistics
    _model_constraints: dict = {
        **EmbeddingClassifier._model_constraints,
        "standardize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        statistics: Any = ("mean", "min", "max"),
        C: Any = "cv",
        estimator: Any = None,
        standardize: bool = True,
        random_state: Any = None,
    ) -> None:
        self.statistics = statistics
        self.C = C
        self.estimator = estimator
        self.standardize = standardize
        self.random_state = random_state

    def _default_estimator(self) -> SVC:
        # C=1 (scikit-learn's) only stands in while C="cv" is being chosen
        return SVC(kernel="rbf", gamma="scale", C=1.0 if isinstance(self.C, str) else float(self.C))

    def _search(self, bags: Bags, y: np.ndarray, cv_size: bool, cv_c: bool):
        """``C="cv"`` of the default SVC: one RBF Gram per inner fold, five C on it.

        The same candidates, folds and scores as the generic search (a standardiser and
        ``SVC(gamma="scale", C=C)`` fitted on each inner training fold), computed
        without the pipeline: the fold's standardised embedding, its ``gamma="scale"``
        and its Gram matrix are shared by the five values of ``C``, and libsvm is called
        on the precomputed kernel. The generic path refits the scaler and recomputes the
        kernel for every candidate, several times the cost on a hundred bags.
        """
        binary = y.max() <= 1  # K >= 3 classes take the generic search
        if not (cv_c and self.estimator is None and self.standardize and binary):
            return super()._search(bags, y, cv_size, cv_c)
        from ..svm._common import libsvm_binary_fit

        encoder = self._make_encoder()
        Z = encoder.fit_transform(bags)
        splits = inner_cv_splits(bags, y, self.random_state)
        if splits is None:  # a class with < 2 bags: nothing to validate on
            return encoder, Z, {"C": 1.0}
        y_pm = np.where(y == 1, 1, -1)
        scores = np.empty((len(C_GRID), len(splits)))
        for k, (tr, te) in enumerate(splits):
            mean, std = Z[tr].mean(axis=0), Z[tr].std(axis=0)
            # StandardScaler's rule: a (near-)constant column keeps scale 1
            std[std < 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))] = 1.0
            A, B = (Z[tr] - mean) / std, (Z[te] - mean) / std
            gamma = 1.0 / (A.shape[1] * A.var()) if A.var() > 0 else 1.0
            K_tr = instance_kernel(A, A, "rbf", gamma)
            K_te = instance_kernel(B, A, "rbf", gamma)
            for i, C in enumerate(C_GRID):
                sup, dc, b = libsvm_binary_fit(K_tr, y_pm[tr], kernel="precomputed", C=C)
                pred = (K_te[:, sup] @ dc + b > 0).astype(y.dtype)
                scores[i, k] = np.mean(pred == y[te])
        self.cv_results_ = cv_results([{"C": c} for c in C_GRID], scores)
        return encoder, Z, {"C": float(C_GRID[best_index(self.cv_results_)])}

    @available_if(EmbeddingClassifier._has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the classifier's ``predict_proba``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
        """
        return self._proba(X)


class SimpleMIRegressor(EmbeddingRegressor):
    """Bag statistics followed by a standard regressor (the SimpleMI baseline for targets).

    Equivalent to ``make_pipeline(BagStatistics(statistics), StandardScaler(),
    estimator)`` as one registered MIL regressor: the regression counterpart of
    :class:`SimpleMI`, and the baseline every MIL regressor should beat.

    Parameters
    ----------
    statistics : str or tuple of str, default=("mean", "min", "max")
        See :class:`BagStatistics`.
    C : float or "cv", default="cv"
        ``C`` of the default RBF ``SVR`` (on standardised targets); ``"cv"`` chooses it
        from ``(0.1, 1, 10, 100, 1000)`` by skmil's inner 5-fold CV for regressors
        (negative mean squared error): the embedding is computed once and only the
        standardiser and the SVR are refitted per fold. Ignored when ``estimator`` is
        given.
    epsilon : float, default=0.1
        Half-width of the default SVR's epsilon-insensitive tube, in units of the
        training targets' standard deviation. Ignored when ``estimator`` is given.
    estimator : sklearn regressor, default=None
        ``None`` means ``SVR(kernel="rbf", C=C, epsilon=epsilon, gamma="scale")``
        fitted to the standardised targets (a
        :class:`~sklearn.compose.TransformedTargetRegressor` with a
        ``StandardScaler``). Cloned, never modified.
    standardize : bool, default=True
        Standardise the embedding before the regressor (fitted on training bags).
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner folds of ``C="cv"``; None keeps skmil's canonical folds
        (deterministic whatever the order of the training bags).

    Attributes
    ----------
    encoder_ : BagStatistics
    scaler_ : StandardScaler or None
    estimator_ : regressor
    C_ : float or None
        The ``C`` of the default SVR (None with a given ``estimator``).
    cv_results_ : dict
        Only with ``C="cv"``: the inner CV in ``GridSearchCV``'s format (scores are
        negative mean squared errors).

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.embedding import SimpleMIRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=80, rule="max", random_state=0)
    >>> SimpleMIRegressor().fit(bags, y).score(bags, y) > 0.5
    True
    """

    _encoder = BagStatistics
    _model_constraints: dict = {
        **EmbeddingRegressor._model_constraints,
        "epsilon": EPSILON_CONSTRAINT,
        "standardize": ["boolean"],
        "random_state": ["random_state"],
    }
    _C_param = "regressor__C"

    def __init__(
        self,
        *,
        statistics: Any = ("mean", "min", "max"),
        C: Any = "cv",
        epsilon: float = 0.1,
        estimator: Any = None,
        standardize: bool = True,
        random_state: Any = None,
    ) -> None:
        self.statistics = statistics
        self.C = C
        self.epsilon = epsilon
        self.estimator = estimator
        self.standardize = standardize
        self.random_state = random_state

    def _default_estimator(self) -> TransformedTargetRegressor:
        # C=1 (scikit-learn's) only stands in while C="cv" is being chosen
        C = 1.0 if isinstance(self.C, str) else float(self.C)
        return TransformedTargetRegressor(
            regressor=SVR(kernel="rbf", gamma="scale", C=C, epsilon=float(self.epsilon)),
            transformer=StandardScaler())
