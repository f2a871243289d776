"""Citation-kNN (Wang & Zucker, ICML 2000) on the minimal Hausdorff distance: votes and means."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .._kernels.bagpairs import min_sqdist_matrix
from ..bags import Bags, check_bags
from ..base import BaseMILClassifier, BaseMILRegressor
from ..utils._param_validation import Interval

__all__ = ["CitationKNN", "CitationKNNRegressor", "min_hausdorff_distances"]


def min_hausdorff_distances(X: Any, Y: Any = None) -> np.ndarray:
    """Minimal Hausdorff distance between every pair of bags.

    ``d(A, B) = min_{a in A, b in B} ||a - b||``: the distance between the closest pair
    of instances. Computed by BLAS distance blocks and segmented minima, without
    materialising the full instance-pair matrix.

    Parameters
    ----------
    X : sequence of array-like of shape (n_instances_i, n_features)
        Bags.
    Y : sequence of array-like, optional
        Second set of bags; default ``X``.

    Returns
    -------
    D : ndarray of shape (n_bags_X, n_bags_Y)
        Minimal Hausdorff distance between each bag of ``X`` and each bag of ``Y``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmil.distance import min_hausdorff_distances
    >>> bags = [np.array([[0.0, 0.0], [5.0, 0.0]]), np.array([[8.0, 4.0]])]
    >>> min_hausdorff_distances(bags)
    array([[0., 5.],
           [5., 0.]])
    """
    bx = check_bags(X)
    if Y is None:
        return np.sqrt(min_sqdist_matrix(bx.instances, bx.offsets))
    by = check_bags(Y, n_features=bx.n_features, estimator_name="min_hausdorff_distances(X)")
    return np.sqrt(min_sqdist_matrix(bx.instances, bx.offsets, by.instances, by.offsets))


class _CitationNeighbours:
    """References and citers of query bags among the training bags (minimal Hausdorff).

    Shared by :class:`CitationKNN` and :class:`CitationKNNRegressor`: ``_fit_neighbours``
    stores the training bags, their targets and citer radii and returns the training
    bags' distances (canonical order, each bag at infinity from itself); ``_neighbours``
    returns each query bag's references and citers.
    """

    def _fit_neighbours(self, bags: Bags, y: np.ndarray) -> np.ndarray:
        if self.n_references == 0 and self.n_citers == 0:
            raise ValueError(
                f"{type(self).__name__}: n_references and n_citers cannot both be 0 (no "
                "bag would vote); set at least one of them to a positive int."
            )
        n = bags.n_bags
        D = np.sqrt(min_sqdist_matrix(bags.instances, bags.offsets))
        np.fill_diagonal(D, np.inf)  # a training bag is not its own neighbour
        c = min(self.n_citers, n - 1)
        if c > 0:
            radius = np.partition(D, c - 1, axis=1)[:, c - 1]
        else:
            radius = np.full(n, -np.inf)
        # fit sees the bags in canonical order (its bag i is the user's bag
        # _train_order[i]); the fitted attributes follow the user's numbering
        user = np.argsort(self._train_order)
        self.train_bags_ = bags.take(user)
        self.y_ = y[user]
        self.citer_radius_ = radius[user]
        return D

    def _neighbours(self, bags: Bags) -> tuple[np.ndarray, np.ndarray]:
        """``(n_bags, R)`` training-bag indices of the references, and the
        ``(n_bags, n_train)`` boolean mask of the citers."""
        tb = self.train_bags_
        D = np.sqrt(min_sqdist_matrix(bags.instances, bags.offsets, tb.instances, tb.offsets))
        return self._rank(D[:, self._train_order])

    def _rank(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_neighbours` from the distances ``D`` to the training bags in the
        canonical order (the columns of the fit's own distance matrix)."""
        canon = self._train_order
        r = min(self.n_references, D.shape[1])
        # references among equally distant bags go by the canonical order, so the
        # model does not depend on the order the training bags were given in
        refs = canon[np.argsort(D, axis=1, kind="stable")[:, :r]]
        citers = np.zeros(D.shape, dtype=bool)
        if self.n_citers > 0:
            citers[:, canon] = D <= self.citer_radius_[canon][None, :]
        return refs, citers


class CitationKNN(_CitationNeighbours, BaseMILClassifier):
    """Citation-kNN: nearest-neighbour voting with references and citers.

    A bag's *references* are its ``n_references`` nearest training bags; its
    *citers* are the training bags that would count it among their ``n_citers``
    nearest neighbours. Distances are minimal Hausdorff distances. The bag is
    positive when the positive references and citers outnumber the negative ones;
    ties go to the negative class, as in Wang & Zucker (2000). With K >= 3 classes the
    bag takes the class with the most votes (ties to the earlier class of
    ``classes_``), and ``decision_function`` gives the votes per class.

    Parameters
    ----------
    n_references : int, default=2
        R, the number of nearest training bags that vote.
    n_citers : int, default=4
        C, the neighbourhood rank within which a training bag cites the query.
        R=2, C=4 is the setting Wang & Zucker report best on MUSK and the usual default.
        ``n_references`` and ``n_citers`` cannot both be 0.

    Attributes
    ----------
    train_bags_ : Bags
        Copy of the training bags, in the order given to ``fit``.
    y_ : ndarray of shape (n_bags,)
        Training labels (0/1).
    citer_radius_ : ndarray of shape (n_bags,)
        Distance of each training bag to its C-th nearest other training bag; the
        training bag cites a query at a distance at most this.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Notes
    -----
    ``decision_function`` is (positive votes - negative votes), an integer; it is
    positive exactly when the bag is predicted positive (a tie, 0, is negative).
    Training costs the B x B distance matrix (O(N^2 d) by BLAS blocks); predicting
    costs B_test x B_train distances.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.distance import CitationKNN
    >>> bags, y, _ = make_mil_classification(n_bags=40, random_state=0)
    >>> clf = CitationKNN().fit(bags, y)
    >>> clf.decision_function(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "n_references": [Interval(Integral, 0, None, closed="left")],
        "n_citers": [Interval(Integral, 0, None, closed="left")],
    }
    _multi_class = True

    def __init__(self, *, n_references: int = 2, n_citers: int = 4) -> None:
        self.n_references = n_references
        self.n_citers = n_citers

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        D = self._fit_neighbours(bags, y)
        # the training bags' own scores, for the base's check of them, from the fit's
        # distances (with each bag at 0 from itself, as a query sees it) instead of a
        # second pass over every instance pair
        np.fill_diagonal(D, 0.0)
        self._training_scores = self._votes(*self._rank(D))

    def _decision_function(self, bags: Bags) -> np.ndarray:
        return self._votes(*self._neighbours(bags))

    def _votes(self, refs: np.ndarray, citers: np.ndarray) -> np.ndarray:
        if self.classes_.shape[0] > 2:  # votes per class, (n_bags, K)
            onehot = np.eye(self.classes_.shape[0])[self.y_]
            return onehot[refs].sum(axis=1) + citers @ onehot
        sign = np.where(self.y_ == 1, 1.0, -1.0)
        return sign[refs].sum(axis=1) + citers @ sign


class CitationKNNRegressor(_CitationNeighbours, BaseMILRegressor):
    """Citation-kNN regression: the mean target of a bag's references and citers.

    The neighbourhood of :class:`CitationKNN` (Wang & Zucker 2000) with the targets of
    the references and citers averaged instead of voted, as Amar, Dooly, Goldman &
    Zhang (2001) apply Citation-kNN to real-valued MIL data. References and citers
    count separately, as the votes of the classifier do: a training bag that is both
    counts twice. Distances are minimal Hausdorff distances.

    Parameters
    ----------
    n_references : int, default=2
        R, the number of nearest training bags that vote.
    n_citers : int, default=4
        C, the neighbourhood rank within which a training bag cites the query.
        ``n_references`` and ``n_citers`` cannot both be 0.

    Attributes
    ----------
    train_bags_ : Bags
        Copy of the training bags, in the order given to ``fit``.
    y_ : ndarray of shape (n_bags,)
        Training targets.
    citer_radius_ : ndarray of shape (n_bags,)
        Distance of each training bag to its C-th nearest other training bag; the
        training bag cites a query at a distance at most this.
    n_features_in_ : int

    Notes
    -----
    A query bag with no reference and no citer (``n_references=0`` and nobody cites
    it) is predicted the mean training target.

    References
    ----------
    R. A. Amar, D. R. Dooly, S. A. Goldman and Q. Zhang, "Multiple-instance learning
    of real-valued data", ICML 2001.

    Examples
    --------
    >>> from skmil.datasets import make_mil_regression
    >>> from skmil.distance import CitationKNNRegressor
    >>> bags, y, _ = make_mil_regression(n_bags=40, random_state=0)
    >>> CitationKNNRegressor().fit(bags, y).predict(bags[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = CitationKNN._parameter_constraints

    def __init__(self, *, n_references: int = 2, n_citers: int = 4) -> None:
        self.n_references = n_references
        self.n_citers = n_citers

    def _fit(self, bags: Bags, y: np.ndarray) -> None:
        self._fit_neighbours(bags, y)

    def _predict(self, bags: Bags) -> np.ndarray:
        refs, citers = self._neighbours(bags)
        total = self.y_[refs].sum(axis=1) + citers @ self.y_
        count = refs.shape[1] + citers.sum(axis=1)
        # summed in the canonical order: the same mean whatever the order of the bags
        mean = float(np.mean(self.y_[self._train_order]))
        return np.where(count > 0, total / np.maximum(count, 1), mean)
