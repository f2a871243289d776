"""The accuracy-maximising threshold shared by mi-SVM and the deep estimators."""

from __future__ import annotations

import numpy as np
import pytest

from skmil._threshold import accuracy_threshold


def test_accuracy_threshold_matches_brute_force():
    rng = np.random.RandomState(5)
    for _ in range(20):
        scores = np.round(rng.randn(15), 1)
        y = rng.randint(0, 2, 15)
        t = accuracy_threshold(scores, y)
        grid = np.linspace(-5, 5, 20001)
        acc = ((scores[None, :] > grid[:, None]) == (y == 1)).mean(axis=1)
        assert np.mean((scores > t) == (y == 1)) == pytest.approx(acc.max())


def test_accuracy_threshold_keeps_zero_when_zero_is_as_good():
    scores = np.array([-2.0, -1.0, 1.0, 2.0])
    assert accuracy_threshold(scores, np.array([0, 0, 1, 1])) == 0.0
    # every negative scores above 0: the best cut moves up between them and the positives
    t = accuracy_threshold(np.array([0.5, 0.7, 1.5, 2.0]), np.array([0, 0, 1, 1]))
    assert 0.7 < t < 1.5
