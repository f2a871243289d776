"""MILBoost, MIBoost and MIForest: finite differences, hand-worked examples, naive loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from skmil.datasets import make_mil_classification
from skmil.ensemble import MIBoost, MIForest, MILBoost
from skmil.ensemble.milboost import noisy_or_terms


def _offsets(sizes):
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


# --------------------------------------------------------------------------- MILBoost
def _naive_loglik(scores, sizes, y):
    """The noisy-OR log-likelihood with a loop over bags and instances."""
    total, k = 0.0, 0
    for n, t in zip(sizes, y):
        none = 1.0
        for _ in range(n):
            none *= 1.0 - 1.0 / (1.0 + math.exp(-scores[k]))
            k += 1
        total += math.log(1.0 - none) if t == 1 else math.log(none)
    return total


def test_milboost_weights_are_the_loglik_gradient():
    rng = np.random.RandomState(0)
    sizes = np.array([1, 3, 5, 2, 4])
    y = np.array([1, 0, 1, 1, 0])
    scores = rng.normal(scale=2.0, size=sizes.sum())
    loglik, weights, logits = noisy_or_terms(scores, _offsets(sizes), y)
    assert loglik == pytest.approx(_naive_loglik(scores, sizes, y), rel=1e-12)
    eps = 1e-6
    fd = np.empty_like(scores)
    for k in range(scores.size):
        up, down = scores.copy(), scores.copy()
        up[k] += eps
        down[k] -= eps
        fd[k] = (_naive_loglik(up, sizes, y) - _naive_loglik(down, sizes, y)) / (2 * eps)
    np.testing.assert_allclose(weights, fd, rtol=1e-6, atol=1e-9)
    # negative bags: w = -p_ij; positive bags: w = (1 - p_i) / p_i * p_ij (the paper)
    p = 1.0 / (1.0 + np.exp(-scores))
    np.testing.assert_allclose(weights[1:4], -p[1:4], rtol=1e-12)
    p_bag0 = p[0]
    np.testing.assert_allclose(weights[0], (1 - p_bag0) / p_bag0 * p[0], rtol=1e-12)
    np.testing.assert_allclose(logits[0], scores[0], rtol=1e-12)


def test_milboost_hand_worked_two_bags():
    # bag A (positive) holds two copies of x, bag B (negative) one: no weak learner can
    # tell them apart, so the model is the constant c maximising
    # log(1 - (1 - s)^2) + log(1 - s), s = sigmoid(c). With q = 1 - s the derivative
    # -2q / (1 - q^2) + 1 / q vanishes at q = 1 / sqrt(3): c = log(sqrt(3) - 1), and
    # p_A = 1 - q^2 = 2/3, p_B = 1 - 1/sqrt(3).
    x = np.array([[0.5, -1.0]])
    bags = [np.vstack([x, x]), x.copy()]
    y = np.array([1, 0])
    # at score 0 the weights are (1 - 3/4) / (3/4) * 1/2 = 1/6 and -1/2
    loglik0, w0, _ = noisy_or_terms(np.zeros(3), _offsets([2, 1]), y)
    np.testing.assert_allclose(w0, [1 / 6, 1 / 6, -1 / 2], rtol=1e-12)
    assert loglik0 == pytest.approx(math.log(0.75) + math.log(0.5), rel=1e-12)

    clf = MILBoost(random_state=0).fit(bags, y)
    assert clf.intercept_ == pytest.approx(math.log(math.sqrt(3) - 1), abs=1e-7)
    np.testing.assert_allclose(clf.decision_function(bags),
                               [math.log(2.0), math.log(math.sqrt(3) - 1)], atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(bags)[:, 1],
                               [2 / 3, 1 - 1 / math.sqrt(3)], atol=1e-7)
    # the weak learner cannot split: no round finds an ascent direction
    assert clf.n_estimators_ == 0


def test_milboost_finds_the_witness_of_two_bags():
    bags = [np.array([[0.0], [1.0]]), np.array([[0.0]])]
    y = np.array([1, 0])
    clf = MILBoost(random_state=0).fit(bags, y)
    labels = clf.predict_instances(bags)
    np.testing.assert_array_equal(labels[0], [0, 1])
    np.testing.assert_array_equal(labels[1], [0])
    assert clf.train_log_likelihood_[-1] > -1e-6  # both bags explained with p ~ 1


@pytest.mark.parametrize("params", [
    {},
    {"learning_rate": 0.3},
    {"estimator": DecisionTreeClassifier(max_depth=1)},
])
def test_milboost_likelihood_never_decreases(params):
    bags, y, _ = make_mil_classification(n_bags=60, n_features=4, class_sep=1.0,
                                         random_state=3)
    flipped = y.copy()
    flipped[:6] = 1 - flipped[:6]  # label noise: the likelihood cannot reach 0
    clf = MILBoost(n_estimators=40, random_state=0, **params).fit(bags, flipped)
    trace = clf.train_log_likelihood_
    assert clf.n_estimators_ >= 5 and trace.shape == (clf.n_estimators_ + 1,)
    assert np.all(np.diff(trace) >= -1e-10)
    assert trace[-1] > trace[0]
    # the recorded likelihood is the one of the final instance scores
    scores = np.concatenate(clf.decision_function_instances(bags))
    sizes = [len(b) for b in bags]
    assert _naive_loglik(scores, sizes, flipped) == pytest.approx(trace[-1], rel=1e-9)


# --------------------------------------------------------------------------- MIBoost
def _naive_miboost(bags, y, n_rounds, seed):
    """Xu & Frank's MIBoost loop, written plainly (bisection for the coefficient)."""
    rng = np.random.RandomState(seed)
    n = len(bags)
    W = [1.0 / n] * n
    X = np.vstack(bags)
    y_inst = np.concatenate([[y[i]] * len(b) for i, b in enumerate(bags)])
    models, cs = [], []
    for m in range(n_rounds):
        sw = np.concatenate([[W[i] / len(b)] * len(b) for i, b in enumerate(bags)])
        tree = DecisionTreeClassifier(max_depth=1, random_state=rng.randint(2**31 - 1))
        tree.fit(X, y_inst, sample_weight=sw)
        errs = []
        for i, b in enumerate(bags):
            wrong = sum(1 for x in b if tree.predict(x[None, :])[0] != y[i])
            errs.append(wrong / len(b))
        if all(e <= 0.5 for e in errs) or all(e >= 0.5 for e in errs):
            if m == 0:
                models.append(tree)
                cs.append(1.0)
            break

        def deriv(c, errs=errs, W=W):  # d/dc sum_i W_i exp((2 e_i - 1) c)
            return sum(W[i] * (2 * e - 1) * math.exp((2 * e - 1) * c)
                       for i, e in enumerate(errs))

        if deriv(0.0) >= 0:
            break
        lo, hi = 0.0, 1.0
        while deriv(hi) < 0:
            hi *= 2
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if deriv(mid) < 0 else (lo, mid)
        c = 0.5 * (lo + hi)
        models.append(tree)
        cs.append(c)
        W = [W[i] * math.exp((2 * e - 1) * c) for i, e in enumerate(errs)]
        total = sum(W)
        W = [w / total for w in W]

    def score(bag):
        return sum(c * sum(1.0 if t.predict(x[None, :])[0] == 1 else -1.0 for x in bag)
                   / len(bag) for t, c in zip(models, cs))

    return cs, [score(b) for b in bags]


def test_miboost_matches_the_papers_loop():
    bags, y, _ = make_mil_classification(n_bags=24, n_features=3, bag_size=4,
                                         class_sep=1.0, random_state=5)
    clf = MIBoost(n_estimators=8, random_state=0)
    clf.fit(bags, y)
    # the estimator fits on the canonical bag order; the loop sees the same order
    order = clf._train_order
    cs, scores = _naive_miboost([bags[i] for i in order], y[order], 8, seed=0)
    assert clf.n_estimators_ == len(cs) >= 2
    np.testing.assert_allclose(clf.estimator_weights_, cs, rtol=1e-6)
    np.testing.assert_allclose(clf.decision_function([bags[i] for i in order]), scores,
                               rtol=1e-6, atol=1e-9)


def test_miboost_stops_on_a_perfect_first_learner():
    bags = [np.array([[0.0], [0.1]]), np.array([[1.0], [1.2]]), np.array([[0.2]]),
            np.array([[0.9], [1.1], [1.3]])]
    y = np.array([0, 1, 0, 1])
    clf = MIBoost(random_state=0).fit(bags, y)
    assert clf.n_estimators_ == 1 and clf.estimator_weights_[0] == 1.0
    np.testing.assert_allclose(clf.decision_function(bags), [-1.0, 1.0, -1.0, 1.0])
    np.testing.assert_allclose(clf.predict_proba(bags)[:, 1],
                               1 / (1 + np.exp(-2 * np.array([-1.0, 1.0, -1.0, 1.0]))))


# --------------------------------------------------------------------------- MIForest
def _witness_bags(n_bags, rng):
    bags, y, witness = [], [], []
    for i in range(n_bags):
        n = rng.randint(4, 9)
        bag = rng.normal(size=(n, 2))
        w = np.zeros(n, dtype=int)
        if i % 2:
            bag[0] = rng.normal(loc=(4.0, 4.0), scale=0.3, size=2)
            w[0] = 1
        bags.append(bag)
        y.append(i % 2)
        witness.append(w)
    return bags, np.array(y), witness


def test_miforest_keeps_a_positive_in_every_positive_bag(monkeypatch):
    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, class_sep=2.0,
                                         random_state=1)
    seen = []
    original = MIForest._draw_labels

    def recording(p, temperature, y_fit, offsets, n_trees, rng):
        labels = original(p, temperature, y_fit, offsets, n_trees, rng)
        seen.append((labels.copy(), y_fit.copy(), offsets.copy()))
        return labels

    monkeypatch.setattr(MIForest, "_draw_labels", staticmethod(recording))
    clf = MIForest(n_estimators=8, random_state=0).fit(bags, y)
    assert len(seen) == clf.n_iter_ == 11
    np.testing.assert_allclose(clf.temperatures_, np.exp(-0.5 * np.arange(11)))
    for labels, y_fit, offsets in seen:
        per_bag = np.maximum.reduceat(labels, offsets[:-1], axis=1)  # (trees, bags)
        assert np.all(per_bag[:, y_fit == 1] == 1)
        assert np.all(per_bag[:, y_fit == 0] == 0)
    # at the hottest step the labels of positive bags are mixed, not the bag labels
    first, y_fit, offsets = seen[0]
    in_pos = np.repeat(y_fit == 1, np.diff(offsets))
    assert 0.0 < first[:, in_pos].mean() < 1.0


def test_miforest_is_deterministic_under_random_state():
    bags, y, _ = make_mil_classification(n_bags=30, n_features=3, random_state=2)
    a = MIForest(n_estimators=10, random_state=7).fit(bags, y)
    b = MIForest(n_estimators=10, random_state=7, n_jobs=2).fit(bags, y)
    np.testing.assert_array_equal(a.decision_function(bags), b.decision_function(bags))
    for u, v in zip(a.decision_function_instances(bags), b.decision_function_instances(bags)):
        np.testing.assert_array_equal(u, v)


def test_miforest_finds_the_witnesses():
    rng = np.random.RandomState(0)
    train, y, _ = _witness_bags(60, rng)
    test, y_test, witness = _witness_bags(60, rng)
    annealed = MIForest(random_state=0).fit(train, y)
    # min_temperature above the start: no annealing, the forest of the bag labels
    plain = MIForest(random_state=0, initial_temperature=1.0, min_temperature=2.0).fit(train, y)
    assert plain.n_iter_ == 0 and annealed.n_iter_ == 11
    truth = np.concatenate(witness)
    found = np.concatenate(annealed.predict_instances(test))
    before = np.concatenate(plain.predict_instances(test))
    # every witness is found, with and without annealing ...
    assert np.all(found[truth == 1] == 1) and np.all(before[truth == 1] == 1)
    # ... and annealing relabels background instances of positive bags as negative, which
    # the forest of the bag labels takes for witnesses
    assert found[truth == 0].mean() < 0.75 * before[truth == 0].mean()
    assert annealed.score(test, y_test) > plain.score(test, y_test)
