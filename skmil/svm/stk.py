"""Statistics kernel (STK; Gärtner, Flach, Kowalczyk & Smola, ICML 2002)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.svm import SVC

from .._kernels.segments import bag_statistics
from .._kernels.set_kernel import check_kernel_name, resolve_gamma
from ..bags import Bags
from ..base import BaseMILClassifier
from ._common import check_positive, signed_class_weight

__all__ = ["STK"]


class STK(BaseMILClassifier):
    """Statistics-kernel SVM: each bag becomes its per-feature minima and maxima.

    Gärtner et al. (2002) propose, next to the set kernel, the "statistic kernel"
    ``k(A, B) = k_I(s(A), s(B))`` with ``s(X) = [min_j x_jk, max_j x_jk]_k`` (a 2d-vector
    per bag) and a standard kernel ``k_I`` (polynomial in the paper, RBF here by
    default as for :class:`sklearn.svm.SVC`). The minima/maxima come from one numba
    pass over the flat instances; the SVM is libsvm.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
        Kernel on the statistics vectors.
    C : float, default=1.0
        SVC penalty (scikit-learn meaning).
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient; ``"scale"`` is computed on the training statistics vectors.
    degree : int, default=3
        Polynomial degree (the paper uses a polynomial kernel).
    coef0 : float, default=1.0
        Polynomial offset.
    class_weight : dict, "balanced" or None, default=None

    Attributes
    ----------
    svc_ : sklearn.svm.SVC
    gamma_ : float
    classes_ : ndarray of shape (2,)
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

    def __init__(
        self,
        kernel: str = "rbf",
        *,
        C: float = 1.0,
        gamma: Any = "scale",
        degree: int = 3,
        coef0: float = 1.0,
        class_weight: Any = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.class_weight = class_weight

    @staticmethod
    def _stats(bags: Bags) -> np.ndarray:
        return bag_statistics(bags.instances, bags.offsets, ("min", "max"))

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        check_kernel_name(self.kernel)
        check_positive("C", self.C)
        S = self._stats(bags)
        self.gamma_ = resolve_gamma(self.gamma, S)
        self.svc_ = SVC(
            kernel=self.kernel, C=self.C, gamma=self.gamma_, degree=self.degree,
            coef0=self.coef0,
            class_weight=signed_class_weight(self.class_weight, self.classes_),
        ).fit(S, np.where(y == 1, 1, -1))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return self.svc_.decision_function(self._stats(bags))
