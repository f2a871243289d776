"""The one implementation of ``threshold="auto"`` (private).

``threshold`` is, in every skmil estimator that has it, an offset on the scale of the
estimator's raw decision values (an SVM margin, or the log-odds of a probability model):
a bag is predicted positive when its raw score exceeds it. ``"auto"`` chooses it by the
inner CV of :mod:`skmil._inner_cv`: clones with ``threshold=0`` are fitted on the inner
training folds, and the threshold with the best held-out bag accuracy, averaged over the
folds, is kept. This is what :class:`sklearn.model_selection.TunedThresholdClassifierCV`
does with ``scoring="accuracy"`` and the same folds and candidates (a test checks it);
ties go to the candidate closest to 0, so a model whose own threshold is as good keeps it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from ._inner_cv import inner_cv_splits, search_refit
from .utils._param_validation import Interval, Real, StrOptions

__all__ = ["THRESHOLD_CONSTRAINT", "best_threshold", "candidate_thresholds", "cv_threshold"]

#: The declared constraint of every estimator's ``threshold``: an offset on the raw
#: decision scale, or ``"auto"`` (:func:`cv_threshold`).
THRESHOLD_CONSTRAINT = [Interval(Real, None, None, closed="neither"), StrOptions({"auto"})]


def candidate_thresholds(scores: np.ndarray) -> np.ndarray:
    """Candidates: 0, the midpoints between consecutive distinct scores, and both ends."""
    s = np.unique(np.asarray(scores, dtype=np.float64))
    if s.size == 0:
        return np.zeros(1)
    return np.concatenate([[0.0], (s[:-1] + s[1:]) / 2, [s[0] - 1.0, s[-1] + 1.0]])


def best_threshold(
    decisions: np.ndarray,
    y_pos: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> float:
    """The threshold with the best held-out accuracy, averaged over the inner folds.

    Parameters
    ----------
    decisions : ndarray of shape (n_bags,)
        Out-of-fold decision values (each from a model that did not see the bag).
    y_pos : ndarray of bool of shape (n_bags,)
        True for positive bags.
    splits : list of (train, test), optional
        The folds that produced ``decisions``; the accuracy of each candidate is the mean
        of its per-fold accuracies. Without folds, the accuracy over all bags.

    Returns
    -------
    float
        The best candidate of :func:`candidate_thresholds`; among equally good ones the
        one closest to 0.
    """
    decisions = np.asarray(decisions, dtype=np.float64)
    y_pos = np.asarray(y_pos, dtype=bool)
    cands = candidate_thresholds(decisions)
    if splits is None:
        splits = [(np.zeros(0, dtype=np.int64), np.arange(decisions.shape[0]))]
    acc = np.zeros(cands.shape[0])
    for _, te in splits:
        # correct = positives scoring above the candidate + negatives at or below it,
        # counted by binary search in the sorted scores: O(n log n), where comparing
        # every candidate with every bag would be quadratic in the bags
        pos = np.sort(decisions[te][y_pos[te]])
        neg = np.sort(decisions[te][~y_pos[te]])
        correct = (pos.shape[0] - np.searchsorted(pos, cands, side="right")
                   + np.searchsorted(neg, cands, side="right"))
        acc += correct / max(te.shape[0], 1)
    acc /= len(splits)
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    return float(cands[best[np.argmin(np.abs(cands[best]))]])


def cv_threshold(estimator: Any, bags: Any, y: np.ndarray,
                 instance_labels: np.ndarray | None = None) -> float:
    """``estimator.threshold`` resolved: a number as it is, ``"auto"`` by inner CV.

    Parameters
    ----------
    estimator : MIL classifier with a ``threshold`` parameter
        Its ``random_state`` (if any) seeds the inner folds.
    bags : Bags
        Training bags.
    y : ndarray of shape (n_bags,)
        Training labels, 0/1.
    instance_labels : ndarray of shape (n_instances,), optional
        Known instance labels of the training bags (flat, NaN = unknown), passed on to
        the inner fits.

    Returns
    -------
    float
        The threshold; 0 for ``"auto"`` when a class has fewer than two bags.
    """
    threshold = estimator.threshold
    if not isinstance(threshold, str):
        return float(threshold)
    splits = inner_cv_splits(bags, y, getattr(estimator, "random_state", None))
    if splits is None:
        return 0.0
    base = clone(estimator).set_params(threshold=0.0)
    _, decisions = search_refit(base, bags, y, [{}], splits, instance_labels)
    return best_threshold(decisions[0], np.asarray(y) == 1, splits)

