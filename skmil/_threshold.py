"""Decision thresholds chosen on held-out scores (private)."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import clone

from ._inner_cv import inner_cv_decisions

__all__ = ["accuracy_threshold", "check_threshold", "cv_threshold"]


def accuracy_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The threshold on ``scores`` with the best accuracy for labels ``y`` (1 = positive).

    Candidates are 0 and the midpoints between consecutive distinct scores (plus one
    below and one above all of them); among equally accurate ones the candidate closest
    to 0 wins, so a model whose own threshold (0) is as good keeps it.
    """
    s = np.unique(scores)
    cands = np.concatenate([[0.0], (s[:-1] + s[1:]) / 2, [s[0] - 1.0, s[-1] + 1.0]])
    acc = ((scores[None, :] > cands[:, None]) == (y[None, :] == 1)).mean(axis=1)
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    return float(cands[best[np.argmin(np.abs(cands[best]))]])


def check_threshold(threshold: Any) -> None:
    """Raise ``ValueError`` unless ``threshold`` is ``"auto"`` or a finite number."""
    if isinstance(threshold, str):
        ok = threshold == "auto"
    else:
        ok = isinstance(threshold, Real) and bool(np.isfinite(threshold))
    if not ok:
        raise ValueError(f"threshold must be 'auto' or a float, got {threshold!r}.")


def cv_threshold(estimator: Any, bags: Any, y: np.ndarray) -> float:
    """``estimator.threshold`` resolved: a number as it is, ``"auto"`` by inner CV.

    ``"auto"``: the :func:`accuracy_threshold` of the held-out bag scores of a
    stratified 3-fold CV of ``estimator`` with ``threshold=0`` (0 when a class has
    fewer than two bags).
    """
    check_threshold(estimator.threshold)
    if not isinstance(estimator.threshold, str):
        return float(estimator.threshold)
    res = inner_cv_decisions(clone(estimator).set_params(threshold=0.0), bags, y,
                             "threshold", (0.0,))
    return 0.0 if res is None else accuracy_threshold(res[0][0], y)
