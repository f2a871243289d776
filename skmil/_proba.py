"""Private glue for MIL classifiers that wrap a scikit-learn classifier.

SIL, SimpleMI and the codebook embeddings all score with the wrapped classifier's
``decision_function`` when it has one, else with the log-odds of its ``predict_proba``
(so that threshold 0 still means probability 0.5), and expose ``predict_proba`` only
when the wrapped classifier does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["logit", "decision_scores", "proba_available"]


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1 so they stay finite."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def decision_scores(est: Any, X: Any) -> np.ndarray:
    """``est.decision_function(X)``, or the positive-class log-odds when it has none.

    With more than two classes: ``(n, K)`` scores, the decision function's or the log
    probabilities (the largest is the most probable class either way).
    """
    if hasattr(est, "decision_function"):
        return np.asarray(est.decision_function(X), dtype=np.float64)
    proba = est.predict_proba(X)
    if proba.shape[1] > 2:
        return np.log(np.clip(proba, 1e-300, None))
    return logit(proba[:, 1])


def proba_available(fitted: str, resolve: str) -> Callable[[Any], bool]:
    """A check for ``available_if``: does the wrapped classifier have ``predict_proba``?

    It looks at the fitted classifier (attribute ``fitted``) when there is one, else at
    the one ``fit`` would use (method ``resolve``), so ``hasattr(est, "predict_proba")``
    tells the truth before and after fitting.
    """

    def check(self) -> bool:
        est = getattr(self, fitted, None)
        if est is None:
            est = getattr(self, resolve)()
        return hasattr(est, "predict_proba")

    check.__name__ = "_has_proba"
    return check
