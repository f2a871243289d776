"""Decision thresholds chosen on held-out scores (private)."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_threshold"]


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
