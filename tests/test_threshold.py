"""``threshold="auto"``: the accuracy-maximising threshold of skmil's one inner CV."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import TunedThresholdClassifierCV

from skmil._inner_cv import inner_cv_splits, search_refit
from skmil._threshold import best_threshold, candidate_thresholds
from skmil.bags import check_bags
from skmil.datasets import make_mil_classification
from skmil.svm import SIL


def test_best_threshold_matches_brute_force():
    rng = np.random.RandomState(5)
    for _ in range(20):
        scores = np.round(rng.randn(15), 1)
        y = rng.randint(0, 2, 15)
        t = best_threshold(scores, y == 1)
        grid = np.linspace(-5, 5, 20001)
        acc = ((scores[None, :] > grid[:, None]) == (y == 1)).mean(axis=1)
        assert np.mean((scores > t) == (y == 1)) == pytest.approx(acc.max())


def test_best_threshold_over_folds_matches_every_candidate_against_every_bag():
    rng = np.random.RandomState(7)
    for _ in range(20):
        n = 37
        scores = np.round(rng.randn(n), 1)  # ties across and within the classes
        y_pos = rng.randint(0, 2, n) == 1
        perm = rng.permutation(n)
        splits = [(None, np.sort(perm[a:b])) for a, b in ((0, 5), (5, 17), (17, 37))]
        cands = candidate_thresholds(scores)
        acc = np.mean([((scores[te][None, :] > cands[:, None]) == y_pos[te]).mean(axis=1)
                       for _, te in splits], axis=0)
        best = np.flatnonzero(acc >= acc.max() - 1e-12)
        expected = cands[best[np.argmin(np.abs(cands[best]))]]
        assert best_threshold(scores, y_pos, splits) == expected


def test_best_threshold_keeps_zero_when_zero_is_as_good():
    scores = np.array([-2.0, -1.0, 1.0, 2.0])
    assert best_threshold(scores, np.array([0, 0, 1, 1]) == 1) == 0.0
    # every negative scores above 0: the best cut moves up between them and the positives
    t = best_threshold(np.array([0.5, 0.7, 1.5, 2.0]), np.array([0, 0, 1, 1]) == 1)
    assert 0.7 < t < 1.5


def _fold_accuracy(decisions, y, splits, t):
    return np.mean([np.mean((decisions[te] > t) == (y[te] == 1)) for _, te in splits])


@pytest.mark.parametrize("random_state", [None, 3])
def test_threshold_auto_agrees_with_tuned_threshold_classifier_cv(random_state):
    bags, y, _ = make_mil_classification(n_bags=50, n_features=4, class_sep=1.5,
                                         random_state=11)
    y = np.asarray(y)
    auto = SIL(threshold="auto", random_state=random_state).fit(bags, y)
    # the same folds, the same model with its own threshold, the same candidates
    splits = inner_cv_splits(check_bags(bags), y, random_state)
    base = SIL(threshold=0.0, random_state=random_state)
    _, decisions = search_refit(base, check_bags(bags), y, [{}], splits)
    cands = candidate_thresholds(decisions[0])
    tuned = TunedThresholdClassifierCV(
        base, scoring="accuracy", response_method="decision_function", thresholds=cands,
        cv=splits,
    ).fit(bags, y)
    # sklearn predicts positive at score >= t, skmil at score > t: the candidates are
    # midpoints between distinct scores (and 0 and both ends), so the two coincide
    acc = np.array([_fold_accuracy(decisions[0], y, splits, t) for t in cands])
    assert _fold_accuracy(decisions[0], y, splits, auto.threshold_) == pytest.approx(
        tuned.best_score_, abs=1e-12)
    tied = cands[np.abs(acc - acc.max()) <= 1e-12]
    assert np.any(np.isclose(tied, tuned.best_threshold_, rtol=0, atol=1e-12))
    assert auto.threshold_ in tied
    # the chosen threshold actually moves the model's own 0 on this overlapping problem
    zero = SIL(threshold=0.0).fit(bags, y)
    np.testing.assert_allclose(auto.decision_function(bags),
                               zero.decision_function(bags) - auto.threshold_)
