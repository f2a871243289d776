"""Statistics kernel (STK; Gärtner, Flach, Kowalczyk & Smola, ICML 2002)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._kernels.segments import bag_statistics
from .._kernels.set_kernel import instance_kernel, resolve_gamma
from ..bags import Bags
from ..utils._param_validation import Interval, StrOptions
from ._bag_kernel import BagKernelSVM
from ._common import CLASS_WEIGHT_CONSTRAINT

__all__ = ["STK"]


class STK(BagKernelSVM):
    """Statistics-kernel SVM: each bag becomes its per-feature minima and maxima.

    Gärtner et al. (2002) propose, next to the set kernel, the "statistic kernel"
    ``k(A, B) = k_I(s(A), s(B))`` with ``s(X) = [min_j x_jk, max_j x_jk]_k`` (a 2d-vector
    per bag) and a standard kernel ``k_I`` (polynomial in the paper, RBF here by
    default as for :class:`sklearn.svm.SVC`). The minima/maxima come from one numba
    pass over the flat instances; the SVM is libsvm on the precomputed bag kernel.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
        Kernel on the statistics vectors (libsvm's definitions).
    C : float or "cv", default="cv"
        SVC penalty (scikit-learn meaning); ``"cv"`` picks it from
        (0.1, 1, 10, 100, 1000) by skmil's inner 5-fold CV on slices of the training Gram
        matrix (one Gram, 25 small SVC fits), as MI-Kernel does. The statistics are not
        standardised, so no one ``C`` suits every data set.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient, scikit-learn's meaning computed on the training statistics
        vectors (``"scale"``: ``1 / (2 n_features * var)``; ``"auto"``:
        ``1 / (2 n_features)``).
    degree : int, default=3
        Polynomial degree (the paper uses a polynomial kernel).
    coef0 : float, default=0.0
        Offset of the polynomial and sigmoid kernels.
    class_weight : dict, "balanced" or None, default=None
        Multipliers of ``C`` per class (dict keyed by bag label), as in SVC.
    random_state : int, RandomState instance or None, default=None
        Shuffles the inner-CV folds of ``C="cv"``; None keeps the canonical folds.

    Attributes
    ----------
    support_ : ndarray of shape (n_support_bags,)
        Indices of the support bags among the training bags (as given to ``fit``).
    support_bags_ : Bags
        The support bags.
    dual_coef_ : ndarray of shape (n_support_bags,) or (n_classes - 1, n_support_bags)
        ``y_i alpha_i`` of the support bags (positive for ``classes_[1]``); with
        K >= 3 classes, libsvm's one-vs-one coefficients.
    intercept_ : float or ndarray of shape (n_classes * (n_classes - 1) / 2,)
    gamma_ : float
        Resolved kernel coefficient.
    C_ : float
        The ``C`` used.
    cv_results_ : dict
        The inner CV of ``C="cv"`` (GridSearchCV's format); only after a search.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    No instance model exists, so STK has no instance predictions.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.svm import STK
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> STK().fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"rbf", "linear", "poly", "sigmoid"})],
        "C": [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"scale", "auto"})],
        "degree": [Interval(Integral, 1, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "class_weight": CLASS_WEIGHT_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        C: Any = "cv",
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        class_weight: Any = None,
        random_state: Any = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.class_weight = class_weight
        self.random_state = random_state

    @staticmethod
    def _stats(bags: Bags) -> np.ndarray:
        return bag_statistics(bags.instances, bags.offsets, ("min", "max"))

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return instance_kernel(A, B, self.kernel, self.gamma_, self.degree, self.coef0)

    def _train_gram(self, bags: Bags):
        S = self._stats(bags)
        self.gamma_ = resolve_gamma(self.gamma, S)
        # the statistics of the support bags are all that prediction needs of them
        return self._kernel(S, S), S

    def _cross_gram(self, bags: Bags) -> np.ndarray:
        return self._kernel(self._stats(bags), self._support_aux)
