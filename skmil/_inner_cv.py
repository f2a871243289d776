"""Inner cross-validation of one hyperparameter of a whole MIL estimator (private).

Used where the estimator's inner problem changes with the parameter (the mi-SVM/MI-SVM
alternations), so the parameter cannot be chosen on slices of one Gram matrix as in
:mod:`skmil._precomputed`: each candidate is a full fit on the inner training bags,
scored by bag accuracy on the inner held-out bags, whose held-out decision values also
give the bag thresholds of ``threshold="auto"`` (mi-SVM, SIL). Test bags of an outer
evaluation are never seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from .bags import Bags

__all__ = ["fold_bags", "inner_cv_decisions", "pairwise_bags"]


def pairwise_bags(estimator: Any) -> bool:
    """Whether ``estimator`` takes bags of precomputed instance-kernel rows."""
    return bool(getattr(estimator, "_pairwise_bags", False))


def fold_bags(bags: Bags, train: np.ndarray, test: np.ndarray,
              pairwise: bool) -> tuple[Bags, Bags]:
    """The training and test bags of one split.

    With ``pairwise`` (bags of instance-kernel rows) both keep only the kernel columns
    of the training instances (:meth:`Bags.take_pairwise`), as a fit on the training
    bags alone would see them.
    """
    if pairwise:
        return bags.take_pairwise(train, train), bags.take_pairwise(test, train)
    return bags.take(train), bags.take(test)


def inner_cv_decisions(
    estimator: Any,
    bags: Bags,
    y: np.ndarray,
    param: str,
    grid: Sequence[Any],
    *,
    n_splits: int = 3,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Out-of-fold bag decision values and accuracies of every candidate of ``param``.

    Parameters
    ----------
    estimator : MIL classifier
        Cloned for every candidate and fold; ``param`` is set on the clone.
    bags : Bags
        Training bags.
    y : ndarray of shape (n_bags,)
        Training bag labels (any two values; the larger one is positive).
    param : str
        Parameter name.
    grid : sequence
        Candidates.
    n_splits : int, default=3
        Stratified folds (fewer when a class has fewer bags).
    random_state : int, default=0
        Seed of the fold shuffle.

    Returns
    -------
    (decisions, accuracy) or None
        ``decisions`` of shape ``(len(grid), n_bags)``: each bag's ``decision_function``
        from the candidate's model that did not see it; ``accuracy`` of shape
        ``(len(grid),)``: mean held-out bag accuracy of ``predict`` over the folds.
        None when a class has fewer than two bags (no stratified split exists).

    Notes
    -----
    For an estimator that takes bags of precomputed instance-kernel rows
    (``kernel="precomputed"``, :func:`pairwise_bags`), each inner fit sees only the
    kernel columns of its own training instances, and the held-out bags their values
    against those (:meth:`Bags.take_pairwise`), as a fit on those bags alone would.
    """
    y = np.asarray(y)
    counts = np.unique(y, return_counts=True)[1]
    k = int(min(n_splits, counts.min()))
    if counts.size < 2 or k < 2:
        return None
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    decisions = np.zeros((len(grid), y.shape[0]))
    accuracy = np.zeros(len(grid))
    pairwise = pairwise_bags(estimator)
    for tr, te in cv.split(np.zeros(len(y)), y):
        train, test = fold_bags(bags, tr, te, pairwise)
        for g, value in enumerate(grid):
            est = clone(estimator).set_params(**{param: value})
            est.fit(train, y[tr])
            dec = est.decision_function(test)
            decisions[g, te] = dec
            # predict is decision_function > 0 by the estimator contract: no second pass
            accuracy[g] += np.mean((dec > 0) == (y[te] == est.classes_[1]))
    return decisions, accuracy / k
