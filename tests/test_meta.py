"""Meta-estimators (skmil.meta) against naive Python loops and the papers' rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import comb
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skmil.datasets import make_mil_classification
from skmil.meta import InstanceRelabeling, SMILe
from skmil.meta.smile import shuffled_bag_size
from skmil.svm import SIL
from skmil.utils.estimator_checks import make_check_data


def _logreg():
    # an exact solver, so the naive loop and the estimator reach the same optimum
    return LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=1000)


@pytest.fixture(scope="module")
def problem():
    return make_mil_classification(n_bags=30, n_features=3, bag_size=5, class_sep=1.5,
                                   random_state=4)


def _naive_MI(bags, y, max_iter=50):
    """MI-SVM's alternation written out with Python loops over bags and instances."""
    neg = [x for b, label in zip(bags, y) if label == 0 for x in b]
    pos = [b for b, label in zip(bags, y) if label == 1]
    reps = [b.mean(axis=0) for b in pos]
    witnesses = None
    for _ in range(max_iter):
        model = _logreg().fit(np.array(neg + reps), [0] * len(neg) + [1] * len(reps))
        new = []
        for b in pos:
            scores = [model.decision_function(x[None, :])[0] for x in b]
            new.append(int(np.argmax(scores)))
        if new == witnesses:
            break
        witnesses = new
        reps = [b[w] for b, w in zip(pos, witnesses)]
    return model, witnesses


def _naive_mi(bags, y, max_iter=50):
    """mi-SVM's alternation written out with Python loops over bags and instances."""
    labels = [np.full(len(b), label) for b, label in zip(bags, y)]
    for _ in range(max_iter):
        model = _logreg().fit(np.vstack(bags), np.concatenate(labels))
        changed = False
        for i, (b, label) in enumerate(zip(bags, y)):
            if label == 0:
                continue
            scores = [model.decision_function(x[None, :])[0] for x in b]
            new = np.array([1 if s > 0 else 0 for s in scores])
            if new.sum() == 0:
                new[int(np.argmax(scores))] = 1
            if not np.array_equal(new, labels[i]):
                changed = True
            labels[i] = new
        if not changed:
            break
    return model, np.concatenate(labels)


def test_MI_fixed_point_matches_naive_loop(problem):
    bags, y, _ = problem
    clf = InstanceRelabeling(estimator=_logreg(), method="MI", threshold=0.0).fit(bags, y)
    model, witnesses = _naive_MI(bags, y)
    assert clf.stop_reason_ == "converged"
    starts = np.concatenate([[0], np.cumsum([len(b) for b in bags])])
    pos = np.flatnonzero(y == 1)
    np.testing.assert_array_equal(clf.witness_indices_, starts[pos] + np.asarray(witnesses))
    X = np.vstack(bags)
    np.testing.assert_allclose(np.concatenate(clf.decision_function_instances(bags)),
                               model.decision_function(X), rtol=1e-6, atol=1e-8)


def test_mi_fixed_point_matches_naive_loop_and_keeps_a_positive_per_bag(problem):
    bags, y, _ = problem
    clf = InstanceRelabeling(estimator=_logreg(), method="mi", threshold=0.0).fit(bags, y)
    model, labels = _naive_mi(bags, y)
    assert clf.stop_reason_ == "converged"
    np.testing.assert_array_equal(clf.instance_labels_, labels)
    np.testing.assert_allclose(np.concatenate(clf.decision_function_instances(bags)),
                               model.decision_function(np.vstack(bags)), rtol=1e-6, atol=1e-8)
    starts = np.concatenate([[0], np.cumsum([len(b) for b in bags])])
    for i in np.flatnonzero(y == 1):
        assert clf.instance_labels_[starts[i]:starts[i + 1]].sum() >= 1
    for i in np.flatnonzero(y == 0):  # negative bags stay negative
        assert clf.instance_labels_[starts[i]:starts[i + 1]].sum() == 0


def test_mi_repairs_bags_that_the_model_scores_all_negative():
    # one positive bag far from the others' witnesses: the first model scores all of
    # its instances negative, and the repair must keep its best instance positive
    rng = np.random.RandomState(0)
    bags = [rng.randn(4, 2) - 3 for _ in range(10)]  # negatives near (-3, -3)
    y = np.zeros(14, dtype=int)
    for _ in range(3):
        bags.append(np.vstack([rng.randn(3, 2) - 3, rng.randn(1, 2) + 3]))
    bags.append(rng.randn(4, 2) - 3)  # a positive bag of negative-looking instances
    y[10:] = 1
    clf = InstanceRelabeling(estimator=_logreg(), threshold=0.0).fit(bags, y)
    last = clf.instance_labels_[-4:]
    assert last.sum() == 1
    scores = clf.decision_function_instances(bags)[-1]
    assert last[np.argmax(scores)] == 1


@pytest.mark.parametrize("method", ["mi", "MI"])
def test_any_classifier_hist_gradient_boosting(method):
    bags, y, _ = make_check_data()
    hgb = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    clf = InstanceRelabeling(estimator=hgb, method=method, threshold=0.0).fit(bags, y)
    assert clf.score(bags, y) > 0.8
    bag_scores = clf.decision_function(bags)
    np.testing.assert_allclose(bag_scores, [s.max() for s in clf.decision_function_instances(bags)])
    p = clf.predict_proba(bags)
    assert p.shape == (len(bags), 2) and np.all((p >= 0) & (p <= 1))


def test_proba_only_classifier_scores_are_log_odds(problem):
    bags, y, _ = problem

    class ProbaOnly(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.lr_ = _logreg().fit(X, y)
            self.classes_ = self.lr_.classes_
            return self

        def predict_proba(self, X):
            return self.lr_.predict_proba(X)

    a = InstanceRelabeling(estimator=ProbaOnly(), method="MI", threshold=0.0).fit(bags, y)
    b = InstanceRelabeling(estimator=_logreg(), method="MI", threshold=0.0).fit(bags, y)
    np.testing.assert_allclose(a.decision_function(bags), b.decision_function(bags), rtol=1e-6)


def test_estimator_without_scores_is_refused(problem):
    bags, y, _ = problem

    class PredictOnly(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            return self

        def predict(self, X):
            return np.zeros(len(X))

    with pytest.raises(TypeError, match="decision_function or predict_proba"):
        InstanceRelabeling(estimator=PredictOnly()).fit(bags, y)


def test_max_iter_warns(problem):
    bags, y, _ = problem
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        clf = InstanceRelabeling(method="MI", max_iter=1, threshold=0.0).fit(bags, y)
    assert clf.stop_reason_ == "max_iter" and clf.n_iter_ == 1
    assert np.all(clf.witness_indices_ == -1)  # still on the bag means


def _naive_size(n_pos_bags, n_pool, delta):
    pi = n_pos_bags / n_pool
    s = 1
    while (1 - pi) ** s > delta and s < n_pool:
        s += 1
    return s


@pytest.mark.parametrize("n_bags,n_pool,delta", [(10, 50, 0.05), (3, 40, 0.01), (5, 5, 0.05),
                                                 (47, 207, 0.05), (1, 2, 0.3), (2, 9, 1e-6)])
def test_shuffled_bag_size_is_the_papers_rule(n_bags, n_pool, delta):
    s = shuffled_bag_size(n_bags, n_pool, delta)
    assert s == _naive_size(n_bags, n_pool, delta)
    if s < n_pool:
        # drawn without replacement, the exact chance of no positive (exactly n_bags
        # positives in the pool, the worst case) is below the bound
        assert comb(n_pool - n_bags, s) / comb(n_pool, s) <= delta + 1e-12


def test_smile_shuffled_bags_follow_the_rule(problem):
    bags, y, inst = problem
    clf = SMILe(estimator=SIL(estimator=_logreg(), threshold=0.0), n_resamples=400,
                random_state=0).fit(bags, y)
    sizes = np.array([len(b) for b in bags])
    pos_flat = np.concatenate([np.full(n, label == 1) for n, label in zip(sizes, y)])
    n_pool = int(sizes[y == 1].sum())
    assert clf.shuffled_bag_size_ == _naive_size(int((y == 1).sum()), n_pool, 0.05)
    assert clf.shuffled_indices_.shape == (400, clf.shuffled_bag_size_)
    for row in clf.shuffled_indices_:
        assert pos_flat[row].all()  # drawn from positive bags only
        assert len(set(row.tolist())) == row.size  # without replacement
    # with the true instance labels: at most about delta of the shuffled bags are negative
    witness = np.concatenate(inst).astype(bool)
    negative_share = np.mean([not witness[row].any() for row in clf.shuffled_indices_])
    assert negative_share <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)
    assert clf.n_resamples_ == 400


def test_smile_shuffled_negative_bags_follow_the_authors_rule(problem):
    # the authors' shuffle_both: as many shuffled negative bags as positive ones, drawn
    # without replacement from the negative bags' instances, of the mean negative bag
    # size rounded down
    bags, y, _ = problem
    clf = SMILe(estimator=SIL(estimator=_logreg(), threshold=0.0), n_resamples=50,
                random_state=0).fit(bags, y)
    sizes = np.array([len(b) for b in bags])
    neg_flat = np.concatenate([np.full(n, label == 0) for n, label in zip(sizes, y)])
    mean_neg = int(sizes[y == 0].sum()) // int((y == 0).sum())
    assert clf.negative_bag_size_ == mean_neg
    assert clf.negative_indices_.shape == (50, mean_neg)
    for row in clf.negative_indices_:
        assert neg_flat[row].all()
        assert len(set(row.tolist())) == row.size
    off = SMILe(estimator=SIL(estimator=_logreg(), threshold=0.0), n_resamples=50,
                shuffle_negative=False, random_state=0).fit(bags, y)
    assert off.negative_indices_.shape[0] == 0 and off.negative_bag_size_ == 0
    np.testing.assert_array_equal(off.shuffled_indices_, clf.shuffled_indices_)


def test_smile_default_is_the_authors_averaged_linear_set_kernel_svm(problem):
    from skmil.svm import MIKernelSVM

    bags, y, _ = problem
    clf = SMILe(n_resamples=5, random_state=0).fit(bags, y)
    est = clf.estimator_
    assert isinstance(est, MIKernelSVM)
    assert (est.kernel, est.normalize, est.C) == ("linear", "averaging", 1.0)


def test_smile_is_the_wrapped_estimator_on_the_augmented_bags(problem):
    bags, y, _ = problem
    clf = SMILe(estimator=SIL(estimator=_logreg(), threshold=0.0), n_resamples=7,
                shuffled_bag_size=3, random_state=1).fit(bags, y)
    X = np.vstack(bags)
    extra = [X[row] for row in clf.shuffled_indices_]
    extra_neg = [X[row] for row in clf.negative_indices_]
    ref = SIL(estimator=_logreg(), threshold=0.0).fit(
        list(bags) + extra + extra_neg, np.concatenate([y, np.ones(7, int), np.zeros(7, int)]))
    np.testing.assert_allclose(clf.decision_function(bags), ref.decision_function(bags),
                               rtol=1e-6, atol=1e-8)
    assert clf.predict_proba(bags).shape == (len(bags), 2)
