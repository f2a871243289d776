"""MILDM's instance-selection criterion and mapping against naive Python loops."""

from __future__ import annotations

import numpy as np
import pytest

from skmil.datasets import make_mil_classification
from skmil.embedding import MILESEmbedding
from skmil.embedding.mildm import MILDM, MILDMEmbedding


def _naive_scores(bags, y, gamma):
    """1/2 sum over bag pairs of Q_ij (s_i - s_j)^2 for every training instance, by loops."""
    n = len(bags)
    n_same = sum(1 for i in range(n) for j in range(n) if i != j and y[i] == y[j])
    n_diff = sum(1 for i in range(n) for j in range(n) if y[i] != y[j])
    out = []
    for bag in bags:
        for x in bag:
            s = [max(np.exp(-gamma * np.sum((b - x) ** 2)) for b in other) for other in bags]
            total = 0.0
            for i in range(n):
                for j in range(n):
                    if i == j:
                        continue
                    q = -1.0 / n_same if y[i] == y[j] else 1.0 / n_diff
                    total += q * (s[i] - s[j]) ** 2
            out.append(0.5 * total)
    return np.array(out)


@pytest.fixture(scope="module")
def tiny():
    bags, y, _ = make_mil_classification(n_bags=9, n_features=2, bag_size=3, class_sep=2.0,
                                         random_state=2)
    return bags, y


def test_criterion_matches_naive_loop(tiny):
    bags, y = tiny
    enc = MILDMEmbedding(gamma=0.5, n_features_to_select=4).fit(bags, y)
    np.testing.assert_allclose(enc.scores_, _naive_scores(bags, y, 0.5), rtol=1e-9, atol=1e-12)
    # the pool: the highest-scoring instances, best first
    expected = np.argsort(-_naive_scores(bags, y, 0.5), kind="stable")[:4]
    np.testing.assert_array_equal(np.sort(enc.selected_), np.sort(expected))
    assert np.all(np.diff(enc.scores_[enc.selected_]) <= 0)


def test_local_selection_takes_each_bags_best_instance(tiny):
    bags, y = tiny
    enc = MILDMEmbedding(gamma=0.5, selection="local").fit(bags, y)
    scores = _naive_scores(bags, y, 0.5)
    starts = np.concatenate([[0], np.cumsum([len(b) for b in bags])])
    best = {int(starts[i] + np.argmax(scores[starts[i]:starts[i + 1]])) for i in range(len(bags))}
    assert set(enc.selected_.tolist()) == best


def test_mapping_is_the_miles_similarity_to_the_pool(tiny):
    bags, y = tiny
    enc = MILDMEmbedding(gamma=0.5, n_features_to_select=5).fit(bags, y)
    X = np.vstack(bags)
    np.testing.assert_array_equal(enc.concepts_, X[enc.selected_])
    miles = MILESEmbedding(gamma=0.5).fit(bags)
    full = miles.transform(bags)  # one column per training instance
    cols = [int(np.flatnonzero((miles.concepts_ == X[k]).all(axis=1))[0]) for k in enc.selected_]
    np.testing.assert_allclose(enc.transform(bags), full[:, cols], rtol=1e-12)
    assert enc.get_feature_names_out().shape == (5,)


def test_labels_are_required_and_auto_size(tiny):
    bags, y = tiny
    with pytest.raises(ValueError, match="bag labels"):
        MILDMEmbedding().fit(bags)
    assert MILDMEmbedding().fit(bags, y).concepts_.shape[0] == len(bags)
    # string labels work too (the second sorted label is the positive class)
    lab = np.where(y == 1, "pos", "neg")
    np.testing.assert_allclose(MILDMEmbedding(gamma=0.5).fit(bags, lab).scores_,
                               MILDMEmbedding(gamma=0.5).fit(bags, y).scores_)


def test_classifier_fits_and_uses_the_pool():
    bags, y, _ = make_mil_classification(n_bags=40, n_features=4, random_state=0)
    clf = MILDM(random_state=0).fit(bags, y)
    assert clf.score(bags, y) > 0.8
    assert clf.estimator_.coef_.shape == (1, len(bags))
