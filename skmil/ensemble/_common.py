"""Helpers shared by the boosting and forest estimators (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

__all__ = ["MAX_INT_SEED", "seeded_clone"]

MAX_INT_SEED = np.iinfo(np.int32).max


def seeded_clone(estimator: Any, rng: np.random.RandomState) -> Any:
    """An unfitted clone of ``estimator`` whose ``random_state`` (if any) comes from ``rng``.

    Every round's weak learner gets its own integer seed drawn from the estimator's
    ``random_state``, so a fixed ``random_state`` fixes the whole ensemble (tree
    learners break ties between equally good splits at random).
    """
    est = clone(estimator)
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=int(rng.randint(MAX_INT_SEED)))
    return est
