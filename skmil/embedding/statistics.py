"""Bag statistics (SimpleMI): per-bag mean/min/max/std of every feature."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.svm import SVC
from sklearn.utils.metaestimators import available_if

from .._kernels.segments import bag_statistics
from ..bags import Bags
from ..base import BaseMILTransformer
from ..utils._param_validation import HasMethods, Subset
from ._codebook import EmbeddingClassifier

__all__ = ["BagStatistics", "SimpleMI"]

_STATISTICS = ("mean", "min", "max", "std")


def _ordered_statistics(statistics: Any) -> tuple[str, ...]:
    stats = (statistics,) if isinstance(statistics, str) else tuple(statistics)
    # the kernel writes blocks in canonical order; keep that order for the output
    return tuple(s for s in _STATISTICS if s in stats)


class BagStatistics(BaseMILTransformer):
    """Embed each bag as per-feature statistics of its instances.

    The output has one block of ``n_features`` columns per statistic, in the order
    mean, min, max, std (whatever order ``statistics`` lists them in). With ``"mean"``
    alone this is the SimpleMI embedding; mean + min + max is the usual strong baseline.
    Computed in one numba pass over the flat instance array (linear in N).

    Parameters
    ----------
    statistics : str or tuple of str, default=("mean", "min", "max")
        Any of ``"mean"``, ``"min"``, ``"max"``, ``"std"`` (population std, 0 for a
        one-instance bag).

    Attributes
    ----------
    n_features_in_ : int
    statistics_ : tuple of str
        The statistics in output order.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.embedding import BagStatistics
    >>> bags = [np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[4.0, 5.0]])]
    >>> BagStatistics(statistics=("mean", "max")).fit_transform(bags)
    array([[1., 2., 2., 3.],
           [4., 5., 4., 5.]])
    """

    _parameter_constraints: dict = {"statistics": [Subset(_STATISTICS)]}

    def __init__(self, *, statistics: Any = ("mean", "min", "max")) -> None:
        self.statistics = statistics

    def _fit(self, bags: Bags, y) -> None:
        self.statistics_ = _ordered_statistics(self.statistics)

    def _transform(self, bags: Bags) -> np.ndarray:
        return bag_statistics(bags.instances, bags.offsets, self.statistics_)

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
    as one registered MIL classifier. With the defaults (mean/min/max and an RBF SVC)
    it is the trivial baseline every MIL method should beat.

    Parameters
    ----------
    statistics : str or tuple of str, default=("mean", "min", "max")
        See :class:`BagStatistics`.
    estimator : sklearn classifier, default=None
        ``None`` means ``SVC(kernel="rbf", C=1.0, gamma="scale")``.
    standardize : bool, default=True
        Standardise the embedding before the classifier (fitted on training bags).

    Attributes
    ----------
    encoder_ : BagStatistics
    scaler_ : StandardScaler or None
    estimator_ : classifier

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
    _classifier_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "standardize": ["boolean"],
    }

    def __init__(
        self,
        *,
        statistics: Any = ("mean", "min", "max"),
        estimator: Any = None,
        standardize: bool = True,
    ) -> None:
        self.statistics = statistics
        self.estimator = estimator
        self.standardize = standardize

    def _default_estimator(self) -> SVC:
        return SVC(kernel="rbf", gamma="scale")

    @available_if(EmbeddingClassifier._has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Bag probabilities from the classifier's ``predict_proba``.

        Parameters
        ----------
        X : sequence of array-like of shape (n_instances_i, n_features)
            The bags.

        Returns
        -------
        proba : ndarray of shape (n_bags, 2)
            Probabilities of ``classes_[0]`` and ``classes_[1]``.
        """
        return self._proba(X)
